"""Sentiment dispatch: English to VADER, French, Dutch and German to the lexicon engine, others to none."""
from __future__ import annotations

import pytest

from listening.nlp import sentiment
from listening.nlp.sentiment import Sentiment, score


def test_english_goes_to_vader():
    (s,) = score(["What a wonderful, great initiative, thank you!"], ["en"])
    assert s.engine.startswith("vader-")
    assert s.label == "positive" and s.score > 0.5


def test_english_negative_with_vader():
    (s,) = score(["This is a terrible, awful disgrace."], ["en"])
    assert s.engine.startswith("vader-") and s.label == "negative" and s.score < -0.5


@pytest.mark.parametrize("lang,text,label", [
    ("fr", "Quelle honte, ce scandale est inacceptable", "negative"),
    ("fr", "Bravo à toute l'équipe, c'est génial !", "positive"),
    ("nl", "Wat een prachtig initiatief, bedankt!", "positive"),
    ("de", "Was für ein Skandal, einfach unverschämt", "negative"),
])
def test_fr_nl_de_go_to_the_lexicon_engine(lang, text, label):
    (s,) = score([text], [lang])
    assert s.engine.startswith(f"vigie-lexicon-{lang}-")
    assert s.label == label
    assert -1.0 <= s.score <= 1.0


@pytest.mark.parametrize("lang", ["it", "es", "und", ""])
def test_language_without_engine_gets_no_score(lang):
    assert score(["Questo è fantastico"], [lang]) == [None]
    assert sentiment.engine(lang) is None


def test_mixed_batch_keeps_order_and_routes_each_post():
    texts = ["Great job!", "Quelle honte", "Fantastico", "Wat een schande", "Das ist toll", "Terrible."]
    langs = ["en", "fr", "it", "nl", "de", "en"]
    out = score(texts, langs)
    assert len(out) == len(texts)
    assert out[2] is None
    engines = [s.engine.rsplit("-", 1)[0] if s else None for s in out]
    assert engines == ["vader", "vigie-lexicon-fr", None, "vigie-lexicon-nl", "vigie-lexicon-de", "vader"]
    assert [s.label if s else None for s in out] == ["positive", "negative", None, "negative", "positive", "negative"]


def test_labels_agree_with_vader_band():
    for s in score(["ok", "The session starts at 3 pm.", "good", "bad"], ["en"] * 4):
        assert isinstance(s, Sentiment)
        expected = "positive" if s.score >= 0.05 else "negative" if s.score <= -0.05 else "neutral"
        assert s.label == expected


def test_same_text_same_score_across_batches():
    a = score(["Merci pour ce service public excellent"], ["fr"])[0]
    b = score(["Quelle honte", "Merci pour ce service public excellent"], ["fr", "fr"])[1]
    assert a == b
