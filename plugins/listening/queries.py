"""Which watched topics a post belongs to, and why.

Keywords match whole words, ignoring case and accents (`reforme` finds `Réforme`); an
apostrophe is a word boundary (`l'ordonnance climat`); a trailing `*` matches any ending.
Hashtags match hashtags, in any case; with `hashtags_match_words` they match the plain word too.
Accounts match posts written by them and posts that mention them. An `exclude` keyword removes
the post from the topic. Each match keeps the rule kind and the term, so an analyst can see why.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from listening.clean import fold
from listening.config import Topic, Watchlists


WORD_CHARS = r"[^\W_]*"


def _keyword_pattern(words: list[str]) -> re.Pattern | None:
    if not words:
        return None
    alts = []
    for w in words:
        wild = w.endswith("*")
        core = re.escape(fold(w.rstrip("*").strip()))
        core = core.replace(r"\ ", r"\s+")
        tail = WORD_CHARS if wild else ""
        alts.append(f"(?P<k{len(alts)}>{core}{tail})")
    return re.compile(r"(?<![^\W_])(?:" + "|".join(alts) + r")(?![^\W_])")


def _handle_matches(watched: str, handle: str) -> bool:
    """A watched `@name` also means `@name@instance` (Mastodon) and `@name.bsky.social`."""
    watched, handle = watched.casefold(), handle.casefold()
    if handle == watched:
        return True
    if "@" in watched[1:] or "." in watched:
        return False  # a fully qualified handle matches only itself
    return handle.startswith(watched + "@") or handle == watched + ".bsky.social"


@dataclass(frozen=True)
class CompiledTopic:
    topic: Topic
    keywords: re.Pattern | None
    keyword_terms: tuple[str, ...]
    exclude: re.Pattern | None
    hashtags: dict[str, str]          # folded tag without '#' -> term as written
    accounts: tuple[str, ...]


def compile_topic(t: Topic) -> CompiledTopic:
    words = list(t.keywords)
    if t.hashtags_match_words:
        words += [h[1:] for h in t.hashtags]
    return CompiledTopic(
        topic=t,
        keywords=_keyword_pattern(words),
        keyword_terms=tuple(words),
        exclude=_keyword_pattern(list(t.exclude)),
        hashtags={fold(h[1:]): h for h in t.hashtags},
        accounts=tuple(t.accounts),
    )


class Matcher:
    """Compiled watchlists; `match` is called once per post."""

    def __init__(self, watchlists: Watchlists):
        self.topics = [compile_topic(t) for t in watchlists.topics]
        self.names = {t.name for t in watchlists.topics}

    def match(self, text: str, hashtags: list[str], mentions: list[str],
              author_handle: str | None) -> list[dict]:
        """Every (topic, kind, term) that matched, topics in watchlist order."""
        folded = fold(text)
        tags = {fold(h) for h in hashtags}
        found: list[dict] = []
        for ct in self.topics:
            name = ct.topic.name
            hits: list[dict] = []
            if ct.keywords is not None:
                for m in ct.keywords.finditer(folded):
                    term = ct.keyword_terms[int(m.lastgroup[1:])]
                    hit = {"topic": name, "kind": "keyword", "term": term}
                    if hit not in hits:
                        hits.append(hit)
            for tag in tags:
                if tag in ct.hashtags:
                    hits.append({"topic": name, "kind": "hashtag", "term": ct.hashtags[tag]})
            for acc in ct.accounts:
                if author_handle and _handle_matches(acc, author_handle):
                    hits.append({"topic": name, "kind": "author", "term": acc})
                if any(_handle_matches(acc, m) for m in mentions):
                    hits.append({"topic": name, "kind": "account", "term": acc})
            if hits and ct.exclude is not None and ct.exclude.search(folded):
                continue
            hits.sort(key=lambda h: (h["kind"], h["term"]))
            found.extend(hits)
        return found


def topics_of(matches: list[dict]) -> list[str]:
    return sorted({m["topic"] for m in matches})
