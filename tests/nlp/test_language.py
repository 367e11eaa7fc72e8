"""Language of each post, among the configured languages only."""
from __future__ import annotations

import pytest

from listening.nlp.language import UNDETERMINED, identify

LANGS = ["fr", "nl", "en", "de"]

SENTENCES = {
    "fr": [
        "Le Parlement bruxellois a voté le budget régional hier soir après un long débat.",
        "Quelqu'un sait à quelle heure commence la séance sur l'ordonnance climat ?",
        "Les panels citoyens sont une bonne idée, mais il faut écouter les habitants.",
    ],
    "nl": [
        "Het Brussels Parlement heeft gisteren de begroting goedgekeurd na een lang debat.",
        "Weet iemand hoe laat de vergadering over de klimaatordonnantie begint?",
        "De burgerpanels zijn een goed idee, maar men moet ook naar de bewoners luisteren.",
    ],
    "en": [
        "The Brussels Parliament approved the regional budget last night after a long debate.",
        "Does anyone know what time the session on the climate bill starts?",
        "Citizens' panels are a good idea, but they also have to listen to residents.",
    ],
    "de": [
        "Das Brüsseler Parlament hat gestern Abend nach langer Debatte den Haushalt beschlossen.",
        "Weiß jemand, wann die Sitzung zum Klimagesetz beginnt?",
        "Bürgerräte sind eine gute Idee, aber man muss auch den Bewohnern zuhören.",
    ],
}


def test_platform_tag_in_configured_languages_is_trusted():
    # the text is English, but the platform says Dutch: the platform is believed
    out = identify(["The Parliament approved the budget last night."], ["nl"], LANGS)
    assert out == [("nl", "platform", 1.0)]


@pytest.mark.parametrize("tag,code", [("fr-BE", "fr"), ("NL", "nl"), ("de-DE", "de")])
def test_platform_tag_with_region_or_case(tag, code):
    assert identify(["x"], [tag], LANGS) == [(code, "platform", 1.0)]


def test_platform_tag_outside_configured_languages_is_not_trusted():
    (lang, source, conf), = identify([SENTENCES["en"][0]], ["it"], LANGS)
    assert (lang, source) == ("en", "detected")
    assert 0.5 <= conf <= 1.0


def test_ordinary_sentences_are_detected():
    texts = [t for lang in LANGS for t in SENTENCES[lang]]
    expected = [lang for lang in LANGS for _ in SENTENCES[lang]]
    out = identify(texts, [None] * len(texts), LANGS)
    assert [o[0] for o in out] == expected
    assert all(o[1] == "detected" and o[2] >= 0.5 for o in out)


def test_links_mentions_and_hashtags_do_not_decide_the_language():
    text = "@parliament @brussels #BrusselsParliament https://example.org/the-news Het debat over de begroting begint nu."
    (lang, source, _), = identify([text], [None], LANGS)
    assert (lang, source) == ("nl", "detected")


@pytest.mark.parametrize("text", [
    "😀🎉👍👍",
    "https://example.org/a/b?x=1",
    "@alice@mastodon.social #ParlBXL https://ex.org/x",
    "",
    "ok !",
])
def test_text_without_words_is_undetermined(text):
    assert identify([text], [None], LANGS) == [(UNDETERMINED, "detected", 0.0)]


def test_only_configured_languages_are_answered():
    # a Spanish sentence must come out as one of the configured languages or 'und', never 'es'
    out = identify(["El parlamento aprobó ayer el presupuesto regional."], [None], ["fr", "nl"])
    assert out[0][0] in {"fr", "nl", UNDETERMINED}


def test_order_is_kept_in_a_mixed_batch():
    texts = [SENTENCES["de"][0], "😀", SENTENCES["fr"][0], SENTENCES["en"][1]]
    out = identify(texts, [None, None, None, "en"], LANGS)
    assert [o[0] for o in out] == ["de", UNDETERMINED, "fr", "en"]
    assert [o[1] for o in out] == ["detected", "detected", "detected", "platform"]
