"""Nightly listening run: one UTC day of posts, from the import files and what the hourly
collection landed (listening_collect) to validated Parquet.

Wiring only: each task calls one function of `listening.pipeline` with the day and the run id;
the day's posts are enriched in mapped shards (`plan_shards` says how many), then merged. What
reads the merged day runs side by side where it can (metrics, influence, the response desk,
campaigns), and detection is mapped too: the day's copies, then a task per topic, gathered.
The run for day D has the data interval [D, D+1) UTC and starts once that day is over, after
the collection has run past midnight (at most two hours of waiting; at once for a past day).
"""
from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import chain, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

@task.sensor(task_id="wait_for_collection", poke_interval=300, timeout=4 * 3600, mode="reschedule")
def wait_for_collection(data_interval_start=None):
    """The hourly collection past midnight (at most 2 h); at once without collectors or for a past day."""
    from airflow.sdk import PokeReturnValue
    from airflow.sdk.exceptions import AirflowFailException

    from listening import collect
    from listening.config import ConfigError

    try:
        ready, why = collect.ready_for_nightly(data_interval_start.date().isoformat())
    except ConfigError as e:  # a wrong config fails the run at once, naming the file and line
        raise AirflowFailException(str(e)) from e
    print(why)
    return PokeReturnValue(is_done=ready)


def _run(name: str, data_interval_start, run_id, **kw):
    from airflow.sdk.exceptions import AirflowFailException

    from listening import pipeline  # heavy imports stay out of DAG parsing

    try:
        return pipeline.run_step(name, data_interval_start.date().isoformat(), run_id, **kw)
    except pipeline.NOT_RETRIABLE as e:  # bad data or config: a retry would fail the same way
        raise AirflowFailException(str(e)) from e


def step(name: str):
    @task(task_id=name)
    def run_step(data_interval_start=None, run_id=None):
        return _run(name, data_interval_start, run_id)

    return run_step()


@task(task_id="enrich", map_index_template="{{ task.op_kwargs['shard']['shard'] }}")
def enrich(shard: dict, data_interval_start=None, run_id=None) -> dict:
    """One shard of the day's posts (one per `enrich_shard_posts`: the sample needs one)."""
    return _run("enrich", data_interval_start, run_id, shard=shard["shard"], of=shard["of"])


@task(task_id="detect_part", map_index_template="{{ task.op_kwargs['part']['name'] }}")
def detect_part(part: dict, data_interval_start=None, run_id=None) -> dict:
    """One part of the day's detection: the copies over the day, or one topic's detectors."""
    return _run("detect_part", data_interval_start, run_id, part=part["part"], of=part["of"])


@dag(
    dag_id="listening_nightly",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.parse(os.environ.get("VIGIE_START_DATE", "2026-11-01"), tz="UTC"),
    catchup=True,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["vigie", "listening"],
    doc_md=__doc__,
)
def listening_nightly():
    shards, merged = step("plan_shards"), step("merge_mentions")
    chain(wait_for_collection(), step("ingest"), shards, enrich.expand(shard=shards), merged)
    metrics, influence, desk, campaigns = (step(name) for name in
                                           ("compute_metrics", "score_influence", "track_responses", "measure_campaigns"))
    parts, alerts, validate = step("plan_detection"), step("gather_alerts"), step("validate")
    merged >> [metrics, influence, desk, campaigns]
    chain(metrics, parts, detect_part.expand(part=parts), alerts)  # detection reads the day's metrics
    desk >> alerts  # and the response desk (overdue answers)
    [influence, campaigns, alerts] >> validate
    chain(validate, step("publish"), step("deliver"), step("summarise"))


listening_nightly()
