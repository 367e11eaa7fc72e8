"""The Reddit collector against a fake oauth.reddit.com over real HTTP: what lands, not only that
nothing raised."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from fakes.harness import Sleeps, client, config_with, everything, landed, quarantined, run
from fakes.reddit import Reddit, comment, corpus, link
from fakes.server import FakeServer, cut_bodies
from listening import collect
from listening.config import load_config
from listening.sources import reddit
from listening.sources.base import Creds, SourceError, utc

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
SECRET = "reddit-client-secret-0123456789"
UA = "python:be.parlement.vigie:1.0 (by /u/parlbxl_comms)"
CREDS = Creds(login="vigie-client-id", password=SECRET, extra={"user_agent": UA})
EVERY = timedelta(minutes=10)


@pytest.fixture
def platform():
    app = Reddit(corpus(60, NOW - timedelta(minutes=1), EVERY)
                 + [link(900 + i, NOW - i * EVERY, title=f"Les frites {i}") for i in range(5)])  # not matched
    with FakeServer(app) as server:
        yield app, server


def _config(tmp_path, server, **extra):
    return config_with(tmp_path, {"reddit": {"base_url": server.url, "page_size": 25,
                                             "topics": ["parlement"], **extra}})


def ids(lines):
    return [line["id"] for line in lines]


def fullnames(app, numbers):
    return {app.links[i - 1]["data"]["name"] for i in numbers}


def test_full_paginated_collection_lands_every_post_once_with_its_original(tmp_path, platform, caplog):
    caplog.set_level(logging.DEBUG)
    app, server = platform
    lake = tmp_path / "lake"
    summary = run("reddit", "parlement", _config(tmp_path, server), lake, NOW, CREDS)
    lines = landed(lake, "reddit")
    assert sorted(ids(lines)) == sorted(fullnames(app, range(1, 61)))
    assert summary["posts"] == 60 and summary["errors"] == [] and summary["quarantined"] == 0
    # one token for the whole run, asked with the app's credentials (basic auth) and the grant
    tok = server.hits("/api/v1/access_token")
    assert len(tok) == 1 and tok[0].method == "POST" and tok[0].form() == {"grant_type": "client_credentials"}
    assert tok[0].headers["authorization"].startswith("Basic ")
    # three pages of 25 following `after`; the third is the last (after: null)
    searches = server.hits("/search")
    assert len(searches) == 3
    first, second = searches[0], searches[1]
    assert first.arg("sort") == "new" and first.arg("t") == "all" and first.arg("type") == "link"
    assert first.arg("limit") == "25" and first.arg("raw_json") == "1" and first.arg("after") is None
    assert second.arg("after") == app.links[35]["data"]["name"]  # the 36th, last of page one
    q = first.arg("q")
    assert '"Parlement bruxellois" OR "Brussels Parliament"' in q.replace(' OR "Brussels Parlement"', "")
    assert "ParlBXL" in q and "author:parlbxl" in q and len(q) <= 512
    assert all(r.headers["user-agent"] == UA for r in server.requests)
    assert all(r.headers["authorization"] == f"bearer {app.issued[0]}" for r in searches)
    by_id = {line["id"]: line for line in lines}
    one = by_id[app.links[0]["data"]["name"]]
    assert one["original"] == app.links[0]  # lossless: the whole child, kind and data
    d = app.links[0]["data"]
    assert one["author_id"] == d["author_fullname"] and one["author_handle"] == "@alice"
    assert one["text"] == d["title"] and one["author_followers"] is None and one["lang"] is None
    assert one["url"] == f"https://www.reddit.com{d['permalink']}"
    assert utc(one["created_at"]) == utc(d["created_utc"])
    assert (one["like_count"], one["reply_count"], one["repost_count"]) == (12, 3, 1)
    assert one["reply_to"] is None and one["repost_of"] is None
    state = json.loads(collect.state_path(lake, "reddit", "parlement").read_text())
    (key, cur), = state["queries"].items()
    assert key.startswith('search:"Parlement bruxellois"') and utc(cur["newest"]) == utc(app.links[59]["data"]["created_utc"])
    for token in app.issued + [SECRET]:
        assert token not in everything(lake) and token not in caplog.text


def test_a_second_run_resumes_from_the_cursor(tmp_path, platform):
    app, server = platform
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    run("reddit", "parlement", cfg, lake, NOW, CREDS)
    before = len(server.hits("/search"))
    app.add(*(link(60 + i, NOW + i * EVERY) for i in range(1, 6)))
    summary = run("reddit", "parlement", cfg, lake, NOW + timedelta(hours=1), CREDS)
    assert summary["posts"] == 5 and summary["already_landed"] >= 1  # the 15-minute overlap
    assert len(server.hits("/search")) - before == 1  # the first page reaches the cursor
    lines = landed(lake, "reddit")
    assert len(ids(lines)) == len(set(ids(lines))) == 65


def test_429_waits_what_x_ratelimit_reset_says_then_goes_on(tmp_path, platform):
    app, server = platform
    server.fail("/search", status=429, body={"message": "Too Many Requests", "error": 429},
                headers={"X-Ratelimit-Used": "600", "X-Ratelimit-Remaining": "0.0", "X-Ratelimit-Reset": "42"})
    sleeps = Sleeps()
    summary = run("reddit", "parlement", _config(tmp_path, server), tmp_path / "lake", NOW, CREDS,
                  cl=client(CREDS.secrets(), sleep=sleeps))
    assert sleeps == [43.0]  # the reset, and a second for the clock
    assert summary["posts"] == 60


def test_a_reset_longer_than_allowed_gives_up_the_query_for_this_run(tmp_path, platform):
    app, server = platform
    server.fail("/search", status=429, headers={"X-Ratelimit-Reset": "3000", "X-Ratelimit-Remaining": "0"})
    lake = tmp_path / "lake"
    with pytest.raises(SourceError, match="more than the 900 s allowed"):
        run("reddit", "parlement", _config(tmp_path, server), lake, NOW, CREDS)
    assert not collect.state_path(lake, "reddit", "parlement").exists() or \
        json.loads(collect.state_path(lake, "reddit", "parlement").read_text())["queries"] == {}


def test_500_then_success_and_a_dropped_connection_are_retried(tmp_path, platform):
    app, server = platform
    server.fail("/search", status=500, body={"message": "Internal Server Error", "error": 500})
    server.fail("/search", reset=True)
    server.fail("/api/v1/access_token", status=503, body=b"<html>upstream</html>")
    summary = run("reddit", "parlement", _config(tmp_path, server), tmp_path / "lake", NOW, CREDS)
    assert summary["posts"] == 60 and summary["errors"] == []


def test_a_timeout_is_retried(tmp_path, platform):
    app, server = platform
    server.fail("/search", delay=1.5)
    cl = client(CREDS.secrets(), timeout=0.5)
    summary = run("reddit", "parlement", _config(tmp_path, server), tmp_path / "lake", NOW, CREDS, cl=cl)
    assert summary["posts"] == 60
    assert len(server.hits("/search")) == 4  # the timed-out page asked again


def test_a_truncated_page_is_quarantined_with_its_request_and_fetched_again_next_run(tmp_path, platform):
    app, server = platform
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    original = app._listing
    app._listing = cut_bodies(original, {2, 3}, 80)  # the second page, and the same page asked once more
    with pytest.raises(SourceError, match="1 of 1 queries failed"):
        run("reddit", "parlement", cfg, lake, NOW, CREDS)
    q = quarantined(lake, "reddit")
    assert len(q) == 1 and q[0]["rule"] == "malformed_page" and "not valid JSON" in q[0]["reason"]
    assert q[0]["request"].startswith("GET ") and "after=t3_" in q[0]["request"]
    assert app.issued[0] not in json.dumps(q)
    assert len(landed(lake, "reddit")) == 25  # the good first page is kept
    state = json.loads(collect.state_path(lake, "reddit", "parlement").read_text())
    assert state["queries"] == {}  # the cursor did not move
    app._listing = original
    run("reddit", "parlement", cfg, lake, NOW + timedelta(minutes=5), CREDS)
    assert {line["id"] for line in landed(lake, "reddit")} == fullnames(app, range(1, 61))


def test_duplicates_across_pages_and_queries_land_once(tmp_path, platform):
    app, server = platform
    cfg = _config(tmp_path, server)
    # a topic too long for one Reddit query (512 characters): two queries that both find some posts
    wl = yaml.safe_load((cfg.config_dir / "watchlists.yml").read_text())
    wl["topics"][0]["keywords"] += [f"mot clé numéro {i} assez long" for i in range(20)]
    (cfg.config_dir / "watchlists.yml").write_text(yaml.safe_dump(wl, allow_unicode=True))
    cfg = load_config(cfg.config_dir)
    qs = [q for q in reddit.queries(cfg.watchlists, reddit.Options(), CREDS) if q.topic == "parlement"]
    assert len(qs) == 2 and all(len(q.value) <= 512 for q in qs)
    app.add(*(link(200 + i, NOW - i * EVERY, title=f"Parlement bruxellois et mot clé numéro 19 assez long {i}")
              for i in range(3)))
    app.repeat_last = True  # every page after the first repeats the last post of the one before
    summary = run("reddit", "parlement", cfg, tmp_path / "lake", NOW, CREDS)
    lines = landed(tmp_path / "lake", "reddit")
    assert len(lines) == len(set(ids(lines))) == 63 == summary["posts"]


def test_subreddits_are_searched_one_by_one_and_a_missing_or_private_one_is_skipped(tmp_path, platform, caplog):
    app, server = platform
    app.add(link(300, NOW - EVERY, sub="belgium"), link(301, NOW - EVERY, sub="secretsub"))
    app.private.add("secretsub")
    cfg = _config(tmp_path, server, subreddits=["r/belgium", "nosuchsub", "secretsub"])
    summary = run("reddit", "parlement", cfg, tmp_path / "lake", NOW, CREDS)
    assert ids(landed(tmp_path / "lake", "reddit")) == [app.links[-2]["data"]["name"]]  # r/belgium's
    hit = server.hits("/r/belgium/search")[0]
    assert hit.arg("restrict_sr") == "1" and hit.arg("sort") == "new"
    assert server.hits("/subreddits/search")  # Reddit's redirect for an unknown subreddit, followed
    assert "subreddit not found" in caplog.text and "private" in caplog.text
    assert summary["errors"] == []
    with pytest.raises(ValueError, match="not a subreddit name"):
        reddit.Options(subreddits=["not a sub!"])


def test_comments_of_the_listed_subreddits_are_kept_when_a_topic_matches(tmp_path, platform):
    app, server = platform
    post = app.links[-1]
    kept = comment(1, NOW - EVERY, post, body="Le Parlement bruxellois siège demain")
    reply = comment(2, NOW - EVERY / 2, post, body="Ça concerne #ParlBXL aussi", reply_to=kept)
    other = comment(3, NOW - EVERY / 3, post, body="Rien à voir, des frites")
    old = comment(4, NOW - timedelta(days=3), post, body="Parlement bruxellois, il y a longtemps")
    app.add(kept, reply, other, old)
    cfg = _config(tmp_path, server, subreddits=["brussels"], include_comments=True)
    jobs = collect.plan(cfg, collect.load_sources(cfg.config_dir, cfg))
    assert {"source": "reddit", "topic": "all"} in jobs
    summary = run("reddit", "all", cfg, tmp_path / "lake", NOW, CREDS)
    lines = {line["id"]: line for line in landed(tmp_path / "lake", "reddit")}
    assert set(lines) == {kept["data"]["name"], reply["data"]["name"]} and summary["posts"] == 2
    r = lines[reply["data"]["name"]]
    assert r["reply_to"] == kept["data"]["name"] and lines[kept["data"]["name"]]["reply_to"] == post["data"]["name"]
    assert r["text"] == "Ça concerne #ParlBXL aussi" and r["original"] == reply and r["reply_count"] == 0
    assert r["url"] == f"https://www.reddit.com{reply['data']['permalink']}"
    assert server.hits("/r/brussels/comments")[0].arg("limit") == "25"
    assert not server.hits("/search")  # the `all` job reads comments only


def test_deleted_authors_crossposts_and_bad_records(tmp_path, platform):
    app, server = platform
    app.links.clear()
    gone = link(1, NOW - EVERY, author="[deleted]", selftext="[removed]", score=-4)
    xpost = link(2, NOW - 2 * EVERY, crosspost_parent="t3_abc123", selftext="Voir l'original")
    broken = link(3, NOW - 3 * EVERY)
    del broken["data"]["created_utc"]
    broken["data"]["created"] = None
    app.add(gone, xpost, broken)
    summary = run("reddit", "parlement", _config(tmp_path, server), tmp_path / "lake", NOW, CREDS)
    lines = {line["id"]: line for line in landed(tmp_path / "lake", "reddit")}
    g = lines[gone["data"]["name"]]
    assert g["author_id"] == "[deleted]" and g["author_handle"] is None
    assert g["text"] == gone["data"]["title"] and g["like_count"] == 0
    x = lines[xpost["data"]["name"]]
    assert x["repost_of"] == "t3_abc123" and x["text"] == f"{xpost['data']['title']}\n\nVoir l'original"
    q = quarantined(tmp_path / "lake", "reddit")
    assert [b["rule"] for b in q] == ["reddit_created"] and q[0]["record"] == broken
    assert summary["quarantined"] == 1


def test_an_expired_token_is_renewed_once(tmp_path, platform):
    app, server = platform
    original = app._listing

    def expire_after_first(req, items, cap, _n=[0]):
        _n[0] += 1
        if _n[0] == 1:
            app.expire_tokens()  # the token dies between the first and second page
        return original(req, items, cap)

    app._listing = expire_after_first
    summary = run("reddit", "parlement", _config(tmp_path, server), tmp_path / "lake", NOW, CREDS)
    assert summary["posts"] == 60 and len(app.issued) == 2
    assert len(server.hits("/search")) == 4  # the refused page asked again with the new token


def test_a_token_refused_every_time_fails_the_query_without_looping(tmp_path, platform):
    from fakes.server import json_response

    app, server = platform
    app._listing = lambda req, items, cap: json_response({"message": "Unauthorized", "error": 401}, 401)
    with pytest.raises(SourceError, match="401 with a new token"):
        run("reddit", "parlement", _config(tmp_path, server), tmp_path / "lake", NOW, CREDS)
    assert len(app.issued) == 2 and len(server.hits("/search")) == 2


def test_without_credentials_the_job_is_skipped_and_a_wrong_secret_fails_without_showing_it(tmp_path, platform, caplog):
    app, server = platform
    cfg = _config(tmp_path, server)
    summary = run("reddit", "parlement", cfg, tmp_path / "lake", NOW, creds=None)
    assert "skipped, no credentials" in summary["skipped"] and "vigie_reddit" in summary["skipped"]
    assert not server.requests
    with pytest.raises(SourceError, match="needs login"):
        run("reddit", "parlement", cfg, tmp_path / "lake", NOW, creds=Creds(extra={"user_agent": UA}))
    wrong = "wrong-secret-abcdefghijklmnop"
    with pytest.raises(SourceError) as err:
        run("reddit", "parlement", cfg, tmp_path / "lake2", NOW, creds=Creds(login="vigie-client-id", password=wrong))
    assert "token refused" in str(err.value) and "HTTP 401" in str(err.value)
    assert wrong not in str(err.value) and wrong not in caplog.text and wrong not in everything(tmp_path / "lake2")


def test_the_password_grant_when_the_connection_names_a_user(tmp_path, platform):
    app, server = platform
    app.users = {"parlbxl_comms": "user-password-abcdef"}
    creds = Creds(login="vigie-client-id", password=SECRET,
                  extra={"username": "parlbxl_comms", "password": "user-password-abcdef"})
    summary = run("reddit", "parlement", _config(tmp_path, server), tmp_path / "lake", NOW, creds)
    assert summary["posts"] == 60
    form = server.hits("/api/v1/access_token")[0].form()
    assert form == {"grant_type": "password", "username": "parlbxl_comms", "password": "user-password-abcdef"}
    assert "by /u/parlbxl_comms" in server.hits("/search")[0].headers["user-agent"]
    bad = Creds(login="vigie-client-id", password=SECRET, extra={"username": "parlbxl_comms", "password": "nope-nope"})
    with pytest.raises(SourceError, match="invalid_grant"):
        run("reddit", "parlement", _config(tmp_path, server), tmp_path / "lake2", NOW, bad)


def test_the_nightly_ingest_reads_what_landed_once(tmp_path, platform):
    from listening import pipeline

    app, server = platform
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    run("reddit", "parlement", cfg, lake, NOW, CREDS)
    collect.state_path(lake, "reddit", "parlement").unlink()  # a lost cursor: the same posts again
    run("reddit", "parlement", cfg, lake, NOW, CREDS)
    empty = tmp_path / "import"
    empty.mkdir()
    r = pipeline.Run(day=NOW.date(), run_id="t", config=cfg, lake=lake, import_dir=empty)
    out = pipeline.ingest(r)
    assert out["posts"] == 60 and out["folded"] == 60 and out["quarantined"] == 0
    raw = pipeline.staged_raw(r)
    assert raw.num_rows == 60 and set(raw["platform"].to_pylist()) == {"reddit"}
    assert json.loads(raw["payload"][0].as_py())["original"]["kind"] == "t3"
