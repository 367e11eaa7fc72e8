"""The nightly influence task with 28 days of history: scoring the window's posts (what the night
did before influence_daily) beside scoring the days' facts (what it does now), in the same run.

    PYTHONPATH=plugins .venv/bin/python bench/bench_influence_night.py [--per-day 100000] [--authors 200000]

A lake of 28 days of synthetic mentions (bench_influence's generator over 28 days: Zipf-like
activity and popularity, each post reposting, replying to, quoting an earlier post of any day or
mentioning an account), the last day staged as the night's. Each measurement runs in its own
process: CPU seconds of the call, and the peak RSS of the call above the RSS just before it
(imports and the lake's creation not counted).

* posts: `pipeline.window_mentions` (28 days, the influence columns) then `influence.score`;
* night: `pipeline.score_influence`, the 27 days before having their influence_daily facts (as
  the previous nights left them): today's mentions, the parents of its replies in the days
  before, today's facts staged, the 28 days' facts added up.
Both give the same authors table (checked: the lake holds no day before the window, so every
post a reply points at is in it).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))
sys.path.insert(0, str(REPO / "bench"))

DAYS = 28


def make_lake(root: Path, per_day: int, authors: int) -> date:
    """28 days of mentions (the influence columns), the last one staged; earlier days' facts stored."""
    import bench_influence

    from listening import lake, pipeline
    from listening.schema import INFLUENCE_DAILY, MENTIONS

    bench_influence.make_data(root, per_day * DAYS, authors, days=DAYS)
    t = pq.read_table(root / "mentions.parquet")
    (root / "mentions.parquet").unlink()
    (root / "graph.npz").unlink()
    day = bench_influence.DAY
    dt = pc.cast(pc.cast(t["created_at"], pa.timestamp("us", tz="UTC")), pa.date32())
    run = pipeline.make_run(day, run_id="bench", lake_dir=str(root))
    for k in range(DAYS - 1, -1, -1):
        d = day - timedelta(days=k)
        part = t.filter(pc.equal(dt, pa.scalar(d, pa.date32())))
        path = lake.stage_path(root, day, MENTIONS, dt=day) if k == 0 else \
            lake.partition_dir(root, MENTIONS, dt=d) / lake.PART
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(part, path)
        if k:  # what that day's night stored
            facts = pipeline.influence_facts(run, d)
            lake.write_file(lake.partition_dir(root, INFLUENCE_DAILY, dt=d) / lake.PART, INFLUENCE_DAILY,
                            facts.drop_columns(["dt"]))
    return day


def _hwm_mb() -> float:
    with open("/proc/self/status") as f:
        return int(f.read().split("VmHWM:")[1].split()[0]) / 1024


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) / 1024


def run_job(job: str, root: Path, day: date) -> dict:
    from listening import influence, lake, pipeline
    from listening.schema import AUTHORS, INFLUENCE_DAILY

    run = pipeline.make_run(day, run_id="bench", lake_dir=str(root))
    before = _rss_mb()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    c0, w0 = time.process_time(), time.perf_counter()
    if job == "posts":
        window = pipeline.window_mentions(run, DAYS, pipeline.INFLUENCE_COLUMNS)
        rows_in = window.num_rows
        table = influence.score(window, day, windows=pipeline.INFLUENCE_WINDOWS,
                                lang=run.config.settings.digest_language)
    else:
        rows_in = pipeline.score_influence(run)["facts"]
        table = lake.read_file(lake.stage_path(root, day, AUTHORS, dt=day), AUTHORS)
    out = {"job": job, "cpu_s": round(time.process_time() - c0, 2), "wall_s": round(time.perf_counter() - w0, 2),
           "peak_mb": round(_hwm_mb() - before), "rows_in": rows_in, "authors_rows": table.num_rows}
    pq.write_table(table, root / f"authors-{job}.parquet")
    if job == "night":
        staged = lake.stage_path(root, day, INFLUENCE_DAILY, dt=day)
        out["facts_today_rows"] = lake.parquet_metadata(staged).num_rows
        out["facts_today_file_mb"] = round(staged.stat().st_size / 2**20, 1)
        out["mentions_today_file_mb"] = round(sum(p.stat().st_size for p in (root / "_staging").rglob("part-0.parquet")
                                                  if "mentions" in p.parts) / 2**20, 1)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-day", type=int, default=100_000)
    ap.add_argument("--authors", type=int, default=200_000)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    ap.add_argument("--day", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.job:
        print(json.dumps(run_job(a.job, Path(a.root), date.fromisoformat(a.day))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "lake"
        root.mkdir()
        day = make_lake(root, a.per_day, a.authors)
        results = []
        for job in ("posts", "night"):
            res = subprocess.run([sys.executable, __file__, "--job", job, "--root", str(root), "--day", str(day)],
                                 capture_output=True, text=True, check=True)
            results.append(json.loads(res.stdout.strip().splitlines()[-1]))
        same = pq.read_table(root / "authors-posts.parquet").equals(pq.read_table(root / "authors-night.parquet"))
    posts, night = results
    print(json.dumps({"per_day": a.per_day, "days": DAYS, "same_authors_table": same, **{r["job"]: r for r in results},
                      "night_vs_posts": {"cpu": round(night["cpu_s"] / posts["cpu_s"], 2),
                                         "peak": round(night["peak_mb"] / posts["peak_mb"], 2)}}, indent=1))


if __name__ == "__main__":
    main()
