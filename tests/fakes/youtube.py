"""The YouTube Data API v3, as it answers (developers.google.com/youtube/v3/docs: channels.list,
playlistItems.list, search.list, commentThreads.list): `youtube#…ListResponse` envelopes with
`etag`, `pageInfo` and an opaque `nextPageToken`; commentThread and comment resources; the
`key` query parameter; Google's error body {"error": {"code", "message", "errors": [{"message",
"domain", "reason"}], "status"}}; and the quota, counted in units (search 100, the others 1),
answered with 403 quotaExceeded once spent.
"""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone

from fakes.server import Request, Response, json_response

PREFIX = "/youtube/v3"
COST = {"search": 100, "channels": 1, "playlistItems": 1, "commentThreads": 1}


def ts(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def etag(*parts) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:27]


def error(code: int, reason: str, message: str, domain: str = "global", status: str | None = None) -> Response:
    body = {"error": {"code": code, "message": message,
                      "errors": [{"message": message, "domain": domain, "reason": reason}]}}
    if status:
        body["error"]["status"] = status
    return json_response(body, code)


def comment(cid: str, video: str, created: datetime, *, author: str = "Alice", text: str | None = None,
            likes: int = 0, parent: str | None = None, channel: str = "UCowner000000000000000001",
            author_channel: str | None = None) -> dict:
    """A comment resource as commentThreads.list returns it with textFormat=plainText."""
    handle = "@" + author.lower().replace(" ", "")
    text = text if text is not None else f"Commentaire {cid} sur le Parlement bruxellois"
    snippet = {
        "channelId": channel,
        "videoId": video,
        "textDisplay": text,
        "textOriginal": text,
        "authorDisplayName": handle,
        "authorProfileImageUrl": f"https://yt3.ggpht.com/{cid}=s48-c-k-c0x00ffffff-no-rj",
        "authorChannelUrl": f"http://www.youtube.com/{handle}",
        "authorChannelId": {"value": author_channel or "UC" + hashlib.md5(author.encode()).hexdigest()[:22]},
        "canRate": True,
        "viewerRating": "none",
        "likeCount": likes,
        "publishedAt": ts(created),
        "updatedAt": ts(created),
    }
    if parent:
        snippet["parentId"] = parent
    return {"kind": "youtube#comment", "etag": etag(cid), "id": cid, "snippet": snippet}


def thread(n: int, video: str, created: datetime, *, replies: int = 0, author: str = "Alice",
           channel: str = "UCowner000000000000000001", **kw) -> dict:
    """A commentThread: a top-level comment and its first replies (one minute apart, after it)."""
    cid = f"Ug{video}{n:04d}AaABAg"
    top = comment(cid, video, created, author=author, likes=n % 7, channel=channel, **kw)
    t = {
        "kind": "youtube#commentThread",
        "etag": etag("t", cid),
        "id": cid,
        "snippet": {"channelId": channel, "videoId": video, "topLevelComment": top,
                    "canReply": True, "totalReplyCount": replies, "isPublic": True},
    }
    if replies:
        t["replies"] = {"comments": [
            comment(f"{cid}.{r:03d}R", video, created + timedelta(minutes=r + 1), author=f"Replier {r}",
                    likes=r, parent=cid, channel=channel, text=f"Réponse {r} à {cid}")
            for r in range(min(replies, 5))]}  # the API gives a thread's first replies only
    return t


def video(vid: str, published: datetime, *, channel: str = "UCowner000000000000000001",
          title: str = "Séance plénière", description: str = "", threads: list[dict] | None = None,
          comments_disabled: bool = False) -> dict:
    return {"id": vid, "channelId": channel, "title": title, "description": description,
            "publishedAt": ts(published), "threads": list(threads or []),
            "comments_disabled": comments_disabled}


def corpus(vid: str, n: int, end: datetime, every: timedelta = timedelta(minutes=7), replies_every: int = 0,
           **kw) -> list[dict]:
    """n threads on `vid`, numbered 1..n, the newest at `end`; every `replies_every`-th has two replies
    (posted after it, so possibly after `end`)."""
    return [thread(i, vid, end - (n - i) * every,
                   replies=2 if replies_every and i % replies_every == 0 else 0, **kw)
            for i in range(1, n + 1)]


def _token(vid: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"QURTSl9p:{vid}:{offset}".encode()).decode().rstrip("=")


def _untoken(token: str, vid: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        magic, v, off = raw.split(":")
        return int(off) if magic == "QURTSl9p" and v == vid else None
    except (ValueError, UnicodeDecodeError):
        return None


class YouTube:
    """The app: channels and videos in memory, served and charged like the API does."""

    def __init__(self, key: str, videos: list[dict] | None = None, channels: dict | None = None,
                 quota: int = 10_000):
        self.key = key
        self.videos = {v["id"]: v for v in (videos or [])}
        self.channels = dict(channels or {})  # channel id -> uploads playlist id
        self.quota = quota
        self.used = 0
        self.calls: dict[str, int] = {}

    def add_video(self, v: dict) -> None:
        self.videos[v["id"]] = v

    def add_threads(self, vid: str, *threads: dict) -> None:
        self.videos[vid]["threads"] += threads

    def _envelope(self, kind: str, items: list, per_page: int, total: int, token: str | None = None,
                  **extra) -> dict:
        doc = {"kind": kind, "etag": etag(kind, [i.get("id") for i in items]), **extra}
        if token:
            doc["nextPageToken"] = token
        doc["pageInfo"] = {"totalResults": total, "resultsPerPage": per_page}
        doc["items"] = items
        return doc

    def __call__(self, req: Request) -> Response:
        if not req.path.startswith(PREFIX + "/"):
            return error(404, "notFound", "Not Found")
        method = req.path[len(PREFIX) + 1:]
        key = req.arg("key")
        if not key:
            return error(403, "forbidden", "Method doesn't allow unregistered callers (callers without "
                         "established identity). Please use API Key or other form of API consumer "
                         "identity to call this API.", status="PERMISSION_DENIED")
        if key != self.key:
            return error(400, "badRequest", "API key not valid. Please pass a valid API key.",
                         status="INVALID_ARGUMENT")
        if method not in COST:
            return error(404, "notFound", "Not Found")
        if self.used + COST[method] > self.quota:
            return error(403, "quotaExceeded", 'The request cannot be completed because you have exceeded '
                         'your <a href="/youtube/v3/getting-started#quota">quota</a>.', domain="youtube.quota")
        if not req.arg("part"):
            return error(400, "required", "No filter selected. Expected one of: ...", domain="global")
        self.used += COST[method]
        self.calls[method] = self.calls.get(method, 0) + 1
        return getattr(self, "_" + method)(req)

    def _channels(self, req: Request) -> Response:
        ids = [i for i in (req.arg("id") or "").split(",") if i]
        items = [{"kind": "youtube#channel", "etag": etag("c", c), "id": c,
                  "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": self.channels[c]}}}
                 for c in ids if c in self.channels]
        return json_response(self._envelope("youtube#channelListResponse", items, 5, len(items)))

    def _playlistItems(self, req: Request) -> Response:
        pl = req.arg("playlistId")
        owner = next((c for c, p in self.channels.items() if p == pl), None)
        if owner is None:
            return error(404, "playlistNotFound", "The playlist identified with the request's "
                         "<code>playlistId</code> parameter cannot be found.", domain="youtube.playlistItem")
        limit = min(int(req.arg("maxResults", "5")), 50)
        vids = sorted((v for v in self.videos.values() if v["channelId"] == owner),
                      key=lambda v: v["publishedAt"], reverse=True)
        items = [{"kind": "youtube#playlistItem", "etag": etag("p", v["id"]),
                  "id": base64.b64encode(f"{pl}.{v['id']}".encode()).decode(),
                  "contentDetails": {"videoId": v["id"], "videoPublishedAt": v["publishedAt"]}}
                 for v in vids[:limit]]
        token = _token(pl, limit) if len(vids) > limit else None
        return json_response(self._envelope("youtube#playlistItemListResponse", items, limit, len(vids), token))

    def _search(self, req: Request) -> Response:
        if req.arg("type") != "video":
            return error(400, "invalidSearchFilter", "only type=video is served by this fake")
        terms = [t.strip().strip('"').lower() for t in (req.arg("q") or "").split("|") if t.strip()]
        after = req.arg("publishedAfter")
        limit = min(int(req.arg("maxResults", "5")), 50)
        hits = [v for v in self.videos.values()
                if any(t in f"{v['title']} {v['description']}".lower() for t in terms)
                and (not after or v["publishedAt"] > after)]
        hits.sort(key=lambda v: v["publishedAt"], reverse=True)
        items = [{"kind": "youtube#searchResult", "etag": etag("s", v["id"]),
                  "id": {"kind": "youtube#video", "videoId": v["id"]},
                  "snippet": {"publishedAt": v["publishedAt"], "channelId": v["channelId"], "title": v["title"],
                              "description": v["description"][:160], "thumbnails": {},
                              "channelTitle": "Chaîne", "liveBroadcastContent": "none",
                              "publishTime": v["publishedAt"]}}
                 for v in hits[:limit]]
        token = _token("search", limit) if len(hits) > limit else None
        return json_response(self._envelope("youtube#searchListResponse", items, limit, len(hits), token,
                                            regionCode="BE"))

    def _commentThreads(self, req: Request) -> Response:
        vid = req.arg("videoId")
        v = self.videos.get(vid)
        if v is None:
            return error(404, "videoNotFound", "The video identified by the <code><a href=\"/youtube/v3/docs/"
                         "commentThreads/list#videoId\">videoId</a></code> parameter could not be found.",
                         domain="youtube.commentThread")
        if v["comments_disabled"]:
            return error(403, "commentsDisabled", "The video identified by the <code><a href=\"/youtube/v3/"
                         "docs/commentThreads/list#videoId\">videoId</a></code> parameter has disabled "
                         "comments.", domain="youtube.commentThread")
        try:
            limit = int(req.arg("maxResults", "20"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            return error(400, "invalidParameter", "Invalid value for maxResults", domain="global")
        offset = 0
        if req.arg("pageToken"):
            offset = _untoken(req.arg("pageToken"), vid)
            if offset is None:
                return error(400, "invalidPageToken", "The request specifies an invalid page token.",
                             domain="youtube.commentThread")
        threads = sorted(v["threads"], key=lambda t: t["snippet"]["topLevelComment"]["snippet"]["publishedAt"],
                         reverse=True)
        page = threads[offset:offset + limit]
        token = _token(vid, offset + limit) if offset + limit < len(threads) else None
        return json_response(self._envelope("youtube#commentThreadListResponse", page, limit,
                                            len(page), token))
