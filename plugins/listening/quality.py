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

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa

from listening import lake
from listening.schema import DATASETS, METRICS_DAILY, METRICS_HOURLY, MENTIONS, QUALITY, RAW, Dataset

log = logging.getLogger(__name__)

ROW = "_row"
LABELS = ["negative", "neutral", "positive"]
PLATFORM_REGEX = r"^[a-z][a-z0-9_]{0,31}$"


class QualityError(RuntimeError):
    """A critical rule failed: the day is not published."""


@dataclass(frozen=True)
class Rule:
    name: str
    level: str            # "critical" or "row"
    expectation: object   # a great_expectations Expectation


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
                          gx.expectations.ExpectColumnValuesToBeUnique(column=ds.unique[0])))
    elif ds.unique:
        rules.append(Rule(f"{'_'.join(ds.unique)}_unique", "critical",
                          gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=list(ds.unique))))
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
        ]
    if ds.name in ("metrics_daily", "metrics_hourly"):
        rules += [
            Rule("topic_in_watchlist", "row", E.ExpectColumnValuesToBeInSet(column="topic", value_set=topics)),
            Rule("net_sentiment_range", "row",
                 E.ExpectColumnValuesToBeBetween(column="net_sentiment", min_value=-1, max_value=1)),
            Rule("mean_sentiment_range", "row",
                 E.ExpectColumnValuesToBeBetween(column="mean_sentiment", min_value=-1, max_value=1)),
        ]
    if ds.name == "metrics_daily":
        rules.append(Rule("one_row_per_topic", "critical",
                          E.ExpectTableRowCountToEqual(value=len(topics))))
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


def frame(ds: Dataset, table: pa.Table, topics: list[str]) -> pd.DataFrame:
    """The table as GX reads it, with a row number and the derived columns of its suite."""
    df = table.to_pandas(types_mapper=_arrow_backed)
    if ds.name == "mentions":
        known = set(topics)
        df["_unknown_topics"] = [sum(t not in known for t in ts) for ts in df["topics"]]
        df["_topic_count"] = [len(ts) for ts in df["topics"]]
    df[ROW] = range(len(df))
    return df


class Validator:
    """A GX file context in the lake, so every run's results also feed the Data Docs."""

    def __init__(self, lake_root: Path):
        gx = _gx()
        self.gx = gx
        self.root = Path(lake_root) / "quality" / "gx"
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
        return self.root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"

    def build_docs(self) -> Path:
        """Data Docs once per run, after every partition is validated (results are already stored)."""
        self.context.build_data_docs()
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


def validate_table(validator: Validator, ds: Dataset, table: pa.Table, day, topics, languages,
                   run_id: str, name: str) -> tuple[pa.Table, list[dict], list[dict]]:
    """(rows that pass, quarantined rows, results) for one staged partition."""
    rules, _ = suite(ds, day, topics, languages)
    df = frame(ds, table, topics)
    results = validator.run(name, rules, df, run_id)
    bad_rows: dict[int, list[str]] = {}
    for r in results:
        if r["level"] == "row" and not r["success"]:
            for i in r["rows_index"]:
                bad_rows.setdefault(i, []).append(r["rule"])
    quarantined = []
    if bad_rows:
        records = table.take(sorted(bad_rows)).to_pylist()
        for i, rec in zip(sorted(bad_rows), records):
            quarantined.append({
                "_row": i, "rule": ",".join(bad_rows[i]),
                "reason": f"{name}: row broke {', '.join(bad_rows[i])}",
                "post_id": rec.get("post_id"), "source_file": rec.get("source_file"),
                "source_line": rec.get("source_line"),
                "record": json.dumps(rec, default=str, ensure_ascii=False)[:10_000],
            })
        keep = [i for i in range(table.num_rows) if i not in bad_rows]
        table = table.take(keep)
    return table, quarantined, results


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
    for name, paths in by_dataset.items():
        # Partitions of one dataset (raw per platform) are validated as one batch: GX's cost is per run.
        ds = DATASETS[name]
        tables = [lake.read_file(p, ds) for p in paths]
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        kept_all, bad, results = validate_table(validator, ds, table, run.day, topics, languages, run.run_id, name)
        if bad:
            bad_ids = {b["_row"] for b in bad}
            offset = 0
            for p, t in zip(paths, tables):
                keep = [i for i in range(t.num_rows) if offset + i not in bad_ids]
                if len(keep) < t.num_rows:
                    lake.write_file(p, ds, t.take(keep))
                offset += t.num_rows
            quarantined_by_layer.setdefault(name, []).extend(bad)
        for r in results:
            rows_out.append({"run_id": run.run_id, "layer": name, **{k: v for k, v in r.items() if k != "rows_index"}})
            if r["level"] == "critical" and not r["success"]:
                failures.append(f"{name}: rule {r['rule']} failed on {r['failed_rows']} of {r['rows']} rows {r['details']}")
    for layer, bad in quarantined_by_layer.items():
        stage_quarantine(run, layer, bad)
    validator.build_docs()
    results_table = pa.Table.from_pylist(rows_out, schema=QUALITY.schema)
    lake.write_partition(run.lake, QUALITY, results_table, dt=run.day)
    summary = {"rules": len(rows_out), "failed": sum(not r["success"] for r in rows_out),
               "quarantined": {k: len(v) for k, v in quarantined_by_layer.items()},
               "data_docs": str(validator.docs_index)}
    if failures:
        raise QualityError(f"{run.day}: not published, critical rules failed:\n" + "\n".join(failures))
    log.info("%s: %d rules checked, %d failed, quarantined %s", run.day, summary["rules"],
             summary["failed"], summary["quarantined"])
    return summary
