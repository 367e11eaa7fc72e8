"""Mastodon: hashtag timelines of the configured instances, statuses of watched accounts, and
full-text search of the topic's watch compiled to Mastodon's syntax (`queries_compile`) where a
token is given (REST API v1/v2, plain HTTP).

Status ids are local to each instance, so a post's native id is `<instance host>/<status id>`;
authors are their full `user@domain`, the same on every instance. Pagination follows the
`Link: <…max_id=…>; rel="next"` header, newest first.

Connection `vigie_mastodon` (optional): password = an access token of an application on your
home instance (scope `read`), needed for search; public timelines need none.
"""
from __future__ import annotations

from urllib.parse import quote, urlsplit

from pydantic import Field

from listening.queries_compile import compile_topic
from listening.sources.base import BadRecord, Creds, Page, Query, SourceOptions, utc

NAME = "mastodon"
CONNECTION = "vigie_mastodon"
REQUIRES_CREDENTIALS = False
PAGE = 40


class Options(SourceOptions):
    # instances whose hashtag timelines are read (each sees the posts its users follow)
    instances: list[str] = Field(default_factory=lambda: ["https://mastodon.social"])
    # full-text search of the topics' keywords on the first instance (needs the token)
    search: bool = True


def _instances(options: Options) -> list[str]:
    return [options.base_url] if options.base_url else [i.rstrip("/") for i in options.instances]


def queries(watchlists, options: Options, creds: Creds | None) -> list[Query]:
    out = []
    instances = _instances(options)
    for topic in watchlists.topics:
        for inst in instances:
            for h in topic.hashtags:
                out.append(Query(topic.name, "hashtag", h.lstrip("#").lower(), (("instance", inst),)))
        for acct in topic.accounts:
            parts = acct.lstrip("@").split("@")
            if len(parts) == 2:  # user@domain: asked of its home instance
                home = options.base_url or f"https://{parts[1]}"
                out.append(Query(topic.name, "account", acct.lstrip("@"), (("instance", home),)))
            else:  # a bare handle: the local account of each configured instance
                out += [Query(topic.name, "account", parts[0], (("instance", i),)) for i in instances]
        if creds and creds.password and options.search and instances:
            # the topic's watch in Mastodon's search syntax (queries_compile); hashtags are read
            # from their timelines above, which see more than search does
            for q in compile_topic(topic, NAME).requests:
                if not q.startswith("#"):
                    out.append(Query(topic.name, "search", q, (("instance", instances[0]),)))
    return out


def fetch(client, query: Query, since, options: Options, creds: Creds | None):
    base = query.param("instance").rstrip("/")
    host = urlsplit(base).netloc
    headers = {"Authorization": f"Bearer {creds.password}"} if creds and creds.password else {}
    limit = min(options.page_size or PAGE, PAGE)
    params: dict | None = {"limit": limit}
    if query.kind == "hashtag":
        url = f"{base}/api/v1/timelines/tag/{quote(query.value)}"
    elif query.kind == "account":
        r = client.request("GET", f"{base}/api/v1/accounts/lookup", params={"acct": query.value},
                           headers=headers, ok=(200, 404))
        if r.status_code == 404:
            import logging

            logging.getLogger(__name__).warning("%s: no account %s on this instance", base, query.value)
            return
        url = f"{base}/api/v1/accounts/{r.json()['id']}/statuses"
    else:
        url = f"{base}/api/v2/search"
        params.update({"q": query.value, "type": "statuses", "resolve": "false"})
    while url:
        doc, r = client.get_json(url, params=params, headers=headers,
                                 expect=dict if query.kind == "search" else list)
        statuses = doc.get("statuses", []) if query.kind == "search" else doc
        if not statuses:
            return
        yield Page(statuses, client.describe("GET", url, params), {"host": host})
        times = []
        for s in statuses:
            try:
                times.append(utc(s["created_at"]))
            except (KeyError, TypeError, ValueError, AttributeError):
                pass
        if times and min(times) < since:
            return
        if query.kind == "search":
            params = {**params, "max_id": statuses[-1].get("id")}
        else:
            url, params = r.links.get("next", {}).get("url"), None


def to_post(s: dict, page: Page) -> dict:
    host = page.context["host"]
    if not isinstance(s, dict) or not s.get("id") or not isinstance(s.get("account"), dict):
        raise BadRecord("mastodon_status", "a status needs an id and an account")
    acct = s["account"].get("acct")
    if not acct:
        raise BadRecord("mastodon_account", f"status {s['id']}: account without acct")
    if "@" not in acct:
        acct = f"{acct}@{host}"
    shown = s.get("reblog") if isinstance(s.get("reblog"), dict) else s
    text = shown.get("content") or ""
    if shown.get("spoiler_text"):
        text = f"{shown['spoiler_text']} {text}"

    def local(i):
        return f"{host}/{i}" if i else None

    return {
        "platform": NAME,
        "id": local(s["id"]),
        "created_at": s.get("created_at"),
        "author_id": acct,
        "author_handle": f"@{acct}",
        "author_followers": s["account"].get("followers_count"),
        "text": text,
        "lang": s.get("language") or shown.get("language"),
        "url": s.get("url") or s.get("uri"),
        "reply_to": s.get("in_reply_to_id") and local(s["in_reply_to_id"]),
        "repost_of": local(s["reblog"]["id"]) if shown is not s else None,
        "quote_of": local((s.get("quote") or {}).get("quoted_status", {}).get("id"))
        if isinstance(s.get("quote"), dict) and isinstance(s["quote"].get("quoted_status"), dict) else None,
        "like_count": s.get("favourites_count") or 0,
        "repost_count": s.get("reblogs_count") or 0,
        "reply_count": s.get("replies_count") or 0,
        "quote_count": s.get("quotes_count") or 0,
        "original": s,
    }
