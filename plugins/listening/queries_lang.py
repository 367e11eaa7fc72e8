"""The watch query language: parse a query into a tree, check it, print it back.

    "budget régional" OR (begroting NEAR/3 gewest*) -author:@parlbxl lang:fr

- words (`budget`), "exact phrases", trailing wildcards (`parlement*`, `"ordonnance clim*"`),
  `#hashtags`, `@accounts` (posted by or mentioning), filters `lang:fr`, `platform:mastodon`,
  `author:@x`;
- `NOT x` or `-x`, `a AND b` or just `a b` (adjacent terms are ANDed, the usual convention),
  `a OR b`, `a NEAR/n b` (at most n words between them, either order), parentheses;
- precedence, tightest first: NOT, NEAR, AND, OR. Operators are written in capitals; a
  lowercase `or`/`and`/`not` is refused (quote it to search the word).

A bad query raises `QueryError` with the position of the problem; `QueryError.caret()`
prints the query with a caret under it. The matching itself lives in `listening.queries`;
the translation to each platform's search syntax in `listening.queries_compile`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from listening.clean import fold

WORD_RE = re.compile(r"[^\W_]+")
HANDLE_RE = re.compile(r"^@[\w.\-]+(@[\w.\-]+)?$")
HASHTAG_RE = re.compile(r"^#\w+$")
LANG_RE = re.compile(r"^[a-z]{2}$")
PLATFORM_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
NEAR_RE = re.compile(r"^NEAR/(\d+)$")
FILTERS = ("lang", "platform", "author")
MAX_NEAR = 50
SPECIAL = set('()"')


class QueryError(ValueError):
    """A query that does not parse, with where (0-based character offset) and how long."""

    def __init__(self, message: str, query: str, pos: int, length: int = 1):
        self.message, self.query = message, query
        self.pos = max(0, min(pos, len(query)))
        self.length = max(1, length)
        super().__init__(f"{message} (column {self.pos + 1})")

    def caret(self, indent: str = "    ") -> str:
        shown = self.query.replace("\t", " ").replace("\n", " ")
        return f"{indent}{shown}\n{indent}{' ' * self.pos}{'^' * self.length}"

    def describe(self, indent: str = "    ") -> str:
        return f"{self}\n{self.caret(indent)}"


# --------------------------------------------------------------------------------------
# The tree. `pos` is kept for messages but does not take part in equality.
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Text:
    """A word or a phrase, optionally ending with a wildcard."""
    raw: str                 # as written, without quotes and without the final '*'
    wild: bool = False
    pos: int = field(default=0, compare=False)

    @property
    def literal(self) -> str:
        """What is compared: folded (case and accents), spaces collapsed."""
        return " ".join(fold(self.raw).split())

    def display(self) -> str:
        body = self.raw + ("*" if self.wild else "")
        return f'"{body}"' if _needs_quotes(self.raw) else body


@dataclass(frozen=True)
class Tag:
    raw: str                 # with its '#'
    pos: int = field(default=0, compare=False)

    def display(self) -> str:
        return self.raw


@dataclass(frozen=True)
class Account:
    raw: str                 # with its '@'
    pos: int = field(default=0, compare=False)

    def display(self) -> str:
        return self.raw


@dataclass(frozen=True)
class Filter:
    kind: str                # lang, platform, author
    value: str
    pos: int = field(default=0, compare=False)

    def display(self) -> str:
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Not:
    child: "Node"
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    children: tuple
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Or:
    children: tuple
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Near:
    left: "Node"
    right: "Node"
    n: int
    pos: int = field(default=0, compare=False)


Node = Text | Tag | Account | Filter | Not | And | Or | Near
CONTENT = (Text, Tag, Account)


def _needs_quotes(raw: str) -> bool:
    if any(c.isspace() or c in SPECIAL or c == "*" for c in raw):
        return True
    if raw[:1] in "-#@" or raw.upper() in ("AND", "OR", "NOT") or NEAR_RE.match(raw) or raw == "NEAR":
        return True
    return bool(re.match(r"^[A-Za-z]+:", raw))


def positional(node: Node) -> bool:
    """Can stand beside NEAR: words and phrases, or an OR of them."""
    if isinstance(node, Text):
        return True
    return isinstance(node, Or) and all(positional(c) for c in node.children)


def atoms(node: Node):
    """Every leaf of the tree, in order."""
    if isinstance(node, (Not,)):
        yield from atoms(node.child)
    elif isinstance(node, (And, Or)):
        for c in node.children:
            yield from atoms(c)
    elif isinstance(node, Near):
        yield from atoms(node.left)
        yield from atoms(node.right)
    else:
        yield node


def render(node: Node) -> str:
    """The query as text, parenthesised where needed: parse(render(t)) == t."""
    if isinstance(node, Or):
        return " OR ".join(render(c) for c in node.children)
    if isinstance(node, And):
        return " AND ".join(f"({render(c)})" if isinstance(c, Or) else render(c) for c in node.children)
    if isinstance(node, Near):
        side = lambda c: f"({render(c)})" if isinstance(c, Or) else render(c)  # noqa: E731
        return f"{side(node.left)} NEAR/{node.n} {side(node.right)}"
    if isinstance(node, Not):
        c = node.child
        return "NOT " + (f"({render(c)})" if isinstance(c, (And, Or, Near)) else render(c))
    return node.display()


# --------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------
@dataclass
class Tok:
    kind: str        # ( ) AND OR NOT NEAR ATOM END
    pos: int
    length: int
    value: object = None


def _tokens(q: str) -> list[Tok]:
    out: list[Tok] = []
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
            continue
        if c in "()":
            out.append(Tok(c, i, 1))
            i += 1
            continue
        if c == "-" and (i + 1 >= n or q[i + 1].isspace() or q[i + 1] == ")"):
            raise QueryError("'-' must be followed by what to exclude, e.g. -author:@x or -word", q, i)
        if c == "-":
            out.append(Tok("NOT", i, 1, "-"))
            i += 1
            continue
        if c == '"':
            end = q.find('"', i + 1)
            if end < 0:
                raise QueryError("this quote is never closed", q, i)
            body = q[i + 1:end]
            out.append(Tok("ATOM", i, end + 1 - i, _text(body, q, i + 1, quoted=True)))
            i = end + 1
            if i < n and q[i] == "*":
                raise QueryError("put the wildcard inside the quotes: \"ordonnance clim*\"", q, i)
            continue
        j = i
        while j < n and not q[j].isspace() and q[j] not in SPECIAL:
            j += 1
        word = q[i:j]
        out.append(_bare(word, q, i))
        i = j
    out.append(Tok("END", n, 1))
    return out


def _bare(word: str, q: str, i: int) -> Tok:
    if word in ("AND", "OR", "NOT"):
        return Tok(word, i, len(word))
    if word.lower() in ("and", "or", "not"):
        raise QueryError(f"write the operator {word.upper()} in capitals, or \"{word}\" in quotes to "
                         f"look for the word", q, i, len(word))
    if word.startswith("NEAR"):
        m = NEAR_RE.match(word)
        if not m:
            raise QueryError("NEAR needs a distance in words, e.g. NEAR/3", q, i, len(word))
        k = int(m.group(1))
        if not 0 <= k <= MAX_NEAR:
            raise QueryError(f"NEAR distance must be between 0 and {MAX_NEAR} words", q, i, len(word))
        return Tok("NEAR", i, len(word), k)
    if word.startswith("#"):
        if not HASHTAG_RE.match(word):
            raise QueryError(f"{word!r} is not a hashtag (letters, digits or _ after the #)", q, i, len(word))
        return Tok("ATOM", i, len(word), Tag(word, pos=i))
    if word.startswith("@"):
        if not HANDLE_RE.match(word):
            raise QueryError(f"{word!r} is not an account (write @name or @name@instance)", q, i, len(word))
        return Tok("ATOM", i, len(word), Account(word, pos=i))
    m = re.match(r"^([A-Za-z]+):(.*)$", word)
    if m:
        kind, value = m.group(1), m.group(2)
        if kind not in FILTERS:
            raise QueryError(f"unknown filter {kind + ':'!r} (filters: lang:, platform:, author:); "
                             f"put it in quotes to look for the text", q, i, len(kind) + 1)
        vpos = i + len(kind) + 1
        if kind == "lang" and not LANG_RE.match(value):
            raise QueryError(f"lang: takes a two-letter lowercase code such as fr, nl, en, de", q, vpos,
                             max(1, len(value)))
        if kind == "platform" and not PLATFORM_RE.match(value):
            raise QueryError("platform: takes a lowercase platform name such as mastodon, bluesky, x, "
                             "reddit, youtube", q, vpos, max(1, len(value)))
        if kind == "author" and not HANDLE_RE.match(value):
            raise QueryError("author: takes an account, e.g. author:@parlbxl", q, vpos, max(1, len(value)))
        return Tok("ATOM", i, len(word), Filter(kind, value, pos=i))
    return Tok("ATOM", i, len(word), _text(word, q, i, quoted=False))


def _text(body: str, q: str, start: int, quoted: bool) -> Text:
    at = start - 1 if quoted else start          # where the token starts, quote included
    wild = body.endswith("*")
    core = body[:-1] if wild else body
    star = core.find("*")
    if star >= 0:
        raise QueryError("a wildcard * can only end a word or phrase (parlement*)", q, start + star)
    if not core.strip():
        raise QueryError("empty phrase" if quoted else "a wildcard needs a stem (parlement*)", q, at,
                         len(body) + (2 if quoted else 0))
    folded = fold(core)
    if not WORD_RE.search(folded):
        raise QueryError(f"{core.strip()!r} has no letter or digit to look for", q, start, len(body))
    if wild:
        if not WORD_RE.fullmatch(folded[-1]):
            raise QueryError("a wildcard * must follow a letter or digit (parlement*)", q, start + len(core))
        words = WORD_RE.findall(folded)
        if len(words) == 1 and len(words[0]) < 2:
            raise QueryError("a wildcard needs at least two letters before it", q, at, len(body))
    return Text(core.strip(), wild=wild, pos=at)


# --------------------------------------------------------------------------------------
# Parser: or := and (OR and)* ; and := near ([AND] near)* ; near := unary [NEAR/n unary]
#         unary := (NOT | -) unary | primary ; primary := ( or ) | atom
# --------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, q: str):
        self.q = q
        self.toks = _tokens(q)
        self.i = 0

    def peek(self) -> Tok:
        return self.toks[self.i]

    def take(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def err(self, msg: str, t: Tok):
        raise QueryError(msg, self.q, t.pos, t.length)

    def parse(self) -> Node:
        if self.peek().kind == "END":
            raise QueryError("empty query", self.q, 0)
        node = self.or_()
        t = self.peek()
        if t.kind == ")":
            self.err("this ')' closes nothing", t)
        if t.kind != "END":  # pragma: no cover - every other token starts an operand
            self.err("unexpected", t)
        return node

    def or_(self) -> Node:
        first = self.peek()
        items = [self.and_()]
        while self.peek().kind == "OR":
            op = self.take()
            if self.peek().kind in ("END", ")", "OR", "AND"):
                self.err("OR needs something on its right", op)
            items.append(self.and_())
        return _flat(Or, items, first.pos)

    def and_(self) -> Node:
        first = self.peek()
        items = [self.near()]
        while True:
            t = self.peek()
            if t.kind == "AND":
                self.take()
                if self.peek().kind in ("END", ")", "OR", "AND"):
                    self.err("AND needs something on its right", t)
                items.append(self.near())
            elif t.kind in ("ATOM", "(", "NOT"):
                items.append(self.near())      # implicit AND
            else:
                break
        return _flat(And, items, first.pos)

    def near(self) -> Node:
        lt = self.peek()
        left = self.unary()
        if self.peek().kind != "NEAR":
            return left
        op = self.take()
        rt = self.peek()
        if rt.kind in ("END", ")", "OR", "AND", "NEAR"):
            self.err("NEAR needs a word or phrase on its right", op)
        right = self.unary()
        for node, t in ((left, lt), (right, rt)):
            if not positional(node):
                self.err("NEAR takes words, phrases or (a OR b) of them on each side, not hashtags, "
                         "accounts, filters, NOT or AND", t)
        if self.peek().kind == "NEAR":
            self.err("NEAR cannot be chained: write (a NEAR/3 b) AND (b NEAR/3 c)", self.peek())
        return Near(left, right, op.value, pos=lt.pos)

    def unary(self) -> Node:
        t = self.peek()
        if t.kind == "NOT":
            self.take()
            if self.peek().kind in ("END", ")", "OR", "AND", "NEAR"):
                self.err(f"{t.value or 'NOT'} needs something to exclude after it", t)
            return Not(self.unary(), pos=t.pos)
        return self.primary()

    def primary(self) -> Node:
        t = self.take()
        if t.kind == "ATOM":
            return t.value
        if t.kind == "(":
            if self.peek().kind == ")":
                self.err("empty parentheses", self.peek())
            node = self.or_()
            if self.peek().kind != ")":
                self.err("this '(' is never closed", t)
            self.take()
            return node
        if t.kind == "END":
            self.err("the query ends too early", t)
        if t.kind in ("AND", "OR", "NEAR"):
            self.err(f"{self.q[t.pos:t.pos + t.length]} needs something on its left", t)
        self.err("this ')' closes nothing", t)


def _flat(cls, items: list, pos: int) -> Node:
    if len(items) == 1:
        return items[0]
    out = []
    for it in items:
        out.extend(it.children if isinstance(it, cls) else (it,))
    return cls(tuple(out), pos=pos)


def _may_match_without_content(node: Node):
    """Three-valued: can the query be true when none of its words, hashtags, accounts is there?

    False means no; True means yes; None means it depends on filters (so: yes, possibly)."""
    if isinstance(node, CONTENT):
        return False
    if isinstance(node, Filter):
        return None
    if isinstance(node, Near):
        return False
    if isinstance(node, Not):
        v = _may_match_without_content(node.child)
        return None if v is None else not v
    vals = [_may_match_without_content(c) for c in node.children]
    if isinstance(node, And):
        return False if False in vals else (True if all(v is True for v in vals) else None)
    return True if True in vals else (False if all(v is False for v in vals) else None)


@lru_cache(maxsize=65536)
def parse(q: str) -> Node:
    """Parse and check one query; QueryError on any problem."""
    if not isinstance(q, str):
        raise QueryError("a query is a string", str(q), 0)
    node = _Parser(q).parse()
    if _may_match_without_content(node) is not False:
        raise QueryError("this query can match posts that contain none of its words, hashtags or accounts "
                         "(only NOT and filters): add what to look for", q, 0, len(q.rstrip()) or 1)
    return node
