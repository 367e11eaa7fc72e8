"""Evaluate Vigie's sentiment engines on the labelled tweets and the Dutch set.

    python bench/eval_sentiment.py            # val table: macro-F1, accuracy, posts/s per engine
    python bench/eval_sentiment.py --tune     # also pick each lexicon's neutral band on train
    python bench/eval_sentiment.py --errors fr --split train   # misclassified posts (blend engine)

Data: <shared>/data/sentiment/{french,german,english}/{train,val}_{text,labels}.txt,
labels 0 = negative, 1 = neutral, 2 = positive. <shared> defaults to ../shared next
to the repository (override with --data or VIGIE_SENTIMENT_DATA). Dutch: the hand-written
set include/eval/sentiment/nl.tsv (label<TAB>text; see the README beside it).

Rows per language: the engine the pipeline uses (listening.nlp.sentiment.engine), then the
baselines: VADER alone, Vigie's lexicon alone, and when installed vaderSentiment_fr on French
(pip install vadersentiment-fr; not a project requirement: e.g. pip install --target
/tmp/vfr vadersentiment-fr and PYTHONPATH=/tmp/vfr). Baselines use their neutral band (VADER
+/-0.05). posts/s: per core, i.e. posts per second of the process's CPU time, best of
--repeat runs over ~6,500 posts (the split repeated); engines loaded beforehand.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))

from listening.nlp import sentiment  # noqa: E402
from listening.nlp.lexicon import LexiconSentiment  # noqa: E402

LANG_DIRS = {"fr": "french", "de": "german", "en": "english"}
NL_SET = REPO / "include" / "eval" / "sentiment" / "nl.tsv"
LABELS = ("negative", "neutral", "positive")


def default_data_dir() -> Path:
    env = os.environ.get("VIGIE_SENTIMENT_DATA")
    if env:
        return Path(env)
    for cand in (REPO.parent / "shared" / "data" / "sentiment", Path("/work/shared/data/sentiment")):
        if cand.is_dir():
            return cand
    return REPO.parent / "shared" / "data" / "sentiment"


def load_nl(path: Path = NL_SET) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        label, sep, text = line.partition("\t")
        if not sep or label not in LABELS:
            raise ValueError(f"{path}:{lineno}: expected 'label<TAB>text' with label in {LABELS}")
        texts.append(text)
        labels.append(label)
    return texts, labels


def load(data_dir: Path, lang: str, split: str) -> tuple[list[str], list[str]]:
    if lang == "nl":
        return load_nl()
    d = Path(data_dir) / LANG_DIRS[lang]
    texts = (d / f"{split}_text.txt").read_text(encoding="utf-8").split("\n")
    labels = (d / f"{split}_labels.txt").read_text(encoding="utf-8").split()
    texts = texts[: len(labels)]
    return texts, [LABELS[int(x)] for x in labels]


def macro_f1(gold: list[str], pred: list[str]) -> float:
    f1s = []
    for c in LABELS:
        tp = sum(1 for g, p in zip(gold, pred) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred) if g == c and p != c)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return sum(f1s) / len(f1s)


def accuracy(gold, pred) -> float:
    return sum(g == p for g, p in zip(gold, pred)) / len(gold)


def band_label(score: float, lo: float, hi: float) -> str:
    return "positive" if score > hi else "negative" if score < lo else "neutral"


def tune_band(scores: list[float], gold: list[str]) -> tuple[float, float, float]:
    """Best (lo, hi) on a grid, by macro-F1; ties go to the narrower band."""
    grid = [round(x * 0.025, 3) for x in range(0, 25)]  # 0 .. 0.6
    best = (-1.0, 0.0, 0.0)
    for lo in grid:
        for hi in grid:
            pred = [band_label(s, -lo, hi) for s in scores]
            f = macro_f1(gold, pred)
            if f > best[0] + 1e-9:
                best = (f, -lo, hi)
    return best[1], best[2], best[0]


def timed(fn, texts: list[str], repeat: int = 3) -> tuple[list[float], float]:
    """Results and posts/s per core: posts per second of this process's CPU time (best of
    `repeat` runs), so that other work on a shared machine does not count against it."""
    best = float("inf")
    scores = None
    for _ in range(repeat):
        t0 = time.process_time()
        scores = fn(texts)
        best = min(best, time.process_time() - t0)
    return scores, len(texts) / best if best > 0 else float("inf")


def vader_baseline(module: str):
    try:
        mod = __import__(module + ".vaderSentiment", fromlist=["SentimentIntensityAnalyzer"])
    except ImportError:
        return None
    sia = mod.SentimentIntensityAnalyzer()
    return lambda texts: [sia.polarity_scores(t)["compound"] for t in texts]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--split", default="val", choices=["train", "val"])
    ap.add_argument("--tune", action="store_true", help="print the best neutral band on train")
    ap.add_argument("--errors", metavar="LANG", help="print misclassified posts of LANG")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    if args.errors:
        eng = sentiment.engine(args.errors)
        texts, gold = load(args.data, args.errors, args.split)
        for t, g, r in zip(texts, gold, eng.score(texts)):
            if r.label != g:
                print(f"{g[:3]}\t{r.label[:3]}\t{r.score:+.2f}\t{r.confidence:.2f}\t{t}")
        return 0

    rows = []
    for lang in ("fr", "de", "en", "nl"):
        texts, gold = load(args.data, lang, args.split)
        bench_texts = texts * max(1, 6500 // len(texts))
        labels_of = lambda eng: lambda ts: [r.label for r in eng.score(ts)]  # noqa: E731
        main_eng = sentiment.engine(lang)
        systems = [(main_eng.engine + " (pipeline)", labels_of(main_eng))]
        vader_label = lambda s: band_label(s, -0.05, 0.05)  # noqa: E731
        if lang != "en":
            eng = LexiconSentiment(lang)
            if args.tune and lang != "nl":
                tr_texts, tr_gold = load(args.data, lang, "train")
                lo, hi, f = tune_band(eng.polarity_many(tr_texts), tr_gold)
                print(f"# {lang}: best neutral_band on train: [{lo}, {hi}] (train macro-F1 {100 * f:.1f}); "
                      f"in rules.yml: {list(eng.neutral_band)}")
            if lang != "nl":
                systems.append((f"{eng.name}-{lang}-{eng.version} (lexicon alone)",
                                lambda ts, e=eng: [e.label(x) for x in e.polarity_many(ts)]))
        if lang == "fr":
            fn = vader_baseline("vaderSentiment_fr")
            systems.append(("vaderSentiment_fr" + ("" if fn else " (not installed)"),
                            fn and (lambda ts, fn=fn: [vader_label(x) for x in fn(ts)])))
        if lang in ("en", "de", "nl"):
            fn = vader_baseline("vaderSentiment")
            name = "vaderSentiment (English VADER alone)" + (" [wrong language]" if lang != "en" else "")
            systems.append((name if fn else name + " (not installed)",
                            fn and (lambda ts, fn=fn: [vader_label(x) for x in fn(ts)])))
        for name, fn in systems:
            if fn is None:
                rows.append((lang, name, None, None, None))
                continue
            pred = fn(texts)
            _, pps = timed(fn, bench_texts, args.repeat)
            rows.append((lang, name, macro_f1(gold, pred), accuracy(gold, pred), pps))

    print(f"\nSentiment on the {args.split} split ({args.data}); nl: {NL_SET.relative_to(REPO)}\n")
    print("| lang | system | macro-F1 | accuracy | posts/s |")
    print("|---|---|---:|---:|---:|")
    for lang, name, f, a, pps in rows:
        if f is None:
            print(f"| {lang} | {name} | - | - | - |")
        else:
            print(f"| {lang} | {name} | {100 * f:.1f} | {100 * a:.1f} | {pps:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
