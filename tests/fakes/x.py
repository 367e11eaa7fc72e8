"""The X API v2 recent search, as it answers (docs.x.com: "Search Posts", "Fields", "Expansions",
"Rate limits", "Response codes and errors"):

- GET /2/tweets/search/recent, app-only auth (`Authorization: Bearer …`), posts of the last
  7 days only (`start_time` older is a 400), newest first;
- `query` of at most 512 characters, in X's syntax (words, "phrases", #tags, @mentions,
  from:, lang:, is:retweet, `-` negation, OR, parentheses, space as AND);
- `max_results` 10..100, opaque `next_token` in `meta` and as a parameter;
- only the default fields (id, text, edit_history_tweet_ids) unless `tweet.fields` /
  `user.fields` ask for more; `expansions=author_id,referenced_tweets.id` fill `includes`;
  a referenced post that is gone is a partial error in `errors`, beside the data;
- `{"meta": {"result_count": 0}}` when nothing matches;
- errors as problem objects ({"title", "detail", "type", "status"}, with `errors` for invalid
  requests); `x-rate-limit-limit/-remaining/-reset` (epoch seconds) on every answer.
"""
from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime, timedelta, timezone

from fakes.server import Request, Response, json_response

EPOCH_ID = 1_860_000_000_000_000_000   # snowflake-sized ids, increasing with time
DEFAULT_TWEET = ("id", "text", "edit_history_tweet_ids")
DEFAULT_USER = ("id", "name", "username")
LIMIT = 450


def iso_ms(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def user(username: str, followers: int = 120, verified: bool = False) -> dict:
    uid = str(10_000 + int(hashlib.sha1(username.encode()).hexdigest()[:6], 16))
    return {
        "id": uid, "name": username.title(), "username": username, "verified": verified,
        "protected": False, "created_at": "2015-03-01T10:00:00.000Z", "description": "",
        "public_metrics": {"followers_count": followers, "following_count": 80, "tweet_count": 4000,
                           "listed_count": 12, "like_count": 900, "media_count": 40},
    }


def tweet(n: int, created: datetime, author: dict, text: str | None = None, *, lang: str = "fr",
          reply_to: dict | None = None, quote_of: dict | None = None, retweet_of: dict | None = None,
          long_text: str | None = None) -> dict:
    """A Post object with every field X can return (the server keeps only those asked for)."""
    tid = str(EPOCH_ID + n)
    if retweet_of is not None:
        orig_author = retweet_of["_author"]
        text = f"RT @{orig_author['username']}: {retweet_of['text']}"[:140] + "…"
    text = text or f"Post {n} sur le Parlement bruxellois #ParlBXL"
    if long_text:
        text = long_text[:280]
    refs = []
    if reply_to:
        refs.append({"type": "replied_to", "id": reply_to["id"]})
    if quote_of:
        refs.append({"type": "quoted", "id": quote_of["id"]})
    if retweet_of:
        refs.append({"type": "retweeted", "id": retweet_of["id"]})
    t = {
        "id": tid,
        "text": text,
        "edit_history_tweet_ids": [tid],
        "created_at": iso_ms(created),
        "author_id": author["id"],
        "conversation_id": reply_to["conversation_id"] if reply_to else tid,
        "lang": lang,
        "possibly_sensitive": False,
        "public_metrics": {"retweet_count": n % 5, "reply_count": n % 3, "like_count": n % 7,
                           "quote_count": n % 2, "bookmark_count": n % 4, "impression_count": 100 + n},
        "entities": _entities(text),
        "_author": author,  # the fake's own bookkeeping, never served
    }
    if retweet_of is not None:
        t["public_metrics"] = {**retweet_of["public_metrics"], "like_count": 0, "bookmark_count": 0,
                               "impression_count": 0}
    if refs:
        t["referenced_tweets"] = refs
    if reply_to:
        t["in_reply_to_user_id"] = reply_to["author_id"]
    if long_text:
        t["note_tweet"] = {"text": long_text, "entities": _entities(long_text)}
    return t


def _entities(text: str) -> dict:
    ents = {}
    tags = [{"start": m.start(), "end": m.end(), "tag": m.group(1)} for m in re.finditer(r"#(\w+)", text)]
    mentions = [{"start": m.start(), "end": m.end(), "username": m.group(1),
                 "id": user(m.group(1))["id"]} for m in re.finditer(r"@(\w{1,15})", text)]
    if tags:
        ents["hashtags"] = tags
    if mentions:
        ents["mentions"] = mentions
    return ents


def corpus(n: int, end: datetime, every: timedelta = timedelta(minutes=3)) -> list[dict]:
    """n posts, ids EPOCH_ID+1..+n, the newest at `end`: several authors and languages, a
    reply, a quote, a retweet of a post in the corpus and a long post."""
    alice, bob, parl = user("alice", 120), user("bob_nl", 4500), user("parlbxl", 25_000, True)
    out: list[dict] = []
    for i in range(1, n + 1):
        created = end - (n - i) * every
        if i % 10 == 4 and out:
            t = tweet(i, created, bob, f"@parlbxl wanneer stemt het Brussels Hoofdstedelijk Parlement? #{i}",
                      lang="nl", reply_to=out[-1])
        elif i % 10 == 7 and out:
            t = tweet(i, created, alice, f"Relisez ceci, Parlement bruxellois {i}", quote_of=out[-2])
        elif i % 10 == 9 and len(out) > 3:
            t = tweet(i, created, parl, retweet_of=out[-3])
        elif i == 2:
            t = tweet(i, created, parl, lang="en",
                      long_text="The Brussels Parliament " + "debates the regional budget " * 12 + "#ParlBXL")
        else:
            t = tweet(i, created, [alice, parl][i % 2], lang=["fr", "en"][i % 3 == 0])
        out.append(t)
    return out


# ---- the query language, as far as Vigie uses it ------------------------------------------

TOKEN_RE = re.compile(r'\(|\)|-?"[^"]*"|-?[^\s()"]+')


class BadQuery(ValueError):
    pass


def parse(q: str):
    tokens = TOKEN_RE.findall(q)
    if "".join(tokens).replace(" ", "") != re.sub(r"\s+", "", q):
        raise BadQuery("unbalanced quotes")
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def or_expr():
        nonlocal pos
        parts = [and_expr()]
        while peek() == "OR":
            pos += 1
            parts.append(and_expr())
        return ("or", parts) if len(parts) > 1 else parts[0]

    def and_expr():
        parts = []
        while peek() not in (None, ")", "OR"):
            parts.append(atom())
        if not parts:
            raise BadQuery(f"nothing to search at token {pos}")
        return ("and", parts) if len(parts) > 1 else parts[0]

    def atom():
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            node = or_expr()
            if peek() != ")":
                raise BadQuery("missing )")
            pos += 1
            return node
        if tok.startswith("-") and len(tok) > 1:
            return ("not", term(tok[1:]))
        return term(tok)

    def term(tok: str):
        if tok.startswith('"'):
            return ("phrase", tok.strip('"').lower())
        for op in ("from:", "lang:", "is:"):
            if tok.startswith(op):
                return (op[:-1], tok[len(op):].lower())
        if tok.startswith("#"):
            return ("tag", tok[1:].lower())
        if tok.startswith("@"):
            return ("mention", tok[1:].lower())
        if ":" in tok:
            raise BadQuery(f"unknown operator {tok}")
        return ("phrase", tok.lower())

    node = or_expr()
    if pos != len(tokens):
        raise BadQuery(f"unexpected {tokens[pos]!r}")
    return node


def matches(node, t: dict) -> bool:
    kind, arg = node
    if kind == "or":
        return any(matches(c, t) for c in arg)
    if kind == "and":
        return all(matches(c, t) for c in arg)
    if kind == "not":
        return not matches(arg, t)
    ents = t.get("entities", {})
    if kind == "phrase":  # X searches the whole text of a long post
        text = (t.get("note_tweet") or {}).get("text") or t["text"]
        return re.search(r"(?<!\w)" + re.escape(arg) + r"(?!\w)", text.lower()) is not None
    if kind == "tag":
        return any(h["tag"].lower() == arg for h in ents.get("hashtags", []))
    if kind == "mention":
        return any(m["username"].lower() == arg for m in ents.get("mentions", []))
    if kind == "from":
        return t["_author"]["username"].lower() == arg
    if kind == "lang":
        return t.get("lang") == arg
    if kind == "is":
        return arg == "retweet" and any(r["type"] == "retweeted" for r in t.get("referenced_tweets", []))
    return False


# ---- the app ------------------------------------------------------------------------------

def problem(status: int, title: str, detail: str, type_: str = "about:blank", **extra) -> dict:
    return {"title": title, "detail": detail, "type": type_, "status": status, **extra}


def invalid(message: str, **parameters) -> Response:
    return json_response({
        "errors": [{"parameters": {k: [v] for k, v in parameters.items()}, "message": message}],
        "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request"}, 400)


class X:
    """The app: posts held in memory, served like api.x.com would."""

    def __init__(self, tweets: list[dict] | None = None, token: str | None = None, max_query: int = 512):
        self.tweets = list(tweets or [])
        self.token = token
        self.max_query = max_query
        self.tokens: dict[str, tuple] = {}   # next_token -> (query, start_time, offset)
        self.window = int(time.time()) // 900 * 900
        self.used = 0
        self.hide: set[str] = set()          # ids answered as deleted when referenced
        self.queries: list[str] = []

    def add(self, *tweets: dict) -> None:
        self.tweets += tweets

    def rate_headers(self) -> dict:
        now = int(time.time())
        if now >= self.window + 900:
            self.window, self.used = now // 900 * 900, 0
        self.used += 1
        return {"x-rate-limit-limit": str(LIMIT), "x-rate-limit-remaining": str(max(0, LIMIT - self.used)),
                "x-rate-limit-reset": str(self.window + 900)}

    @staticmethod
    def _project(obj: dict, default: tuple, asked: str | None) -> dict:
        keep = set(default) | set(filter(None, (asked or "").split(",")))
        return {k: v for k, v in obj.items() if k in keep and not k.startswith("_")}

    def __call__(self, req: Request) -> Response:
        headers = self.rate_headers()

        def answer(doc, status=200):
            return json_response(doc, status, headers)

        if req.path != "/2/tweets/search/recent":
            return answer(problem(404, "Not Found Error", f"Could not find path {req.path}",
                                  "https://api.twitter.com/2/problems/resource-not-found"), 404)
        if not self.token or req.headers.get("authorization") != f"Bearer {self.token}":
            return answer(problem(401, "Unauthorized", "Unauthorized"), 401)
        q = req.arg("query")
        if not q or len(q) > self.max_query:
            return invalid(f"Query must be between 1 and {self.max_query} characters long", query=q or "")
        try:
            node = parse(q)
        except BadQuery as e:
            return invalid(f"There were errors processing your request: {e}", query=q)
        try:
            size = int(req.arg("max_results", "10"))
        except ValueError:
            size = -1
        if not 10 <= size <= 100:
            return invalid(f"The `max_results` query parameter value [{req.arg('max_results')}] is not "
                           f"between 10 and 100", max_results=req.arg("max_results"))
        oldest = datetime.now(timezone.utc) - timedelta(days=7)
        start = req.arg("start_time")
        if start is not None:
            if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", start):
                return invalid(f"Invalid 'start_time':'{start}'. 'start_time' must be a date in "
                               f"YYYY-MM-DDTHH:mm:ssZ format", start_time=start)
            start_t = datetime.fromisoformat(start.replace("Z", "+00:00"))
            if start_t < oldest:
                return invalid(f"Invalid 'start_time':'{start}'. 'start_time' must be on or after "
                               f"{oldest.strftime('%Y-%m-%dT%H:%MZ')}", start_time=start)
        else:
            start_t = oldest
        offset = 0
        tok = req.arg("next_token")
        if tok is not None:
            if tok not in self.tokens or self.tokens[tok][:2] != (q, start):
                return invalid(f"The `next_token` query parameter value [{tok}] is not valid for this "
                               f"request", next_token=tok)
            offset = self.tokens[tok][2]
        self.queries.append(q)
        hits = [t for t in self.tweets
                if datetime.fromisoformat(t["created_at"].replace("Z", "+00:00")) >= max(start_t, oldest)
                and matches(node, t)]
        hits.sort(key=lambda t: int(t["id"]), reverse=True)
        page = hits[offset:offset + size]
        if not page:
            return answer({"meta": {"result_count": 0}})
        fields, ufields = req.arg("tweet.fields"), req.arg("user.fields")
        expansions = set((req.arg("expansions") or "").split(","))
        doc: dict = {"data": [self._project(t, DEFAULT_TWEET, fields) for t in page]}
        includes: dict = {}
        errors = []
        if "author_id" in expansions:
            seen = {}
            for t in page:
                seen.setdefault(t["_author"]["id"], t["_author"])
            includes["users"] = [self._project(u, DEFAULT_USER, ufields) for u in seen.values()]
        if "referenced_tweets.id" in expansions:
            by_id = {t["id"]: t for t in self.tweets}
            refs = []
            for t in page:
                for r in t.get("referenced_tweets", []):
                    if r["id"] in [x["id"] for x in refs]:
                        continue
                    found = by_id.get(r["id"])
                    if found is None or r["id"] in self.hide:
                        errors.append({
                            "value": r["id"], "detail": f"Could not find tweet with referenced_tweets.id: "
                                                        f"[{r['id']}].",
                            "title": "Not Found Error", "resource_type": "tweet",
                            "parameter": "referenced_tweets.id", "resource_id": r["id"],
                            "type": "https://api.twitter.com/2/problems/resource-not-found"})
                    else:
                        refs.append(found)
            if refs:
                includes["tweets"] = [self._project(t, DEFAULT_TWEET, fields) for t in refs]
        if includes:
            doc["includes"] = includes
        if errors:
            doc["errors"] = errors
        meta = {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"], "result_count": len(page)}
        if offset + size < len(hits):
            nxt = hashlib.sha1(f"{q}|{start}|{offset + size}".encode()).hexdigest()[:32]
            self.tokens[nxt] = (q, start, offset + size)
            meta["next_token"] = nxt
        doc["meta"] = meta
        return answer(doc)
