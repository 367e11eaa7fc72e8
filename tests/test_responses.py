"""The response desk against the simulator's truth: answered or not, how fast, and the overdue alert.

The event lake (tests/alerting_lake.py) is simulated with `answers=True`: the institution's
accounts answer some questions after known delays, leave others unanswered, and reddit and
youtube, where it has no account, cannot show an answer ("unknown").
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from listening import lake, responses
from listening.schema import RESPONSE_METRICS, RESPONSES


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from alerting_lake import DAYS, START, build

    root, truth, results = build(tmp_path_factory.mktemp("alerting"))
    answers = next(e for e in truth["events"] if e["type"] == "answers")["questions"]
    return root, answers, [START + timedelta(days=k) for k in range(DAYS)], results


def _ts(s: str | None):
    return datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None


def test_answered_flags_and_response_times_equal_the_truth(built):
    root, answers, days, _ = built
    checked = 0
    for day in days:
        end = responses.end_of(day)
        desk = lake.read_partition(root, RESPONSES, dt=day)
        for r in desk.to_pylist():
            t = answers.get(r["post_id"])
            if t is None:
                continue  # a post the triage read as a question, the simulator did not plant as one
            checked += 1
            answered = t["status"] == "answered" and _ts(t["answered_at"]) < end
            if t["status"] == "unknown":
                assert r["status"] == "unknown", r
            elif answered:
                assert r["status"] == "answered", r
                assert r["answer_id"] == t["answer_id"] and r["answered_by"]
                assert abs(r["response_hours"] - t["delay_hours"]) < 1e-3
            else:
                assert r["status"] == "unanswered", (day, r, t)
                assert r["response_hours"] is None
            assert r["overdue_24h"] == ((r["status"] == "unanswered" and r["age_hours"] > 24)
                                        or (r["status"] == "answered" and r["response_hours"] > 24))
    assert checked >= 100
    # most planted questions reach the desk (the triage reads them as questions to the institution)
    last = {r["post_id"] for day in days for r in lake.read_partition(root, RESPONSES, dt=day).to_pylist()}
    assert len(set(answers) & last) >= 0.8 * len(answers)


def test_every_category_is_seen(built):
    root, answers, days, _ = built
    desk = lake.read_partition(root, RESPONSES, dt=days[-1]).to_pylist()
    statuses = {r["status"] for r in desk}
    assert statuses == {"answered", "unanswered", "unknown"}
    hours = [r["response_hours"] for r in desk if r["status"] == "answered"]
    assert min(hours) < 24 and max(hours) > 24


def test_metrics_per_team_and_topic(built):
    root, _, days, _ = built
    day = days[-1]
    desk = lake.read_partition(root, RESPONSES, dt=day).to_pylist()
    m = {(r["team"], r["topic"]): r for r in lake.read_partition(root, RESPONSE_METRICS, dt=day).to_pylist()}
    mine = [r for r in desk if "parlement" in r["topics"]]
    row = m[("communication", "parlement")]
    known = [r for r in mine if r["status"] != "unknown"]
    assert row["awaiting"] == len(known) and row["unknown"] == len(mine) - len(known)
    assert row["answered"] == sum(r["status"] == "answered" for r in known)
    assert row["response_rate"] == pytest.approx(row["answered"] / row["awaiting"])
    assert row["overdue_48h"] == sum(r["overdue_48h"] for r in mine) <= row["overdue_24h"]
    assert ("communication", None) in m     # the team as a whole


def test_overdue_alert_lists_each_post_once_on_the_right_day_and_not_when_answered_in_time(built):
    root, answers, days, _ = built
    alerts = [a for a in lake.read_dataset(root, "alerts").to_pylist() if a["detector"] == "unanswered"]
    assert alerts
    owner = {"parlement": "communication", "budget-2027": "greffe", "climate-bill": "greffe", "agora": "campagnes"}
    per_post = {}
    for a in alerts:
        assert a["severity"] == "red" and a["team"] == owner[a["topic"]]   # routed to the topic's team
        assert len({(x["topic"], x["window_end"].date()) for x in alerts if x["topic"] == a["topic"]
                    and x["window_end"].date() == a["window_end"].date()}) == 1   # one alert per topic and day
        for pid in a["evidence_post_ids"]:
            per_post.setdefault(pid, []).append(a)
    assert all(len(v) == 1 for v in per_post.values())        # each post alerted once
    desk = {r["post_id"]: r for day in days for r in lake.read_partition(root, RESPONSES, dt=day).to_pylist()}
    for pid, [a] in per_post.items():
        due = desk[pid]["created_at"] + timedelta(hours=24)
        assert a["window_start"] <= desk[pid]["created_at"] and due <= a["window_end"]
        assert due.date() == a["window_end"].date()   # raised on the day it fell due
        t = answers.get(pid)
        if t is not None:
            assert t["status"] != "unknown"
            assert t["status"] == "unanswered" or _ts(t["answered_at"]) > due   # not answered in time
    # every planted question answered within 24 h raised nothing
    quick = {pid for pid, t in answers.items() if t["status"] == "answered" and t["delay_hours"] <= 24}
    assert quick and not quick & set(per_post)


def test_posts_of_a_platform_without_the_institution_are_unknown_not_unanswered():
    t0 = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
    cands = pa.Table.from_pylist([
        {"post_id": "reddit:1", "platform": "reddit", "url": None, "created_at": t0, "topics": ["parlement"],
         "triage": "question", "urgency": "red", "addresses_institution": True},
        {"post_id": "x:1", "platform": "x", "url": None, "created_at": t0, "topics": ["parlement"],
         "triage": "question", "urgency": "red", "addresses_institution": True},
        {"post_id": "x:2", "platform": "x", "url": None, "created_at": t0, "topics": ["parlement"],
         "triage": "question", "urgency": "red", "addresses_institution": True},
    ])
    replies = pa.Table.from_pylist([  # the institution answers x:3, itself a reply to x:2: an answer in the thread
        {"post_id": "x:9", "platform": "x", "created_at": t0 + timedelta(hours=3), "reply_to": "x:3",
         "author_handle": "@parlbxl"}])
    parents = pa.Table.from_pylist([{"post_id": "x:3", "reply_to": "x:2"}, {"post_id": "x:9", "reply_to": "x:3"}])
    desk = {r["post_id"]: r for r in
            responses.desk(cands, replies, parents, date(2026, 11, 2), {"parlement": "communication"}, {"x"}).to_pylist()}
    assert desk["reddit:1"]["status"] == "unknown" and not desk["reddit:1"]["overdue_24h"]
    assert desk["x:1"]["status"] == "unanswered"
    assert desk["x:2"]["status"] == "answered" and desk["x:2"]["response_hours"] == pytest.approx(3)
    assert desk["x:2"]["teams"] == ["communication"]
    alerts = responses.overdue_alerts(pa.Table.from_pylist(list(desk.values()), schema=RESPONSES.schema),
                                      date(2026, 11, 3), 24, "en")
    assert [a["evidence_post_ids"] for a in alerts] == [["x:1"]]
    assert alerts[0]["title"] == "Unanswered for 24 h: 1 urgent post(s) addressed to the institution"
    assert responses.overdue_alerts(pa.Table.from_pylist(list(desk.values()), schema=RESPONSES.schema),
                                    date(2026, 11, 4), 24, "en") == []   # not again the next day


def test_the_digest_lists_what_is_overdue(built):
    from listening import alerts, pipeline

    root, _, days, _ = built
    day = days[-1]
    run = pipeline.make_run(day, "r", lake_dir=str(root))
    desk = lake.read_partition(root, RESPONSES, dt=day).to_pylist()
    late = [r for r in desk if "communication" in r["teams"] and r["status"] == "unanswered" and r["overdue_24h"]]
    assert late
    text = alerts.digests(run, "vigie@example.org")["communication"].get_body(("plain",)).get_content()
    assert f"En attente de réponse depuis plus de 24 h\u00a0: {len(late)} " in text
    oldest = max(late, key=lambda r: r["age_hours"])
    assert (oldest["url"] or oldest["post_id"]) in text


def test_the_daily_report_shows_the_desk_and_the_campaign(built):
    import re

    from listening import pipeline, report_html
    from listening.schema import CAMPAIGN_DAILY

    root, _, days, _ = built
    day = days[-1]
    run = pipeline.make_run(day, "r", lake_dir=str(root))
    page = report_html.group_page(run, "institution")
    desk = [r for r in lake.read_partition(root, RESPONSES, dt=day).to_pylist() if "parlement" in r["topics"]]
    known = [r for r in desk if r["status"] != "unknown"]
    assert re.search(rf'<td class="n awaiting">{len(known)}</td>', page)
    assert re.search(rf'<td class="n late24">{sum(r["overdue_24h"] for r in desk)}</td>', page)
    [agora] = lake.read_partition(root, CAMPAIGN_DAILY, dt=day).to_pylist()
    page = report_html.group_page(run, "campaigns")
    assert re.search(rf'data-campaign="agora">.*?<td class="n people">{agora["people"]:,}</td>', page, re.S)
    assert f"jour {agora['day_of_campaign']}" in page
