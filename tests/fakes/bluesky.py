"""A Bluesky PDS + AppView, as their XRPC endpoints answer (docs.bsky.app, lexicons
app.bsky.feed.searchPosts / getAuthorFeed / defs, app.bsky.actor.getProfiles,
com.atproto.server.createSession / refreshSession):

- PostView {uri, cid, author{did, handle, displayName, ...}, record{$type, text, createdAt, langs,
  facets, reply, embed}, embed, replyCount, repostCount, likeCount, quoteCount, indexedAt, labels};
  FeedViewPost {post, reply?, reason?{$type: ...#reasonRepost, by, uri, cid, indexedAt}};
- searchPosts: {cursor?, hitsTotal, posts}, sort=latest by sortAt, `since` inclusive, an offset
  cursor; needs an access token (Bearer) like Bluesky's AppView now does; `mentions:<handle>`;
- getAuthorFeed: {cursor?, feed}, newest first, a `<sortAt>::<cid>` cursor; public;
- limit 1..100 (getProfiles: 25 actors), else 400 InvalidRequest;
- errors {"error": ..., "message": ...}; RateLimit-* headers on every answer (reset: epoch s).
"""
from __future__ import annotations

import hashlib
import itertools
import time
from datetime import datetime, timezone

from fakes.server import Request, Response, json_response

REPOST = "app.bsky.feed.defs#reasonRepost"
_tokens = itertools.count(1)


def ts(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def did_of(handle: str) -> str:
    return "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]


def cid_of(s: str) -> str:
    return "bafyrei" + hashlib.sha256(s.encode()).hexdigest()[:52]


def profile(handle: str) -> dict:
    """ProfileViewBasic, as embedded in a PostView."""
    return {"did": did_of(handle), "handle": handle, "displayName": handle.split(".")[0].title(),
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did_of(handle)}/x@jpeg",
            "associated": {"chat": {"allowIncoming": "following"}}, "labels": [],
            "createdAt": "2023-05-01T10:00:00.000Z"}


def rkey(n: int) -> str:
    return f"3l{n:011d}"


def post(n: int, created: datetime, *, handle: str = "alice.bsky.social", text: str | None = None,
         tags=("ParlBXL",), mentions=(), langs=("fr",), reply_to: dict | None = None,
         quote: dict | None = None, indexed: datetime | None = None, likes: int | None = None) -> dict:
    """A PostView of app.bsky.feed.post; `reply_to`/`quote` are other PostViews."""
    author = profile(handle)
    body = text or f"Post {n} sur le Parlement bruxellois"
    facets = []
    for t in tags:
        start = len(body.encode()) + 1
        body += f" #{t}"
        facets.append({"index": {"byteStart": start, "byteEnd": start + len(t) + 1},
                       "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": t}]})
    for m in mentions:
        start = len(body.encode()) + 1
        body += f" @{m}"
        facets.append({"index": {"byteStart": start, "byteEnd": start + len(m) + 1},
                       "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did_of(m)}]})
    uri = f"at://{author['did']}/app.bsky.feed.post/{rkey(n)}"
    record = {"$type": "app.bsky.feed.post", "text": body, "createdAt": ts(created),
              "langs": list(langs)}
    if facets:
        record["facets"] = facets
    if reply_to:
        ref = {"uri": reply_to["uri"], "cid": reply_to["cid"]}
        record["reply"] = {"root": ref, "parent": ref}
    view = {
        "uri": uri,
        "cid": cid_of(uri),
        "author": author,
        "record": record,
        "replyCount": n % 3,
        "repostCount": n % 5,
        "likeCount": n % 7 if likes is None else likes,
        "quoteCount": n % 2,
        "bookmarkCount": 0,
        "indexedAt": ts(indexed or created),
        "labels": [],
    }
    if quote:
        record["embed"] = {"$type": "app.bsky.embed.record",
                           "record": {"uri": quote["uri"], "cid": quote["cid"]}}
        view["embed"] = {"$type": "app.bsky.embed.record#view",
                         "record": {"$type": "app.bsky.embed.record#viewRecord", "uri": quote["uri"],
                                    "cid": quote["cid"], "author": quote["author"],
                                    "value": quote["record"], "indexedAt": quote["indexedAt"]}}
    return view


def repost(of: dict, by: str, when: datetime, n: int) -> dict:
    """A FeedViewPost of an author feed: `by` reposted the post `of`."""
    who = profile(by)
    uri = f"at://{who['did']}/app.bsky.feed.repost/{rkey(n)}"
    return {"post": of, "reason": {"$type": REPOST, "by": who, "uri": uri, "cid": cid_of(uri),
                                   "indexedAt": ts(when)}}


def corpus(n: int, end, every, **kw) -> list[dict]:
    """n posts numbered 1..n, the newest at `end`."""
    return [post(i, end - (n - i) * every, **kw) for i in range(1, n + 1)]


def sort_at(item: dict) -> str:
    reason = item.get("reason")
    if reason:
        return reason["indexedAt"]
    p = item.get("post", item)
    return min(p["record"]["createdAt"], p["indexedAt"])


def _err(status: int, error: str, message: str, headers: dict | None = None) -> Response:
    return json_response({"error": error, "message": message}, status, headers)


class Bluesky:
    """The app: posts, author feeds and accounts in memory, served as PDS and AppView do."""

    def __init__(self, posts: list[dict] | None = None, login: str = "vigie.bsky.social",
                 password: str | None = None, followers: dict[str, int] | None = None):
        self.posts = list(posts or [])
        self.extra_feed: list[dict] = []     # reposts, shown in their reposter's feed
        self.login, self.password = login, password
        self.followers = followers or {}     # handle -> followersCount
        self.access: dict[str, bool] = {}    # access token -> still valid
        self.refresh: dict[str, bool] = {}
        self.sessions = 0

    def add(self, *posts: dict) -> None:
        self.posts += posts

    def expire(self) -> None:
        """Every access token issued so far expires (as after 2 hours)."""
        self.access = {k: False for k in self.access}

    # -- helpers
    def _headers(self) -> dict:
        return {"RateLimit-Limit": "3000", "RateLimit-Remaining": "2999",
                "RateLimit-Reset": str(int(time.time()) + 300), "RateLimit-Policy": "3000;w=300"}

    def _limit(self, req: Request, default: int) -> int | Response:
        try:
            limit = int(req.arg("limit", str(default)))
        except ValueError:
            return _err(400, "InvalidRequest", "limit must be an integer")
        if not 1 <= limit <= 100:
            return _err(400, "InvalidRequest", "limit can not be greater than 100")
        return limit

    def _tokens(self) -> dict:
        n = next(_tokens)
        access = f"eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFUzI1NksifQ.access{n:04d}x{self.sessions:03d}.c2lnbmF0dXJl"
        refresh = f"eyJ0eXAiOiJyZWZyZXNoK2p3dCIsImFsZyI6IkVTMjU2SyJ9.refresh{n:04d}.c2lnbmF0dXJl"
        self.access[access], self.refresh[refresh] = True, True
        return {"accessJwt": access, "refreshJwt": refresh, "handle": self.login,
                "did": did_of(self.login), "active": True}

    def _bearer(self, req: Request) -> str | None:
        h = req.headers.get("authorization", "")
        return h[7:] if h.startswith("Bearer ") else None

    def _author_matches(self, item: dict, actor: str) -> bool:
        who = item["reason"]["by"] if item.get("reason") else item["post"]["author"]
        return actor in (who.get("did"), who["handle"])

    # -- endpoints
    def __call__(self, req: Request) -> Response:
        resp = self._route(req)
        resp.headers = {**self._headers(), **resp.headers}
        return resp

    def _route(self, req: Request) -> Response:
        nsid = req.path.removeprefix("/xrpc/")
        if nsid == "com.atproto.server.createSession" and req.method == "POST":
            body = req.form()
            if body.get("identifier") != self.login or not self.password or body.get("password") != self.password:
                return _err(401, "AuthenticationRequired", "Invalid identifier or password")
            self.sessions += 1
            return json_response(self._tokens())
        if nsid == "com.atproto.server.refreshSession" and req.method == "POST":
            tok = self._bearer(req)
            if tok not in self.refresh:
                return _err(400, "InvalidToken", "Token could not be verified")
            if not self.refresh.pop(tok):
                return _err(400, "ExpiredToken", "Token has been revoked")
            return json_response(self._tokens())
        if nsid == "app.bsky.feed.searchPosts":
            tok = self._bearer(req)
            if tok is None:
                return _err(401, "AuthenticationRequired", "Authentication Required")
            if tok not in self.access:
                return _err(401, "InvalidToken", "Bad token scope")
            if not self.access[tok]:
                return _err(400, "ExpiredToken", "Token has expired")
            return self._search(req)
        if nsid == "app.bsky.feed.getAuthorFeed":
            return self._author_feed(req)
        if nsid == "app.bsky.actor.getProfiles":
            actors = req.args("actors")
            if len(actors) > 25:
                return _err(400, "InvalidRequest", "Array too long (actors)")
            seen = {p["author"].get("did"): p["author"] for p in self.posts}
            seen.update({i["reason"]["by"]["did"]: i["reason"]["by"] for i in self.extra_feed})
            out = []
            for a in actors:
                who = next((w for w in seen.values() if a in (w.get("did"), w["handle"])), None)
                if who:
                    out.append({**who, "description": "", "followersCount": self.followers.get(who["handle"], 0),
                                "followsCount": 12, "postsCount": 40, "indexedAt": "2024-01-01T00:00:00.000Z"})
            return json_response({"profiles": out})
        return _err(501, "MethodNotImplemented", f"Method Not Implemented: {nsid}")

    def _search(self, req: Request) -> Response:
        q = (req.arg("q") or "").strip()
        if not q:
            return _err(400, "InvalidRequest", 'Error: Params must have the property "q"')
        limit = self._limit(req, 25)
        if isinstance(limit, Response):
            return limit
        if q.startswith("mentions:"):
            target = did_of(q.split(":", 1)[1].lstrip("@"))
            hits = [p for p in self.posts if any(f.get("did") == target for fc in p["record"].get("facets", [])
                                                   for f in fc["features"])]
        elif q.startswith("#"):
            tag = q[1:].lower()
            hits = [p for p in self.posts if any(f.get("tag", "").lower() == tag
                                                   for fc in p["record"].get("facets", []) for f in fc["features"])]
        else:
            phrase = q.strip('"').lower()
            hits = [p for p in self.posts if phrase in p["record"]["text"].lower()]
        if req.arg("since"):
            since = req.arg("since")
            hits = [p for p in hits if datetime.fromisoformat(sort_at(p).replace("Z", "+00:00"))
                    >= datetime.fromisoformat(since.replace("Z", "+00:00"))]
        hits.sort(key=lambda p: (sort_at(p), p["uri"]), reverse=True)
        try:
            offset = int(req.arg("cursor") or 0)
        except ValueError:
            return _err(400, "InvalidRequest", "malformed cursor")
        page = hits[offset:offset + limit]
        doc = {"hitsTotal": len(hits), "posts": page}
        if offset + limit < len(hits):
            doc["cursor"] = str(offset + limit)
        return json_response(doc)

    def _author_feed(self, req: Request) -> Response:
        actor = req.arg("actor")
        if not actor:
            return _err(400, "InvalidRequest", 'Error: Params must have the property "actor"')
        limit = self._limit(req, 50)
        if isinstance(limit, Response):
            return limit
        items = [{"post": p} for p in self.posts] + self.extra_feed
        items = [i for i in items if self._author_matches(i, actor)]
        if not items and not any(actor in (p["author"].get("did"), p["author"]["handle"]) for p in self.posts):
            return _err(400, "InvalidRequest", "Profile not found")
        if req.arg("filter") == "posts_no_replies":
            items = [i for i in items if i.get("reason") or "reply" not in i["post"]["record"]]
        for i in items:
            r = i["post"]["record"].get("reply")
            if r and not i.get("reason"):
                parent = next((p for p in self.posts if p["uri"] == r["parent"]["uri"]), None)
                if parent:
                    i["reply"] = {"root": {"$type": "app.bsky.feed.defs#postView", **parent},
                                  "parent": {"$type": "app.bsky.feed.defs#postView", **parent}}
        items.sort(key=lambda i: (sort_at(i), i["post"]["cid"]), reverse=True)
        cursor = req.arg("cursor")
        if cursor:
            at, _, cid = cursor.partition("::")
            items = [i for i in items if (sort_at(i), i["post"]["cid"]) < (at, cid)]
        page = items[:limit]
        doc = {"feed": page}
        if len(items) > limit:
            last = page[-1]
            doc["cursor"] = f"{sort_at(last)}::{last['post']['cid']}"
        return json_response(doc)
