"""Measures per topic and period: volume, authors, sentiment mix, reach, engagement, languages.

A post is one row per topic it belongs to, its hashtags, words and links one row per (post, item):
every measure is a groupby over those rows, the words of a text computed once. A large day is
measured a batch of posts at a time: partial() of each batch, merge() of the partials (exact: sums,
maxima, the scores kept in order), then daily_of() and hourly_of().
"""
from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from listening.schema import MENTIONS, METRICS_DAILY, METRICS_HOURLY, empty

LANGS = ("fr", "nl", "en", "de")
TOP_HASHTAGS = 10
TOP_TERMS = 20
TOP_LINKS = 5
NEW_MAX = 10
WORD_RE = re.compile(r"[^\W\d_][\w'’-]{2,}")


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Stop words of the four languages, from spaCy's language data (no model needed).

    Read from its `stop_words.py` files alone (plain word lists, no imports): importing
    `spacy.lang.fr` compiles the French tokenizer's exception patterns, about 4 CPU-s in every task
    process that counts words."""
    import importlib.util

    lang_dir = Path(importlib.util.find_spec("spacy").submodule_search_locations[0]) / "lang"
    words: set[str] = set()
    for lang in LANGS:
        spec = importlib.util.spec_from_file_location(f"_vigie_stop_words_{lang}", lang_dir / lang / "stop_words.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        words |= set(module.STOP_WORDS)
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


SEPARATOR = "\x01"  # between texts tokenised together: a control character cleaned texts never hold
TOKEN_RE = re.compile(SEPARATOR + "|" + WORD_RE.pattern)
BATCH = 10_000


def terms_per_post(texts: pa.Array | pa.ChunkedArray | list[str]) -> pa.Array | pa.ChunkedArray:
    """terms() of each text, as a list<string> array; a repeated text (reposts, copies) is tokenised once."""
    texts = pa.array(texts, pa.string()) if isinstance(texts, list) else texts
    distinct = pc.unique(texts)
    batches = [_terms_batch(distinct.slice(i, BATCH).to_pylist()) for i in range(0, len(distinct), BATCH)]
    lists = pa.concat_arrays(batches) if batches else pa.array([], pa.list_(pa.string()))
    return lists.take(pc.index_in(texts, value_set=distinct))


def _terms_batch(texts: list[str]) -> pa.ListArray:
    """terms() of each text, with one regex pass over the texts joined, then vectorised clean-up.

    Texts are joined by a newline, the separator and a newline: no regex of terms() or
    text_for_language matches across a newline, and a newline before a text looks to them like
    its start, so each text gives the words it gives alone, the separator marking where it ends.
    """
    from listening.clean import text_for_language

    joined = f"\n{SEPARATOR}\n".join(texts)
    if joined.count(SEPARATOR) != len(texts) - 1:  # a text holds the separator itself: one at a time
        return pa.array([terms(t) for t in texts], pa.list_(pa.string()))
    tokens = pa.array(TOKEN_RE.findall(text_for_language(joined).casefold()), pa.string())
    is_sep = pc.equal(tokens, SEPARATOR)
    text = np.cumsum(is_sep.to_numpy(zero_copy_only=False))
    words = pc.utf8_trim(tokens, "'’-")
    words = pc.replace_substring_regex(words, r"^.*['’]", "")  # l'ordonnance -> ordonnance
    keep = pc.and_(pc.invert(is_sep), pc.and_(pc.greater_equal(pc.utf8_length(words), 3),
                                              pc.invert(pc.is_in(words, pa.array(sorted(stop_words()))))))
    per_text = np.bincount(text[keep.to_numpy(zero_copy_only=False)], minlength=len(texts))
    offsets = np.concatenate([[0], np.cumsum(per_text)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), words.filter(keep))


POST_COLUMNS = ["created_at", "author_key", "author_followers", "lang", "sentiment_label", "sentiment_score",
                "engagement", "is_reply", "is_repost"]


def _items(lists: pa.Array | pa.ChunkedArray, name: str) -> pd.DataFrame:
    """One row per item of each row's list: (post, item), posts numbered by row."""
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    return pd.DataFrame({"post": pc.list_parent_indices(lists).to_numpy(), name: pc.list_flatten(lists).to_pandas()})


def _rows(mentions: pa.Table) -> pd.DataFrame:
    """One row per post and topic, in the order of the posts: a post in two topics counts in each."""
    posts = mentions.select(POST_COLUMNS).to_pandas()
    posts["hour"] = posts["created_at"].dt.floor("h")
    member = _items(mentions.column("topics"), "topic").dropna()
    return posts.iloc[member["post"]].assign(post=member["post"].to_numpy(), topic=member["topic"].to_numpy())


KEYS = ["topic", "hour"]  # the finest groups: a day's measures are their roll-up
# What the measures read of the mentions: a batch of these columns is enough for partial().
COLUMNS = [*POST_COLUMNS, "topics", "hashtags", "links", "text"]
ITEMS = ("hashtags", "terms", "links")


def partial(mentions: pa.Table, post_terms: pa.Array | pa.ChunkedArray | None = None) -> dict[str, pd.DataFrame]:
    """What the measures of some posts are computed from, per topic and hour: sums, each author's largest
    follower count, the sentiment scores in the order of the rows, and the uses of each hashtag, term
    and link. Partials of consecutive batches merge exactly (see merge): a large day is measured a
    batch at a time, never whole in memory.
    """
    rows = _rows(mentions)
    label, lang = rows["sentiment_label"], rows["lang"]
    sums = pd.DataFrame({
        "posts": 1,
        **{k: label.eq(k) for k in ("positive", "neutral", "negative")},
        "engagement": rows["engagement"], "replies": rows["is_reply"], "reposts": rows["is_repost"],
        **{f"lang_{l}": lang.eq(l) for l in LANGS},
    }, index=rows.index).groupby([rows[k] for k in KEYS]).sum()
    if post_terms is None:
        post_terms = terms_per_post(mentions.column("text"))
    lists = {"hashtags": mentions.column("hashtags"), "terms": post_terms, "links": mentions.column("links")}
    return {
        "sums": sums,
        # An author counts once per group; a post may have been collected without a follower count.
        "authors": rows.groupby(KEYS + ["author_key"])["author_followers"].max(),
        # Row by row (a score and its keys): the mean is taken once, over the day's rows in order.
        "scores": rows.loc[rows["sentiment_score"].notna(), KEYS + ["sentiment_score"]].reset_index(drop=True),
        **{name: rows[KEYS + ["post"]].merge(_items(lists[name], "value"), on="post").groupby(KEYS + ["value"]).size()
           for name in ITEMS},
    }


def merge(parts) -> dict[str, pd.DataFrame]:
    """The partial of consecutive batches, from theirs in the order of the batches (an iterable,
    consumed one at a time). Merged as a binary counter adds, two partials of as many batches at a
    time: a batch's rows are merged about log2(batches) times, and as many partials are held."""
    stack: list[tuple[int, dict]] = []  # (batches, their partial), oldest first
    for part in parts:
        n = 1
        while stack and stack[-1][0] == n:
            m, before = stack.pop()
            n, part = n + m, _merge(before, part)
        stack.append((n, part))
    out = None
    for _, part in stack:
        out = part if out is None else _merge(out, part)
    return out if out is not None else partial(_no_mentions())


def _merge(a: dict, b: dict) -> dict:
    if b["sums"].empty:
        return a
    if a["sums"].empty:
        return b
    return {
        "sums": pd.concat([a["sums"], b["sums"]]).groupby(level=KEYS).sum(),
        "authors": pd.concat([a["authors"], b["authors"]]).groupby(level=KEYS + ["author_key"]).max(),
        "scores": pd.concat([a["scores"], b["scores"]], ignore_index=True),
        **{name: pd.concat([a[name], b[name]]).groupby(level=KEYS + ["value"]).sum() for name in ITEMS},
    }


def _no_mentions() -> pa.Table:
    return pa.schema([MENTIONS.schema.field(c) for c in COLUMNS]).empty_table()


def _counts(uses: pd.Series, keys: list[str]) -> pd.DataFrame:
    """Uses of each value per group, most used first, ties by value: the order of the top lists."""
    counts = uses.groupby(level=keys + ["value"]).sum().rename("uses").reset_index()
    return counts.sort_values(keys + ["uses", "value"], ascending=[True] * len(keys) + [False, True],
                              ignore_index=True)


def _top_lists(counts: pd.DataFrame, keys: list[str], n: int) -> pd.Series:
    return counts.groupby(keys, sort=False).head(n).groupby(keys)["value"].agg(list)


def _float32_mean(scores: pd.Series) -> float:
    # pandas' mean of float32 (numpy's pairwise sum in float32), as the per-group code computed it,
    # bit for bit; groupby().mean() sums another way and can differ in the last bit.
    return float(scores.mean())


def _measure(part: dict, keys: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The measures of each group of `keys` (a prefix of KEYS) that has posts, sorted by keys, and
    its hashtag counts, from a partial."""
    by = keys if len(keys) > 1 else keys[0]  # one key: a plain index, as the daily table's reindex needs
    out = part["sums"].groupby(level=by).sum().astype("int64")
    authors = part["authors"].groupby(level=keys + ["author_key"]).max()
    out["unique_authors"] = authors.groupby(level=by).size().reindex(out.index, fill_value=0)
    scored = out["positive"] + out["neutral"] + out["negative"]
    out["unscored"] = out["posts"] - scored
    out["net_sentiment"] = ((out["positive"] - out["negative"]) / scored).where(scored > 0)
    out["mean_sentiment"] = part["scores"].groupby(by)["sentiment_score"].agg(_float32_mean)
    out["lang_other"] = out["posts"] - sum(out[f"lang_{l}"] for l in LANGS)
    # Reach counts each author once per period: an account posting ten times reaches the same people.
    # Its largest known follower count is used (a post may have been collected without one).
    out["reach"] = authors.fillna(0).groupby(level=by).sum().astype("int64")
    tags = _counts(part["hashtags"], keys)
    for name, items, n in (("top_hashtags", tags, TOP_HASHTAGS),
                           ("top_terms", _counts(part["terms"], keys), TOP_TERMS),
                           ("top_links", _counts(part["links"], keys), TOP_LINKS)):
        out[name] = _lists(_top_lists(items, keys, n), out.index)
    return out, tags


COUNTS = ["posts", "unique_authors", "positive", "neutral", "negative", "unscored", "reach", "engagement", "replies",
          "reposts", *(f"lang_{l}" for l in LANGS), "lang_other"]


def _lists(values: pd.Series, index: pd.Index) -> list[list[str]]:
    """The lists of `values` on `index`, an empty list where a group has none."""
    return [v if isinstance(v, list) else [] for v in values.reindex(index)]


def _share_of_voice(out: pd.DataFrame, groups: dict[str, str] | None, period: str) -> None:
    group = [(groups or {}).get(t, "") for t in out["topic"]]
    total = out.groupby([group, out[period]], dropna=False)["posts"].transform("sum")
    out["share_of_voice"] = (out["posts"] / total).where(total > 0)


def _table(out: pd.DataFrame, ds) -> pa.Table:
    return pa.Table.from_arrays([pa.array(out[f.name], f.type) for f in ds.schema], schema=ds.schema)


def daily(mentions: pa.Table, day: date, topics: list[str], groups: dict[str, str] | None = None,
          seen_hashtags: dict[str, set[str]] | None = None, seen_terms: dict[str, set[str]] | None = None,
          *, post_terms: pa.Array | pa.ChunkedArray | None = None) -> pa.Table:
    """daily_of the whole table. `post_terms`: terms_per_post(mentions["text"]) when the caller has it."""
    return daily_of(partial(mentions, post_terms), day, topics, groups, seen_hashtags, seen_terms)


def hourly(mentions: pa.Table, groups: dict[str, str] | None = None, *,
           post_terms: pa.Array | pa.ChunkedArray | None = None) -> pa.Table:
    """hourly_of the whole table. `post_terms`: as for daily."""
    return hourly_of(partial(mentions, post_terms), groups)


def daily_of(part: dict, day: date, topics: list[str], groups: dict[str, str] | None = None,
             seen_hashtags: dict[str, set[str]] | None = None,
             seen_terms: dict[str, set[str]] | None = None) -> pa.Table:
    """One row per watched topic, zero rows included: a quiet day is a measure too. `part`: the
    day's partial (partial, merge).

    `groups` maps topic -> group for the share of voice; `seen_hashtags` and `seen_terms` hold,
    per topic, what the previous 28 days had, for new_hashtags and new_terms (None: not computed).
    """
    measured, tags = _measure(part, ["topic"])
    out = measured.reindex(pd.Index(sorted(topics), name="topic"))
    out[COUNTS] = out[COUNTS].fillna(0).astype("int64")
    for name in ("top_hashtags", "top_terms", "top_links"):
        out[name] = _lists(measured[name], out.index)
    out = out.reset_index()
    out["day"] = day
    out["new_hashtags"] = out["new_terms"] = None
    if seen_hashtags is not None:
        known = pd.DataFrame([(t, v) for t, vs in seen_hashtags.items() for v in vs], columns=["topic", "value"])
        fresh = tags.merge(known, how="left", on=["topic", "value"], indicator=True)  # keeps the order of tags
        fresh = fresh[fresh["_merge"] == "left_only"]
        out["new_hashtags"] = _lists(_top_lists(fresh, ["topic"], NEW_MAX), pd.Index(out["topic"]))
    if seen_terms is not None:
        out["new_terms"] = [[t for t in top if t not in seen_terms.get(topic, set())][:NEW_MAX]
                            for topic, top in zip(out["topic"], out["top_terms"])]
    _share_of_voice(out, groups, "day")
    return _table(out, METRICS_DAILY)


def hourly_of(part: dict, groups: dict[str, str] | None = None) -> pa.Table:
    """One row per topic and hour that has posts, from the day's partial."""
    out = _measure(part, KEYS)[0].reset_index()
    if out.empty:
        return empty(METRICS_HOURLY)
    _share_of_voice(out, groups, "hour")
    return _table(out, METRICS_HOURLY)
