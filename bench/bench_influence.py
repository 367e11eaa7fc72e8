"""Influence scoring at scale: our PageRank and the whole `influence.score` beside networkx's
PageRank on the same graph, in the same run.

    PYTHONPATH=plugins .venv/bin/python bench/bench_influence.py [--posts 1150000] [--authors 200000]

The data is synthetic and seeded: `--posts` posts by `--authors` accounts (activity and
popularity both Zipf-like, over 7 days, one topic), each post reposting, replying to, quoting
an earlier post or mentioning an account. With the defaults the interaction graph has about
1 million edges (distinct author pairs; the exact count is printed) among 200,000 accounts. Each measurement runs in its own
process: time is wall clock of the call, memory is the peak RSS of that process during the
call above its RSS just before it (Linux's VmHWM, reset before the call through
/proc/self/clear_refs; elsewhere `resource.getrusage`, which also counts imports), so neither
imports nor the loading of the inputs are counted.
networkx is measured with its default tolerance (stops when the L1 change < N x 1e-6) and
ours both with its default (L1 change < 1e-9) and with networkx's rule.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))

from listening import influence

DAY = date(2026, 11, 15)


def _zipf(rng: np.random.Generator, n_items: int, size: int, a: float = 1.1) -> np.ndarray:
    """Item indices with a Zipf-like (power law) popularity, item 0 the most popular."""
    w = 1.0 / np.arange(1, n_items + 1) ** a
    return rng.choice(n_items, size=size, p=w / w.sum())


def make_data(out: Path, posts: int, authors: int, seed: int = 1, days: int = 7) -> dict:
    """Write mentions.parquet (for score) and graph.npz (the author graph score builds, for the
    PageRank-only comparison)."""
    rng = np.random.default_rng(seed)
    n = posts
    perm = rng.permutation(authors)                      # popularity not tied to the key order
    author = perm[_zipf(rng, authors, n, 0.8)]
    followers = np.minimum(3_000_000, rng.lognormal(np.log(180), 2.0, authors)).astype(np.int64)
    end = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC) + timedelta(days=1)
    age_s = np.sort(rng.uniform(1, days * 86400 - 1, n))[::-1]         # post i is older than post i+1
    created = (np.datetime64(end.replace(tzinfo=None), "us") - (age_s * 1e6).astype("timedelta64[us]"))
    kind = rng.choice(4, size=n, p=[0.40, 0.25, 0.10, 0.25])            # repost, reply, quote, mention
    # parent: an earlier post, drawn so that the posts of popular authors are picked more often
    target_author = perm[_zipf(rng, authors, n, 1.0)]
    parent = np.full(n, -1, dtype=np.int64)
    first_post = np.full(authors, -1, dtype=np.int64)
    order = np.arange(n)
    first_post[author[::-1]] = order[::-1]                               # earliest post of each author
    linked = kind < 3
    cand = first_post[target_author]
    ok = linked & (cand >= 0) & (cand < order)
    parent[ok] = cand[ok]
    # posts whose drawn parent does not exist yet point at a random earlier post instead
    fallback = linked & ~ok & (order > 0)
    parent[fallback] = (rng.random(fallback.sum()) * order[fallback]).astype(np.int64)
    pid = np.char.add("x:", np.arange(n).astype(str))
    akey = np.char.add("a", author.astype(str))

    def link(k: int) -> pa.Array:
        m = (kind == k) & (parent >= 0)
        vals = np.where(m, pid[np.maximum(parent, 0)], None)
        return pa.array(vals, pa.string())

    mention = kind == 3
    m_vals = np.char.add("a", target_author[mention].astype(str))
    m_offsets = np.concatenate([[0], np.cumsum(mention.astype(np.int32))]).astype(np.int32)
    likes = rng.poisson(np.sqrt(followers[author]) * 0.3)
    t = pa.table({
        "post_id": pid, "platform": np.full(n, "x"), "created_at": pa.array(created, pa.timestamp("us", tz="UTC")),
        "author_key": akey, "author_followers": followers[author],
        "author_role": pa.nulls(n, pa.string()),
        "topics": pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32)), pa.array(np.full(n, "t"))),
        "reply_to": link(1), "repost_of": link(0), "quote_of": link(2),
        "like_count": likes, "repost_count": likes // 5, "reply_count": likes // 10, "quote_count": likes // 30,
        "mentioned_keys": pa.ListArray.from_arrays(pa.array(m_offsets), pa.array(m_vals, pa.string())),
        "cluster_size": np.ones(n, np.int32), "cluster_authors": np.ones(n, np.int32),
        "bot_score": rng.beta(1, 12, n).astype(np.float32),
    })
    pq.write_table(t, out / "mentions.parquet")
    # the graph score builds: post author -> parent's author or mentioned account, self-loops aside
    dst = np.where(mention, target_author, author[np.maximum(parent, 0)])
    valid = (mention | (parent >= 0)) & (dst != author)
    src, dst = author[valid], dst[valid]
    pairs, weight = np.unique(src.astype(np.int64) * authors + dst, return_counts=True)
    np.savez(out / "graph.npz", src=pairs // authors, dst=pairs % authors, weight=weight.astype(float), n=authors)
    return {"posts": n, "authors": len(np.unique(author)), "graph_nodes": authors,
            "graph_edges": len(pairs)}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _reset_peak() -> bool:
    """Start the peak RSS afresh (Linux: VmHWM), so imports and input loading are not counted."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_mb(reset: bool) -> float:
    if reset:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # since the process started


def _warm_up(job: str) -> None:
    """Run the code once on a toy input, so lazy imports and caches are not measured."""
    src, dst, w = np.array([0, 1, 2]), np.array([1, 2, 0]), np.ones(3)
    if job == "networkx":
        import networkx as nx
        g = nx.DiGraph()
        g.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), w.tolist()))
        nx.pagerank(g)
    elif job == "score":
        with tempfile.TemporaryDirectory() as tmp:
            make_data(Path(tmp), 200, 50)
            influence.score(pq.read_table(Path(tmp) / "mentions.parquet"), DAY, windows=(7,))
    else:
        influence.pagerank(src, dst, w, 3)


def run_job(job: str, data: Path) -> dict:
    """One measurement in the current process."""
    if job == "score":
        import pyarrow.parquet as pq_
        arg = pq_.read_table(data / "mentions.parquet")
    else:
        g = np.load(data / "graph.npz")
        arg = (g["src"], g["dst"], g["weight"], int(g["n"]))
        if job == "networkx":
            import networkx as nx
    _warm_up(job)
    gc.collect()
    base = _rss_mb()
    reset = _reset_peak()
    t0 = time.perf_counter()
    extra: dict = {}
    if job == "score":
        res = influence.score(arg, DAY, windows=(7,))
        extra["rows"] = res.num_rows
    elif job == "pagerank":
        res = influence.pagerank(*arg)
    elif job == "pagerank_nxrule":
        res = influence.pagerank(*arg, tol=arg[3] * 1e-6)
    elif job == "networkx":
        import networkx as nx
        src, dst, w, n = arg
        g = nx.DiGraph()
        g.add_nodes_from(range(n))
        g.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), w.tolist()))
        extra["build_s"] = time.perf_counter() - t0
        pr = nx.pagerank(g, alpha=influence.DAMPING, weight="weight")
        res = np.array([pr[i] for i in range(n)])
    else:
        raise ValueError(job)
    wall = time.perf_counter() - t0
    peak = _peak_mb(reset)
    if job != "score":
        np.save(data / f"pr_{job}.npy", res)
    return {"job": job, "wall_s": wall, "peak_mb": max(0.0, peak - base), **extra}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--posts", type=int, default=1_150_000)
    ap.add_argument("--authors", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.job:                                   # child process: one measurement, JSON on stdout
        print(json.dumps(run_job(a.job, Path(a.data))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        t0 = time.perf_counter()
        info = make_data(data, a.posts, a.authors, a.seed)
        print(f"data: {info} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        env = {**os.environ, "PYTHONPATH": str(REPO / "plugins")}
        res = {}
        for job in ("pagerank", "pagerank_nxrule", "networkx", "score"):
            out = subprocess.run([sys.executable, __file__, "--job", job, "--data", str(data)], env=env,
                                 capture_output=True, text=True, check=True)
            res[job] = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{job}: {res[job]}", file=sys.stderr)
        ours, ref = np.load(data / "pr_pagerank.npy"), np.load(data / "pr_networkx.npy")
        loose = np.load(data / "pr_pagerank_nxrule.npy")
    nx_ = res["networkx"]
    nx_pr_only = nx_["wall_s"] - nx_["build_s"]
    print(f"\nGraph: {info['graph_edges']:,} edges (distinct author pairs) among {info['graph_nodes']:,} accounts; "
          f"{info['posts']:,} posts by {info['authors']:,} authors for `score`.\n")
    print("| what | time (s) | vs networkx.pagerank | peak memory (MB) | vs networkx |")
    print("|---|---:|---:|---:|---:|")
    rows = [("networkx.pagerank (graph build + PageRank)", nx_["wall_s"], nx_["peak_mb"]),
            ("networkx.pagerank alone (graph already built)", nx_pr_only, None),
            ("influence.pagerank (L1 change < 1e-9)", res["pagerank"]["wall_s"], res["pagerank"]["peak_mb"]),
            ("influence.pagerank (networkx's stop rule)", res["pagerank_nxrule"]["wall_s"],
             res["pagerank_nxrule"]["peak_mb"]),
            (f"influence.score, whole (7-day window, {res['score']['rows']:,} rows out)", res["score"]["wall_s"],
             res["score"]["peak_mb"])]
    for name, wall, mem in rows:
        mem_s = f"{mem:,.0f}" if mem is not None else "–"
        ratio_m = f"{mem / nx_['peak_mb']:.2f}" if mem is not None and nx_["peak_mb"] > 0 else "–"
        print(f"| {name} | {wall:.2f} | {wall / nx_['wall_s']:.2f} | {mem_s} | {ratio_m} |")
    print(f"\nLargest difference from networkx's PageRank: {np.abs(ours - ref).max():.1e} (our default), "
          f"{np.abs(loose - ref).max():.1e} (networkx's stop rule); values are around 1/N = {1 / len(ref):.1e}.")


if __name__ == "__main__":
    main()
