"""The YouTube collector against a fake Data API v3 over real HTTP: what lands, what it costs in
quota units, and that the API key is never written anywhere."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from fakes import youtube as yt
from fakes.harness import REPO, Sleeps, client, config_with, everything, landed, quarantined, run
from fakes.server import FakeServer, cut_bodies
from listening import collect
from listening.config import load_config
from listening.sources import youtube
from listening.sources.base import Creds, Query, SourceError, utc

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
KEY = "AIzaSyFAKE-youtube-api-key-0123456789abc"
CREDS = Creds(password=KEY)
CHANNEL, UPLOADS = "UCparlbxl00000000000000A", "UUparlbxl00000000000000A"
OTHER, OTHER_UPLOADS = "UCsomeoneelse0000000000B", "UUsomeoneelse0000000000B"
V1, V2, V3, V4, V5 = "vid1aaaaaaa", "vid2bbbbbbb", "vid3ccccccc", "vid4ddddddd", "vid5eeeeeee"
CHANNEL_POSTS = 35 + 14 + 12   # V1: 35 threads, 7 of them with 2 replies; V2: 12 threads
SEARCH_POSTS = 35 + 14 + 8     # V1 and V4 match the topic's keywords and hashtag


def _videos():
    return [
        yt.video(V1, NOW - timedelta(days=2), channel=CHANNEL, title="Séance plénière du Parlement bruxellois",
                 threads=yt.corpus(V1, 35, NOW - timedelta(minutes=5), replies_every=5, channel=CHANNEL)),
        yt.video(V2, NOW - timedelta(days=1), channel=CHANNEL, title="Commission des finances",
                 threads=yt.corpus(V2, 12, NOW - timedelta(minutes=30), author="Bob", channel=CHANNEL)),
        yt.video(V3, NOW - timedelta(days=3), channel=CHANNEL, title="Hommage", comments_disabled=True),
        yt.video(V4, NOW - timedelta(hours=3), channel=OTHER, title="Questions d'actualité #ParlBXL",
                 threads=yt.corpus(V4, 8, NOW - timedelta(minutes=10), author="Chloé", channel=OTHER)),
        # an old video of the channel: its comments are older than the backfill, and a search
        # does not go back that far
        yt.video(V5, NOW - timedelta(days=30), channel=CHANNEL, title="Parlement bruxellois : archives",
                 threads=yt.corpus(V5, 5, NOW - timedelta(hours=30), channel=CHANNEL)),
    ]


@pytest.fixture
def api():
    app = yt.YouTube(KEY, _videos(), {CHANNEL: UPLOADS, OTHER: OTHER_UPLOADS})
    with FakeServer(app) as server:
        yield app, server


def _config(tmp_path, server, **extra):
    return config_with(tmp_path, {"youtube": {"base_url": server.url + "/youtube/v3", "page_size": 10,
                                              "channels": [CHANNEL], "topics": ["parlement"], **extra}})


def ids(lines):
    return [line["id"] for line in lines]


def thread_id(vid, n):
    return f"Ug{vid}{n:04d}AaABAg"


def channel_ids():
    out = {thread_id(V1, n) for n in range(1, 36)} | {thread_id(V2, n) for n in range(1, 13)}
    out |= {f"{thread_id(V1, n)}.{r:03d}R" for n in range(5, 36, 5) for r in (0, 1)}
    return out


def test_queries_read_the_channels_once_for_every_topic_and_search_each_topic_once():
    watchlists = load_config(REPO / "include" / "config").watchlists
    opts = youtube.Options(channels=[CHANNEL, CHANNEL, OTHER])
    qs = youtube.queries(watchlists, opts, None)
    channels = [q for q in qs if q.kind == "channel"]
    assert [(q.topic, q.value) for q in channels] == [("all", CHANNEL), ("all", OTHER)]
    searches = {q.topic: q.value for q in qs if q.kind == "search"}
    assert set(searches) == {t.name for t in watchlists.topics}
    # one search per topic: phrases quoted, keywords and hashtags joined with YouTube's OR
    assert searches["parlement"] == ('"Parlement bruxellois"|"Brussels Parlement"|"Brussels Parliament"|'
                                     '"Parlement de la Région de Bruxelles-Capitale"|'
                                     '"Brussels Hoofdstedelijk Parlement"|"Brüsseler Parlament"|#ParlBXL')
    assert [q.kind for q in youtube.queries(watchlists, youtube.Options(channels=[CHANNEL], search=False),
                                            None)] == ["channel"]


def test_channel_comments_land_once_each_with_their_original_and_cost_ten_units(tmp_path, api, caplog):
    app, server = api
    caplog.set_level(logging.INFO)
    cfg = _config(tmp_path, server, search=False)
    lake = tmp_path / "lake"
    summary = run("youtube", "all", cfg, lake, NOW, CREDS)
    lines = landed(lake, "youtube")
    assert sorted(ids(lines)) == sorted(channel_ids())
    assert summary["posts"] == CHANNEL_POSTS and summary["errors"] == [] and summary["quarantined"] == 0
    # channels.list 1 + playlistItems.list 1 + comment pages: V1 4, V2 2, V3 1 (disabled), V5 1
    # (older than `since`: paging stops there)
    assert app.calls == {"channels": 1, "playlistItems": 1, "commentThreads": 8} and app.used == 10
    hits = server.hits("/youtube/v3/commentThreads")
    assert {h.arg("videoId") for h in hits} == {V1, V2, V3, V5}
    first = hits[0]
    assert (first.arg("part"), first.arg("order"), first.arg("maxResults"), first.arg("textFormat")) == \
        ("snippet,replies", "time", "10", "plainText")
    assert sum(1 for h in hits if h.arg("pageToken")) == 3 + 1  # V1's pages 2-4, V2's page 2
    assert "youtube: video vid3ccccccc skipped: commentsDisabled" in caplog.text
    by_id = {line["id"]: line for line in lines}
    top = by_id[thread_id(V1, 10)]
    t10 = next(t for t in app.videos[V1]["threads"] if t["id"] == thread_id(V1, 10))
    assert top["original"] == t10  # the thread as received, its replies included
    assert top["reply_count"] == 2 and top["like_count"] == 10 % 7 and top["reply_to"] is None
    assert top["author_id"] == t10["snippet"]["topLevelComment"]["snippet"]["authorChannelId"]["value"]
    assert top["author_handle"] == "@alice" and top["author_followers"] is None and top["lang"] is None
    assert top["text"] == f"Commentaire {thread_id(V1, 10)} sur le Parlement bruxellois"
    assert top["url"] == f"https://www.youtube.com/watch?v={V1}&lc={thread_id(V1, 10)}"
    assert utc(top["created_at"]) == utc(t10["snippet"]["topLevelComment"]["snippet"]["publishedAt"])
    reply = by_id[f"{thread_id(V1, 10)}.001R"]
    assert reply["reply_to"] == thread_id(V1, 10) and reply["author_handle"] == "@replier1"
    assert reply["original"] == t10["replies"]["comments"][1] and reply["like_count"] == 1
    assert reply["reply_count"] == 0 and reply["text"] == f"Réponse 1 à {thread_id(V1, 10)}"
    # the cursor: the newest comment landed (the last reply of V1's newest thread)
    state = json.loads(collect.state_path(lake, "youtube", "all").read_text())
    assert utc(state["queries"][f"channel:{CHANNEL}"]["newest"]) == NOW - timedelta(minutes=3)
    assert KEY not in everything(lake) and KEY not in caplog.text
    assert all(h.arg("key") == KEY for h in server.requests)  # it did travel, as `key`


def test_a_topic_search_reads_the_comments_of_the_recent_videos_found_for_105_units(tmp_path, api):
    app, server = api
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    summary = run("youtube", "parlement", cfg, lake, NOW, CREDS)
    (search,) = server.hits("/youtube/v3/search")
    assert (search.arg("part"), search.arg("type"), search.arg("order"), search.arg("maxResults")) == \
        ("snippet", "video", "date", "10")
    assert search.arg("q").endswith("|#ParlBXL") and '"Parlement bruxellois"|' in search.arg("q")
    # videos of the week before `since` (24 h backfill): V5, a month old, is not searched
    assert utc(search.arg("publishedAfter")) == NOW - timedelta(hours=24) - timedelta(days=7)
    got = set(ids(landed(lake, "youtube")))
    assert got == {i for i in channel_ids() if V1 in i} | {thread_id(V4, n) for n in range(1, 9)}
    assert summary["posts"] == SEARCH_POSTS and not server.hits("/youtube/v3/channels")
    assert app.used == 100 + 4 + 1


def test_pages_carry_the_request_with_the_key_redacted(api):
    app, server = api
    cl = client([KEY])
    opts = youtube.Options(base_url=server.url + "/youtube/v3", page_size=10)
    pages = list(youtube.fetch(cl, Query("all", "channel", CHANNEL), NOW - timedelta(hours=24), opts, CREDS))
    assert len(pages) == 4 + 2 + 1
    assert all("key=***" in p.request and KEY not in p.request for p in pages)
    assert "pageToken=" in pages[1].request and f"videoId={V2}" in pages[0].request
    with pytest.raises(SourceError, match="no API key"):
        list(youtube.fetch(cl, Query("all", "channel", CHANNEL), NOW, opts, None))


def test_a_second_run_resumes_from_the_cursor_one_page_per_video(tmp_path, api):
    app, server = api
    cfg = _config(tmp_path, server, search=False)
    lake = tmp_path / "lake"
    run("youtube", "all", cfg, lake, NOW, CREDS)
    before = app.used
    app.add_threads(V1, *(yt.thread(n, V1, NOW + timedelta(minutes=10 * (n - 35)), channel=CHANNEL)
                          for n in range(36, 39)))
    app.add_threads(V2, yt.thread(13, V2, NOW + timedelta(minutes=20), author="Bob", channel=CHANNEL))
    summary = run("youtube", "all", cfg, lake, NOW + timedelta(hours=1), CREDS)
    assert summary["posts"] == 4
    # back to the cursor and its 15-minute overlap: the first page of each video is enough
    assert app.used - before == 2 + 4
    lines = landed(lake, "youtube")
    assert len(ids(lines)) == len(set(ids(lines))) == CHANNEL_POSTS + 4


def test_429_waits_what_retry_after_says_then_goes_on(tmp_path, api):
    app, server = api
    cfg = _config(tmp_path, server, search=False)
    server.fail("/youtube/v3/commentThreads", status=429, headers={"Retry-After": "7"},
                body={"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).",
                                "errors": [{"message": "Resource has been exhausted (e.g. check quota).",
                                            "domain": "global", "reason": "rateLimitExceeded"}],
                                "status": "RESOURCE_EXHAUSTED"}})
    sleeps = Sleeps()
    summary = run("youtube", "all", cfg, tmp_path / "lake", NOW, CREDS, cl=client([KEY], sleep=sleeps))
    assert sleeps == [7.0]
    assert summary["posts"] == CHANNEL_POSTS and summary["errors"] == []


def test_a_403_rate_limit_is_waited_out_but_the_daily_quota_is_not_retried(tmp_path, api, caplog):
    app, server = api
    cfg = _config(tmp_path, server, search=False)
    server.fail("/youtube/v3/commentThreads", status=403, body=yt.error(
        403, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits").body)
    sleeps = Sleeps()
    summary = run("youtube", "all", cfg, tmp_path / "lake", NOW, CREDS, cl=client([KEY], sleep=sleeps))
    assert len(sleeps) == 1 and summary["posts"] == CHANNEL_POSTS

    # the daily quota runs out in the middle of V1 (the second video, newest first)
    app.used = app.quota - 5  # channels 1, playlistItems 1, V2 2 pages, V1 page 1, then none
    app.calls.clear()
    lake = tmp_path / "lake2"
    sleeps = Sleeps()
    with pytest.raises(SourceError, match="midnight Pacific time") as err:
        run("youtube", "all", cfg, lake, NOW, CREDS, cl=client([KEY], sleep=sleeps))
    assert "quotaExceeded" in str(err.value) and KEY not in str(err.value)
    assert sleeps == []  # no retry of a spent quota
    assert app.calls == {"channels": 1, "playlistItems": 1, "commentThreads": 3}
    assert len(server.hits("/youtube/v3/commentThreads")) == 8 + 1 + 4  # the failed page asked once
    assert len(landed(lake, "youtube")) == 12 + 10 + 4  # V2 and V1's first page are kept
    state = json.loads(collect.state_path(lake, "youtube", "all").read_text())
    assert f"channel:{CHANNEL}" not in state["queries"]  # the next run fetches it all again


def test_500_then_success_and_a_dropped_connection_are_retried(tmp_path, api):
    app, server = api
    cfg = _config(tmp_path, server, search=False)
    server.fail("/youtube/v3/channels", status=500, body={"error": {"code": 500, "message": "Backend Error",
                                                                    "errors": [{"reason": "backendError"}]}})
    server.fail("/youtube/v3/commentThreads", status=503)
    server.fail("/youtube/v3/playlistItems", reset=True)
    summary = run("youtube", "all", cfg, tmp_path / "lake", NOW, CREDS)
    assert summary["posts"] == CHANNEL_POSTS and summary["errors"] == []
    assert len(server.hits("/youtube/v3/channels")) == 2


def test_a_timeout_is_retried(tmp_path, api):
    app, server = api
    cfg = _config(tmp_path, server, search=False)
    server.fail("/youtube/v3/commentThreads", delay=1.2)
    cl = client([KEY], timeout=0.4)
    summary = run("youtube", "all", cfg, tmp_path / "lake", NOW, CREDS, cl=cl)
    assert summary["posts"] == CHANNEL_POSTS
    assert cl.requests == 10 + 1  # the timed-out request was made again


def test_a_truncated_page_is_quarantined_with_its_request_and_fetched_again_next_run(tmp_path, api):
    app, server = api
    cfg = _config(tmp_path, server, search=False)
    lake = tmp_path / "lake"
    original = app._commentThreads
    # v1's second page, cut twice in a row: the client asks once more
    app._commentThreads = cut_bodies(original, {1, 2}, 70, when=lambda req: req.arg("videoId") == V1
                                     and bool(req.arg("pageToken")))
    with pytest.raises(SourceError, match="1 of 1 queries failed"):
        run("youtube", "all", cfg, lake, NOW, CREDS)
    (q,) = quarantined(lake, "youtube")
    assert q["rule"] == "malformed_page" and "not valid JSON" in q["reason"]
    assert f"videoId={V1}" in q["request"] and "pageToken=" in q["request"] and "key=***" in q["request"]
    assert KEY not in everything(lake)
    assert len(landed(lake, "youtube")) == 12 + 10 + 4  # V2, and V1's first page, are kept
    state = json.loads(collect.state_path(lake, "youtube", "all").read_text())
    assert f"channel:{CHANNEL}" not in state["queries"]  # the cursor did not move
    app._commentThreads = original
    run("youtube", "all", cfg, lake, NOW + timedelta(minutes=5), CREDS)
    assert set(ids(landed(lake, "youtube"))) == channel_ids()  # everything, once the page reads


def test_duplicates_across_pages_land_once(tmp_path, api):
    app, server = api
    cfg = _config(tmp_path, server, search=False)
    original = app._commentThreads

    def busy(req):  # a comment posted between two pages shifts the next page by one
        resp = original(req)
        if req.arg("videoId") == V1 and not req.arg("pageToken"):
            app.add_threads(V1, yt.thread(99, V1, NOW - timedelta(minutes=1), channel=CHANNEL))
        return resp

    app._commentThreads = busy
    summary = run("youtube", "all", cfg, tmp_path / "lake", NOW, CREDS)
    lines = landed(tmp_path / "lake", "youtube")
    assert len(lines) == len(set(ids(lines))) == summary["posts"]
    # every comment once; the repeated ones were seen again on the next page
    assert set(ids(lines)) == channel_ids()


def test_a_comment_that_cannot_be_mapped_is_quarantined_the_others_land(tmp_path, api):
    app, server = api
    cfg = _config(tmp_path, server, search=False)
    gone = yt.thread(50, V2, NOW - timedelta(minutes=20), channel=CHANNEL)
    del gone["snippet"]["topLevelComment"]["snippet"]["authorChannelId"]  # a deleted author's account
    app.add_threads(V2, gone)
    summary = run("youtube", "all", cfg, tmp_path / "lake", NOW, CREDS)
    (q,) = quarantined(tmp_path / "lake", "youtube")
    assert q["rule"] == "youtube_author" and q["record"]["id"] == gone["id"] and "key=***" in q["request"]
    assert summary["posts"] == CHANNEL_POSTS


def test_without_a_key_the_job_is_skipped_and_a_wrong_key_fails_without_showing_it(tmp_path, api, caplog):
    app, server = api
    caplog.set_level(logging.INFO)
    cfg = _config(tmp_path, server)
    summary = run("youtube", "all", cfg, tmp_path / "lake", NOW, creds=None)
    assert "vigie_youtube" in summary["skipped"] and summary["posts"] == 0 and not server.requests
    wrong = "AIzaSyWRONG-key-abcdefghijklmnopqrstuv"
    with pytest.raises(SourceError) as err:
        run("youtube", "parlement", cfg, tmp_path / "lake2", NOW, creds=Creds(password=wrong))
    assert "HTTP 400 badRequest: API key not valid" in str(err.value)
    assert wrong not in str(err.value) and "key=***" in str(err.value)
    assert wrong not in caplog.text and wrong not in everything(tmp_path / "lake2")


def test_the_nightly_ingest_folds_what_the_channel_and_the_search_both_landed(tmp_path, api):
    from listening import pipeline

    app, server = api
    cfg = _config(tmp_path, server)
    lake = tmp_path / "lake"
    run("youtube", "all", cfg, lake, NOW, CREDS)
    run("youtube", "parlement", cfg, lake, NOW, CREDS)  # finds V1 again, and V4
    assert len(landed(lake, "youtube")) == CHANNEL_POSTS + SEARCH_POSTS
    empty = tmp_path / "import"
    empty.mkdir()
    r = pipeline.Run(day=NOW.date(), run_id="t", config=cfg, lake=lake, import_dir=empty)
    out = pipeline.ingest(r)
    assert out["posts"] == CHANNEL_POSTS + 8 and out["folded"] == 35 + 14 and out["quarantined"] == 0
    raw = pipeline.staged_raw(r)
    assert set(raw["platform"].to_pylist()) == {"youtube"}
    replies = [x for x in raw["reply_to"].to_pylist() if x]
    assert len(replies) == 14 and all(x.startswith("youtube:Ug") for x in replies)
