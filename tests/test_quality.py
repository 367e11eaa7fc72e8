"""Each rule catches a case built to break it; clean data passes; critical rules stop the publish."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import enriched
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
        "sentiment_score": 0.2, "sentiment_label": "positive", "sentiment_confidence": 0.8,
        "sentiment_engine": "x", "is_reply": False,
        "is_repost": False, "reply_to": None, "repost_of": None, "quote_of": None, "like_count": 0,
        "repost_count": 0, "reply_count": 0, "quote_count": 0, "engagement": 0,
    }
    row.update(kw)
    return enriched(row)


BROKEN = {
    "created_at_in_interval": {"created_at": datetime(2026, 11, 3, 0, 0, tzinfo=timezone.utc)},
    "platform_name": {"platform": "Mastodon!"},
    "sentiment_score_range": {"sentiment_score": 1.5},
    "sentiment_label_set": {"sentiment_label": "happy"},
    "sentiment_confidence_range": {"sentiment_confidence": 1.5},
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


def author(i: int, **kw) -> dict:
    row = {"author_key": f"a{i}", "platform": "x", "topic": "climate-bill", "window_days": 7, "posts": 3,
           "reach": 0.5, "engagement": 0.2, "centrality": 0.1, "relevance": 0.9, "authenticity": 1.0,
           "influence": 0.4, "rank": i + 1, "explanation": "amplified by 3 accounts",
           "role": None, "days_active": 2, "amplifiers": 3}
    row.update(kw)
    return row


AUTHOR_BROKEN = {
    "reach_unit_range": {"reach": 1.2}, "influence_unit_range": {"influence": -0.1},
    "authenticity_unit_range": {"authenticity": 3.0}, "window_days_set": {"window_days": 14},
    "rank_positive": {"rank": 0}, "topic_in_watchlist": {"topic": "nope"}, "posts_not_negative": {"posts": -1},
}


@pytest.mark.parametrize("rule", sorted(AUTHOR_BROKEN))
def test_authors_rules(validator, rule):
    from listening.schema import AUTHORS

    rows = [author(i) for i in range(4)]
    rows[2] = author(2, **AUTHOR_BROKEN[rule])
    table = pa.Table.from_pylist(rows, schema=AUTHORS.schema)
    kept, bad, _ = quality.validate_table(validator, AUTHORS, table, DAY, TOPICS, LANGS, "r", "authors")
    assert len(bad) == 1 and rule in bad[0]["rule"].split(",") and kept.num_rows == 3


def alert(i: int, **kw) -> dict:
    row = {"alert_id": f"al{i}", "topic": "climate-bill", "detector": "volume_spike", "severity": "red",
           "window_start": datetime(2026, 11, 2, 9, tzinfo=timezone.utc),
           "window_end": datetime(2026, 11, 2, 10, tzinfo=timezone.utc), "title": "t", "evidence": "e",
           "evidence_post_ids": ["mastodon:1"], "team": "greffe", "status": "sent", "score": 5.0,
           "subject": None, "observed": 30.0, "expected": 5.0, "status_reason": "sent by smtp",
           "recipients": ["greffe@parlement.example"], "attempts": 1, "sent_at": None, "message_id": None,
           "run_id": "r"}
    row.update(kw)
    return row


ALERT_BROKEN = {
    "evidence_in_mentions": {"evidence_post_ids": ["mastodon:1", "x:404"]},
    "severity_set": {"severity": "purple"}, "status_set": {"status": "maybe"},
    "window_not_reversed": {"window_start": datetime(2026, 11, 2, 11, tzinfo=timezone.utc)},
    "window_end_in_interval": {"window_end": datetime(2026, 11, 4, tzinfo=timezone.utc)},
    "topic_in_watchlist": {"topic": "nope"},
}


@pytest.mark.parametrize("rule", sorted(ALERT_BROKEN))
def test_alerts_rules(validator, rule):
    from listening.schema import ALERTS

    rows = [alert(0), alert(1, **ALERT_BROKEN[rule])]
    table = pa.Table.from_pylist(rows, schema=ALERTS.schema)
    kept, bad, _ = quality.validate_table(validator, ALERTS, table, DAY, TOPICS, LANGS, "r", "alerts",
                                          mention_ids=lambda: {"mastodon:1"})
    assert [b["rule"].split(",") for b in bad] == [[rule]] and kept["alert_id"].to_pylist() == ["al0"]


def _raw_rows(n: int, platform: str, day: date) -> pa.Table:
    rows = [{"post_id": f"{platform}:{day}-{i}", "platform": platform, "native_id": f"{day}-{i}", "url": None,
             "created_at": datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc), "author_id": "a",
             "author_handle": None, "author_followers": None, "text": "t", "lang": None, "reply_to": None,
             "repost_of": None, "quote_of": None, "like_count": 0, "repost_count": 0, "reply_count": 0,
             "quote_count": 0, "source_file": "f", "source_line": i + 1, "payload": "{}"} for i in range(n)]
    return pa.Table.from_pylist(rows, schema=RAW.schema)


def test_volume_drop_of_a_source_is_flagged_not_fatal(tmp_path):
    from datetime import timedelta

    root = tmp_path / "lake"
    for i in range(1, 8):
        d = DAY - timedelta(days=i)
        lake.write_partition(root, RAW, _raw_rows(100, "mastodon", d), source="mastodon", dt=d)
        lake.write_partition(root, RAW, _raw_rows(4, "reddit", d), source="reddit", dt=d)  # too sparse to judge
    today = pa.concat_tables([_raw_rows(5, "mastodon", DAY), _raw_rows(0, "reddit", DAY)])
    df = quality.volume_frame(root, DAY, today)
    assert df.set_index("platform")["ratio"].to_dict()["mastodon"] == pytest.approx(0.05)
    assert pd_isna(df.set_index("platform")["ratio"]["reddit"])
    run = pipeline.make_run(DAY, "vol", lake_dir=str(root), import_dir=str(tmp_path))
    lake.write_file(lake.stage_path(root, DAY, RAW, source="mastodon", dt=DAY), RAW, _raw_rows(5, "mastodon", DAY))
    summary = pipeline.validate(run)
    assert len(summary["warnings"]) == 1 and "volume_vs_recent_days" in summary["warnings"][0]
    pipeline.publish(run)
    assert lake.read_partition(root, RAW, source="mastodon", dt=DAY).num_rows == 5


def test_normal_volume_passes(tmp_path):
    from datetime import timedelta

    root = tmp_path / "lake"
    for i in range(1, 8):
        d = DAY - timedelta(days=i)
        lake.write_partition(root, RAW, _raw_rows(100, "mastodon", d), source="mastodon", dt=d)
    df = quality.volume_frame(root, DAY, _raw_rows(80, "mastodon", DAY))
    assert df["ratio"].tolist() == [pytest.approx(0.8)]


def pd_isna(v) -> bool:
    import pandas as pd

    return bool(pd.isna(v))


def test_validation_report_page(tmp_path):
    lake_root = tmp_path / "lake"
    run = pipeline.make_run(DAY, "run-9", lake_dir=str(lake_root), import_dir=str(tmp_path))
    rows = [mention(1), mention(2, sentiment_score=-3.0, text="<script>alert(1)</script>")]
    lake.write_file(lake.stage_path(lake_root, DAY, MENTIONS, dt=DAY), MENTIONS,
                    pa.Table.from_pylist(rows, schema=MENTIONS.schema))
    summary = pipeline.validate(run)
    page = Path(summary["report"]).read_text()
    assert "Validation of 2026-11-02" in page and "Published, 1 rows quarantined" in page
    assert "sentiment_score_range" in page and "FAILED" in page
    assert "<script>" not in page
    assert "data_docs/local_site/index.html" in page


def test_hourly_metrics_duplicates_are_caught(validator):
    from listening.schema import METRICS_HOURLY

    row = {"hour": datetime(2026, 11, 2, 10, tzinfo=timezone.utc), "topic": "agora", "posts": 1, "unique_authors": 1,
           "positive": 1, "neutral": 0, "negative": 0, "unscored": 0, "net_sentiment": 1.0, "mean_sentiment": 0.5,
           "reach": 1, "engagement": 0, "replies": 0, "reposts": 0, "lang_fr": 1, "lang_nl": 0, "lang_en": 0,
           "lang_de": 0, "lang_other": 0, "top_hashtags": []}
    table = pa.Table.from_pylist([row, {**row, "topic": "parlement"}, row], schema=METRICS_HOURLY.schema)
    _, _, results = quality.validate_table(validator, METRICS_HOURLY, table, DAY, TOPICS, LANGS, "r", "metrics_hourly")
    r = next(r for r in results if r["rule"] == "topic_hour_unique")
    assert not r["success"] and r["level"] == "critical"


def test_retention_expires_old_validation_results_and_their_pages(tmp_path):
    """GX keeps every run's results (failing values included) and pages forever: retention expires
    them with raw data, by the time the run validated; the Data Docs index stops listing them."""
    from listening import privacy

    root = tmp_path / "lake"
    v = quality.Validator(root)
    bad = pa.Table.from_pylist([mention(1), mention(2, post_id="no-prefix")], schema=MENTIONS.schema)
    for run_id in ("old-run", "new-run"):
        quality.validate_table(v, MENTIONS, bad, DAY, TOPICS, LANGS, run_id, "mentions")
        v.build_docs(run_id)
    gx = root / "quality" / "gx" / "gx" / "uncommitted"
    stores = (gx / "validations", gx / "data_docs" / "local_site" / "validations")
    for store in stores:  # the old run validated on 1 June 2026
        (old,) = store.glob("*/old-run/*")
        old.rename(old.parent / "20260601T020000.000000Z")
    assert "no-prefix" in "".join(p.read_text() for p in gx.rglob("*.json"))

    deleted = privacy.apply_retention(root, date(2026, 11, 26), retention_days=395, raw_retention_days=90)

    assert deleted["validation_results"] == 1
    for store in stores:
        assert not list(store.glob("*/old-run/*")) and len(list(store.glob("*/new-run/*"))) == 1
    quality.validate_table(v, MENTIONS, bad, DAY, TOPICS, LANGS, "next-run", "mentions")
    index = v.build_docs("next-run").read_text()
    assert "new-run" in index and "next-run" in index and "old-run" not in index
    # within the period nothing goes
    assert "validation_results" not in privacy.apply_retention(root, date(2026, 11, 26), 395, 90)


# A partition file larger than `enrich_shard_posts` rows (mentions: one file a day) is validated in slices.

SLICE_BROKEN = {2: "sentiment_score_range", 3: "lang_set", 9: "post_id_platform_prefix", 10: "sentiment_score_range",
                17: "like_count_not_negative", 22: "lang_confidence_range"}


def _shard_limit(run, rows: int):
    import dataclasses

    settings = run.config.settings.model_copy(update={"enrich_shard_posts": rows})
    return dataclasses.replace(run, config=run.config.model_copy(update={"settings": settings}))


def _day_of_mentions(n: int = 23) -> pa.Table:
    rows = [mention(i) for i in range(n)]
    for i, rule in SLICE_BROKEN.items():
        rows[i] = mention(i, **BROKEN[rule])
    return lake.sort_table(MENTIONS, pa.Table.from_pylist(rows, schema=MENTIONS.schema))


def _spy_gx_runs(monkeypatch) -> list[tuple[str, int]]:
    runs = []
    real = quality.Validator.run

    def run(self, name, rules, df, run_id):
        runs.append((name, len(df)))
        return real(self, name, rules, df, run_id)
    monkeypatch.setattr(quality.Validator, "run", run)
    return runs


@pytest.mark.parametrize("row_group_size,limit,spans", [
    (128 * 1024, 5, [(0, 4), (5, 9), (10, 14), (15, 19), (20, 22)]),  # one row group, cut in pieces of 5
    (4, 10, [(0, 7), (8, 15), (16, 22)]),  # row groups of 4, two to a slice
])
def test_large_partition_is_validated_in_slices_as_one_run_would(tmp_path, monkeypatch, row_group_size, limit,
                                                                    spans):
    monkeypatch.setitem(lake.PARQUET, "row_group_size", row_group_size)
    root = tmp_path / "lake"
    run = _shard_limit(pipeline.make_run(DAY, "run-s", lake_dir=str(root), import_dir=str(tmp_path)), limit)
    table = _day_of_mentions()
    staged = lake.stage_path(root, DAY, MENTIONS, dt=DAY)
    lake.write_file(staged, MENTIONS, table)
    table = lake.read_file(staged, MENTIONS)  # the order as staged
    kept, expected, whole_results = quality.validate_table(quality.Validator(tmp_path / "ref"), MENTIONS, table, DAY,
                                                          TOPICS, LANGS, "ref", "mentions")
    assert len(expected) == len(SLICE_BROKEN)
    runs = _spy_gx_runs(monkeypatch)

    summary = pipeline.validate(run)

    assert runs == [("mentions/table", 23)] + [(f"mentions/slice-{k}", b - a + 1) for k, (a, b) in enumerate(spans, 1)]
    assert summary["quarantined"] == {"mentions": len(SLICE_BROKEN)}
    q = lake.read_file(lake.stage_path(root, DAY, QUARANTINE, layer="mentions", dt=DAY), QUARANTINE).to_pylist()
    key = ("post_id", "rule", "reason", "record")
    assert sorted(tuple(r[k] for k in key) for r in q) == sorted(tuple(b[k] for k in key) for b in expected)
    assert {r["reason"] for r in q} >= {"mentions: row broke sentiment_score_range"}
    after = lake.read_file(staged, MENTIONS)
    assert after.equals(kept)  # exactly the good rows, in the same order
    meta = lake.parquet_metadata(staged)  # each row group keeps its good rows, at most the lake's size
    bad_rows = {b["_row"] for b in expected}
    groups = [sum(i not in bad_rows for i in range(g, min(g + row_group_size, 23)))
              for g in range(0, 23, row_group_size)]
    assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [n for n in groups if n]
    results = lake.read_partition(root, QUALITY, dt=DAY).to_pylist()
    assert {r["layer"] for r in results} == {"mentions"} | {f"mentions/rows {a}-{b}" for a, b in spans}
    assert [(r["rule"], r["rows"], r["success"]) for r in results if r["layer"] == "mentions"] == \
        [("post_id_unique", 23, True)]
    for rule in {r["rule"] for r in whole_results}:  # each rule failed on as many rows as in one run
        assert sum(r["failed_rows"] for r in results if r["rule"] == rule and not r["success"]) == \
            sum(r["failed_rows"] for r in whole_results if r["rule"] == rule and not r["success"]), rule
    pipeline.publish(run)
    assert lake.read_partition(root, MENTIONS, dt=DAY).equals(kept)


def test_partition_under_the_limit_is_one_gx_run(tmp_path, monkeypatch):
    root = tmp_path / "lake"
    run = _shard_limit(pipeline.make_run(DAY, "run-u", lake_dir=str(root), import_dir=str(tmp_path)), 23)
    lake.write_file(lake.stage_path(root, DAY, MENTIONS, dt=DAY), MENTIONS, _day_of_mentions())
    runs = _spy_gx_runs(monkeypatch)
    assert pipeline.validate(run)["quarantined"] == {"mentions": len(SLICE_BROKEN)}
    assert runs == [("mentions", 23)]
    assert {r["layer"] for r in lake.read_partition(root, QUALITY, dt=DAY).to_pylist()} == {"mentions"}


def test_duplicates_in_different_slices_still_stop_the_publish(tmp_path):
    """Uniqueness means the same sliced or not: it runs once over the whole file's ids."""
    root = tmp_path / "lake"
    run = _shard_limit(pipeline.make_run(DAY, "run-d", lake_dir=str(root), import_dir=str(tmp_path)), 5)
    rows = [mention(i) for i in range(12)] + [mention(3, created_at=datetime(2026, 11, 2, 10, 59, tzinfo=timezone.utc))]
    lake.write_file(lake.stage_path(root, DAY, MENTIONS, dt=DAY), MENTIONS,
                    pa.Table.from_pylist(rows, schema=MENTIONS.schema))
    with pytest.raises(quality.QualityError, match=r"mentions: rule post_id_unique failed on 2 of 13 rows"):
        pipeline.validate(run)


def test_slices_and_their_rewrite_on_object_storage(tmp_path, monkeypatch):
    """The lake on S3 (moto's server): slices are read and the kept rows written back through fsspec."""
    pytest.importorskip("moto.server")
    from fakes.s3 import s3_server, use

    monkeypatch.setitem(lake.PARQUET, "row_group_size", 4)
    with s3_server("vigie-quality") as (uri, env):
        use(env, monkeypatch)
        monkeypatch.chdir(tmp_path)
        root = f"{uri}/lake"
        run = _shard_limit(pipeline.make_run(DAY, "run-s3", lake_dir=root, import_dir=str(tmp_path)), 10)
        staged = lake.stage_path(run.lake, DAY, MENTIONS, dt=DAY)
        lake.write_file(staged, MENTIONS, _day_of_mentions())
        kept, expected, _ = quality.validate_table(quality.Validator(tmp_path / "ref"), MENTIONS,
                                                   lake.read_file(staged, MENTIONS), DAY, TOPICS, LANGS, "ref",
                                                   "mentions")
        assert pipeline.validate(run)["quarantined"] == {"mentions": len(expected)}
        assert lake.read_file(staged, MENTIONS).equals(kept)
        q = lake.read_file(lake.stage_path(run.lake, DAY, QUARANTINE, layer="mentions", dt=DAY), QUARANTINE)
        assert sorted(q["post_id"].to_pylist()) == sorted(b["post_id"] for b in expected)
