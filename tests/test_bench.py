"""A tiny run of the benchmark harness, so it can't rot (benchmarks themselves never run here)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO


def test_bench_harness_smoke(tmp_path):
    md = tmp_path / "performance.md"
    res = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--sizes", "500", "--results",
                          str(tmp_path), "--markdown", str(md)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "VIGIE_BENCH_CACHE": str(tmp_path / "cache")})
    assert res.returncode == 0, res.stderr[-2000:]
    (result,) = json.loads(next(tmp_path.glob("*.json")).read_text())["results"]
    stages = {r["stage"]: r for r in result["stages"]}
    for stage in ("ingest", "normalise", "match", "language", "sentiment", "metrics", "validation", "parquet write"):
        assert stage in stages and stages[stage]["wall_s"] > 0
        assert stages[stage]["ratio"] > 0, f"{stage} has no bare-library comparison"
    assert stages["detection"]["posts"] == result["mentions"] and stages["detection"]["wall_s"] > 0
    # the yardsticks do the same work as the stage: the bare cleaning gives our texts, networkx ranks our graphs
    assert stages["normalise"]["same_output"] is True
    assert stages["influence"]["pagerank_wall_s"] > 0 and stages["influence"]["ratio_vs_simple"] > 0
    spacy_posts = stages["enrichment of spaCy's posts alone"]
    assert 0 < spacy_posts["posts"] < result["posts"] and spacy_posts["ratio"] > 0
    assert result["posts"] == 500 and 0 < result["mentions"] <= 500
    assert result["nightly"]["peak_rss_mb"] > 50
    text = md.read_text()
    assert "| ingest |" in text and "nightly run" in text
