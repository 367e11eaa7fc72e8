"""Each rule catches a case built to break it; clean data passes; critical rules stop the publish."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from listening import lake, pipeline, quality
from listening.schema import MENTIONS, METRICS_DAILY, QUALITY, QUARANTINE, RAW

DAY = date(2026, 11, 2)
TOPICS = ["agora", "budget-2027", "climate-bill", "parlement"]
LANGS = ["fr", "nl", "en", "de"]


def mention(i: int, **kw) -> dict:
    row = {
        "post_id": f"mastodon:{i}", "platform": "mastodon", "url": None,
        "created_at": datetime(2026, 11, 2, 10, i % 60, tzinfo=timezone.utc), "hour": 10,
        "author_key": f"a{i}", "author_followers": 10, "text": "Le budget régional", "hashtags": [],
        "mentions": [], "links": [], "lang": "fr", "lang_source": "platform", "lang_confidence": 1.0,
        "topics": ["budget-2027"], "matches": [{"topic": "budget-2027", "kind": "keyword", "term": "budget régional"}],
        "sentiment_score": 0.2, "sentiment_label": "positive", "sentiment_engine": "x", "is_reply": False,
        "is_repost": False, "reply_to": None, "repost_of": None, "quote_of": None, "like_count": 0,
        "repost_count": 0, "reply_count": 0, "quote_count": 0, "engagement": 0,
    }
    row.update(kw)
    return row


BROKEN = {
    "created_at_in_interval": {"created_at": datetime(2026, 11, 3, 0, 0, tzinfo=timezone.utc)},
    "platform_name": {"platform": "Mastodon!"},
    "sentiment_score_range": {"sentiment_score": 1.5},
    "sentiment_label_set": {"sentiment_label": "happy"},
    "lang_set": {"lang": "xx"},
    "lang_confidence_range": {"lang_confidence": 2.0},
    "topics_in_watchlist": {"topics": ["budget-2027", "not-a-topic"]},
    "at_least_one_topic": {"topics": []},
    "post_id_platform_prefix": {"post_id": "no-prefix"},
    "like_count_not_negative": {"like_count": -3},
    "text_not_null": {"text": None},
}


@pytest.fixture(scope="module")
def validator(tmp_path_factory):
    return quality.Validator(tmp_path_factory.mktemp("lake"))


def test_clean_rows_pass(validator):
    table = pa.Table.from_pylist([mention(i) for i in range(20)], schema=MENTIONS.schema)
    kept, bad, results = quality.validate_table(validator, MENTIONS, table, DAY, TOPICS, LANGS, "r", "mentions")
    assert kept.num_rows == 20 and bad == []
    assert all(r["success"] for r in results), [r for r in results if not r["success"]]


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_row_rule_quarantines_exactly_the_bad_row(validator, rule):
    rows = [mention(i) for i in range(5)]
    rows[3] = mention(3, **BROKEN[rule])
    table = pa.Table.from_pylist(rows, schema=MENTIONS.schema)
    kept, bad, results = quality.validate_table(validator, MENTIONS, table, DAY, TOPICS, LANGS, "r", "mentions")
    assert [b["post_id"] for b in bad] == [rows[3]["post_id"]]
    assert rule in bad[0]["rule"].split(",")
    assert kept.num_rows == 4 and rows[3]["post_id"] not in kept["post_id"].to_pylist()
    failed = {r["rule"] for r in results if not r["success"]}
    assert rule in failed


def test_duplicate_ids_are_critical(validator):
    rows = [mention(1), mention(2), mention(1)]
    table = pa.Table.from_pylist(rows, schema=MENTIONS.schema)
    _, _, results = quality.validate_table(validator, MENTIONS, table, DAY, TOPICS, LANGS, "r", "mentions")
    uniq = next(r for r in results if r["rule"] == "post_id_unique")
    assert uniq["level"] == "critical" and not uniq["success"] and uniq["failed_rows"] == 2


def test_metrics_need_one_row_per_topic(validator):
    rows = [{"day": DAY, "topic": t, "posts": 1, "unique_authors": 1, "positive": 1, "neutral": 0, "negative": 0,
             "unscored": 0, "net_sentiment": 1.0, "mean_sentiment": 0.5, "reach": 1, "engagement": 0, "replies": 0,
             "reposts": 0, "lang_fr": 1, "lang_nl": 0, "lang_en": 0, "lang_de": 0, "lang_other": 0,
             "top_hashtags": []} for t in TOPICS[:3]]
    table = pa.Table.from_pylist(rows, schema=METRICS_DAILY.schema)
    _, _, results = quality.validate_table(validator, METRICS_DAILY, table, DAY, TOPICS, LANGS, "r", "metrics_daily")
    r = next(r for r in results if r["rule"] == "one_row_per_topic")
    assert not r["success"] and r["level"] == "critical"


def test_critical_failure_stops_publish_and_keeps_last_good_partition(tmp_path, monkeypatch):
    lake_root = tmp_path / "lake"
    run = pipeline.make_run(DAY, "run-2", lake_dir=str(lake_root), import_dir=str(tmp_path))
    good = pa.Table.from_pylist([mention(1)], schema=MENTIONS.schema)
    lake.write_partition(lake_root, MENTIONS, good, dt=DAY)
    before = (lake_root / "mentions" / "dt=2026-11-02" / "part-0.parquet").read_bytes()
    dup = pa.Table.from_pylist([mention(7), mention(8), mention(7)], schema=MENTIONS.schema)
    lake.write_file(lake.stage_path(lake_root, DAY, MENTIONS, dt=DAY), MENTIONS, dup)
    with pytest.raises(quality.QualityError, match=r"mentions: rule post_id_unique failed on 2 of 3 rows"):
        pipeline.validate(run)
    assert (lake_root / "mentions" / "dt=2026-11-02" / "part-0.parquet").read_bytes() == before
    results = lake.read_partition(lake_root, QUALITY, dt=DAY)
    assert not dict(zip(results["rule"].to_pylist(), results["success"].to_pylist()))["post_id_unique"]


def test_row_failures_land_in_quarantine_with_rule_and_run_id(tmp_path):
    lake_root = tmp_path / "lake"
    run = pipeline.make_run(DAY, "run-7", lake_dir=str(lake_root), import_dir=str(tmp_path))
    rows = [mention(1), mention(2, sentiment_score=-3.0)]
    lake.write_file(lake.stage_path(lake_root, DAY, MENTIONS, dt=DAY), MENTIONS,
                    pa.Table.from_pylist(rows, schema=MENTIONS.schema))
    summary = pipeline.validate(run)
    assert summary["quarantined"] == {"mentions": 1}
    pipeline.publish(run)
    q = lake.read_partition(lake_root, QUARANTINE, layer="mentions", dt=DAY).to_pylist()
    assert [(r["post_id"], r["rule"], r["run_id"]) for r in q] == [("mastodon:2", "sentiment_score_range", "run-7")]
    assert lake.read_partition(lake_root, MENTIONS, dt=DAY)["post_id"].to_pylist() == ["mastodon:1"]
    assert Path(summary["data_docs"]).exists()
