"""Property tests: the fast matcher agrees with a plain reference evaluator written from the
definition in docs/queries.md (word lists, no regular expressions, no index), on generated
queries and texts; and a query printed back parses to the same tree."""
from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings, strategies as st

from listening.clean import clean_text, hashtags as extract_tags, mentions as extract_mentions
from listening.config import Watchlists
from listening.queries import Matcher
from listening.queries_lang import (Account, And, Filter, Near, Not, Or, Tag, Text, parse, render)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# A small vocabulary, so that generated queries and texts meet often: accents, case, elision,
# a compound and its head, a word and its longer forms.
VOCAB = ["budget", "Budget", "BUDGET", "réforme", "reforme", "Réformes", "klimaat", "klimaatwet",
         "vote", "votes", "parlement", "parlementaire", "Assemblée", "assemblee", "2027"]
SEPS = [" ", " ", " ", "  ", ", ", " - ", "-", "'", "’", ". ", "\n", " « ", " » "]
TAGS = ["#Budget", "#BudgetBXL", "#klimaat", "#Vote"]
HANDLES = ["@parlbxl", "@parlbxl@mastodon.brussels", "@parlbxl.bsky.social", "@alice", "@bob@x.social"]
LANGS = ["fr", "nl", "en"]
PLATFORMS = ["x", "mastodon", "bluesky"]


# --------------------------------------------------------------------------------------
# Reference evaluator: the definition, written the slow and obvious way
# --------------------------------------------------------------------------------------
def ref_fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s.casefold())
    return "".join(c for c in s if not unicodedata.combining(c))


def is_word_char(c: str) -> bool:
    return c.isalnum()


def ref_words(t: str) -> list[tuple[str, int, int]]:
    """Maximal runs of letters and digits, with their character spans."""
    out, i = [], 0
    while i < len(t):
        if is_word_char(t[i]):
            j = i
            while j < len(t) and is_word_char(t[j]):
                j += 1
            out.append((t[i:j], i, j))
            i = j
        else:
            i += 1
    return out


def ref_occurrences(t: str, node: Text) -> list[tuple[int, int]]:
    """(first word, last word) of every occurrence of a word or phrase: consecutive words,
    separated only by white space, the last one extended by a wildcard."""
    want = ref_fold(node.raw).split()
    ws = ref_words(t)
    out = []
    for i in range(len(ws) - len(want) + 1):
        ok = True
        for k, w in enumerate(want):
            word, s, e = ws[i + k]
            last = k == len(want) - 1
            if not (word == w or (last and node.wild and word.startswith(w))):
                ok = False
                break
            if k and not t[ws[i + k - 1][2]:s].isspace():
                ok = False
                break
        if ok:
            out.append((i, i + len(want) - 1))
    return out


def ref_handle(watched: str, handle: str | None) -> bool:
    if not handle:
        return False
    w, h = watched.lower(), handle.lower()
    if h == w:
        return True
    if "@" in w[1:] or "." in w:
        return False
    return h.startswith(w + "@") or h == w + ".bsky.social"


def ref_eval(node, post: dict) -> bool:
    t = ref_fold(post["text"])
    if isinstance(node, Text):
        return bool(ref_occurrences(t, node))
    if isinstance(node, Tag):
        if ref_fold(node.raw[1:]) in {ref_fold(h) for h in post["tags"]}:
            return True
        return post["words_for_tags"] and bool(ref_occurrences(t, Text(node.raw[1:])))
    if isinstance(node, Account):
        return ref_handle(node.raw, post["author"]) or any(ref_handle(node.raw, m) for m in post["mentions"])
    if isinstance(node, Filter):
        if node.kind == "lang":
            return post["lang"] == node.value
        if node.kind == "platform":
            return post["platform"] == node.value
        return ref_handle(node.value, post["author"])
    if isinstance(node, Not):
        return not ref_eval(node.child, post)
    if isinstance(node, And):
        return all(ref_eval(c, post) for c in node.children)
    if isinstance(node, Or):
        return any(ref_eval(c, post) for c in node.children)
    if isinstance(node, Near):
        def occ(n):
            return ref_occurrences(t, n) if isinstance(n, Text) else [o for c in n.children for o in occ(c)]
        for a1, a2 in occ(node.left):
            for b1, b2 in occ(node.right):
                between = b1 - a2 - 1 if b1 > a2 else a1 - b2 - 1
                if between <= node.n:
                    return True
        return False
    raise TypeError(node)


# --------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------
word = st.sampled_from(VOCAB)
texts = st.builds(lambda w, s: Text(w, wild=s), word, st.booleans()).filter(
    lambda t: not t.wild or len(ref_fold(t.raw)) >= 2)
phrases = st.builds(lambda ws, wild: Text(" ".join(ws), wild=wild), st.lists(word, min_size=2, max_size=3),
                    st.booleans())
textual = st.one_of(texts, texts, phrases)
positional = st.one_of(textual, st.lists(textual, min_size=2, max_size=3).map(lambda c: Or(tuple(c))))
leaves = st.one_of(
    textual, textual, textual,
    st.sampled_from(TAGS).map(Tag),
    st.sampled_from(["@parlbxl", "@alice", "@bob@x.social"]).map(Account),
    st.sampled_from(LANGS).map(lambda v: Filter("lang", v)),
    st.sampled_from(PLATFORMS).map(lambda v: Filter("platform", v)),
    st.sampled_from(["@parlbxl", "@alice"]).map(lambda v: Filter("author", v)),
    st.builds(Near, positional, positional, st.integers(0, 3)),
)


def _flat(cls, children):
    out = []
    for c in children:
        out.extend(c.children if isinstance(c, cls) else (c,))
    return cls(tuple(out))


trees = st.recursive(leaves, lambda sub: st.one_of(
    sub.map(Not).filter(lambda n: not isinstance(n.child, Not)),
    st.lists(sub, min_size=2, max_size=3).map(lambda c: _flat(And, c)),
    st.lists(sub, min_size=2, max_size=3).map(lambda c: _flat(Or, c)),
), max_leaves=6)


def anchored(tree):
    """A query must hold something to look for: AND it with a word when it does not."""
    from listening.queries_lang import _may_match_without_content
    if _may_match_without_content(tree) is False:
        return tree
    return _flat(And, [Text("budget"), tree])


def _join(parts, seps):
    out = parts[0]
    for p, s in zip(parts[1:], seps):
        out += s + p
    return out


post_texts = st.builds(
    _join,
    st.lists(st.one_of(word, word, word, st.sampled_from(TAGS), st.sampled_from(HANDLES),
                       st.sampled_from(["l'Assemblée", "l’assemblée", "Klimaatordonnantie", "budgets"])),
             min_size=1, max_size=10),
    st.lists(st.sampled_from(SEPS), min_size=10, max_size=10))
posts = st.fixed_dictionaries({
    "text": post_texts,
    "author": st.one_of(st.none(), st.sampled_from(HANDLES)),
    "lang": st.one_of(st.none(), st.sampled_from(LANGS)),
    "platform": st.sampled_from(PLATFORMS),
})


def matcher_for(query: str, words_for_tags: bool) -> Matcher:
    return Matcher(Watchlists.model_validate({
        "institution": {"name": "T"},
        "teams": {"t": {"label": "T", "recipients": ["t@example.org"]}},
        "topics": [{"name": "q", "label": "Q", "languages": ["fr"], "team": "t", "queries": [query],
                    "hashtags_match_words": words_for_tags}],
    }))


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------
@SETTINGS
@given(trees)
def test_printed_query_parses_back_to_the_same_tree(tree):
    tree = anchored(tree)
    assert parse(render(tree)) == tree


@SETTINGS
@given(trees, st.lists(posts, min_size=1, max_size=4), st.booleans())
def test_matcher_agrees_with_reference(tree, batch, words_for_tags):
    tree = anchored(tree)
    q = render(tree)
    m = matcher_for(q, words_for_tags)
    for post in batch:
        text = clean_text(post["text"])
        tags, ments = extract_tags(text), extract_mentions(text)
        found = m.match(text, tags, ments, post["author"], lang=post["lang"], platform=post["platform"])
        ref = ref_eval(tree, {**post, "text": text, "tags": tags, "mentions": ments,
                              "words_for_tags": words_for_tags})
        assert bool(found) == ref, (q, text, post, found)
        for hit in found:
            assert hit["kind"] == "query" and hit["query"] == q


@SETTINGS
@given(trees, st.lists(posts, min_size=1, max_size=4))
def test_exclusion_query_removes_exactly_what_it_matches(tree, batch):
    tree = anchored(tree)
    q = render(tree)
    m = Matcher(Watchlists.model_validate({
        "institution": {"name": "T"},
        "teams": {"t": {"label": "T", "recipients": ["t@example.org"]}},
        "topics": [{"name": "q", "label": "Q", "languages": ["fr"], "team": "t",
                    "keywords": ["budget", "vote", "klimaat*"], "exclude": [{"query": q}]}],
    }))
    for post in batch:
        text = clean_text(post["text"])
        tags, ments = extract_tags(text), extract_mentions(text)
        kept = bool(m.match(text, tags, ments, post["author"], lang=post["lang"], platform=post["platform"]))
        base = any(ref_eval(Text(w, wild=w.endswith("*")) if not w.endswith("*") else Text(w[:-1], wild=True),
                            {"text": text}) for w in ["budget", "vote", "klimaat*"])
        excluded = ref_eval(tree, {**post, "text": text, "tags": tags, "mentions": ments, "words_for_tags": False})
        assert kept == (base and not excluded), (q, text)
