"""A small lake with planted events, built once per test session for the detector and delivery tests.

A simulated corpus of 14 days (the planted events fall on days 8 to 12) goes through the nightly
run's functions; detect_day runs after compute_metrics, as the pipeline will run it. Validation
runs on the campaign day only (GX takes seconds per run): the alerts suite checks the alerts.
"""
from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

START = date(2026, 11, 2)
DAYS = 14
POSTS = 5000
SEED = 5
VALIDATE_DAY = START + timedelta(days=11)   # the coordinated campaign

_cache: dict[str, tuple[Path, dict, dict]] = {}


def build(base: Path) -> tuple[Path, dict, dict]:
    """(lake root, truth manifest, detect_day result per day); cached for the session."""
    if "lake" in _cache:
        return _cache["lake"]
    from listening import detect, pipeline, simulate

    os.environ.setdefault("VIGIE_PSEUDONYM_KEY", "test-key")
    corpus, root = base / "corpus", base / "lake"
    simulate.simulate(corpus, start=START, days=DAYS, posts=POSTS, seed=SEED, answers=True)
    results = {}
    for k in range(DAYS):
        day = START + timedelta(days=k)
        run = pipeline.make_run(day, f"test-{day}", import_dir=str(corpus / "import"), lake_dir=str(root))
        pipeline.ingest(run)
        pipeline.build_mentions(run)
        pipeline.compute_metrics(run)
        pipeline.score_influence(run)
        pipeline.track_responses(run)
        pipeline.measure_campaigns(run)
        results[day] = detect.detect_day(run)
        if day == VALIDATE_DAY:
            results["validate"] = pipeline.validate(run)
        pipeline.publish(run)
    truth = json.loads((corpus / "truth.json").read_text())
    _cache["lake"] = (root, truth, results)
    return _cache["lake"]
