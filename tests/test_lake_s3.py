"""The lake on object storage: the same nightly run, collectors, erasure and publish on `s3://`,
against a real S3 server speaking the S3 protocol over HTTP (moto's server mode, started here)."""
from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from listening import lake, pipeline, privacy
from listening.schema import MENTIONS, METRICS_DAILY

BUCKET = "vigie-lake"
KEY = "test-key"


@pytest.fixture(scope="module")
def s3():
    """An S3 endpoint on a free port; the AWS variables a deployment would set point at it."""
    pytest.importorskip("moto.server")
    import s3fs

    from fakes.s3 import s3_server, use

    mp = pytest.MonkeyPatch()
    with s3_server(BUCKET) as (uri, env):
        use(env, mp)
        yield uri
    s3fs.S3FileSystem.clear_instance_cache()
    mp.undo()


@pytest.fixture(autouse=True)
def _aws_env(s3, monkeypatch):
    """The autouse env fixture of conftest runs per test: keep the module's AWS variables."""
    yield


def _files(root) -> dict[str, bytes]:
    root = lake.at(root)
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob(lake.PART)
            if not str(p.relative_to(root)).startswith(("quality", "_"))}


@pytest.fixture(scope="module")
def both_lakes(s3, small_corpus, small_day_run, tmp_path_factory):
    """One day of the small corpus, run into a local lake (the shared fixture) and into the bucket."""
    day, local, _, _, local_out = small_day_run
    mp = pytest.MonkeyPatch()
    mp.setenv("VIGIE_PSEUDONYM_KEY", KEY)
    workdir = tmp_path_factory.mktemp("cwd")
    mp.chdir(workdir)  # nothing may land in a local folder named after the URI ("s3:/...")
    remote = f"{s3}/nightly"
    out = pipeline.run_day(day, run_id="r1", import_dir=str(small_corpus / "import"), lake_dir=remote)
    mp.undo()
    return day, local, lake.at(remote), {"local": local_out, "remote": out}, workdir


def test_a_nightly_run_on_object_storage_lands_what_a_local_lake_lands(both_lakes):
    day, local, remote, outs, workdir = both_lakes
    here, there = _files(local), _files(remote)
    assert here and here.keys() == there.keys()
    for rel in here:
        assert here[rel] == there[rel], f"{rel} differs between the local lake and the bucket"
    assert f"mentions/dt={day.isoformat()}/{lake.PART}" in there
    assert outs["remote"]["validate"]["failed"] == outs["local"]["validate"]["failed"]
    assert not (remote / lake.STAGING).exists(), "staging is emptied after publish"
    assert list(workdir.iterdir()) == [], "nothing written to a local folder named after the URI"


def test_the_manifest_commits_the_day_and_names_its_files(both_lakes):
    day, local, remote, outs, _ = both_lakes
    for root in (local, remote):
        m = lake.published_manifest(root, day)
        assert m["run_id"] == "r1" and m["day"] == day.isoformat()
        listed = {f["path"] for f in m["files"]}
        assert f"mentions/dt={day.isoformat()}/{lake.PART}" in listed
        for f in m["files"]:
            assert (lake.at(root) / f["path"]).stat().st_size == f["bytes"]
    assert lake.published_manifest(remote, day - timedelta(days=1)) is None


def test_reports_catalog_and_data_docs_live_in_the_bucket(both_lakes):
    from listening import catalog, quality

    day, local, remote, outs, _ = both_lakes
    sql = "SELECT count(*) AS n, sum(cardinality(topics)) AS t FROM mentions"
    assert catalog.query(remote, sql).to_dict() == catalog.query(local, sql).to_dict()
    assert catalog.query(remote, sql)["n"][0] == outs["remote"]["mentions"]["mentions"] > 0
    page = quality.report_path(remote, day)
    assert page.exists() and "Validation of" in page.read_text()
    docs = remote / "quality" / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert docs.exists(), "GX's Data Docs are sent to the bucket after the run"
    assert any(p.name.endswith(".html") for p in (remote / "reports").rglob("*.html"))


def test_the_next_run_finds_the_validation_history_in_the_bucket(both_lakes):
    """GX's file context needs a disk: each run downloads it from the bucket and sends it back."""
    from listening import quality

    day, local, remote, outs, _ = both_lakes
    validator = quality.Validator(remote)
    assert isinstance(validator.root, Path) and validator.root != validator.lake_root
    runs = {k.run_id.run_name for k in validator.context.validation_results_store.list_keys()}
    assert runs == {"r1"}, "the first run's results came back from the bucket"
    assert not (validator.root / "gx" / "uncommitted" / "data_docs" / "local_site" / "validations").exists(), \
        "the Data Docs pages are not fetched (only written)"
    validator.build_docs("r2")  # a run with no results of its own yet: the index still lists r1's
    index = validator.docs_index.read_text()
    pages = [p for p in (validator.docs_index.parent / "validations").rglob("*.html")]
    assert pages and all(str(p.relative_to(validator.docs_index.parent)) in index for p in pages)


def test_publish_on_a_store_replaces_each_partition_and_commits_the_manifest_last(s3, monkeypatch):
    root = lake.at(f"{s3}/publish")
    day = date(2026, 11, 20)

    def stage(value: str):
        for topic_day in (day, day - timedelta(days=1)):
            defaults = {pa.types.is_integer: 0, pa.types.is_list: [], pa.types.is_date: topic_day}
            row = {f.name: next((v for test, v in defaults.items() if test(f.type)), None)
                   for f in METRICS_DAILY.schema}
            table = pa.Table.from_pylist([{**row, "topic": value}], schema=METRICS_DAILY.schema)
            lake.write_file(lake.stage_path(root, day, METRICS_DAILY, dt=topic_day), METRICS_DAILY, table)

    stage("old")
    assert len(lake.publish(root, day, "r1")) == 2
    stage("new")
    real, calls = lake.replace, []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise ConnectionError("store unreachable")
        real(src, dst)

    monkeypatch.setattr(lake, "replace", flaky)
    with pytest.raises(ConnectionError):
        lake.publish(root, day, "r2")
    assert lake.published_manifest(root, day)["run_id"] == "r1", "the manifest is committed last"
    topics = {d: lake.read_partition(root, METRICS_DAILY, dt=d)["topic"].to_pylist()[0]
              for d in (day, day - timedelta(days=1))}
    assert sorted(topics.values()) == ["new", "old"], "each partition is the old object or the new one"
    assert len(lake.staged_files(root, day)) == 1, "what was not published waits in staging"
    monkeypatch.setattr(lake, "replace", real)
    lake.publish(root, day, "r2")
    assert lake.published_manifest(root, day)["run_id"] == "r2"
    assert {lake.read_partition(root, METRICS_DAILY, dt=d)["topic"][0].as_py()
            for d in (day, day - timedelta(days=1))} == {"new"}
    assert lake.staged_files(root, day) == []


def test_the_pseudonym_key_is_created_once_when_tasks_race(s3, monkeypatch):
    monkeypatch.delenv("VIGIE_PSEUDONYM_KEY", raising=False)
    monkeypatch.setattr(privacy, "_airflow_variable", lambda: None)
    root = lake.at(f"{s3}/keyrace")
    keys, barrier = [], threading.Barrier(4)

    def first_task():
        barrier.wait()
        keys.append(privacy.load_key(root))

    threads = [threading.Thread(target=first_task) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 4 and len(set(keys)) == 1
    assert (root / "_secrets" / "pseudonym.key").read_text().strip().encode() == keys[0]


def test_collectors_land_in_the_bucket_and_resume_from_their_cursor(s3, tmp_path, monkeypatch):
    from fakes.harness import config_with, run
    from fakes.mastodon import Mastodon, corpus
    from fakes.server import FakeServer
    from listening import collect
    from listening.sources.base import Creds

    now = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
    token = "mastodon-secret-token-0123456789"
    root = lake.at(f"{s3}/collect")
    app = Mastodon(corpus(25, now - timedelta(minutes=1)), token=token)
    with FakeServer(app) as server:
        app.url = server.url
        cfg = config_with(tmp_path, {"mastodon": {"base_url": server.url, "page_size": 10,
                                                  "topics": ["parlement"]}})
        first = run("mastodon", "parlement", cfg, root, now, Creds(password=token))
        again = run("mastodon", "parlement", cfg, root, now + timedelta(hours=1), Creds(password=token))
    assert first["posts"] == 25 and first["errors"] == []
    assert again["posts"] == 0, "the cursor, kept in the bucket, stops a second copy"
    files = collect.landing_files(root, now.date())
    assert files and all(lake.remote(f) for f in files)
    ids = {json.loads(line)["id"] for f in files for line in f.read_text().splitlines()}
    assert len(ids) == 25
    assert collect.state_path(root, "mastodon", "parlement").exists()
    assert token not in "".join(f.read_text() for f in files)
    # the nightly ingest reads what landed in the bucket
    monkeypatch.setenv("VIGIE_PSEUDONYM_KEY", KEY)
    monkeypatch.setenv("VIGIE_CONFIG_DIR", str(cfg.config_dir))
    run_ = pipeline.make_run(now.date(), "r1", config_dir=str(cfg.config_dir), lake_dir=str(root),
                             import_dir=str(tmp_path / "no-imports"))
    out = pipeline.ingest(run_)
    assert out["posts"] == 25


def test_the_command_line_reads_a_lake_in_the_bucket(both_lakes):
    """`python -m listening sql` with VIGIE_LAKE=s3://…: what an analyst runs beside the stack."""
    import os
    import subprocess
    import sys

    from conftest import REPO

    day, local, remote, outs, _ = both_lakes
    env = dict(os.environ, VIGIE_LAKE=f"s3://{remote.path}", PYTHONPATH=str(REPO / "plugins"))
    out = subprocess.run([sys.executable, "-m", "listening", "sql", "SELECT CAST(dt AS VARCHAR) AS dt, count(*) AS n "
                          "FROM mentions GROUP BY dt",
                          "--format", "json"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout) == [{"dt": day.isoformat(), "n": outs["remote"]["mentions"]["mentions"]}]


def test_erasure_and_retention_reach_the_bucket(s3, both_lakes, monkeypatch):
    """Last of the module: it erases and expires the bucket's day."""
    day, local, remote, outs, _ = both_lakes
    monkeypatch.setenv("VIGIE_PSEUDONYM_KEY", KEY)
    mentions = lake.read_partition(remote, MENTIONS, dt=day)
    raw = lake.read_dataset(remote, "raw")
    row = raw.slice(0, 1).to_pylist()[0]
    author_key = privacy.author_key(KEY.encode(), row["platform"], row["author_id"])
    assert author_key in mentions["author_key"].to_pylist()
    entry = privacy.erase_author(remote, row["platform"], row["author_id"], KEY.encode())
    assert entry["posts"] > 0
    assert author_key not in lake.read_partition(remote, MENTIONS, dt=day)["author_key"].to_pylist()
    assert row["author_id"] not in lake.read_dataset(remote, "raw")["author_id"].to_pylist()
    log = (remote / privacy.ERASURE_DIR / "log.jsonl").read_text().splitlines()
    assert author_key in json.loads(log[-1])["author_keys"]
    deleted = privacy.apply_retention(remote, day + timedelta(days=400), 365, 30)
    assert deleted.get("mentions", 0) >= 1 and deleted.get("raw", 0) >= 1
    assert deleted.get("validation_results", 0) >= 1  # GX's results in the bucket, by the night they ran
    assert not list((remote / "quality" / "gx" / "gx" / "uncommitted" / "validations").rglob("*.json"))
    assert lake.read_partition(remote, MENTIONS, dt=day) is None


def test_a_large_day_spills_and_merges_in_the_bucket(s3, small_corpus, tmp_path, monkeypatch):
    """A day larger than a shard on a store: ingest's sorted runs and the enrich shards are objects,
    streamed back into the day's files: the raw and mentions of a local one-shard run."""
    import shutil

    from conftest import CONFIG

    from listening.schema import RAW

    day = date.fromisoformat(json.loads((small_corpus / "truth.json").read_text())["start"])
    cfg = tmp_path / "config"
    shutil.copytree(CONFIG, cfg)
    settings = cfg / "settings.yml"
    settings.write_text(settings.read_text().replace("enrich_shard_posts: 250000", "enrich_shard_posts: 300"))
    monkeypatch.setenv("VIGIE_PSEUDONYM_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pipeline._ArrowSink, "FLUSH", 200)
    kw = dict(import_dir=str(small_corpus / "import"))
    big = pipeline.make_run(day, "big", config_dir=str(cfg), lake_dir=f"{s3}/big", **kw)
    one = pipeline.make_run(day, "one", lake_dir=str(tmp_path / "one"), **kw)
    for run in (one, big):
        pipeline.ingest(run)
        pipeline.build_mentions(run)
    staged = lake.staging_dir(big.lake, day)
    assert not (staged / pipeline.RUNS).exists() and not (staged / pipeline.SHARDS).exists()
    platforms = sorted(p.parent.parent.name.split("=")[1] for p in (staged / RAW.path).rglob(lake.PART))
    assert len(platforms) >= 3
    for ds, keys in ((RAW, [{"source": p} for p in platforms]), (MENTIONS, [{}])):
        for k in keys:
            there, here = (lake.read_file(lake.stage_path(r.lake, day, ds, dt=day, **k), ds) for r in (big, one))
            assert there.num_rows and there.equals(here), f"{ds.name} {k} differs"
