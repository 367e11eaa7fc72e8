"""Measures per topic and period: volume, authors, sentiment mix, reach, engagement, languages."""
from __future__ import annotations

import re
from collections import Counter
from datetime import date
from functools import lru_cache

import pandas as pd
import pyarrow as pa

from listening.schema import METRICS_DAILY, METRICS_HOURLY, empty

LANGS = ("fr", "nl", "en", "de")
TOP_HASHTAGS = 10
TOP_TERMS = 20
TOP_LINKS = 5
NEW_MAX = 10
WORD_RE = re.compile(r"[^\W\d_][\w'’-]{2,}")


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Stop words of the four languages, from spaCy's language data (no model needed)."""
    from spacy.lang.de.stop_words import STOP_WORDS as de
    from spacy.lang.en.stop_words import STOP_WORDS as en
    from spacy.lang.fr.stop_words import STOP_WORDS as fr
    from spacy.lang.nl.stop_words import STOP_WORDS as nl

    words = set(de) | set(en) | set(fr) | set(nl)
    # Words every post about a parliament has, and the bits elision leaves behind.
    words |= {"rt", "via", "amp", "https", "http", "www", "c'est", "n'est", "qu'il", "l'on", "d'un", "d'une"}
    return frozenset(w.casefold() for w in words)


def terms(text: str) -> list[str]:
    """Words that say something: lowercase, stop words, hashtags, mentions and links aside."""
    from listening.clean import text_for_language

    stop = stop_words()
    out = []
    for w in WORD_RE.findall(text_for_language(text).casefold()):
        w = w.strip("'’-")
        if "'" in w or "’" in w:  # l'ordonnance -> ordonnance
            w = re.split(r"['’]", w)[-1]
        if len(w) >= 3 and w not in stop:
            out.append(w)
    return out


def _top(counter: Counter, n: int) -> list[str]:
    return [t for t, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def _explode(mentions: pa.Table) -> pd.DataFrame:
    cols = ["post_id", "created_at", "author_key", "author_followers", "topics", "hashtags", "links", "text",
            "lang", "sentiment_label", "sentiment_score", "engagement", "is_reply", "is_repost"]
    df = mentions.select(cols).to_pandas()
    df["terms"] = [terms(t) for t in df["text"]]  # once per post, before a post is copied per topic
    df = df.drop(columns=["text"]).explode("topics").rename(columns={"topics": "topic"})
    return df[df["topic"].notna()]


def _measure(g: pd.DataFrame) -> dict:
    labels = g["sentiment_label"].value_counts()
    pos, neu, neg = (int(labels.get(k, 0)) for k in ("positive", "neutral", "negative"))
    scored = pos + neu + neg
    langs = g["lang"].value_counts()
    tags = Counter(t for tags in g["hashtags"] for t in tags)
    top = _top(tags, TOP_HASHTAGS)
    scores = g["sentiment_score"].dropna()
    # Reach counts each author once per period: an account posting ten times reaches the same people.
    # Its largest known follower count is used (a post may have been collected without one).
    reach = pd.to_numeric(g.groupby("author_key")["author_followers"].max()).fillna(0).sum()
    return {
        "posts": len(g),
        "unique_authors": g["author_key"].nunique(),
        "positive": pos, "neutral": neu, "negative": neg,
        "unscored": len(g) - scored,
        "net_sentiment": (pos - neg) / scored if scored else None,
        "mean_sentiment": float(scores.mean()) if len(scores) else None,
        "reach": int(reach),
        "engagement": int(g["engagement"].sum()),
        "replies": int(g["is_reply"].sum()),
        "reposts": int(g["is_repost"].sum()),
        **{f"lang_{l}": int(langs.get(l, 0)) for l in LANGS},
        "lang_other": int(len(g) - sum(int(langs.get(l, 0)) for l in LANGS)),
        "top_hashtags": top,
        "top_terms": _top(Counter(w for ws in g["terms"] for w in ws), TOP_TERMS),
        "top_links": _top(Counter(u for us in g["links"] for u in us), TOP_LINKS),
        "_tags": tags,
    }


EMPTY = ["author_key", "author_followers", "hashtags", "links", "terms", "lang", "sentiment_label",
         "sentiment_score", "engagement", "is_reply", "is_repost"]


def _share_of_voice(rows: list[dict], groups: dict[str, str] | None, period: str) -> None:
    totals: Counter = Counter()
    for r in rows:
        totals[((groups or {}).get(r["topic"], ""), r[period])] += r["posts"]
    for r in rows:
        total = totals[((groups or {}).get(r["topic"], ""), r[period])]
        r["share_of_voice"] = r["posts"] / total if total else None


def daily(mentions: pa.Table, day: date, topics: list[str], groups: dict[str, str] | None = None,
          seen_hashtags: dict[str, set[str]] | None = None, seen_terms: dict[str, set[str]] | None = None) -> pa.Table:
    """One row per watched topic, zero rows included: a quiet day is a measure too.

    `groups` maps topic -> group for the share of voice; `seen_hashtags` and `seen_terms` hold,
    per topic, what the previous 28 days had, for new_hashtags and new_terms (None: not computed).
    """
    df = _explode(mentions) if mentions.num_rows else None
    rows = []
    for topic in sorted(topics):
        g = df[df["topic"] == topic] if df is not None else None
        if g is None or g.empty:
            g = pd.DataFrame(columns=EMPTY)
        row = {"day": day, "topic": topic, **_measure(g)}
        tags = row.pop("_tags")
        if seen_hashtags is not None:
            seen = seen_hashtags.get(topic, set())
            row["new_hashtags"] = [t for t in _top(tags, len(tags)) if t not in seen][:NEW_MAX]
        if seen_terms is not None:
            seen = seen_terms.get(topic, set())
            row["new_terms"] = [t for t in row["top_terms"] if t not in seen][:NEW_MAX]
        rows.append(row)
    _share_of_voice(rows, groups, "day")
    return pa.Table.from_pylist(rows, schema=METRICS_DAILY.schema)


def hourly(mentions: pa.Table, groups: dict[str, str] | None = None) -> pa.Table:
    """One row per topic and hour that has posts."""
    if not mentions.num_rows:
        return empty(METRICS_HOURLY)
    df = _explode(mentions)
    df["hour"] = df["created_at"].dt.floor("h")
    rows = [{"hour": hour.to_pydatetime(), "topic": topic, **_measure(g)}
            for (topic, hour), g in df.groupby(["topic", "hour"], sort=True)]
    for r in rows:
        r.pop("_tags")
    _share_of_voice(rows, groups, "hour")
    return pa.Table.from_pylist(rows, schema=METRICS_HOURLY.schema)
