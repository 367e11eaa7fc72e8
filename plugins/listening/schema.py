"""The single source of truth for every dataset's columns, types and meaning.

Writers cast to these schemas, the validation suites derive their type and nullability rules
from them, and docs/data-dictionary.md is generated from them (`python -m listening schema
--markdown`); a test fails when the document is stale.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

UTC_TS = pa.timestamp("us", tz="UTC")
STR = pa.string()
STRS = pa.list_(pa.string())


def _f(name: str, type_: pa.DataType, doc: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"doc": doc})


MATCH = pa.struct([
    pa.field("topic", STR, nullable=False),
    pa.field("kind", STR, nullable=False),   # keyword, hashtag, account, author, query
    pa.field("term", STR, nullable=False),
    pa.field("query", STR, nullable=True),   # the query as written, for kind 'query'
])

ENTITY = pa.struct([
    pa.field("text", STR, nullable=False),
    pa.field("label", STR, nullable=False),  # PER, ORG, LOC (spaCy's labels, MISC aside)
])


# Columns a post carries from raw to mentions unchanged: what it answers, and what it received.
LINKS_AND_COUNTS = [
    _f("reply_to", STR, "post id this post answers"),
    _f("repost_of", STR, "post id this post reposts"),
    _f("quote_of", STR, "post id this post quotes"),
    _f("like_count", pa.int64(), "likes received, as collected", False),
    _f("repost_count", pa.int64(), "reposts received, as collected", False),
    _f("reply_count", pa.int64(), "replies received, as collected", False),
    _f("quote_count", pa.int64(), "quotes received, as collected", False),
]


@dataclass(frozen=True)
class Dataset:
    name: str
    path: str            # under the lake root; partition keys are written as key=value dirs
    partitioning: tuple[str, ...]
    doc: str
    schema: pa.Schema
    unique: tuple[str, ...] = ()   # columns that identify a row within a partition
    sort: tuple[str, ...] = ()     # order rows are written in (for readers and for identical re-runs)


RAW = Dataset(
    name="raw", path="raw", partitioning=("source", "dt"),
    doc="Posts as received, one row per post and source, per UTC day of creation. Holds personal "
        "data (handles, author ids): restricted to the pipeline, kept raw_retention_days.",
    unique=("post_id",), sort=("created_at", "post_id"),
    schema=pa.schema([
        _f("post_id", STR, "`<platform>:<native id>`, stable across runs and sources", False),
        _f("platform", STR, "platform the post comes from (mastodon, bluesky, x, …)", False),
        _f("native_id", STR, "the platform's own id of the post", False),
        _f("url", STR, "public address of the post"),
        _f("created_at", UTC_TS, "when the post was published, UTC", False),
        _f("author_id", STR, "the platform's id of the author (personal data)", False),
        _f("author_handle", STR, "handle of the author, with @ (personal data)"),
        _f("author_followers", pa.int64(), "followers of the author when collected"),
        _f("text", STR, "text as received", False),
        _f("lang", STR, "language given by the platform, if any"),
        *LINKS_AND_COUNTS,
        _f("source_file", STR, "file (or collector) the post came from", False),
        _f("source_line", pa.int64(), "line number in that file (1-based)"),
        _f("payload", STR, "the original record, as received (JSON)", False),
    ]),
)

MENTIONS = Dataset(
    name="mentions", path="mentions", partitioning=("dt",),
    doc="One row per post that matched at least one watched topic, cleaned and enriched. "
        "Authors are pseudonymised: author_key is a keyed hash, not the platform id.",
    unique=("post_id",), sort=("created_at", "post_id"),
    schema=pa.schema([
        _f("post_id", STR, "`<platform>:<native id>`", False),
        _f("platform", STR, "platform of the post", False),
        _f("url", STR, "public address of the post"),
        _f("created_at", UTC_TS, "when the post was published, UTC", False),
        _f("hour", pa.int8(), "hour of created_at, UTC (0-23)", False),
        _f("author_key", STR, "pseudonym of the author: keyed hash of platform and author id", False),
        _f("author_followers", pa.int64(), "followers of the author when collected"),
        _f("author_role", STR, "'own' when the author is one of the institution's accounts, 'press' when the "
                               "watchlists list it as press; null otherwise"),
        _f("text", STR, "cleaned text: HTML and entities removed, Unicode normalised, spaces folded", False),
        _f("hashtags", STRS, "hashtags in the text, lowercase, without '#'", False),
        _f("mentions", STRS, "accounts mentioned in the text, lowercase, with '@'", False),
        _f("links", STRS, "links in the text", False),
        _f("lang", STR, "language: given by the platform, else detected; 'und' when unsure", False),
        _f("lang_source", STR, "'platform' or 'detected'", False),
        _f("lang_confidence", pa.float32(), "confidence of the language (1.0 when given by the platform)", False),
        _f("topics", STRS, "watched topics the post belongs to (sorted)", False),
        _f("matches", pa.list_(MATCH), "why: each topic with the kind of rule (keyword, hashtag, account, author, query), the term that matched and, for a query, the query", False),
        _f("sentiment_score", pa.float32(), "sentiment in [-1, 1]; null when no engine reads the language"),
        _f("sentiment_label", STR, "negative, neutral or positive; null when not scored"),
        _f("sentiment_confidence", pa.float32(), "how sure the engine is of the label, in [0, 1] (a probability for "
                                                 "the trained blends); null when not scored"),
        _f("sentiment_engine", STR, "engine and version that produced the score"),
        _f("is_reply", pa.bool_(), "the post answers another post", False),
        _f("is_repost", pa.bool_(), "the post reposts another post", False),
        *LINKS_AND_COUNTS,
        _f("engagement", pa.int64(), "likes + reposts + replies + quotes", False),
        _f("emoji", STRS, "emoji in the text, in order of appearance, each once", False),
        _f("masked", STRS, "kinds of personal data masked in the text (email, phone, iban)", False),
        _f("mentioned_keys", STRS, "pseudonyms of the accounts mentioned (keyed hash, as author_key when the "
                                   "account posted that day, else of its handle)", False),
        _f("entities", pa.list_(ENTITY), "people, organisations and places named in the text (spaCy); null "
                                         "when no model reads the language"),
        _f("triage", STR, "what the post is, for a response: question, positive_feedback, disagreement, humour, "
                          "negative, misinformation, inflammatory, insult, spam or other", False),
        _f("triage_action", STR, "the response the guide recommends for it", False),
        _f("urgency", STR, "green, amber or red", False),
        _f("triage_reason", STR, "the cue that decided the triage, in plain words", False),
        _f("addresses_institution", pa.bool_(), "the post mentions or answers one of the institution's own accounts",
           False),
        _f("original_id", STR, "the post this one copies: the reposted post, or the first post of the day with "
                               "the same text; null for an original"),
        _f("cluster_id", STR, "near-duplicate cluster (MinHash): the post id of its first post", False),
        _f("cluster_size", pa.int32(), "posts in the near-duplicate cluster (1 when the text is unique)", False),
        _f("cluster_authors", pa.int32(), "distinct authors in the near-duplicate cluster", False),
        _f("bot_score", pa.float32(), "bot-likeness of the author on the day, in [0, 1]", False),
        _f("bot_reasons", STRS, "why the bot score: the signals that raised it, in plain words", False),
    ]),
)

AUTHORS = Dataset(
    name="authors", path="authors", partitioning=("dt",),
    doc="Influence of each author per topic and window (filled by the influence stage).",
    unique=("author_key", "topic", "window_days"), sort=("topic", "window_days", "rank"),
    schema=pa.schema([
        _f("author_key", STR, "pseudonym of the author", False),
        _f("platform", STR, "platform of the author", False),
        _f("topic", STR, "topic", False),
        _f("window_days", pa.int16(), "length of the window ending on dt (7 or 28)", False),
        _f("posts", pa.int64(), "posts of the author in the topic and window", False),
        _f("reach", pa.float32(), "followers on a log scale, normalised within the platform, [0, 1]", False),
        _f("engagement", pa.float32(), "engagement rate received, shrunk to the platform mean, [0, 1]", False),
        _f("centrality", pa.float32(), "PageRank on the interaction graph, [0, 1]", False),
        _f("relevance", pa.float32(), "share of the author's posts in the topic and days active, [0, 1]", False),
        _f("authenticity", pa.float32(), "one minus bot-likeness and coordination, [0, 1]", False),
        _f("influence", pa.float32(), "weighted combination of the components, [0, 1]", False),
        _f("rank", pa.int32(), "rank of the author in the topic and window (1 = most influential)", False),
        _f("role", STR, "'own' or 'press' for accounts the watchlists list as such (flagged, not removed); null "
                        "otherwise"),
        _f("days_active", pa.int16(), "distinct days the author posted in the topic within the window", False),
        _f("amplifiers", pa.int64(), "distinct accounts that replied to, reposted, quoted or mentioned the author "
                                     "in the topic and window", False),
        _f("explanation", STR, "one line in plain words saying what made the score", False),
    ]),
)

_METRIC_FIELDS = [
    _f("topic", STR, "topic", False),
    _f("posts", pa.int64(), "posts in the topic", False),
    _f("unique_authors", pa.int64(), "distinct authors", False),
    _f("positive", pa.int64(), "posts labelled positive", False),
    _f("neutral", pa.int64(), "posts labelled neutral", False),
    _f("negative", pa.int64(), "posts labelled negative", False),
    _f("unscored", pa.int64(), "posts whose language no sentiment engine reads", False),
    _f("net_sentiment", pa.float32(), "(positive - negative) / scored posts, in [-1, 1]; null when none scored"),
    _f("mean_sentiment", pa.float32(), "mean sentiment score of scored posts, in [-1, 1]"),
    _f("reach", pa.int64(), "sum of the followers of the authors of the posts", False),
    _f("engagement", pa.int64(), "sum of likes, reposts, replies and quotes", False),
    _f("replies", pa.int64(), "posts that answer another post", False),
    _f("reposts", pa.int64(), "posts that repost another post", False),
    _f("lang_fr", pa.int64(), "posts in French", False),
    _f("lang_nl", pa.int64(), "posts in Dutch", False),
    _f("lang_en", pa.int64(), "posts in English", False),
    _f("lang_de", pa.int64(), "posts in German", False),
    _f("lang_other", pa.int64(), "posts in another or undetermined language", False),
    _f("top_hashtags", STRS, "the ten most used hashtags, most used first", False),
    _f("share_of_voice", pa.float32(), "share of the posts of the topic's group (watchlist `group`) in the "
                                       "same period that belong to this topic, in [0, 1]"),
    _f("top_terms", STRS, "the twenty most used words, stop words, hashtags, mentions and links aside"),
    _f("top_links", STRS, "the five most shared links (canonical, tracking parameters dropped)"),
]

METRICS_DAILY = Dataset(
    name="metrics_daily", path="metrics_daily", partitioning=("dt",),
    doc="Per topic and UTC day: volume, authors, sentiment mix, reach, engagement, languages.",
    unique=("topic",), sort=("topic",),
    schema=pa.schema([_f("day", pa.date32(), "the UTC day", False)] + _METRIC_FIELDS + [
        _f("new_hashtags", STRS, "hashtags of the day never seen in the topic in the previous 28 days "
                                 "(most used first)"),
        _f("new_terms", STRS, "top terms of the day absent from the topic's top terms of the previous 28 days"),
    ]),
)

METRICS_HOURLY = Dataset(
    name="metrics_hourly", path="metrics_hourly", partitioning=("dt",),
    doc="Per topic and UTC hour: the same measures as metrics_daily.",
    unique=("topic", "hour"), sort=("topic", "hour"),
    schema=pa.schema([_f("hour", UTC_TS, "start of the hour, UTC", False)] + _METRIC_FIELDS),
)

ALERTS = Dataset(
    name="alerts", path="alerts", partitioning=("dt",),
    doc="Every alert raised, sent or suppressed, with its evidence.",
    unique=("alert_id",), sort=("window_start", "alert_id"),
    schema=pa.schema([
        _f("alert_id", STR, "stable id derived from topic, detector and window", False),
        _f("topic", STR, "topic", False),
        _f("detector", STR, "detector that raised it (volume_spike, sentiment_drop, …)", False),
        _f("severity", STR, "green, amber or red", False),
        _f("window_start", UTC_TS, "start of the window the alert covers, UTC", False),
        _f("window_end", UTC_TS, "end of the window, UTC", False),
        _f("title", STR, "one-line summary", False),
        _f("evidence", STR, "what the detector saw, in plain words", False),
        _f("evidence_post_ids", STRS, "example posts", False),
        _f("team", STR, "team the alert is routed to", False),
        _f("status", STR, "pending, sent, suppressed or failed", False),
        _f("score", pa.float64(), "strength of the signal: -log10 of its tail probability under the baseline "
                                  "(volume, crisis words), a z-score (sentiment), or the size of what was seen", False),
        _f("subject", STR, "what the alert is about within the topic: the hashtag, or the copied text; "
                           "null for series detectors"),
        _f("observed", pa.float64(), "value seen in the window (posts, net sentiment, …)"),
        _f("expected", pa.float64(), "value the baseline expected for the window"),
        _f("status_reason", STR, "why the status: awaiting delivery, muted until …, cool-down, sent by smtp, "
                                 "the last delivery error", False),
        _f("recipients", STRS, "addresses of the team when the alert was raised", False),
        _f("attempts", pa.int32(), "delivery attempts made", False),
        _f("sent_at", UTC_TS, "when the message reached the SMTP server (or the outbox), UTC"),
        _f("message_id", STR, "Message-ID of the e-mail that carried the alert (derived from alert_id)"),
        _f("run_id", STR, "run that raised or last delivered the alert", False),
    ]),
)

RESPONSES = Dataset(
    name="responses", path="responses", partitioning=("dt",),
    doc="The response desk at the end of the day: every post of the last days that calls for an answer "
        "(addressed to the institution and triaged question, negative or misinformation), answered or not.",
    unique=("post_id",), sort=("created_at", "post_id"),
    schema=pa.schema([
        _f("post_id", STR, "the post that calls for an answer", False),
        _f("platform", STR, "platform of the post", False),
        _f("url", STR, "public address of the post"),
        _f("created_at", UTC_TS, "when the post was published, UTC", False),
        _f("topics", STRS, "watched topics of the post", False),
        _f("teams", STRS, "teams owning those topics (who should answer)", False),
        _f("triage", STR, "question, negative or misinformation", False),
        _f("urgency", STR, "green, amber or red", False),
        _f("status", STR, "answered, unanswered, or unknown when the platform's replies of the institution are "
                          "not collected", False),
        _f("answered_by", STR, "the institution's account that answered (a public, institutional handle)"),
        _f("answer_id", STR, "post id of the first answer"),
        _f("answered_at", UTC_TS, "when the first answer was published, UTC"),
        _f("response_hours", pa.float32(), "hours from the post to its first answer"),
        _f("age_hours", pa.float32(), "hours from the post to the end of the day (or to its answer)", False),
        _f("overdue_24h", pa.bool_(), "unanswered after 24 hours, or answered later than that", False),
        _f("overdue_48h", pa.bool_(), "unanswered after 48 hours, or answered later than that", False),
    ]),
)

RESPONSE_METRICS = Dataset(
    name="response_metrics", path="response_metrics", partitioning=("dt",),
    doc="Per team and topic (topic null: all the team's topics), over the posts of the response desk: "
        "response rate, response times, overdue posts.",
    unique=("team", "topic"), sort=("team", "topic"),
    schema=pa.schema([
        _f("team", STR, "team", False),
        _f("topic", STR, "topic; null for the team as a whole"),
        _f("awaiting", pa.int64(), "posts that call for an answer (status answered or unanswered)", False),
        _f("answered", pa.int64(), "of which answered", False),
        _f("unknown", pa.int64(), "posts whose platform does not show the institution's replies", False),
        _f("response_rate", pa.float32(), "answered / awaiting; null when nothing awaits"),
        _f("median_response_hours", pa.float32(), "median hours to the first answer"),
        _f("p90_response_hours", pa.float32(), "90th percentile of hours to the first answer"),
        _f("overdue_24h", pa.int64(), "posts unanswered after 24 h or answered later", False),
        _f("overdue_48h", pa.int64(), "posts unanswered after 48 h or answered later", False),
    ]),
)

CAMPAIGN_DAILY = Dataset(
    name="campaign_daily", path="campaign_daily", partitioning=("dt",),
    doc="Per campaign hashtag of the watchlists and day of its dates: uptake and spread (the guide's measures).",
    unique=("campaign",), sort=("campaign",),
    schema=pa.schema([
        _f("campaign", STR, "campaign name (watchlists `campaigns`)", False),
        _f("hashtag", STR, "the campaign hashtag, lowercase, without '#'", False),
        _f("day", pa.date32(), "the UTC day", False),
        _f("day_of_campaign", pa.int32(), "1 on the campaign's first day", False),
        _f("posts", pa.int64(), "posts using the hashtag that day (own accounts excluded)", False),
        _f("people", pa.int64(), "distinct accounts using it that day (own accounts excluded)", False),
        _f("new_people", pa.int64(), "of which never seen using it since the campaign started", False),
        _f("cumulative_people", pa.int64(), "distinct accounts since the campaign started", False),
        _f("cumulative_posts", pa.int64(), "posts since the campaign started", False),
        _f("reach", pa.int64(), "estimated reach: sum of the followers of the day's distinct accounts", False),
        _f("engagement", pa.int64(), "likes, reposts, replies and quotes received by the day's posts", False),
        _f("own_posts", pa.int64(), "posts of the institution's own accounts using it", False),
        _f("share_fr", pa.float32(), "share of the day's posts in French", False),
        _f("share_nl", pa.float32(), "share in Dutch", False),
        _f("share_en", pa.float32(), "share in English", False),
        _f("share_de", pa.float32(), "share in German", False),
        _f("share_other", pa.float32(), "share in another or undetermined language", False),
        _f("top_amplifiers", STRS, "pseudonyms of the five accounts whose posts with the hashtag drew the most "
                                   "engagement that day", False),
        _f("vs_first_days", pa.float32(), "the day's posts over the mean daily posts of the campaign's first "
                                          "three days; null during them"),
    ]),
)

TOPIC_TOKENS = Dataset(
    name="topic_tokens", path="topic_tokens", partitioning=("dt",),
    doc="Per topic and UTC day: posts using each hashtag and each word, and posts holding a crisis word. "
        "The memory of the emerging-issue detectors and of metrics_daily's new hashtags: the days before are "
        "read as these counts, not as their posts' texts.",
    unique=("topic", "kind", "token"), sort=("topic", "kind", "token"),
    schema=pa.schema([
        _f("topic", STR, "topic name (watchlists)", False),
        _f("kind", STR, "hashtag (lowercase, without '#'), term (a word of the text, stop words, hashtags, "
                        "mentions and links aside) or crisis (posts holding a word of the crisis list; token '')",
           False),
        _f("token", STR, "the hashtag or word; '' for crisis", False),
        _f("posts", pa.int64(), "posts of the topic that day using it (reposts included; a post counts once)", False),
    ]),
)

INFLUENCE_DAILY = Dataset(
    name="influence_daily", path="influence_daily", partitioning=("dt",),
    doc="Per UTC day, what the influence scores need of that day's mentions (listening.influence.facts): "
        "the authors dataset of a night adds up the facts of its windows' days instead of reading 28 days "
        "of posts. Rows of three kinds: 'author' (per author and follower count), 'topic' (per topic, author "
        "and follower count) and 'edge' (per topic, account, account pointed at and kind of interaction). "
        "Pseudonyms only; erased with the author.",
    unique=("fact", "topic", "author_key", "target_key", "kind", "platform", "followers"),
    sort=("fact", "topic", "author_key", "target_key", "kind", "followers"),
    schema=pa.schema([
        _f("fact", STR, "author, topic or edge", False),
        _f("topic", STR, "topic (topic and edge rows)"),
        _f("author_key", STR, "pseudonym of the author (edge: of the account that interacted)", False),
        _f("target_key", STR, "edge: pseudonym of the account replied to, reposted, quoted or mentioned"),
        _f("kind", STR, "edge: repost, reply, quote or mention"),
        _f("platform", STR, "platform of the author (author and topic rows)"),
        _f("followers", pa.float64(), "follower count the posts carried (author and topic rows)"),
        _f("posts", pa.int64(), "posts (author and topic rows)"),
        _f("original_posts", pa.int64(), "posts that are not reposts"),
        _f("own_posts", pa.int64(), "author: posts made as one of the institution's own accounts"),
        _f("press_posts", pa.int64(), "author: posts made as an account the watchlists list as press"),
        _f("interactions", pa.float64(), "likes, reposts, replies and quotes received by the original posts"),
        _f("interactions_sq", pa.float64(), "author: sum of the squares of each original post's interactions"),
        _f("bot_sum", pa.float64(), "topic: sum of the posts' bot scores"),
        _f("copy_sum", pa.float64(), "topic: sum of the original posts' copying (1 - 1/accounts posting the text)"),
        _f("copied", pa.int64(), "topic: original posts that copy another account's text"),
        _f("weight_7", pa.float64(), "edge: votes weighted by recency (7-day window) and authenticity, at the "
                                     "end of dt"),
        _f("weight_28", pa.float64(), "edge: the same for the 28-day window"),
    ]),
)
QUARANTINE = Dataset(
    name="quarantine", path="quarantine", partitioning=("layer", "dt"),
    doc="Rows refused by a rule, with the rule and the reason: nothing is dropped silently.",
    sort=("source_file", "source_line", "rule"),
    schema=pa.schema([
        _f("run_id", STR, "run that refused the row", False),
        _f("rule", STR, "name of the rule that refused it", False),
        _f("reason", STR, "what is wrong, in plain words", False),
        _f("post_id", STR, "post id when one could be read"),
        _f("source_file", STR, "file the row came from"),
        _f("source_line", pa.int64(), "line in that file (1-based)"),
        _f("record", STR, "the refused record as received (truncated to 10,000 characters)", False),
    ]),
)

QUALITY = Dataset(
    name="quality", path="quality/results", partitioning=("dt",),
    doc="Validation results: one row per expectation, dataset and run.",
    unique=("layer", "rule"), sort=("layer", "rule"),
    schema=pa.schema([
        _f("run_id", STR, "run that validated", False),
        _f("layer", STR, "dataset validated", False),
        _f("rule", STR, "expectation (name and column)", False),
        _f("level", STR, "critical (stops the publish) or row (quarantines rows)", False),
        _f("success", pa.bool_(), "whether the expectation held", False),
        _f("rows", pa.int64(), "rows checked", False),
        _f("failed_rows", pa.int64(), "rows that broke it", False),
        _f("details", STR, "observed value or examples, as JSON", False),
    ]),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in
                                (RAW, MENTIONS, AUTHORS, METRICS_HOURLY, METRICS_DAILY, ALERTS, RESPONSES, RESPONSE_METRICS,
                                 CAMPAIGN_DAILY, TOPIC_TOKENS, INFLUENCE_DAILY, QUARANTINE, QUALITY)}


def empty(ds: Dataset) -> pa.Table:
    return ds.schema.empty_table()


def conform(ds: Dataset, table: pa.Table) -> pa.Table:
    """Select and cast to the dataset's schema, in its order; a missing column is an error."""
    missing = [f.name for f in ds.schema if f.name not in table.column_names]
    if missing:
        raise ValueError(f"{ds.name}: missing columns {missing}")
    return pa.Table.from_arrays([table[f.name].cast(f.type) for f in ds.schema], schema=ds.schema)


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return f"timestamp[{t.unit}, {t.tz}]"
    if pa.types.is_list(t) and pa.types.is_struct(t.value_type):
        inner = ", ".join(f"{f.name}: {f.type}" for f in t.value_type)
        return f"list<struct<{inner}>>"
    return str(t)


def data_dictionary() -> str:
    """Markdown data dictionary, generated from the schemas above."""
    out = ["# Data dictionary", "",
           "Generated from `plugins/listening/schema.py` by `python -m listening schema --markdown`;",
           "do not edit by hand (a test fails when this file is stale).", ""]
    for ds in DATASETS.values():
        parts = "/".join(f"{k}=…" for k in ds.partitioning)
        out += [f"## {ds.name}", "", ds.doc, "",
                f"Path: `<lake>/{ds.path}/{parts}/part-0.parquet`" +
                (f" · unique per partition: {', '.join(ds.unique)}" if ds.unique else "") +
                (f" · sorted by: {', '.join(ds.sort)}" if ds.sort else ""), "",
                "| column | type | required | meaning |", "|---|---|---|---|"]
        for f in ds.schema:
            doc = (f.metadata or {}).get(b"doc", b"").decode()
            out.append(f"| `{f.name}` | {_type_name(f.type)} | {'no' if f.nullable else 'yes'} | {doc} |")
        out.append("")
    return "\n".join(out)
