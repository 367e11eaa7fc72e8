"""The nightly DAG of one simulated day on the CeleryExecutor stack with 1, 2, 4... workers.

    .venv/bin/python bench/workers.py                        # 1M posts, 1, 2 and 4 workers
    .venv/bin/python bench/workers.py --posts 20000 --workers 1,2 --shards 4

For each worker count (concurrency 1 per worker) it starts the stack of
tests/test_celery_stack.py as local processes (API server, scheduler, DAG processor, N Celery
workers) on a fresh PostgreSQL database, a free Redis database number and an empty lake, unpauses
`listening_nightly` with VIGIE_START_DATE on the corpus's day (the scheduler's first catch-up run is
that day's), waits for that run, and records:

- the wall time from unpause to the end of the run, and the run's start to end in the metadata DB;
- each task's duration, queue wait and worker (the `hostname` column of `task_instance`: each
  worker reports its Celery node name, as in the test);
- the peak RSS of each worker's process TREE (the Celery worker, its pool process, Airflow's task
  supervisor and the task process: Celery and Airflow run each task in a child process), sampled
  with psutil every 0.5 s: the peak of the tree's sum (shared pages of forked processes are counted
  once per process, so the sum overstates) and the peak of its largest single process; per task, the
  same two peaks over the samples taken on its worker while it ran;
- the machine's 1-minute load average (at unpause, mean and max over the run).

Then it stops every process it started (each in its own process group, task processes included)
and drops the database, also on failure or Ctrl-C.

The corpus is made once by `listening.simulate` (as `make bench` does: one day, seed 5) and cached
under --cache (default /tmp/vigie-workers). Entities are OFF (a copy of include/config with
`entities: false`: spaCy alone would take hours at 1M posts), and `enrich_shard_posts` is set so
that the day gives --shards enrich shards (default 4: 250,000 posts each at 1M, the default of
settings.yml). The stack helpers (process group handling, the Celery environment, the waits, the
workers' host names) are imported from tests/test_celery_stack.py, not copied. Results: JSON to
--out (default bench/results/workers.json, git-ignored) and a Markdown table on stdout.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "plugins"))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

from conftest import CONFIG, env_for  # noqa: E402
from test_celery_stack import (DAG_ID, HOSTNAME_MODULE, PG_HOST, PG_PORT, Processes, _api_up, _celery_env,  # noqa: E402
                               _free_port, _postgres, _query, _redis_db, _task_log, _wait)

DAY = date(2026, 11, 2)  # the day `make bench` simulates
SEED = 5
BIN = Path(sys.executable).parent  # the venv running this script (not resolved: the symlink's venv)
AIRFLOW = str(BIN / "airflow")
MB = 1024 * 1024


def corpus(cache: Path, posts: int, seed: int) -> Path:
    """A one-day simulated corpus (its import/ directory is what the nightly DAG ingests), made once."""
    from listening import simulate

    d = cache / f"corpus-{posts}-{seed}"
    if not (d / "truth.json").exists():
        tmp = cache / f"corpus-{posts}-{seed}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        t = time.monotonic()
        print(f"simulating {posts:,} posts on {DAY} into {d} ...", flush=True)
        simulate.simulate(tmp, start=DAY, days=1, posts=posts, seed=seed)
        shutil.rmtree(d, ignore_errors=True)
        tmp.rename(d)
        print(f"  done in {time.monotonic() - t:.0f} s", flush=True)
    return d


def config_copy(dest: Path, shard_posts: int) -> Path:
    """include/config with entities off and `enrich_shard_posts` set."""
    shutil.copytree(CONFIG, dest)
    settings = dest / "settings.yml"
    text = settings.read_text()
    for key, value in (("entities", "false"), ("enrich_shard_posts", str(shard_posts))):
        text, n = re.subn(rf"^{key}:[^#\n]*", f"{key}: {value}    ", text, flags=re.M)
        if n != 1:
            raise SystemExit(f"{settings}: expected one `{key}:` line, found {n}")
    settings.write_text(text)
    return dest


class Sampler(threading.Thread):
    """RSS of each watched process tree every `interval` seconds: peaks, and the workers' samples."""

    def __init__(self, roots: dict[str, int], keep: set[str], interval: float = 0.5):
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.roots = {name: psutil.Process(pid) for name, pid in roots.items()}
        self.keep, self.interval = keep, interval
        self.samples: dict[str, list[tuple[float, int, int]]] = {n: [] for n in keep}
        self.peak_tree = {n: 0 for n in roots}
        self.peak_single = {n: 0 for n in roots}
        self.loads: list[tuple[float, float]] = []
        self.first: dict[str, int] = {}
        self.cpu: dict[int, dict] = {}
        self.idle_pids: set[int] = set()
        self.stopped = threading.Event()

    def tree_rss(self, name: str, root, now: float) -> tuple[int, int]:
        psutil = self.psutil
        try:
            procs = [root] + root.children(recursive=True)
        except psutil.Error:
            return 0, 0
        rss = []
        for p in procs:
            try:
                with p.oneshot():
                    rss.append(p.memory_info().rss)
                    cpu = sum(p.cpu_times()[:2])
            except psutil.Error:
                continue
            if name in self.keep:  # CPU seconds of each process of a worker's tree, as last seen
                seen = self.cpu.setdefault(p.pid, {"worker": name, "first_t": now, "cpu": 0.0})
                seen.update(last_t=now, cpu=cpu)
        return sum(rss), max(rss, default=0)

    def sample(self) -> None:
        now = time.time()
        self.loads.append((now, os.getloadavg()[0]))
        for name, root in self.roots.items():
            total, single = self.tree_rss(name, root, now)
            self.first.setdefault(name, total)
            self.peak_tree[name] = max(self.peak_tree[name], total)
            self.peak_single[name] = max(self.peak_single[name], single)
            if name in self.keep:
                self.samples[name].append((now, total, single))

    def run(self) -> None:
        while not self.stopped.is_set():
            t = time.monotonic()
            self.sample()
            self.stopped.wait(max(0.0, self.interval - (time.monotonic() - t)))

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)

    def task_cpu(self, worker: str, start: float, end: float) -> float:
        """CPU seconds of the processes that appeared in `worker`'s tree while a task ran (its task
        process): as last sampled, so up to `interval` of each process's last moments is missed."""
        return sum(c["cpu"] for pid, c in self.cpu.items() if c["worker"] == worker and pid not in self.idle_pids
                   and start - self.interval <= c["first_t"] <= end)

    def during(self, worker: str, start: float, end: float) -> tuple[int, int]:
        """Peak tree sum and peak single process of `worker` between two epoch times."""
        inside = [s for s in self.samples.get(worker, []) if start <= s[0] <= end]
        return max((s[1] for s in inside), default=0), max((s[2] for s in inside), default=0)


def mentions_rows(lake_dir: Path, day: date) -> int | None:
    import pyarrow.parquet as pq

    files = sorted((lake_dir / "mentions" / f"dt={day.isoformat()}").rglob("*.parquet"))
    return sum(pq.ParquetFile(p).metadata.num_rows for p in files) if files else None


def one_run(n_workers: int, src: Path, posts: int, shard_posts: int, work: Path, timeout: float,
            keep_lake: bool, stop_after: str | None = None) -> dict:
    """The stack with `n_workers` workers, one nightly run of DAY, measured; everything stopped after."""
    import psycopg2

    base = work / f"w{n_workers}"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    lake_dir, home = base / "lake", base / "airflow"
    cfg = config_copy(base / "config", shard_posts)
    procs = Processes(base / "logs")
    user, admin = _postgres()
    redis_n, rdb = _redis_db()
    dbname = f"vigie_wbench_{secrets.token_hex(4)}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {dbname}")
    backends = {"pg_user": user, "pg_db": dbname, "redis_db": redis_n,
                "sql": f"postgresql+psycopg2://{user}@{PG_HOST}:{PG_PORT}/{dbname}",
                "result_backend": f"db+postgresql+psycopg2://{user}@{PG_HOST}:{PG_PORT}/{dbname}",
                "broker": f"redis://127.0.0.1:6379/{redis_n}"}
    sampler = None
    result: dict = {"workers": n_workers, "concurrency": 1, "database": dbname, "redis_db": redis_n,
                    "logs": str(base / "logs"), "airflow_home": str(home)}
    try:
        t0 = time.monotonic()
        port = _free_port()
        env = _celery_env(env_for(lake_dir, src, home), backends, port)
        env.update({"VIGIE_CONFIG_DIR": str(cfg), "VIGIE_START_DATE": DAY.isoformat(),
                    "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"})
        migrate = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, cwd=REPO)
        if migrate.returncode != 0:
            raise RuntimeError("airflow db migrate failed:\n" + (migrate.stdout + migrate.stderr)[-4000:])
        result["db_migrate_s"] = round(time.monotonic() - t0, 1)

        hostmod = base / "hostname"
        hostmod.mkdir()
        (hostmod / "vigie_it_hostname.py").write_text(HOSTNAME_MODULE)
        t_stack = time.monotonic()
        procs.start("api-server", [AIRFLOW, "api-server", "--port", str(port), "--workers", "1"], env)
        procs.start("scheduler", [AIRFLOW, "scheduler"], env)
        procs.start("dag-processor", [AIRFLOW, "dag-processor"], env)
        workers = [f"w{i + 1}" for i in range(n_workers)]
        for w in workers:
            wenv = dict(env, VIGIE_IT_WORKER=w, PYTHONPATH=f"{env['PYTHONPATH']}{os.pathsep}{hostmod}",
                        AIRFLOW__CORE__HOSTNAME_CALLABLE="vigie_it_hostname.hostname")
            procs.start(w, [AIRFLOW, "celery", "worker", "--concurrency", "1", "-H", f"{w}@%h",
                            "--skip-serve-logs"], wenv)
        services = ("api-server", "scheduler", "dag-processor", *workers)
        _wait("the DAG in the metadata database",
              lambda: _query(backends, "SELECT 1 FROM dag WHERE dag_id = %s", DAG_ID), 180, procs, services)
        _wait("the Celery workers", lambda: all("ready" in procs.tail(w, 100_000) for w in workers),
              180, procs, services)

        _wait("the API server", lambda: _api_up(port), 180, procs, services)
        result["stack_ready_s"] = round(time.monotonic() - t_stack, 1)

        sampler = Sampler({name: procs.procs[name].pid for name in services}, keep=set(workers))
        sampler.sample()  # the idle trees, before any task
        idle = dict(sampler.first)
        sampler.idle_pids = set(sampler.cpu)  # the workers' own processes, not a task's
        sampler.start()
        t_run, t_run_epoch = time.monotonic(), time.time()
        load_at_unpause = os.getloadavg()
        unpause = subprocess.run([AIRFLOW, "dags", "unpause", DAG_ID], env=env, capture_output=True, text=True,
                                 cwd=REPO)
        if unpause.returncode != 0:
            raise RuntimeError("unpause failed:\n" + (unpause.stdout + unpause.stderr)[-4000:])

        def run_state():
            rows = _query(backends, "SELECT run_id, state FROM dag_run WHERE dag_id = %s "
                                    "AND data_interval_start::date = %s", DAG_ID, DAY)
            if rows and rows[0][1] in ("success", "failed"):
                return rows[0]
            if rows and stop_after:  # every instance of the task (every shard of a mapped one) succeeded
                done, total = _query(backends, "SELECT count(*) FILTER (WHERE state = 'success'), count(*) "
                                               "FROM task_instance WHERE run_id = %s AND task_id = %s",
                                     rows[0][0], stop_after)[0]
                if total and done == total:
                    return rows[0][0], f"stopped after {stop_after}"
            # A retry would wait five minutes (retry_delay): stop at once, saying what failed.
            bad = _query(backends, "SELECT task_id FROM task_instance WHERE dag_id = %s "
                                   "AND state IN ('up_for_retry', 'failed')", DAG_ID)
            if bad:
                raise RuntimeError(f"task {bad[0][0]} failed:\n" + _task_log(home, bad[0][0]))
            return None

        run_id, state = _wait(f"the run of {DAY}", run_state, timeout, procs, services, step=1)
        result["wall_s"] = round(time.monotonic() - t_run, 1)
        sampler.stop()
        result["state"] = state

        tis = _query(backends, "SELECT task_id, map_index, state, hostname, EXTRACT(EPOCH FROM start_date), "
                               "EXTRACT(EPOCH FROM end_date), EXTRACT(EPOCH FROM queued_dttm), try_number "
                               "FROM task_instance WHERE dag_id = %s AND run_id = %s ORDER BY start_date",
                     DAG_ID, run_id)
        dr = _query(backends, "SELECT EXTRACT(EPOCH FROM start_date), EXTRACT(EPOCH FROM end_date) FROM dag_run "
                              "WHERE run_id = %s", run_id)[0]
        dr_start = float(dr[0])
        # A run stopped after a task (--stop-after) has no end yet: its last finished task's end.
        dr_end = float(dr[1]) if dr[1] is not None else max(float(t[5]) for t in tis if t[5] is not None)
        tis = [t for t in tis if t[5] is not None]  # (the tasks of a stopped run still queued or running)
        tasks = []
        for task_id, map_index, st, host, start, end, queued, tries in tis:
            start, end = float(start or 0), float(end or 0)
            tree, single = sampler.during(host, start, end) if host else (0, 0)
            tasks.append({"task": task_id if map_index < 0 else f"{task_id}[{map_index}]", "state": st,
                          "worker": host, "try": tries, "start_s": round(start - dr_start, 1),
                          "seconds": round(end - start, 1),
                          "queued_s": round(start - float(queued), 1) if queued is not None else None,
                          "task_cpu_s": round(sampler.task_cpu(host, start, end), 1) if host else None,
                          "peak_tree_mb": round(tree / MB), "peak_single_mb": round(single / MB)})
        enrich = [t for t in tasks if t["task"].startswith("enrich[")]
        e_start = min(t["start_s"] for t in enrich) if enrich else None
        e_end = max(t["start_s"] + t["seconds"] for t in enrich) if enrich else None
        loads = [v for t, v in sampler.loads if t >= t_run_epoch]
        result.update({
            "run_id": run_id, "dag_run_s": round(dr_end - dr_start, 1),
            "tasks": tasks, "shards": len(enrich),
            "enrich_span_s": round(e_end - e_start, 1) if enrich else None,
            "enrich_sum_s": round(sum(t["seconds"] for t in enrich), 1),
            "before_enrich_s": e_start, "after_enrich_s": round(dr_end - dr_start - e_end, 1) if enrich else None,
            "tasks_waiting_s": round(sum(t["queued_s"] or 0 for t in tasks), 1),
            "per_worker": {w: {"tasks": [t["task"] for t in tasks if t["worker"] == w],
                               "busy_s": round(sum(t["seconds"] for t in tasks if t["worker"] == w), 1),
                               "idle_tree_mb": round(idle.get(w, 0) / MB),
                               "peak_tree_mb": round(sampler.peak_tree[w] / MB),
                               "peak_single_mb": round(sampler.peak_single[w] / MB)} for w in workers},
            "services_peak_tree_mb": {s: round(sampler.peak_tree[s] / MB) for s in services if s not in workers},
            "largest_task": max(tasks, key=lambda t: t["peak_single_mb"])["task"] if tasks else None,
            "largest_task_peak_mb": max((t["peak_single_mb"] for t in tasks), default=None),
            "load_1min": {"at_unpause": round(load_at_unpause[0], 2),
                          "mean": round(sum(loads) / len(loads), 2) if loads else None,
                          "max": round(max(loads), 2) if loads else None},
            "mentions": mentions_rows(lake_dir, DAY),
        })
        return result
    except Exception as e:  # recorded, and the next worker count still runs
        result.update({"state": "error", "error": str(e)[-6000:]})
        if sampler is not None:  # what was sampled before the failure (a timed-out run's peaks)
            sampler.stop()
            result["peak_tree_mb_so_far"] = {n: round(v / MB) for n, v in sampler.peak_tree.items()}
            result["peak_single_mb_so_far"] = {n: round(v / MB) for n, v in sampler.peak_single.items()}
        print(f"  {n_workers} worker(s): {str(e)[-3000:]}", file=sys.stderr, flush=True)
        return result
    finally:
        if sampler is not None and sampler.is_alive():
            sampler.stop()
        procs.stop()
        try:
            with admin.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        except psycopg2.Error as e:
            print(f"  could not drop {dbname}: {e}", file=sys.stderr)
        admin.close()
        rdb.flushdb()
        if not keep_lake:
            shutil.rmtree(lake_dir, ignore_errors=True)


def markdown(res: dict) -> str:
    runs = [r for r in res["runs"] if r.get("state") == "success" or str(r.get("state")).startswith("stopped")]
    lines = [f"{res['posts']:,} posts on {res['day']}, {res['shards']} enrich shards of up to "
             f"{res['enrich_shard_posts']:,} posts, entities off; {res['machine']['cpus']} CPUs, "
             f"{res['machine']['memory_gb']} GB; concurrency 1 per worker. Times in s, memory in MB.", "",
             "| workers | run | unpause to end | DAG run | before enrich | enrich (span) | enrich (sum) | after enrich "
             "| largest task peak | load avg mean / max |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in runs:
        lines.append(f"| {r['workers']} | {r['state']} | {r['wall_s']:.0f} | {r['dag_run_s']:.0f} | {r['before_enrich_s']:.0f} "
                     f"| {r['enrich_span_s']:.0f} | {r['enrich_sum_s']:.0f} | {r['after_enrich_s']:.0f} "
                     f"| {r['largest_task_peak_mb']:,} ({r['largest_task']}) "
                     f"| {r['load_1min']['mean']} / {r['load_1min']['max']} |")
    for r in res["runs"]:
        if r not in runs:
            lines.append(f"\n{r['workers']} worker(s): {r.get('state')}: {r.get('error', '')[:300]}")
    if runs:
        names = [t["task"] for t in runs[0]["tasks"]]
        lines += ["", "Per task: wall s (CPU s of its task process), worker, peak RSS of its largest process (MB).", "",
                  "| task | " + " | ".join(f"{r['workers']} worker(s)" for r in runs) + " |",
                  "|---|" + "---:|" * len(runs)]
        for name in names:
            cells = []
            for r in runs:
                t = next((t for t in r["tasks"] if t["task"] == name), None)
                cells.append(f"{t['seconds']:.0f} ({t.get('task_cpu_s') or 0:.0f}), {t['worker']}, {t['peak_single_mb']:,}"
                             if t else "-")
            lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
        lines += ["", "Per worker: peak RSS of its process tree (sum) / of its largest process, idle tree, busy s.",
                  "", "| workers | " + " | ".join(f"w{i + 1}" for i in range(max(r["workers"] for r in runs)))
                  + " |", "|---:|" + "---|" * max(r["workers"] for r in runs)]
        for r in runs:
            cells = [f"{v['peak_tree_mb']:,} / {v['peak_single_mb']:,} (idle {v['idle_tree_mb']:,}, "
                     f"busy {v['busy_s']:.0f})" for v in r["per_worker"].values()]
            cells += ["-"] * (max(x["workers"] for x in runs) - len(cells))
            lines.append(f"| {r['workers']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--posts", type=int, default=1_000_000)
    p.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated (concurrency 1 each)")
    p.add_argument("--shards", type=int, default=4,
                   help="enrich shards of the day: enrich_shard_posts = ceil(posts / shards)")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--cache", default="/tmp/vigie-workers", help="corpora and the runs' lakes, logs, Airflow homes")
    p.add_argument("--out", default=str(REPO / "bench" / "results" / "workers.json"))
    p.add_argument("--timeout", type=float, default=3600, help="seconds for one run, unpause to end")
    p.add_argument("--keep-lake", action="store_true", help="keep each run's lake (deleted by default)")
    p.add_argument("--stop-after", metavar="TASK",
                   help="end each measurement once every instance of this task succeeded (e.g. enrich: "
                        "the run up to the end of the parallel part)")
    p.add_argument("--markdown-from", nargs="+", metavar="JSON",
                   help="no run: print the Markdown tables of the runs in these results files, in order")
    args = p.parse_args()
    if args.markdown_from:
        loaded = [json.loads(Path(f).read_text()) for f in args.markdown_from]
        print(markdown(dict(loaded[0], runs=[r for d in loaded for r in d["runs"]])))
        return 0
    counts = [int(x) for x in args.workers.split(",") if x.strip()]
    shard_posts = math.ceil(args.posts / args.shards)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    # SIGTERM and SIGHUP unwind like Ctrl-C, so that every started process is stopped.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    src = corpus(cache, args.posts, args.seed) / "import"
    import psutil

    res = {"posts": args.posts, "day": DAY.isoformat(), "seed": args.seed, "shards": args.shards,
           "enrich_shard_posts": shard_posts, "entities": False, "corpus": str(src),
           "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "machine": {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 1024 ** 3, 1),
                       "python": platform.python_version(), "load_at_start": os.getloadavg()},
           "command": " ".join([Path(sys.executable).name, *sys.argv]), "runs": []}
    work = cache / f"runs-{args.posts}"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for n in counts:
        print(f"{n} worker(s) ...", flush=True)
        r = one_run(n, src, args.posts, shard_posts, work, args.timeout, args.keep_lake, args.stop_after)
        res["runs"].append(r)
        if r.get("state") == "success" or str(r.get("state")).startswith("stopped"):
            print(f"  unpause to end {r['wall_s']:.1f} s, DAG run {r['dag_run_s']:.1f} s, enrich span "
                  f"{r['enrich_span_s']:.1f} s over {r['shards']} shards, largest task peak "
                  f"{r['largest_task_peak_mb']:,} MB ({r['largest_task']})", flush=True)
        out.write_text(json.dumps(res, indent=1))  # after each run: a later failure keeps the earlier ones
    print(markdown(res))
    print(f"results: {out}")
    return 0 if all(r.get("state") == "success" or str(r.get("state")).startswith("stopped")
                    for r in res["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
