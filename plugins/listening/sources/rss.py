"""RSS and Atom feeds: news sites, blogs, press releases, and Google Alerts (how many small teams
listen to the web). Each configured feed is fetched whole with one GET (RSS 0.9x/1.0/2.0, Atom
0.3/1.0, read by feedparser); a feed that links a next page (RFC 5005 `rel="next"`) is followed
while its entries are newer than the cursor. No credentials, no documented rate limit: hourly
polling is what feed readers do; a 429 or 503 with Retry-After is honoured by the shared client.

A feed without `topics` serves every topic: it is fetched once per run (topic `all`) and the
nightly matcher decides which topics each entry belongs to. A feed with `topics` is asked once
per topic. Feeds have no "since" parameter: `fetch` yields the whole feed and the runner keeps
what is newer than the cursor and not landed yet (by id), so an unchanged feed lands nothing.

Native id: the entry's id (Atom <id>, RSS <guid>) when it is a URI (it names itself), otherwise
`<feed host>/<id>` (CMSes number their guids "123": two sites must not collide); no id: the link;
no link either: `<feed host>/sha1:<hash of title and date>`. Created: published, else updated;
an entry with no date takes the collection time (and `created_at_source: "collected"`), so
undated feeds still land once; a date more than an hour in the future (a wrong time zone) is
replaced by the collection time likewise, so one bad entry can't push the cursor past real ones.
Google Alerts links (https://www.google.com/url?...&url=<real>) are unwrapped to the article,
whose host becomes the author when the entry names none.

Connection: none.
"""
from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, parse_qsl, urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from listening.sources.base import BadRecord, Creds, MalformedPage, Page, Query, SourceOptions, iso
from listening.sources.http import SECRET_PARAMS, redact_url, scrub

log = logging.getLogger(__name__)

NAME = "rss"
CONNECTION = None
REQUIRES_CREDENTIALS = False
# news sites often date an article hours before it shows in their feed: look back that far
OVERLAP = timedelta(hours=6)
ACCEPT = ("application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
          "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5")
FUTURE_SLACK = timedelta(hours=1)
# the closing tag of a feed's root element: a body without it was cut
_ROOT_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:rss|feed|RDF)\s*>")


class Feed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    name: str | None = None                 # shown as the author handle of the feed's own entries
    topics: list[str] | None = Field(default=None, min_length=1)  # none: every topic
    lang: str | None = None                 # the language of its entries, if the feed doesn't say

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if urlsplit(v).scheme not in ("http", "https") or not urlsplit(v).netloc:
            raise ValueError(f"feed url must be an http(s) address, got {v!r}")
        return v


class Options(SourceOptions):
    feeds: list[Feed] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self):
        seen = set()
        for f in self.feeds:  # compared as their cursors name them (secret parameters hidden)
            if redact_url(f.url) in seen:
                raise ValueError(f"feed {redact_url(f.url)} is listed twice (give it several topics instead)")
            seen.add(redact_url(f.url))
        return self


def queries(watchlists, options: Options, creds: Creds | None) -> list[Query]:
    from listening.sources.base import ALL
    from listening.config import ConfigError

    known = {t.name for t in watchlists.topics}
    out = []
    for n, feed in enumerate(options.feeds):
        value = redact_url(feed.url)  # the key lands in cursors and files: no secret parameter
        if feed.topics is None:
            out.append(Query(ALL, "feed", value))
            continue
        unknown = sorted(set(feed.topics) - known)
        if unknown:
            raise ConfigError(f"sources.yml: rss.feeds[{n}] ({value}): unknown topics {unknown} "
                              f"(topics of the watchlists: {sorted(known)})")
        out += [Query(t, "feed", value) for t in feed.topics]
    return out


def _feed_of(query: Query, options: Options) -> Feed:
    for f in options.feeds:
        if redact_url(f.url) == query.value:
            return f
    raise KeyError(f"no feed {query.value} in the rss options")


def _parse(client, url: str, request: str, memo: dict | None = None):
    """The parsed feed; a body that is not a whole feed is fetched once more, then MalformedPage.

    With `memo` (the query's validators from the last run), the request is conditional: None
    when the feed has not changed (304), and the new ETag / Last-Modified are kept in `memo`."""
    import feedparser  # imported when used (Airflow imports plugins at start)

    headers = {"Accept": ACCEPT}
    if memo:
        headers.update({h: memo[k] for h, k in (("If-None-Match", "etag"), ("If-Modified-Since", "modified"))
                        if memo.get(k)})
    for attempt in (1, 2):
        r = client.request("GET", url, headers=headers, ok=(200, 304) if memo else (200,))
        if r.status_code == 304:
            return None
        body = r.content
        d = feedparser.parse(body, response_headers={k.lower(): v for k, v in r.headers.items()})
        if not d.get("version") and not d.entries:
            reason = "not an RSS or Atom feed" + (f" ({_why(d)})" if d.get("bozo") else "")
        elif d.get("bozo") and not _ROOT_END.search(body[-4096:]):
            # feedparser's lenient parser reads what it can of a cut body: don't take half a feed
            reason = f"truncated feed: no closing tag of its root element ({_why(d)})"
        else:
            if d.get("bozo"):  # a wrong charset, a stray '&': feedparser read it all the same
                log.info("%s: read despite %s", request, _why(d))
            if memo is not None:
                memo.clear()
                memo.update({k: r.headers[h] for h, k in (("ETag", "etag"), ("Last-Modified", "modified"))
                             if r.headers.get(h)})
            return d
        if attempt == 1:
            log.info("%s: %s, fetching it once more", request, reason)
    # a private feed's token may be echoed in the body (its self link): hidden like the client's
    hidden = client.secrets + [v for k, v in parse_qsl(urlsplit(url).query) if k.lower() in SECRET_PARAMS]
    raise MalformedPage(reason, request, scrub(body[:2000].decode("utf-8", "replace"), hidden))


def _why(d) -> str:
    e = d.get("bozo_exception")
    return f"{type(e).__name__}: {str(e)[:120]}" if e else "bozo"


def _plain(v):
    """feedparser's result as plain JSON types (struct_time as its 9 numbers)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def fetch(client, query: Query, since: datetime, options: Options, creds: Creds | None,
          memo: dict | None = None):
    """`memo`: the first page's ETag and Last-Modified, kept by the runner with the cursor, so an
    unchanged feed costs its publisher a 304 and no body."""
    feed = _feed_of(query, options)
    url, seen = feed.url, set()
    for n in range(options.max_pages):
        seen.add(url)
        request = client.describe("GET", url)
        d = _parse(client, url, request, memo if n == 0 else None)
        if d is None:
            log.info("%s: not modified since the last run", request)
            return
        fetched = datetime.now(timezone.utc)
        meta = d.feed
        site = meta.get("link") or url
        context = {"feed_url": redact_url(feed.url), "feed_host": _host(site) or _host(url),
                   "feed_title": meta.get("title"), "name": feed.name, "lang": feed.lang,
                   "feed_lang": meta.get("language"), "fetched_at": iso(fetched),
                   "google_alerts": _is_google_alert(meta)}
        records = [_plain(e) for e in d.entries]
        if not records:
            return
        yield Page(records, request, context)
        times = [t for t in (_entry_time(e) for e in records) if t]
        if times and min(times) < since:
            return
        nxt = next((ln.get("href") for ln in meta.get("links", []) if ln.get("rel") == "next"), None)
        if not nxt:
            if times and min(times) > since:
                log.info("%s: the feed goes back to %s only; entries between %s and then, if any, "
                         "have left it", request, iso(min(times)), iso(since))
            return
        url = urljoin(url, nxt)
        if url in seen:
            return


def _is_google_alert(meta) -> bool:
    return "com.google/alerts/" in (meta.get("id") or "") or "/alerts/feeds/" in (meta.get("link") or "")


def _host(url: str | None) -> str | None:
    if not url or not isinstance(url, str):
        return None
    h = urlsplit(url).hostname
    return h[4:] if h and h.startswith("www.") else h


def unwrap(link: str | None) -> str | None:
    """A Google redirect (google.com/url?...&url=<real>&ct=ga...) as the address it points to."""
    if not link:
        return link
    p = urlsplit(link)
    if "google" in (p.hostname or "").split(".") and p.path == "/url":
        q = parse_qs(p.query)
        real = (q.get("url") or q.get("q") or [None])[0]
        if real and urlsplit(real).scheme in ("http", "https"):
            return real
    return link


def _entry_time(e: dict) -> datetime | None:
    for f in ("published_parsed", "updated_parsed", "created_parsed"):
        t = e.get(f)
        if isinstance(t, list) and len(t) >= 6:
            try:
                return datetime(*t[:6], tzinfo=timezone.utc)
            except (TypeError, ValueError):
                continue
    return None


def _lang(e: dict, page: Page) -> str | None:
    langs = [page.context.get("lang")]
    for f in ("content", "summary_detail", "title_detail"):
        v = e.get(f)
        for d in (v if isinstance(v, list) else [v]):
            if isinstance(d, dict):
                langs.append(d.get("language"))
    langs.append(page.context.get("feed_lang"))
    for v in langs:
        if isinstance(v, str) and v.strip():
            return re.split(r"[-_]", v.strip())[0].lower() or None
    return None


def _count(v) -> int | None:
    try:
        n = int(str(v).strip())
    except (TypeError, ValueError):
        return None
    return n if n >= 0 else None


def to_post(e: dict, page: Page) -> dict:
    if not isinstance(e, dict):
        raise BadRecord("rss_entry", f"an entry must be an object, got {type(e).__name__}")
    ctx = page.context
    feed_host = ctx.get("feed_host") or "unknown"
    link = e.get("link") if isinstance(e.get("link"), str) else None
    url = unwrap(link) if link and urlsplit(link).scheme in ("http", "https") else None

    title = e.get("title") or ""
    content = e.get("content")
    body = ""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        body = content[0].get("value") or ""
    body = body or e.get("summary") or ""
    text = "\n\n".join(s for s in (title, body) if isinstance(s, str) and s.strip())

    created, source = _entry_time(e), "published" if e.get("published_parsed") else "updated"
    fetched = datetime.fromisoformat(ctx["fetched_at"].replace("Z", "+00:00"))
    if created is None:
        created, source = fetched, "collected"
    elif created > fetched + FUTURE_SLACK:
        created, source = fetched, "collected"

    gid = e.get("id") if isinstance(e.get("id"), str) and e.get("id").strip() else None
    if gid:
        gid = gid.strip()
        native = gid if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", gid) else f"{feed_host}/{gid}"
    elif link:
        native = link
    elif title or body:
        stamp = e.get("published") or e.get("updated") or ""
        native = f"{feed_host}/sha1:" + hashlib.sha1(f"{title}\n{stamp}".encode()).hexdigest()[:20]
    else:
        raise BadRecord("rss_entry", "an entry with no id, no link, no title and no text")

    # the publisher: the article's host (a Google Alert or an aggregator points elsewhere)
    src = e.get("source") if isinstance(e.get("source"), dict) else {}
    host = _host(src.get("href")) if src.get("title") or src.get("href") else None
    host = host or _host(url) or feed_host
    own = not ctx.get("google_alerts") and (host == feed_host or host.endswith(f".{feed_host}")
                                            or feed_host.endswith(f".{host}"))
    author = (e.get("author") or "").strip() if isinstance(e.get("author"), str) else ""
    handle = src.get("title") or ((ctx.get("name") or ctx.get("feed_title") or host) if own else host)

    post = {
        "platform": NAME,
        "id": native,
        "created_at": iso(created),
        "author_id": f"{author} ({host})" if author else host,
        "author_handle": handle,
        "text": text,
        "lang": _lang(e, page),
        "url": url,
        "reply_count": _count(e.get("slash_comments")) or _count(e.get("thr_total")) or 0,
        "feed": ctx.get("feed_url"),
        "original": e,
    }
    if source == "collected":
        post["created_at_source"] = "collected"
    return post
