"""Throughput and peak memory of dedupe.clusters and authenticity.bot_scores on simulator days,
next to datasketch alone doing the same MinHash + LSH work.

    PYTHONPATH=plugins .venv/bin/python bench/bench_dedupe.py [--sizes 100000 1000000] [--baseline 20000]

Corpora are simulated once (one UTC day of N posts, seed 7) and cached under bench/.cache. The
datasketch baseline (MinHash.bulk with its default hash + MinHashLSH insert and query of every
post's normalised text) runs on the first --baseline posts only, as it is too slow for a million;
its posts/s is the figure compared. Single process: posts/s is per core.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "plugins"))

from listening import authenticity, dedupe
from listening.simulate import simulate
from listening.sources.files import read_day

DAY = date(2026, 11, 2)
COLS = ["post_id", "created_at", "author_id", "platform", "author_handle", "author_followers", "text", "repost_of"]


def corpus(n: int) -> pd.DataFrame:
    cache = HERE / ".cache" / f"sim-{n}"
    table = cache / "day.parquet"
    if not table.exists():
        if not (cache / "import").exists():
            simulate(cache, DAY, 1, n, 7)
        rows, _ = read_day(cache / "import", DAY)
        pd.DataFrame([{k: r[k] for k in COLS} for r in rows]).to_parquet(table)
    df = pd.read_parquet(table)
    df["author_key"] = df["platform"] + ":" + df["author_id"]
    return df


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(fn):
    """(seconds, peak extra RSS in bytes, result): RSS sampled every 5 ms in a thread."""
    base, peak, done = rss(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.005)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    done.set()
    th.join()
    return dt, max(0, max(peak[0], rss()) - base), out


def datasketch_alone(texts: list[str], threshold: float = 0.5, num_perm: int = dedupe.NUM_PERM) -> int:
    """The textbook way: normalise, shingle, MinHash.bulk, insert every post into MinHashLSH, query it."""
    from datasketch import MinHash, MinHashLSH

    norm = dedupe.normalise(texts)
    shingles = [[s[i:i + 5].encode() for i in range(max(1, len(s) - 4))] for s in norm]
    sigs = MinHash.bulk(shingles, num_perm=num_perm)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for i, m in enumerate(sigs):
        lsh.insert(i, m, check_duplication=False)
    return sum(len(lsh.query(m)) for m in sigs)


def run(n: int, baseline: int) -> None:
    df = corpus(n)
    ids, texts, times = df["post_id"].tolist(), df["text"].tolist(), df["created_at"]
    authors = df["author_key"].tolist()
    reposts = [None if pd.isna(r) else r for r in df["repost_of"]]
    dedupe.lsh_params(0.5, dedupe.NUM_PERM)  # found once per process, not part of the work
    dedupe.permutations(dedupe.NUM_PERM)
    dt, mem, c = measure(lambda: dedupe.clusters(ids, texts, times, authors, reposts))
    k = min(baseline, n)
    bdt, bmem, _ = measure(lambda: datasketch_alone(texts[:k]))
    ours, theirs = n / dt, k / bdt
    print(f"| {n:,} | dedupe.clusters | {dt:.1f} | {ours:,.0f} | {mem / 2**20:,.0f} MiB | {ours / theirs:.0f}x |")
    print(f"| {k:,} | datasketch alone (MinHash.bulk + MinHashLSH insert/query) | {bdt:.1f} | {theirs:,.0f} "
          f"| {bmem / 2**20:,.0f} MiB | 1x |")
    sizes = c["cluster_size"]
    print(f"|  | clusters: {len(set(c['cluster_id'])):,}, posts in a cluster of 2+: {(sizes > 1).mean():.0%}, "
          f"largest {sizes.max():,} | | | | |")
    dt, mem, _ = measure(lambda: authenticity.bot_scores(
        authors, times, texts, None, c["cluster_size"], [r is not None for r in reposts],
        handles=df["author_handle"].tolist(), cluster_ids=c["cluster_id"],
        followers=df["author_followers"].tolist()))
    print(f"| {n:,} | authenticity.bot_scores | {dt:.1f} | {n / dt:,.0f} | {mem / 2**20:,.0f} MiB | |")
    sys.stdout.flush()



def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--baseline", type=int, default=20_000)
    a = ap.parse_args()
    print("| posts | step | seconds | posts/s | peak extra RSS | vs datasketch alone |")
    print("|---:|---|---:|---:|---:|---:|")
    for n in a.sizes:
        run(n, a.baseline)

if __name__ == "__main__":
    main()
