"""Hourly collection from the platforms: one mapped task per (source, topic).

Wiring only: `plan` lists the jobs from include/config/sources.yml (none when the file is
absent), and each `collect` task calls `listening.collect.run_job`, which fetches what is new
since the job's cursor and lands it under <lake>/landing/ for the nightly run. A platform that
fails does not stop the others: its task fails after landing what it got, and retries on its
own; its cursor stays where it was, so the retry (or the next hour) fetches the gap.
No catch-up of missed hours: the cursor, not the data interval, says where to resume.
"""
from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable


@task
def plan() -> list[dict]:
    from listening import collect  # heavy imports stay out of DAG parsing

    jobs = collect.plan_jobs()
    print(f"{len(jobs)} collection jobs: " + ", ".join(f"{j['source']}/{j['topic']}" for j in jobs))
    return jobs


@task(retries=3, retry_delay=timedelta(minutes=2), retry_exponential_backoff=True,
      map_index_template="{{ task.op_kwargs['job']['source'] }}/{{ task.op_kwargs['job']['topic'] }}")
def collect(job: dict, data_interval_end=None) -> dict:
    from listening import collect as c

    # a manual trigger may have no data interval: the wall clock then
    return c.run_job(job["source"], job["topic"], now=data_interval_end.isoformat() if data_interval_end else None)


@dag(
    dag_id="listening_collect",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=pendulum.parse(os.environ.get("VIGIE_START_DATE", "2026-11-01"), tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["vigie", "collect"],
    doc_md=__doc__,
)
def listening_collect():
    collect.expand(job=plan())


listening_collect()
