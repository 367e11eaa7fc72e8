"""Mastodon: hashtag timelines of the configured instances, statuses of watched accounts, and
full-text search of the topic's watch compiled to Mastodon's syntax (`queries_compile`) where a
token is given (REST API v1/v2, plain HTTP).

Status ids are local to each instance, so a post's native id is its `uri` (the ActivityPub id,
the same on every instance: a post seen from two instances lands once); authors are their full
`user@domain`. A reply names its parent by a local id only: the parent's uri is taken from the
statuses the run has seen, and for the institution's own accounts (their replies are what the
response desk looks for) fetched with GET /api/v1/statuses/:id when unseen. Pagination follows
the `Link: <…max_id=…>; rel="next"` header, newest first.

Connection `vigie_mastodon` (optional): password = an access token of an application on your
home instance (scope `read`), needed for search; public timelines need none.
"""
from __future__ import annotations

from urllib.parse import quote, urlsplit

from pydantic import Field

from listening.queries_compile import compile_topic
from listening.sources.base import ALL, BadRecord, Creds, MalformedPage, Page, Query, SourceOptions, utc

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
    # the institution's own accounts, with their replies: the response desk sees the answers
    for acct in watchlists.institution.accounts.get(NAME, []) if watchlists.institution else []:
        parts = acct.lstrip("@").split("@")
        home = options.base_url or (f"https://{parts[1]}" if len(parts) == 2 else instances[0])
        out.append(Query(ALL, "account", acct.lstrip("@"), (("instance", home), ("own", "1"))))
    for topic in watchlists.topics:
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
        try:
            account = r.json()["id"]
        except (ValueError, KeyError, TypeError):
            raise MalformedPage("an account lookup without an account id", client.describe(
                "GET", f"{base}/api/v1/accounts/lookup", {"acct": query.value}), r.content[:2000]) from None
        url = f"{base}/api/v1/accounts/{account}/statuses"
    else:
        url = f"{base}/api/v2/search"
        params.update({"q": query.value, "type": "statuses", "resolve": "false"})
    uris: dict[str, str] = {}  # local id -> uri of the statuses seen, to name reply parents
    while url:
        doc, r = client.get_json(url, params=params, headers=headers,
                                 expect=dict if query.kind == "search" else list)
        statuses = doc.get("statuses", []) if query.kind == "search" else doc
        if not statuses:
            return
        for st in statuses:
            if isinstance(st, dict) and st.get("id") and st.get("uri"):
                uris[str(st["id"])] = st["uri"]
        if query.param("own"):
            _resolve_parents(client, base, headers, statuses, uris)
        yield Page(statuses, client.describe("GET", url, params), {"host": host, "uris": dict(uris)})
        times = []
        for s in statuses:
            try:
                times.append(utc(s["created_at"]))
            except (KeyError, TypeError, ValueError, AttributeError):
                pass
        if times and min(times) < since:
            return
        if query.kind == "search":
            last = statuses[-1].get("id") if isinstance(statuses[-1], dict) else None
            if not last:
                return
            params = {**params, "max_id": last}
        else:
            url, params = r.links.get("next", {}).get("url"), None


def _resolve_parents(client, base: str, headers: dict, statuses: list, uris: dict) -> None:
    """The uri of each parent the page's replies answer and the run has not seen."""
    for st in statuses:
        parent = st.get("in_reply_to_id") if isinstance(st, dict) else None
        if parent and str(parent) not in uris:
            r = client.request("GET", f"{base}/api/v1/statuses/{parent}", headers=headers, ok=(200, 404))
            if r.status_code == 200:
                try:
                    uris[str(parent)] = r.json()["uri"]
                except (ValueError, KeyError, TypeError):
                    pass


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

    uris = page.context.get("uris", {})

    def global_id(status) -> str | None:
        return status.get("uri") or (f"{host}/{status['id']}" if status.get("id") else None)

    return {
        "platform": NAME,
        "id": global_id(s),
        "created_at": s.get("created_at"),
        "author_id": acct,
        "author_handle": f"@{acct}",
        "author_followers": s["account"].get("followers_count"),
        "text": text,
        "lang": s.get("language") or shown.get("language"),
        "url": s.get("url") or s.get("uri"),
        # a parent the run has not seen stays unnamed (its local id is in `original`)
        "reply_to": uris.get(str(s["in_reply_to_id"])) if s.get("in_reply_to_id") else None,
        "repost_of": global_id(s["reblog"]) if shown is not s else None,
        "quote_of": global_id(s["quote"]["quoted_status"])
        if isinstance(s.get("quote"), dict) and isinstance(s["quote"].get("quoted_status"), dict) else None,
        "like_count": s.get("favourites_count") or 0,
        "repost_count": s.get("reblogs_count") or 0,
        "reply_count": s.get("replies_count") or 0,
        "quote_count": s.get("quotes_count") or 0,
        "original": s,
    }
