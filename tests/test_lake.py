"""The lake: hive-partitioned Parquet, one file per partition, replaced atomically."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from listening import lake
from conftest import enriched
from listening.schema import MENTIONS, QUARANTINE

DAY = date(2026, 11, 2)


def quarantine(n: int, rule: str = "json") -> pa.Table:
    return pa.Table.from_pylist(
        [{"run_id": "r1", "rule": rule, "reason": f"a.jsonl:{i}: bad", "post_id": None,
          "source_file": "a.jsonl", "source_line": i, "record": "{"} for i in range(n, 0, -1)],
        schema=QUARANTINE.schema)


def mention(pid: str, hour: int) -> dict:
    return enriched({"post_id": pid, "platform": "mastodon", "url": None,
            "created_at": datetime(2026, 11, 2, hour, 5, tzinfo=timezone.utc), "hour": hour,
            "author_key": "k", "author_followers": 10, "text": "budget régional", "hashtags": ["budgetbxl"],
            "mentions": ["@parlbxl"], "links": [], "lang": "fr", "lang_source": "platform", "lang_confidence": 1.0,
            "topics": ["budget-2027"], "matches": [{"topic": "budget-2027", "kind": "keyword", "term": "budget régional", "query": None}],
            "sentiment_score": 0.25, "sentiment_label": "positive", "sentiment_confidence": 0.5, "sentiment_engine": "e",
            "is_reply": False, "is_repost": False, "reply_to": None, "repost_of": None, "quote_of": None,
            "like_count": 1, "repost_count": 0, "reply_count": 0, "quote_count": 0, "engagement": 1})


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "lake"


def test_round_trip_keeps_schema_and_rows(root):
    table = pa.Table.from_pylist([mention("m:2", 9), mention("m:1", 8)], schema=MENTIONS.schema)
    p = lake.write_partition(root, MENTIONS, table, dt=DAY)
    assert p == root / "mentions" / "dt=2026-11-02" / "part-0.parquet"
    back = lake.read_partition(root, MENTIONS, dt=DAY)
    assert back.schema.equals(MENTIONS.schema)
    # rows come back sorted by the dataset's sort key, values intact
    assert back.column("post_id").to_pylist() == ["m:1", "m:2"]
    assert back.to_pylist()[0] == mention("m:1", 8) | {"lang_confidence": pytest.approx(1.0)}


def test_partition_path_uses_every_key(root):
    p = lake.write_partition(root, QUARANTINE, quarantine(1), layer="raw", dt=DAY)
    assert p.relative_to(root).as_posix() == "quarantine/layer=raw/dt=2026-11-02/part-0.parquet"
    with pytest.raises(ValueError, match="layer"):
        lake.write_partition(root, QUARANTINE, quarantine(1), dt=DAY)


def test_read_partition_never_written_is_none(root):
    assert lake.read_partition(root, MENTIONS, dt=DAY) is None


def test_missing_column_is_refused_and_nothing_written(root):
    with pytest.raises(ValueError, match="record"):
        lake.write_partition(root, QUARANTINE, quarantine(2).drop_columns(["record"]), layer="raw", dt=DAY)
    assert lake.read_partition(root, QUARANTINE, layer="raw", dt=DAY) is None


def test_rewrite_replaces_the_partition(root):
    lake.write_partition(root, QUARANTINE, quarantine(3), layer="raw", dt=DAY)
    lake.write_partition(root, QUARANTINE, quarantine(2, rule="encoding"), layer="raw", dt=DAY)
    back = lake.read_partition(root, QUARANTINE, layer="raw", dt=DAY)
    assert back.num_rows == 2
    assert set(back.column("rule").to_pylist()) == {"encoding"}
    files = [p.name for p in (root / "quarantine" / "layer=raw" / "dt=2026-11-02").iterdir()]
    assert files == ["part-0.parquet"]


def test_failed_write_keeps_previous_partition_and_no_temp_file(root, monkeypatch):
    lake.write_partition(root, QUARANTINE, quarantine(3), layer="raw", dt=DAY)
    part_dir = root / "quarantine" / "layer=raw" / "dt=2026-11-02"
    before = (part_dir / "part-0.parquet").read_bytes()
    real = pq.write_table
    created = []

    def half_write(table, where, **kw):
        real(table.slice(0, 1), where, **kw)  # something lands on disk, then the disk fills up
        created.append(Path(where))
        raise OSError("No space left on device")

    monkeypatch.setattr(pq, "write_table", half_write)
    with pytest.raises(OSError, match="No space"):
        lake.write_partition(root, QUARANTINE, quarantine(7), layer="raw", dt=DAY)
    assert created and created[0].parent == part_dir   # the temp file was really created
    assert sorted(p.name for p in part_dir.iterdir()) == ["part-0.parquet"]
    assert (part_dir / "part-0.parquet").read_bytes() == before
    assert lake.read_partition(root, QUARANTINE, layer="raw", dt=DAY).num_rows == 3


def test_read_dataset_ignores_hidden_temp_files(root):
    p = lake.write_partition(root, QUARANTINE, quarantine(3), layer="raw", dt=DAY)
    lake.write_partition(root, QUARANTINE, quarantine(2), layer="raw", dt=date(2026, 11, 3))
    (p.parent / ".part-0.parquet.0123abcd.tmp").write_bytes(b"half a parquet file")
    pq.write_table(quarantine(5), p.parent / ".part-0.parquet.deadbeef.tmp")  # a complete one, not yet renamed
    t = lake.read_dataset(root, "quarantine")
    assert t.num_rows == 5
    assert {"layer", "dt"} <= set(t.column_names)
    assert sorted(set(map(str, t.column("dt").to_pylist()))) == ["2026-11-02", "2026-11-03"]


def test_read_dataset_of_missing_dataset_is_empty_with_schema(root):
    t = lake.read_dataset(root, "mentions")
    assert t.num_rows == 0 and t.schema.equals(MENTIONS.schema)


def test_publish_moves_staged_files_and_removes_staging(root):
    old = lake.write_partition(root, QUARANTINE, quarantine(9), layer="raw", dt=DAY)
    staged = lake.stage_path(root, DAY, QUARANTINE, layer="raw", dt=DAY)
    lake.write_file(staged, QUARANTINE, quarantine(2))
    staged_m = lake.stage_path(root, DAY, MENTIONS, dt=DAY)
    lake.write_file(staged_m, MENTIONS, pa.Table.from_pylist([mention("m:1", 8)], schema=MENTIONS.schema))
    # staged outputs are invisible to readers of the lake until published
    assert lake.read_dataset(root, "mentions").num_rows == 0
    assert lake.read_partition(root, QUARANTINE, layer="raw", dt=DAY).num_rows == 9

    published = lake.publish(root, DAY)
    assert sorted(published) == sorted([old, root / "mentions" / "dt=2026-11-02" / "part-0.parquet"])
    assert lake.read_partition(root, QUARANTINE, layer="raw", dt=DAY).num_rows == 2
    assert lake.read_partition(root, MENTIONS, dt=DAY).column("post_id").to_pylist() == ["m:1"]
    assert not lake.staging_dir(root, DAY).exists()
    assert lake.staged_files(root, DAY) == []


def test_publish_leaves_other_days_staged(root):
    other = date(2026, 11, 3)
    lake.write_file(lake.stage_path(root, DAY, QUARANTINE, layer="raw", dt=DAY), QUARANTINE, quarantine(1))
    lake.write_file(lake.stage_path(root, other, QUARANTINE, layer="raw", dt=other), QUARANTINE, quarantine(1))
    lake.publish(root, DAY)
    assert len(lake.staged_files(root, other)) == 1
    assert lake.read_partition(root, QUARANTINE, layer="raw", dt=other) is None


def test_clear_staging_drops_the_days_outputs(root):
    lake.write_file(lake.stage_path(root, DAY, QUARANTINE, layer="raw", dt=DAY), QUARANTINE, quarantine(1))
    lake.clear_staging(root, DAY)
    assert lake.staged_files(root, DAY) == []
    assert lake.publish(root, DAY) == []
    assert lake.read_partition(root, QUARANTINE, layer="raw", dt=DAY) is None


def test_disk_full_gives_a_clear_error_and_keeps_the_previous_partition(tmp_path, monkeypatch):
    import errno

    import pyarrow.parquet as pq_mod

    from listening import lake as lk
    from listening.schema import QUARANTINE

    row = {"run_id": "r", "rule": "x", "reason": "y", "post_id": None, "source_file": None,
           "source_line": None, "record": "{}"}
    good = pa.Table.from_pylist([row], schema=QUARANTINE.schema)
    path = lk.write_partition(tmp_path, QUARANTINE, good, layer="raw", dt=date(2026, 11, 2))
    before = path.read_bytes()

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq_mod, "write_table", full)
    with pytest.raises(OSError, match=r"cannot write .*part-0.parquet: No space left on device; the previous version is intact"):
        lk.write_partition(tmp_path, QUARANTINE, good, layer="raw", dt=date(2026, 11, 2))
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["part-0.parquet"]


def test_a_file_written_in_parts_with_no_rows_is_the_file_write_file_writes(root):
    """A day with no mentions, or a platform whose posts were all erased, streamed part by part:
    the same empty file (one empty row group) as writing the empty table, which readers take as
    one empty part."""
    whole = lake.write_file(root / "whole.parquet", MENTIONS, MENTIONS.schema.empty_table())
    parts = lake.write_file_parts(root / "parts.parquet", MENTIONS, iter([MENTIONS.schema.empty_table()]))
    for p in (whole, parts):
        assert pq.ParquetFile(p).metadata.num_row_groups == 1
        assert [t.num_rows for _, t in lake.read_parts(p, MENTIONS, 10)] == [0]
    assert pq.read_table(parts).equals(pq.read_table(whole))
