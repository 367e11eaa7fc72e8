"""The Mastodon collector against a fake instance over real HTTP: what lands, not only that
nothing raised."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from fakes.harness import Sleeps, client, config_with, everything, landed, quarantined, run
from fakes.mastodon import Mastodon, corpus, status
from fakes.server import FakeServer, cut_bodies
from listening import collect
from listening.sources.base import Creds, SourceError, utc

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
TOKEN = "mastodon-secret-token-0123456789"


@pytest.fixture
def instance():
    app = Mastodon(corpus(95, NOW - timedelta(minutes=1)), token=TOKEN)
    with FakeServer(app) as server:
        app.url = server.url
        yield app, server


def _config(tmp_path, server, **extra):
    return config_with(tmp_path, {"mastodon": {"base_url": server.url, "page_size": 10,
                                               "topics": ["parlement"], **extra}})


def ids(lines):
    return [line["id"] for line in lines]


def test_full_paginated_collection_lands_every_status_once_with_its_original(tmp_path, instance):
    app, server = instance
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    creds = Creds(password=TOKEN)
    summary = run("mastodon", "parlement", cfg, lake, NOW, creds)
    lines = landed(lake, "mastodon")
    host = server.url.split("//")[1]
    assert sorted(ids(lines)) == sorted(f"https://fake.social/users/alice/statuses/{i}" for i in range(1, 96))
    assert summary["posts"] == 95 and summary["errors"] == [] and summary["quarantined"] == 0
    # 10 pages of the hashtag timeline and the empty one that ends it; then the searches of the
    # topic's keywords (a token is given)
    assert len(server.hits("/api/v1/timelines/tag/parlbxl")) == 11
    assert server.hits("/api/v2/search"), "the keywords are searched when a token is given"
    by_id = {line["id"]: line for line in lines}
    first = by_id["https://fake.social/users/alice/statuses/1"]
    assert first["original"] == app.statuses[0]  # lossless
    assert first["author_id"] == f"alice@{host}" and first["author_followers"] == 120
    assert (first["like_count"], first["repost_count"], first["reply_count"]) == (1, 1, 1)
    # the cursor is the newest status landed
    state = json.loads(collect.state_path(lake, "mastodon", "parlement").read_text())
    newest = state["queries"]["hashtag:parlbxl;instance=" + server.url]["newest"]
    assert utc(newest) == utc(app.statuses[-1]["created_at"])
    assert TOKEN not in everything(lake)


def test_a_second_run_resumes_from_the_cursor(tmp_path, instance):
    app, server = instance
    cfg = _config(tmp_path, server, search=False)
    lake = tmp_path / "lake"
    run("mastodon", "parlement", cfg, lake, NOW)
    before = len(server.hits("/api/v1/timelines"))
    app.add(*(status(i, NOW + timedelta(minutes=i - 95)) for i in range(96, 101)))
    summary = run("mastodon", "parlement", cfg, lake, NOW + timedelta(hours=1))
    assert summary["posts"] == 5
    # back to the cursor and its 15-minute overlap: two pages, not the whole timeline again
    assert len(server.hits("/api/v1/timelines")) - before == 2
    lines = landed(lake, "mastodon")
    assert len(ids(lines)) == len(set(ids(lines))) == 100


def test_429_waits_what_retry_after_says_then_goes_on(tmp_path, instance):
    app, server = instance
    cfg = _config(tmp_path, server, search=False)
    server.fail("/api/v1/timelines", status=429, headers={"Retry-After": "7"},
                body={"error": "Too many requests"})
    sleeps = Sleeps()
    summary = run("mastodon", "parlement", cfg, tmp_path / "lake", NOW, cl=client(sleep=sleeps))
    assert 7.0 in sleeps
    assert summary["posts"] == 95


def test_500_then_success_and_a_dropped_connection_are_retried(tmp_path, instance):
    app, server = instance
    cfg = _config(tmp_path, server, search=False)
    server.fail("/api/v1/timelines", status=500, body={"error": "boom"})
    server.fail("/api/v1/timelines", reset=True)
    summary = run("mastodon", "parlement", cfg, tmp_path / "lake", NOW)
    assert summary["posts"] == 95 and summary["errors"] == []


def test_a_timeout_is_retried(tmp_path, instance):
    app, server = instance
    cfg = _config(tmp_path, server, search=False)
    server.fail("/api/v1/timelines", delay=1.5)
    cl = client(timeout=0.5)
    summary = run("mastodon", "parlement", cfg, tmp_path / "lake", NOW, cl=cl)
    assert summary["posts"] == 95
    assert cl.requests >= 11  # the timed-out request was made again


def test_a_truncated_page_is_quarantined_with_its_request_and_fetched_again_next_run(tmp_path, instance):
    app, server = instance
    cfg = _config(tmp_path, server, search=False)
    lake = tmp_path / "lake"
    # the third page is cut twice in a row (the client asks once more before giving up)
    original = app._page
    app._page = cut_bodies(original, {3, 4}, 50, when=lambda req, items, path: path.startswith("/api/v1/timelines"))
    with pytest.raises(SourceError, match="1 of 2 queries failed"):
        run("mastodon", "parlement", cfg, lake, NOW)
    q = quarantined(lake, "mastodon")
    assert len(q) == 1 and q[0]["rule"] == "malformed_page"
    assert "max_id=" in q[0]["request"] and "not valid JSON" in q[0]["reason"]
    assert len(landed(lake, "mastodon")) == 20  # the two good pages are kept
    state = json.loads(collect.state_path(lake, "mastodon", "parlement").read_text())
    assert "hashtag:parlbxl;instance=" + server.url not in state["queries"]  # the cursor did not move
    app._page = original
    run("mastodon", "parlement", cfg, lake, NOW + timedelta(minutes=5))
    got = {line["id"] for line in landed(lake, "mastodon")}
    assert len(got) == 95  # everything, once the page reads


def test_duplicates_across_pages_and_queries_land_once(tmp_path, instance):
    app, server = instance
    # every status is found by the hashtag and by each keyword search that matches it
    cfg = _config(tmp_path, server)
    original = app._page

    def overlapping(req, items, path):  # a page that repeats the last status of the one before
        resp = original(req, items, path)
        if isinstance(resp.body, list) and req.arg("max_id"):
            prev = [s for s in items if int(s["id"]) == int(req.arg("max_id"))]
            resp.body = prev + resp.body
        return resp

    app._page = overlapping
    summary = run("mastodon", "parlement", cfg, tmp_path / "lake", NOW, Creds(password=TOKEN))
    lines = landed(tmp_path / "lake", "mastodon")
    assert len(lines) == len(set(ids(lines))) == 95 == summary["posts"]


def test_without_a_token_search_is_skipped_and_a_wrong_token_fails_without_showing_it(tmp_path, instance, caplog):
    app, server = instance
    cfg = _config(tmp_path, server)
    summary = run("mastodon", "parlement", cfg, tmp_path / "lake", NOW, creds=None)
    assert summary["posts"] == 95 and not server.hits("/api/v2/search")
    wrong = "wrong-token-abcdefghijklmnop"
    with pytest.raises(SourceError) as err:
        run("mastodon", "parlement", cfg, tmp_path / "lake2", NOW, creds=Creds(password=wrong))
    assert "HTTP 401" in str(err.value) and wrong not in str(err.value)
    assert wrong not in caplog.text and wrong not in everything(tmp_path / "lake2")


def test_a_platform_down_for_six_hours_loses_nothing_once_back(tmp_path, instance):
    app, server = instance
    cfg = _config(tmp_path, server, search=False)
    lake = tmp_path / "lake"
    run("mastodon", "parlement", cfg, lake, NOW)
    server.down()
    for h in range(1, 7):  # six hourly runs fail; new posts keep coming meanwhile
        app.add(*(status(100 * h + i, NOW + timedelta(hours=h, minutes=-i)) for i in range(10)))
        with pytest.raises(SourceError, match="503"):
            run("mastodon", "parlement", cfg, lake, NOW + timedelta(hours=h))
    server.up()
    [during] = collect.health(lake, NOW.date())   # what the daily summary says meanwhile
    assert during["down"] and during["failed"] == 6 and "503" in during["last_error"]
    summary = run("mastodon", "parlement", cfg, lake, NOW + timedelta(hours=7))
    lines = landed(lake, "mastodon")
    assert summary["posts"] == 60
    assert len(lines) == len(set(ids(lines))) == 95 + 60
    [after] = collect.health(lake, NOW.date())
    assert (after["runs"], after["failed"], after["posts"], after["down"]) == (8, 6, 155, False)
    from listening.report import format_summary

    text = format_summary({"day": "d", "mentions": 0, "languages": {}, "quarantined": 0, "rules_failed": 0,
                           "topics": [], "sources": [during]})
    assert "source mastodon  DOWN 7 runs, 6 failed, 95 posts; failing since 2026-11-20T13:00:00Z:" in text


def test_the_nightly_ingest_reads_what_landed_once(tmp_path, instance):
    from listening import pipeline
    from listening.schema import RAW
    from listening import lake as lakemod

    app, server = instance
    cfg = _config(tmp_path, server, search=False)
    lake = tmp_path / "lake"
    run("mastodon", "parlement", cfg, lake, NOW)
    # a retried run lands the same statuses again (its cursor file was lost): folded at ingest
    collect.state_path(lake, "mastodon", "parlement").unlink()
    run("mastodon", "parlement", cfg, lake, NOW)
    empty = tmp_path / "import"
    empty.mkdir()
    r = pipeline.Run(day=NOW.date(), run_id="t", config=cfg, lake=lake, import_dir=empty)
    out = pipeline.ingest(r)
    assert out["posts"] == 95 and out["folded"] == 95 and out["quarantined"] == 0
    raw = pipeline.staged_raw(r)
    assert raw.num_rows == 95 and set(raw["platform"].to_pylist()) == {"mastodon"}
    payload = json.loads(raw["payload"][0].as_py())
    assert payload["original"]["account"]["acct"] == "alice"


def test_the_institutions_replies_are_collected_with_the_post_they_answer(tmp_path, instance):
    """The response desk needs the answer: the own account's statuses, replies included, each
    naming the post it answers by its global uri, even when that post was not seen this run."""
    app, server = instance
    question = status(500, NOW - timedelta(hours=3), user="citizen", tags=("parlbxl",),
                      text="<p>@parlbxl quand vote-t-on le budget ? #parlbxl</p>")
    answer = status(501, NOW - timedelta(hours=2), user="parlbxl", remote="mastodon.brussels", tags=(),
                    reply_to=500, text="<p>@citizen le vote est prévu jeudi.</p>")
    app.add(question, answer)
    cfg = _config(tmp_path, server, search=False, topics=["parlement"])
    lake = tmp_path / "lake"
    assert {"source": "mastodon", "topic": "all"} in collect.plan(cfg, collect.load_sources(cfg.config_dir, cfg))
    summary = run("mastodon", "all", cfg, lake, NOW)
    assert summary["posts"] == 1 and summary["queries"] == 1
    [line] = landed(lake, "mastodon")
    assert line["author_handle"] == "@parlbxl@mastodon.brussels"
    assert line["reply_to"] == question["uri"]  # fetched with /api/v1/statuses/500
    assert server.hits("/api/v1/statuses/500")
    # the question itself comes with the hashtag: same id space, so the desk can pair them
    run("mastodon", "parlement", cfg, lake, NOW)
    assert question["uri"] in {x["id"] for x in landed(lake, "mastodon")}


def test_posts_landing_after_their_day_was_read_say_the_day_needs_a_re_run(tmp_path, instance):
    from listening import pipeline

    app, server = instance
    cfg = _config(tmp_path, server, search=False)
    lake = tmp_path / "lake"
    assert run("mastodon", "parlement", cfg, lake, NOW)["late_days"] == []
    empty = tmp_path / "import"
    empty.mkdir()
    pipeline.ingest(pipeline.Run(day=NOW.date(), run_id="t", config=cfg, lake=lake, import_dir=empty))
    app.add(status(96, NOW - timedelta(seconds=30)))  # indexed late, after the nightly run read the day
    summary = run("mastodon", "parlement", cfg, lake, NOW + timedelta(hours=1))
    assert summary["posts"] == 1 and summary["late_days"] == [NOW.date().isoformat()]
