"""The lake: hive-partitioned Parquet, one file per partition, replaced atomically.

A partition is a directory `<dataset>/<key>=<value>/…` holding `part-0.parquet`. Writers write
a hidden temporary file in the same directory and rename it over the old one, so a reader sees
either the old partition or the new one, never half of it, and a re-run of a day replaces
exactly that day. Files starting with '.' or '_' are ignored by Arrow, DuckDB and Spark readers.

The root may be a local directory or an object-store URI (`s3://bucket/prefix`, through fsspec and
universal_pathlib: credentials and endpoint from the usual AWS variables). An object store has no
rename: there a file is written whole by one PUT (readers see the old object or the new one), and
`publish` copies each staged partition over its target, then commits the day's manifest
(`_manifests/dt=<day>.json`, written last, on local disks too): a day is published when its
manifest names the run.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pds
import pyarrow.parquet as pq

from listening.memory import arrow_pool
from listening.schema import DATASETS, Dataset, conform

arrow_pool()  # every task reads or writes the lake: one allocator for all of them

PART = "part-0.parquet"
STAGING = "_staging"
MANIFESTS = "_manifests"
PARQUET = dict(compression="zstd", write_statistics=True, use_dictionary=True, row_group_size=128 * 1024)


def at(location: str | os.PathLike) -> Path:
    """A lake location as a path: a local `Path`, or a universal_pathlib path for a URI."""
    if isinstance(location, Path) or _is_upath(location):
        return location
    text = str(location)
    if "://" in text and not text.startswith("file://"):
        from upath import UPath

        return UPath(text)
    return Path(text.removeprefix("file://"))


def _is_upath(p) -> bool:
    return type(p).__module__.startswith("upath.")


def remote(path) -> bool:
    """True on an object store (no rename, no fsync, no hard link)."""
    return not isinstance(path, Path)


def _arrow_fs(fs):
    """Not cached: fsspec file systems compare equal by their options, so a cache would hand back
    one bound to an endpoint the environment no longer names."""
    import pyarrow.fs as pfs

    return pfs.PyFileSystem(pfs.FSSpecHandler(fs))


def arrow_location(path) -> tuple[str, object]:
    """(path, filesystem) for pyarrow: the local path as is, or the object's key on its store."""
    if not remote(path):
        return str(path), None
    return path.path, _arrow_fs(path.fs)


def remove_tree(path) -> None:
    """rm -r, where `path` may be on an object store; nothing there is fine."""
    if remote(path):
        if path.exists():
            path.fs.rm(path.path, recursive=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def replace(src, dst) -> None:
    """Move a file over another in one step: a rename on disk, a server-side copy on a store."""
    if remote(dst):
        dst.fs.copy(src.path, dst.path)
        src.fs.rm(src.path)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)


def read_table(path, columns=None) -> pa.Table:
    """A Parquet file as it is (no schema conformance): staged parts, other files."""
    where, fs = arrow_location(path)
    return pq.read_table(where, columns=columns, filesystem=fs)


def iter_batches(path, rows: int, columns=None):
    """A Parquet file as it is, in record batches of at most `rows` rows (a staged shard streamed
    into the day's file); the file stays open until the batches are consumed."""
    where, fs = arrow_location(path)
    with pa.OSFile(where) if fs is None else fs.open_input_file(where) as src:
        yield from pq.ParquetFile(src).iter_batches(batch_size=rows, columns=columns)


class _Cursor:
    """The next rows of a Parquet file, read a batch at a time."""

    def __init__(self, path, rows: int):
        self.path, self.batches, self.left = path, iter_batches(path, rows), None

    def take(self, n: int) -> pa.Table:
        got, have = ([self.left], self.left.num_rows) if self.left is not None else ([], 0)
        while have < n:
            b = next(self.batches, None)
            if b is None:
                raise RuntimeError(f"{self.path}: {n - have} rows fewer than its columns read before")
            got.append(pa.Table.from_batches([b]))
            have += b.num_rows
        t = pa.concat_tables(got)
        self.left = t.slice(n) if have > n else None
        return t.slice(0, n)


def interleave(paths: list, source_of, rows: int, batch: int = 16_384):
    """The rows of several files (of one schema) in the order `source_of` gives, `rows` at a time.

    `source_of[i]` is the index in `paths` of the file the i-th row comes from; each file's rows
    keep their own order (sorted runs, a day's shards). A k-way merge whose order is known: each
    part takes the next rows of each file and interleaves them, so about `rows` rows are held
    across the files, whatever their size."""
    import numpy as np

    batch = min(batch, max(1024, rows // max(1, len(paths))))
    cursors = [_Cursor(p, batch) for p in paths]
    for lo in range(0, len(source_of), rows):
        src = np.asarray(source_of[lo:lo + rows])
        counts = np.bincount(src, minlength=len(paths))
        pieces = [cursors[s].take(int(k)) for s, k in enumerate(counts) if k]
        grouped = np.argsort(src, kind="stable")  # the pieces' rows: file 0's in order, then file 1's...
        where = np.empty_like(grouped)
        where[grouped] = np.arange(len(src))
        yield pa.concat_tables(pieces).take(pa.array(where))


def parquet_metadata(path):
    where, fs = arrow_location(path)
    if fs is None:
        return pq.ParquetFile(where).metadata
    with fs.open_input_file(where) as f:
        return pq.ParquetFile(f).metadata


def write_table(path, table: pa.Table, **options) -> None:
    """A plain Parquet file (a shard's staged part) written whole: rename on disk, one PUT on a store."""
    if remote(path):
        with tempfile.TemporaryDirectory(prefix="vigie-put-") as d:
            pq.write_table(table, os.path.join(d, "t.parquet"), **options)
            path.fs.put_file(os.path.join(d, "t.parquet"), path.path)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(table, tmp, **options)
    os.replace(tmp, path)


def append_text(path, text: str, sync: bool = False) -> None:
    """Add to a log file (JSON Lines). On a store, where nothing appends, the object is rewritten:
    fine for the small logs of one writer at a time."""
    if remote(path):
        old = path.read_bytes() if path.exists() else b""
        path.write_bytes(old + text.encode("utf-8"))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)
        if sync:
            f.flush()
            os.fsync(f.fileno())


def create_once(path, data: bytes) -> bool:
    """Write `path` only if it does not exist yet (two tasks racing: one wins). False if it existed."""
    if remote(path):
        try:
            path.fs.pipe_file(path.path, data, mode="create")  # S3's conditional PUT (If-None-Match)
            return True
        except FileExistsError:
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


def relative(target, start) -> str:
    """A relative link from one place of the lake to another (HTML pages linking each other)."""
    import posixpath

    def key(p):
        return p.path if remote(p) else os.path.abspath(p)

    return posixpath.relpath(key(target), key(start))


def download_tree(src, dst: Path, skip: tuple[str, ...] = ()) -> int:
    """Copy a folder of the store to a local folder (tools that need a disk: GX's file context),
    but for the subfolders in `skip`."""
    if not src.exists():
        return 0
    n = 0
    for key in src.fs.find(src.path):
        rel = posixpath_rel(key, src.path)
        if rel.startswith(skip):
            continue
        local = dst / rel
        local.parent.mkdir(parents=True, exist_ok=True)
        src.fs.get_file(key, str(local))
        n += 1
    return n


def upload_tree(src: Path, dst, since: float = 0.0) -> int:
    """Send a local folder's files written after `since` (a time.time()) to the store."""
    n = 0
    for f in sorted(src.rglob("*")):
        if f.is_file() and f.stat().st_mtime >= since:
            dst.fs.put_file(str(f), (dst / f.relative_to(src).as_posix()).path)
            n += 1
    return n


def posixpath_rel(key: str, base: str) -> str:
    import posixpath

    return posixpath.relpath(key, base.rstrip("/"))


def partition_dir(root: Path, ds: Dataset, **keys: object) -> Path:
    missing = [k for k in ds.partitioning if k not in keys]
    if missing:
        raise ValueError(f"{ds.name}: partition keys {missing} missing")
    d = at(root) / ds.path
    for k in ds.partitioning:
        v = keys[k]
        d = d / f"{k}={v.isoformat() if isinstance(v, date) else v}"
    return d


def sort_table(ds: Dataset, table: pa.Table) -> pa.Table:
    """In the dataset's order. A table already in order (merged mentions) is returned as it is:
    the sort keys cost little, moving every column (the `take`) ten times more."""
    if ds.sort and table.num_rows:
        order = _order(ds, table)
        if order is not None:
            table = table.take(order)
    return table


def in_order(ds: Dataset, table: pa.Table) -> bool:
    """Whether `table` (holding at least the sort columns) is in the dataset's order."""
    return not ds.sort or not table.num_rows or _order(ds, table) is None


def _order(ds: Dataset, table: pa.Table):
    """The indices that sort `table` in the dataset's order, or None when it is in order."""
    import numpy as np
    import pyarrow.compute as pc

    order = pc.sort_indices(table.select(list(ds.sort)), [(c, "ascending") for c in ds.sort])
    return None if np.array_equal(order.to_numpy(), np.arange(table.num_rows)) else order


def write_file(path: Path, ds: Dataset, table: pa.Table) -> Path:
    """Write one Parquet file atomically: temp file in the same directory, fsync, rename."""
    table = sort_table(ds, conform(ds, table))
    return _replace(path, lambda where: pq.write_table(table, where, **PARQUET))


def write_file_parts(path: Path, ds: Dataset, parts: Iterable[pa.Table]) -> Path:
    """A file of `ds` written part by part, never held whole (a large day's mentions rewritten by
    validation), replaced as write_file replaces. The parts come in the dataset's order already."""
    options = {k: v for k, v in PARQUET.items() if k != "row_group_size"}

    def write(where: str) -> None:
        rows = 0
        with pq.ParquetWriter(where, ds.schema, **options) as w:
            for t in parts:
                if t.num_rows:
                    w.write_table(conform(ds, t), row_group_size=PARQUET["row_group_size"])
                    rows += t.num_rows
            if not rows:  # as write_file writes an empty table: one empty row group
                w.write_table(ds.schema.empty_table())

    return _replace(path, write)


def _replace(path, write: Callable[[str], None]) -> Path:
    """`write(file)` makes the new version in a local file, which then replaces `path` in one step:
    fsync and rename on disk, one PUT on a store (never half an object)."""
    if remote(path):
        with tempfile.TemporaryDirectory(prefix="vigie-put-") as d:
            try:
                write(os.path.join(d, "t.parquet"))
                path.fs.put_file(os.path.join(d, "t.parquet"), path.path)
            except OSError as e:
                raise OSError(e.errno, f"cannot write {path}: {e}; the previous version is intact") from e
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        write(str(tmp))
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
    data = data.encode("utf-8") if isinstance(data, str) else data
    path = at(path)
    if remote(path):
        path.write_bytes(data)  # one PUT
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def write_partition(root: Path, ds: Dataset, table: pa.Table, **keys: object) -> Path:
    return write_file(partition_dir(root, ds, **keys) / PART, ds, table)


def read_file(path: Path, ds: Dataset, columns: list[str] | None = None) -> pa.Table:
    """A file of `ds` in its schema (a column an older file lacks comes back null); only
    `columns`, in that order, when given."""
    where, fs = arrow_location(path)
    if columns is not None:
        return pq.read_table(where, schema=ds.schema, columns=columns, filesystem=fs)
    return conform(ds, pq.read_table(where, schema=ds.schema, filesystem=fs))


def read_parts(path: Path, ds: Dataset, rows: int, columns: list[str] | None = None):
    """(first row, table) of consecutive parts of a file of `ds`, each of at most `rows` rows, so
    that a large day is never held whole: consecutive row groups up to `rows`, a larger row group
    cut in pieces. Each part as read_file reads the whole file (only `columns` when given)."""
    where, fs = arrow_location(path)
    with pa.OSFile(where) if fs is None else fs.open_input_file(where) as src:  # closed on a store too
        f = pq.ParquetFile(src)
        md, present = f.metadata, set(f.schema_arrow.names)
        wanted = list(columns) if columns is not None else ds.schema.names
        spans: list[tuple[list[int], int]] = []
        for g in range(md.num_row_groups):
            n = md.row_group(g).num_rows
            if spans and spans[-1][1] + n <= rows:
                spans[-1] = (spans[-1][0] + [g], spans[-1][1] + n)
            else:
                spans.append(([g], n))
        start = 0
        for groups, n in spans:
            reading = [c for c in wanted if c in present]
            parts = ([f.read_row_groups(groups, columns=reading)] if n <= rows else
                     (pa.Table.from_batches([b]) for b in f.iter_batches(batch_size=rows, row_groups=groups,
                                                                           columns=reading)))
            for t in parts:
                # a column the file lacks reads as nulls, as with read_file
                t = pa.Table.from_arrays([t[c] if c in present else pa.nulls(t.num_rows, ds.schema.field(c).type)
                                          for c in wanted], names=wanted)
                yield start, (conform(ds, t) if columns is None else
                              t.cast(pa.schema([ds.schema.field(c) for c in wanted])))
                start += t.num_rows


def read_partition(root: Path, ds: Dataset, **keys: object) -> pa.Table | None:
    """The partition's rows, or None when it was never written."""
    p = partition_dir(root, ds, **keys) / PART
    if not p.exists():
        return None
    return read_file(p, ds)


def read_dataset(root: Path, name: str, filter=None) -> pa.Table:
    """All partitions of a dataset, with partition keys as columns (for readers and tests)."""
    ds = DATASETS[name]
    base = at(root) / ds.path
    if not base.exists():
        return ds.schema.empty_table()
    where, fs = arrow_location(base)
    dataset = pds.dataset(where, filesystem=fs, format="parquet", partitioning="hive",
                          exclude_invalid_files=False, ignore_prefixes=[".", "_"])
    return dataset.to_table(filter=filter)


# Staging: each task of a run writes its outputs here; publish moves them into the lake.

def staging_dir(root: Path, day: date) -> Path:
    return at(root) / STAGING / f"dt={day.isoformat()}"


def stage_path(root: Path, day: date, ds: Dataset, **keys: object) -> Path:
    """Where a run's output for one partition waits to be validated and published."""
    return partition_dir(staging_dir(root, day), ds, **keys) / PART


def staged_files(root: Path, day: date) -> list[Path]:
    d = staging_dir(root, day)
    return sorted(d.rglob(PART)) if d.exists() else []


def manifest_path(root: Path, day: date) -> Path:
    return at(root) / MANIFESTS / f"dt={day.isoformat()}.json"


def publish(root: Path, day: date, run_id: str | None = None) -> list[Path]:
    """Move every staged partition of the day into the lake (each replaced in one step), then commit
    the manifest: the day's partitions, their sizes and the run that published them."""
    root = at(root)
    sd = staging_dir(root, day)
    published = []
    for f in staged_files(root, day):
        target = root / str(f.relative_to(sd))
        replace(f, target)
        published.append(target)
    if published or run_id:
        files = [{"path": str(p.relative_to(root)), "bytes": p.stat().st_size} for p in published]
        write_atomic(manifest_path(root, day), json.dumps(
            {"day": day.isoformat(), "run_id": run_id, "files": files,
             "published": datetime.now(timezone.utc).isoformat(timespec="seconds")},
            ensure_ascii=False, indent=1))
    remove_tree(sd)
    if not remote(sd):
        try:
            sd.parent.rmdir()  # only when no other day is staged
        except OSError:
            pass
    return published


def published_manifest(root: Path, day: date) -> dict | None:
    """The day's committed manifest, or None when no run has published it."""
    p = manifest_path(root, day)
    return json.loads(p.read_text()) if p.exists() else None


def clear_staging(root: Path, day: date) -> None:
    remove_tree(staging_dir(root, day))
