"""Time to recover from the faults the reliability tests inject (figures for docs/reliability.md).

Each fault is injected for real, as in tests/, and the recovery is timed on this machine:
- a nightly run killed (SIGKILL) mid-write: the wall time of the next attempt, which publishes
  the complete day (Airflow adds its retry delay, 5 minutes, before it);
- a platform down for 6 hours (fake Mastodon over real HTTP, 6 failed hourly runs while posts
  keep coming): the wall time of the first run once it is back, which lands the whole gap;
- an SMTP server refusing the first two attempts: the time until the alert is accepted, once.

    PYTHONPATH=plugins:tests .venv/bin/python bench/recovery.py [--posts 1500]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "plugins"), str(REPO / "tests")]


def killed_run(tmp: Path, posts: int) -> dict:
    from listening import pipeline, simulate
    from test_reliability import KILLER

    corpus = tmp / "corpus"
    simulate.simulate(corpus, posts=posts, days=2, seed=11)
    start = date.fromisoformat(json.loads((corpus / "truth.json").read_text())["start"])
    lake = tmp / "lake-killed"
    pipeline.run_day(start, run_id="r", import_dir=str(corpus / "import"), lake_dir=str(lake))
    day = start + timedelta(days=1)
    env = {**os.environ, "PYTHONPATH": str(REPO / "plugins")}
    res = subprocess.run([sys.executable, "-c", KILLER, day.isoformat(), "5", str(corpus / "import"), str(lake)],
                         env=env, capture_output=True)
    assert res.returncode == -9, res.stderr[-2000:]
    t = time.perf_counter()
    pipeline.run_day(day, run_id="r2", import_dir=str(corpus / "import"), lake_dir=str(lake))
    return {"fault": "nightly run killed mid-write", "posts_in_day": posts // 2,
            "recovery_seconds": round(time.perf_counter() - t, 1),
            "how": "the next attempt (Airflow retries after 5 min) publishes the complete day"}


def platform_down(tmp: Path, per_hour: int = 100) -> dict:
    from fakes.harness import client, config_with, landed, run
    from fakes.mastodon import Mastodon, corpus, status
    from fakes.server import FakeServer
    from listening.sources.base import SourceError

    now = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
    app = Mastodon(corpus(per_hour, now - timedelta(minutes=1), every=timedelta(seconds=3600 // per_hour)))
    lake = tmp / "lake-down"
    with FakeServer(app) as server:
        app.url = server.url
        cfg = config_with(tmp, {"mastodon": {"base_url": server.url, "topics": ["parlement"], "search": False}})
        run("mastodon", "parlement", cfg, lake, now)
        server.down()
        n = per_hour
        for h in range(1, 7):
            app.add(*(status(10_000 + n + i, now + timedelta(hours=h - 1, seconds=i * 3600 // per_hour))
                      for i in range(per_hour)))
            n += per_hour
            try:
                run("mastodon", "parlement", cfg, lake, now + timedelta(hours=h))
            except SourceError:
                pass
        server.up()
        t = time.perf_counter()
        summary = run("mastodon", "parlement", cfg, lake, now + timedelta(hours=7), cl=client(timeout=10))
        took = time.perf_counter() - t
    lines = landed(lake, "mastodon")
    assert summary["posts"] == 6 * per_hour and len({x["id"] for x in lines}) == len(lines) == 7 * per_hour
    return {"fault": "platform down 6 hours", "posts_in_gap": 6 * per_hour, "pages": summary["pages"],
            "recovery_seconds": round(took, 2),
            "how": "the first hourly run after it is back (at most 60 min later) lands the whole gap, none twice"}


def smtp_refusing(tmp: Path) -> dict:
    from aiosmtpd.controller import Controller

    from listening import alerts

    received, refusals = [], [2]

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            if refusals[0] > 0:
                refusals[0] -= 1
                return "451 4.3.0 try again later"
            received.append(envelope.content)
            return "250 OK"

    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        smtp = alerts.Smtp(host="127.0.0.1", port=port, sender="vigie@test")
        from email.message import EmailMessage

        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "vigie@test", "team@test", "red alert"
        msg.set_content("x")
        t = time.perf_counter()
        out = alerts.deliver_message(tmp / "lake-smtp", "bench-alert", msg, ["team@test"], ["a1"], smtp,
                                     tmp / "outbox")
        took = time.perf_counter() - t
        again = alerts.deliver_message(tmp / "lake-smtp", "bench-alert", msg, ["team@test"], ["a1"], smtp,
                                       tmp / "outbox")
    finally:
        ctl.stop()
    assert out["sent"] == ["team@test"] and again["skipped"] == ["team@test"] and len(received) == 1
    return {"fault": "SMTP server refusing twice", "recovery_seconds": round(took, 1),
            "how": f"{alerts.ATTEMPTS} attempts, backoff {alerts.BACKOFF_SECONDS:g} s doubling; delivered once"}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=1500)
    args = ap.parse_args()
    os.environ.setdefault("VIGIE_PSEUDONYM_KEY", "bench")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    out = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["VIGIE_LAKE"] = str(tmp / "lake")
        for f in (platform_down, smtp_refusing):
            out.append(f(tmp))
            print(json.dumps(out[-1]))
        out.append(killed_run(tmp, args.posts))
        print(json.dumps(out[-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
