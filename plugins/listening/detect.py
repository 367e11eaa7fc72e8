"""Emerging issues: detectors over a topic's day and its previous 28 days.

Each detector is a plain function over tables (the day's mentions, hourly and daily metrics,
and the history read from the lake) that returns alert rows (dicts with the ALERTS columns
that detection knows; delivery fills the rest). Titles and reasons are written in the digest
language (settings.digest_language: fr or en). `detect_day(run)` runs them all for one UTC
day and stages the `alerts` partition, so validation checks it before it is published.

Detectors and what they test (docs/detection.md has the figures):

* volume_spike: each hour's posts against a baseline that knows the hour of day (the mean of
  the same hour and its neighbours over 28 days) and the day of week (a shrunk factor), with a
  negative-binomial tail (overdispersed Poisson) and floors on the baseline, the count and the
  excess: a topic with 3 posts a day does not page anyone for 9. Flagged hours next to each
  other make one alert.
* sentiment_drop: the day's net sentiment against the 28-day baseline, in units of the noise
  the baseline explains (binomial noise of today's scored posts plus the day-to-day spread).
* emerging_hashtag: a hashtag never seen in the topic in 28 days, used by several authors, or
  one growing far faster than its 28-day rate; evidence is its first posts of the day.
* emerging_term: the same for words (listening.metrics.terms of the posts' text, stop words
  aside), with higher floors on posts and accounts so that ordinary words do not fire.
* coordinated_copies (subject: a hash of the normalised text, no post text is kept): near-identical
  texts (Jaccard >= 0.5 of every pair, on hashed character 5-grams of the normalised text,
  single-link groups, in time-ordered blocks of 3,000 distinct texts) from many distinct accounts in a burst: at least
  half of the text's copies of the day (its posts' day-wide near-duplicate clusters) within a few
  hours.
* crisis_words: posts holding a word of the language's list (include/alerting/crisis_words.yml),
  per topic and hour, against their own 28-day rate.

Not built: influential amplification (it needs the authors dataset of the influence stage).
"""
from __future__ import annotations

import hashlib
import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from listening import lake
from listening.clean import fold
from listening.schema import ALERTS, MENTIONS, METRICS_HOURLY

log = logging.getLogger(__name__)

HISTORY_DAYS = 28
MIN_HISTORY_DAYS = 7   # detectors stay silent until a topic has this many days of history
REPO = Path(__file__).resolve().parents[2]
CRISIS_WORDS = REPO / "include" / "alerting" / "crisis_words.yml"
SEVERITY_RANK = {"green": 0, "amber": 1, "red": 2}
DETECTORS = ("volume_spike", "sentiment_drop", "emerging_hashtag", "emerging_term", "coordinated_copies",
             "crisis_words")
MENTION_COLUMNS = ["post_id", "created_at", "author_key", "text", "hashtags", "lang", "topics", "sentiment_label",
                   "is_repost", "engagement", "cluster_id"]  # what the detectors read of the mentions


@dataclass(frozen=True)
class Thresholds:
    # volume spike (per hour)
    volume_dispersion: float = 5.0     # negative binomial size: variance = mu + mu^2 / size
    volume_min_baseline: float = 1.0   # expected posts per hour never below this
    volume_min_posts: int = 10         # an hour with fewer posts never fires
    volume_min_excess: float = 8.0     # nor one with fewer extra posts than this
    volume_min_ratio: float = 2.0      # nor one under twice its baseline
    volume_scores: tuple = (4.0, 6.0, 10.0)   # -log10 p for green, amber, red
    volume_red_posts: int = 25         # red also needs this many posts in the hour
    # sentiment drop (per day)
    sentiment_min_scored: int = 20
    sentiment_min_drop: float = 0.15
    sentiment_z: tuple = (3.0, 4.5, 7.0)
    sentiment_red_drop: float = 0.35
    # emerging hashtag (per day)
    hashtag_min_posts: int = 3
    hashtag_min_authors: int = 3
    hashtag_growth: float = 5.0        # today vs (mean daily use over 28 days + 1)
    hashtag_growth_min_posts: int = 10
    # emerging term (per day): words are far more common than hashtags, hence higher floors
    term_min_posts: int = 8
    term_min_authors: int = 6
    term_growth: float = 5.0
    term_growth_min_posts: int = 20
    # coordinated copies
    copies_jaccard: float = 0.5
    copies_min_posts: int = 10
    copies_burst_share: float = 0.5    # of the text's copies of the day, inside the densest window
    copies_min_authors: int = 8
    copies_window_hours: int = 3
    copies_severity_authors: tuple = (8, 15, 30)
    # crisis words (per hour)
    crisis_min_posts: int = 5
    crisis_min_authors: int = 3
    crisis_scores: tuple = (4.0, 6.0, 10.0)
    crisis_red_posts: int = 15
    crisis_min_history_days: int = 7  # fewer days of history: the day's own median hour is a floor too


DEFAULT = Thresholds()


# ---- ids, rows -------------------------------------------------------------------------------

def alert_id(topic: str, detector: str, window_start: datetime, subject: str | None = None) -> str:
    """Stable across runs: the topic, the detector, what it is about and where its window starts.

    The start, not the end: a window grows while an issue runs (13:00-14:00 seen by the hourly
    path, 13:00-17:00 by the nightly run), and it is still the same issue.
    """
    ws = window_start.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    key = "|".join([topic, detector, fold(subject or ""), ws])
    return "al-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _severity(score: float, cuts: tuple) -> str | None:
    if score >= cuts[2]:
        return "red"
    if score >= cuts[1]:
        return "amber"
    if score >= cuts[0]:
        return "green"
    return None


def _row(topic, detector, severity, score, ws, we, title, evidence, post_ids, subject=None,
         observed=None, expected=None) -> dict:
    return {"alert_id": alert_id(topic, detector, ws, subject), "topic": topic, "detector": detector,
            "severity": severity, "score": round(float(score), 3), "window_start": ws, "window_end": we,
            "title": title, "evidence": evidence, "evidence_post_ids": list(post_ids), "subject": subject,
            "observed": None if observed is None else float(observed),
            "expected": None if expected is None else round(float(expected), 3)}


def _top_posts(df: pd.DataFrame, n: int = 5, by: str = "engagement") -> list[str]:
    if df.empty:
        return []
    return df.sort_values([by, "created_at", "post_id"], ascending=[False, True, True])["post_id"].head(n).tolist()


def _hour_label(ts: datetime) -> str:
    return ts.strftime("%H:%M UTC")


# ---- words shown to people (titles and one-sentence reasons), per digest language ----------------

LANGUAGES = ("fr", "en")
MESSAGES = {
    "en": {
        "volume_title": "Volume spike: {obs} posts in {hours} h ({ratio}x usual)",
        "volume_why": "{obs} posts in {hours} hour{s} where about {exp} are usual for these hours of the day "
                      "and this day of the week.",
        "sentiment_title": "Sentiment drop: net {net} against {base} usually",
        "sentiment_why": "{neg} of the {scored} scored posts are negative where {base_neg} is usual; net sentiment "
                         "{net} is {z} standard deviations below its 28-day level.",
        "hashtag_new_title": "New hashtag #{tag}: {n} posts by {authors} accounts",
        "hashtag_new_why": "#{tag} appears in {n} posts by {authors} accounts today and in none of the topic's "
                           "posts of the previous {days} days; its first posts are below.",
        "hashtag_grow_title": "Hashtag #{tag} growing: {n} posts today, {rate} a day before",
        "hashtag_grow_why": "#{tag} is in {n} posts today against {rate} a day over the previous {days} days "
                            "({ratio}x).",
        "term_new_title": "New word \u201c{tag}\u201d: {n} posts by {authors} accounts",
        "term_new_why": "The word \u201c{tag}\u201d appears in {n} posts by {authors} accounts today and in none "
                        "of the topic's posts of the previous {days} days; its first posts are below.",
        "term_grow_title": "Word \u201c{tag}\u201d growing: {n} posts today, {rate} a day before",
        "term_grow_why": "The word \u201c{tag}\u201d is in {n} posts today against {rate} a day over the previous "
                         "{days} days ({ratio}x); its first posts are below.",
        "with_words": "Seen in the same posts: {words}.",
        "copies_title": "Coordinated copies: {n} near-identical posts from {authors} accounts",
        "copies_why": "{authors} accounts posted {n} near-identical texts within {minutes} minutes "
                      "(the posts below show the text).",
        "crisis_title": "Crisis words: {n} posts in {hours} h",
        "crisis_why": "{n} posts by {authors} accounts use crisis words (accident, evacuation, threat\u2026) where "
                      "{exp} would be usual for the topic.",
    },
    "fr": {
        "volume_title": "Pic de volume : {obs} messages en {hours} h ({ratio} fois la normale)",
        "volume_why": "{obs} messages en {hours} heure{s}, alors qu'environ {exp} sont habituels \u00e0 ces heures "
                      "et ce jour de la semaine.",
        "sentiment_title": "Le ton se d\u00e9grade : solde {net} contre {base} d'habitude",
        "sentiment_why": "{neg} des {scored} messages \u00e9valu\u00e9s sont n\u00e9gatifs, contre {base_neg} "
                         "d'habitude ; le solde du ton ({net}) est {z} \u00e9carts-types sous son niveau des "
                         "28 derniers jours.",
        "hashtag_new_title": "Nouveau hashtag #{tag} : {n} messages de {authors} comptes",
        "hashtag_new_why": "#{tag} appara\u00eet aujourd'hui dans {n} messages de {authors} comptes, et dans aucun "
                           "message du sujet des {days} jours pr\u00e9c\u00e9dents ; ses premiers messages sont "
                           "ci-dessous.",
        "hashtag_grow_title": "Hashtag #{tag} en forte hausse : {n} messages aujourd'hui, {rate} par jour avant",
        "hashtag_grow_why": "#{tag} figure dans {n} messages aujourd'hui, contre {rate} par jour sur les {days} "
                            "jours pr\u00e9c\u00e9dents ({ratio} fois plus).",
        "term_new_title": "Nouveau mot \u00ab {tag} \u00bb : {n} messages de {authors} comptes",
        "term_new_why": "Le mot \u00ab {tag} \u00bb appara\u00eet aujourd'hui dans {n} messages de {authors} "
                        "comptes, et dans aucun message du sujet des {days} jours pr\u00e9c\u00e9dents ; ses "
                        "premiers messages sont ci-dessous.",
        "term_grow_title": "Mot \u00ab {tag} \u00bb en forte hausse : {n} messages aujourd'hui, {rate} par jour "
                           "avant",
        "term_grow_why": "Le mot \u00ab {tag} \u00bb figure dans {n} messages aujourd'hui, contre {rate} par jour "
                         "sur les {days} jours pr\u00e9c\u00e9dents ({ratio} fois plus) ; ses premiers messages "
                         "sont ci-dessous.",
        "with_words": "Vus dans les m\u00eames messages : {words}.",
        "copies_title": "Copies coordonn\u00e9es : {n} messages quasi identiques de {authors} comptes",
        "copies_why": "{authors} comptes ont publi\u00e9 {n} textes quasi identiques en {minutes} minutes "
                      "(les messages ci-dessous montrent le texte).",
        "crisis_title": "Mots de crise : {n} messages en {hours} h",
        "crisis_why": "{n} messages de {authors} comptes emploient des mots de crise (accident, \u00e9vacuation, "
                      "menace\u2026), alors que {exp} seraient habituels pour ce sujet.",
    },
}


def language(lang: str | None) -> str:
    """The language alerts are written in: fr or en (anything else falls back to English)."""
    return lang if lang in LANGUAGES else "en"


def num(x: float, fmt: str, lang: str = "en") -> str:
    """A number as the language writes it: 1.5 / 1,5; 77% / 77 %; +0.12 / +0,12."""
    s = format(x, fmt)
    if language(lang) == "fr":
        s = s.replace(".", ",").replace("%", "\u00a0%")
    return s


def msg(lang: str, key: str, **kw) -> str:
    return MESSAGES[language(lang)][key].format(**kw)


# ---- history ---------------------------------------------------------------------------------

def _read_columns(path: Path, columns: list[str]) -> pa.Table:
    return lake.read_table(path, columns=columns)


def read_history(root: Path, day: date, ds, columns: list[str], days: int = HISTORY_DAYS) -> tuple[pd.DataFrame, list[date]]:
    """The dataset's rows of the `days` days before `day` (published partitions), and which days exist."""
    frames, present = [], []
    for k in range(days, 0, -1):
        d = day - timedelta(days=k)
        p = lake.partition_dir(root, ds, dt=d) / lake.PART
        if p.exists():
            frames.append(_read_columns(p, columns).to_pandas())
            present.append(d)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return df, present


TOKEN_COLUMNS = ["topic", "kind", "token", "posts"]


KINDS = ("hashtag", "term", "crisis")


def token_counts(mentions: pd.DataFrame, kinds: tuple[str, ...] = KINDS) -> pd.DataFrame:
    """What the emerging-issue detectors remember of a day (the topic_tokens dataset): per topic, the
    posts using each hashtag (kind "hashtag"), each word ("term", listening.metrics.terms) and the
    posts holding a crisis word ("crisis", token "").

    Counted in Arrow, not as a row per post, topic and word: at 250,000 posts those rows were
    most of detect_day's memory."""
    if mentions.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "posts" else object) for c in TOKEN_COLUMNS})
    topics = _lists(mentions["topics"])
    out = []
    for kind in ("hashtag", "term"):
        if kind in kinds:
            tokens = _lists(mentions["hashtags"]) if kind == "hashtag" else _terms(mentions)
            c = _posts_per_token(topics, tokens)
            out.append(pa.table({"topic": c["topic"], "kind": pa.repeat(kind, c.num_rows), "token": c["token"],
                                 "posts": c["posts"]}))
    if "crisis" in kinds:
        flags = mentions["crisis"].to_numpy(dtype=bool) if "crisis" in mentions.columns else crisis_flags(mentions)
        rows, topic = _items(topics)
        c = pc.value_counts(topic.filter(flags[rows.to_numpy()]))
        out.append(pa.table({"topic": c.field(0), "kind": pa.repeat("crisis", len(c)), "token": pa.repeat("", len(c)),
                             "posts": c.field(1)}))
    frame = pa.concat_tables(out).to_pandas()
    return frame.sort_values(["topic", "kind", "token"], ignore_index=True)


PART_ROWS = 25_000  # posts counted at a time: the counts' memory is a part's, whatever the day's size


def _lists(values) -> pa.Array:
    """A column of lists of strings (pandas: lists or arrays, or Arrow-backed; or Arrow) as one Arrow array."""
    a = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, pa.list_(pa.string()))
    if isinstance(a, pa.ChunkedArray):
        return a.chunk(0) if a.num_chunks == 1 else a.combine_chunks()
    return a


def _items(lists: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(row, item) of every item of every row's list, null items aside."""
    rows, items = pc.list_parent_indices(lists), pc.list_flatten(lists)
    keep = pc.is_valid(items)
    return rows.filter(keep), items.filter(keep)


def _uses(topics: pa.Array, tokens: pa.Array, part: int = PART_ROWS):
    """(first row, table of (row, topic, token)) of consecutive parts of the rows (posts): each token
    of a row once, for each topic of the row (a post in two topics counts in both). `topics` and
    `tokens` hold a list per row."""
    for lo in range(0, max(1, len(tokens)), part):
        topic_rows, topic = _items(topics.slice(lo, part))
        rows, items = _items(tokens.slice(lo, part))
        token = pc.dictionary_encode(items)
        once = pa.table({"row": rows, "token": token.indices}).group_by(["row", "token"]).aggregate([])
        uses = once.join(pa.table({"row": topic_rows, "topic": topic}), "row", join_type="inner")
        yield lo, pa.table({"row": uses["row"], "topic": uses["topic"], "token": token.dictionary.take(uses["token"])})


def _posts_per_token(topics: pa.Array, tokens: pa.Array, part: int = PART_ROWS) -> pa.Table:
    """(topic, token, posts): the rows (posts) using each token in each topic (see _uses), counted a
    part at a time and summed."""
    counts = [u.group_by(["topic", "token"]).aggregate([("row", "count")]) for _, u in _uses(topics, tokens, part)]
    c = pa.concat_tables(counts).group_by(["topic", "token"]).aggregate([("row_count", "sum")])
    return pa.table({"topic": c["topic"], "token": c["token"], "posts": c["row_count_sum"]})


def history_tokens(root: Path, day: date, days: int = HISTORY_DAYS,
                   kinds: tuple[str, ...] = KINDS) -> tuple[pd.DataFrame, list[date]]:
    """The topic_tokens of the `days` days before `day` (published mentions), summed, and which days
    exist. A day published before topic_tokens existed is counted from its mentions, one day's
    texts in memory at a time."""
    from listening.schema import TOPIC_TOKENS

    frames, present = [], []
    for k in range(days, 0, -1):
        d = day - timedelta(days=k)
        p = lake.partition_dir(root, MENTIONS, dt=d) / lake.PART
        if not p.exists():
            continue
        present.append(d)
        counted = lake.partition_dir(root, TOPIC_TOKENS, dt=d) / lake.PART
        if counted.exists():
            t = lake.read_table(counted).to_pandas()
            frames.append(t[t["kind"].isin(kinds)])
        else:
            cols = ["topics", "hashtags"] + (["text", "lang"] if set(kinds) - {"hashtag"} else [])
            frames.append(token_counts(_read_columns(p, cols).to_pandas(), kinds))
    if not frames:
        return token_counts(pd.DataFrame()), present
    past = pd.concat(frames, ignore_index=True).groupby(["topic", "kind", "token"], as_index=False)["posts"].sum()
    return past[TOKEN_COLUMNS], present


def _past(past: pd.DataFrame, kind: str) -> dict[tuple[str, str], int]:
    if past is None or past.empty:
        return {}
    p = past[past["kind"] == kind]
    return dict(zip(zip(p["topic"], p["token"]), p["posts"].astype(int)))


def explode_topics(mentions: pd.DataFrame) -> pd.DataFrame:
    if mentions.empty:
        return mentions.assign(topic=pd.Series(dtype=object))
    df = mentions.explode("topics").rename(columns={"topics": "topic"})
    return df[df["topic"].notna()]


# ---- volume spike ----------------------------------------------------------------------------

def _nb_logsf(count: np.ndarray, mu: np.ndarray, size: float) -> np.ndarray:
    """-log10 P(X >= count) for X negative binomial with mean mu and the given size."""
    from scipy.stats import nbinom

    p = size / (size + mu)
    sf = nbinom.logsf(count - 1, size, p)
    return -sf / math.log(10)


def hourly_baseline(history: pd.DataFrame, present: list[date], day: date) -> dict[str, np.ndarray]:
    """Expected posts per UTC hour of `day`, per topic: hour-of-day profile x day-of-week factor.

    `history` holds metrics_hourly rows (topic, hour, posts) of the `present` days; an hour
    without a row had no post. Each hour's profile is the mean of the hour and its neighbours
    (weights 1/4, 1/2, 1/4) over the days, which steadies sparse counts and absorbs the hour
    the daylight-saving change moves. The weekday factor is the ratio of that weekday's mean
    daily total to the overall mean, shrunk towards 1 by two pseudo-days.
    """
    out: dict[str, np.ndarray] = {}
    if len(present) < MIN_HISTORY_DAYS or history.empty:
        return out
    idx = {d: i for i, d in enumerate(present)}
    h = history.copy()
    h["hour"] = pd.to_datetime(h["hour"], utc=True)
    h["d"] = h["hour"].dt.date
    h = h[h["d"].isin(idx)]
    for topic, g in h.groupby("topic"):
        grid = np.zeros((len(present), 24))
        grid[[idx[d] for d in g["d"]], g["hour"].dt.hour.to_numpy()] = g["posts"].to_numpy()
        profile = grid.mean(axis=0)
        smooth = 0.5 * profile + 0.25 * np.roll(profile, 1) + 0.25 * np.roll(profile, -1)
        totals = grid.sum(axis=1)
        mean_total = totals.mean()
        same = [i for i, d in enumerate(present) if d.weekday() == day.weekday()]
        k = 2.0
        factor = ((totals[same].sum() + k * mean_total) / ((len(same) + k) * mean_total)) if mean_total > 0 else 1.0
        out[topic] = smooth * factor
    return out


def detect_volume(hourly_today: pd.DataFrame, baseline: dict[str, np.ndarray], mentions: pd.DataFrame,
                  day: date, th: Thresholds = DEFAULT, lang: str = "en") -> list[dict]:
    """Hours whose posts the baseline cannot explain; neighbouring flagged hours make one alert."""
    alerts = []
    if hourly_today.empty:
        return alerts
    hourly_today = hourly_today.copy()
    hourly_today["hour"] = pd.to_datetime(hourly_today["hour"], utc=True)
    by_topic = explode_topics(mentions)
    for topic, g in hourly_today.groupby("topic"):
        counts = np.zeros(24)
        counts[g["hour"].dt.hour.to_numpy()] = g["posts"].to_numpy()
        if topic not in baseline:
            continue  # no history yet: nothing to compare with
        mu = np.maximum(baseline[topic], th.volume_min_baseline)
        # Windows of 1 to 3 hours ending at each hour: a burst spread over hours is seen in its first.
        score = np.zeros(24)
        flagged = np.zeros(24, dtype=bool)
        for k in (1, 2, 3):
            for end in range(k - 1, 24):
                sl = slice(end - k + 1, end + 1)
                c, m = counts[sl].sum(), mu[sl].sum()
                if c < th.volume_min_posts or c - m < th.volume_min_excess or c < th.volume_min_ratio * m:
                    continue
                if k > 1 and (counts[sl] < 1.5 * mu[sl]).any():
                    continue  # a window of hours counts only when each of its hours is up
                s = float(_nb_logsf(np.array([c]), np.array([m]), th.volume_dispersion * k)[0])
                if s >= th.volume_scores[0]:
                    flagged[sl] = True
                    score[sl] = np.maximum(score[sl], s)
        hours = np.flatnonzero(flagged)
        groups: list[list[int]] = []
        for hr in hours:
            if groups and hr == groups[-1][-1] + 1:
                groups[-1].append(hr)
            else:
                groups.append([hr])
        posts = by_topic[by_topic["topic"] == topic] if not by_topic.empty else by_topic
        for grp in groups:
            ws = datetime.combine(day, time(grp[0]), tzinfo=timezone.utc)
            we = ws + timedelta(hours=len(grp))
            top = max(score[grp])
            sev = _severity(top, th.volume_scores)
            if sev == "red" and counts[grp].max() < th.volume_red_posts:
                sev = "amber"
            obs, exp = counts[grp].sum(), mu[grp].sum()
            win = posts[(posts["created_at"] >= ws) & (posts["created_at"] < we)] if not posts.empty else posts
            alerts.append(_row(
                topic, "volume_spike", sev, top, ws, we,
                msg(lang, "volume_title", obs=int(obs), hours=len(grp), ratio=num(obs / exp, ".1f", lang)),
                msg(lang, "volume_why", obs=int(obs), hours=len(grp), s="s" if len(grp) > 1 else "",
                    exp=num(exp, ".0f", lang)),
                _top_posts(win), observed=obs, expected=exp))
    return alerts


# ---- sentiment drop --------------------------------------------------------------------------

def detect_sentiment(daily_today: pd.DataFrame, daily_history: pd.DataFrame, mentions: pd.DataFrame,
                     day: date, th: Thresholds = DEFAULT, lang: str = "en") -> list[dict]:
    """Net sentiment of the day below what the baseline's noise explains."""
    alerts = []
    by_topic = explode_topics(mentions)
    for _, r in daily_today.iterrows():
        topic = r["topic"]
        scored = int(r["positive"] + r["neutral"] + r["negative"])
        if scored < th.sentiment_min_scored:
            continue
        hist = daily_history[daily_history["topic"] == topic]
        hs = hist["positive"] + hist["neutral"] + hist["negative"]
        hist, hs = hist[hs > 0], hs[hs > 0]
        if hs.sum() < 3 * th.sentiment_min_scored or len(hist) < MIN_HISTORY_DAYS:
            continue
        p_pos, p_neg = hist["positive"].sum() / hs.sum(), hist["negative"].sum() / hs.sum()
        base = p_pos - p_neg
        unit = p_pos + p_neg - base ** 2          # variance of one post's (+1, 0, -1)
        nets = (hist["positive"] - hist["negative"]) / hs
        extra = max(0.0, float(nets.var(ddof=1)) - float((unit / hs).mean())) if len(hist) > 1 else 0.0
        net = (r["positive"] - r["negative"]) / scored
        z = (base - net) / math.sqrt(unit / scored + extra + 1e-9)
        drop = base - net
        if drop < th.sentiment_min_drop:
            continue
        sev = _severity(z, th.sentiment_z)
        if sev is None:
            continue
        if sev == "red" and drop < th.sentiment_red_drop:
            sev = "amber"
        ws = datetime.combine(day, time(0), tzinfo=timezone.utc)
        posts = by_topic[(by_topic["topic"] == topic) & (by_topic["sentiment_label"] == "negative")] \
            if not by_topic.empty else by_topic
        neg_share = r["negative"] / scored
        base_neg = p_neg
        alerts.append(_row(
            topic, "sentiment_drop", sev, z, ws, ws + timedelta(days=1),
            msg(lang, "sentiment_title", net=num(net, "+.2f", lang), base=num(base, "+.2f", lang)),
            msg(lang, "sentiment_why", neg=num(neg_share, ".0%", lang), scored=scored,
                base_neg=num(base_neg, ".0%", lang), net=num(net, "+.2f", lang), z=num(z, ".1f", lang)),
            _top_posts(posts), observed=net, expected=base))
    return alerts


# ---- emerging hashtag ------------------------------------------------------------------------

def _emerging(today: pd.DataFrame, past_counts: dict, col: str, detector: str, history_days: int,
              day: date, min_posts: int, min_authors: int, growth: float, growth_min_posts: int,
              lang: str, group: bool = False) -> list[dict]:
    """Tokens (hashtags or words, one column of lists) new to a topic or growing far faster than before.

    `today` has one row per post and topic; `col` holds each post's tokens (each token counted once
    per post); `past_counts` the posts of each (topic, token) over the history. New: in >=
    min_posts posts by >= min_authors accounts and in none of the topic's posts of the history. Growing: >= growth_min_posts posts (and
    min_authors accounts) at >= growth x (28-day daily rate + 1). Evidence: the first posts.

    With `group`, tokens of a topic that mostly come in the same posts (half the posts of the
    smaller one are in the other's) make one alert, named after the most used one, the others
    listed in its reason: an event's new words arrive together and are one thing to read.
    """
    found = []
    # Only tokens with enough posts today are worth a look (words: most of them are not): counted in
    # Arrow, then a row per (post, topic, token) for those only, with the columns read below.
    topic = pa.array(today["topic"], pa.string())
    topics = pa.ListArray.from_arrays(pa.array(np.arange(len(topic) + 1, dtype=np.int32)), topic)  # one a row
    tokens = _lists(today[col])
    counts = _posts_per_token(topics, tokens)
    wanted = counts.filter(pc.field("posts") >= min_posts).select(["topic", "token"])
    picked = []
    for lo, u in _uses(topics, tokens):
        u = u.join(wanted, ["topic", "token"], join_type="left semi")
        picked.append(pa.table({"row": pc.add(u["row"], lo), "token": u["token"]}))
    picked = pa.concat_tables(picked).sort_by("row")
    today = today[[c for c in ("topic", "post_id", "author_key", "created_at") if c in today.columns]].iloc[
        picked["row"].to_numpy()].assign(**{col: picked["token"].to_pylist()})
    kind = "hashtag" if detector == "emerging_hashtag" else "term"
    for (topic, tok), g in today.groupby(["topic", col]):
        n, authors = len(g), g["author_key"].nunique()
        if authors < min_authors:
            continue
        before = past_counts.get((topic, tok), 0)
        rate = before / max(1, history_days)
        first = g.sort_values(["created_at", "post_id"])
        ws = first["created_at"].iloc[0].to_pydatetime().replace(minute=0, second=0, microsecond=0)
        we = datetime.combine(day + timedelta(days=1), time(0), tzinfo=timezone.utc)
        if before == 0:
            sev = "amber" if authors >= 10 else "green"
            score = float(authors)
            title = msg(lang, f"{kind}_new_title", tag=tok, n=n, authors=authors)
            why = msg(lang, f"{kind}_new_why", tag=tok, n=n, authors=authors, days=history_days)
        elif n >= growth_min_posts and n >= growth * (rate + 1):
            sev = "amber" if n >= 2 * growth * (rate + 1) and authors >= 10 else "green"
            score = n / (rate + 1)
            title = msg(lang, f"{kind}_grow_title", tag=tok, n=n, rate=num(rate, ".1f", lang))
            why = msg(lang, f"{kind}_grow_why", tag=tok, n=n, rate=num(rate, ".1f", lang), days=history_days,
                      ratio=num(score, ".0f", lang))
        else:
            continue
        found.append((topic, tok, n, set(g["post_id"]), _row(
            topic, detector, sev, score, ws, we, title, why, first["post_id"].head(5).tolist(),
            subject=("#" + tok) if kind == "hashtag" else tok, observed=n, expected=rate)))
    if not group:
        return [f[4] for f in found]
    alerts = []
    found.sort(key=lambda f: (f[0], -f[2], f[1]))
    groups: list[list] = []
    for f in found:
        for grp in groups:
            lead = grp[0]
            if lead[0] == f[0] and len(lead[3] & f[3]) >= 0.5 * min(len(lead[3]), len(f[3])):
                grp.append(f)
                break
        else:
            groups.append([f])
    for grp in groups:
        row = dict(grp[0][4])
        if len(grp) > 1:
            others = [f[1] for f in grp[1:]]
            shown = ", ".join(f"\u00ab {w} \u00bb" if language(lang) == "fr" else f"\u201c{w}\u201d" for w in others[:8])
            row["evidence"] += " " + msg(lang, "with_words", words=shown + ("\u2026" if len(others) > 8 else ""))
            worst = max(grp, key=lambda f: SEVERITY_RANK[f[4]["severity"]])[4]["severity"]
            row["severity"] = worst
        alerts.append(row)
    return alerts


def detect_hashtags(mentions: pd.DataFrame, past: pd.DataFrame, history_days: int, day: date,
                    th: Thresholds = DEFAULT, lang: str = "en") -> list[dict]:
    """Hashtags new to a topic (none in 28 days) or growing far faster than their 28-day rate."""
    today = explode_topics(mentions)
    if today.empty or history_days < MIN_HISTORY_DAYS:
        return []
    return _emerging(today, _past(past, "hashtag"), "hashtags", "emerging_hashtag", history_days, day, th.hashtag_min_posts,
                     th.hashtag_min_authors, th.hashtag_growth, th.hashtag_growth_min_posts, lang)


def _terms(posts: pd.DataFrame) -> pa.Array:
    """The words of each post (listening.metrics.terms) as an Arrow list array: its "terms" column
    when it has one (detect_day tokenises the day once), else from its texts."""
    from listening.metrics import terms_per_post

    if "terms" in posts.columns:
        return _lists(posts["terms"])
    return terms_per_post([t or "" for t in posts["text"]])


def _with_terms(posts: pd.DataFrame) -> pd.DataFrame:
    """The posts with their words as an Arrow-backed column (not a Python list per post)."""
    if "terms" in posts.columns:
        return posts
    return posts.assign(terms=pd.arrays.ArrowExtensionArray(_terms(posts)))


def detect_terms(mentions: pd.DataFrame, past: pd.DataFrame, history_days: int, day: date,
                 th: Thresholds = DEFAULT, lang: str = "en") -> list[dict]:
    """Words (listening.metrics.terms: stop words of FR/NL/EN/DE, hashtags, handles and links
    aside) new to a topic or growing far faster than their 28-day rate; same logic as hashtags
    with higher floors, so that ordinary words do not fire. Evidence: the word's first posts."""
    if mentions.empty or history_days < MIN_HISTORY_DAYS:
        return []
    today = explode_topics(_with_terms(mentions))
    return _emerging(today, _past(past, "term"), "terms", "emerging_term", history_days, day, th.term_min_posts,
                     th.term_min_authors, th.term_growth, th.term_growth_min_posts, lang, group=True)


# ---- coordinated copies ----------------------------------------------------------------------

_NORM_DROP = re.compile(r"https?://\S+|[@#]\w[\w.\-@]*|[^\w\s]|\d+|_", re.UNICODE)


def normalise_copy_text(text: str) -> str:
    """What copies share once the parts a campaign varies are gone: links, handles, tags, emoji, digits."""
    return " ".join(_NORM_DROP.sub(" ", fold(text)).split())


_COLS = (1 << 22) - 1
COPY_BLOCK = 3000  # distinct texts compared together (two halves)


def _similar(halves, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j), i < j, of distinct normalised texts with Jaccard >= threshold, the texts numbered
    in the order `halves` gives them (lists of texts, each a half block).

    Jaccard of the sets of character 5-grams (listening.dedupe's shingle hashes, folded to 22 bits),
    every pair through a sparse text x shingle product (no sampling: not MinHash), each half
    multiplied by itself and the half before it, so that no pair is computed twice. Only two halves
    are held at a time, whatever the day's size."""
    from scipy.sparse import csr_matrix, vstack

    from listening import dedupe

    edges_i, edges_j = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    prev, lo = None, 0                                 # the previous half: its matrix, sizes, offset
    for texts in halves:
        hi = lo + len(texts)
        hv, starts = dedupe.shingle_hashes(texts)
        row = np.repeat(np.arange(hi - lo, dtype=np.int32), np.diff(starts))
        # columns: the hashes folded to 22 bits (two 100-shingle texts share a column by chance with
        # odds ~ 2e-3: it can only tip a pair already on the 0.5 line)
        x = csr_matrix((np.ones(len(row), dtype=np.float32), (row, (hv & _COLS).astype(np.int32))),
                       shape=(hi - lo, _COLS + 1))
        x.sum_duplicates()
        x.data[:] = 1.0                                       # each shingle once per text
        size = np.diff(x.indptr).astype(np.float32)
        # this half against itself and the half before: every pair of a block of two halves, once
        both, both_size, base = (x, size, lo) if prev is None else \
            (vstack([prev[0], x], format="csr"), np.r_[prev[1], size], prev[2])
        inter = (x @ both.T).tocoo()
        r, c, v = inter.row, inter.col, inter.data
        keep = base + c < lo + r
        r, c, v = r[keep], c[keep], v[keep]
        union = size[r] + both_size[c] - v
        ok = (union > 0) & (v >= threshold * union) & (size[r] > 0) & (both_size[c] > 0)
        edges_i.append((base + c[ok]).astype(np.int64))
        edges_j.append((lo + r[ok]).astype(np.int64))
        prev, lo = (x, size, lo), hi
    return np.concatenate(edges_i), np.concatenate(edges_j)


def _halves(texts, half: int):
    """Lists of `half` texts (the last one shorter) from an iterable of lists of texts."""
    buf: list[str] = []
    for chunk in texts:
        buf.extend(chunk)
        while len(buf) >= half:
            yield buf[:half]
            buf = buf[half:]
    if buf:
        yield buf


def _groups(of: np.ndarray, m: int, ei: np.ndarray, ej: np.ndarray, member: np.ndarray) -> list[list[int]]:
    """Groups (indexes of texts) of texts whose distinct texts (`of`: each text's, `m` of them) are
    linked by the pairs (ei, ej), single-link; only the `member` texts, groups of two or more, in
    order of their first text."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    graph = csr_matrix((np.ones(len(ei), dtype=np.int8), (ei, ej)), shape=(m, m))
    labels = connected_components(graph, directed=False)[1][of]
    member = np.flatnonzero(member)
    order = np.argsort(labels[member], kind="stable")
    member, lab = member[order], labels[member][order]
    bounds = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1], True])
    spans = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b - a > 1]
    spans.sort(key=lambda ab: member[ab[0]])           # groups in order of their first text
    return [member[a:b].tolist() for a, b in spans]


def copy_groups(texts: list[str], threshold: float = 0.5, block: int = COPY_BLOCK) -> list[list[int]]:
    """Groups (indexes into texts) of near-identical texts: single-link on Jaccard >= threshold.

    Jaccard of the sets of character 5-grams of the normalised texts (listening.dedupe's
    normalisation), in blocks of `block` distinct texts overlapping by half (see _similar; texts
    are expected in time order: copies come close together). Identical normalised texts are one
    row, so a repeated sentence costs one. detect_day streams the same steps over the day's file
    (copy_alerts)."""
    from listening import dedupe

    if len(texts) < 2:
        return []
    norm = np.array(dedupe.normalise(texts), dtype=object)
    of, texts_d = pd.factorize(norm)                  # distinct texts in order of first use
    ei, ej = _similar(_halves([list(texts_d)], max(1, block // 2)), threshold)
    return _groups(of, len(texts_d), ei, ej, norm != "")


def copy_clusters(mentions: pd.DataFrame) -> np.ndarray:
    """Each post's near-duplicate cluster over the whole day: the mentions' `cluster_id`
    (listening.dedupe, MinHash, computed by merge_mentions and the hourly enrichment), or computed
    the same way for a frame without it."""
    if "cluster_id" in mentions.columns and mentions["cluster_id"].notna().all():
        return mentions["cluster_id"].to_numpy()
    from listening import dedupe

    return dedupe.clusters(mentions["post_id"], mentions["text"], mentions["created_at"],
                           mentions["author_key"])["cluster_id"]


def _densest(t: np.ndarray, span: np.timedelta64) -> tuple[int, int]:
    """(count, first index) of the densest stretch of sorted times `t` no longer than `span`."""
    ends = np.searchsorted(t, t + span, side="right")
    counts = ends - np.arange(len(t))
    lo = int(np.argmax(counts))
    return int(counts[lo]), lo


COPY_COLUMNS = ["post_id", "created_at", "author_key", "text", "topics", "is_repost", "cluster_id"]


def _hashes(values) -> np.ndarray:
    """64-bit hashes of a column's values: what the day's texts, authors and clusters are kept as
    (fixed width, not the strings); two values share one with odds ~ n^2 / 2^65 (1e-8 at 1M)."""
    return pd.util.hash_array(np.asarray(values, dtype=object))


def detect_copies(mentions: pd.DataFrame, day: date, th: Thresholds = DEFAULT, lang: str = "en") -> list[dict]:
    """Many accounts posting near-identical texts in a burst (reposts are not copies): copy_alerts
    over a frame of posts (the hourly check's, tests')."""
    if mentions.empty:
        return []
    posts = mentions.assign(cluster_id=copy_clusters(mentions))[COPY_COLUMNS].sort_values(["created_at", "post_id"])

    def read(columns):
        yield posts[columns]

    return copy_alerts(read, day, th, lang)


def copy_alerts(read, day: date, th: Thresholds = DEFAULT, lang: str = "en") -> list[dict]:
    """Many accounts posting near-identical texts in a burst (reposts are not copies).

    `read(columns)` gives the day's posts in (created_at, post_id) order as pandas frames, a part
    at a time; it is read two or three times (the texts' hashes and times; the distinct texts, to
    compare; the evidence of the few groups that fire), so what is held is fixed-width columns of
    the day and a block of texts, not the day's texts (detect_day streams the mentions file).

    A burst: the densest `copies_window_hours` of the text's day hold at least
    `copies_burst_share` of its copies. A sentence shared all day long (a headline, a slogan, a
    spam template) is not a campaign: on a simulated day of 300,000 posts the day's recurring
    sentences made 1,554 copy alerts before this test, none with it (docs/detection.md).
    """
    from listening import dedupe

    alerts = []
    # the day's posts that are not reposts, each as fixed-width values
    t_parts, text_parts, author_parts, has_author, cluster_parts, empty, rows = [], [], [], [], [], [], []
    at, unclustered = 0, False
    for part in read(["created_at", "author_key", "text", "is_repost", "cluster_id"]):
        keep = ~part["is_repost"].astype(bool).to_numpy()
        rows.append(at + np.flatnonzero(keep))
        at += len(part)
        part = part[keep]
        norm = np.array(dedupe.normalise(part["text"].tolist()), dtype=object)
        text_parts.append(_hashes(norm))
        empty.append(norm == "")
        t_parts.append(pd.to_datetime(part["created_at"], utc=True).to_numpy(dtype="datetime64[ns]"))
        has_author.append(part["author_key"].notna().to_numpy())
        author_parts.append(_hashes(part["author_key"]))
        cluster_parts.append(_hashes(part["cluster_id"]))
        unclustered = unclustered or bool(part["cluster_id"].isna().any())
    if not rows:
        return alerts
    rows = np.concatenate(rows)                     # each post's row in what `read` gives
    if len(rows) < 2:
        return alerts
    t_ns = np.concatenate(t_parts)
    author = pd.factorize(np.concatenate(author_parts))[0]
    author[~np.concatenate(has_author)] = -1        # no author: not counted
    cluster = pd.factorize(np.concatenate(cluster_parts))[0]
    if unclustered:  # mentions from before they had clusters: computed as then, over the day's texts
        whole = pd.concat(read(["post_id", "text", "created_at", "author_key"]), ignore_index=True)
        cluster = pd.factorize(copy_clusters(whole)[rows])[0]
        del whole
    in_cluster = np.bincount(cluster)
    of, distinct = pd.factorize(np.concatenate(text_parts))   # distinct texts in order of first use
    member = ~np.concatenate(empty)
    del t_parts, author_parts, cluster_parts, text_parts

    # the distinct texts, a half block at a time, read again from their first posts
    first = np.zeros(len(rows), dtype=bool)
    first[np.unique(of, return_index=True)[1]] = True

    def distinct_texts():
        at, k = 0, 0
        for part in read(["text"]):
            n = int(np.searchsorted(rows, at + len(part)))  # this part's posts: rows[k:n]
            mine = first[k:n]
            if mine.any():
                yield dedupe.normalise(part["text"].to_numpy()[rows[k:n][mine] - at].tolist())
            at, k = at + len(part), n

    ei, ej = _similar(_halves(distinct_texts(), max(1, COPY_BLOCK // 2)), th.copies_jaccard)
    span = np.timedelta64(th.copies_window_hours, "h")

    def accounts(idx: np.ndarray) -> int:
        a = author[idx]
        return len(np.unique(a[a >= 0]))

    fired = []
    for grp in _groups(of, len(distinct), ei, ej, member):
        if len(grp) < th.copies_min_posts:
            continue
        idx = np.asarray(grp)  # in time order, as the posts
        if accounts(idx) < th.copies_min_authors:
            continue
        # the text's copies of the whole day: its posts' day-wide clusters (the groups here are
        # found in time-ordered blocks, so a sentence repeated all day comes as pieces)
        day_copies = max(len(idx), int(in_cluster[np.unique(cluster[idx])].sum()))
        best, lo = _densest(t_ns[idx], span)
        if best < th.copies_min_posts or best < th.copies_burst_share * day_copies:
            continue
        authors = accounts(idx[lo:lo + best])
        if authors < th.copies_min_authors:
            continue
        fired.append((idx[lo:lo + best], best, authors))
    if not fired:
        return alerts

    # the evidence of the groups that fire: their dense posts' ids, topics and first text
    wanted = np.unique(rows[np.concatenate([dense for dense, _, _ in fired])])
    found: dict[int, tuple] = {}
    at = 0
    for part in read(["post_id", "text", "topics"]):
        lo, hi = np.searchsorted(wanted, [at, at + len(part)])
        for r in wanted[lo:hi]:
            found[int(r)] = (part["post_id"].iloc[r - at], part["text"].iloc[r - at], part["topics"].iloc[r - at])
        at += len(part)
    for dense, best, authors in fired:
        posts = [found[int(r)] for r in rows[dense]]
        cuts = th.copies_severity_authors
        sev = "red" if authors >= cuts[2] else "amber" if authors >= cuts[1] else "green"
        first_t, last_t = pd.Timestamp(t_ns[dense[0]], tz="UTC"), pd.Timestamp(t_ns[dense[-1]], tz="UTC")
        ws = first_t.to_pydatetime().replace(minute=0, second=0, microsecond=0)
        we = last_t.to_pydatetime().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        counts = defaultdict(int)
        for _, _, ts in posts:
            for tp in ([] if ts is None else ts):
                counts[tp] += 1
        # The subject names the text by a hash: alerts keep no post text (erasure removes evidence ids only).
        subject = "copies:" + hashlib.sha256(normalise_copy_text(posts[0][1]).encode()).hexdigest()[:12]
        minutes = max(1, round((last_t - first_t).total_seconds() / 60))
        for topic in sorted(counts):
            if counts[topic] < th.copies_min_posts:
                continue
            alerts.append(_row(
                topic, "coordinated_copies", sev, float(authors), ws, we,
                msg(lang, "copies_title", n=best, authors=authors),
                msg(lang, "copies_why", n=best, authors=authors, minutes=minutes),
                [p[0] for p in posts[:5]], subject=subject, observed=best, expected=None))
    return alerts


# ---- crisis words ----------------------------------------------------------------------------

@lru_cache(maxsize=4)
def crisis_patterns(path: str = str(CRISIS_WORDS)) -> dict[str, re.Pattern]:
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    out = {}
    for lang, words in data.items():
        alts = []
        for w in words or []:
            w = fold(str(w)).strip()
            star = w.endswith("*")
            body = re.escape(w.rstrip("*")).replace(r"\ ", r"\s+")
            alts.append(body + (r"\w*" if star else r"\b"))
        if alts:
            out[lang] = re.compile(r"(?<!\w)(?:" + "|".join(alts) + ")", re.UNICODE)
    return out


def crisis_flags(mentions: pd.DataFrame, path: str = str(CRISIS_WORDS)) -> np.ndarray:
    """Whether each post holds a crisis word of its language (all lists when the language is unknown)."""
    pats = crisis_patterns(path)
    flags = np.zeros(len(mentions), dtype=bool)
    for i, (text, lang) in enumerate(zip(mentions["text"], mentions["lang"])):
        t = fold(text)
        cands = [pats[lang]] if lang in pats else list(pats.values())
        flags[i] = any(p.search(t) for p in cands)
    return flags


def detect_crisis(mentions: pd.DataFrame, past: pd.DataFrame, history_days: int, day: date,
                  th: Thresholds = DEFAULT, path: str = str(CRISIS_WORDS), lang: str = "en",
                  last: datetime | None = None) -> list[dict]:
    """Hours where posts with crisis words outnumber what the topic's own 28 days explain.

    `last`: the day's last post (the hours so far end with its hour), when `mentions` are one
    topic's; else their own last."""
    alerts = []
    today = explode_topics(mentions)
    if today.empty:
        return alerts
    if "crisis" not in today.columns or path != str(CRISIS_WORDS):
        today = today.assign(crisis=crisis_flags(today, path))
    today = today[today["crisis"] & ~today["is_repost"]]
    if today.empty:
        return alerts
    rate = {}
    if history_days:  # past: token_counts with this crisis word list
        rate = {topic: n / (24 * history_days) for (topic, _), n in _past(past, "crisis").items()}
    today["h"] = pd.to_datetime(today["created_at"], utc=True).dt.floor("h")
    # the hours of the day so far (the hourly check sees the day up to the hour just ended)
    last = (pd.to_datetime(mentions["created_at"], utc=True).max() if last is None else pd.Timestamp(last)).floor("h")
    elapsed = pd.date_range(pd.Timestamp(day, tz="UTC"), last, freq="h")
    for topic, g in today.groupby("topic"):
        base = max(rate.get(topic, 0.0), 0.1)
        per_hour = g.groupby("h").size()
        if history_days < th.crisis_min_history_days:
            # Too few days to know the topic's usual rate: the median of its other hours so far stands in
            # too, so a busy topic where crisis words are common is not red all day on its first nights
            # (nor in the hourly e-mails); an hour far above the rest of its day still stands out.
            counts = per_hour.reindex(elapsed, fill_value=0).to_numpy()
            others = {h: float(np.median(np.delete(counts, i))) for i, h in enumerate(elapsed) if len(counts) > 1}
        else:
            others = {}
        flagged = []
        for h, gh in g.groupby("h"):
            n, authors = len(gh), gh["author_key"].nunique()
            if n < th.crisis_min_posts or authors < th.crisis_min_authors:
                continue
            mu = max(base, others.get(h, 0.0))
            s = float(_nb_logsf(np.array([n]), np.array([mu]), 2.0)[0])
            if s >= th.crisis_scores[0]:
                flagged.append((h, n, authors, s, gh, mu))
        if not flagged:
            continue
        # one alert per run of neighbouring hours
        runs: list[list] = []
        for f in flagged:
            if runs and f[0] - runs[-1][-1][0] == pd.Timedelta(hours=1):
                runs[-1].append(f)
            else:
                runs.append([f])
        for rn in runs:
            ws = rn[0][0].to_pydatetime()
            we = rn[-1][0].to_pydatetime() + timedelta(hours=1)
            n = sum(f[1] for f in rn)
            score = max(f[3] for f in rn)
            sev = _severity(score, th.crisis_scores)
            if sev == "red" and max(f[1] for f in rn) < th.crisis_red_posts:
                sev = "amber"
            posts = pd.concat([f[4] for f in rn])
            expected = sum(f[5] for f in rn)
            alerts.append(_row(
                topic, "crisis_words", sev, score, ws, we,
                msg(lang, "crisis_title", n=n, hours=len(rn)),
                msg(lang, "crisis_why", n=n, authors=posts["author_key"].nunique(), exp=num(expected, ".1f", lang)),
                _top_posts(posts), observed=n, expected=expected))
    return alerts


# ---- the day ---------------------------------------------------------------------------------

def detect(day: date, mentions: pd.DataFrame, hourly_today: pd.DataFrame, daily_today: pd.DataFrame,
           hourly_history: pd.DataFrame, hourly_days: list[date], daily_history: pd.DataFrame,
           past_tokens: pd.DataFrame, mention_days: int, th: Thresholds = DEFAULT,
           detectors: tuple[str, ...] | None = None, lang: str = "en", last: datetime | None = None) -> list[dict]:
    """Every detector over one day; alert rows sorted by window and id, one per alert id.

    Titles and reasons are written in `lang` (fr or en: the digest language). `last`: the day's
    last post, when `mentions` are a part of the day (detect_crisis)."""
    want = set(detectors or DETECTORS)
    out: list[dict] = []
    if "volume_spike" in want:
        out += detect_volume(hourly_today, hourly_baseline(hourly_history, hourly_days, day), mentions, day, th,
                             lang=lang)
    if "sentiment_drop" in want:
        out += detect_sentiment(daily_today, daily_history, mentions, day, th, lang=lang)
    if "emerging_hashtag" in want:
        out += detect_hashtags(mentions, past_tokens, mention_days, day, th, lang=lang)
    if "emerging_term" in want:
        out += detect_terms(mentions, past_tokens, mention_days, day, th, lang=lang)
    if "coordinated_copies" in want:
        out += detect_copies(mentions, day, th, lang=lang)
    if "crisis_words" in want:
        out += detect_crisis(mentions, past_tokens, mention_days, day, th, lang=lang, last=last)
    return _one_per_id(out)


def _one_per_id(out: list[dict]) -> list[dict]:
    """Alert rows sorted by window and id, the highest score of each alert id."""
    unique = {}
    for a in out:
        if a["alert_id"] not in unique or a["score"] > unique[a["alert_id"]]["score"]:
            unique[a["alert_id"]] = a
    return sorted(unique.values(), key=lambda a: (a["window_start"], a["alert_id"]))


def inputs_from_lake(root: Path, day: date, mentions: pa.Table, hourly: pa.Table, daily: pa.Table) -> dict:
    """The detector inputs of a day held whole (the hourly check's, small): its own tables and 28
    days of history. The nightly run streams its mentions instead (detect_topics)."""
    return {"day": day, "mentions": mentions.select(MENTION_COLUMNS).to_pandas(),
            "hourly_today": hourly.select(["topic", "hour", "posts"]).to_pandas(),
            "daily_today": daily.select(["topic", "positive", "neutral", "negative"]).to_pandas(),
            **history_of(root, day)}


def detect_with_tokens(inputs: dict, lang: str = "en") -> tuple[list[dict], pd.DataFrame]:
    """The day's alerts and its topic_tokens, from inputs_from_lake's inputs (the day's words and
    crisis flags computed once, for both)."""
    m = _with_terms(inputs["mentions"])
    m = m.assign(crisis=crisis_flags(m))
    return detect(**{**inputs, "mentions": m}, lang=lang), token_counts(m)


def _staged_or_published(run, ds, columns: list[str] | None = None) -> pa.Table:
    """The day's partition, staged by this run or else published; only `columns` when given."""
    return lake.read_file(_day_file(run, ds), ds, columns)


def _day_file(run, ds):
    """The file of the day's partition, staged by this run or else published."""
    p = lake.stage_path(run.lake, run.day, ds, dt=run.day)
    if not p.exists():
        p = lake.partition_dir(run.lake, ds, dt=run.day) / lake.PART
    if not p.exists():
        raise FileNotFoundError(f"{lake.stage_path(run.lake, run.day, ds, dt=run.day)}: {ds.name} of {run.day} is "
                                f"neither staged nor published; run compute_metrics first")
    return p


BATCH_ROWS = 65_536  # mentions read at a time by detect_day


def _parts(path, columns: list[str]):
    """The mentions file's `columns` as Arrow tables of BATCH_ROWS rows, in the file's order, which
    must be the day's (created_at, post_id): copy_alerts relies on it."""
    sort = list(MENTIONS.sort)
    tail = None  # the previous part's last keys
    for batch in lake.iter_batches(path, BATCH_ROWS, list(dict.fromkeys(columns + sort))):
        t = pa.Table.from_batches([batch])
        keys = t.select(sort)
        if not lake.in_order(MENTIONS, keys if tail is None else pa.concat_tables([tail, keys])):
            raise ValueError(f"{path}: the mentions are not in (created_at, post_id) order; "
                             f"re-run merge_mentions for the day")
        tail = keys.slice(keys.num_rows - 1) if keys.num_rows else tail
        for c in columns:  # a column an older lake lacks reads as nulls, as with lake.read_file
            if c not in t.column_names:
                kind = MENTIONS.schema.field(c).type
                t = t.append_column(pa.field(c, kind), pa.nulls(t.num_rows, kind))
        yield t.select(columns)


def _reader(path):
    """read(columns): the mentions file's rows as pandas frames, a part at a time (see _parts)."""
    def read(columns):
        for t in _parts(path, columns):
            yield t.to_pandas()
    return read


def _day_topics(path) -> tuple[list[str], datetime | None]:
    """The topics of the day's mentions and the day's last post."""
    topics, last = set(), None
    for t in _parts(path, ["topics", "created_at"]):
        topics.update(pc.unique(pc.list_flatten(t["topics"])).drop_null().to_pylist())
        m = pc.max(t["created_at"]).as_py()
        last = m if last is None or (m is not None and m > last) else last
    return sorted(topics), last


def _topic_mentions(path, topic: str) -> pd.DataFrame:
    """The day's mentions of one topic, their `topics` just [topic]: what the detectors of a topic
    read (a post in two topics is in both topics' frames, counted in each as before)."""
    parts = []
    for t in _parts(path, MENTION_COLUMNS):
        rows, items = _items(_lists(t["topics"]))
        mine = pc.unique(rows.filter(pc.equal(items, topic)))
        if len(mine):
            part = t.take(mine).to_pandas()
            parts.append(part.assign(topics=[np.array([topic], dtype=object)] * len(part)))
    return pd.concat(parts, ignore_index=True) if parts else _no_mentions()


def _no_mentions() -> pd.DataFrame:
    return MENTIONS.schema.empty_table().select(MENTION_COLUMNS).to_pandas()


def detect_topics(day: date, path, hourly: pd.DataFrame, daily: pd.DataFrame, history: dict,
                  lang: str = "en") -> tuple[list[dict], pd.DataFrame]:
    """The day's alerts and topic_tokens from its mentions file read a part at a time: the copies
    over the whole day (copy_alerts: fixed-width columns and a block of texts), every other
    detector a topic at a time, so that what is held is one topic's day, not the day's. The
    nightly DAG runs the same parts as mapped tasks (detect_part), then gathers them."""
    present, last = _day_topics(path)
    rows = copy_alerts(_reader(path), day, lang=lang)
    tokens = []
    for topic in day_topics(present, hourly, daily):
        found, counted = topic_alerts(day, path, topic, present, last, hourly, daily, history, lang)
        rows += found
        tokens.append(counted)
    return gathered(rows, tokens)


def day_topics(present: list[str], hourly: pd.DataFrame, daily: pd.DataFrame) -> list[str]:
    """The topics to look at: those with mentions or metrics rows that day."""
    return sorted(set(present) | set(hourly["topic"]) | set(daily["topic"]))


def topic_alerts(day: date, path, topic: str, present: list[str], last, hourly: pd.DataFrame, daily: pd.DataFrame,
                 history: dict, lang: str = "en") -> tuple[list[dict], pd.DataFrame]:
    """Every detector but the copies on one topic's mentions, and the topic's token counts."""
    # (a watched topic without mentions has metrics rows: no need to read for it)
    m = _topic_mentions(path, topic) if topic in present else _no_mentions()
    m = _with_terms(m)
    m = m.assign(crisis=crisis_flags(m))

    def mine(df):
        return df[df["topic"] == topic]

    others = tuple(d for d in DETECTORS if d != "coordinated_copies")
    rows = detect(day, m, mine(hourly), mine(daily), mine(history["hourly_history"]), history["hourly_days"],
                  mine(history["daily_history"]), mine(history["past_tokens"]), history["mention_days"],
                  detectors=others, lang=lang, last=last)
    return rows, token_counts(m)


def gathered(rows: list[dict], tokens: list[pd.DataFrame]) -> tuple[list[dict], pd.DataFrame]:
    """The parts' alerts (copies first, then topic by topic) and token counts, as one day's."""
    tokens = [t for t in tokens if len(t)]  # (a topic with metrics but no mentions counts nothing)
    if not tokens:
        return _one_per_id(rows), token_counts(pd.DataFrame())
    tokens = pd.concat(tokens, ignore_index=True).sort_values(["topic", "kind", "token"], ignore_index=True)
    return _one_per_id(rows), tokens


def history_of(root: Path, day: date) -> dict:
    """The detectors' 28 days of history: hourly and daily metrics, the topic_tokens summed."""
    from listening.schema import METRICS_DAILY

    hist_h, days_h = read_history(root, day, METRICS_HOURLY, ["topic", "hour", "posts"])
    hist_d, _ = read_history(root, day, METRICS_DAILY, ["topic", "positive", "neutral", "negative"])
    past_tokens, days_m = history_tokens(root, day)
    return {"hourly_history": hist_h, "hourly_days": days_h, "daily_history": hist_d,
            "past_tokens": past_tokens, "mention_days": len(days_m)}


def _unanswered(run) -> list[dict]:
    """Red posts the institution has left unanswered too long (listening.responses), once each."""
    from listening import responses
    from listening.schema import RESPONSES

    p = lake.stage_path(run.lake, run.day, RESPONSES, dt=run.day)
    desk = lake.read_file(p, RESPONSES) if p.exists() else lake.read_partition(run.lake, RESPONSES, dt=run.day)
    if desk is None:
        return []
    s = run.config.settings
    return responses.overdue_alerts(desk, run.day, s.response_alert_hours, language(s.digest_language),
                                    hourly=responses.hourly_ledger(run.lake, run.day))


def detect_day(run) -> dict:
    """Run the detectors over the run's day and stage its alerts partition (validated, then published),
    and the day's topic_tokens (what later days' detectors read of this one): every part in this
    process (the nightly DAG runs them as mapped tasks: detection_parts, detect_part, gather_alerts).

    An alert already in the lake for the day keeps its delivery status (a re-run does not make a
    sent alert look unsent); a new one waits for delivery as `suppressed` with the reason
    "awaiting delivery", or is suppressed because its topic is muted.
    """
    hourly, daily = _day_metrics(run)
    rows, tokens = detect_topics(run.day, _day_file(run, MENTIONS), hourly, daily,
                                 history_of(run.lake, run.day), language(run.config.settings.digest_language))
    return _stage_alerts(run, rows, tokens)


def _day_metrics(run) -> tuple[pd.DataFrame, pd.DataFrame]:
    from listening.schema import METRICS_DAILY

    hourly = _staged_or_published(run, METRICS_HOURLY, ["topic", "hour", "posts"]).to_pandas()
    daily = _staged_or_published(run, METRICS_DAILY, ["topic", "positive", "neutral", "negative"]).to_pandas()
    return hourly, daily


COPIES_PART = "coordinated copies"  # the first part: the copies over the whole day; then a part per topic
PARTS = "_detect"                   # where the parts wait for gather_alerts, under the day's staging
# what a part stages of an alert: the columns detection fills (initial_status fills the others)
DETECTED = pa.schema([f for f in ALERTS.schema if f.name not in
                      ("team", "status", "status_reason", "recipients", "attempts", "sent_at", "message_id", "run_id")])


def detection_parts(run) -> list[str]:
    """What detection splits into, one mapped task each: the day's copies, then each topic."""
    return _plan(run)[0]


def _plan(run) -> tuple:
    """The parts, and what a topic's part reads besides its mentions: the mentions file, the
    topics present and the day's last post, the day's hourly and daily metrics."""
    hourly, daily = _day_metrics(run)
    path = _day_file(run, MENTIONS)
    present, last = _day_topics(path)
    return [COPIES_PART] + day_topics(present, hourly, daily), path, present, last, hourly, daily


def _part_path(run, kind: str, part: int, of: int):
    return lake.staging_dir(run.lake, run.day) / PARTS / f"{kind}-{part:03d}-of-{of:03d}.parquet"


def detect_part(run, part: int, of: int) -> dict:
    """One part of the day's detection (detection_parts), staged for gather_alerts: one topic's
    mentions held, not the day's."""
    from listening.schema import TOPIC_TOKENS

    parts, path, present, last, hourly, daily = _plan(run)
    if len(parts) != of:
        raise RuntimeError(f"{run.day}: detection has {len(parts)} parts now, {of} when planned: re-run the "
                           f"day from plan_detection")
    name, lang = parts[part], language(run.config.settings.digest_language)
    if name == COPIES_PART:
        rows, tokens = copy_alerts(_reader(path), run.day, lang=lang), token_counts(pd.DataFrame())
    else:
        rows, tokens = topic_alerts(run.day, path, name, present, last, hourly, daily, history_of(run.lake, run.day),
                                    lang)
    lake.write_table(_part_path(run, "tokens", part, of),
                     pa.Table.from_pandas(tokens, schema=TOPIC_TOKENS.schema, preserve_index=False))
    lake.write_table(_part_path(run, "alerts", part, of), pa.Table.from_pylist(rows, schema=DETECTED))
    log.info("%s: detection part %d of %d (%s): %d alerts", run.day, part + 1, of, name, len(rows))
    return {"part": part, "of": of, "name": name, "alerts": len(rows)}


def gather_alerts(run) -> dict:
    """The parts' alerts and token counts as the day's (as detect_day stages them), then the parts'
    files go. A part missing stops it, naming the part's file."""
    of = len(detection_parts(run))
    paths = [(_part_path(run, "alerts", k, of), _part_path(run, "tokens", k, of)) for k in range(of)]
    missing = [str(p) for pair in paths for p in pair if not p.exists()]
    if missing:
        raise RuntimeError(f"detection parts missing: {', '.join(missing)} (their detect_part tasks did not finish)")
    rows, tokens = [], []
    for alerts_path, tokens_path in paths:
        rows += lake.read_table(alerts_path).to_pylist()
        tokens.append(lake.read_table(tokens_path).to_pandas())
    out = _stage_alerts(run, *gathered(rows, tokens))
    lake.remove_tree(lake.staging_dir(run.lake, run.day) / PARTS)
    return out


def _stage_alerts(run, rows: list[dict], tokens: pd.DataFrame) -> dict:
    """Stage the day's topic_tokens and alerts (with the overdue answers and their delivery status)."""
    from listening import alerts as delivery
    from listening.schema import TOPIC_TOKENS

    lake.write_file(lake.stage_path(run.lake, run.day, TOPIC_TOKENS, dt=run.day), TOPIC_TOKENS,
                    pa.Table.from_pandas(tokens, schema=TOPIC_TOKENS.schema, preserve_index=False))
    rows += _unanswered(run)
    rows = delivery.initial_status(run, rows)
    table = pa.Table.from_pylist(rows, schema=ALERTS.schema)
    lake.write_file(lake.stage_path(run.lake, run.day, ALERTS, dt=run.day), ALERTS, table)
    counts = defaultdict(int)
    for r in rows:
        counts[f"{r['detector']}:{r['severity']}"] += 1
    log.info("%s: %d alerts %s", run.day, len(rows), dict(counts))
    return {"alerts": len(rows), "by_detector": dict(sorted(counts.items())),
            "red": sum(r["severity"] == "red" for r in rows)}
