"""Which watched topics a post belongs to, and why."""
from __future__ import annotations

from pathlib import Path

import pytest

from listening.clean import clean_text, hashtags, mentions
from listening.config import Watchlists, load_config
from listening.queries import Matcher, topics_of

CONFIG = Path(__file__).resolve().parents[1] / "include" / "config"


@pytest.fixture(scope="module")
def shipped() -> Matcher:
    return Matcher(load_config(CONFIG).watchlists)


def watchlists(*topics: dict) -> Watchlists:
    base = {"languages": ["fr"], "team": "t", "label": "L"}
    return Watchlists.model_validate({
        "institution": {"name": "Test"},
        "teams": {"t": {"label": "T", "recipients": ["t@example.org"]}},
        "topics": [{**base, **t} for t in topics],
    })


def match(m: Matcher, text: str, author: str | None = None) -> list[dict]:
    """As the pipeline calls it: on cleaned text, with the extracted hashtags and mentions."""
    text = clean_text(text)
    return m.match(text, hashtags(text), mentions(text), author)


def topics(m: Matcher, text: str, author: str | None = None) -> list[str]:
    return topics_of(match(m, text, author))


# Keywords

@pytest.mark.parametrize("text", [
    "Le budget régional 2027 arrive",
    "BUDGET REGIONAL ce soir",
    "budget\n  Régional",
])
def test_keyword_ignores_case_accents_and_spacing(shipped, text):
    assert topics(shipped, text) == ["budget-2027"]


def test_keyword_records_kind_and_term_as_written(shipped):
    assert match(shipped, "BUDGET REGIONAL ce soir") == [
        {"topic": "budget-2027", "kind": "keyword", "term": "budget régional"}]


@pytest.mark.parametrize("text", [
    "les budget régionaux sont votés",
    "lebudget régional",
    "budget_régional",
])
def test_keyword_respects_word_boundaries(shipped, text):
    assert "budget-2027" not in topics(shipped, text)


def test_apostrophe_is_a_word_boundary(shipped):
    assert topics(shipped, "Le vote de l'ordonnance climat est reporté") == ["climate-bill"]
    assert topics(shipped, "Le vote de l’ordonnance climat est reporté") == ["climate-bill"]


def test_keyword_in_dutch_and_german(shipped):
    assert topics(shipped, "De klimaatordonnantie wordt vandaag gestemd") == ["climate-bill"]
    assert topics(shipped, "Das Brüsseler Parlament tagt") == ["parlement"]
    assert topics(shipped, "das brusseler parlament tagt") == ["parlement"]


def test_trailing_wildcard_matches_any_ending():
    m = Matcher(watchlists({"name": "parl", "keywords": ["parlement*"]}))
    assert topics(m, "Une parlementaire a parlé") == ["parl"]
    assert topics(m, "Au Parlement") == ["parl"]
    assert match(m, "les parlementaires")[0]["term"] == "parlement*"
    # the wildcard extends the end, not the start
    assert topics(m, "leparlement") == []


def test_keyword_without_wildcard_does_not_match_longer_word():
    m = Matcher(watchlists({"name": "parl", "keywords": ["parlement"]}))
    assert topics(m, "une parlementaire") == []


def test_same_keyword_twice_is_one_match():
    m = Matcher(watchlists({"name": "b", "keywords": ["budget"]}))
    assert match(m, "budget, budget, encore le budget") == [{"topic": "b", "kind": "keyword", "term": "budget"}]


# Hashtags

def test_hashtag_matches_hashtag_in_any_case(shipped):
    assert match(shipped, "Vote #budgetbxl") == [{"topic": "budget-2027", "kind": "hashtag", "term": "#BudgetBXL"}]


@pytest.mark.parametrize("text", ["le budgetbxl", "#BudgetBXL2 demain", "#BudgetBXLs"])
def test_hashtag_does_not_match_words_or_longer_tags(shipped, text):
    assert topics(shipped, text) == []


def test_hashtags_match_words_when_asked():
    on = Matcher(watchlists({"name": "b", "hashtags": ["#Budget"], "hashtags_match_words": True}))
    off = Matcher(watchlists({"name": "b", "hashtags": ["#Budget"]}))
    assert topics(on, "le budget est voté") == ["b"]
    assert topics(off, "le budget est voté") == []
    assert topics(off, "le #budget est voté") == ["b"]


def test_hashtag_from_mastodon_html(shipped):
    html = '<p>Le <a href="https://mastodon.brussels/tags/ParlBXL" class="mention hashtag">#<span>ParlBXL</span></a> vote</p>'
    assert match(shipped, html) == [{"topic": "parlement", "kind": "hashtag", "term": "#ParlBXL"}]


# Accounts

@pytest.mark.parametrize("text", [
    "merci @parlbxl",
    "merci @ParlBXL",
    "merci @parlbxl@mastodon.brussels",
    "merci @parlbxl.bsky.social",
])
def test_watched_account_mentioned_in_any_form(shipped, text):
    assert match(shipped, text) == [{"topic": "parlement", "kind": "account", "term": "@parlbxl"}]


@pytest.mark.parametrize("text", ["merci @parlbxl_fan", "merci @parlbxl2", "écrire à info@parlbxl.be"])
def test_other_accounts_do_not_match(shipped, text):
    assert topics(shipped, text) == []


@pytest.mark.parametrize("author", ["@parlbxl", "@ParlBXL", "@parlbxl@mastodon.brussels", "@parlbxl.bsky.social"])
def test_post_by_watched_account(shipped, author):
    assert match(shipped, "Séance ouverte", author) == [{"topic": "parlement", "kind": "author", "term": "@parlbxl"}]


def test_post_by_lookalike_account_does_not_match(shipped):
    assert topics(shipped, "Séance ouverte", "@parlbxl_fan") == []


def test_fully_qualified_watched_handle_matches_only_itself():
    m = Matcher(watchlists({"name": "p", "accounts": ["@parlbxl@mastodon.brussels"]}))
    assert topics(m, "merci @parlbxl@mastodon.brussels") == ["p"]
    assert topics(m, "merci @parlbxl") == []
    assert topics(m, "merci @parlbxl@mastodon.social") == []


# Exclude, several topics, order

def test_exclude_removes_the_topic(shipped):
    assert topics(shipped, "Le budget régional et le budget participatif") == []
    assert topics(shipped, "Le Budget Participatif du #BudgetBXL") == []


def test_exclude_removes_only_its_own_topic(shipped):
    text = "Au #ParlBXL: budget régional et budget participatif"
    assert topics(shipped, text) == ["parlement"]


def test_post_in_several_topics_keeps_every_reason(shipped):
    text = "@parlbxl vote le budget régional #BudgetBXL et l'ordonnance climat"
    found = match(shipped, text)
    assert {(m["topic"], m["kind"], m["term"]) for m in found} == {
        ("parlement", "account", "@parlbxl"),
        ("budget-2027", "keyword", "budget régional"),
        ("budget-2027", "hashtag", "#BudgetBXL"),
        ("climate-bill", "keyword", "ordonnance climat"),
        # the shipped query `ordonnance NEAR/3 (climat OR climatique)` gives its own reasons
        ("climate-bill", "query", "ordonnance"),
        ("climate-bill", "query", "climat"),
    }
    assert {m.get("query") for m in found if m["kind"] == "query"} == {"ordonnance NEAR/3 (climat OR climatique)"}
    # topics in watchlist order
    order = [m["topic"] for m in found]
    assert order == sorted(order, key=["parlement", "budget-2027", "climate-bill", "agora"].index)
    assert topics_of(found) == ["budget-2027", "climate-bill", "parlement"]


def test_unrelated_post_matches_nothing(shipped):
    assert match(shipped, "Il fait beau à Namur aujourd'hui") == []
