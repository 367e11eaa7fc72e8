"""Precision, recall and lead time of the alert detectors on simulated corpora.

    python bench/eval_detection.py                       # 5 seeds with events, 3 quiet seeds
    python bench/eval_detection.py --seeds 3 --quiet-seeds 1 --posts 20000
    python bench/eval_detection.py --work /tmp/vigie-eval  # keep the lakes (re-used when present)

Each corpus is written by listening.simulate, run through the pipeline's functions (ingest,
build_mentions, compute_metrics, publish; validation is skipped here, it does not change the
data) and the detectors run on every day that has at least MIN_HISTORY_DAYS of history.

Matching: an alert is a true positive when it overlaps in time a planted event of its topic
(for emerging_hashtag, only the event's hashtag counts, on any topic its posts belong to; an
emerging_term alert counts when it overlaps any planted event of its topic); any other alert is
false. Alerts raised by another event of the same topic count as true (a volume
spike caused by the coordinated campaign is a real spike). Recall
counts a planted event found by the detector meant for it. Lead time is the hours from the
event's start to the start of the first matching alert's window. Quiet corpora (no planted
event) give false alerts per topic-week, by severity.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))
os.environ.setdefault("VIGIE_PSEUDONYM_KEY", "eval-key")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

from listening import detect, lake, pipeline, simulate  # noqa: E402
from listening.schema import MENTIONS, METRICS_DAILY, METRICS_HOURLY  # noqa: E402

DETECTOR_OF = {"volume_burst": "volume_spike", "sentiment_drop": "sentiment_drop",
               "new_hashtag": "emerging_hashtag", "coordinated_campaign": "coordinated_copies"}
DETECTORS = list(detect.DETECTORS)
START = date(2026, 11, 2)


def build_lake(work: Path, seed: int, days: int, posts: int, events: bool) -> tuple[Path, dict]:
    name = f"{'ev' if events else 'quiet'}-s{seed}-d{days}-p{posts}"
    if events and simulate.BURST_FACTOR != 6.0:
        name += f"-burst{simulate.BURST_FACTOR:g}"
    corpus, root = work / name / "corpus", work / name / "lake"
    done = work / name / "done"
    if not done.exists():
        manifest = simulate.simulate(corpus, start=START, days=days, posts=posts, seed=seed, events=events)
        for k in range(days):
            run = pipeline.make_run(START + timedelta(days=k), "eval", import_dir=str(corpus / "import"),
                                    lake_dir=str(root))
            pipeline.ingest(run)
            pipeline.build_mentions(run)
            pipeline.compute_metrics(run)
            pipeline.publish(run)
        done.write_text("ok")
    return root, json.loads((corpus / "truth.json").read_text())


def alerts_of(root: Path, days: int) -> list[dict]:
    out = []
    for k in range(detect.MIN_HISTORY_DAYS, days):
        d = START + timedelta(days=k)
        inputs = detect.inputs_from_lake(root, d, lake.read_partition(root, MENTIONS, dt=d),
                                         lake.read_partition(root, METRICS_HOURLY, dt=d),
                                         lake.read_partition(root, METRICS_DAILY, dt=d))
        out += detect.detect(**inputs)
    return out


def _ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def matches(alert: dict, event: dict, any_topic_for_hashtag: bool = False) -> bool:
    """The alert shows the event: same topic, overlapping windows (same hashtag for hashtag alerts).

    With `any_topic_for_hashtag`, the event's hashtag raised on another topic counts too (posts
    carrying it also belong to other topics): used for precision, not for recall.
    """
    if not (alert["window_start"] < _ts(event["end"]) and alert["window_end"] > _ts(event["start"])):
        return False
    if alert["detector"] == "emerging_hashtag":
        same = (alert["subject"] or "").lower() == event.get("hashtag", "").lower()
        return event["type"] == "new_hashtag" and same and (any_topic_for_hashtag or alert["topic"] == event["topic"])
    return alert["topic"] == event.get("topic")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--quiet-seeds", type=int, default=3)
    ap.add_argument("--posts", type=int, default=20000, help="posts per 14 days")
    ap.add_argument("--quiet-days", type=int, default=28)
    ap.add_argument("--work", default=None)
    ap.add_argument("--json", default=None, help="also write the figures as JSON here")
    ap.add_argument("--burst-factor", type=float, default=None,
                    help="sensitivity: plant the volume burst at this multiple of the usual volume (default 6)")
    a = ap.parse_args(argv)
    if a.burst_factor:
        simulate.BURST_FACTOR = a.burst_factor  # the simulator reads its module constant when planning
    work = Path(a.work or tempfile.mkdtemp(prefix="vigie-eval-"))
    work.mkdir(parents=True, exist_ok=True)

    tp = defaultdict(int)
    fp = defaultdict(int)
    found = defaultdict(int)
    planted = defaultdict(int)
    leads = defaultdict(list)
    fp_sev = defaultdict(int)
    for seed in range(1, a.seeds + 1):
        root, truth = build_lake(work, seed, 14, a.posts, True)
        events = [e for e in truth["events"] if e["type"] in DETECTOR_OF
                  and _ts(e["start"]).date() >= START + timedelta(days=detect.MIN_HISTORY_DAYS)]
        alerts = alerts_of(root, 14)
        for al in alerts:
            if any(matches(al, e, any_topic_for_hashtag=True) for e in truth["events"]):
                tp[al["detector"]] += 1
            else:
                fp[al["detector"]] += 1
                fp_sev[(al["detector"], al["severity"])] += 1
        for e in events:
            det = DETECTOR_OF[e["type"]]
            planted[det] += 1
            hits = [al for al in alerts if al["detector"] == det and matches(al, e)]
            if hits:
                found[det] += 1
                first = min(al["window_start"] for al in hits)
                leads[det].append((first - _ts(e["start"])).total_seconds() / 3600)
        print(f"seed {seed}: {len(alerts)} alerts, events {[e['id'] for e in events]}", file=sys.stderr)

    quiet = defaultdict(int)
    topic_weeks = 0.0
    quiet_posts = a.posts * a.quiet_days // 14
    for seed in range(101, 101 + a.quiet_seeds):
        root, truth = build_lake(work, seed, a.quiet_days, quiet_posts, False)
        alerts = alerts_of(root, a.quiet_days)
        topics = len(pipeline.make_run(START, "eval").config.watchlists.topics)
        topic_weeks += topics * (a.quiet_days - detect.MIN_HISTORY_DAYS) / 7
        for al in alerts:
            quiet[(al["detector"], al["severity"])] += 1
        print(f"quiet seed {seed}: {len(alerts)} alerts", file=sys.stderr)

    lines = [f"Planted events: {a.seeds} seeds x 14 days x {a.posts} posts; quiet: {a.quiet_seeds} seeds x "
             f"{a.quiet_days} days x {quiet_posts} posts ({topic_weeks:.0f} topic-weeks evaluated).", "",
             "| detector | planted | recall | precision (TP/all) | median lead (h) | lead range (h) | "
             "quiet: false alerts per topic-week (green / amber / red) | false red per topic-month |",
             "|---|---|---|---|---|---|---|---|"]
    figures = {}
    for det in DETECTORS:
        n = planted.get(det, 0)
        rec = f"{found[det] / n:.2f} ({found[det]}/{n})" if n else "n/a (no planted event)"
        alls = tp[det] + fp[det]
        prec = f"{tp[det] / alls:.2f} ({tp[det]}/{alls})" if alls else "n/a (no alert)"
        ls = leads.get(det, [])
        med = f"{statistics.median(ls):.1f}" if ls else "-"
        rng = f"{min(ls):.1f} to {max(ls):.1f}" if ls else "-"
        per = [quiet[(det, s)] / topic_weeks if topic_weeks else 0 for s in ("green", "amber", "red")]
        red_month = per[2] * 30 / 7
        lines.append(f"| {det} | {n} | {rec} | {prec} | {med} | {rng} | "
                     f"{per[0]:.2f} / {per[1]:.2f} / {per[2]:.2f} | {red_month:.2f} |")
        figures[det] = {"planted": n, "found": found[det], "tp": tp[det], "fp": fp[det], "leads": ls,
                        "quiet": {s: quiet[(det, s)] for s in ("green", "amber", "red")}}
    figures["_topic_weeks"] = topic_weeks
    print("\n".join(lines))
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
