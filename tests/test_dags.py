"""The DAG files import, form the expected graph, and run a sample day under Airflow's own runner."""
from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta

import pytest

from conftest import EMBEDDED_KEY, REPO, SAMPLE_IMPORT, env_for, everything_in
from listening import lake
from listening.schema import MENTIONS, METRICS_DAILY

# Each task of the nightly DAG and the tasks it waits for: what reads the merged day side by side,
# detection mapped (the copies, then a task per topic) and gathered.
UPSTREAM = {"wait_for_collection": set(), "ingest": {"wait_for_collection"}, "plan_shards": {"ingest"},
            "enrich": {"plan_shards"}, "merge_mentions": {"enrich"}, "compute_metrics": {"merge_mentions"},
            "score_influence": {"merge_mentions"}, "track_responses": {"merge_mentions"},
            "measure_campaigns": {"merge_mentions"}, "plan_detection": {"compute_metrics"},
            "detect_part": {"plan_detection"}, "gather_alerts": {"detect_part", "track_responses"},
            "validate": {"score_influence", "measure_campaigns", "gather_alerts"}, "publish": {"validate"},
            "deliver": {"publish"}, "summarise": {"deliver"}}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_dag_files_import_without_error(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == {"listening_nightly", "listening_hourly", "listening_collect", "listening_maintenance"}


def test_collect_graph(dagbag):
    dag = dagbag.dags["listening_collect"]
    assert dag.get_task("plan").downstream_task_ids == {"collect"}
    assert dag.get_task("collect").retries == 3
    assert dag.catchup is False and dag.max_active_runs == 1


def test_nightly_graph(dagbag):
    dag = dagbag.dags["listening_nightly"]
    assert {t.task_id: t.upstream_task_ids for t in dag.tasks} == UPSTREAM
    assert {t.task_id for t in dag.tasks if t.is_mapped} == {"enrich", "detect_part"}
    assert dag.catchup is True
    assert dag.max_active_runs == 1


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "dags").glob("*.py")))
def test_dag_parsing_stays_light(name):
    """Airflow parses DAG files often: they must not import pandas, GX, requests or the NLP models."""
    code = ("import sys, runpy; runpy.run_path(sys.argv[1]); "
            "heavy = [m for m in ('pandas', 'great_expectations', 'lingua', 'vaderSentiment', 'spacy', "
            "'listening.collect', 'listening.sources.http') if m in sys.modules]; "
            "print('HEAVY:' + ','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "dags" / name)],
                         capture_output=True, text=True, env=env_for(REPO / "lake", SAMPLE_IMPORT), check=True)
    assert [line for line in out.stdout.splitlines() if line.startswith("HEAVY:")] == ["HEAVY:"]


@pytest.fixture(scope="module")
def airflow_runs(embedded_runs):
    """Both `airflow dags test` runs (conftest), started together if no earlier test started them."""
    for r in embedded_runs.values():
        r.run.start()
    return embedded_runs


@pytest.mark.slow
def test_sample_day_runs_under_airflow(airflow_runs, sample_truth):
    """`airflow dags test` on one bundled sample day, checked against the simulator's truth."""
    manifest, truth = sample_truth
    r = airflow_runs["sample"]
    day, lake_root, home = r.day, r.lake, r.home
    res = r.run.wait()
    log = res.stdout + res.stderr
    assert res.returncode == 0 and "state=success" in log, log[-4000:]
    # The key reached the run (pseudonyms made with it), and no log, dataset, report or e-mail holds it.
    from listening import privacy

    secret = EMBEDDED_KEY
    assert not (lake_root / "_secrets").exists()
    keys = set(lake.read_partition(lake_root, MENTIONS, dt=day)["author_key"].to_pylist())
    raw = lake.read_dataset(lake_root, "raw").select(["platform", "author_id"]).to_pylist()
    assert any(privacy.author_key(secret.encode(), r["platform"], r["author_id"]) in keys for r in raw)
    assert secret not in log
    # Airflow's own files too: its config, task logs and metadata database (XComs, rendered fields).
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "airflow.db" for p in files)
    assert not any(secret.encode() in p.read_bytes() for p in files)
    assert not any(secret in s for _, s in everything_in(lake_root))
    mentions = lake.read_partition(lake_root, MENTIONS, dt=day).to_pylist()
    raw_ids = set(lake.read_dataset(lake_root, "raw")["post_id"].to_pylist())
    assert raw_ids and raw_ids <= set(truth)
    assert {m["post_id"] for m in mentions} == {p for p in raw_ids if truth[p]["topics"]}
    assert all(m["topics"] == truth[m["post_id"]]["topics"] for m in mentions)
    metrics = lake.read_partition(lake_root, METRICS_DAILY, dt=day)
    assert sum(metrics["posts"].to_pylist()) == sum(len(m["topics"]) for m in mentions)
    assert (lake_root / "reports" / f"dt={day.isoformat()}" / "summary.json").exists()
    from listening.schema import QUARANTINE

    refused = lake.read_partition(lake_root, QUARANTINE, layer="raw", dt=day)
    planted = {(b["file"], b["line"]) for b in manifest["bad_lines"]}
    assert {(r["source_file"], r["source_line"]) for r in refused.to_pylist()} <= planted
    assert not (lake_root / "_staging").exists()


@pytest.mark.slow
def test_bad_config_fails_the_run_at_once_with_the_file_and_line(airflow_runs):
    """No retry loop on a deterministic error: the run fails, saying where the problem is."""
    run = airflow_runs["bad_config"].run
    lake_root = airflow_runs["bad_config"].lake
    res = run.wait()
    log = res.stdout + res.stderr
    assert "state=failed" in log
    assert "team 'nobody' of topic 'budget-2027' is not in teams" in log
    assert "watchlists.yml:" in log
    assert run.seconds < 120
    assert not (lake_root / "mentions").exists()
