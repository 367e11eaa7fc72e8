"""YouTube: the comments (top-level and the replies a thread carries) on the recent videos of
watched channels, and on the recent videos a keyword search finds (YouTube Data API v3, plain
HTTP, an API key; no OAuth, so only public comments).

Queries:
- each channel of `channels` (ids `UC…`) is one query of the `all` pseudo-topic: its comments
  serve every topic (the nightly matching assigns them), and are read once, not once per topic.
  channels.list (part=contentDetails) -> the uploads playlist -> playlistItems.list (the
  `max_videos` most recent uploads) -> commentThreads.list of each, newest first.
- with `search` on, one query per topic: search.list of its keywords and hashtags joined with
  YouTube's OR operator (`"a b"|c|#tag`; one search per keyword would cost seven times more),
  videos published up to `video_days` before `since` (a video keeps being commented on after its
  first day), newest first, then the comments of the `max_videos` first.
Comments are paged with `nextPageToken`, `order=time`, until a page reaches `since`. A post is a
comment: its native id is the comment id (stable; a reply's is `<parent id>.<suffix>`) and a
reply's `reply_to` is its top-level comment. A thread only carries some of its replies (the API
gives the rest through comments.list, not read here, to spare the quota).

Quota (Google counts units, 10,000 a day by default, reset at midnight Pacific time):
channels.list, playlistItems.list and commentThreads.list cost 1 unit a call, search.list 100.
A run costs, per channel, 2 + one per page of comments of each recent video (about 12 with
max_videos=10), and per searched topic 100 + one per page of each video found (about 110).
Hourly, that is 24 x (12 x channels + 110 x topics): two channels and three searched topics use
about 8,500 units a day; more topics need `search: false`, `topics:` restricted to the topics
worth a search (the channels are read whatever `topics` says), or a quota extension from Google.
`quotaExceeded` is not retried: the query fails, keeps its cursor, and a run after the reset
fetches the gap. A video whose comments are disabled (or gone) is skipped with a log line.

Connection `vigie_youtube` (required): password = an API key of a Google Cloud project with the
YouTube Data API v3 enabled. It travels as the `key` query parameter, which the HTTP client
redacts from every logged or stored request.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from urllib.parse import urlsplit

from pydantic import Field

from listening.sources.base import BadRecord, Creds, MalformedPage, Page, Query, SourceError, SourceOptions, iso, utc
from listening.sources.http import scrub

log = logging.getLogger(__name__)

NAME = "youtube"
CONNECTION = "vigie_youtube"
REQUIRES_CREDENTIALS = True
BASE = "https://www.googleapis.com/youtube/v3"
from listening.sources.base import ALL  # noqa: E402
PAGE = 100   # commentThreads.list maxResults ceiling
QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}  # short-term: worth a retry
SKIP_VIDEO_REASONS = {"commentsDisabled", "videoNotFound"}
RATE_RETRIES = 3


class Options(SourceOptions):
    # channel ids (UC…) whose recent videos' comments are read
    channels: list[str] = Field(default_factory=list)
    # one keyword search per topic and run (100 quota units each)
    search: bool = True
    # recent videos per channel and per search whose comments are read (1 unit per comment page)
    max_videos: int = Field(default=10, ge=1, le=50)
    # a search finds videos published up to this many days before `since`
    video_days: int = Field(default=7, ge=0, le=365)


class QuotaExceeded(SourceError):
    """The project's daily quota is spent: nothing more until midnight Pacific time."""


class ApiError(SourceError):
    """An error answer of the API, with its `reason` (quotaExceeded, commentsDisabled, …)."""

    def __init__(self, message: str, status: int, reason: str | None, domain: str | None = None):
        super().__init__(message)
        self.status, self.reason, self.domain = status, reason, domain


def search_terms(topic) -> str:
    """The topic's keywords and hashtags as one YouTube query: phrases quoted, joined by `|`."""
    terms = []
    for kw in topic.keywords:
        kw = kw.replace('"', " ").strip().rstrip("*")
        if kw:
            terms.append(f'"{kw}"' if " " in kw else kw)
    terms += list(topic.hashtags)
    return "|".join(dict.fromkeys(terms))


def queries(watchlists, options: Options, creds: Creds | None) -> list[Query]:
    out = [Query(ALL, "channel", c.strip()) for c in dict.fromkeys(options.channels) if c.strip()]
    if options.search:
        for topic in watchlists.topics:
            q = search_terms(topic)
            if q:
                out.append(Query(topic.name, "search", q))
    return out


def _base(options: Options) -> str:
    return (options.base_url or BASE).rstrip("/")


def _error(r) -> tuple[str | None, str | None, str]:
    """The first `reason`, its `domain` and the message of a Google API error body."""
    try:
        err = r.json().get("error") or {}
    except (ValueError, AttributeError):
        return None, None, r.text[:200]
    if not isinstance(err, dict):
        return None, None, str(err)[:200]
    errors = err.get("errors") if isinstance(err.get("errors"), list) and err.get("errors") else [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    return first.get("reason"), first.get("domain"), str(err.get("message") or first.get("message") or "")[:200]


def _get(client, url: str, params: dict) -> dict:
    """The JSON object of a 200 answer. Google's errors by reason: the daily quota fails at once
    (SourceError, no retry), a short-term rate limit is waited out a few times, the rest raise
    ApiError. A body that doesn't decode is fetched once more, then raised as MalformedPage."""
    desc = client.describe("GET", url, params)
    rate_attempt = 0
    for attempt in (1, 2):
        while True:
            r = client.request("GET", url, params=params, ok=(200, 400, 401, 403, 404))
            if r.status_code == 200:
                break
            reason, domain, message = _error(r)
            message = scrub(message, client.secrets)
            if reason in QUOTA_REASONS:
                raise QuotaExceeded(f"{desc}: YouTube quota exceeded (HTTP {r.status_code} {reason}): the "
                               f"daily quota resets at midnight Pacific time; the next run after it "
                               f"fetches what this one missed")
            if reason in RATE_REASONS and rate_attempt < RATE_RETRIES:
                rate_attempt += 1
                client.pause(client.backoff_delay(rate_attempt) + 1, f"rate limited (HTTP {r.status_code} "
                             f"{reason})", desc)
                continue
            raise ApiError(f"{desc}: HTTP {r.status_code} {reason or ''}: {message}", r.status_code, reason, domain)
        doc, problem = client.json_of(r, dict)
        if problem is None:
            return doc
        if attempt == 1:
            log.info("%s: %s, fetching it once more", desc, problem)
    raise client.malformed(problem, desc, r)


def _items(doc: dict, desc: str) -> list:
    items = doc.get("items", [])
    if not isinstance(items, list):
        raise MalformedPage(f"`items` is a {type(items).__name__}, not a list", desc, json.dumps(doc)[:2000])
    return [i for i in items if isinstance(i, dict)]


def _channel_videos(client, base: str, channel: str, key: str, options: Options) -> list[str]:
    params = {"part": "contentDetails", "id": channel, "key": key}
    doc = _get(client, f"{base}/channels", params)
    items = _items(doc, client.describe("GET", f"{base}/channels", params))
    uploads = next((i.get("contentDetails", {}).get("relatedPlaylists", {}).get("uploads")
                    for i in items if i.get("id") == channel), None)
    if not uploads:
        log.warning("youtube: channel %s not found, or without an uploads playlist: skipped", channel)
        return []
    params = {"part": "contentDetails", "playlistId": uploads, "maxResults": 50, "key": key}
    try:
        doc = _get(client, f"{base}/playlistItems", params)
    except ApiError as e:
        if e.status == 404:
            log.warning("youtube: channel %s: uploads playlist %s not found: skipped", channel, uploads)
            return []
        raise
    items = _items(doc, client.describe("GET", f"{base}/playlistItems", params))
    # newest first (the uploads playlist's order is not guaranteed to be by date)
    items.sort(key=lambda i: str(i.get("contentDetails", {}).get("videoPublishedAt") or ""), reverse=True)
    vids = [i.get("contentDetails", {}).get("videoId") for i in items]
    return list(dict.fromkeys(v for v in vids if v))[:options.max_videos]


def _search_videos(client, base: str, q: str, since, key: str, options: Options) -> list[str]:
    params = {"part": "snippet", "q": q, "type": "video", "order": "date",
              "publishedAfter": iso(since - timedelta(days=options.video_days)),
              "maxResults": options.max_videos, "key": key}
    doc = _get(client, f"{base}/search", params)
    items = _items(doc, client.describe("GET", f"{base}/search", params))
    vids = [i.get("id", {}).get("videoId") for i in items if isinstance(i.get("id"), dict)]
    return list(dict.fromkeys(v for v in vids if v))[:options.max_videos]


def _comments(client, base: str, video: str, since, key: str, options: Options):
    """Pages of one video's comment threads, newest first, until `since`."""
    url = f"{base}/commentThreads"
    params = {"part": "snippet,replies", "videoId": video, "order": "time",
              "maxResults": min(options.page_size or PAGE, PAGE), "textFormat": "plainText", "key": key}
    while True:
        try:
            doc = _get(client, url, params)
        except ApiError as e:
            # comments disabled, video gone, private or members only: this video, not the query
            if e.reason in SKIP_VIDEO_REASONS or e.status == 404 or \
                    (e.status == 403 and str(e.domain or "").startswith("youtube.")):
                log.warning("youtube: video %s skipped: %s (%s)", video, e.reason or f"HTTP {e.status}",
                            "comments disabled" if e.reason == "commentsDisabled" else "not readable")
                return
            raise
        desc = client.describe("GET", url, params)
        threads = _items(doc, desc)
        if not threads:
            return
        records = []
        for t in threads:
            records.append(t)
            replies = (t.get("replies") or {}).get("comments") or []
            records += [c for c in replies if isinstance(c, dict)]
        yield Page(records, desc, {"video_id": video})
        times = []
        for t in threads:
            try:
                times.append(utc(t["snippet"]["topLevelComment"]["snippet"]["publishedAt"]))
            except (KeyError, TypeError, ValueError, AttributeError):
                pass
        token = doc.get("nextPageToken")
        if not token or (times and min(times) < since):
            return
        params = {**params, "pageToken": token}


def fetch(client, query: Query, since, options: Options, creds: Creds | None):
    key = creds.password if creds else None
    if not key:
        raise SourceError("youtube: no API key (the password of the connection vigie_youtube)")
    base = _base(options)
    if query.kind == "channel":
        videos = _channel_videos(client, base, query.value, key, options)
    elif query.kind == "search":
        videos = _search_videos(client, base, query.value, since, key, options)
    else:
        raise SourceError(f"youtube: unknown query kind {query.kind!r}")
    for video in videos:
        yield from _comments(client, base, video, since, key, options)


def _handle(s: dict) -> str | None:
    name = s.get("authorDisplayName")
    if isinstance(name, str) and name.startswith("@") and len(name) > 1:
        return name
    path = urlsplit(str(s.get("authorChannelUrl") or "")).path
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return last if last.startswith("@") and len(last) > 1 else None


def to_post(record: dict, page: Page) -> dict:
    if not isinstance(record, dict):
        raise BadRecord("youtube_record", "a record must be an object")
    kind = record.get("kind")
    if kind == "youtube#commentThread":
        thread = record.get("snippet") or {}
        comment = thread.get("topLevelComment") if isinstance(thread, dict) else None
        if not isinstance(comment, dict):
            raise BadRecord("youtube_thread", f"thread {record.get('id')}: no topLevelComment")
        replies = thread.get("totalReplyCount") or 0
    elif kind == "youtube#comment":
        comment, replies = record, 0
    else:
        raise BadRecord("youtube_kind", f"unexpected kind {str(kind)[:40]!r} (a commentThread or a comment)")
    s = comment.get("snippet")
    if not comment.get("id") or not isinstance(s, dict):
        raise BadRecord("youtube_comment", "a comment needs an id and a snippet")
    author = (s.get("authorChannelId") or {}).get("value") if isinstance(s.get("authorChannelId"), dict) else None
    if not author:
        raise BadRecord("youtube_author", f"comment {comment['id']}: no authorChannelId (author unknown)")
    video = s.get("videoId") or (thread.get("videoId") if kind == "youtube#commentThread" else None) \
        or page.context.get("video_id")
    text = s.get("textOriginal")
    if not isinstance(text, str):
        text = s.get("textDisplay") or ""
    return {
        "platform": NAME,
        "id": comment["id"],
        "created_at": s.get("publishedAt"),
        "author_id": author,
        "author_handle": _handle(s),
        "author_followers": None,  # not given with a comment (channels.list would cost a unit per author)
        "text": text,
        "lang": None,  # not given: detected downstream
        "url": f"https://www.youtube.com/watch?v={video}&lc={comment['id']}" if video else None,
        "reply_to": (s.get("parentId") or (comment["id"].split(".")[0] if "." in comment["id"] else None))
        if kind == "youtube#comment" else None,
        "repost_of": None,
        "quote_of": None,
        "like_count": s.get("likeCount") or 0,
        "repost_count": 0,
        "reply_count": replies,
        "quote_count": 0,
        "original": record,
    }
