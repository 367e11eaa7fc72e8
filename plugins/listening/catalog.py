"""The DuckDB catalog: one view per dataset over the lake's Parquet, for analysts and BI tools.

`<lake>/catalog.duckdb` is rebuilt after every publish: built in a temporary file, then renamed
over the old one, so a tool that has the catalog open keeps a consistent (if older) view. Views
read the Parquet files where they are (hive partitions become columns: dt, source, layer), so the
catalog itself stays a few kilobytes. A dataset with no file yet is an empty table with the
schema's columns, so queries written against it work from the first day.

On an object-store lake the views read `s3://` paths: built and queried here through the lake's
fsspec file system (no DuckDB extension to download); an analyst's DuckDB reads them with httpfs.
"""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pyarrow as pa

from listening.lake import at, remote
from listening.schema import DATASETS

CATALOG = "catalog.duckdb"

# Convenience views, over the dataset views above.
VIEWS = {
    "mention_topics": """
        SELECT m.* EXCLUDE (topics), t.topic
        FROM mentions m, UNNEST(m.topics) AS t(topic)""",
    "daily_topics": """
        SELECT dt, topic, posts, unique_authors, positive, neutral, negative, net_sentiment, reach, engagement
        FROM metrics_daily ORDER BY dt, topic""",
    "authors_latest": """
        SELECT a.* FROM authors a
        JOIN (SELECT author_key, topic, window_days, max(dt) AS dt FROM authors GROUP BY ALL) l
        USING (author_key, topic, window_days, dt)""",
}


def _glob(lake: Path, path: str, depth: int) -> str:
    return str(lake / path / "/".join(["*"] * depth) / "*.parquet")


def _connect(path: str, lake, **kw):
    import duckdb

    con = duckdb.connect(path, **kw)
    if remote(lake):
        con.execute("SET autoinstall_known_extensions = false")
        con.register_filesystem(lake.fs)
    return con


def build(lake: str | Path) -> Path:
    """(Re)build the catalog; returns its path."""
    lake = at(lake)
    if remote(lake):
        with tempfile.TemporaryDirectory(prefix="vigie-catalog-") as d:
            local = _build(lake, Path(d) / CATALOG, Path(d) / f".{CATALOG}.tmp")
            lake.fs.put_file(str(local), (lake / CATALOG).path)  # one PUT
        return lake / CATALOG
    lake = lake.resolve()
    lake.mkdir(parents=True, exist_ok=True)
    return _build(lake, lake / CATALOG, lake / f".{CATALOG}.{uuid.uuid4().hex}.tmp")


def _build(lake, target: Path, tmp: Path) -> Path:
    try:
        con = _connect(str(tmp), lake)
        try:
            for name, ds in DATASETS.items():
                depth = len(ds.partitioning)
                files = list((lake / ds.path).glob("/".join(["*"] * depth) + "/*.parquet")) \
                    if (lake / ds.path).exists() else []
                if files:
                    glob = _glob(lake, ds.path, depth).replace("'", "''")
                    con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{glob}', "
                                f"hive_partitioning = true, union_by_name = true)")
                else:
                    empty = ds.schema.empty_table()
                    for key in ds.partitioning:
                        empty = empty.append_column(key, pa.array([], pa.string()))
                    con.register("empty_arrow", empty)
                    con.execute(f"CREATE TABLE {name} AS SELECT * FROM empty_arrow")
                    con.unregister("empty_arrow")
            for name, sql in VIEWS.items():
                con.execute(f"CREATE VIEW {name} AS {sql}")
        finally:
            con.close()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
    return target


def query(lake: str | Path, sql: str):
    """Run a read-only query against the catalog; returns a pandas DataFrame."""
    lake = at(lake)
    path = lake / CATALOG
    if not path.exists():
        raise FileNotFoundError(f"{path}: no catalog yet (run a nightly run, or `python -m listening catalog`)")
    if remote(lake):
        with tempfile.TemporaryDirectory(prefix="vigie-catalog-") as d:
            lake.fs.get_file(path.path, os.path.join(d, CATALOG))
            return _query(os.path.join(d, CATALOG), lake, sql)
    return _query(str(path), lake, sql)


def _query(path: str, lake, sql: str):
    con = _connect(path, lake, read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()
