"""Benchmarks: every stage of the nightly run against the bare library it builds on.

    make bench                                   # 10k, 100k and 1M posts
    .venv/bin/python bench/run.py --sizes 10000 100000

Each size runs in its own process (so its peak memory is its own) on a one-day simulator corpus
cached under bench/.cache/. Per stage it prints wall time, posts per second, posts per CPU-second
(per core), the process's peak resident memory after the stage, and beside it the bare library
doing the same work on the same data in the same process, with the ratio between them: the
ratio survives a noisy machine, the absolute figures don't. Results go to
bench/results/<timestamp>.json and, with --markdown, to docs/performance.md.
"""
from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("VIGIE_PSEUDONYM_KEY", "bench")
DAY = date(2026, 11, 2)
NOT_BUILT: list[str] = []


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quiet(fn):
    """A bare run with the cyclic GC paused: otherwise its full collections walk the millions of objects
    this harness holds for the comparisons (texts, rows), and the bare library's time swings by 10x."""
    gc.disable()
    try:
        return fn()
    finally:
        gc.enable()


class Clock:
    def __init__(self):
        self.rows: list[dict] = []

    def measure(self, stage: str, posts: int, fn, bare=None, bare_name: str = "", simple=None, repeat: int = 1):
        """`simple` (name, function): an earlier, lighter yardstick, reported beside the fair one.
        `repeat`: ours and the bare run each that many times, alternately, and the fastest of each
        kept (for short stages: the first run of either in a process also pays for growing its
        memory, and whichever runs first would carry it). Returns our first run's output."""
        runs, bares, simples, out = [], [], [], None
        for i in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            result = fn()
            runs.append((time.perf_counter() - t, time.process_time() - c))
            if i == 0:
                out = result
            del result  # a later run's output is not kept while the bare library runs
            if bare is not None:
                bares.append(bare_times(bare))
            if simple is not None:
                simples.append(bare_times(simple[1]))
        wall, cpu = min(w for w, _ in runs), min(c for _, c in runs)
        row = {"stage": stage, "posts": posts, "wall_s": wall, "cpu_s": cpu,
               "posts_per_s": posts / wall if wall else None,
               "posts_per_cpu_s": posts / cpu if cpu else None, "peak_rss_mb": rss_mb()}
        if repeat > 1:
            row["runs"] = repeat
        if bare is not None:
            row.update(compare(wall, cpu, bares, bare_name))
        if simple is not None:
            row.update(compare(wall, cpu, simples, simple[0], "_simple"))
        self.rows.append(row)
        return out


def bare_times(bare) -> tuple[float, float]:
    """Wall and CPU seconds of one bare run (GC paused: see `quiet`)."""
    t, c = time.perf_counter(), time.process_time()
    quiet(bare)
    return time.perf_counter() - t, time.process_time() - c


def compare(wall: float, cpu: float, bare_runs: list[tuple[float, float]], name: str, suffix: str = "") -> dict:
    """The bare runs' fastest times and our ratio to them (`suffix` "_simple" for an earlier yardstick)."""
    bwall, bcpu = min(w for w, _ in bare_runs), min(c for _, c in bare_runs)
    ratio = "ratio_vs_simple" if suffix else "ratio"
    return {f"bare{suffix}": name, f"bare{suffix}_wall_s": bwall, f"bare{suffix}_cpu_s": bcpu,
            ratio: wall / bwall if bwall else None, f"cpu_{ratio}": cpu / bcpu if bcpu else None}


CACHE = Path(os.environ.get("VIGIE_BENCH_CACHE", REPO / "bench" / ".cache"))


BARE_MINHASH = 20_000  # datasketch alone runs ~2,000 texts/s: a slice, compared per post


def bare_minhash(texts: list[str]) -> None:
    from datasketch import MinHash, MinHashLSH

    from listening import dedupe

    lsh = MinHashLSH(threshold=0.5, num_perm=dedupe.NUM_PERM)
    for i, norm in enumerate(dedupe.normalise(texts)):
        mh = MinHash(num_perm=dedupe.NUM_PERM)
        mh.update_batch([norm[k:k + 5].encode() for k in range(max(len(norm) - 4, 1))])
        lsh.query(mh)
        lsh.insert(str(i), mh)


def bare_pagerank(mentions) -> None:
    """networkx's PageRank on the same edges (reply, repost, quote, mention), unweighted."""
    import networkx as nx

    t = mentions.select(["post_id", "author_key", "reply_to", "repost_of", "quote_of", "mentioned_keys"]).to_pylist()
    author_of = {r["post_id"]: r["author_key"] for r in t}
    g = nx.DiGraph()
    for r in t:
        for parent in (r["reply_to"], r["repost_of"], r["quote_of"]):
            if parent in author_of:
                g.add_edge(r["author_key"], author_of[parent])
        for k in r["mentioned_keys"]:
            g.add_edge(r["author_key"], k)
    nx.pagerank(g)


def import_fields(paths: list[Path]) -> "pa.Schema":
    """The import format's fields as the first file's first thousand records have them: whole
    numbers as int64, the rest as strings (outside the timings)."""
    import pyarrow as pa

    fields: dict = {}
    with gzip.open(paths[0], "rb") as fh:
        for _, line in zip(range(1000), fh):
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            for k, v in rec.items() if isinstance(rec, dict) else ():
                if k not in fields or v is not None:
                    fields[k] = pa.int64() if isinstance(v, int) and not isinstance(v, bool) else pa.string()
    return pa.schema(list(fields.items()))


def bare_ingest(paths: list[Path], schema, root: Path) -> None:
    """json/pyarrow reading of what ingest keeps: each line parsed by json.loads, its time by
    datetime.fromisoformat, its post id (platform:id) seen twice kept once, the line itself, its file and
    line number kept (raw's payload and provenance), records packed into Arrow tables by pyarrow
    (RecordBatch.from_pylist, the fields typed); a batch with a mistyped value is packed again
    without the records that hold one."""
    import pyarrow as pa

    ints = [f.name for f in schema if pa.types.is_integer(f.type)]
    schema = schema.set(schema.get_field_index("created_at"), pa.field("created_at", pa.timestamp("us", tz="UTC")))
    schema = schema.append(pa.field("post_id", pa.string())).append(pa.field("payload", pa.string())) \
        .append(pa.field("source_file", pa.string())).append(pa.field("source_line", pa.int64()))

    def pack(recs):
        try:
            return pa.RecordBatch.from_pylist(recs, schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.RecordBatch.from_pylist([r for r in recs if all(
                r.get(k) is None or (isinstance(r[k], int) and not isinstance(r[k], bool)) for k in ints)], schema=schema)

    out, seen = [], set()
    for p in paths:
        name = str(p.relative_to(root))
        with gzip.open(p, "rb") as fh:
            recs = []
            for n, line in enumerate(fh, 1):
                try:
                    rec = json.loads(line)
                    rec["created_at"] = datetime.fromisoformat(rec["created_at"])
                    rec["post_id"] = f"{rec['platform']}:{rec['id']}"
                except (ValueError, TypeError, KeyError, AttributeError):
                    continue
                if rec["post_id"] in seen:
                    continue
                seen.add(rec["post_id"])
                rec["payload"], rec["source_file"], rec["source_line"] = line.decode("utf-8"), name, n
                recs.append(rec)
                if len(recs) >= 5000:
                    out.append(pack(recs))
                    recs = []
            if recs:
                out.append(pack(recs))
    pa.Table.from_batches(out, schema=schema)


def bare_normalise(texts: list[str]) -> list[str]:
    """The same cleaning by the libraries, every call on every text: ftfy where the text shows
    mojibake, the tag and break regexes, html.unescape, NFC, control characters, white space,
    the three personal-data patterns (with their checks), then hashtags, mentions and emoji by
    findall. Returns the texts, so the harness can check they equal ours."""
    import html
    import unicodedata

    import ftfy

    from listening import clean, privacy

    def masked(kind, check):
        return lambda m: privacy.MASKS[kind] if check(m.group(0)) else m.group(0)

    iban, phone = masked("iban", privacy._iban_ok), masked("phone", privacy._phone_ok)
    out = []
    for t in texts:
        if not t:
            out.append("")
            continue
        if clean.MOJIBAKE_RE.search(t):
            t = ftfy.fix_encoding(t)
        t = clean.TAG_RE.sub("", clean.BREAK_RE.sub(" ", t))
        t = " ".join(clean.CONTROL_RE.sub("", unicodedata.normalize("NFC", html.unescape(t))).split())
        t = privacy.PHONE_RE.sub(phone, privacy.IBAN_RE.sub(iban, privacy.EMAIL_RE.sub(privacy.MASKS["email"], t)))
        bare = clean.LINK_RE.sub(" ", t)
        clean.HASHTAG_RE.findall(bare), clean.MENTION_RE.findall(bare), clean.EMOJI_RE.findall(t)
        out.append(t)
    return out


def watchlist_regexes(watchlists) -> list[tuple]:
    """Per topic: one regex of its keywords (whole words, as the query language means them), one of
    its excluded keywords, its hashtags and its accounts."""
    from listening import clean, queries

    def union(words):
        pats = [queries.text_regex(" ".join(clean.fold(w.rstrip("*").strip()).split()), w.endswith("*")).pattern
                for w in words]
        return re.compile("|".join(pats)) if pats else None

    out = []
    for t in watchlists.topics:
        words = list(t.keywords) + ([h[1:] for h in t.hashtags] if t.hashtags_match_words else [])
        out.append((union(words), union([e for e in t.exclude if isinstance(e, str)]),
                    {clean.fold(h.lstrip("#")) for h in t.hashtags}, {a.casefold() for a in t.accounts}))
    return out


def bare_match(posts: list[tuple], topics: list[tuple]) -> None:
    """Regex matching of the same watchlists: per post the folded text (casefold, NFKD, marks
    removed), then per topic its keyword regex (findall: which terms), its hashtags and accounts
    by set lookups, its exclusions by regex. Boolean queries are not evaluated (ours does)."""
    from listening import clean

    for text, tags, mentions, author in posts:
        folded = clean.fold(text)
        tags = {clean.fold(h) for h in tags}
        handles = {m.casefold() for m in mentions} | ({author.casefold()} if author else set())
        for words, exclude, hashtags, accounts in topics:
            hit = (words.findall(folded) if words else []) or (hashtags & tags) or (accounts & handles)
            if hit and exclude is not None:
                exclude.search(folded)


def bare_pagerank_graphs(graphs: list[tuple]) -> None:
    """networkx's PageRank on the same weighted graphs as ours (one per topic and window, parallel
    edges added up), to the same tolerance (networkx's is per node)."""
    import networkx as nx

    for src, dst, w, n, damping in graphs:
        weight: dict = {}
        for a, b, x in zip(src.tolist(), dst.tolist(), w.tolist()):
            if x > 0:
                weight[a, b] = weight.get((a, b), 0.0) + x
        g = nx.DiGraph()
        g.add_nodes_from(range(n))
        g.add_weighted_edges_from((a, b, x) for (a, b), x in weight.items())
        try:
            nx.pagerank(g, alpha=damping, weight="weight", tol=1e-9 / max(n, 1), max_iter=200)
        except nx.PowerIterationFailedConvergence:
            pass


@contextmanager
def recording_pageranks(influence, into: list, spent: dict):
    """influence.pagerank records its graphs in `into` while the stage runs (for the bare run), and
    the wall and CPU time it takes in `spent`: the part of the stage networkx does."""
    real = influence.pagerank

    def pagerank(src, dst, weights, n, damping=influence.DAMPING, **kw):
        into.append((np.asarray(src), np.asarray(dst), np.asarray(weights, dtype=float), n, damping))
        t, c = time.perf_counter(), time.process_time()
        out = real(src, dst, weights, n, damping, **kw)
        spent["wall"] = spent.get("wall", 0.0) + time.perf_counter() - t
        spent["cpu"] = spent.get("cpu", 0.0) + time.process_time() - c
        return out

    influence.pagerank = pagerank
    try:
        yield
    finally:
        influence.pagerank = real


def bare_metrics(mentions, topics: list[str]) -> None:
    """The same measures, the pandas way: the posts exploded by topic, then per topic (the day) and per
    topic and hour: posts, authors, sentiment counts and mean, reach (each author's largest follower
    count once), engagement, replies, reposts, languages, top hashtags, terms and links (value
    counts, ties by name). Terms come from listening.metrics.terms, once per post."""
    import pandas as pd

    from listening import metrics

    cols = ["post_id", "created_at", "author_key", "author_followers", "topics", "hashtags", "links", "text",
            "lang", "sentiment_label", "sentiment_score", "engagement", "is_reply", "is_repost"]
    df = mentions.select(cols).to_pandas()
    df["terms"] = [metrics.terms(t) for t in df["text"]]
    df = df.drop(columns=["text"]).explode("topics").rename(columns={"topics": "topic"}).dropna(subset=["topic"])
    df["hour"] = df["created_at"].dt.floor("h")
    for keys in (["topic"], ["topic", "hour"]):
        g = df.groupby(keys, sort=True)
        pd.DataFrame({"posts": g.size(), "authors": g["author_key"].nunique(), "mean": g["sentiment_score"].mean(),
                      "engagement": g["engagement"].sum(), "replies": g["is_reply"].sum(),
                      "reposts": g["is_repost"].sum()})
        df.groupby(keys + ["sentiment_label"]).size().unstack(fill_value=0)
        df.groupby(keys + ["lang"]).size().unstack(fill_value=0)
        df.groupby(keys + ["author_key"])["author_followers"].max().fillna(0).groupby(level=keys).sum()
        for col, top in (("hashtags", metrics.TOP_HASHTAGS), ("terms", metrics.TOP_TERMS), ("links", metrics.TOP_LINKS)):
            counts = df[keys + [col]].explode(col).dropna(subset=[col]).groupby(keys + [col]).size().rename("n")
            counts = counts.reset_index().sort_values(keys + ["n", col], ascending=[True] * len(keys) + [False, True])
            counts.groupby(keys, sort=False).head(top)
    pd.Index(topics).difference(df["topic"].unique())  # the quiet topics get a row of zeros


def sklearn_ngram() -> dict:
    """Per language, the sentiment n-gram model as scikit-learn objects: a TfidfVectorizer with the
    model's vocabulary and idf (analyzer listening.nlp.ngram.featurize, sublinear tf, L2 norm) and a
    LogisticRegression with its weights (the lexicon score as one more column), as
    bench/train_sentiment.py trained it."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from listening.nlp import ngram

    out = {}
    for lang in ("en", "fr", "de"):
        path = ngram.MODEL_DIR / f"{lang}.json.gz"
        data = json.loads(gzip.decompress(path.read_bytes()))
        names = list(data["features"])
        vec = TfidfVectorizer(analyzer=ngram.featurize, sublinear_tf=True, vocabulary=names, dtype=np.float64)
        vec.idf_ = np.array([data["features"][f][0] for f in names])
        lr = LogisticRegression()
        lr.classes_ = np.arange(3)
        w = np.array([data["features"][f][1:] for f in names]).T
        lr.coef_ = np.hstack([w, np.array(data["lexicon_coef"], dtype=np.float64)[:, None]])
        lr.intercept_ = np.array(data["intercept"], dtype=np.float64)
        out[lang] = (vec, lr, float(data["lexicon_weight"]))
    return out


def bare_sentiment(vader, models: dict, scored: list[tuple[str, str]]) -> None:
    """VADER on every text (the English engine, and the stand-in for the French, Dutch and German
    lexicon engine), then the n-gram model in scikit-learn on the English, French and German texts."""
    import numpy as np
    from scipy.sparse import csr_matrix, hstack

    compound = [vader.polarity_scores(t)["compound"] for t, _ in scored]
    for lang, (vec, lr, k) in models.items():
        idx = [i for i, (_, lg) in enumerate(scored) if lg == lang]
        if idx:
            x = vec.transform([scored[i][0] for i in idx])
            lex = csr_matrix(np.array([compound[i] for i in idx])[:, None] * k)
            lr.predict_proba(hstack([x, lex]).tocsr())


def bare_triage_regexes(scored: list[tuple[str, str]]) -> None:
    """The triage's compiled regexes run alone, one findall each per text: the language's cue union
    on the lowercased text, then links, hashtags and capitals (no accent folding, no decision)."""
    from listening import triage

    rules = triage.load_rules(None)
    union = {lg: rules.union[lg if lg in triage.LANGUAGES else "common"].findall for lg in {lg for _, lg in scored}}
    links, tags, caps = triage._LINKISH_RE.findall, triage._HASHTAG_RE.findall, triage._CAPS_RE.findall
    for t, lg in scored:
        union[lg](t.lower())
        links(t)
        tags(t)
        caps(t)


def corpus(size: int, seed: int) -> Path:
    from listening import simulate

    d = CACHE / f"corpus-{size}-{seed}"
    if not (d / "truth.json").exists():
        simulate.simulate(d, start=DAY, days=1, posts=size, seed=seed)
    return d


def one(size: int, seed: int, with_entities: bool = True) -> dict:
    """Every stage on one corpus, in this process (entities off: as with `entities: false` in settings)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from listening import clean, lake, metrics, pipeline, quality
    from listening.config import load_config
    from listening.nlp import language, sentiment
    from listening.queries import Matcher
    from listening.schema import MENTIONS, METRICS_DAILY, RAW
    from listening.sources import files

    src = corpus(size, seed) / "import"
    cfg = load_config()
    clock = Clock()
    # Load what a long-lived worker has loaded once (models, GX), outside the timings.
    language._detector(tuple(sorted(cfg.settings.languages)))
    for lang in ("en", "fr", "nl", "de"):
        sentiment.engine(lang)
    import great_expectations  # noqa: F401

    from listening import triage as triage_mod

    triage_mod.load_rules(None)  # the compiled cue regexes
    for table in ("digit_re", "_strip_marks"):  # normalise's "has a digit" test, clean.fold's accent table
        if hasattr(clean, table):  # (tolerant, so the harness also measures older versions of the code)
            getattr(clean, table)()
    from listening import authenticity, dedupe  # noqa: F401  (and what they import: scipy, datasketch)
    import networkx  # noqa: F401
    import scipy.sparse.csgraph  # noqa: F401

    dedupe.permutations()
    dedupe.lsh_params(0.5, dedupe.NUM_PERM)  # found by datasketch's search, once per process
    if hasattr(metrics, "stop_words"):  # the metrics' stop words import spaCy's language data (2-3 s, once)
        metrics.stop_words()

    def bare_read():
        for p in sorted(src.glob("*.jsonl.gz")):
            with gzip.open(p, "rb") as fh:
                for line in fh:
                    try:
                        json.loads(line)
                    except ValueError:
                        pass

    def ingest():
        sink = pipeline._ArrowSink(RAW.schema)
        files.read_day(src, DAY, rows=sink)
        return pa.concat_tables(list(sink.tables().values()))

    paths = sorted(src.glob("*.jsonl.gz"))
    fields = import_fields(paths)
    raw = clock.measure("ingest", size, ingest, lambda: bare_ingest(paths, fields, src),
                        "json.loads, datetime.fromisoformat, ids deduplicated, line and provenance kept, pyarrow "
                        "RecordBatch.from_pylist (fields typed)",
                        simple=("gzip + json.loads", bare_read))
    raw = raw.combine_chunks()  # the enrichment reads the day in BATCH-row batches, as from the staged file
    n = raw.num_rows
    import html
    import re
    import unicodedata

    # Enrichment runs batch by batch as in pipeline.enrich; each stage's time is summed over batches.
    matcher = Matcher(cfg.watchlists)
    languages = list(cfg.settings.languages)
    acc = {k: [0.0, 0.0] for k in ("normalise", "match", "language", "sentiment", "people", "entities", "triage",
                                   "mentions table")}
    people = pipeline.People(cfg, b"bench", raw)
    from listening.nlp import entities as ner

    ner_langs = ner.available(languages) if with_entities else []

    def timer(into: dict):
        def timed(name, fn):
            t, c = time.perf_counter(), time.process_time()
            out = fn()
            into[name][0] += time.perf_counter() - t
            into[name][1] += time.process_time() - c
            return out
        return timed

    timed = timer(acc)

    def enrich(table, timed, seen=lambda stage, rows: None) -> list:
        """The enrichment batch by batch as pipeline.enrich runs it; `seen` looks at each stage's rows
        (outside the timings) to collect what the bare runs read."""
        out = []
        for batch in table.drop_columns(pipeline.RAW_ONLY).to_batches(max_chunksize=pipeline.BATCH):
            rows = timed("normalise", lambda: pipeline.normalise(batch.to_pylist()))
            seen("normalise", rows)
            for name, fn in (("match", lambda rows: pipeline.match(rows, matcher)),
                             ("language", lambda rows: pipeline.identify_language(rows, languages)),
                             ("sentiment", pipeline.score_sentiment),
                             ("people", lambda rows: pipeline.identify_people(rows, people)),
                             ("entities", lambda rows: pipeline.find_entities(rows, with_entities)),
                             ("triage", pipeline.triage_posts)):
                seen(f"before {name}", rows)
                rows = timed(name, lambda: fn(rows))
                seen(name, rows)
            out.append(timed("mentions table", lambda: pipeline.to_mentions(rows)))
            rows = None  # as pipeline.enrich_rows: not alive while the next batch's to_pylist runs
        return out

    texts, matched_texts, undeclared, ner_texts = [], [], [], {lang: [] for lang in ner_langs}
    scored: list[tuple[str, str]] = []
    ner_ids: set = set()  # the posts spaCy reads: for the enrichment of the same texts alone
    match_posts: list[tuple] = []

    def collect(stage, rows):
        """Copies for the bare runs, as strings and tuples of strings: the cyclic GC does not track
        them, so they do not slow our stages' collections (a nightly task holds none of them)."""
        if stage == "normalise":
            texts.extend(r["text"] for r in rows)
            match_posts.extend((r["text"], tuple(r["hashtags"]), tuple(r["mentions"]), r["author_handle"]) for r in rows)
        elif stage == "match":
            matched_texts.extend(r["text"] for r in rows)
        elif stage == "before language":
            undeclared.extend(clean.text_for_language(r["text"]) for r in rows if not r["lang"])
        elif stage == "sentiment":
            scored.extend((r["text"], r["lang"]) for r in rows)  # for the bare sentiment and triage runs
        elif stage == "people":
            for r in rows:
                if r["lang"] in ner_texts:
                    ner_texts[r["lang"]].append(clean.text_for_language(r["text"]))
                    ner_ids.add(r["post_id"])

    tables = enrich(raw, timed, collect)
    day_table = pa.concat_tables(tables)
    m = day_table.num_rows
    mentions = clock.measure("dedupe + bot scores", m, lambda: pipeline.add_day_columns(day_table),
                             lambda: bare_minhash(day_table["text"].to_pylist()[:BARE_MINHASH]),
                             f"datasketch MinHash + MinHashLSH alone, first {BARE_MINHASH:,} texts (scaled)")
    if m > BARE_MINHASH:  # the bare run saw a slice: compare per post
        clock.rows[-1]["ratio"] *= BARE_MINHASH / m
        clock.rows[-1]["bare_wall_s"] *= m / BARE_MINHASH
        clock.rows[-1]["cpu_ratio"] *= BARE_MINHASH / m
        clock.rows[-1]["bare_cpu_s"] *= m / BARE_MINHASH
    raw_texts = raw["text"].to_pylist()
    tag = re.compile(r"#\w+")
    watchlist = watchlist_regexes(cfg.watchlists)
    words = [clean.fold(k) for t in cfg.watchlists.topics for k in t.keywords]
    bare_re = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b")
    detector = language._detector(tuple(sorted(languages)))
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    bares = {
        "normalise": ("the same cleaning by the libraries on every text: ftfy (where mojibake shows), tag and "
                      "control regexes, html.unescape, NFC, the personal-data patterns, hashtag/mention/emoji findall",
                      lambda: bare_normalise(raw_texts)),
        "match": ("regex matching of the same watchlists: per topic one keyword regex (findall) on the folded "
                  "text, hashtags and accounts by set lookup, exclusions by regex (boolean queries not evaluated)",
                  lambda: bare_match(match_posts, watchlist)),
        "language": ("lingua alone on the same undeclared texts",
                     lambda: detector.compute_language_confidence_values_in_parallel(undeclared)),
        "sentiment": ("VADER on every text, and on the English, French and German ones the same n-gram model "
                      "in scikit-learn (TfidfVectorizer + LogisticRegression.predict_proba)",
                      lambda: bare_sentiment(vader, ngram_bare, scored)),
        "people": None,
        "entities": ("spaCy nlp.pipe alone (same model, same texts)",
                     lambda: [list(ner.model(lang).pipe(ts, batch_size=ner.BATCH)) for lang, ts in ner_texts.items()])
        if with_entities else None,
        "triage": ("the triage's own regexes alone, one findall each per text: its language's cue union "
                   "(lowercased text), links, hashtags, capitals", lambda: bare_triage_regexes(scored)),
        "mentions table": None,
    }
    bare_triage = re.compile(r"\?|\b(?:merci|bedankt|thanks|danke|honte|schande|arnaque|scam)\b", re.I)
    ngram_bare = sklearn_ngram()  # models loaded outside the timings, as for the other bares
    # the earlier yardsticks, kept beside the fair ones (they do far less than the stage)
    simple_bares = {
        "normalise": ("html.unescape + NFC + one regex",
                      lambda: [tag.findall(unicodedata.normalize("NFC", html.unescape(t))) for t in raw_texts]),
        "match": ("one regex of all keywords", lambda: [bare_re.search(t.lower()) for t in texts]),
        "sentiment": ("VADER alone on every text", lambda: [vader.polarity_scores(t) for t in matched_texts]),
        "triage": ("one re.search per text", lambda: [bare_triage.search(t) for t in matched_texts]),
    }
    for name, (wall, cpu) in acc.items():
        posts = n if name in ("normalise", "match") else m
        if name == "entities":
            posts = sum(len(ts) for ts in ner_texts.values())
        row = {"stage": name, "posts": posts, "wall_s": wall, "cpu_s": cpu,
               "posts_per_s": posts / wall if wall else None, "posts_per_cpu_s": posts / cpu if cpu else None,
               "peak_rss_mb": rss_mb()}
        if bares[name]:
            row.update(compare(wall, cpu, [bare_times(bares[name][1])], bares[name][0]))
        if name in simple_bares:
            row.update(compare(wall, cpu, [bare_times(simple_bares[name][1])], simple_bares[name][0], "_simple"))
        clock.rows.append(row)
    # the fair yardstick must do the same work: the bare cleaning gives the same texts as ours
    by_stage = {r["stage"]: r for r in clock.rows}
    by_stage["normalise"]["same_output"] = bare_normalise(raw_texts) == texts
    # The whole enrichment (every stage above, with entities, plus dedupe and bot scores) against
    # spaCy's nlp.pipe alone on the same texts: "everything around spaCy" should stay under 25%.
    by_stage = {r["stage"]: r for r in clock.rows}
    spacy_bare, spacy_bare_cpu = by_stage["entities"].get("bare_wall_s"), by_stage["entities"].get("bare_cpu_s")
    if ner_texts and spacy_bare:
        parts = list(acc) + ["dedupe + bot scores"]
        total = sum(by_stage[k]["wall_s"] for k in parts)
        total_cpu = sum(by_stage[k]["cpu_s"] for k in parts)
        around = total - by_stage["entities"]["wall_s"]
        clock.rows.append({"stage": "enrichment, entities on", "posts": n, "wall_s": total, "cpu_s": total_cpu,
                           "posts_per_s": n / total, "posts_per_cpu_s": n / total_cpu if total_cpu else None,
                           "peak_rss_mb": rss_mb(), "bare": "spaCy nlp.pipe alone (as for entities)",
                           "bare_wall_s": spacy_bare, "ratio": total / spacy_bare, "summary": True,
                           "bare_cpu_s": spacy_bare_cpu, "cpu_ratio": total_cpu / spacy_bare_cpu if spacy_bare_cpu else None,
                           "around_spacy": {k: by_stage[k]["wall_s"] / around for k in parts if k != "entities"}})
    if ner_texts and spacy_bare:
        # The whole enrichment against all its libraries together, each stage's bare run where it has one
        # (the faster of the two where the stage beats its library, so that no stage's lead hides
        # another's overhead; stages without one count their own time on both sides).
        parts = list(acc) + ["dedupe + bot scores"]
        floor = {k: min(by_stage[k]["wall_s"], by_stage[k].get("bare_wall_s") or by_stage[k]["wall_s"]) for k in parts}
        floor_cpu = {k: min(by_stage[k]["cpu_s"], by_stage[k].get("bare_cpu_s") or by_stage[k]["cpu_s"]) for k in parts}
        ours_wall = sum(by_stage[k]["wall_s"] for k in parts)
        ours_cpu = sum(by_stage[k]["cpu_s"] for k in parts)
        clock.rows.append({"stage": "enrichment, entities on, against its libraries", "posts": n, "wall_s": ours_wall,
                           "cpu_s": ours_cpu, "posts_per_s": n / ours_wall,
                           "posts_per_cpu_s": n / ours_cpu if ours_cpu else None, "peak_rss_mb": rss_mb(),
                           "bare": "every stage's library together (spaCy, lingua, VADER + scikit-learn, the regexes, "
                                   "datasketch; the stage's own time where it beats its library or has none)",
                           "bare_wall_s": sum(floor.values()), "ratio": ours_wall / sum(floor.values()),
                           "bare_cpu_s": sum(floor_cpu.values()), "cpu_ratio": ours_cpu / sum(floor_cpu.values()),
                           "summary": True,
                           "around_floor_over_spacy": (sum(floor.values()) - floor["entities"]) / spacy_bare,
                           "libraries_over_spacy": sum(by_stage[k]["bare_wall_s"] for k in parts
                                                       if k != "entities" and by_stage[k].get("bare_wall_s")) / spacy_bare})
    if ner_ids and spacy_bare:
        # The same enrichment on the posts spaCy reads, alone: everything around spaCy on the same texts.
        # (The row above also counts the posts in languages without a spaCy model, which spaCy never
        # reads: with a French model only, two thirds of them.)
        same = {k: [0.0, 0.0] for k in acc}
        subset = raw.filter(pc.is_in(raw["post_id"], pa.array(sorted(ner_ids))))
        part = pa.concat_tables(enrich(subset, timer(same)))
        t, c = time.perf_counter(), time.process_time()
        pipeline.add_day_columns(part)
        same["dedupe + bot scores"] = [time.perf_counter() - t, time.process_time() - c]
        total, total_cpu = sum(v[0] for v in same.values()), sum(v[1] for v in same.values())
        around = total - same["entities"][0]
        clock.rows.append({"stage": "enrichment of spaCy's posts alone", "posts": subset.num_rows, "wall_s": total,
                           "cpu_s": total_cpu, "posts_per_s": subset.num_rows / total,
                           "posts_per_cpu_s": subset.num_rows / total_cpu if total_cpu else None,
                           "peak_rss_mb": rss_mb(), "bare": "spaCy nlp.pipe alone (as for entities)",
                           "bare_wall_s": spacy_bare, "ratio": total / spacy_bare, "summary": True,
                           "bare_cpu_s": spacy_bare_cpu,
                           "cpu_ratio": total_cpu / spacy_bare_cpu if spacy_bare_cpu else None,
                           "around_spacy": {k: v[0] / around for k, v in same.items() if k != "entities"},
                           "stage_wall_s": {k: v[0] for k, v in same.items()}})
    texts = matched_texts = undeclared = raw_texts = ner_texts = None  # freed before the later stages
    from listening import influence

    window = mentions.select(pipeline.INFLUENCE_COLUMNS)
    graphs: list[tuple] = []
    spent: dict = {}
    def ours_influence():  # the graphs and PageRank time of this run only
        graphs.clear(), spent.clear()
        return influence.score(window, DAY, windows=(7, 28))

    with recording_pageranks(influence, graphs, spent):
        clock.measure("influence", m, ours_influence,
                      lambda: bare_pagerank_graphs(graphs),
                      "networkx.pagerank on the same weighted graphs (each topic, 7 and 28 days)",
                      simple=("networkx.pagerank alone on the day's interaction graph", lambda: bare_pagerank(window)),
                      repeat=2)
    graphs = None
    row = clock.rows[-1]
    row.update(pagerank_wall_s=spent.get("wall", 0.0), pagerank_cpu_s=spent.get("cpu", 0.0),
               pagerank_ratio=spent.get("wall", 0.0) / row["bare_wall_s"] if row["bare_wall_s"] else None)
    topics = [t.name for t in cfg.watchlists.topics]

    def bare_metrics_simple():
        df = mentions.select(["topics", "author_key", "sentiment_label"]).to_pandas().explode("topics")
        df.groupby("topics").agg(posts=("author_key", "size"), authors=("author_key", "nunique"))
        df.groupby(["topics", "sentiment_label"]).size()

    def ours_metrics():  # the day in one part (compute_metrics merges row groups), for the day and its hours
        part = metrics.partial(mentions)
        return metrics.daily_of(part, DAY, topics), metrics.hourly_of(part)

    daily = clock.measure("metrics", m, ours_metrics,
                          lambda: bare_metrics(mentions, topics),
                          "the same measures in pandas: explode by topic, groupby (day, hour), value counts, top-N",
                          simple=("pandas explode + groupby", bare_metrics_simple), repeat=2)
    from listening import detect as detectors

    # Every detector and the day's topic_tokens, as detect_day runs them; the day alone (no history
    # in the harness: the hashtag and word detectors stay silent, their counting is measured).
    # No bare library does this work: the figure is per post.
    clock.measure("detection", m, lambda: detectors.detect_with_tokens(
        detectors.inputs_from_lake(Path(tempfile.gettempdir()) / "no-lake", DAY, mentions, daily[1], daily[0])))
    with tempfile.TemporaryDirectory() as tmp:
        validator = quality.Validator(Path(tmp) / "lake")

        def ours():
            for ds, table in ((RAW, raw), (MENTIONS, mentions), (METRICS_DAILY, daily[0])):
                quality.validate_table(validator, ds, table, DAY, topics, list(cfg.settings.languages), "bench", ds.name)
            validator.build_docs("bench")

        def bare_gx(docs: bool):
            """GX on the same suites and frames; with `docs`, as the stage uses it: a file context, the
            failing rows' ids in the results (to quarantine them), and the run's Data Docs."""
            import great_expectations as gx

            ctx = gx.get_context(mode="file", project_root_dir=tempfile.mkdtemp(dir=tmp)) if docs else \
                gx.get_context(mode="ephemeral")
            src_ = ctx.data_sources.add_pandas("bare")
            run_id = gx.RunIdentifier(run_name="bare")
            for ds, table in ((RAW, raw), (MENTIONS, mentions), (METRICS_DAILY, daily[0])):
                rules, _ = quality.suite(ds, DAY, topics, list(cfg.settings.languages))
                batch = src_.add_dataframe_asset(ds.name).add_batch_definition_whole_dataframe("w")
                suite = ctx.suites.add(gx.ExpectationSuite(name=ds.name, expectations=[
                    r.expectation for r in rules if docs or r.name != "columns"]))
                vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=ds.name, data=batch, suite=suite))
                frame = quality.frame(ds, table, topics)
                if docs:
                    vd.run(batch_parameters={"dataframe": frame}, run_id=run_id, result_format={
                        "result_format": "COMPLETE", "unexpected_index_column_names": [quality.ROW]})
                else:
                    vd.run(batch_parameters={"dataframe": frame})
            if docs:
                ctx.build_data_docs()

        clock.measure("validation", n + m, ours, lambda: bare_gx(True),
                      "GX on the same suites: file context, failing rows' ids, the run's Data Docs",
                      simple=("GX alone: same suites, ephemeral context, no Data Docs", lambda: bare_gx(False)))
        out = Path(tmp) / "w"
        out.mkdir(parents=True, exist_ok=True)
        same = dict(compression="zstd", write_statistics=True, use_dictionary=True, row_group_size=128 * 1024)
        def order(ds, table):
            return table.sort_by([(c, "ascending") for c in ds.sort])

        clock.measure("parquet write", n + m,
                      lambda: (lake.write_file(out / "raw.parquet", RAW, raw),
                               lake.write_file(out / "m.parquet", MENTIONS, mentions)),
                      lambda: (pq.write_table(order(RAW, raw), out / "raw2.parquet", **same),
                               pq.write_table(order(MENTIONS, mentions), out / "m2.parquet", **same)),
                      "Table.sort_by (the dataset's order) + pq.write_table, same options (zstd, dictionary, "
                      "statistics, 128k-row groups)",
                      simple=("pq.write_table, same options, rows as they come",
                              lambda: (pq.write_table(raw, out / "raw4.parquet", **same),
                                       pq.write_table(mentions, out / "m4.parquet", **same))), repeat=2)
    stage_wall = sum(r["wall_s"] for r in clock.rows if not r.get("summary"))
    stage_cpu = sum(r["cpu_s"] for r in clock.rows if not r.get("summary"))
    return {"size": size, "posts": n, "mentions": m, "entities": with_entities, "stages": clock.rows,
            "nightly": {"wall_s": stage_wall, "cpu_s": stage_cpu, "posts_per_s": n / stage_wall,
                        "posts_per_cpu_s": n / stage_cpu, "peak_rss_mb": rss_mb()},
            "not_built": NOT_BUILT}


def fmt(v, nd=0):
    if v is None:
        return "-"
    return f"{v:,.{nd}f}"


def markdown(results: list[dict], machine: str) -> str:
    lines = ["# Performance", "",
             f"Measured by `make bench` (`bench/run.py`) on {machine}, {datetime.now(timezone.utc):%Y-%m-%d}.",
             "Each size is a one-day simulator corpus run in its own process. `ratio` is our stage's wall",
             "time over the bare library's doing the same work on the same data in the same run:",
             "the figure to quote on a shared, noisy machine; `CPU ratio` is the same with CPU time (steadier when",
             "other jobs share the cores; lingua uses both cores, so its CPU time counts double).",
             "Peak RSS is the process's peak so far.", ""]
    for res in results:
        lines += [f"## {res['size']:,} posts ({res['mentions']:,} matched a topic)", "",
                  "| stage | wall s | posts/s | posts/CPU-s | peak RSS MB | bare library | bare s | ratio | CPU ratio |",
                  "|---|---:|---:|---:|---:|---|---:|---:|---:|"]
        for r in res["stages"]:
            lines.append(f"| {r['stage']} | {r['wall_s']:.2f} | {fmt(r['posts_per_s'])} | {fmt(r['posts_per_cpu_s'])} | "
                         f"{r['peak_rss_mb']:.0f} | {r.get('bare', '')} | {fmt(r.get('bare_wall_s'), 2)} | "
                         f"{fmt(r.get('ratio'), 2)} | {fmt(r.get('cpu_ratio'), 2)} |")
        n = res["nightly"]
        lines += [f"| **nightly run** | {n['wall_s']:.2f} | {fmt(n['posts_per_s'])} | {fmt(n['posts_per_cpu_s'])} | "
                  f"{n['peak_rss_mb']:.0f} | | | | |", ""]
        for r in res["stages"]:
            if r.get("around_spacy"):
                lines += [f"Around spaCy in '{r['stage']}' (share of the non-spaCy time): " + ", ".join(
                    f"{k} {v:.0%}" for k, v in sorted(r["around_spacy"].items(), key=lambda kv: -kv[1])) + ".", ""]
            if r.get("pagerank_ratio") is not None:
                lines += [f"Influence: its own PageRank (numpy, sparse) takes {r['pagerank_wall_s']:.2f} s of the stage's "
                          f"{r['wall_s']:.2f} s, {r['pagerank_ratio']:.2f}x networkx's on the same graphs; the rest is "
                          "the other components (reach, engagement, relevance, authenticity) and the explanations.", ""]
            if r.get("libraries_over_spacy") is not None:
                lines += [f"Around spaCy, each stage at the faster of itself and its library: {r['around_floor_over_spacy']:.0%} "
                          f"of spaCy's time on this corpus (the libraries alone, lingua, VADER + scikit-learn, the regexes "
                          f"and datasketch, each on the posts its stage reads: {r['libraries_over_spacy']:.0%}).", ""]
            if "same_output" in r:
                lines += [f"The bare {r['stage']} gives {'the same' if r['same_output'] else 'DIFFERENT'} texts as ours.", ""]
        simple = [r for r in res["stages"] if r.get("bare_simple")]
        if simple:
            lines += ["Earlier, lighter yardsticks (they do less than the stage; kept to compare with older runs):", "",
                      "| stage | lighter yardstick | ratio | CPU ratio |", "|---|---|---:|---:|"]
            lines += [f"| {r['stage']} | {r['bare_simple']} | {fmt(r.get('ratio_vs_simple'), 2)} | "
                      f"{fmt(r.get('cpu_ratio_vs_simple'), 2)} |" for r in simple] + [""]
        if not res.get("entities", True):
            lines += ["Entities off (`--no-entities`, as with `entities: false` in settings).", ""]
    lines += growth(results)
    lines += targets(results)
    if NOT_BUILT:
        lines += ["Not measured here yet: " + ", ".join(NOT_BUILT) + " (built, but not in the harness yet).", ""]
    lines += ["Detection's quality (recall, precision, lead time) is measured by bench/eval_detection.py "
              "(docs/detection.md).", ""]
    if NOTES.exists():
        lines += [NOTES.read_text().rstrip(), ""]
    return "\n".join(lines)


GROWTH_FLAG = 1.25  # CPU time per post growing more than this per 10x posts is called out


def growth(results: list[dict]) -> list[str]:
    """Per stage, CPU time per post and the process's peak memory from one size to the next: linear
    cost keeps the first near 1. Stage by stage, so a run without entities compares with one with them
    (the entities stage and the enrichment summaries aside)."""
    if len(results) < 2:
        return []
    pairs = list(zip(results, results[1:]))
    head = " | ".join(f"{a['size']:,} -> {b['size']:,}" for a, b in pairs)
    lines = ["## Cost growth", "",
             "CPU seconds per post at the larger size over the smaller one (1.00: linear; above "
             f"{GROWTH_FLAG}: flagged *):", "", f"| stage | {head} |", "|---|" + "---:|" * len(pairs)]
    names = [r["stage"] for r in results[0]["stages"] if not r.get("summary") and r["stage"] != "entities"]
    for name in names:
        cells = []
        for a, b in pairs:
            ra = next((r for r in a["stages"] if r["stage"] == name), None)
            rb = next((r for r in b["stages"] if r["stage"] == name), None)
            if not ra or not rb or not ra["cpu_s"] or not rb["cpu_s"] or not ra["posts"] or not rb["posts"]:
                cells.append("-")
                continue
            g = (rb["cpu_s"] / rb["posts"]) / (ra["cpu_s"] / ra["posts"])
            cells.append(f"{g:.2f}{' *' if g > GROWTH_FLAG else ''}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| **peak memory** | " + " | ".join(
        f"x{b['nightly']['peak_rss_mb'] / a['nightly']['peak_rss_mb']:.1f} for x{b['size'] / a['size']:,.0f} posts"
        for a, b in pairs) + " |")
    return lines + [""]


NOTES = Path(__file__).with_name("performance-notes.md")  # the why of the figures, written by hand
TARGET = 1.25  # issues 6 and 12: no stage above 1.25x its bare library; the enrichment within 1.25x of spaCy
NIGHTLY_TARGET_S, NIGHTLY_TARGET_MB = 600, 4096  # 1M posts, entities off: under 10 minutes and 4 GB
TARGET_STAGES = ["ingest", "normalise", "match", "language", "sentiment", "triage", "dedupe + bot scores", "influence", "metrics", "validation",
                 "parquet write", "enrichment, entities on", "enrichment of spaCy's posts alone",
                 "enrichment, entities on, against its libraries"]


def targets(results: list[dict]) -> list[str]:
    """Which targets each run meets, from its own figures (wall and CPU ratios)."""
    lines = ["## Targets", "",
             f"Met when the ratio is at most {TARGET} (wall and CPU time; the machine is shared, so a stage near the "
             "line can fall either side from one run to the next).", "",
             "| size | stage | ratio | CPU ratio | met |", "|---|---|---:|---:|---|"]
    for res in results:
        by = {r["stage"]: r for r in res["stages"]}
        for name in TARGET_STAGES:
            r = by.get(name)
            if not r or r.get("ratio") is None:
                continue
            ok = r["ratio"] <= TARGET and (r.get("cpu_ratio") or 0) <= TARGET
            lines.append(f"| {res['size']:,} | {name} | {r['ratio']:.2f} | {fmt(r.get('cpu_ratio'), 2)} | "
                         f"{'yes' if ok else 'no'} |")
    lines.append("")
    for res in results:
        if res["size"] >= 1_000_000 and not res.get("entities", True):
            n = res["nightly"]
            ok = n["wall_s"] < NIGHTLY_TARGET_S and n["peak_rss_mb"] < NIGHTLY_TARGET_MB
            lines += [f"Nightly stages at {res['size']:,} posts without entities: {n['wall_s']:.0f} s "
                      f"(target {NIGHTLY_TARGET_S} s), peak {n['peak_rss_mb']:,.0f} MB (target {NIGHTLY_TARGET_MB:,} MB, "
                      f"the harness's own copies for the bare runs included): {'met' if ok else 'not met'}.", ""]
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--markdown", help="write the Markdown table to this file (e.g. docs/performance.md)")
    p.add_argument("--results", default=str(REPO / "bench" / "results"), help="directory for the JSON results")
    p.add_argument("--no-entities", action="store_true", help="entities off, as with `entities: false` in settings")
    p.add_argument("--merge", nargs="+", metavar="JSON",
                   help="no run: write --markdown from earlier results files (e.g. 10k and 100k with entities, "
                        "1M without)")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.seed, not args.no_entities)))
        return 0
    if args.merge:
        loaded = [json.loads(Path(f).read_text()) for f in args.merge]
        results = sorted((r for d in loaded for r in d["results"]), key=lambda r: r["size"])
        if args.markdown:
            Path(args.markdown).write_text(markdown(results, loaded[0]["machine"]))
        return 0
    results = []
    for size in args.sizes:
        corpus(size, args.seed)  # generated outside the measured process
        out = subprocess.run([sys.executable, __file__, "--one", str(size), "--seed", str(args.seed)]
                             + (["--no-entities"] if args.no_entities else []),
                             capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            return 1
        res = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(res)
        n = res["nightly"]
        print(f"{size:>9,} posts: nightly {n['wall_s']:.1f} s, {n['posts_per_s']:,.0f} posts/s, "
              f"peak {n['peak_rss_mb']:,.0f} MB", flush=True)
        for r in res["stages"]:
            print(f"    {r['stage']:<15} {r['wall_s']:8.2f} s  {fmt(r['posts_per_s']):>10} posts/s"
                  + (f"  x{r['ratio']:.2f} (CPU x{fmt(r.get('cpu_ratio'), 2)}) of {r['bare']}" if r.get("ratio") else ""),
                  flush=True)
            if r.get("around_spacy"):
                print("        around spaCy: " + ", ".join(f"{k} {v:.0%}" for k, v in sorted(
                    r["around_spacy"].items(), key=lambda kv: -kv[1])), flush=True)
    machine = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    Path(args.results).mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    (Path(args.results) / f"{stamp}.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(markdown(results, machine))
    return 0


if __name__ == "__main__":
    sys.exit(main())
