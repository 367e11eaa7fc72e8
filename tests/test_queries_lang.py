"""The query language: parsing and its errors, tricky cases in four languages, the match
records, filters, and what each platform is sent."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from listening.clean import clean_text, fold, hashtags, mentions
from listening.config import Watchlists, load_config
from listening.queries import Matcher, topics_of
from listening.queries_compile import PLATFORMS, compile_query, compile_topic
from listening.queries_lang import And, Near, Not, Or, QueryError, Text, parse, render

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "include" / "config"


def matcher(*queries: str, **topic) -> Matcher:
    return Matcher(Watchlists.model_validate({
        "institution": {"name": "T"},
        "teams": {"t": {"label": "T", "recipients": ["t@example.org"]}},
        "topics": [{"name": "q", "label": "Q", "languages": ["fr"], "team": "t", "queries": list(queries),
                    **topic}],
    }))


def hits(m: Matcher, text: str, author: str | None = None, **kw) -> list[dict]:
    text = clean_text(text)
    return m.match(text, hashtags(text), mentions(text), author, **kw)


def matches(query: str, text: str, **kw) -> bool:
    return bool(hits(matcher(query), text, **kw))


# --------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------
def test_precedence_not_near_and_or():
    assert parse("a b OR c") == Or((And((Text("a"), Text("b"))), Text("c")))
    assert parse("a AND b OR c AND d") == parse("(a b) OR (c d)")
    assert parse("NOT a b") == And((Not(Text("a")), Text("b")))
    assert parse("-a b") == parse("NOT a b")
    assert parse("a NEAR/2 b c") == And((Near(Text("a"), Text("b"), 2), Text("c")))
    assert parse("(a OR b) NEAR/1 cl*") == Near(Or((Text("a"), Text("b"))), Text("cl", wild=True), 1)


def test_phrases_wildcards_and_printing():
    t = parse('"budget régional" OR parlement* OR "ordonnance clim*"')
    assert t == Or((Text("budget régional"), Text("parlement", wild=True), Text("ordonnance clim", wild=True)))
    assert render(t) == '"budget régional" OR parlement* OR "ordonnance clim*"'
    assert render(parse('"OR" budget')) == '"OR" AND budget'   # a quoted operator is a word


@pytest.mark.parametrize("query, message, column, carets", [
    ("budget NEAR vote", "NEAR needs a distance", 8, "^^^^"),
    ("(budget OR vote", "never closed", 1, "^"),
    ("budget OR vote)", "closes nothing", 15, "^"),
    ('"budget régional', "quote is never closed", 1, "^"),
    ("budget or vote", "write the operator OR in capitals", 8, "^^"),
    ("budget AND", "AND needs something on its right", 8, "^^^"),
    ("OR budget", "OR needs something on its left", 1, "^^"),
    ("budget NEAR/3 #BudgetBXL", "NEAR takes words, phrases", 15, "^^^^^^^^^^"),
    ("a NEAR/1 b NEAR/1 c", "NEAR cannot be chained", 12, "^^^^^^"),
    ("parl*ement", "wildcard * can only end", 5, "^"),
    ("b*", "at least two letters", 1, "^^"),
    ("budget langue:fr", "unknown filter 'langue:'", 8, "^^^^^^^"),
    ("budget lang:french", "two-letter", 13, "^^^^^^"),
    ("budget author:parlbxl", "author: takes an account", 15, "^^^^^^^"),
    ("#", "not a hashtag", 1, "^"),
    ("budget ()", "empty parentheses", 9, "^"),
    ("NOT budget", "none of its words", 1, "^^^^^^^^^^"),
    ("lang:fr OR platform:x", "none of its words", 1, "^" * 21),
    ("", "empty query", 1, "^"),
])
def test_errors_point_at_the_problem(query, message, column, carets):
    with pytest.raises(QueryError) as e:
        parse(query)
    assert message in str(e.value)
    assert e.value.pos + 1 == column, str(e.value)
    shown, caret = e.value.caret(indent="").split("\n")
    assert shown == query
    assert caret == " " * (column - 1) + carets


# --------------------------------------------------------------------------------------
# Tricky cases: FR, NL, EN, DE
# --------------------------------------------------------------------------------------
CASES = [
    # (query, text, matches?)  -- French: elision, accents, case
    ("Assemblée", "Vote à l'Assemblée ce soir", True),
    ("Assemblée", "Vote à l’Assemblée ce soir", True),              # typographic apostrophe
    ('"l\'Assemblée"', "Vote à l’ASSEMBLEE ce soir", True),         # either apostrophe in a phrase
    ("reforme", "La Réforme passe", True),
    ("reforme", "les réformes passent", False),                     # whole words: plural needs *
    ("reforme*", "les réformes passent", True),
    ('"budget régional"', "le budget regional 2027", True),
    ('"budget régional"', "les budgets régionaux", False),
    ("ordonnance", "l'ordonnance-cadre", True),                     # a hyphen is a boundary
    ('"Bruxelles-Capitale"', "Région de Bruxelles Capitale", False),  # …but written as such
    ("Bruxelles NEAR/0 Capitale", "Région de Bruxelles-Capitale", True),
    # Dutch: compounds are one word; no decompounding
    ("klimaat", "De klimaatordonnantie wordt gestemd", False),
    ("klimaat*", "De klimaatordonnantie wordt gestemd", True),
    ("klimaatordonnantie OR klimaatwet", "de nieuwe Klimaatwet", True),
    ('"Brussels Hoofdstedelijk Parlement"', "het brussels hoofdstedelijk parlement", True),
    ("begroting NEAR/3 gewest", "het gewest stemt de begroting", True),   # either order
    ("begroting NEAR/1 gewest", "het gewest stemt vandaag de begroting", False),
    # English
    ("Parliament", "the Parliament's vote", True),
    ('"citizens\' panel"', "a citizens’ panel met", True),
    ("vote NOT postponed", "the vote is postponed", False),
    ("vote -postponed", "the vote is on", True),
    # German: ß and umlauts fold; compounds as in Dutch
    ("Strasse", "Die Straße ist gesperrt", True),
    ('"Brüsseler Parlament"', "das brusseler parlament tagt", True),
    ("Gesetz", "das Klimagesetz", False),
    ("Klima*", "das Klimagesetz", True),
    # Hashtags, camel case: a hashtag is one word, matched in any case
    ("#BudgetBXL", "vote #budgetbxl", True),
    ("#BudgetBXL", "vote #BUDGETBXL", True),
    ("#Budget", "vote #BudgetBXL", False),
    ("budget", "vote #BudgetBXL", False),
    ("budget*", "vote #BudgetBXL", True),
    ("budget", "vote #budget", True),                               # a word also matches a tag's text
    ("#budget", "le budget est voté", False),
]


@pytest.mark.parametrize("query, text, expected", CASES)
def test_tricky_cases(query, text, expected):
    assert matches(query, text) is expected


def test_hashtags_match_words_applies_to_queries():
    on = matcher("#Budget vote", hashtags_match_words=True)
    off = matcher("#Budget vote")
    assert hits(on, "le budget au vote") and not hits(off, "le budget au vote")
    assert hits(off, "le #budget au vote")


# --------------------------------------------------------------------------------------
# Accounts and filters
# --------------------------------------------------------------------------------------
def test_account_is_author_or_mention_author_filter_is_author_only():
    m = matcher("@parlbxl budget")
    assert hits(m, "budget voté", author="@parlbxl@mastodon.brussels")
    assert hits(m, "merci @parlbxl.bsky.social pour le budget")
    assert not hits(m, "budget voté", author="@parlbxl_fan")
    a = matcher("budget author:@parlbxl")
    assert hits(a, "budget voté", author="@ParlBXL")
    assert not hits(a, "merci @parlbxl pour le budget", author="@alice")
    n = matcher("budget -author:@parlbxl")
    assert not hits(n, "budget voté", author="@parlbxl") and hits(n, "budget voté", author="@alice")


def test_lang_and_platform_filters():
    m = matcher("budget lang:fr")
    assert hits(m, "le budget", lang="fr") and hits(m, "le budget", lang="fr-BE")
    assert not hits(m, "le budget", lang="nl") and not hits(m, "le budget")   # unknown language: not fr
    p = matcher("budget platform:mastodon")
    assert hits(p, "le budget", platform="mastodon") and not hits(p, "le budget", platform="x")


def test_language_function_is_called_only_when_a_query_needs_it():
    calls = []

    def detect():
        calls.append(1)
        return "fr"

    m = matcher("budget lang:fr")
    assert not hits(m, "rien à voir", lang=detect) and calls == []     # no candidate atom: not called
    assert hits(m, "le budget", lang=detect) and calls == [1]
    assert m.uses_lang and not matcher("budget").uses_lang


# --------------------------------------------------------------------------------------
# What a match keeps
# --------------------------------------------------------------------------------------
def test_query_match_keeps_query_and_terms():
    q = '("budget régional" OR begroting) NEAR/3 vote* -"budget participatif"'
    found = hits(matcher(q, "klimaat*"), "Le vote du budget régional et la klimaatwet")
    assert found == [
        {"topic": "q", "kind": "query", "term": '"budget régional"', "query": q},
        {"topic": "q", "kind": "query", "term": "klimaat*", "query": "klimaat*"},
        {"topic": "q", "kind": "query", "term": "vote*", "query": q},
    ]


def test_only_terms_that_made_the_query_true_are_kept():
    q = "(budget NEAR/1 vote) OR klimaat"
    found = hits(matcher(q), "budget x x x vote, klimaat")
    assert [h["term"] for h in found] == ["klimaat"]


def test_exclusions_mix_keywords_and_queries():
    m = matcher("budget", exclude=["budget participatif", {"query": "sport NEAR/3 (match OR stade)"}])
    assert hits(m, "le budget régional")
    assert not hits(m, "le budget participatif")
    assert not hits(m, "le budget du stade pour le sport")
    assert hits(m, "le budget du sport, puis bien plus loin dans la phrase, un stade")


def test_shorthands_and_queries_together_keep_legacy_records():
    m = matcher("klimaat NEAR/2 ordonnantie", keywords=["budget régional"], hashtags=["#ClimatBXL"],
                accounts=["@parlbxl"])
    found = hits(m, "@parlbxl budget régional #ClimatBXL: de ordonnantie over klimaat")
    assert [(h["kind"], h["term"]) for h in found] == [
        ("account", "@parlbxl"), ("hashtag", "#ClimatBXL"), ("keyword", "budget régional"),
        ("query", "klimaat"), ("query", "ordonnantie")]
    assert topics_of(found) == ["q"]


# --------------------------------------------------------------------------------------
# The shipped example file and the bundled sample
# --------------------------------------------------------------------------------------
def _sample_posts(limit_files: int | None = None):
    from listening.sources.files import records

    return records(REPO / "include" / "sample" / "import", limit_files)


def _all_topics(m: Matcher, posts) -> list[list[str]]:
    out = []
    for r in posts:
        t = clean_text(r["text"])
        out.append(topics_of(m.match(t, hashtags(t), mentions(t), r.get("author_handle"),
                                     lang=r.get("lang"), platform=r.get("platform"))))
    return out


def test_example_queries_file_loads_and_matches(tmp_path):
    d = tmp_path / "config"
    d.mkdir()
    (d / "watchlists.yml").write_text((CONFIG / "examples" / "watchlists-queries.yml").read_text("utf-8"), "utf-8")
    (d / "settings.yml").write_text((CONFIG / "settings.yml").read_text("utf-8"), "utf-8")
    cfg = load_config(d)
    m = Matcher(cfg.watchlists)
    assert "climate-bill" in topics_of(hits(m, "Het gewestelijke klimaatplan en de ordonnantie", lang="nl"))
    assert "budget-2027" not in topics_of(hits(m, "le budget participatif de la commune", lang="fr"))


def test_shipped_watchlists_as_queries_match_the_same_sample_posts():
    """Every shorthand written as a query gives the same topics on the bundled sample."""
    shipped = yaml.safe_load((CONFIG / "watchlists.yml").read_text("utf-8"))
    as_queries = copy.deepcopy(shipped)
    for t in as_queries["topics"]:
        qs = [f'"{k}"' if " " in k or "'" in k else k for k in t.pop("keywords", [])]
        qs += t.pop("hashtags", []) + t.pop("accounts", [])
        t["queries"] = [" OR ".join(qs)]
    old = Matcher(Watchlists.model_validate(shipped))
    new = Matcher(Watchlists.model_validate(as_queries))
    posts = list(_sample_posts(limit_files=4))
    assert len(posts) > 4000
    assert _all_topics(old, posts) == _all_topics(new, posts)


# --------------------------------------------------------------------------------------
# Compilation to each platform
# --------------------------------------------------------------------------------------
def test_x_gets_or_groups_negated_author_and_language():
    c = compile_query('"budget régional" OR (begroting NEAR/3 gewest*) -author:@parlbxl lang:fr', "x")
    assert c.requests == ['"budget régional"', "begroting -from:parlbxl lang:fr"]
    assert c.complete
    assert any("NEAR/3 is sent as AND" in n for n in c.notes)
    assert any("gewest*" in n for n in c.notes)


def test_platform_without_or_gets_one_request_per_clause():
    c = compile_query("(klimaat OR climat) (ordonnance OR wet) NOT sport", "bluesky")
    assert sorted(c.requests) == ["climat ordonnance", "climat wet", "klimaat ordonnance", "klimaat wet"]
    assert any("NOT is not sent" in n for n in c.notes)


def test_platform_filter_is_decided_at_compile_time():
    assert compile_query("budget platform:x", "x").requests == ["budget"]
    assert compile_query("budget platform:x", "reddit").requests == []
    assert compile_query("budget -platform:x", "reddit").requests == ["budget"]


def test_what_cannot_be_searched_is_reported_not_silently_lost():
    c = compile_query("parlement* lang:fr OR vote", "x")
    assert c.requests == ["vote"] and not c.complete
    assert c.missed == ["parlement* AND lang:fr"]
    assert compile_query("@parlbxl", "mastodon").requests == []


def test_long_queries_are_split_under_the_length_limit():
    words = [f"mot{i:03d}" for i in range(200)]
    for name, p in PLATFORMS.items():
        c = compile_query(" OR ".join(words), name)
        assert all(len(r) <= p.max_len for r in c.requests), name
        sent = " ".join(c.requests)
        assert all(w in sent for w in words), name
        if p.or_sep:
            assert 1 < len(c.requests) < 200


def test_compiled_requests_are_supersets_on_the_sample():
    """Evaluate each X request locally as a plain boolean (words present): every sample post the
    topic matches is found by at least one request."""
    cfg = load_config(CONFIG)
    m = Matcher(cfg.watchlists)
    for t in cfg.watchlists.topics:
        c = compile_topic(t, "x")
        assert c.requests and c.complete
    posts = list(_sample_posts(limit_files=1))
    for r, topics in zip(posts, _all_topics(m, posts)):
        for t in cfg.watchlists.topics:
            if t.name in topics and r["platform"] == "x":
                reqs = compile_topic(t, "x").requests
                alts = [fold(a.strip().strip('"')) for req in reqs for a in req.split(" OR ")]
                low = fold(r["text"])
                handle = fold(r.get("author_handle") or "")
                assert any(a in low or (a.startswith("from:") and handle == "@" + a[5:]) for a in alts), \
                    (t.name, r["text"])


def test_shipped_queries_keep_the_sample_matches_identical():
    """The queries added to the shipped watchlists change no topic of any bundled sample post
    (the simulator's truth is computed from keywords, hashtags and accounts)."""
    shipped = yaml.safe_load((CONFIG / "watchlists.yml").read_text("utf-8"))
    assert any(t.get("queries") for t in shipped["topics"])
    plain = copy.deepcopy(shipped)
    for t in plain["topics"]:
        t.pop("queries", None)
        if "exclude" in t:
            t["exclude"] = [e for e in t["exclude"] if isinstance(e, str)]
    posts = list(_sample_posts())
    assert len(posts) > 19000
    assert _all_topics(Matcher(Watchlists.model_validate(plain)), posts) == \
        _all_topics(Matcher(Watchlists.model_validate(shipped)), posts)
