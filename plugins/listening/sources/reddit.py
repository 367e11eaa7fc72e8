"""Reddit: submissions found by Reddit's search for each topic's words, in all of Reddit or in the
listed subreddits, and optionally the newest comments of those subreddits (OAuth2 Data API,
plain HTTP).

Each topic becomes Reddit search queries (`listening.queries_compile`, platform `reddit`):
keywords as quoted phrases, hashtags as plain words (Reddit has none), watched accounts as
`author:x OR x`, ORed and split to stay under Reddit's 512 characters. They are asked of
GET /search (or /r/<sub>/search?restrict_sr=1) sorted by `new`, 100 a page, following the
listing's `after` fullname until a page goes older than the cursor. Reddit search returns
submissions only, and stops after roughly 250-1000 results.

Comments cannot be searched through the API: with `include_comments`, /r/<sub>/comments
(newest first, the last ~1000 only) is read for each listed subreddit, once for all topics
(topic `all`), and only the comments the watchlists' matcher accepts are kept.

Native ids are fullnames (`t3_…` submissions, `t1_…` comments: two id spaces), so a comment's
`reply_to` is its `parent_id` as given. Authors are their `author_fullname` (`t2_…`), stable
across renames. A deleted account ("[deleted]") leaves its post in place: the post is kept,
with author id "[deleted]" and no handle (all such posts share that author id; the influence
ranking sees one anonymous voice). Likes are the score floored at 0 (a score can be negative);
Reddit gives no follower counts and no language.

Connection `vigie_reddit` (required): login = the app's client id, password = its client
secret (a "script" or "web" app at reddit.com/prefs/apps; client_credentials grant, read-only
and anonymous); extra `{"user_agent": "<platform>:<app id>:<version> (by /u/<name>)"}` -
Reddit throttles generic user agents - and optionally `{"username", "password"}` of the
app's owner account for the password grant. Tokens live 24 h; a 401 fetches a new one once.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import time
import weakref
from dataclasses import dataclass, field

from pydantic import Field, field_validator

from listening.sources.base import (BadRecord, Creds, MalformedPage, Page, Query, SourceError,
                                    SourceOptions, iso, utc)
from listening.sources.http import scrub

log = logging.getLogger(__name__)

NAME = "reddit"
CONNECTION = "vigie_reddit"
REQUIRES_CREDENTIALS = True
PAGE = 100                 # Reddit's maximum `limit`
AUTH_ROOT = "https://www.reddit.com"
API_ROOT = "https://oauth.reddit.com"
USER_AGENT = "python:vigie-listening:1.0 (social listening for public institutions)"
SUB_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")
GAP_AFTER = 250            # results after which a search that ends early has probably been cut
from listening.sources.base import ALL  # noqa: E402  (one read of a subreddit serves every topic)
REMOVED = {"[removed]", "[deleted]"}


class Options(SourceOptions):
    # subreddits searched (name without r/); empty: all of Reddit
    subreddits: list[str] = Field(default_factory=list)
    # also read the newest comments of the listed subreddits (kept when a topic matches them)
    include_comments: bool = False

    @field_validator("subreddits")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        out = []
        for s in v:
            name = re.sub(r"^/?r/", "", s.strip()).strip("/")
            if not SUB_RE.match(name):
                raise ValueError(f"{s!r} is not a subreddit name (letters, digits, _; 2-21 characters)")
            out.append(name)
        return list(dict.fromkeys(out))


@dataclass(frozen=True)
class _CommentsQuery(Query):
    """A subreddit's comments, with the matcher that keeps the ones a topic wants (not in the key)."""
    matcher: object = field(default=None, compare=False, hash=False, repr=False)


def queries(watchlists, options: Options, creds: Creds | None) -> list[Query]:
    from listening.queries_compile import compile_topic

    subs = options.subreddits or [None]
    out: list[Query] = []
    for topic in watchlists.topics:
        compiled = compile_topic(topic, NAME)
        if not compiled.requests:
            log.warning("reddit: topic %s has nothing Reddit search can ask (%s)", topic.name,
                        "; ".join(compiled.notes))
        for q in compiled.requests:
            for sub in subs:
                out.append(Query(topic.name, "search", q, (("subreddit", sub),) if sub else ()))
    if options.include_comments and options.subreddits:
        from listening.queries import Matcher

        wanted = [t for t in watchlists.topics if options.topics is None or t.name in options.topics]
        if wanted:
            matcher = Matcher(watchlists.model_copy(update={"topics": wanted}))
            out += [_CommentsQuery(ALL, "comments", sub, matcher=matcher) for sub in options.subreddits]
    return out


# ---- authentication -------------------------------------------------------------------------

_TOKENS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # client -> {key: (token, expiry)}


class _Auth:
    """The app's bearer token, fetched once per client (run) and again when Reddit refuses it."""

    def __init__(self, client, creds: Creds | None, options: Options):
        if not creds or not creds.login or not creds.password:
            raise SourceError(f"reddit: the connection {CONNECTION!r} needs login (the app's client id) "
                              f"and password (its client secret)")
        self.client, self.creds = client, creds
        self.root = (options.base_url or AUTH_ROOT).rstrip("/")
        extra = creds.extra or {}
        ua = extra.get("user_agent") or USER_AGENT
        if extra.get("username") and not extra.get("user_agent"):
            ua = f"{USER_AGENT[:-1]}; by /u/{extra['username']})"
        self.user_agent = ua
        self.key = (self.root, creds.login)

    def headers(self) -> dict:
        cache = _TOKENS.setdefault(self.client, {})
        token, expiry = cache.get(self.key, (None, 0.0))
        if not token or time.time() > expiry - 300:
            token = self.renew()
        return {"Authorization": f"bearer {token}", "User-Agent": self.user_agent}

    def renew(self) -> str:
        extra = self.creds.extra or {}
        if extra.get("username") and extra.get("password"):
            data = {"grant_type": "password", "username": extra["username"], "password": extra["password"]}
        else:
            data = {"grant_type": "client_credentials"}
        basic = base64.b64encode(f"{self.creds.login}:{self.creds.password}".encode()).decode()
        url = f"{self.root}/api/v1/access_token"
        try:
            doc, _ = self.client.get_json(url, method="POST", data=data,
                                          headers={"Authorization": f"Basic {basic}", "User-Agent": self.user_agent})
        except MalformedPage as e:
            raise SourceError(f"reddit: token endpoint: {e.reason}") from None
        except SourceError as e:
            raise SourceError(f"reddit: token refused ({e}); check the connection {CONNECTION!r}: login = "
                              f"client id, password = client secret") from None
        token = doc.get("access_token")
        if not isinstance(token, str) or not token:
            raise SourceError(f"reddit: token refused: {str(doc.get('error') or doc)[:100]} "
                              f"(grant {data['grant_type']}; check the connection {CONNECTION!r})")
        if token not in self.client.secrets:
            self.client.secrets.append(token)   # scrubbed from every message from now on
        expires = doc.get("expires_in") if isinstance(doc.get("expires_in"), (int, float)) else 3600
        _TOKENS.setdefault(self.client, {})[self.key] = (token, time.time() + expires)
        return token


def _listing(client, auth: _Auth, url: str, params: dict) -> tuple[dict | None, str]:
    """One Listing page; None when the subreddit does not exist or can't be read (logged)."""
    desc = client.describe("GET", url, params)
    renewed, reason, body = False, "", b""
    for attempt in (1, 2):
        while True:
            r = client.request("GET", url, params=params, headers=auth.headers(), ok=(200, 401, 403, 404))
            if r.status_code != 401:
                break
            if renewed:
                raise SourceError(f"{desc}: HTTP 401 with a new token: "
                                  f"{scrub(r.text[:200], client.secrets)}")
            log.info("%s: token refused (401), fetching a new one", desc)
            auth.renew()
            renewed = True
        if r.status_code in (403, 404) and "/r/" not in url:
            raise SourceError(f"{desc}: HTTP {r.status_code}: {scrub(r.text[:200], client.secrets)}")
        if r.status_code in (403, 404) or "/subreddits/search" in r.url:
            log.warning("%s: %s: skipped (HTTP %s%s)", desc, "subreddit not found" if r.status_code != 403
                        else "subreddit private, quarantined or banned", r.status_code,
                        ", redirected to subreddit search" if r.history else "")
            return None, desc
        body = r.content
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError) as e:
            reason = f"not valid JSON ({type(e).__name__}: {str(e)[:120]})"
        else:
            data = doc.get("data") if isinstance(doc, dict) else None
            if (isinstance(doc, dict) and doc.get("kind") == "Listing" and isinstance(data, dict)
                    and isinstance(data.get("children"), list)):
                return doc, desc
            reason = "expected a Listing (kind, data.children)"
        if attempt == 1:
            log.info("%s: %s, fetching it once more", desc, reason)
    raise MalformedPage(reason, desc, scrub(body[:2000].decode("utf-8", "replace"), client.secrets))


def _created(child) -> float | None:
    try:
        v = child["data"]["created_utc"]
        return float(v) if not isinstance(v, bool) else None
    except (KeyError, TypeError, ValueError):
        return None


def fetch(client, query: Query, since, options: Options, creds: Creds | None):
    auth = _Auth(client, creds, options)
    root = (options.base_url or API_ROOT).rstrip("/")
    limit = min(options.page_size or PAGE, PAGE)
    sub = query.param("subreddit")
    if query.kind == "comments":
        url = f"{root}/r/{query.value}/comments"
        params = {"limit": limit, "raw_json": 1}
    else:
        url = f"{root}/r/{sub}/search" if sub else f"{root}/search"
        params = {"q": query.value, "sort": "new", "t": "all", "type": "link", "limit": limit, "raw_json": 1}
        if sub:
            params["restrict_sr"] = 1
    floor = since.timestamp()
    seen = 0
    while True:
        doc, desc = _listing(client, auth, url, params)
        if doc is None:
            return
        data = doc["data"]
        children = data["children"]
        # anything but a t3/t1 goes on to the mapper, which quarantines it
        records = [c for c in children if _wanted(c, query)] if query.kind == "comments" else children
        seen += len(children)
        yield Page(records, desc)   # even empty (comments nobody watches): max_pages counts it
        times = [t for t in map(_created, children) if t is not None]
        if not children or (times and min(times) < floor):
            return
        after = data.get("after")
        if not after:
            if seen >= GAP_AFTER and query.kind == "search":
                log.warning("%s: Reddit ended the results after %d posts, the oldest from %s, newer than "
                            "%s: older matches are out of reach of search", desc, seen,
                            iso(utc(min(times))) if times else "?", iso(since))
            return
        params = {**params, "after": after}


def _wanted(child, query: Query) -> bool:
    """A comment the watchlists' matcher accepts (a malformed one goes on, to be quarantined)."""
    from listening import clean

    d = child.get("data") if isinstance(child, dict) else None
    if not isinstance(d, dict) or not isinstance(d.get("body"), str):
        return True
    text = clean.clean_text(d["body"])
    author = d.get("author")
    handle = f"@{author}" if author and author != "[deleted]" else None
    return bool(query.matcher.match(text, clean.hashtags(text), clean.mentions(text), handle,
                                    lang=None, platform=NAME))


def _count(v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return 0
    return max(0, int(v))


def to_post(child: dict, page: Page) -> dict:
    if not isinstance(child, dict) or child.get("kind") not in ("t3", "t1") or not isinstance(child.get("data"), dict):
        kind = child.get("kind") if isinstance(child, dict) else type(child).__name__
        raise BadRecord("reddit_kind", f"expected a submission (t3) or comment (t1) with data, got {str(kind)[:20]}")
    kind, d = child["kind"], child["data"]
    name = d.get("name") or (f"{kind}_{d['id']}" if isinstance(d.get("id"), str) and d["id"] else None)
    if not isinstance(name, str) or not name.startswith(f"{kind}_"):
        raise BadRecord("reddit_id", f"a {kind} needs its fullname (name) or id")
    created = _created(child)
    if created is None:
        raise BadRecord("reddit_created", f"{name}: created_utc missing or not a number")
    author = d.get("author")
    if not isinstance(author, str) or not author:
        raise BadRecord("reddit_author", f"{name}: no author")
    deleted = author == "[deleted]"
    if kind == "t3":
        title = d.get("title") or ""
        body = d.get("selftext") or ""
        text = f"{title}\n\n{body}" if body and body not in REMOVED else title
        reply_to = None
        repost_of = d.get("crosspost_parent") or None
        replies = _count(d.get("num_comments"))
    else:
        body = d.get("body") or ""
        text = "" if body in REMOVED else body
        reply_to = d.get("parent_id") or None
        repost_of = None
        replies = 0   # a comment listing doesn't count the comment's replies
    permalink = d.get("permalink")
    url = f"https://www.reddit.com{permalink}" if isinstance(permalink, str) and permalink.startswith("/") else None
    return {
        "platform": NAME,
        "id": name,
        "created_at": iso(utc(created)),
        "author_id": "[deleted]" if deleted else (d.get("author_fullname") or author),
        "author_handle": None if deleted else f"@{author}",
        "author_followers": None,
        "text": text,
        "lang": None,
        "url": url or (d.get("url") if kind == "t3" else None),
        "reply_to": reply_to,
        "repost_of": repost_of,
        "quote_of": None,
        "like_count": _count(d.get("score", d.get("ups"))),
        "repost_count": _count(d.get("num_crossposts")),
        "reply_count": replies,
        "quote_count": 0,
        "original": child,
    }
