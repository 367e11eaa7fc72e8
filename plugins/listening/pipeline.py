"""The nightly run of one UTC day, as plain functions: one per DAG task.

Each function takes plain arguments (the day, the run id, optional directories), reads what the
previous step staged and stages its own output under `<lake>/_staging/dt=<day>/`. Nothing is
visible to readers until `publish` moves the validated partitions into the lake, each with one
atomic rename, so a failed or killed run leaves the last good partitions in place.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from listening import clean, lake, metrics, privacy
from listening.config import Config, import_dir as default_import_dir, lake_root, load_config
from listening.nlp import language, sentiment
from listening.queries import Matcher, topics_of
from listening.schema import MENTIONS, METRICS_DAILY, METRICS_HOURLY, QUARANTINE, RAW
from listening.sources import files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    day: date
    run_id: str
    config: Config
    lake: Path
    import_dir: Path


def make_run(day: str | date, run_id: str = "manual", config_dir: str | None = None,
             import_dir: str | None = None, lake_dir: str | None = None) -> Run:
    config = load_config(config_dir)
    return Run(
        day=date.fromisoformat(day) if isinstance(day, str) else day,
        run_id=run_id,
        config=config,
        lake=Path(lake_dir) if lake_dir else lake_root(config),
        import_dir=Path(import_dir) if import_dir else default_import_dir(),
    )


def _quarantine_table(run: Run, bad: list[dict]) -> pa.Table:
    return pa.Table.from_pylist([{**b, "run_id": run.run_id} for b in bad], schema=QUARANTINE.schema)


def stage_quarantine(run: Run, layer: str, bad: list[dict]) -> None:
    """Refused rows of a layer for the day; appended to what the run already refused there."""
    path = lake.stage_path(run.lake, run.day, QUARANTINE, layer=layer, dt=run.day)
    table = _quarantine_table(run, bad)
    if path.exists():
        table = pa.concat_tables([lake.read_file(path, QUARANTINE), table])
    lake.write_file(path, QUARANTINE, table)


# ---- tasks -------------------------------------------------------------------------------

BATCH = 50_000  # rows held as Python dicts at once; the rest waits as Arrow batches


class _ArrowSink:
    """Collects rows per platform into Arrow record batches as they arrive (`append`)."""

    def __init__(self, schema: pa.Schema):
        self.schema, self.rows, self.batches, self.count = schema, [], {}, 0

    def append(self, row: dict) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        by_platform: dict[str, list[dict]] = {}
        for r in self.rows:
            by_platform.setdefault(r["platform"], []).append(r)
        for platform, rows in by_platform.items():
            self.batches.setdefault(platform, []).append(pa.RecordBatch.from_pylist(rows, schema=self.schema))
        self.rows = []

    def tables(self) -> dict[str, pa.Table]:
        self.flush()
        return {p: pa.Table.from_batches(b, schema=self.schema) for p, b in sorted(self.batches.items())}


def ingest(run: Run) -> dict:
    """Import files -> raw rows of the day, per platform, as received."""
    lake.clear_staging(run.lake, run.day)
    sink = _ArrowSink(RAW.schema)
    _, bad = files.read_day(run.import_dir, run.day, rows=sink)
    tables = sink.tables()
    erased = privacy.suppressed(run.lake)
    skipped = 0
    if erased:  # authors erased on request never come back, whatever the import files hold
        key = privacy.load_key(run.lake)
        for platform, table in list(tables.items()):
            keep = [privacy.author_key(key, platform, a) not in erased for a in table["author_id"].to_pylist()]
            skipped += keep.count(False)
            tables[platform] = table.filter(pa.array(keep, pa.bool_()))
    for platform, table in tables.items():
        lake.write_file(lake.stage_path(run.lake, run.day, RAW, source=platform, dt=run.day), RAW, table)
    stage_quarantine(run, "raw", bad)
    log.info("%s: %d posts read from %s, %d lines quarantined, %d skipped (authors erased on request)",
             run.day, sink.count - skipped, run.import_dir, len(bad), skipped)
    return {"posts": sink.count - skipped, "quarantined": len(bad), "erased": skipped, "platforms": sorted(tables)}


def staged_raw(run: Run) -> pa.Table:
    root = lake.staging_dir(run.lake, run.day) / RAW.path
    tables = [lake.read_file(p, RAW) for p in sorted(root.rglob(lake.PART))] if root.exists() else []
    return pa.concat_tables(tables) if tables else RAW.schema.empty_table()


# The stages of enrichment, each a plain function over rows (dicts), so each can be timed
# and tested alone (bench/ measures them one by one against their bare libraries).

def normalise(raw_rows: list[dict]) -> list[dict]:
    """Cleaned text and what it holds: hashtags, mentions, links."""
    out = []
    for r in raw_rows:
        text = clean.clean_text(r["text"])
        out.append({**r, "text": text, "hashtags": clean.hashtags(text), "mentions": clean.mentions(text)})
    return out


def match(rows: list[dict], matcher: Matcher) -> list[dict]:
    """Keep the posts that belong to a topic, with the topics and why."""
    out = []
    for r in rows:
        found = matcher.match(r["text"], r["hashtags"], r["mentions"], r["author_handle"],
                              lang=r["lang"], platform=r["platform"])
        if found:
            out.append({**r, "topics": topics_of(found), "matches": found})
    return out


def identify_language(rows: list[dict], languages: list[str]) -> list[dict]:
    langs = language.identify([r["text"] for r in rows], [r["lang"] for r in rows], languages)
    for r, (lang, source, conf) in zip(rows, langs):
        r["lang"], r["lang_source"], r["lang_confidence"] = lang, source, conf
    return rows


def score_sentiment(rows: list[dict], model_dir: str | None = None) -> list[dict]:
    scores = sentiment.score([r["text"] for r in rows], [r["lang"] for r in rows], model_dir=model_dir)
    for r, s in zip(rows, scores):
        r["sentiment_score"] = s.score if s else None
        r["sentiment_label"] = s.label if s else None
        r["sentiment_confidence"] = s.confidence if s else None
        r["sentiment_engine"] = s.engine if s else None
    return rows


def to_mentions(rows: list[dict], key: bytes) -> pa.Table:
    """The mentions table: pseudonymised authors, derived columns, nothing personal kept."""
    for r in rows:
        r["author_key"] = privacy.author_key(key, r["platform"], r["author_id"])
        r["hour"] = r["created_at"].hour
        r["links"] = clean.links(r["text"])
        r["is_reply"] = r["reply_to"] is not None
        r["is_repost"] = r["repost_of"] is not None
        r["engagement"] = r["like_count"] + r["repost_count"] + r["reply_count"] + r["quote_count"]
    return pa.Table.from_pylist(rows, schema=MENTIONS.schema)


RAW_ONLY = ["native_id", "source_file", "source_line", "payload"]  # not needed past the raw layer


def enrich(raw: pa.Table, config: Config, key: bytes) -> pa.Table:
    """Raw posts -> mentions: clean, match topics, keep matches, language, sentiment, pseudonymise.

    Batch by batch, so memory holds one batch of dicts and the Arrow tables, whatever the day's size.
    """
    matcher = Matcher(config.watchlists)
    languages = list(config.settings.languages)
    tables = []
    for batch in raw.drop_columns(RAW_ONLY).to_batches(max_chunksize=BATCH):
        rows = normalise(batch.to_pylist())
        if matcher.uses_lang:  # a lang: filter needs every post's language before matching
            rows = match(identify_language(rows, languages), matcher)
        else:  # otherwise identify only the posts that matched: most of the cost is lingua
            rows = identify_language(match(rows, matcher), languages)
        tables.append(to_mentions(score_sentiment(rows, config.settings.sentiment_model_dir), key))
    return pa.concat_tables(tables) if tables else MENTIONS.schema.empty_table()


def build_mentions(run: Run) -> dict:
    raw = staged_raw(run)
    # The same post can arrive from two sources (a collector and a vendor export): keep one.
    if raw.num_rows:
        raw = lake.sort_table(RAW, raw)
        ids = raw["post_id"].to_pylist()
        first = sorted({pid: i for i, pid in reversed(list(enumerate(ids)))}.values())
        raw = raw.take(first)
    table = enrich(raw, run.config, privacy.load_key(run.lake))
    lake.write_file(lake.stage_path(run.lake, run.day, MENTIONS, dt=run.day), MENTIONS, table)
    log.info("%s: %d of %d posts matched a topic", run.day, table.num_rows, raw.num_rows)
    return {"posts": raw.num_rows, "mentions": table.num_rows}


def staged(run: Run, ds) -> pa.Table:
    p = lake.stage_path(run.lake, run.day, ds, dt=run.day)
    if not p.exists():
        raise FileNotFoundError(f"{p}: the previous step of the run did not stage {ds.name}")
    return lake.read_file(p, ds)


HISTORY_DAYS = 28


def _history(run: Run) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Hashtags and top terms of each topic over the 28 published days before this one."""
    from datetime import timedelta

    import pyarrow.parquet as pq

    tags: dict[str, set[str]] = {}
    words: dict[str, set[str]] = {}
    for k in range(1, HISTORY_DAYS + 1):
        d = run.day - timedelta(days=k)
        p = lake.partition_dir(run.lake, MENTIONS, dt=d) / lake.PART
        if p.exists():
            t = pq.read_table(p, columns=["topics", "hashtags"])
            for topics, hashtags in zip(t["topics"].to_pylist(), t["hashtags"].to_pylist()):
                for topic in topics:
                    tags.setdefault(topic, set()).update(hashtags)
        m = lake.read_partition(run.lake, METRICS_DAILY, dt=d)
        if m is not None:
            for topic, top in zip(m["topic"].to_pylist(), m["top_terms"].to_pylist()):
                words.setdefault(topic, set()).update(top or [])
    return tags, words


def compute_metrics(run: Run) -> dict:
    mentions = staged(run, MENTIONS)
    topics = [t.name for t in run.config.watchlists.topics]
    groups = {t.name: t.group for t in run.config.watchlists.topics}
    seen_tags, seen_terms = _history(run)
    day_table = metrics.daily(mentions, run.day, topics, groups, seen_tags, seen_terms)
    lake.write_file(lake.stage_path(run.lake, run.day, METRICS_DAILY, dt=run.day), METRICS_DAILY, day_table)
    hour_table = metrics.hourly(mentions, groups)
    lake.write_file(lake.stage_path(run.lake, run.day, METRICS_HOURLY, dt=run.day), METRICS_HOURLY, hour_table)
    return {"topics": day_table.num_rows, "hours": hour_table.num_rows}


def detect(run: Run) -> dict:
    """Emerging issues of the day, staged as the alerts partition so validation checks them."""
    from listening import detect as detectors

    return detectors.detect_day(run)


def deliver(run: Run) -> dict:
    """Red alerts at once, the rest in the digest; may raise alerts.DeliveryError (retriable)."""
    from listening import alerts

    return alerts.deliver_day(run)


def validate(run: Run) -> dict:
    from listening import quality

    return quality.validate_staged(run)


def publish(run: Run) -> dict:
    from listening import catalog

    published = lake.publish(run.lake, run.day)
    path = catalog.build(run.lake)
    log.info("%s: published %d partitions, catalog %s rebuilt", run.day, len(published), path)
    return {"partitions": [str(p.relative_to(run.lake)) for p in published], "catalog": str(path)}


def summarise(run: Run) -> dict:
    """The day in one screen (printed by the demo), and the HTML report per topic group."""
    from listening import report, report_html

    pages = report_html.write_reports(run)
    out = report.daily_summary(run)
    out["reports"] = [str(p) for p in pages]
    return out


def run_day(day: str | date, **kw) -> dict:
    """The whole nightly run of one day, without a scheduler (CLI and tests)."""
    run = make_run(day, **kw)
    out = {"ingest": ingest(run), "mentions": build_mentions(run), "metrics": compute_metrics(run),
           "detect": detect(run), "validate": validate(run), "publish": publish(run), "deliver": deliver(run)}
    out["summary"] = summarise(run)
    return out


def as_json(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str)


def _not_retriable() -> tuple[type[Exception], ...]:
    from listening.config import ConfigError
    from listening.quality import QualityError

    return (ConfigError, QualityError)


NOT_RETRIABLE = _not_retriable()

STEP_FUNCTIONS = {"ingest": ingest, "build_mentions": build_mentions, "compute_metrics": compute_metrics,
                  "detect": detect, "validate": validate, "publish": publish, "deliver": deliver,
                  "summarise": summarise}


def run_step(name: str, day: str, run_id: str | None = None) -> dict:
    """Entry point of the DAG's tasks: one step of the run of `day`, paths from the environment."""
    return STEP_FUNCTIONS[name](make_run(day, run_id or "manual"))
