"""Bot-likeness of each author over one day, with its reasons in plain words.

No single cue makes a bot: journalists and the institution itself post twenty times a day, many
people post the same "Merci !", new accounts are mostly people. So each cue gives a probability
capped by how much it proves alone, and the cues combine as a noisy-OR,
``score = 1 - prod(1 - w_i * s_i)``: weak cues (many digits in the handle, few followers, a young
account, shortened links) add up only when several agree; strong ones (140 posts in 3 hours, the
same text as 39 other accounts within the hour, the same text 12 times) suffice alone. Every cue
that adds at least 0.05 leaves its reason. Calibration and measured precision are in docs/dedupe.md.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

HOUR = 3_600_000_000_000  # ns
SHORTENERS = frozenset({"bit.ly", "tinyurl.com", "cutt.ly", "t.ly", "ow.ly", "is.gd", "buff.ly", "goo.gl",
                        "rebrand.ly", "shorturl.at", "tiny.cc", "rb.gy", "s.id", "v.gd", "shorte.st"})
# (weight, reason): weight = the most the cue can add alone
W_RATE = 0.9           # posts in the densest 3 hours: 15 -> 0, 45 -> full
W_REGULAR = 0.5        # gaps between posts like clockwork (12 posts or more)
W_COORDINATED = 0.75   # the same text as many other accounts within an hour
W_SELF_COPY = 0.6      # the same text many times
W_COPIES = 0.25        # share of posts that are copies of other posts, however spread
W_LINK_ONLY = 0.45
W_REPOSTS = 0.35       # almost only reposts, in volume
W_SHORTENER = 0.35
W_HANDLE = 0.3
W_FOLLOWERS = 0.2
W_AGE = 0.45
MIN_REASON = 0.05
_DIGITS = re.compile(r"\d{4,}")


def _col(x: Any, n: int) -> list:
    if x is None:
        return [None] * n
    if hasattr(x, "to_pylist"):
        return x.to_pylist()
    if hasattr(x, "tolist"):
        return x.tolist()
    return list(x)


def _numbers(x: Any, n: int, dtype: type) -> np.ndarray:
    """A numpy column from a numpy or Arrow one without a Python object per value (nulls as 0, False)."""
    import pyarrow as pa

    if isinstance(x, np.ndarray):
        return x.astype(dtype)
    if isinstance(x, (pa.Array, pa.ChunkedArray)):
        import pyarrow.compute as pc

        return pc.fill_null(x, pa.scalar(0).cast(x.type)).to_numpy(zero_copy_only=False).astype(dtype)
    return np.asarray(_col(x, n), dtype=dtype)


def _codes(x: Any, n: int) -> np.ndarray:
    """Group of each value (equal values, equal groups), -1 for a missing one: hashing, no sort."""
    import pyarrow as pa

    if isinstance(x, (pa.Array, pa.ChunkedArray)):
        import pyarrow.compute as pc

        x = x.combine_chunks() if isinstance(x, pa.ChunkedArray) else x
        return pc.fill_null(pc.dictionary_encode(x).indices, -1).to_numpy().astype(np.int64)
    if not isinstance(x, (pd.Series, np.ndarray)):
        x = np.array(_col(x, n), dtype=object)
    return pd.factorize(x)[0].astype(np.int64)


def _lengths(texts: Any, n: int) -> np.ndarray:
    """Characters of each text."""
    import pyarrow as pa

    if isinstance(texts, (pa.Array, pa.ChunkedArray)):
        import pyarrow.compute as pc

        return pc.fill_null(pc.utf8_length(texts), 0).to_numpy().astype(np.int64)
    return np.fromiter(map(len, texts), dtype=np.int64, count=n)


def _ns(x: Any) -> np.ndarray:
    if isinstance(x, (pd.Series, pd.Index, np.ndarray)) and x.dtype.kind == "M":  # already datetimes
        s = pd.to_datetime(pd.Series(x), utc=True)
    else:
        s = pd.to_datetime(pd.Series(_col(x, 0), dtype=object), utc=True, format="mixed")
    return s.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def _ramp(x: np.ndarray | pd.Series, lo: float, hi: float) -> np.ndarray:
    return np.clip((np.asarray(x, dtype=float) - lo) / (hi - lo), 0.0, 1.0)


def _window_counts(group: np.ndarray, t: np.ndarray, before: int, after: int) -> np.ndarray:
    """Posts of the same group within [t - before, t + after] of each post (input sorted by group, t)."""
    key = group.astype(np.int64) * (1 << 40) + (t - t.min()) // 1_000_000  # ms: 2^40 ms ~ 35 years
    lo = np.searchsorted(key, key - before // 1_000_000, side="left")
    hi = np.searchsorted(key, key + after // 1_000_000, side="right")
    return hi - lo


def _handle_user(h: str | None) -> str:
    if not h:
        return ""
    user = h.lstrip("@").split("@")[0]
    return user.removesuffix(".bsky.social")


def _shortener(url: str) -> bool:
    try:
        host = urlsplit(url).netloc.lower()
    except ValueError:
        return False
    return host.removeprefix("www.") in SHORTENERS


def _links(links: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Number of links of each post, and whether one goes through a shortener. An Arrow list column
    is read as its flat array of links, each distinct link parsed once, not as a Python list per post."""
    import pyarrow as pa

    if isinstance(links, (pa.Array, pa.ChunkedArray)):
        import pyarrow.compute as pc

        links = links.combine_chunks() if isinstance(links, pa.ChunkedArray) else links
        count = pc.fill_null(pc.list_value_length(links), 0).to_numpy()
        flat = pc.dictionary_encode(pc.list_flatten(links))
        via = np.array([u is not None and _shortener(u) for u in flat.dictionary.to_pylist()] + [False])
        link_of = pc.fill_null(flat.indices, -1).to_numpy()  # (a null link: the False at the end)
        short = np.zeros(n, dtype=bool)
        short[pc.list_parent_indices(links).to_numpy()[via[link_of]]] = True
        return count, short
    lists = _col(links, n)
    return (np.array([len(x or ()) for x in lists], dtype=np.int64),
            np.array([any(_shortener(u) for u in x or ()) for x in lists], dtype=bool))


def _fmt_hours(ns: int) -> str:
    h = ns / HOUR
    if h <= 1:
        return "one hour"
    return f"{h:.0f} hours"


def _figures(n: int, author_keys: Any, created_at: Any, texts: Any, links: Any, cluster_size: Any,
             is_repost: Any, cluster_ids: Any, normalised: Any,
             norm_lengths: Any = None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
    """Per-author figures of the day (a row per author code), the posts' order by author then time,
    their author codes in that order, and the day's last time: the per-post columns end here."""
    from listening import clean, dedupe

    t = _ns(created_at)
    size = _numbers(cluster_size, n, np.int64)
    repost = _numbers(is_repost, n, bool)
    # the normalised lengths alone do when the clusters are given (the merge of a sharded day)
    lengths = norm_lengths is not None and cluster_ids is not None
    raw = [x or "" for x in _col(texts, n)] if links is None or (normalised is None and not lengths) else None
    nlink, shortened = _links(links if links is not None else [clean.links(x) for x in raw], n)
    if lengths:
        norm, norm_len = None, _numbers(norm_lengths, n, np.int64)
    else:
        norm = dedupe.normalise(raw) if normalised is None else normalised
        norm_len = _lengths(norm, n)
    raw = None
    if cluster_ids is not None:
        cids = _codes(cluster_ids, n)
    else:  # the normalised text as the cluster (none when empty)
        cids = _codes(norm, n)
        cids[norm_len == 0] = -1

    # Groups of posts by author (missing authors together), in no particular order: every
    # per-author figure and the result are the same whatever the numbering.
    codes = _codes(author_keys, n)
    codes[codes < 0] = codes.max() + 1
    order = np.lexsort((t, codes))
    a, ts = codes[order], t[order]
    df = pd.DataFrame({"author": a, "t": ts, "repost": repost[order], "size": size[order]})
    df["in3h"] = _window_counts(a, ts, 0, 3 * HOUR)
    df["in1h"] = _window_counts(a, ts, 0, HOUR)
    df["gap"] = np.r_[np.nan, np.diff(ts).astype(float)]
    df.loc[np.r_[True, a[1:] != a[:-1]], "gap"] = np.nan
    df["link_only"] = (nlink[order] > 0) & (norm_len[order] < 5)
    df["short"] = shortened[order]
    own = ~df["repost"].to_numpy()
    df["copy"] = own & (df["size"].to_numpy() > 1)

    # Coordination: posts of a cluster (reposts aside) within an hour either side, when they are
    # most of the cluster: 40 copies in 50 minutes, not 200 people posting "merci" over the day.
    cid = cids[order]
    has = own & (cid >= 0)
    coord = np.zeros(n, dtype=np.int64)
    same_self = np.zeros(n, dtype=np.int64)
    if has.any():
        idx = np.flatnonzero(has)
        ccode = cid[idx]
        o2 = np.lexsort((ts[idx], ccode))
        c_sorted, t_sorted = ccode[o2], ts[idx][o2]
        around = _window_counts(c_sorted, t_sorted, HOUR, HOUR)
        csize = np.bincount(c_sorted)[c_sorted]
        ok = (around >= 5) & (around >= 0.5 * csize)
        coord[idx[o2]] = np.where(ok, around, 0)
        pair = pd.DataFrame({"a": a[idx], "c": ccode})
        same_self[idx] = pair.groupby(["a", "c"])["c"].transform("size").to_numpy()
    df["coord"] = coord
    df["coord_post"] = coord > 0
    df["own"] = own
    df["same_self"] = same_self

    g = df.groupby("author", sort=True)
    f = pd.DataFrame({
        "posts": g.size(), "own": g["own"].sum(),
        "peak3h": g["in3h"].max(), "peak1h": g["in1h"].max(),
        "span": g["t"].max() - g["t"].min(),
        "gap_med": g["gap"].median(), "gap_cv": g["gap"].std() / g["gap"].mean(),
        "reposts": g["repost"].sum(), "link_only": g["link_only"].sum(), "short": g["short"].sum(),
        "copies": g["copy"].sum(), "coord_posts": g["coord_post"].sum(),
        "coord_max": g["coord"].max(), "self_max": g["same_self"].max(),
    })
    return f, order, a, t.max()


def bot_scores(author_keys: Sequence[str | None], created_at: Sequence[Any], texts: Sequence[str | None],
               links: Sequence[Sequence[str]] | None, cluster_size: Sequence[int], is_repost: Sequence[bool],
               author_created_at: Sequence[Any] | None = None, handles: Sequence[str | None] | None = None,
               cluster_ids: Sequence[str | None] | None = None, followers: Sequence[int | None] | None = None,
               following: Sequence[int | None] | None = None,
               normalised: Sequence[str] | None = None,
               norm_lengths: Sequence[int] | None = None) -> tuple[np.ndarray, list[list[str]]]:
    """Bot-likeness in [0, 1] of each post's author on the day, and its reasons, per post.

    Every post of an author carries the author's score. cluster_size and cluster_ids come from
    listening.dedupe.clusters; without cluster_ids the "same text as other accounts within an hour"
    and "same text N times" cues are read from the normalised text instead. links may be None
    (then taken from the texts). Optional inputs may be None or hold Nones. ``normalised``:
    ``listening.dedupe.normalise(texts)`` when the caller has it already; ``norm_lengths`` its lengths
    only (``dedupe.text_keys``' norm_len), used with cluster_ids (without, the texts are needed):
    with links and cluster_ids, texts may then be None.
    """
    n = len(author_keys)
    if n == 0:
        return np.zeros(0, dtype=np.float32), []
    f, order, a, t_max = _figures(n, author_keys, created_at, texts, links, cluster_size, is_repost, cluster_ids,
                                  normalised, norm_lengths)
    posts = f["posts"].to_numpy(dtype=float)
    own_n = np.maximum(f["own"].to_numpy(dtype=float), 1)

    signals: list[tuple[np.ndarray, list[str]]] = []

    def cue(weight: float, strength: np.ndarray, reason) -> None:
        s = np.nan_to_num(weight * np.asarray(strength, dtype=float))
        signals.append((s, [reason(i) if s[i] >= MIN_REASON else None for i in range(len(s))]))

    peak3, peak1 = f["peak3h"].to_numpy(), f["peak1h"].to_numpy()
    cue(W_RATE, np.maximum(_ramp(peak3, 15, 45), _ramp(peak1, 8, 25)),
        lambda i: (f"posted {peak1[i]} times in one hour" if peak1[i] * 2 >= peak3[i]
                   else f"posted {peak3[i]} times in 3 hours"))
    cv, gm = f["gap_cv"].to_numpy(), f["gap_med"].to_numpy()
    # scheduled posting: gaps within a few % of each other (a live-tweeting human stays above ~0.3)
    cue(W_REGULAR, np.where(posts >= 12, _ramp(-np.nan_to_num(cv, nan=9), -0.15, -0.03), 0),
        lambda i: f"posts at regular intervals (every {max(1, round(gm[i] / 60e9))} min)")
    coord_share = f["coord_posts"].to_numpy() / own_n
    cmax = f["coord_max"].to_numpy()
    cue(W_COORDINATED, coord_share * _ramp(cmax, 3, 10),
        lambda i: f"posted the same text as {cmax[i] - 1} other posts within an hour")
    smax = f["self_max"].to_numpy()
    cue(W_SELF_COPY, _ramp(smax, 2, 10), lambda i: f"posted the same text {smax[i]} times")
    copy_share = f["copies"].to_numpy() / own_n
    cue(W_COPIES, copy_share * _ramp(own_n, 1, 4), lambda i: f"{copy_share[i]:.0%} of posts are copies")
    lo_share = f["link_only"].to_numpy() / posts
    cue(W_LINK_ONLY, lo_share * _ramp(posts, 1, 3),
        lambda i: "link-only posts" if lo_share[i] >= 0.99 else f"{lo_share[i]:.0%} of posts are link-only")
    rp_share = f["reposts"].to_numpy() / posts
    cue(W_REPOSTS, _ramp(rp_share, 0.8, 1.0) * _ramp(posts, 10, 40),
        lambda i: f"{rp_share[i]:.0%} of {int(posts[i])} posts are reposts")
    sh_share = f["short"].to_numpy() / posts
    cue(W_SHORTENER, _ramp(sh_share, 0.2, 0.6), lambda i: "links through URL shorteners")

    # Author attributes: the first known value of the day per author.
    def first_known(values: Any) -> pd.Series:
        s = pd.Series(_col(values, n), dtype=object).iloc[order].reset_index(drop=True)
        return s.groupby(a).first().reindex(f.index)

    if handles is not None:
        users = first_known(handles).map(lambda h: _handle_user(h) if isinstance(h, str) else "")
        digits = users.map(lambda u: max((len(m) for m in _DIGITS.findall(u)), default=0)).to_numpy()
        cue(W_HANDLE, _ramp(digits, 3, 5), lambda i: "handle ends in many digits")
    if followers is not None:
        fol = pd.to_numeric(first_known(followers), errors="coerce").to_numpy(dtype=float)
        fing = (pd.to_numeric(first_known(following), errors="coerce").to_numpy(dtype=float)
                if following is not None else np.full(len(f), np.nan))
        few = np.where(np.isnan(fol), 0, _ramp(-fol, -100, -5))
        ratio = np.where(np.isnan(fing) | np.isnan(fol), 0, _ramp(fing / np.maximum(fol, 1), 5, 50))
        cue(W_FOLLOWERS, np.maximum(few, ratio),
            lambda i: f"{int(fol[i])} followers" + (f", follows {int(fing[i])}" if ratio[i] > 0 else ""))
    if author_created_at is not None:
        created = first_known(author_created_at)
        day_end = pd.to_datetime(pd.Series(t_max), utc=True).iloc[0]
        when = pd.to_datetime(created, utc=True, errors="coerce", format="mixed")
        age = ((day_end - when).dt.total_seconds() / 86400).to_numpy(dtype=float)
        cue(W_AGE, np.where(np.isnan(age), 0, _ramp(-age, -60, -2)),
            lambda i: f"account created {max(0, int(age[i]))} days ago")

    keep = np.ones(len(f))
    for s, _ in signals:
        keep *= 1 - s
    score = (1 - keep).astype(np.float32)
    reasons: list[list[str]] = []
    weights = np.stack([s for s, _ in signals], axis=1)
    for i in range(len(f)):
        ranked = np.argsort(-weights[i], kind="stable")
        reasons.append([signals[k][1][i] for k in ranked if signals[k][1][i] is not None])
    # back to the input order
    per_author = np.empty(n, dtype=np.int64)
    per_author[order] = a
    return score[per_author], [reasons[k] for k in per_author]
