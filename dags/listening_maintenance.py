"""Maintenance: retention of personal data, every day after the nightly run.

Wiring only: the logic is `listening.privacy.apply_retention`.
"""
from __future__ import annotations

import os

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="listening_maintenance",
    schedule="30 3 * * *",
    start_date=pendulum.parse(os.environ.get("VIGIE_START_DATE", "2026-11-01"), tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["vigie", "gdpr"],
    doc_md=__doc__,
)
def listening_maintenance():
    @task
    def retention(logical_date=None) -> dict:
        from listening import privacy
        from listening.config import lake_root, load_config

        cfg = load_config()
        return privacy.apply_retention(lake_root(cfg), logical_date.date(), cfg.settings.retention_days,
                                       cfg.settings.raw_retention_days)

    retention()


listening_maintenance()
