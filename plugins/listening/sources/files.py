"""The file source: JSON Lines posts dropped in the import directory (docs/import-format.md),
and CSV exports read through a mapping (listening.sources.csvfiles).

Every file is read on every run and only the posts of the data interval are kept, so a file
may span many days and a re-run sees the same posts. A bad line never stops the run: it goes
to quarantine with the file, the line, the rule it broke and why.
"""
from __future__ import annotations

import functools
import gzip
import json
import logging
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
CSV_SUFFIXES = (".csv", ".csv.gz")  # read with a mapping: listening.sources.csvfiles
PLATFORM_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
COUNTS = ("like_count", "repost_count", "reply_count", "quote_count")
OPTIONAL_STR = ("url", "author_handle", "lang", "reply_to", "repost_of", "quote_of")
MAX_RECORD = 10_000
MAX_COUNT = 2**63  # counts are int64 in the lake


class BadRecord(ValueError):
    def __init__(self, rule: str, reason: str):
        super().__init__(reason)
        self.rule, self.reason = rule, reason


def import_files(import_dir: Path, csv: bool = True) -> list[Path]:
    """The import files in name order: JSON Lines, and CSV exports unless `csv=False`."""
    d = Path(import_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"{d}: import directory not found (set VIGIE_IMPORT_DIR)")
    files, ignored = [], []
    for p in sorted(d.rglob("*")):
        if not p.is_file() or p.name.startswith((".", "_")):
            continue
        if p.name.endswith(CSV_SUFFIXES):
            if csv:
                files.append(p)
        elif p.name.endswith(SUFFIXES):
            files.append(p)
        elif not (p.name == "csv-mapping.yml" or p.name.endswith(".mapping.yml")):
            ignored.append(p)
    if ignored:
        log.info("ignoring %d files that are neither JSON Lines nor CSV: %s", len(ignored),
                 ", ".join(p.name for p in ignored[:10]))
    return files


def is_csv(path: Path) -> bool:
    return path.name.endswith(CSV_SUFFIXES)


def parse_time(value: object, field: str = "created_at") -> datetime:
    if not isinstance(value, str):
        raise BadRecord(f"{field}_type", f"{field} must be an ISO 8601 string, got {type(value).__name__}")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise BadRecord(f"{field}_format", f"{field} {value[:40]!r} is not an ISO 8601 timestamp") from None
    if t.tzinfo is None:
        raise BadRecord(f"{field}_zone", f"{field} {value[:40]!r} has no time zone (add Z or an offset)")
    return t.astimezone(timezone.utc)


@functools.lru_cache(maxsize=256)
def _is_platform(name: str) -> bool:
    """PLATFORM_RE's verdict, remembered: a file holds a handful of platforms, each on every line."""
    return PLATFORM_RE.match(name) is not None


def to_raw(rec: object, created: datetime | None = None) -> dict:
    """Check one decoded record against the import format and map it to a raw row."""
    row = _plain_raw(rec, created) if type(rec) is dict else None
    return row if row is not None else _checked_raw(rec, created)


def _plain_raw(rec: dict, created: datetime | None) -> dict | None:
    """The raw row of a record whose fields all have their plain JSON type (strings, counts in
    range, absent or null optionals), or None: then `_checked_raw` finds what is wrong, with its
    rule and reason. The common case, checked in a few type tests rather than field by field
    (the reader spends most of its own time here, per post)."""
    g = rec.get
    platform, native, author, text = g("platform"), g("id"), g("author_id"), g("text")
    url, handle, lang = g("url"), g("author_handle"), g("lang")
    reply, repost, quote = g("reply_to"), g("repost_of"), g("quote_of")
    likes, reposts, replies = g("like_count"), g("repost_count"), g("reply_count")
    quotes, followers = g("quote_count"), g("author_followers")
    if not (type(platform) is str and type(native) is str and type(author) is str and type(text) is str
            and native and author and _is_platform(platform)
            and (url is None or type(url) is str) and (handle is None or type(handle) is str)
            and (lang is None or type(lang) is str) and (reply is None or type(reply) is str)
            and (repost is None or type(repost) is str) and (quote is None or type(quote) is str)
            and (likes is None or type(likes) is int and 0 <= likes < MAX_COUNT)
            and (reposts is None or type(reposts) is int and 0 <= reposts < MAX_COUNT)
            and (replies is None or type(replies) is int and 0 <= replies < MAX_COUNT)
            and (quotes is None or type(quotes) is int and 0 <= quotes < MAX_COUNT)
            and (followers is None or type(followers) is int and 0 <= followers < MAX_COUNT)):
        return None
    return {
        "post_id": f"{platform}:{native}",
        "platform": platform,
        "native_id": native,
        "url": url or None,
        "created_at": created or parse_time(g("created_at")),
        "author_id": author,
        "author_handle": handle or None,
        "author_followers": followers,
        "text": text,
        "lang": lang.lower() if lang else None,
        "reply_to": f"{platform}:{reply}" if reply else None,
        "repost_of": f"{platform}:{repost}" if repost else None,
        "quote_of": f"{platform}:{quote}" if quote else None,
        "like_count": likes or 0,
        "repost_count": reposts or 0,
        "reply_count": replies or 0,
        "quote_count": quotes or 0,
    }


def _checked_raw(rec: object, created: datetime | None) -> dict:
    """`to_raw` field by field: the first field that breaks the format raises its BadRecord."""
    if not isinstance(rec, dict):
        raise BadRecord("not_object", f"a line must be a JSON object, got {type(rec).__name__}")
    for f in ("platform", "id", "author_id", "text"):
        if f not in rec or rec[f] is None:
            raise BadRecord("missing_field", f"required field {f!r} is missing")
    platform = rec["platform"]
    if not isinstance(platform, str) or not PLATFORM_RE.match(platform):
        raise BadRecord("platform", f"platform {str(platform)[:40]!r} must be a lowercase word")
    ids = {}
    for f in ("id", "author_id"):
        v = rec[f]
        if isinstance(v, bool) or not isinstance(v, (str, int)) or str(v) == "":
            raise BadRecord(f"{f}_type", f"{f} must be a non-empty string")
        ids[f] = str(v)
    if not isinstance(rec["text"], str):
        raise BadRecord("text_type", f"text must be a string, got {type(rec['text']).__name__}")
    for f in OPTIONAL_STR:
        v = rec.get(f)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int))):
            raise BadRecord(f"{f}_type", f"{f} must be a string, got {type(v).__name__}")
    counts = {}
    for f in COUNTS + ("author_followers",):
        v = rec.get(f)
        if v is None:
            counts[f] = 0 if f in COUNTS else None
            continue
        if isinstance(v, bool) or not isinstance(v, int):
            raise BadRecord(f"{f}_type", f"{f} must be an integer, got {type(v).__name__} {str(v)[:20]!r}")
        if v < 0:
            raise BadRecord(f"{f}_negative", f"{f} must be >= 0, got {v}")
        if v >= MAX_COUNT:
            raise BadRecord(f"{f}_too_large", f"{f} is too large to be a count ({str(v)[:30]})")
        counts[f] = v
    created = created or parse_time(rec.get("created_at"))

    def link(f: str) -> str | None:
        v = rec.get(f)
        return f"{platform}:{v}" if v not in (None, "") else None

    lang = rec.get("lang")
    return {
        "post_id": f"{platform}:{ids['id']}",
        "platform": platform,
        "native_id": ids["id"],
        "url": rec.get("url") or None,
        "created_at": created,
        "author_id": ids["author_id"],
        "author_handle": str(rec["author_handle"]) if rec.get("author_handle") else None,
        "author_followers": counts["author_followers"],
        "text": rec["text"],
        "lang": str(lang).lower() if lang else None,
        "reply_to": link("reply_to"),
        "repost_of": link("repost_of"),
        "quote_of": link("quote_of"),
        **{f: counts[f] for f in COUNTS},
    }


def _open(path: Path):
    if not isinstance(path, Path):  # landed in an object-store lake: a whole object, read in one GET
        import io

        data = path.read_bytes()
        return gzip.open(io.BytesIO(data), "rb") if path.name.endswith(".gz") else io.BytesIO(data)
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def records(import_dir: Path, limit_files: int | None = None):
    """Every well-formed record with a text, file by file, bad lines skipped silently.

    For evaluations and benchmarks over a corpus; the pipeline reads with `read_day`, which
    quarantines what it skips.
    """
    for path in import_files(import_dir)[:limit_files]:
        if is_csv(path):
            from listening.sources import csvfiles

            yield from (r for r in csvfiles.records(path) if isinstance(r.get("text"), str))
            continue
        with _open(path) as fh:
            for line in fh:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if isinstance(r, dict) and isinstance(r.get("text"), str):
                    yield r


def read_day(import_dir: Path | None, day: date, rows=None, landed: list[Path] = (),
             seen: dict | None = None) -> tuple[list[dict], list[dict]]:
    """Posts created on `day` (UTC) from every import file, and the bad lines to quarantine.

    Import files are JSON Lines and CSV exports with their mapping (listening.sources.csvfiles);
    a CSV file without a usable mapping is one quarantine row (csv_no_mapping, csv_mapping,
    csv_header) by every run, and the other files are read.

    A bad line is reported by the run of the day it claims; one whose date can't be read is
    reported by every run (it can't be placed in a day). A post id seen twice is kept once:
    the first file in name order wins, and the copy is quarantined as a duplicate.
    `rows` may be any object with `append` (the pipeline passes one that packs rows into Arrow
    batches as they come, so a day of a million posts never sits in memory as dicts).
    `landed` are the collectors' files of the day (listening.collect), most recent first: a post
    fetched twice (overlapping queries, a retried run) is expected there, so its older copies
    are dropped without quarantine (counted in `seen["_folded"]`).
    """
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return _read_window(import_dir, start, start + timedelta(days=1), rows, landed, seen)


def check(import_dir: Path) -> dict[str, dict]:
    """Every import file read whole, whatever day its posts are on: posts and refused lines per
    file, so a new file or export can be checked before a nightly run reads it
    (`python -m listening import check DIR`)."""
    out: dict[str, dict] = {p.name: {"posts": 0, "refused": 0, "rules": {}, "examples": []}
                            for p in import_files(import_dir)}

    class Count:
        def append(self, row: dict) -> None:
            out.setdefault(row.get("source_file") or "?", {"posts": 0, "refused": 0, "rules": {}, "examples": []})
            out[row.get("source_file") or "?"]["posts"] += 1

    _, bad = _read_window(import_dir, datetime(1970, 1, 1, tzinfo=timezone.utc),
                          datetime(2200, 1, 1, tzinfo=timezone.utc), Count(), (), None)
    for b in bad:
        f = out.setdefault(b["source_file"] or "?", {"posts": 0, "refused": 0, "rules": {}, "examples": []})
        f["refused"] += 1
        f["rules"][b["rule"]] = f["rules"].get(b["rule"], 0) + 1
        if len(f["examples"]) < 5:
            f["examples"].append(b["reason"])
    return out


def _read_window(import_dir: Path | None, start: datetime, end: datetime, rows, landed, seen) -> tuple:
    rows = [] if rows is None else rows
    bad: list[dict] = []
    seen = {} if seen is None else seen
    seen.setdefault("_folded", 0)
    paths = [(p, False) for p in (import_files(import_dir) if import_dir is not None else [])]
    for path, fold in paths + [(p, True) for p in landed]:
        name = path.name if not fold else f"{path.parent.parent.name}/{path.parent.name}/{path.name}"
        try:
            if not fold and is_csv(path):
                from listening.sources import csvfiles

                csvfiles.read_file(path, name, start, end, rows, bad, seen)
            else:
                _read_file(path, name, start, end, rows, bad, seen, fold)
        except (OSError, EOFError) as e:  # a truncated or corrupt .gz must not stop the run
            bad.append({"rule": "unreadable_file", "reason": f"{name}: cannot read the file ({e}); "
                        f"the lines before the failure were read", "post_id": None,
                        "source_file": name, "source_line": None, "record": ""})
    return rows, bad


_scan = json.JSONDecoder().scan_once  # json.loads's own parser, without its Python layers


def _loads(text: str):
    """`json.loads(text)` for one line: its parser called directly, since json.loads's Python
    layers (BOM and whitespace checks, the decoder's wrappers) cost about a quarter of the reader's
    own time per line. A line that is not one JSON value and the line's end goes to json.loads
    itself, for the same value or the same error."""
    try:
        value, end = _scan(text, 0)
    except (StopIteration, ValueError, RecursionError):
        return json.loads(text)
    if end == len(text) or text[end:] in ("\n", "\r\n"):
        return value
    return json.loads(text)


def _reject(bad: list[dict], name: str, lineno: int, raw_line: bytes, rule: str, reason: str,
            post_id: str | None = None) -> None:
    record = raw_line.decode("utf-8", errors="replace").rstrip("\r\n")
    bad.append({"rule": rule, "reason": f"{name}:{lineno}: {reason}", "post_id": post_id,
                "source_file": name, "source_line": lineno, "record": record[:MAX_RECORD]})


def _read_file(path: Path, name: str, start: datetime, end: datetime,
               rows: list[dict], bad: list[dict], seen: dict, fold: bool = False) -> None:
    append = rows.append
    with _open(path) as fh:
        for lineno, raw_line in enumerate(fh, start=1):
            if raw_line.isspace():
                continue
            try:
                text = raw_line.decode("utf-8")
                rec = _loads(text)
            except UnicodeDecodeError as e:
                _reject(bad, name, lineno, raw_line, "encoding", f"not valid UTF-8 at byte {e.start}")
                continue
            except json.JSONDecodeError as e:
                _reject(bad, name, lineno, raw_line, "json", f"not valid JSON: {e.msg} at column {e.colno}")
                continue
            except RecursionError:
                _reject(bad, name, lineno, raw_line, "json", "JSON nested too deeply to read")
                continue
            created = row = None
            if type(rec) is dict:
                try:
                    created = parse_time(rec.get("created_at"))
                except BadRecord as e:
                    _reject(bad, name, lineno, raw_line, e.rule, e.reason)
                    continue
                if not (start <= created < end):
                    continue
                row = _plain_raw(rec, created)
            if row is None:
                try:
                    row = _checked_raw(rec, created)
                except BadRecord as e:
                    pid = f"{rec.get('platform')}:{rec.get('id')}" if isinstance(rec, dict) else None
                    _reject(bad, name, lineno, raw_line, e.rule, e.reason, pid)
                    continue
            post_id = row["post_id"]
            if post_id in seen:
                if fold:
                    seen["_folded"] += 1
                    continue
                f0, l0 = seen[post_id]
                _reject(bad, name, lineno, raw_line, "duplicate", f"post {post_id} already read from {f0}:{l0}",
                        post_id)
                continue
            seen[post_id] = (name, lineno)
            row["source_file"] = name
            row["source_line"] = lineno
            row["payload"] = text.rstrip("\r\n")
            append(row)
