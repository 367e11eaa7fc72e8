"""Shared fixtures: the repository's paths, a clean environment, a small simulated corpus."""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "include" / "sample"
SAMPLE_IMPORT = SAMPLE / "import"
CONFIG = REPO / "include" / "config"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test reads the user's environment or writes into the repository's lake."""
    for var in ("VIGIE_LAKE", "VIGIE_IMPORT_DIR", "VIGIE_CONFIG_DIR", "VIGIE_PSEUDONYM_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("VIGIE_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "False")


def read_truth(corpus: Path) -> tuple[dict, dict[str, dict]]:
    manifest = json.loads((corpus / "truth.json").read_text())
    with gzip.open(corpus / "truth.jsonl.gz", "rt", encoding="utf-8") as fh:
        posts = {r["post_id"]: r for r in map(json.loads, fh)}
    return manifest, posts


@pytest.fixture(scope="session")
def sample_truth():
    return read_truth(SAMPLE)


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory):
    """3 days, 1,500 posts, with the planted events the simulator always writes."""
    from listening import simulate

    out = tmp_path_factory.mktemp("corpus")
    simulate.simulate(out, posts=1500, days=3, seed=11)
    return out


@pytest.fixture(scope="session")
def small_day_run(small_corpus, tmp_path_factory):
    """The nightly run of the small corpus's second day, run "r1", key "test-key" (read-only: tests
    that change a lake make their own)."""
    from datetime import date, timedelta

    from listening import pipeline

    mp = pytest.MonkeyPatch()
    mp.setenv("VIGIE_PSEUDONYM_KEY", "test-key")
    root = tmp_path_factory.mktemp("lake")
    manifest, truth = read_truth(small_corpus)
    day = date.fromisoformat(manifest["start"]) + timedelta(days=1)
    out = pipeline.run_day(day, run_id="r1", import_dir=str(small_corpus / "import"), lake_dir=str(root))
    mp.undo()
    return day, root, manifest, truth, out


# The pseudonym key of the shared two-day lake: long enough that finding it in a file means a leak.
TWO_DAY_KEY = "s3cret-pseudonym-key"


@pytest.fixture(scope="session")
def two_day_lake(small_corpus, tmp_path_factory):
    """The small corpus's first two days, run in order (run "r", key TWO_DAY_KEY), and a copy of
    the lake as it stood after the first day: (root, days, after_first_day). Read-only: tests that
    change a lake copy it with `copy_lake` (one nightly run costs seconds; several modules share it)."""
    import shutil
    from datetime import date, timedelta

    from listening import pipeline

    mp = pytest.MonkeyPatch()
    mp.setenv("VIGIE_PSEUDONYM_KEY", TWO_DAY_KEY)
    base = tmp_path_factory.mktemp("two-days")
    root, first = base / "lake", base / "after-first-day"
    manifest, _ = read_truth(small_corpus)
    start = date.fromisoformat(manifest["start"])
    days = [start, start + timedelta(days=1)]
    pipeline.run_day(days[0], run_id="r", import_dir=str(small_corpus / "import"), lake_dir=str(root))
    shutil.copytree(root, first)
    pipeline.run_day(days[1], run_id="r", import_dir=str(small_corpus / "import"), lake_dir=str(root))
    mp.undo()
    return root, days, first


def copy_lake(src: Path, dst: Path) -> Path:
    """A private copy of a lake, its catalog rebuilt (the catalog's views point at the lake's own path)."""
    import shutil

    from listening import catalog

    shutil.copytree(src, dst)
    catalog.build(dst)
    return dst


def env_for(lake: Path, import_dir: Path, airflow_home: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIE_", "AIRFLOW"))}
    env.update({
        "VIGIE_LAKE": str(lake), "VIGIE_IMPORT_DIR": str(import_dir), "VIGIE_CONFIG_DIR": str(CONFIG),
        "VIGIE_PSEUDONYM_KEY": "test-key", "PYTHONPATH": str(REPO / "plugins"), "GX_ANALYTICS_ENABLED": "False",
    })
    if airflow_home is not None:
        env.update({
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        })
    return env


AIRFLOW_BIN = REPO / ".venv" / "bin" / "airflow"


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory):
    """An Airflow metadata database (SQLite) migrated once for the session: `airflow db migrate`
    costs seconds of every Airflow test; `airflow_home` gives each test its own copy."""
    import subprocess

    home = tmp_path_factory.mktemp("airflow-db")
    airflow = str(AIRFLOW_BIN) if AIRFLOW_BIN.exists() else "airflow"
    res = subprocess.run([airflow, "db", "migrate"], env=env_for(home / "lake", home, home),
                         capture_output=True, text=True)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    return home / "airflow.db"


def airflow_home(airflow_db: Path, home: Path) -> Path:
    """An AIRFLOW_HOME holding a fresh copy of the migrated database (what `airflow db migrate` leaves)."""
    import shutil

    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(airflow_db, home / "airflow.db")
    return home


class Background:
    """A command run in a thread, started on demand and waited for by the tests that check it."""

    def __init__(self, args: list[str], env: dict, timeout: float):
        self.args, self.env, self.timeout = args, env, timeout
        self.thread = None
        self.t0 = self.seconds = self.result = self.error = None

    def start(self) -> "Background":
        import threading
        import time

        if self.thread is None:
            self.t0 = time.monotonic()
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        return self

    def _run(self):
        import subprocess
        import time

        try:
            self.result = subprocess.run(self.args, env=self.env, capture_output=True, text=True,
                                         timeout=self.timeout)
        except Exception as e:  # noqa: BLE001 - raised in the test that waits
            self.error = e
        self.seconds = time.monotonic() - self.t0

    def wait(self):
        """The CompletedProcess (started now if nobody started it)."""
        self.start().thread.join()
        if self.error is not None:
            raise self.error
        return self.result


# The pseudonym key of the embedded sample-day run: an Airflow variable there (as an operator
# keeps it), VIGIE_PSEUDONYM_KEY for the Celery workers whose rows are compared with it.
EMBEDDED_KEY = "k3y-0f-the-pseud0nyms-9b1f2"


@pytest.fixture(scope="session")
def embedded_runs(tmp_path_factory, airflow_db):
    """`airflow dags test` runs shared by test_dags and test_celery_stack, each with its own
    AIRFLOW_HOME and lake, run in the background (`.run.start()`, `.run.wait()`):

    - "sample": the nightly run of the bundled sample's third day (the same run both modules
      check: one costs tens of seconds), the pseudonym key EMBEDDED_KEY as an Airflow variable;
      started by the test that needs it first (the Celery test times its own run without it on
      VIGIE_IT_SEQUENTIAL=1);
    - "bad_config": a run with a wrong watchlists.yml, started with the fixture (it mostly sleeps
      in dag.test()'s one-second loop while the failure reaches the tasks downstream, so it
      overlaps other work well).
    """
    import shutil
    from datetime import date, timedelta
    from types import SimpleNamespace

    airflow = str(AIRFLOW_BIN) if AIRFLOW_BIN.exists() else "airflow"
    day = date.fromisoformat(json.loads((SAMPLE / "truth.json").read_text())["start"]) + timedelta(days=2)
    runs = {}

    base = tmp_path_factory.mktemp("embedded-sample-day")
    lake, home = base / "lake", airflow_home(airflow_db, base / "airflow")
    env = env_for(lake, SAMPLE_IMPORT, home)
    del env["VIGIE_PSEUDONYM_KEY"]
    env["AIRFLOW_VAR_VIGIE_PSEUDONYM_KEY"] = EMBEDDED_KEY
    runs["sample"] = SimpleNamespace(day=day, lake=lake, home=home, run=Background(
        [airflow, "dags", "test", "listening_nightly", (day + timedelta(days=1)).isoformat()], env, 900))

    base = tmp_path_factory.mktemp("embedded-bad-config")
    cfg = base / "config"
    shutil.copytree(CONFIG, cfg)
    text = (cfg / "watchlists.yml").read_text().replace("team: greffe", "team: nobody", 1)
    (cfg / "watchlists.yml").write_text(text)
    lake, home = base / "lake", airflow_home(airflow_db, base / "airflow")
    env = env_for(lake, SAMPLE_IMPORT, home)
    env["VIGIE_CONFIG_DIR"] = str(cfg)
    runs["bad_config"] = SimpleNamespace(day=None, lake=lake, home=home, run=Background(
        [airflow, "dags", "test", "listening_nightly", "2026-11-04"], env, 240).start())
    yield runs
    for r in runs.values():
        if r.run.thread is not None:
            r.run.thread.join()


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def everything_in(root):
    """Every string the lake holds: Parquet cells, text files, decoded e-mail parts."""
    for p in root.rglob("*"):
        if not p.is_file() or p.name.endswith(".duckdb") or "_erasure" in p.parts or "_secrets" in p.parts:
            continue
        if p.suffix == ".parquet":
            import pyarrow.parquet as pq

            for row in pq.read_table(p).to_pylist():
                for s in _strings(row):
                    yield p, s
        elif p.suffix == ".eml":
            from email import message_from_bytes

            msg = message_from_bytes(p.read_bytes())
            for part in msg.walk():
                if part.get_content_maintype() == "text":
                    yield p, part.get_payload(decode=True).decode("utf-8", "replace")
        else:
            yield p, p.read_bytes().decode("utf-8", "replace")


# What enrichment adds to a mentions row, for tests that write mentions by hand: an original,
# unique, untriaged post by an ordinary author.
ENRICHED = {
    "author_role": None, "emoji": [], "masked": [], "mentioned_keys": [], "entities": None, "triage": "other",
    "triage_action": "no action", "urgency": "green", "triage_reason": "no cue", "addresses_institution": False,
    "original_id": None, "cluster_size": 1, "cluster_authors": 1, "bot_score": 0.0, "bot_reasons": [],
}


def enriched(row: dict) -> dict:
    """A hand-written mentions row with the enrichment columns filled (cluster_id = its post id)."""
    return {**ENRICHED, "cluster_id": row["post_id"], **row}
