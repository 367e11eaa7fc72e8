"""The X collector against a fake recent-search endpoint over real HTTP: what lands, not only
that nothing raised."""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta, timezone

import pytest

from fakes.harness import Sleeps, client, config_with, everything, landed, quarantined, run
from fakes.server import FakeServer, cut_bodies
from fakes.x import EPOCH_ID, X, corpus, tweet, user
from listening import collect
from listening.sources import x as xsrc
from listening.sources.base import Creds, SourceError, iso, utc

TOKEN = "AAAAAAAAAAAAAAAAAAAAAx-bearer-secret-0123456789"
CREDS = Creds(password=TOKEN)
PATH = "/2/tweets/search/recent"
PARLEMENT = ('"Parlement bruxellois" OR "Brussels Parlement" OR "Brussels Parliament" OR '
             '"Parlement de la Région de Bruxelles-Capitale" OR "Brussels Hoofdstedelijk Parlement" OR '
             '"Brüsseler Parlament" OR #ParlBXL OR @parlbxl OR from:parlbxl')


@pytest.fixture
def now():
    # recent search is relative to the real clock (X refuses a start_time older than 7 days)
    return datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def platform(now):
    app = X(corpus(95, now - timedelta(minutes=1)), token=TOKEN)
    with FakeServer(app) as server:
        yield app, server


def _config(tmp_path, server, **extra):
    return config_with(tmp_path, {"x": {"base_url": server.url, "page_size": 10,
                                        "topics": ["parlement"], **extra}})


def _served(t: dict) -> dict:
    """A post as the fake serves it with the collector's tweet.fields."""
    keep = {"id", "text", "edit_history_tweet_ids", *xsrc.TWEET_FIELDS.split(",")}
    return {k: v for k, v in t.items() if k in keep}


def ids(lines):
    return [line["id"] for line in lines]


def _state(lake):
    return json.loads(collect.state_path(lake, "x", "parlement").read_text())


def test_full_paginated_collection_lands_every_post_once_with_its_original(tmp_path, platform, now, caplog):
    app, server = platform
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    with caplog.at_level(logging.DEBUG):
        summary = run("x", "parlement", cfg, lake, now, CREDS)
    assert TOKEN not in caplog.text
    lines = landed(lake, "x")
    assert sorted(ids(lines)) == sorted(str(EPOCH_ID + i) for i in range(1, 96))
    assert summary["posts"] == 95 and summary["errors"] == [] and summary["quarantined"] == 0
    hits = server.hits(PATH)
    assert len(hits) == 10  # ten pages of ten; the last has no next_token
    first = hits[0]
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert first.arg("query") == PARLEMENT and first.arg("max_results") == "10"
    assert first.arg("start_time") == (now - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "public_metrics" in first.arg("tweet.fields") and first.arg("expansions") == "author_id,referenced_tweets.id"
    assert [h.arg("next_token") is None for h in hits] == [True] + [False] * 9

    by_id = {line["id"]: line for line in lines}
    src = {t["id"]: t for t in app.tweets}
    plain = by_id[str(EPOCH_ID + 5)]
    assert plain["original"] == _served(src[plain["id"]])  # lossless: the post as received
    assert plain["author_id"] == user("parlbxl")["id"] and plain["author_handle"] == "@parlbxl"
    assert plain["author_followers"] == 25_000 and plain["includes"]["users"][0]["verified"] is True
    assert (plain["like_count"], plain["repost_count"], plain["reply_count"], plain["quote_count"]) == (5, 0, 2, 1)
    assert plain["original"]["public_metrics"]["impression_count"] == 105  # views: in the original only
    assert "impression_count" not in json.dumps({k: v for k, v in plain.items() if k != "original"})
    assert plain["url"] == f"https://x.com/parlbxl/status/{plain['id']}"
    assert plain["text"] == "Post 5 sur le Parlement bruxellois #ParlBXL" and plain["lang"] == "fr"

    reply = by_id[str(EPOCH_ID + 14)]
    assert reply["reply_to"] == str(EPOCH_ID + 13) and reply["lang"] == "nl"
    quote = by_id[str(EPOCH_ID + 17)]
    assert quote["quote_of"] == str(EPOCH_ID + 15)
    rt = by_id[str(EPOCH_ID + 19)]
    assert rt["repost_of"] == str(EPOCH_ID + 16)
    assert src[rt["id"]]["text"].startswith("RT @")
    assert rt["text"] == src[str(EPOCH_ID + 16)]["text"]  # the whole retweeted post, not "RT @…"
    assert rt["includes"]["tweets"][0]["id"] == str(EPOCH_ID + 16)
    long = by_id[str(EPOCH_ID + 2)]
    assert len(long["text"]) > 280 and long["text"] == src[long["id"]]["note_tweet"]["text"]

    state = _state(lake)
    assert list(state["queries"]) == [f"search:{PARLEMENT}"]
    assert utc(state["queries"][f"search:{PARLEMENT}"]["newest"]) == utc(app.tweets[-1]["created_at"])
    assert TOKEN not in everything(lake)


def test_a_second_run_resumes_from_the_cursor(tmp_path, platform, now):
    app, server = platform
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    run("x", "parlement", cfg, lake, now, CREDS)
    newest = utc(_state(lake)["queries"][f"search:{PARLEMENT}"]["newest"])
    before = len(server.hits(PATH))
    alice = user("alice")
    app.add(*(tweet(i, now + timedelta(seconds=i - 100), alice) for i in range(96, 101)))
    summary = run("x", "parlement", cfg, lake, now + timedelta(hours=1), CREDS)
    assert summary["posts"] == 5 and summary["already_landed"] > 0
    new = server.hits(PATH)[before:]
    # from the cursor minus the 15-minute overlap (6 posts) and the 5 new: two pages, not the day again
    assert len(new) == 2 and new[1].arg("next_token")
    assert new[0].arg("start_time") == iso(newest - collect.OVERLAP)
    lines = landed(lake, "x")
    assert len(ids(lines)) == len(set(ids(lines))) == 100


def test_429_waits_until_x_rate_limit_reset_then_goes_on(tmp_path, platform, now):
    app, server = platform
    cfg = _config(tmp_path, server)
    reset = int(time.time()) + 30
    server.fail(PATH, status=429, body={"title": "Too Many Requests", "detail": "Too Many Requests",
                                        "type": "about:blank", "status": 429},
                headers={"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0",
                         "x-rate-limit-reset": str(reset)})
    sleeps = Sleeps()
    summary = run("x", "parlement", cfg, tmp_path / "lake", now, CREDS, cl=client([TOKEN], sleep=sleeps))
    assert len(sleeps) == 1 and 28 <= sleeps[0] <= 32  # until the reset epoch, plus a second
    assert summary["posts"] == 95 and summary["errors"] == []


def test_a_reset_beyond_max_wait_leaves_the_query_to_the_next_run(tmp_path, platform, now):
    app, server = platform
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    server.fail(PATH, status=429, body={"title": "Too Many Requests", "detail": "Too Many Requests",
                                        "type": "about:blank", "status": 429},
                headers={"x-rate-limit-reset": str(int(time.time()) + 3600), "x-rate-limit-remaining": "0"})
    with pytest.raises(SourceError, match="more than the 900 s allowed"):
        run("x", "parlement", cfg, lake, now, CREDS)
    assert _state(lake)["queries"] == {} and landed(lake, "x") == []
    summary = run("x", "parlement", cfg, lake, now + timedelta(minutes=5), CREDS)
    assert summary["posts"] == 95


def test_500_then_success_and_a_dropped_connection_are_retried(tmp_path, platform, now):
    app, server = platform
    cfg = _config(tmp_path, server)
    server.fail(PATH, status=500, body={"title": "Internal Server Error", "detail": "boom",
                                        "type": "about:blank", "status": 500})
    server.fail(PATH, reset=True)
    summary = run("x", "parlement", cfg, tmp_path / "lake", now, CREDS)
    assert summary["posts"] == 95 and summary["errors"] == []
    assert len(server.hits(PATH)) == 12


def test_a_timeout_is_retried(tmp_path, platform, now):
    app, server = platform
    cfg = _config(tmp_path, server)
    server.fail(PATH, delay=1.2)
    cl = client([TOKEN], timeout=0.4)
    summary = run("x", "parlement", cfg, tmp_path / "lake", now, CREDS, cl=cl)
    assert summary["posts"] == 95 and cl.requests == 11


def test_a_truncated_page_is_quarantined_with_its_request_and_fetched_again_next_run(tmp_path, platform, now):
    app, server = platform
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    served = server.app
    server.app = cut_bodies(served, {3, 4}, 60)  # the third page, and the one retry the client makes
    with pytest.raises(SourceError, match="1 of 1 queries failed"):
        run("x", "parlement", cfg, lake, now, CREDS)
    server.app = served
    q = quarantined(lake, "x")
    assert len(q) == 1 and q[0]["rule"] == "malformed_page" and "not valid JSON" in q[0]["reason"]
    assert "next_token=" in q[0]["request"] and TOKEN not in q[0]["request"]
    assert len(landed(lake, "x")) == 20  # the two good pages are kept
    assert _state(lake)["queries"] == {}  # the cursor did not move
    run("x", "parlement", cfg, lake, now + timedelta(minutes=5), CREDS)
    assert len({line["id"] for line in landed(lake, "x")}) == 95
    assert TOKEN not in everything(lake)


def test_queries_longer_than_the_limit_are_split_and_duplicates_land_once(tmp_path, platform, now):
    app, server = platform
    cfg = _config(tmp_path, server, max_query_length=160)
    topic = next(t for t in cfg.watchlists.topics if t.name == "parlement")
    qs = [q.value for q in xsrc.queries(cfg.watchlists, xsrc.Options(max_query_length=160), CREDS)
          if q.topic == "parlement"]
    assert len(qs) == 2 and all(len(q) <= 160 for q in qs)
    assert sum(q.count(" OR ") + 1 for q in qs) == 9  # every term of the topic, once
    assert len(topic.keywords) + len(topic.hashtags) + 2 == 9
    last: dict[str, dict] = {}
    served = [0]

    def overlapping(req):  # every page after the first repeats the last post of the one before
        resp = app(req)
        data = resp.body.get("data") if isinstance(resp.body, dict) else None
        if data:
            q = req.arg("query")
            if req.arg("next_token") and q in last:
                resp.body["data"] = [last[q]] + data
            last[q] = data[-1]
            served[0] += len(resp.body["data"])
        return resp

    server.app = overlapping
    summary = run("x", "parlement", cfg, tmp_path / "lake", now, CREDS)
    lines = landed(tmp_path / "lake", "x")
    assert len(lines) == len(set(ids(lines))) == 95 == summary["posts"]
    assert served[0] > 95 + 95 // 2  # most posts were served twice or more
    assert summary["queries"] == len(qs)
    assert set(_state(tmp_path / "lake")["queries"]) == {f"search:{q}" for q in qs}  # a cursor each


def test_languages_and_retweets_options_shape_the_query(tmp_path, platform, now):
    app, server = platform
    cfg = _config(tmp_path, server, include_retweets=False, filter_languages=True)
    summary = run("x", "parlement", cfg, tmp_path / "lake", now, CREDS)
    q = server.hits(PATH)[0].arg("query")
    assert q == f"({PARLEMENT}) (lang:fr OR lang:nl OR lang:en OR lang:de) -is:retweet"
    lines = landed(tmp_path / "lake", "x")
    retweets = [t for t in app.tweets if any(r["type"] == "retweeted" for r in t.get("referenced_tweets", []))]
    assert retweets and summary["posts"] == 95 - len(retweets)
    assert not any(line.get("repost_of") for line in lines)
    # a long watch list with the tail still fits in 512 characters, split as needed
    opts = xsrc.Options(include_retweets=False, filter_languages=True)
    for topic in cfg.watchlists.topics:
        for r in xsrc.compile_topic(topic, opts)[0]:
            assert len(r) <= 512 and r.endswith("-is:retweet")


def test_partial_errors_keep_the_data_and_bad_records_are_quarantined(tmp_path, platform, now, caplog):
    app, server = platform
    cfg = _config(tmp_path, server)
    app.hide.add(str(EPOCH_ID + 16))  # the post retweeted by 19 was deleted meanwhile
    broken = tweet(500, now - timedelta(seconds=30), user("alice"), lang="und")
    del broken["author_id"]
    undetermined = tweet(501, now - timedelta(seconds=20), user("alice"), "#ParlBXL 👍", lang="und")
    app.add(broken, undetermined)
    with caplog.at_level(logging.INFO, logger="listening.sources.x"):
        summary = run("x", "parlement", cfg, tmp_path / "lake", now, CREDS)
    assert "Could not find tweet with referenced_tweets.id" in caplog.text
    by_id = {line["id"]: line for line in landed(tmp_path / "lake", "x")}
    assert summary["posts"] == 96 and summary["quarantined"] == 1
    rt = by_id[str(EPOCH_ID + 19)]
    assert rt["repost_of"] == str(EPOCH_ID + 16) and rt["text"].startswith("RT @")  # its own text, as given
    assert by_id[str(EPOCH_ID + 501)]["lang"] is None  # `und`: left to detection
    q = quarantined(tmp_path / "lake", "x")
    assert q[0]["rule"] == "x_tweet" and q[0]["record"]["id"] == str(EPOCH_ID + 500)


def test_without_a_token_the_source_is_skipped_and_a_wrong_token_fails_without_showing_it(tmp_path, platform, now,
                                                                                          caplog):
    app, server = platform
    cfg = _config(tmp_path, server)
    summary = run("x", "parlement", cfg, tmp_path / "lake", now, creds=None)
    assert "skipped, no credentials" in summary["skipped"] and "vigie_x" in summary["skipped"]
    assert not server.hits(PATH)
    with caplog.at_level(logging.WARNING, logger="listening.sources.x"):
        assert xsrc.queries(cfg.watchlists, xsrc.Options(), Creds(login="someone")) == []
    assert "no password" in caplog.text
    wrong = "wrong-bearer-token-abcdefghijklmnop"
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(SourceError) as err:
            run("x", "parlement", cfg, tmp_path / "lake2", now, creds=Creds(password=wrong))
    assert "HTTP 401" in str(err.value) and "Unauthorized" in str(err.value)
    assert wrong not in str(err.value) and wrong not in caplog.text
    assert wrong not in everything(tmp_path / "lake2")


def test_a_cursor_older_than_seven_days_is_reported_as_a_gap(tmp_path, platform, now):
    app, server = platform
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    old = now - timedelta(days=10)
    path = collect.state_path(lake, "x", "parlement")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"queries": {f"search:{PARLEMENT}": {"newest": iso(old), "ids": []}}}))
    summary = run("x", "parlement", cfg, lake, now, CREDS)
    assert summary["errors"] == [] and summary["posts"] == 95
    assert len(summary["gaps"]) == 1 and "older than x keeps (7 days)" in summary["gaps"][0]
    start = datetime.fromisoformat(server.hits(PATH)[0].arg("start_time").replace("Z", "+00:00"))
    assert now - timedelta(days=7) <= start <= now - timedelta(days=7) + timedelta(minutes=2)


def test_a_200_with_only_errors_or_without_meta_fails_the_query_without_moving_its_cursor(tmp_path, platform, now):
    app, server = platform
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    server.fail(PATH, status=200, body={"errors": [{"title": "Forbidden", "detail": "Your app is not enrolled",
                                                    "type": "https://api.twitter.com/2/problems/client-forbidden"}]})
    with pytest.raises(SourceError, match="Forbidden: Your app is not enrolled"):
        run("x", "parlement", cfg, lake, now, CREDS)
    server.fail(PATH, status=200, body={"data": [{"id": "1", "text": "hi"}]})
    with pytest.raises(SourceError, match="no `meta` object"):
        run("x", "parlement", cfg, lake, now, CREDS)
    assert quarantined(lake, "x")[0]["rule"] == "malformed_page"
    assert _state(lake)["queries"] == {} and landed(lake, "x") == []


def test_the_institutions_replies_are_collected_for_the_response_desk(tmp_path, platform, now):
    app, server = platform
    citizen, own = user("citoyenne"), user("parlbxl", followers=9000)
    question = tweet(900, now - timedelta(hours=3), citizen, "@parlbxl quand vote-t-on le budget ?")
    answer = tweet(901, now - timedelta(hours=2), own, "@citoyenne jeudi, en séance plénière.", reply_to=question)
    app.add(question, answer)
    cfg = _config(tmp_path, server)
    assert {"source": "x", "topic": "all"} in collect.plan(cfg, collect.load_sources(cfg.config_dir, cfg))
    summary = run("x", "all", cfg, tmp_path / "lake", now, CREDS)
    lines = landed(tmp_path / "lake", "x")
    assert summary["queries"] == 1 and summary["posts"] == len(lines) > 0
    assert {x["author_handle"] for x in lines} == {"@parlbxl"}  # only the institution's posts
    assert {x["id"]: x["reply_to"] for x in lines}[answer["id"]] == question["id"]
    assert server.hits("/2/tweets/search/recent")[-1].arg("query") == "from:parlbxl"
