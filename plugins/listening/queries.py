"""Which watched topics a post belongs to, and why.

A topic says what it watches with `queries` (the boolean language of `listening.queries_lang`,
documented in docs/queries.md) and with three shorthands that are queries too:
- `keywords`: each is a phrase (`"budget régional"`), whole words, ignoring case and accents
  (`reforme` finds `Réforme`); an apostrophe is a word boundary (`l'ordonnance climat`); a
  trailing `*` matches any ending;
- `hashtags`: match hashtags, in any case; with `hashtags_match_words` they match the plain
  word too (in the topic's queries as well);
- `accounts`: posts written by them and posts that mention them (`@name` also matches
  `@name@instance` and `@name.bsky.social`).
`exclude` (keywords, or `{query: ...}`) removes the post from the topic.

Each match keeps the rule kind and the term, so an analyst can see why: kind `keyword`,
`hashtag`, `account`, `author` for the shorthands; kind `query` for a query, with the term of
the query that matched and, under the key `query`, the query as written.

How it stays fast with thousands of queries: every word, phrase, hashtag and account of every
query is an *atom*, indexed by its first word (or its wildcard stem). A post's words select the
few atoms that can match; only those run their regular expression, and only the queries that
hold a true atom are evaluated (a query must contain something to look for, so a query
without any true atom is false).
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Callable

from listening.clean import fold
from listening.config import Topic, Watchlists
from listening.queries_lang import (WORD_RE, Account, And, Filter, Near, Not, Or, Tag, Text,
                                    parse)

WORD_CHARS = r"[^\W_]*"
APOSTROPHES = "'\u2019\u02bc"
BSKY = ".bsky.social"


def text_regex(literal: str, wild: bool) -> re.Pattern:
    """Whole-word occurrence of a folded literal: spaces match any run of white space, an
    apostrophe matches ' ’ or ʼ, a final wildcard any word ending."""
    out = []
    for part in re.split(r"(\s+)", literal):
        if not part:
            continue
        if part.isspace():
            out.append(r"\s+")
            continue
        out.append("".join(f"[{APOSTROPHES}]" if c in APOSTROPHES else re.escape(c) for c in part))
    tail = WORD_CHARS if wild else ""
    return re.compile(r"(?<![^\W_])" + "".join(out) + tail + r"(?![^\W_])")


def _handle_matches(watched: str, handle: str) -> bool:
    """A watched `@name` also means `@name@instance` (Mastodon) and `@name.bsky.social`."""
    watched, handle = watched.casefold(), handle.casefold()
    if handle == watched:
        return True
    if "@" in watched[1:] or "." in watched:
        return False  # a fully qualified handle matches only itself
    return handle.startswith(watched + "@") or handle == watched + BSKY


def _handle_keys(handle: str) -> set[str]:
    """The watched handles that could match a post's handle: itself and its bare @name."""
    h = handle.casefold()
    keys = {h}
    if "@" in h[1:]:
        keys.add("@" + h[1:].split("@", 1)[0])
    if h.endswith(BSKY):
        keys.add(h[: -len(BSKY)])
    return keys


class AccountSet:
    """Handles with the matcher's rules (a bare @name also means @name@instance and @name.bsky.social)."""

    def __init__(self, handles):
        self._by_key: dict[str, list[str]] = {}
        for h in handles:
            self._by_key.setdefault(h.casefold(), []).append(h)

    def __contains__(self, handle: str | None) -> bool:
        if not handle or not self._by_key:
            return False
        return any(_handle_matches(w, handle) for k in _handle_keys(handle) for w in self._by_key.get(k, ()))

    def __bool__(self) -> bool:
        return bool(self._by_key)


def norm_lang(lang: str | None) -> str | None:
    return lang.split("-")[0].split("_")[0].lower() if lang else None


# --------------------------------------------------------------------------------------
# Atoms
# --------------------------------------------------------------------------------------
@dataclass
class TextAtom:
    literal: str
    wild: bool
    regex: re.Pattern


@dataclass
class Post:
    """What one call to `match` knows about a post; atoms' truth is filled lazily."""
    folded: str
    tags: set
    author: str | None
    mentions: list
    lang: object
    platform: str | None
    true_text: set = field(default_factory=set)
    true_tags: set = field(default_factory=set)
    acc_author: set = field(default_factory=set)     # account atoms matching the author
    acc_mention: set = field(default_factory=set)    # account atoms matching a mention
    _starts: list | None = None
    _spans: dict = field(default_factory=dict)
    _lang_done: bool = False

    def word_spans(self, matcher: "Matcher", aid: int) -> list[tuple[int, int]]:
        """Occurrences of a text atom as (first word index, last word index)."""
        got = self._spans.get(aid)
        if got is None:
            if self._starts is None:
                self._starts = [m.start() for m in WORD_RE.finditer(self.folded)]
            st = self._starts
            got = []
            rx, pos = matcher.text_atoms[aid].regex, 0
            while (m := rx.search(self.folded, pos)) is not None:   # overlapping occurrences too
                got.append((bisect_right(st, m.start()) - 1, bisect_right(st, m.end() - 1) - 1))
                pos = m.start() + 1
            self._spans[aid] = got
        return got

    def language(self) -> str | None:
        if not self._lang_done:
            self.lang = norm_lang(self.lang() if callable(self.lang) else self.lang)
            self._lang_done = True
        return self.lang


# A compiled query is a tree of tuples:
#   ("text", aid, term) ("tag", tid, term) ("acc", aid, term) ("lang", v) ("platform", v)
#   ("author", aid) ("not", c) ("and", cs) ("or", cs) ("near", l, r, n)


@dataclass
class CompiledQuery:
    text: str
    tree: tuple
    atoms: dict         # ("text"|"tag"|"acc", id) -> term as written


@dataclass
class CompiledTopic:
    topic: Topic
    index: int
    keywords: list = field(default_factory=list)      # (text aid, term)
    hashtags: list = field(default_factory=list)      # (tag id, term)
    accounts: list = field(default_factory=list)      # (account aid, term)
    queries: list = field(default_factory=list)       # CompiledQuery
    exclude_text: list = field(default_factory=list)  # text aids
    exclude_queries: list = field(default_factory=list)


class Matcher:
    """Compiled watchlists; `match` is called once per post."""

    def __init__(self, watchlists: Watchlists):
        self.text_atoms: list[TextAtom] = []
        self._text_ids: dict[tuple[str, bool], int] = {}
        self._tag_ids: dict[str, int] = {}
        self._acc: list[str] = []            # watched handles as written
        self._acc_ids: dict[str, int] = {}
        self._word: dict[str, int] = {}      # a single word -> its atom (true iff the post has it)
        self._stem: dict[str, int] = {}      # a single-word wildcard stem -> its atom
        self._by_word: dict[str, set] = {}   # first word of a phrase -> text aids (regex checks)
        self._always: set = set()            # text atoms not starting with a letter or digit
        self._short: dict[tuple, list] = {}  # atom -> [(topic index, kind, term)] of shorthands
        self._q_by_atom: dict[tuple, list] = {}  # atom -> query ids holding it
        self._queries: list[tuple[int, CompiledQuery]] = []   # (topic index, query)
        self.uses_lang = False
        self.uses_platform = False
        self.topics = [self._compile_topic(i, t) for i, t in enumerate(watchlists.topics)]
        self.names = {t.name for t in watchlists.topics}
        self._prefix_lens = sorted({len(p) for p in self._stem})

    # -- compiling -------------------------------------------------------------------
    def _text(self, literal: str, wild: bool) -> int:
        literal = " ".join(literal.split())
        key = (literal, wild)
        aid = self._text_ids.get(key)
        if aid is not None:
            return aid
        aid = len(self.text_atoms)
        self.text_atoms.append(TextAtom(literal, wild, text_regex(literal, wild)))
        self._text_ids[key] = aid
        m = WORD_RE.match(literal)
        if not m:
            self._always.add(aid)
        elif m.end() == len(literal):
            (self._stem if wild else self._word)[literal] = aid
        else:
            self._by_word.setdefault(m.group(), set()).add(aid)
        return aid

    def _tag(self, raw: str) -> int:
        return self._tag_ids.setdefault(fold(raw.lstrip("#")), len(self._tag_ids))

    def _account(self, raw: str) -> int:
        key = raw.casefold()
        if key not in self._acc_ids:
            self._acc_ids[key] = len(self._acc)
            self._acc.append(raw)
        return self._acc_ids[key]

    def _keyword(self, kw: str) -> int:
        wild = kw.endswith("*")
        return self._text(fold(kw.rstrip("*").strip()), wild)

    def _compile_query(self, q: str, words_for_tags: bool) -> CompiledQuery:
        used: dict = {}

        def walk(n) -> tuple:
            if isinstance(n, Text):
                aid = self._text(n.literal, n.wild)
                used.setdefault(("text", aid), n.display())
                return ("text", aid, n.display())
            if isinstance(n, Tag):
                tid = self._tag(n.raw)
                used.setdefault(("tag", tid), n.raw)
                node = ("tag", tid, n.raw)
                if words_for_tags:
                    aid = self._text(fold(n.raw[1:]), False)
                    used.setdefault(("text", aid), n.raw[1:])
                    node = ("or", (node, ("text", aid, n.raw[1:])))
                return node
            if isinstance(n, Account):
                aid = self._account(n.raw)
                used.setdefault(("acc", aid), n.raw)
                return ("acc", aid, n.raw)
            if isinstance(n, Filter):
                if n.kind == "lang":
                    self.uses_lang = True
                    return ("lang", n.value)
                if n.kind == "platform":
                    self.uses_platform = True
                    return ("platform", n.value)
                return ("author", self._account(n.value))
            if isinstance(n, Not):
                return ("not", walk(n.child))
            if isinstance(n, And):
                return ("and", tuple(walk(c) for c in n.children))
            if isinstance(n, Or):
                return ("or", tuple(walk(c) for c in n.children))
            if isinstance(n, Near):
                return ("near", walk(n.left), walk(n.right), n.n)
            raise TypeError(n)  # pragma: no cover

        return CompiledQuery(q, walk(parse(q)), used)

    def _compile_topic(self, i: int, t: Topic) -> CompiledTopic:
        ct = CompiledTopic(t, i)
        for kw in t.keywords:
            ct.keywords.append((self._keyword(kw), kw))
        if t.hashtags_match_words:
            for h in t.hashtags:
                ct.keywords.append((self._text(fold(h[1:]), False), h[1:]))
        for h in t.hashtags:
            ct.hashtags.append((self._tag(h), h))
        for a in t.accounts:
            ct.accounts.append((self._account(a), a))
        for q in t.queries:
            ct.queries.append(self._compile_query(q, t.hashtags_match_words))
        for e in t.exclude:
            if isinstance(e, str):
                ct.exclude_text.append(self._keyword(e))
            else:
                ct.exclude_queries.append(self._compile_query(e.query, t.hashtags_match_words))
        for kind, rules in (("text", ct.keywords), ("tag", ct.hashtags), ("acc", ct.accounts)):
            for aid, term in rules:
                entry = (i, {"text": "keyword", "tag": "hashtag", "acc": "account"}[kind], term)
                lst = self._short.setdefault((kind, aid), [])
                if entry not in lst:
                    lst.append(entry)
        for cq in ct.queries:
            qid = len(self._queries)
            self._queries.append((i, cq))
            for atom in cq.atoms:
                self._q_by_atom.setdefault(atom, []).append(qid)
        return ct

    # -- matching --------------------------------------------------------------------
    def match(self, text: str, hashtags: list[str], mentions: list[str], author_handle: str | None,
              lang: str | Callable[[], str | None] | None = None, platform: str | None = None) -> list[dict]:
        """Every (topic, kind, term) that matched, topics in watchlist order.

        `lang` is the post's language (declared or detected) or a function that returns it,
        called at most once and only when a query with `lang:` needs it; `platform` the
        platform name. Without them, `lang:xx` and `platform:xx` are false."""
        post = Post(fold(text), {fold(h.lstrip("#")) for h in hashtags}, author_handle, mentions,
                    lang, platform)
        self._atoms_of(post)
        true = ([("text", a) for a in post.true_text] + [("tag", a) for a in post.true_tags]
                + [("acc", a) for a in post.acc_author | post.acc_mention])
        by_topic: dict[int, list] = {}
        queries: set = set()
        short, q_by_atom = self._short, self._q_by_atom
        for atom in true:
            for i, kind, term in short.get(atom, ()):
                out = by_topic.setdefault(i, [])
                name = self.topics[i].topic.name
                if kind == "account":
                    if atom[1] in post.acc_author:
                        out.append({"topic": name, "kind": "author", "term": term})
                    if atom[1] in post.acc_mention:
                        out.append({"topic": name, "kind": "account", "term": term})
                else:
                    out.append({"topic": name, "kind": kind, "term": term})
            queries.update(q_by_atom.get(atom, ()))
        for qid in sorted(queries):
            i, cq = self._queries[qid]
            terms = self._eval(cq.tree, post)
            if terms is None:
                continue
            # true through double negation only (NOT (NOT a AND NOT b)): its true atoms say why
            terms = terms or [t for a, t in cq.atoms.items() if self._atom_true(a, post)]
            name = self.topics[i].topic.name
            by_topic.setdefault(i, []).extend(
                {"topic": name, "kind": "query", "term": t, "query": cq.text} for t in dict.fromkeys(terms))
        found: list[dict] = []
        for i in sorted(by_topic):
            hits = by_topic[i]
            if hits and not self._excluded(self.topics[i], post):
                hits.sort(key=lambda h: (h["kind"], h["term"], h.get("query", "")))
                found.extend(hits)
        return found

    def _atoms_of(self, post: Post) -> None:
        folded = post.folded
        cand: set = set(self._always)
        true: set = set()
        word, stem, by_word, lens = self._word, self._stem, self._by_word, self._prefix_lens
        for w in set(WORD_RE.findall(folded)):
            a = word.get(w)
            if a is not None:
                true.add(a)
            a = by_word.get(w)
            if a:
                cand |= a
            for n in lens:
                if n > len(w):
                    break
                a = stem.get(w[:n])
                if a is not None:
                    true.add(a)
        atoms = self.text_atoms
        true.update(aid for aid in cand if atoms[aid].regex.search(folded))
        post.true_text = true
        post.true_tags = {self._tag_ids[t] for t in post.tags if t in self._tag_ids}
        if self._acc_ids:
            if post.author:
                post.acc_author = self._accounts_for(post.author)
            for m in post.mentions:
                post.acc_mention |= self._accounts_for(m)

    def _accounts_for(self, handle: str) -> set:
        out = set()
        for k in _handle_keys(handle):
            aid = self._acc_ids.get(k)
            if aid is not None and _handle_matches(self._acc[aid], handle):
                out.add(aid)
        return out

    def _excluded(self, ct: CompiledTopic, post: Post) -> bool:
        if any(aid in post.true_text for aid in ct.exclude_text):
            return True
        return any(self._could_be_true(cq, post) and self._eval(cq.tree, post) is not None
                   for cq in ct.exclude_queries)

    @staticmethod
    def _atom_true(atom: tuple, post: Post) -> bool:
        kind, aid = atom
        if kind == "text":
            return aid in post.true_text
        if kind == "tag":
            return aid in post.true_tags
        return aid in post.acc_author or aid in post.acc_mention

    def _could_be_true(self, cq: CompiledQuery, post: Post) -> bool:
        return any(self._atom_true(a, post) for a in cq.atoms)

    def _eval(self, node: tuple, post: Post) -> list | None:
        """None when false; when true, the terms that made it true (empty for filters, NOT)."""
        op = node[0]
        if op == "text":
            return [node[2]] if node[1] in post.true_text else None
        if op == "tag":
            return [node[2]] if node[1] in post.true_tags else None
        if op == "acc":
            return [node[2]] if node[1] in post.acc_author or node[1] in post.acc_mention else None
        if op == "and":
            out: list = []
            for c in node[1]:
                r = self._eval(c, post)
                if r is None:
                    return None
                out += r
            return out
        if op == "or":
            out, ok = [], False
            for c in node[1]:
                r = self._eval(c, post)
                if r is not None:
                    ok = True
                    out += r
            return out if ok else None
        if op == "not":
            return None if self._eval(node[1], post) is not None else []
        if op == "near":
            return self._near(node, post)
        if op == "lang":
            return [] if post.language() == node[1] else None
        if op == "platform":
            return [] if (post.platform or "").lower() == node[1] else None
        if op == "author":
            return [] if post.author and _handle_matches(self._acc[node[1]], post.author) else None
        raise ValueError(op)  # pragma: no cover

    def _occurrences(self, node: tuple, post: Post) -> list[tuple[int, int, str]]:
        if node[0] == "text":
            if node[1] not in post.true_text:
                return []
            return [(a, b, node[2]) for a, b in post.word_spans(self, node[1])]
        return [o for c in node[1] for o in self._occurrences(c, post)]   # an OR of texts

    def _near(self, node: tuple, post: Post) -> list | None:
        left = self._occurrences(node[1], post)
        if not left:
            return None
        right = self._occurrences(node[2], post)
        n, terms = node[3], []
        for a1, a2, ta in left:
            for b1, b2, tb in right:
                if max(b1 - a2, a1 - b2) - 1 <= n:
                    terms += [ta, tb]
        return terms or None


def topics_of(matches: list[dict]) -> list[str]:
    return sorted({m["topic"] for m in matches})
