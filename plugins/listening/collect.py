"""Hourly collection: ask each platform what is new since the last run, land it, move the cursor.

One job per (source, topic). For each of its queries the job fetches, newest first, every post
since the query's cursor (minus a small overlap, for posts indexed late), drops the ones the
last run already landed, and writes the rest as JSON Lines in the import format under

    <lake>/landing/source=<platform>/dt=<day the post was created>/<time>-<topic>-<nonce>.jsonl

each line carrying the platform's record as received (`original`), then saves the cursor. The
order matters: a crash between the two only means the next run fetches those posts again, and
the nightly reader keeps one copy per post id (the most recent). A query that fails (platform
down, rate limit too long, unreadable page) keeps its old cursor, so the next run fetches the
gap; the job then fails so that Airflow retries it, after landing what the others fetched.
"""
from __future__ import annotations

import inspect
import json
import logging
import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pydantic import create_model

from listening.lake import at, remote
from listening import privacy, sources
from listening.sources import files
from listening.config import Config, ConfigError, _load_model, config_dir_from_env, lake_root, load_config
from listening.sources.base import ALL, BadRecord, Creds, MalformedPage, SourceError, SourceOptions, iso, utc
from listening.sources.http import Client, scrub

log = logging.getLogger(__name__)

SOURCES_FILE = "sources.yml"
LANDING = "landing"
STATE = "_state/collect"
OVERLAP = timedelta(minutes=15)   # posts indexed late by the platform are still found
MAX_IDS = 5000                    # ids remembered per query, at the overlap's edge


# ---- configuration ----------------------------------------------------------------------

def load_sources(config_dir: str | Path | None = None, config: Config | None = None) -> dict[str, SourceOptions]:
    """The enabled collectors of sources.yml (absent file: none), each with its checked options."""
    d = Path(config_dir) if config_dir else config_dir_from_env()
    fields = {name: (sources.collector(name).Options | None, None) for name in sources.COLLECTORS}
    model = create_model("Sources", __config__={"extra": "forbid"}, **fields)
    loaded = _load_model(d / SOURCES_FILE, model, required=False)
    out = {name: opts for name in sources.COLLECTORS
           if (opts := getattr(loaded, name)) is not None and opts.enabled}
    if config is not None:
        known = {t.name for t in config.watchlists.topics}
        for name, opts in out.items():
            unknown = sorted(set(opts.topics or []) - known)
            if unknown:
                raise ConfigError(f"{d / SOURCES_FILE}: {name}.topics: unknown topics {unknown} "
                                  f"(topics of the watchlists: {sorted(known)})")
    return out


def credentials(name: str) -> Creds | None:
    """The collector's Airflow connection, or None when it isn't defined."""
    conn_id = sources.collector(name).CONNECTION
    if not conn_id:
        return None
    try:
        from airflow.sdk import Connection

        c = Connection.get(conn_id)
    except Exception:  # not defined (or no Airflow to ask): the job says so and skips
        return None
    extra = c.extra_dejson if hasattr(c, "extra_dejson") else json.loads(c.extra or "{}")

    def clean(v):  # a pasted token often ends with a newline
        return v.strip() if isinstance(v, str) else v

    return Creds(login=clean(c.login), password=clean(c.password), host=clean(c.host),
                 extra={k: clean(v) for k, v in (extra or {}).items()})


def plan(config: Config, options: dict[str, SourceOptions]) -> list[dict]:
    """The jobs of an hourly run: one per (source, topic) that has something to ask."""
    jobs = []
    for name, opts in options.items():
        mod = sources.collector(name)
        topics = {q.topic for q in mod.queries(config.watchlists, opts, credentials(name))}
        if opts.topics is not None:  # ALL: queries of no topic in particular (a news feed)
            topics &= set(opts.topics) | {ALL}
        jobs += [{"source": name, "topic": t} for t in sorted(topics)]
    return jobs


def plan_jobs(config_dir: str | Path | None = None) -> list[dict]:
    """The hourly DAG's plan: config from VIGIE_CONFIG_DIR, checked before anything is fetched."""
    config = load_config(config_dir)
    options = load_sources(config.config_dir, config)
    if not options:
        log.info("%s: no collector enabled (no %s): nothing to collect",
                 config.config_dir, SOURCES_FILE)
    return plan(config, options)


# ---- state ------------------------------------------------------------------------------

def state_path(lake: Path, source: str, topic: str) -> Path:
    return at(lake) / STATE / source / f"{topic}.json"


def load_state(lake: Path, source: str, topic: str) -> dict:
    p = state_path(lake, source, topic)
    if not p.exists():
        return {"queries": {}}
    try:
        return json.loads(p.read_text())
    except ValueError as e:
        raise SourceError(f"{p}: cursor file unreadable ({e}); move it away to start again "
                          f"from the backfill horizon") from None


def _write_atomic(path: Path, data: bytes) -> None:
    if remote(path):
        path.write_bytes(data)  # one PUT: the old object or the new one
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ---- one job ----------------------------------------------------------------------------

def run_job(source: str, topic: str, *, config: Config | None = None,
            options: SourceOptions | None = None, creds: Creds | None = None,
            lake: Path | None = None, now: datetime | str | None = None,
            client: Client | None = None, use_connection: bool = True) -> dict:
    """Collect what is new for one (source, topic); returns the summary the task logs."""
    config = config or load_config()
    lake = at(lake) if lake else lake_root(config)
    mod = sources.collector(source)
    if options is None:
        options = load_sources(config.config_dir).get(source) or mod.Options()
    if creds is None and use_connection:
        creds = credentials(source)
    now = utc(now) if now else datetime.now(timezone.utc)
    summary = {"source": source, "topic": topic, "queries": 0, "pages": 0, "posts": 0,
               "already_landed": 0, "quarantined": 0, "errors": [], "gaps": [], "files": []}
    if mod.CONNECTION and creds is None and getattr(mod, "REQUIRES_CREDENTIALS", True):
        msg = (f"{source}: skipped, no credentials (define the Airflow connection "
               f"{mod.CONNECTION!r}, docs/sources.md)")
        log.warning(msg)
        summary["skipped"] = msg
        state = load_state(lake, source, topic)  # it ran: the nightly run must not wait for it
        state.update(updated=iso(now), ok=True)
        _write_atomic(state_path(lake, source, topic), json.dumps(state, indent=1, sort_keys=True).encode())
        _record_run(lake, summary, now, [])
        return summary
    secrets = creds.secrets() if creds else []
    client = client or Client(secrets=secrets)
    queries = [q for q in mod.queries(config.watchlists, options, creds) if q.topic == topic]
    state = load_state(lake, source, topic)
    posts: dict[str, dict] = {}
    bad: list[dict] = []
    # authors erased on request: their posts are neither landed nor remembered in cursors
    erased = privacy.suppressed(lake)
    key = privacy.load_key(lake) if erased else b""
    summary["erased"] = 0
    horizon = now - timedelta(days=getattr(mod, "HORIZON_DAYS", 3650))
    overlap = getattr(mod, "OVERLAP", OVERLAP)  # news sites may date an item hours before it shows
    for q in queries:
        summary["queries"] += 1
        cur = state["queries"].get(q.key) or {}
        if cur.get("newest"):
            since = utc(cur["newest"]) - overlap
            if since < horizon:
                summary["gaps"].append(f"{q.key}: posts from {iso(since)} to {iso(horizon)} are older "
                                       f"than {source} keeps ({mod.HORIZON_DAYS} days): not reachable")
                since = horizon
        else:
            since = now - timedelta(hours=options.backfill_hours)
        landed_before = set(cur.get("ids", []))
        # what a collector keeps between runs besides the cursor (a feed's ETag), if it asks
        memo = dict(cur.get("memo", {}))
        extra = {"memo": memo} if "memo" in inspect.signature(mod.fetch).parameters else {}
        found: list[dict] = []
        pages, complete = 0, False
        try:
            for page in mod.fetch(client, q, since, options, creds, **extra):
                pages += 1
                for rec in page.records:
                    post, refused = map_record(mod, rec, page)
                    if refused:
                        bad.append(refused)
                    elif erased and privacy.erased_post(post, key, erased):
                        summary["erased"] += 1
                    elif utc(post["created_at"]) >= since:
                        found.append(post)
                if pages >= options.max_pages:
                    summary["gaps"].append(f"{q.key}: stopped after {pages} pages (max_pages); posts "
                                           f"older than the last page and newer than {iso(since)} not fetched")
                    break
            complete = True
        except MalformedPage as e:
            bad.append({"rule": "malformed_page", "reason": e.reason, "request": e.request, "record": e.body})
            summary["errors"].append(f"{q.key}: {e}")
        except SourceError as e:
            summary["errors"].append(f"{q.key}: {e}")
        except Exception as e:  # an answer the collector did not expect: this query fails, not the job
            log.exception("%s/%s: %s: unexpected %s", source, topic, q.key, type(e).__name__)
            summary["errors"].append(f"{q.key}: unexpected {type(e).__name__}: {scrub(str(e)[:300], secrets)}")
        summary["pages"] += pages
        for post in found:
            pid = f"{post['platform']}:{post['id']}"
            if str(post["id"]) in landed_before:
                summary["already_landed"] += 1
            elif pid not in posts:
                post["collected"] = {"at": iso(now), "source": source, "topic": topic, "query": q.key}
                posts[pid] = post
        if complete:
            state["queries"][q.key] = _next_cursor(cur, found, overlap, now)
            if memo:
                state["queries"][q.key]["memo"] = memo
    if erased:
        kept = [b for b in bad if not privacy.names_erased(b["record"], key, mod.NAME, erased)]
        summary["erased"] += len(bad) - len(kept)
        bad = kept
    summary["quarantined"] = len(bad)
    summary["posts"] = len(posts)
    summary["files"] = _land(lake, source, topic, posts.values(), bad, secrets)
    # posts of a day whose nightly run has already read the landing area: that day needs a re-run
    days = {utc(p["created_at"]).date().isoformat() for p in posts.values()}
    summary["late_days"] = sorted(d for d in days if (at(lake) / READ / f"{d}.json").exists())
    for d in summary["late_days"]:
        log.warning("%s/%s: posts of %s landed after its nightly run read the landed files: re-run that day "
                    "(make run START=%s END=%s, or clear its listening_nightly run)", source, topic, d, d, d)
    state["updated"], state["ok"] = iso(now), not summary["errors"]
    _write_atomic(state_path(lake, source, topic), json.dumps(state, indent=1, sort_keys=True).encode())
    _record_run(lake, summary, now, secrets)
    for g in summary["gaps"]:
        log.warning("%s/%s: gap: %s", source, topic, g)
    log.info("%s/%s: %d queries, %d pages, %d new posts, %d already landed, %d quarantined, %d errors",
             source, topic, summary["queries"], summary["pages"], summary["posts"],
             summary["already_landed"], summary["quarantined"], len(summary["errors"]))
    if summary["errors"]:
        raise SourceError(scrub(f"{source}/{topic}: {len(summary['errors'])} of {summary['queries']} queries "
                                f"failed (what the others fetched is landed; the failed ones resume from "
                                f"their cursor): " + "; ".join(summary["errors"]), secrets))
    return summary


def map_record(mod, rec, page) -> tuple[dict | None, dict | None]:
    """A platform record -> (post, None), or (None, quarantine row) when it can't be mapped or
    would not pass the nightly reader's checks (checked now, while the request is known)."""
    try:
        post = mod.to_post(rec, page)
        files.to_raw(post)
        return post, None
    except BadRecord as e:
        rule, reason = e.rule, e.reason
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as e:
        rule, reason = "mapping", f"{type(e).__name__}: {str(e)[:200]}"
    return None, {"rule": rule, "reason": reason, "request": page.request, "record": rec}


RUNS = "_state/collect/runs"
READ = "_state/collect/read"  # <day>.json: when a nightly run read that day's landed files


def mark_read(lake: Path, day, files: int) -> None:
    """Written by the nightly ingest: posts of `day` landed after it are late (need a re-run)."""
    _write_atomic(at(lake) / READ / f"{day}.json",
                  json.dumps({"read_at": iso(datetime.now(timezone.utc)), "files": files}).encode())


def _record_run(lake: Path, summary: dict, now: datetime, secrets: list[str]) -> None:
    """One file per job run (parallel tasks never share a file), read by `health`."""
    rec = {k: v for k, v in summary.items() if k != "files"}
    rec["at"] = iso(now)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    path = at(lake) / RUNS / f"dt={now.date().isoformat()}" / f"{stamp}-{summary['source']}-{summary['topic']}.json"
    _write_atomic(path, json.dumps(_scrubbed(rec, secrets), ensure_ascii=False, sort_keys=True).encode())


def health(lake: Path, day) -> list[dict]:
    """Per source, how its collection went during `day` (UTC): runs, failures, posts landed,
    gaps, the last error; `down` when its last run failed, and since when it has been failing.
    For the daily summary."""
    root = at(lake) / RUNS / f"dt={day}"
    records = [json.loads(p.read_text()) for p in sorted(root.glob("*.json"))] if root.is_dir() else []
    by_source: dict[str, dict] = {}
    for r in sorted(records, key=lambda r: r["at"]):
        h = by_source.setdefault(r["source"], {"source": r["source"], "runs": 0, "failed": 0, "posts": 0,
                                               "quarantined": 0, "gaps": 0, "skipped": 0, "down": False,
                                               "failing_since": None, "last_success": None, "last_error": None})
        h["runs"] += 1
        failed = bool(r.get("skipped") or r.get("errors"))
        if r.get("skipped"):
            h["skipped"] += 1
            h["last_error"] = r["skipped"]
        else:
            h["posts"] += r.get("posts", 0)
            h["quarantined"] += r.get("quarantined", 0)
            h["gaps"] += len(r.get("gaps", []))
            if r.get("errors"):
                h["failed"] += 1
                h["last_error"] = r["errors"][-1][:300]
        if failed:
            h["failing_since"] = h["failing_since"] or r["at"]
        else:
            h["last_success"], h["failing_since"] = r["at"], None
        h["down"] = failed  # as of its last run
    return [by_source[k] for k in sorted(by_source)]


def _next_cursor(cur: dict, found: list[dict], overlap: timedelta = OVERLAP, now: datetime | None = None) -> dict:
    """Newest creation time landed, and the ids near it (so the overlap does not land them twice).

    Creation times set by the author's app can lie in the future: the cursor never passes `now`."""
    times = [(min(utc(p["created_at"]), now) if now else utc(p["created_at"]), str(p["id"])) for p in found]
    if cur.get("newest"):
        times += [(utc(cur["newest"]), i) for i in cur.get("ids", [])]
    if not times:
        return dict(cur)
    newest = max(t for t, _ in times)
    edge = newest - overlap - overlap
    near = sorted({(t, i) for t, i in times if t >= edge}, reverse=True)[:MAX_IDS]  # the newest ones
    ids = sorted({i for _, i in near})
    return {"newest": iso(newest), "ids": ids}


def _scrubbed(value, secrets: list[str]):
    """Secrets removed from every string inside a record (never from its JSON text, where a
    replacement could break a number or a quote)."""
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {k: _scrubbed(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, secrets) for v in value]
    return value


def _land(lake: Path, source: str, topic: str, posts, bad: list[dict], secrets: list[str]) -> list[str]:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    nonce = uuid.uuid4().hex[:6]
    by_day: dict[str, list[bytes]] = {}
    for p in posts:
        day = utc(p["created_at"]).date().isoformat()
        line = json.dumps(_scrubbed(p, secrets) if secrets else p, ensure_ascii=False, sort_keys=True)
        by_day.setdefault(day, []).append(line.encode() + b"\n")
    written = []
    for day, lines in sorted(by_day.items()):
        path = at(lake) / LANDING / f"source={source}" / f"dt={day}" / f"{stamp}-{topic}-{nonce}.jsonl"
        _write_atomic(path, b"".join(lines))
        written.append(str(path))
    if bad:
        day = stamp[:4] + "-" + stamp[4:6] + "-" + stamp[6:8]
        path = at(lake) / LANDING / "_quarantine" / f"source={source}" / f"dt={day}" / f"{stamp}-{topic}-{nonce}.jsonl"
        lines = [json.dumps(_scrubbed(b, secrets), ensure_ascii=False, default=str).encode() + b"\n" for b in bad]
        _write_atomic(path, b"".join(lines))
        written.append(str(path))
    return written


# ---- the nightly side -------------------------------------------------------------------

def landing_files(lake: Path, day) -> list[Path]:
    """The day's landed files, most recent first (the nightly reader keeps the first copy)."""
    root = at(lake) / LANDING
    if not root.is_dir():
        return []
    files = [p for d in root.glob(f"source=*/dt={day}") for p in d.glob("*.jsonl")]
    return sorted(files, key=lambda p: p.name, reverse=True)


def landing_quarantine(lake: Path, day) -> list[dict]:
    """What the collectors refused on `day` (by collection time), as quarantine rows."""
    out = []
    for path in sorted((at(lake) / LANDING / "_quarantine").glob(f"source=*/dt={day}/*.jsonl")):
        name = f"{path.parent.parent.name}/{path.parent.name}/{path.name}"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                b = json.loads(line)
            except ValueError:
                continue
            record = b.get("record")
            out.append({"rule": b.get("rule"), "reason": f"{b.get('request')}: {b.get('reason')}",
                        "post_id": None, "source_file": name, "source_line": n,
                        "record": (record if isinstance(record, str) else json.dumps(record, ensure_ascii=False))[:10_000]})
    return out


def late_sources(config: Config, lake: Path, day_end: datetime) -> list[str]:
    """The jobs whose last run did not reach `day_end` yet (what the nightly run waits for)."""
    late = []
    for job in plan(config, load_sources(config.config_dir, config)):
        p = state_path(lake, job["source"], job["topic"])
        st = json.loads(p.read_text()) if p.exists() else {}
        updated = st.get("updated")
        if not updated or utc(updated) < day_end:
            late.append(f"{job['source']}/{job['topic']} (last run: {updated or 'never'})")
        elif not st.get("ok", True):  # its retry may still fetch the day's last posts
            late.append(f"{job['source']}/{job['topic']} (last run failed: {updated})")
    return late


WAIT_FOR_COLLECTION = timedelta(hours=2)


def ready_for_nightly(day: str, now: datetime | None = None, config_dir=None) -> tuple[bool, str]:
    """Whether the nightly run of `day` may start: every collection job has run past midnight,
    or two hours have passed (a platform that is down must not hold the others' day back)."""
    config = load_config(config_dir)
    day_end = datetime.fromisoformat(day).replace(tzinfo=timezone.utc) + timedelta(days=1)
    late = late_sources(config, lake_root(config), day_end)
    if not late:
        return True, f"{day}: every collection job has run past the end of the day"
    now = now or datetime.now(timezone.utc)
    if now - day_end >= WAIT_FOR_COLLECTION:
        return True, (f"{day}: going on without waiting longer for {', '.join(late)}; their posts of "
                      f"{day} that land later need a re-run of this day")
    return False, f"{day}: waiting for {', '.join(late)}"


def run_all(config: Config | None = None, lake: Path | None = None, now=None,
            only_source: str | None = None, only_topic: str | None = None) -> list[dict]:
    """Every job in turn (the CLI's `collect`); one job failing does not stop the others."""
    config = config or load_config()
    options = load_sources(config.config_dir, config)
    out = []
    for job in plan(config, options):
        if (only_source and job["source"] != only_source) or (only_topic and job["topic"] != only_topic):
            continue
        try:
            out.append(run_job(job["source"], job["topic"], config=config, options=options[job["source"]],
                               lake=lake, now=now))
        except SourceError as e:
            out.append({**job, "failed": str(e)})
    return out
