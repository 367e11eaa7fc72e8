"""GDPR: an author erased on request is gone from every file of the lake and stays gone;
old partitions leave on schedule."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta

import pyarrow.compute as pc
import pytest

from conftest import REPO, TWO_DAY_KEY as KEY, copy_lake, everything_in, env_for
from listening import alerts, lake, pipeline, privacy


@pytest.fixture()
def lake_two_days(two_day_lake, small_corpus, tmp_path):
    """A private copy of the shared two-day lake (conftest; its key is TWO_DAY_KEY)."""
    src, days, _ = two_day_lake
    return copy_lake(src, tmp_path / "lake"), days, small_corpus


def test_erased_author_is_gone_from_every_file_and_stays_gone(lake_two_days, monkeypatch):
    root, days, corpus = lake_two_days
    raw = lake.read_dataset(root, "raw").to_pylist()
    (platform, handle), n = Counter((r["platform"], r["author_handle"]) for r in raw if r["author_handle"]).most_common(1)[0]
    assert n >= 2
    author_ids = {r["author_id"] for r in raw if r["author_handle"] == handle}
    post_ids = {r["post_id"] for r in raw if r["author_handle"] == handle}
    key = privacy.author_key(KEY.encode(), platform, next(iter(author_ids)))
    before = lake.read_dataset(root, "mentions").num_rows
    theirs = sum(1 for m in lake.read_dataset(root, "mentions").to_pylist() if m["author_key"] == key)

    monkeypatch.setenv("VIGIE_PSEUDONYM_KEY", KEY)
    end_of_day = f"{days[0] + timedelta(days=1)}T00:00:00+00:00"
    hourly = alerts.hourly_check(end_of_day, "h", import_dir=str(corpus / "import"), lake_dir=str(root), smtp=None)

    env = env_for(root, corpus / "import")
    env["VIGIE_PSEUDONYM_KEY"] = KEY
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

    # The hourly check re-reads the import files too: the author's posts of the day stay out of it.
    theirs_that_day = sum(1 for r in raw if r["author_handle"] == handle and r["created_at"].date() == days[0])
    again = alerts.hourly_check(end_of_day, "h", import_dir=str(corpus / "import"), lake_dir=str(root), smtp=None)
    assert theirs_that_day > 0 and again["erased"] == theirs_that_day
    assert again["posts"] == hourly["posts"] - theirs_that_day

    # A re-run of the day re-reads the import files: the author must not come back.
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


def test_influence_facts_are_kept_as_long_as_a_window_reads_them(lake_two_days):
    root, days, _ = lake_two_days
    assert privacy.FACTS_DAYS == max(pipeline.INFLUENCE_WINDOWS)
    deleted = privacy.apply_retention(root, days[0] + timedelta(days=privacy.FACTS_DAYS + 1), retention_days=395,
                                      raw_retention_days=90)
    assert deleted == {"influence_daily": 1}
    assert {p.parent.name for p in (root / "influence_daily").rglob("part-0.parquet")} == {f"dt={days[1]}"}


def test_erasure_reaches_what_the_collectors_landed_and_later_collections(tmp_path, monkeypatch):
    """A collected author: gone from the landed files, their quarantine and the cursors, and not
    landed again by the next collection."""
    from datetime import datetime, timezone

    from fakes.harness import config_with, run
    from fakes.mastodon import Mastodon, corpus, status
    from fakes.server import FakeServer

    monkeypatch.setenv("VIGIE_PSEUDONYM_KEY", "k")
    now = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
    statuses = corpus(30, now - timedelta(minutes=1))
    statuses += [status(100 + i, now - timedelta(minutes=2 * i + 1), user="citizen") for i in range(5)]
    bad = status(200, now - timedelta(minutes=3), user="citizen")
    bad["created_at"] = "not a date"  # quarantined at collection, with the author's record
    app = Mastodon(statuses + [bad])
    root = tmp_path / "lake"
    with FakeServer(app) as server:
        app.url = server.url
        host = server.url.split("//")[1]
        cfg = config_with(tmp_path, {"mastodon": {"base_url": server.url, "topics": ["parlement"], "search": False}})
        run("mastodon", "parlement", cfg, root, now)
        handle = f"@citizen@{host}"
        assert handle in "".join(s for _, s in everything_in(root))
        entry = privacy.erase_author(root, "mastodon", handle, b"k")
        assert entry["posts"] == 5 and entry["removed"]["landing"] == 6  # 5 posts + 1 quarantined
        leftovers = [(p, s) for p, s in everything_in(root) if "citizen" in s]
        assert leftovers == []
        # the next collection sees the author's new post and does not land it
        app.add(status(300, now + timedelta(minutes=30), user="citizen"))
        summary = run("mastodon", "parlement", cfg, root, now + timedelta(hours=1))
        # the new post, the 5 erased ones seen again in the cursor's 15-minute overlap, and the
        # refused record, served again
        assert summary["erased"] == 7 and summary["posts"] == 0 and summary["quarantined"] == 0
        assert not [s for _, s in everything_in(root) if "citizen" in s]


def test_retention_deletes_old_landed_files(tmp_path):
    root = tmp_path / "lake"
    for day in ("2026-01-01", "2026-11-20"):
        for sub in (f"landing/source=x/dt={day}", f"landing/_quarantine/source=x/dt={day}"):
            (root / sub).mkdir(parents=True)
            (root / sub / "a.jsonl").write_text("{}\n")
    deleted = privacy.apply_retention(root, date(2026, 11, 25), retention_days=395, raw_retention_days=90)
    assert deleted["landing"] == 2
    assert sorted(p.parent.name for p in root.rglob("a.jsonl")) == ["dt=2026-11-20", "dt=2026-11-20"]


def test_erasure_keeps_out_reposts_of_the_author_and_authors_not_collected_yet(tmp_path, monkeypatch):
    """A reblog carries the erased author's text and account: it goes too, now and later. An
    author erased before any post of theirs was collected is kept out when they appear."""
    from datetime import datetime, timezone

    from fakes.harness import config_with, run
    from fakes.mastodon import Mastodon, status
    from fakes.server import FakeServer

    monkeypatch.setenv("VIGIE_PSEUDONYM_KEY", "k")
    now = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
    original = status(1, now - timedelta(minutes=30), user="alice", text="<p>ALICE-OWN-WORDS #parlbxl</p>")
    boost = status(2, now - timedelta(minutes=20), user="bob", tags=("parlbxl",), reblog=original)
    app = Mastodon([original, boost])
    root = tmp_path / "lake"
    with FakeServer(app) as server:
        app.url = server.url
        host = server.url.split("//")[1]
        cfg = config_with(tmp_path, {"mastodon": {"base_url": server.url, "topics": ["parlement"], "search": False}})
        privacy.erase_author(root, "mastodon", f"@carol@{host}", b"k")   # not collected yet
        run("mastodon", "parlement", cfg, root, now)
        assert "ALICE-OWN-WORDS" in "".join(s for _, s in everything_in(root))
        privacy.erase_author(root, "mastodon", f"@alice@{host}", b"k")
        assert not [p for p, s in everything_in(root) if "ALICE-OWN-WORDS" in s]   # the boost went too
        app.add(status(3, now + timedelta(minutes=10), user="dave", tags=("parlbxl",), reblog=original),
                status(4, now + timedelta(minutes=12), user="carol", tags=("parlbxl",)))
        summary = run("mastodon", "parlement", cfg, root, now + timedelta(hours=1))
    assert summary["posts"] == 0 and summary["erased"] >= 2
    assert not [p for p, s in everything_in(root) if "ALICE-OWN-WORDS" in s or "carol" in s]


def test_reposts_of_an_erased_author_read_in_the_same_run_stay_out(tmp_path):
    from types import SimpleNamespace

    import pyarrow as pa

    from listening.schema import RAW

    key = privacy.load_key(tmp_path)
    path = privacy._suppression_path(tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([privacy.author_key(key, "x", "111")]))
    rows = [{"post_id": "x:1", "platform": "x", "author_id": "111", "author_handle": "@gone", "text": "mine"},
            {"post_id": "x:2", "platform": "x", "author_id": "222", "author_handle": "@fan", "text": "RT mine",
             "repost_of": "x:1"},
            {"post_id": "x:3", "platform": "x", "author_id": "333", "author_handle": "@other", "text": "hello"}]
    kept, n = pipeline.without_erased(SimpleNamespace(lake=tmp_path), pa.Table.from_pylist(rows, schema=RAW.schema))
    assert kept["post_id"].to_pylist() == ["x:3"] and n == 2


def test_an_account_only_ever_mentioned_is_erased_by_its_handle(lake_two_days):
    """Someone the posts mention but who never posted (or whose raw posts have expired) asks to be
    erased by handle: their pseudonym goes from the mentions' mentioned accounts and from the
    influence facts where others pointed at them."""
    from listening.schema import INFLUENCE_DAILY, MENTIONS

    root, days, _ = lake_two_days
    key = KEY.encode()
    mentions = lake.read_dataset(root, "mentions")
    mentioned = {k for ks in mentions["mentioned_keys"].to_pylist() for k in ks or []}
    raw_handles = {h.casefold() for h in lake.read_dataset(root, "raw")["author_handle"].to_pylist() if h}
    on_x = mentions.filter(pc.equal(mentions["platform"], "x"))
    handles = {h.casefold() for ms in on_x["mentions"].to_pylist() for h in ms or []} - raw_handles
    handle = next(h for h in sorted(handles) if privacy.handle_key(key, "x", h) in mentioned)
    target = privacy.handle_key(key, "x", handle)
    facts = lake.read_dataset(root, "influence_daily")
    assert target in facts["target_key"].to_pylist()
    day_before = lake.read_partition(root, MENTIONS, dt=days[1]).select(pipeline.INFLUENCE_COLUMNS)

    entry = privacy.erase_author(root, "x", handle, key)
    assert entry["posts"] == 0 and target in entry["author_keys"] and entry["removed"]["influence_daily"] > 0
    for d in days:
        assert target not in lake.read_partition(root, INFLUENCE_DAILY, dt=d)["target_key"].to_pylist()
        assert target not in {k for ks in lake.read_partition(root, MENTIONS, dt=d)["mentioned_keys"].to_pylist()
                              for k in ks or []}
    # a later night whose posts still mention them (a re-run re-reads the import files) keeps them out
    run = pipeline.make_run(days[1], run_id="later", lake_dir=str(root))
    again = pipeline.influence_facts(run, days[1], day_before)
    assert again.num_rows and target not in again["target_key"].to_pylist()
