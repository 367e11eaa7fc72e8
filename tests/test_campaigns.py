"""Campaign measures (campaign_daily): numbers a communication officer can check by hand."""
from __future__ import annotations

import gzip
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from listening import campaigns
from listening.clean import hashtags as hashtags_of
from listening.config import Campaign
from listening.schema import CAMPAIGN_DAILY, MENTIONS

START = date(2026, 11, 2)
AGORA = Campaign(name="agora", label="#AgoraBXL", hashtag="#AgoraBXL", start=START,
                 end=date(2026, 11, 12), team="campagnes")


def d(n: int) -> date:
    """Day n of the campaign (1 = START)."""
    return START + timedelta(days=n - 1)


_ids = iter(range(1, 10**9))


def post(n: int, author: str, tags=("agorabxl",), followers=100, role=None, lang="fr", eng=0,
         hour=10, pid=None) -> dict:
    day = d(n)
    return {"post_id": pid or f"mastodon:{next(_ids)}",
            "created_at": datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc),
            "author_key": author, "author_role": role, "author_followers": followers,
            "hashtags": list(tags), "lang": lang, "engagement": eng, "is_repost": False}


def table(rows) -> pa.Table:
    fields = [MENTIONS.schema.field(c) for c in
              ("post_id", "created_at", "author_key", "author_role", "author_followers", "hashtags", "lang",
               "engagement", "is_repost")]
    return pa.Table.from_pylist(rows, schema=pa.schema(fields))


def one(rows, n: int, camps=(AGORA,)) -> dict:
    out = campaigns.daily(table(rows), d(n), list(camps))
    assert out.schema == CAMPAIGN_DAILY.schema
    assert out.num_rows == 1
    return out.to_pylist()[0]


def test_people_new_people_and_cumulative():
    rows = [post(1, "a"), post(1, "b"), post(1, "c"), post(1, "a"),
            post(2, "a"), post(2, "b"), post(2, "d")]
    r1, r2 = one(rows, 1), one(rows, 2)
    assert (r1["day_of_campaign"], r1["posts"], r1["people"], r1["new_people"]) == (1, 4, 3, 3)
    assert (r1["cumulative_people"], r1["cumulative_posts"]) == (3, 4)
    assert (r2["day_of_campaign"], r2["posts"], r2["people"], r2["new_people"]) == (2, 3, 3, 1)
    assert (r2["cumulative_people"], r2["cumulative_posts"]) == (4, 7)
    assert r2["hashtag"] == "agorabxl" and r2["campaign"] == "agora" and r2["day"] == d(2)


def test_rows_after_the_day_are_ignored():
    rows = [post(1, "a"), post(2, "b"), post(3, "c")]
    r = one(rows, 2)
    assert (r["posts"], r["cumulative_people"], r["cumulative_posts"]) == (1, 2, 2)


def test_own_accounts_excluded_and_counted_in_own_posts():
    rows = [post(1, "inst", role="own", followers=50_000, eng=300, lang="nl"),
            post(1, "inst", role="own", followers=50_000),
            post(1, "a", followers=10, eng=2), post(1, "j", role="press", followers=1000, eng=1)]
    r = one(rows, 1)
    assert r["own_posts"] == 2
    assert (r["posts"], r["people"], r["new_people"], r["cumulative_people"]) == (2, 2, 2, 2)
    assert r["reach"] == 1010 and r["engagement"] == 3
    assert r["share_fr"] == 1.0 and r["share_nl"] == 0.0
    assert r["top_amplifiers"] == ["a", "j"]


def test_reach_counts_each_author_once_with_their_largest_follower_count():
    rows = [post(1, "a", followers=100), post(1, "a", followers=120), post(1, "a", followers=110),
            post(1, "b", followers=30), post(1, "c", followers=None)]
    assert one(rows, 1)["reach"] == 150


def test_language_shares_sum_to_one():
    langs = ["fr", "fr", "nl", "en", "de", "und", "it", None]
    rows = [post(1, f"p{i}", lang=l) for i, l in enumerate(langs)]
    r = one(rows, 1)
    assert (r["share_fr"], r["share_nl"], r["share_en"], r["share_de"], r["share_other"]) == \
        (0.25, 0.125, 0.125, 0.125, 0.375)
    assert sum(r[f"share_{k}"] for k in ("fr", "nl", "en", "de", "other")) == pytest.approx(1.0)


def test_vs_first_days_null_during_first_three_days_then_ratio():
    # days 1-3: 2, 4, 6 posts (mean 4); day 4: 6 posts -> 1.5; day 5: none -> 0
    rows = [post(n, f"p{n}-{i}") for n, k in ((1, 2), (2, 4), (3, 6), (4, 6)) for i in range(k)]
    assert [one(rows, n)["vs_first_days"] for n in (1, 2, 3)] == [None, None, None]
    assert one(rows, 4)["vs_first_days"] == pytest.approx(1.5)
    r5 = one(rows, 5)
    assert r5["vs_first_days"] == 0.0 and r5["posts"] == 0 and r5["cumulative_posts"] == 18


def test_vs_first_days_null_when_first_days_were_empty():
    assert one([post(4, "a")], 4)["vs_first_days"] is None


def test_no_row_outside_the_campaign_dates():
    rows = [post(0, "a"), post(1, "b"), post(11, "c"), post(12, "d")]
    assert campaigns.daily(table(rows), d(0), [AGORA]).num_rows == 0
    assert campaigns.daily(table(rows), AGORA.end + timedelta(days=1), [AGORA]).num_rows == 0
    # the last day (end = day 11) has its row; posts before the start or after `day` never count
    assert AGORA.end == d(11)
    r = one(rows + [post(13, "e")], 11)
    assert (r["day_of_campaign"], r["posts"], r["cumulative_people"], r["cumulative_posts"]) == (11, 1, 2, 2)
    assert campaigns.history_needed([AGORA], d(0)) is None
    assert campaigns.history_needed([AGORA], d(5)) == START
    assert campaigns.history_needed([AGORA], d(12)) is None


def test_open_ended_campaign_and_several_campaigns():
    later = Campaign(name="budget", label="b", hashtag="#Budget2027", start=d(3), team="t")
    open_agora = AGORA.model_copy(update={"end": None})
    rows = [post(1, "a"), post(3, "b", tags=("budget2027", "agorabxl")), post(40, "c", tags=("budget2027",))]
    out = campaigns.daily(table(rows), d(3), [open_agora, later]).to_pylist()
    assert [(r["campaign"], r["posts"], r["cumulative_people"]) for r in out] == [("agora", 1, 2), ("budget", 1, 1)]
    out = campaigns.daily(table(rows), d(40), [open_agora, later]).to_pylist()
    assert [(r["campaign"], r["day_of_campaign"], r["posts"]) for r in out] == [("agora", 40, 0), ("budget", 38, 1)]
    assert campaigns.history_needed([open_agora, later], d(40)) == START


def test_hashtag_is_case_insensitive_and_other_tags_ignored():
    mixed = AGORA.model_copy(update={"hashtag": "#AGORAbxl"})
    rows = [post(1, "a"), post(1, "b", tags=("agora",)), post(1, "c", tags=("agorabxl2",)), post(1, "d", tags=())]
    for c in (AGORA, mixed):
        r = one(rows, 1, camps=(c,))
        assert (r["posts"], r["people"], r["hashtag"]) == (1, 1, "agorabxl")


def test_duplicate_post_ids_counted_once():
    rows = [post(1, "a", pid="x:1", eng=5), post(1, "a", pid="x:1", eng=5)]
    r = one(rows, 1)
    assert (r["posts"], r["engagement"]) == (1, 5)


def test_top_amplifiers_by_engagement_ties_by_key():
    rows = [post(1, k, eng=e) for k, e in
            (("f", 10), ("e", 10), ("d", 3), ("d", 8), ("c", 7), ("b", 1), ("a", 0), ("g", 1))]
    assert one(rows, 1)["top_amplifiers"] == ["d", "e", "f", "c", "b"]


def test_empty_input():
    for t in (table([]), MENTIONS.schema.empty_table(), None):
        out = campaigns.daily(t, d(2), [AGORA])
        assert out.schema == CAMPAIGN_DAILY.schema
        r = out.to_pylist()[0]
        assert (r["posts"], r["people"], r["reach"], r["own_posts"], r["top_amplifiers"]) == (0, 0, 0, 0, [])
        assert r["share_other"] == 0.0
    assert campaigns.daily(table([]), d(2), []).num_rows == 0


def test_missing_column_is_a_clear_error():
    t = table([post(1, "a")]).drop_columns(["lang"])
    with pytest.raises(ValueError, match="lang"):
        campaigns.daily(t, d(1), [AGORA])


def test_agrees_with_a_direct_count_on_the_simulator(tmp_path: Path):
    from listening.simulate import simulate
    simulate(tmp_path, posts=3000, seed=3)
    records = {}
    for p in sorted((tmp_path / "import").glob("*.jsonl*")):
        opener = gzip.open if p.suffix == ".gz" else open
        with opener(p, "rt", encoding="utf-8") as fh:
            for line in fh:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if isinstance(r, dict) and "#agorabxl" in str(r.get("text", "")).casefold():
                    records[f"{r['platform']}:{r['id']}"] = r
    rows, direct = [], {}
    for pid, r in records.items():
        ts = datetime.fromisoformat(r["created_at"].replace("Z", "+00:00")).astimezone(timezone.utc)
        own = "parlbxl" in (r.get("author_handle") or "").casefold()
        key = f"{r['platform']}:{r['author_id']}"
        rows.append({"post_id": pid, "created_at": ts, "author_key": key,
                     "author_role": "own" if own else None, "author_followers": r.get("author_followers"),
                     "hashtags": hashtags_of(r["text"]), "lang": r.get("lang") or "und",
                     "engagement": sum(r.get(k, 0) for k in ("like_count", "repost_count", "reply_count",
                                                              "quote_count")),
                     "is_repost": bool(r.get("repost_of"))})
        direct.setdefault(ts.date(), []).append((own, key))
    day = date(2026, 11, 6)
    assert len(direct[day]) >= 5
    r = one(rows, (day - START).days + 1, camps=(AGORA.model_copy(update={"end": None}),))
    theirs = [k for own, k in direct[day] if not own]
    assert r["posts"] == len(theirs)
    assert r["people"] == len(set(theirs))
    assert r["own_posts"] == sum(own for own, _ in direct[day])
    assert r["cumulative_posts"] == sum(not own for dd, v in direct.items() if START <= dd <= day for own, _ in v)


def test_utc_day_boundaries_with_sub_second_times():
    late = post(1, "a")
    late["created_at"] = datetime(2026, 11, 2, 23, 59, 59, 999_000, tzinfo=timezone.utc)
    early = post(2, "b")
    early["created_at"] = datetime(2026, 11, 2, 23, 30, tzinfo=timezone(timedelta(hours=-1)))  # 00:30 UTC
    assert (one([late, early], 1)["posts"], one([late, early], 2)["posts"]) == (1, 1)
