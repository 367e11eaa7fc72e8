"""The DuckDB catalog analysts and BI tools open: views over the lake, rebuilt after each publish."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from conftest import REPO, copy_lake, env_for
from listening import catalog, lake
from listening.schema import DATASETS


@pytest.fixture(scope="module")
def two_days(two_day_lake, tmp_path_factory):
    """The shared two-day lake (conftest), copied: these tests rebuild its catalog."""
    src, days, _ = two_day_lake
    return copy_lake(src, tmp_path_factory.mktemp("catalog") / "lake"), days[0]


def test_views_match_the_parquet(two_days):
    root, start = two_days
    assert (root / "catalog.duckdb").exists()
    for name in ("raw", "mentions", "metrics_daily", "metrics_hourly", "quarantine"):
        n = catalog.query(root, f"SELECT count(*) AS n FROM {name}")["n"][0]
        assert n == lake.read_dataset(root, name).num_rows, name
    days = catalog.query(root, "SELECT DISTINCT dt FROM mentions ORDER BY dt")["dt"].astype(str).tolist()
    assert days == [start.isoformat(), (start + timedelta(days=1)).isoformat()]


def test_unnested_topics_view(two_days):
    root, _ = two_days
    mentions = lake.read_dataset(root, "mentions")
    expected = sum(len(t) for t in mentions["topics"].to_pylist())
    assert catalog.query(root, "SELECT count(*) AS n FROM mention_topics")["n"][0] == expected


def test_datasets_not_built_yet_are_empty_tables_with_their_columns(two_days, tmp_path):
    import shutil

    root = tmp_path / "lake"
    shutil.copytree(two_days[0], root)
    shutil.rmtree(root / "authors")  # a lake from before the influence stage
    catalog.build(root)
    cols = catalog.query(root, "SELECT * FROM authors LIMIT 0").columns.tolist()
    assert cols == DATASETS["authors"].schema.names + ["dt"]
    assert catalog.query(root, "SELECT count(*) AS n FROM authors_latest")["n"][0] == 0


def test_authors_latest_gives_each_author_its_latest_scores(two_days):
    root, start = two_days
    latest = catalog.query(root, "SELECT * FROM authors_latest")
    authors = lake.read_dataset(root, "authors").to_pandas()
    assert len(latest) and len(authors) > len(latest)
    last = authors[authors["dt"].astype(str) == (start + timedelta(days=1)).isoformat()]
    assert len(latest) == len(last)
    assert latest["rank"].min() == 1


def test_a_reader_keeps_its_view_while_the_catalog_is_rebuilt(two_days):
    import duckdb

    root, _ = two_days
    con = duckdb.connect(str(root / "catalog.duckdb"), read_only=True)
    before = con.execute("SELECT count(*) FROM mentions").fetchone()[0]
    catalog.build(root)
    assert con.execute("SELECT count(*) FROM mentions").fetchone()[0] == before
    con.close()
    assert not list(root.glob(".catalog*"))


def test_sql_command(two_days):
    root, _ = two_days
    env = env_for(root, root)
    res = subprocess.run([sys.executable, "-m", "listening", "sql",
                          "SELECT topic, sum(posts) AS posts FROM metrics_daily GROUP BY topic ORDER BY topic",
                          "--format", "csv"], capture_output=True, text=True, env=env, cwd=REPO)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0] == "topic,posts" and [l.split(",")[0] for l in lines[1:]] == [
        "agora", "budget-2027", "climate-bill", "parlement"]
    bad = subprocess.run([sys.executable, "-m", "listening", "sql", "SELEC 1"], capture_output=True, text=True,
                         env=env, cwd=REPO)
    assert bad.returncode == 2 and "syntax error" in bad.stderr
    ro = subprocess.run([sys.executable, "-m", "listening", "sql", "DROP VIEW mentions"], capture_output=True,
                        text=True, env=env, cwd=REPO)
    assert ro.returncode == 2 and "read-only" in ro.stderr.lower()


def test_csv_export_escapes_formulas(two_days, tmp_path):
    """A post starting with = or @ must not become a spreadsheet formula."""
    root, _ = two_days
    env = env_for(root, root)
    query = "SELECT '=1+HYPERLINK(1)' AS a, '@SUM(1)' AS b, '-2+3' AS c, 'plain' AS d"
    res = subprocess.run([sys.executable, "-m", "listening", "sql", query, "--format", "csv"],
                         capture_output=True, text=True, env=env, cwd=REPO)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[1] == "'=1+HYPERLINK(1),'@SUM(1),'-2+3,plain"
