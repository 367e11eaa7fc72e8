"""One HTTP client for every collector: retries, rate limits and secrets handled in one place.

- 429: waits what the platform says (Retry-After, or X's and Reddit's reset headers), up to
  `max_wait`; longer than that, gives up the query for this run (SourceError), so an hourly
  task never sleeps for an hour.
- 5xx, timeouts and broken connections: retried with exponential backoff and full jitter.
- A body that is not the JSON expected is retried once (a cut connection looks like that),
  then raised as MalformedPage with the request, for the quarantine.
- Secrets never leave: URLs are logged and raised with secret parameters replaced, headers
  are never logged, and any configured secret value is scrubbed from messages.
"""
from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from listening.sources.base import MalformedPage, SourceError

log = logging.getLogger(__name__)

SECRET_PARAMS = {"access_token", "token", "key", "api_key", "apikey", "client_secret", "password",
                 "secret", "bearer_token", "refresh_token", "code"}
USER_AGENT = "Vigie/1.0 (social listening for public institutions; +https://github.com/vigie)"


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    q = [(k, "***" if k.lower() in SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(q, safe="*:,")))


def scrub(text: str, secrets: list[str]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


class Client:
    """A requests session with the retry policy above; `sleep` is injectable for tests."""

    def __init__(self, *, secrets: list[str] | None = None, timeout: float = 30.0, retries: int = 4,
                 backoff: float = 1.0, max_wait: float = 900.0, sleep=time.sleep,
                 user_agent: str = USER_AGENT, session: requests.Session | None = None):
        self.secrets = [s for s in (secrets or []) if s]
        self.timeout, self.retries, self.backoff, self.max_wait = timeout, retries, backoff, max_wait
        self.sleep = sleep
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.requests = 0   # counted for the collection summary
        self.waited = 0.0   # seconds slept on rate limits and backoff

    def describe(self, method: str, url: str, params: dict | None = None) -> str:
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params, doseq=True)}"
        return scrub(f"{method} {redact_url(url)}", self.secrets)

    def pause(self, seconds: float, why: str, request: str) -> None:
        """Wait before asking again (counted); more than `max_wait` gives up the query for this run."""
        self._pause(seconds, why, request)

    def backoff_delay(self, attempt: int) -> float:
        return self._backoff(attempt)

    def _pause(self, seconds: float, why: str, request: str) -> None:
        if seconds > self.max_wait:
            raise SourceError(f"{request}: {why}; asked to wait {seconds:.0f} s, more than the "
                              f"{self.max_wait:.0f} s allowed per run: the next run goes on from here")
        log.info("%s: %s, waiting %.1f s", request, why, seconds)
        self.waited += seconds
        self.sleep(seconds)

    def request(self, method: str, url: str, *, params: dict | None = None, headers: dict | None = None,
                data: dict | None = None, json_body: dict | None = None,
                ok: tuple[int, ...] = (200,)) -> requests.Response:
        """The response once it has a status in `ok`; SourceError when retries are spent."""
        desc = self.describe(method, url, params)
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                r = self.session.request(method, url, params=params, headers=headers, data=data,
                                         json=json_body, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as e:
                why = f"{type(e).__name__}"
                if attempt > self.retries:
                    raise SourceError(f"{desc}: {why} after {attempt} attempts") from None
                self._pause(self._backoff(attempt), why, desc)
                continue
            except (requests.RequestException, ValueError) as e:
                # e.g. InvalidHeader, whose message quotes the header (a token): only its type leaves
                raise SourceError(f"{desc}: the request could not be made ({type(e).__name__})") from None
            if r.status_code in ok:
                return r
            if r.status_code == 429:
                if attempt > self.retries + 2:
                    raise SourceError(f"{desc}: still rate limited (429) after {attempt} attempts")
                self._pause(self._retry_after(r, attempt), "rate limited (429)", desc)
                continue
            if r.status_code >= 500 or r.status_code == 408:
                if attempt > self.retries:
                    raise SourceError(f"{desc}: HTTP {r.status_code} after {attempt} attempts")
                retry_after = r.headers.get("Retry-After")
                wait = self._retry_after(r, attempt) if retry_after else self._backoff(attempt)
                self._pause(wait, f"HTTP {r.status_code}", desc)
                continue
            body = scrub(r.text[:300], self.secrets).replace("\n", " ")
            raise SourceError(f"{desc}: HTTP {r.status_code}: {body}")

    def get_json(self, url: str, *, params: dict | None = None, headers: dict | None = None,
                 expect: type = dict, method: str = "GET", data: dict | None = None,
                 json_body: dict | None = None) -> tuple[object, requests.Response]:
        """Decoded JSON of a 200 response; a body that doesn't decode is fetched once more, then
        raised as MalformedPage."""
        desc = self.describe(method, url, params)
        for attempt in (1, 2):
            r = self.request(method, url, params=params, headers=headers, data=data, json_body=json_body)
            doc, reason = self.json_of(r, expect)
            if reason is None:
                return doc, r
            if attempt == 1:
                log.info("%s: %s, fetching it once more", desc, reason)
        raise self.malformed(reason, desc, r)

    @staticmethod
    def json_of(r: requests.Response, expect: type = dict) -> tuple[object, str | None]:
        """(the decoded body, None), or (None, why it is not the JSON expected)."""
        try:
            doc = json.loads(r.content)
        except (ValueError, RecursionError) as e:
            return None, f"not valid JSON ({type(e).__name__}: {str(e)[:120]})"
        if not isinstance(doc, expect):
            return None, f"expected a JSON {expect.__name__}, got {type(doc).__name__}"
        return doc, None

    def malformed(self, reason: str, desc: str, r: requests.Response) -> MalformedPage:
        return MalformedPage(reason, desc, scrub(r.content[:2000].decode("utf-8", "replace"), self.secrets))

    def _backoff(self, attempt: int) -> float:
        return random.uniform(0, self.backoff * 2 ** (attempt - 1))  # full jitter

    def _retry_after(self, r: requests.Response, attempt: int) -> float:
        h = r.headers
        v = h.get("Retry-After")
        if v:
            v = v.strip()
            if v.isdigit():
                return float(v)
            try:
                when = email.utils.parsedate_to_datetime(v)
                return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
            except (TypeError, ValueError):
                pass
        for epoch in ("x-rate-limit-reset", "ratelimit-reset"):  # X, Bluesky: epoch of the window's end
            if h.get(epoch, "").isdigit():
                return max(0.0, int(h[epoch]) - time.time()) + 1
        reset = h.get("x-ratelimit-reset")  # Reddit: seconds until the window resets
        if reset:
            try:
                return float(reset) + 1
            except ValueError:
                pass
        return self._backoff(attempt) + 1
