"""A few feeds as their servers publish them, rendered at each request from entries in memory:

- an RSS 2.0 news feed (channel <language>, <item> with <guid isPermaLink="false">, RFC 822
  <pubDate>, <dc:creator>, <description> and <content:encoded>, <slash:comments>), the shape
  WordPress and most newspaper CMSes serve, as application/rss+xml;
- an Atom 1.0 feed (RFC 4287: xml:lang, <id>, <updated>/<published>, <author><name>, <summary>,
  <content type="html">), as application/atom+xml;
- a Google Alerts feed (Atom, feed id tag:google.com,2005:reader/user/<uid>/state/com.google/
  alerts/<aid>, entry ids tag:google.com,2013:googlealerts/feed:<digits>, links through
  https://www.google.com/url?rct=j&sa=t&url=<article>&ct=ga&cd=…&usg=…, <b> around the matched
  words in the escaped HTML title and content, an empty <author><name>);
- an Atom feed paged by RFC 5005 links (<link rel="next" href="…?page=2"/>).
Unknown paths answer 404 with an HTML page, as web servers do.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape

from fakes.server import Request, Response

UID, AID = "06807031914929345698", "10863801458115698990"
ALERTS_PATH = f"/alerts/feeds/{UID}/{AID}"


@dataclass
class Entry:
    n: int
    created: datetime | None
    title: str = ""
    text: str = ""
    author: str | None = None
    link: str | None = None      # default: the site's article n
    guid: str | None = None      # default: per feed kind
    updated: datetime | None = None
    comments: int | None = None
    extra: dict = field(default_factory=dict)


def _rfc822(t: datetime) -> str:
    return format_datetime(t.astimezone(timezone(timedelta(hours=1))))  # CET, as Brussels papers do


def _rfc3339(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def rss_feed(entries: list[Entry], *, site: str = "https://www.lesoir.be", title: str = "Le Soir - Bruxelles",
             lang: str | None = "fr-BE") -> str:
    items = []
    for e in sorted(entries, key=lambda e: e.created or datetime.max.replace(tzinfo=timezone.utc), reverse=True):
        link = e.link or f"{site}/{e.n}/article/parlement-{e.n}"
        parts = [f"<title>{escape(e.title or f'Article {e.n}')}</title>", f"<link>{escape(link)}</link>",
                 f'<guid isPermaLink="false">{escape(e.guid or str(e.n))}</guid>']
        if e.created:
            parts.append(f"<pubDate>{_rfc822(e.created)}</pubDate>")
        if e.author:
            parts.append(f"<dc:creator><![CDATA[{e.author}]]></dc:creator>")
        parts.append("<category><![CDATA[Bruxelles]]></category>")
        parts.append(f"<description><![CDATA[<p>{e.text[:80]}</p>]]></description>")
        parts.append(f"<content:encoded><![CDATA[<p>{e.text}</p>]]></content:encoded>")
        if e.comments is not None:
            parts.append(f"<slash:comments>{e.comments}</slash:comments>")
        items.append("<item>\n" + "\n".join(parts) + "\n</item>")
    lang_el = f"<language>{lang}</language>" if lang else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"
 xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
<title>{escape(title)}</title>
<atom:link href="{site}/rss2/2/cible_principale" rel="self" type="application/rss+xml"/>
<link>{site}/</link>
<description>Toute l'actualité de Bruxelles</description>
<lastBuildDate>{_rfc822(datetime(2026, 11, 20, 11, tzinfo=timezone.utc))}</lastBuildDate>
{lang_el}
<generator>https://wordpress.org/?v=6.7</generator>
{chr(10).join(items)}
</channel>
</rss>
"""


def _atom_entry(e: Entry, site: str, guid: str, link: str, title_type: str = "text",
                content_type: str = "html") -> str:
    t = e.created
    parts = [f"<id>{escape(guid)}</id>",
             f'<title type="{title_type}">{escape(e.title or f"Artikel {e.n}")}</title>',
             f'<link href="{escape(link)}"/>']
    if t:
        parts.append(f"<published>{_rfc3339(t)}</published>")
    if e.updated or t:
        parts.append(f"<updated>{_rfc3339(e.updated or t)}</updated>")
    parts.append(f"<content type=\"{content_type}\">{escape(e.text)}</content>")
    parts.append(f"<author><name>{escape(e.author or '')}</name></author>")
    if e.comments is not None:
        parts.append(f"<thr:total>{e.comments}</thr:total>")
    return "<entry>\n" + "\n".join(parts) + "\n</entry>"


def atom_feed(entries: list[Entry], *, site: str = "https://www.bruzz.be", title: str = "BRUZZ - Actua",
              lang: str | None = "nl", next_href: str | None = None) -> str:
    out = []
    for e in sorted(entries, key=lambda e: e.created or datetime.max.replace(tzinfo=timezone.utc), reverse=True):
        out.append(_atom_entry(e, site, e.guid or f"{site}/node/{e.n}", e.link or f"{site}/actua/artikel-{e.n}"))
    lang_attr = f' xml:lang="{lang}"' if lang else ""
    nxt = f'<link rel="next" href="{escape(next_href)}"/>' if next_href else ""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0"{lang_attr}>
<title>{escape(title)}</title>
<link href="{site}/" rel="alternate"/>
<link href="{site}/feed/atom" rel="self"/>
{nxt}
<id>{site}/</id>
<updated>2026-11-20T11:00:00Z</updated>
{chr(10).join(out)}
</feed>
"""


def google_redirect(article: str, n: int) -> str:
    return (f"https://www.google.com/url?rct=j&sa=t&url={article}&ct=ga&cd=CAIyGjM0Yz{n:04d}"
            f"&usg=AOvVaw3fake{n:04d}")


def alerts_feed(entries: list[Entry], query: str = "parlement bruxellois") -> str:
    out = []
    for e in sorted(entries, key=lambda e: e.created or datetime.max.replace(tzinfo=timezone.utc), reverse=True):
        article = e.link or f"https://www.rtbf.be/article/parlement-{e.n}"
        guid = e.guid or f"tag:google.com,2013:googlealerts/feed:{10**19 + e.n}"
        out.append(_atom_entry(e, "", guid, google_redirect(article, e.n), title_type="html"))
    return f"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:idx="urn:atom-extension:indexing"><id>tag:google.com,2005:reader/user/{UID}/state/com.google/alerts/{AID}</id><title>Google Alert - {escape(query)}</title><link href="https://www.google.com/alerts/feeds/{UID}/{AID}" rel="self"></link><updated>2026-11-20T11:00:00Z</updated>
{chr(10).join(out)}
</feed>"""


def news(n: int, end: datetime, every: timedelta = timedelta(minutes=20), **kw) -> list[Entry]:
    """n entries, 1..n, the newest at `end`."""
    return [Entry(i, end - (n - i) * every, title=kw.get("title", f"Le Parlement bruxellois, épisode {i}"),
                  text=kw.get("text", f"Au Parlement bruxellois ce jour, point {i} & suite."),
                  author=kw.get("author"), comments=kw.get("comments", i % 4)) for i in range(1, n + 1)]


def alerts(n: int, end: datetime, every: timedelta = timedelta(minutes=45)) -> list[Entry]:
    return [Entry(i, end - (n - i) * every,
                  title=f"Le <b>Parlement bruxellois</b> vote le texte {i} - RTBF",
                  text=f"Ce jeudi, le <b>Parlement bruxellois</b> a adopté le texte {i}&nbsp;...")
            for i in range(1, n + 1)]


class Feeds:
    """The app: a news site's RSS, another's Atom, a Google Alert and a paged Atom feed."""

    def __init__(self):
        self.rss: list[Entry] = []
        self.atom: list[Entry] = []
        self.alerts: list[Entry] = []
        self.paged: list[Entry] = []
        self.per_page = 5
        self.url = ""  # set by the test once the server listens (for next links)

    def __call__(self, req: Request) -> Response:
        if req.path == "/rss2/2/cible_principale":
            return Response(200, rss_feed(self.rss), content_type="application/rss+xml; charset=UTF-8",
                            headers={"Last-Modified": "Fri, 20 Nov 2026 11:00:00 GMT"})
        if req.path == "/feed/atom":  # a CDN in front: ETag and If-None-Match (RFC 9110 13.1.2)
            import hashlib

            body = atom_feed(self.atom)
            etag = '"' + hashlib.sha1(body.encode()).hexdigest()[:16] + '"'
            if req.headers.get("if-none-match") == etag:
                return Response(304, b"", headers={"ETag": etag})
            return Response(200, body, content_type="application/atom+xml; charset=utf-8", headers={"ETag": etag})
        if req.path == ALERTS_PATH:
            return Response(200, alerts_feed(self.alerts), content_type="application/atom+xml; charset=utf-8")
        if req.path == "/paged/atom":
            page = int(req.arg("page", "1"))
            ordered = sorted(self.paged, key=lambda e: e.created, reverse=True)
            chunk = ordered[(page - 1) * self.per_page: page * self.per_page]
            nxt = f"{self.url}/paged/atom?page={page + 1}" if page * self.per_page < len(ordered) else None
            return Response(200, atom_feed(chunk, site="https://www.parlement.brussels", title="Actualités",
                                           lang="fr", next_href=nxt),
                            content_type="application/atom+xml; charset=utf-8")
        return Response(404, "<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
                             "<body><h1>Not Found</h1></body></html>", content_type="text/html")
