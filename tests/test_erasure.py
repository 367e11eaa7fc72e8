"""GDPR: an author erased on request is gone from every file of the lake and stays gone;
old partitions leave on schedule."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta

import pytest

from conftest import REPO, everything_in, env_for, read_truth
from listening import lake, pipeline, privacy


@pytest.fixture(scope="module")
def built_lake(small_corpus, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("VIGIE_PSEUDONYM_KEY", "k")
    root = tmp_path_factory.mktemp("built") / "lake"
    manifest, _ = read_truth(small_corpus)
    start = date.fromisoformat(manifest["start"])
    days = [start, start + timedelta(days=1)]
    for d in days:
        pipeline.run_day(d, run_id="r", import_dir=str(small_corpus / "import"), lake_dir=str(root))
    mp.undo()
    return root, days


@pytest.fixture()
def lake_two_days(built_lake, small_corpus, tmp_path):
    """A private copy of the built lake (the catalog's views point at it: rebuilt)."""
    import shutil

    from listening import catalog

    src, days = built_lake
    root = tmp_path / "lake"
    shutil.copytree(src, root)
    catalog.build(root)
    return root, days, small_corpus


def test_erased_author_is_gone_from_every_file_and_stays_gone(lake_two_days, monkeypatch):
    root, days, corpus = lake_two_days
    raw = lake.read_dataset(root, "raw").to_pylist()
    (platform, handle), n = Counter((r["platform"], r["author_handle"]) for r in raw if r["author_handle"]).most_common(1)[0]
    assert n >= 2
    author_ids = {r["author_id"] for r in raw if r["author_handle"] == handle}
    post_ids = {r["post_id"] for r in raw if r["author_handle"] == handle}
    key = privacy.author_key(b"k", platform, next(iter(author_ids)))
    before = lake.read_dataset(root, "mentions").num_rows
    theirs = sum(1 for m in lake.read_dataset(root, "mentions").to_pylist() if m["author_key"] == key)

    env = env_for(root, corpus / "import")
    env["VIGIE_PSEUDONYM_KEY"] = "k"
    res = subprocess.run([sys.executable, "-m", "listening", "erase", "--platform", platform, "--author", handle],
                         capture_output=True, text=True, env=env, cwd=REPO)
    assert res.returncode == 0, res.stderr
    entry = json.loads(res.stdout)
    assert entry["posts"] == len(post_ids) and entry["removed"]["raw"] == len(post_ids)

    for path, s in everything_in(root):
        assert handle not in s, f"{path} still holds {handle}"
        assert s not in author_ids and s not in post_ids, f"{path} still holds {s}"
        assert key != s, f"{path} still holds the pseudonym"
    assert handle not in (root / "_erasure" / "log.jsonl").read_text()
    assert lake.read_dataset(root, "mentions").num_rows == before - theirs

    # A re-run of the day re-reads the import files: the author must not come back.
    monkeypatch.setenv("VIGIE_PSEUDONYM_KEY", "k")
    out = pipeline.run_day(days[0], run_id="again", import_dir=str(corpus / "import"), lake_dir=str(root))
    assert out["ingest"]["erased"] > 0
    assert not post_ids & set(lake.read_dataset(root, "raw")["post_id"].to_pylist())


def test_unknown_author_says_so(lake_two_days):
    root, _, corpus = lake_two_days
    env = env_for(root, corpus / "import")
    res = subprocess.run([sys.executable, "-m", "listening", "erase", "--platform", "x", "--author", "@nobody_here"],
                         capture_output=True, text=True, env=env, cwd=REPO)
    assert res.returncode == 1 and "no post of '@nobody_here'" in res.stderr


def test_retention_deletes_old_partitions_only(lake_two_days):
    root, days, _ = lake_two_days
    # raw is kept 1 day, the rest 30: on days[1] + 1, the raw and quarantine of days[0] go.
    deleted = privacy.apply_retention(root, days[1] + timedelta(days=1), retention_days=30, raw_retention_days=1)
    assert deleted.get("raw", 0) >= 1 and "mentions" not in deleted
    left = {p.parent.name for p in (root / "raw").rglob("part-0.parquet")}
    assert left == {f"dt={days[1].isoformat()}"}
    assert (root / "mentions" / f"dt={days[0].isoformat()}").exists()
    deleted = privacy.apply_retention(root, days[1] + timedelta(days=40), retention_days=30, raw_retention_days=1)
    assert not list((root / "mentions").rglob("part-0.parquet"))
    assert deleted["mentions"] == 2
