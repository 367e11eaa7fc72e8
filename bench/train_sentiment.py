"""Train the n-gram + lexicon sentiment models and write their artefacts.

    python bench/train_sentiment.py                 # fr, de, en -> include/models/sentiment/
    python bench/train_sentiment.py --lang fr --out /tmp/models

For each language: TF-IDF (sublinear tf, min_df 2) over `listening.nlp.ngram.featurize`
(word 1-2-grams, character 2-5-grams), plus one dense feature, the lexicon score (Vigie's
lexicon engine for fr/de, VADER for en) times a weight k; multinomial logistic regression.
C and k are chosen by 5-fold stratified cross-validation on the train split only (macro-F1);
the validation split is scored once, at the end, and written beside the model
(<lang>.metrics.json). The vocabulary and idf are fitted on the whole train split (no
labels involved). Features whose three weights are all tiny are dropped to keep the
artefact small; the export is checked against scikit-learn's own predictions.

Data: <shared>/data/sentiment/{french,german,english}/train_* and val_* (see
bench/eval_sentiment.py for where it is looked for). Needs scikit-learn and numpy (pinned in
requirements.txt); the artefacts are read at run time without them.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))
sys.path.insert(0, str(REPO / "bench"))

import numpy as np  # noqa: E402
from scipy.sparse import csr_matrix, hstack  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_predict  # noqa: E402

from eval_sentiment import LABELS, default_data_dir, load  # noqa: E402
from listening.nlp import ngram  # noqa: E402

GRID_C = (1.0, 3.0)
GRID_K = (3.0, 5.0)
PRUNE = 1e-3          # drop a feature when max |w * idf| is below this
DECIMALS = 5
SEED = 0


def lexicon_scorer(lang: str):
    """(score function, version) of the lexicon score the model is blended with."""
    if lang == "en":
        from importlib.metadata import version

        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        sia = SentimentIntensityAnalyzer()
        return (lambda ts: [sia.polarity_scores(t)["compound"] for t in ts]), f"vader-{version('vaderSentiment')}"
    from listening.nlp.lexicon import LexiconSentiment

    eng = LexiconSentiment(lang)
    return eng.polarity_many, f"{eng.name}-{lang}-{eng.version}"


def train(lang: str, data_dir: Path, out_dir: Path, log=print) -> dict:
    t0 = time.perf_counter()
    tr, ytr = load(data_dir, lang, "train")
    va, yva = load(data_dir, lang, "val")
    lex, lex_version = lexicon_scorer(lang)
    ltr = np.asarray(lex(tr))[:, None]
    lva = np.asarray(lex(va))[:, None]
    vec = TfidfVectorizer(analyzer=ngram.featurize, sublinear_tf=True, min_df=2, dtype=np.float64)
    Xtr = vec.fit_transform(tr)
    Xva = vec.transform(va)
    y = np.asarray([LABELS.index(v) for v in ytr])
    yv = np.asarray([LABELS.index(v) for v in yva])

    folds = StratifiedKFold(5, shuffle=True, random_state=SEED)
    grid = []
    for C in GRID_C:
        for k in GRID_K:
            A = hstack([Xtr, csr_matrix(ltr * k)]).tocsr()
            p = cross_val_predict(LogisticRegression(C=C, max_iter=3000), A, y, cv=folds)
            f = f1_score(y, p, average="macro")
            grid.append({"C": C, "k": k, "cv_macro_f1": round(100 * f, 2)})
            log(f"  {lang} C={C:g} k={k:g}: cv macro-F1 {100 * f:.1f}")
    best = max(grid, key=lambda g: (g["cv_macro_f1"], -g["C"]))
    C, k = best["C"], best["k"]
    model = LogisticRegression(C=C, max_iter=3000).fit(hstack([Xtr, csr_matrix(ltr * k)]).tocsr(), y)
    coef = model.coef_  # (3, n_features + 1)
    W, u = coef[:, :-1], coef[:, -1]
    idf = vec.idf_
    names = vec.get_feature_names_out()
    keep = np.abs(W * idf).max(axis=0) >= PRUNE
    features = {
        str(names[j]): [round(float(idf[j]), DECIMALS)] + [round(float(W[c, j]), DECIMALS) for c in range(3)]
        for j in np.flatnonzero(keep)
    }
    # the lexicon-only baseline on val with the same band as the engine, for the record
    val_pred = model.predict(hstack([Xva, csr_matrix(lva * k)]).tocsr())
    val_f1 = f1_score(yv, val_pred, average="macro")
    val_acc = float((val_pred == yv).mean())
    artefact = {
        "format": ngram.FORMAT,
        "version": "1",
        "lang": lang,
        "classes": list(ngram.CLASSES),
        "lexicon_version": lex_version,
        "lexicon_weight": k,
        "lexicon_coef": [round(float(x), DECIMALS) for x in u],
        "intercept": [round(float(x), DECIMALS) for x in model.intercept_],
        "trained_on": f"{lang} train split ({len(tr)} tweets) of the XLM-T unified sentiment benchmark",
        "features": features,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{lang}.json.gz"
    blob = json.dumps(artefact, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(blob, mtime=0))

    # check: the plain-Python scorer reproduces scikit-learn's probabilities
    m = ngram.NgramModel(path)
    ours = np.asarray([m.proba(t, float(s)) for t, s in zip(va, lva[:, 0])])
    theirs = model.predict_proba(hstack([Xva, csr_matrix(lva * k)]).tocsr())
    max_diff = float(np.abs(ours - theirs).max())
    ours_f1 = f1_score(yv, ours.argmax(axis=1), average="macro")
    metrics = {
        "lang": lang,
        "model": path.name,
        "model_version": m.version,
        "lexicon_version": lex_version,
        "train_size": len(tr),
        "val_size": len(va),
        "features_total": int(len(names)),
        "features_kept": len(features),
        "chosen": {"C": C, "k": k},
        "cv_grid": grid,
        "cv_macro_f1": best["cv_macro_f1"],
        "val_macro_f1_sklearn": round(100 * val_f1, 2),
        "val_macro_f1": round(100 * ours_f1, 2),
        "val_accuracy": round(100 * val_acc, 2),
        "max_abs_proba_diff_vs_sklearn": max_diff,
        "artefact_bytes": path.stat().st_size,
        "train_seconds": round(time.perf_counter() - t0, 1),
    }
    (out_dir / f"{lang}.metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    log(f"{lang}: C={C:g} k={k:g} cv {best['cv_macro_f1']:.1f} val {100 * ours_f1:.1f} "
        f"({len(features)}/{len(names)} features, {path.stat().st_size:,} bytes, max diff {max_diff:.1e})")
    return metrics


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--out", type=Path, default=ngram.MODEL_DIR)
    ap.add_argument("--lang", action="append", choices=["fr", "de", "en"])
    args = ap.parse_args(argv)
    for lang in args.lang or ["fr", "de", "en"]:
        train(lang, args.data, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
