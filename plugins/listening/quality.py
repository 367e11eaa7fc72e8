"""Validation with Great Expectations before anything is published.

One suite per dataset, defined here (versioned with the code) and derived from the schema
module where it can be. Two levels:
- row rules: a row that breaks one leaves the dataset for the quarantine, with the rule and the
  run id; the rest is published;
- critical rules (columns, uniqueness, ids present): the publish step is stopped, the last good
  partition stays visible, and the task fails saying which rule and how many rows.
Results land in `<lake>/quality/results/dt=<day>/` and as Data Docs in `<lake>/quality/gx/`.
"""
from __future__ import annotations

import bisect
import functools
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa

from listening.lake import at
from listening import lake
from listening.memory import gc_paused
from listening.schema import DATASETS, MENTIONS, QUALITY, RAW, Dataset

log = logging.getLogger(__name__)

ROW = "_row"
LABELS = ["negative", "neutral", "positive"]
SEVERITIES = ["green", "amber", "red"]
TRIAGE = ["question", "positive_feedback", "disagreement", "humour", "negative", "misinformation", "inflammatory",
          "insult", "spam", "other"]
STATUSES = ["pending", "sent", "suppressed", "failed"]
UNIT_COLUMNS = ["reach", "engagement", "centrality", "relevance", "authenticity", "influence"]
VOLUME_DROP = 0.1        # a source with fewer than 10% of its usual posts is flagged
VOLUME_MIN_BASELINE = 20  # below this median a day's count is too sparse to judge
VOLUME_DAYS = 7
PLATFORM_REGEX = r"^[a-z][a-z0-9_]{0,31}$"


class QualityError(RuntimeError):
    """A critical rule failed: the day is not published."""


@dataclass(frozen=True)
class Rule:
    name: str
    level: str            # "critical" or "row"
    expectation: object   # a great_expectations Expectation
    whole: bool = False   # means something only over every row of a partition at once (uniqueness, row count)


def _gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    return gx


def _counts_rules(gx, ds: Dataset) -> list[Rule]:
    return [Rule(f"{f.name}_not_negative", "row",
                 gx.expectations.ExpectColumnValuesToBeBetween(column=f.name, min_value=0))
            for f in ds.schema if pa.types.is_integer(f.type) and f.name not in ("hour",)]


def _schema_rules(gx, ds: Dataset, derived: list[str]) -> list[Rule]:
    """Columns in order and required columns present: from the schema module."""
    rules = [Rule("columns", "critical", gx.expectations.ExpectTableColumnsToMatchOrderedList(
        column_list=[f.name for f in ds.schema] + derived))]
    for f in ds.schema:
        if not f.nullable:
            level = "critical" if f.name in ds.unique else "row"
            rules.append(Rule(f"{f.name}_not_null", level,
                              gx.expectations.ExpectColumnValuesToNotBeNull(column=f.name)))
    if len(ds.unique) == 1:
        rules.append(Rule(f"{ds.unique[0]}_unique", "critical",
                          gx.expectations.ExpectColumnValuesToBeUnique(column=ds.unique[0]), whole=True))
    elif ds.unique:
        rules.append(Rule(f"{'_'.join(ds.unique)}_unique", "critical",
                          gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=list(ds.unique)), whole=True))
    return rules


def suite(ds: Dataset, day, topics: list[str], languages: list[str]) -> tuple[list[Rule], list[str]]:
    """The rules of a dataset for a day, and the derived columns they read."""
    gx = _gx()
    start = pd.Timestamp(datetime(day.year, day.month, day.day, tzinfo=timezone.utc))
    end = start + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    derived: list[str] = []
    rules: list[Rule] = []
    E = gx.expectations
    if ds.name in ("raw", "mentions"):
        rules += [
            Rule("created_at_in_interval", "row",
                 E.ExpectColumnValuesToBeBetween(column="created_at", min_value=start, max_value=end)),
            Rule("platform_name", "row", E.ExpectColumnValuesToMatchRegex(column="platform", regex=PLATFORM_REGEX)),
        ]
    if ds.name == "mentions":
        derived = ["_unknown_topics", "_topic_count"]
        rules += [
            Rule("sentiment_score_range", "row",
                 E.ExpectColumnValuesToBeBetween(column="sentiment_score", min_value=-1, max_value=1)),
            Rule("sentiment_confidence_range", "row",
                 E.ExpectColumnValuesToBeBetween(column="sentiment_confidence", min_value=0, max_value=1)),
            Rule("sentiment_label_set", "row",
                 E.ExpectColumnValuesToBeInSet(column="sentiment_label", value_set=LABELS)),
            Rule("lang_set", "row", E.ExpectColumnValuesToBeInSet(column="lang", value_set=languages + ["und"])),
            Rule("lang_confidence_range", "row",
                 E.ExpectColumnValuesToBeBetween(column="lang_confidence", min_value=0, max_value=1)),
            Rule("topics_in_watchlist", "row",
                 E.ExpectColumnValuesToBeBetween(column="_unknown_topics", min_value=0, max_value=0)),
            Rule("at_least_one_topic", "row",
                 E.ExpectColumnValuesToBeBetween(column="_topic_count", min_value=1)),
            Rule("post_id_platform_prefix", "row",
                 E.ExpectColumnValuesToMatchRegex(column="post_id", regex=r"^[a-z][a-z0-9_]*:.+$")),
            Rule("triage_set", "row", E.ExpectColumnValuesToBeInSet(column="triage", value_set=TRIAGE)),
            Rule("urgency_set", "row", E.ExpectColumnValuesToBeInSet(column="urgency", value_set=SEVERITIES)),
            Rule("bot_score_range", "row", E.ExpectColumnValuesToBeBetween(column="bot_score", min_value=0,
                                                                            max_value=1)),
            Rule("cluster_size_positive", "row", E.ExpectColumnValuesToBeBetween(column="cluster_size", min_value=1)),
        ]
    if ds.name in ("metrics_daily", "metrics_hourly"):
        rules += [
            Rule("topic_in_watchlist", "row", E.ExpectColumnValuesToBeInSet(column="topic", value_set=topics)),
            Rule("net_sentiment_range", "row",
                 E.ExpectColumnValuesToBeBetween(column="net_sentiment", min_value=-1, max_value=1)),
            Rule("share_of_voice_range", "row",
                 E.ExpectColumnValuesToBeBetween(column="share_of_voice", min_value=0, max_value=1)),
            Rule("mean_sentiment_range", "row",
                 E.ExpectColumnValuesToBeBetween(column="mean_sentiment", min_value=-1, max_value=1)),
        ]
    if ds.name == "metrics_daily":
        rules += [
            Rule("one_row_per_topic", "critical", E.ExpectTableRowCountToEqual(value=len(topics)), whole=True),
            Rule("day_is_the_run_day", "row", E.ExpectColumnValuesToBeInSet(column="day", value_set=[day.isoformat()])),
        ]
    if ds.name == "authors":
        rules += [Rule(f"{c}_unit_range", "row", E.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1))
                  for c in UNIT_COLUMNS]
        rules += [
            Rule("topic_in_watchlist", "row", E.ExpectColumnValuesToBeInSet(column="topic", value_set=topics)),
            Rule("window_days_set", "row", E.ExpectColumnValuesToBeInSet(column="window_days", value_set=[7, 28])),
            Rule("rank_positive", "row", E.ExpectColumnValuesToBeBetween(column="rank", min_value=1)),
        ]
    if ds.name == "responses":
        rules += [
            Rule("status_set", "row", E.ExpectColumnValuesToBeInSet(column="status",
                                                                   value_set=["answered", "unanswered", "unknown"])),
            Rule("triage_needs_answer", "row", E.ExpectColumnValuesToBeInSet(
                column="triage", value_set=["question", "negative", "misinformation"])),
            Rule("urgency_set", "row", E.ExpectColumnValuesToBeInSet(column="urgency", value_set=SEVERITIES)),
            Rule("response_hours_not_negative", "row",
                 E.ExpectColumnValuesToBeBetween(column="response_hours", min_value=0)),
        ]
    if ds.name == "response_metrics":
        rules += [
            Rule("response_rate_range", "row",
                 E.ExpectColumnValuesToBeBetween(column="response_rate", min_value=0, max_value=1)),
        ]
    if ds.name == "campaign_daily":
        rules += [Rule("day_is_the_run_day", "row",
                       E.ExpectColumnValuesToBeInSet(column="day", value_set=[day.isoformat()]))]
        rules += [Rule(f"{c}_range", "row", E.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1))
                  for c in ("share_fr", "share_nl", "share_en", "share_de", "share_other")]
    if ds.name == "alerts":
        derived = ["_missing_evidence", "_window_hours"]
        rules += [
            Rule("topic_in_watchlist", "row", E.ExpectColumnValuesToBeInSet(column="topic", value_set=topics)),
            Rule("severity_set", "row", E.ExpectColumnValuesToBeInSet(column="severity", value_set=SEVERITIES)),
            Rule("status_set", "row", E.ExpectColumnValuesToBeInSet(column="status", value_set=STATUSES)),
            Rule("window_end_in_interval", "row",
                 E.ExpectColumnValuesToBeBetween(column="window_end", min_value=start, max_value=end + pd.Timedelta(microseconds=1))),
            Rule("window_not_reversed", "row", E.ExpectColumnValuesToBeBetween(column="_window_hours", min_value=0)),
            Rule("evidence_in_mentions", "row",
                 E.ExpectColumnValuesToBeBetween(column="_missing_evidence", min_value=0, max_value=0)),
        ]
    if ds.name == "metrics_hourly":
        rules.append(Rule("hour_in_interval", "row",
                          E.ExpectColumnValuesToBeBetween(column="hour", min_value=start, max_value=end)))
    rules = _schema_rules(gx, ds, derived + [ROW]) + _counts_rules(gx, ds) + rules
    return rules, derived


def _arrow_backed(t: pa.DataType):
    """Strings and lists stay Arrow-backed (GX pickles the frame: Python objects cost 30x);
    numbers and times stay NumPy, where GX's range checks are vectorised."""
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_list(t):
        return pd.ArrowDtype(t)
    return None


def frame(ds: Dataset, table: pa.Table, topics: list[str], mention_ids=None,
          presence_only: set[str] = frozenset(), offset: int = 0) -> pd.DataFrame:
    """The table as GX reads it, with a row number and the derived columns of its suite.

    `mention_ids` is called for alerts only: the post ids their evidence may point to.
    Columns in `presence_only` are only checked for nulls: they reach GX as a null/True mask,
    since GX hashes the whole frame and long texts would cost more than every rule together.
    Rows are numbered from `offset`: the table's first row in its partition file.
    """
    df = table.to_pandas(types_mapper=_arrow_backed)
    for f in ds.schema:
        if pa.types.is_date(f.type):  # GX compares sets as JSON: dates as ISO strings
            df[f.name] = df[f.name].map(lambda d: d.isoformat() if d is not None else None)
    if ds.name == "alerts":
        known = mention_ids() if mention_ids else set()
        df["_missing_evidence"] = [sum(p not in known for p in ids) for ids in df["evidence_post_ids"]]
        df["_window_hours"] = (df["window_end"] - df["window_start"]).dt.total_seconds() / 3600
    if ds.name == "mentions":
        known = set(topics)
        df["_unknown_topics"] = [sum(t not in known for t in ts) for ts in df["topics"]]
        df["_topic_count"] = [len(ts) for ts in df["topics"]]
    import pyarrow.compute as pc

    for c in presence_only:
        mask = pc.if_else(pc.is_valid(table[c]), pa.scalar(True), pa.scalar(None, pa.bool_()))
        df[c] = pd.Series(mask.to_pandas(types_mapper=pd.ArrowDtype), index=df.index)
    df[ROW] = range(offset, offset + len(df))
    return df


class Validator:
    """A GX file context in the lake, so every run's results also feed the Data Docs."""

    def __init__(self, lake_root: Path):
        gx = _gx()
        self.gx = gx
        self.lake_root = at(lake_root) / "quality" / "gx"
        self.root = self.lake_root
        if lake.remote(self.lake_root):  # GX's file context needs a disk: a local copy, sent back after the run
            import tempfile

            self.root = Path(tempfile.mkdtemp(prefix="vigie-gx-"))
            # Data Docs pages are only written (this run's, and the index from the results): not fetched.
            lake.download_tree(self.lake_root, self.root, skip=("gx/uncommitted/data_docs/",))
        self._since = time.time()
        self.context = gx.get_context(mode="file", project_root_dir=str(self.root))
        try:
            self.context.variables.progress_bars = {"globally": False}
        except Exception:  # noqa: BLE001 - cosmetic only
            pass
        try:
            self.source = self.context.data_sources.get("vigie")
        except (KeyError, ValueError):
            self.source = self.context.data_sources.add_pandas("vigie")

    @property
    def docs_index(self) -> Path:
        """Where the Data Docs' index is in the lake."""
        return self.lake_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"

    @gc_paused
    def build_docs(self, run_id: str | None = None) -> Path:
        """Data Docs once per run, rendering only this run's results (the pages of earlier runs
        are already there; re-rendering them all would grow the nightly cost every day)."""
        if run_id is None:
            self.context.build_data_docs()
        else:
            keys = [k for k in self.context.validation_results_store.list_keys()
                    if k.run_id.run_name == run_id]
            self.context.build_data_docs(resource_identifiers=keys)
        if self.root != self.lake_root:
            lake.upload_tree(self.root, self.lake_root, since=self._since)
        return self.docs_index

    def run(self, name: str, rules: list[Rule], df: pd.DataFrame, run_id: str) -> list[dict]:
        gx = self.gx
        name = name.replace("/", ".")  # GX store keys can't hold a slash
        try:
            asset = self.source.get_asset(name)
        except LookupError:
            asset = self.source.add_dataframe_asset(name)
        try:
            batch = asset.get_batch_definition("whole")
        except (KeyError, ValueError, LookupError):
            batch = asset.add_batch_definition_whole_dataframe("whole")
        for r in rules:
            r.expectation.meta = {"rule": r.name, "level": r.level}
        # A suite built whole is saved once; adding expectations one by one rewrites it each time.
        s = self.context.suites.add_or_update(
            gx.ExpectationSuite(name=name, expectations=[r.expectation for r in rules]))
        vd = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch, suite=s))
        result = vd.run(batch_parameters={"dataframe": df}, run_id=gx.RunIdentifier(run_name=run_id),
                        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW]})
        # GX's engine keeps every asset's last batch (the whole frame) for the life of the process: a
        # day's datasets, or a partition's slices, would pile up. Nothing reads them again.
        batches = self.source.get_execution_engine().batch_manager
        batches.reset_batch_cache()
        batches.batch_data_cache.clear()
        out = []
        for er in result.results:
            meta = er.expectation_config.meta or {}
            res = er.result or {}
            idx = sorted({int(u[ROW]) for u in res.get("unexpected_index_list") or [] if ROW in u})
            observed = res.get("observed_value")
            details = {"observed": observed} if observed is not None else {}
            if res.get("partial_unexpected_list"):
                details["examples"] = [str(v)[:80] for v in res["partial_unexpected_list"][:5]]
            out.append({
                "rule": meta.get("rule", er.expectation_config.type), "level": meta.get("level", "critical"),
                "success": bool(er.success), "rows": len(df),
                "failed_rows": int(res.get("unexpected_count") or (0 if er.success else len(idx) or 1)),
                "rows_index": idx, "details": json.dumps(details, default=str)[:2000],
            })
        return out


def _presence_only(ds: Dataset, rules: list[Rule]) -> set[str]:
    """Text and list columns no rule reads but for nulls. A table-level rule (the column list,
    the row count) reads no column's values: counting its column list made every column "checked"."""
    checked = set()
    for r in rules:
        if not r.name.endswith("_not_null") and not type(r.expectation).__name__.startswith("ExpectTable"):
            checked.add(getattr(r.expectation, "column", None))
            checked.update(getattr(r.expectation, "column_list", None) or [])
    return {f.name for f in ds.schema
            if (pa.types.is_string(f.type) or pa.types.is_list(f.type)) and f.name not in checked
            and f.name not in ("topics", "evidence_post_ids")}


@gc_paused
def _check(validator: Validator, ds: Dataset, rules: list[Rule], table: pa.Table, topics, run_id: str,
           gx_name: str, mention_ids=None, offset: int = 0) -> tuple[list[dict], dict[int, list[str]]]:
    """One GX run: (results, {row number: row rules it broke}), rows numbered from `offset`."""
    df = frame(ds, table, topics, mention_ids, presence_only=_presence_only(ds, rules), offset=offset)
    results = validator.run(gx_name, rules, df, run_id)
    del df
    bad_rows: dict[int, list[str]] = {}
    for r in results:
        if r["level"] == "row" and not r["success"]:
            for i in r["rows_index"]:
                bad_rows.setdefault(i, []).append(r["rule"])
    return results, bad_rows


def _quarantine(table: pa.Table, bad_rows: dict[int, list[str]], name: str, offset: int = 0) -> list[dict]:
    """The quarantine's rows for the rows of `table` that broke a row rule; `table`'s first row is
    row `offset` of its partition file (its `_row`), the reason names the dataset as one run would."""
    if not bad_rows:
        return []
    records = table.take(pa.array([i - offset for i in sorted(bad_rows)], type=pa.int64())).to_pylist()
    return [{"_row": i, "rule": ",".join(bad_rows[i]), "reason": f"{name}: row broke {', '.join(bad_rows[i])}",
             "post_id": rec.get("post_id"), "source_file": rec.get("source_file"),
             "source_line": rec.get("source_line"),
             "record": json.dumps(rec, default=str, ensure_ascii=False)[:10_000]}
            for i, rec in zip(sorted(bad_rows), records)]


def validate_table(validator: Validator, ds: Dataset, table: pa.Table, day, topics, languages,
                   run_id: str, name: str, mention_ids=None) -> tuple[pa.Table, list[dict], list[dict]]:
    """(rows that pass, quarantined rows, results) for one staged partition, in one GX run."""
    rules, _ = suite(ds, day, topics, languages)
    results, bad_rows = _check(validator, ds, rules, table, topics, run_id, name, mention_ids)
    quarantined = _quarantine(table, bad_rows, name)
    if bad_rows:
        keep = [i for i in range(table.num_rows) if i not in bad_rows]
        table = table.take(pa.array(keep, type=pa.int64()))
    return table, quarantined, results


def _whole_frame(path, ds: Dataset, rules: list[Rule]) -> pd.DataFrame:
    """Every row of a partition file, with only the columns table-level rules read (ids: cheap)."""
    columns = sorted({c for r in rules for c in [getattr(r.expectation, "column", None),
                                                 *(getattr(r.expectation, "column_list", None) or [])] if c})
    table = lake.read_file(path, ds, columns)   # in the dataset's types
    df = pd.DataFrame(index=range(table.num_rows))
    for c in columns:
        t = ds.schema.field(c).type
        df[c] = table[c].to_pandas(types_mapper=_arrow_backed)
        if pa.types.is_date(t):
            df[c] = df[c].map(lambda d: d.isoformat() if d is not None else None)
    df[ROW] = range(len(df))
    return df


def validate_slices(validator: Validator, ds: Dataset, path, limit: int, day, topics, languages, run_id: str,
                    name: str, mention_ids=None) -> tuple[list[dict], list[tuple[str, list[dict]]]]:
    """A partition file larger than `limit` rows, never held whole: (quarantined rows, [(label, results)]).

    Row rules run on one slice of at most `limit` rows at a time (a GX run each, labelled
    `<name>/rows <first>-<last>`); rules whose meaning needs every row at once (uniqueness, row
    count) run once over the whole file, reading only the columns they check (labelled `name`).
    Quarantined rows are numbered and explained as one run over the whole file would.
    """
    import gc

    rules, _ = suite(ds, day, topics, languages)
    whole = [r for r in rules if r.whole]
    if any(r.level != "critical" for r in whole):
        raise ValueError(f"{name}: a table-level rule must be critical (its rows cannot be quarantined slice by slice)")
    labelled = []
    if whole:
        df = _whole_frame(path, ds, whole)
        labelled.append((name, gc_paused(validator.run)(f"{name}/table", whole, df, run_id)))
        del df
    quarantined = []
    for k, (start, table) in enumerate(lake.read_parts(path, ds, limit), 1):
        per_row = [r for r in suite(ds, day, topics, languages)[0] if not r.whole]  # GX binds each to one suite
        # GX's store keys name the slice by its number, so the store does not grow with each day's last slice.
        results, bad_rows = _check(validator, ds, per_row, table, topics, run_id, f"{name}/slice-{k}",
                                   mention_ids, offset=start)
        quarantined += _quarantine(table, bad_rows, name, offset=start)
        labelled.append((f"{name}/rows {start}-{start + table.num_rows - 1}", results))
        del table
        gc.collect()  # what GX left in cycles goes before the next slice, not at the end
        pa.default_memory_pool().release_unused()  # and Arrow's allocator hands the slice back
    return quarantined, labelled


def rewrite_without(path, ds: Dataset, rows: set[int]) -> None:
    """The partition file again without the row numbers `rows`, a row group at a time
    (lake.write_file_parts: replaced in one step). The order is kept: write_file wrote the file in
    the dataset's order, and dropping rows keeps it."""
    group = lake.PARQUET["row_group_size"]
    bad = sorted(rows)

    def kept():
        for start, t in lake.read_parts(path, ds, group):
            pieces, at_row = [], start  # the runs of good rows: slices of `t`, no copy
            for i in bad[bisect.bisect_left(bad, start):bisect.bisect_left(bad, start + t.num_rows)]:
                pieces.append(t.slice(at_row - start, i - at_row))
                at_row = i + 1
            yield pa.concat_tables([*pieces, t.slice(at_row - start)])
            del t, pieces
            pa.default_memory_pool().release_unused()

    lake.write_file_parts(path, ds, kept())


def volume_rules() -> list[Rule]:
    E = _gx().expectations
    return [Rule("volume_vs_recent_days", "warning",
                 E.ExpectColumnValuesToBeBetween(column="ratio", min_value=VOLUME_DROP))]


def volume_frame(lake_root: Path, day, raw_today: pa.Table) -> pd.DataFrame:
    """Posts per source today against the median of the previous days already published.

    `ratio` is null when the baseline is too sparse to judge (a source with 3 posts a day must
    not raise a flag for a day with none), so only real drops are flagged.
    """
    import pyarrow.parquet as pq

    today = pd.Series(raw_today["platform"].to_pylist(), dtype="object").value_counts().to_dict()
    history: dict[str, list[int]] = {}
    base = at(lake_root) / RAW.path
    for i in range(1, VOLUME_DAYS + 1):
        d = (day - timedelta(days=i)).isoformat()
        for p in base.glob(f"source=*/dt={d}/{lake.PART}") if base.exists() else []:
            platform = p.parent.parent.name.split("=", 1)[1]
            history.setdefault(platform, []).append(lake.parquet_metadata(p).num_rows)
    rows = []
    for platform in sorted(set(today) | set(history)):
        counts = history.get(platform, [])
        counts += [0] * (VOLUME_DAYS - len(counts)) if counts else []
        median = float(pd.Series(counts).median()) if counts else None
        posts = int(today.get(platform, 0))
        ratio = posts / median if median and median >= VOLUME_MIN_BASELINE else None
        rows.append({"platform": platform, "posts": posts, "baseline_median": median, "ratio": ratio})
    df = pd.DataFrame(rows, columns=["platform", "posts", "baseline_median", "ratio"])
    df["ratio"] = df["ratio"].astype("float64")
    df[ROW] = range(len(df))
    return df


def _mention_ids(run, alerts: pa.Table) -> set[str]:
    """Post ids of the mentions an alert of this run may cite: staged today, published before.
    Only the id column is read: a large day's mentions are never held whole."""
    ids: set[str] = set()
    staged = lake.stage_path(run.lake, run.day, MENTIONS, dt=run.day)
    if staged.exists():
        ids.update(lake.read_table(staged, columns=["post_id"])["post_id"].to_pylist())
    starts = [t for t in alerts["window_start"].to_pylist() if t is not None]
    first = min(starts).date() if starts else run.day
    d = max(first, run.day - timedelta(days=60))
    while d <= run.day:
        p = lake.partition_dir(run.lake, MENTIONS, dt=d) / lake.PART
        if (d != run.day or not staged.exists()) and p.exists():
            ids.update(lake.read_table(p, columns=["post_id"])["post_id"].to_pylist())
        d += timedelta(days=1)
    return ids


def _result_rows(run_id: str, layer: str, results: list[dict], failures: list[str]) -> list[dict]:
    """Rows of the quality dataset; a failed critical rule is added to `failures`."""
    out = []
    for r in results:
        out.append({"run_id": run_id, "layer": layer, **{k: v for k, v in r.items() if k != "rows_index"}})
        if r["level"] == "critical" and not r["success"]:
            failures.append(f"{layer}: rule {r['rule']} failed on {r['failed_rows']} of {r['rows']} rows {r['details']}")
    return out


def validate_staged(run) -> dict:
    """Validate every partition the run staged; quarantine bad rows; stop on a critical rule."""
    from listening.pipeline import stage_quarantine

    validator = Validator(run.lake)
    topics = [t.name for t in run.config.watchlists.topics]
    languages = list(run.config.settings.languages)
    sd = lake.staging_dir(run.lake, run.day)
    rows_out, failures, quarantined_by_layer = [], [], {}
    by_dataset: dict[str, list[Path]] = {}
    for path in lake.staged_files(run.lake, run.day):
        top = path.relative_to(sd).parts[0]
        ds = next((d for d in DATASETS.values() if d.path.split("/")[0] == top), None)
        if ds is not None and ds.name not in ("quarantine", "quality"):
            by_dataset.setdefault(ds.name, []).append(path)
    limit = run.config.settings.enrich_shard_posts  # rows a task is trusted to hold (sharded enrichment)
    # mentions first: the datasets derived from them that later nights read are redone without the
    # rows quarantined here (influence_daily) before they are validated in turn
    for name in sorted(by_dataset, key=lambda n: n != "mentions"):
        paths, ds = by_dataset[name], DATASETS[name]
        if name == "influence_daily" and "mentions" in quarantined_by_layer:
            from listening.pipeline import restage_influence_facts

            restage_influence_facts(run)
        # A dataset's partitions (raw: one per platform) are validated as one batch, since GX's cost
        # is per run; on a day larger than a shard, one partition at a time, so that validation never
        # holds more than a partition (GX needs ~6x a table's Arrow size: 4.5 GB for raw at 1M posts).
        # A partition file larger than that (mentions: one file a day) is validated in slices.
        sizes = {p: lake.parquet_metadata(p).num_rows for p in paths}
        rows = sum(sizes.values())
        groups = [paths] if rows <= limit or len(paths) == 1 else [[p] for p in paths]
        for group in groups:
            label = name if len(groups) == 1 else "/".join(
                [name, *(k for k in group[0].parent.relative_to(sd / ds.path).parts if not k.startswith("dt="))])
            if len(group) == 1 and sizes[group[0]] > limit:
                p = group[0]
                ids = functools.cache(lambda p=p: _mention_ids(run, lake.read_table(p, columns=["window_start"])))
                bad, labelled = validate_slices(validator, ds, p, limit, run.day, topics, languages, run.run_id,
                                                label, mention_ids=ids)
                if bad:
                    rewrite_without(p, ds, {b["_row"] for b in bad})
                    quarantined_by_layer.setdefault(name, []).extend(bad)
                for layer, results in labelled:
                    rows_out += _result_rows(run.run_id, layer, results, failures)
                continue
            tables = [lake.read_file(p, ds) for p in group]
            table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
            _, bad, results = validate_table(validator, ds, table, run.day, topics, languages, run.run_id, label,
                                             mention_ids=lambda t=table: _mention_ids(run, t))
            if bad:
                bad_ids = {b["_row"] for b in bad}
                offset = 0
                for p, t in zip(group, tables):
                    keep = [i for i in range(t.num_rows) if offset + i not in bad_ids]
                    if len(keep) < t.num_rows:
                        lake.write_file(p, ds, t.take(pa.array(keep, type=pa.int64())))
                    offset += t.num_rows
                quarantined_by_layer.setdefault(name, []).extend(bad)
            rows_out += _result_rows(run.run_id, label, results, failures)
            del table, tables
        if name == "raw":
            platforms = pa.concat_tables([lake.read_table(p, columns=["platform"]) for p in paths])
            rows_out += _result_rows(run.run_id, name, validator.run(
                "raw.volume", volume_rules(), volume_frame(run.lake, run.day, platforms), run.run_id), failures)
    for layer, bad in quarantined_by_layer.items():
        stage_quarantine(run, layer, bad)
    validator.build_docs(run.run_id)
    results_table = pa.Table.from_pylist(rows_out, schema=QUALITY.schema)
    lake.write_partition(run.lake, QUALITY, results_table, dt=run.day)
    report = write_report(run.lake, run.day, run.run_id, rows_out, quarantined_by_layer, validator.docs_index)
    warnings = [f"{r['layer']}: {r['rule']} {r['details']}" for r in rows_out
                if r["level"] == "warning" and not r["success"]]
    for w in warnings:
        log.warning("%s: %s", run.day, w)
    summary = {"rules": len(rows_out), "failed": sum(not r["success"] for r in rows_out), "warnings": warnings,
               "quarantined": {k: len(v) for k, v in quarantined_by_layer.items()},
               "data_docs": str(validator.docs_index), "report": str(report)}
    if failures:
        raise QualityError(f"{run.day}: not published, critical rules failed:\n" + "\n".join(failures))
    log.info("%s: %d rules checked, %d failed, quarantined %s", run.day, summary["rules"],
             summary["failed"], summary["quarantined"])
    return summary


def check_published(lake_root: Path, dataset: str, day, topics: list[str], languages: list[str],
                    limit: int | None = None) -> list[dict]:
    """Run a dataset's suite on a published partition, read-only (for analysts). A file larger than
    `limit` rows is checked in slices, as the nightly validation does."""
    if dataset not in DATASETS or dataset in ("quarantine", "quality"):
        raise ValueError(f"unknown dataset {dataset!r} (one of: {', '.join(n for n in DATASETS if n not in ('quarantine', 'quality'))})")
    ds = DATASETS[dataset]
    base = at(lake_root) / ds.path
    paths = sorted(base.glob(f"**/dt={day.isoformat()}/{lake.PART}")) if base.exists() else []
    if not paths:
        raise FileNotFoundError(f"{base}: no partition for {day.isoformat()}")
    def mention_ids() -> set[str]:
        ids: set[str] = set()
        for p in (at(lake_root) / MENTIONS.path).glob(f"dt=*/{lake.PART}"):
            ids.update(lake.read_table(p, columns=["post_id"])["post_id"].to_pylist())
        return ids

    validator = Validator(lake_root)
    run_id = f"check-{dataset}-{day.isoformat()}"
    if limit is not None and len(paths) == 1 and lake.parquet_metadata(paths[0]).num_rows > limit:
        _, labelled = validate_slices(validator, ds, paths[0], limit, day, topics, languages, run_id, dataset,
                                      mention_ids=functools.cache(mention_ids))
        results = [{**r, "layer": layer} for layer, rs in labelled for r in rs]
    else:
        table = pa.concat_tables([lake.read_file(p, ds) for p in paths])
        _, _, results = validate_table(validator, ds, table, day, topics, languages, run_id, dataset,
                                       mention_ids=mention_ids)
        del table
    if dataset == "raw":
        platforms = pa.concat_tables([lake.read_table(p, columns=["platform"]) for p in paths])
        results += validator.run("raw.volume", volume_rules(), volume_frame(lake_root, day, platforms), run_id)
    validator.build_docs(run_id)
    return results


def report_path(lake_root: Path, day) -> Path:
    return at(lake_root) / "quality" / "report" / f"dt={day.isoformat()}" / "index.html"


def write_report(lake_root: Path, day, run_id: str, results: list[dict], quarantined: dict[str, list[dict]],
                 docs_index: Path) -> Path:
    """The day's validation on one self-contained page (GX's Data Docs index needs a network)."""
    import html
    import os
    from collections import Counter

    e = html.escape
    failed = [r for r in results if not r["success"]]
    verdict = ("Not published: a critical rule failed" if any(r["level"] == "critical" for r in failed)
               else "Published" + (f", {sum(len(v) for v in quarantined.values())} rows quarantined" if quarantined else ""))
    rows = []
    for r in sorted(results, key=lambda r: (r["success"], r["layer"], r["level"] != "critical", r["rule"])):
        cls = "ok" if r["success"] else ("crit" if r["level"] == "critical" else "warn")
        rows.append(f"<tr class='{cls}'><td>{e(r['layer'])}</td><td>{e(r['rule'])}</td><td>{e(r['level'])}</td>"
                    f"<td>{'ok' if r['success'] else 'FAILED'}</td><td class='n'>{r['failed_rows']:,}</td>"
                    f"<td class='n'>{r['rows']:,}</td><td><code>{e(r['details'][:300])}</code></td></tr>")
    qrows = []
    for layer, bad in sorted(quarantined.items()):
        for rule, n in Counter(b["rule"] for b in bad).most_common():
            qrows.append(f"<tr><td>{e(layer)}</td><td>{e(rule)}</td><td class='n'>{n:,}</td></tr>")
    docs = lake.relative(docs_index, report_path(lake_root, day).parent)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Validation {e(day.isoformat())}</title>
<style>body{{font-family:system-ui,sans-serif;margin:1rem;color:#222}}table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;font-size:.9rem;vertical-align:top}}
td.n{{text-align:right}}tr.crit{{background:#fdd}}tr.warn{{background:#ffefc2}}code{{font-size:.8rem;word-break:break-all}}
.v{{font-size:1.2rem;font-weight:600}}</style></head><body>
<h1>Validation of {e(day.isoformat())}</h1>
<p class="v">{e(verdict)}</p>
<p>{len(results)} rules checked, {len(failed)} failed. Run <code>{e(run_id)}</code>.
Great Expectations Data Docs: <a href="{e(docs)}">{e(docs)}</a>.</p>
<h2>Rows these rules quarantined</h2><p>(Lines the importer refused are in <code>quarantine/layer=raw/</code> with their reasons.)</p>
{"<table><tr><th>dataset</th><th>rule</th><th>rows</th></tr>" + "".join(qrows) + "</table>" if qrows else "<p>None.</p>"}
<h2>Rules</h2>
<table><tr><th>dataset</th><th>rule</th><th>level</th><th>result</th><th>failed rows</th><th>rows</th><th>details</th></tr>
{"".join(rows)}</table>
</body></html>
"""
    return lake.write_atomic(report_path(lake_root, day), page)
