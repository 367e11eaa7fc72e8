"""Command line: `python -m listening COMMAND …` (with plugins/ on the path, as the Makefile does).

  config check DIR              check watchlists.yml, settings.yml and sources.yml, print the topics
  collect [--source S] [--topic T]   fetch what is new from the platforms (what the hourly DAG does)
  import check [DIR]            read every import file whole (JSON Lines, CSV with its mapping): posts, refused lines
  sentiment --lang XX           score stdin lines, print one JSON object per line
  simulate --out DIR [...]      write a synthetic corpus and its truth file
  nightly --start D --end D     run the Airflow DAG for each day (airflow dags test), then summarise
  day D                         run one day without Airflow (debugging)
  summary --start D --end D     print the one-screen summary of days already run
  quality DATASET --day D       run a dataset's validation suite on a published day (read-only)
  sql "SELECT …"                run a read-only query against the lake's DuckDB catalog
  catalog                       rebuild the DuckDB catalog of the lake
  erase --platform P --author A remove an author's posts and scores from every layer (GDPR request)
  retention [--today D]         delete partitions older than the configured retention
  schema --markdown             print the data dictionary generated from the schema module
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path


def _days(start: str, end: str) -> list[date]:
    s, e = date.fromisoformat(start), date.fromisoformat(end)
    if e < s:
        raise SystemExit(f"END {e} is before START {s}")
    return [s + timedelta(days=i) for i in range((e - s).days + 1)]


def cmd_config(args) -> int:
    from listening.config import ConfigError, load_config

    try:
        cfg = load_config(args.dir)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    from listening.queries import Matcher

    Matcher(cfg.watchlists)
    from listening import collect

    try:
        sources = collect.load_sources(cfg.config_dir, cfg)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"{cfg.config_dir}: ok, {len(cfg.watchlists.topics)} topics, {len(cfg.watchlists.teams)} teams, "
          f"collectors: {', '.join(sources) or 'none (no sources.yml: import files only)'}")
    for t in cfg.watchlists.topics:
        print(f"  {t.name:<16} team {t.team:<14} {len(t.keywords)} keywords, {len(t.hashtags)} hashtags, "
              f"{len(t.accounts)} accounts, {len(t.queries)} queries, {len(t.exclude)} exclusions, "
              f"languages {','.join(t.languages)}")
    return 0


def cmd_import(args) -> int:
    from listening.config import import_dir
    from listening.sources import files

    d = Path(args.dir) if args.dir else import_dir()
    try:
        report = files.check(d)
    except FileNotFoundError as e:
        print(e, file=sys.stderr)
        return 1
    refused = 0
    for name, f in sorted(report.items()):
        rules = ", ".join(f"{k} {v}" for k, v in sorted(f["rules"].items()))
        print(f"{name}: {f['posts']} posts, {f['refused']} refused" + (f" ({rules})" if rules else ""))
        for reason in f["examples"]:
            print(f"  {reason}")
        refused += f["refused"]
    print(f"{d}: {len(report)} files, {sum(f['posts'] for f in report.values())} posts, {refused} refused")
    return 1 if refused else 0


def cmd_collect(args) -> int:
    import logging

    from listening import collect

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    results = collect.run_all(only_source=args.source, only_topic=args.topic)
    for r in results:
        print(json.dumps({k: v for k, v in r.items() if k != "files"}, ensure_ascii=False))
    if not results:
        print("nothing to collect: no collector enabled in sources.yml (docs/sources.md)")
    return 1 if any("failed" in r for r in results) else 0


def cmd_sentiment(args) -> int:
    from listening.nlp import sentiment

    lines = [line.rstrip("\n") for line in sys.stdin]
    for text, s in zip(lines, sentiment.score(lines, [args.lang] * len(lines))):
        out = {"text": text, "score": None, "label": None, "confidence": None, "engine": None}
        if s:
            out.update(score=round(s.score, 4), label=s.label, confidence=round(s.confidence, 4), engine=s.engine)
        print(json.dumps(out, ensure_ascii=False))
    if sentiment.engine(args.lang) is None:
        print(f"no sentiment engine reads {args.lang!r} (supported: {sorted(sentiment.SUPPORTED)})", file=sys.stderr)
        return 2
    return 0


def cmd_simulate(args) -> int:
    from listening import simulate

    manifest = simulate.simulate(Path(args.out), start=date.fromisoformat(args.start), days=args.days,
                                 posts=args.posts, seed=args.seed, answers=args.answers)
    print(json.dumps({k: manifest[k] for k in ("start", "end", "posts", "languages", "topics")}, ensure_ascii=False))
    return 0


def cmd_day(args) -> int:
    from listening import pipeline, report

    out = pipeline.run_day(args.day)
    print(report.format_summary(out["summary"]))
    return 0


def _summaries(days: list[date]) -> int:
    from listening import report
    from listening.pipeline import make_run

    missing = 0
    for d in days:
        run = make_run(d)
        path = run.lake / "reports" / f"dt={d.isoformat()}" / "summary.json"
        if not path.exists():
            print(f"{d}: no run found ({path})")
            missing += 1
            continue
        print(report.format_summary(json.loads(path.read_text())))
    return missing


def cmd_summary(args) -> int:
    return 1 if _summaries(_days(args.start, args.end)) else 0


def cmd_nightly(args) -> int:
    """One `airflow dags test` per day: Airflow's own runner, the run a scheduler would start."""
    from listening.pipeline import make_run
    from listening.report import outbox_dir

    days = _days(args.start, args.end)
    failed = []
    for d in days:
        # A manual run at D+1 00:00 UTC covers the data interval [D, D+1).
        after = (d + timedelta(days=1)).isoformat()
        print(f"== {d}: airflow dags test listening_nightly {after}", flush=True)
        log = Path(os.environ.get("AIRFLOW_HOME", ".")) / "logs" / f"nightly-{d.isoformat()}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w") as fh:
            rc = subprocess.call(["airflow", "dags", "test", "listening_nightly", after], stdout=fh, stderr=subprocess.STDOUT)
        text = log.read_text(errors="replace")
        if rc != 0 or "state=success" not in text:
            failed.append(d)
            tail = "\n".join(line for line in text.splitlines() if "ERROR" in line or "Error" in line)[-3000:]
            print(f"   FAILED (log: {log})\n{tail}", flush=True)
    run = make_run(days[0])
    print()
    _summaries(days)
    print(f"\nDatasets:          {run.lake}  (catalog: {run.lake / 'catalog.duckdb'})")
    print(f"Daily reports:     {run.lake / 'reports' / f'dt={days[-1].isoformat()}'}/<group>.html")
    print(f"Validation report: {run.lake / 'quality' / 'report' / f'dt={days[-1].isoformat()}' / 'index.html'} (one per day)")
    print(f"GX Data Docs:      {run.lake / 'quality' / 'gx' / 'gx' / 'uncommitted' / 'data_docs' / 'local_site' / 'index.html'}")
    print(f"Quarantine:        {run.lake / 'quarantine'}")
    print(f"Alert outbox:      {outbox_dir(run)}")
    if failed:
        print(f"\n{len(failed)} day(s) failed: {', '.join(map(str, failed))}", file=sys.stderr)
        return 1
    return 0


def cmd_quality(args) -> int:
    from listening import quality
    from listening.config import lake_root, load_config

    cfg = load_config()
    root = lake_root(cfg)
    try:
        results = quality.check_published(root, args.dataset, date.fromisoformat(args.day),
                                          [t.name for t in cfg.watchlists.topics], list(cfg.settings.languages),
                                          limit=cfg.settings.enrich_shard_posts)
    except (ValueError, FileNotFoundError) as e:
        print(e, file=sys.stderr)
        return 2
    worst = 0
    for r in results:
        mark = "ok  " if r["success"] else "FAIL"
        print(f"{mark} {r['level']:<8} {r['rule']:<28} {r['failed_rows']:>8} of {r['rows']} rows"
              + ("" if r["success"] else f"  {r['details']}"))
        if not r["success"]:
            worst = max(worst, 1 if r["level"] == "critical" else 0)
    print(f"Data Docs: {quality.Validator(root).docs_index}")
    return worst


def _lake():
    from listening.config import lake_root, load_config

    return lake_root(load_config())


def cmd_sql(args) -> int:
    import duckdb
    import pandas as pd

    from listening import catalog

    try:
        df = catalog.query(_lake(), args.query)
    except (FileNotFoundError, duckdb.Error) as e:
        print(e, file=sys.stderr)
        return 2
    if args.format == "csv":
        # Post text is data: a cell starting with = + - @ would run as a formula in a spreadsheet.
        risky = ("=", "+", "-", "@", "\t", "\r")
        for col in df.columns:
            if df[col].dtype == object or str(df[col].dtype).startswith(("str", "string")):
                df[col] = df[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(risky) else v)
        df.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(df.to_json(orient="records", date_format="iso", force_ascii=False))
    else:
        with pd.option_context("display.max_rows", args.max_rows, "display.width", 200,
                               "display.max_columns", 50, "display.max_colwidth", 60):
            print(df.to_string(index=False, max_rows=args.max_rows))
    return 0


def cmd_catalog(args) -> int:
    from listening import catalog

    print(catalog.build(_lake()))
    return 0


def cmd_erase(args) -> int:
    from listening import privacy

    lake = _lake()
    entry = privacy.erase_author(lake, args.platform, args.author, privacy.load_key(lake))
    print(json.dumps(entry, indent=1))
    if not entry["posts"] and not entry["removed"]:  # a handle's pseudonym alone: it matched nothing
        print(f"no post of {args.author!r} on {args.platform} found in {lake}/raw "
              f"(pass the platform's author id if the raw data has expired)", file=sys.stderr)
        return 1
    return 0


def cmd_retention(args) -> int:
    from listening import privacy
    from listening.config import load_config

    cfg = load_config()
    today = date.fromisoformat(args.today) if args.today else date.today()
    print(json.dumps(privacy.apply_retention(_lake(), today, cfg.settings.retention_days,
                                             cfg.settings.raw_retention_days)))
    return 0


def cmd_schema(args) -> int:
    from listening.schema import data_dictionary

    print(data_dictionary())
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m listening", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("config", help="check a config directory")
    c.add_argument("action", choices=["check"])
    c.add_argument("dir", nargs="?", default=None)
    c.set_defaults(func=cmd_config)
    im = sub.add_parser("import", help="check the import files before a run reads them")
    im.add_argument("action", choices=["check"])
    im.add_argument("dir", nargs="?", default=None)
    im.set_defaults(func=cmd_import)
    co = sub.add_parser("collect", help="fetch what is new from the platforms once")
    co.add_argument("--source")
    co.add_argument("--topic")
    co.set_defaults(func=cmd_collect)
    s = sub.add_parser("sentiment", help="score stdin lines")
    s.add_argument("--lang", required=True)
    s.set_defaults(func=cmd_sentiment)
    m = sub.add_parser("simulate", help="write a synthetic corpus")
    m.add_argument("--out", required=True)
    m.add_argument("--start", default="2026-11-02")
    m.add_argument("--days", type=int, default=14)
    m.add_argument("--posts", type=int, default=20000)
    m.add_argument("--seed", type=int, default=7)
    m.add_argument("--answers", action="store_true",
                   help="the institution's accounts answer some questions, after known delays (truth.json: answers)")
    m.set_defaults(func=cmd_simulate)
    n = sub.add_parser("nightly", help="run the DAG for each day of a range")
    n.add_argument("--start", required=True)
    n.add_argument("--end", required=True)
    n.set_defaults(func=cmd_nightly)
    d = sub.add_parser("day", help="run one day without Airflow")
    d.add_argument("day")
    d.set_defaults(func=cmd_day)
    su = sub.add_parser("summary", help="print summaries of days already run")
    su.add_argument("--start", required=True)
    su.add_argument("--end", required=True)
    su.set_defaults(func=cmd_summary)
    q = sub.add_parser("quality", help="validate a published partition")
    q.add_argument("dataset")
    q.add_argument("--day", required=True)
    q.set_defaults(func=cmd_quality)
    sq = sub.add_parser("sql", help="query the lake's DuckDB catalog")
    sq.add_argument("query")
    sq.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sq.add_argument("--max-rows", type=int, default=60)
    sq.set_defaults(func=cmd_sql)
    ca = sub.add_parser("catalog", help="rebuild the DuckDB catalog")
    ca.set_defaults(func=cmd_catalog)
    er = sub.add_parser("erase", help="erase an author (GDPR request)")
    er.add_argument("--platform", required=True)
    er.add_argument("--author", required=True, help="handle (@name) or the platform's author id")
    er.set_defaults(func=cmd_erase)
    rt = sub.add_parser("retention", help="apply the retention periods")
    rt.add_argument("--today")
    rt.set_defaults(func=cmd_retention)
    sc = sub.add_parser("schema", help="print the data dictionary")
    sc.add_argument("--markdown", action="store_true")
    sc.set_defaults(func=cmd_schema)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
