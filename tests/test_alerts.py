"""Delivery: a real SMTP server (aiosmtpd) receives the alerts and digests; the messages are parsed,
re-runs and retries send nothing twice, mutes suppress, hostile text stays text, and the HTML is
rendered by headless Chromium to see its layout."""
from __future__ import annotations

import dataclasses
import email
import email.policy
import shutil
import socket
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from listening import alerts, detect, lake, pipeline
from listening.schema import ALERTS

CAMPAIGN_DAY = date(2026, 11, 13)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler: keeps every accepted message; refuses the first `refuse` DATA commands."""

    def __init__(self, refuse: int = 0):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.refuse = refuse
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refused < self.refuse:
            self.refused += 1
            return "451 4.3.0 Try again later"
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


@pytest.fixture
def smtp_server(monkeypatch):
    from aiosmtpd.controller import Controller

    servers = []

    def start(refuse: int = 0) -> Inbox:
        inbox = Inbox(refuse)
        port = _free_port()
        c = Controller(inbox, hostname="127.0.0.1", port=port)
        c.start()
        servers.append(c)
        monkeypatch.setenv("VIGIE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("VIGIE_SMTP_PORT", str(port))
        monkeypatch.setenv("VIGIE_MAIL_FROM", "vigie@parlement.example")
        return inbox

    yield start
    for c in servers:
        c.stop()


@pytest.fixture(scope="session")
def event_lake(tmp_path_factory):
    from alerting_lake import build

    return build(tmp_path_factory.mktemp("alerting"))


@pytest.fixture
def day_run(event_lake, tmp_path):
    """A copy of the event lake (delivery writes state) and the run of the campaign day."""
    root, truth, _ = event_lake
    copy = tmp_path / "lake"
    shutil.copytree(root, copy)
    return pipeline.make_run(CAMPAIGN_DAY, "deliver", lake_dir=str(copy), import_dir=str(tmp_path)), truth


def _parts(msg):
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    return plain, html, images


def test_red_alert_and_digests_reach_the_team(day_run, smtp_server):
    run, truth = day_run
    inbox = smtp_server()
    out = alerts.deliver_day(run, backoff=0.01)
    assert out["failed"] == 0
    by_subject: dict[str, list] = {}
    for rcpts, msg in inbox.messages:
        by_subject.setdefault(" ".join(msg["Subject"].split()), []).append((rcpts, msg))
    # settings.yml: digest_language fr; posts left unanswered have their own test (test_responses)
    red = [s for s in by_subject if s.startswith("[Vigie ROUGE]") and "Sans réponse" not in s]
    assert len(red) == 1 and "Ordonnance climat" in red[0] and "Copies coordonnées" in red[0]
    # one SMTP transaction per recipient, every recipient of the topic's team (greffe)
    rcpts = sorted(r for rs, _ in by_subject[red[0]] for r in rs)
    assert rcpts == ["commissions@parlement.example", "greffe@parlement.example"]
    msg = by_subject[red[0]][0][1]
    assert msg["To"] == "greffe@parlement.example, commissions@parlement.example"
    assert msg["From"] == "vigie@parlement.example"
    table = lake.read_partition(run.lake, ALERTS, dt=CAMPAIGN_DAY).to_pylist()
    copies = [a for a in table if a["detector"] == "coordinated_copies"][0]
    assert msg["Message-ID"] == f"<{copies['alert_id']}@vigie>"
    plain, html, images = _parts(msg)
    assert "Pourquoi : 40 comptes ont publié 40 textes quasi identiques" in plain
    assert "(Europe/Brussels)" in plain and "ven. 13 nov. 2026, 19:00 à 21:00" in plain  # 18-20 UTC in Brussels
    assert "python -m listening.alerts mute climate-bill" in plain
    campaign = next(e for e in truth["events"] if e["type"] == "coordinated_campaign")
    first = copies["evidence_post_ids"][0]
    assert first in campaign["post_ids"] and "voir le message" in html
    assert len(images) == 1 and images[0].get_content().startswith(b"\x89PNG")
    cid = images[0]["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    # digests: one per team, the greffe one listing the day's alerts
    digests = {s: m for s, m in by_subject.items() if s.startswith("Veille du 2026-11-13")}
    assert len(digests) == 3
    greffe = [m for s, ms in digests.items() for rs, m in ms if "greffe@parlement.example" in rs][0]
    gplain, ghtml, gimages = _parts(greffe)
    assert "Copies coordonnées" in gplain and gimages
    assert greffe["Message-ID"] == "<digest-greffe-2026-11-13@vigie>"
    # every alert of the day recorded as sent, with the message that carried it
    assert all(a["status"] == "sent" and a["sent_at"] is not None and a["attempts"] >= 1 for a in table)
    assert copies["status_reason"].startswith("sent via smtp 127.0.0.1")


def test_rerun_sends_nothing_twice(day_run, smtp_server):
    run, _ = day_run
    inbox = smtp_server()
    alerts.deliver_day(run, backoff=0.01)
    n = len(inbox.messages)
    assert n >= 5
    first = lake.read_partition(run.lake, ALERTS, dt=CAMPAIGN_DAY)
    import dataclasses

    again = alerts.deliver_day(dataclasses.replace(run, run_id="a-later-run"), backoff=0.01)
    assert len(inbox.messages) == n and again["messages"] == 0
    assert lake.read_partition(run.lake, ALERTS, dt=CAMPAIGN_DAY).equals(first), "a re-run changed the alerts"
    statuses = {a["status"] for a in lake.read_partition(run.lake, ALERTS, dt=CAMPAIGN_DAY).to_pylist()}
    assert statuses == {"sent"}
    # a re-run of detection keeps the delivery status of the alerts already sent
    detect.detect_day(run)
    staged = lake.read_file(lake.stage_path(run.lake, CAMPAIGN_DAY, ALERTS, dt=CAMPAIGN_DAY), ALERTS)
    assert set(staged["status"].to_pylist()) == {"sent"}


def test_server_refusing_then_accepting_delivers_once(day_run, smtp_server):
    run, _ = day_run
    inbox = smtp_server(refuse=1)
    out = alerts.deliver_day(run, backoff=0.01)
    assert inbox.refused == 1 and out["failed"] == 0
    ids = [m["Message-ID"] for _, m in inbox.messages]
    pairs = [(m["Message-ID"], r) for rs, m in inbox.messages for r in rs]
    assert len(pairs) == len(set(pairs))  # every message reached each recipient exactly once
    assert "<digest-greffe-2026-11-13@vigie>" in ids
    table = lake.read_partition(run.lake, ALERTS, dt=CAMPAIGN_DAY).to_pylist()
    assert max(a["attempts"] for a in table) == 2


def test_server_down_marks_failed_then_recovers(day_run, monkeypatch, smtp_server):
    run, _ = day_run
    monkeypatch.setenv("VIGIE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("VIGIE_SMTP_PORT", str(_free_port()))  # nobody listens
    with pytest.raises(alerts.DeliveryError, match="a retry sends only what is missing"):
        alerts.deliver_day(run, attempts=2, backoff=0.01)  # the scheduler retries the task
    table = lake.read_partition(run.lake, ALERTS, dt=CAMPAIGN_DAY).to_pylist()
    assert {a["status"] for a in table} == {"failed"}
    assert "ConnectionRefusedError" in table[0]["status_reason"]
    inbox = smtp_server()
    alerts.deliver_day(run, backoff=0.01)
    assert {a["status"] for a in lake.read_partition(run.lake, ALERTS, dt=CAMPAIGN_DAY).to_pylist()} == {"sent"}
    assert any(s["Subject"].startswith("[Vigie ROUGE]") for _, s in inbox.messages)


def test_muted_topic_is_recorded_suppressed(day_run, smtp_server):
    run, _ = day_run
    inbox = smtp_server()
    alerts.mute_topic(run.lake, "climate-bill", 24, now=datetime(2026, 11, 13, 8, tzinfo=timezone.utc), by="test")
    detect.detect_day(run)
    lake.publish(run.lake, run.day)
    alerts.deliver_day(run, backoff=0.01)
    assert not any(m["Subject"].startswith("[Vigie ROUGE]") and "Ordonnance climat" in " ".join(m["Subject"].split())
                   for _, m in inbox.messages)
    table = lake.read_partition(run.lake, ALERTS, dt=CAMPAIGN_DAY).to_pylist()
    muted = [a for a in table if a["topic"] == "climate-bill"]
    assert muted and all(a["status"] == "suppressed" and a["status_reason"].startswith("topic muted until 2026-11-14T08:00")
                         for a in muted)
    assert all(a["status"] == "sent" for a in table if a["topic"] != "climate-bill")


HOSTILE = ('<script>alert("x")</script><img src=x onerror=alert(1)> <b>bold</b> '
           '\u202Egnp.exe\u202C & "quotes" \u200F')


def _hostile_message(run):
    ws = datetime(2026, 11, 13, 18, tzinfo=timezone.utc)
    a = {"alert_id": "al-0123456789abcdef", "topic": "climate-bill", "detector": "coordinated_copies",
         "severity": "red", "score": 40.0, "window_start": ws, "window_end": ws + timedelta(hours=2),
         "title": "Coordinated copies: <40> near-identical posts", "evidence": HOSTILE,
         "evidence_post_ids": ["x:1", "x:2"], "subject": None, "recipients": ["greffe@parlement.example"]}
    posts = {"x:1": {"post_id": "x:1", "platform": "x", "url": 'javascript:alert(1)"', "text": HOSTILE,
                     "created_at": ws + timedelta(minutes=5)},
             "x:2": {"post_id": "x:2", "platform": "mastodon", "url": "https://mastodon.social/@a/1",
                     "text": "Évacuation ? Non, rien de grave.", "created_at": ws + timedelta(minutes=9)}}
    hourly = [{"topic": "climate-bill", "hour": ws - timedelta(hours=h), "posts": 10 + h % 5} for h in range(60)]
    hourly.append({"topic": "climate-bill", "hour": ws, "posts": 60})
    return alerts.red_message(run, a, posts, hourly, "vigie@parlement.example")


def test_hostile_post_text_shows_as_text(tmp_path):
    run = pipeline.make_run(CAMPAIGN_DAY, "r", lake_dir=str(tmp_path / "lake"), import_dir=str(tmp_path))
    msg = email.message_from_bytes(bytes(_hostile_message(run)), policy=email.policy.default)
    plain, html, images = _parts(msg)
    assert "<script" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "&lt;40&gt;" in html
    assert "\u202e" not in html and "[U+202E]gnp.exe[U+202C]" in html and "[U+200F]" in html
    assert "javascript:" not in html and 'href="https://mastodon.social/@a/1"' in html
    assert "<script>" in plain and "\u202e" not in plain  # plain text keeps the characters, not the controls


def test_html_mail_renders_in_chromium(tmp_path):
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if not chromium:
        pytest.skip("chromium is not installed (make test installs Debian's chromium): the rendering is not checked")
    run = pipeline.make_run(CAMPAIGN_DAY, "r", lake_dir=str(tmp_path / "lake"), import_dir=str(tmp_path))
    msg = email.message_from_bytes(bytes(_hostile_message(run)), policy=email.policy.default)
    _, html, images = _parts(msg)
    for img in images:  # what a mail client does with cid: parts
        cid = img["Content-ID"].strip("<>")
        (tmp_path / f"{cid}.png").write_bytes(img.get_content())
        html = html.replace(f"cid:{cid}", f"{cid}.png")
    page = tmp_path / "mail.html"
    page.write_text(html, encoding="utf-8")
    shot = tmp_path / "mail.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=800,1400",
                    page.as_uri()], check=True, timeout=60, capture_output=True)
    from PIL import Image

    img = Image.open(shot).convert("RGB")
    assert img.size == (800, 1400) and shot.stat().st_size > 20_000
    colours = img.getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50
    # the red header bar is there: a band of the severity colour near the top
    reds = sum(1 for x in range(100, 700, 20) for y in range(40, 200, 4) if img.getpixel((x, y)) == (0xC6, 0x28, 0x28))
    assert reds > 20
    keep = Path(__file__).resolve().parents[1] / ".pytest_cache" / "alert-mail.png"
    keep.parent.mkdir(exist_ok=True)
    shutil.copy(shot, keep)  # to look at


def test_hourly_path_sends_red_at_once_and_nightly_not_again(day_run, smtp_server):
    run, truth = day_run
    inbox = smtp_server()
    from alerting_lake import _cache

    corpus_import = _cache["lake"][0].parent / "corpus" / "import"
    campaign = next(e for e in truth["events"] if e["type"] == "coordinated_campaign")
    end = _ts_hour(campaign["end"])
    out = alerts.hourly_check(end.isoformat(), "hourly-test", import_dir=str(corpus_import),
                              lake_dir=str(run.lake), backoff=0.01)
    assert len(out["sent"]) == 1

    def red_copies():
        return [m for _, m in inbox.messages if m["Subject"].startswith("[Vigie ROUGE]") and "Copies" in m["Subject"]]

    red = red_copies()
    assert len(red) == 2 and {m["Message-ID"] for m in red} == {f"<{out['sent'][0]}@vigie>"}  # 2 recipients
    # an hour later: nothing new; the nightly delivery records it as sent and does not resend it
    alerts.hourly_check((end + timedelta(hours=1)).isoformat(), "hourly-test", import_dir=str(corpus_import),
                        lake_dir=str(run.lake), backoff=0.01)
    alerts.deliver_day(run, backoff=0.01)
    assert len(red_copies()) == 2
    table = {a["alert_id"]: a for a in lake.read_partition(run.lake, ALERTS, dt=CAMPAIGN_DAY).to_pylist()}
    assert table[out["sent"][0]]["status"] == "sent"


def _ts_hour(s):
    t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    return t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def test_hourly_dag_is_thin():
    import subprocess
    import sys

    dag = Path(__file__).resolve().parents[1] / "dags" / "listening_hourly.py"
    code = ("import sys, runpy; g = runpy.run_path(sys.argv[1]); "
            "heavy = [m for m in ('pandas', 'matplotlib', 'great_expectations', 'listening.alerts') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code, str(dag)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dag))
    assert bag.import_errors == {}
    d = bag.dags["listening_hourly"]
    assert [t.task_id for t in d.tasks] == ["red_alerts"] and d.catchup is False


def test_airflow_smtp_connection_is_read(monkeypatch):
    """Under Airflow the smtp_default connection is used, with the SMTP provider's meaning of its extras."""
    import json as _json

    for var in ("VIGIE_SMTP_HOST", "VIGIE_SMTP_PORT"):
        monkeypatch.delenv(var, raising=False)
    assert alerts.smtp_settings() is None  # nothing configured: the outbox
    conn = {"conn_type": "smtp", "host": "mail.example", "port": 587, "login": "vigie", "password": "s3cret",
            "extra": {"disable_ssl": True, "from_email": "vigie@parlement.example"}}
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", _json.dumps(conn))
    s = alerts.smtp_settings()
    assert s is not None and (s.host, s.port, s.user, s.ssl, s.starttls) == ("mail.example", 587, "vigie", False, True)
    assert s.sender == "vigie@parlement.example"


def _in_language(run, lang):
    settings = run.config.settings.model_copy(update={"digest_language": lang})
    return dataclasses.replace(run, config=run.config.model_copy(update={"settings": settings}))


def _visible(html: str) -> str:
    """What a reader sees of the HTML part: the text between tags (and the image's alt text)."""
    import re

    alts = " ".join(re.findall(r'alt="([^"]*)"', html))
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)) + " " + alts


ENGLISH = ["alert(s) today", "Why", "When", "Evidence", "Posts that show it", "open the post", "no link",
           "To mute", "detector", "posts", "accounts", "near-identical", "RED", "Alert:", "worst", "Fri ", " Nov "]


def _copies_alert(lang):
    """The same coordinated-copies alert, detected with titles in `lang`."""
    import pandas as pd

    ws = datetime(2026, 11, 13, 18, tzinfo=timezone.utc)
    rows = [{"post_id": f"x:{i}", "url": f"https://x.example/{i}", "created_at": ws + timedelta(minutes=i),
             "author_key": f"a{i}", "author_followers": 10, "text": f"Retirez l'ordonnance climat maintenant {i}",
             "hashtags": [], "lang": "fr", "topics": ["climate-bill"], "sentiment_score": 0.0,
             "sentiment_label": "neutral", "is_repost": False, "engagement": i} for i in range(40)]
    [a] = detect.detect_copies(pd.DataFrame(rows), CAMPAIGN_DAY, lang=lang)
    posts = {r["post_id"]: {**r, "platform": "x"} for r in rows}
    return {**a, "recipients": ["greffe@parlement.example"], "team": "greffe"}, posts


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_alert_mails_in_the_configured_language(tmp_path, lang):
    run = _in_language(pipeline.make_run(CAMPAIGN_DAY, "r", lake_dir=str(tmp_path / "lake"),
                                         import_dir=str(tmp_path)), lang)
    a, posts = _copies_alert(lang)
    hourly = [{"topic": "climate-bill", "hour": a["window_start"] - timedelta(hours=h), "posts": 10} for h in range(48)]
    red = email.message_from_bytes(bytes(alerts.red_message(run, a, posts, hourly, "v@x")), policy=email.policy.default)
    metrics = [{"topic": "climate-bill", "posts": 120, "unique_authors": 80, "positive": 10, "neutral": 60,
                "negative": 50}]
    amber = {**a, "alert_id": "al-amber", "severity": "amber"}
    digest = email.message_from_bytes(bytes(alerts.digest_message(run, "greffe", [a, amber], posts, hourly, metrics,
                                                                  "v@x")), policy=email.policy.default)
    rplain, rhtml, rimages = _parts(red)
    rsubject, dsubject = " ".join(red["Subject"].split()), " ".join(digest["Subject"].split())
    dplain, dhtml, _ = _parts(digest)
    assert rimages
    if lang == "en":
        assert rsubject.startswith("[Vigie RED] Ordonnance climat / Klimaatordonnantie: Coordinated copies: 40 near-identical posts")
        assert "Why: 40 accounts posted 40 near-identical texts within 39 minutes" in rplain
        assert "Fri 13 Nov 2026, 19:00 to 20:00 (Europe/Brussels)" in rplain
        assert "To mute a topic for 24 h" in rplain and "open the post" in rhtml
        assert "2 alert(s) today, most severe first" in dplain and "[AMBER]" in dplain
        assert dsubject.endswith("2 alert(s), worst red")
        return
    assert rsubject.startswith("[Vigie ROUGE] Ordonnance climat / Klimaatordonnantie : Copies coordonnées : 40 messages quasi identiques")
    assert "Pourquoi : 40 comptes ont publié 40 textes quasi identiques en 39 minutes" in rplain
    assert "ven. 13 nov. 2026, 19:00 à 20:00 (Europe/Brussels)" in rplain
    assert "Pour suspendre les alertes d'un sujet pendant 24 h" in rplain and "voir le message" in rhtml
    assert "2 alerte(s) aujourd'hui, les plus graves d'abord" in dplain and "[ORANGE]" in dplain
    assert dsubject.endswith("2 alerte(s), niveau le plus élevé : rouge")
    # nothing English in what the French reader sees (subjects, both parts of both messages)
    for text in (rsubject, dsubject, rplain, dplain, _visible(rhtml), _visible(dhtml)):
        for word in ENGLISH:
            assert word not in text, (word, text[:200])


def test_hourly_desk_alert_then_nightly_lists_each_overdue_post_once(event_lake, tmp_path, smtp_server):
    """The day after the lake's last day: posts of the day before fall due hour by hour. The hourly
    check alerts the team as their delay runs out (each post once); the nightly run rebuilds those
    alerts with their ids (recorded as sent, not resent) and lists only the rest."""
    from alerting_lake import DAYS, START
    from listening.schema import RESPONSES

    root, _, _ = event_lake
    copy = tmp_path / "lake"
    shutil.copytree(root, copy)
    last = START + timedelta(days=DAYS - 1)
    day = last + timedelta(days=1)
    empty = tmp_path / "import"
    empty.mkdir()
    inbox = smtp_server()
    desk = lake.read_partition(copy, RESPONSES, dt=last).to_pylist()
    due = sorted(r["created_at"] + timedelta(hours=24) for r in desk
                 if r["urgency"] == "red" and r["status"] == "unanswered" and r["created_at"].date() == last)
    assert len(due) >= 2, "the event lake has red posts left unanswered on its last day"
    first = due[0].replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    out1 = alerts.hourly_check(first.isoformat(), "h1", import_dir=str(empty), lake_dir=str(copy), backoff=0.01)
    out2 = alerts.hourly_check((first + timedelta(hours=12)).isoformat(), "h2", import_dir=str(empty),
                               lake_dir=str(copy), backoff=0.01)
    assert out1["sent"] and out2["sent"] and not set(out1["sent"]) & set(out2["sent"])
    desk_mails = [m for _, m in inbox.messages if "Message-ID" in m and
                  m["Message-ID"].strip("<>").split("@")[0] in set(out1["sent"]) | set(out2["sent"])]
    assert desk_mails
    sent_before = len(inbox.messages)
    pipeline.run_day(day, run_id="nightly", import_dir=str(empty), lake_dir=str(copy))
    table = [a for a in lake.read_partition(copy, ALERTS, dt=day).to_pylist() if a["detector"] == "unanswered"]
    ids = {a["alert_id"]: a for a in table}
    assert set(out1["sent"]) | set(out2["sent"]) <= set(ids)                  # rebuilt with their ids
    assert all(ids[i]["status"] == "sent" for i in out1["sent"] + out2["sent"])
    listed = [p for a in table for p in a["evidence_post_ids"]]
    assert len(listed) == len(set(listed)) == len(due)                       # each overdue post once
    resent = [m for _, m in inbox.messages[sent_before:]
              if m["Message-ID"].strip("<>").split("@")[0] in set(out1["sent"]) | set(out2["sent"])]
    assert resent == []                                                      # not e-mailed again
