"""Measures per topic and period: volume, authors, sentiment mix, reach, engagement, languages."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pyarrow as pa
import pytest

from listening import metrics
from listening.schema import MENTIONS, METRICS_DAILY, METRICS_HOURLY

DAY = date(2026, 11, 2)
TOPICS = ["budget", "climat", "quiet"]


def row(pid, topics, author="a", followers=100, label=None, score=None, lang="fr", tags=(),
        hour=8, minute=15, likes=0, reposts=0, reply=False, repost=False) -> dict:
    return {"post_id": pid, "platform": "mastodon", "url": None,
            "created_at": datetime(2026, 11, 2, hour, minute, tzinfo=timezone.utc), "hour": hour,
            "author_key": author, "author_followers": followers, "text": "t", "hashtags": list(tags),
            "mentions": [], "links": [], "lang": lang, "lang_source": "platform", "lang_confidence": 1.0,
            "topics": list(topics), "matches": [], "sentiment_score": score, "sentiment_label": label,
            "sentiment_engine": None if label is None else "e", "is_reply": reply, "is_repost": repost,
            "reply_to": None, "repost_of": None, "quote_of": None, "like_count": likes,
            "repost_count": reposts, "reply_count": 0, "quote_count": 0, "engagement": likes + reposts}


def table(rows) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=MENTIONS.schema)


@pytest.fixture
def mentions() -> pa.Table:
    return table([
        row("m:1", ["budget", "climat"], "alice", 100, "positive", 0.6, "fr", ["budgetbxl", "parlbxl"], 8, likes=3),
        row("m:2", ["budget"], "alice", 100, "negative", -0.4, "nl", ["budgetbxl"], 9, reply=True, likes=1),
        row("m:3", ["budget"], "bob", None, None, None, "und", ["budgetbxl", "zzz"], 9, 40),
        row("m:4", ["budget"], "carol", 1000, "positive", 0.2, "en", ["aaa", "zzz"], 23, 59, reposts=2, repost=True),
        row("m:5", ["climat"], "dave", 50, "neutral", 0.0, "de", [], 23),
    ])


def by_topic(t: pa.Table) -> dict[str, dict]:
    return {r["topic"]: r for r in t.to_pylist()}


def test_daily_one_row_per_watched_topic_quiet_ones_included(mentions):
    t = metrics.daily(mentions, DAY, TOPICS)
    assert t.schema.equals(METRICS_DAILY.schema)
    assert t.column("topic").to_pylist() == ["budget", "climat", "quiet"]
    assert set(t.column("day").to_pylist()) == {DAY}
    quiet = by_topic(t)["quiet"]
    assert quiet["posts"] == 0 and quiet["unique_authors"] == 0 and quiet["reach"] == 0
    assert quiet["net_sentiment"] is None and quiet["mean_sentiment"] is None
    assert quiet["top_hashtags"] == []


def test_daily_topic_not_watched_is_left_out(mentions):
    t = metrics.daily(mentions, DAY, ["budget"])
    assert t.column("topic").to_pylist() == ["budget"]


def test_daily_counts(mentions):
    b = by_topic(metrics.daily(mentions, DAY, TOPICS))["budget"]
    assert b["posts"] == 4
    assert b["unique_authors"] == 3
    assert (b["positive"], b["neutral"], b["negative"], b["unscored"]) == (2, 0, 1, 1)
    assert (b["lang_fr"], b["lang_nl"], b["lang_en"], b["lang_de"], b["lang_other"]) == (1, 1, 1, 0, 1)
    assert b["engagement"] == 3 + 1 + 2
    assert b["replies"] == 1 and b["reposts"] == 1


def test_a_post_in_two_topics_counts_in_each(mentions):
    c = by_topic(metrics.daily(mentions, DAY, TOPICS))["climat"]
    assert c["posts"] == 2 and c["unique_authors"] == 2
    assert (c["positive"], c["neutral"], c["negative"]) == (1, 1, 0)
    assert c["lang_fr"] == 1 and c["lang_de"] == 1


def test_reach_counts_each_author_once(mentions):
    b = by_topic(metrics.daily(mentions, DAY, TOPICS))["budget"]
    # alice (100) posted twice, bob has no follower count, carol (1000)
    assert b["reach"] == 100 + 1000


def test_net_and_mean_sentiment(mentions):
    d = by_topic(metrics.daily(mentions, DAY, TOPICS))
    # budget: 2 positive, 1 negative of 3 scored (the unscored post does not dilute it)
    assert d["budget"]["net_sentiment"] == pytest.approx((2 - 1) / 3, abs=1e-6)
    assert d["budget"]["mean_sentiment"] == pytest.approx((0.6 - 0.4 + 0.2) / 3, abs=1e-6)
    assert d["climat"]["net_sentiment"] == pytest.approx(0.5)


def test_net_sentiment_is_none_when_nothing_scored():
    t = table([row("m:1", ["budget"], lang="it"), row("m:2", ["budget"], "b", lang="und")])
    b = by_topic(metrics.daily(t, DAY, ["budget"]))["budget"]
    assert b["posts"] == 2 and b["unscored"] == 2
    assert b["net_sentiment"] is None and b["mean_sentiment"] is None
    assert b["lang_other"] == 2


def test_top_hashtags_ordered_by_count_then_name(mentions):
    b = by_topic(metrics.daily(mentions, DAY, TOPICS))["budget"]
    assert b["top_hashtags"] == ["budgetbxl", "zzz", "aaa", "parlbxl"]


def test_top_hashtags_keeps_ten():
    rows = [row(f"m:{i}", ["budget"], tags=[f"t{j:02d}" for j in range(i + 1)]) for i in range(12)]
    b = by_topic(metrics.daily(table(rows), DAY, ["budget"]))["budget"]
    assert b["top_hashtags"] == [f"t{j:02d}" for j in range(10)]


def test_daily_on_an_empty_day():
    t = metrics.daily(MENTIONS.schema.empty_table(), DAY, ["b", "a"])
    assert t.column("topic").to_pylist() == ["a", "b"]
    assert t.column("posts").to_pylist() == [0, 0]


def test_hourly_groups_by_utc_hour(mentions):
    t = metrics.hourly(mentions)
    assert t.schema.equals(METRICS_HOURLY.schema)
    got = [(r["topic"], r["hour"].hour, r["posts"]) for r in t.to_pylist()]
    assert got == [("budget", 8, 1), ("budget", 9, 2), ("budget", 23, 1), ("climat", 8, 1), ("climat", 23, 1)]
    first = t.to_pylist()[0]
    assert first["hour"] == datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)
    h9 = [r for r in t.to_pylist() if r["topic"] == "budget" and r["hour"].hour == 9][0]
    assert h9["unique_authors"] == 2 and h9["negative"] == 1 and h9["unscored"] == 1
    assert h9["reach"] == 100 and h9["top_hashtags"] == ["budgetbxl", "zzz"]


def test_hourly_has_no_rows_for_quiet_hours_and_no_rows_when_empty(mentions):
    assert metrics.hourly(MENTIONS.schema.empty_table()).num_rows == 0
    hours = {r["hour"].hour for r in metrics.hourly(mentions).to_pylist()}
    assert hours == {8, 9, 23}


def test_hourly_totals_match_daily(mentions):
    daily = by_topic(metrics.daily(mentions, DAY, TOPICS))
    for topic in ("budget", "climat"):
        hours = [r for r in metrics.hourly(mentions).to_pylist() if r["topic"] == topic]
        for col in ("posts", "positive", "neutral", "negative", "unscored", "engagement", "replies", "reposts"):
            assert sum(r[col] for r in hours) == daily[topic][col], (topic, col)


def test_reach_uses_the_known_follower_count_of_an_author():
    # the first post was collected without a follower count, the second with one
    t = table([row("m:1", ["budget"], "alice", None, minute=1), row("m:2", ["budget"], "alice", 300, minute=2),
               row("m:3", ["budget"], "bob", 20, minute=3)])
    assert by_topic(metrics.daily(t, DAY, ["budget"]))["budget"]["reach"] == 320
    assert metrics.hourly(t).column("reach").to_pylist() == [320]


def _with_text(r: dict, text: str, links=()) -> dict:
    return {**r, "text": text, "links": list(links)}


def test_share_of_voice_within_each_group():
    t = table([row("m:1", ["budget"]), row("m:2", ["budget"]), row("m:3", ["climat"]), row("m:4", ["quiet"])])
    got = {r["topic"]: r["share_of_voice"] for r in metrics.daily(
        t, DAY, TOPICS, groups={"budget": "debates", "climat": "debates", "quiet": "other"}).to_pylist()}
    assert got == {"budget": pytest.approx(2 / 3), "climat": pytest.approx(1 / 3), "quiet": 1.0}
    hours = metrics.hourly(t, groups={"budget": "debates", "climat": "debates", "quiet": "other"}).to_pylist()
    assert sum(r["share_of_voice"] for r in hours if r["topic"] in ("budget", "climat")) == pytest.approx(1.0)


def test_top_terms_leave_out_stop_words_tags_mentions_and_links():
    t = table([
        _with_text(row("m:1", ["budget"]), "Le budget régional est voté : c'est une honte #BudgetBXL @parlbxl https://x.be/a",
                   ["https://x.be/a"]),
        _with_text(row("m:2", ["budget"]), "De begroting is een honte voor de stad", ["https://x.be/a"]),
    ])
    r = next(r for r in metrics.daily(t, DAY, TOPICS).to_pylist() if r["topic"] == "budget")
    assert r["top_terms"][0] == "honte"
    assert {"budget", "régional", "voté", "begroting", "stad"} <= set(r["top_terms"])
    assert not {"le", "est", "c'est", "une", "de", "een", "is", "voor", "budgetbxl", "parlbxl", "https"} & set(r["top_terms"])
    assert r["top_links"] == ["https://x.be/a"]


def test_new_hashtags_and_terms_against_the_previous_weeks(mentions):
    got = {r["topic"]: r for r in metrics.daily(
        mentions, DAY, TOPICS, seen_hashtags={"budget": {"budgetbxl", "aaa"}}, seen_terms={"budget": set()}).to_pylist()}
    assert got["budget"]["new_hashtags"] == ["zzz", "parlbxl"]   # most used first, known ones left out
    assert got["climat"]["new_hashtags"] == ["budgetbxl", "parlbxl"]  # nothing seen for that topic before
    assert metrics.daily(mentions, DAY, TOPICS).to_pylist()[0]["new_hashtags"] is None  # not computed


TRICKY = [
    "Le budget régional est voté : c'est une honte #BudgetBXL @parlbxl https://x.be/a",
    "https://x.be/start au début, l'ordonnance aujourd’hui -- Straße STRASSE ßtraße",
    "@alice@mastodon.social#tag mot#collé réunion_du_jour 2027budget ½moitié",
    "", "   ", "#seul", "@seule", "ligne\nnouvelle\n#tag\n@nom https://a.b/c\nfin",
    "Le budget régional est voté : c'est une honte #BudgetBXL @parlbxl https://x.be/a",  # a repost
    "un \x01 séparateur dans le texte lui-même",
]


def test_terms_per_post_gives_terms_of_each_text():
    assert metrics.terms_per_post(TRICKY).to_pylist() == [metrics.terms(t) for t in TRICKY]
    clean = [t for t in TRICKY if "\x01" not in t]  # the batch path, every text joined
    chunked = pa.chunked_array([clean[:3], clean[3:]])
    assert metrics.terms_per_post(chunked).to_pylist() == [metrics.terms(t) for t in clean]
    assert metrics.terms_per_post([]).to_pylist() == []


def test_precomputed_post_terms_give_the_same_tables(mentions):
    t = table([_with_text(r, text) for r, text in zip(mentions.to_pylist(), TRICKY)])
    words = metrics.terms_per_post(t["text"])
    assert metrics.daily(t, DAY, TOPICS, post_terms=words).equals(metrics.daily(t, DAY, TOPICS))
    assert metrics.hourly(t, post_terms=words).equals(metrics.hourly(t))


def test_top_terms_and_links_ties_ordered_by_name():
    t = table([_with_text(row("m:1", ["budget"]), "zèbre alpha budget", ["https://b", "https://a"]),
               _with_text(row("m:2", ["budget"]), "budget alpha", ["https://c"])])
    r = metrics.daily(t, DAY, ["budget"]).to_pylist()[0]
    assert r["top_terms"] == ["alpha", "budget", "zèbre"]
    assert r["top_links"] == ["https://a", "https://b", "https://c"]


def test_mean_sentiment_is_the_float32_mean_of_the_scores():
    import numpy as np

    scores = np.random.default_rng(3).uniform(-1, 1, 300).astype("float32")
    t = table([row(f"m:{i}", ["budget"], label="neutral", score=float(s), hour=8) for i, s in enumerate(scores)]
              + [row("m:x", ["budget"], hour=8)])  # unscored: left out of the mean
    want = np.float32(scores.sum(dtype="float32") / np.float32(len(scores)))
    assert metrics.daily(t, DAY, ["budget"]).column("mean_sentiment").to_pylist() == [want]
    assert metrics.hourly(t).column("mean_sentiment").to_pylist() == [want]


def test_new_hashtags_keep_ten_most_used_first():
    rows = [row(f"m:{i}", ["budget"], tags=[f"t{j:02d}" for j in range(i + 1)]) for i in range(14)]
    got = metrics.daily(table(rows), DAY, ["budget"], seen_hashtags={"budget": {"t00", "t02"}}).to_pylist()[0]
    assert got["new_hashtags"] == ["t01"] + [f"t{j:02d}" for j in range(3, 12)]


def test_share_of_voice_per_hour_and_outside_any_group():
    t = table([row("m:1", ["budget"], hour=8), row("m:2", ["climat"], hour=8), row("m:3", ["climat"], hour=9),
               row("m:4", ["quiet"], hour=8)])
    got = {(r["topic"], r["hour"].hour): r["share_of_voice"]
           for r in metrics.hourly(t, groups={"budget": "debates", "climat": "debates"}).to_pylist()}
    assert got == {("budget", 8): 0.5, ("climat", 8): 0.5, ("climat", 9): 1.0, ("quiet", 8): 1.0}


def batches(t: pa.Table, rows: int) -> list[pa.Table]:
    return [t.slice(i, rows) for i in range(0, t.num_rows, rows)] or [t]


@pytest.mark.parametrize("rows", [1, 2, 3])
def test_partials_of_batches_give_the_whole_tables(mentions, rows):
    t = table([_with_text(r, text, ["https://x.be/a"] * (i % 2)) for i, (r, text) in enumerate(zip(mentions.to_pylist(), TRICKY))])
    part = metrics.merge(metrics.partial(b) for b in batches(t, rows))
    seen = {"budget": {"budgetbxl"}}
    assert metrics.daily_of(part, DAY, TOPICS, seen_hashtags=seen, seen_terms={}).equals(
        metrics.daily(t, DAY, TOPICS, seen_hashtags=seen, seen_terms={}))
    assert metrics.hourly_of(part).equals(metrics.hourly(t))
    assert metrics.daily(t, DAY, TOPICS)["top_terms"].to_pylist()[0]  # the texts have terms


def test_mean_sentiment_of_batches_is_the_float32_mean_of_all_scores():
    import numpy as np

    scores = np.random.default_rng(3).uniform(-1, 1, 300).astype("float32")
    t = table([row(f"m:{i}", ["budget"], label="neutral", score=float(s), hour=8) for i, s in enumerate(scores)])
    want = np.float32(scores.sum(dtype="float32") / np.float32(len(scores)))
    for rows in (7, 100):
        part = metrics.merge(metrics.partial(b) for b in batches(t, rows))
        assert metrics.daily_of(part, DAY, ["budget"]).column("mean_sentiment").to_pylist() == [want]
        assert metrics.hourly_of(part).column("mean_sentiment").to_pylist() == [want]


def test_merge_of_no_batch_is_an_empty_day():
    part = metrics.merge([])
    assert metrics.daily_of(part, DAY, TOPICS).equals(metrics.daily(MENTIONS.schema.empty_table(), DAY, TOPICS))
    assert metrics.hourly_of(part).num_rows == 0


def _variants(day: pa.Table) -> dict[str, pa.Table]:
    import pyarrow.compute as pc

    topics = day["topics"].to_pylist()
    gone = sorted({t for ts in topics for t in ts})[0]
    i = day.schema.get_field_index("sentiment_score")
    half = pa.array([k % 2 == 0 for k in range(day.num_rows)])
    return {
        "real": day,
        "empty": day.slice(0, 0),
        "a topic without posts": day.set_column(day.schema.get_field_index("topics"), "topics", pa.array(
            [[t for t in ts if t != gone] for ts in topics], day.schema.field("topics").type)),
        "no scores": day.set_column(i, "sentiment_score", pa.nulls(day.num_rows, pa.float32())),
        "half the scores": day.set_column(i, "sentiment_score",
                                          pc.if_else(half, pa.nulls(day.num_rows, pa.float32()), day["sentiment_score"])),
    }


def test_compute_metrics_streamed_gives_the_tables_of_the_whole_day(two_day_lake, tmp_path):
    """A real day's staged mentions read 7 and 100 rows at a time: the staged metrics are those of the
    whole day, bit for bit (history of the previous day included)."""
    import shutil

    from listening import lake, pipeline

    src, days, _ = two_day_lake
    root = tmp_path / "lake"
    shutil.copytree(src, root)
    run = pipeline.make_run(days[1], "t", lake_dir=str(root))
    day = lake.read_partition(root, MENTIONS, dt=days[1])
    assert day.num_rows > 300
    topics = [t.name for t in run.config.watchlists.topics]
    groups = {t.name: t.group for t in run.config.watchlists.topics}
    seen_tags, seen_terms = pipeline._history(run)
    assert seen_tags and seen_terms
    for name, mentions in _variants(day).items():
        lake.write_file(lake.stage_path(root, run.day, MENTIONS, dt=run.day), MENTIONS, mentions)
        want = {METRICS_DAILY: metrics.daily(mentions, run.day, topics, groups, seen_tags, seen_terms),
                METRICS_HOURLY: metrics.hourly(mentions, groups)}
        for rows in (7, 100):
            pipeline.compute_metrics(run, batch_rows=rows)
            for ds, table in want.items():
                got = lake.read_file(lake.stage_path(root, run.day, ds, dt=run.day), ds)
                assert got.equals(lake.sort_table(ds, table)), (name, rows, ds.name)
        if name == "real":
            assert want[METRICS_DAILY]["new_hashtags"].to_pylist() != [[]] * len(topics)
        if name == "a topic without posts":
            assert 0 in want[METRICS_DAILY]["posts"].to_pylist()


def test_stop_words_are_spacys_for_the_four_languages_without_importing_spacy():
    """Read from spaCy's word lists without importing its language packages (seconds of regex
    compilation in every task that counts words): the same words."""
    import subprocess
    import sys

    from conftest import REPO

    probe = ("import sys; from listening import metrics; w = metrics.stop_words(); "
             "print(len(w), 'spacy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(REPO / "plugins"), "PATH": ""}).stdout.split()
    from spacy.lang.de.stop_words import STOP_WORDS as de
    from spacy.lang.en.stop_words import STOP_WORDS as en
    from spacy.lang.fr.stop_words import STOP_WORDS as fr
    from spacy.lang.nl.stop_words import STOP_WORDS as nl

    words = metrics.stop_words()
    assert {w.casefold() for w in de | en | fr | nl} <= words
    assert {"rt", "via", "c'est"} <= words and "parlement" not in words
    assert out == [str(len(words)), "False"]
