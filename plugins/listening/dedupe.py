"""Exact duplicates, reposts and near-duplicate clusters of one day's posts.

A copy-paste campaign varies what is cheap to vary (links, handles, hashtags, emoji, digits, case,
accents, a word or two) and keeps the sentence. So texts are normalised first; posts with the same
normalised text are exact duplicates and fold onto the earliest; reposts fold onto the post they
repost; and the distinct normalised texts (one per exact-duplicate group, so a group of 50,000
identical spam posts costs one signature and one LSH entry) are grouped by MinHash LSH on character
5-gram shingles, single-link on estimated Jaccard >= threshold. See docs/dedupe.md for the figures.

Signatures are computed here with numpy, for all texts at once, and are bit-for-bit the ones
``datasketch.MinHash(num_perm, seed, scheme="affine32", hashfunc=shingle_hash)`` would give; they go
into ``datasketch.MinHashLSH`` as ``LeanMinHash`` objects.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from listening.clean import fold

NUM_PERM = 128       # 128 gives a Jaccard estimate within ~0.045 (1 sd) at 0.5; 64 doubles LSH false positives
SEED = 1             # datasketch's default seed: same permutations as MinHash(num_perm)
SHINGLE = 5          # character 5-grams: a changed word leaves most of the sentence's 5-grams intact
MIN_CHARS = 20       # shorter normalised texts ("merci", "bravo") only fold on exact equality
_CHUNK = 1 << 14     # shingles per block of the permutation matrix (x num_perm x 4 bytes: 8 MB)
_TEXTS = 4_096       # texts hashed at once (bounds the shingle arrays: ~80 bytes a character, ~30 MB)
_PIVOTS = 8          # rounds of pivots per LSH bucket: at most 8 checks per member, never n^2

# What a campaign varies, removed before comparing (the same as listening.detect.normalise_copy_text,
# written for RE2 so that pyarrow runs it over a whole column).
_DROP_RE2 = (r"https?://\S+|[@#][\p{L}\p{N}_][\p{L}\p{N}_.\-@]*|[^\p{L}\p{N}\s]|[\p{N}_]+")


def normalise(texts: Sequence[str | None]) -> list[str]:
    """Texts as copies share them: folded (case, accents), without links, handles, tags, emoji, digits.

    pyarrow's compute kernels run the same steps as listening.detect.normalise_copy_text over the
    whole column, about twice as fast as a Python loop; the rare differences (final sigma, a few
    exotic case foldings) do not matter for copies.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(texts) == 0:
        return []
    a = pa.array(list(texts) if not isinstance(texts, (pa.Array, pa.ChunkedArray)) else texts, type=pa.string())
    a = pc.fill_null(a, "")
    a = pc.replace_substring(pc.utf8_lower(a), "ß", "ss")
    a = pc.utf8_normalize(a, "NFKD")
    a = pc.replace_substring_regex(a, r"\p{M}+", "")
    a = pc.replace_substring_regex(a, _DROP_RE2, " ")
    a = pc.utf8_trim_whitespace(pc.replace_substring_regex(a, r"[\s\p{Z}]+", " "))
    return a.to_pylist()


_PUNCT = re.compile(r"[^\w\s]+")


def _light(text: str | None) -> str:
    """Key of a short text: case, accents, spacing and punctuation ignored, but handles, tags, links
    and digits kept, so "Merci !" == "merci" but "merci @a" != "merci @b"."""
    out = []
    for tok in fold(text or "").split():
        if tok.startswith(("@", "#", "http")):
            out.append(tok.rstrip(".,;:!?)"))
        else:
            tok = _PUNCT.sub("", tok)
            if tok:
                out.append(tok)
    return " ".join(out)


# ---- MinHash ------------------------------------------------------------------------------------

_M64 = np.uint64(0x9E3779B97F4A7C15)


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def _fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def shingle_hash(shingle: str) -> int:
    """32-bit hash of one shingle, as shingle_hashes computes it for a whole column (for datasketch)."""
    codes = np.frombuffer(shingle.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    h = np.zeros(1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in codes:
            h = h * _M64 + c
        return int((_fmix64(h) >> np.uint64(32))[0])


def shingle_hashes(texts: Sequence[str], k: int = SHINGLE) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of the character k-grams of every text, concatenated, and each text's start.

    One polynomial hash over the code points of all texts at once (k shifted array operations), so
    the cost is a few numpy passes over the characters, not a Python call per shingle. A text shorter
    than k has one shingle, itself.
    """
    n = len(texts)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    total = len(codes)
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    counts = np.maximum(lengths - k + 1, (lengths > 0).astype(np.int64))
    h = np.zeros(total, dtype=np.uint64)
    with np.errstate(over="ignore"):
        # h[i] = polynomial of codes[i : i+k], windows running past the end are cut below
        for j in range(min(k, total)):  # (a batch of fewer than k characters has no full window)
            h[: total - j] = h[: total - j] * _M64 + codes[j:]
        out_starts = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=out_starts[1:])
        text_of = np.repeat(np.arange(n), counts)
        pos = starts[text_of] + (np.arange(out_starts[-1]) - out_starts[text_of])
        hv = h[pos]
        short = np.flatnonzero((lengths < k) & (lengths > 0))
        if len(short):  # windows of a short text are its whole self: recompute with its length
            for i in short:
                s, ln = starts[i], lengths[i]
                v = np.uint64(0)
                for c in codes[s:s + ln]:
                    v = v * _M64 + c
                hv[out_starts[i]] = v
        hv = (_fmix64(hv) >> np.uint64(32)).astype(np.uint32)
    return hv, out_starts


@lru_cache(maxsize=8)
def permutations(num_perm: int = NUM_PERM, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's own affine32 permutation parameters, so signatures are comparable with its MinHash."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def signatures(texts: Sequence[str], num_perm: int = NUM_PERM, seed: int = SEED, k: int = SHINGLE) -> np.ndarray:
    """MinHash signatures (len(texts) x num_perm, uint32) of the character k-gram sets of texts.

    Equal to datasketch's affine32 MinHash fed with shingle_hash of each shingle, computed as one
    (shingles x num_perm) multiply-add and a segmented minimum per block of shingles. Texts are
    hashed _TEXTS at a time: the shingle arrays cost about 80 bytes per character, so a million
    posts at once would hold several GB (a text's signature depends on its own shingles only).
    """
    n = len(texts)
    sig = np.full((n, num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    if n == 0:
        return sig
    a, b = permutations(num_perm, seed)
    buf = np.empty((num_perm, _CHUNK), dtype=np.uint32)
    for t0 in range(0, n, _TEXTS):
        _sign(texts[t0:t0 + _TEXTS], sig[t0:t0 + _TEXTS], a, b, buf, k)
    return sig


def _sign(texts: Sequence[str], sig: np.ndarray, a: np.ndarray, b: np.ndarray, buf: np.ndarray, k: int) -> None:
    """Fill sig (a view, one row per text) with the signatures of texts."""
    n = len(texts)
    num_perm = sig.shape[1]
    hv, starts = shingle_hashes(texts, k)
    hv = _fmix32(hv)
    counts = np.diff(starts)
    lo = 0
    with np.errstate(over="ignore"):
        while lo < n:
            # as many whole texts as fit in one block (at least one); permutations x shingles, so
            # the segmented minimum runs along contiguous rows (5x faster than along columns)
            hi = max(int(np.searchsorted(starts, starts[lo] + _CHUNK, side="right")) - 1, lo + 1)
            s0, s1 = starts[lo], starts[hi]
            m = s1 - s0
            block = buf[:, :m] if m <= _CHUNK else np.empty((num_perm, m), dtype=np.uint32)
            np.multiply(a[:, None], hv[None, s0:s1], out=block)
            np.add(block, b[:, None], out=block)
            nz = counts[lo:hi] > 0
            seg = (starts[lo:hi] - s0)[nz]
            if len(seg):
                sig[lo:hi][nz] = np.minimum.reduceat(block, seg, axis=1).T
            lo = hi


@lru_cache(maxsize=8)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """datasketch's optimal (bands, rows) for the threshold; slow to find, so found once."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def _buckets_numpy(sig: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """LSH buckets of two or more texts: (members, bucket id), sorted by bucket then member.

    The same banding as datasketch.MinHashLSH (band k is hash values k*rows..(k+1)*rows-1, texts
    whose band is equal share a bucket), keyed by a 64-bit hash of the band instead of its bytes in
    a dict: one sort per band instead of a Python call per text and band (~200 us per text here).
    A 64-bit collision only adds a candidate, which the check on the signatures then drops.
    int32, half the memory: a day has far fewer than 2^31 / bands distinct texts.
    """
    n = len(sig)
    members, groups = [], []
    offset = 0
    idx = np.arange(n)
    with np.errstate(over="ignore"):
        for k in range(bands):
            h = np.zeros(n, dtype=np.uint64)
            for c in range(k * rows, (k + 1) * rows):
                h = (h ^ sig[:, c].astype(np.uint64)) * _M64
            h = _fmix64(h)
            order = np.lexsort((idx, h))
            hs = h[order]
            start = np.r_[True, hs[1:] != hs[:-1]]
            run = np.cumsum(start) - 1
            size = np.bincount(run)
            keep = size[run] >= 2
            members.append(order[keep].astype(np.int32))
            groups.append((run[keep] + offset).astype(np.int32))
            offset += len(size)
    return np.concatenate(members), np.concatenate(groups)


def _buckets_datasketch(sig: np.ndarray, bands: int, rows: int, threshold: float,
                        seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The same buckets from datasketch.MinHashLSH itself (the reference; slower, see docs/dedupe.md)."""
    from datasketch import LeanMinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=sig.shape[1], params=(bands, rows))
    with lsh.insertion_session() as session:
        for i in range(len(sig)):
            session.insert(i, LeanMinHash(seed=seed, hashvalues=sig[i], scheme="affine32"), check_duplication=False)
    members: list[int] = []
    groups: list[int] = []
    g = 0
    for table in lsh.hashtables:
        for key, count in table.itemcounts().items():
            if count >= 2:
                members.extend(sorted(table.get(key)))
                groups.extend([g] * count)
                g += 1
    return np.array(members, dtype=np.int64), np.array(groups, dtype=np.int64)


def _similar(sig: np.ndarray, pairs: np.ndarray, need: int) -> np.ndarray:
    """Pairs (i * len(sig) + j) whose signatures agree on at least `need` hash values (estimated
    Jaccard >= threshold). A few thousand pairs at a time: their rows are copied (1 KB a pair)."""
    out = np.empty(len(pairs), dtype=bool)
    n = len(sig)
    step = 1 << 13
    for lo in range(0, len(pairs), step):
        p = pairs[lo:lo + step]
        out[lo:lo + step] = (sig[p // n] == sig[p % n]).sum(axis=1) >= need
    return out


def _edges(sig: np.ndarray, members: np.ndarray, groups: np.ndarray, need: int) -> tuple[np.ndarray, np.ndarray]:
    """Checked pairs (earlier, later) from the buckets, linear in the bucket sizes.

    Each bucket's earliest member is its pivot and every other member is checked against it; the
    members that fail get the next earliest of them as pivot, and so on for a few rounds. A bucket
    of n texts costs at most _PIVOTS * n checks, never n^2, and a pair found in several bands is
    checked once.
    """
    n = len(sig)
    recorded = np.array([], dtype=np.int64)  # pairs kept so far, as i * n + j (sorted)
    m, g = members, groups
    for _ in range(_PIVOTS):
        if len(m) < 2:
            break
        head = np.r_[True, g[1:] != g[:-1]]
        cand = ~head
        pair = m[head][np.cumsum(head)[cand] - 1].astype(np.int64) * n + m[cand]
        by = np.argsort(pair)  # np.unique(pair, return_inverse=True), holding fewer copies at once
        pair = pair[by]
        first = np.r_[True, pair[1:] != pair[:-1]]
        uniq = pair[first]
        pair = None
        ok_u = _similar(sig, uniq, need)
        ok = np.empty(len(by), dtype=bool)
        ok[by] = np.repeat(ok_u, np.diff(np.flatnonzero(np.r_[first, True])))
        by = first = None
        new = ok_u
        if len(recorded):  # skip pairs already recorded in an earlier round (np.isin: 3 copies)
            new = ok_u & (recorded[np.minimum(np.searchsorted(recorded, uniq), len(recorded) - 1)] != uniq)
        # both parts unique and apart: a sort, not np.union1d, whose hashing of these keys
        # (i * n + j) grew superlinearly: 16 s of CPU on a 1M-post day, against 0.1 s at 100k
        recorded = np.concatenate([recorded, uniq[new]])
        recorded.sort()
        failed = np.zeros(len(m), dtype=bool)
        failed[np.flatnonzero(cand)[~ok]] = True
        m, g = m[failed], g[failed]
        if len(g):
            start = np.r_[True, g[1:] != g[:-1]]
            run = np.cumsum(start) - 1
            keep = np.bincount(run)[run] >= 2
            m, g = m[keep], g[keep]
    return recorded // n, recorded % n


def _leaders(n: int, ei: np.ndarray, ej: np.ndarray) -> np.ndarray:
    """Leader of each text: the earliest earlier leader it is similar to, else itself.

    Single-link would chain "a b c" ~ "b c d" ~ "c d e" into one cluster, and on template-like
    traffic (the simulator's, a parliament's daily chatter) it merges thousands of unrelated posts.
    Joining a leader keeps every member within the threshold of the cluster's first text, which is
    what a copy-paste campaign is.
    """
    leader = np.arange(n)
    if len(ei) == 0:
        return leader
    order = np.lexsort((ei, ej))          # by later text, then earlier text
    ei, ej = ei[order], ej[order]
    is_leader = np.ones(n, dtype=bool)
    later = ej.tolist()
    earlier = ei.tolist()
    k = 0
    lead = leader.tolist()
    while k < len(later):
        j = later[k]
        chosen = -1
        while k < len(later) and later[k] == j:
            if chosen < 0 and is_leader[earlier[k]]:
                chosen = earlier[k]
            k += 1
        if chosen >= 0:
            lead[j] = chosen
            is_leader[j] = False
    return np.array(lead, dtype=np.int64)


def near_duplicate_labels(texts: Sequence[str], threshold: float = 0.5, num_perm: int = NUM_PERM,
                          seed: int = SEED, index: str = "numpy") -> np.ndarray:
    """Cluster of each text, as the index of its leader (the earliest text of the cluster).

    texts must be distinct (collapse exact duplicates first: identical texts fill the same bucket
    of every band) and in order of priority, earliest first. A text joins the earliest earlier
    leader whose estimated Jaccard with it is >= threshold. index="datasketch" fills a
    datasketch.MinHashLSH with the same signatures and band parameters instead of sorting the bands
    with numpy; the result is the same, the cost is not.
    """
    if len(texts) < 2:
        return np.arange(len(texts))
    return signature_labels(lambda: signatures(texts, num_perm, seed), threshold, index, seed)


def signature_labels(sig: Any, threshold: float = 0.5, index: str = "numpy", seed: int = SEED) -> np.ndarray:
    """near_duplicate_labels from the texts' signatures (`signatures`, here or in the enrich shards).

    `sig` may be a function giving them, so that nothing else holds the matrix when it is freed,
    before `_leaders`' lists."""
    sig = sig() if callable(sig) else sig
    n, num_perm = sig.shape
    if n < 2:
        return np.arange(n)
    bands, rows = lsh_params(threshold, num_perm)
    if index == "numpy":
        members, groups = _buckets_numpy(sig, bands, rows)
    elif index == "datasketch":
        members, groups = _buckets_datasketch(sig, bands, rows, threshold, seed)
    else:
        raise ValueError(f"index must be 'numpy' or 'datasketch', got {index!r}")
    need = int(np.ceil(threshold * num_perm - 1e-9))
    ei, ej = _edges(sig, members, groups, need)
    sig = members = groups = None  # freed before _leaders' lists of Python ints
    return _leaders(n, ei, ej)


# ---- posts ----------------------------------------------------------------------------------------

def _as_list(col: Any, n: int | None = None) -> list:
    """A plain list from a list, numpy, pandas or Arrow column, missing values (NaN, NA) as None."""
    import pandas as pd

    if col is None:
        return [None] * (n or 0)
    if hasattr(col, "to_pylist"):
        out = col.to_pylist()
    elif hasattr(col, "tolist"):
        out = col.tolist()
    else:
        out = list(col)
    return [None if v is None or (not isinstance(v, str) and pd.isna(v)) else v for v in out]


def _strings(col: Any, n: int = 0) -> Any:
    """An Arrow string array from a list, numpy, pandas or Arrow column, missing values (NaN, NA) as
    nulls: the day's columns as a few buffers, not a Python object per post."""
    import pyarrow as pa

    if col is None:
        return pa.nulls(n, pa.string())
    if isinstance(col, pa.ChunkedArray):  # one chunk as it is: combine_chunks copies even that
        col = col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    if isinstance(col, pa.Array):
        return col if col.type == pa.string() else col.cast(pa.string())
    a = pa.array(col if hasattr(col, "__array__") else list(col), type=pa.string(), from_pandas=True)
    return _strings(a) if isinstance(a, pa.ChunkedArray) else a  # a pandas column of several chunks


def _objects(col: Any) -> np.ndarray:
    """col as an object array, sharing the caller's strings when it has them."""
    if isinstance(col, list) or (isinstance(col, np.ndarray) and col.dtype == object):
        return np.array(col, dtype=object)
    return _strings(col).to_numpy(zero_copy_only=False)


def _pick(col: Any, idx: np.ndarray) -> list:
    """The values of col at idx (a few of a day's posts), as _as_list gives them."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(col, (pa.Array, pa.ChunkedArray)):
        return _as_list(col.take(pa.array(idx)))
    if isinstance(col, pd.Series):
        return _as_list(col.iloc[idx])
    return _as_list([col[i] for i in idx])


def _ns(created_at: Any) -> np.ndarray:
    """Times as int64 nanoseconds UTC, from datetimes, Timestamps, datetime64 or ISO strings."""
    import pandas as pd

    if isinstance(created_at, (pd.Series, pd.Index, np.ndarray)) and created_at.dtype.kind == "M":  # already datetimes
        s = pd.to_datetime(pd.Series(created_at), utc=True)
    else:
        s = pd.to_datetime(pd.Series(_as_list(created_at), dtype=object), utc=True, format="mixed")
    return s.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def text_keys(texts: Sequence[str | None], normalised: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """What the day's columns need of each text, at fixed width, so that the texts of a day need not
    meet in one task (the enrich shards compute it; `clusters` from texts too).

    ``key``: a 64-bit hash of the exact-duplicate key, the normalised text when it has MIN_CHARS
    characters or more, else the lightly folded text ("\x00" marks it, so a short key never equals a
    long one); two distinct keys share a hash with odds ~ n^2 / 2^65 (3e-8 for a million).
    ``has_key``: False for a text with no key (a short text whose light folding is empty: "", "!!!",
    an emoji; it folds on nothing). ``long``: near
    duplicates are looked for among these. ``norm_len``: the normalised length (the bot score's
    "link only" cue)."""
    import pandas as pd

    norm = normalise(_strings(texts)) if normalised is None else normalised
    n = len(norm)
    keys = np.array(norm.to_pylist() if hasattr(norm, "to_pylist") else norm, dtype=object)
    norm_len = np.fromiter(map(len, keys), dtype=np.int64, count=n)
    long = norm_len >= MIN_CHARS
    short = np.flatnonzero(~long)
    if len(short):  # a few posts: their raw texts only
        light = [_light(r) for r in _pick(texts, short)]
        keys[short] = np.array(["\x00" + x if x else None for x in light], dtype=object)
    has_key = np.fromiter((k is not None for k in keys), dtype=bool, count=n)
    key = np.zeros(n, dtype=np.uint64)
    if has_key.any():
        key[has_key] = pd.util.hash_array(keys[has_key])
    return {"key": key, "has_key": has_key, "long": long, "norm_len": norm_len.astype(np.int32)}


def clusters(post_ids: Sequence[str], texts: Sequence[str | None], created_at: Sequence[Any],
             author_keys: Sequence[str | None], repost_of: Sequence[str | None] | None = None,
             threshold: float = 0.5, num_perm: int = NUM_PERM, index: str = "numpy",
             normalised: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Original, near-duplicate cluster, its size and its authors, for each post of a day.

    Columns returned (numpy arrays, aligned with the input; pd.DataFrame(...) or pa.table(...) them):
    ``original_id`` the reposted post for a repost, else for an exact duplicate of the normalised text
    the earliest post with that text, else None; ``cluster_id`` the earliest post of the cluster (the
    post itself when alone); ``cluster_size`` posts in the cluster, reposts included;
    ``cluster_authors`` distinct authors in it. "Earliest" is by created_at then post id, so the
    result does not depend on the input order. ``normalised``: ``normalise(texts)`` when the caller
    has it already (listening.authenticity needs it too).
    """
    n = len(post_ids)
    if len(texts) != n:
        raise ValueError("post_ids, texts, created_at, author_keys and repost_of must have the same length")
    norm = normalise(_strings(texts)) if normalised is None and n else normalised
    if n and len(norm) != n:
        raise ValueError("normalised and texts must have the same length")
    keys = text_keys(texts, norm) if n else None

    def sign(rows: np.ndarray) -> np.ndarray:
        return signatures(_pick(norm, rows), num_perm)

    return clusters_by_key(post_ids, created_at, author_keys, repost_of, keys, sign, threshold, index)


def clusters_by_key(post_ids: Sequence[str], created_at: Sequence[Any], author_keys: Sequence[str | None],
                    repost_of: Sequence[str | None] | None, keys: dict[str, np.ndarray] | None,
                    sign: Any, threshold: float = 0.5, index: str = "numpy") -> dict[str, np.ndarray]:
    """`clusters` from the posts' `text_keys` instead of their texts; ``sign(rows)`` gives the
    signatures of the texts at those rows (one per distinct long key, earliest first)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ids = _strings(post_ids)
    n = len(ids)
    if n == 0:
        empty = np.array([], dtype=object)
        return {"original_id": empty, "cluster_id": empty.copy(),
                "cluster_size": np.array([], dtype=np.int32), "cluster_authors": np.array([], dtype=np.int32)}
    reposted = _strings(repost_of, n)
    if not len(keys["key"]) == len(reposted) == len(author_keys) == n:
        raise ValueError("post_ids, keys, created_at, author_keys and repost_of must have the same length")
    t = _ns(created_at)
    if len(t) != n:
        raise ValueError("post_ids and created_at must have the same length")

    # Posts by time, then post id (a stable sort; UTF-8 bytes sort as code points, like str), and
    # each repost's target: its row if it is a post of the day, else a number among the absent ones.
    order = pc.sort_indices(pa.table({"t": t, "id": ids}), [("t", "ascending"), ("id", "ascending")])
    order = order.to_numpy().astype(np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    repost_mask = pc.fill_null(pc.not_equal(reposted, ""), False)
    is_repost = repost_mask.to_numpy(zero_copy_only=False)
    targets = reposted.filter(repost_mask)
    # (the last post of a repeated id, as a dict from ids to rows gives it)
    target = n - 1 - pc.fill_null(pc.index_in(targets, value_set=ids[::-1]), n).to_numpy().astype(np.int64)
    absent = target < 0
    virtual = pc.dictionary_encode(targets.filter(pa.array(absent))).indices.to_numpy()
    ids = reposted = None

    # Exact keys (text_keys), numbered in order of first use; no key: -1.
    has_key = keys["has_key"]
    key_of = np.full(n, -1, dtype=np.int64)
    codes, distinct = pd.factorize(keys["key"][has_key])
    key_of[has_key] = codes
    nk = len(distinct)
    long = keys["long"]
    distinct = codes = None

    # Near duplicates among the distinct long keys, earliest first (by their first post).
    key_label = np.arange(nk)
    first_of_key = np.full(nk, n, dtype=np.int64)
    np.minimum.at(first_of_key, key_of[has_key], rank[has_key])
    is_long = np.zeros(nk, dtype=bool)
    is_long[key_of[long]] = True  # (a long text has a key)
    long_idx = np.flatnonzero(is_long)
    if len(long_idx) > 1:
        long_idx = long_idx[np.argsort(first_of_key[long_idx], kind="stable")]
        lab = signature_labels(lambda: sign(order[first_of_key[long_idx]]), threshold, index)
        key_label[long_idx] = long_idx[lab]

    # One graph: posts 0..n-1, keys n..n+nk-1, absent reposted posts after them.
    kp = np.flatnonzero(has_key)
    rp = np.flatnonzero(is_repost)
    target[absent] = n + nk + virtual
    s = np.concatenate([kp, rp])
    d = np.concatenate([n + key_label[key_of[kp]], target])
    size = n + nk + (virtual.max() + 1 if len(virtual) else 0)
    graph = coo_matrix((np.ones(len(s), dtype=np.int8), (s, d)), shape=(size, size))
    comp = connected_components(graph, directed=False)[1][:n]

    # Earliest post per component, and per exact key among non-reposts.
    ids_obj = _objects(post_ids)
    first_of_comp = np.full(comp.max() + 1, n, dtype=np.int64)
    np.minimum.at(first_of_comp, comp, rank)
    cluster_id = ids_obj[order[first_of_comp[comp]]]
    cluster_size = np.bincount(comp)[comp].astype(np.int32)
    author = pc.fill_null(pc.dictionary_encode(_strings(author_keys)).indices, -1).to_numpy()
    known = author >= 0
    pairs = np.sort(comp[known].astype(np.int64) * n + author[known])  # (cluster, author)
    distinct_pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs  # (no author known)
    cluster_authors = np.bincount(distinct_pairs // n, minlength=comp.max() + 1)[comp].astype(np.int32)

    original = np.full(n, None, dtype=object)
    own = has_key & ~is_repost
    if own.any():
        first_own = np.full(nk, n, dtype=np.int64)
        np.minimum.at(first_own, key_of[own], rank[own])
        cand = np.flatnonzero(own)
        head = order[first_own[key_of[cand]]]
        dup = head != cand
        original[cand[dup]] = ids_obj[head[dup]]
    original[rp] = targets.to_numpy(zero_copy_only=False)
    return {"original_id": original, "cluster_id": cluster_id, "cluster_size": cluster_size,
            "cluster_authors": cluster_authors}
