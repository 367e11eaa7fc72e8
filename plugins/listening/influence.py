"""Who matters in a debate: influence per author, topic and window, in components one can read.

A follower count alone says who *could* be heard, not who *is*: bought or dormant audiences,
bots and campaigns of copied posts all have followers or volume. So the score keeps five
components side by side, each in [0, 1], and combines them with weights from the settings
(`influence_weights`); docs/influence.md explains them to communication officers.

* reach: followers on a log scale, relative to the platform's largest account in the window;
* engagement: interactions received per post and per follower, shrunk to the platform mean
  when the author posted little (one lucky post is not a pattern); 0.5 = platform average;
* centrality: PageRank on who replies to, reposts, quotes and mentions whom in the topic,
  recent and authentic interactions weighing more; 0 = nobody interacted with the author;
* relevance: share of the author's posts in the topic, blended with the days they posted on it;
* authenticity: one minus the stronger of bot-likeness and copying (near-duplicate clusters).

influence = authenticity x (weighted mean of the five components): authenticity is a
component *and* a multiplier, so an account that looks automated or coordinated cannot win
on reach or volume. Same input in any row order gives the same output: rows are sorted by
post id first, and rank ties are broken by author_key.
"""
from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from listening import schema

COMPONENTS = ("reach", "engagement", "centrality", "relevance", "authenticity")
DEFAULT_WEIGHTS: dict[str, float] = {"reach": 0.2, "engagement": 0.2, "centrality": 0.3,
                                     "relevance": 0.15, "authenticity": 0.15}
REQUIRED = ("post_id", "platform", "created_at", "author_key", "author_followers", "author_role", "topics",
            "reply_to", "repost_of", "quote_of", "like_count", "repost_count", "reply_count", "quote_count",
            "mentioned_keys", "cluster_size", "cluster_authors", "bot_score")
OPTIONAL = ("cluster_id",)   # when given, the first post of a cluster is not counted as a copy
KINDS = ("repost", "reply", "quote", "mention")   # edge kinds, in the order explanations list them
DAMPING = 0.85
DEFAULT_SHRINK = 5.0        # posts of prior weight when the data can't estimate it
SHRINK_BOUNDS = (1.0, 50.0)
DISCOUNT_BELOW = 0.8        # authenticity under which the explanation says why the score was cut
NOTABLE = 0.3               # a component must reach this to be named as a driver
ENGAGING = 1.5              # engagement is named when at least this multiple of the platform mean


# ---- PageRank --------------------------------------------------------------------------------

def pagerank(src: np.ndarray, dst: np.ndarray, weights: np.ndarray, n: int, damping: float = DAMPING,
             tol: float = 1e-9, max_iter: int = 200) -> np.ndarray:
    """Weighted PageRank by power iteration on a sparse matrix (what networkx does, without a graph
    object): uniform teleport, the mass of nodes without out-edges spread uniformly, parallel
    edges added up. Stops when the L1 change is below `tol`. Returns a distribution over 0..n-1."""
    if n <= 0:
        return np.zeros(0)
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    keep = w > 0
    src, dst, w = src[keep], dst[keep], w[keep]
    out_w = np.bincount(src, weights=w, minlength=n)
    m = sparse.csr_matrix((w / out_w[src], (dst, src)), shape=(n, n))
    dangling = out_w == 0
    r = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        nxt = damping * (m @ r + r[dangling].sum() / n) + (1.0 - damping) / n
        delta = np.abs(nxt - r).sum()
        r = nxt
        if delta < tol:
            break
    return r / r.sum()


def centrality_scale(pr: np.ndarray, in_weight: np.ndarray) -> np.ndarray:
    """PageRank to [0, 1] on a log scale: 0 for a node nobody points to (the floor every such node
    shares), 1 for the most central node. Log, because PageRank is as skewed as follower counts."""
    out = np.zeros(len(pr))
    has_in = in_weight > 0
    if not has_in.any():
        return out
    floor = pr[~has_in].min() if (~has_in).any() else pr.min()
    top = pr.max()
    if top <= floor:
        return out
    out[has_in] = np.log(np.maximum(pr[has_in], floor) / floor) / math.log(top / floor)
    return np.clip(out, 0.0, 1.0)


# ---- input -----------------------------------------------------------------------------------

def _table(mentions: pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(mentions, pd.DataFrame):
        mentions = pa.Table.from_pandas(mentions, preserve_index=False)
    missing = [c for c in REQUIRED if c not in mentions.column_names]
    if missing:
        raise ValueError(f"influence: mentions lack the columns {missing} (filled by the enrichment stage)")
    t = mentions.select(list(REQUIRED) + [c for c in OPTIONAL if c in mentions.column_names])
    # canonical order: the same rows in any order give bit-identical sums, hence identical scores
    t = t.take(pc.sort_indices(t, sort_keys=[("post_id", "ascending"), ("created_at", "ascending")]))
    if len(t) and len(pc.unique(t["post_id"])) != len(t):
        first = pd.Series(t["post_id"].to_numpy(zero_copy_only=False)).duplicated().to_numpy()
        t = t.filter(pa.array(~first))
    return t


def _numbers(col: pa.ChunkedArray, fill: float) -> np.ndarray:
    return pc.fill_null(col.cast(pa.float64()), fill).to_numpy()


def _coded(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Strings as integer codes that sort as the strings do (-1: null), and the strings by code:
    in Arrow, without a Python object per value."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if values.type != pa.string():  # large strings, dictionary-encoded (a pandas category), all nulls
        values = values.cast(pa.string())
    names = pc.unique(values.drop_null())
    names = names.take(pc.sort_indices(names))
    codes = pc.fill_null(pc.index_in(values, value_set=names), -1).to_numpy().astype(np.int64)
    return codes, names.to_numpy(zero_copy_only=False)


def _flatten(col: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """(row index, value) of every non-null element of a list column; null lists are empty."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    parents, values = pc.list_parent_indices(arr), pc.list_flatten(arr)
    valid = pc.is_valid(values)
    return pc.filter(parents, valid).to_numpy().astype(np.int64), pc.filter(values, valid)


def _is(col: pa.ChunkedArray, value: str) -> np.ndarray:
    return pc.fill_null(pc.equal(col, value), False).to_numpy(zero_copy_only=False)


# ---- daily facts -----------------------------------------------------------------------------
# A window's scores are sums over its days: each day is reduced once, the night it is scored, to
# facts per author, per (topic, author) and per interaction (`facts`), kept in the lake
# (influence_daily), and a window adds up its days' facts (`score_facts`). The night's memory is
# one day of posts and the window's facts, not 28 days of posts. The recency of an interaction
# is weighed at the end of its own day; a later window rescales it by a constant per day.

DAY_US = 86_400_000_000
FACTS = ("author", "topic", "edge")
FACT_COLUMNS = ("fact", "topic", "author_key", "target_key", "kind", "platform", "followers", "posts",
                "original_posts", "own_posts", "press_posts", "interactions", "interactions_sq", "bot_sum",
                "copy_sum", "copied")


def _recency(age_days: np.ndarray | float, w: int) -> np.ndarray | float:
    """Weight of an interaction `age_days` old in a window of `w` days: half-life half the window."""
    return 0.5 ** (age_days / (w / 2.0))


def facts(mentions: pa.Table | pd.DataFrame, windows: Sequence[int] = (7, 28),
          parents: pa.Table | None = None) -> pa.Table:
    """Per UTC day of the posts: what `score_facts` needs of them, as rows of three kinds.

    * author (author_key, platform, followers): posts, own_posts, press_posts, original_posts,
      and the interactions of the original posts and their squares (engagement and its shrinkage);
    * topic (topic, author_key, followers): posts, original_posts, interactions, bot_sum, copy_sum,
      copied (relevance, engagement, authenticity);
    * edge (topic, author_key -> target_key, kind): weight_<w> per window length, the recency-and-
      authenticity weight of the votes (a post votes once per target), at the end of the day.

    Rows are split by the follower count the posts carried (a rate is interactions per follower).
    `parents` (post_id, author_key) names the authors of posts replied to, reposted or quoted that
    are not in `mentions` (earlier days). Copying counts the reposts of the same day, as the
    near-duplicate clusters do. Column `dt`: the day (date32)."""
    windows = sorted({int(w) for w in windows})
    t = _table(mentions)
    n = len(t)
    if n == 0:
        return _facts_table([], np.zeros(0, object), np.zeros(0, object), np.zeros(0, object), 0, windows)
    ts = pc.cast(t["created_at"], pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()
    dayno = np.floor_divide(ts, DAY_US)
    age = ((dayno + 1) * DAY_US - ts) / 86_400e6                      # (0, 1]: age at the end of its day
    ids = t["post_id"].combine_chunks()
    m_rows, m_keys = _flatten(t["mentioned_keys"])
    parent_pos, outside = {}, {}
    for kind, col in (("reply", "reply_to"), ("repost", "repost_of"), ("quote", "quote_of")):
        ref = t[col].cast(ids.type)
        parent_pos[kind] = pc.fill_null(pc.index_in(ref, value_set=ids), -1).to_numpy().astype(np.int64)
        if parents is not None and len(parents):
            at = pc.index_in(ref, value_set=parents["post_id"].combine_chunks().cast(ids.type))
            outside[kind] = parents["author_key"].combine_chunks().cast(pa.string()).take(at.combine_chunks())
        else:
            outside[kind] = pa.nulls(n, pa.string())
    # one code space for authors, mentioned accounts and the authors of earlier parents
    codes, keys = _coded(pa.concat_arrays([t["author_key"].combine_chunks().cast(pa.string()),
                                           m_keys.cast(pa.string()), *outside.values()]))
    author, mention_dst = codes[:n], codes[n:n + len(m_rows)]
    start = n + len(m_rows)   # then each kind's authors of earlier parents, n codes each (-1: none)
    far_author = {k: codes[start + i * n:start + (i + 1) * n] for i, k in enumerate(outside)}
    platform, platform_names = _coded(t["platform"])
    own, press = _is(t["author_role"], "own"), _is(t["author_role"], "press")
    followers = np.maximum(_numbers(t["author_followers"], 0.0), 0.0)
    inter = sum(np.maximum(_numbers(t[c], 0.0), 0.0) for c in ("like_count", "repost_count", "reply_count",
                                                                 "quote_count"))
    orig = ~pc.is_valid(t["repost_of"]).to_numpy(zero_copy_only=False)
    bot = np.clip(_numbers(t["bot_score"], 0.0), 0.0, 1.0)
    copy = _copying(t, author, parent_pos["repost"], dayno, orig)
    authentic = 1.0 - np.maximum(bot, copy)
    f_vals, f_code = np.unique(followers, return_inverse=True)
    d0 = int(dayno.min())
    day = dayno - d0
    parts = []

    # author facts
    order, starts = _grouped(day, author, platform, f_code)
    first = order[starts]
    o = orig.astype(np.float64)

    def total(x: np.ndarray) -> np.ndarray:
        return np.add.reduceat(x[order], starts) if len(order) else np.zeros(0)

    parts.append({"fact": "author", "day": day[first], "author": author[first], "platform": platform[first],
                  "followers": followers[first], "posts": np.diff(np.r_[starts, len(order)]),
                  "own_posts": total(own.astype(np.float64)), "press_posts": total(press.astype(np.float64)),
                  "original_posts": total(o), "interactions": total(inter * o),
                  "interactions_sq": total(inter * inter * o)})

    # topic facts
    t_row, t_vals = _flatten(t["topics"])
    t_code, topic_names = _coded(t_vals)
    order, starts = _grouped(day[t_row], t_code, author[t_row], f_code[t_row])
    first = order[starts]
    to = o[t_row]
    copy_orig = np.where(orig[t_row], copy[t_row], 0.0)
    parts.append({"fact": "topic", "day": day[t_row][first], "topic": t_code[first], "author": author[t_row][first],
                  "platform": platform[t_row][first], "followers": followers[t_row][first],
                  "posts": np.diff(np.r_[starts, len(order)]), "original_posts": total(to),
                  "interactions": total(inter[t_row] * to), "bot_sum": total(bot[t_row]),
                  "copy_sum": total(copy_orig), "copied": total((copy_orig > 0).astype(np.float64))})

    # edge facts: a post of the topic points to the author it reposts, replies to, quotes or mentions
    row, dst, kind = [], [], []
    for k in ("repost", "reply", "quote"):
        pos = parent_pos[k]
        child = np.flatnonzero(pos >= 0)
        row.append(child), dst.append(author[pos[child]]), kind.append(np.full(len(child), KINDS.index(k)))
        # the parent is an earlier day's post: its author from `parents`
        far = far_author[k]
        child = np.flatnonzero((pos < 0) & (far >= 0))
        row.append(child), dst.append(far[child]), kind.append(np.full(len(child), KINDS.index(k)))
    row.append(m_rows), dst.append(mention_dst), kind.append(np.full(len(m_rows), KINDS.index("mention")))
    row, dst, kind = np.concatenate(row), np.concatenate(dst), np.concatenate(kind)
    # edge order as the scoring has always kept it: repost, reply, quote, then mentions, by post
    e_order = np.lexsort((row, kind))
    row, dst, kind = row[e_order], dst[e_order], kind[e_order]
    src = author[row]
    keep = src != dst
    row, dst, kind, src = row[keep], dst[keep], kind[keep], src[keep]
    lo, hi = np.searchsorted(t_row, row, "left"), np.searchsorted(t_row, row, "right")
    cnt = hi - lo
    edge = np.repeat(np.arange(len(row)), cnt)
    at = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(len(edge))
    topic, row, dst, kind, src = t_code[at], row[edge], dst[edge], kind[edge], src[edge]
    # one vote per (topic, post, target): a reply that also mentions its parent's author counts once
    order, starts = _grouped(topic, row, dst)
    vote = np.zeros(len(row), bool)
    vote[order[starts]] = True
    order, starts = _grouped(day[row], topic, src, dst, kind)
    first = order[starts]
    weights = {f"weight_{w}": total(np.where(vote, _recency(age[row], w) * authentic[row], 0.0)) for w in windows}
    parts.append({"fact": "edge", "day": day[row][first], "topic": topic[first], "author": src[first],
                  "target": dst[first], "kind": kind[first], **weights})
    return _facts_table(parts, keys, topic_names, platform_names, d0, windows)


def _copying(t: pa.Table, author: np.ndarray, repost_pos: np.ndarray, dayno: np.ndarray,
             orig: np.ndarray) -> np.ndarray:
    """Per post, 1 - 1/k when k accounts posted the same (near-duplicate) text that day. Reposting is
    open amplification, not copying: a repost scores 0, and the accounts that reposted a post the
    same day are taken out of its cluster's authors (a day's clusters count its reposts). The first
    post of its cluster (`cluster_id`, when given) is the one copied, not a copier: 0 too."""
    n = len(author)
    authors = np.maximum(_numbers(t["cluster_authors"], 1.0), 1.0)
    rep = np.flatnonzero(repost_pos >= 0)
    rep = rep[(author[rep] != author[repost_pos[rep]]) & (dayno[rep] == dayno[repost_pos[rep]])]
    order, starts = _grouped(repost_pos[rep], author[rep])             # each reposting account once
    reposters = np.bincount(repost_pos[rep][order[starts]], minlength=n)
    authors = np.maximum(authors - reposters, 1.0)
    copy = np.where(orig, 1.0 - 1.0 / authors, 0.0)
    if "cluster_id" in t.column_names:
        first = pc.fill_null(pc.equal(t["cluster_id"], t["post_id"]), False).to_numpy(zero_copy_only=False)
        copy = np.where(first, 0.0, copy)
    return copy


def _facts_table(parts: list[dict], keys: np.ndarray, topics: np.ndarray, platforms: np.ndarray, d0: int,
                 windows: list[int]) -> pa.Table:
    fields = [pa.field("dt", pa.date32()), *[f for f in schema.INFLUENCE_DAILY.schema if f.name in FACT_COLUMNS],
              *[_weight_field(w) for w in windows]]
    cols = {f.name: [] for f in fields}
    for part in parts:
        m = len(part["day"])
        names = {"dt": pa.array((part["day"] + d0).astype("int32"), pa.int32()).cast(pa.date32()),
                 "fact": pa.array(np.full(m, part["fact"], dtype=object), pa.string()),
                 "topic": _names(topics, part.get("topic"), m), "author_key": _names(keys, part.get("author"), m),
                 "target_key": _names(keys, part.get("target"), m),
                 "kind": _names(np.array(KINDS, dtype=object), part.get("kind"), m),
                 "platform": _names(platforms, part.get("platform"), m)}
        for f in fields:
            if f.name in names:
                cols[f.name].append(names[f.name])
            elif f.name in part:
                cols[f.name].append(pa.array(part[f.name]).cast(f.type))
            else:
                cols[f.name].append(pa.nulls(m, f.type))
    return pa.Table.from_arrays([pa.chunked_array(cols[f.name], f.type) for f in fields], schema=pa.schema(fields))


def _weight_field(w: int) -> pa.Field:
    name = f"weight_{w}"
    known = schema.INFLUENCE_DAILY.schema
    return known.field(name) if name in known.names else pa.field(name, pa.float64())


def _names(names: np.ndarray, codes: np.ndarray | None, m: int) -> pa.Array:
    if codes is None:
        return pa.nulls(m, pa.string())
    return pa.array(names[codes] if len(names) else np.full(m, None, dtype=object), pa.string())


# ---- scoring ---------------------------------------------------------------------------------

def _weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    w = dict(DEFAULT_WEIGHTS if weights is None else weights)
    unknown = sorted(set(w) - set(COMPONENTS))
    if unknown:
        raise ValueError(f"influence weights: unknown components {unknown} (known: {list(COMPONENTS)})")
    w = {c: float(w.get(c, 0.0)) for c in COMPONENTS}
    if any(v < 0 or not math.isfinite(v) for v in w.values()) or sum(w.values()) <= 0:
        raise ValueError(f"influence weights must be >= 0 with a positive sum, got {w}")
    return w


def _shrink_k(n: np.ndarray, sums: np.ndarray, squares: np.ndarray) -> float:
    """Prior weight (in posts) of the platform mean, by the method of moments: large when authors
    differ little beyond post-to-post noise, small when they truly differ. Per author of the
    platform: original posts `n`, the sum and the sum of squares of their rates."""
    n_posts, n_authors = int(n.sum()), len(n)
    if n_posts < 3:
        return DEFAULT_SHRINK
    mean = sums / n
    if n_authors < 2 or n_posts <= n_authors:
        return DEFAULT_SHRINK
    spread = np.where(n > 1, np.maximum(squares - sums * mean, 0.0), 0.0)   # sum of (rate - mean)^2
    within = spread.sum() / (n_posts - n_authors)
    between = mean.var() - within * np.mean(1.0 / n)
    if within <= 0:
        return SHRINK_BOUNDS[0]
    if between <= 0:
        return SHRINK_BOUNDS[1]
    return float(np.clip(within / between, *SHRINK_BOUNDS))


# The columns each kind of fact uses (the others are null in its rows): what a night reads of them.
FACT_KIND_COLUMNS = {
    "author": ("dt", "author_key", "platform", "followers", "posts", "original_posts", "own_posts", "press_posts",
               "interactions", "interactions_sq"),
    "topic": ("dt", "topic", "author_key", "platform", "followers", "posts", "original_posts", "interactions",
              "bot_sum", "copy_sum", "copied"),
    "edge": ("dt", "topic", "author_key", "target_key", "kind"),   # and weight_<w>
}


def split_facts(daily: pa.Table) -> dict[str, pa.Table]:
    """A facts table as one table per kind of fact, each with only the columns it uses."""
    weights = [c for c in daily.column_names if c.startswith("weight_")]
    return {kind: daily.select(list(cols) + (weights if kind == "edge" else [])).filter(pc.equal(daily["fact"], kind))
            for kind, cols in FACT_KIND_COLUMNS.items()}


class _Facts:
    """Facts of several days as numpy arrays, one set per kind of fact (`a`uthor, `t`opic, `e`dge),
    accounts, topics and platforms coded as integers that sort as their names do."""

    def __init__(self, parts: dict[str, pa.Table], day: date):
        end = (day - date(1970, 1, 1)).days
        a, t, e = parts["author"], parts["topic"], parts["edge"]
        strings = [x.combine_chunks().cast(pa.string()) for x in (a["author_key"], t["author_key"], e["author_key"],
                                                                  e["target_key"])]
        codes, self.keys = _coded(pa.concat_arrays(strings))
        at = np.cumsum([0] + [len(x) for x in strings])
        del strings
        topics, self.topic_names = _coded(pa.concat_arrays([t["topic"].combine_chunks(), e["topic"].combine_chunks()]))
        platforms, self.platform_names = _coded(pa.concat_arrays([a["platform"].combine_chunks(),
                                                                  t["platform"].combine_chunks()]))
        self.a = SimpleNamespace(author=codes[at[0]:at[1]], platform=platforms[:len(a)])
        self.t = SimpleNamespace(author=codes[at[1]:at[2]], platform=platforms[len(a):], topic=topics[:len(t)])
        self.e = SimpleNamespace(author=codes[at[2]:at[3]], target=codes[at[3]:at[4]], topic=topics[len(t):])
        for part, table in ((self.a, a), (self.t, t), (self.e, e)):
            part.offset = end - pc.cast(table["dt"], pa.int32()).to_numpy().astype(np.int64)   # 0 = the day scored
            for c in table.column_names:
                if c not in ("dt", "topic", "author_key", "target_key", "kind", "platform"):
                    setattr(part, c, _numbers(table[c], 0.0))
        self.e.kind = pc.fill_null(pc.index_in(e["kind"], value_set=pa.array(KINDS)), -1).to_numpy().astype(np.int64)
        self.e.weight = {int(c.split("_")[1]): getattr(self.e, c) for c in e.column_names if c.startswith("weight_")}


def _window(p: _Facts, w: int, weights: dict[str, float]) -> pd.DataFrame:
    A = p.a
    a_rows = np.flatnonzero((A.offset >= 0) & (A.offset < w))
    if len(a_rows) == 0:
        return pd.DataFrame()

    # author facts over the window, all topics: audience, platform, role, posts
    order, starts = _grouped(A.author[a_rows])
    by_author = a_rows[order]

    def per_author(x: np.ndarray) -> np.ndarray:
        return np.add.reduceat(x[by_author], starts)

    authors = A.author[by_author[starts]]
    followers = np.maximum.reduceat(A.followers[by_author], starts)
    platform = np.minimum.reduceat(A.platform[by_author], starts)
    all_posts = per_author(A.posts).astype(np.int64)
    own, press = per_author(A.own_posts) > 0, per_author(A.press_posts) > 0   # 'own' wins over 'press'
    top = np.zeros(len(p.platform_names))
    np.maximum.at(top, platform, followers)
    with np.errstate(divide="ignore", invalid="ignore"):
        reach = np.where(top[platform] > 0, np.log1p(followers) / np.log1p(top[platform]), 0.0).clip(0.0, 1.0)
    facts = pd.DataFrame({"followers": followers, "platform": platform, "all_posts": all_posts,
                          "role": np.where(own, "own", np.where(press, "press", None)), "reach": reach},
                         index=authors)

    # engagement rate per post: interactions per follower, with the platform's median audience as a
    # floor so that 3 likes on a 5-follower account do not read as a 60% rate
    median_f = np.full(len(p.platform_names), np.nan)
    for c in np.unique(platform):
        median_f[c] = max(float(np.median(followers[platform == c])), 1.0)
    o_rows = a_rows[A.original_posts[a_rows] > 0]
    denom = A.followers[o_rows] + median_f[A.platform[o_rows]]
    order, starts = _grouped(A.platform[o_rows], A.author[o_rows])
    n, sums, squares = (np.add.reduceat(x[order], starts) if len(order) else np.zeros(0) for x in
                        (A.original_posts[o_rows], A.interactions[o_rows] / denom, A.interactions_sq[o_rows] / denom ** 2))
    plat = A.platform[o_rows][order[starts]] if len(order) else np.zeros(0, np.int64)
    prior, shrink = np.full(len(p.platform_names), np.nan), np.full(len(p.platform_names), np.nan)
    bounds = np.flatnonzero(np.r_[True, plat[1:] != plat[:-1], True]) if len(plat) else np.zeros(0, np.int64)
    for a, b in zip(bounds[:-1], bounds[1:]):
        prior[plat[a]] = sums[a:b].sum() / n[a:b].sum()
        shrink[plat[a]] = _shrink_k(n[a:b], sums[a:b], squares[a:b])

    # (topic, author) over the window's days
    T = p.t
    t_rows = np.flatnonzero((T.offset >= 0) & (T.offset < w))
    t_topic, t_author = T.topic[t_rows], T.author[t_rows]
    order, starts = _grouped(t_topic, t_author)
    group = np.empty(len(order), dtype=np.int64)
    group[order] = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(order)]))
    days_order, days_starts = _grouped(group, T.offset[t_rows])

    def total(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values[order], starts)

    # a topic row's platform is its author's (a pseudonym belongs to one platform)
    rate = T.interactions[t_rows] / (T.followers[t_rows] + median_f[np.maximum(T.platform[t_rows], 0)])
    out = pd.DataFrame({"topic": t_topic[order[starts]], "author": t_author[order[starts]],
                        "posts": total(T.posts[t_rows]).astype(np.int64),
                        "days_active": np.bincount(group[days_order[days_starts]], minlength=len(starts)),
                        "orig_posts": total(T.original_posts[t_rows]).astype(np.int64),
                        "rate_sum": total(np.where(T.original_posts[t_rows] > 0, rate, 0.0)),
                        "bot_sum": total(T.bot_sum[t_rows]), "copy_sum": total(T.copy_sum[t_rows]),
                        "copied": total(T.copied[t_rows]).astype(np.int64)})
    out["bot"] = out["bot_sum"] / out["posts"]
    out = out.join(facts, on="author")

    # engagement: empirical Bayes toward the platform mean; 0.5 = as engaging as the platform's average
    plat = out["platform"].to_numpy()
    mu = np.nan_to_num(prior[plat], nan=0.0)
    k = np.where(np.isnan(shrink[plat]), DEFAULT_SHRINK, shrink[plat])
    n_orig = out["orig_posts"].to_numpy(dtype=float)
    shrunk = (out["rate_sum"].to_numpy() + k * mu) / (n_orig + k)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["engagement"] = np.where(mu > 0, shrunk / (shrunk + mu), 0.0)
        out["eng_ratio"] = np.where(mu > 0, shrunk / mu, 0.0)

    # relevance: the share of the author's matched posts that are in this topic, and how many days
    out["relevance"] = 0.5 * out["posts"] / out["all_posts"] + 0.5 * out["days_active"] / w

    # authenticity: the stronger of the two signals; copying averaged over the author's own posts
    coord = np.where(out["orig_posts"] > 0, out["copy_sum"] / out["orig_posts"].clip(lower=1), 0.0)
    out["coordination"] = coord
    out["authenticity"] = 1.0 - np.maximum(out["bot"].to_numpy(), coord)

    graph = _centrality(p, w).reindex(out["topic"].to_numpy() * len(p.keys) + out["author"].to_numpy())
    for c in ("centrality", "amplifiers", *KINDS):
        out[c] = graph[c].fillna(0.0).to_numpy()

    total_w = sum(weights.values())
    base = sum(weights[c] * out[c].clip(0.0, 1.0) for c in COMPONENTS) / total_w
    out["influence"] = (out["authenticity"].clip(0.0, 1.0) * base).astype(np.float32)
    out["window_days"] = w
    return out


def _centrality(p: _Facts, w: int) -> pd.DataFrame:
    """Per topic: PageRank of the graph in which a post of the topic points to the author it replies
    to, reposts, quotes or mentions. One post gives one vote to each target (a reply that also
    mentions its parent's author counts once), worth its recency (half-life: half the window) times
    its author's authenticity, so interactions from bots and copy campaigns weigh little.
    Rows: topic x len(keys) + author."""
    nk, E = len(p.keys), p.e
    e = np.flatnonzero((E.offset >= 0) & (E.offset < w))
    if len(e) == 0:
        return pd.DataFrame(columns=["centrality", "amplifiers", *KINDS], dtype=float)
    if w not in E.weight:
        raise ValueError(f"influence: the facts hold no weight_{w} (weights for windows {sorted(E.weight)})")
    topic, src, dst, kind = E.topic[e], E.author[e], E.target[e], E.kind[e]
    weight = E.weight[w][e] * _recency(E.offset[e].astype(np.float64), w)   # its day's end -> the window's end

    # amplifiers: distinct accounts pointing at the author, overall and per kind
    order, starts = _grouped(topic, dst, src)
    first = order[starts]                                              # one per (topic, dst, src)
    keys, amplifiers = np.unique(topic[first] * nk + dst[first], return_counts=True)
    order, starts = _grouped(topic, dst, kind, src)
    first = order[starts]                                              # one per (topic, dst, kind, src)
    at = np.searchsorted(keys, topic[first] * nk + dst[first]) * len(KINDS) + kind[first]
    per_kind = np.bincount(at, minlength=len(keys) * len(KINDS)).reshape(len(keys), len(KINDS))
    extra = pd.DataFrame({"amplifiers": amplifiers, **dict(zip(KINDS, per_kind.T))}, index=keys)

    # weights summed per (topic, source, target) over the window's days and kinds
    order, starts = _grouped(topic, src, dst)
    pt, ps, pd_ = topic[order][starts], src[order][starts], dst[order][starts]
    pw = np.add.reduceat(weight[order], starts)
    results = []
    bounds = np.flatnonzero(np.r_[True, pt[1:] != pt[:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:]):
        nodes, idx = np.unique(np.concatenate([ps[a:b], pd_[a:b]]), return_inverse=True)
        s, d = idx[: b - a], idx[b - a:]
        pr = pagerank(s, d, pw[a:b], len(nodes))
        cen = centrality_scale(pr, np.bincount(d, weights=pw[a:b], minlength=len(nodes)))
        results.append(pd.Series(cen, index=pt[a] * nk + nodes))
    return pd.concat(results).to_frame("centrality").join(extra, how="outer")


def _grouped(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows in the keys' sorted order (stable: ties keep their order) and where each group of
    equal keys starts in it: a groupby(sort=True) in numpy, without a DataFrame per call."""
    key, room = np.zeros(len(keys[0]), dtype=np.int64), 1
    for k in keys:                              # non-negative codes: one int64 key when they fit in it
        span = int(k.max()) + 1 if len(k) else 1
        room *= span
        if room >= 2 ** 62:
            break
        key = key * span + k
    else:
        order = np.argsort(key, kind="stable")
        sk = key[order]
        return order, np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]]) if len(sk) else np.zeros(0, np.int64)
    order = np.lexsort(keys[::-1])
    change = np.zeros(len(order), dtype=bool)
    if len(order):
        change[0] = True
        for k in keys:
            sk = k[order]
            change[1:] |= sk[1:] != sk[:-1]
    return order, np.flatnonzero(change)


# ---- explanations ----------------------------------------------------------------------------

# One table of phrases per language: another language is one more table here, nothing else.
PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "own": "Own account", "press": "Press",
        "amplified": "amplified by {n} accounts ({parts})",
        "repost": "{n} reposted", "reply": "{n} replied", "quote": "{n} quoted", "mention": "{n} mentioned",
        "reach": "audience of {followers} followers",
        "engagement": "engagement {ratio}x the platform average for its audience",
        "relevance": "{posts} of its {total} posts on this topic, active on {days} of {window} days",
        "quiet": "little amplification (posts on this topic: {posts})",
        "bot": "score cut: looks automated (bot score {bot})",
        "copy": "score cut: copies text posted by other accounts ({copied} of {posts} posts)",
        "thousands": ",", "decimal": ".", "join": "; ", "list": ", ", "role_sep": ": ",
    },
    "fr": {
        "own": "Compte de l'institution", "press": "Presse",
        "amplified": "relayé par {n} comptes ({parts})",
        "repost": "{n} ont partagé", "reply": "{n} ont répondu", "quote": "{n} ont cité",
        "mention": "{n} l'ont mentionné",
        "reach": "audience de {followers} abonnés",
        "engagement": "engagement {ratio} fois la moyenne de la plateforme pour son audience",
        "relevance": "{posts} de ses {total} messages sur ce sujet, actif {days} jours sur {window}",
        "quiet": "peu relayé (messages sur ce sujet : {posts})",
        "bot": "score réduit : semble automatisé (score de robot {bot})",
        "copy": "score réduit : copie un texte publié par d'autres comptes ({copied} messages sur {posts})",
        "thousands": "\u202f", "decimal": ",", "join": " ; ", "list": ", ", "role_sep": " : ",
    },
}


def _num(x: float, ph: Mapping[str, str], decimals: int = 0) -> str:
    return _formatted(x, decimals, ph["thousands"], ph["decimal"])


@lru_cache(maxsize=65536)
def _formatted(x: float, decimals: int, thousands: str, decimal: str) -> str:
    """Cached: the same counts (1 post, 7 days...) recur in most of the tens of thousands of lines."""
    s = f"{x:,.{decimals}f}"
    if thousands == "," and decimal == ".":
        return s
    return s.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


def _numbers_as_text(values, ph: Mapping[str, str], decimals: int = 0) -> pa.Array:
    """Each number as the language writes it, formatted once per distinct value."""
    distinct, inverse = np.unique(np.asarray(values, dtype=np.float64), return_inverse=True)
    return pa.array([_num(float(x), ph, decimals) for x in distinct], pa.string()).take(pa.array(inverse))


def _fill(template: str, **fields: pa.Array) -> pa.Array:
    """str.format over arrays: the template's literal text and each row's values, joined in Arrow."""
    pieces: list = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        if literal:
            pieces.append(literal)
        if name is not None:
            pieces.append(fields[name])
    if not any(isinstance(p, pa.Array) for p in pieces):
        pieces.append(pa.nulls(len(next(iter(fields.values()))), pa.string()).fill_null(""))
    return pc.binary_join_element_wise(*pieces, "")


def _join(parts: list[pa.Array], sep: str) -> pa.Array:
    """The non-null parts of each row joined by `sep`; null where all are. (Arrow's own join with
    null_handling="skip" drops the rows whose parts are all null, in pyarrow 26.)"""
    out = parts[0]
    for part in parts[1:]:
        out = pc.coalesce(pc.binary_join_element_wise(out, part, sep), out, part)
    return out


def _where(mask: np.ndarray, values: pa.Array) -> pa.Array:
    """`values` where `mask`, null elsewhere."""
    return pc.if_else(pa.array(mask), values, pa.scalar(None, pa.string()))


def explanations(r: pd.DataFrame, weights: Mapping[str, float] = DEFAULT_WEIGHTS, lang: str = "en") -> pa.Array:
    """One line per row saying what made the score: the two strongest components (by their weighted
    contribution) that have something to say, then why it was cut, if it was. `r` holds the rows'
    components and counts. Built column-wise in Arrow: tens of thousands of lines in milliseconds."""
    ph = PHRASES[lang]
    n = len(r)
    if n == 0:
        return pa.array([], pa.string())
    col = {c: r[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in
           ("centrality", "reach", "engagement", "relevance", "authenticity", "amplifiers", *KINDS, "followers",
            "eng_ratio", "posts", "all_posts", "days_active", "window_days", "bot", "coordination", "copied",
            "orig_posts")}

    # the four components that can be named, strongest weighted contribution first (ties: by name, z-a)
    named = ("relevance", "reach", "engagement", "centrality")         # name order, descending
    contrib = np.column_stack([weights.get(c, 0.0) * col[c] for c in named])
    speaks = {"centrality": col["amplifiers"] > 0, "reach": np.ones(n, bool),
              "engagement": col["eng_ratio"] >= ENGAGING, "relevance": np.ones(n, bool)}
    able = np.column_stack([~(contrib[:, i] <= 0) & ~(col[c] < NOTABLE) & speaks[c] for i, c in enumerate(named)])
    order = np.argsort(-contrib, axis=1, kind="stable")
    everyone = np.arange(n)
    first, second = np.full(n, -1), np.full(n, -1)
    for k in range(len(named)):
        c = order[:, k]
        ok = able[everyone, c]
        second = np.where(ok & (first >= 0) & (second < 0), c, second)
        first = np.where(ok & (first < 0), c, first)

    def clause(c: str, rows: np.ndarray) -> pa.Array:
        """Clause `c` for the rows `rows` only, null for the others: most rows need one or two."""
        def text(name: str, decimals: int = 0) -> pa.Array:
            return _numbers_as_text(col[name][rows], ph, decimals)

        if c == "centrality":
            parts = [_where(col[k][rows] > 0, _fill(ph[k], n=text(k))) for k in KINDS]
            out = _fill(ph["amplified"], n=text("amplifiers"), parts=_join(parts, ph["list"]))
        elif c == "reach":
            out = _fill(ph["reach"], followers=text("followers"))
        elif c == "engagement":
            out = _fill(ph["engagement"], ratio=text("eng_ratio", 1))
        elif c == "relevance":
            out = _fill(ph["relevance"], posts=text("posts"), total=text("all_posts"), days=text("days_active"),
                        window=text("window_days"))
        elif c == "quiet":
            out = _fill(ph["quiet"], posts=text("posts"))
        elif c == "bot":
            out = _fill(ph["bot"], bot=text("bot", 2))
        else:
            out = _fill(ph["copy"], copied=text("copied"), posts=text("orig_posts"))
        at = np.full(n, -1)
        at[rows] = np.arange(len(rows))
        return out.take(pa.array(at, mask=at < 0))

    said = [pa.nulls(n, pa.string()), pa.nulls(n, pa.string())]
    for i, c in enumerate(named):
        rows = np.flatnonzero((first == i) | (second == i))
        if len(rows):
            text = clause(c, rows)
            said[0] = pc.if_else(pa.array(first == i), text, said[0])
            said[1] = pc.if_else(pa.array(second == i), text, said[1])
    said[0] = pc.coalesce(said[0], clause("quiet", np.flatnonzero(first < 0)))
    cut = col["authenticity"] < DISCOUNT_BELOW
    bot = cut & (col["bot"] >= col["coordination"])
    why = pc.coalesce(clause("bot", np.flatnonzero(bot)), clause("copy", np.flatnonzero(cut & ~bot)))
    line = _join([said[0], said[1], why], ph["join"])
    head, rest = pc.utf8_slice_codeunits(line, 0, 1), pc.utf8_slice_codeunits(line, 1)
    line = pc.binary_join_element_wise(pc.utf8_upper(head), rest, "")
    role = r["role"].to_numpy(dtype=object)
    for kind in ("own", "press"):
        mine = role == kind
        if mine.any():
            line = pc.if_else(pa.array(mine), pc.binary_join_element_wise(ph[kind] + ph["role_sep"],
                                                                           pc.utf8_lower(head), rest, ""), line)
    return line


def explain(r: Mapping, weights: Mapping[str, float] = DEFAULT_WEIGHTS, lang: str = "en") -> str:
    """The explanation of one row (a mapping of its components and counts): `explanations` on it."""
    return explanations(pd.DataFrame([dict(r)]), weights, lang)[0].as_py()


# ---- entry point -----------------------------------------------------------------------------

def score(mentions: pa.Table | pd.DataFrame, day: date, windows: Sequence[int] = (7, 28),
          weights: Mapping[str, float] | None = None, lang: str = "en") -> pa.Table:
    """The authors dataset for `day`: one row per author, topic and window ending on `day` (UTC).

    `mentions` holds the MENTIONS rows of at least the longest window's days (older or later
    rows are ignored, except as parents resolving who was replied to). `weights` default to
    DEFAULT_WEIGHTS (the settings' `influence_weights` in the pipeline). The same as
    `score_facts` on the `facts` of these rows."""
    return score_facts(facts(mentions, windows), day, windows, weights, lang)


EXPLAIN_ROWS = 65_536


def score_facts(daily: pa.Table | dict[str, pa.Table], day: date, windows: Sequence[int] = (7, 28),
                weights: Mapping[str, float] | None = None, lang: str = "en") -> pa.Table:
    """The authors dataset for `day` from the `facts` of the windows' days, oldest day first (a
    day's facts once, however many windows and nights read them): what the nightly run does.
    `daily`: the facts, or `split_facts` of them (what a night reads of each kind)."""
    wts = _weights(weights)
    if isinstance(day, datetime):
        day = day.astimezone(UTC).date() if day.tzinfo else day.date()
    parts = split_facts(daily) if isinstance(daily, pa.Table) else daily
    if not any(len(t) for t in parts.values()):
        return schema.empty(schema.AUTHORS)
    p = _Facts(parts, day)
    del parts, daily   # the numbers are in `p`: the Arrow tables go (when the caller kept none)
    frames = [f for f in (_window(p, int(w), wts) for w in sorted(set(windows))) if not f.empty]
    if not frames:
        return schema.empty(schema.AUTHORS)
    out = pd.concat(frames, ignore_index=True)
    # by topic, window, influence (highest first), author: the codes sort as the names do
    topic, window = out["topic"].to_numpy(), out["window_days"].to_numpy()
    order = np.lexsort((out["author"].to_numpy(), -out["influence"].to_numpy(), window, topic))
    out = out.take(order).reset_index(drop=True)
    topic, window = topic[order], window[order]
    at = np.arange(len(out))
    starts = np.r_[True, (topic[1:] != topic[:-1]) | (window[1:] != window[:-1])]
    out["rank"] = at - np.maximum.accumulate(np.where(starts, at, 0)) + 1
    out["author_key"] = p.keys[out["author"].to_numpy()]
    out["platform"] = p.platform_names[out["platform"].to_numpy()]
    out["topic"] = p.topic_names[topic]
    # a line per row, so in slices: building every row's clauses at once was most of the task's peak
    said = pa.chunked_array([explanations(out.iloc[lo:lo + EXPLAIN_ROWS], wts, lang)
                             for lo in range(0, len(out), EXPLAIN_ROWS)], pa.string())
    for c in COMPONENTS:
        out[c] = out[c].clip(0.0, 1.0).astype(np.float32)
    out["amplifiers"] = out["amplifiers"].astype(np.int64)
    table = pa.Table.from_pandas(out[[f.name for f in schema.AUTHORS.schema if f.name != "explanation"]],
                                 preserve_index=False)
    return schema.conform(schema.AUTHORS, table.append_column("explanation", said))
