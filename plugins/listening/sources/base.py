"""What every collector shares: queries, pages, credentials, options and errors."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict, Field

from listening.sources.files import BadRecord  # noqa: F401  (re-exported for collectors)


ALL = "all"  # the topic of queries that serve every topic (a news feed, a channel)


class SourceError(RuntimeError):
    """The source can't go on for this query (down after retries, refused, rate limit too long).

    What was fetched before it is kept; the query's cursor is not moved, so the next run
    fetches the gap again.
    """


class MalformedPage(SourceError):
    """A page that can't be read (invalid or truncated JSON, unexpected shape)."""

    def __init__(self, reason: str, request: str, body: bytes | str = b""):
        super().__init__(f"{request}: {reason}")
        self.reason, self.request = reason, request
        self.body = body.decode("utf-8", "replace") if isinstance(body, bytes) else body


class SourceOptions(BaseModel):
    """The options every collector's section of sources.yml accepts."""
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    # topics collected from this source; default: every topic of the watchlists
    topics: list[str] | None = None
    # the API's root URL: the platform's by default; a proxy, or the fake servers of the tests
    base_url: str | None = None
    # first run, or a cursor older than this: how far back to look (hours)
    backfill_hours: int = Field(default=24, ge=1, le=24 * 30)
    # pages per query and run: a safety valve; what it leaves is reported as a gap
    max_pages: int = Field(default=200, ge=1)
    page_size: int | None = Field(default=None, ge=1)


@dataclass(frozen=True)
class Query:
    """One thing to ask a platform for a topic: a search, a hashtag, an account, a feed."""
    topic: str
    kind: str
    value: str
    params: tuple = ()  # extra (name, value) pairs the source needs (e.g. an instance URL)

    @property
    def key(self) -> str:
        """Stable id of the query in the cursor state."""
        extra = "".join(f";{k}={v}" for k, v in self.params)
        return f"{self.kind}:{self.value}{extra}"

    def param(self, name: str, default=None):
        return dict(self.params).get(name, default)


@dataclass
class Page:
    """One response of the platform: its post records as received, and what the mapper needs."""
    records: list[dict]
    request: str                    # method and URL, secrets removed
    context: dict = field(default_factory=dict)  # e.g. the users a page includes beside posts


@dataclass(frozen=True)
class Creds:
    """The fields of an Airflow connection a collector may use."""
    login: str | None = None
    password: str | None = None
    host: str | None = None
    extra: dict = field(default_factory=dict)

    def secrets(self) -> list[str]:
        # a user name is not a secret (and it appears in posts: scrubbing it would mangle them)
        vals = [self.password] + [v for k, v in self.extra.items()
                                  if isinstance(v, str) and k not in ("user_agent", "username")]
        return [v for v in vals if v and len(v) >= 4]


def utc(ts: float | int | str | datetime) -> datetime:
    if isinstance(ts, datetime):
        return ts.astimezone(timezone.utc)
    if isinstance(ts, (int, float)):
        return datetime.fromtimestamp(ts, tz=timezone.utc)
    t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
