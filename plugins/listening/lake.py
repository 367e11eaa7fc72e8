"""The lake: hive-partitioned Parquet, one file per partition, replaced atomically.

A partition is a directory `<dataset>/<key>=<value>/…` holding `part-0.parquet`. Writers write
a hidden temporary file in the same directory and rename it over the old one, so a reader sees
either the old partition or the new one, never half of it, and a re-run of a day replaces
exactly that day. Files starting with '.' or '_' are ignored by Arrow, DuckDB and Spark readers.
"""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pds
import pyarrow.parquet as pq

from listening.schema import DATASETS, Dataset, conform

PART = "part-0.parquet"
STAGING = "_staging"


def partition_dir(root: Path, ds: Dataset, **keys: object) -> Path:
    missing = [k for k in ds.partitioning if k not in keys]
    if missing:
        raise ValueError(f"{ds.name}: partition keys {missing} missing")
    d = Path(root) / ds.path
    for k in ds.partitioning:
        v = keys[k]
        d = d / f"{k}={v.isoformat() if isinstance(v, date) else v}"
    return d


def sort_table(ds: Dataset, table: pa.Table) -> pa.Table:
    if ds.sort and table.num_rows:
        table = table.sort_by([(c, "ascending") for c in ds.sort])
    return table


def write_file(path: Path, ds: Dataset, table: pa.Table) -> Path:
    """Write one Parquet file atomically: temp file in the same directory, fsync, rename."""
    table = sort_table(ds, conform(ds, table))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        pq.write_table(
            table, tmp, compression="zstd", write_statistics=True, use_dictionary=True,
            row_group_size=128 * 1024)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a writer that was killed
            stale.unlink(missing_ok=True)
    except OSError as e:  # disk full, permission denied, read-only file system…
        tmp.unlink(missing_ok=True)
        raise OSError(e.errno, f"cannot write {path}: {e.strerror or e}; the previous version is intact") from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Any other file (JSON, HTML, e-mail) replaced whole: a reader sees the old or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp"
    tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)
    return path


def write_partition(root: Path, ds: Dataset, table: pa.Table, **keys: object) -> Path:
    return write_file(partition_dir(root, ds, **keys) / PART, ds, table)


def read_file(path: Path, ds: Dataset) -> pa.Table:
    return conform(ds, pq.read_table(path, schema=ds.schema))


def read_partition(root: Path, ds: Dataset, **keys: object) -> pa.Table | None:
    """The partition's rows, or None when it was never written."""
    p = partition_dir(root, ds, **keys) / PART
    if not p.exists():
        return None
    return read_file(p, ds)


def read_dataset(root: Path, name: str, filter=None) -> pa.Table:
    """All partitions of a dataset, with partition keys as columns (for readers and tests)."""
    ds = DATASETS[name]
    base = Path(root) / ds.path
    if not base.exists():
        return ds.schema.empty_table()
    dataset = pds.dataset(base, format="parquet", partitioning="hive",
                          exclude_invalid_files=False, ignore_prefixes=[".", "_"])
    return dataset.to_table(filter=filter)


# Staging: each task of a run writes its outputs here; publish moves them into the lake.

def staging_dir(root: Path, day: date) -> Path:
    return Path(root) / STAGING / f"dt={day.isoformat()}"


def stage_path(root: Path, day: date, ds: Dataset, **keys: object) -> Path:
    """Where a run's output for one partition waits to be validated and published."""
    return partition_dir(staging_dir(root, day), ds, **keys) / PART


def staged_files(root: Path, day: date) -> list[Path]:
    d = staging_dir(root, day)
    return sorted(d.rglob(PART)) if d.exists() else []


def publish(root: Path, day: date) -> list[Path]:
    """Move every staged partition of the day into the lake, each by one atomic rename."""
    sd = staging_dir(root, day)
    published = []
    for f in staged_files(root, day):
        target = Path(root) / f.relative_to(sd)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f, target)
        published.append(target)
    shutil.rmtree(sd, ignore_errors=True)
    try:
        sd.parent.rmdir()  # only when no other day is staged
    except OSError:
        pass
    return published


def clear_staging(root: Path, day: date) -> None:
    shutil.rmtree(staging_dir(root, day), ignore_errors=True)
