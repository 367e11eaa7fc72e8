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
import pyarrow.compute as pc

from listening import clean, lake, metrics, privacy
from listening.memory import gc_paused
from listening.config import TRIAGE, Config, import_dir as default_import_dir, lake_root, load_config
from listening.nlp import entities, language, sentiment
from listening.queries import Matcher, topics_of
from listening.schema import MENTIONS, METRICS_DAILY, METRICS_HOURLY, QUARANTINE, RAW, conform
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
    import os

    config = load_config(config_dir)
    root = lake.at(lake_dir) if lake_dir else lake_root(config)
    if import_dir:
        imports = Path(import_dir)
    elif not os.environ.get("VIGIE_IMPORT_DIR") and (config.config_dir / "sources.yml").exists():
        imports = root / "import"  # collectors feed this lake: never fall back on the bundled sample
    else:
        imports = default_import_dir()
    return Run(
        day=date.fromisoformat(day) if isinstance(day, str) else day,
        run_id=run_id,
        config=config,
        lake=root,
        import_dir=imports,
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
    """Collects rows per platform into Arrow record batches as they arrive (`append`). Past
    `spill` rows held, they go to a sorted run file per platform (`spill_dir`), merged at the end
    (`ingest`): a large day is never held whole."""

    FLUSH = 5_000  # rows held as dicts at most: packing a few thousand at a time stays in the CPU's cache

    def __init__(self, schema: pa.Schema, spill_dir: Path | None = None, spill: int | None = None):
        self.schema, self.rows, self.batches, self.count = schema, [], {}, 0
        self.spill_dir, self.spill_rows, self.held, self.runs = spill_dir, spill, 0, {}

    def append(self, row: dict) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= self.FLUSH:
            self.flush()

    def flush(self) -> None:
        by_platform: dict[str, list[dict]] = {}
        for r in self.rows:
            by_platform.setdefault(r["platform"], []).append(r)
        for platform, rows in by_platform.items():
            self.batches.setdefault(platform, []).append(pa.RecordBatch.from_pylist(rows, schema=self.schema))
        self.held += len(self.rows)
        self.rows = []
        if self.spill_rows and self.held >= self.spill_rows:
            self.spill()

    def spill(self) -> None:
        for platform, t in self._tables().items():
            path = self.spill_dir / platform / f"run-{len(self.runs.get(platform, [])):04d}.parquet"
            lake.write_table(path, lake.sort_table(RAW, t), compression="zstd", row_group_size=SHARD_ROW_GROUP)
            self.runs.setdefault(platform, []).append(path)
        self.batches, self.held = {}, 0

    def _tables(self) -> dict[str, pa.Table]:
        return {p: pa.Table.from_batches(b, schema=self.schema) for p, b in sorted(self.batches.items())}

    def tables(self) -> dict[str, pa.Table]:
        """Every platform's rows, when nothing was spilled."""
        self.flush()
        if self.runs:
            raise RuntimeError("rows were spilled to runs: merge them (ingest)")
        return self._tables()


def read_sources(run: Run, rows=None) -> tuple[object, list[dict], dict]:
    """The day's posts from the import files and the collectors' landed files (one copy of
    each post), the refused lines, and where they came from. The import directory may be absent
    when the collectors feed the lake."""
    from listening import collect

    landed = collect.landing_files(run.lake, run.day)
    collecting = (run.lake / collect.LANDING).is_dir() or (run.config.config_dir / collect.SOURCES_FILE).exists()
    import_dir = run.import_dir if run.import_dir.is_dir() or not collecting else None
    seen: dict = {}
    rows, bad = files.read_day(import_dir, run.day, rows=rows, landed=landed, seen=seen)
    bad += collect.landing_quarantine(run.lake, run.day)
    return rows, bad, {"import_dir": import_dir, "landed": len(landed), "folded": seen["_folded"]}


def _mark_read(run: Run, read: dict) -> None:
    if read["landed"]:
        from listening import collect

        collect.mark_read(run.lake, run.day, read["landed"])


RUNS = "_runs"


def ingest(run: Run) -> dict:
    """Import files and the collectors' landed files -> raw rows of the day, per platform.

    A day larger than `enrich_shard_posts` posts goes through sorted runs on disk (staged), each
    platform's file then written from them a row group at a time."""
    lake.clear_staging(run.lake, run.day)
    runs = lake.staging_dir(run.lake, run.day) / RUNS
    sink = _ArrowSink(RAW.schema, runs, run.config.settings.enrich_shard_posts)
    _, bad, read = read_sources(run, rows=sink)
    _mark_read(run, read)
    sink.flush()
    if sink.runs:
        sink.spill()
    skipped, platforms = 0, sorted(set(sink.runs) | set(sink.batches))
    for platform in platforms:
        target = lake.stage_path(run.lake, run.day, RAW, source=platform, dt=run.day)
        if platform not in sink.runs:
            table, n = without_erased(run, pa.Table.from_batches(sink.batches.pop(platform), schema=RAW.schema))
            lake.write_file(target, RAW, table)
        else:
            n = _merge_runs(run, sink.runs[platform], target)
        skipped += n
    lake.remove_tree(runs)
    stage_quarantine(run, "raw", bad)
    log.info("%s: %d posts read from %s and %d landed files (%d copies of posts fetched twice "
             "folded), %d lines quarantined, %d skipped (authors erased on request)",
             run.day, sink.count - skipped, read["import_dir"] or "no import directory", read["landed"],
             read["folded"], len(bad), skipped)
    return {"posts": sink.count - skipped, "quarantined": len(bad), "erased": skipped,
            "platforms": platforms, "landed_files": read["landed"], "folded": read["folded"]}


RAW_PART_ROWS = 32_768  # raw rows written at a time from the runs: with their payloads, 128k rows were 260 MB


def _merge_runs(run: Run, paths: list[Path], target: Path) -> int:
    """One platform's sorted runs -> its raw file, in (created_at, post_id) order, without the posts
    of erased authors; how many of those went."""
    import numpy as np

    keys = pa.concat_tables([lake.read_table(p, columns=list(RAW.sort)).append_column(
        "_run", pa.array(np.full(pq_rows(p), i, np.int32))) for i, p in enumerate(paths)])
    erased = set().union(*(_erased_posts(run, lake.read_table(p, columns=ERASURE_COLUMNS))
                           for p in paths)) if privacy.suppressed(run.lake) else set()
    source_of = lake.sort_table(RAW, keys)["_run"].to_numpy()
    keys = None
    skipped = 0

    def parts():
        nonlocal skipped
        for t in lake.interleave(paths, source_of, RAW_PART_ROWS, batch=SHARD_ROW_GROUP):
            t, n = _without(t, erased)
            skipped += n
            yield t

    lake.write_file_parts(target, RAW, parts())
    return skipped


def without_erased(run: Run, raw: pa.Table) -> tuple[pa.Table, int]:
    """Raw rows without the posts of authors erased on request, and how many went: they never come
    back, whatever the import files hold (the collectors' rule, privacy.erased_post: by author id, and
    by handle for an author erased before any post of theirs was seen), nor do reposts of their posts
    read in the same run (a repost's text is theirs; reposts of their older posts are not caught)."""
    return _without(raw, _erased_posts(run, raw))


ERASURE_COLUMNS = ["post_id", "platform", "author_id", "author_handle", "repost_of"]


def _erased_posts(run: Run, raw: pa.Table) -> set[str]:
    """The ids of the posts of erased authors among `raw` (at least ERASURE_COLUMNS)."""
    erased = privacy.suppressed(run.lake)
    if not erased or not raw.num_rows:
        return set()
    key = privacy.load_key(run.lake)
    return {r["post_id"] for r in raw.select(ERASURE_COLUMNS).to_pylist() if privacy.erased_post(r, key, erased)}


def _without(raw: pa.Table, theirs: set[str]) -> tuple[pa.Table, int]:
    """`raw` without the posts in `theirs` and the reposts of them; how many went."""
    if not theirs or not raw.num_rows:
        return raw, 0
    keep = [p not in theirs and r not in theirs for p, r in zip(raw["post_id"].to_pylist(),
                                                                   raw["repost_of"].to_pylist())]
    return raw.filter(pa.array(keep, pa.bool_())), keep.count(False)


def staged_raw(run: Run, shard: int = 0, of: int = 1) -> pa.Table:
    """The raw rows ingest staged (one shard of them: filtered file by file, so a shard task never
    holds the whole day)."""
    root = lake.staging_dir(run.lake, run.day) / RAW.path
    tables = []
    for p in sorted(root.rglob(lake.PART)) if root.exists() else []:
        if of == 1:
            tables.append(lake.read_file(p, RAW))
            continue
        for _, t in lake.read_parts(p, RAW, lake.PARQUET["row_group_size"]):  # a platform's file may be most of the day
            tables.append(t.filter(_shard_mask(t["post_id"], shard, of)))
    return pa.concat_tables(tables) if tables else RAW.schema.empty_table()


# The stages of enrichment, each a plain function over rows (dicts), so each can be timed
# and tested alone (bench/ measures them one by one against their bare libraries). They run
# with the cyclic GC paused (listening.memory), except spaCy's stage, which runs as spaCy expects.

@gc_paused
def normalise(raw_rows: list[dict]) -> list[dict]:
    """Cleaned text, personal data masked, and what it holds: hashtags, mentions, emoji."""
    out = []
    clean_text, tags, emoji, mask = clean.clean_text, clean.tags, clean.emoji, privacy.mask_personal
    maybe_personal = clean.digit_re().search  # mask_personal changes only texts with an '@' or a digit
    for r in raw_rows:
        text = clean_text(r["text"])
        if "@" in text or maybe_personal(text):
            text, masked = mask(text)
        else:
            masked = []
        hashtags, mentions = tags(text)
        out.append({**r, "text": text, "masked": masked, "hashtags": hashtags, "mentions": mentions,
                    "emoji": emoji(text)})
    return out


@gc_paused
def match(rows: list[dict], matcher: Matcher) -> list[dict]:
    """Keep the posts that belong to a topic, with the topics and why."""
    out = []
    for r in rows:
        found = matcher.match(r["text"], r["hashtags"], r["mentions"], r["author_handle"],
                              lang=r["lang"], platform=r["platform"])
        if found:
            out.append({**r, "topics": topics_of(found), "matches": found})
    return out


@gc_paused
def identify_language(rows: list[dict], languages: list[str]) -> list[dict]:
    langs = language.identify([r["text"] for r in rows], [r["lang"] for r in rows], languages)
    for r, (lang, source, conf) in zip(rows, langs):
        r["lang"], r["lang_source"], r["lang_confidence"] = lang, source, conf
    return rows


@gc_paused
def score_sentiment(rows: list[dict], model_dir: str | None = None) -> list[dict]:
    scores = sentiment.score([r["text"] for r in rows], [r["lang"] for r in rows], model_dir=model_dir)
    for r, s in zip(rows, scores):
        r["sentiment_score"] = s.score if s else None
        r["sentiment_label"] = s.label if s else None
        r["sentiment_confidence"] = s.confidence if s else None
        r["sentiment_engine"] = s.engine if s else None
    return rows


class People:
    """Who is who on the day, for pseudonyms and roles, without keeping a handle past this stage.

    Knows the institution's own accounts and the press from the watchlists, and the handle ->
    account id of every author of the day, so a mentioned account that posted gets the same
    pseudonym as its posts; one that did not gets a keyed hash of its handle.
    """

    def __init__(self, config: Config, key: bytes, raw: pa.Table | None = None):
        from listening.queries import AccountSet

        w = config.watchlists
        self.key = key
        self.own = {p: AccountSet(h) for p, h in w.institution.accounts.items()}
        self.own_anywhere = AccountSet([h for hs in w.institution.accounts.values() for h in hs])
        self.press = {p: AccountSet(h) for p, h in w.press.items()}
        self.ids: dict[tuple[str, str], str] = {}
        if raw is not None and raw.num_rows:
            authors = raw.select(["platform", "author_handle", "author_id"]).group_by(
                ["platform", "author_handle", "author_id"]).aggregate([])
            for p, h, a in zip(*(authors[c].to_pylist() for c in ("platform", "author_handle", "author_id"))):
                if h:
                    self.ids[(p, h.casefold())] = a

    def role(self, platform: str, handle: str | None) -> str | None:
        if handle in self.own.get(platform, ()):
            return "own"
        if handle in self.press.get(platform, ()):
            return "press"
        return None

    def mentioned_key(self, platform: str, handle: str) -> str:
        aid = self.ids.get((platform, handle.casefold()))
        return privacy.author_key(self.key, platform, aid) if aid else privacy.handle_key(self.key, platform, handle)


@gc_paused
def identify_people(rows: list[dict], people: People) -> list[dict]:
    """Pseudonyms, roles and whether the post speaks to the institution; handles stay behind."""
    authors: dict[tuple, str] = {}  # each pseudonym computed once per batch (an HMAC each)
    mentioned: dict[tuple, str] = {}
    for r in rows:
        p = r["platform"]
        k = (p, r["author_id"])
        key = authors.get(k)
        if key is None:
            key = authors[k] = privacy.author_key(people.key, p, r["author_id"])
        r["author_key"] = key
        r["author_role"] = people.role(p, r["author_handle"])
        keys = []
        for m in r["mentions"]:
            mk = mentioned.get((p, m))
            if mk is None:
                mk = mentioned[(p, m)] = people.mentioned_key(p, m)
            keys.append(mk)
        r["mentioned_keys"] = keys
        r["addresses_institution"] = r["author_role"] != "own" and any(m in people.own_anywhere for m in r["mentions"])
    return rows


def find_entities(rows: list[dict], enabled: bool = True) -> list[dict]:
    found = entities.extract([r["text"] for r in rows], [r["lang"] for r in rows]) if enabled else [None] * len(rows)
    for r, e in zip(rows, found):
        r["entities"] = e
    return rows


@gc_paused
def triage_posts(rows: list[dict], action_lang: str = "en", table=None) -> list[dict]:
    """What each post asks of the team (listening.triage), the response in the team's language."""
    from listening import triage

    engagement = [r["like_count"] + r["repost_count"] + r["reply_count"] + r["quote_count"] for r in rows]
    found = triage.classify([r["text"] for r in rows], [r["lang"] for r in rows],
                            [r["addresses_institution"] for r in rows], engagement,
                            action_lang=action_lang if action_lang in ("en", "fr") else "en", path=table)
    for r, t in zip(rows, found):
        r["triage"], r["triage_action"], r["urgency"], r["triage_reason"] = t.label, t.action, t.urgency, t.reason
    return rows


# Filled over the whole day once every batch is enriched (listening.dedupe, listening.authenticity).
DAY_COLUMNS = ["original_id", "cluster_id", "cluster_size", "cluster_authors", "bot_score", "bot_reasons"]


@gc_paused
def to_mentions(rows: list[dict]) -> pa.Table:
    """One batch of enriched rows as Arrow; nothing personal is kept (handles and ids stay in raw)."""
    for r in rows:
        r["hour"] = r["created_at"].hour
        r["links"] = clean.links(r["text"])
        r["is_reply"] = r["reply_to"] is not None
        r["is_repost"] = r["repost_of"] is not None
        r["engagement"] = r["like_count"] + r["repost_count"] + r["reply_count"] + r["quote_count"]
    names = [f.name for f in MENTIONS.schema if f.name not in DAY_COLUMNS]
    schema = pa.schema([MENTIONS.schema.field(n) for n in names])
    return pa.Table.from_pylist(rows, schema=schema)


# What the day's columns are computed from (a table's texts, or what the shards keep of them).
DAY_INPUTS = ["post_id", "created_at", "text", "author_key", "repost_of", "links", "is_repost", "author_followers"]
# What an enrich shard keeps of each text for the merge (dedupe.text_keys), so the day's texts never
# meet in one task; the MinHash signatures of its distinct long texts go in a file beside it.
TEXT_KEYS = {"_text_key": pa.uint64(), "_text_long": pa.bool_(), "_norm_len": pa.int32()}
MERGE_INPUTS = [c for c in DAY_INPUTS if c != "text"] + list(TEXT_KEYS) + ["_handle"]


@gc_paused
def day_columns(table: pa.Table, handles: list[str | None] | None = None, sign=None) -> dict[str, pa.Array]:
    """Near-duplicate clusters and bot-likeness need the whole day's posts, not one batch.

    `table` holds at least DAY_INPUTS, in the day's order, or instead of the texts the shards'
    TEXT_KEYS, with `sign(keys)` giving the signatures of those text keys; `handles` (aligned with
    the rows) feed the bot score's handle cues and are not kept."""
    from listening import authenticity, dedupe

    # Arrow columns and datetime64 as they are: not a Python object per post and column
    cols = {c: dedupe._strings(table[c]) for c in ("post_id", "author_key", "repost_of")}
    created = table["created_at"].to_numpy()
    if "text" in table.column_names:
        text = dedupe._strings(table["text"])
        norm = dedupe.normalise(text)  # once for both
        found = dedupe.clusters(cols["post_id"], text, created, cols["author_key"], cols["repost_of"],
                                normalised=norm)
        lengths = None
    else:
        if sign is None:
            raise ValueError("day_columns: a table without texts needs `sign` (the signatures of its text keys)")
        key = table["_text_key"]
        keys = {"key": pc.fill_null(key, 0).to_numpy(), "has_key": pc.is_valid(key).to_numpy(zero_copy_only=False),
                "long": pc.fill_null(table["_text_long"], False).to_numpy(zero_copy_only=False)}
        found = dedupe.clusters_by_key(cols["post_id"], created, cols["author_key"], cols["repost_of"], keys,
                                       lambda rows: sign(keys["key"][rows]))
        text = norm = keys = None
        lengths = table["_norm_len"]
    scores, reasons = authenticity.bot_scores(cols["author_key"], created, text, table["links"],
                                              found["cluster_size"], table["is_repost"],
                                              cluster_ids=found["cluster_id"], handles=handles,
                                              followers=table["author_followers"], normalised=norm,
                                              norm_lengths=lengths)
    extra = {**found, "bot_score": scores, "bot_reasons": reasons}
    return {c: pa.array(extra[c], MENTIONS.schema.field(c).type) for c in DAY_COLUMNS}


def add_day_columns(table: pa.Table, handles: list[str | None] | None = None) -> pa.Table:
    """The mentions of a day (or an hour) with their day's columns (`day_columns`)."""
    for c, values in day_columns(table, handles).items():
        table = table.append_column(MENTIONS.schema.field(c), values)
    return conform(MENTIONS, table)


RAW_ONLY = ["native_id", "source_file", "source_line", "payload"]  # not needed past the raw layer


def enrich_rows(raw: pa.Table, config: Config, key: bytes, authors: pa.Table | None = None
                ) -> tuple[pa.Table, list[str | None]]:
    """Raw posts -> mentions without the day's columns, and their authors' handles (for the bot
    score, not kept): clean, mask, match topics, language, sentiment, pseudonymise, entities, triage.

    Batch by batch, so memory holds one batch of dicts and the Arrow tables, whatever the day's size.
    `authors` (platform, author_handle, author_id of the whole day) when `raw` is one shard of it.
    """
    matcher = Matcher(config.watchlists)
    settings = config.settings
    languages = list(settings.languages)
    people = People(config, key, raw if authors is None else authors)
    triage_table = config.config_dir / TRIAGE if (config.config_dir / TRIAGE).exists() else None
    tables, handles = [], []
    for batch in raw.drop_columns(RAW_ONLY).to_batches(max_chunksize=BATCH):
        rows = normalise(batch.to_pylist())
        if matcher.uses_lang:  # a lang: filter needs every post's language before matching
            rows = match(identify_language(rows, languages), matcher)
        else:  # otherwise identify only the posts that matched: most of the cost is lingua
            rows = identify_language(match(rows, matcher), languages)
        rows = score_sentiment(rows, settings.sentiment_model_dir)
        rows = find_entities(identify_people(rows, people), settings.entities)
        rows = triage_posts(rows, settings.digest_language, triage_table)
        handles += [r["author_handle"] for r in rows]
        tables.append(to_mentions(rows))
        # Freed before the next batch's to_pylist (GC on): alive then, this batch's dicts move to the
        # old generation and set off a full collection nearly every batch (8% of the CPU at 1M posts).
        rows = None
    return (pa.concat_tables(tables) if tables else to_mentions([])), handles


def enrich(raw: pa.Table, config: Config, key: bytes) -> pa.Table:
    """Raw posts -> mentions: `enrich_rows`, then, over the whole day, near-duplicate clusters and
    bot-likeness (`add_day_columns`)."""
    table, handles = enrich_rows(raw, config, key)
    if not table.num_rows:
        return MENTIONS.schema.empty_table()
    return add_day_columns(table, handles)


def _day_raw(run: Run, shard: int = 0, of: int = 1) -> pa.Table:
    """The day's raw posts (or one shard of them), each post once."""
    raw = staged_raw(run, shard, of)
    # The same post can arrive from two sources (a collector and a vendor export): keep one
    # (both copies have the same id, so the same shard).
    if raw.num_rows:
        raw = lake.sort_table(RAW, raw)
        ids = raw["post_id"].to_pylist()
        first = sorted({pid: i for i, pid in reversed(list(enumerate(ids)))}.values())
        raw = raw.take(first)
    return raw


# A large day is enriched in shards (by a hash of the post id), one mapped task each, so that
# several workers share the CPU-heavy stages and no task holds the whole day's raw posts; then
# `merge_mentions` adds the columns that need the whole day (near-duplicates, bot-likeness).
SHARDS = "_shards"
SHARD_ROW_GROUP = 16_384  # small: the merge reads every shard at once, a few batches of each


def plan_shards(run: Run) -> list[dict]:
    """How many shards the day needs: one per `enrich_shard_posts` posts (the sample: one)."""
    import math

    posts = sum(pq_rows(p) for p in (lake.staging_dir(run.lake, run.day) / RAW.path).rglob(lake.PART))
    n = max(1, math.ceil(posts / run.config.settings.enrich_shard_posts))
    return [{"shard": i, "of": n} for i in range(n)]


def pq_rows(path: Path) -> int:
    return lake.parquet_metadata(path).num_rows


def _shard_mask(post_ids: pa.Array, shard: int, of: int) -> pa.Array:
    import zlib

    return pa.array([zlib.crc32(p.encode()) % of == shard for p in post_ids.to_pylist()], pa.bool_())


def _shard_path(run: Run, shard: int, of: int, kind: str = "mentions") -> Path:
    """A shard's staged file: its mentions, or the signatures of its texts."""
    return lake.staging_dir(run.lake, run.day) / SHARDS / f"{kind}-{shard:03d}-of-{of:03d}.parquet"


def shard_text_keys(table: pa.Table) -> tuple[pa.Table, pa.Table]:
    """A shard's mentions with TEXT_KEYS added, and the MinHash signatures of its distinct long
    texts (key, sig: num_perm uint32 as bytes), computed here, in parallel, not in the merge."""
    import numpy as np

    from listening import dedupe

    text = dedupe._strings(table["text"])
    norm = dedupe.normalise(text)
    keys = dedupe.text_keys(text, norm)
    for name, values, mask in (("_text_key", keys["key"], ~keys["has_key"]), ("_text_long", keys["long"], None),
                               ("_norm_len", keys["norm_len"], None)):
        table = table.append_column(pa.field(name, TEXT_KEYS[name]), pa.array(values, TEXT_KEYS[name], mask=mask))
    rows = np.flatnonzero(keys["long"])
    rows = rows[np.unique(keys["key"][rows], return_index=True)[1]]  # a row per distinct long text
    sig = dedupe.signatures([norm[i] for i in rows])
    norm = None
    width = sig.shape[1] * 4
    signed = pa.table({"key": pa.array(keys["key"][rows], pa.uint64()),
                       "sig": pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(rows),
                                                                   [None, pa.py_buffer(sig.tobytes())])})
    return table, signed


def signatures_of(paths: list[Path], wanted, num_perm: int | None = None):
    """The signatures of the `wanted` text keys (a numpy uint64 array, distinct, in that order) from
    the shards' signature files, a row group at a time: the merge holds these, not the day's texts."""
    import numpy as np

    from listening import dedupe

    num_perm = num_perm or dedupe.NUM_PERM
    wanted = np.asarray(wanted, dtype=np.uint64)
    if not len(wanted):
        return np.empty((0, num_perm), dtype=np.uint32)
    pos = np.argsort(wanted, kind="stable")
    sorted_keys = wanted[pos]
    out = np.empty((len(wanted), num_perm), dtype=np.uint32)
    found = np.zeros(len(wanted), dtype=bool)
    for p in paths:
        for batch in lake.iter_batches(p, SHARD_ROW_GROUP):
            k = batch.column("key").to_numpy()
            at = np.minimum(np.searchsorted(sorted_keys, k), len(wanted) - 1)
            hit = sorted_keys[at] == k
            sig = batch.column("sig")
            if sig.type.byte_width != num_perm * 4:
                raise RuntimeError(f"{p}: signatures of {sig.type.byte_width // 4} values, {num_perm} expected")
            raw = np.frombuffer(sig.buffers()[1], dtype=np.uint32)
            raw = raw[sig.offset * num_perm:(sig.offset + len(sig)) * num_perm].reshape(-1, num_perm)
            out[pos[at[hit]]] = raw[hit]
            found[pos[at[hit]]] = True
    if not found.all():
        where = paths[0].parent if paths else "the shards"
        raise RuntimeError(f"{where}: no signature for {int((~found).sum())} of the day's texts "
                           f"(a shard's signatures file is missing or older): re-run the day's enrich tasks")
    return out


def enrich_shard(run: Run, shard: int = 0, of: int = 1) -> dict:
    """One shard of the day's posts -> its mentions (without the day's columns), staged apart."""
    mine = _day_raw(run, shard, of)
    root = lake.staging_dir(run.lake, run.day) / RAW.path  # who posted today, for pseudonyms: 3 columns
    cols = ["platform", "author_handle", "author_id"]
    parts = [lake.read_table(p, columns=cols) for p in sorted(root.rglob(lake.PART))] if root.exists() else []
    authors = pa.concat_tables(parts) if parts else RAW.schema.empty_table().select(cols)
    table, handles = enrich_rows(mine, run.config, privacy.load_key(run.lake), authors)
    table = table.append_column("_handle", pa.array(handles, pa.string()))
    table = lake.sort_table(MENTIONS, table)  # in the day's order already: the merge relies on it
    table, signed = shard_text_keys(table)
    # the signatures first: a shard's mentions file says it is done
    lake.write_table(_shard_path(run, shard, of, "signatures"), signed, compression="none",
                     row_group_size=SHARD_ROW_GROUP)
    lake.write_table(_shard_path(run, shard, of), table, compression="zstd", row_group_size=SHARD_ROW_GROUP)
    log.info("%s: shard %d of %d: %d of %d posts matched a topic", run.day, shard + 1, of, table.num_rows,
             mine.num_rows)
    return {"shard": shard, "of": of, "posts": mine.num_rows, "mentions": table.num_rows}


def merge_mentions(run: Run) -> dict:
    """The shards of the day in one mentions partition, with the columns that need the whole day.

    Only the day columns' inputs are read whole (MERGE_INPUTS: ids, authors, reposted ids, handles,
    links and fixed-width columns, not the texts) with the signatures of the day's distinct long
    texts; the rest goes from the
    shards to the file a row group at a time."""
    import numpy as np

    root = lake.staging_dir(run.lake, run.day) / SHARDS
    plan = plan_shards(run)
    paths = [_shard_path(run, d["shard"], d["of"]) for d in plan]
    signed = [_shard_path(run, d["shard"], d["of"], "signatures") for d in plan]
    on_disk = {p.name for p in root.glob("*.parquet")} if root.is_dir() else set()
    missing = sorted({p.name for p in paths + signed} - on_disk)
    if missing:
        raise RuntimeError(f"{root}: shards missing: {', '.join(missing)} (their enrich tasks did not finish, or "
                           f"were run by an older version): re-run the day's enrich tasks")
    parts = []
    for p in paths:
        columns = set(lake.parquet_metadata(p).schema.to_arrow_schema().names)
        if not set(MERGE_INPUTS) <= columns:
            raise RuntimeError(f"{p}: no {', '.join(sorted(set(MERGE_INPUTS) - columns))} (written by an older "
                               f"version?): re-run the day's enrich tasks")
        parts.append(lake.read_table(p, columns=MERGE_INPUTS))
    for p, t in zip(paths, parts):  # the streaming below takes each shard's rows as they come
        if not lake.in_order(MENTIONS, t):
            raise RuntimeError(f"{p}: not in (created_at, post_id) order (written by an older version?): "
                               f"re-run the day's enrich tasks")
    shard_of = np.repeat(np.arange(len(parts), dtype=np.int32), [t.num_rows for t in parts])
    narrow = pa.concat_tables(parts).append_column("_shard", pa.array(shard_of))
    parts = None
    narrow = lake.sort_table(MENTIONS, narrow)  # the order of the unsharded path: (created_at, post_id)
    extra = (day_columns(narrow, narrow["_handle"].to_pylist(), lambda keys: signatures_of(signed, keys))
             if narrow.num_rows else {})
    shard_of = narrow["_shard"].to_numpy()
    narrow = None
    lake.write_file_parts(lake.stage_path(run.lake, run.day, MENTIONS, dt=run.day), MENTIONS,
                          _in_day_order(paths, shard_of, extra, lake.PARQUET["row_group_size"]))
    lake.remove_tree(root)
    log.info("%s: %d mentions from %d shard(s)", run.day, len(shard_of), len(plan))
    return {"mentions": len(shard_of), "shards": len(plan)}


def _in_day_order(paths: list[Path], shard_of, extra: dict[str, pa.Array], rows: int):
    """The shards' mentions in the day's order with their day columns, `rows` rows at a time."""
    lo = 0
    for part in lake.interleave(paths, shard_of, rows, batch=SHARD_ROW_GROUP):
        part = part.drop_columns(list(TEXT_KEYS) + ["_handle"])
        for c, values in extra.items():
            part = part.append_column(MENTIONS.schema.field(c), values.slice(lo, part.num_rows))
        lo += part.num_rows
        yield part


def build_mentions(run: Run) -> dict:
    """Every shard, then the merge: what the DAG's mapped tasks do, in one process."""
    shards = plan_shards(run)
    posts = sum(enrich_shard(run, d["shard"], d["of"])["posts"] for d in shards)
    out = merge_mentions(run)
    log.info("%s: %d of %d posts matched a topic", run.day, out["mentions"], posts)
    return {"posts": posts, "mentions": out["mentions"], "shards": len(shards)}


def staged(run: Run, ds) -> pa.Table:
    p = lake.stage_path(run.lake, run.day, ds, dt=run.day)
    if not p.exists():
        raise FileNotFoundError(f"{p}: the previous step of the run did not stage {ds.name}")
    return lake.read_file(p, ds)


HISTORY_DAYS = 28


def _history(run: Run) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Hashtags and top terms of each topic over the 28 published days before this one."""
    from datetime import timedelta

    from listening.detect import history_tokens

    past, _ = history_tokens(run.lake, run.day, HISTORY_DAYS, kinds=("hashtag",))
    tags: dict[str, set[str]] = {}
    for topic, tag in zip(past["topic"], past["token"]):
        tags.setdefault(topic, set()).add(tag)
    words: dict[str, set[str]] = {}
    for k in range(1, HISTORY_DAYS + 1):
        m = lake.read_partition(run.lake, METRICS_DAILY, dt=run.day - timedelta(days=k))
        if m is not None:
            for topic, top in zip(m["topic"].to_pylist(), m["top_terms"].to_pylist()):
                words.setdefault(topic, set()).update(top or [])
    return tags, words


def staged_batches(run: Run, ds, columns: list[str], rows: int):
    """The staged partition of `ds`, only `columns`, `rows` rows at a time: a large day is never read whole."""
    p = lake.stage_path(run.lake, run.day, ds, dt=run.day)
    if not p.exists():
        raise FileNotFoundError(f"{p}: the previous step of the run did not stage {ds.name}")
    for _, table in lake.read_parts(p, ds, rows, columns):
        yield table


def compute_metrics(run: Run, batch_rows: int = lake.PARQUET["row_group_size"]) -> dict:
    """The day's measures, its staged mentions read a batch at a time (metrics.partial of each,
    merged exactly): the same tables as from the whole day, in a fraction of the memory."""
    topics = [t.name for t in run.config.watchlists.topics]
    groups = {t.name: t.group for t in run.config.watchlists.topics}
    seen_tags, seen_terms = _history(run)
    part = metrics.merge(metrics.partial(b) for b in staged_batches(run, MENTIONS, metrics.COLUMNS, batch_rows))
    day_table = metrics.daily_of(part, run.day, topics, groups, seen_tags, seen_terms)
    lake.write_file(lake.stage_path(run.lake, run.day, METRICS_DAILY, dt=run.day), METRICS_DAILY, day_table)
    hour_table = metrics.hourly_of(part, groups)
    lake.write_file(lake.stage_path(run.lake, run.day, METRICS_HOURLY, dt=run.day), METRICS_HOURLY, hour_table)
    return {"topics": day_table.num_rows, "hours": hour_table.num_rows}


INFLUENCE_COLUMNS = ["post_id", "platform", "created_at", "author_key", "author_followers", "author_role", "topics",
                     "reply_to", "repost_of", "quote_of", "like_count", "repost_count", "reply_count", "quote_count",
                     "mentioned_keys", "cluster_id", "cluster_size", "cluster_authors", "bot_score"]


def _read_columns(path: Path, ds, columns: list[str]) -> pa.Table:
    """Columns of a partition (lake.read_file: a column an older lake lacks comes back null), every
    field nullable, so that partitions of several versions concatenate."""
    t = lake.read_file(path, ds, columns)
    return t.cast(pa.schema([f.with_nullable(True) for f in t.schema]))


def window_mentions(run: Run, days: int, columns: list[str], today: pa.Table | None = None) -> pa.Table:
    """The mentions of the `days` days ending on the run's day: published ones, and today's staged
    (or `today`, the day so far, for the hourly path)."""
    from datetime import timedelta

    if today is None:
        tables = [_read_columns(lake.stage_path(run.lake, run.day, MENTIONS, dt=run.day), MENTIONS, columns)]
    else:
        tables = [today.select(columns).cast(pa.schema([MENTIONS.schema.field(c).with_nullable(True) for c in columns]))]
    for k in range(1, days):
        p = lake.partition_dir(run.lake, MENTIONS, dt=run.day - timedelta(days=k)) / lake.PART
        if p.exists():
            tables.append(_read_columns(p, MENTIONS, columns))
    return pa.concat_tables(tables)


def window_raw(run: Run, days: int, columns: list[str], today: pa.Table | None = None) -> pa.Table:
    """Raw posts of every source over the `days` days ending on the run's day (today's staged, or
    `today`)."""
    from datetime import timedelta

    paths = [] if today is not None else sorted(
        (lake.staging_dir(run.lake, run.day) / RAW.path).glob(f"source=*/dt=*/{lake.PART}"))
    for k in range(1, days):
        d = (run.day - timedelta(days=k)).isoformat()
        paths += sorted((run.lake / RAW.path).glob(f"source=*/dt={d}/{lake.PART}"))
    tables = [_read_columns(p, RAW, columns) for p in paths]
    if today is not None:
        tables.insert(0, today.select(columns).cast(pa.schema([RAW.schema.field(c).with_nullable(True) for c in columns])))
    if not tables:
        return pa.schema([RAW.schema.field(c).with_nullable(True) for c in columns]).empty_table()
    return pa.concat_tables(tables)


RESPONSE_COLUMNS = ["post_id", "platform", "url", "created_at", "topics", "triage", "urgency",
                    "addresses_institution"]


def response_desk(run: Run, mentions_today: pa.Table | None = None, raw_today: pa.Table | None = None) -> pa.Table:
    """The desk over the response window: at the end of the run's day from what is staged, or,
    given the day so far (the hourly path), as it stands now."""
    from listening import responses
    from listening.queries import AccountSet

    s, wl = run.config.settings, run.config.watchlists
    cands = responses.candidates(window_mentions(run, s.response_window_days, RESPONSE_COLUMNS, mentions_today))
    raw = window_raw(run, s.response_window_days, ["post_id", "platform", "created_at", "reply_to", "author_handle"],
                     raw_today)
    own = {p: AccountSet(h) for p, h in wl.institution.accounts.items()}
    replies = responses.own_posts(raw, own)
    teams_of = {t.name: t.team for t in wl.topics}
    return responses.desk(cands, replies, raw.select(["post_id", "reply_to"]), run.day, teams_of,
                          observed=set(replies["platform"].to_pylist()))


def track_responses(run: Run) -> dict:
    """The response desk at the end of the day (listening.responses)."""
    from listening import responses
    from listening.schema import RESPONSE_METRICS, RESPONSES

    table = response_desk(run)
    teams_of = {t.name: t.team for t in run.config.watchlists.topics}
    lake.write_file(lake.stage_path(run.lake, run.day, RESPONSES, dt=run.day), RESPONSES, table)
    summary = responses.metrics(table, teams_of)
    lake.write_file(lake.stage_path(run.lake, run.day, RESPONSE_METRICS, dt=run.day), RESPONSE_METRICS, summary)
    status = table["status"].to_pylist()
    log.info("%s: response desk: %d posts awaiting an answer, %d answered, %d unknown", run.day,
             status.count("unanswered"), status.count("answered"), status.count("unknown"))
    return {"desk": len(status), "answered": status.count("answered"), "unanswered": status.count("unanswered"),
            "unknown": status.count("unknown")}


def measure_campaigns(run: Run) -> dict:
    """Uptake of each campaign hashtag on the day (listening.campaigns)."""
    from listening import campaigns
    from listening.schema import CAMPAIGN_DAILY

    wanted = run.config.watchlists.campaigns
    first = campaigns.history_needed(wanted, run.day)
    if first is None:
        table = CAMPAIGN_DAILY.schema.empty_table()
    else:
        mentions = window_mentions(run, (run.day - first).days + 1, list(campaigns.COLUMNS))
        table = campaigns.daily(mentions, run.day, wanted)
    lake.write_file(lake.stage_path(run.lake, run.day, CAMPAIGN_DAILY, dt=run.day), CAMPAIGN_DAILY, table)
    return {"campaigns": table.num_rows}


INFLUENCE_WINDOWS = (7, 28)


def _earlier_parents(run: Run, day: date, mentions: pa.Table) -> pa.Table:
    """(post_id, author_key) of the posts that `mentions` (one day's) reply to, repost or quote
    and that were published on one of the window's days before: one day's two columns at a time."""
    from datetime import timedelta

    refs = pa.chunked_array([chunk for c in ("reply_to", "repost_of", "quote_of")
                             for chunk in mentions[c].cast(pa.string()).chunks], pa.string())
    wanted = pc.unique(refs.combine_chunks().drop_null())
    wanted = pc.filter(wanted, pc.invert(pc.is_in(wanted, value_set=mentions["post_id"].combine_chunks())))
    found = []
    for k in range(1, max(INFLUENCE_WINDOWS)):
        if not len(wanted):
            break
        p = lake.partition_dir(run.lake, MENTIONS, dt=day - timedelta(days=k)) / lake.PART
        if p.exists():
            t = lake.read_table(p, columns=["post_id", "author_key"])
            t = t.filter(pc.is_in(t["post_id"], value_set=wanted))
            found.append(t)
            wanted = pc.filter(wanted, pc.invert(pc.is_in(wanted, value_set=t["post_id"].combine_chunks())))
    return pa.concat_tables(found) if found else pa.table({"post_id": pa.array([], pa.string()),
                                                           "author_key": pa.array([], pa.string())})


def influence_facts(run: Run, day: date, mentions: pa.Table | None = None) -> pa.Table:
    """A day's influence facts: from `mentions` (the run's own day, staged), else published (the
    lake's influence_daily, or, for a day published before it existed, its mentions)."""
    from listening import influence
    from listening.schema import INFLUENCE_DAILY

    if mentions is None:
        p = lake.partition_dir(run.lake, INFLUENCE_DAILY, dt=day) / lake.PART
        if p.exists():
            t = lake.read_file(p, INFLUENCE_DAILY)
            return t.add_column(0, "dt", pa.array([day] * t.num_rows, pa.date32()))
        p = lake.partition_dir(run.lake, MENTIONS, dt=day) / lake.PART
        if not p.exists():
            return influence.facts(MENTIONS.schema.empty_table().select(INFLUENCE_COLUMNS), INFLUENCE_WINDOWS)
        mentions = _read_columns(p, MENTIONS, INFLUENCE_COLUMNS)
    # the day's posts only: ingest keeps a day's file to its day (a stray timestamp would make a
    # second row of the same facts)
    days = pc.cast(pc.cast(mentions["created_at"], pa.timestamp("us", tz="UTC")), pa.date32())
    mentions = mentions.filter(pc.equal(days, pa.scalar(day, pa.date32())))
    facts = influence.facts(mentions, INFLUENCE_WINDOWS, parents=_earlier_parents(run, day, mentions))
    # an erased account stays out as a target too, when others keep mentioning or answering it
    gone = privacy.suppressed(run.lake)
    if gone:
        erased = pc.fill_null(pc.is_in(facts["target_key"], value_set=pa.array(sorted(gone), pa.string())), False)
        facts = facts.filter(pc.invert(erased))
    return facts


def restage_influence_facts(run: Run) -> pa.Table:
    """The day's influence facts from its staged mentions, staged (what later nights read of the
    day): by score_influence, and again by validation when it quarantined mentions."""
    from listening.schema import INFLUENCE_DAILY

    facts = influence_facts(run, run.day, window_mentions(run, 1, INFLUENCE_COLUMNS))
    lake.write_file(lake.stage_path(run.lake, run.day, INFLUENCE_DAILY, dt=run.day), INFLUENCE_DAILY,
                    facts.drop_columns(["dt"]))
    return facts


def score_influence(run: Run) -> dict:
    """Who carries each topic's debate over 7 and 28 days (listening.influence): the day's facts
    are staged (influence_daily), and the windows add up their days' facts."""
    from datetime import timedelta

    from listening import influence
    from listening.schema import AUTHORS

    today = restage_influence_facts(run)
    # oldest day first, as `influence.facts` orders a window's days: the same sums, bit for bit;
    # of each day, each kind of fact with only its columns
    parts: dict[str, list[pa.Table]] = {kind: [] for kind in influence.FACT_KIND_COLUMNS}
    days = 0
    for k in range(max(INFLUENCE_WINDOWS) - 1, -1, -1):
        facts = today if k == 0 else influence_facts(run, run.day - timedelta(days=k))
        days += facts.num_rows > 0
        for kind, t in influence.split_facts(facts).items():
            parts[kind].append(t)
    n_today, n_facts = today.num_rows, sum(t.num_rows for ts in parts.values() for t in ts)
    del today, facts
    settings = run.config.settings
    # handed over, not kept here: score_facts lets the Arrow tables go once it has their numbers
    lang = settings.digest_language if settings.digest_language in influence.PHRASES else "en"
    table = influence.score_facts({kind: pa.concat_tables(parts.pop(kind)) for kind in list(parts)}, run.day,
                                  windows=INFLUENCE_WINDOWS, weights=settings.influence_weights, lang=lang)
    lake.write_file(lake.stage_path(run.lake, run.day, AUTHORS, dt=run.day), AUTHORS, table)
    log.info("%s: %d author scores from %d facts of %d days", run.day, table.num_rows, n_facts, days)
    return {"authors": table.num_rows, "facts": n_facts, "today_facts": n_today}


def detect(run: Run) -> dict:
    """Emerging issues of the day, staged as the alerts partition so validation checks them: every
    part in one process (the DAG maps them: plan_detection, detect_part, gather_alerts)."""
    from listening import detect as detectors

    return detectors.detect_day(run)


def plan_detection(run: Run) -> list[dict]:
    """One detect_part task per part: the day's copies, then each topic (one topic's day held each)."""
    from listening import detect as detectors

    names = detectors.detection_parts(run)
    return [{"part": k, "of": len(names), "name": name} for k, name in enumerate(names)]


def detect_part(run: Run, part: int = 0, of: int = 1) -> dict:
    from listening import detect as detectors

    return detectors.detect_part(run, part, of)


def gather_alerts(run: Run) -> dict:
    from listening import detect as detectors

    return detectors.gather_alerts(run)


def deliver(run: Run) -> dict:
    """Red alerts at once, the rest in the digest; may raise alerts.DeliveryError (retriable)."""
    from listening import alerts

    return alerts.deliver_day(run)


def validate(run: Run) -> dict:
    from listening import quality

    return quality.validate_staged(run)


def publish(run: Run) -> dict:
    from listening import catalog

    published = lake.publish(run.lake, run.day, run.run_id)
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
           "influence": score_influence(run), "responses": track_responses(run),
           "campaigns": measure_campaigns(run), "detect": detect(run),
           "validate": validate(run),
           "publish": publish(run), "deliver": deliver(run)}
    out["summary"] = summarise(run)
    return out


def as_json(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str)


def _not_retriable() -> tuple[type[Exception], ...]:
    from listening.config import ConfigError
    from listening.quality import QualityError

    return (ConfigError, QualityError)


NOT_RETRIABLE = _not_retriable()

STEP_FUNCTIONS = {"ingest": ingest, "plan_shards": plan_shards, "merge_mentions": merge_mentions,
                  "build_mentions": build_mentions, "compute_metrics": compute_metrics,
                  "score_influence": score_influence, "track_responses": track_responses,
                  "measure_campaigns": measure_campaigns, "detect": detect, "validate": validate, "publish": publish,
                  "deliver": deliver, "summarise": summarise}
# The DAG's split of a step over mapped tasks (enrich for build_mentions; the detection parts for detect)
MAPPED_STEPS = {"enrich": enrich_shard, "plan_detection": plan_detection, "detect_part": detect_part,
                "gather_alerts": gather_alerts}


def run_step(name: str, day: str, run_id: str | None = None, **kw) -> dict:
    """Entry point of the DAG's tasks: one step of the run of `day`, paths from the environment."""
    fn = MAPPED_STEPS.get(name) or STEP_FUNCTIONS[name]
    return fn(make_run(day, run_id or "manual"), **kw)
