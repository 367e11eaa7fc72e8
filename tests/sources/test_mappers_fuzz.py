"""Fuzzing the platform mappers: a record as a platform sends it, then one field replaced by
anything JSON can hold (wrong types, null bytes, 1 MB strings, right-to-left text, emoji
floods, far-future or zoned timestamps, deep nesting) or removed. Every mutant is either mapped
to a post the nightly reader accepts, or refused with a rule and a reason for the quarantine;
none crashes the run, none is dropped silently, and what lands serialises as JSON."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fakes import bluesky as fb, mastodon as fm, reddit as fr, rss as frss, x as fx, youtube as fy
from listening import collect
from listening.sources import collector, files
from listening.sources.base import Page

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
EXAMPLES = 300


def _rss_entry() -> dict:
    from listening.sources import rss

    d = feedparser.parse(frss.rss_feed(frss.news(1, NOW)).encode())
    return rss._plain(d.entries[0])


def _x_tweet():
    author = fx.user("alice")
    return fx.tweet(1, NOW, author), {"users": {author["id"]: author}, "tweets": {}}


CASES = {
    "mastodon": lambda: (fm.status(1, NOW), {"host": "fake.social"}),
    "bluesky": lambda: (fb.post(1, NOW), {"followers": {}}),
    "reddit": lambda: (fr.link(1, NOW), {}),
    "rss": lambda: (_rss_entry(), {"feed_url": "https://www.lesoir.be/rss", "feed_host": "www.lesoir.be",
                                   "feed_title": "Le Soir", "name": None, "lang": "fr", "feed_lang": "fr",
                                   "fetched_at": "2026-11-20T12:00:00Z", "google_alerts": False}),
    "youtube": lambda: (fy.thread(1, "vid00000001", NOW, replies=1), {"video_id": "vid00000001"}),
    "x": _x_tweet,
}

HOSTILE_TEXT = st.sampled_from([
    "", "\x00", "a\x00b", "x" * 1_000_000, "\u202eevil\u202c", "😀" * 10_000, "\ud800", "=cmd|' /C calc'!A0",
    "<script>alert(1)</script>", "9999-12-31T23:59:59Z", "2026-11-20T12:00:00+14:00", "2026-11-20T12:00:00",
    "1e400", "NaN", "-1", "t3_", "at://", "@", "0",
])
LEAF = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=50), HOSTILE_TEXT)
VALUE = st.recursive(LEAF, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                    st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                     max_leaves=8)


def _paths(obj, prefix=()):
    """Every path to a value inside a record (dict keys and list indexes)."""
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            out += _paths(v, prefix + (i,))
    return out


def _mutate(rec, path, value, delete: bool):
    rec = json.loads(json.dumps(rec))
    parent = rec
    for p in path[:-1]:
        parent = parent[p]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return rec


@pytest.mark.parametrize("platform", sorted(CASES))
def test_the_unmutated_record_maps(platform):
    rec, ctx = CASES[platform]()
    post, bad = collect.map_record(collector(platform), rec, Page([rec], "GET /fake", ctx))
    assert bad is None and post["platform"] == platform


@pytest.mark.parametrize("platform", sorted(CASES))
def test_any_mutant_is_mapped_or_quarantined_never_a_crash(platform):
    mod = collector(platform)
    rec, ctx = CASES[platform]()
    paths = _paths(rec)
    seen = {"mapped": 0, "refused": 0}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.sampled_from(paths), VALUE, st.booleans(), st.integers(0, 9))
    def check(path, value, delete, whole):
        mutant = value if whole == 0 else _mutate(rec, path, value, delete)  # 1 in 10: not a record at all
        page = Page([mutant], "GET /fake?page=1", dict(ctx))
        post, bad = collect.map_record(mod, mutant, page)
        assert (post is None) != (bad is None)
        if bad is not None:
            assert bad["rule"] and bad["reason"] and bad["request"] == "GET /fake?page=1"
            json.dumps(bad, default=str)  # the quarantine line can be written
            seen["refused"] += 1
        else:
            files.to_raw(post)  # what lands, the nightly reader takes
            line = json.dumps(post, ensure_ascii=False, sort_keys=True)
            assert json.loads(line)["id"] == post["id"]
            seen["mapped"] += 1

    check()
    assert seen["mapped"] + seen["refused"] >= EXAMPLES
    assert seen["mapped"] > 0 and seen["refused"] > 0  # the mutations reach both outcomes
