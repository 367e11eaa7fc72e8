"""The nightly DAG on the production stack's executor: CeleryExecutor, PostgreSQL, Redis, two workers.

Starts, as processes of the venv's `airflow` with a temporary AIRFLOW_HOME: the API server, the
scheduler, the DAG processor and two Celery workers (concurrency 1 each); unpauses
`listening_nightly` with VIGIE_START_DATE on a sample day, so that the scheduler's first catch-up
run is that day's; waits for it; checks that it succeeded, that its tasks ran on both workers,
and that its mentions and daily metrics are the rows of the embedded run (`airflow dags test`).
The workers share the lake as workers on several machines would: on an S3 server (moto's server
mode, over HTTP; MinIO in docker-compose.yml), the embedded run on a local disk.
A quick test checks docker-compose.yml against the same configuration (no Docker needed).

Needs PostgreSQL on 127.0.0.1:5432 (trust authentication, user postgres or root) and Redis on
127.0.0.1:6379; skips, saying which is missing, elsewhere. Each run gets its own database
(dropped at the end) and an empty Redis database number (flushed at the end). The timings are
printed (`pytest -s`) and written to <tmp>/timings.json; docs/scaling.md quotes them.
"""
from __future__ import annotations

import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import EMBEDDED_KEY, REPO, SAMPLE, SAMPLE_IMPORT, env_for

PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
DAG_ID = "listening_nightly"
RUN_TIMEOUT = 8 * 60  # seconds for the Celery run, from unpause to a final state
STEPS = ["wait_for_collection", "ingest", "plan_shards", "enrich", "merge_mentions", "compute_metrics",
         "score_influence", "track_responses", "measure_campaigns", "plan_detection", "detect_part",
         "gather_alerts", "validate", "publish", "deliver", "summarise"]
BIN = REPO / ".venv" / "bin"
AIRFLOW = str(BIN / "airflow") if (BIN / "airflow").exists() else "airflow"
# The TI's `hostname` column says which worker ran it: both workers share this machine's host
# name, so each one reports its Celery node name through Airflow's `hostname_callable`.
HOSTNAME_MODULE = 'import os\n\ndef hostname():\n    return os.environ["VIGIE_IT_WORKER"]\n'


def _postgres():
    """A connection to the maintenance database, or a skip saying why not."""
    try:
        import psycopg2
    except ImportError:
        pytest.skip("psycopg2 is not installed (requirements.txt has psycopg2-binary)")
    errors = []
    for user in ("postgres", "root"):
        try:
            conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=user, dbname="postgres", connect_timeout=3)
            conn.autocommit = True
            return user, conn
        except psycopg2.OperationalError as e:
            errors.append(f"{user}: {str(e).strip().splitlines()[0]}")
    pytest.skip(f"no PostgreSQL with trust authentication on {PG_HOST}:{PG_PORT} ({'; '.join(errors)})")


def _redis_db():
    """An empty Redis database number, claimed with a marker key, or a skip saying why not."""
    try:
        import redis
    except ImportError:
        pytest.skip("the redis client is not installed (requirements.txt has redis)")
    try:
        r = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=3)
        r.ping()
        count = int(r.config_get("databases").get("databases", 16))
    except redis.RedisError as e:
        pytest.skip(f"no Redis on {REDIS_HOST}:{REDIS_PORT} ({e})")
    for n in random.sample(range(1, count), count - 1):
        db = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=n)
        if db.dbsize() == 0 and db.set("vigie-it-claim", "1", nx=True):
            return n, db
    pytest.skip(f"every Redis database number on {REDIS_HOST}:{REDIS_PORT} holds keys")


@pytest.fixture
def backends():
    """A fresh PostgreSQL database and Redis database number for this run, removed afterwards."""
    user, admin = _postgres()
    n, rdb = _redis_db()
    name = f"vigie_it_{secrets.token_hex(4)}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    try:
        yield {"pg_user": user, "pg_db": name, "redis_db": n,
               "sql": f"postgresql+psycopg2://{user}@{PG_HOST}:{PG_PORT}/{name}",
               "result_backend": f"db+postgresql+psycopg2://{user}@{PG_HOST}:{PG_PORT}/{name}",
               "broker": f"redis://{REDIS_HOST}:{REDIS_PORT}/{n}"}
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
        rdb.flushdb()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Every process this test starts, each in its own process group, all killed at the end."""

    def __init__(self, logs: Path):
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        out = open(self.logs / f"{name}.log", "wb")
        p = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             cwd=REPO, start_new_session=True)
        out.close()
        self.procs[name] = p
        return p

    def check_alive(self, *names: str) -> None:
        for name in names:
            if self.procs[name].poll() is not None:
                raise AssertionError(f"{name} exited with {self.procs[name].returncode}:\n{self.tail(name)}")

    def tail(self, name: str, chars: int = 3000) -> str:
        p = self.logs / f"{name}.log"
        return p.read_text(errors="replace")[-chars:] if p.exists() else ""

    def stop(self) -> None:
        import psutil

        # Descendants that left the group (task processes) are collected first, then every group.
        family = []
        for p in self.procs.values():
            try:
                family += psutil.Process(p.pid).children(recursive=True)
            except psutil.Error:
                pass
        for p in self.procs.values():
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in self.procs.values():
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for child in family:
            try:
                child.kill()
            except psutil.Error:
                pass


def _celery_env(base: dict, backends: dict, port: int) -> dict:
    env = dict(base)
    env.update({
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": backends["sql"],
        "AIRFLOW__CELERY__BROKER_URL": backends["broker"],
        "AIRFLOW__CELERY__RESULT_BACKEND": backends["result_backend"],
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        # A busy machine (a task starting while another task holds both cores) can keep the API
        # server's one process past the 5 s default: a task's start call is not retried.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
        # One secret for every component: the scheduler signs the workers' task tokens, the API
        # server checks them.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    })
    return env


def _query(dsn: dict, sql: str, *args):
    import psycopg2

    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=dsn["pg_user"], dbname=dsn["pg_db"], connect_timeout=3)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()
    finally:
        conn.close()


def _wait(what: str, probe, timeout: float, procs: Processes, alive: tuple[str, ...], step: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs.check_alive(*alive)
        result = probe()
        if result:
            return result
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}:\n"
                         + "\n".join(f"--- {n}\n{procs.tail(n, 1500)}" for n in alive))


def _api_up(port: int) -> bool:
    """The API server answers on its version endpoint."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/version", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _rows(table, key):
    return sorted(table.to_pylist(), key=lambda r: tuple(r[k] for k in key))


@pytest.mark.slow
def test_nightly_run_on_two_celery_workers(tmp_path, backends, embedded_runs, monkeypatch):
    """The workers share the lake through object storage, as on several machines (compose: MinIO)."""
    pytest.importorskip("moto.server")
    from fakes.s3 import s3_server, use
    from listening import lake

    with s3_server("vigie-celery") as (bucket, s3_env):
        use(s3_env, monkeypatch)
        _nightly_on_celery(tmp_path, backends, lake.at(f"{bucket}/lake"), s3_env, embedded_runs["sample"])


def _nightly_on_celery(tmp_path, backends, cel_lake, s3_env, reference):
    from listening import lake
    from listening.schema import MENTIONS, METRICS_DAILY

    t0 = time.monotonic()
    timings: dict[str, float] = {}
    start = json.loads((SAMPLE / "truth.json").read_text())["start"]
    day = date.fromisoformat(start) + timedelta(days=2)
    procs = Processes(tmp_path / "logs")
    try:
        # The embedded reference run (SQLite, `airflow dags test` of the same day, the one
        # test_dags checks: conftest's embedded_runs), in the background meanwhile (after the
        # Celery run with VIGIE_IT_SEQUENTIAL=1, to time that run alone).
        assert reference.day == day
        ref_lake = reference.lake
        sequential = os.environ.get("VIGIE_IT_SEQUENTIAL") == "1"
        ref_when = "before" if reference.run.thread is not None else "after" if sequential else "meanwhile"
        if not sequential:
            reference.run.start()

        # The stack: one metadata database on PostgreSQL, Redis as broker.
        port = _free_port()
        home = tmp_path / "celery" / "airflow"
        env = dict(_celery_env(env_for(cel_lake, SAMPLE_IMPORT, home), backends, port), **s3_env)
        env["VIGIE_START_DATE"] = day.isoformat()  # the first catch-up run is that day's
        env["VIGIE_PSEUDONYM_KEY"] = EMBEDDED_KEY  # the reference's key (an Airflow variable there)
        migrate = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, cwd=REPO)
        assert migrate.returncode == 0, (migrate.stdout + migrate.stderr)[-4000:]
        timings["db_migrate_s"] = time.monotonic() - t0

        hostmod = tmp_path / "hostname"
        hostmod.mkdir()
        (hostmod / "vigie_it_hostname.py").write_text(HOSTNAME_MODULE)
        t_stack = time.monotonic()
        procs.start("api-server", [AIRFLOW, "api-server", "--port", str(port), "--workers", "1"], env)
        procs.start("scheduler", [AIRFLOW, "scheduler"], env)
        procs.start("dag-processor", [AIRFLOW, "dag-processor"], env)
        for w in ("w1", "w2"):
            wenv = dict(env, VIGIE_IT_WORKER=w, PYTHONPATH=f"{env['PYTHONPATH']}{os.pathsep}{hostmod}",
                        AIRFLOW__CORE__HOSTNAME_CALLABLE="vigie_it_hostname.hostname")
            procs.start(w, [AIRFLOW, "celery", "worker", "--concurrency", "1", "-H", f"{w}@%h",
                            "--skip-serve-logs"], wenv)
        services = ("api-server", "scheduler", "dag-processor", "w1", "w2")

        # The DAG processor has serialised the DAG, both workers answer, the API server is up.
        _wait("the DAG in the metadata database",
              lambda: _query(backends, "SELECT 1 FROM dag WHERE dag_id = %s", DAG_ID), 120, procs, services)
        _wait("both Celery workers", lambda: all("ready" in procs.tail(w, 100_000) for w in ("w1", "w2")),
              120, procs, services)

        _wait("the API server", lambda: _api_up(port), 120, procs, services)
        timings["stack_ready_s"] = time.monotonic() - t_stack

        t_run = time.monotonic()
        unpause = subprocess.run([AIRFLOW, "dags", "unpause", DAG_ID], env=env, capture_output=True, text=True,
                                 cwd=REPO)
        assert unpause.returncode == 0, (unpause.stdout + unpause.stderr)[-4000:]

        def run_state():
            rows = _query(backends, "SELECT run_id, state FROM dag_run WHERE dag_id = %s "
                                    "AND data_interval_start::date = %s", DAG_ID, day)
            if rows and rows[0][1] in ("success", "failed"):
                return rows[0]
            # A retry would wait five minutes (retry_delay): say at once what failed instead.
            retrying = _query(backends, "SELECT task_id FROM task_instance WHERE dag_id = %s "
                                        "AND state IN ('up_for_retry', 'failed')", DAG_ID)
            if retrying:
                raise AssertionError(f"task {retrying[0][0]} failed:\n" + _task_log(home, retrying[0][0]))
            return None

        run_id, state = _wait(f"the run of {day}", run_state, RUN_TIMEOUT, procs, services, step=2)
        timings["run_wall_s"] = time.monotonic() - t_run
        assert state == "success"

        tis = _query(backends, "SELECT task_id, state, hostname, "
                               "EXTRACT(EPOCH FROM start_date), EXTRACT(EPOCH FROM end_date), "
                               "EXTRACT(EPOCH FROM queued_dttm) FROM task_instance "
                               "WHERE dag_id = %s AND run_id = %s", DAG_ID, run_id)
        assert {t[0] for t in tis} == set(STEPS)
        # detection mapped: the day's copies and a task per topic (the sample's day has several)
        assert sum(t[0] == "detect_part" for t in tis) >= 3
        assert {t[1] for t in tis} == {"success"}
        workers = {t[0]: t[2] for t in tis}
        assert set(workers.values()) == {"w1", "w2"}, workers  # both workers took tasks
        dr = _query(backends, "SELECT EXTRACT(EPOCH FROM end_date - start_date) FROM dag_run WHERE run_id = %s",
                    run_id)
        timings["dag_run_s"] = float(dr[0][0])
        timings["tasks_running_s"] = sum(float(t[4]) - float(t[3]) for t in tis)
        timings["tasks_waiting_s"] = sum(float(t[3]) - float(t[5]) for t in tis if t[5] is not None)
        tasks = {t[0]: {"worker": t[2], "seconds": round(float(t[4]) - float(t[3]), 1)} for t in tis}

        # The same datasets as the embedded run, row for row.
        if reference.run.thread is None:
            t_ref = time.monotonic()
            reference.run.start()
        reference.run.thread.join(timeout=max(10.0, RUN_TIMEOUT - (time.monotonic() - t0)))
        if reference.run.thread.is_alive():
            raise AssertionError("the embedded run did not finish")
        ref = reference.run.wait()
        ref_log = ref.stdout + ref.stderr
        assert ref.returncode == 0 and "state=success" in ref_log, ref_log[-3000:]
        if ref_when == "after":
            timings["embedded_run_s"] = time.monotonic() - t_ref
        for ds, key in ((MENTIONS, ("post_id",)), (METRICS_DAILY, ("topic",))):
            got, want = lake.read_partition(cel_lake, ds, dt=day), lake.read_partition(ref_lake, ds, dt=day)
            assert got is not None and want is not None and want.num_rows > 0, ds.name
            assert got.schema == want.schema, ds.name
            assert _rows(got, key) == _rows(want, key), ds.name
        # The day was committed on the store by the Celery run: its manifest names that run.
        assert lake.published_manifest(cel_lake, day)["run_id"] == run_id
        timings["test_wall_s"] = time.monotonic() - t0
        mentions = lake.read_partition(cel_lake, MENTIONS, dt=day).num_rows
        report = {"day": day.isoformat(), "workers": 2, "concurrency": 1, "mentions": mentions, "lake": str(cel_lake),
                  "reference_run": ref_when,
                  **{k: round(v, 1) for k, v in timings.items()}, "tasks": tasks}
        (tmp_path / "timings.json").write_text(json.dumps(report, indent=1))
        print("\ncelery stack timings:", json.dumps(report, indent=1))
    finally:
        procs.stop()


def _task_log(home: Path, task_id: str) -> str:
    logs = sorted((home / "logs").rglob(f"*task_id={task_id}*/*.log"))
    return logs[-1].read_text(errors="replace")[-4000:] if logs else "(no task log)"


AIRFLOW_SERVICES = {"airflow-init", "api-server", "scheduler", "dag-processor", "triggerer", "worker"}


def test_compose_file_describes_the_celery_stack(tmp_path):
    """docker-compose.yml: the services, one Airflow configuration for all, a worker that scales,
    real Airflow option names, and every secret documented in .env.example and kept out of git."""
    import re

    import yaml

    text = (REPO / "docker-compose.yml").read_text()
    services = yaml.safe_load(text)["services"]
    assert AIRFLOW_SERVICES | {"postgres", "redis", "mailpit", "minio"} <= set(services)
    commands = {n: " ".join(services[n]["command"]) for n in AIRFLOW_SERVICES}
    assert "airflow db migrate" in commands["airflow-init"]
    assert '"airflow", "api-server", "--port", "8080"' in commands["api-server"]
    for name, cmd in (("scheduler", "airflow scheduler"), ("dag-processor", "airflow dag-processor"),
                      ("triggerer", "airflow triggerer"), ("worker", "airflow celery worker")):
        assert commands[name] == cmd, name
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=N
    image = worker["image"]
    assert "requirements.txt" in worker["build"]["dockerfile_inline"]
    envs = {n: services[n]["environment"] for n in AIRFLOW_SERVICES}
    for name, env in envs.items():
        assert services[name]["image"] == image, name
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://api-server:8080/execution/", name
        for shared in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                       "AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CORE__FERNET_KEY",
                       "AIRFLOW__API__SECRET_KEY"):
            assert env[shared] == envs["worker"][shared], (name, shared)
        assert "./dags:/opt/vigie/dags:ro" in services[name]["volumes"], name
    # Only the workers (and the CLI) hold the lake's key and the pseudonym key; the lake is the bucket
    # minio-init makes, which the workers wait for.
    for secret in ("VIGIE_PSEUDONYM_KEY", "AWS_SECRET_ACCESS_KEY"):
        assert {n for n, s in services.items() if secret in (s.get("environment") or {})} == {"worker", "cli"}, secret
    assert services["worker"]["environment"]["VIGIE_LAKE"].startswith("${VIGIE_LAKE:-s3://vigie-lake/")
    assert "mc mb --ignore-existing local/vigie-lake" in " ".join(services["minio-init"]["command"])
    assert services["worker"]["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    assert not any("/data/lake" in v for s in services.values() for v in s.get("volumes", []))
    # Every AIRFLOW__SECTION__KEY is an option of the installed Airflow (and its Celery provider).
    names = sorted({k for env in envs.values() for k in env if k.startswith("AIRFLOW__")})
    code = ("import json, sys; from airflow.configuration import conf; d = conf.configuration_description; "
            "names = json.loads(sys.argv[1]); "
            "print(json.dumps([n for n in names if n.split('__')[2].lower() not in "
            "d.get(n.split('__')[1].lower(), {}).get('options', {})]))")
    out = subprocess.run([str(BIN / "python") if (BIN / "python").exists() else sys.executable, "-W", "ignore", "-c",
                          code, json.dumps(names)], capture_output=True, text=True,
                         env=env_for(tmp_path / "lake", SAMPLE_IMPORT, tmp_path / "airflow"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [], "unknown Airflow options"
    # Secrets: every variable the file needs is documented in .env.example; .env is git-ignored.
    example = {m.group(1) for m in re.finditer(r"^([A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.M)}
    used = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", text))  # $${X} is the container's own variable
    assert used <= example, used - example
    assert example <= used, example - used
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()
    from cryptography.fernet import Fernet

    key = re.search(r"^AIRFLOW_FERNET_KEY=(.*)$", (REPO / ".env.example").read_text(), re.M).group(1)
    Fernet(key.encode())  # a valid key, or the stack would not start from the example
