"""The file source: JSON Lines in the import directory (docs/import-format.md)."""
from __future__ import annotations

import gzip
import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from listening.sources.files import read_day

DAY = date(2026, 11, 2)


def post(**over) -> dict:
    p = {"platform": "mastodon", "id": "113204", "url": "https://mastodon.brussels/@alice/113204",
         "created_at": "2026-11-02T08:15:00Z", "author_id": "109876", "author_handle": "@alice@mastodon.brussels",
         "author_followers": 312, "text": "Le budget régional 2027 arrive au #ParlBXL", "lang": "fr",
         "like_count": 4, "repost_count": 1, "reply_count": 0}
    p.update(over)
    return {k: v for k, v in p.items() if v is not ...}


def write(path: Path, *lines) -> Path:
    text = "".join((ln if isinstance(ln, str) else json.dumps(ln, ensure_ascii=False)) + "\n" for ln in lines)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def imp(tmp_path) -> Path:
    d = tmp_path / "import"
    d.mkdir()
    return d


def ids(rows) -> list[str]:
    return [r["post_id"] for r in rows]


def test_good_post_is_read_with_its_fields(imp):
    write(imp / "a.jsonl", post())
    rows, bad = read_day(imp, DAY)
    assert bad == []
    (r,) = rows
    assert r["post_id"] == "mastodon:113204"
    assert r["platform"] == "mastodon" and r["native_id"] == "113204"
    assert r["created_at"] == datetime(2026, 11, 2, 8, 15, tzinfo=timezone.utc)
    assert r["author_id"] == "109876" and r["author_handle"] == "@alice@mastodon.brussels"
    assert r["author_followers"] == 312
    assert (r["like_count"], r["repost_count"], r["reply_count"], r["quote_count"]) == (4, 1, 0, 0)
    assert r["lang"] == "fr"
    assert r["source_file"] == "a.jsonl" and r["source_line"] == 1


def test_only_posts_of_the_utc_day(imp):
    write(imp / "a.jsonl",
          post(id="1", created_at="2026-11-01T23:59:59Z"),
          post(id="2", created_at="2026-11-02T00:00:00Z"),
          post(id="3", created_at="2026-11-03T00:30:00+01:00"),   # 2026-11-02 23:30 UTC
          post(id="4", created_at="2026-11-02T00:30:00+01:00"),   # 2026-11-01 23:30 UTC
          post(id="5", created_at="2026-11-03T00:00:00Z"))
    rows, bad = read_day(imp, DAY)
    assert bad == []
    assert ids(rows) == ["mastodon:2", "mastodon:3"]
    assert rows[1]["created_at"] == datetime(2026, 11, 2, 23, 30, tzinfo=timezone.utc)
    rows_next, _ = read_day(imp, date(2026, 11, 3))
    assert ids(rows_next) == ["mastodon:5"]
    rows_prev, _ = read_day(imp, date(2026, 11, 1))
    assert ids(rows_prev) == ["mastodon:1", "mastodon:4"]


def test_reads_jsonl_ndjson_and_gzip_and_ignores_other_files(imp):
    write(imp / "a.jsonl", post(id="1"))
    write(imp / "b.jsonl.gz", post(id="2"))
    write(imp / "c.ndjson", post(id="3"))
    write(imp / "d.ndjson.gz", post(id="4"))
    write(imp / "notes.txt", post(id="5"))
    write(imp / "e.json", post(id="6"))
    write(imp / ".hidden.jsonl", post(id="7"))
    rows, bad = read_day(imp, DAY)
    assert bad == []
    assert sorted(ids(rows)) == ["mastodon:1", "mastodon:2", "mastodon:3", "mastodon:4"]
    assert {r["post_id"]: r["source_file"] for r in rows}["mastodon:2"] == "b.jsonl.gz"


def test_blank_lines_are_skipped_but_counted(imp):
    write(imp / "a.jsonl", post(id="1"), "", "   ", post(id="2"))
    rows, bad = read_day(imp, DAY)
    assert bad == []
    assert [r["source_line"] for r in rows] == [1, 4]


@pytest.mark.parametrize("line,rule,words", [
    ('{"platform": "mastodon", "id": ', "json", ["not valid JSON"]),
    ('[1, 2, 3]', "not_object", ["JSON object", "list"]),
    (post(author_id=...), "missing_field", ["'author_id'", "missing"]),
    (post(text=...), "missing_field", ["'text'", "missing"]),
    (post(created_at="2026-11-02T08:15:00"), "created_at_zone", ["created_at", "time zone"]),
    (post(created_at="hier soir"), "created_at_format", ["created_at", "ISO 8601"]),
    (post(created_at=...), "created_at_type", ["created_at"]),
    (post(like_count=-1), "like_count_negative", ["like_count", ">= 0"]),
    (post(author_followers="312"), "author_followers_type", ["author_followers", "integer"]),
    (post(author_followers=12.5), "author_followers_type", ["author_followers", "integer"]),
    (post(platform="Mastodon"), "platform", ["platform", "lowercase"]),
    (post(text=42), "text_type", ["text", "string"]),
])
def test_bad_line_is_reported_with_file_line_and_reason(imp, line, rule, words):
    write(imp / "posts.jsonl", post(id="ok1"), line, post(id="ok2"))
    rows, bad = read_day(imp, DAY)
    assert ids(rows) == ["mastodon:ok1", "mastodon:ok2"]  # the run goes on
    (b,) = bad
    assert b["rule"] == rule
    assert b["source_file"] == "posts.jsonl" and b["source_line"] == 2
    assert b["reason"].startswith("posts.jsonl:2: ")
    for w in words:
        assert w in b["reason"]
    assert b["record"] == (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False))


def test_invalid_utf8_is_reported(imp):
    good = json.dumps(post(id="1")).encode()
    bad_line = json.dumps(post(id="2", text="caf_")).encode().replace(b"caf_", b"caf\xe9")
    (imp / "latin1.jsonl").write_bytes(good + b"\n" + bad_line + b"\n")
    rows, bad = read_day(imp, DAY)
    assert ids(rows) == ["mastodon:1"]
    (b,) = bad
    assert b["rule"] == "encoding" and b["source_line"] == 2
    assert "UTF-8" in b["reason"] and b["reason"].startswith("latin1.jsonl:2: ")
    assert b["record"]  # something to look at, even if not decodable


def test_bad_line_of_another_day_is_left_to_that_day(imp):
    write(imp / "a.jsonl", post(id="1", created_at="2026-11-05T10:00:00Z", like_count=-1))
    assert read_day(imp, DAY) == ([], [])
    rows, bad = read_day(imp, date(2026, 11, 5))
    assert rows == [] and [b["rule"] for b in bad] == ["like_count_negative"]


def test_line_without_a_readable_date_is_reported_by_every_day(imp):
    write(imp / "a.jsonl", "not json")
    for d in (DAY, date(2026, 11, 3)):
        _, bad = read_day(imp, d)
        assert [b["rule"] for b in bad] == ["json"]


def test_duplicate_post_across_files_is_kept_once(imp):
    write(imp / "a.jsonl", post(id="1", text="first"))
    write(imp / "b.jsonl.gz", post(id="2"), post(id="1", text="copy"))
    rows, bad = read_day(imp, DAY)
    assert sorted(ids(rows)) == ["mastodon:1", "mastodon:2"]
    assert {r["post_id"]: r["text"] for r in rows}["mastodon:1"] == "first"
    (b,) = bad
    assert b["rule"] == "duplicate" and b["post_id"] == "mastodon:1"
    assert b["source_file"] == "b.jsonl.gz" and b["source_line"] == 2
    assert "a.jsonl:1" in b["reason"]


def test_same_native_id_on_two_platforms_is_two_posts(imp):
    write(imp / "a.jsonl", post(id="1"), post(platform="bluesky", id="1"))
    rows, bad = read_day(imp, DAY)
    assert bad == [] and sorted(ids(rows)) == ["bluesky:1", "mastodon:1"]


def test_payload_keeps_the_original_line(imp):
    line = ('{"platform": "mastodon", "id": "9", "created_at": "2026-11-02T09:15:00+01:00", '
            '"author_id": "7", "text": "Caf\\u00e9 \u00e9t\u00e9", "extra": {"boost": [1, 2]}}')
    (imp / "a.jsonl").write_text(line + "\r\n", encoding="utf-8")
    rows, bad = read_day(imp, DAY)
    assert bad == []
    assert rows[0]["payload"] == line
    assert json.loads(rows[0]["payload"])["extra"] == {"boost": [1, 2]}
    assert rows[0]["text"] == "Café été"


def test_ids_and_links_are_prefixed_with_the_platform(imp):
    write(imp / "a.jsonl", post(platform="bluesky", id=42, author_id=7, reply_to="40", repost_of="39", quote_of=38))
    rows, bad = read_day(imp, DAY)
    assert bad == []
    (r,) = rows
    assert r["post_id"] == "bluesky:42" and r["native_id"] == "42" and r["author_id"] == "7"
    assert (r["reply_to"], r["repost_of"], r["quote_of"]) == ("bluesky:40", "bluesky:39", "bluesky:38")


def test_optional_fields_default(imp):
    write(imp / "a.jsonl", {"platform": "rss", "id": "x", "created_at": "2026-11-02T10:00:00Z",
                            "author_id": "feed", "text": ""})
    rows, bad = read_day(imp, DAY)
    assert bad == []
    (r,) = rows
    assert r["text"] == "" and r["reply_to"] is None and r["author_followers"] is None and r["lang"] is None
    assert (r["like_count"], r["repost_count"], r["reply_count"], r["quote_count"]) == (0, 0, 0, 0)


def test_missing_import_dir_is_named(tmp_path):
    missing = tmp_path / "no-such-dir"
    with pytest.raises(FileNotFoundError, match="no-such-dir"):
        read_day(missing, DAY)


def test_truncated_gzip_does_not_stop_the_run(imp):
    data = gzip.compress("".join(json.dumps(post(id=str(i))) + "\n" for i in range(2000)).encode())
    (imp / "a.jsonl.gz").write_bytes(data[: len(data) // 2])
    (imp / "b.jsonl.gz").write_bytes(b"not gzip at all")
    write(imp / "c.jsonl", post(id="c1"))
    rows, bad = read_day(imp, DAY)
    assert "mastodon:c1" in ids(rows)           # the other files are read
    assert "mastodon:0" in ids(rows)            # what could be read of the truncated file is kept
    assert sorted(b["source_file"] for b in bad if b["rule"] == "unreadable_file") == ["a.jsonl.gz", "b.jsonl.gz"]
    assert all(b["reason"].startswith(b["source_file"] + ": ") for b in bad)


def test_records_skip_bad_lines_and_records_without_text(tmp_path):
    from listening.sources.files import records

    (tmp_path / "a.jsonl").write_text('{"text": "un"}\nnot json\n[1, 2]\n{"text": 3}\n{"text": "deux"}\n')
    (tmp_path / "b.jsonl").write_text('{"text": "trois"}\n')
    assert [r["text"] for r in records(tmp_path)] == ["un", "deux", "trois"]
    assert [r["text"] for r in records(tmp_path, limit_files=1)] == ["un", "deux"]
