"""Measures per topic and period: volume, authors, sentiment mix, reach, engagement, languages."""
from __future__ import annotations

from collections import Counter
from datetime import date

import pandas as pd
import pyarrow as pa

from listening.schema import METRICS_DAILY, METRICS_HOURLY, empty

LANGS = ("fr", "nl", "en", "de")
TOP_HASHTAGS = 10


def _explode(mentions: pa.Table) -> pd.DataFrame:
    cols = ["post_id", "created_at", "author_key", "author_followers", "topics", "hashtags",
            "lang", "sentiment_label", "sentiment_score", "engagement", "is_reply", "is_repost"]
    df = mentions.select(cols).to_pandas()
    df = df.explode("topics").rename(columns={"topics": "topic"})
    return df[df["topic"].notna()]


def _measure(g: pd.DataFrame) -> dict:
    labels = g["sentiment_label"].value_counts()
    pos, neu, neg = (int(labels.get(k, 0)) for k in ("positive", "neutral", "negative"))
    scored = pos + neu + neg
    langs = g["lang"].value_counts()
    tags = Counter(t for tags in g["hashtags"] for t in tags)
    top = [t for t, _ in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_HASHTAGS]]
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
    }


def daily(mentions: pa.Table, day: date, topics: list[str]) -> pa.Table:
    """One row per watched topic, zero rows included: a quiet day is a measure too."""
    df = _explode(mentions) if mentions.num_rows else None
    rows = []
    for topic in sorted(topics):
        g = df[df["topic"] == topic] if df is not None else None
        if g is None or g.empty:
            g = pd.DataFrame(columns=["author_key", "author_followers", "hashtags", "lang",
                                      "sentiment_label", "sentiment_score", "engagement",
                                      "is_reply", "is_repost"])
        rows.append({"day": day, "topic": topic, **_measure(g)})
    return pa.Table.from_pylist(rows, schema=METRICS_DAILY.schema)


def hourly(mentions: pa.Table) -> pa.Table:
    """One row per topic and hour that has posts."""
    if not mentions.num_rows:
        return empty(METRICS_HOURLY)
    df = _explode(mentions)
    df["hour"] = df["created_at"].dt.floor("h")
    rows = [{"hour": hour.to_pydatetime(), "topic": topic, **_measure(g)}
            for (topic, hour), g in df.groupby(["topic", "hour"], sort=True)]
    return pa.Table.from_pylist(rows, schema=METRICS_HOURLY.schema)
