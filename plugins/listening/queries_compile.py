"""Watch queries translated to each platform's search syntax, for collection.

Each platform gets the widest query its API can express: a *superset* of what the query
means locally. What an API cannot say is widened, never narrowed:
- `NOT x` is dropped (the platform's idea of a word differs from ours: stemming, accents,
  hashtags; sending it could lose posts we want), except `-author:@x` where the platform has
  an exact operator (X: `-from:x`);
- `a NEAR/n b` is sent as `a AND b` (no platform API here has proximity);
- a wildcard, an account or a filter the platform cannot express is dropped from its AND,
  which widens it; if that leaves nothing to search for, the query is reported as not
  collectable on that platform (collect it another way: stream, timeline, export);
- `platform:p` is decided here: true on p, false elsewhere.
The widened query is put in disjunctive normal form (an OR of ANDs) and packed into as few
requests as the platform's length limit and operators allow: platforms without OR get one
request per AND-clause. The local matcher (`listening.queries.Matcher`) then removes
what does not really match. docs/queries.md lists, per platform, what is sent and why.

    python -m listening.queries_compile include/config [--platform x]
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field, replace
from typing import Callable

from listening.queries_lang import (Account, And, Filter, Near, Node, Not, Or, Tag, Text, parse)

MAX_CLAUSES = 256
TRUE, FALSE = ("T",), ("F",)


@dataclass(frozen=True)
class Lit:
    text: str
    content: bool = True      # a word, phrase, hashtag or mention; False for filters
    send: bool = True         # False: the platform cannot express it (left out of the request)


@dataclass(frozen=True)
class Platform:
    name: str
    endpoint: str
    max_len: int
    or_sep: str | None         # None: the API has no OR, one request per AND-clause
    and_sep: str = " "
    or_multi: bool = True      # can OR together clauses of several terms
    phrases: bool = True
    wildcard: bool = False
    hashtag: Callable[[str], str | None] = lambda t: t
    account: Callable[[str], list[str] | None] = lambda h: None   # None: cannot express
    author: Callable[[str], str | None] = lambda h: None
    not_author: Callable[[str], str | None] = lambda h: None
    lang: Callable[[str], str | None] = lambda code: None
    limits: str = ""


def _bare(handle: str) -> str | None:
    """`@name` -> `name`; None for a handle that names another network (`@a@b`, `@a.b.c`)."""
    h = handle[1:]
    return None if "@" in h or "." in h else h


def _x_handle(h: str) -> str | None:
    b = _bare(h)
    return b if b and re.fullmatch(r"\w{1,15}", b) else None


def _bsky_handle(h: str) -> str | None:
    b = h[1:]
    if "@" in b:
        return None                 # a Mastodon account
    return b if "." in b else b + ".bsky.social"


def _mastodon_handle(h: str) -> str | None:
    b = h[1:]
    return b if "@" in b else None  # only a fully qualified @name@instance names one account


def _reddit_user(h: str) -> str | None:
    b = _bare(h)
    return b if b and re.fullmatch(r"[\w-]{3,20}", b) else None


PLATFORMS: dict[str, Platform] = {p.name: p for p in [
    Platform(
        "x", "GET /2/tweets/search/recent?query=", 512, " OR ",
        hashtag=lambda t: t,
        account=lambda h: (lambda u: [f"@{u}", f"from:{u}"] if u else [])(_x_handle(h)),
        author=lambda h: (lambda u: f"from:{u}" if u else "")(_x_handle(h)),
        not_author=lambda h: (lambda u: f"-from:{u}" if u else None)(_x_handle(h)),
        lang=lambda c: f"lang:{c}",
        limits="512 characters per query (self-serve access; 4,096 with Enterprise); space is AND, "
               "OR, parentheses, quotes, #, @, from:, lang:, - negation; no wildcard, no proximity"),
    Platform(
        "bluesky", "GET app.bsky.feed.searchPosts?q=", 512, None,
        hashtag=lambda t: t,
        account=lambda h: (lambda u: [f"from:{u}", f"mentions:{u}"] if u else [])(_bsky_handle(h)),
        author=lambda h: (lambda u: f"from:{u}" if u else "")(_bsky_handle(h)),
        lang=lambda c: f"lang:{c}",
        limits="q syntax is 'unspecified, Lucene recommended' (lexicon); OR is not relied on: one request "
               "per AND-clause; from:, mentions:, lang:, #tag; length limit undocumented, 512 assumed"),
    Platform(
        "mastodon", "GET /api/v2/search?type=statuses&q=", 500, None,
        hashtag=lambda t: t,
        account=lambda h: None,
        author=lambda h: (lambda u: f"from:{u}" if u else None)(_mastodon_handle(h)),
        lang=lambda c: f"language:{c}",
        limits="full-text search covers only posts of accounts that opted in (4.2+) and needs the "
               "server's search engine; no OR; from:, language:, quotes; mentions cannot be searched; "
               "length limit undocumented, 500 assumed. Hashtags are better read from "
               "/api/v1/timelines/tag/:hashtag"),
    Platform(
        "reddit", "GET /search?q=", 512, " OR ", and_sep=" AND ",
        hashtag=lambda t: t[1:],
        account=lambda h: (lambda u: [f"author:{u}", u] if u else [])(_reddit_user(h)),
        author=lambda h: (lambda u: f"author:{u}" if u else "")(_reddit_user(h)),
        not_author=lambda h: (lambda u: f"NOT author:{u}" if u else None)(_reddit_user(h)),
        limits="512 characters per query; AND, OR, NOT, parentheses, quotes, author:; no hashtags "
               "(the tag is searched as a word), no language filter"),
    Platform(
        "youtube", "GET /youtube/v3/search?part=snippet&q=", 500, "|", or_multi=False,
        hashtag=lambda t: t,
        limits="q accepts | (OR) and - (NOT); precedence with spaces is undocumented, so only single "
               "terms are ORed; relevanceLanguage only ranks (no language filter); channels are "
               "channelId parameters, not query terms; length limit undocumented, 500 assumed; each "
               "request costs 100 quota units"),
]}


@dataclass
class Compiled:
    platform: str
    requests: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)   # AND-clauses no request can cover

    @property
    def collectable(self) -> bool:
        return bool(self.requests)

    @property
    def complete(self) -> bool:
        """The requests cover every post the query can match (as far as the API's words go)."""
        return not self.missed


# --------------------------------------------------------------------------------------
# Widening: the query tree -> a positive formula over platform literals
# --------------------------------------------------------------------------------------
def _quote(raw: str) -> str:
    return f'"{raw}"' if re.search(r"[\s\"():'’\-]", raw) else raw


def _widen(node: Node, p: Platform, words_for_tags: bool, notes: list[str]):
    def note(msg: str):
        if msg not in notes:
            notes.append(msg)

    if isinstance(node, Text):
        if node.wild and not p.wildcard:
            note(f"wildcard {node.display()} is not supported: left out (checked locally)")
            return ("lit", Lit(node.display(), send=False))
        return ("lit", Lit(_quote(node.raw) + ("*" if node.wild else "")))
    if isinstance(node, Tag):
        tag = p.hashtag(node.raw)
        if tag is None:
            note(f"{node.raw}: hashtags cannot be searched: left out")
            return ("lit", Lit(node.raw, send=False))
        lits = [("lit", Lit(tag))]
        if words_for_tags and tag != node.raw[1:]:
            lits.append(("lit", Lit(node.raw[1:])))
        return lits[0] if len(lits) == 1 else ("or", lits)
    if isinstance(node, Account):
        alts = p.account(node.raw)
        if alts is None:
            note(f"{node.raw}: accounts cannot be searched here: left out")
            return ("lit", Lit(node.raw, send=False))
        if not alts:
            return FALSE          # a handle of another network never matches here
        return ("or", [("lit", Lit(a)) for a in alts])
    if isinstance(node, Filter):
        if node.kind == "platform":
            return TRUE if node.value == p.name else FALSE
        if node.kind == "lang":
            op = p.lang(node.value)
            if op is None:
                note(f"lang:{node.value} has no equivalent: dropped (checked locally)")
                return TRUE
            return ("lit", Lit(op, content=False))
        op = p.author(node.value)
        if op is None:
            note(f"author:{node.value} has no equivalent: dropped (checked locally)")
            return TRUE
        return ("lit", Lit(op, content=False)) if op else FALSE
    if isinstance(node, Not):
        c = node.child
        if isinstance(c, Not):
            return _widen(c.child, p, words_for_tags, notes)
        if isinstance(c, Filter) and c.kind == "platform":
            return FALSE if c.value == p.name else TRUE
        if isinstance(c, Filter) and c.kind == "author":
            op = p.not_author(c.value)
            if op:
                return ("lit", Lit(op, content=False))
        note("NOT is not sent (a platform's words are not ours): applied locally")
        return TRUE
    if isinstance(node, Near):
        note(f"NEAR/{node.n} is sent as AND (no proximity operator)")
        return ("and", [_widen(node.left, p, words_for_tags, notes), _widen(node.right, p, words_for_tags, notes)])
    kind = "and" if isinstance(node, And) else "or"
    return (kind, [_widen(c, p, words_for_tags, notes) for c in node.children])


def _dnf(f, notes: list[str]) -> list[tuple[Lit, ...]]:
    """OR of AND-clauses; [] is false, [()] is true. Too many clauses widen the AND."""
    if f == TRUE:
        return [()]
    if f == FALSE:
        return []
    if f[0] == "lit":
        return [(f[1],)]
    parts = [_dnf(c, notes) for c in f[1]]
    if f[0] == "or":
        return _absorb([c for p in parts for c in p])
    if any(not p for p in parts):
        return []
    parts = [p for p in parts if p != [()]]
    out: list[tuple] = [()]
    for p in sorted(parts, key=len):
        if len(out) * len(p) > MAX_CLAUSES:
            notes.append(f"an AND would need more than {MAX_CLAUSES} requests: its widest part is sent")
            continue
        out = _absorb([tuple(dict.fromkeys(a + b)) for a in out for b in p])
    return out


def _absorb(clauses: list[tuple]) -> list[tuple]:
    uniq = list(dict.fromkeys(tuple(dict.fromkeys(c)) for c in clauses))
    sets = [set(c) for c in uniq]
    return [c for i, c in enumerate(uniq)
            if not any(j != i and sets[j] < sets[i] or (j < i and sets[j] == sets[i]) for j in range(len(uniq)))]


def _render_clause(c: tuple[Lit, ...], p: Platform) -> str:
    return p.and_sep.join(l.text for l in c if l.send)


def _pack(clauses: list[tuple[Lit, ...]], p: Platform, notes: list[str]) -> list[str]:
    requests: list[str] = []
    # clauses that fit alone; an over-long clause loses terms from its end (a wider AND)
    fitted = []
    for c in clauses:
        while len(_render_clause(c, p)) > p.max_len and len(c) > 1:
            c = c[:-1]
            notes.append(f"a request longer than {p.max_len} characters was shortened (wider)")
        if len(_render_clause(c, p)) > p.max_len:
            notes.append(f"a term longer than {p.max_len} characters cannot be sent")
            continue
        fitted.append(c)
    if p.or_sep is None:
        return list(dict.fromkeys(_render_clause(c, p) for c in fitted))
    groups: dict[tuple, list[tuple]] = {}
    singles_only = not p.or_multi
    for c in fitted:
        content = tuple(l for l in c if l.content)
        filters = tuple(l for l in c if not l.content)
        if singles_only and len(c) > 1:
            requests.append(_render_clause(c, p))
            continue
        groups.setdefault(filters, []).append(content)
    for filters, contents in groups.items():
        tail = "".join(p.and_sep + l.text for l in filters)
        chunk: list[str] = []

        def text_of(parts: list[str]) -> str:
            body = p.or_sep.join(parts)
            if filters and (len(parts) > 1):
                body = f"({body})"
            return body + tail

        for content in contents:
            part = content[0].text if len(content) == 1 else f"({p.and_sep.join(l.text for l in content)})"
            if chunk and len(text_of(chunk + [part])) > p.max_len:
                requests.append(text_of(chunk))
                chunk = []
            chunk.append(part)
        if chunk:
            requests.append(text_of(chunk))
    return requests


def compile_node(node: Node, platform: str, words_for_tags: bool = False,
                 max_len: int | None = None) -> Compiled:
    """`max_len` overrides the platform's length limit (an Enterprise X access, or room for filters)."""
    p = PLATFORMS[platform] if max_len is None else replace(PLATFORMS[platform], max_len=max_len)
    out = Compiled(platform)
    clauses = _dnf(_widen(node, p, words_for_tags, out.notes), out.notes)
    if not clauses:
        out.notes.append("never true on this platform")
        return out
    sendable = []
    for c in clauses:
        if any(l.content and l.send for l in c):
            sendable.append(tuple(l for l in c if l.send))
        else:
            what = " AND ".join(l.text for l in c) or "(everything)"
            out.missed.append(what)
            out.notes.append(f"not collectable by search here: {what} (collect it by stream, timeline "
                             f"or export; the matcher filters locally)")
    out.requests = _pack(_absorb(sendable), p, out.notes)
    return out


def compile_query(query: str, platform: str, words_for_tags: bool = False) -> Compiled:
    """One query, one platform: the requests to send and what was widened."""
    return compile_node(parse(query), platform, words_for_tags)


def topic_node(topic) -> Node:
    """Everything a topic watches as one query tree (exclusions are applied locally only)."""
    parts: list[Node] = []
    for kw in topic.keywords:
        wild = kw.endswith("*")
        parts.append(Text(kw.rstrip("*").strip(), wild=wild))
    parts += [Tag(h) for h in topic.hashtags]
    parts += [Account(a) for a in topic.accounts]
    parts += [parse(q) for q in topic.queries]
    return parts[0] if len(parts) == 1 else Or(tuple(parts))


def compile_topic(topic, platform: str, max_len: int | None = None) -> Compiled:
    return compile_node(topic_node(topic), platform, topic.hashtags_match_words, max_len)


def main(argv: list[str] | None = None) -> int:
    from listening.config import ConfigError, load_config

    ap = argparse.ArgumentParser(prog="python -m listening.queries_compile",
                                 description="print what each topic sends to each platform's search API")
    ap.add_argument("dir", nargs="?")
    ap.add_argument("--platform", choices=sorted(PLATFORMS), action="append")
    args = ap.parse_args(argv)
    try:
        cfg = load_config(args.dir)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    for t in cfg.watchlists.topics:
        print(f"{t.name}")
        for name in args.platform or list(PLATFORMS):
            c = compile_topic(t, name)
            print(f"  {name}: {len(c.requests)} request(s) to {PLATFORMS[name].endpoint}")
            for r in c.requests:
                print(f"    {r}")
            for n in c.notes:
                print(f"    note: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
