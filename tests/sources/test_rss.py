"""The RSS/Atom collector against fake feeds over real HTTP: what lands, not only that nothing
raised."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from fakes.harness import Sleeps, client, config_with, everything, landed, quarantined, run
from fakes.rss import ALERTS_PATH, Entry, Feeds, alerts, news
from fakes.server import FakeServer
from listening import collect
from listening.config import ConfigError
from listening.sources.base import SourceError, utc

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
RSS, ATOM = "/rss2/2/cible_principale", "/feed/atom"


@pytest.fixture
def site():
    app = Feeds()
    app.rss = news(12, NOW - timedelta(minutes=5), author="Jean Dupont")   # 20 minutes apart
    app.atom = news(6, NOW - timedelta(minutes=7), every=timedelta(minutes=30))
    app.alerts = alerts(8, NOW - timedelta(minutes=2))
    with FakeServer(app) as server:
        app.url = server.url
        yield app, server


def _config(tmp_path, server, feeds=None, **extra):
    feeds = feeds if feeds is not None else [
        {"url": server.url + RSS, "name": "Le Soir"},
        {"url": server.url + ATOM},
        {"url": server.url + ALERTS_PATH, "topics": ["parlement", "budget-2027"]},
    ]
    return config_with(tmp_path, {"rss": {"feeds": feeds, **extra}})


def ids(lines):
    return [line["id"] for line in lines]


def test_feeds_without_topics_are_one_job_and_bound_feeds_one_per_topic(tmp_path, site):
    app, server = site
    cfg = _config(tmp_path, server)
    jobs = collect.plan(cfg, collect.load_sources(cfg.config_dir, cfg))
    assert [(j["source"], j["topic"]) for j in jobs] == [("rss", "all"), ("rss", "budget-2027"),
                                                         ("rss", "parlement")]
    # the source-wide topic filter keeps the feeds that serve every topic
    cfg = _config(tmp_path, server, topics=["parlement"])
    jobs = collect.plan(cfg, collect.load_sources(cfg.config_dir, cfg))
    assert [j["topic"] for j in jobs] == ["all", "parlement"]


def test_a_feed_bound_to_an_unknown_topic_is_a_config_error_naming_it(tmp_path, site):
    app, server = site
    cfg = _config(tmp_path, server, feeds=[{"url": server.url + RSS, "topics": ["nope"]}])
    with pytest.raises(ConfigError, match=r"rss.feeds\[0\].*unknown topics \['nope'\]"):
        collect.plan(cfg, collect.load_sources(cfg.config_dir, cfg))
    for feeds, why in (([{"url": server.url + RSS}, {"url": server.url + RSS}], "listed twice"),
                       ([{"url": "file:///etc/passwd"}], "must be an http"),
                       ([{"url": server.url + RSS, "topics": []}], "at least 1 item")):
        cfg = _config(tmp_path, server, feeds=feeds)
        with pytest.raises(ConfigError, match=why):
            collect.load_sources(cfg.config_dir, cfg)


def test_rss_atom_and_google_alerts_entries_land_with_their_fields_and_original(tmp_path, site):
    app, server = site
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    summary = run("rss", "all", cfg, lake, NOW)
    assert summary["errors"] == [] and summary["quarantined"] == 0
    assert summary["queries"] == 2 and summary["pages"] == 2
    lines = landed(lake, "rss")
    # the backfill is 24 hours: every entry of both feeds is in it
    assert sorted(ids(lines)) == sorted([f"lesoir.be/{i}" for i in range(1, 13)]
                                        + [f"https://www.bruzz.be/node/{i}" for i in range(1, 7)])
    by = {line["id"]: line for line in lines}
    soir = by["lesoir.be/12"]
    assert soir["created_at"] == "2026-11-20T11:55:00Z"          # pubDate in CET, stored in UTC
    assert soir["author_id"] == "Jean Dupont (lesoir.be)" and soir["author_handle"] == "Le Soir"
    assert soir["url"] == "https://www.lesoir.be/12/article/parlement-12"
    assert soir["lang"] == "fr"                                   # <language>fr-BE</language>
    assert soir["text"].startswith("Le Parlement bruxellois, épisode 12\n\n<p>Au Parlement")
    assert soir["reply_count"] == 0 and by["lesoir.be/11"]["reply_count"] == 3  # slash:comments
    assert soir["original"]["id"] == "12" and soir["original"]["published"] == "Fri, 20 Nov 2026 12:55:00 +0100"
    assert soir["original"]["content"][0]["value"] == "<p>Au Parlement bruxellois ce jour, point 12 & suite.</p>"
    assert soir["collected"]["topic"] == "all" and soir["collected"]["query"] == f"feed:{server.url}{RSS}"
    bruzz = by["https://www.bruzz.be/node/6"]
    assert bruzz["lang"] == "nl" and bruzz["author_id"] == "bruzz.be"   # xml:lang; no author: the site
    assert bruzz["author_handle"] == "BRUZZ - Actua" and bruzz["created_at"] == "2026-11-20T11:53:00Z"

    summary = run("rss", "parlement", cfg, lake, NOW)
    ga = [line for line in landed(lake, "rss") if line["collected"]["topic"] == "parlement"]
    assert summary["posts"] == 8 and len(ga) == 8
    g = {line["id"]: line for line in ga}["tag:google.com,2013:googlealerts/feed:10000000000000000008"]
    assert g["url"] == "https://www.rtbf.be/article/parlement-8"      # the Google redirect unwrapped
    assert g["original"]["link"].startswith("https://www.google.com/url?rct=j&sa=t&url=https://www.rtbf.be/")
    assert g["author_id"] == "rtbf.be" and g["author_handle"] == "rtbf.be"  # the publisher, not google.com
    assert g["text"] == ("Le <b>Parlement bruxellois</b> vote le texte 8 - RTBF\n\n"
                         "Ce jeudi, le <b>Parlement bruxellois</b> a adopté le texte 8&nbsp;...")
    assert g["created_at"] == "2026-11-20T11:58:00Z" and g["lang"] is None
    from listening.sources.rss import unwrap

    assert unwrap("https://www.google.be/url?rct=j&sa=t&url=https://x.be/a%3Fb%3D1&ct=ga") == "https://x.be/a?b=1"
    assert json.loads(json.dumps(g["original"])) == g["original"]


def test_an_unchanged_feed_lands_nothing_the_second_time_and_new_entries_land_once(tmp_path, site):
    app, server = site
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    first = run("rss", "all", cfg, lake, NOW)
    assert first["posts"] == 18
    again = run("rss", "all", cfg, lake, NOW + timedelta(hours=1))
    assert again["posts"] == 0 and again["errors"] == [] and again["already_landed"] >= 2
    # two new articles, one edited article (same guid, new text and date: a new version, same id)
    app.rss.append(Entry(13, NOW + timedelta(minutes=40), title="Nouveau 13", text="n13"))
    app.atom.append(Entry(7, NOW + timedelta(minutes=50), title="Nieuw 7", text="n7"))
    third = run("rss", "all", cfg, lake, NOW + timedelta(hours=2))
    assert third["posts"] == 2
    lines = landed(lake, "rss")
    assert len(lines) == len(set(ids(lines))) == 20
    state = json.loads(collect.state_path(lake, "rss", "all").read_text())
    assert utc(state["queries"][f"feed:{server.url}{RSS}"]["newest"]) == NOW + timedelta(minutes=40)


def test_entries_older_than_the_backfill_are_left(tmp_path, site):
    app, server = site
    cfg = _config(tmp_path, server, backfill_hours=2)
    summary = run("rss", "all", cfg, tmp_path / "lake", NOW)
    # RSS every 20 min from 11:55 back: 6 within two hours; Atom every 30 min from 11:53: 4
    assert summary["posts"] == 6 + 4


def test_429_waits_what_retry_after_says_then_goes_on(tmp_path, site):
    app, server = site
    cfg = _config(tmp_path, server, feeds=[{"url": server.url + RSS}])
    server.fail(RSS, status=429, headers={"Retry-After": "7"}, body="Too Many Requests")
    sleeps = Sleeps()
    summary = run("rss", "all", cfg, tmp_path / "lake", NOW, cl=client(sleep=sleeps))
    assert sleeps == [7.0] and summary["posts"] == 12


def test_500_then_success_and_a_dropped_connection_are_retried(tmp_path, site):
    app, server = site
    cfg = _config(tmp_path, server, feeds=[{"url": server.url + ATOM}])
    server.fail(ATOM, status=500, body="<h1>Internal Server Error</h1>")
    server.fail(ATOM, reset=True)
    summary = run("rss", "all", cfg, tmp_path / "lake", NOW)
    assert summary["posts"] == 6 and summary["errors"] == []
    assert len(server.hits(ATOM)) == 3


def test_a_timeout_is_retried(tmp_path, site):
    app, server = site
    cfg = _config(tmp_path, server, feeds=[{"url": server.url + RSS}])
    server.fail(RSS, delay=1.5)
    cl = client(timeout=0.5)
    summary = run("rss", "all", cfg, tmp_path / "lake", NOW, cl=cl)
    assert summary["posts"] == 12 and cl.requests == 2


def test_a_truncated_feed_is_quarantined_with_its_request_and_read_next_run(tmp_path, site):
    app, server = site
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    from fakes.rss import rss_feed

    cut = rss_feed(app.rss).encode()[:2500]  # feedparser alone would read the first entries of it
    server.fail(RSS, status=200, body=cut)
    server.fail(RSS, status=200, body=cut)    # fetched once more before giving up
    with pytest.raises(SourceError, match="1 of 2 queries failed"):
        run("rss", "all", cfg, lake, NOW)
    q = quarantined(lake, "rss")
    assert len(q) == 1 and q[0]["rule"] == "malformed_page"
    assert q[0]["request"] == f"GET {server.url}{RSS}" and "truncated feed" in q[0]["reason"]
    assert q[0]["record"].startswith("<?xml")
    assert sorted(ids(landed(lake, "rss"))) == sorted(f"https://www.bruzz.be/node/{i}" for i in range(1, 7))
    state = json.loads(collect.state_path(lake, "rss", "all").read_text())
    assert f"feed:{server.url}{RSS}" not in state["queries"]  # the cursor did not move
    summary = run("rss", "all", cfg, lake, NOW + timedelta(minutes=5))
    assert summary["posts"] == 12
    assert len(set(ids(landed(lake, "rss")))) == 18


def test_an_html_page_instead_of_a_feed_is_quarantined(tmp_path, site):
    app, server = site
    cfg = _config(tmp_path, server, feeds=[{"url": server.url + RSS}])
    page = b"<!DOCTYPE html><html><head><title>Le Soir</title></head><body>Consent</body></html>"
    server.fail(RSS, status=200, body=page)
    server.fail(RSS, status=200, body=page)
    with pytest.raises(SourceError, match="not an RSS or Atom feed"):
        run("rss", "all", cfg, tmp_path / "lake", NOW)
    q = quarantined(tmp_path / "lake", "rss")
    assert [x["rule"] for x in q] == ["malformed_page"] and "Consent" in q[0]["record"]
    assert landed(tmp_path / "lake", "rss") == []


def test_a_missing_feed_fails_its_query_with_the_status(tmp_path, site):
    app, server = site
    cfg = _config(tmp_path, server, feeds=[{"url": server.url + "/gone.xml"}, {"url": server.url + ATOM}])
    with pytest.raises(SourceError, match="gone.xml: HTTP 404"):
        run("rss", "all", cfg, tmp_path / "lake", NOW)
    assert len(landed(tmp_path / "lake", "rss")) == 6


def test_a_feed_with_a_minor_flaw_is_still_read(tmp_path, site):
    app, server = site
    cfg = _config(tmp_path, server, feeds=[{"url": server.url + RSS}])
    from fakes.rss import rss_feed

    # a bare '&' in a title (not well-formed XML) and an ISO-8859-1 body declared as UTF-8
    body = rss_feed(app.rss).replace("épisode 12", "épisode 12 & fin").encode("latin-1")
    server.fail(RSS, status=200, body=body)
    summary = run("rss", "all", cfg, tmp_path / "lake", NOW)
    assert summary["posts"] == 12 and summary["quarantined"] == 0
    by = {line["id"]: line for line in landed(tmp_path / "lake", "rss")}
    assert by["lesoir.be/12"]["text"].startswith("Le Parlement bruxellois, épisode 12 & fin")


def test_duplicates_within_a_feed_and_across_feeds_of_a_topic_land_once(tmp_path, site):
    app, server = site
    # the same Google Alert configured twice under two addresses, and an entry repeated in the feed
    app.alerts.append(alerts(8, NOW - timedelta(minutes=2))[-1])
    cfg = _config(tmp_path, server, feeds=[
        {"url": server.url + ALERTS_PATH, "topics": ["parlement"]},
        {"url": server.url + ALERTS_PATH + "?hl=fr", "topics": ["parlement"]}])
    summary = run("rss", "parlement", cfg, tmp_path / "lake", NOW)
    lines = landed(tmp_path / "lake", "rss")
    assert summary["posts"] == 8 and len(lines) == len(set(ids(lines))) == 8


def test_entries_without_a_date_or_id_and_dates_in_the_future(tmp_path, site):
    app, server = site
    # the collection time is the wall clock's (the feed is read now, whatever the run's interval)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    app.rss = [Entry(1, None, title="Sans date", text="x", guid="https://www.lesoir.be/1"),
               Entry(2, now + timedelta(days=3), title="Dans le futur", text="y"),
               Entry(3, now - timedelta(minutes=30), title="Normal", text="z")]
    cfg = _config(tmp_path, server, feeds=[{"url": server.url + RSS, "lang": "fr"}])
    lake = tmp_path / "lake"
    before = now - timedelta(seconds=1)
    run("rss", "all", cfg, lake, now)
    by = {line["id"]: line for line in landed(lake, "rss")}
    assert set(by) == {"https://www.lesoir.be/1", "lesoir.be/2", "lesoir.be/3"}
    for n in ("https://www.lesoir.be/1", "lesoir.be/2"):   # the collection time, said so
        assert by[n]["created_at_source"] == "collected" and utc(by[n]["created_at"]) >= before
    assert "pubDate" not in by["https://www.lesoir.be/1"]["original"]
    assert by["lesoir.be/2"]["original"]["published_parsed"][:3] == list((now + timedelta(days=3)).timetuple()[:3])
    assert "created_at_source" not in by["lesoir.be/3"] and by["lesoir.be/3"]["lang"] == "fr"
    # an undated entry still in the feed an hour later is not landed again
    summary = run("rss", "all", cfg, lake, now + timedelta(hours=1))
    assert summary["posts"] == 0


def test_a_paged_feed_is_followed_until_the_cursor(tmp_path, site):
    app, server = site
    app.paged = news(23, NOW - timedelta(minutes=1), every=timedelta(minutes=10))
    cfg = _config(tmp_path, server, feeds=[{"url": server.url + "/paged/atom", "name": "Parlement"}],
                  backfill_hours=2)
    summary = run("rss", "all", cfg, tmp_path / "lake", NOW)
    assert summary["posts"] == 12   # 11:59 back to 10:09, every 10 minutes
    pages = [r.arg("page", "1") for r in server.hits("/paged/atom")]
    assert pages == ["1", "2", "3"]  # the third page goes past the two hours: no fourth
    assert {line["author_handle"] for line in landed(tmp_path / "lake", "rss")} == {"Parlement"}


def test_a_secret_in_a_feed_address_never_lands_nor_shows(tmp_path, site, caplog):
    app, server = site
    secret = "s3cr3t-feed-token-abcdef"
    cfg = _config(tmp_path, server, feeds=[{"url": f"{server.url}{RSS}?token={secret}"},
                                           {"url": f"{server.url}/private.xml?key={secret}"},
                                           {"url": f"{server.url}{ATOM}?token={secret}"}])
    caplog.set_level("INFO")
    echo = f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><link rel="self" href="?token={secret}"/>'
    server.fail(ATOM, status=200, body=echo)
    server.fail(ATOM, status=200, body=echo)
    with pytest.raises(SourceError) as err:
        run("rss", "all", cfg, tmp_path / "lake", NOW)
    assert len(landed(tmp_path / "lake", "rss")) == 12
    q = quarantined(tmp_path / "lake", "rss")
    assert [x["rule"] for x in q] == ["malformed_page"] and "?token=***" in q[0]["record"]
    assert server.hits(RSS)[0].arg("token") == secret  # the feed got its token
    assert secret not in str(err.value) and secret not in caplog.text
    assert secret not in everything(tmp_path / "lake")


def test_no_credentials_are_needed(tmp_path, site):
    from listening.sources import rss

    assert rss.CONNECTION is None and rss.REQUIRES_CREDENTIALS is False
    app, server = site
    summary = run("rss", "all", _config(tmp_path, server), tmp_path / "lake", NOW, creds=None)
    assert "skipped" not in summary and summary["posts"] == 18


def test_the_nightly_ingest_reads_what_landed(tmp_path, site):
    from listening import pipeline

    app, server = site
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    run("rss", "all", cfg, lake, NOW)
    run("rss", "parlement", cfg, lake, NOW)
    empty = tmp_path / "import"
    empty.mkdir()
    r = pipeline.Run(day=NOW.date(), run_id="t", config=cfg, lake=lake, import_dir=empty)
    out = pipeline.ingest(r)
    assert out["posts"] == 12 + 6 + 8 and out["quarantined"] == 0
    raw = pipeline.staged_raw(r)
    assert set(raw["platform"].to_pylist()) == {"rss"}
    assert "rss:tag:google.com,2013:googlealerts/feed:10000000000000000001" in raw["post_id"].to_pylist()


def test_an_unchanged_feed_is_asked_conditionally_and_costs_a_304(tmp_path, site):
    """Hourly polling stays polite: the feed's ETag is kept with the cursor and sent back; an
    unchanged feed answers 304 without a body, a changed one is read as usual."""
    app, server = site
    cfg = _config(tmp_path, server, feeds=[{"url": server.url + ATOM}])
    lake = tmp_path / "lake"
    assert run("rss", "all", cfg, lake, NOW)["posts"] == 6
    state = json.loads(collect.state_path(lake, "rss", "all").read_text())
    etag = state["queries"][f"feed:{server.url}{ATOM}"]["memo"]["etag"]
    again = run("rss", "all", cfg, lake, NOW + timedelta(hours=1))
    assert again["posts"] == 0 and again["pages"] == 0 and again["errors"] == []
    assert server.hits(ATOM)[-1].headers["if-none-match"] == etag
    app.atom.append(Entry(7, NOW + timedelta(minutes=50), title="Nieuw 7", text="n7"))
    third = run("rss", "all", cfg, lake, NOW + timedelta(hours=2))
    assert third["posts"] == 1
    assert len(landed(lake, "rss")) == 7
