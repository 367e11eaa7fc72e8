"""X: the recent-search endpoint of the X API v2 (GET /2/tweets/search/recent), plain HTTP.

Per topic, everything it watches (keywords, hashtags, accounts and its boolean `queries`) is
compiled by `listening.queries_compile` into X search syntax, widened where X can't say it
(no wildcard, no NEAR, no NOT: the local matcher narrows again), then packed into as few
queries as the length limit allows; each query has its own cursor. Recent search only sees
the last 7 days: a cursor older than that is reported as a gap, not silently skipped.

Each request asks for the fields the import format needs (metrics, language, references,
entities, long-post text) and expands the author and the referenced posts, so a page carries
its users and the full text of what is retweeted or quoted; the part of `includes` a post
refers to is kept beside it (`includes`), the post itself as received in `original`.
Pagination follows `meta.next_token`, newest first, from `start_time` = the cursor.

Rate limit (docs.x.com, checked 2026-11-26): 450 requests per 15 minutes per app with a bearer
token; a 429 is waited out until `x-rate-limit-reset` by the shared client, or left to the next
hourly run when that is further than its `max_wait`. Cost: the X API is sold pay-per-use
(prepaid credits, charged per post returned, $0.005 a post read at that date, with a monthly
cap on post reads and one charge per post per UTC day); prices and caps change: check the
Developer Console before widening topics.

Connection `vigie_x` (required): password = the app's bearer token (app-only auth); login,
host and extra are not used.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from pydantic import Field

from listening import queries_compile as qc
from listening.sources.base import ALL, BadRecord, Creds, MalformedPage, Page, Query, SourceError, SourceOptions, utc

log = logging.getLogger(__name__)

NAME = "x"
CONNECTION = "vigie_x"
REQUIRES_CREDENTIALS = True
HORIZON_DAYS = 7
BASE = "https://api.x.com"
PATH = "/2/tweets/search/recent"
PAGE = 100            # max_results: 10 to 100
TWEET_FIELDS = ("created_at,public_metrics,lang,referenced_tweets,conversation_id,author_id,"
                "in_reply_to_user_id,entities,note_tweet")
USER_FIELDS = "username,public_metrics,verified"
EXPANSIONS = "author_id,referenced_tweets.id"
NO_LANG = {"und", "zxx", "qam", "qct", "qht", "qme", "qst", "art"}  # X's codes for "no language"


class Options(SourceOptions):
    # False: `-is:retweet` is added (retweets are then neither collected nor paid for)
    include_retweets: bool = True
    # True: only posts X classified in one of the topic's languages (drops those X calls `und`)
    filter_languages: bool = False
    # 512 characters with self-serve access, 4,096 with Enterprise (X docs, "Build a query")
    max_query_length: int = Field(default=512, ge=128, le=4096)


# ---- queries ----------------------------------------------------------------------------

def _tail(topic, options: Options) -> str:
    parts = []
    if options.filter_languages and topic.languages:
        langs = [f"lang:{code}" for code in topic.languages]
        parts.append(langs[0] if len(langs) == 1 else f"({' OR '.join(langs)})")
    if not options.include_retweets:
        parts.append("-is:retweet")
    return " ".join(parts)


def compile_topic(topic, options: Options) -> tuple[list[str], list[str]]:
    """The X queries of a topic (each within the length limit), and what could not be sent."""
    tail = _tail(topic, options)
    room = options.max_query_length - (len(tail) + 3 if tail else 0)  # "(…) " + tail
    compiled = qc.compile_topic(topic, "x", max_len=room)
    requests, missed, notes = compiled.requests, compiled.missed, compiled.notes
    if tail:
        requests = [f"({r}) {tail}" for r in requests]
    for n in notes:
        log.debug("x/%s: %s", topic.name, n)
    return requests, missed


def queries(watchlists, options: Options, creds: Creds | None) -> list[Query]:
    if creds is not None and not creds.password:
        log.warning("x: the connection %s has no password (the bearer token): nothing is collected",
                    CONNECTION)
        return []
    out = []
    for topic in watchlists.topics:
        requests, missed = compile_topic(topic, options)
        for what in missed:
            log.warning("x/%s: %s cannot be searched on X (collect it another way; the matcher "
                        "filters locally)", topic.name, what)
        out += [Query(topic.name, "search", r) for r in requests]
    # the institution's own posts and replies (every topic's: the response desk pairs them with
    # the posts they answer through referenced_tweets)
    own = [h.lstrip("@").split("@")[0] for h in
           (watchlists.institution.accounts.get(NAME, []) if watchlists.institution else [])]
    if own:
        out.append(Query(ALL, "search", " OR ".join(f"from:{h}" for h in own)))
    return out


# ---- fetching ---------------------------------------------------------------------------

def _start_time(since: datetime) -> str:
    """`since`, at most 7 days back by the wall clock (X refuses older), to the second below."""
    oldest = datetime.now(timezone.utc) - timedelta(days=HORIZON_DAYS) + timedelta(minutes=1)
    t = max(utc(since), oldest).replace(microsecond=0)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _by_id(items) -> dict:
    return {i["id"]: i for i in items or [] if isinstance(i, dict) and i.get("id")}


def fetch(client, query: Query, since, options: Options, creds: Creds | None):
    if not creds or not creds.password:
        raise SourceError(f"x: the connection {CONNECTION} has no password (the bearer token)")
    url = f"{(options.base_url or BASE).rstrip('/')}{PATH}"
    headers = {"Authorization": f"Bearer {creds.password}"}
    params = {"query": query.value, "start_time": _start_time(since),
              "max_results": max(10, min(options.page_size or PAGE, PAGE)),
              "tweet.fields": TWEET_FIELDS, "expansions": EXPANSIONS, "user.fields": USER_FIELDS}
    while True:
        desc = client.describe("GET", url, params)
        doc, r = client.get_json(url, params=params, headers=headers)
        meta, data = doc.get("meta"), doc.get("data", [])
        errors = doc.get("errors") if isinstance(doc.get("errors"), list) else []
        if not isinstance(meta, dict):
            if errors:  # a 200 holding only errors: the request was refused after all
                e = errors[0] if isinstance(errors[0], dict) else {}
                raise SourceError(f"{desc}: {e.get('title', 'error')}: {e.get('detail') or e.get('message')}")
            raise MalformedPage("no `meta` object in the response", desc, r.content[:2000])
        if not isinstance(data, list):
            raise MalformedPage("`data` is not a list", desc, r.content[:2000])
        for e in errors:  # partial errors (a referenced post deleted, a user suspended): data kept
            if isinstance(e, dict):
                log.info("%s: partial error: %s: %s", desc, e.get("title"), e.get("detail"))
        if not data:
            return
        includes = doc.get("includes") if isinstance(doc.get("includes"), dict) else {}
        yield Page(data, desc, {"users": _by_id(includes.get("users")),
                                "tweets": _by_id(includes.get("tweets"))})
        nxt = meta.get("next_token")
        times = []
        for t in data:
            try:
                times.append(utc(t["created_at"]))
            except (KeyError, TypeError, ValueError, AttributeError):
                pass
        if not nxt or (times and min(times) < since):
            return
        params = {**params, "next_token": nxt}


# ---- mapping ----------------------------------------------------------------------------

def _full_text(t: dict) -> str:
    note = t.get("note_tweet")
    if isinstance(note, dict) and isinstance(note.get("text"), str):
        return note["text"]  # a long post: `text` holds only its first 280 characters
    return t.get("text") or ""


def to_post(t: dict, page: Page) -> dict:
    if not isinstance(t, dict) or not t.get("id") or not t.get("author_id"):
        raise BadRecord("x_tweet", "a post needs an id and an author_id")
    if not t.get("created_at"):
        raise BadRecord("x_tweet", f"post {t['id']}: no created_at (tweet.fields not honoured?)")
    users, tweets = page.context.get("users", {}), page.context.get("tweets", {})
    author = users.get(t["author_id"])
    refs = {}
    for ref in t.get("referenced_tweets") or []:
        if isinstance(ref, dict) and ref.get("type") and ref.get("id"):
            refs.setdefault(ref["type"], str(ref["id"]))
    text = _full_text(t)
    shown = tweets.get(refs.get("retweeted"))
    if shown:  # a retweet's own text is "RT @user: " cut short; the retweeted post is whole
        text = _full_text(shown)
    metrics = t.get("public_metrics") or {}
    handle = author.get("username") if author else None
    lang = t.get("lang")
    included = {}
    if author:
        included["users"] = [author]
    if refs:
        included["tweets"] = [tweets[i] for i in refs.values() if i in tweets]
    post = {
        "platform": NAME,
        "id": str(t["id"]),
        "created_at": t["created_at"],
        "author_id": str(t["author_id"]),
        "author_handle": f"@{handle}" if handle else None,
        "author_followers": ((author.get("public_metrics") or {}).get("followers_count")
                             if author else None),
        "text": text,
        "lang": lang if lang and lang not in NO_LANG else None,
        "url": f"https://x.com/{handle or 'i/web'}/status/{t['id']}",
        "reply_to": refs.get("replied_to"),
        "repost_of": refs.get("retweeted"),
        "quote_of": refs.get("quoted"),
        "like_count": metrics.get("like_count") or 0,
        "repost_count": metrics.get("retweet_count") or 0,
        "reply_count": metrics.get("reply_count") or 0,
        "quote_count": metrics.get("quote_count") or 0,
        "original": t,
    }
    if included.get("users") or included.get("tweets"):
        post["includes"] = {k: v for k, v in included.items() if v}
    return post
