"""CSV exports as a file source: a vendor's or another tool's CSV, read through a mapping.

A CSV file of the import directory (`*.csv`, `*.csv.gz`) is read with a mapping, a small YAML
file that says which column gives which import-format field (docs/import-format.md, "CSV
exports"): `<name>.mapping.yml` beside the file, or `csv-mapping.yml` in its directory for
every CSV of it. Each row becomes an import-format record and goes through `files.to_raw`, so a
CSV row passes exactly the checks of a JSON line; a bad row goes to quarantine with the file,
the CSV line where its record starts and the reason, and the run goes on.

A mapping is checked whole before any row is read; a bad one is a `MappingError` naming the
mapping file, the line and the key. Cells are data: nothing is evaluated (a cell `=1+1` is the
text `=1+1`).
"""
from __future__ import annotations

import codecs
import csv
import gzip
import json
import re
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from listening.sources.files import COUNTS, MAX_RECORD, BadRecord, to_raw

SUFFIXES = (".csv", ".csv.gz")
DIR_MAPPING = "csv-mapping.yml"
MAPPING_SUFFIX = ".mapping.yml"

FIELDS = ("platform", "id", "author_id", "author_handle", "author_followers", "text", "created_at",
          "url", "lang", "reply_to", "repost_of", "quote_of", *COUNTS)
REQUIRED = ("platform", "id", "author_id", "text", "created_at")
NUMBERS = (*COUNTS, "author_followers")
TOP_KEYS = ("delimiter", "quotechar", "encoding", "skip_lines", "fields")
FIELD_KEYS = ("column", "value", "values", "prefix", "format", "timezone")
# codecs.lookup(name).name of the encodings vendors' exports come in
ENCODINGS = {"utf-8": "utf-8-sig", "utf-8-sig": "utf-8-sig", "cp1252": "cp1252", "iso8859-1": "iso8859-1",
             "iso8859-15": "iso8859-15", "utf-16": "utf-16"}
MAX_CELL = 16 * 1024 * 1024
_SURROGATE = re.compile("[\ud800-\udfff]")
_GROUP = "[\u0020\u00a0\u202f'\u2019_]"          # spaces, no-break spaces, apostrophes between digit groups


class MappingError(ValueError):
    """A mapping that can't be used, with the mapping file, the line and the key."""


class Field:
    def __init__(self, name: str, column: str | None = None, value: str | None = None,
                 values: dict | None = None, fmt: str | None = None, tz: ZoneInfo | None = None):
        self.name, self.value, self.values, self.fmt, self.tz = name, value, values, fmt, tz
        self.prefix: str | None = None
        self.columns: tuple[str, ...] = (column,) if column is not None else ()

    @property
    def column(self) -> str | None:
        """The column's name for messages ('Date + Heure' when cells are joined)."""
        return " + ".join(self.columns) if self.columns else None


class Mapping:
    def __init__(self, path: Path, delimiter: str, quotechar: str, encoding: str, skip_lines: int,
                 fields: dict[str, Field], lines: dict[tuple, int]):
        self.path, self.delimiter, self.quotechar, self.encoding = path, delimiter, quotechar, encoding
        self.skip_lines, self.fields, self.lines = skip_lines, fields, lines

    def where(self, *key) -> str:
        """`path:line: key` of a key of the mapping, for messages."""
        for n in range(len(key), -1, -1):
            if key[:n] in self.lines:
                return f"{self.path}:{self.lines[key[:n]]}: {'.'.join(map(str, key)) or '(top)'}"
        return f"{self.path}:1: {'.'.join(map(str, key))}"


# --- the mapping ---------------------------------------------------------------------------

def mapping_for(csv_path: Path) -> Path | None:
    """The mapping of a CSV file: `<name>.mapping.yml` beside it, else the directory's `csv-mapping.yml`."""
    stem = csv_name_stem(csv_path.name)
    for p in (csv_path.with_name(stem + MAPPING_SUFFIX), csv_path.with_name(DIR_MAPPING)):
        if p.is_file():
            return p
    return None


def csv_name_stem(name: str) -> str:
    for s in SUFFIXES[::-1]:
        if name.endswith(s):
            return name[: -len(s)]
    return name


def is_mapping_file(path: Path) -> bool:
    return path.name == DIR_MAPPING or path.name.endswith(MAPPING_SUFFIX)


def _line_map(root, path: Path) -> dict[tuple, int]:
    """Line of every key of the mapping file; a key given twice is an error (YAML keeps the last)."""
    lines: dict[tuple, int] = {}

    def walk(node, at: tuple) -> None:
        lines.setdefault(at, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            first: dict = {}
            for k, v in node.value:
                key, line = getattr(k, "value", None), k.start_mark.line + 1
                if key in first:
                    raise MappingError(f"{path}:{line}: {'.'.join(map(str, at + (key,)))}: "
                                       f"key given twice (first on line {first[key]})")
                first[key] = lines[at + (key,)] = line
                walk(v, at + (key,))
                lines[at + (key,)] = line

    if root is not None:
        walk(root, ())
    return lines


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; every problem is reported at once, as `file:line: key: what`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MappingError(f"{path}:1: cannot read the mapping ({e})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ":1"
        raise MappingError(f"{path}{where}: not valid YAML: {getattr(e, 'problem', None) or e}") from None
    if not isinstance(data, dict):
        raise MappingError(f"{path}:1: (top): a mapping file holds keys (delimiter, encoding, fields, …), "
                           f"found {type(data).__name__}")
    lines = _line_map(root, path)
    m = Mapping(path, ",", '"', "utf-8-sig", 0, {}, lines)
    problems: list[str] = []

    def bad(key: tuple, msg: str) -> None:
        problems.append(f"{m.where(*key)}: {msg}")

    for k in data:
        if k not in TOP_KEYS:
            bad((k,), f"unknown key (expected one of {', '.join(TOP_KEYS)})")
    for k in ("delimiter", "quotechar"):
        v = data.get(k, m.delimiter if k == "delimiter" else m.quotechar)
        if not isinstance(v, str) or len(v) != 1 or v in "\r\n":
            bad((k,), f"must be one character in quotes (\";\", \",\", \"\\t\"), got {v!r}")
        else:
            setattr(m, k, v)
    if m.delimiter == m.quotechar:
        bad(("quotechar",), "the quote character can't be the delimiter")
    enc = data.get("encoding", "utf-8")
    try:
        m.encoding = ENCODINGS[codecs.lookup(str(enc)).name]
    except (LookupError, KeyError):
        bad(("encoding",), f"{enc!r} is not one of utf-8, utf-8-sig, cp1252, latin-1, iso-8859-15, utf-16")
    skip = data.get("skip_lines", 0)
    if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
        bad(("skip_lines",), f"must be a whole number >= 0 (lines before the header), got {skip!r}")
    else:
        m.skip_lines = skip
    fields = data.get("fields")
    if not isinstance(fields, dict):
        bad(("fields",), "missing: a `fields:` block saying which column gives which field")
        fields = {}
    for name, spec in fields.items():
        key = ("fields", name)
        if name not in FIELDS:
            bad(key, f"unknown field (import-format fields: {', '.join(FIELDS)})")
            continue
        if spec is None:
            continue  # `url:` with nothing: not given by this export
        if isinstance(spec, (str, int)) and not isinstance(spec, bool):
            spec = {"column": str(spec)}
        if not isinstance(spec, dict):
            bad(key, f"give a column name (in quotes if it looks like a number or yes/no), or "
                     f"{{column: …}} / {{value: …}}; got {spec!r}")
            continue
        f = Field(name)
        for k, v in spec.items():
            if k not in FIELD_KEYS:
                bad(key + (k,), f"unknown key (expected one of {', '.join(FIELD_KEYS)})")
        if ("column" in spec) == ("value" in spec):
            bad(key, "give either `column:` (a column of the CSV) or `value:` (the same for every row)")
            continue
        if "column" in spec:
            cols = spec["column"] if isinstance(spec["column"], list) else [spec["column"]]
            if not cols or not all(isinstance(c, (str, int)) and not isinstance(c, bool) and str(c).strip()
                                   for c in cols):
                bad(key + ("column",), "a column name (in quotes if it looks like a number or yes/no), or a "
                                       f"list of columns whose cells are joined with a space; got {spec['column']!r}")
            else:
                f.columns = tuple(str(c).strip() for c in cols)
        else:
            v = spec["value"]
            if isinstance(v, bool) or not isinstance(v, (str, int)):
                bad(key + ("value",), f"a constant value must be a string, got {v!r}")
            else:
                f.value = str(v)
        if "values" in spec:
            vs = spec["values"]
            if not isinstance(vs, dict) or not all(isinstance(x, (str, int)) and not isinstance(x, bool)
                                                   for x in [*vs, *vs.values()]):
                bad(key + ("values",), "must map what the export writes to what Vigie stores, "
                                       "e.g. {Twitter: x, Facebook: facebook}, in quotes where needed")
            else:
                f.values = {str(a).strip(): str(b) for a, b in vs.items()}
        if "prefix" in spec:
            if name in NUMBERS or name in ("created_at", "text"):
                bad(key + ("prefix",), "`prefix` only applies to names and ids (author_handle, id, url, …)")
            elif not isinstance(spec["prefix"], str) or not spec["prefix"]:
                bad(key + ("prefix",), f"a prefix is a string such as \"@\", got {spec['prefix']!r}")
            else:
                f.prefix = spec["prefix"]
        if name != "created_at":
            for k in ("format", "timezone"):
                if k in spec:
                    bad(key + (k,), f"`{k}` only applies to created_at")
        else:
            fmt, tz = spec.get("format"), spec.get("timezone")
            if fmt is not None:
                if not isinstance(fmt, str) or "%" not in fmt:
                    bad(key + ("format",), f"a strptime format such as \"%d/%m/%Y %H:%M\", got {fmt!r}")
                else:
                    try:
                        probe = datetime(2026, 11, 2, 13, 4, 5, tzinfo=timezone.utc)
                        datetime.strptime(probe.strftime(fmt), fmt)
                        f.fmt = fmt
                    except ValueError as e:
                        bad(key + ("format",), f"{fmt!r} is not a usable strptime format ({e})")
            if tz is not None:
                try:
                    f.tz = ZoneInfo(str(tz))
                except (ZoneInfoNotFoundError, ValueError):
                    bad(key + ("timezone",), f"unknown time zone {tz!r} (a name such as Europe/Brussels or UTC)")
            if f.fmt and "%z" not in f.fmt and tz is None:
                bad(key + ("format",), "the format has no %z, so the times are local: say in which zone "
                                       "with `timezone:` (e.g. Europe/Brussels)")
        m.fields[name] = f
    for name in REQUIRED:
        if name in m.fields or fields.get(name) is not None:
            continue  # given (or given wrong, which is reported above)
        if name in fields:
            bad(("fields", name), "is required: give its column (or a constant `value:`)")
        else:
            bad(("fields",), f"{name} is required: give its column"
                + (" (or `value:` for a file from a single platform)" if name == "platform" else ""))
    if problems:
        raise MappingError("\n".join(problems))
    return m


def check_header(m: Mapping, header: list[str], csv_name: str) -> dict[str, list[int]]:
    """Column positions of the mapped fields, or a MappingError naming the mapping key and the CSV."""
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(header):
        positions.setdefault(h, []).append(i)
    index: dict[str, list[int]] = {}
    problems = []
    for name, f in m.fields.items():
        where = m.where("fields", name, "column") if ("fields", name, "column") in m.lines else m.where("fields", name)
        for col in f.columns:
            found = positions.get(col, [])
            if not found:
                near = [h for h in header if h.casefold() == col.casefold()]
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                cols = ", ".join(repr(h) for h in header[:30])
                problems.append(f"{where}: column {col!r} is not in the header of {csv_name}{hint}; "
                                f"its columns are {cols}")
            elif len(found) > 1:
                problems.append(f"{where}: column {col!r} appears {len(found)} times in the header of {csv_name}")
            else:
                index.setdefault(name, []).append(found[0])
    if problems:
        raise MappingError("\n".join(problems))
    return index


# --- cells to import-format values ----------------------------------------------------------

def parse_count(cell: str, field: str, column: str) -> int:
    """A whole number as exports write them: 1234, "1 234", "1.234", "1,234", "1.2K", "3,4 M", "12.0"."""
    s = cell.strip()
    sign = -1 if s.startswith("-") else 1
    s = s.lstrip("-").strip()
    s = re.sub(rf"(?<=[0-9]){_GROUP}(?=[0-9]{{3}}(?![0-9]))", "", s)
    if m := re.fullmatch(r"([0-9]+(?:[.,][0-9]+)?)\s*([kKmM])", s):
        n = round(float(m.group(1).replace(",", ".")) * (1000 if m.group(2) in "kK" else 1_000_000))
    elif re.fullmatch(r"[0-9]{1,3}(?:([.,])[0-9]{3})(?:\1[0-9]{3})*", s):
        n = int(re.sub(r"[.,]", "", s))
    elif m := re.fullmatch(r"([0-9]+)(?:[.,]0+)?", s):
        n = int(m.group(1))
    else:
        raise BadRecord(f"{field}_type", f"{field} {cell.strip()[:20]!r} (column {column!r}) is not a whole number")
    return sign * n


def parse_created(cell: str, f: Field) -> datetime:
    s = cell.strip()
    where = f" (column {f.column!r})" if f.column else ""
    if not s:
        raise BadRecord("missing_field", f"required field 'created_at' is missing{where}: empty cell")
    try:
        t = datetime.strptime(s, f.fmt) if f.fmt else datetime.fromisoformat(s.replace(" UTC", "Z"))
    except ValueError:
        how = f"the format {f.fmt!r}" if f.fmt else "ISO 8601 (give `format:` in the mapping for other forms)"
        raise BadRecord("created_at_format", f"created_at {s[:40]!r}{where} does not match {how}") from None
    if t.tzinfo is None:
        if f.tz is None:
            raise BadRecord("created_at_zone", f"created_at {s[:40]!r}{where} has no time zone "
                                               f"(add `timezone:` to created_at in the mapping)")
        t = t.replace(tzinfo=f.tz)  # a time of the autumn's repeated hour takes its first (summer) offset
    return t.astimezone(timezone.utc)


def _cell(f: Field, cells: list[str], index: dict[str, list[int]]) -> str | None:
    """The field's text for a row: the constant, or the cell(s) (translated by `values`); None if empty."""
    raw = f.value if f.value is not None else " ".join(cells[i] for i in index[f.name])
    if f.name != "text":
        raw = raw.strip()
    if f.values is not None and raw.strip() in f.values:
        raw = f.values[raw.strip()]
    if f.prefix and raw and not raw.startswith(f.prefix):
        raw = f.prefix + raw
    return raw if (raw != "" or f.name == "text") else None


def to_record(m: Mapping, cells: list[str], index: dict[str, list[int]]) -> dict:
    """One CSV row as an import-format record (created_at left as the cell: see `parse_created`)."""
    rec: dict = {}
    for name, f in m.fields.items():
        v = _cell(f, cells, index)
        if v is not None and _SURROGATE.search(v):
            raise BadRecord("encoding", f"column {f.column!r} is not valid {m.encoding.removesuffix('-sig')} "
                                        f"(check `encoding:` in the mapping)")
        if v is None or name == "created_at":
            rec[name] = v
        elif name in NUMBERS:
            rec[name] = parse_count(v, name, f.column or "value")
        elif name == "platform":
            rec[name] = v.lower()
        else:
            rec[name] = v
    return rec


# --- reading ----------------------------------------------------------------------------------

class _Lines:
    """The file's lines, counted and kept until the CSV reader has made a record of them."""

    def __init__(self, fh):
        self.fh, self.n, self.buf = fh, 0, []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self.fh)
        self.n += 1
        self.buf.append(line)
        return line

    def take(self) -> str:
        s, self.buf = "".join(self.buf), []
        return s


@contextmanager
def _field_limit(n: int):
    old = csv.field_size_limit(n)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _open_text(path: Path, encoding: str):
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding, errors="surrogateescape", newline="")
    return open(path, encoding=encoding, errors="surrogateescape", newline="")


def _printable(s: str) -> str:
    return _SURROGATE.sub("\ufffd", s)


def rows(path: Path, m: Mapping):
    """(first line, last line, cells or a csv.Error, raw text) of each record after the header;
    the header first, as (line, line, header cells, raw). Blank records are skipped."""
    with _open_text(path, m.encoding) as fh, _field_limit(MAX_CELL):
        lines = _Lines(fh)
        for _ in range(m.skip_lines):
            if next(lines, None) is None:
                return
        lines.take()
        reader = csv.reader(lines, delimiter=m.delimiter, quotechar=m.quotechar, strict=True)
        while True:
            first = lines.n + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                cells = e
            raw = lines.take()
            if isinstance(cells, list) and not any(c.strip() for c in cells):
                continue
            yield first, max(first, lines.n), cells, raw


def header_names(cells: list[str]) -> list[str]:
    return [c.strip().lstrip("\ufeff").strip() for c in cells]


def payload(header: list[str], cells: list[str]) -> str:
    """The row as received, as a JSON object of column -> cell (a repeated column name gets ` (2)`)."""
    obj: dict = {}
    for h, c in zip(header, cells):
        k, n = h, 1
        while k in obj:
            n += 1
            k = f"{h} ({n})"
        obj[k] = c
    return json.dumps(obj, ensure_ascii=False)


def read_file(path: Path, name: str, start: datetime, end: datetime,
              rows_out, bad: list[dict], seen: dict) -> None:
    """Read one CSV file into `rows_out` (posts of [start, end)) and `bad` (files.read_day's contract)."""

    def reject(rule: str, reason: str, line: int | None, record: str = "", post_id: str | None = None,
               last: int | None = None) -> None:
        span = f" (record of lines {line}-{last})" if last and line and last > line else ""
        bad.append({"rule": rule, "reason": f"{name}:{line}: {reason}{span}" if line else f"{name}: {reason}",
                    "post_id": post_id, "source_file": name, "source_line": line,
                    "record": _printable(record.rstrip("\r\n"))[:MAX_RECORD]})

    mpath = mapping_for(path)
    if mpath is None:
        reject("csv_no_mapping", f"no mapping for this CSV file: write {csv_name_stem(path.name)}{MAPPING_SUFFIX} "
               f"beside it or {DIR_MAPPING} in its directory (docs/import-format.md); the file was not read", None)
        return
    try:
        m = load_mapping(mpath)
    except MappingError as e:
        reject("csv_mapping", f"the file was not read, its mapping is wrong: {e}", None)
        return
    header: list[str] | None = None
    index: dict[str, list[int]] = {}
    try:
        for first, last, cells, raw in rows(path, m):
            if header is None:
                if isinstance(cells, csv.Error):
                    reject("csv_header", f"the header can't be read ({cells}); the file was not read", first, raw)
                    return
                header = header_names(cells)
                try:
                    index = check_header(m, header, name)
                except MappingError as e:
                    reject("csv_header", f"the file was not read, its mapping does not fit its header: {e}", first, raw)
                    return
                continue
            if isinstance(cells, csv.Error):
                reject("csv", f"not a well-formed CSV record ({cells}); a quote left open?", first, raw, last=last)
                continue
            if len(cells) != len(header):
                reject("csv_columns", f"{len(cells)} cells where the header has {len(header)} (a delimiter "
                       f"in an unquoted cell, or a cell missing?)", first, raw, last=last)
                continue
            try:
                rec = to_record(m, cells, index)
                created = parse_created(rec.get("created_at") or "", m.fields["created_at"])
            except BadRecord as e:
                reject(e.rule, e.reason, first, raw, last=last)
                continue
            if not (start <= created < end):
                continue
            rec["created_at"] = created.isoformat()
            try:
                row = to_raw(rec, created)
            except BadRecord as e:
                col = next((f for n, f in m.fields.items() if e.rule.startswith(n) or f"'{n}'" in e.reason), None)
                where = f" (column {col.column!r})" if col is not None and col.column else ""
                reject(e.rule, e.reason + where, first, raw, f"{rec.get('platform')}:{rec.get('id')}", last=last)
                continue
            if row["post_id"] in seen:
                f0, l0 = seen[row["post_id"]]
                reject("duplicate", f"post {row['post_id']} already read from {f0}:{l0}", first, raw,
                       row["post_id"], last=last)
                continue
            seen[row["post_id"]] = (name, first)
            row["source_file"] = name
            row["source_line"] = first
            row["payload"] = payload(header, cells)
            rows_out.append(row)
    except UnicodeError as e:  # utf-16 that isn't: surrogateescape can't carry those bytes
        reject("encoding", f"not valid {m.encoding} ({e}); the rows before were read", None)


def records(path: Path):
    """Import-format records of a CSV file with a usable mapping, bad rows skipped (files.records)."""
    mpath = mapping_for(path)
    if mpath is None:
        return
    try:
        m = load_mapping(mpath)
        header, index = None, {}
        for _, _, cells, _ in rows(path, m):
            if header is None:
                if isinstance(cells, csv.Error):
                    return
                header = header_names(cells)
                index = check_header(m, header, path.name)
                continue
            if isinstance(cells, list) and len(cells) == len(header):
                try:
                    rec = to_record(m, cells, index)
                    rec["created_at"] = parse_created(rec.get("created_at") or "", m.fields["created_at"]).isoformat()
                except BadRecord:
                    continue
                yield rec
    except (MappingError, OSError, EOFError, UnicodeError):
        return
