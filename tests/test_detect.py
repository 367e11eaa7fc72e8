"""Detectors: on built series (found when they should, silent on noise and sparse topics) and on a
simulated corpus run through the pipeline (the planted events are found on their day)."""
from __future__ import annotations

import random
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from listening import detect, lake
from listening.schema import ALERTS

DAY = date(2026, 11, 30)
PROFILE = np.array([0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 2, 1, 0.5])


def _hourly(rng, days: list[date], topic: str, scale: float) -> pd.DataFrame:
    rows = []
    for d in days:
        counts = rng.poisson(PROFILE * scale)
        for h, c in enumerate(counts):
            if c:
                rows.append({"topic": topic, "hour": datetime(d.year, d.month, d.day, h, tzinfo=timezone.utc),
                             "posts": int(c)})
    return pd.DataFrame(rows, columns=["topic", "hour", "posts"])


def _history_days():
    return [DAY - timedelta(days=k) for k in range(28, 0, -1)]


def _empty_mentions() -> pd.DataFrame:
    return pd.DataFrame(columns=detect.MENTION_COLUMNS)


def _volume(today: pd.DataFrame, hist: pd.DataFrame) -> list[dict]:
    days = _history_days()
    return detect.detect_volume(today, detect.hourly_baseline(hist, days, DAY), _empty_mentions(), DAY)


def test_volume_spike_found_in_its_hours():
    rng = np.random.default_rng(1)
    hist = _hourly(rng, _history_days(), "t", 2.0)
    today = _hourly(rng, [DAY], "t", 2.0)
    today = today[~today["hour"].dt.hour.isin([14, 15, 16])]
    spike = pd.DataFrame([{"topic": "t", "hour": datetime(2026, 11, 30, h, tzinfo=timezone.utc), "posts": 45}
                          for h in (14, 15, 16)])
    alerts = _volume(pd.concat([today, spike]), hist)
    assert len(alerts) == 1
    a = alerts[0]
    assert a["detector"] == "volume_spike" and a["severity"] == "red"
    assert a["window_start"].hour == 14 and a["window_end"].hour == 17
    assert a["observed"] == 135 and 15 < a["expected"] < 35
    assert "135 posts" in a["evidence"]


def test_volume_noise_does_not_fire():
    rng = np.random.default_rng(2)
    hist = _hourly(rng, _history_days(), "t", 2.0)
    fired = sum(len(_volume(_hourly(rng, [DAY], "t", 2.0), hist)) for _ in range(60))
    assert fired == 0


def test_sparse_topic_going_from_3_to_9_posts_does_not_page():
    rng = np.random.default_rng(3)
    rows = []
    for d in _history_days():
        for h in rng.choice(np.arange(8, 22), size=3):
            rows.append({"topic": "t", "hour": datetime(d.year, d.month, d.day, int(h), tzinfo=timezone.utc), "posts": 1})
    hist = pd.DataFrame(rows).groupby(["topic", "hour"], as_index=False)["posts"].sum()
    # 9 posts in a day, even all within two hours
    today = pd.DataFrame([{"topic": "t", "hour": datetime(2026, 11, 30, 10, tzinfo=timezone.utc), "posts": 5},
                          {"topic": "t", "hour": datetime(2026, 11, 30, 11, tzinfo=timezone.utc), "posts": 4}])
    assert _volume(today, hist) == []


def _daily(pos, neu, neg, topic="t"):
    return {"topic": topic, "positive": pos, "neutral": neu, "negative": neg}


def test_sentiment_drop_found_and_noise_not():
    rng = np.random.default_rng(4)
    hist = pd.DataFrame([_daily(*rng.multinomial(120, [0.3, 0.45, 0.25])) for _ in range(28)])
    drop = pd.DataFrame([_daily(8, 20, 92)])
    alerts = detect.detect_sentiment(drop, hist, _empty_mentions(), DAY)
    assert [a["severity"] for a in alerts] == ["red"]
    assert alerts[0]["observed"] < -0.6 and alerts[0]["expected"] == pytest.approx(0.05, abs=0.05)
    assert "77% of the 120 scored posts are negative" in alerts[0]["evidence"]
    noise = [pd.DataFrame([_daily(*rng.multinomial(120, [0.3, 0.45, 0.25]))]) for _ in range(100)]
    assert sum(len(detect.detect_sentiment(n, hist, _empty_mentions(), DAY)) for n in noise) <= 1
    # too few scored posts: nothing
    assert detect.detect_sentiment(pd.DataFrame([_daily(0, 2, 9)]), hist, _empty_mentions(), DAY) == []


def _mention(i, text, tags=(), author=None, minute=0, topic="t", repost=False, lang="fr"):
    return {"post_id": f"x:{i}", "url": f"https://x.com/a/status/{i}",
            "created_at": pd.Timestamp(datetime(2026, 11, 30, 18, tzinfo=timezone.utc) + timedelta(minutes=minute)),
            "author_key": author or f"a{i}", "author_followers": 10, "text": text, "hashtags": list(tags),
            "lang": lang, "topics": [topic], "sentiment_score": 0.0, "sentiment_label": "neutral",
            "is_repost": repost, "engagement": i % 7}


def test_new_hashtag_with_its_first_posts():
    hist = pd.DataFrame([_mention(1000 + i, "budget", ["budgetbxl"]) for i in range(50)])
    today = pd.DataFrame([_mention(i, "scandale #BudgetGate", ["budgetgate"], minute=i) for i in range(4)]
                         + [_mention(10 + i, "x #BudgetBXL", ["budgetbxl"]) for i in range(5)]
                         + [_mention(20 + i, "x #rare", ["rare"], author="same") for i in range(5)])
    alerts = detect.detect_hashtags(today, detect.token_counts(hist), 28, DAY)
    assert [a["subject"] for a in alerts] == ["#budgetgate"]  # #rare: one author only
    assert alerts[0]["evidence_post_ids"] == ["x:0", "x:1", "x:2", "x:3"]
    assert detect.detect_hashtags(today, detect.token_counts(hist), 3, DAY) == []  # too little history to call anything new


def _campaign_text(k):
    verbs = ["ruiner", "appauvrir", "plomber", "saigner"]
    return (f"L'ordonnance climat va {verbs[k % 4]} les familles bruxelloises. Stop à cette folie ! "
            f"{'😡🤬👎'[k % 3]} #ClimatBXL @depute{k}")


def test_coordinated_copies_grouped_and_single_author_not():
    rng = np.random.default_rng(5)
    words = "le parlement vote demain sur la réforme du budget et des transports publics à bruxelles".split()
    other = [_mention(100 + i, " ".join(rng.choice(words, size=12)), minute=int(rng.integers(0, 600)))
             for i in range(80)]
    copies = [_mention(i, _campaign_text(i), minute=i) for i in range(20)]
    alerts = detect.detect_copies(pd.DataFrame(other + copies), DAY)
    assert len(alerts) == 1
    a = alerts[0]
    assert a["detector"] == "coordinated_copies" and a["observed"] == 20 and a["severity"] == "amber"
    assert set(a["evidence_post_ids"]) <= {f"x:{i}" for i in range(20)}
    one_author = [_mention(i, _campaign_text(i), author="bot", minute=i) for i in range(20)]
    assert detect.detect_copies(pd.DataFrame(other + one_author), DAY) == []
    reposts = [_mention(i, _campaign_text(0), minute=i, repost=True) for i in range(20)]
    assert detect.detect_copies(pd.DataFrame(other + reposts), DAY) == []


def test_a_sentence_shared_all_day_is_not_a_campaign_but_its_burst_is():
    """Copies count as coordinated when they come in a burst: at least half of the day's copies of
    the text within 3 hours. A headline shared from morning to night by 200 accounts (25 of them in
    any 3 hours, enough for an alert without the burst rule) is not."""
    shared = [_mention(200 + i, f"Lu ce matin : le texte complet de l'ordonnance climat est disponible en ligne {i}",
                       minute=-1080 + 7 * i) for i in range(200)]  # 00:00 to 23:13
    burst = [_mention(i, _campaign_text(i), minute=i) for i in range(20)]
    alerts = detect.detect_copies(pd.DataFrame(shared + burst), DAY)
    assert [a["observed"] for a in alerts] == [20]
    assert set(alerts[0]["evidence_post_ids"]) <= {f"x:{i}" for i in range(20)}
    # the same 200 posts, 120 of them from 02:00 to 04:00 (the other 80 from 14:00): a burst
    bunched = [dict(m, created_at=m["created_at"] + timedelta(minutes=(120 - 6 * i) if i < 120 else 0))
               for i, m in enumerate(shared)]
    [a] = detect.detect_copies(pd.DataFrame(bunched), DAY)
    assert a["observed"] == 120 and a["severity"] == "red"
    assert a["window_start"] == datetime(2026, 11, 30, 2, tzinfo=timezone.utc)


def test_crisis_words_per_language():
    df = pd.DataFrame([_mention(1, "Évacuation du parlement en cours"), _mention(2, "Een brand in het parlement", lang="nl"),
                       _mention(3, "Le brand du parlement", lang="fr"), _mention(4, "accidentally fine", lang="en"),
                       _mention(5, "Bombendrohung im Parlament", lang="de")])
    assert detect.crisis_flags(df).tolist() == [True, True, False, True, True]
    burst = pd.DataFrame([_mention(i, f"Incendie au parlement, évacuation {i}", minute=i) for i in range(12)])
    alerts = detect.detect_crisis(burst, detect.token_counts(pd.DataFrame()), 28, DAY)
    assert [a["detector"] for a in alerts] == ["crisis_words"] and alerts[0]["observed"] == 12


def test_crisis_words_on_a_first_night_are_judged_against_the_day_itself():
    """No history: a topic where crisis words come up every hour (a busy debate about a fire
    safety bill) is not red all day; an hour far above the rest of its day still is."""
    steady = [_mention(100 * h + i, f"Le débat sur l'incendie continue {h} {i}", minute=(h - 18) * 60 + 5 + i)
              for h in range(24) for i in range(8)]
    none = detect.token_counts(pd.DataFrame())
    assert detect.detect_crisis(pd.DataFrame(steady), none, 0, DAY) == []
    burst = [_mention(9000 + i, f"Incendie au parlement, évacuation {i}", minute=-180 + i % 60) for i in range(72)]
    [a] = detect.detect_crisis(pd.DataFrame(steady + burst), none, 0, DAY)
    assert a["window_start"].hour == 15 and a["observed"] == 80
    # with 28 days of history and none of these words in them, the steady day is news
    assert detect.detect_crisis(pd.DataFrame(steady), none, 28, DAY)
    # the hourly check sees the day so far: at 10:00 the same steady hours are not red either
    morning = [m for m in steady if m["created_at"].hour < 10]
    assert detect.detect_crisis(pd.DataFrame(morning), none, 0, DAY) == []


def test_alert_id_stable_and_keyed_on_window_start():
    ws = datetime(2026, 11, 30, 13, tzinfo=timezone.utc)
    a = detect.alert_id("t", "volume_spike", ws)
    assert a == detect.alert_id("t", "volume_spike", ws.astimezone(timezone(timedelta(hours=1))))
    assert a != detect.alert_id("t", "volume_spike", ws + timedelta(hours=1))
    assert a != detect.alert_id("u", "volume_spike", ws)
    assert detect.alert_id("t", "emerging_hashtag", ws, "#A") != detect.alert_id("t", "emerging_hashtag", ws, "#B")


# ---- on a simulated corpus through the pipeline -----------------------------------------------

@pytest.fixture(scope="session")
def event_lake(tmp_path_factory):
    from alerting_lake import build

    return build(tmp_path_factory.mktemp("alerting"))


def _ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


EXPECT = {"volume_burst": "volume_spike", "sentiment_drop": "sentiment_drop",
          "new_hashtag": "emerging_hashtag", "coordinated_campaign": "coordinated_copies"}


def test_planted_events_found_on_their_day(event_lake):
    root, truth, results = event_lake
    alerts = lake.read_dataset(root, "alerts").to_pylist()
    assert results["validate"]["failed"] == 0
    for e in truth["events"]:
        if e["type"] not in EXPECT:
            continue
        start, end = _ts(e["start"]), _ts(e["end"])
        hits = [a for a in alerts if a["detector"] == EXPECT[e["type"]] and a["topic"] == e["topic"]
                and a["window_start"] < end and a["window_end"] > start
                and (e["type"] != "new_hashtag" or a["subject"] == e["hashtag"].lower())]
        assert hits, f"{e['id']} not found"
        assert min(a["window_start"] for a in hits).date() == start.date(), e["id"]
        if e["type"] == "volume_burst":
            assert min(a["window_start"] for a in hits) - start <= timedelta(hours=2)
        if e["type"] == "coordinated_campaign":
            assert hits[0]["severity"] == "red" and set(hits[0]["evidence_post_ids"]) <= set(e["post_ids"])
    # every alert is a valid row with delivery waiting, and days without history raise nothing
    assert all(a["status"] == "suppressed" and a["status_reason"] == "awaiting delivery" for a in alerts)
    # (posts left unanswered need no history: the response desk alerts from the second day)
    assert all(sum(n for key, n in results[date(2026, 11, 2) + timedelta(days=k)]["by_detector"].items()
                   if not key.startswith("unanswered:")) == 0 for k in range(detect.MIN_HISTORY_DAYS))


def test_detect_day_is_idempotent(event_lake, tmp_path):
    import shutil

    from listening import pipeline

    root, truth, _ = event_lake
    copy = tmp_path / "lake"
    shutil.copytree(root, copy)
    day = date(2026, 11, 13)
    run = pipeline.make_run(day, "again", lake_dir=str(copy), import_dir=str(tmp_path))
    before = lake.read_partition(copy, ALERTS, dt=day)
    detect.detect_day(run)
    again = lake.read_file(lake.stage_path(copy, day, ALERTS, dt=day), ALERTS)
    assert again.drop(["run_id"]).equals(before.drop(["run_id"]))


def test_detection_mapped_by_part_gathers_the_days_alerts(event_lake, tmp_path):
    """The nightly DAG maps detection (the day's copies, then a task per topic) and gathers the
    parts: the staged alerts and topic_tokens are those of detect_day in one process."""
    import shutil

    from listening import pipeline
    from listening.schema import TOPIC_TOKENS

    root, _, _ = event_lake
    copy = tmp_path / "lake"
    shutil.copytree(root, copy)
    for day in (date(2026, 11, 10), date(2026, 11, 13)):
        run = pipeline.make_run(day, "parts", lake_dir=str(copy), import_dir=str(tmp_path))
        staged = {ds: lake.stage_path(copy, day, ds, dt=day) for ds in (ALERTS, TOPIC_TOKENS)}
        pipeline.detect(run)
        whole = {ds: lake.read_file(p, ds) for ds, p in staged.items()}
        for p in staged.values():
            p.unlink()
        plan = pipeline.plan_detection(run)
        assert plan[0]["name"] == detect.COPIES_PART and len(plan) >= 3
        assert [d["name"] for d in plan[1:]] == sorted(d["name"] for d in plan[1:])
        outs = [pipeline.detect_part(run, d["part"], d["of"]) for d in plan]
        assert not any(p.exists() for p in staged.values())  # nothing staged for validation before the gather
        assert pipeline.gather_alerts(run) == pipeline.detect(run)
        for ds, p in staged.items():
            assert lake.read_file(p, ds).equals(whole[ds]), ds.name
        assert sum(o["alerts"] for o in outs) >= whole[ALERTS].num_rows - sum(
            d.startswith("unanswered") for d in whole[ALERTS]["detector"].to_pylist()) > 0
        assert not (lake.staging_dir(copy, day) / detect.PARTS).exists()  # the parts' files went
    # a part that did not finish stops the gather, naming its file; a plan that no longer holds, the part
    for d in plan[:-1]:
        pipeline.detect_part(run, d["part"], d["of"])
    with pytest.raises(RuntimeError, match=f"detection parts missing: .*alerts-{plan[-1]['part']:03d}-of-"):
        pipeline.gather_alerts(run)
    with pytest.raises(RuntimeError, match="detection has [0-9]+ parts now, 99 when planned"):
        pipeline.detect_part(run, 0, 99)


def test_history_is_the_days_topic_tokens_summed(event_lake, tmp_path):
    """The detectors' 28 days are the days' topic_tokens (staged by detect_day), summed: the same
    counts as over the 28 days' mentions at once. A day published without them (an older lake) is
    counted from its mentions, one day's texts in memory at a time."""
    from listening.schema import MENTIONS, TOPIC_TOKENS

    root, _, _ = event_lake
    day = date(2026, 11, 13)
    days = [date(2026, 11, 2) + timedelta(days=k) for k in range(11)]
    assert all(lake.read_partition(root, TOPIC_TOKENS, dt=d).num_rows > 0 for d in days)
    whole = pd.concat([lake.read_partition(root, MENTIONS, dt=d).to_pandas() for d in days], ignore_index=True)
    expected = detect.token_counts(whole)
    assert set(expected["kind"]) == {"hashtag", "term", "crisis"}
    copy = tmp_path / "lake"
    shutil.copytree(root, copy)
    for d in days[::2]:
        shutil.rmtree(lake.partition_dir(copy, TOPIC_TOKENS, dt=d))
    key = ["topic", "kind", "token"]
    for where in (root, copy):
        past, present = detect.history_tokens(where, day)
        assert present == days
        assert past.sort_values(key).reset_index(drop=True).equals(expected.sort_values(key).reset_index(drop=True))
    # what a reader can check by hand: the posts of a topic tagged #ClimatBXL over those days
    climat = whole[whole["topics"].map(lambda t: "climate-bill" in t) & whole["hashtags"].map(lambda h: "climatbxl" in h)]
    [n] = past[(past["topic"] == "climate-bill") & (past["kind"] == "hashtag") & (past["token"] == "climatbxl")]["posts"]
    assert n == len(climat) > 0


def test_the_day_read_a_part_and_a_topic_at_a_time_gives_the_whole_days_alerts_and_tokens(event_lake, monkeypatch):
    """detect_day does not hold the day's mentions: the copies are found streaming the file (hashes
    of the texts, then the distinct texts half a block at a time), every other detector runs a topic
    at a time. Parts of 97 rows here; the alerts and topic_tokens are those of the whole day at once."""
    from listening.schema import MENTIONS, METRICS_DAILY, METRICS_HOURLY

    root, _, _ = event_lake
    monkeypatch.setattr(detect, "BATCH_ROWS", 97)
    fired = set()
    for day in (date(2026, 11, 10), date(2026, 11, 13)):  # a new hashtag's day, the campaign's
        path = lake.partition_dir(root, MENTIONS, dt=day) / lake.PART
        mentions = lake.read_file(path, MENTIONS)
        hourly, daily = lake.read_partition(root, METRICS_HOURLY, dt=day), lake.read_partition(root, METRICS_DAILY, dt=day)
        ghost = {c: [None] for c in daily.column_names} | {"topic": ["ghost"], "posts": [0], "positive": [0],
                                                           "neutral": [0], "negative": [0]}
        daily = pa.concat_tables([daily, pa.table(ghost, schema=daily.schema)])  # a watched topic nobody named
        whole, whole_tokens = detect.detect_with_tokens(detect.inputs_from_lake(root, day, mentions, hourly, daily))
        assert len({t for ts in mentions["topics"].to_pylist() for t in ts}) >= 3
        assert sum(len(ts) > 1 for ts in mentions["topics"].to_pylist()) > 0   # posts in two topics
        got, tokens = detect.detect_topics(day, path, hourly.select(["topic", "hour", "posts"]).to_pandas(),
                                           daily.select(["topic", "positive", "neutral", "negative"]).to_pandas(),
                                           detect.history_of(root, day))
        assert got == whole
        pd.testing.assert_frame_equal(tokens, whole_tokens)
        fired |= {a["detector"] for a in got}
    assert {"coordinated_copies", "emerging_hashtag", "volume_spike"} <= fired


def test_a_day_published_before_mentions_had_clusters_is_read_as_then(event_lake, tmp_path, monkeypatch):
    """Mentions written before `cluster_id` existed (no column, or nulls): the copies' day-wide
    clusters are computed from the day's texts (read in parts of 97), as the whole-day path did."""
    import pyarrow.parquet as pq

    from listening.schema import MENTIONS, METRICS_DAILY, METRICS_HOURLY

    root, _, _ = event_lake
    monkeypatch.setattr(detect, "BATCH_ROWS", 97)
    day = date(2026, 11, 13)
    t = lake.read_file(lake.partition_dir(root, MENTIONS, dt=day) / lake.PART, MENTIONS)
    hourly, daily = lake.read_partition(root, METRICS_HOURLY, dt=day), lake.read_partition(root, METRICS_DAILY, dt=day)
    i = t.schema.get_field_index("cluster_id")
    for name, old in (("no-column", t.drop_columns(["cluster_id"])),
                      ("nulls", t.set_column(i, pa.field("cluster_id", pa.string()), pa.nulls(t.num_rows, pa.string())))):
        path = tmp_path / name / "part-0.parquet"
        path.parent.mkdir()
        pq.write_table(old, path)
        whole, whole_tokens = detect.detect_with_tokens(
            detect.inputs_from_lake(root, day, lake.read_file(path, MENTIONS), hourly, daily))
        got, tokens = detect.detect_topics(day, path, hourly.select(["topic", "hour", "posts"]).to_pandas(),
                                           daily.select(["topic", "positive", "neutral", "negative"]).to_pandas(),
                                           detect.history_of(root, day))
        assert got == whole and any(a["detector"] == "coordinated_copies" for a in got), name
        pd.testing.assert_frame_equal(tokens, whole_tokens)


def test_mentions_out_of_the_days_order_are_refused_naming_the_file(event_lake, tmp_path, monkeypatch):
    """The copies are found in time order, read from the file as it is: a file not in the day's
    (created_at, post_id) order (an older version's) stops the detection, named, rather than
    grouping copies wrongly; within a part or across two."""
    import pyarrow.parquet as pq

    from listening.schema import MENTIONS

    root, _, _ = event_lake
    day = date(2026, 11, 13)
    t = lake.read_file(lake.partition_dir(root, MENTIONS, dt=day) / lake.PART, MENTIONS)
    empty = pd.DataFrame({"topic": [], "hour": [], "posts": [], "positive": [], "neutral": [], "negative": []})
    path = tmp_path / "part-0.parquet"
    for rows, swapped in ((detect.BATCH_ROWS, pa.concat_tables([t.slice(150), t.slice(0, 150)])),
                          # rows 96 and 97 swapped: the last row of a part of 97 and the first of the next
                          (97, pa.concat_tables([t.slice(0, 96), t.slice(97, 1), t.slice(96, 1), t.slice(98)]))):
        monkeypatch.setattr(detect, "BATCH_ROWS", rows)
        pq.write_table(swapped, path)
        with pytest.raises(ValueError, match=r"part-0\.parquet: the mentions are not in \(created_at, post_id\) order"):
            detect.detect_topics(day, path, empty, empty, detect.history_of(tmp_path, day))


def test_token_counts_are_the_posts_of_each_topic_counted_by_hand():
    """topic_tokens as a reader counts them: per topic, the posts using each hashtag and each word (a
    word twice in a post counts once, a post in two topics counts in both, a post without topics or
    tokens in none) and the posts with a crisis word; the same whatever the parts they are counted in."""
    from collections import Counter

    from listening.metrics import terms

    rng = random.Random(11)
    words = ["budget", "Budget", "parlement", "tram", "école", "le", "vote"]
    posts = [{"topics": rng.choice([["a"], ["b"], ["a", "b"], ["c", "a"], [], None]),
              "hashtags": rng.choice([["x"], ["x", "x", "y"], ["y", "z"], [], None]),
              "text": " ".join(rng.choice(words) for _ in range(rng.randrange(6))), "lang": "fr",
              "crisis": rng.random() < 0.2} for _ in range(400)]
    expected = Counter()
    for p in posts:
        for topic in p["topics"] or []:
            expected.update((topic, "hashtag", tag) for tag in set(p["hashtags"] or []))
            expected.update((topic, "term", w) for w in set(terms(p["text"])))
            expected[(topic, "crisis", "")] += p["crisis"]
    expected = {k: n for k, n in expected.items() if n}
    got = detect.token_counts(pd.DataFrame(posts))
    assert list(got.columns) == detect.TOKEN_COLUMNS and got["posts"].dtype == "int64"
    assert got[["topic", "kind", "token"]].values.tolist() == [list(k) for k in sorted(expected)]
    assert dict(zip(zip(got["topic"], got["kind"], got["token"]), got["posts"])) == expected
    assert expected[("a", "term", "budget")] > expected[("b", "term", "budget")] > 0
    topics = pa.array([p["topics"] for p in posts], pa.list_(pa.string()))
    tags = pa.array([p["hashtags"] for p in posts], pa.list_(pa.string()))
    for part in (1, 7, 64, 1000):
        counted = detect._posts_per_token(topics, tags, part).to_pylist()
        assert {(r["topic"], "hashtag", r["token"]): r["posts"] for r in counted} == \
            {k: n for k, n in expected.items() if k[1] == "hashtag"}


def test_empty_day_and_no_history_raise_nothing():
    from listening.schema import MENTIONS, METRICS_DAILY, METRICS_HOURLY

    m = MENTIONS.schema.empty_table()
    out = detect.detect(**{**detect.inputs_from_lake(Path("/nonexistent"), DAY, m, METRICS_HOURLY.schema.empty_table(),
                                                     METRICS_DAILY.schema.empty_table())})
    assert out == []


def test_emerging_words_grouped_with_first_posts_and_ordinary_words_quiet():
    words = "le parlement vote demain sur la réforme du budget et des transports publics à bruxelles".split()
    rng = np.random.default_rng(3)
    hist = pd.DataFrame([_mention(1000 + i, " ".join(rng.choice(words, size=10))) for i in range(28 * 60)])
    ordinary = [_mention(2000 + i, " ".join(rng.choice(words, size=10)), minute=i) for i in range(60)]
    event = [_mention(i, f"Fuite de documents confidentiels au parlement, budget {i}", minute=30 + i) for i in range(12)]
    one_voice = [_mention(100 + i, "Boycott boycott boycott", author="same", minute=i) for i in range(12)]
    few = [_mention(200 + i, "inondation au sous-sol", minute=i) for i in range(4)]   # under the floor
    today = pd.DataFrame(ordinary + event + one_voice + few)
    alerts = detect.detect_terms(today, detect.token_counts(hist), 28, DAY)
    assert len(alerts) == 1   # fuite, documents, confidentiels: one alert; budget, parlement: not new
    a = alerts[0]
    assert a["detector"] == "emerging_term" and a["subject"] in {"fuite", "documents", "confidentiels"}
    assert a["evidence_post_ids"] == ["x:0", "x:1", "x:2", "x:3", "x:4"] and a["observed"] == 12
    assert "Seen in the same posts" in a["evidence"]
    fr = detect.detect_terms(today, detect.token_counts(hist), 28, DAY, lang="fr")[0]
    assert fr["title"].startswith("Nouveau mot « ") and "12 messages de 12 comptes" in fr["title"]
    assert "Vus dans les mêmes messages" in fr["evidence"] and fr["alert_id"] == a["alert_id"]
    assert detect.detect_terms(today, detect.token_counts(hist), 3, DAY) == []


def test_titles_follow_the_digest_language():
    hist = pd.DataFrame([_mention(1000 + i, "budget", ["budgetbxl"]) for i in range(50)])
    today = pd.DataFrame([_mention(i, "scandale #BudgetGate", ["budgetgate"], minute=i) for i in range(4)])
    en = detect.detect_hashtags(today, detect.token_counts(hist), 28, DAY)[0]
    fr = detect.detect_hashtags(today, detect.token_counts(hist), 28, DAY, lang="fr")[0]
    assert en["title"] == "New hashtag #budgetgate: 4 posts by 4 accounts"
    assert fr["title"] == "Nouveau hashtag #budgetgate : 4 messages de 4 comptes"
    assert "aucun message du sujet des 28 jours précédents" in fr["evidence"]
    assert en["alert_id"] == fr["alert_id"]  # the language does not change what the alert is
    assert detect.num(0.77, ".0%", "fr") == "77\u00a0%" and detect.num(-0.25, "+.2f", "fr") == "-0,25"


def test_a_day_without_any_hashtag_raises_nothing_and_does_not_crash():
    import pandas as pd

    from listening import detect

    today = pd.DataFrame({"topic": ["budget-2027"] * 3, "hashtags": [[], None, []], "author_key": ["a", "b", "c"],
                          "post_id": ["x:1", "x:2", "x:3"]})
    assert detect._emerging(today, None, "hashtags", "emerging_hashtag", 28, date(2026, 11, 2), 3, 3, 3.0, 5,
                            "en") == []


def test_copy_groups_with_a_last_half_block_of_one_short_text():
    # 1,500 distinct texts, then "lol": the last half-block (block 3000) is one 3-character text
    from listening import dedupe

    rng = random.Random(5)
    words = ["budget", "parlement", "vote", "loi", "climat", "brussel", "regering", "debat", "taxe", "ville"]
    texts, seen = [], set()
    while len(texts) < 1500:
        t = " ".join(rng.choice(words) for _ in range(8))
        if dedupe.normalise([t])[0] not in seen:
            seen.add(dedupe.normalise([t])[0])
            texts.append(t)
    texts = texts + [texts[0], "lol"]             # a copy of the first text, then the short one
    groups = detect.copy_groups(texts)
    assert any({0, 1500} <= set(g) for g in groups) and not any(1501 in g for g in groups)
