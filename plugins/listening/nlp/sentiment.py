"""Sentiment per post, by the engine that reads the post's language.

One interface: ``score(texts, langs)`` returns, per post, a ``Sentiment`` (score in [-1, 1],
label, confidence in [0, 1], engine name and version) or None when no engine reads the
post's language (charts count it as 'unscored', never as a wrong score).

Engines, chosen by language (docs/sentiment.md has their figures):

* ``en``: VADER (vaderSentiment), as the design card asks, blended with a linear model on word
  and character n-grams trained on English tweets (``listening.nlp.ngram``): VADER's compound
  is one of the model's features. Engine ``vader-<v>+ngram-en-<v>``.
* ``fr``, ``de``: Vigie's lexicon-and-rules engine (``listening.nlp.lexicon``) blended the same
  way with a French / German n-gram model. Engine ``vigie-blend-<lang>-<v>``.
* ``nl``: the lexicon engine alone (hand-written lexicon over Pattern's Dutch adjectives):
  there is no Dutch training split. Engine ``vigie-lexicon-nl-<v>``.
* With a model directory given (``Settings.sentiment_model_dir``, or the environment variable
  ``VIGIE_SENTIMENT_MODEL_DIR``), an optional transformer engine (a Hugging Face sequence
  classification model with negative / neutral / positive labels, e.g. an XLM-T sentiment
  checkpoint that the user has on disk) scores every supported language. It needs torch and
  transformers, which Vigie does not install: when they or the model are missing, a log line
  says so and the engines above are used. Nothing is ever downloaded.

For the blended engines the label is the model's most probable class, the score
P(positive) - P(negative) and the confidence that class's probability. For VADER alone and the
lexicon alone (English or French/German when a model file is missing, Dutch always) the label
comes from the score's neutral band and the confidence is a heuristic, not a probability:
0.5 + |score| / 2 for a polar label, 1 - |score| / (2 * band edge) for a neutral one (0.5 when
no sentiment word was found at all).
"""
from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

log = logging.getLogger(__name__)

VADER_LANGS = {"en"}
LEXICON_LANGS = {"fr", "nl", "de"}
SUPPORTED = VADER_LANGS | LEXICON_LANGS
VADER_BAND = 0.05
MODEL_DIR_ENV = "VIGIE_SENTIMENT_MODEL_DIR"


@dataclass(frozen=True)
class Sentiment:
    score: float
    label: str
    engine: str
    confidence: float = 0.5


def _band_label(s: float, lo: float, hi: float) -> str:
    return "positive" if s > hi else "negative" if s < lo else "neutral"


def band_confidence(s: float, label: str, lo: float, hi: float) -> float:
    """Heuristic confidence of a score-and-band label (see the module doc)."""
    if label != "neutral":
        return round(min(1.0, 0.5 + abs(s) / 2), 4)
    if s == 0.0:
        return 0.5
    edge = hi if s > 0 else -lo
    return round(max(0.0, 1.0 - abs(s) / (2 * edge)) if edge > 0 else 0.5, 4)


def _from_proba(p: tuple[float, float, float], engine: str) -> Sentiment:
    i = max(range(3), key=p.__getitem__)
    return Sentiment(round(p[2] - p[0], 6), ("negative", "neutral", "positive")[i], engine, round(p[i], 4))


def _load_ngram(lang: str, expected_lexicon: str):
    """The n-gram model of a language, or None (with a log line) when its file is missing."""
    from listening.nlp.ngram import MODEL_DIR, NgramModel

    path = Path(os.environ.get("VIGIE_SENTIMENT_NGRAM_DIR") or MODEL_DIR) / f"{lang}.json.gz"
    if not path.is_file():
        log.warning("sentiment: no n-gram model %s; %s scored by its lexicon engine alone", path, lang)
        return None
    model = NgramModel(path)
    if model.lexicon_version != expected_lexicon:
        log.warning("sentiment: %s was trained with lexicon %s, the lexicon is now %s: retrain it "
                    "(bench/train_sentiment.py)", path.name, model.lexicon_version, expected_lexicon)
    return model


class _Vader:
    def __init__(self, blend: bool = True) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.analyzer = SentimentIntensityAnalyzer()
        self.vader = f"vader-{version('vaderSentiment')}"
        self.model = _load_ngram("en", self.vader) if blend else None
        self.engine = f"{self.vader}+ngram-en-{self.model.version}" if self.model else self.vader

    def score(self, texts: list[str]) -> list[Sentiment]:
        pol = self.analyzer.polarity_scores
        compounds = [pol(t)["compound"] for t in texts]
        if self.model is not None:
            engine = self.engine
            return [_from_proba(p, engine) for p in self.model.proba_many(texts, compounds)]
        out = []
        for s in compounds:
            label = "positive" if s >= VADER_BAND else "negative" if s <= -VADER_BAND else "neutral"
            out.append(Sentiment(float(s), label, self.engine, band_confidence(s, label, -VADER_BAND, VADER_BAND)))
        return out


class _Lexicon:
    def __init__(self, lang: str, blend: bool = True) -> None:
        from listening.nlp.lexicon import LexiconSentiment

        self.lexicon = LexiconSentiment(lang)
        lex_engine = f"{self.lexicon.name}-{lang}-{self.lexicon.version}"
        self.model = _load_ngram(lang, lex_engine) if blend and lang != "nl" else None
        self.engine = f"vigie-blend-{lang}-{self.model.version}" if self.model else lex_engine

    def score(self, texts: list[str]) -> list[Sentiment]:
        scores = self.lexicon.polarity_many(texts)
        if self.model is not None:
            engine = self.engine
            return [_from_proba(p, engine) for p in self.model.proba_many(texts, scores)]
        lo, hi = self.lexicon.neutral_band
        out = []
        for s in scores:
            label = self.lexicon.label(s)
            out.append(Sentiment(float(s), label, self.engine, band_confidence(s, label, lo, hi)))
        return out


class _Transformer:
    """A sequence-classification model from a local directory (never downloaded)."""

    LABEL_NAMES = {"negative": 0, "neg": 0, "neutral": 1, "neu": 1, "positive": 2, "pos": 2}

    def __init__(self, model_dir: str, batch_size: int = 32) -> None:
        import torch  # noqa: F401  (ImportError: the caller falls back)
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(model_dir)
        if not path.is_dir():
            raise FileNotFoundError(f"sentiment model directory {path} does not exist")
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModelForSequenceClassification.from_pretrained(str(path), local_files_only=True)
        self.model.eval()
        id2label = {int(k): str(v).lower() for k, v in self.model.config.id2label.items()}
        if len(id2label) == 3 and all(v in self.LABEL_NAMES for v in id2label.values()):
            self.order = [self.LABEL_NAMES[id2label[i]] for i in range(3)]
        else:  # LABEL_0..2: the XLM-T convention, 0 negative, 1 neutral, 2 positive
            self.order = [0, 1, 2]
        self.batch_size = batch_size
        self.engine = f"transformer-{path.name}-{version('transformers')}"

    def score(self, texts: list[str]) -> list[Sentiment]:
        import torch

        out = []
        for i in range(0, len(texts), self.batch_size):
            batch = texts[i : i + self.batch_size]
            enc = self.tokenizer(batch, padding=True, truncation=True, max_length=128, return_tensors="pt")
            with torch.no_grad():
                probs = torch.softmax(self.model(**enc).logits, dim=-1).tolist()
            for row in probs:
                p = [0.0, 0.0, 0.0]
                for j, v in enumerate(row):
                    p[self.order[j]] = v
                out.append(_from_proba(tuple(p), self.engine))
        return out


@lru_cache(maxsize=None)
def transformer(model_dir: str):
    """The transformer engine for a model directory, or None (logged) when it cannot load."""
    try:
        return _Transformer(model_dir)
    except ImportError as e:
        log.warning("sentiment: transformer engine skipped, %s is not installed (pip install torch "
                    "transformers to use the model in %s); using the built-in engines", e.name, model_dir)
    except Exception as e:  # a broken or incomplete model directory must not stop a run
        log.warning("sentiment: transformer engine skipped, cannot load %s: %s", model_dir, e)
    return None


def engine(lang: str, model_dir: str | None = None):
    """The engine for a language, loaded once per process; None when no engine reads it."""
    # one cache key whether model_dir is passed or not: engine("en") and engine("en", None) are
    # the same engine (the harness and a worker warm it one way, score() asks the other way)
    return _engine(lang, str(model_dir) if model_dir else None)


@lru_cache(maxsize=None)
def _engine(lang: str, model_dir: str | None):
    if lang not in SUPPORTED:
        return None
    if model_dir:
        eng = transformer(str(model_dir))
        if eng is not None:
            return eng
    if lang in VADER_LANGS:
        return _Vader()
    return _Lexicon(lang)


engine.cache_clear = _engine.cache_clear  # type: ignore[attr-defined]


def score(texts: list[str], langs: list[str], model_dir: str | None = None) -> list[Sentiment | None]:
    """Score a batch: posts are grouped by language, each group scored by its engine.

    ``model_dir``: a local transformer model to use when it loads (default: the
    VIGIE_SENTIMENT_MODEL_DIR environment variable; none)."""
    if model_dir is None:
        model_dir = os.environ.get(MODEL_DIR_ENV) or None
    out: list[Sentiment | None] = [None] * len(texts)
    by_lang: dict[str, list[int]] = {}
    for i, lang in enumerate(langs):
        by_lang.setdefault(lang, []).append(i)
    for lang, idx in sorted(by_lang.items()):
        eng = engine(lang, model_dir)
        if eng is None:
            continue
        group = [texts[i] for i in idx]
        if isinstance(eng, (_Vader, _Lexicon)):
            # each distinct text scored once (reposts and copies repeat it): these engines read
            # one text at a time, so a text's score does not depend on the rest of the batch
            distinct = list(dict.fromkeys(group))
            if len(distinct) < len(group):
                by_text = dict(zip(distinct, eng.score(distinct)))
                scores = [by_text[t] for t in group]
            else:
                scores = eng.score(group)
        else:
            scores = eng.score(group)
        for i, s in zip(idx, scores):
            if not math.isfinite(s.score):
                s = Sentiment(0.0, "neutral", s.engine, 0.0)
            out[i] = s
    return out
