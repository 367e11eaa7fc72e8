"""The daily summary and the digest e-mails a team reads."""
from __future__ import annotations

import email
import email.policy
from datetime import date

import pyarrow as pa

from listening import lake, pipeline, report
from listening.schema import METRICS_DAILY

DAY = date(2026, 11, 2)


def _metrics(**counts) -> pa.Table:
    rows = []
    for topic in ["agora", "budget-2027", "climate-bill", "parlement"]:
        pos, neu, neg = counts.get(topic, (0, 0, 0))
        n = pos + neu + neg
        rows.append({"day": DAY, "topic": topic, "posts": n, "unique_authors": n, "positive": pos, "neutral": neu,
                     "negative": neg, "unscored": 0, "net_sentiment": (pos - neg) / n if n else None,
                     "mean_sentiment": None, "reach": 0, "engagement": 0, "replies": 0, "reposts": 0,
                     "lang_fr": n, "lang_nl": 0, "lang_en": 0, "lang_de": 0, "lang_other": 0,
                     "top_hashtags": ["budgetbxl"] if n else []})
    return pa.Table.from_pylist(rows, schema=METRICS_DAILY.schema)


def test_digest_per_team_with_its_topics(tmp_path):
    run = pipeline.make_run(DAY, "r", lake_dir=str(tmp_path / "lake"), import_dir=str(tmp_path))
    lake.write_partition(run.lake, METRICS_DAILY, _metrics(**{"budget-2027": (1, 2, 7), "parlement": (3, 0, 1)}), dt=DAY)
    summary = report.daily_summary(run)
    assert {t["topic"]: t["posts"] for t in summary["topics"]} == {
        "agora": 0, "budget-2027": 10, "climate-bill": 0, "parlement": 4}
    files = {p.split("/")[-1] for p in summary["digests"]}
    assert files == {"digest-campagnes.eml", "digest-communication.eml", "digest-greffe.eml"}
    greffe = email.message_from_bytes((run.lake / "outbox" / "dt=2026-11-02" / "digest-greffe.eml").read_bytes(),
                                      policy=email.policy.default)
    assert greffe["To"] == "greffe@parlement.example, commissions@parlement.example"
    assert "10 mentions" in greffe["Subject"]
    body = greffe.get_body(("plain",)).get_content()
    assert "70% négatif" in greffe.get_body(("html",)).get_content()
    assert "Budget régional 2027" in body and "70% négatif" in body
    assert "Le Parlement" not in body  # owned by the communication team
    # Local time zone in e-mails: 06:00 UTC is 07:00 in Brussels in November.
    assert greffe["Date"].endswith("07:00:00 +0100")


def test_summary_text_fits_a_screen(tmp_path):
    run = pipeline.make_run(DAY, "r", lake_dir=str(tmp_path / "lake"), import_dir=str(tmp_path))
    lake.write_partition(run.lake, METRICS_DAILY, _metrics(**{"budget-2027": (1, 2, 7)}), dt=DAY)
    text = report.format_summary(report.daily_summary(run))
    lines = text.splitlines()
    assert len(lines) == 5 and all(len(line) <= 120 for line in lines)
    assert "budget-2027" in text and "70% neg" in text


def test_digest_links_the_daily_report(tmp_path, monkeypatch):
    from listening import alerts

    run = pipeline.make_run(DAY, "r", lake_dir=str(tmp_path / "lake"), import_dir=str(tmp_path))
    lake.write_partition(run.lake, METRICS_DAILY, _metrics(**{"budget-2027": (1, 2, 7)}), dt=DAY)
    msgs = alerts.digests(run)
    greffe = msgs["greffe"]
    text = greffe.get_body(preferencelist=("plain",)).get_content()
    html_part = greffe.get_body(preferencelist=("html",)).get_content()
    expected = (run.lake / "reports" / "dt=2026-11-02" / "debates.html").resolve().as_uri()
    assert expected in text and f'href="{expected}"' in html_part
