"""Reddit's OAuth2 Data API, as it answers (reddit.com/dev/api, github.com/reddit-archive/reddit/wiki/OAuth2):

- POST /api/v1/access_token, HTTP basic auth client_id:client_secret, form grant_type=
  client_credentials (or password with username/password) -> {"access_token", "token_type":
  "bearer", "expires_in": 86400, "scope": "*"}; wrong client: 401 {"message": "Unauthorized",
  "error": 401}; wrong user password: 200 {"error": "invalid_grant"}.
- GET /search, /r/<sub>/search (restrict_sr), /r/<sub>/comments with `Authorization: bearer`:
  a Listing {"kind": "Listing", "data": {"after", "before", "dist", "modhash", "geo_filter",
  "children": [{"kind": "t3"|"t1", "data": {...}}]}}, newest first with sort=new, `limit` capped
  at 100 (default 25), `after`=<fullname>; search stops after `max_results` (Reddit: ~250).
- Every answer carries X-Ratelimit-Used/-Remaining/-Reset (seconds to the window's end);
  over the limit: 429 {"message": "Too Many Requests", "error": 429}.
- A bad or expired token: 401 {"message": "Unauthorized", "error": 401} with WWW-Authenticate.
- An unknown subreddit redirects (302) to /subreddits/search?q=<name>; a private one is
  403 {"reason": "private", "message": "Forbidden", "error": 403}.
The search syntax understood: `"phrase"`, word, `author:name`, `(a AND b)`, joined by ` OR `.
"""
from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime, timezone

from fakes.server import Request, Response, json_response

B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def b36(n: int) -> str:
    s = ""
    while True:
        n, r = divmod(n, 36)
        s = B36[r] + s
        if not n:
            return s


def _epoch(t: datetime) -> float:
    return float(int(t.astimezone(timezone.utc).timestamp()))


def link(n: int, created: datetime, *, sub: str = "brussels", title: str | None = None,
         selftext: str = "", author: str = "alice", score: int = 12, num_comments: int = 3,
         crosspost_parent: str | None = None) -> dict:
    """A submission (t3) as the API serialises it: the fields a client reads, and a few more."""
    pid = b36(10_000_000 + n)
    permalink = f"/r/{sub}/comments/{pid}/post_{n}/"
    data = {
        "approved_at_utc": None, "subreddit": sub, "selftext": selftext,
        "author_fullname": None if author == "[deleted]" else f"t2_{b36(5_000_000 + sum(map(ord, author)))}",
        "saved": False, "gilded": 0, "clicked": False,
        "title": title if title is not None else f"Post {n} : le Parlement bruxellois vote",
        "subreddit_name_prefixed": f"r/{sub}", "hidden": False, "downs": 0, "upvote_ratio": 0.93,
        "ups": score, "total_awards_received": 0, "score": score, "edited": False,
        "is_self": bool(selftext), "created": _epoch(created), "domain": f"self.{sub}",
        "subreddit_id": f"t5_{b36(90_000 + len(sub))}", "id": pid, "author": author,
        "num_comments": num_comments, "num_crossposts": n % 2, "over_18": False,
        "permalink": permalink, "url": f"https://www.reddit.com{permalink}",
        "subreddit_subscribers": 54321, "created_utc": _epoch(created), "view_count": None,
        "name": f"t3_{pid}", "link_flair_text": None, "stickied": False, "locked": False,
    }
    if crosspost_parent:
        data["crosspost_parent"] = crosspost_parent
        data["crosspost_parent_list"] = []
    return {"kind": "t3", "data": data}


def comment(n: int, created: datetime, parent: dict, *, body: str | None = None, author: str = "bob",
            reply_to: dict | None = None, score: int = 2) -> dict:
    """A comment (t1) as /r/<sub>/comments lists it (with its submission's link_* fields)."""
    p = parent["data"]
    cid = b36(20_000_000 + n)
    return {"kind": "t1", "data": {
        "subreddit_id": p["subreddit_id"], "link_title": p["title"], "subreddit": p["subreddit"],
        "link_author": p["author"], "replies": "", "id": cid, "author": author,
        "author_fullname": f"t2_{b36(5_000_000 + sum(map(ord, author)))}",
        "parent_id": reply_to["data"]["name"] if reply_to else p["name"], "link_id": p["name"],
        "score": score, "ups": score, "downs": 0, "body": body if body is not None else f"Commentaire {n}",
        "edited": False, "name": f"t1_{cid}", "is_submitter": False, "num_comments": p["num_comments"],
        "link_permalink": p["url"], "permalink": f"{p['permalink']}{cid}/", "stickied": False,
        "created": _epoch(created), "created_utc": _epoch(created), "link_url": p["url"],
        "controversiality": 0, "over_18": False, "subreddit_name_prefixed": p["subreddit_name_prefixed"],
    }}


def corpus(n: int, end, every, **kw) -> list[dict]:
    """n submissions, 1..n, the newest at `end`."""
    return [link(i, end - (n - i) * every, **kw) for i in range(1, n + 1)]


def _split_top(q: str, sep: str) -> list[str]:
    out, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(q):
        c = q[i]
        if c == '"':
            quoted = not quoted
        elif not quoted and c == "(":
            depth += 1
        elif not quoted and c == ")":
            depth -= 1
        elif not quoted and depth == 0 and q.startswith(sep, i):
            out.append(q[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    out.append(q[start:])
    return [p.strip() for p in out]


def matches(q: str, d: dict) -> bool:
    text = f"{d.get('title', '')} {d.get('selftext', '')}".casefold()
    for part in _split_top(q, " OR "):
        part = part[1:-1] if part.startswith("(") and part.endswith(")") else part
        ok = True
        for atom in _split_top(part, " AND "):
            if atom.startswith("author:"):
                ok = ok and d.get("author", "").casefold() == atom[7:].casefold()
            else:
                ok = ok and re.search(r"(?<!\w)" + re.escape(atom.strip('"').casefold()) + r"(?!\w)", text) is not None
        if ok:
            return True
    return False


class Reddit:
    """The app: submissions and comments in memory, served like oauth.reddit.com would."""

    def __init__(self, links=(), comments=(), *, client_id: str = "vigie-client-id",
                 client_secret: str = "reddit-client-secret-0123456789", users: dict | None = None,
                 max_results: int = 250, private=(), limit_per_window: int = 1000):
        self.links, self.comments = list(links), list(comments)
        self.client_id, self.client_secret = client_id, client_secret
        self.users = users or {}
        self.tokens: dict[str, str] = {}   # token -> grant
        self.issued: list[str] = []
        self.max_results = max_results
        self.private = set(private)
        self.used, self.limit_per_window = 0, limit_per_window
        self.repeat_last = False            # a page that starts with the last item of the one before
        self.subs = {c["data"]["subreddit"].lower() for c in self.links} | {"brussels", "belgium"}

    def add(self, *things: dict) -> None:
        for t in things:
            (self.links if t["kind"] == "t3" else self.comments).append(t)
            self.subs.add(t["data"]["subreddit"].lower())

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def _headers(self) -> dict:
        self.used += 1
        return {"x-ratelimit-used": str(self.used),
                "x-ratelimit-remaining": f"{max(0, self.limit_per_window - self.used):.1f}",
                "x-ratelimit-reset": "412"}

    def _token(self, req: Request) -> Response:
        auth = req.headers.get("authorization", "")
        try:
            cid, _, secret = base64.b64decode(auth.split(" ", 1)[1]).decode().partition(":")
        except (IndexError, ValueError):
            cid = secret = None
        if not auth.lower().startswith("basic ") or (cid, secret) != (self.client_id, self.client_secret):
            return json_response({"message": "Unauthorized", "error": 401}, 401)
        form = req.form()
        grant = form.get("grant_type")
        if grant == "password":
            if self.users.get(form.get("username")) != form.get("password"):
                return json_response({"error": "invalid_grant"})
        elif grant != "client_credentials":
            return json_response({"error": "unsupported_grant_type"})
        token = ("-" if grant == "client_credentials" else "") + secrets.token_urlsafe(24)
        self.tokens[token] = grant
        self.issued.append(token)
        return json_response({"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"})

    def _listing(self, req: Request, items: list[dict], cap: int) -> Response:
        try:
            limit = max(1, min(int(req.arg("limit", "25")), 100))
        except ValueError:
            limit = 25
        items = sorted(items, key=lambda c: (c["data"].get("created_utc") or 0, c["data"]["name"]), reverse=True)[:cap]
        start = 0
        after = req.arg("after")
        if after:
            names = [c["data"]["name"] for c in items]
            start = names.index(after) + 1 if after in names else len(items)
        page = items[start:start + limit]
        if self.repeat_last and start:
            page = [items[start - 1]] + page
        more = start + limit < len(items)
        return json_response({"kind": "Listing", "data": {
            "after": page[-1]["data"]["name"] if page and more else None, "dist": len(page),
            "modhash": None, "geo_filter": "", "children": page, "before": None}}, headers=self._headers())

    def __call__(self, req: Request) -> Response:
        if req.path == "/api/v1/access_token" and req.method == "POST":
            return self._token(req)
        ua = req.headers.get("user-agent", "")
        if not ua or ua.startswith("python-requests"):
            return json_response({"message": "Too Many Requests", "error": 429}, 429, self._headers())
        auth = req.headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or auth.split(" ", 1)[1] not in self.tokens:
            return json_response({"message": "Unauthorized", "error": 401}, 401,
                                 {**self._headers(), "WWW-Authenticate": 'Bearer realm="reddit", error="invalid_token"'})
        m = re.fullmatch(r"(?:/r/([^/]+))?/(search|comments)(?:\.json)?", req.path)
        if req.path == "/subreddits/search":
            return json_response({"kind": "Listing", "data": {"after": None, "dist": 0, "modhash": None,
                                                              "geo_filter": "", "children": [], "before": None}},
                                 headers=self._headers())
        if not m or (m.group(2) == "comments" and not m.group(1)):
            return json_response({"message": "Not Found", "error": 404}, 404, self._headers())
        sub = m.group(1)
        if sub and sub.lower() in self.private:
            return json_response({"reason": "private", "message": "Forbidden", "error": 403}, 403, self._headers())
        if sub and sub.lower() not in self.subs:
            return Response(302, b"", {"Location": f"/subreddits/search?q={sub}", **self._headers()})
        if m.group(2) == "comments":
            return self._listing(req, [c for c in self.comments if c["data"]["subreddit"].lower() == sub.lower()], 1000)
        q = req.arg("q") or ""
        if len(q) > 512:
            return json_response({"message": "Bad Request", "error": 400}, 400, self._headers())
        restrict = sub and req.arg("restrict_sr") in ("1", "on", "true")
        hits = [c for c in self.links if matches(q, c["data"])
                and (not restrict or c["data"]["subreddit"].lower() == sub.lower())]
        return self._listing(req, hits, self.max_results)
