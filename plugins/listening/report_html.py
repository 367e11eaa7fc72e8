"""The daily HTML report, one page per topic group, for people who never open a notebook.

`<lake>/reports/dt=<day>/<group>.html`: self-contained (inline CSS and SVG charts, no script, no
network), readable on a phone, in the configured language (French or English). It shows the
group's volume and tone over the last two weeks, the day hour by hour, the share of voice,
top hashtags and links, the alerts of the day, what the team has to handle (triage: questions
waiting, insults to report, misinformation to correct, with the urgent posts), the influential
voices with why, and example posts.
"""
from __future__ import annotations

import html
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa

from listening import lake
from listening.schema import (ALERTS, AUTHORS, CAMPAIGN_DAILY, MENTIONS, METRICS_DAILY, METRICS_HOURLY,
                              RESPONSES)

E = html.escape
COLOURS = ["#1f5fa8", "#d9822b", "#2e8b57", "#b03a5b", "#6a4fb3", "#3a8fa6"]
HISTORY_DAYS = 14

TEXT = {
    "fr": {"title": "Veille du {day}", "group": "Groupe", "volume": "Volume par jour (14 jours)",
           "tone": "Ton net par jour (positif − négatif, sur les messages notés)", "hours": "Le {day} heure par heure ({tz})",
           "share": "Part de voix du jour", "hashtags": "Hashtags les plus utilisés", "links": "Liens les plus partagés",
           "new": "Nouveau par rapport aux quatre semaines précédentes", "terms": "Mots les plus utilisés",
           "alerts": "Alertes du jour", "no_alerts": "Aucune alerte aujourd'hui.", "examples": "Messages les plus repris",
           "influencers": "Voix influentes (7 jours)", "triage": "À traiter",
           "not_yet": "Pas encore calculé pour ce jour.",
           "rank": "Rang", "score": "Score", "why": "Pourquoi", "own": "compte de l'institution", "press": "presse",
           "class": "Type", "action": "Réponse recommandée", "waiting": "Questions adressées à l'institution",
           "to_report": "Insultes à signaler", "to_correct": "Informations fausses à corriger",
           "urgent": "Messages urgents (rouge)",
           "desk": "Réponses de l'institution ({days} derniers jours)", "awaiting": "Attendent une réponse",
           "answered": "Répondus", "rate": "Taux de réponse", "median": "Délai médian", "p90": "Délai (90 %)",
           "late24": "En retard (> 24 h)", "late48": "En retard (> 48 h)", "unknown": "Réponses non visibles",
           "campaigns": "Campagnes", "people": "Personnes", "new_people": "Nouvelles", "cumulative": "Depuis le début",
           "reach": "Portée estimée", "vs_first": "Par rapport aux 3 premiers jours", "day_n": "jour {n}",
           "classes": {"question": "question", "positive_feedback": "retour positif", "disagreement": "désaccord",
                       "humour": "humour", "negative": "négatif", "misinformation": "information fausse",
                       "inflammatory": "provocation", "insult": "insulte", "spam": "spam / publicité",
                       "other": "autre"},
           "topic": "Sujet", "posts": "Messages", "authors": "Auteurs", "pos": "positif", "neu": "neutre",
           "neg": "négatif", "net": "ton net", "engagement": "réactions", "none": "Rien ce jour-là.",
           "generated": "Produit par Vigie à partir des jeux de données de {lake}."},
    "en": {"title": "Listening for {day}", "group": "Group", "volume": "Posts per day (14 days)",
           "tone": "Net tone per day (positive − negative, over scored posts)", "hours": "{day} hour by hour ({tz})",
           "share": "Share of voice today", "hashtags": "Top hashtags", "links": "Most shared links",
           "new": "New compared with the previous four weeks", "terms": "Top words",
           "alerts": "Alerts of the day", "no_alerts": "No alert today.", "examples": "Most engaging posts",
           "influencers": "Influential voices (7 days)", "triage": "To handle",
           "not_yet": "Not computed for this day.",
           "rank": "Rank", "score": "Score", "why": "Why", "own": "institution's account", "press": "press",
           "class": "Type", "action": "Recommended response", "waiting": "Questions addressed to the institution",
           "to_report": "Insults to report", "to_correct": "Wrong information to correct",
           "urgent": "Urgent posts (red)",
           "desk": "The institution's answers (last {days} days)", "awaiting": "Waiting for an answer",
           "answered": "Answered", "rate": "Response rate", "median": "Median time", "p90": "Time (90%)",
           "late24": "Late (> 24 h)", "late48": "Late (> 48 h)", "unknown": "Answers not visible",
           "campaigns": "Campaigns", "people": "People", "new_people": "New", "cumulative": "Since the start",
           "reach": "Estimated reach", "vs_first": "Compared with the first 3 days", "day_n": "day {n}",
           "classes": {"question": "question", "positive_feedback": "positive feedback", "disagreement": "disagreement",
                       "humour": "humour", "negative": "negative", "misinformation": "wrong or misleading information",
                       "inflammatory": "inflammatory", "insult": "insult", "spam": "spam / advertising",
                       "other": "other"},
           "topic": "Topic", "posts": "Posts", "authors": "Authors", "pos": "positive", "neu": "neutral",
           "neg": "negative", "net": "net tone", "engagement": "engagement", "none": "Nothing that day.",
           "generated": "Made by Vigie from the datasets in {lake}."},
}

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d1d1f;background:#f6f7f9}
main{max-width:860px;margin:0 auto;padding:12px}
h1{font-size:1.4rem;margin:.4rem 0}h2{font-size:1.05rem;margin:1.2rem 0 .4rem}
section{background:#fff;border-radius:8px;padding:10px 12px;margin:10px 0;box-shadow:0 1px 2px #0001}
table{border-collapse:collapse;width:100%}td,th{padding:4px 6px;border-bottom:1px solid #eee;text-align:left;font-size:.9rem}
td.n,th.n{text-align:right}.muted{color:#666;font-size:.85rem}svg{width:100%;height:auto}
.legend span{display:inline-block;margin-right:12px;font-size:.85rem}.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
.post{border-left:3px solid #ccc;padding:4px 8px;margin:6px 0;font-size:.9rem;overflow-wrap:anywhere}
.sev-red{color:#b00020;font-weight:600}.sev-amber{color:#b36b00;font-weight:600}.sev-green{color:#2e7d32}
"""


def _read_days(root: Path, ds, days: list[date]):
    import pyarrow as pa

    tables = [t for d in days if (t := lake.read_partition(root, ds, dt=d)) is not None]
    return pa.concat_tables(tables).to_pylist() if tables else []


def _line_chart(series: dict[str, list[float | None]], labels: list[str], colours: dict[str, str],
                ymin: float | None = None, ymax: float | None = None, title: str = "") -> str:
    w, h, pad_l, pad_b, pad_t = 640, 220, 44, 28, 10
    values = [v for s in series.values() for v in s if v is not None]
    lo = ymin if ymin is not None else min(values + [0])
    hi = ymax if ymax is not None else max(values + [1])
    if hi == lo:
        hi = lo + 1
    n = max(len(labels), 2)

    def x(i):
        return pad_l + i * (w - pad_l - 10) / (n - 1)

    def y(v):
        return pad_t + (hi - v) * (h - pad_t - pad_b) / (hi - lo)

    out = [f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="{E(title)}">']
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        out.append(f'<line x1="{pad_l}" x2="{w - 10}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>'
                   f'<text x="{pad_l - 4}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end" fill="#666">'
                   f'{(f"{v:,.0f}" if hi - lo > 10 else f"{v:.1f}")}</text>')
    step = max(1, len(labels) // 7)
    for i, lab in enumerate(labels):
        if i % step == 0 or i == len(labels) - 1:
            out.append(f'<text x="{x(i):.1f}" y="{h - 8}" font-size="11" text-anchor="middle" fill="#666">{E(lab)}</text>')
    for name, vals in series.items():
        pts = [f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vals) if v is not None]
        if pts:
            out.append(f'<polyline class="series" data-series="{E(name)}" fill="none" stroke="{colours[name]}" '
                       f'stroke-width="2" points="{" ".join(pts)}"/>')
    out.append("</svg>")
    return "".join(out)


def _bar_chart(values: list[float], labels: list[str], colour: str, title: str) -> str:
    w, h, pad_l, pad_b = 640, 160, 36, 22
    hi = max(values + [1])
    bw = (w - pad_l - 10) / max(len(values), 1)
    out = [f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="{E(title)}">']
    for i, (v, lab) in enumerate(zip(values, labels)):
        bh = (h - pad_b - 8) * v / hi
        out.append(f'<rect class="bar" data-value="{v:g}" x="{pad_l + i * bw + 1:.1f}" y="{h - pad_b - bh:.1f}" '
                   f'width="{bw - 2:.1f}" height="{bh:.1f}" fill="{colour}"/>')
        if i % 3 == 0:
            out.append(f'<text x="{pad_l + (i + .5) * bw:.1f}" y="{h - 6}" font-size="11" text-anchor="middle" '
                       f'fill="#666">{E(lab)}</text>')
    out.append(f'<text x="{pad_l - 4}" y="14" font-size="11" text-anchor="end" fill="#666">{hi:g}</text></svg>')
    return "".join(out)


def _pct(n: int, total: int) -> str:
    return f"{round(100 * n / total)}%" if total else "–"


def _influencers(authors, names: list[str], labels: dict[str, str], t: dict) -> str:
    """Top five authors per topic over 7 days, with their flag and the sentence that explains them."""
    if authors is None or not authors.num_rows:
        return f'<p class="muted">{E(t["not_yet"])}</p>'
    import pyarrow.compute as pc

    week = authors.filter(pc.and_(pc.is_in(authors["topic"], value_set=pa.array(names, pa.string())),
                                  pc.equal(authors["window_days"], 7)))  # in Arrow: 855k rows at 1M posts
    out = []
    for n in names:
        top = _top(week.filter(pc.equal(week["topic"], n)), 5, [("rank", "ascending")])
        if not top:
            continue
        out.append(f'<h3 style="font-size:.95rem">{E(labels[n])}</h3><table class="influencers" data-topic="{E(n)}">'
                   f'<tr><th class="n">{E(t["rank"])}</th><th>{E(t["authors"])}</th><th class="n">{E(t["score"])}</th>'
                   f'<th>{E(t["why"])}</th></tr>')
        for a in top:
            flag = f' <span class="muted">({E(t[a["role"]])})</span>' if a.get("role") in ("own", "press") else ""
            out.append(f'<tr><td class="n">{a["rank"]}</td><td>{E(a["platform"])} {E(a["author_key"][:8])}…{flag}</td>'
                       f'<td class="n">{a["influence"]:.2f}</td><td>{E(a["explanation"])}</td></tr>')
        out.append("</table>")
    return "".join(out) or f'<p>{E(t["none"])}</p>'


def _hours(h) -> str:
    return "–" if h is None else (f"{h:.0f} h" if h >= 2 else f"{h * 60:.0f} min")


def _desk(run, names: list[str], t: dict) -> str:
    """Answered or not, how fast: the response desk over the group's topics (listening.responses)."""
    desk = lake.read_partition(run.lake, RESPONSES, dt=run.day)
    if desk is None:
        return f'<p class="muted">{E(t["not_yet"])}</p>'
    rows = [r for r in desk.to_pylist() if set(r["topics"]) & set(names)]
    if not rows:
        return f'<p>{E(t["none"])}</p>'
    from listening.responses import summary

    m = summary(rows)
    rate = m["response_rate"]
    cells = [("awaiting", m["awaiting"]), ("answered", m["answered"]),
             ("rate", "–" if rate is None else f"{round(100 * rate)}%"),
             ("median", _hours(m["median_response_hours"])), ("p90", _hours(m["p90_response_hours"])),
             ("late24", m["overdue_24h"]), ("late48", m["overdue_48h"]), ("unknown", m["unknown"])]
    return ('<table id="desk">' + "".join(f'<tr><td>{E(t[k])}</td><td class="n {k}">{E(str(v))}</td></tr>'
                                          for k, v in cells) + "</table>")


def _campaigns(run, names: list[str], t: dict) -> str:
    """Uptake of the campaign hashtags that belong to this group's topics (listening.campaigns)."""
    wl = run.config.watchlists
    tags = {h.casefold() for tp in wl.topics if tp.name in names for h in tp.hashtags}
    mine = [c for c in wl.campaigns if c.hashtag.casefold() in tags]
    if not mine:
        return ""
    days = [run.day - timedelta(days=k) for k in range(HISTORY_DAYS - 1, -1, -1)]
    rows = [r for r in _read_days(run.lake, CAMPAIGN_DAILY, days) if r["campaign"] in {c.name for c in mine}]
    out = [f'<section id="campaigns"><h2>{E(t["campaigns"])}</h2>']
    for c in mine:
        series = {r["day"]: r for r in rows if r["campaign"] == c.name}
        today = series.get(run.day)
        if today is None:
            out.append(f'<p>{E(c.label)}: {E(t["not_yet"])}</p>')
            continue
        vs = today["vs_first_days"]
        cells = [("posts", f'{today["posts"]:,}'), ("people", f'{today["people"]:,}'),
                 ("new_people", f'{today["new_people"]:,}'), ("cumulative", f'{today["cumulative_people"]:,}'),
                 ("reach", f'{today["reach"]:,}'), ("vs_first", "–" if vs is None else f"×{vs:.1f}")]
        out.append(f'<h3 style="font-size:.95rem">{E(c.label)} · {E(t["day_n"].format(n=today["day_of_campaign"]))}'
                   f'</h3><table class="campaign" data-campaign="{E(c.name)}">'
                   + "".join(f'<tr><td>{E(t[k])}</td><td class="n {k}">{v}</td></tr>' for k, v in cells) + "</table>")
        people = {"people": [float(series[d]["people"]) if d in series else None for d in days],
                  "new_people": [float(series[d]["new_people"]) if d in series else None for d in days]}
        out.append(_line_chart(people, [d.strftime("%d/%m") for d in days],
                               {"people": COLOURS[0], "new_people": COLOURS[1]}, ymin=0, title=t["people"]))
    return "".join(out) + "</section>"


TRIAGE_ORDER = ["question", "misinformation", "insult", "inflammatory", "negative", "disagreement",
                "positive_feedback", "humour", "spam", "other"]
URGENCY_ORDER = {"red": 0, "amber": 1, "green": 2}


REPORT_COLUMNS = ["post_id", "platform", "url", "created_at", "text", "topics", "hashtags", "links", "engagement",
                  "triage", "triage_action", "urgency", "addresses_institution"]


def _group_mentions(root: Path, day: date, names: list[str]) -> pa.Table:
    """The day's mentions of the group's topics, only the columns the page reads (Arrow, no rows
    as Python objects: at 1M posts a day that took minutes and GB)."""
    import numpy as np
    import pyarrow.compute as pc

    p = lake.partition_dir(root, MENTIONS, dt=day) / lake.PART
    if not p.exists():
        return MENTIONS.schema.empty_table().select(REPORT_COLUMNS)
    have = set(lake.parquet_metadata(p).schema.to_arrow_schema().names)  # an older lake may lack triage
    t = lake.read_table(p, columns=[c for c in REPORT_COLUMNS if c in have])
    hit = pc.is_in(pc.list_flatten(t["topics"]), value_set=pa.array(names, pa.string()))
    parents = pc.list_parent_indices(t["topics"]).to_numpy()
    return t.take(np.unique(parents[hit.to_numpy(zero_copy_only=False)]))


def _most_common(col, n: int) -> list[tuple[str, int]]:
    """collections.Counter(...).most_common(n) of a list column's values (ties: first seen first)."""
    import numpy as np
    import pyarrow.compute as pc

    vc = pc.value_counts(pc.list_flatten(col))
    values, counts = vc.field("values").to_pylist(), vc.field("counts").to_numpy()
    order = np.argsort(-counts, kind="stable")[:n]
    return [(values[i], int(counts[i])) for i in order]


def _top(table: pa.Table, n: int, keys: list[tuple[str, str]]) -> list[dict]:
    import pyarrow.compute as pc

    return table.take(pc.sort_indices(table, sort_keys=keys)[:n]).to_pylist() if table.num_rows else []


def _triage(mentions: pa.Table, t: dict, zone) -> str:
    """What the team has to handle today: counts per type, then the red posts with the response to give."""
    import pyarrow.compute as pc

    if not mentions.num_rows or "triage" not in mentions.column_names:
        return f'<p class="muted">{E(t["not_yet"])}</p>'
    vc = pc.value_counts(mentions["triage"])
    counts = dict(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist()))
    waiting = pc.sum(pc.and_(pc.equal(mentions["triage"], "question"), mentions["addresses_institution"])).as_py() or 0
    urgent = mentions.filter(pc.equal(mentions["urgency"], "red"))
    red = _top(urgent, 5, [("engagement", "descending"), ("created_at", "ascending"), ("post_id", "ascending")])
    head = (f'<ul class="triage-key"><li>{E(t["waiting"])} : <strong class="waiting">{waiting:,}</strong></li>'
            f'<li>{E(t["to_report"])} : <strong class="to-report">{counts.get("insult", 0):,}</strong></li>'
            f'<li>{E(t["to_correct"])} : <strong class="to-correct">{counts.get("misinformation", 0):,}</strong></li>'
            f'<li><span class="sev-red">{E(t["urgent"])}</span> : <strong class="urgent">{urgent.num_rows:,}</strong></li></ul>')
    table = "".join(f'<tr data-class="{E(c)}"><td>{E(t["classes"].get(c, c))}</td><td class="n">{counts[c]:,}</td></tr>'
                    for c in TRIAGE_ORDER if counts.get(c))
    posts = "".join(
        f'<div class="post"><div>{E(m["text"][:400])}</div><div class="muted"><span class="sev-red">'
        f'{E(t["classes"].get(m["triage"], m["triage"]))}</span> · {E(m["triage_action"])} · '
        f'{m["created_at"].astimezone(zone):%H:%M}'
        + (f' · <a href="{E(m["url"])}">{E(m["platform"])}</a>' if m["url"] else f' · {E(m["platform"])}')
        + "</div></div>" for m in red)
    return head + f'<table id="triage-counts"><tr><th>{E(t["class"])}</th><th class="n">{E(t["posts"])}</th></tr>' \
        + table + "</table>" + posts


def group_page(run, group: str) -> str:
    wl, settings = run.config.watchlists, run.config.settings
    t = TEXT[settings.digest_language if settings.digest_language in TEXT else "en"]
    zone = run.config.zone
    topics = [tp for tp in wl.topics if tp.group == group]
    names = [tp.name for tp in topics]
    labels = {tp.name: tp.label for tp in topics}
    colours = {n: COLOURS[i % len(COLOURS)] for i, n in enumerate(names)}
    day = run.day
    days = [day - timedelta(days=k) for k in range(HISTORY_DAYS - 1, -1, -1)]
    daily = [r for r in _read_days(run.lake, METRICS_DAILY, days) if r["topic"] in names]
    by = {(r["topic"], r["day"]): r for r in daily}
    volume = {n: [float(by[(n, d)]["posts"]) if (n, d) in by else None for d in days] for n in names}
    tone = {n: [by[(n, d)]["net_sentiment"] if (n, d) in by else None for d in days] for n in names}
    today = {n: by.get((n, day)) for n in names}
    hourly = [r for r in _read_days(run.lake, METRICS_HOURLY, [day]) if r["topic"] in names]
    # Hours in the local zone: a team reads "14h", not "13h UTC".
    local_hours = [(datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=h))
                   .astimezone(zone) for h in range(24)]
    per_hour = Counter()
    for r in hourly:
        per_hour[r["hour"].astimezone(timezone.utc).hour] += r["posts"]
    mentions = _group_mentions(run.lake, day, names)
    tags = _most_common(mentions["hashtags"], 10)
    links = _most_common(mentions["links"], 5)
    alerts = [a for a in (lake.read_partition(run.lake, ALERTS, dt=day) or ALERTS.schema.empty_table()).to_pylist()
              if a["topic"] in names]
    authors = lake.read_partition(run.lake, AUTHORS, dt=day)
    legend = "".join(f'<span><i class="sw" style="background:{colours[n]}"></i>{E(labels[n])}</span>' for n in names)
    total_today = sum((today[n] or {}).get("posts", 0) for n in names)

    rows = []
    for n in names:
        m = today[n] or {}
        scored = m.get("positive", 0) + m.get("neutral", 0) + m.get("negative", 0)
        net = m.get("net_sentiment")
        rows.append(f'<tr data-topic="{E(n)}"><td>{E(labels[n])}</td><td class="n posts">{m.get("posts", 0):,}</td>'
                    f'<td class="n">{m.get("unique_authors", 0):,}</td>'
                    f'<td class="n">{_pct(m.get("positive", 0), scored)} / {_pct(m.get("neutral", 0), scored)} / '
                    f'{_pct(m.get("negative", 0), scored)}</td>'
                    f'<td class="n">{"–" if net is None else f"{net:+.2f}"}</td>'
                    f'<td class="n share">{_pct(m.get("posts", 0), total_today)}</td></tr>')
    alert_items = "".join(
        f'<li><span class="sev-{E(a["severity"])}">{E(a["severity"].upper())}</span> {E(labels.get(a["topic"], a["topic"]))}: '
        f'{E(a["title"])} <span class="muted">({a["window_start"].astimezone(zone):%H:%M}–'
        f'{a["window_end"].astimezone(zone):%H:%M})</span></li>' for a in alerts) or f'<p>{E(t["no_alerts"])}</p>'
    examples = _top(mentions, 5, [("engagement", "descending"), ("post_id", "ascending")])
    example_html = "".join(
        f'<div class="post"><div>{E(m["text"][:400])}</div><div class="muted">{E(", ".join(labels.get(x, x) for x in m["topics"] if x in labels))}'
        f' · {m["created_at"].astimezone(zone):%H:%M} · {m["engagement"]:,} {E(t["engagement"])}'
        + (f' · <a href="{E(m["url"])}">{E(m["platform"])}</a>' if m["url"] else f' · {E(m["platform"])}')
        + "</div></div>" for m in examples) or f'<p>{E(t["none"])}</p>'
    influencers = _influencers(authors, names, labels, t)
    triage = _triage(mentions, t, zone)
    new_items = []
    for n in names:
        m = today[n] or {}
        fresh = [f"#{h}" for h in (m.get("new_hashtags") or [])] + list(m.get("new_terms") or [])
        if fresh:
            new_items.append(f'<li>{E(labels[n])}: {E(", ".join(fresh))}</li>')
    term_line = ", ".join(sorted({w for n in names for w in ((today[n] or {}).get("top_terms") or [])[:8]}))
    tag_rows = "".join(f'<tr><td>#{E(h)}</td><td class="n">{c:,}</td></tr>' for h, c in tags)
    link_rows = "".join(f'<tr><td><a href="{E(u)}">{E(u[:80])}</a></td><td class="n">{c:,}</td></tr>'
                        for u, c in links)
    group_label = {"institution": wl.institution.name}.get(group, group)
    return f"""<!doctype html>
<html lang="{'fr' if t is TEXT['fr'] else 'en'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{E(t['title'].format(day=day.isoformat()))} — {E(group_label)}</title><style>{CSS}</style></head>
<body><main>
<h1>{E(t['title'].format(day=day.isoformat()))}</h1>
<p class="muted">{E(t['group'])} : <strong>{E(group_label)}</strong></p>
<section style="overflow-x:auto"><table id="topics"><tr><th>{E(t['topic'])}</th><th class="n">{E(t['posts'])}</th><th class="n">{E(t['authors'])}</th>
<th class="n">{E(t['pos'])} / {E(t['neu'])} / {E(t['neg'])}</th><th class="n">{E(t['net'])}</th><th class="n">{E(t['share'])}</th></tr>
{''.join(rows)}</table></section>
<section id="volume"><h2>{E(t['volume'])}</h2><div class="legend">{legend}</div>
{_line_chart(volume, [d.strftime('%d/%m') for d in days], colours, ymin=0, title=t['volume'])}</section>
<section id="tone"><h2>{E(t['tone'])}</h2>
{_line_chart(tone, [d.strftime('%d/%m') for d in days], colours, ymin=-1, ymax=1, title=t['tone'])}</section>
<section id="hours"><h2>{E(t['hours'].format(day=day.isoformat(), tz=settings.timezone))}</h2>
{_bar_chart([float(per_hour.get(h, 0)) for h in range(24)], [f"{lh:%Hh}" for lh in local_hours], COLOURS[0], t['hours'])}</section>
<section id="alerts"><h2>{E(t['alerts'])}</h2><ul>{alert_items}</ul></section>
<section id="hashtags"><h2>{E(t['hashtags'])}</h2><table>{tag_rows or '<tr><td>–</td></tr>'}</table>
<h2>{E(t['links'])}</h2><table>{link_rows or '<tr><td>–</td></tr>'}</table></section>
<section id="new"><h2>{E(t['new'])}</h2>{'<ul>' + ''.join(new_items) + '</ul>' if new_items else '<p>–</p>'}
<h2>{E(t['terms'])}</h2><p>{E(term_line) or '–'}</p></section>
<section id="influencers"><h2>{E(t['influencers'])}</h2>{influencers}</section>
<section id="triage"><h2>{E(t['triage'])}</h2>{triage}</section>
<section id="responses"><h2>{E(t['desk'].format(days=settings.response_window_days))}</h2>{_desk(run, names, t)}</section>
{_campaigns(run, names, t)}
<section id="examples"><h2>{E(t['examples'])}</h2>{example_html}</section>
<p class="muted">{E(t['generated'].format(lake=run.lake))}</p>
</main></body></html>
"""


def write_reports(run) -> list[Path]:
    """One page per topic group, written atomically next to the day's data."""
    out = run.lake / "reports" / f"dt={run.day.isoformat()}"
    return [lake.write_atomic(out / f"{group}.html", group_page(run, group))
            for group in sorted({tp.group for tp in run.config.watchlists.topics})]
