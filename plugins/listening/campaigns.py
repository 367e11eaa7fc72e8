"""Campaign measures: per campaign hashtag of the watchlists and UTC day of its dates, the uptake
and spread the guide asks for (dataset `campaign_daily`, see docs/campaigns.md).

`daily(mentions, day, campaigns)` reads the mentions of the campaigns' days up to and including
`day` (the pipeline reads from `history_needed(campaigns, day)` on) and returns one row per
campaign running on `day`, conformed to `schema.CAMPAIGN_DAILY`.

Rules (each checked by tests/test_campaigns.py):
- a post uses the hashtag when `hashtag.lstrip('#').casefold()` is in its `hashtags` list (the
  list is lowercase already, so `#AgoraBXL`, `#agorabxl` and `#AGORABXL` are the same tag);
- only posts from the campaign's start to `day` count; a post is counted once per campaign even
  if it appears twice in the input;
- the institution's own accounts (`author_role == 'own'`) are left out of every measure and
  counted in `own_posts` only;
- reposts and replies carrying the hashtag count as posts (they spread it);
- reach sums each account's followers once (its largest follower count of the day); a missing
  follower count counts as 0;
- on a day without posts, the row is still written: counts 0, every language share 0;
- `vs_first_days` is null on days 1-3 and when the first three days had no post;
- `top_amplifiers` lists at most five accounts, most engagement first, ties by author_key;
  accounts whose posts drew no engagement are not listed.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .schema import CAMPAIGN_DAILY, conform

COLUMNS = ("post_id", "created_at", "author_key", "author_role", "author_followers", "hashtags",
           "lang", "engagement")
LANGS = ("fr", "nl", "en", "de")
TOP = 5
FIRST_DAYS = 3
_EPOCH = date(1970, 1, 1)


def tag_of(hashtag: str) -> str:
    """The form a hashtag takes in the mentions' `hashtags` lists: lowercase, without '#'."""
    return hashtag.lstrip("#").casefold()


def running(campaigns: Iterable, day: date) -> list:
    """Campaigns whose dates include `day` (an open-ended campaign runs from its start on)."""
    return [c for c in campaigns if c.start <= day and (c.end is None or day <= c.end)]


def history_needed(campaigns: Iterable, day: date) -> date | None:
    """First day whose mentions `daily(…, day, …)` must read; None when no campaign runs on `day`
    (then nothing needs to be read and `daily` returns an empty table)."""
    active = running(campaigns, day)
    return min(c.start for c in active) if active else None


def _select(mentions: pa.Table | None, tags: set[str]) -> pd.DataFrame:
    """The rows whose hashtags hold one of `tags`, filtered in Arrow before pandas sees them,
    one row per (post, campaign tag)."""
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS + ("tag",)})
    empty["eday"] = pd.Series(dtype="int64")
    if mentions is None or mentions.num_rows == 0:
        return empty
    missing = [c for c in COLUMNS if c not in mentions.column_names]
    if missing:
        raise ValueError(f"campaigns.daily: mentions miss the columns {missing}")
    lists = mentions["hashtags"].combine_chunks() if mentions["hashtags"].num_chunks != 1 \
        else mentions["hashtags"].chunk(0)
    flat = pc.list_flatten(lists)
    hit = pc.is_in(flat, value_set=pa.array(sorted(tags), pa.string()))
    parents = pc.filter(pc.list_parent_indices(lists), hit)
    if len(parents) == 0:
        return empty
    # one row per (post, campaign tag it carries), built in Arrow: no Python per row
    rows = mentions.select([c for c in COLUMNS if c != "hashtags"]).take(parents)
    rows = rows.append_column("tag", pc.filter(flat, hit))
    ts = rows["created_at"]
    if not pa.types.is_timestamp(ts.type):
        raise ValueError(f"campaigns.daily: created_at must be a timestamp, not {ts.type}")
    per_day = 86400 * {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[ts.type.unit]
    ticks = pc.cast(ts, pa.int64()).to_numpy(zero_copy_only=False)  # UTC ticks since the epoch
    df = rows.drop_columns(["created_at"]).to_pandas()
    df["eday"] = np.floor_divide(ticks, per_day)
    return df


def _row(c, day: date, f: pd.DataFrame, own_today: int) -> dict:
    """One campaign's measures on `day`; `f` holds its non-own posts from its start to `day`."""
    dday = (day - _EPOCH).days
    start = (c.start - _EPOCH).days
    today = f[f["eday"] == dday]
    posts = len(today)
    authors = pd.unique(today["author_key"])
    # new: the account's first post with the hashtag since the start is today (f stops at `day`)
    new_people = int((f.groupby("author_key")["eday"].min() == dday).sum())
    reach = pd.to_numeric(today.groupby("author_key")["author_followers"].max()).fillna(0).sum()
    langs = today["lang"].fillna("und").value_counts()
    share = {f"share_{l}": (float(langs.get(l, 0)) / posts if posts else 0.0) for l in LANGS}
    share["share_other"] = (float(posts - sum(langs.get(l, 0) for l in LANGS)) / posts) if posts else 0.0
    eng = pd.to_numeric(today["engagement"]).fillna(0)
    by_author = eng.groupby(today["author_key"]).sum()
    by_author = by_author[by_author > 0].reset_index(name="e")
    top = by_author.sort_values(["e", "author_key"], ascending=[False, True], kind="mergesort")
    day_of = dday - start + 1
    vs = None
    if day_of > FIRST_DAYS:
        first = int(((f["eday"] >= start) & (f["eday"] < start + FIRST_DAYS)).sum()) / FIRST_DAYS
        vs = posts / first if first > 0 else None
    return {"campaign": c.name, "hashtag": tag_of(c.hashtag), "day": day, "day_of_campaign": day_of,
            "posts": posts, "people": len(authors), "new_people": new_people,
            "cumulative_people": int(f["author_key"].nunique()), "cumulative_posts": len(f),
            "reach": int(reach), "engagement": int(eng.sum()), "own_posts": own_today, **share,
            "top_amplifiers": top["author_key"].head(TOP).tolist(), "vs_first_days": vs}


def daily(mentions: pa.Table | None, day: date, campaigns: list) -> pa.Table:
    """One `campaign_daily` row per campaign running on `day` (sorted by campaign name).

    `mentions`: rows of schema.MENTIONS (at least post_id, created_at, author_key, author_role,
    author_followers, hashtags, lang, engagement) of the days [history_needed(campaigns, day), day];
    rows of other days or without a campaign hashtag are ignored.
    """
    active = sorted(running(campaigns, day), key=lambda c: c.name)
    if not active:
        return CAMPAIGN_DAILY.schema.empty_table()
    tags = {tag_of(c.hashtag) for c in active}
    df = _select(mentions, tags)
    dday = (day - _EPOCH).days
    out = []
    for c in active:
        start = (c.start - _EPOCH).days
        f = df[(df["tag"] == tag_of(c.hashtag)) & (df["eday"] >= start) & (df["eday"] <= dday)]
        f = f.drop_duplicates("post_id")
        own = (f["author_role"] == "own").fillna(False).astype(bool)
        own_today = int((own & (f["eday"] == dday)).sum())
        out.append(_row(c, day, f[~own], own_today))
    return conform(CAMPAIGN_DAILY, pa.Table.from_pylist(out, schema=CAMPAIGN_DAILY.schema))
