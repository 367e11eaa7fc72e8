"""The response desk: did the institution answer the people who addressed it, and how fast.

The guide for parliaments asks for an answer within 48 hours, 24 if possible. Every night, the
posts of the last `response_window_days` days that call for an answer (addressed to one of the
institution's accounts, triaged question, negative or misinformation) are matched with the
replies of the institution's own accounts found in the raw layer: a reply to the post itself
or anywhere below it in its thread. Own replies rarely mention a watched keyword, so they are
looked for in `raw`, not in `mentions`.

A platform on which none of the institution's accounts posted anything in the window is taken
as one whose replies are not collected: its posts are "unknown", never "unanswered".

The `responses` dataset of day D is the desk as it stood at the end of D (a snapshot, so a
re-run of D gives the same rows whatever happened later); `response_metrics` sums it per team
and topic. Red posts still unanswered `response_alert_hours` after they were published raise an
alert on the day that delay runs out: one per topic listing them (each post in exactly one),
routed to the team owning the topic.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from listening.lake import at as lake_at
from listening.schema import RESPONSE_METRICS, RESPONSES, conform

NEEDS_ANSWER = ("question", "negative", "misinformation")
THREAD_DEPTH = 6  # replies below replies looked through, at most


def end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=timezone.utc)


def candidates(mentions: pa.Table) -> pa.Table:
    """Posts that call for an answer."""
    if not mentions.num_rows:
        return mentions
    keep = pc.and_(mentions["addresses_institution"], pc.is_in(mentions["triage"], pa.array(NEEDS_ANSWER)))
    return mentions.filter(keep)


def own_posts(raw: pa.Table, own) -> pa.Table:
    """The raw posts written by the institution's accounts (`own`: platform -> AccountSet)."""
    if not raw.num_rows:
        return raw.select(["post_id", "platform", "created_at", "reply_to", "author_handle"])
    mask = [h in own.get(p, ()) for p, h in zip(raw["platform"].to_pylist(), raw["author_handle"].to_pylist())]
    return raw.filter(pa.array(mask, pa.bool_())).select(["post_id", "platform", "created_at", "reply_to",
                                                          "author_handle"])


def first_answers(wanted: set[str], replies: pa.Table, raw_parents: pa.Table) -> dict[str, tuple]:
    """Earliest own reply per wanted post: (answer id, handle, time), walking up each reply's thread.

    `raw_parents` holds post_id -> reply_to for the window's raw posts, so a reply to a reply to
    the question still counts as an answer to it.
    """
    parent = {}
    # Only the chains above the own replies matter: fetch them level by level.
    frontier = {r for r in replies["reply_to"].to_pylist() if r}
    for _ in range(THREAD_DEPTH):
        frontier -= parent.keys()
        if not frontier:
            break
        hit = raw_parents.filter(pc.is_in(raw_parents["post_id"], pa.array(sorted(frontier), pa.string())))
        found = dict(zip(hit["post_id"].to_pylist(), hit["reply_to"].to_pylist()))
        parent.update({k: found.get(k) for k in frontier})
        frontier = {v for v in found.values() if v}
    best: dict[str, tuple] = {}
    order = sorted(zip(replies["created_at"].to_pylist(), replies["post_id"].to_pylist(),
                       replies["author_handle"].to_pylist(), replies["reply_to"].to_pylist()))
    for at, pid, handle, up in order:
        seen = 0
        while up and seen <= THREAD_DEPTH:
            if up in wanted and up not in best:
                best[up] = (pid, handle, at)
            up, seen = parent.get(up), seen + 1
    return best


def desk(cands: pa.Table, replies: pa.Table, raw_parents: pa.Table, day: date, teams_of: dict[str, str],
         observed: set[str]) -> pa.Table:
    """The responses dataset of `day`: each candidate with its status at the end of the day."""
    as_of = end_of(day)
    rows = []
    if cands.num_rows:
        replies = replies.filter(pc.less(replies["created_at"], pa.scalar(as_of, replies.schema.field("created_at").type)))
        answers = first_answers(set(cands["post_id"].to_pylist()), replies, raw_parents)
        for m in cands.select(["post_id", "platform", "url", "created_at", "topics", "triage", "urgency"]).to_pylist():
            ans = answers.get(m["post_id"])
            if ans and ans[2] >= m["created_at"]:
                status, hours = "answered", (ans[2] - m["created_at"]).total_seconds() / 3600
                age = hours
            else:
                ans, hours = None, None
                status = "unanswered" if m["platform"] in observed else "unknown"
                age = (as_of - m["created_at"]).total_seconds() / 3600
            late = (lambda h: (status == "unanswered" and age > h) or (hours is not None and hours > h))
            rows.append({**m, "teams": sorted({teams_of[t] for t in m["topics"] if t in teams_of}),
                         "status": status, "answered_by": ans[1] if ans else None, "answer_id": ans[0] if ans else None,
                         "answered_at": ans[2] if ans else None, "response_hours": hours, "age_hours": age,
                         "overdue_24h": late(24), "overdue_48h": late(48)})
    return conform(RESPONSES, pa.Table.from_pylist(rows, schema=RESPONSES.schema))


def summary(rs: list[dict], team: str | None = None, topic: str | None = None) -> dict:
    """The desk's measures over some of its rows (a team's, a topic's, a report group's)."""
    known = [r for r in rs if r["status"] != "unknown"]
    answered = [r["response_hours"] for r in known if r["status"] == "answered"]
    return {"team": team, "topic": topic, "awaiting": len(known), "answered": len(answered),
            "unknown": len(rs) - len(known),
            "response_rate": len(answered) / len(known) if known else None,
            "median_response_hours": float(np.median(answered)) if answered else None,
            "p90_response_hours": float(np.percentile(answered, 90)) if answered else None,
            "overdue_24h": sum(r["overdue_24h"] for r in rs), "overdue_48h": sum(r["overdue_48h"] for r in rs)}


def metrics(responses: pa.Table, teams_of: dict[str, str]) -> pa.Table:
    """Per team and topic, and per team (topic null): every configured pair gets a row, zeros included."""
    rows = responses.to_pylist()
    out = []
    for team in sorted(set(teams_of.values())):
        topics = sorted(t for t, tm in teams_of.items() if tm == team)
        for topic in topics:
            out.append(summary([r for r in rows if topic in r["topics"]], team, topic))
        out.append(summary([r for r in rows if set(r["topics"]) & set(topics)], team))
    return conform(RESPONSE_METRICS, pa.Table.from_pylist(out, schema=RESPONSE_METRICS.schema))


def overdue(responses: pa.Table, start: datetime, end: datetime, delay_hours: float) -> list[dict]:
    """Red posts whose answer delay ran out in [start, end) with no answer by then."""
    late = []
    for r in responses.to_pylist():
        if r["urgency"] != "red" or r["status"] == "unknown" or not r["topics"]:
            continue
        due = r["created_at"] + timedelta(hours=delay_hours)
        if start <= due < end and not (r["answered_at"] is not None and r["answered_at"] <= due):
            late.append({**r, "due": due})
    return late


def _alert(topic: str, rows: list[dict], ws: datetime, we: datetime, subject: str, delay_hours: float,
           lang: str) -> dict:
    from listening.detect import _row

    rows = sorted(rows, key=lambda r: (r["created_at"], r["post_id"]))
    t = TEXT[lang if lang in TEXT else "en"]
    kinds = ", ".join(f"{n} {t['kinds'].get(k, k)}" for k, n in
                      sorted(((k, sum(r["triage"] == k for r in rows)) for k in {r["triage"] for r in rows})))
    links = " ; ".join(r["url"] or r["post_id"] for r in rows[:10]) + (" …" if len(rows) > 10 else "")
    return _row(topic, "unanswered", "red", len(rows), ws, we,
                t["title"].format(n=len(rows), hours=f"{delay_hours:g}"),
                t["why"].format(n=len(rows), kinds=kinds, hours=f"{delay_hours:g}", links=links),
                [r["post_id"] for r in rows], subject=subject, observed=len(rows), expected=0)


def hourly_ledger_path(lake: Path, day: date) -> Path:
    return lake_at(lake) / "_state" / "desk_alerts" / f"{day.isoformat()}.json"


def hourly_ledger(lake: Path, day: date) -> list[dict]:
    p = hourly_ledger_path(lake, day)
    return json.loads(p.read_text()) if p.exists() else []


def hourly_overdue_alerts(lake: Path, responses: pa.Table, day: date, until: datetime, delay_hours: float,
                          lang: str = "fr", already: set[str] = frozenset()) -> list[dict]:
    """The hourly path: posts of `day` whose delay ran out before `until` and that no alert has
    listed yet (`already`: those a nightly run of the day listed), one alert per topic. Each is
    recorded (its window, subject and posts) so that the nightly run rebuilds it with the same
    id (and does not list its posts again)."""
    from listening.lake import write_atomic

    ledger = hourly_ledger(lake, day)
    listed = {p for e in ledger for p in e["post_ids"]} | set(already)
    late: dict[str, list[dict]] = {}
    for r in overdue(responses, end_of(day) - timedelta(days=1), min(until, end_of(day)), delay_hours):
        if r["post_id"] not in listed:
            late.setdefault(r["topics"][0], []).append(r)
    out = []
    subject = f"unanswered {until.strftime('%Y-%m-%dT%H:%M')}"
    for topic, rows in sorted(late.items()):
        # the window runs from the first post's publication to the check (as the nightly's does)
        ws, we = min(r["created_at"] for r in rows), until
        a = _alert(topic, rows, ws, we, subject, delay_hours, lang)
        ledger.append({"alert_id": a["alert_id"], "topic": topic, "window_start": ws.isoformat(),
                       "window_end": we.isoformat(), "subject": subject, "post_ids": a["evidence_post_ids"]})
        out.append(a)
    if out:
        write_atomic(hourly_ledger_path(lake, day), json.dumps(ledger, indent=1))
    return out


def overdue_alerts(responses: pa.Table, day: date, delay_hours: float, lang: str = "fr",
                   hourly: list[dict] = ()) -> list[dict]:
    """Red posts whose answer delay ran out during `day` with no answer by then: the alerts the
    hourly path already sent, rebuilt with their ids and posts, then one alert per topic (the
    team owning the post's first topic) listing the others. Each post is in exactly one alert,
    on the day its delay runs out; one e-mail per post would bury a busy desk in red e-mails.
    """
    late = {r["post_id"]: r for r in overdue(responses, end_of(day) - timedelta(days=1), end_of(day), delay_hours)}
    out = []
    for e in hourly:
        rows = [late.pop(p) for p in e["post_ids"] if p in late]
        if rows:
            out.append(_alert(e["topic"], rows, datetime.fromisoformat(e["window_start"]),
                              datetime.fromisoformat(e["window_end"]), e["subject"], delay_hours, lang))
    by_topic: dict[str, list[dict]] = {}
    for r in late.values():
        by_topic.setdefault(r["topics"][0], []).append(r)
    for topic, rows in sorted(by_topic.items()):
        rows.sort(key=lambda r: (r["created_at"], r["post_id"]))
        out.append(_alert(topic, rows, rows[0]["created_at"], max(r["due"] for r in rows),
                          f"unanswered {day.isoformat()}", delay_hours, lang))
    return out


TEXT = {
    "fr": {"title": "Sans réponse depuis {hours} h : {n} message(s) urgent(s) adressé(s) à l'institution",
           "why": "{n} message(s) urgent(s) adressé(s) à l'institution ({kinds}) attendent une réponse depuis "
                  "{hours} heures : {links}",
           "kinds": {"question": "question(s)", "negative": "plainte(s)", "misinformation": "information(s) fausse(s)"}},
    "en": {"title": "Unanswered for {hours} h: {n} urgent post(s) addressed to the institution",
           "why": "{n} urgent post(s) addressed to the institution ({kinds}) have waited {hours} hours for an answer: "
                  "{links}",
           "kinds": {"question": "question(s)", "negative": "complaint(s)", "misinformation": "wrong information"}},
}
