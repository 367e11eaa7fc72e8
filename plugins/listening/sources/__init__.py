"""Sources: one module per platform or file format, each turning what it reads into raw rows.

Two kinds:
- the file sources (`files`: JSON Lines, `csvfiles`: CSV exports with a column mapping) are
  read by the nightly run from the import directory;
- the collectors (`mastodon`, `bluesky`, `reddit`, `rss`, `youtube`, `x`) are called every hour
  by `listening.collect` and land what they fetch as JSON Lines in the import format, each line
  carrying the platform's original record, so the nightly run reads them like any import file.

A collector module has:
  NAME        the platform, as in post ids (`<platform>:<native id>`)
  CONNECTION  the Airflow connection holding its credentials (None: needs none)
  Options     a pydantic model of its section of sources.yml (based on `base.SourceOptions`)
  queries(watchlists, options, creds) -> list[base.Query]     what to ask, per topic
  fetch(client, query, since, options, creds) -> iterator of base.Page, newest first, until
              posts older than `since`; raises base.SourceError when it cannot go on
  to_post(record, page) -> dict in the import format (docs/import-format.md); raises
              files.BadRecord for a record that can't be mapped
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

# Every module of this package is a collector except these; imported only when used.
_NOT_COLLECTORS = {"base", "http", "files", "csvfiles"}
COLLECTORS = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__)
                          if m.name not in _NOT_COLLECTORS and not m.name.startswith("_")))


def collector(name: str) -> ModuleType:
    if name not in COLLECTORS:
        raise KeyError(f"unknown source {name!r} (known: {', '.join(COLLECTORS)})")
    return importlib.import_module(f"listening.sources.{name}")
