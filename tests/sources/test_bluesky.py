"""The Bluesky collector against a fake PDS + AppView over real HTTP: what lands, not only that
nothing raised."""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from fakes.bluesky import Bluesky, corpus, did_of, post, repost
from fakes.harness import Sleeps, client, config_with, everything, landed, quarantined, run
from fakes.server import FakeServer, Request, cut_bodies
from listening import collect
from listening.config import load_config
from listening.sources import bluesky
from listening.sources.base import Creds, SourceError, utc

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
LOGIN = "vigie.bsky.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
CREDS = Creds(login=LOGIN, password=APP_PASSWORD)
INST = "parlbxl.bsky.social"
ALICE = "alice.bsky.social"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
FEED = "/xrpc/app.bsky.feed.getAuthorFeed"


def _world():
    """45 posts of alice on the keyword and hashtag; the institution's feed (a reply, a quote, a
    repost); three posts of bob mentioning the institution."""
    alice = corpus(45, NOW - timedelta(minutes=1), timedelta(minutes=3))
    inst = [post(100 + i, NOW - timedelta(minutes=7 * i + 2), handle=INST, tags=(),
                 text=f"Séance plénière {i}", langs=("fr-BE",)) for i in range(3)]
    inst.append(post(103, NOW - timedelta(minutes=30), handle=INST, tags=(), text="Merci pour la question",
                     reply_to=alice[-2]))
    inst.append(post(104, NOW - timedelta(minutes=40), handle=INST, tags=(), text="À lire", quote=alice[-3],
                     langs=("nl",)))
    bob = [post(200 + i, NOW - timedelta(minutes=11 * i + 5), handle="bob.bsky.social", tags=(),
                text=f"Question {i} pour", mentions=(INST,), langs=("en",)) for i in range(3)]
    app = Bluesky(alice + inst + bob, login=LOGIN, password=APP_PASSWORD,
                  followers={ALICE: 321, INST: 5000, "bob.bsky.social": 7})
    app.extra_feed.append(repost(alice[-5], INST, NOW - timedelta(minutes=50), 300))
    return app


@pytest.fixture
def platform():
    app = _world()
    server = FakeServer(app)
    # headers and body go out in two writes: without TCP_NODELAY each answer waits ~40 ms for a
    # delayed ACK (this server's own handler class only; proposed for FakeServer itself)
    server.httpd.RequestHandlerClass.disable_nagle_algorithm = True
    with server:
        yield app, server


def _config(tmp_path, server, accounts=None, **extra):
    cfg = config_with(tmp_path, {"bluesky": {"base_url": server.url, "page_size": 10,
                                             "topics": ["parlement"], **extra}})
    if accounts is not None:  # the topic's accounts, in the copied watchlists
        wl = cfg.config_dir / "watchlists.yml"
        doc = yaml.safe_load(wl.read_text())
        doc["topics"][0]["accounts"] = accounts
        wl.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
        cfg = load_config(cfg.config_dir)
    return cfg


def ids(lines):
    return [line["id"] for line in lines]


def _all_ids(app):
    return {p["uri"] for p in app.posts} | {i["reason"]["uri"] for i in app.extra_feed}


def test_queries_per_topic_all_searches_in_one_job_and_bare_handles_skipped(tmp_path, platform, caplog):
    app, server = platform
    cfg = _config(tmp_path, server, accounts=["@parlbxl", f"@{ALICE}", "@bob@mastodon.social"])
    opts = collect.load_sources(cfg.config_dir, cfg)["bluesky"]
    with caplog.at_level(logging.INFO):
        anon = bluesky.queries(cfg.watchlists, opts, None)
    assert [(q.topic, q.kind, q.value) for q in anon] == [("all", "author", INST), ("parlement", "author", ALICE)]
    assert "searches skipped" in caplog.text and "vigie_bluesky" in caplog.text
    full = bluesky.queries(cfg.watchlists, opts, CREDS)
    searches = [q.value for q in full if q.kind == "search"]
    assert '"Parlement bruxellois"' in searches and "#ParlBXL" in searches and "Brussels" not in searches
    assert all(q.topic == "all" for q in full if q.kind in ("search", "mentions"))
    assert [q.value for q in full if q.kind == "mentions"] == [INST, ALICE]
    # one job per topic that has something to ask, plus 'all'
    assert collect.plan(cfg, {"bluesky": opts}) == [{"source": "bluesky", "topic": "all"},
                                                   {"source": "bluesky", "topic": "parlement"}]


def test_full_collection_lands_every_post_once_with_fields_links_and_original(tmp_path, platform):
    app, server = platform
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    summary = run("bluesky", "all", cfg, lake, NOW, CREDS)
    lines = landed(lake, "bluesky")
    assert sorted(ids(lines)) == sorted(_all_ids(app))  # 45 + 5 + 3 posts and the repost, once each
    assert summary["posts"] == 54 and summary["errors"] == [] and summary["quarantined"] == 0
    # one login for the run's 8 searches; pages of 10 followed by their cursor
    assert app.sessions == 1 and len(server.hits("/xrpc/com.atproto.server.createSession")) == 1
    kw = [r for r in server.hits(SEARCH) if r.arg("q") == '"Parlement bruxellois"']
    assert [r.arg("cursor") for r in kw] == [None, "10", "20", "30", "40"]
    assert all(r.arg("sort") == "latest" and r.arg("limit") == "10" and r.arg("since") for r in kw)
    assert all(r.headers["authorization"].startswith("Bearer ") for r in server.hits(SEARCH))
    assert not any("authorization" in r.headers for r in server.hits(FEED))  # public reads
    by = {line["id"]: line for line in lines}
    a = app.posts[44]
    first = by[a["uri"]]
    assert first["original"] == a  # lossless
    assert first["author_id"] == did_of(ALICE) and first["author_handle"] == f"@{ALICE}"
    assert first["author_followers"] == 321
    assert (first["like_count"], first["repost_count"], first["reply_count"], first["quote_count"]) == (3, 0, 0, 1)
    assert utc(first["created_at"]) == utc(a["record"]["createdAt"]) and first["lang"] == "fr"
    assert first["url"] == f"https://bsky.app/profile/{ALICE}/post/{a['uri'].rsplit('/', 1)[1]}"
    reply = by[app.posts[48]["uri"]]
    assert reply["reply_to"] == app.posts[43]["uri"] and reply["author_followers"] == 5000
    assert reply["original"]["reply"]["parent"]["uri"] == app.posts[43]["uri"]  # the FeedViewPost kept
    quote = by[app.posts[49]["uri"]]
    assert quote["quote_of"] == app.posts[42]["uri"] and quote["lang"] == "nl"
    assert by[app.posts[45]["uri"]]["lang"] == "fr"  # fr-BE
    rp = by[app.extra_feed[0]["reason"]["uri"]]
    assert rp["repost_of"] == app.posts[40]["uri"] and rp["text"] == "" and rp["author_id"] == did_of(INST)
    assert utc(rp["created_at"]) == utc(app.extra_feed[0]["reason"]["indexedAt"]) and rp["like_count"] == 0
    assert {by[p["uri"]]["author_handle"] for p in app.posts[50:]} == {"@bob.bsky.social"}
    state = json.loads(collect.state_path(lake, "bluesky", "all").read_text())
    assert utc(state["queries"]['search:"Parlement bruxellois"']["newest"]) == utc(a["record"]["createdAt"])
    assert f"mentions:{INST}" in state["queries"] and f"author:{INST}" in state["queries"]


def test_a_topic_account_feed_is_read_without_credentials(tmp_path, platform, caplog):
    app, server = platform
    cfg = _config(tmp_path, server, accounts=["@parlbxl", f"@{ALICE}"])
    lake = tmp_path / "lake"
    with caplog.at_level(logging.INFO):
        summary = run("bluesky", "parlement", cfg, lake, NOW, creds=None)
        inst = run("bluesky", "all", cfg, lake, NOW, creds=None)
    assert summary["posts"] == 45 and inst["posts"] == 6 and inst["queries"] == 1
    assert not server.hits(SEARCH) and not server.hits("/xrpc/com.atproto.server")
    assert "searches skipped" in caplog.text
    assert [r.arg("filter") for r in server.hits(FEED)][:1] == ["posts_with_replies"]
    assert set(ids(landed(lake, "bluesky"))) == {p["uri"] for p in app.posts[:50]} | {app.extra_feed[0]["reason"]["uri"]}


def test_a_second_run_resumes_from_the_cursor(tmp_path, platform):
    app, server = platform
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    run("bluesky", "all", cfg, lake, NOW, CREDS)
    before = len([r for r in server.hits(SEARCH) if r.arg("q") == '"Parlement bruxellois"'])
    app.add(*(post(i, NOW + timedelta(minutes=i - 45)) for i in range(46, 51)))
    summary = run("bluesky", "all", cfg, lake, NOW + timedelta(hours=1), CREDS)
    assert summary["posts"] == 5 and summary["already_landed"] > 0
    kw = [r for r in server.hits(SEARCH) if r.arg("q") == '"Parlement bruxellois"'][before:]
    # asked from the cursor and its 15-minute overlap: two pages, not the whole day again
    assert len(kw) == 2 and utc(kw[0].arg("since")) == utc(app.posts[44]["record"]["createdAt"]) - timedelta(minutes=15)
    lines = landed(lake, "bluesky")
    assert len(ids(lines)) == len(set(ids(lines))) == 59


def test_429_waits_until_ratelimit_reset_then_goes_on(tmp_path, platform):
    app, server = platform
    cfg = _config(tmp_path, server)
    reset = int(time.time()) + 7
    server.fail(SEARCH, status=429, body={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                headers={"RateLimit-Limit": "3000", "RateLimit-Remaining": "0",
                         "RateLimit-Reset": str(reset), "RateLimit-Policy": "3000;w=300"})
    sleeps = Sleeps()
    summary = run("bluesky", "all", cfg, tmp_path / "lake", NOW, CREDS, cl=client(CREDS.secrets(), sleep=sleeps))
    assert len(sleeps) == 1 and 5.0 <= sleeps[0] <= 8.5  # until the epoch of RateLimit-Reset, plus 1 s
    assert summary["posts"] == 54 and summary["errors"] == []


def test_500_then_success_and_a_dropped_connection_are_retried(tmp_path, platform):
    app, server = platform
    cfg = _config(tmp_path, server)
    server.fail(SEARCH, status=500, body={"error": "InternalServerError", "message": "Internal Server Error"})
    server.fail(FEED, reset=True)
    summary = run("bluesky", "all", cfg, tmp_path / "lake", NOW, CREDS)
    assert summary["posts"] == 54 and summary["errors"] == []


def test_a_timeout_is_retried(tmp_path, platform):
    app, server = platform
    cfg = _config(tmp_path, server)
    server.fail(FEED, delay=1.2)
    cl = client(CREDS.secrets(), timeout=0.4)
    summary = run("bluesky", "all", cfg, tmp_path / "lake", NOW, CREDS, cl=cl)
    assert summary["posts"] == 54 and summary["errors"] == []
    assert len(server.hits(FEED)) == 2  # the timed-out request was made again


def test_a_truncated_page_is_quarantined_with_its_request_and_fetched_again_next_run(tmp_path, platform):
    app, server = platform
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    original = app._search
    # the keyword's third page is cut twice in a row (the client asks again once)
    app._search = cut_bodies(original, {3, 4}, 60, when=lambda req: req.arg("q") == '"Parlement bruxellois"')
    with pytest.raises(SourceError, match="1 of 9 queries failed"):
        run("bluesky", "all", cfg, lake, NOW, CREDS)
    q = quarantined(lake, "bluesky")
    assert len(q) == 1 and q[0]["rule"] == "malformed_page" and "not valid JSON" in q[0]["reason"]
    assert "cursor=20" in q[0]["request"] and "Parlement+bruxellois" in q[0]["request"]
    assert APP_PASSWORD not in json.dumps(q) and "Bearer" not in json.dumps(q)
    state = json.loads(collect.state_path(lake, "bluesky", "all").read_text())
    assert 'search:"Parlement bruxellois"' not in state["queries"]  # the cursor did not move
    assert "search:#ParlBXL" in state["queries"]                    # the others did
    assert set(ids(landed(lake, "bluesky"))) == _all_ids(app)        # what the others found is kept
    app._search = original
    before = len(server.hits(SEARCH))
    summary = run("bluesky", "all", cfg, lake, NOW + timedelta(minutes=5), CREDS)
    again = [r for r in server.hits(SEARCH)[before:] if r.arg("q") == '"Parlement bruxellois"']
    assert len(again) == 5 and summary["errors"] == []  # the whole gap, from the backfill horizon
    assert set(ids(landed(lake, "bluesky"))) == _all_ids(app)


def test_duplicates_across_pages_and_queries_land_once(tmp_path, platform):
    app, server = platform
    cfg = _config(tmp_path, server)
    original = app._search

    def overlapping(req):  # every page after the first repeats the last post of the page before
        resp = original(req)
        cur = req.arg("cursor")
        if cur and isinstance(resp.body, dict):
            prev = original(Request(req.method, req.path, {**req.query, "cursor": [str(int(cur) - 1)],
                                                          "limit": ["1"]}, req.headers, b""))
            resp.body["posts"] = prev.body["posts"] + resp.body["posts"]
        return resp

    app._search = overlapping
    summary = run("bluesky", "all", cfg, tmp_path / "lake", NOW, CREDS)
    lines = landed(tmp_path / "lake", "bluesky")
    # alice's posts are found by the keyword and the hashtag, and twice on page edges
    assert len(lines) == len(set(ids(lines))) == 54 == summary["posts"]


def test_an_expired_token_is_refreshed_and_a_revoked_one_logs_in_again(tmp_path, platform):
    app, server = platform
    cfg = _config(tmp_path, server)
    original = app._search
    n, revoke = [0], [False]

    def expiring(req):  # the token expires during the run (after the first search page)
        n[0] += 1
        if n[0] == 2:
            app.expire()
            if revoke[0]:
                app.refresh = {k: False for k in app.refresh}
        return original(req)

    app._search = expiring
    summary = run("bluesky", "all", cfg, tmp_path / "lake", NOW, CREDS)
    assert summary["posts"] == 54 and summary["errors"] == []
    assert len(server.hits("/xrpc/com.atproto.server.refreshSession")) == 1 and app.sessions == 1
    # refresh token revoked too: a new session
    n[0], revoke[0] = 0, True
    summary = run("bluesky", "all", cfg, tmp_path / "lake2", NOW, CREDS)
    assert summary["posts"] == 54 and app.sessions == 3  # this run's login, then the new one


def test_a_wrong_app_password_fails_the_searches_once_without_showing_it(tmp_path, platform, caplog):
    app, server = platform
    cfg = _config(tmp_path, server)
    wrong = Creds(login=LOGIN, password="wrong-pass-word-zzzz")
    lake = tmp_path / "lake"
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError) as err:
        run("bluesky", "all", cfg, lake, NOW, wrong)
    msg = str(err.value)
    assert "8 of 9 queries failed" in msg and "login as vigie.bsky.social" in msg and "HTTP 401" in msg
    assert len(server.hits("/xrpc/com.atproto.server.createSession")) == 1  # not once per search
    assert "wrong-pass-word-zzzz" not in msg + caplog.text + everything(lake)
    assert len(landed(lake, "bluesky")) == 6  # the institution's feed needs no login


def test_no_token_or_password_in_the_lake_logs_or_errors(tmp_path, platform, caplog):
    app, server = platform
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    server.fail(SEARCH, status=400, body={"error": "InvalidRequest", "message": "echo " + APP_PASSWORD})
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError) as err:
        run("bluesky", "all", cfg, lake, NOW, CREDS)
    tokens = list(app.access) + list(app.refresh)
    assert tokens
    text = everything(lake) + caplog.text + str(err.value)
    for secret in tokens + [APP_PASSWORD]:
        assert secret not in text
    assert "echo ***" in str(err.value)


def test_a_post_without_author_is_quarantined_and_a_future_createdAt_does_not_move_the_cursor(tmp_path, platform):
    app, server = platform
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    broken = post(400, NOW - timedelta(minutes=4))
    del broken["author"]["did"]
    future = post(401, datetime(2099, 1, 1, tzinfo=timezone.utc), indexed=NOW - timedelta(seconds=30))
    app.add(broken, future)
    summary = run("bluesky", "all", cfg, lake, NOW, CREDS)
    q = quarantined(lake, "bluesky")
    assert {x["rule"] for x in q} == {"bluesky_author"} and all("searchPosts" in x["request"] for x in q)
    assert q[0]["record"]["uri"] == broken["uri"]
    by = {line["id"]: line for line in landed(lake, "bluesky")}
    assert utc(by[future["uri"]]["created_at"]) == NOW - timedelta(seconds=30)
    assert by[future["uri"]]["original"]["record"]["createdAt"].startswith("2099")
    state = json.loads(collect.state_path(lake, "bluesky", "all").read_text())
    assert max(utc(v["newest"]) for v in state["queries"].values() if v.get("newest")) <= NOW
    assert summary["posts"] == 55


def test_an_unknown_account_is_a_warning_not_a_failure(tmp_path, platform, caplog):
    app, server = platform
    cfg = _config(tmp_path, server, accounts=["@nobody.bsky.social"])
    summary = run("bluesky", "parlement", cfg, tmp_path / "lake", NOW, None)
    assert summary["errors"] == [] and summary["posts"] == 0
    assert "Profile not found" in caplog.text


def test_the_nightly_ingest_reads_what_landed_once(tmp_path, platform):
    from listening import pipeline

    app, server = platform
    cfg = _config(tmp_path, server, accounts=[f"@{ALICE}"])
    lake = tmp_path / "lake"
    run("bluesky", "all", cfg, lake, NOW, CREDS)
    run("bluesky", "parlement", cfg, lake, NOW, CREDS)  # alice's feed: her posts a second time
    empty = tmp_path / "import"
    empty.mkdir()
    r = pipeline.Run(day=NOW.date(), run_id="t", config=cfg, lake=lake, import_dir=empty)
    out = pipeline.ingest(r)
    assert out["posts"] == 54 and out["folded"] == 45 and out["quarantined"] == 0
    raw = pipeline.staged_raw(r)
    rows = dict(zip(raw["post_id"].to_pylist(), raw["repost_of"].to_pylist()))
    rp = app.extra_feed[0]["reason"]["uri"]
    assert rows[f"bluesky:{rp}"] == f"bluesky:{app.posts[40]['uri']}"
