"""Exact duplicates, reposts and near-duplicate clusters (listening.dedupe)."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st
from listening import dedupe

T0 = datetime(2026, 11, 13, 18, 0, tzinfo=UTC)
BASE = "L'ordonnance climat va ruiner les familles bruxelloises. Stop à cette folie !"
OTHER = [
    "Le budget régional 2027 sera voté jeudi en séance plénière, après deux semaines de débat.",
    "Ik vind het verslag van de commissie mobiliteit bijzonder zwak, de cijfers kloppen niet.",
    "The climate bill goes to a second reading next week; the amendments are online.",
    "Die Sitzung im Parlament war heute öffentlich, aber kaum jemand war da.",
    "Quelqu'un sait à quelle heure commence la commission des finances demain ?",
]


def run(texts, authors=None, repost_of=None, minutes=None, ids=None):
    n = len(texts)
    ids = ids or [f"x:{i}" for i in range(n)]
    minutes = minutes if minutes is not None else list(range(n))
    out = dedupe.clusters(ids, texts, [T0 + timedelta(minutes=m) for m in minutes],
                          authors or [f"a{i}" for i in range(n)], repost_of or [None] * n)
    return pd.DataFrame(out, index=ids)


def orig(df: pd.DataFrame) -> list[str | None]:
    return [None if pd.isna(v) else v for v in df["original_id"]]


def test_identical_texts_fold_onto_the_earliest():
    df = run([BASE, OTHER[0], BASE, BASE], minutes=[5, 0, 1, 9])
    assert df.loc["x:0", "original_id"] == "x:2" and df.loc["x:3", "original_id"] == "x:2"
    assert pd.isna(df.loc["x:2", "original_id"]) and pd.isna(df.loc["x:1", "original_id"])
    assert set(df.loc[["x:0", "x:2", "x:3"], "cluster_id"]) == {"x:2"}
    assert df.loc["x:2", "cluster_size"] == 3 and df.loc["x:1", "cluster_size"] == 1
    assert df.loc["x:1", "cluster_id"] == "x:1"


def test_what_a_campaign_varies_is_ignored():
    variants = [BASE + " #ClimatBXL @depute1 😡", BASE.upper() + " https://t.co/abc 🤬",
                BASE.replace("à", "a") + " @depute22", BASE + " 2026"]
    df = run(variants)
    assert df["cluster_size"].tolist() == [4] * 4
    assert orig(df) == [None, "x:0", "x:0", "x:0"]  # equal once normalised


def test_small_edits_cluster_and_different_texts_do_not():
    edits = [BASE, BASE.replace("ruiner", "appauvrir"), BASE.replace("Stop", "Non"),
             BASE.replace("les familles bruxelloises", "les ménages bruxellois")]
    df = run(edits + OTHER)
    assert df["cluster_id"].iloc[:4].tolist() == ["x:0"] * 4
    assert df["cluster_size"].iloc[:4].tolist() == [4] * 4
    assert df["original_id"].iloc[1:4].isna().all()  # near, not exact: no original
    assert (df["cluster_size"].iloc[4:] == 1).all()
    assert df["cluster_id"].iloc[4:].tolist() == [f"x:{i}" for i in range(4, 9)]


def test_reposts_fold_onto_their_original_even_without_text():
    df = run([OTHER[0], OTHER[0], "", OTHER[1], OTHER[1]], authors=["a", "b", "c", "d", "e"],
             repost_of=[None, "x:0", "x:0", "x:99", "x:99"])
    assert orig(df) == [None, "x:0", "x:0", "x:99", "x:99"]
    assert df["cluster_id"].tolist() == ["x:0", "x:0", "x:0", "x:3", "x:3"]
    assert df["cluster_size"].tolist() == [3, 3, 3, 2, 2]


def test_campaign_size_and_authors():
    rng = random.Random(3)
    n, m = 60, 25
    verbs = ["ruiner", "appauvrir", "étrangler", "plomber", "saigner"]
    texts = [BASE.replace("ruiner", rng.choice(verbs)) + f" {rng.choice('😡🤬👎')} #ClimatBXL @mp{rng.randrange(9)}"
             for _ in range(n)]
    df = run(texts + OTHER, authors=[f"bot{i % m}" for i in range(n)] + [f"p{i}" for i in range(5)])
    assert (df["cluster_size"].iloc[:n] == n).all() and (df["cluster_authors"].iloc[:n] == m).all()
    assert (df["cluster_size"].iloc[n:] == 1).all()


def test_short_texts_fold_only_when_equal():
    df = run(["Merci !", "merci", "Merci @alice", "Merci @bob", "Bravo", "", ""])
    assert df["cluster_size"].tolist() == [2, 2, 1, 1, 1, 1, 1]
    assert df.loc["x:1", "original_id"] == "x:0"


def test_no_posts():
    out = dedupe.clusters([], [], [], [], [])
    assert all(len(v) == 0 for v in out.values())


def test_leaders_do_not_chain_unrelated_texts():
    # each text shares half its words with the next: single-link would make one cluster of 12
    words = ["".join(random.Random(i).choices("abcdefghijklmnopqrstuvwxyz", k=6)) for i in range(40)]
    chain = [" ".join(words[2 * i: 2 * i + 8]) for i in range(12)]
    df = run(chain)
    assert df["cluster_size"].max() < 12


def test_signatures_are_datasketch_minhash():
    texts = [dedupe.normalise([BASE])[0], "abc", "un texte assez long pour quelques shingles"]
    sig = dedupe.signatures(texts)
    for t, s in zip(texts, sig):
        m = MinHash(num_perm=dedupe.NUM_PERM, seed=dedupe.SEED, scheme="affine32", hashfunc=lambda x: x)
        m.update_batch([dedupe.shingle_hash(t[i:i + 5]) for i in range(max(1, len(t) - 4))])
        assert np.array_equal(m.hashvalues, s)


def test_numpy_bands_give_the_datasketch_lsh_result():
    rng = random.Random(1)
    texts = []
    for k in range(40):
        words = BASE.split() if k % 3 else OTHER[k % 5].split()
        words[rng.randrange(len(words))] = rng.choice(["vraiment", "zeer", "really", "sehr"])
        texts.append(" ".join(words) + f" {k}")
    distinct = list(dict.fromkeys(dedupe.normalise(texts)))
    a = dedupe.near_duplicate_labels(distinct, index="numpy")
    b = dedupe.near_duplicate_labels(distinct, index="datasketch")
    assert np.array_equal(a, b) and len(set(a)) < len(distinct)


TEXTS = st.sampled_from([BASE, BASE.replace("ruiner", "plomber"), BASE + " @x #y", OTHER[0], OTHER[1],
                         OTHER[2] + " https://a.b/c", "Merci !", "merci", ""])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(TEXTS, st.integers(0, 5), st.integers(0, 30), st.booleans()), min_size=1, max_size=25),
       st.randoms())
def test_same_result_in_any_order(posts, rnd):
    n = len(posts)
    ids = [f"x:{i}" for i in range(n)]
    texts = [p[0] for p in posts]
    authors = [f"a{p[1]}" for p in posts]
    minutes = [p[2] for p in posts]  # ties on time are broken by post id
    reposts = [f"x:{(i * 7) % n}" if p[3] and (i * 7) % n != i else None for i, p in enumerate(posts)]
    ref = run(texts, authors, reposts, minutes, ids)
    perm = list(range(n))
    rnd.shuffle(perm)
    shuffled = run([texts[i] for i in perm], [authors[i] for i in perm], [reposts[i] for i in perm],
                   [minutes[i] for i in perm], [ids[i] for i in perm])
    pd.testing.assert_frame_equal(ref, shuffled.loc[ref.index])


def test_pandas_columns_with_missing_values():
    df = pd.DataFrame({"id": ["x:0", "x:1", "x:2"], "text": [OTHER[0], OTHER[1], OTHER[0]],
                       "t": pd.to_datetime(["2026-11-13T08:00Z", "2026-11-13T09:00Z", "2026-11-13T10:00Z"]),
                       "author": ["a", None, "c"], "repost_of": [None, None, "x:0"]}).convert_dtypes()
    out = dedupe.clusters(df["id"], df["text"], df["t"], df["author"], df["repost_of"])
    assert list(out["cluster_size"]) == [2, 1, 2] and list(out["cluster_authors"]) == [2, 0, 2]
    assert [None if pd.isna(v) else v for v in out["original_id"]] == [None, None, "x:0"]


def test_shingles_of_a_batch_shorter_than_a_shingle():
    # 2 to 4 characters in the whole batch: fewer than one full window (it raised before)
    for texts in (["ok"], ["lol"], ["x x"], ["x", "y"], ["x"], [""]):
        hv, starts = dedupe.shingle_hashes(texts)
        assert list(np.diff(starts)) == [1 if t else 0 for t in texts]
    assert dedupe.shingle_hashes(["ok"])[0][0] == dedupe.shingle_hashes(["ok", "hello world"])[0][0]


def _mixed_posts():
    """Near and exact duplicates, short texts, an empty one, a repost of a post of the day and of an
    absent one, a post without author, times out of order: (texts, ids, times, authors, reposts)."""
    texts = [BASE, BASE + " @x", OTHER[0], "Merci !", "merci", "", OTHER[1], BASE.replace("Stop", "Non"), OTHER[0]]
    n = len(texts)
    ids = [f"x:{i}" for i in range(n)]
    times = [T0 + timedelta(minutes=(7 * i) % 5) for i in range(n)]
    authors = ["a", "b", None, "a", "c", "d", "b", "e", "f"]
    reposts = [None, None, None, None, None, "x:2", "x:99", None, "x:99"]
    return texts, ids, times, authors, reposts


def test_arrow_columns_give_the_result_of_lists():
    # merge_mentions passes Arrow columns and datetime64 times: the same clusters as from lists
    import pyarrow as pa

    texts, ids, times, authors, reposts = _mixed_posts()
    ref = dedupe.clusters(ids, texts, times, authors, reposts)
    arrow = pa.table({"id": ids, "text": texts, "t": pa.array(times, pa.timestamp("us", "UTC")),
                      "author": authors, "repost_of": reposts})
    out = dedupe.clusters(arrow["id"], arrow["text"], arrow["t"].to_numpy(), arrow["author"], arrow["repost_of"],
                          normalised=dedupe.normalise(arrow["text"]))
    assert ref["cluster_size"].tolist() == [3, 3, 4, 2, 2, 4, 4, 3, 4]
    for k in ref:
        assert ref[k].dtype == out[k].dtype and ref[k].tolist() == out[k].tolist(), k


def test_text_keys_fold_what_clusters_fold_at_fixed_width():
    # what an enrich shard keeps of each text for the merge: equal keys for texts that are exact
    # duplicates once normalised, a short text keyed on its light folding, none for an empty one
    texts = [BASE, BASE.upper() + " #x https://t.co/a 2026", "Merci !", "merci", "merci @a", "", None, OTHER[0]]
    k = dedupe.text_keys(texts)
    assert k["key"].dtype == np.uint64 and len(k["key"]) == len(texts)
    assert k["key"][0] == k["key"][1] and k["key"][2] == k["key"][3] != k["key"][4]
    assert k["has_key"].tolist() == [True] * 5 + [False, False, True]
    assert k["long"].tolist() == [True, True, False, False, False, False, False, True]
    assert len(set(k["key"][[0, 2, 4, 7]].tolist())) == 4
    assert k["norm_len"].tolist() == [len(t) for t in dedupe.normalise(texts)]


def test_clusters_from_keys_and_signatures_made_apart():
    # the merge of a sharded day: keys and signatures computed in the shards, looked up by key
    import pyarrow as pa

    texts, ids, times, authors, reposts = _mixed_posts()
    ref = dedupe.clusters(ids, texts, times, authors, reposts)
    norm = dedupe.normalise(texts)
    keys = dedupe.text_keys(texts, norm)
    by_key = {int(key): sig for key, sig in zip(keys["key"], dedupe.signatures(norm))}
    asked = []

    def sign(rows):
        asked.append(list(rows))
        return np.array([by_key[int(keys["key"][r])] for r in rows])

    out = dedupe.clusters_by_key(pa.array(ids), times, authors, reposts, keys, sign)
    for c in ref:
        assert ref[c].tolist() == out[c].tolist(), c
    # one signature per distinct long text, the earliest post's: not one per post
    assert len(asked) == 1 and len(asked[0]) == len({norm[r] for r in asked[0]}) == 4


def test_a_day_with_no_author_known():
    # every author erased or missing: the clusters still form, with no author counted
    texts = [BASE, BASE + " @x", OTHER[0]]
    times = [T0 + timedelta(minutes=m) for m in (0, 1, 2)]
    out = dedupe.clusters(["x:0", "x:1", "x:2"], texts, times, [None, None, None])
    assert out["cluster_size"].tolist() == [2, 2, 1] and out["cluster_authors"].tolist() == [0, 0, 0]
