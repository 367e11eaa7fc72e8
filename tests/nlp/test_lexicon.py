"""Behaviour of the Vigie lexicon sentiment engine (fr, nl, de)."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

from listening.nlp.lexicon import LexiconError, LexiconSentiment

REPO = Path(__file__).resolve().parents[2]
LEXICON_DIR = REPO / "include" / "lexicons" / "sentiment"


@pytest.fixture(scope="module")
def fr():
    return LexiconSentiment("fr")


@pytest.fixture(scope="module")
def nl():
    return LexiconSentiment("nl")


@pytest.fixture(scope="module")
def de():
    return LexiconSentiment("de")


@pytest.mark.parametrize(
    "lang,text",
    [
        ("fr", "Bravo à toute l'équipe, c'est génial !"),
        ("fr", "Merci pour ce service public excellent"),
        ("nl", "Wat een prachtig initiatief, bedankt!"),
        ("nl", "Schitterend werk van de gemeente"),
        ("de", "Danke, das ist wirklich toll gemacht"),
        ("de", "Super Idee, ich finde das großartig"),
    ],
)
def test_clear_positive(lang, text):
    assert LexiconSentiment(lang).polarity(text) > 0.3


@pytest.mark.parametrize(
    "lang,text",
    [
        ("fr", "Quelle honte, ce scandale est inacceptable"),
        ("fr", "Encore une catastrophe, c'est ridicule et pathétique"),
        ("nl", "Wat een schande, dit beleid is waardeloos en belachelijk"),
        ("de", "Was für ein Skandal, einfach unverschämt"),
        ("de", "Diese Katastrophe ist eine Schande"),
    ],
)
def test_clear_negative(lang, text):
    assert LexiconSentiment(lang).polarity(text) < -0.3


def test_negation_flips(fr, nl, de):
    assert fr.polarity("c'est bon") > 0
    assert fr.polarity("ce n'est pas bon") < 0
    assert fr.polarity("ce n'est jamais bon") < 0
    assert nl.polarity("goed") > 0 and nl.polarity("niet goed") < 0
    assert nl.polarity("het is niet mooi") < 0
    assert de.polarity("gut") > 0 and de.polarity("nicht gut") < 0
    assert de.polarity("das ist kein guter Plan") < 0


def test_french_ne_pas_counts_once(fr):
    # "ne ... pas" is one negation, not a double negation
    assert fr.polarity("il n'est pas content") == pytest.approx(fr.polarity("il est pas content"))


def test_idioms(fr, nl, de):
    assert fr.polarity("pas terrible") < 0
    assert fr.polarity("c'est pas mal") > 0
    assert fr.polarity("Franchement, pas mal du tout") > 0
    assert nl.polarity("niet slecht") > 0
    assert de.polarity("gar nicht schlecht") > 0
    assert de.polarity("klappt nicht") < 0


def test_boosters_and_dampeners(fr, nl, de):
    assert fr.polarity("très bon") > fr.polarity("bon") > fr.polarity("un peu bon") > 0
    assert fr.polarity("vraiment nul") < fr.polarity("nul") < 0
    assert nl.polarity("heel goed") > nl.polarity("goed")
    assert de.polarity("sehr gut") > de.polarity("gut")
    assert de.polarity("extrem schlecht") < de.polarity("schlecht")


def test_contrast_later_clause_weighs_more(fr, nl, de):
    assert fr.polarity("le film est bon mais la fin est nulle") < 0
    assert fr.polarity("la fin est nulle mais le film est génial") > 0
    assert nl.polarity("het idee is goed maar de uitvoering is slecht") < 0
    assert de.polarity("die Idee ist gut, aber die Umsetzung ist schlecht") < 0


def test_emphasis_caps_and_exclamation(fr):
    assert fr.polarity("c'est nul") > fr.polarity("c'est NUL")
    assert fr.polarity("c'est génial!!!") > fr.polarity("c'est génial")
    # capped at 4 exclamation marks
    assert fr.polarity("génial!!!!") == fr.polarity("génial!!!!!!!!")


def test_accents_optional(fr, de):
    assert fr.polarity("je suis déçu") == fr.polarity("je suis decu") < 0
    assert fr.polarity("DÉÇU") < 0
    assert de.polarity("schön") == de.polarity("schoen") > 0
    assert de.polarity("scheiße") == de.polarity("scheisse") < 0
    # umlauts are written out, not stripped: "schon" (already) is not "schön"
    assert de.polarity("schon") == 0.0


def test_elision_split(fr):
    assert fr.polarity("l'échec du projet") < 0
    assert fr.polarity("c'est l'échec") < 0


def test_emoji(fr, nl, de):
    assert fr.polarity("réunion demain 😍") > 0
    assert nl.polarity("vergadering morgen 😡") < 0
    assert de.polarity("Termin morgen 👍") > 0
    assert de.polarity("Termin morgen 👍🏽") > 0  # skin tone ignored
    assert fr.polarity("à demain :)") > 0 and fr.polarity("à demain :(") < 0
    assert fr.polarity("❤️") > 0  # with variation selector


def test_hashtags_split(fr):
    assert fr.polarity("#StopBudgetScandale") < 0
    assert fr.polarity("#scandale") < 0
    assert fr.polarity("#MerciLesSoignants") > 0


def test_neutral_and_empty(fr):
    assert fr.polarity("") == 0.0
    assert fr.polarity("La réunion du conseil municipal aura lieu jeudi http://x.fr") == 0.0
    assert fr.label(0.0) == "neutral"
    assert fr.label(0.9) == "positive"
    assert fr.label(-0.9) == "negative"


def test_scores_bounded(fr, de):
    texts = ["génial " * 50 + "!!!!!", "nul " * 50 + "😡" * 20, "JE DÉTESTE TOUT!!!", ""]
    for s in fr.polarity_many(texts) + de.polarity_many(["TOLL " * 40]):
        assert -1.0 <= s <= 1.0
    assert fr.polarity_many(texts) == [fr.polarity(t) for t in texts]


def test_version_names_the_lexicon(tmp_path, fr):
    assert fr.name == "vigie-lexicon"
    assert fr.version.startswith("1+") and len(fr.version) > 6
    assert LexiconSentiment("fr").version == fr.version
    for f in LEXICON_DIR.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    assert LexiconSentiment("fr", tmp_path).version == fr.version
    with open(tmp_path / "fr.tsv", "a", encoding="utf-8") as fh:
        fh.write("vigietest\t1.0\n")
    assert LexiconSentiment("fr", tmp_path).version != fr.version


def test_unknown_language(tmp_path):
    with pytest.raises(ValueError) as e:
        LexiconSentiment("xx")
    assert "'xx'" in str(e.value) and str(LEXICON_DIR) in str(e.value)


def test_env_override(tmp_path, monkeypatch):
    (tmp_path / "rules.yml").write_text("fr:\n  negators: [pas]\n", encoding="utf-8")
    (tmp_path / "fr.tsv").write_text("# test\nsuper\t2\n", encoding="utf-8")
    monkeypatch.setenv("VIGIE_LEXICON_DIR", str(tmp_path))
    eng = LexiconSentiment("fr")
    assert eng.lexicon_dir == tmp_path
    assert eng.polarity("super") > 0 and eng.polarity("pas super") < 0
    assert eng.polarity("génial") == 0.0  # not in this lexicon


@pytest.mark.parametrize("bad", ["sans_valeur\n", "mot\tabc\n", "mot\t9\n", "\t1.0\n"])
def test_malformed_line_names_file_and_line(tmp_path, bad):
    (tmp_path / "rules.yml").write_text("fr: {}\n", encoding="utf-8")
    path = tmp_path / "fr.tsv"
    path.write_text("# comment\nbon\t2.0\n" + bad, encoding="utf-8")
    with pytest.raises(LexiconError) as e:
        LexiconSentiment("fr", tmp_path)
    assert f"{path}:3" in str(e.value)


def test_shipped_lexicons_are_big_enough():
    for lang in ("fr", "nl", "de"):
        eng = LexiconSentiment(lang)
        assert len(eng.words) + len(eng.idioms) >= 600, lang
    assert len(LexiconSentiment("fr").emoji) >= 60


def test_speed(fr):
    texts = ["Encore une panne du tram ce matin, vraiment pas terrible #STIB 😡",
             "Merci à la mairie pour ce super parc, c'est génial !",
             "Le conseil municipal se réunit jeudi à 19h"] * 2000
    fr.polarity_many(texts[:100])
    t0 = time.perf_counter()
    fr.polarity_many(texts)
    rate = len(texts) / (time.perf_counter() - t0)
    assert rate > 5_000  # measured ~40,000/s; loose so a busy CI machine passes


def _bench():
    spec = importlib.util.spec_from_file_location("eval_sentiment", REPO / "bench" / "eval_sentiment.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# lexicon alone, val macro-F1 measured: fr 59.9, de 62.3 (bench/eval_sentiment.py); floors a bit under
@pytest.mark.parametrize("lang,floor", [("fr", 0.56), ("de", 0.59)])
def test_val_macro_f1_floor(lang, floor):
    bench = _bench()
    data = bench.default_data_dir()
    if not (data / bench.LANG_DIRS[lang] / "val_text.txt").is_file():
        pytest.skip(f"labelled data not found in {data}")
    texts, gold = bench.load(data, lang, "val")
    eng = LexiconSentiment(lang)
    pred = [eng.label(s) for s in eng.polarity_many(texts)]
    assert bench.macro_f1(gold, pred) >= floor


def test_base_lexicon_is_loaded_first_and_overridden(tmp_path):
    for p in LEXICON_DIR.iterdir():
        (tmp_path / p.name).write_bytes(p.read_bytes())
    (tmp_path / "nl-pattern.tsv").write_text("mooi\t1\nrampzalig\t-3\nheel\t2\n", encoding="utf-8")
    (tmp_path / "nl.tsv").write_text("mooi\t2.5\n", encoding="utf-8")
    eng = LexiconSentiment("nl", tmp_path)
    assert eng.words["mooi"] == 2.5          # the hand-written file wins
    assert eng.words["rampzalig"] == -3      # the base list fills in
    assert "heel" not in eng.words           # a booster in rules.yml is not a sentiment word
    assert eng.label(eng.polarity("Een rampzalig plan")) == "negative"


def test_missing_base_lexicon_is_named(tmp_path):
    for p in LEXICON_DIR.iterdir():
        (tmp_path / p.name).write_bytes(p.read_bytes())
    (tmp_path / "nl-pattern.tsv").unlink()
    with pytest.raises(LexiconError, match="nl-pattern.tsv"):
        LexiconSentiment("nl", tmp_path)


def test_dutch_has_pattern_adjectives(nl):
    # from Pattern's Dutch lexicon (bench/build_nl_lexicon.py), with the -e forms
    for w in ("belabberd", "voortreffelijk", "waardeloos", "waardeloze"):
        assert w in nl.words, w


def _nl_set():
    bench = _bench()
    return bench, bench.load_nl()


def test_dutch_set_is_big_varied_and_well_formed():
    _, (texts, gold) = _nl_set()
    assert len(texts) >= 300
    assert len(set(texts)) == len(texts)
    for label in ("negative", "neutral", "positive"):
        assert gold.count(label) >= 90


def test_dutch_macro_f1_floor(nl):
    # measured 77.1 (docs/sentiment.md); the target is 60
    bench, (texts, gold) = _nl_set()
    pred = [nl.label(s) for s in nl.polarity_many(texts)]
    assert bench.macro_f1(gold, pred) >= 0.70


def test_token_pattern_reads_emoji_then_words_as_defined():
    """The scoring pattern (letter-initial emoji, words, other emoji behind a first-character
    test) gives the tokens of the plain definition: at each position the longest emoji, else a word."""
    eng = LexiconSentiment("fr")
    texts = ["xD trop bien :-) :)) <3 😡😡", "Dxd XDD D: :D:D ^_^ -_- ;-)x", "xDebug (: :'( ", "", "123 ABC déjà"]
    for t in texts:
        assert eng._token_re1.findall(t) == [e or w for e, w in eng._token_re.findall(t)]
