"""Sentiment dispatch: English to VADER + n-gram model, French and German to the lexicon + n-gram
blend, Dutch to the lexicon engine, others to none; confidence; fallbacks."""
from __future__ import annotations

import logging

import pytest

from listening.nlp import sentiment
from listening.nlp.sentiment import Sentiment, band_confidence, score


@pytest.fixture
def fresh_engines():
    """Engines are cached per process: clear them around tests that change the environment."""
    sentiment.engine.cache_clear()
    sentiment.transformer.cache_clear()
    yield
    sentiment.engine.cache_clear()
    sentiment.transformer.cache_clear()


def test_english_goes_to_vader_blended_with_the_ngram_model():
    (s,) = score(["What a wonderful, great initiative, thank you!"], ["en"])
    assert s.engine.startswith("vader-") and "+ngram-en-" in s.engine
    assert s.label == "positive" and s.score > 0.3 and s.confidence > 0.5


def test_english_negative():
    (s,) = score(["This is a terrible, awful disgrace."], ["en"])
    assert s.engine.startswith("vader-") and s.label == "negative" and s.score < -0.3


@pytest.mark.parametrize("lang,text,label", [
    ("fr", "Quelle honte, ce scandale est inacceptable", "negative"),
    ("fr", "Bravo à toute l'équipe, c'est génial !", "positive"),
    ("fr", "Le conseil municipal se réunit jeudi à 19h", "neutral"),
    ("de", "Was für ein Skandal, einfach unverschämt", "negative"),
    ("de", "Danke, das ist wirklich toll gemacht", "positive"),
])
def test_fr_de_go_to_the_blend(lang, text, label):
    (s,) = score([text], [lang])
    assert s.engine.startswith(f"vigie-blend-{lang}-")
    assert s.label == label
    assert -1.0 <= s.score <= 1.0 and 1 / 3 <= s.confidence <= 1.0


@pytest.mark.parametrize("text,label", [
    ("Wat een prachtig initiatief, bedankt!", "positive"),
    ("Wat een schande, dit is onaanvaardbaar", "negative"),
    ("De gemeenteraad vergadert donderdag om 20u.", "neutral"),
])
def test_dutch_goes_to_the_lexicon_engine(text, label):
    (s,) = score([text], ["nl"])
    assert s.engine.startswith("vigie-lexicon-nl-")
    assert s.label == label and 0.0 <= s.confidence <= 1.0


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
    engines = [s.engine.split("-")[0] + "-" + s.engine.split("-")[1] if s else None for s in out]
    assert engines[1] == "vigie-blend" and engines[3] == "vigie-lexicon" and engines[4] == "vigie-blend"
    assert out[0].engine.startswith("vader-") and out[5].engine.startswith("vader-")
    assert [s.label if s else None for s in out] == ["positive", "negative", None, "negative", "positive", "negative"]


def test_blend_score_label_and_confidence_agree():
    texts = ["ok", "The session starts at 3 pm.", "good", "bad", "not bad at all", "I hate this"]
    for s in score(texts, ["en"] * len(texts)):
        assert isinstance(s, Sentiment)
        assert -1.0 <= s.score <= 1.0 and 1 / 3 <= s.confidence <= 1.0
        if s.label == "positive":
            assert s.score > 0
        if s.label == "negative":
            assert s.score < 0


def test_same_text_same_score_across_batches():
    a = score(["Merci pour ce service public excellent"], ["fr"])[0]
    b = score(["Quelle honte", "Merci pour ce service public excellent"], ["fr", "fr"])[1]
    assert a == b


def test_band_confidence():
    assert band_confidence(0.8, "positive", -0.05, 0.05) == 0.9
    assert band_confidence(0.0, "neutral", -0.05, 0.05) == 0.5
    assert band_confidence(0.05, "neutral", -0.05, 0.05) == 0.5
    assert band_confidence(0.01, "neutral", -0.05, 0.05) == 0.9


def test_missing_model_file_falls_back_to_the_lexicon_alone(tmp_path, monkeypatch, caplog, fresh_engines):
    monkeypatch.setenv("VIGIE_SENTIMENT_NGRAM_DIR", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="listening.nlp.sentiment"):
        fr, en = score(["Quelle honte", "What a disgrace"], ["fr", "en"])
    assert fr.engine.startswith("vigie-lexicon-fr-") and fr.label == "negative"
    assert en.engine.startswith("vader-") and "ngram" not in en.engine and en.label == "negative"
    assert "no n-gram model" in caplog.text


def test_transformer_engine_absent_is_skipped_with_a_log_line(tmp_path, monkeypatch, caplog, fresh_engines):
    import importlib.util

    if importlib.util.find_spec("torch") and importlib.util.find_spec("transformers"):
        pytest.skip("torch and transformers are installed here: this tests the path without them")
    model_dir = tmp_path / "xlm-t"
    model_dir.mkdir()
    with caplog.at_level(logging.WARNING, logger="listening.nlp.sentiment"):
        (s,) = score(["Quelle honte"], ["fr"], model_dir=str(model_dir))
    assert s.engine.startswith("vigie-blend-fr-") and s.label == "negative"
    assert "transformer engine skipped" in caplog.text and "not installed" in caplog.text
    # the same through the environment variable, and still nothing for unsupported languages
    monkeypatch.setenv(sentiment.MODEL_DIR_ENV, str(model_dir))
    assert score(["Wat een schande", "Che bello"], ["nl", "it"])[1] is None


def test_settings_have_an_optional_model_dir(tmp_path):
    from listening.config import Settings

    assert Settings().sentiment_model_dir is None
    assert Settings(sentiment_model_dir=str(tmp_path)).sentiment_model_dir == str(tmp_path)
