"""Topic matching speed: posts matched per second against 200 topics of 10 queries each,
beside a bare-regex baseline in the same run.

    .venv/bin/python bench/bench_match.py [--topics 200] [--queries 10] [--posts 20000]

Posts are the bundled sample (include/sample/import), cleaned as the pipeline does, repeated
to --posts. Topics are generated from a seeded vocabulary: each query mixes phrases, words,
wildcards, hashtags, NEAR, NOT and filters. The baseline is what a bare `re` solution costs:
one alternation regex per topic over the folded text (the topic's words and phrases, no
NEAR, NOT, hashtags or filters), searched for every topic and post — so it does less work
than the matcher and tells how much the query language costs on top.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))

from listening.clean import clean_text, fold, hashtags, mentions  # noqa: E402
from listening.config import Watchlists  # noqa: E402
from listening.queries import Matcher  # noqa: E402

WORDS = ("budget régional parlement ordonnance climat klimaat begroting gewest vote stemming "
         "commission commissie bruxelles brussel mobilité mobiliteit logement huisvesting emploi "
         "werk santé gezondheid école school transport tram métro bus vélo fiets parking "
         "energie énergie rénovation renovatie loyer huur taxe belasting prime premie "
         "citoyen burger panel débat debat ministre minister députée parlementaire amendement "
         "haushalt gesetz klima wohnung regional council city housing climate bill").split()


def sample_posts(n: int) -> list[tuple]:
    from listening.sources.files import records

    rows = []
    for r in records(REPO / "include" / "sample" / "import"):
        t = clean_text(r["text"])
        rows.append((t, hashtags(t), mentions(t), r.get("author_handle"), r.get("lang"), r.get("platform")))
    return (rows * (n // len(rows) + 1))[:n]


def make_query(rng: random.Random) -> tuple[str, list[str]]:
    """A query and the words/phrases a bare regex would look for."""
    w = lambda: rng.choice(WORDS)  # noqa: E731
    kind = rng.randrange(6)
    if kind == 0:
        a, b = w(), w()
        return f'"{a} {b}" OR {w()}*', [f"{a} {b}", "*"]
    if kind == 1:
        a, b = w(), w()
        return f"{a} NEAR/3 ({b} OR {w()})", [a]
    if kind == 2:
        a = w()
        return f"{a} {w()} -{w()}", [a]
    if kind == 3:
        a = w()
        return f"#{a.capitalize()}BXL OR {a} lang:fr", [a]
    if kind == 4:
        a, b = w(), w()
        return f'("{a} {b}" OR {w()}) NOT author:@spam{rng.randrange(99)}', [f"{a} {b}"]
    a = w()
    return f"{a}* platform:x OR @acct{rng.randrange(500)}", [a]


def build(topics: int, queries: int, seed: int = 1):
    rng = random.Random(seed)
    specs, baseline = [], []
    for i in range(topics):
        qs, terms = [], []
        for _ in range(queries):
            q, t = make_query(rng)
            qs.append(q)
            terms += [x for x in t if x != "*"]
        specs.append({"name": f"t{i:03d}", "label": "T", "languages": ["fr"], "team": "t", "queries": qs})
        alts = "|".join(sorted({re.escape(fold(x)).replace(r"\ ", r"\s+") for x in terms}, key=len, reverse=True))
        baseline.append(re.compile(rf"(?<![^\W_])(?:{alts})(?![^\W_])"))
    wl = Watchlists.model_validate({"institution": {"name": "B"},
                                    "teams": {"t": {"label": "T", "recipients": ["t@example.org"]}},
                                    "topics": specs})
    return wl, baseline


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--topics", type=int, default=200)
    ap.add_argument("--queries", type=int, default=10)
    ap.add_argument("--posts", type=int, default=20000)
    args = ap.parse_args()
    posts = sample_posts(args.posts)
    t0 = time.perf_counter()
    wl, baseline = build(args.topics, args.queries)
    m = Matcher(wl)
    t_build = time.perf_counter() - t0

    t0 = time.perf_counter()
    matched = sum(1 for p in posts if m.match(p[0], p[1], p[2], p[3], lang=p[4], platform=p[5]))
    t_match = time.perf_counter() - t0

    t0 = time.perf_counter()
    base_matched = 0
    for p in posts:
        f = fold(p[0])
        if any([rx.search(f) for rx in baseline]):   # every topic, as a per-topic matcher must
            base_matched += 1
    t_base = time.perf_counter() - t0

    n = len(posts)
    print(f"{args.topics} topics x {args.queries} queries = {args.topics * args.queries} queries, "
          f"{len(m.text_atoms)} distinct text atoms; compiled in {t_build:.2f} s")
    print(f"matcher:    {n / t_match:>9,.0f} posts/s  ({matched} of {n} posts in a topic)")
    print(f"bare regex: {n / t_base:>9,.0f} posts/s  (one alternation per topic, words and phrases only; "
          f"{base_matched} posts)")
    print(f"ratio:      matcher is {t_base / t_match:.1f}x the bare-regex speed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
