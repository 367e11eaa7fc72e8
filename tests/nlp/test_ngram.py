"""The n-gram model: features, the plain-Python scorer, and the committed artefacts."""
from __future__ import annotations

import gzip
import json
import math
import time

import pytest

from listening.nlp import ngram
from listening.nlp.lexicon import LexiconSentiment
from listening.nlp.ngram import NgramModel, featurize


def test_featurize_words_bigrams_and_char_grams():
    f = featurize("Pas TERRIBLE ce #BudgetGate !! @someone http://x.y")
    assert "w:pas" in f and "w:terrible" in f and "b:pas terrible" in f
    assert "w:budget" in f and "w:gate" in f            # hashtag split into words
    assert "w:@" in f and "w:user" in f and "w:http" in f  # handles and links normalised
    assert "c: pas " in f and "c:ter" in f and "c:rible" in f
    assert f.count("w:!") == 2
    assert not any(x.startswith("c:") and "someone" in x for x in f)


def test_featurize_folds_accents_and_repeated_letters():
    assert featurize("Génial") == featurize("genial")
    assert "w:troop" in featurize("trooooop")


def _tiny(tmp_path, **over):
    data = {"format": 1, "version": "1", "lang": "xx", "classes": ["negative", "neutral", "positive"],
            "lexicon_version": "lex-1", "lexicon_weight": 2.0, "lexicon_coef": [-1.0, 0.0, 1.0],
            "intercept": [0.0, 0.5, 0.0],
            "features": {"w:bad": [2.0, 1.5, 0.0, -1.5], "w:good": [2.0, -1.5, 0.0, 1.5]}}
    data.update(over)
    p = tmp_path / "xx.json.gz"
    p.write_bytes(gzip.compress(json.dumps(data).encode()))
    return p


def test_scorer_does_the_documented_arithmetic(tmp_path):
    m = NgramModel(_tiny(tmp_path))
    # 'good good' : tf = 1 + ln 2, x = idf * tf, L2-normalised over the known features -> 1.0
    p = m.proba("good good", 0.5)
    z = [-1.5 + 0.0 + 0.5 * 2 * -1.0, 0.5, 1.5 + 0.5 * 2 * 1.0]
    e = [math.exp(v) for v in z]
    assert p == pytest.approx(tuple(v / sum(e) for v in e))
    # unknown words only: intercept and lexicon score decide
    q = m.proba("nothing known", 0.0)
    e = [1.0, math.exp(0.5), 1.0]
    assert q == pytest.approx(tuple(v / sum(e) for v in e))


def test_bad_artefacts_are_refused(tmp_path):
    with pytest.raises(ValueError, match="format"):
        NgramModel(_tiny(tmp_path, format=99))
    with pytest.raises(ValueError, match="classes"):
        NgramModel(_tiny(tmp_path, classes=["neg", "neu", "pos"]))


@pytest.mark.parametrize("lang", ["fr", "de", "en"])
def test_committed_model_is_small_fast_and_current(lang):
    path = ngram.MODEL_DIR / f"{lang}.json.gz"
    assert path.stat().st_size < 1_000_000
    t0 = time.perf_counter()
    m = NgramModel(path)
    assert time.perf_counter() - t0 < 2.0
    metrics = json.loads((ngram.MODEL_DIR / f"{lang}.metrics.json").read_text())
    assert metrics["model_version"] == m.version
    assert metrics["max_abs_proba_diff_vs_sklearn"] < 1e-3
    # the model was trained on the lexicon as it is now: change a lexicon, retrain
    # (python bench/train_sentiment.py)
    if lang == "en":
        assert m.lexicon_version.startswith("vader-")
    else:
        lex = LexiconSentiment(lang)
        assert m.lexicon_version == f"{lex.name}-{lang}-{lex.version}"


_BATCH = ["", "!", "good", "good good", "bad good bad good bad", "Pas TERRIBLE ce #BudgetGate !! @someone http://x.y",
          "le le le le le le le le", "Génial génial GÉNIAL 😡😡 😡", "trooooop bien, trop trop bien", "x" * 400,
          "Das ist ja toll, toll toll!!! Wirklich nicht schlecht.", "What a wonderful, wonderful day :) :)",
          "aaaa bbbb aaaa bbbb aaaa bbbb", "#ParlBXL #ParlBXL #ParlBXL 😅"]


@pytest.mark.parametrize("lang", ["fr", "de", "en"])
def test_batch_scorer_gives_the_same_floats_as_one_by_one(lang):
    """proba_many is proba for a batch: the same floats bit for bit, whatever the batch
    (repeated features, tokens seen for the first time, empty texts, chunk boundaries)."""
    m = NgramModel(ngram.MODEL_DIR / f"{lang}.json.gz")
    texts = _BATCH + [" ".join(_BATCH[i % len(_BATCH)] for i in range(k, k + 3)) for k in range(30)]
    lexs = [((i * 37) % 21 - 10) / 10 for i in range(len(texts))]
    m.CHUNK = 7  # several chunks, tokens new in one and known in the next
    assert m.proba_many(texts, lexs) == [m.proba(t, s) for t, s in zip(texts, lexs)]
    assert m.proba_many(texts[::-1], lexs[::-1]) == [m.proba(t, s) for t, s in zip(texts[::-1], lexs[::-1])]
    assert m.proba_many([], []) == []


def test_batch_scorer_on_the_tiny_model(tmp_path):
    m = NgramModel(_tiny(tmp_path))
    texts = ["good good", "nothing known", "", "bad bad bad good"]
    assert m.proba_many(texts, [0.5, 0.0, 0.1, -0.3]) == [m.proba(t, s) for t, s in zip(texts, [0.5, 0.0, 0.1, -0.3])]
