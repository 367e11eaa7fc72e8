"""The DAG files import, form the expected graph, and run a sample day under Airflow's own runner."""
from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from datetime import date, timedelta

import pytest

from conftest import REPO, SAMPLE_IMPORT, env_for, everything_in
from listening import lake
from listening.schema import MENTIONS, METRICS_DAILY

STEPS = ["wait_for_collection", "ingest", "plan_shards", "enrich", "merge_mentions", "compute_metrics",
         "score_influence", "track_responses", "measure_campaigns", "detect", "validate", "publish", "deliver",
         "summarise"]


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
    assert [t.task_id for t in dag.topological_sort()] == STEPS
    for a, b in zip(STEPS, STEPS[1:]):
        assert dag.get_task(a).downstream_task_ids == {b}
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


SECRET = "k3y-0f-the-pseud0nyms-9b1f2"


class Background:
    """A command run in a thread: started now, waited for by the test that checks it."""

    def __init__(self, args: list[str], env: dict, timeout: float):
        self.t0, self.seconds, self.result, self.error = time.monotonic(), None, None, None
        self.thread = threading.Thread(target=self._run, args=(args, env, timeout), daemon=True)
        self.thread.start()

    def _run(self, args, env, timeout):
        try:
            self.result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
        except Exception as e:  # noqa: BLE001 - raised in the test that waits
            self.error = e
        self.seconds = time.monotonic() - self.t0

    def wait(self) -> subprocess.CompletedProcess:
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture(scope="module")
def airflow_runs(tmp_path_factory, sample_truth, airflow_db):
    """Both `airflow dags test` runs of this module, started together, each with its own
    AIRFLOW_HOME and lake: the failing run spends most of its time in dag.test()'s one-second
    waits while the failure reaches the 13 tasks downstream, the sample day's run computes."""
    from conftest import CONFIG, airflow_home

    manifest, _ = sample_truth
    day = date.fromisoformat(manifest["start"]) + timedelta(days=2)
    airflow = str(REPO / ".venv" / "bin" / "airflow") if (REPO / ".venv" / "bin" / "airflow").exists() else "airflow"
    runs = {}

    # The sample day. The pseudonym key as an operator keeps it: an Airflow variable (a secrets
    # backend in production).
    base = tmp_path_factory.mktemp("sample-day")
    lake_root, home = base / "lake", airflow_home(airflow_db, base / "airflow")
    env = env_for(lake_root, SAMPLE_IMPORT, home)
    del env["VIGIE_PSEUDONYM_KEY"]
    env["AIRFLOW_VAR_VIGIE_PSEUDONYM_KEY"] = SECRET
    runs["sample"] = (day, lake_root, home, Background(
        [airflow, "dags", "test", "listening_nightly", (day + timedelta(days=1)).isoformat()], env, 900))

    # A wrong watchlists.yml.
    base = tmp_path_factory.mktemp("bad-config")
    cfg = base / "config"
    shutil.copytree(CONFIG, cfg)
    text = (cfg / "watchlists.yml").read_text().replace("team: greffe", "team: nobody", 1)
    (cfg / "watchlists.yml").write_text(text)
    lake_root, home = base / "lake", airflow_home(airflow_db, base / "airflow")
    env = env_for(lake_root, SAMPLE_IMPORT, home)
    env["VIGIE_CONFIG_DIR"] = str(cfg)
    runs["bad_config"] = (None, lake_root, home, Background(
        [airflow, "dags", "test", "listening_nightly", "2026-11-04"], env, 240))
    yield runs
    for *_, run in runs.values():
        run.thread.join()


@pytest.mark.slow
def test_sample_day_runs_under_airflow(airflow_runs, sample_truth):
    """`airflow dags test` on one bundled sample day, checked against the simulator's truth."""
    manifest, truth = sample_truth
    day, lake_root, home, run = airflow_runs["sample"]
    res = run.wait()
    log = res.stdout + res.stderr
    assert res.returncode == 0 and "state=success" in log, log[-4000:]
    # The key reached the run (pseudonyms made with it), and no log, dataset, report or e-mail holds it.
    from listening import privacy

    secret = SECRET
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
    _, lake_root, _, run = airflow_runs["bad_config"]
    res = run.wait()
    log = res.stdout + res.stderr
    assert "state=failed" in log
    assert "team 'nobody' of topic 'budget-2027' is not in teams" in log
    assert "watchlists.yml:" in log
    assert run.seconds < 120
    assert not (lake_root / "mentions").exists()
