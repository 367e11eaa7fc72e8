"""Evaluate the post triage (listening.triage) on the hand-labelled set, and measure its speed.

    python bench/eval_triage.py                    # dev split: per-class P/R/F1, macro-F1, per language, confusion
    python bench/eval_triage.py --errors           # dev split, plus every misclassified post (dev only)
    python bench/eval_triage.py --split test       # the held-out split: run ONCE, when the rules are final
    python bench/eval_triage.py --speed            # posts/s on the simulator's texts vs one bare regex search
    python bench/eval_triage.py --markdown         # tables in Markdown, for docs/triage.md

Data: include/eval/triage/{dev,test}.tsv, tab-separated with a header
(id, lang, platform, addresses_institution, label, text); see the README beside them.
Tune on dev only. --errors refuses the test split: looking at test errors is tuning on test.

Speed: posts per second of process CPU time (one core), best of --repeat runs, over the texts
of include/sample/import/posts-2026-11-0*.jsonl.gz; the baseline is the bare cost of one
`re.search` per post with one of the triage's own compiled lexicon regexes (the French
"negative" class, the largest), so the ratio says how many such searches a post costs.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))

from listening import triage  # noqa: E402

EVAL_DIR = REPO / "include" / "eval" / "triage"
TRUE = {"1", "true", "yes", "y", "t"}


def read_split(split: str, eval_dir: Path = EVAL_DIR) -> list[dict]:
    path = eval_dir / f"{split}.tsv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    out = []
    for i, r in enumerate(rows, start=2):
        label = (r.get("label") or "").strip()
        if label not in triage.LABELS:
            raise SystemExit(f"{path}:{i}: label {label!r} is not one of {triage.LABELS}")
        out.append({"id": r.get("id"), "lang": (r.get("lang") or "").strip(),
                    "platform": r.get("platform"), "label": label, "text": r.get("text") or "",
                    "addresses": (r.get("addresses_institution") or "").strip().lower() in TRUE})
    return out


def predict(rows: list[dict]) -> list[triage.Triage]:
    return triage.classify([r["text"] for r in rows], [r["lang"] for r in rows],
                           [r["addresses"] for r in rows])


def prf(gold: list[str], pred: list[str], labels=triage.LABELS) -> dict:
    tp, fp, fn = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred):
        if g == p:
            tp[g] += 1
        else:
            fp[p] += 1
            fn[g] += 1
    per = {}
    for lab in labels:
        p = tp[lab] / (tp[lab] + fp[lab]) if tp[lab] + fp[lab] else 0.0
        r = tp[lab] / (tp[lab] + fn[lab]) if tp[lab] + fn[lab] else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        per[lab] = {"precision": p, "recall": r, "f1": f, "support": tp[lab] + fn[lab],
                    "predicted": tp[lab] + fp[lab]}
    present = [lab for lab in labels if per[lab]["support"]]
    macro = sum(per[lab]["f1"] for lab in present) / len(present) if present else 0.0
    acc = sum(tp.values()) / len(gold) if gold else 0.0
    return {"per_class": per, "macro_f1": macro, "accuracy": acc, "n": len(gold)}


def evaluate(rows: list[dict]) -> dict:
    preds = predict(rows)
    gold = [r["label"] for r in rows]
    pred = [p.label for p in preds]
    res = prf(gold, pred)
    by_lang = defaultdict(list)
    for r, p in zip(rows, pred):
        by_lang[r["lang"] if r["lang"] in triage.LANGUAGES else "other"].append((r["label"], p))
    res["per_language"] = {lg: prf([g for g, _ in gp], [p for _, p in gp]) for lg, gp in sorted(by_lang.items())}
    conf = Counter(zip(gold, pred))
    res["confusion"] = {g: {p: conf[(g, p)] for p in triage.LABELS} for g in triage.LABELS}
    res["preds"] = preds
    return res


SHORT = {"question": "quest", "positive_feedback": "posit", "disagreement": "disag", "humour": "humour",
         "negative": "neg", "misinformation": "misinf", "inflammatory": "inflam", "insult": "insult",
         "spam": "spam", "other": "other"}


def report(res: dict, split: str, markdown: bool) -> str:
    out = []
    if markdown:
        out.append(f"**{split}** ({res['n']} posts): macro-F1 **{res['macro_f1']:.3f}**, "
                   f"accuracy {res['accuracy']:.3f}\n")
        out.append("| class | precision | recall | F1 | support |\n|---|---|---|---|---|")
        for lab, m in res["per_class"].items():
            out.append(f"| {lab} | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} | {m['support']} |")
        out.append("")
        langs = list(res["per_language"])
        out.append("| class | " + " | ".join(f"F1 {lg}" for lg in langs) + " |")
        out.append("|---|" + "---|" * len(langs))
        for lab in triage.LABELS:
            cells = []
            for lg in langs:
                m = res["per_language"][lg]["per_class"][lab]
                cells.append(f"{m['f1']:.2f} ({m['support']})" if m["support"] else "–")
            out.append(f"| {lab} | " + " | ".join(cells) + " |")
        out.append("| **macro-F1** | " + " | ".join(
            f"**{res['per_language'][lg]['macro_f1']:.2f}** (n={res['per_language'][lg]['n']})" for lg in langs) + " |")
        out.append("")
        out.append("Confusion (rows: gold, columns: predicted)\n")
        out.append("| gold \\ predicted | " + " | ".join(SHORT[lab] for lab in triage.LABELS) + " |")
        out.append("|---|" + "---|" * len(triage.LABELS))
        for g in triage.LABELS:
            out.append(f"| {g} | " + " | ".join(str(res["confusion"][g][p] or "·") for p in triage.LABELS) + " |")
    else:
        out.append(f"{split}: {res['n']} posts  macro-F1 {res['macro_f1']:.3f}  accuracy {res['accuracy']:.3f}")
        out.append(f"{'class':<18}{'P':>6}{'R':>6}{'F1':>6}{'n':>5}{'pred':>6}")
        for lab, m in res["per_class"].items():
            out.append(f"{lab:<18}{m['precision']:6.2f}{m['recall']:6.2f}{m['f1']:6.2f}{m['support']:5d}{m['predicted']:6d}")
        out.append("per language: " + "  ".join(f"{lg} {m['macro_f1']:.3f} (n={m['n']}, acc {m['accuracy']:.2f})"
                                             for lg, m in res["per_language"].items()))
        out.append("confusion (rows gold, cols predicted): " + " ".join(SHORT[lab] for lab in triage.LABELS))
        for g in triage.LABELS:
            out.append(f"  {SHORT[g]:<7}" + " ".join(f"{res['confusion'][g][p]:>{len(SHORT[p])}}" for p in triage.LABELS))
    return "\n".join(out)


def sample_texts() -> list[str]:
    from listening.sources.files import records

    # the first eight days (posts-2026-11-02 to -09), as measured in docs/triage.md
    return [(r["text"], r.get("lang") or "und") for r in records(REPO / "include" / "sample" / "import", 8)]


def speed(repeat: int = 3) -> dict:
    rows = sample_texts()
    texts = [t for t, _ in rows]
    langs = [lg for _, lg in rows]
    addr = ["@parlbxl" in t for t in texts]
    rules = triage.load_rules()
    baseline_re = rules.cues["fr"]["negative"]

    def best(fn) -> float:
        times = []
        for _ in range(repeat):
            t0 = time.process_time()
            fn()
            times.append(time.process_time() - t0)
        return min(times)

    t_cls = best(lambda: triage.classify(texts, langs, addr))
    t_re = best(lambda: [baseline_re.search(t) for t in texts])
    t_low = best(lambda: [triage.normalise(t) for t in texts])
    n = len(texts)
    return {"posts": n, "triage_posts_per_s": n / t_cls, "bare_re_posts_per_s": n / t_re,
            "ratio": t_cls / t_re, "normalise_posts_per_s": n / t_low,
            "labels": Counter(p.label for p in triage.classify(texts, langs, addr)).most_common()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="dev", choices=("dev", "test"))
    ap.add_argument("--errors", action="store_true", help="list misclassified posts (dev only)")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    a = ap.parse_args(argv)
    if a.speed:
        s = speed(a.repeat)
        print(f"throughput on {s['posts']} simulator posts, one core: triage {s['triage_posts_per_s']:,.0f} posts/s; "
              f"one bare re.search (French 'negative' lexicon regex) {s['bare_re_posts_per_s']:,.0f} posts/s; "
              f"ratio {s['ratio']:.1f}x; normalise alone {s['normalise_posts_per_s']:,.0f} posts/s")
        print("labels on the simulator:", s["labels"])
        return 0
    if a.errors and a.split != "dev":
        ap.error("--errors is for the dev split only: do not tune on test")
    rows = read_split(a.split)
    res = evaluate(rows)
    print(report(res, a.split, a.markdown))
    if a.json:
        Path(a.json).write_text(json.dumps({k: v for k, v in res.items() if k != "preds"}, indent=1))
    if a.errors:
        print("\nerrors (gold -> predicted | lang | addresses | reason | text):")
        for r, p in zip(rows, res["preds"]):
            if r["label"] != p.label:
                print(f"{r['label']:>17} -> {p.label:<17} {r['lang']} {'A' if r['addresses'] else '-'} "
                      f"| {p.reason} | {r['text']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
