"""Fuzzing the import reader: whatever a line holds, it is read, quarantined with a reason, or
belongs to another day; never a crash, never a silent drop."""
from __future__ import annotations

import gzip
import json
from datetime import date, datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listening.sources.files import read_day

DAY = date(2026, 11, 2)

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=30))
json_values = st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                           max_leaves=20)
times = st.one_of(
    st.datetimes(min_value=datetime(2026, 11, 1), max_value=datetime(2026, 11, 3),
                 timezones=st.sampled_from([timezone.utc, None])).map(lambda d: d.isoformat()),
    st.sampled_from(["2026-11-02T10:00:00+14:00", "2026-11-02T23:59:59-12:00", "9999-12-31T23:59:59Z",
                     "2026-11-02", "not a date", "2026-11-02T10:00:00.123456789Z"]),
    json_values)
texts = st.one_of(st.text(max_size=200), st.just("\u202e\u200f" * 50 + "ok"), st.just("😀" * 2000),
                  st.just("x" * 1_000_000), st.just("nul\x00byte"))
posts = st.fixed_dictionaries(
    {"platform": st.one_of(st.sampled_from(["mastodon", "x", "bluesky"]), json_values),
     "id": st.one_of(st.text(min_size=1, max_size=10), st.integers(0, 10**12), json_values),
     "created_at": times, "author_id": st.one_of(st.text(min_size=1, max_size=8), json_values),
     "text": texts},
    optional={"like_count": st.one_of(st.integers(-5, 10**6), json_values),
              "author_followers": st.one_of(st.integers(-5, 10**9), st.text(max_size=5)),
              "lang": json_values, "reply_to": json_values, "url": json_values})
lines = st.one_of(
    posts.map(lambda p: json.dumps(p, allow_nan=True).encode()),
    json_values.map(lambda v: json.dumps(v, allow_nan=True).encode()),
    st.binary(max_size=200).filter(lambda b: b"\n" not in b and b"\r" not in b),
    st.just(b"[" * 100_000 + b"]" * 100_000),                     # deeply nested JSON
    st.just(b'{"platform": "x", "id": "1", "text": "\xff\xfe", "created_at": "2026-11-02T10:00:00Z", "author_id": "a"}'),
)


def _in_other_day(line: bytes) -> bool:
    try:
        rec = json.loads(line)
        t = datetime.fromisoformat(rec["created_at"])
        return t.tzinfo is not None and t.astimezone(timezone.utc).date() != DAY
    except Exception:  # noqa: BLE001 - anything else is not "another day"
        return False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(lines, min_size=1, max_size=12), st.booleans())
def test_every_line_is_accounted_for(tmp_path_factory, batch, gz):
    d = tmp_path_factory.mktemp("imp")
    name = "f.jsonl.gz" if gz else "f.jsonl"
    data = b"\n".join(batch) + b"\n"
    (d / name).write_bytes(gzip.compress(data) if gz else data)
    from listening.pipeline import _ArrowSink
    from listening.schema import RAW

    sink = _ArrowSink(RAW.schema)
    rows, bad = read_day(d, DAY, rows=[])
    for r in rows:  # what ingest does next: every accepted row must fit the raw schema
        sink.append(r)
    sink.tables()
    seen = [r["source_line"] for r in rows] + [b["source_line"] for b in bad]
    assert len(seen) == len(set(seen)), "a line reported twice"
    for i, line in enumerate(batch, start=1):
        if not line.strip():
            continue
        assert i in seen or _in_other_day(line), f"line {i} silently dropped: {line[:80]!r}"
    for b in bad:
        assert b["reason"].startswith(f"{name}:{b['source_line']}: ") and b["rule"]
        assert len(b["record"]) <= 10_000
    for r in rows:
        assert r["created_at"].date() == DAY and r["post_id"].startswith(r["platform"] + ":")
