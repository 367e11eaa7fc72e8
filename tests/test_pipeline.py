"""The nightly run of a day, without a scheduler: outputs against the simulator's truth, re-runs."""
from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import read_truth
from listening import lake, pipeline
from listening.schema import MENTIONS, METRICS_DAILY, QUARANTINE


def _run(corpus: Path, lake_root: Path, day: date, monkeypatch, run_id="r1") -> dict:
    monkeypatch.setenv("VIGIE_PSEUDONYM_KEY", "test-key")
    return pipeline.run_day(day, run_id=run_id, import_dir=str(corpus / "import"), lake_dir=str(lake_root))


@pytest.fixture(scope="module")
def day_run(small_day_run):
    return small_day_run


def test_raw_keeps_every_valid_post_of_the_day(day_run, small_corpus):
    day, root, manifest, truth, _ = day_run
    raw = lake.read_dataset(root, "raw").to_pylist()
    ids = [r["post_id"] for r in raw]
    assert len(ids) == len(set(ids))
    assert set(ids) <= set(truth)
    expected = 0
    with gzip.open(small_corpus / "import" / f"posts-{day.isoformat()}.jsonl.gz", "rt") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and f"{rec.get('platform')}:{rec.get('id')}" in truth:
                expected += 1
    assert len(ids) == expected
    for r in raw:
        assert r["created_at"].date() == day
        assert json.loads(r["payload"])["id"] == r["native_id"]


def test_mentions_match_the_truth_post_by_post(day_run):
    day, root, manifest, truth, _ = day_run
    raw_ids = set(lake.read_dataset(root, "raw")["post_id"].to_pylist())
    mentions = {r["post_id"]: r for r in lake.read_partition(root, MENTIONS, dt=day).to_pylist()}
    expected = {pid for pid in raw_ids if truth[pid]["topics"]}
    assert set(mentions) == expected
    wrong = [(pid, m["topics"], truth[pid]["topics"]) for pid, m in mentions.items() if m["topics"] != truth[pid]["topics"]]
    assert wrong == []
    for m in mentions.values():
        assert m["matches"] and {x["topic"] for x in m["matches"]} == set(m["topics"])


def test_language_and_sentiment_agree_with_the_truth(day_run):
    day, root, manifest, truth, _ = day_run
    mentions = lake.read_partition(root, MENTIONS, dt=day).to_pylist()
    lang_ok = sum(m["lang"] == truth[m["post_id"]]["lang"] for m in mentions) / len(mentions)
    assert lang_ok >= 0.95, lang_ok
    detected = [m for m in mentions if m["lang_source"] == "detected"]
    assert detected, "some posts have no platform language"
    scored = [m for m in mentions if m["sentiment_label"] is not None]
    assert len(scored) >= 0.95 * len(mentions)
    agree = sum(m["sentiment_label"] == truth[m["post_id"]]["sentiment"] for m in scored) / len(scored)
    assert agree >= 0.6, agree
    assert {m["sentiment_engine"].split("-")[0] for m in scored} <= {"vader", "vigie"}
    assert all(0 <= m["sentiment_confidence"] <= 1 for m in scored)


def test_daily_metrics_count_the_mentions(day_run):
    day, root, manifest, truth, _ = day_run
    mentions = lake.read_partition(root, MENTIONS, dt=day).to_pylist()
    metrics = {r["topic"]: r for r in lake.read_partition(root, METRICS_DAILY, dt=day).to_pylist()}
    assert set(metrics) == {"agora", "budget-2027", "climate-bill", "parlement"}
    for topic, row in metrics.items():
        posts = [m for m in mentions if topic in m["topics"]]
        assert row["posts"] == len(posts)
        assert row["unique_authors"] == len({m["author_key"] for m in posts})
        assert row["negative"] == sum(m["sentiment_label"] == "negative" for m in posts)


def test_bad_lines_of_the_day_are_quarantined_with_file_and_line(day_run):
    day, root, manifest, truth, _ = day_run
    q = lake.read_partition(root, QUARANTINE, layer="raw", dt=day)
    got = {(r["source_file"], r["source_line"]) for r in q.to_pylist()}
    planted = {(b["file"], b["line"]) for b in manifest["bad_lines"]}
    todays = {(f, l) for f, l in planted if day.isoformat() in f}
    assert todays <= got
    assert got <= planted, "only the planted bad lines are refused"
    for r in q.to_pylist():
        assert r["reason"].startswith(f"{r['source_file']}:{r['source_line']}: ")


def test_authors_are_pseudonymised(day_run):
    day, root, manifest, truth, _ = day_run
    raw_authors = set(lake.read_dataset(root, "raw")["author_id"].to_pylist())
    table = lake.read_partition(root, MENTIONS, dt=day)
    assert "author_id" not in table.column_names and "author_handle" not in table.column_names
    assert not raw_authors & set(table["author_key"].to_pylist())


def test_rerun_gives_identical_datasets(small_corpus, tmp_path, monkeypatch):
    manifest, _ = read_truth(small_corpus)
    day = date.fromisoformat(manifest["start"])
    root = tmp_path / "lake"
    _run(small_corpus, root, day, monkeypatch, run_id="first")
    first = {p.relative_to(root): p.read_bytes() for p in root.rglob("part-0.parquet") if "quality" not in p.parts}
    quarantine = {rel: pq.read_table(root / rel).drop(["run_id"]) for rel in first if rel.parts[0] == "quarantine"}
    assert quarantine, "the corpus has bad lines on its first day"
    _run(small_corpus, root, day, monkeypatch, run_id="second")
    second = {p.relative_to(root): p.read_bytes() for p in root.rglob("part-0.parquet") if "quality" not in p.parts}
    assert first.keys() == second.keys()
    for rel in first:
        if rel.parts[0] == "quarantine":  # identical rows; only the run id differs
            again = pq.read_table(root / rel)
            assert set(again["run_id"].to_pylist()) == {"second"}
            assert again.drop(["run_id"]).equals(quarantine[rel])
            continue
        assert first[rel] == second[rel], f"{rel} changed on re-run"
    assert not (root / "_staging").exists()


def test_clean_corpus_passes_every_rule(day_run):
    """The suites pass the simulator's corpus: no rule fires on good data."""
    from listening.schema import QUALITY

    day, root, manifest, truth, out = day_run
    results = lake.read_partition(root, QUALITY, dt=day).to_pylist()
    layers = {r["layer"] for r in results}
    assert {"raw", "mentions", "metrics_daily", "metrics_hourly"} <= layers
    failed = [(r["layer"], r["rule"], r["details"]) for r in results if not r["success"]]
    assert failed == []
    assert out["validate"]["quarantined"] == {}


def test_quality_command_checks_a_published_day(day_run, tmp_path):
    import subprocess
    import sys

    from conftest import REPO, env_for

    day, root, manifest, truth, out = day_run
    env = env_for(root, tmp_path)
    res = subprocess.run([sys.executable, "-m", "listening", "quality", "mentions", "--day", day.isoformat()],
                         capture_output=True, text=True, env=env, cwd=REPO)
    assert res.returncode == 0, res.stderr
    assert "post_id_unique" in res.stdout and "FAIL" not in res.stdout and "Data Docs:" in res.stdout
    res = subprocess.run([sys.executable, "-m", "listening", "quality", "mentions", "--day", "1999-01-01"],
                         capture_output=True, text=True, env=env, cwd=REPO)
    assert res.returncode == 2 and "no partition for 1999-01-01" in res.stderr


def test_checking_a_large_published_day_reads_it_in_slices(day_run):
    """The analysts' check of a published partition larger than a shard runs as the nightly
    validation does: a GX run per slice, the table-level rules once, the same verdicts."""
    from listening import quality
    from listening.config import load_config

    day, root, *_ = day_run
    cfg = load_config()
    args = (root, "mentions", day, [t.name for t in cfg.watchlists.topics], list(cfg.settings.languages))
    whole = quality.check_published(*args)
    rows = lake.parquet_metadata(lake.partition_dir(root, MENTIONS, dt=day) / lake.PART).num_rows
    sliced = quality.check_published(*args, limit=rows // 3 + 1)
    layers = {r["layer"] for r in sliced}
    assert len([x for x in layers if x.startswith("mentions/rows ")]) == 3 and "mentions" in layers
    assert all(r["success"] for r in whole) and all(r["success"] for r in sliced)
    assert {r["rule"] for r in sliced} == {r["rule"] for r in whole}


def test_query_matches_say_which_query(day_run):
    day, root, manifest, truth, _ = day_run
    matches = [m for row in lake.read_partition(root, MENTIONS, dt=day).to_pylist() for m in row["matches"]]
    by_query = [m for m in matches if m["kind"] == "query"]
    assert by_query, "the shipped watchlists have queries that match the corpus"
    assert all(m["query"] and m["term"] for m in by_query)
    assert all(m["query"] is None for m in matches if m["kind"] != "query")


def _runs_one_shard_and_many(small_corpus, tmp_path, monkeypatch, one: str, many: str):
    """The small corpus's first day as two runs: default settings (one shard) and
    `enrich_shard_posts: 150` (several), each in its own lake named after its run id."""
    import shutil

    from conftest import CONFIG

    manifest, _ = read_truth(small_corpus)
    day = date.fromisoformat(manifest["start"])
    monkeypatch.setenv("VIGIE_PSEUDONYM_KEY", "test-key")
    cfg = tmp_path / "config"
    shutil.copytree(CONFIG, cfg)
    settings = cfg / "settings.yml"
    settings.write_text(settings.read_text().replace("enrich_shard_posts: 250000", "enrich_shard_posts: 150"))
    kw = dict(import_dir=str(small_corpus / "import"))
    return (day, pipeline.make_run(day, one, lake_dir=str(tmp_path / one), **kw),
            pipeline.make_run(day, many, config_dir=str(cfg), lake_dir=str(tmp_path / many), **kw))


def test_a_day_enriched_in_shards_gives_the_same_mentions(small_corpus, tmp_path, monkeypatch):
    """A big day is enriched by several mapped tasks (one per `enrich_shard_posts` posts, by hash
    of post id), then merged: the mentions are byte for byte those of one task, and each shard
    only holds its part of the day."""
    day, one, many = _runs_one_shard_and_many(small_corpus, tmp_path, monkeypatch, "one", "many")
    outs = []
    for run in (one, many):
        pipeline.ingest(run)
        outs.append(pipeline.build_mentions(run))
    assert outs[0]["shards"] == 1 and outs[1]["shards"] == -(-outs[1]["posts"] // 150) >= 3
    assert not (lake.staging_dir(many.lake, day) / pipeline.SHARDS).exists()  # removed once merged
    path = lambda run: lake.stage_path(run.lake, day, MENTIONS, dt=day)  # noqa: E731
    assert path(one).read_bytes() == path(many).read_bytes()
    # the merge saw no text: near duplicates (different texts, one cluster) came from the shards'
    # signatures, across shards
    from listening import dedupe

    got = pq.read_table(path(many), columns=["post_id", "text", "cluster_id"]).to_pandas()
    got["norm"] = dedupe.normalise(got["text"].tolist())
    of = len(pipeline.plan_shards(many))
    ids = pa.array(got["post_id"])
    got["shard"] = sum(k * pipeline._shard_mask(ids, k, of).to_numpy(zero_copy_only=False).astype(int)
                       for k in range(of))
    g = got[got["cluster_id"].duplicated(keep=False)].groupby("cluster_id")
    assert ((g["norm"].nunique() > 1) & (g["shard"].nunique() > 1)).sum() >= 3
    # a shard holds its part only: together they cover the day once
    plan = pipeline.plan_shards(many)
    parts = [pipeline.enrich_shard(many, d["shard"], d["of"])["posts"] for d in plan]
    assert sum(parts) == outs[1]["posts"] and max(parts) < outs[1]["posts"]
    shards = sorted((lake.staging_dir(many.lake, day) / pipeline.SHARDS).glob("mentions-*.parquet"))
    assert [p.name.replace("mentions-", "signatures-") for p in shards] == sorted(
        p.name for p in shards[0].parent.glob("signatures-*.parquet"))
    # a shard from an older version (no text keys) or without its signatures stops the merge, naming it
    shard = shards[0]
    kept = pq.read_table(shard)
    pq.write_table(kept.drop_columns(["_text_key"]), shard)
    with pytest.raises(RuntimeError, match=f"{shard.name}: no _text_key \\(written by an older version"):
        pipeline.merge_mentions(many)
    pq.write_table(kept, shard)
    signed = shard.parent / shard.name.replace("mentions-", "signatures-")
    sigs = pq.read_table(signed)
    signed.unlink()
    with pytest.raises(RuntimeError, match=f"shards missing: {signed.name}"):
        pipeline.merge_mentions(many)
    others = set(pa.concat_tables([pq.read_table(p) for p in signed.parent.glob("signatures-*.parquet")])
                 ["key"].to_pylist())
    alone = next(i for i, k in enumerate(sigs["key"].to_pylist()) if k not in others)
    # one text's signature short (a file from another run)
    pq.write_table(pa.concat_tables([sigs.slice(0, alone), sigs.slice(alone + 1)]), signed)
    with pytest.raises(RuntimeError, match="no signature for 1 of the day's texts"):
        pipeline.merge_mentions(many)
    pq.write_table(sigs, signed)
    # a shard not in the day's order (written by an older version) stops the merge, naming it:
    # its rows would be streamed in their own order, away from their day columns
    kept = pq.read_table(shard)
    pq.write_table(kept.take(pa.array(range(kept.num_rows - 1, -1, -1))), shard)
    with pytest.raises(RuntimeError, match=f"{shard.name}: not in \\(created_at, post_id\\) order"):
        pipeline.merge_mentions(many)
    pq.write_table(kept, shard)
    # a shard whose task did not finish stops the merge, naming it (no day published with a hole)
    missing = shards[1]
    missing.unlink()
    with pytest.raises(RuntimeError, match=f"shards missing: {missing.name}"):
        pipeline.merge_mentions(many)


def test_shards_merge_a_few_rows_at_a_time_in_the_day_order(small_corpus, tmp_path, monkeypatch):
    """Ingest spills a day larger than a shard to sorted runs and merges them; the merge of the
    shards reads the day columns' inputs whole and streams the rest into the day's file: with
    parts and batches of a few rows (rows of every run or shard in each part, a part ending inside
    a batch), the raw files and the mentions are those of one task, in the same order."""
    from listening import privacy
    from listening.schema import RAW

    day, one, many = _runs_one_shard_and_many(small_corpus, tmp_path, monkeypatch, "one", "many")
    # an author erased on request, one whose posts are reposted that day: theirs stay out of both
    pipeline.ingest(one)
    raw_rows = pa.concat_tables([pq.read_table(p) for p in
                                 (lake.staging_dir(one.lake, day) / "raw").rglob(lake.PART)]).to_pylist()
    by_id = {r["post_id"]: r for r in raw_rows}
    gone = next(by_id[r["repost_of"]] for r in raw_rows if r["repost_of"] in by_id)
    for run in (one, many):
        path = privacy._suppression_path(run.lake)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([privacy.author_key(privacy.load_key(run.lake), gone["platform"],
                                                       gone["author_id"])]))
    erased = pipeline.ingest(one)["erased"]
    pipeline.build_mentions(one)
    monkeypatch.setattr(pipeline, "SHARD_ROW_GROUP", 7)
    monkeypatch.setitem(lake.PARQUET, "row_group_size", 100)
    monkeypatch.setattr(pipeline._ArrowSink, "FLUSH", 40)
    merged_runs = []
    merge_runs = pipeline._merge_runs
    monkeypatch.setattr(pipeline, "_merge_runs", lambda run, paths, target: merged_runs.append(len(paths))
                        or merge_runs(run, paths, target))
    assert pipeline.ingest(many)["erased"] == erased > sum(r["author_id"] == gone["author_id"] for r in raw_rows)
    assert len(merged_runs) >= 3 and min(merged_runs) >= 2  # every platform's rows in several runs
    assert pipeline.build_mentions(many)["shards"] >= 3
    # ingest went through sorted runs on disk (more than 150 posts): the same raw files
    raw = lambda run: {p.relative_to(run.lake): pq.read_table(p)  # noqa: E731
                       for p in (lake.staging_dir(run.lake, day) / RAW.path).rglob(lake.PART)}
    assert raw(many).keys() == raw(one).keys() and len(raw(one)) >= 3
    assert all(raw(many)[k].equals(t) for k, t in raw(one).items())
    assert not (lake.staging_dir(many.lake, day) / pipeline.RUNS).exists()
    path = lambda run: lake.stage_path(run.lake, day, MENTIONS, dt=day)  # noqa: E731
    merged = pq.ParquetFile(path(many))
    assert merged.metadata.num_row_groups == -(-merged.metadata.num_rows // 100) > 3
    assert merged.read().equals(pq.read_table(path(one)))


def test_a_large_day_is_validated_one_partition_at_a_time(small_corpus, tmp_path, monkeypatch):
    """On a day larger than a shard, raw is validated platform by platform (one GX run each, so
    the task holds one partition, not the day), with the same rules and the same row counts as one
    batch; a bad row is still quarantined under layer=raw."""
    import pyarrow as pa

    from listening import quality
    from listening.schema import QUALITY, RAW

    day, whole, split = _runs_one_shard_and_many(small_corpus, tmp_path, monkeypatch, "whole", "split")
    for run in (whole, split):
        pipeline.ingest(run)
    # one post of one platform made bad (a date outside the day) in the split run's raw
    files = sorted((lake.staging_dir(split.lake, day) / RAW.path).rglob(lake.PART))
    assert len(files) >= 3
    t = lake.read_file(files[0], RAW)
    bad_id = t["post_id"][0].as_py()
    created = t["created_at"].to_pylist()
    created[0] = created[0].replace(year=2001)
    lake.write_file(files[0], RAW, t.set_column(t.schema.get_field_index("created_at"), "created_at",
                                                pa.array(created, RAW.schema.field("created_at").type)))
    results = {}
    for run in (whole, split):
        quality.validate_staged(run)
        q = lake.read_partition(run.lake, QUALITY, dt=day).to_pylist()
        results[run.run_id] = [r for r in q if r["layer"].startswith("raw") and r["rule"] != "volume_vs_recent_days"]
    layers = {r["layer"] for r in results["split"]}
    # one GX run per platform, or per slice of a platform's file that is larger than a shard
    assert {x.split("/rows ")[0] for x in layers} == {f"raw/{f.parent.parent.name}" for f in files}
    assert {r["layer"] for r in results["whole"]} == {"raw"}
    by_rule = lambda rows: {r["rule"] for r in rows}  # noqa: E731
    assert by_rule(results["split"]) == by_rule(results["whole"])
    for rule in by_rule(results["whole"]):
        [one] = [r["rows"] for r in results["whole"] if r["rule"] == rule]
        assert sum(r["rows"] for r in results["split"] if r["rule"] == rule) == one
    [failed] = [r for r in results["split"] if not r["success"]]
    assert failed["rule"] == "created_at_in_interval" and failed["failed_rows"] == 1
    assert failed["layer"] == f"raw/{files[0].parent.parent.name}"
    quarantined = lake.read_file(lake.stage_path(split.lake, day, QUARANTINE, layer="raw", dt=day), QUARANTINE)
    assert bad_id in quarantined["post_id"].to_pylist()
    assert bad_id not in lake.read_file(files[0], RAW)["post_id"].to_pylist()


def test_influence_from_the_days_facts_equals_scoring_the_window_posts(two_day_lake, tmp_path, monkeypatch):
    """The night scores authors from each day's influence_daily facts (the day's posts are read once,
    the night they land): the same table, bit for bit, as scoring the window's mentions at once. A
    day published before influence_daily existed is reduced from its mentions, with the same result."""
    from conftest import TWO_DAY_KEY, copy_lake
    from listening import influence
    from listening.schema import AUTHORS, INFLUENCE_DAILY

    root, days, _ = two_day_lake
    published = lake.read_partition(root, AUTHORS, dt=days[1])
    window = pa.concat_tables([lake.read_partition(root, MENTIONS, dt=d).select(pipeline.INFLUENCE_COLUMNS)
                               for d in days])
    lang = pipeline.load_config().settings.digest_language
    expected = influence.score(window, days[1], windows=(7, 28), lang=lang)
    assert published.num_rows > 100 and published.equals(expected)
    # the second day's replies to the first day's posts point at their authors
    facts = lake.read_partition(root, INFLUENCE_DAILY, dt=days[1])
    mentions = lake.read_partition(root, MENTIONS, dt=days[1])
    first_ids = set(lake.read_partition(root, MENTIONS, dt=days[0])["post_id"].to_pylist())
    assert any(r in first_ids for r in mentions["reply_to"].to_pylist() + mentions["repost_of"].to_pylist())
    edges = facts.filter(pc.equal(facts["fact"], "edge"))
    assert set(edges["kind"].to_pylist()) >= {"reply", "repost", "mention"}

    older = copy_lake(root, tmp_path / "lake")
    lake.remove_tree(lake.partition_dir(older, INFLUENCE_DAILY, dt=days[0]))
    monkeypatch.setenv("VIGIE_PSEUDONYM_KEY", TWO_DAY_KEY)
    run = pipeline.make_run(days[1], run_id="again", lake_dir=str(older))
    lake.write_file(lake.stage_path(older, days[1], MENTIONS, dt=days[1]), MENTIONS, mentions)
    pipeline.score_influence(run)
    again = lake.read_file(lake.stage_path(older, days[1], AUTHORS, dt=days[1]), AUTHORS)
    assert again.equals(published)


def test_mentions_quarantined_by_validation_leave_the_days_influence_facts(two_day_lake, small_corpus, tmp_path,
                                                                          monkeypatch):
    """Later nights read a day's influence facts, not its mentions: a mention that validation
    quarantines must not stay in them (the facts are redone from the validated mentions)."""
    from conftest import TWO_DAY_KEY, copy_lake
    from listening import quality
    from listening.schema import INFLUENCE_DAILY

    root, days, _ = two_day_lake
    root = copy_lake(root, tmp_path / "lake")
    monkeypatch.setenv("VIGIE_PSEUDONYM_KEY", TWO_DAY_KEY)
    run = pipeline.make_run(days[1], run_id="again", import_dir=str(small_corpus / "import"), lake_dir=str(root))
    pipeline.ingest(run)
    pipeline.build_mentions(run)
    staged = lake.stage_path(root, days[1], MENTIONS, dt=days[1])
    m = lake.read_file(staged, MENTIONS)
    i = next(k for k, r in enumerate(m.select(["reply_to", "mentioned_keys"]).to_pylist())
             if r["reply_to"] or r["mentioned_keys"])
    lang = m["lang"].to_pylist()
    lang[i] = "xx"                                   # not a configured language: a row rule refuses it
    lake.write_file(staged, MENTIONS, m.set_column(m.column_names.index("lang"), "lang",
                                                   pa.array(lang, m.schema.field("lang").type)))
    before = pipeline.score_influence(run)["today_facts"]
    out = quality.validate_staged(run)
    assert out["quarantined"]["mentions"] == 1
    kept = lake.read_file(staged, MENTIONS)
    assert kept.num_rows == m.num_rows - 1
    facts = lake.read_file(lake.stage_path(root, days[1], INFLUENCE_DAILY, dt=days[1]), INFLUENCE_DAILY)
    expected = pipeline.influence_facts(run, days[1], kept.select(pipeline.INFLUENCE_COLUMNS)).drop_columns(["dt"])
    assert facts.equals(lake.sort_table(INFLUENCE_DAILY, lake.conform(INFLUENCE_DAILY, expected)))
    authors = facts.filter(pc.equal(facts["fact"], "author"))
    assert pc.sum(authors["posts"]).as_py() == kept.num_rows and facts.num_rows <= before
