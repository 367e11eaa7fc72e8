"""The daily HTML report, rendered by headless Chromium and read as a person would."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from conftest import enriched
from listening import lake, pipeline, report_html
from listening.schema import AUTHORS, MENTIONS, METRICS_DAILY, METRICS_HOURLY

DAY = date(2026, 11, 5)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)> \u202eevil"


def _metric(day, topic, posts, pos, neg, hour=None):
    row = {"topic": topic, "posts": posts, "unique_authors": posts - 1, "positive": pos, "neutral": posts - pos - neg,
           "negative": neg, "unscored": 0, "net_sentiment": (pos - neg) / posts, "mean_sentiment": 0.0, "reach": 10,
           "engagement": 5, "replies": 0, "reposts": 0, "lang_fr": posts, "lang_nl": 0, "lang_en": 0, "lang_de": 0,
           "lang_other": 0, "top_hashtags": ["climatbxl"]}
    return {**row, "hour": hour} if hour else {**row, "day": day}


def _mention(i, topic, text, engagement, **triage):
    return enriched({**{"post_id": f"x:{i}", "platform": "x", "url": f"https://x.com/a/status/{i}",
            "created_at": datetime(2026, 11, 5, 9, i % 60, tzinfo=timezone.utc), "hour": 9, "author_key": f"k{i}",
            "author_followers": 5, "text": text, "hashtags": ["climatbxl"], "mentions": [], "links": [],
            "lang": "fr", "lang_source": "platform", "lang_confidence": 1.0, "topics": [topic], "matches": [],
            "sentiment_score": 0.0, "sentiment_label": "neutral", "sentiment_engine": "x", "is_reply": False,
            "is_repost": False, "reply_to": None, "repost_of": None, "quote_of": None, "like_count": engagement,
            "repost_count": 0, "reply_count": 0, "quote_count": 0, "engagement": engagement}, **triage})


def _author(rank, topic, key, influence, explanation, role=None):
    return {"author_key": key, "platform": "x", "topic": topic, "window_days": 7, "posts": 3, "reach": 0.5,
            "engagement": 0.5, "centrality": 0.5, "relevance": 0.5, "authenticity": 1.0, "influence": influence,
            "rank": rank, "explanation": explanation, "role": role, "days_active": 2, "amplifiers": 4}


@pytest.fixture()
def run(tmp_path):
    r = pipeline.make_run(DAY, "r", lake_dir=str(tmp_path / "lake"), import_dir=str(tmp_path))
    for k in range(4):
        d = DAY - timedelta(days=k)
        rows = [_metric(d, "budget-2027", 100 + 10 * k, 30, 20), _metric(d, "climate-bill", 50 + k, 10, 30),
                _metric(d, "agora", 5, 1, 1), _metric(d, "parlement", 70, 20, 20)]
        lake.write_partition(r.lake, METRICS_DAILY, pa.Table.from_pylist(rows, schema=METRICS_DAILY.schema), dt=d)
    hourly = [_metric(DAY, "climate-bill", 7, 1, 3, hour=datetime(2026, 11, 5, h, tzinfo=timezone.utc)) for h in (8, 9, 13)]
    lake.write_partition(r.lake, METRICS_HOURLY, pa.Table.from_pylist(hourly, schema=METRICS_HOURLY.schema), dt=DAY)
    mentions = [
        _mention(1, "climate-bill", HOSTILE, 999, triage="insult", urgency="red",
                 triage_action="masquer ou signaler", addresses_institution=True),
        _mention(2, "budget-2027", "Le budget régional est voté", 3),
        _mention(3, "budget-2027", "Quand le budget sera-t-il voté ? @parlbxl", 1, triage="question",
                 urgency="amber", triage_action="répondre en détail", addresses_institution=True),
        _mention(4, "budget-2027", "Et le budget, c'est pour quand ?", 0, triage="question", urgency="amber"),
    ]
    lake.write_partition(r.lake, MENTIONS, pa.Table.from_pylist(mentions, schema=MENTIONS.schema), dt=DAY)
    authors = [_author(1, "climate-bill", "outlet0123456", 0.61, "Amplifié par 79 comptes", role="press"),
               _author(2, "climate-bill", "citizen987654", 0.33, "12 de ses 14 messages sur ce sujet"),
               _author(1, "parlement", "elsewhere0000", 0.5, "autre groupe")]
    lake.write_partition(r.lake, AUTHORS, pa.Table.from_pylist(authors, schema=AUTHORS.schema), dt=DAY)
    return r


def test_one_page_per_group_with_the_numbers_of_the_datasets(run):
    paths = report_html.write_reports(run)
    assert sorted(p.name for p in paths) == ["campaigns.html", "debates.html", "institution.html"]
    page = (run.lake / "reports" / "dt=2026-11-05" / "debates.html").read_text()
    assert 'data-topic="budget-2027"' in page and 'data-topic="parlement"' not in page
    assert "<script>" not in page and "<img" not in page and "&lt;script&gt;" in page
    # What the team has to handle: one question waits for the institution, one insult to report,
    # one red post shown with its recommended response.
    assert re.search(r'class="waiting">1<', page) and re.search(r'class="to-report">1<', page)
    assert re.search(r'class="urgent">1<', page) and "masquer ou signaler" in page
    assert re.search(r'<tr data-class="question"><td>question</td><td class="n">2</td>', page)
    # Influential voices of the group's topics only, in rank order, with why and the press flag.
    assert page.index("outlet01") < page.index("citizen9") and "elsewhere" not in page
    assert "Amplifié par 79 comptes" in page and "(presse)" in page


def test_sections_without_data_say_so(run):
    import shutil as sh

    sh.rmtree(run.lake / "authors")
    page = report_html.group_page(run, "debates")
    assert "Pas encore calculé pour ce jour." in page


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_rendered_by_chromium_as_a_person_sees_it(run, tmp_path):
    report_html.write_reports(run)
    page = run.lake / "reports" / "dt=2026-11-05" / "debates.html"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'chrome'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    # The table a person reads: posts per topic as in metrics_daily, and the share of voice.
    got = dict(re.findall(r'<tr data-topic="([\w-]+)">.*?<td class="n posts">([\d,]+)</td>', dom, re.S))
    assert got == {"budget-2027": "100", "climate-bill": "50"}
    assert re.search(r'data-topic="budget-2027".*?<td class="n share">67%</td>', dom, re.S)
    # Charts present and not empty: one line per topic in each chart, 24 hourly bars, 3 of them non-zero.
    assert len(re.findall(r'<polyline class="series" data-series="budget-2027"', dom)) == 2
    points = re.search(r'data-series="climate-bill"[^>]*points="([^"]+)"', dom).group(1).split()
    assert len(points) == 4
    bars = [float(v) for v in re.findall(r'<rect class="bar" data-value="([\d.]+)"', dom)]
    assert len(bars) == 24 and sum(1 for b in bars if b) == 3 and max(bars) == 7
    # Hostile post text shows as text: no element was created from it.
    assert "<img src=\"x\"" not in dom and "alert('x')</script>" not in dom
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in dom
    # Triage and influencers as read on screen.
    assert re.search(r'class="waiting">1</strong>', dom) and re.search(r'class="to-report">1</strong>', dom)
    assert re.search(r'<table class="influencers" data-topic="climate-bill">.*?<td class="n">1</td>.*?outlet01', dom, re.S)
    # And it fits a phone: a screenshot at 400 px wide is not blank.
    shot = tmp_path / "phone.png"
    subprocess.run([CHROMIUM, *flags, "--window-size=400,1800", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_top_hashtags_and_links_count_like_counter_with_ties_in_first_seen_order():
    """The page's top hashtags and links are counted in Arrow: the same counts and order as
    collections.Counter.most_common (a tie keeps the value seen first)."""
    from collections import Counter

    rows = [["b", "a"], [], ["a", "c"], ["c"], ["d", "b"], None, ["e"], ["c", "b"]]
    col = pa.array(rows, pa.list_(pa.string()))
    expected = Counter(v for r in rows for v in (r or [])).most_common(3)
    assert report_html._most_common(col, 3) == expected == [("b", 3), ("c", 3), ("a", 2)]
    assert report_html._most_common(pa.array([], pa.list_(pa.string())), 5) == []
