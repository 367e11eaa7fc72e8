"""A Mastodon instance, as its REST API answers (docs.joinmastodon.org/methods/timelines,
/methods/accounts, /methods/search): Status and Account entities, newest first, `limit`
capped at 40, `max_id`/`since_id`/`min_id`, and the `Link` header with rel="next"/"prev".
Errors have the API's shape: {"error": "..."}.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fakes.server import Request, Response, json_response


def status(n: int, created: datetime, *, user: str = "alice", tags=("parlbxl",), text: str | None = None,
           followers: int = 120, remote: str | None = None, reply_to: int | None = None,
           reblog: dict | None = None, lang: str = "fr") -> dict:
    """A Status entity as Mastodon 4.x serialises it (the fields a client reads, and a few more)."""
    acct = f"{user}@{remote}" if remote else user
    content = text or f"<p>Post {n} sur le Parlement bruxellois " + " ".join(
        f'<a href="https://fake.social/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>'
        for t in tags) + "</p>"
    return {
        "id": str(n),
        "created_at": created.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "in_reply_to_id": str(reply_to) if reply_to else None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": lang,
        "uri": f"https://fake.social/users/{user}/statuses/{n}",
        "url": f"https://fake.social/@{user}/{n}",
        "replies_count": n % 3,
        "reblogs_count": n % 5,
        "favourites_count": n % 7,
        "quotes_count": 0,
        "edited_at": None,
        "content": content,
        "reblog": reblog,
        "application": None,
        "account": {
            "id": str(1000 + sum(map(ord, acct))),
            "username": user,
            "acct": acct,
            "display_name": user.title(),
            "locked": False,
            "bot": False,
            "created_at": "2020-01-01T00:00:00.000Z",
            "note": "",
            "url": f"https://fake.social/@{user}",
            "followers_count": followers,
            "following_count": 10,
            "statuses_count": 100,
        },
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": t, "url": f"https://fake.social/tags/{t}"} for t in tags],
        "emojis": [],
        "card": None,
        "poll": None,
    }


def corpus(n: int, end: datetime, every: timedelta = timedelta(minutes=3), **kw) -> list[dict]:
    """n statuses, ids 1..n, the newest at `end`."""
    return [status(i, end - (n - i) * every, **kw) for i in range(1, n + 1)]


class Mastodon:
    """The app: statuses held in memory, served like an instance would."""

    def __init__(self, statuses: list[dict] | None = None, token: str | None = None):
        self.statuses = list(statuses or [])
        self.token = token
        self.url = ""  # set by the test once the server listens (for Link headers)

    def add(self, *statuses: dict) -> None:
        self.statuses += statuses

    def _page(self, req: Request, items: list[dict], path: str) -> Response:
        try:
            limit = min(int(req.arg("limit", "20")), 40)
        except ValueError:
            return json_response({"error": "limit must be an integer"}, 422)
        items = sorted(items, key=lambda s: int(s["id"]), reverse=True)
        if req.arg("max_id"):
            items = [s for s in items if int(s["id"]) < int(req.arg("max_id"))]
        for bound in ("since_id", "min_id"):
            if req.arg(bound):
                items = [s for s in items if int(s["id"]) > int(req.arg(bound))]
        page = items[:limit]
        headers = {}
        if page:
            headers["Link"] = (f'<{self.url}{path}?limit={limit}&max_id={page[-1]["id"]}>; rel="next", '
                               f'<{self.url}{path}?limit={limit}&min_id={page[0]["id"]}>; rel="prev"')
        return json_response(page, headers=headers)

    def __call__(self, req: Request) -> Response:
        authed = self.token and req.headers.get("authorization") == f"Bearer {self.token}"
        if req.path.startswith("/api/v1/timelines/tag/"):
            tag = req.path.rsplit("/", 1)[1].lower()
            return self._page(req, [s for s in self.statuses if any(t["name"].lower() == tag for t in s["tags"])],
                              req.path)
        if req.path == "/api/v1/accounts/lookup":
            acct = req.arg("acct", "")
            for s in self.statuses:
                if s["account"]["acct"] == acct:
                    return json_response(s["account"])
            return json_response({"error": "Record not found"}, 404)
        if req.path.startswith("/api/v1/accounts/") and req.path.endswith("/statuses"):
            aid = req.path.split("/")[4]
            return self._page(req, [s for s in self.statuses if s["account"]["id"] == aid], req.path)
        if req.path.startswith("/api/v1/statuses/"):
            sid = req.path.rsplit("/", 1)[1]
            for s in self.statuses:
                if s["id"] == sid:
                    return json_response(s)
            return json_response({"error": "Record not found"}, 404)
        if req.path == "/api/v2/search":
            if not authed:
                return json_response({"error": "The access token is invalid"}, 401)
            q = (req.arg("q") or "").strip('"').lower()  # a phrase, as the compiled watch sends them
            hits = [s for s in self.statuses if q in s["content"].lower()]
            resp = self._page(req, hits, req.path)
            resp.body = {"accounts": [], "statuses": resp.body, "hashtags": []}
            resp.headers = {}
            return resp
        return json_response({"error": "Not Found"}, 404)
