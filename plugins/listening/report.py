"""The day in one screen, and the daily digest e-mail per team.

The summary is written next to the data (`<lake>/reports/dt=<day>/summary.json`) and printed
by the demo; the digest goes to the outbox (`<lake>/outbox/dt=<day>/digest-<team>.eml`), one
RFC 5322 message per team, which any mail client opens and the alerts stage can send.
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from listening import collect, lake
from listening.schema import METRICS_DAILY, MENTIONS, QUALITY, QUARANTINE

TEXT = {
    "fr": {"subject": "Veille du {day} : {posts} mentions", "hello": "Bonjour,",
           "intro": "Voici la veille du {day} pour vos sujets.",
           "line": "- {label} : {posts} mentions, {authors} auteurs, ton {pos} positif / {neu} neutre / {neg} négatif",
           "none": "Aucune mention aujourd'hui.", "more": "Les données et le rapport de validation sont dans {lake}.",
           "report": "Le rapport du jour"},
    "en": {"subject": "Listening for {day}: {posts} mentions", "hello": "Hello,",
           "intro": "Here is the listening for {day} on your topics.",
           "line": "- {label}: {posts} mentions, {authors} authors, tone {pos} positive / {neu} neutral / {neg} negative",
           "none": "No mention today.", "more": "The datasets and the validation report are in {lake}.",
           "report": "The day's report"},
}


def _pct(n: int, total: int) -> str:
    return f"{round(100 * n / total)}%" if total else "-"


def daily_summary(run) -> dict:
    day = run.day
    metrics = lake.read_partition(run.lake, METRICS_DAILY, dt=day)
    m_path = lake.partition_dir(run.lake, MENTIONS, dt=day) / lake.PART
    mentions = lake.read_table(m_path, columns=["lang"]) if m_path.exists() else None  # one column, not the day
    quality = lake.read_partition(run.lake, QUALITY, dt=day)
    quarantined = 0
    qroot = run.lake / QUARANTINE.path
    for p in qroot.glob(f"layer=*/dt={day.isoformat()}/{lake.PART}") if qroot.exists() else []:
        quarantined += lake.read_file(p, QUARANTINE).num_rows
    topics = []
    for row in (metrics.to_pylist() if metrics is not None else []):
        topics.append({k: row[k] for k in ("topic", "posts", "unique_authors", "positive", "neutral",
                                            "negative", "unscored", "net_sentiment", "top_hashtags")})
    posts = 0
    raw_root = run.lake / "raw"
    for p in raw_root.glob(f"source=*/dt={day.isoformat()}/{lake.PART}") if raw_root.exists() else []:
        posts += lake.parquet_metadata(p).num_rows
    langs: dict[str, int] = {}
    if mentions is not None:
        for lang in mentions["lang"].to_pylist():
            langs[lang] = langs.get(lang, 0) + 1
    summary = {
        "day": day.isoformat(),
        "posts": posts,
        "mentions": mentions.num_rows if mentions is not None else 0,
        "languages": dict(sorted(langs.items())),
        "topics": topics,
        "quarantined": quarantined,
        "rules_failed": sum(1 for s in quality["success"].to_pylist() if not s) if quality is not None else 0,
        "alerts": _alerts_of(run),
        "sources": collect.health(run.lake, day),   # the hourly collection of the day, per platform
    }
    lake.write_atomic(run.lake / "reports" / f"dt={day.isoformat()}" / "summary.json",
                      json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    summary["digests"] = [str(p) for p in write_digests(run, summary)]
    return summary


def outbox_dir(run) -> Path:
    p = Path(run.config.settings.outbox)
    return p if p.is_absolute() else run.lake / p


def write_digests(run, summary: dict) -> list[Path]:
    """One digest per team (its topics' day and the day's alerts, HTML and text), written atomically
    to the outbox; the same bytes on a re-run. listening.alerts.deliver_day sends the same messages."""
    from listening import alerts

    out = alerts.outbox_dir(run)
    return [lake.write_atomic(out / f"digest-{team_name}.eml", bytes(msg))
            for team_name, msg in alerts.digests(run).items()]


def _alerts_of(run) -> list[dict]:
    from listening.schema import ALERTS

    t = lake.read_partition(run.lake, ALERTS, dt=run.day)
    order = {"red": 0, "amber": 1, "green": 2}
    rows = [{k: a[k] for k in ("severity", "topic", "detector", "title", "status")}
            for a in (t.to_pylist() if t is not None else [])]
    return sorted(rows, key=lambda a: (order.get(a["severity"], 3), a["topic"], a["detector"]))


def format_summary(summary: dict) -> str:
    """The one-screen text the demo prints per day."""
    lines = [f"{summary['day']}  {summary.get('posts', 0)} posts, {summary['mentions']} mentions  "
             f"languages {' '.join(f'{k}:{v}' for k, v in summary['languages'].items()) or '-'}  "
             f"quarantined {summary['quarantined']}  failed rules {summary['rules_failed']}"]
    for t in summary["topics"]:
        scored = t["positive"] + t["neutral"] + t["negative"]
        net = "" if t["net_sentiment"] is None else f"net {t['net_sentiment']:+.2f}"
        lines.append(f"  {t['topic']:<14} {t['posts']:>5} posts {t['unique_authors']:>5} authors  "
                     f"{_pct(t['positive'], scored):>4} pos {_pct(t['neutral'], scored):>4} neu "
                     f"{_pct(t['negative'], scored):>4} neg  {net}  {' '.join('#' + h for h in t['top_hashtags'][:3])}")
    for a in summary.get("alerts", []):
        if a["severity"] != "green":
            lines.append(f"  ! {a['severity'].upper():<5} {a['topic']:<14} {a['title'][:80]} ({a['status']})")
    for h in summary.get("sources", []):
        state = "DOWN" if h["down"] else "ok"
        lines.append(f"  source {h['source']:<9} {state:<4} {h['runs']} runs, {h['failed']} failed, {h['posts']} posts"
                     + (f", {h['gaps']} gaps" if h["gaps"] else "")
                     + (f"; failing since {h['failing_since']}: {h['last_error'][:100]}"
                        if h["down"] and h["last_error"] else ""))
    greens = sum(1 for a in summary.get("alerts", []) if a["severity"] == "green")
    if greens:
        lines.append(f"  + {greens} green alert(s) in the digest")
    return "\n".join(lines)


def report_links(run, topics) -> list[str]:
    """Where the daily HTML report of each group of these topics is (report_url, else the file)."""
    groups = sorted({tp.group for tp in topics})
    base = run.config.settings.report_url
    day = f"dt={run.day.isoformat()}"
    if base:
        return [f"{base.rstrip('/')}/{day}/{g}.html" for g in groups]
    pages = [run.lake / "reports" / day / f"{g}.html" for g in groups]
    return [str(p) if lake.remote(p) else p.resolve().as_uri() for p in pages]
