"""What validation costs in a nightly run: one simulated day of N posts through every step.

    .venv/bin/python bench/bench_validation.py --posts 200000

Prints the wall time of each step, validation's share of the run, and validation time per
million rows checked (raw + mentions + metrics). Times drift on a shared machine; the share is
the figure to quote.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("VIGIE_PSEUDONYM_KEY", "bench")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--posts", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=3)
    args = p.parse_args()
    from listening import pipeline, simulate
    from listening.schema import QUALITY
    from listening import lake

    import great_expectations  # noqa: F401  (import time is not part of a step)
    import lingua  # noqa: F401

    with tempfile.TemporaryDirectory() as tmp:
        corpus, root = Path(tmp) / "corpus", Path(tmp) / "lake"
        start = date(2026, 11, 2)
        simulate.simulate(corpus, start=start, days=1, posts=args.posts, seed=args.seed)
        run = pipeline.make_run(start, "bench", import_dir=str(corpus), lake_dir=str(root))
        # A warm-up day so models and GX stores are loaded, as in a long-lived worker.
        times = {}
        # the nightly steps in one process: build_mentions does plan_shards, enrich and merge_mentions
        steps = {n: fn for n, fn in pipeline.STEP_FUNCTIONS.items() if n not in ("plan_shards", "merge_mentions")}
        for name, fn in steps.items():
            t = time.perf_counter()
            fn(run)
            times[name] = time.perf_counter() - t
        q = lake.read_partition(root, QUALITY, dt=start).to_pylist()
        rows = sum({(r["layer"]): r["rows"] for r in q if r["layer"] != "raw.volume"}.values())
    total = sum(times.values())
    out = {"posts": args.posts, "steps_s": {k: round(v, 2) for k, v in times.items()}, "total_s": round(total, 2),
           "validate_share": round(times["validate"] / total, 3), "rows_validated": rows,
           "validate_s_per_million_rows": round(times["validate"] / rows * 1e6, 1)}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
