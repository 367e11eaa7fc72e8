"""Hourly path for red alerts: the day so far, checked every hour, red alerts e-mailed at once.

Wiring only: the task calls `listening.alerts.hourly_check` with the end of the hour just
finished. Nothing is written to the datasets (the nightly run does that); the delivery ledger
makes sure the nightly run does not send these alerts again. No catch-up: an hour that was
missed is covered by the next run (it looks at the whole day so far) and by the nightly digest.
"""
from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable


@task(task_id="red_alerts")
def red_alerts(data_interval_end=None, run_id=None) -> dict:
    from listening import alerts  # heavy imports stay out of DAG parsing

    return alerts.hourly_check(data_interval_end.isoformat(), run_id or "hourly")


@dag(
    dag_id="listening_hourly",
    schedule=CronDataIntervalTimetable("5 * * * *", timezone="UTC"),
    start_date=pendulum.parse(os.environ.get("VIGIE_START_DATE", "2026-11-01"), tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["vigie", "alerts"],
    doc_md=__doc__,
)
def listening_hourly():
    red_alerts()


listening_hourly()
