"""Watchlists and settings: YAML files in a config directory, loaded into typed models.

A wrong file must fail at `config check` time, naming the file, the path inside it, the line
and what is wrong, never in the middle of a nightly run.
"""
from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, ValidationError,
                      ValidationInfo, field_validator, model_validator)

from listening.queries_lang import QueryError, parse as parse_query

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_DIR = REPO / "include" / "config"
WATCHLISTS = "watchlists.yml"
SETTINGS = "settings.yml"
TRIAGE = "triage.yml"  # optional: the response table of listening.triage, per deployment

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
HANDLE_RE = re.compile(r"^@[\w.\-]+(@[\w.\-]+)?$")
HASHTAG_RE = re.compile(r"^#\w+$")
KNOWN_LANGUAGES = {"fr", "nl", "en", "de"}


class ConfigError(ValueError):
    """A configuration problem, with where it is."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Team(_Strict):
    label: str
    recipients: list[str] = Field(min_length=1)

    @field_validator("recipients")
    @classmethod
    def _emails(cls, v: list[str]) -> list[str]:
        for r in v:
            if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", r):
                raise ValueError(f"{r!r} is not an e-mail address")
        return v


def _check_query(q: str, info: ValidationInfo) -> str:
    """A query that does not parse fails here, at config check, with a caret under the problem."""
    try:
        parse_query(q)
    except QueryError as e:
        topic = (info.data or {}).get("name")
        where = f"topic {topic!r}: " if topic else ""
        raise ValueError(f"{where}bad query: {e}\n{e.caret()}") from None
    return q


Query = Annotated[str, AfterValidator(_check_query)]


class ExcludeQuery(_Strict):
    """An exclusion written as a query: `- query: 'match NEAR/3 (foot OR voetbal)'`."""
    query: str


def _exclude_item(v: Any, info: ValidationInfo) -> Union[str, ExcludeQuery]:
    """A plain string is a keyword (as `keywords`); a mapping {query: ...} is a query."""
    if isinstance(v, ExcludeQuery):
        return v
    if isinstance(v, str):
        if not v.strip():
            raise ValueError("empty keyword")
        return v
    if isinstance(v, dict):
        if set(v) != {"query"} or not isinstance(v["query"], str):
            raise ValueError("an exclusion is a keyword, or a mapping with one key, query: '...'")
        return ExcludeQuery(query=_check_query(v["query"], info))
    raise ValueError(f"an exclusion is a keyword or {{query: ...}}, not {type(v).__name__}")


ExcludeItem = Annotated[Union[str, ExcludeQuery], PlainValidator(_exclude_item)]


def _check_name(v: str) -> str:
    if not NAME_RE.match(v):
        raise ValueError(f"{v!r} must be lowercase letters, digits and dashes")
    return v


def _check_hashtag(v: str) -> str:
    if not HASHTAG_RE.match(v):
        raise ValueError(f"{v!r} is not a hashtag (write it with its '#', no spaces)")
    return v


Name = Annotated[str, AfterValidator(_check_name)]


class Topic(_Strict):
    name: Name
    label: str
    keywords: list[str] = []
    hashtags: list[str] = []
    hashtags_match_words: bool = False
    accounts: list[str] = []
    queries: list[Query] = []
    exclude: list[ExcludeItem] = []
    languages: list[str] = Field(min_length=1)
    team: str
    group: str = "default"

    @field_validator("hashtags")
    @classmethod
    def _hashtags(cls, v: list[str]) -> list[str]:
        return [_check_hashtag(h) for h in v]

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, v: list[str]) -> list[str]:
        for a in v:
            if not HANDLE_RE.match(a):
                raise ValueError(f"{a!r} is not an account handle (write it as @name or @name@instance)")
        return v

    @field_validator("keywords")
    @classmethod
    def _words(cls, v: list[str]) -> list[str]:
        for k in v:
            if not k.strip():
                raise ValueError("empty keyword")
        return v

    @field_validator("languages")
    @classmethod
    def _langs(cls, v: list[str]) -> list[str]:
        for lang in v:
            if not re.match(r"^[a-z]{2}$", lang):
                raise ValueError(f"{lang!r} is not a two-letter language code")
        return v

    @model_validator(mode="after")
    def _something_to_watch(self) -> "Topic":
        if not (self.keywords or self.hashtags or self.accounts or self.queries):
            raise ValueError("a topic needs at least one keyword, hashtag or account, or a query")
        return self


class Institution(_Strict):
    name: str
    accounts: dict[str, list[str]] = {}


class Campaign(_Strict):
    """A campaign hashtag whose uptake the team measures (listening.campaigns)."""
    name: Name
    label: str
    hashtag: Annotated[str, AfterValidator(_check_hashtag)]
    start: date
    end: date | None = None
    team: str


    @model_validator(mode="after")
    def _dates(self) -> "Campaign":
        if self.end is not None and self.end < self.start:
            raise ValueError(f"campaign {self.name!r} ends ({self.end}) before it starts ({self.start})")
        return self


class Watchlists(_Strict):
    institution: Institution
    # journalists and media whose posts carry far: flagged in the influence ranking, never removed
    press: dict[str, list[str]] = {}
    campaigns: list[Campaign] = []
    teams: dict[str, Team] = Field(min_length=1)
    topics: list[Topic] = Field(min_length=1)

    @model_validator(mode="after")
    def _links(self) -> "Watchlists":
        seen: set[str] = set()
        for i, t in enumerate(self.topics):
            if t.name in seen:
                raise ValueError(f"topics.{i}.name: topic {t.name!r} is defined twice")
            seen.add(t.name)
            if t.team not in self.teams:
                raise ValueError(
                    f"topics.{i}.team: team {t.team!r} of topic {t.name!r} is not in teams "
                    f"({', '.join(sorted(self.teams))})")
        for i, c in enumerate(self.campaigns):
            if c.team not in self.teams:
                raise ValueError(f"campaigns.{i}.team: team {c.team!r} of campaign {c.name!r} is not in teams "
                                 f"({', '.join(sorted(self.teams))})")
        return self

    def topic(self, name: str) -> Topic:
        for t in self.topics:
            if t.name == name:
                return t
        raise KeyError(name)


class Settings(_Strict):
    lake: str = "lake"
    timezone: str = "Europe/Brussels"
    languages: list[str] = ["fr", "nl", "en", "de"]
    retention_days: int = Field(default=395, ge=1)
    raw_retention_days: int = Field(default=90, ge=1)
    outbox: str = "outbox"
    digest_language: str = "fr"
    # a local transformer sentiment model (Hugging Face format); used when torch and
    # transformers are installed, never downloaded (listening.nlp.sentiment)
    sentiment_model_dir: str | None = None
    report_url: str | None = None  # where <lake>/reports is served (intranet); digests link to it
    # named entities with spaCy, for the languages with an installed model (the slowest stage)
    entities: bool = True
    # a day is enriched in one mapped task per this many posts (several workers share a big day);
    # also the most raw rows ingest holds (then sorted runs on disk) and validation's slice size
    enrich_shard_posts: int = Field(default=250_000, ge=1)
    # the response desk (listening.responses): how many days back posts wait for an answer, and
    # after how many hours a red post still unanswered raises an alert to its team
    response_window_days: int = Field(default=7, ge=1, le=28)
    response_alert_hours: float = Field(default=24.0, gt=0)
    # weights of the influence score's components (listening.influence, docs/influence.md)
    influence_weights: dict[str, float] = {"reach": 0.2, "engagement": 0.2, "centrality": 0.3,
                                           "relevance": 0.15, "authenticity": 0.15}

    @field_validator("influence_weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        known = {"reach", "engagement", "centrality", "relevance", "authenticity"}
        if set(v) - known:
            raise ValueError(f"unknown components {sorted(set(v) - known)} (known: {sorted(known)})")
        if any(w < 0 for w in v.values()) or not sum(v.values()) > 0:
            raise ValueError("weights must be zero or positive, and not all zero")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone (e.g. Europe/Brussels)") from None
        return v

    @field_validator("languages")
    @classmethod
    def _langs(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - KNOWN_LANGUAGES)
        if unknown:
            raise ValueError(f"languages {unknown} are not supported (supported: {sorted(KNOWN_LANGUAGES)})")
        return v


class Config(BaseModel):
    """Everything a run needs to know, resolved against the environment."""
    model_config = ConfigDict(frozen=True)
    config_dir: Path
    watchlists: Watchlists
    settings: Settings

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load, except that a key written twice in one mapping is an error, not a silent overwrite."""

    def construct_mapping(self, node, deep=False):
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key_node.value!r} is written twice in the same block",
                        key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)


def _line_map(text: str) -> dict[tuple, int]:
    """Map each path inside a YAML document to its 1-based line, for error messages."""
    lines: dict[tuple, int] = {}

    def walk(node: Any, path: tuple) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                lines[path + (k.value,)] = k.start_mark.line + 1
                walk(v, path + (k.value,))
                lines[path + (k.value,)] = k.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,))

    root = yaml.compose(text)
    if root is not None:
        walk(root, ())
    return lines


def _load_model(path: Path, model: type[BaseModel], required: bool) -> BaseModel:
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: file not found")
        return model()
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected a mapping at the top of the file, found {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        lines = _line_map(text)
        problems = []
        for err in e.errors():
            loc = tuple(err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            # Errors raised by a model validator carry their own path in the message.
            m = re.match(r"^([\w.\-]+): (.*)$", msg)
            if m and not loc:
                loc = tuple(int(p) if p.isdigit() else p for p in m.group(1).split("."))
                msg = m.group(2)
            line = None
            for n in range(len(loc), -1, -1):
                if loc[:n] in lines:
                    line = lines[loc[:n]]
                    break
            dotted = ".".join(str(p) for p in loc) or "(top)"
            problems.append(f"{path}:{line or 1}: {dotted}: {msg}")
        raise ConfigError("\n".join(problems)) from None


def config_dir_from_env() -> Path:
    return Path(os.environ.get("VIGIE_CONFIG_DIR") or DEFAULT_CONFIG_DIR)


def load_config(config_dir: str | Path | None = None) -> Config:
    """Load and check watchlists.yml and settings.yml from a directory."""
    d = Path(config_dir) if config_dir else config_dir_from_env()
    if not d.is_dir():
        raise ConfigError(f"{d}: config directory not found")
    watchlists = _load_model(d / WATCHLISTS, Watchlists, required=True)
    settings = _load_model(d / SETTINGS, Settings, required=False)
    unknown_langs = {
        lang for t in watchlists.topics for lang in t.languages if lang not in settings.languages}
    if unknown_langs:
        raise ConfigError(
            f"{d / WATCHLISTS}: topics use languages {sorted(unknown_langs)} that settings.yml "
            f"does not list in languages ({settings.languages})")
    triage_table = d / TRIAGE
    if triage_table.exists():  # otherwise the table shipped in include/config applies
        from listening.triage import TriageConfigError, load_rules

        try:
            load_rules(triage_table)
        except TriageConfigError as e:
            raise ConfigError(str(e)) from None
    return Config(config_dir=d, watchlists=watchlists, settings=settings)


def lake_root(config: Config) -> Path:
    """VIGIE_LAKE wins; otherwise settings.lake, relative to the repository. Either may be a URI
    (`s3://bucket/prefix`)."""
    from listening.lake import at

    value = os.environ.get("VIGIE_LAKE") or config.settings.lake
    p = at(value)
    return p if not isinstance(p, Path) or p.is_absolute() else REPO / p


def import_dir() -> Path:
    return Path(os.environ.get("VIGIE_IMPORT_DIR") or REPO / "include" / "sample" / "import")
