"""Sentiment per post, by the engine that reads the post's language.

English goes to VADER (vaderSentiment) as the design card asks; French, Dutch and German go to
Vigie's lexicon-and-rules engine (`listening.nlp.lexicon`). A language no engine reads gets
no score rather than a wrong one: charts count it as 'unscored'.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version

VADER_LANGS = {"en"}
LEXICON_LANGS = {"fr", "nl", "de"}
SUPPORTED = VADER_LANGS | LEXICON_LANGS
VADER_BAND = 0.05


@dataclass(frozen=True)
class Sentiment:
    score: float
    label: str
    engine: str


class _Vader:
    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.analyzer = SentimentIntensityAnalyzer()
        self.engine = f"vader-{version('vaderSentiment')}"

    def score(self, texts: list[str]) -> list[Sentiment]:
        out = []
        for t in texts:
            s = self.analyzer.polarity_scores(t)["compound"]
            label = "positive" if s >= VADER_BAND else "negative" if s <= -VADER_BAND else "neutral"
            out.append(Sentiment(float(s), label, self.engine))
        return out


class _Lexicon:
    def __init__(self, lang: str) -> None:
        from listening.nlp.lexicon import LexiconSentiment

        self.model = LexiconSentiment(lang)
        self.engine = f"{self.model.name}-{lang}-{self.model.version}"

    def score(self, texts: list[str]) -> list[Sentiment]:
        scores = self.model.polarity_many(texts)
        return [Sentiment(float(s), self.model.label(s), self.engine) for s in scores]


@lru_cache(maxsize=None)
def engine(lang: str):
    """The engine for a language, loaded once per process; None when no engine reads it."""
    if lang in VADER_LANGS:
        return _Vader()
    if lang in LEXICON_LANGS:
        return _Lexicon(lang)
    return None


def score(texts: list[str], langs: list[str]) -> list[Sentiment | None]:
    """Score a batch: posts are grouped by language, each group scored by its engine."""
    out: list[Sentiment | None] = [None] * len(texts)
    by_lang: dict[str, list[int]] = {}
    for i, lang in enumerate(langs):
        by_lang.setdefault(lang, []).append(i)
    for lang, idx in sorted(by_lang.items()):
        eng = engine(lang)
        if eng is None:
            continue
        for i, s in zip(idx, eng.score([texts[i] for i in idx])):
            out[i] = s
    return out
