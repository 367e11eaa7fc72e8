"""Enrichment on the real pipeline's output: what a team reads in mentions and authors.

The event lake (tests/alerting_lake.py: 14 simulated days through the nightly run's functions,
with a news outlet entering the climate debate on day 10 and a coordinated copy campaign of 40
new accounts on day 12) is checked against the simulator's truth.
"""
from __future__ import annotations

import gzip
import json
from datetime import date

import pytest

from listening import lake, privacy


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from alerting_lake import build

    root, truth, _ = build(tmp_path_factory.mktemp("alerting"))
    events = {e["type"]: e for e in truth["events"]}
    return root, truth, events


def _key(platform: str, author_id: str) -> str:
    return privacy.author_key(b"test-key", platform, author_id)


def _day(event) -> date:
    return date.fromisoformat(event["start"][:10])


def _truth_kinds(root) -> dict[str, str]:
    corpus = root.parent / "corpus"
    with gzip.open(corpus / "truth.jsonl.gz", "rt") as f:
        return {(r := json.loads(line))["post_id"]: r["kind"] for line in f}


def test_campaign_copies_form_one_cluster_with_its_size_and_authors(built):
    root, _, events = built
    campaign = events["coordinated_campaign"]
    mentions = lake.read_partition(root, lake_ds("mentions"), dt=_day(campaign)).to_pylist()
    keys = {_key(campaign["platform"], a) for a in campaign["author_ids"]}
    theirs = [m for m in mentions if m["author_key"] in keys]
    assert len(theirs) >= 30
    clusters = {m["cluster_id"] for m in theirs}
    biggest = max(clusters, key=lambda c: sum(m["cluster_id"] == c for m in theirs))
    in_biggest = [m for m in theirs if m["cluster_id"] == biggest]
    assert len(in_biggest) >= 0.8 * len(theirs)          # one campaign reads as one cluster
    assert in_biggest[0]["cluster_size"] >= len(in_biggest)
    assert in_biggest[0]["cluster_authors"] >= 0.8 * len(keys)
    others = [m for m in mentions if m["author_key"] not in keys and not m["is_repost"]]
    assert sum(m["cluster_size"] == 1 for m in others) >= 0.5 * len(others)


def test_campaign_accounts_look_automated_and_ordinary_authors_do_not(built):
    root, _, events = built
    campaign = events["coordinated_campaign"]
    mentions = lake.read_partition(root, lake_ds("mentions"), dt=_day(campaign)).to_pylist()
    keys = {_key(campaign["platform"], a) for a in campaign["author_ids"]}
    bots = [m["bot_score"] for m in mentions if m["author_key"] in keys]
    people = sorted(m["bot_score"] for m in mentions if m["author_key"] not in keys)
    assert sum(s > 0.5 for s in bots) >= 0.8 * len(bots)
    assert people[int(0.95 * len(people))] < 0.5
    flagged = next(m for m in mentions if m["author_key"] in keys and m["bot_score"] > 0.5)
    assert flagged["bot_reasons"]                          # the score says why


def test_planted_outlet_ranks_top_3_and_campaign_stays_out_of_top_20(built):
    root, _, events = built
    entry, campaign = events["influential_entry"], events["coordinated_campaign"]
    raw = lake.read_dataset(root, "raw").select(["platform", "author_handle", "author_id"]).to_pylist()
    outlet = _key(entry["platform"], next(r["author_id"] for r in raw if r["author_handle"] == entry["author_handle"]))
    bots = {_key(campaign["platform"], a) for a in campaign["author_ids"]}
    authors = lake.read_partition(root, lake_ds("authors"), dt=_day(campaign)).to_pylist()
    for window in (7, 28):
        ranked = sorted((a for a in authors if a["topic"] == entry["topic"] and a["window_days"] == window),
                        key=lambda a: a["rank"])
        top = [a["author_key"] for a in ranked]
        assert outlet in top[:3], (window, top.index(outlet) + 1 if outlet in top else None)
        assert not bots & set(top[:20]), window
        assert ranked[0]["explanation"]


def test_triage_finds_the_simulated_questions_insults_and_spam(built):
    root, truth, _ = built
    kinds = _truth_kinds(root)
    mentions = lake.read_dataset(root, "mentions").select(
        ["post_id", "triage", "urgency", "addresses_institution", "triage_action"]).to_pylist()
    by_kind: dict[str, list[dict]] = {}
    for m in mentions:
        by_kind.setdefault(kinds.get(m["post_id"], "?"), []).append(m)

    def recall(kind, labels):
        posts = by_kind.get(kind, [])
        assert len(posts) >= 10, kind
        return sum(m["triage"] in labels for m in posts) / len(posts)

    assert recall("question", {"question"}) >= 0.8
    assert recall("insult", {"insult", "inflammatory"}) >= 0.8
    assert recall("spam", {"spam"}) >= 0.8
    questions = [m for m in by_kind["question"] if m["triage"] == "question" and m["addresses_institution"]]
    assert questions and all(m["urgency"] in ("amber", "red") for m in questions)
    assert all(m["triage_action"] for m in mentions)


def lake_ds(name):
    from listening.schema import DATASETS

    return DATASETS[name]
