"""Delivery of alerts: an immediate e-mail per red alert, a daily digest per team for the rest.

Messages are multipart: plain text and HTML (inline CSS, table layout for Outlook and Gmail),
the HTML holding a PNG chart of the topic's hourly posts with the alert window marked, as a
related inline image (cid:). Post texts are escaped and their bidirectional controls shown as
visible codes, so hostile text reads as text. Times are in the configured zone.

Delivery state lives beside the datasets, under `<lake>/_alerting/` (ignored by readers):

* `deliveries.jsonl`: one line per message accepted by the SMTP server (or written to the
  outbox) and recipient, appended and fsynced before the next send. A message whose key
  (alert id, or team digest and day) and recipient are there is never sent again: re-runs
  and retries send nothing twice. (A crash between the server's "250 OK" and the fsync can
  still repeat one message; its Message-ID, derived from the alert id, lets clients fold it.)
* `mutes.json`: topics muted until a time (`python -m listening.alerts mute TOPIC`).

Every alert of the day, sent or suppressed, is written back to the alerts partition with its
status, reason, attempts, send time and Message-ID.

The SMTP server comes from VIGIE_SMTP_HOST / VIGIE_SMTP_PORT (optional VIGIE_SMTP_USER,
VIGIE_SMTP_PASSWORD, VIGIE_SMTP_STARTTLS=1, VIGIE_MAIL_FROM) when set, else from Airflow's
`smtp_default` connection when running under Airflow; with neither, messages are written to
the outbox (`<lake>/outbox/dt=<day>/`) and recorded as sent there.
"""
from __future__ import annotations

import argparse
import hashlib
import html
import io
import json
import logging
import os
import smtplib
import sys
import time as _time
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid  # noqa: F401 - make_msgid kept for callers
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from listening.lake import at
from listening import lake
from listening.schema import ALERTS, MENTIONS, METRICS_DAILY, METRICS_HOURLY

log = logging.getLogger(__name__)

STATE = "_alerting"
AWAITING = "awaiting delivery"
RED_COOLDOWN = timedelta(hours=6)
ATTEMPTS = 3
BACKOFF_SECONDS = 2.0
COLOURS = {"red": "#c62828", "amber": "#ef8f00", "green": "#2e7d32"}
SEV_ORDER = {"red": 0, "amber": 1, "green": 2}
# Bidirectional controls and invisible marks: shown as visible codes, never applied.
BIDI = {c: f"[U+{c:04X}]" for c in (0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
                                     0x2066, 0x2067, 0x2068, 0x2069, 0x061C, 0x200B, 0xFEFF)}


# ---- state: mutes and the delivery ledger -----------------------------------------------------

class DeliveryError(RuntimeError):
    """Some messages could not be delivered; statuses are recorded and a retry sends only what is missing."""


def state_dir(root: Path) -> Path:
    d = at(root) / STATE
    d.mkdir(parents=True, exist_ok=True)
    return d


def mutes(root: Path) -> dict[str, dict]:
    p = at(root) / STATE / "mutes.json"
    return json.loads(p.read_text()) if p.exists() else {}


def mute_topic(root: Path, topic: str, hours: float = 24, now: datetime | None = None, by: str = "") -> datetime:
    """Mute a topic's alerts for `hours` from `now`; muted alerts are recorded as suppressed."""
    now = now or datetime.now(timezone.utc)
    until = now + timedelta(hours=hours)
    m = mutes(root)
    m[topic] = {"until": until.isoformat(), "at": now.isoformat(), "by": by}
    lake.write_atomic(state_dir(root) / "mutes.json", json.dumps(m, indent=1, sort_keys=True, default=str))
    return until


def muted_until(root: Path, topic: str, at: datetime) -> datetime | None:
    m = mutes(root).get(topic)
    if not m:
        return None
    until = datetime.fromisoformat(m["until"])
    start = datetime.fromisoformat(m["at"])
    return until if start <= at < until else None


def ledger(root: Path) -> list[dict]:
    p = at(root) / STATE / "deliveries.jsonl"
    if not p.exists():
        return []
    out = []
    for line in p.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a torn last line after a crash: the send it records is lost
            continue
    return out


def record_delivery(root: Path, rec: dict) -> None:
    lake.append_text(state_dir(root) / "deliveries.jsonl", json.dumps(rec, sort_keys=True, default=str) + "\n",
                     sync=True)


# ---- status at detection time ------------------------------------------------------------------

def initial_status(run, rows: list[dict]) -> list[dict]:
    """Fill the delivery columns of freshly detected alerts.

    An alert the lake already holds for the day keeps its delivery columns; a new one is
    `suppressed` because its topic is muted, or `suppressed` / "awaiting delivery" until
    deliver_day sends it (the alerts suite accepts sent, suppressed and failed only).
    """
    wl = run.config.watchlists
    before = lake.read_partition(run.lake, ALERTS, dt=run.day)
    known = {r["alert_id"]: r for r in before.to_pylist()} if before is not None else {}
    keep = ("status", "status_reason", "attempts", "sent_at", "message_id", "run_id")
    out = []
    for r in rows:
        topic = wl.topic(r["topic"])
        team = wl.teams[topic.team]
        r = {**r, "team": topic.team, "recipients": list(team.recipients), "run_id": run.run_id,
             "status": "suppressed", "status_reason": AWAITING, "attempts": 0, "sent_at": None, "message_id": None}
        if r["alert_id"] in known and known[r["alert_id"]]["status_reason"] != AWAITING:
            r.update({k: known[r["alert_id"]][k] for k in keep})   # a delivery outcome is kept
        elif (until := muted_until(run.lake, r["topic"], r["window_end"])) is not None:
            r["status_reason"] = f"topic muted until {until.isoformat()}"
        out.append(r)
    return out


# ---- SMTP --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Smtp:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    sender: str = "vigie@localhost"
    timeout: float = 30.0


def smtp_settings() -> Smtp | None:
    """VIGIE_SMTP_* when set, else Airflow's smtp_default connection under Airflow, else None."""
    sender = os.environ.get("VIGIE_MAIL_FROM", "vigie@localhost")
    host = os.environ.get("VIGIE_SMTP_HOST")
    if host:
        return Smtp(host=host, port=int(os.environ.get("VIGIE_SMTP_PORT", "25")),
                    user=os.environ.get("VIGIE_SMTP_USER") or None,
                    password=os.environ.get("VIGIE_SMTP_PASSWORD") or None,
                    starttls=os.environ.get("VIGIE_SMTP_STARTTLS") == "1", sender=sender)
    if not (os.environ.get("AIRFLOW_CONN_SMTP_DEFAULT") or os.environ.get("AIRFLOW_CTX_DAG_ID")):
        return None
    try:
        from airflow.sdk import Connection

        c = Connection.get("smtp_default")
    except Exception as e:  # noqa: BLE001 - no connection defined: fall back to the outbox
        log.info("no smtp_default connection (%s): messages go to the outbox", type(e).__name__)
        return None
    extra = c.extra_dejson or {}
    # The SMTP provider's meaning of the extras: SSL and STARTTLS are on unless disabled.
    use_ssl = not bool(extra.get("disable_ssl", False))
    return Smtp(host=c.host, port=int(c.port or (465 if use_ssl else 25)), user=c.login or None,
                password=c.password or None, ssl=use_ssl,
                starttls=not use_ssl and not bool(extra.get("disable_tls", False)),
                sender=extra.get("from_email") or sender, timeout=float(extra.get("timeout", 30)))


def _permanent(e: Exception) -> bool:
    code = getattr(e, "smtp_code", None)
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        codes = [v[0] for v in e.recipients.values()]
        return all(c >= 500 for c in codes)
    return code is not None and code >= 500


def send_once(smtp: Smtp, sender: str, rcpt: str, data: bytes) -> None:
    cls = smtplib.SMTP_SSL if smtp.ssl else smtplib.SMTP
    with cls(smtp.host, smtp.port, timeout=smtp.timeout) as s:
        if smtp.starttls:
            s.starttls()
        if smtp.user:
            s.login(smtp.user, smtp.password or "")
        s.sendmail(sender, [rcpt], data)  # bytes go as they are: CRLF line ends already


def deliver_message(root: Path, key: str, msg: EmailMessage, recipients: list[str], alert_ids: list[str],
                    smtp: Smtp | None, outbox: Path, attempts: int = ATTEMPTS,
                    backoff: float = BACKOFF_SECONDS, now=None, filename: str | None = None) -> dict:
    """Send `msg` to each recipient not yet in the ledger for `key`; retry transient failures.

    Returns {"sent": [...], "skipped": [...], "failed": {rcpt: error}, "attempts": n}.
    """
    done = {(r["key"], r["recipient"]) for r in ledger(root)}
    data = bytes(msg)
    wire = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))  # smtplib sends bytes unchanged
    out = {"sent": [], "skipped": [], "failed": {}, "attempts": 0}
    if smtp is None:
        lake.write_atomic(outbox / (filename or f"{key}.eml"), data)
    for rcpt in recipients:
        if (key, rcpt) in done:
            out["skipped"].append(rcpt)
            continue
        if smtp is None:
            record_delivery(root, {"key": key, "recipient": rcpt, "message_id": msg["Message-ID"],
                                   "alert_ids": alert_ids, "via": "outbox",
                                   "sent_at": (now or datetime.now(timezone.utc)).isoformat()})
            out["sent"].append(rcpt)
            continue
        error = None
        for k in range(1, attempts + 1):
            out["attempts"] = max(out["attempts"], k)
            try:
                send_once(smtp, smtp.sender, rcpt, wire)
            except (smtplib.SMTPException, OSError) as e:
                error = f"{type(e).__name__}: {e}"[:300]
                log.warning("%s to %s: attempt %d failed: %s", key, rcpt, k, error)
                if _permanent(e) or k == attempts:
                    break
                _time.sleep(backoff * 2 ** (k - 1))
                continue
            record_delivery(root, {"key": key, "recipient": rcpt, "message_id": msg["Message-ID"],
                                   "alert_ids": alert_ids, "via": f"smtp {smtp.host}:{smtp.port}",
                                   "sent_at": datetime.now(timezone.utc).isoformat()})
            out["sent"].append(rcpt)
            error = None
            break
        if error:
            out["failed"][rcpt] = error
    return out


# ---- content -----------------------------------------------------------------------------------

# What the e-mails say around the alerts, per digest language (titles and reasons come with the
# alert, written by the detector in the same language).
TEXT = {
    "en": {"sev": {"red": "RED", "amber": "AMBER", "green": "GREEN"},
           "sev_lower": {"red": "red", "amber": "amber", "green": "green"},
           "why": "Why", "when": "When", "posts": "Posts that show it", "open": "open the post",
           "no_link": "no link", "missing": "(post not found in the lake)",
           "meta": "detector {det} \u00b7 score {score} \u00b7 id {id}",
           "meta_text": "Detector {det}, score {score}, id {id}",
           "alt": "Hourly posts of {topic} with the alert window shaded",
           "ylabel": "posts / hour", "chart_title": "{topic}: posts per hour ({zone})",
           "window": "{start} to {end} ({zone})",
           "head": "{n} alert(s) today, most severe first (red ones were also sent as they fired):",
           "no_alert": "No alert today.", "subject_alerts": " \u00b7 {n} alert(s), worst {worst}",
           "red_subject": "[Vigie RED] {label}: {title}", "red_title": "Alert: {label}",
           "red_footer": "Vigie \u00b7 alert {id}", "zero": "- {label}: 0",
           "mute": "To mute a topic for 24 h: {cmds} (run where Vigie runs).",
           "detectors": {"volume_spike": "volume spike", "sentiment_drop": "sentiment drop",
                         "emerging_hashtag": "emerging hashtag", "emerging_term": "emerging word",
                         "coordinated_copies": "coordinated copies", "crisis_words": "crisis words",
                         "unanswered": "left unanswered"},
           "desk_head": "Waiting for an answer for more than 24 h: {n} (of {total} posts addressed to the institution "
                        "over {days} days; response rate {rate})",
           "desk_line": "- {hours} h, {platform}, {kind}: {url}", "desk_more": "... and {n} more",
           "desk_kinds": {"question": "question", "negative": "complaint", "misinformation": "wrong information"}},
    "fr": {"sev": {"red": "ROUGE", "amber": "ORANGE", "green": "VERT"},
           "sev_lower": {"red": "rouge", "amber": "orange", "green": "vert"},
           "why": "Pourquoi", "when": "Quand", "posts": "Les messages qui le montrent", "open": "voir le message",
           "no_link": "pas de lien", "missing": "(message introuvable dans les donn\u00e9es)",
           "meta": "d\u00e9tecteur\u00a0: {det} \u00b7 score {score} \u00b7 r\u00e9f. {id}",
           "meta_text": "D\u00e9tecteur\u00a0: {det}, score {score}, r\u00e9f. {id}",
           "alt": "Messages par heure sur {topic}, la p\u00e9riode de l'alerte en couleur",
           "ylabel": "messages / heure", "chart_title": "{topic} : messages par heure ({zone})",
           "window": "{start} \u00e0 {end} ({zone})",
           "head": "{n} alerte(s) aujourd'hui, les plus graves d'abord (les rouges ont aussi \u00e9t\u00e9 "
                   "envoy\u00e9es d\u00e8s leur d\u00e9tection)\u00a0:",
           "no_alert": "Aucune alerte aujourd'hui.",
           "subject_alerts": " \u00b7 {n} alerte(s), niveau le plus \u00e9lev\u00e9\u00a0: {worst}",
           "red_subject": "[Vigie ROUGE] {label} : {title}", "red_title": "Alerte : {label}",
           "red_footer": "Vigie \u00b7 alerte {id}", "zero": "- {label} : 0",
           "mute": "Pour suspendre les alertes d'un sujet pendant 24 h : {cmds} (\u00e0 lancer l\u00e0 o\u00f9 "
                   "Vigie tourne).",
           "detectors": {"volume_spike": "pic de volume", "sentiment_drop": "ton en baisse",
                         "emerging_hashtag": "hashtag \u00e9mergent", "emerging_term": "mot \u00e9mergent",
                         "coordinated_copies": "copies coordonn\u00e9es", "crisis_words": "mots de crise",
                         "unanswered": "sans r\u00e9ponse"},
           "desk_head": "En attente de r\u00e9ponse depuis plus de 24 h\u00a0: {n} (sur {total} messages adress\u00e9s "
                        "\u00e0 l'institution en {days} jours\u00a0; taux de r\u00e9ponse {rate})",
           "desk_line": "- {hours} h, {platform}, {kind}\u00a0: {url}", "desk_more": "... et {n} autres",
           "desk_kinds": {"question": "question", "negative": "plainte", "misinformation": "information fausse"}},
}
FR_DAYS = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
FR_MONTHS = ["janv.", "f\u00e9vr.", "mars", "avr.", "mai", "juin", "juil.", "ao\u00fbt", "sept.", "oct.", "nov.",
             "d\u00e9c."]


def _lang(run) -> str:
    """The language of a run's e-mails: settings.digest_language (fr or en; anything else: en)."""
    return "fr" if run.config.settings.digest_language == "fr" else "en"


def strftime(ts: datetime, fmt: str, lang: str = "en") -> str:
    """strftime with French day and month names when lang is fr (no dependency on the locale)."""
    if lang == "fr":
        fmt = fmt.replace("%a", FR_DAYS[ts.weekday()]).replace("%b", FR_MONTHS[ts.month - 1])
    return ts.strftime(fmt)


def _det(name: str, lang: str) -> str:
    return TEXT[lang]["detectors"].get(name, name)


def _score(x: float, lang: str) -> str:
    s = f"{x:.1f}"
    return s.replace(".", ",") if lang == "fr" else s

def safe_text(text: str | None) -> str:
    """Post text as plain text: bidirectional controls and invisible marks made visible."""
    return (text or "").translate(BIDI)


def esc(text) -> str:
    return html.escape(safe_text(str(text if text is not None else "")), quote=True)


def safe_url(url: str | None) -> str | None:
    if url and url.lower().startswith(("https://", "http://")) and not any(c in url for c in " \"'<>"):
        return url
    return None


def local(ts: datetime, zone, lang: str = "en") -> str:
    return strftime(ts.astimezone(zone), "%a %d %b %Y %H:%M", lang)


def window_text(a: dict, zone, lang: str = "en") -> str:
    ws, we = a["window_start"].astimezone(zone), a["window_end"].astimezone(zone)
    if we.date() == ws.date():
        end = we.strftime("%H:%M")
    elif we.date() == ws.date() + timedelta(days=1) and (we.hour, we.minute) == (0, 0):
        end = "24:00"
    else:
        end = strftime(we, "%a %d %b %H:%M", lang)
    return TEXT[lang]["window"].format(start=strftime(ws, "%a %d %b %Y, %H:%M", lang), end=end, zone=zone.key)


def chart_png(hourly: list[dict], topic: str, windows: list[tuple[datetime, datetime, str]], zone,
              start: datetime, end: datetime, lang: str = "en") -> bytes:
    """Hourly posts of the topic from `start` to `end`, alert windows shaded; PNG bytes, same bytes on re-run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    hours, counts = [], []
    by_hour = {r["hour"]: r["posts"] for r in hourly if r["topic"] == topic}
    t = start
    while t < end:
        hours.append(t.astimezone(zone).replace(tzinfo=None))
        counts.append(by_hour.get(t, 0))
        t += timedelta(hours=1)
    fig, ax = plt.subplots(figsize=(5.6, 2.0), dpi=100)
    try:
        ax.bar(hours, counts, width=1 / 24, align="edge", color="#546e7a", linewidth=0)
        for ws, we, sev in windows:
            ax.axvspan(ws.astimezone(zone).replace(tzinfo=None), we.astimezone(zone).replace(tzinfo=None),
                       color=COLOURS.get(sev, "#888"), alpha=0.25, linewidth=0)
        ax.set_ylabel(TEXT[lang]["ylabel"], fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda x, _pos: strftime(mdates.num2date(x).replace(tzinfo=None), "%a %d\n%H:%M", lang)))
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_title(TEXT[lang]["chart_title"].format(topic=topic, zone=zone.key), fontsize=8, loc="left")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        return buf.getvalue()
    finally:
        plt.close(fig)


def _post_rows(alert: dict, posts: dict[str, dict], zone, n: int = 5, lang: str = "en") -> list[dict]:
    out = []
    for pid in alert["evidence_post_ids"][:n]:
        p = posts.get(pid)
        if p:
            out.append({"id": pid, "text": p["text"], "url": p.get("url"), "when": local(p["created_at"], zone, lang),
                        "platform": p.get("platform", pid.split(":")[0])})
        else:
            out.append({"id": pid, "text": TEXT[lang]["missing"], "url": None, "when": "", "platform": ""})
    return out


def _alert_html(a: dict, label: str, posts: dict[str, dict], zone, cid: str | None, lang: str = "en") -> str:
    t = TEXT[lang]
    col = COLOURS.get(a["severity"], "#555")
    rows = []
    for p in _post_rows(a, posts, zone, lang=lang):
        url = safe_url(p["url"])
        link = (f'<a href="{esc(url)}" style="color:#1565c0;font-size:12px;">{esc(t["open"])}</a>' if url
                else f'<span style="color:#777;font-size:12px;">{esc(t["no_link"])}</span>')
        rows.append(
            '<tr><td style="padding:8px 10px;border-top:1px solid #e0e0e0;font-family:Arial,Helvetica,sans-serif;'
            'font-size:13px;color:#222;line-height:1.4;">'
            f'<div style="color:#777;font-size:11px;">{esc(p["when"])} &middot; {esc(p["platform"])}</div>'
            f'<div dir="ltr" style="unicode-bidi:embed;white-space:pre-wrap;word-break:break-word;">{esc(p["text"])}</div>'
            f'<div>{link}</div></td></tr>')
    chart = (f'<tr><td style="padding:6px 10px;"><img src="cid:{cid}" width="560" '
             f'alt="{esc(t["alt"].format(topic=a["topic"]))}" style="display:block;width:100%;max-width:560px;height:auto;border:0;"></td></tr>'
             if cid else "")
    return (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="border-collapse:collapse;margin:0 0 18px 0;border:1px solid #ddd;">'
        f'<tr><td style="background:{col};color:#fff;padding:8px 10px;font-family:Arial,Helvetica,sans-serif;'
        f'font-size:15px;font-weight:bold;">{esc(t["sev"].get(a["severity"], a["severity"].upper()))} &middot; '
        f'{esc(label)}</td></tr>'
        f'<tr><td style="padding:10px 10px 4px 10px;font-family:Arial,Helvetica,sans-serif;font-size:16px;'
        f'font-weight:bold;color:#222;">{esc(a["title"])}</td></tr>'
        f'<tr><td style="padding:2px 10px;font-family:Arial,Helvetica,sans-serif;font-size:13px;color:#333;">'
        f'<b>{esc(t["why"])}{" " if lang == "fr" else ""}:</b> {esc(a["evidence"])}</td></tr>'
        f'<tr><td style="padding:2px 10px 8px 10px;font-family:Arial,Helvetica,sans-serif;font-size:12px;color:#555;">'
        f'{esc(t["when"])}{" " if lang == "fr" else ""}: {esc(window_text(a, zone, lang))} &middot; '
        f'{esc(t["meta"].format(det=_det(a["detector"], lang), score=_score(a["score"], lang), id=a["alert_id"]))}'
        '</td></tr>'
        f'{chart}'
        '<tr><td style="padding:4px 10px;font-family:Arial,Helvetica,sans-serif;font-size:13px;font-weight:bold;'
        f'color:#222;">{esc(t["posts"])}</td></tr>'
        f'<tr><td><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="border-collapse:collapse;">{"".join(rows)}</table></td></tr>'
        '</table>')


def _alert_text(a: dict, label: str, posts: dict[str, dict], zone, lang: str = "en") -> str:
    t = TEXT[lang]
    colon = " :" if lang == "fr" else ":"
    lines = [f"[{t['sev'].get(a['severity'], a['severity'].upper())}] {label}{colon} {safe_text(a['title'])}",
             f"{t['why']}{colon} {safe_text(a['evidence'])}",
             f"{t['when']}{colon} {window_text(a, zone, lang)}",
             t["meta_text"].format(det=_det(a["detector"], lang), score=_score(a["score"], lang), id=a["alert_id"]),
             f"{t['posts']}{colon}"]
    for p in _post_rows(a, posts, zone, lang=lang):
        lines.append(f"  - {p['when']} {p['platform']}: {safe_text(p['text'])}")
        if safe_url(p["url"]):
            lines.append(f"    {p['url']}")
    return "\n".join(lines)


def _page(title: str, body: str, footer: str) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{esc(title)}</title></head>'
        '<body style="margin:0;padding:0;background:#f4f4f4;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f4f4f4;">'
        '<tr><td align="center" style="padding:16px 8px;">'
        '<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" '
        'style="width:600px;max-width:600px;background:#ffffff;border-collapse:collapse;">'
        '<tr><td style="padding:14px 16px 6px 16px;font-family:Arial,Helvetica,sans-serif;font-size:20px;'
        f'font-weight:bold;color:#263238;">{esc(title)}</td></tr>'
        f'<tr><td style="padding:8px 16px;">{body}</td></tr>'
        '<tr><td style="padding:10px 16px 16px 16px;font-family:Arial,Helvetica,sans-serif;font-size:11px;'
        f'color:#777;border-top:1px solid #eee;">{footer}</td></tr>'
        '</table></td></tr></table></body></html>')


def _mute_hint(topics: list[str], lang: str = "en") -> str:
    return TEXT[lang]["mute"].format(cmds="; ".join(f"python -m listening.alerts mute {t}" for t in topics))


def _envelope(msg: EmailMessage, sender: str, recipients: list[str], subject: str, msg_id: str, date_: datetime):
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date_)
    msg["Message-ID"] = msg_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Vigie"] = "alerts"


def _attach(msg: EmailMessage, text: str, page: str, images: dict[str, bytes]) -> EmailMessage:
    # quoted-printable: no line over the 998 octets SMTP allows, whatever the HTML looks like
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(page, subtype="html", cte="quoted-printable")
    html_part = msg.get_payload()[1]
    for cid, png in images.items():
        html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cid}>", filename=f"{cid.split('@')[0]}.png")
    # Fixed boundaries: the same message is the same bytes on a re-run.
    tag = hashlib.sha256(str(msg["Message-ID"]).encode()).hexdigest()[:12]
    for i, part in enumerate(msg.walk()):
        if part.is_multipart():
            part.set_boundary(f"=_vigie_{tag}_{i}")
    return msg


def sender() -> str:
    s = smtp_settings()
    return s.sender if s else os.environ.get("VIGIE_MAIL_FROM", "vigie@localhost")


def red_message(run, a: dict, posts: dict[str, dict], hourly: list[dict], sender_: str) -> EmailMessage:
    """The immediate e-mail of one red alert."""
    zone = run.config.zone
    lang = _lang(run)
    t = TEXT[lang]
    label = run.config.watchlists.topic(a["topic"]).label
    cid = f"chart-{a['alert_id']}@vigie"
    end = max(a["window_end"], datetime.combine(run.day + timedelta(days=1), time(0), tzinfo=timezone.utc))
    png = chart_png(hourly, a["topic"], [(a["window_start"], a["window_end"], a["severity"])], zone,
                    end - timedelta(days=3), end, lang)
    footer = esc(_mute_hint([a["topic"]], lang)) + "<br>" + esc(t["red_footer"].format(id=a["alert_id"]))
    page = _page(t["red_title"].format(label=label), _alert_html(a, label, posts, zone, cid, lang), footer)
    text = _alert_text(a, label, posts, zone, lang) + "\n\n" + _mute_hint([a["topic"]], lang) + "\n"
    msg = EmailMessage()
    _envelope(msg, sender_, a["recipients"], t["red_subject"].format(label=label, title=a["title"]),
              f"<{a['alert_id']}@vigie>", a["window_end"])
    return _attach(msg, text, page, {cid: png})


def _desk_lines(run, team_name: str, desk: list[dict], at: dict) -> list[str]:
    """What waits for the team's answer for more than 24 h, oldest first (listening.responses)."""
    from listening.responses import summary

    mine = [r for r in desk if team_name in r["teams"] and r["status"] != "unknown"]
    if not mine:
        return []
    late = sorted((r for r in mine if r["status"] == "unanswered" and r["overdue_24h"]),
                  key=lambda r: (-r["age_hours"], r["post_id"]))
    lines = [at["desk_head"].format(n=len(late), total=len(mine), days=run.config.settings.response_window_days,
                                    rate=f"{round(100 * summary(mine)['response_rate'])}%")]
    lines += [at["desk_line"].format(hours=f"{r['age_hours']:.0f}", platform=r["platform"],
                                     kind=at["desk_kinds"].get(r["triage"], r["triage"]), url=r["url"] or r["post_id"])
              for r in late[:10]]
    if len(late) > 10:
        lines.append(at["desk_more"].format(n=len(late) - 10))
    return lines


def digest_message(run, team_name: str, alerts: list[dict], posts: dict[str, dict], hourly: list[dict],
                   metrics: list[dict], sender_: str, desk: list[dict] | None = None) -> EmailMessage:
    """The daily digest of a team: its topics' day in numbers and the day's alerts (red ones recalled)."""
    from listening import report

    wl = run.config.watchlists
    zone = run.config.zone
    lang = _lang(run)
    t = report.TEXT[lang]
    at = TEXT[lang]
    team = wl.teams[team_name]
    owned = [tp for tp in wl.topics if tp.team == team_name]
    by_topic = {m["topic"]: m for m in metrics}
    total = sum(by_topic.get(tp.name, {}).get("posts", 0) for tp in owned)
    day = run.day.isoformat()
    lines = []
    for tp in owned:
        m = by_topic.get(tp.name)
        if not m or not m["posts"]:
            lines.append(at["zero"].format(label=tp.label))
            continue
        scored = m["positive"] + m["neutral"] + m["negative"]
        lines.append(t["line"].format(label=tp.label, posts=m["posts"], authors=m["unique_authors"],
                                      pos=report._pct(m["positive"], scored), neu=report._pct(m["neutral"], scored),
                                      neg=report._pct(m["negative"], scored)))
    mine = sorted([a for a in alerts if a["team"] == team_name],
                  key=lambda a: (SEV_ORDER[a["severity"]], a["window_start"], a["alert_id"]))
    images, blocks, text_blocks = {}, [], []
    start = datetime.combine(run.day - timedelta(days=2), time(0), tzinfo=timezone.utc)
    end = datetime.combine(run.day + timedelta(days=1), time(0), tzinfo=timezone.utc)
    charted = set()
    for a in mine:
        label = wl.topic(a["topic"]).label
        cid = None
        if a["topic"] not in charted:
            charted.add(a["topic"])
            cid = f"chart-{team_name}-{a['topic']}-{day}@vigie"
            wins = [(x["window_start"], x["window_end"], x["severity"]) for x in mine if x["topic"] == a["topic"]]
            images[cid] = chart_png(hourly, a["topic"], wins, zone, start, end, lang)
        blocks.append(_alert_html(a, label, posts, zone, cid, lang))
        text_blocks.append(_alert_text(a, label, posts, zone, lang))
    desk_lines = _desk_lines(run, team_name, desk or [], at)
    if desk_lines:
        lines += ["", *desk_lines]
    intro = t["intro"].format(day=day)
    summary_html = "".join(f'<div style="font-family:Arial,Helvetica,sans-serif;font-size:13px;color:#333;'
                           f'padding:2px 0;">{esc(line) or "&nbsp;"}</div>' for line in lines)
    if mine:
        head = at["head"].format(n=len(mine))
    else:
        head = at["no_alert"]
    body = (f'<div style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222;padding:0 0 8px 0;">'
            f'{esc(t["hello"])} {esc(intro)}</div>{summary_html}'
            f'<div style="font-family:Arial,Helvetica,sans-serif;font-size:15px;font-weight:bold;color:#222;'
            f'padding:14px 0 8px 0;">{esc(head)}</div>' + "".join(blocks))
    topics = sorted({a["topic"] for a in mine})
    links = report.report_links(run, owned)
    footer = (" · ".join(f'<a href="{esc(u)}">{esc(t["report"])} ({esc(u.rsplit("/", 1)[-1][:-5])})</a>' for u in links)
              + "<br>" + esc(t["more"].format(lake=run.lake)) + ("<br>" + esc(_mute_hint(topics, lang)) if topics else ""))
    page = _page(f"Vigie {day}: {team.label}", body, footer)
    text = "\n".join([t["hello"], "", intro, "", *lines, "", head, ""] + [b + "\n" for b in text_blocks]
                     + ([t["none"]] if not total else []) + [""] + [f'{t["report"]}{" :" if lang == "fr" else ":"} {u}' for u in links]
                     + [t["more"].format(lake=run.lake)]
                     + ([_mute_hint(topics, lang)] if topics else [])) + "\n"
    subject = t["subject"].format(day=day, posts=total)
    if mine:
        worst = mine[0]["severity"]
        subject += at["subject_alerts"].format(n=len(mine), worst=at["sev_lower"][worst])
    msg = EmailMessage()
    sent_at = datetime.combine(run.day + timedelta(days=1), time(6, 0), tzinfo=timezone.utc).astimezone(zone)
    _envelope(msg, sender_, list(team.recipients), subject, f"<digest-{team_name}-{day}@vigie>", sent_at)
    return _attach(msg, text, page, images)


# ---- the day -----------------------------------------------------------------------------------

def _day_inputs(run) -> tuple[list[dict], dict[str, dict], list[dict], list[dict]]:
    alerts = lake.read_partition(run.lake, ALERTS, dt=run.day)
    alerts = alerts.to_pylist() if alerts is not None else []
    posts: dict[str, dict] = {}
    need = {p for a in alerts for p in a["evidence_post_ids"]}
    days = {run.day} | {a["window_start"].astimezone(timezone.utc).date() for a in alerts}
    for d in sorted(days) if need else []:  # an alert may quote a post of an earlier day (left unanswered)
        p = lake.partition_dir(run.lake, MENTIONS, dt=d) / lake.PART
        if p.exists():  # five columns, and only the quoted rows become Python objects
            m = lake.read_table(p, columns=["post_id", "platform", "url", "created_at", "text"])
            for r in m.filter(pc.is_in(m["post_id"], value_set=pa.array(sorted(need), pa.string()))).to_pylist():
                posts[r["post_id"]] = r
    hourly = []
    for k in range(2, -1, -1):
        h = lake.read_partition(run.lake, METRICS_HOURLY, dt=run.day - timedelta(days=k))
        if h is not None:
            hourly += h.select(["topic", "hour", "posts"]).to_pylist()
    daily = lake.read_partition(run.lake, METRICS_DAILY, dt=run.day)
    return alerts, posts, hourly, daily.to_pylist() if daily is not None else []


def digests(run, sender_: str | None = None) -> dict[str, EmailMessage]:
    """The digest message of each team owning a topic (what report.write_digests writes to the outbox)."""
    alerts, posts, hourly, metrics = _day_inputs(run)
    alerts = [a for a in alerts if not a["status_reason"].startswith("topic muted")]
    s = sender_ or sender()
    wl = run.config.watchlists
    from listening.schema import RESPONSES

    desk = lake.read_partition(run.lake, RESPONSES, dt=run.day)
    desk = desk.to_pylist() if desk is not None else []
    return {name: digest_message(run, name, alerts, posts, hourly, metrics, s, desk)
            for name in sorted(wl.teams) if any(tp.team == name for tp in wl.topics)}


def outbox_dir(run) -> Path:
    """The day's folder of the outbox (report.outbox_dir is its root)."""
    from listening import report

    return report.outbox_dir(run) / f"dt={run.day.isoformat()}"


def _cooling(root: Path, a: dict) -> datetime | None:
    """End of the window of a red alert on the same topic, detector and subject sent less than
    RED_COOLDOWN before this one starts (a second red e-mail about the same thing would be noise)."""
    key = [a["topic"], a["detector"], a["subject"] or ""]
    ends = [datetime.fromisoformat(r["window_end"]) for r in ledger(root)
            if r.get("topic_key") == key and r.get("alert_id") != a["alert_id"]]
    ends = [e for e in ends if a["window_start"] - RED_COOLDOWN < e < a["window_end"] + RED_COOLDOWN]
    return max(ends) if ends else None


def send_red(run, a: dict, posts: dict, hourly: list[dict], smtp: Smtp | None, sender_: str, outbox: Path,
             attempts: int = ATTEMPTS, backoff: float = BACKOFF_SECONDS) -> dict:
    """The immediate e-mail of a red alert (cool-down applied); updates `a`'s delivery columns."""
    prev = _cooling(run.lake, a)
    if prev is not None:
        a["status"], a["status_reason"] = "suppressed", (
            f"cool-down: a red alert on the same topic and detector was sent for a window ending "
            f"{prev.isoformat()}; listed in the digest")
        a["_cooldown"] = True
        return {"sent": [], "skipped": [], "failed": {}, "attempts": 0}
    msg = red_message(run, a, posts, hourly, sender_)
    out = deliver_message(run.lake, f"alert-{a['alert_id']}", msg, a["recipients"], [a["alert_id"]], smtp,
                          outbox, attempts, backoff, filename=f"alert-{a['alert_id']}.eml")
    if out["sent"]:  # remembered for the cool-down of later red alerts
        record_delivery(run.lake, {"key": f"cooldown-{a['alert_id']}", "recipient": "", "alert_ids": [],
                                   "alert_id": a["alert_id"], "topic_key": [a["topic"], a["detector"], a["subject"] or ""],
                                   "window_end": a["window_end"].isoformat()})
    a["attempts"] = int(a["attempts"] or 0) + out["attempts"]
    a["message_id"] = msg["Message-ID"]
    if out["failed"]:
        a["status"], a["status_reason"] = "failed", "; ".join(f"{r}: {e}" for r, e in out["failed"].items())
    return out


HOURLY_DETECTORS = ("volume_spike", "coordinated_copies", "crisis_words")


def hourly_check(until: str | datetime, run_id: str = "hourly", config_dir: str | None = None,
                 import_dir: str | None = None, lake_dir: str | None = None, smtp: Smtp | None | str = "auto",
                 attempts: int = ATTEMPTS, backoff: float = BACKOFF_SECONDS) -> dict:
    """The hourly path: red alerts of the day so far, e-mailed at once.

    Reads the import files and the collectors' landed files of the UTC day up to `until` (the end of the hour just finished),
    enriches them in memory (nothing is written to the datasets: the nightly run does that),
    runs the hourly detectors against the lake's 28 days, and sends each red alert whose
    window reaches the last two hours, and the response desk's alert for the red posts whose
    answer delay has run out since the last check (listening.responses). The ledger keys are the nightly run's: the nightly
    delivery records these alerts as sent and does not send them again.
    """
    from listening import detect, metrics, pipeline, privacy, responses
    from listening.schema import RAW

    until = datetime.fromisoformat(until) if isinstance(until, str) else until
    until = until.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    day = (until - timedelta(microseconds=1)).date()
    run = pipeline.make_run(day, run_id, config_dir=config_dir, import_dir=import_dir, lake_dir=lake_dir)
    rows, _, _ = pipeline.read_sources(run)  # import files and what the collectors landed
    rows = [r for r in rows if r["created_at"] < until]
    raw, erased = pipeline.without_erased(run, pa.Table.from_pylist(rows, schema=RAW.schema))
    mentions = pipeline.enrich(raw, run.config, privacy.load_key(run.lake))
    topics = [t.name for t in run.config.watchlists.topics]
    part = metrics.partial(mentions)  # once for the day's hours and the day, as compute_metrics
    hourly_t, daily_t = metrics.hourly_of(part), metrics.daily_of(part, day, topics)
    found = detect.detect(**detect.inputs_from_lake(run.lake, day, mentions, hourly_t, daily_t),
                          detectors=HOURLY_DETECTORS, lang=_lang(run))
    red = [a for a in found if a["severity"] == "red" and a["window_end"] >= until - timedelta(hours=2)]
    # the response desk as it stands: red posts whose answer delay has just run out
    settings = run.config.settings
    desk = pipeline.response_desk(run, mentions, raw)
    published = lake.read_partition(run.lake, ALERTS, dt=day)  # a nightly run of the day already listed these
    already = {p for a in (published.to_pylist() if published is not None else []) if a["detector"] == "unanswered"
               for p in a["evidence_post_ids"]}
    red += responses.hourly_overdue_alerts(run.lake, desk, day, until, settings.response_alert_hours,
                                           detect.language(settings.digest_language), already)
    red = initial_status(run, red)
    smtp = smtp_settings() if smtp == "auto" else smtp
    s = smtp.sender if smtp else os.environ.get("VIGIE_MAIL_FROM", "vigie@localhost")
    need = {p for a in red for p in a["evidence_post_ids"]}
    shown = ["post_id", "platform", "url", "created_at", "text"]
    source = mentions.select(shown) if not any(a["detector"] == "unanswered" for a in red) else \
        pipeline.window_mentions(run, settings.response_window_days, shown, mentions)  # desk posts of past days
    posts = {r["post_id"]: r for r in source.to_pylist() if r["post_id"] in need}
    hourly = []
    for k in (2, 1):
        h = lake.read_partition(run.lake, METRICS_HOURLY, dt=day - timedelta(days=k))
        if h is not None:
            hourly += h.select(["topic", "hour", "posts"]).to_pylist()
    hourly += hourly_t.select(["topic", "hour", "posts"]).to_pylist()
    sent = []
    for a in red:
        if a["status_reason"].startswith("topic muted"):
            continue
        out = send_red(run, a, posts, hourly, smtp, s, outbox_dir(run), attempts, backoff)
        if out["sent"]:
            sent.append(a["alert_id"])
    log.info("hourly %s: %d posts (%d of authors erased on request left out), %d red alerts, sent %s",
             until.isoformat(), raw.num_rows, erased, len(red), sent)
    return {"until": until.isoformat(), "posts": raw.num_rows, "erased": erased, "mentions": mentions.num_rows,
            "red": [a["alert_id"] for a in red], "sent": sent}


def deliver_day(run, smtp: Smtp | None | str = "auto", attempts: int = ATTEMPTS,
                backoff: float = BACKOFF_SECONDS, raise_on_failure: bool = True) -> dict:
    """Send the day's red alerts one by one and each team's digest; record every status.

    Runs after publish. Safe to re-run: what the ledger says was sent is not sent again. When a
    message could not be delivered after its attempts, the statuses are written and then
    DeliveryError is raised, so the scheduler retries the task later (unless raise_on_failure
    is False).
    """
    smtp = smtp_settings() if smtp == "auto" else smtp
    alerts, posts, hourly, metrics = _day_inputs(run)
    if not alerts and not metrics:
        return {"alerts": 0, "messages": 0}
    s = smtp.sender if smtp else os.environ.get("VIGIE_MAIL_FROM", "vigie@localhost")
    outbox = outbox_dir(run)
    book = ledger(run.lake)
    sent_ids: dict[str, dict] = {}
    for rec in book:
        for aid in rec.get("alert_ids", []):
            sent_ids.setdefault(aid, rec)
    result = {"alerts": len(alerts), "messages": 0, "failed": 0, "suppressed": 0}
    for a in alerts:  # a mute set since detection applies too
        if a["status"] != "sent" and (until := muted_until(run.lake, a["topic"], a["window_end"])) is not None:
            a["status"], a["status_reason"] = "suppressed", f"topic muted until {until.isoformat()}"

    def carried(aid: str, recipients: list[str]) -> bool:
        got = {r["recipient"] for r in book if aid in r.get("alert_ids", [])}
        return set(recipients) <= got

    # Red alerts: one message each, unless muted, already sent, or cooling down.
    for a in sorted(alerts, key=lambda a: (a["window_start"], a["alert_id"])):
        if a["severity"] != "red" or a["status_reason"].startswith("topic muted"):
            continue
        if carried(a["alert_id"], a["recipients"]):
            continue
        out = send_red(run, a, posts, hourly, smtp, s, outbox, attempts, backoff)
        result["messages"] += bool(out["sent"])
    # Digests: every team owning a topic, every day (a quiet day is news too).
    book = ledger(run.lake)
    wl = run.config.watchlists
    visible = [a for a in alerts if not a["status_reason"].startswith("topic muted")]
    digest_failed = 0
    for name in sorted(wl.teams):
        if not any(tp.team == name for tp in wl.topics):
            continue
        msg = digest_message(run, name, visible, posts, hourly, metrics, s)
        ids = [a["alert_id"] for a in visible if a["team"] == name and a["severity"] != "red"]
        out = deliver_message(run.lake, f"digest-{name}-{run.day.isoformat()}", msg, list(wl.teams[name].recipients),
                              ids, smtp, outbox, attempts, backoff, filename=f"digest-{name}.eml")
        result["messages"] += bool(out["sent"])
        digest_failed += bool(out["failed"])
        for a in visible:
            if a["team"] == name and a["severity"] != "red":
                a["attempts"] = int(a["attempts"] or 0) + out["attempts"]
                a["message_id"] = a["message_id"] or msg["Message-ID"]
                if out["failed"]:
                    a["status"], a["status_reason"] = "failed", "; ".join(
                        f"{r}: {e}" for r, e in out["failed"].items())
    # Statuses from the ledger: sent when every recipient has a message carrying the alert.
    book = ledger(run.lake)
    for a in alerts:
        before_status = (a["status"], a["status_reason"])
        recs = [r for r in book if a["alert_id"] in r.get("alert_ids", [])]
        got = {r["recipient"] for r in recs}
        if a["status_reason"].startswith("topic muted") or a.pop("_cooldown", False):
            a["status"] = "suppressed"
        elif set(a["recipients"]) <= got and recs:
            a["status"] = "sent"
            first = min(recs, key=lambda r: r["sent_at"])
            a["sent_at"] = datetime.fromisoformat(first["sent_at"])
            a["message_id"] = first["message_id"]
            a["status_reason"] = f"sent via {first['via']} to {len(got)} recipient(s)"
        elif a["status"] != "failed" and a["status_reason"] == AWAITING:
            a["status_reason"] = "not delivered: the day's digest had already gone out without it"
        if (a["status"], a["status_reason"]) != before_status or before_status[1] == AWAITING:
            a["run_id"] = run.run_id  # the run that changed its fate; a re-run that changes nothing keeps it
        result["failed"] += a["status"] == "failed"
        result["suppressed"] += a["status"] == "suppressed"
    lake.write_partition(run.lake, ALERTS, pa.Table.from_pylist(alerts, schema=ALERTS.schema), dt=run.day)
    result["sent"] = sum(a["status"] == "sent" for a in alerts)
    log.info("%s: alerts delivered %s", run.day, result)
    if raise_on_failure and (result["failed"] or digest_failed):
        raise DeliveryError(f"{run.day}: {result['failed']} alert(s) and {digest_failed} digest(s) not delivered "
                            f"(statuses recorded in the alerts dataset); a retry sends only what is missing")
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m listening.alerts", description="Alert delivery tools")
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mute", help="mute a topic's alerts (recorded as suppressed)")
    m.add_argument("topic")
    m.add_argument("--hours", type=float, default=24)
    m.add_argument("--lake", default=None)
    m.add_argument("--by", default=os.environ.get("USER", ""))
    a = ap.parse_args(argv)
    from listening.config import lake_root, load_config

    cfg = load_config()
    cfg.watchlists.topic(a.topic)  # unknown topic: clear error
    root = at(a.lake) if a.lake else lake_root(cfg)
    until = mute_topic(root, a.topic, a.hours, by=a.by)
    print(f"{a.topic} muted until {until.astimezone(cfg.zone).isoformat()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
