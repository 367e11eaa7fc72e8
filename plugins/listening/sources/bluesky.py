"""Bluesky: post search for the topics' keywords, hashtags and account mentions, and the feeds
of watched accounts (AT Protocol XRPC over plain HTTP).

- `app.bsky.feed.searchPosts` (sort=latest, since, cursor) needs a session on Bluesky's
  AppView, so it goes to the account's PDS with the session's access token. Every topic's
  searches run in the one `all` job: a session costs a `createSession`, which Bluesky limits
  to 30 per 5 minutes and 100-300 a day per account; one job per hour stays far below that
  whatever the number of topics (and a keyword shared by topics is asked once).
- `app.bsky.feed.getAuthorFeed` for the topics' accounts (written as full handles with a dot,
  `@name.bsky.social`; a bare `@name` is another platform's handle and is skipped) and the
  institution's Bluesky accounts (in the `all` job). It is public, so it is read from the
  public AppView without a session: the accounts are followed even without credentials.
- `app.bsky.actor.getProfiles` (25 actors a call) for the authors' follower counts, which a
  PostView does not carry.

A post's native id is its `at://` URI, stable for ever; a repost in an author feed is its
repost record's URI. `created_at` is the post's sortAt, min(createdAt, indexedAt): createdAt
is set by the author's client, and a clock in the future would move the cursor past now.

Connection `vigie_bluesky` (optional): login = handle or e-mail of the account, password = an
app password (Settings > App passwords; never the account password), host = its PDS
(default https://bsky.social). Without it, searches are skipped (one log line) and only the
accounts' feeds are read.
"""
from __future__ import annotations

import json
import logging
import weakref

from listening.sources.base import BadRecord, Creds, MalformedPage, Page, Query, SourceError, SourceOptions, iso, utc
from listening.sources.http import scrub

log = logging.getLogger(__name__)

NAME = "bluesky"
CONNECTION = "vigie_bluesky"
REQUIRES_CREDENTIALS = False
from listening.sources.base import ALL  # noqa: E402  (queries that serve every topic)
PAGE = 100                       # the most searchPosts and getAuthorFeed give per call
PROFILES = 25                    # actors per getProfiles call
PDS = "https://bsky.social"
APPVIEW = "https://public.api.bsky.app"
POST = "app.bsky.feed.post"
REPOST = "app.bsky.feed.defs#reasonRepost"
EXPIRED = {"ExpiredToken", "InvalidToken"}
GONE = {"AccountTakedown", "AccountDeactivated", "BlockedActor", "BlockedByActor"}


class Options(SourceOptions):
    # where the public reads (author feeds, profiles) go; base_url overrides it and the PDS
    appview: str = APPVIEW
    # searches of the topics' keywords and hashtags (needs the connection)
    search: bool = True
    # searches of the posts mentioning the topics' and the institution's accounts (needs it too)
    mentions: bool = True
    # author feeds with the accounts' replies (posts_with_replies) or without (posts_no_replies)
    replies: bool = True
    # followers of each author (one getProfiles call per 25 new authors)
    followers: bool = True


# ---- what to ask ------------------------------------------------------------------------

def _handle(account: str) -> str | None:
    """A Bluesky handle or DID from a watchlist entry; None for another platform's handle."""
    a = account.strip().lstrip("@").lower()
    if a.startswith("did:"):
        return a
    if "." in a and "@" not in a and not a.startswith(".") and not a.endswith("."):
        return a
    return None


def _phrase(keyword: str) -> str:
    k = keyword.strip().replace('"', " ")
    return f'"{k}"' if any(c.isspace() for c in k) else k


def _can_search(creds: Creds | None) -> bool:
    return bool(creds and creds.login and creds.password)


def queries(watchlists, options: Options, creds: Creds | None) -> list[Query]:
    topics = [t for t in watchlists.topics if options.topics is None or t.name in options.topics]
    institution = [h for a in watchlists.institution.accounts.get(NAME, []) if (h := _handle(a))]
    out: list[Query] = []
    for h in dict.fromkeys(institution):
        out.append(Query(ALL, "author", h))
    for t in topics:
        for h in dict.fromkeys(h for a in t.accounts if (h := _handle(a))):
            if h not in institution:
                out.append(Query(t.name, "author", h))
    searches: dict[str, Query] = {}
    if options.search:
        for t in topics:
            for kw in t.keywords:
                q = _phrase(kw)
                searches.setdefault(q.lower(), Query(ALL, "search", q))
            for tag in t.hashtags:
                searches.setdefault(tag.lower(), Query(ALL, "search", tag))
    if options.mentions:
        accounts = institution + [h for t in topics for a in t.accounts if (h := _handle(a))]
        for h in accounts:
            searches.setdefault(f"mentions:{h}", Query(ALL, "mentions", h))
    if searches and not _can_search(creds):
        log.info("bluesky: %d searches skipped: Bluesky's search needs a session (set login and an "
                 "app password in the Airflow connection %r); account feeds are still read",
                 len(searches), CONNECTION)
    elif searches:
        out += searches.values()
    return out


# ---- session ------------------------------------------------------------------------------

class _Session:
    """One login per run (per Client), shared by its searches; renewed when the token expires."""

    def __init__(self, service: str, creds: Creds):
        self.service, self.creds = service, creds
        self.access: str | None = None
        self.refresh: str | None = None
        self.failed: str | None = None

    def headers(self, client) -> dict:
        if self.failed:
            raise SourceError(self.failed)
        if not self.access:
            self._create(client)
        return {"Authorization": f"Bearer {self.access}"}

    def _tokens(self, client, r, what: str) -> None:
        try:
            doc = json.loads(r.content)
            access, refresh = doc["accessJwt"], doc["refreshJwt"]
            if not (isinstance(access, str) and isinstance(refresh, str) and access and refresh):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            # never quarantine the body: it may hold tokens
            raise SourceError(f"POST {self.service}/xrpc/{what}: answer without accessJwt and refreshJwt") from None
        self.access, self.refresh = access, refresh
        client.secrets += [access, refresh]  # scrubbed from every message from now on

    def _create(self, client) -> None:
        nsid = "com.atproto.server.createSession"
        try:
            r = client.request("POST", f"{self.service}/xrpc/{nsid}",
                               json_body={"identifier": self.creds.login, "password": self.creds.password})
        except SourceError as e:
            self.failed = (f"bluesky: login as {self.creds.login} on {self.service} failed "
                           f"(check the app password of {CONNECTION!r}): {e}")
            raise SourceError(self.failed) from None
        self._tokens(client, r, nsid)

    def renew(self, client) -> None:
        """refreshSession with the refresh token; a new session if that one expired too."""
        if self.refresh:
            nsid = "com.atproto.server.refreshSession"
            r = client.request("POST", f"{self.service}/xrpc/{nsid}",
                               headers={"Authorization": f"Bearer {self.refresh}"}, ok=(200, 400, 401))
            if r.status_code == 200:
                self._tokens(client, r, nsid)
                return
        self.access = self.refresh = None
        self._create(client)


_SESSIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _session(client, service: str, creds: Creds) -> _Session:
    per_client = _SESSIONS.setdefault(client, {})
    key = (service, creds.login)
    if key not in per_client:
        per_client[key] = _Session(service, creds)
    return per_client[key]


# ---- requests -----------------------------------------------------------------------------

def _error(r) -> tuple[str, str]:
    try:
        doc = r.json()
        return str(doc.get("error") or ""), str(doc.get("message") or "")
    except (ValueError, AttributeError):
        return "", r.text[:200]


def _get_json(client, url: str, params: dict, key: str, session: _Session | None = None):
    """The decoded answer of a 200 (a dict whose `key` is a list), or None for an actor that is
    gone; renews the session once on an expired token; an unreadable body is asked once more,
    then raised as MalformedPage."""
    desc = client.describe("GET", url, params)
    reason, r = "", None
    for attempt in (1, 2):
        for renewed in (False, True):
            headers = session.headers(client) if session else None
            r = client.request("GET", url, params=params, headers=headers, ok=(200, 400, 401))
            if r.status_code == 200:
                break
            err, msg = _error(r)
            if session and err in EXPIRED and not renewed:
                log.info("%s: %s, renewing the session", desc, err)
                session.renew(client)
                continue
            if key == "feed" and (err in GONE or (err == "InvalidRequest" and "not found" in msg.lower())):
                log.warning("%s: %s %s: no feed to read", desc, err, msg)
                return None
            raise SourceError(scrub(f"{desc}: HTTP {r.status_code} {err}: {msg}", client.secrets))
        try:
            doc = json.loads(r.content)
        except (ValueError, RecursionError) as e:
            reason = f"not valid JSON ({type(e).__name__}: {str(e)[:120]})"
        else:
            if isinstance(doc, dict) and isinstance(doc.get(key, []), list):
                return doc
            reason = f"expected a JSON object with a list {key!r}"
        if attempt == 1:
            log.info("%s: %s, fetching it once more", desc, reason)
    raise MalformedPage(reason, desc, scrub(r.content[:2000].decode("utf-8", "replace"), client.secrets))


def _followers(client, base: str, dids: list[str], known: dict) -> None:
    """Fill `known` (did -> followersCount) for the new authors; a failure only costs followers."""
    todo = [d for d in dict.fromkeys(dids) if d not in known]
    url = f"{base}/xrpc/app.bsky.actor.getProfiles"
    for i in range(0, len(todo), PROFILES):
        chunk = todo[i:i + PROFILES]
        try:
            doc = _get_json(client, url, {"actors": chunk}, "profiles")
        except SourceError as e:
            log.warning("bluesky: followers of %d authors not read: %s", len(chunk), e)
            continue
        for p in doc.get("profiles") or []:
            if isinstance(p, dict) and isinstance(p.get("followersCount"), int):
                known[p.get("did")] = p["followersCount"]
        for d in chunk:
            known.setdefault(d, None)  # not asked again in this run


def _authors(records: list) -> list[str]:
    out = []
    for rec in records:
        if not isinstance(rec, dict):
            continue
        post = rec.get("post") if isinstance(rec.get("post"), dict) else rec
        reason = rec.get("reason") if isinstance(rec.get("reason"), dict) else {}
        for who in (post.get("author"), reason.get("by")):
            if isinstance(who, dict) and isinstance(who.get("did"), str):
                out.append(who["did"])
    return out


def fetch(client, query: Query, since, options: Options, creds: Creds | None):
    public = (options.base_url or options.appview).rstrip("/")
    limit = min(options.page_size or PAGE, PAGE)
    session = None
    if query.kind == "author":
        url, key = f"{public}/xrpc/app.bsky.feed.getAuthorFeed", "feed"
        params = {"actor": query.value, "limit": limit,
                  "filter": "posts_with_replies" if options.replies else "posts_no_replies"}
    else:
        if not _can_search(creds):
            raise SourceError(f"bluesky: {query.key}: a search needs the connection {CONNECTION!r}")
        service = (options.base_url or creds.host or PDS).rstrip("/")
        if "://" not in service:
            service = f"https://{service}"
        session = _session(client, service, creds)
        url, key = f"{service}/xrpc/app.bsky.feed.searchPosts", "posts"
        q = f"mentions:{query.value}" if query.kind == "mentions" else query.value
        params = {"q": q, "sort": "latest", "since": iso(since), "limit": limit}
    followers: dict = {}
    while True:
        doc = _get_json(client, url, params, key, session)
        if doc is None:
            return
        records = doc.get(key) or []
        if not records:
            return
        if options.followers:
            _followers(client, public, _authors(records), followers)
        yield Page(records, client.describe("GET", url, params), {"followers": dict(followers)})
        times = [t for rec in records if (t := _sort_time(rec)) is not None]
        cursor = doc.get("cursor")
        if (times and min(times) < since) or not cursor or not isinstance(cursor, str):
            return
        params = {**params, "cursor": cursor}


# ---- mapping ------------------------------------------------------------------------------

def _time(value):
    try:
        return utc(value) if isinstance(value, str) and value else None
    except (ValueError, TypeError):
        return None


def _sort_time(rec):
    """When the feed or search placed the item: the repost's time, or the post's sortAt."""
    if not isinstance(rec, dict):
        return None
    reason = rec.get("reason")
    if isinstance(reason, dict) and reason.get("$type") == REPOST and _time(reason.get("indexedAt")):
        return _time(reason["indexedAt"])
    post = rec.get("post") if isinstance(rec.get("post"), dict) else rec
    record = post.get("record") if isinstance(post.get("record"), dict) else {}
    times = [t for t in (_time(record.get("createdAt")), _time(post.get("indexedAt"))) if t]
    return min(times) if times else None


def _rkey(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def _post_uri(v) -> str | None:
    uri = v.get("uri") if isinstance(v, dict) else None
    return uri if isinstance(uri, str) and f"/{POST}/" in uri else None


def _quoted(embed) -> str | None:
    if not isinstance(embed, dict):
        return None
    t = embed.get("$type")
    if t == "app.bsky.embed.record":
        return _post_uri(embed.get("record"))
    if t == "app.bsky.embed.recordWithMedia":
        inner = embed.get("record")
        return _post_uri(inner.get("record")) if isinstance(inner, dict) else None
    return None


def _author(who, what: str) -> tuple[str, str]:
    if not isinstance(who, dict) or not isinstance(who.get("did"), str) or not who["did"].startswith("did:"):
        raise BadRecord("bluesky_author", f"{what}: author without a did")
    return who["did"], who.get("handle") if isinstance(who.get("handle"), str) else None


def to_post(rec: dict, page: Page) -> dict:
    if not isinstance(rec, dict):
        raise BadRecord("bluesky_post", f"a post must be an object, got {type(rec).__name__}")
    post = rec.get("post") if "post" in rec else rec  # FeedViewPost (author feed) or PostView (search)
    if not isinstance(post, dict) or not isinstance(post.get("uri"), str) or not post["uri"].startswith("at://"):
        raise BadRecord("bluesky_post", "a post needs an at:// uri")
    uri = post["uri"]
    did, handle = _author(post.get("author"), uri)
    record = post.get("record")
    if not isinstance(record, dict):
        raise BadRecord("bluesky_record", f"{uri}: post without its record")
    followers = page.context.get("followers", {})
    url = f"https://bsky.app/profile/{handle or did}/post/{_rkey(uri)}"
    reason = rec.get("reason")
    if isinstance(reason, dict) and reason.get("$type") == REPOST:
        by_did, by_handle = _author(reason.get("by"), f"repost of {uri}")
        when = _time(reason.get("indexedAt"))
        if when is None:
            raise BadRecord("bluesky_time", f"repost of {uri} by {by_did}: no indexedAt")
        # the repost record's uri; AppViews before 2024 left it out: one made of who and what
        rid = reason.get("uri")
        if not isinstance(rid, str) or not rid:
            rid = f"at://{by_did}/app.bsky.feed.repost/of:{uri}"
        return {
            "platform": NAME, "id": rid, "created_at": iso(when), "url": url,
            "author_id": by_did, "author_handle": f"@{by_handle}" if by_handle else None,
            "author_followers": followers.get(by_did), "text": "", "lang": None,
            "reply_to": None, "repost_of": uri, "quote_of": None,
            "like_count": 0, "repost_count": 0, "reply_count": 0, "quote_count": 0,
            "original": rec,
        }
    when = _sort_time(post)
    if when is None:
        raise BadRecord("bluesky_time", f"{uri}: neither createdAt nor indexedAt is a timestamp")
    text = record.get("text")
    langs = record.get("langs")
    lang = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None
    reply = record.get("reply")
    parent = reply.get("parent") if isinstance(reply, dict) else None

    def count(name):
        v = post.get(name)
        return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else 0

    return {
        "platform": NAME,
        "id": uri,
        "created_at": iso(when),
        "url": url,
        "author_id": did,
        "author_handle": f"@{handle}" if handle else None,
        "author_followers": followers.get(did),
        "text": text if isinstance(text, str) else "",
        "lang": lang.split("-")[0].lower() if lang else None,
        "reply_to": _post_uri(parent),
        "repost_of": None,
        "quote_of": _quoted(record.get("embed")),
        "like_count": count("likeCount"),
        "repost_count": count("repostCount"),
        "reply_count": count("replyCount"),
        "quote_count": count("quoteCount"),
        "original": rec,
    }
