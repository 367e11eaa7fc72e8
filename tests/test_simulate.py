"""Tests of the synthetic corpus generator (listening.simulate)."""
from __future__ import annotations

import gzip
import json
import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from difflib import SequenceMatcher

import pytest

from listening import simulate as sim

N = 2500
SEED = 11
START = date(2026, 11, 2)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    manifest = sim.simulate(out, start=START, days=14, posts=N, seed=SEED)
    return out, manifest


def _read_lines(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read().splitlines()


@pytest.fixture(scope="module")
def loaded(corpus):
    out, manifest = corpus
    bad = {(b["file"], b["line"]) for b in manifest["bad_lines"]}
    posts = {}          # post_id -> (file, record)
    dupes = []
    for path in sorted((out / "import").glob("posts-*.jsonl.gz")):
        for i, line in enumerate(_read_lines(path), 1):
            if (path.name, i) in bad:
                continue
            rec = json.loads(line)
            pid = f"{rec['platform']}:{rec['id']}"
            if pid in posts:
                dupes.append(pid)
            posts[pid] = (path.name, rec)
    truth = [json.loads(x) for x in _read_lines(out / "truth.jsonl.gz")]
    return posts, truth, dupes


def _ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


# ---- independent topic checker (does not use the generator's matcher) ----------------
KEYWORDS = {
    "parlement": ["Parlement bruxellois", "Brussels Parlement", "Brussels Parliament",
                  "Parlement de la Région de Bruxelles-Capitale",
                  "Brussels Hoofdstedelijk Parlement", "Brüsseler Parlament"],
    "budget-2027": ["budget régional", "budget 2027", "gewestbegroting", "begroting 2027",
                    "regional budget", "Haushalt 2027"],
    "climate-bill": ["ordonnance climat", "ordonnance sur le climat", "klimaatordonnantie",
                     "klimaatwet", "climate bill", "Klimagesetz"],
    "agora": ["panel citoyen", "panels citoyens", "burgerpanel", "burgerpanels",
              "citizens' panel"],
}
HASHTAGS = {"parlement": ["#ParlBXL"], "budget-2027": ["#BudgetBXL", "#Begroting2027"],
            "climate-bill": ["#ClimatBXL", "#KlimaatBXL"], "agora": ["#AgoraBXL"]}
INSTITUTION_HANDLES = {"@parlbxl", "@parlbxl@mastodon.brussels", "@parlbxl.bsky.social"}


def norm(s):
    s = unicodedata.normalize("NFKD", s.lower())
    return "".join(c for c in s if not unicodedata.combining(c))


RX = {t: re.compile("|".join([r"(?<!\w)" + re.escape(norm(k)) + r"(?!\w)" for k in KEYWORDS[t]]
                             + [r"(?<![\w#])" + re.escape(norm(h)) + r"(?!\w)" for h in HASHTAGS[t]]))
      for t in KEYWORDS}
MENTION = re.compile(r"(?<![\w@.])@parlbxl(?:@mastodon\.brussels|\.bsky\.social)?(?![\w@])")
EXCLUDE = re.compile(r"(?<!\w)budget participatif(?!\w)")


def recompute_topics(text, author_handle):
    t = norm(text)
    found = {topic for topic, rx in RX.items() if rx.search(t)}
    if (author_handle or "").lower() in INSTITUTION_HANDLES or MENTION.search(t):
        found.add("parlement")
    if "budget-2027" in found and EXCLUDE.search(t):
        found.discard("budget-2027")
    return sorted(found)


def test_checker_semantics():
    assert recompute_topics("L'ordonnance climat arrive", "@a") == ["climate-bill"]
    assert recompute_topics("#budgetbxl", "@a") == ["budget-2027"]
    assert recompute_topics("#BudgetBXL2 budget ClimatBXL klimaatwetgeving", "@a") == []
    assert recompute_topics("le budget régional et le budget participatif", "@a") == []
    assert recompute_topics("hello", "@parlbxl.bsky.social") == ["parlement"]
    assert recompute_topics("@parlbxl@mastodon.brussels ok?", "@a") == ["parlement"]
    assert recompute_topics("BUDGET REGIONAL", "@a") == ["budget-2027"]
    # the generator's own matcher agrees on the same cases
    for text in ["L'ordonnance climat arrive", "#budgetbxl", "#BudgetBXL2 budget ClimatBXL",
                 "le budget régional et le budget participatif", "@parlbxl@mastodon.brussels ok?",
                 "BUDGET REGIONAL", "the citizens' panel", "Brüsseler Parlament", "des Klimagesetzes"]:
        assert sim.topics_of(text, "@a") == recompute_topics(text, "@a"), text


# ---- tests -------------------------------------------------------------------------------
def test_deterministic_bytes(tmp_path, corpus):
    out, _ = corpus
    again = tmp_path / "again"
    sim.simulate(again, start=START, days=14, posts=N, seed=SEED)
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(again)) for p in again.rglob("*") if p.is_file())
    for name in names:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    other = tmp_path / "other"
    sim.simulate(other, start=START, days=14, posts=N, seed=SEED + 1)
    assert (other / "truth.jsonl.gz").read_bytes() != (out / "truth.jsonl.gz").read_bytes()
    assert (other / "import" / "posts-2026-11-05.jsonl.gz").read_bytes() != (out / "import" / "posts-2026-11-05.jsonl.gz").read_bytes()


def test_files_and_counts(corpus, loaded):
    out, m = corpus
    posts, truth, dupes = loaded
    assert m["posts"] == N == len(truth) == len(posts)
    assert not dupes
    assert json.loads((out / "truth.json").read_text()) == m
    assert m["start"] == "2026-11-02" and m["end"] == "2026-11-15" and m["days"] == 14
    days = sorted(p.name for p in (out / "import").glob("posts-*.jsonl.gz"))
    assert days == [f"posts-{START + timedelta(d)}.jsonl.gz" for d in range(14)]
    assert sum(m["languages"].values()) == N


def test_truth_matches_files(loaded):
    posts, truth, _ = loaded
    seen = Counter(t["post_id"] for t in truth)
    assert max(seen.values()) == 1
    assert set(seen) == set(posts)
    for fname, rec in posts.values():
        day = date.fromisoformat(fname[len("posts-"):-len(".jsonl.gz")])
        ts = _ts(rec["created_at"])
        assert ts.tzinfo is not None
        assert ts.astimezone(timezone.utc).date() == day, (fname, rec["created_at"])
        for k in ("platform", "id", "created_at", "author_id", "text"):
            assert isinstance(rec[k], str)
        assert rec["author_handle"].startswith("@")
    for t in truth:
        assert t["lang"] in ("fr", "nl", "en", "de")
        assert t["sentiment"] in ("positive", "neutral", "negative")
        assert t["kind"] in ("normal", "question", "insult", "spam", "copy", "repost", "reply")


def test_lines_sorted_and_zones(corpus):
    out, m = corpus
    bad = {(b["file"], b["line"]) for b in m["bad_lines"]}
    offsets = Counter()
    for path in sorted((out / "import").glob("posts-*.jsonl.gz")):
        prev = None
        for i, line in enumerate(_read_lines(path), 1):
            if (path.name, i) in bad:
                continue
            rec = json.loads(line)
            ts = _ts(rec["created_at"])
            offsets[rec["created_at"][19:]] += 1
            assert prev is None or ts >= prev
            prev = ts
    share = offsets["+01:00"] / sum(offsets.values())
    assert 0.05 < share < 0.15 and offsets["Z"] > 0


def test_language_mix(corpus):
    _, m = corpus
    target = {"fr": 0.45, "nl": 0.35, "en": 0.12, "de": 0.08}
    for lang, share in target.items():
        assert abs(m["languages"][lang] / N - share) < 0.04, (lang, m["languages"])


def test_topics_recomputed_independently(loaded):
    posts, truth, _ = loaded
    by_id = {t["post_id"]: t for t in truth}
    mismatches = []
    for pid, (_, rec) in posts.items():
        got = recompute_topics(rec["text"], rec.get("author_handle"))
        if got != by_id[pid]["topics"]:
            mismatches.append((pid, rec["text"], got, by_id[pid]["topics"]))
    assert not mismatches, mismatches[:5]
    n_none = sum(1 for t in truth if not t["topics"])
    assert 0.12 < n_none / N < 0.30
    assert sum(1 for t in truth if len(t["topics"]) > 1) > 20
    excluded = [rec for _, rec in posts.values()
                if "budget participatif" in norm(rec["text"]) and RX["budget-2027"].search(norm(rec["text"]))]
    assert len(excluded) >= 5


def test_kinds_and_links(loaded):
    posts, truth, _ = loaded
    by_id = {t["post_id"]: t for t in truth}
    kinds = Counter(t["kind"] for t in truth)
    assert 0.06 < kinds["repost"] / N < 0.16
    assert 0.08 < (kinds["reply"] + kinds["question"]) / N < 0.22
    for lang in ("fr", "nl", "en", "de"):
        lk = {t["kind"] for t in truth if t["lang"] == lang}
        assert {"normal", "question", "insult", "spam", "reply", "repost"} <= lk, lang
    native = {(rec["platform"], rec["id"]): rec for _, rec in posts.values()}
    for pid, (_, rec) in posts.items():
        t = by_id[pid]
        if "repost_of" in rec:
            orig = native[(rec["platform"], rec["repost_of"])]
            assert rec["text"] == orig["text"] and t["kind"] == "repost"
            assert _ts(orig["created_at"]) <= _ts(rec["created_at"])
            assert t["topics"] == by_id[f"{rec['platform']}:{rec['repost_of']}"]["topics"]
        if "reply_to" in rec:
            parent = native[(rec["platform"], rec["reply_to"])]
            assert rec["text"].startswith(parent["author_handle"] + " ")
            assert t["kind"] in ("reply", "question", "insult")
        if t["kind"] == "question":
            assert rec["text"].rstrip().endswith("?") and "@parlbxl" in rec["text"].lower()
    reposts = Counter((rec["platform"], rec["repost_of"]) for _, rec in posts.values() if "repost_of" in rec)
    for key, n in reposts.items():
        assert n <= native[key]["repost_count"] + 2


def test_text_variety(loaded):
    posts, truth, _ = loaded
    by_id = {t["post_id"]: t for t in truth}
    texts = [rec["text"] for pid, (_, rec) in posts.items()
             if by_id[pid]["kind"] not in ("copy", "repost")]
    assert len(set(texts)) / len(texts) >= 0.90


def test_followers_heavy_tailed(loaded):
    posts, _, _ = loaded
    followers = {}
    for _, rec in posts.values():
        followers[(rec["platform"], rec["author_id"])] = rec["author_followers"]
    values = sorted(followers.values())
    assert len(values) > 300
    assert max(values) / statistics.median(values) > 100
    assert 50 <= statistics.median(values) <= 600


def _event(m, typ):
    found = [e for e in m["events"] if e["type"] == typ]
    assert len(found) == 1, typ
    return found[0]


def test_volume_burst(corpus, loaded):
    _, m = corpus
    posts, truth, _ = loaded
    ev = _event(m, "volume_burst")
    assert ev["topic"] == "budget-2027" and ev["start"].startswith("2026-11-10")
    by_id = {t["post_id"]: t for t in truth}
    hourly = Counter()
    for pid, (_, rec) in posts.items():
        if "budget-2027" in by_id[pid]["topics"]:
            hourly[_ts(rec["created_at"]).astimezone(timezone.utc).replace(minute=0, second=0)] += 1
    t0 = datetime(2026, 11, 2, tzinfo=timezone.utc)
    all_hours = [hourly.get(t0 + timedelta(hours=h), 0) for h in range(14 * 24)]
    median = max(1, statistics.median(all_hours))
    b0, b1 = _ts(ev["start"]), _ts(ev["end"])
    burst_hours = [hourly.get(b0 + timedelta(hours=h), 0) for h in range(int((b1 - b0).total_seconds() // 3600))]
    assert len(burst_hours) == 4
    assert min(burst_hours) >= 4 * median, (burst_hours, median)


def test_sentiment_drop(corpus, loaded):
    _, m = corpus
    posts, truth, _ = loaded
    ev = _event(m, "sentiment_drop")
    assert ev["topic"] == "climate-bill" and ev["start"].startswith("2026-11-12")
    by_id = {t["post_id"]: t for t in truth}
    per_day = defaultdict(Counter)
    for pid, (fname, _) in posts.items():
        t = by_id[pid]
        if "climate-bill" in t["topics"] and t["kind"] != "copy":
            per_day[fname[6:16]][t["sentiment"]] += 1
    share = {d: c["negative"] / sum(c.values()) for d, c in per_day.items()}
    assert share["2026-11-12"] >= 0.5  # ~0.7 at 20k posts; few posts here
    others = [v for d, v in share.items() if d != "2026-11-12"]
    assert statistics.median(others) < 0.38


def test_new_hashtag(corpus, loaded):
    _, m = corpus
    posts, truth, _ = loaded
    ev = _event(m, "new_hashtag")
    assert ev["hashtag"] == "#BudgetGate"
    by_id = {t["post_id"]: t for t in truth}
    per_day = Counter()
    for pid, (fname, rec) in posts.items():
        if re.search(r"(?<![\w#])#budgetgate(?!\w)", rec["text"].lower()):
            per_day[fname[6:16]] += 1
            assert "budget-2027" in by_id[pid]["topics"]
    assert all(d >= "2026-11-09" for d in per_day)
    assert 1 <= per_day["2026-11-09"] <= 10
    assert per_day["2026-11-15"] > 3 * per_day["2026-11-09"]
    assert per_day["2026-11-15"] + per_day["2026-11-14"] > per_day["2026-11-11"] + per_day["2026-11-12"]
    assert dict(per_day) == ev["daily_posts"]


def test_influential_entry(corpus, loaded):
    _, m = corpus
    posts, truth, _ = loaded
    ev = _event(m, "influential_entry")
    assert ev["author_handle"] == "@actu_bxl" and ev["topic"] == "climate-bill"
    by_id = {t["post_id"]: t for t in truth}
    fname, rec = posts[ev["post_id"]]
    assert fname == "posts-2026-11-11.jsonl.gz"
    assert rec["author_handle"] == "@actu_bxl" and rec["author_followers"] > 100_000
    assert "climate-bill" in by_id[ev["post_id"]]["topics"]
    # never posted about the climate bill before
    before = [pid for pid, (_, r) in posts.items()
              if r["author_handle"] == "@actu_bxl" and _ts(r["created_at"]) < _ts(rec["created_at"])]
    assert before and all("climate-bill" not in by_id[p]["topics"] for p in before)
    reposts = [r for _, r in posts.values() if r.get("repost_of") == rec["id"] and r["platform"] == "x"]
    replies = [r for _, r in posts.values() if r.get("reply_to") == rec["id"] and r["platform"] == "x"]
    assert len(reposts) >= 15 and len(replies) >= 10
    assert len(reposts) <= rec["repost_count"] and len(replies) <= rec["reply_count"]


def test_coordinated_campaign(corpus, loaded):
    _, m = corpus
    posts, truth, _ = loaded
    ev = _event(m, "coordinated_campaign")
    assert ev["topic"] == "climate-bill"
    assert len(ev["post_ids"]) == 40 and len(set(ev["author_ids"])) == 40
    recs = [posts[p][1] for p in ev["post_ids"]]
    times = sorted(_ts(r["created_at"]) for r in recs)
    assert times[-1] - times[0] <= timedelta(hours=1)
    assert times[0].astimezone(timezone.utc).date() == date(2026, 11, 13)
    assert {r["author_id"] for r in recs} == set(ev["author_ids"])
    assert all(r["author_followers"] < 100 for r in recs)
    # accounts are new: they never posted before the campaign
    first = {}
    for _, r in posts.values():
        t = _ts(r["created_at"])
        if r["author_id"] in first:
            first[r["author_id"]] = min(first[r["author_id"]], t)
        else:
            first[r["author_id"]] = t
    assert all(first[a] >= times[0] for a in ev["author_ids"])
    texts = [r["text"] for r in recs]
    assert len(set(texts)) > 20
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            wi, wj = texts[i].split(), texts[j].split()
            assert SequenceMatcher(None, wi, wj).ratio() > 0.6, (texts[i], texts[j])
    by_id = {t["post_id"]: t for t in truth}
    assert all(by_id[p]["kind"] == "copy" and by_id[p]["topics"] == ["climate-bill"] for p in ev["post_ids"])


def test_questions_insults_spam(corpus, loaded):
    _, m = corpus
    _, truth, _ = loaded
    kinds = Counter(t["kind"] for t in truth)
    for typ in ("questions", "insults", "spam"):
        ev = _event(m, typ)
        assert ev["count"] == kinds[typ.rstrip("s") if typ != "spam" else "spam"] > 10
    assert all(t["sentiment"] == "negative" for t in truth if t["kind"] == "insult")


def test_bad_lines(corpus):
    out, m = corpus
    assert len(m["bad_lines"]) == 6
    assert len({b["file"] for b in m["bad_lines"]}) >= 4
    for b in m["bad_lines"]:
        line = _read_lines(out / "import" / b["file"])[b["line"] - 1]
        reason = b["reason"]
        if reason == "not valid JSON":
            with pytest.raises(json.JSONDecodeError):
                json.loads(line)
            continue
        obj = json.loads(line)
        if reason == "JSON array instead of an object":
            assert isinstance(obj, list)
        elif reason == "missing id":
            assert isinstance(obj, dict) and "id" not in obj
        elif reason == "created_at without time zone":
            assert datetime.fromisoformat(obj["created_at"]).tzinfo is None
        elif reason == "negative like_count":
            assert obj["like_count"] < 0
        elif reason == "author_followers is not a number":
            assert isinstance(obj["author_followers"], str) and not obj["author_followers"].isdigit()
        else:
            pytest.fail(reason)


def test_institution_posts(loaded):
    posts, truth, _ = loaded
    by_id = {t["post_id"]: t for t in truth}
    inst = [pid for pid, (_, r) in posts.items() if r["author_handle"].lower() in INSTITUTION_HANDLES]
    assert len(inst) >= 3
    assert all("parlement" in by_id[p]["topics"] for p in inst)


def test_bundled_sample_is_what_the_simulator_makes(tmp_path):
    """include/sample is made by `make sample`: regenerating it gives the same bytes."""
    from conftest import SAMPLE

    manifest = json.loads((SAMPLE / "truth.json").read_text())
    answers = next((e["count"] for e in manifest["events"] if e["type"] == "answers"), None)
    sim.simulate(tmp_path, start=date.fromisoformat(manifest["start"]), days=manifest["days"],
                 posts=manifest["posts"] - (answers or 0), seed=manifest["seed"], answers=answers is not None)
    shipped = sorted(str(p.relative_to(SAMPLE)) for p in SAMPLE.rglob("*") if p.is_file())
    assert shipped == sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    for name in shipped:
        assert (SAMPLE / name).read_bytes() == (tmp_path / name).read_bytes(), f"{name} differs: run `make sample`"


def test_quiet_corpus_has_no_planted_event(tmp_path):
    """events=False: the same kind of traffic, without burst, hashtag, entry, drop or campaign."""
    m = sim.simulate(tmp_path, start=START, days=14, posts=1500, seed=SEED, events=False)
    assert {e["type"] for e in m["events"]} == {"questions", "insults", "spam"}
    assert m["posts"] == 1500
    texts = []
    for path in sorted((tmp_path / "import").glob("posts-*.jsonl.gz")):
        for line in _read_lines(path):
            try:
                texts.append(json.loads(line)["text"])
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    assert texts and not any("#budgetgate" in t.lower() for t in texts)
    truth = [json.loads(x) for x in _read_lines(tmp_path / "truth.jsonl.gz")]
    assert not any(t.get("event") not in (None, "questions", "insults", "spam") for t in truth)


# ---- opt-in answers of the institution ------------------------------------------------
ANS_POSTS, ANS_SEED = 5000, 5


def _load_dir(out, manifest):
    """(day file -> valid lines, post_id -> record, truth lines) of a generated corpus."""
    bad = {(b["file"], b["line"]) for b in manifest["bad_lines"]}
    files, posts = {}, {}
    for path in sorted((out / "import").glob("posts-*.jsonl.gz")):
        files[path.name] = []
        for i, line in enumerate(_read_lines(path), 1):
            if (path.name, i) in bad:
                continue
            files[path.name].append(line)
            rec = json.loads(line)
            pid = f"{rec['platform']}:{rec['id']}"
            assert pid not in posts, f"duplicate id {pid}"
            posts[pid] = rec
    truth = _read_lines(out / "truth.jsonl.gz")
    return files, posts, truth


@pytest.fixture(scope="module")
def answered(tmp_path_factory):
    on = tmp_path_factory.mktemp("answers-on")
    off = tmp_path_factory.mktemp("answers-off")
    m_on = sim.simulate(on, start=START, days=14, posts=ANS_POSTS, seed=ANS_SEED, answers=True)
    m_off = sim.simulate(off, start=START, days=14, posts=ANS_POSTS, seed=ANS_SEED)
    return (on, m_on, _load_dir(on, m_on)), (off, m_off, _load_dir(off, m_off))


def _answers_event(m):
    ev = [e for e in m["events"] if e["id"] == "answers"]
    assert len(ev) == 1 and ev[0]["type"] == "answers"
    return ev[0]


def test_answers_off_by_default(answered):
    _, (_, m_off, _) = answered
    assert not any(e["id"] == "answers" for e in m_off["events"])
    assert m_off["posts"] == ANS_POSTS


def test_answers_leave_other_posts_identical(answered):
    """The answers' randomness is separate: every other line and truth line is unchanged."""
    (on, m_on, (files_on, _, truth_on)), (off, m_off, (files_off, _, truth_off)) = answered
    answer_ids = {json.loads(t)["post_id"] for t in truth_on if json.loads(t)["kind"] == "answer"}
    assert answer_ids
    assert files_on.keys() == files_off.keys()
    for name, lines in files_on.items():
        kept = [x for x in lines
                if "{platform}:{id}".format(**json.loads(x)) not in answer_ids]
        assert kept == files_off[name], name
    assert [t for t in truth_on if json.loads(t)["post_id"] not in answer_ids] == truth_off
    # malformed lines: the same texts with the same reasons (their line numbers may shift)
    def bad_lines(out, m):
        return [(b["file"], b["reason"], _read_lines(out / "import" / b["file"])[b["line"] - 1])
                for b in m["bad_lines"]]
    assert bad_lines(on, m_on) == bad_lines(off, m_off)
    assert m_on["posts"] == ANS_POSTS + len(answer_ids) == len(truth_on)
    assert _answers_event(m_on)["count"] == len(answer_ids)
    # the other events are the same
    assert [e for e in m_on["events"] if e["id"] != "answers"] == m_off["events"]


def test_answers_follow_the_import_rules(answered):
    (on, m_on, (files, posts, truth)), _ = answered
    assert json.loads((on / "truth.json").read_text()) == m_on
    assert set(json.loads(t)["post_id"] for t in truth) == set(posts)
    for name, lines in files.items():
        day = date.fromisoformat(name[len("posts-"):-len(".jsonl.gz")])
        prev = None
        for line in lines:
            rec = json.loads(line)
            ts = _ts(rec["created_at"])
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|\+0[12]:00)", rec["created_at"])
            assert ts.astimezone(timezone.utc).date() == day
            assert prev is None or ts >= prev, (name, rec["created_at"])
            prev = ts
    for t in map(json.loads, truth):
        if t["kind"] == "answer":
            rec = posts[t["post_id"]]
            assert t["topics"] == sim.topics_of(rec["text"], rec["author_handle"])
            assert "parlement" in t["topics"] and t["event"] == "answers"
            for k in ("platform", "id", "url", "created_at", "author_id", "author_handle", "text"):
                assert isinstance(rec[k], str) and rec[k]
            for k in ("author_followers", "like_count", "repost_count", "reply_count", "quote_count"):
                assert isinstance(rec[k], int) and rec[k] >= 0
    assert sum(m_on["languages"].values()) == m_on["posts"]


def test_answers_reply_to_their_question(answered):
    (_, m_on, (_, posts, truth)), _ = answered
    truth = [json.loads(t) for t in truth]
    kinds = {t["post_id"]: t for t in truth}
    questions = {t["post_id"] for t in truth if t["kind"] == "question"}
    ev = _answers_event(m_on)
    qs = ev["questions"]
    assert set(qs) == questions
    # the institution's account per platform, as it appears on its other posts
    inst_ids = defaultdict(set)
    for pid, rec in posts.items():
        if rec["author_handle"].lower() in INSTITUTION_HANDLES and kinds[pid]["kind"] != "answer":
            inst_ids[rec["platform"]].add((rec["author_id"], rec["author_handle"]))
    answers_of = defaultdict(list)
    for pid, rec in posts.items():
        if kinds[pid]["kind"] == "answer":
            answers_of[f"{rec['platform']}:{rec['reply_to']}"].append(pid)
    assert set(answers_of) <= questions
    status = Counter()
    for qid, e in qs.items():
        assert set(e) == {"platform", "created_at", "status", "answer_id", "answered_at", "delay_hours"}
        q = posts[qid]
        assert e["platform"] == q["platform"] == qid.split(":")[0]
        assert _ts(e["created_at"]) == _ts(q["created_at"])
        status[e["status"]] += 1
        if e["platform"] not in sim.INSTITUTION:
            assert e["status"] == "unknown"
        else:
            assert e["status"] in ("answered", "unanswered")
        if e["status"] != "answered":
            assert e["answer_id"] is e["answered_at"] is e["delay_hours"] is None
            assert qid not in answers_of
            continue
        assert answers_of[qid] == [e["answer_id"]]
        a = posts[e["answer_id"]]
        assert a["platform"] == q["platform"] and a["reply_to"] == q["id"]
        assert a["author_handle"] == sim.INSTITUTION[a["platform"]]
        assert inst_ids[a["platform"]] == {(a["author_id"], a["author_handle"])}
        assert _ts(a["created_at"]) == _ts(e["answered_at"]) > _ts(q["created_at"])
        delay = (_ts(e["answered_at"]) - _ts(e["created_at"])).total_seconds() / 3600
        assert abs(delay - e["delay_hours"]) < 1e-3
        assert kinds[e["answer_id"]]["lang"] == kinds[qid]["lang"]
        assert a["text"].startswith(q["author_handle"] + " ")
    assert status == Counter(ev["status_counts"]) - Counter()
    assert status["answered"] == ev["count"] == sum(len(v) for v in answers_of.values())


def _category(e):
    if e["status"] != "answered":
        return e["status"]
    d = e["delay_hours"]
    return "<24h" if d < 24 else "24-48h" if d < 48 else ">48h"


def test_answer_delay_categories(answered):
    (_, m_on, _), _ = answered
    qs = _answers_event(m_on)["questions"]
    cats = Counter(_category(e) for e in qs.values())
    assert set(cats) == {"<24h", "24-48h", ">48h", "unanswered", "unknown"}, cats
    assert all(0 < e["delay_hours"] <= 96 for e in qs.values() if e["status"] == "answered")
    # a question whose answer would fall after the last day is unanswered in truth
    last = _ts(m_on["end"] + "T00:00:00Z") + timedelta(days=1)
    assert all(_ts(e["answered_at"]) < last for e in qs.values() if e["status"] == "answered")
    known = [e for e in qs.values() if e["platform"] in sim.INSTITUTION]
    within = sum(_category(e) == "<24h" for e in known) / len(known)
    assert 0.25 < within < 0.6, cats
    assert not any(e["platform"] in sim.INSTITUTION for e in qs.values() if e["status"] == "unknown")


def test_answers_cli_flag(tmp_path):
    sim.main([str(tmp_path), "--days", "3", "--posts", "600", "--seed", "3", "--answers"])
    m = json.loads((tmp_path / "truth.json").read_text())
    ev = _answers_event(m)
    assert m["posts"] == 600 + ev["count"]
