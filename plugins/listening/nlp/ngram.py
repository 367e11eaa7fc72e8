"""A linear sentiment model on word and character n-grams, blended with a lexicon score.

The model is trained by ``bench/train_sentiment.py`` (scikit-learn logistic regression on
TF-IDF features) and exported to a small gzipped JSON file per language under
``include/models/sentiment/``. Scoring needs neither scikit-learn nor numpy: this module
re-computes the same features in plain Python and sums the weights, which runs at tens of
thousands of posts per second per core. ``featurize`` is the one definition of the features,
used by the training script and at run time alike.

Per post, with x the sublinear TF-IDF vector (L2-normalised, vocabulary of the training
split) and s the lexicon's compound score in [-1, 1]:

    logits = W·x + k·s·u + b            (u: the lexicon score's weight per class)
    p = softmax(logits)                 (negative, neutral, positive)
    label = argmax p,  score = p[positive] - p[negative],  confidence = max p
"""
from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
import unicodedata
from collections import Counter
from itertools import compress
from pathlib import Path

__all__ = ["featurize", "NgramModel", "MODEL_DIR", "CLASSES"]

MODEL_DIR = Path(__file__).resolve().parents[3] / "include" / "models" / "sentiment"
CLASSES = ("negative", "neutral", "positive")
FORMAT = 1

_URL_RE = re.compile(r"https?://\S+|www\.\S+")
_MENTION_RE = re.compile(r"@\w+")
_HASHTAG_RE = re.compile(r"#(\w+)")
_CAMEL_RE = re.compile(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])")
_TOKEN_RE = re.compile(r"[^\W\d_]+|\d+|[^\w\s]")
_REPEAT_RE = re.compile(r"(.)\1{2,}")
CHAR_MIN, CHAR_MAX = 2, 5
_MORE_THAN_ONE = (1).__lt__
_NO_CHARS = frozenset({"user", "http"})


def _fold(s: str) -> str:
    if s.isascii():
        return s
    # the same as dropping each c with unicodedata.combining(c) after NFD, in one C call
    from listening.clean import _strip_marks

    return unicodedata.normalize("NFD", s).translate(_strip_marks())


def _hashtag(m: re.Match) -> str:
    return " # " + _CAMEL_RE.sub(" ", m.group(1).replace("_", " ")) + " "


def normalise(text: str) -> str:
    """Links to 'http', handles to '@user', hashtags split into words, lowercase, no accents,
    letters repeated 3+ times cut to 2 ('trooop' -> 'troop')."""
    if "http" in text or "www." in text:
        text = _URL_RE.sub(" http ", text)
    if "@" in text:
        text = _MENTION_RE.sub(" @user ", text)
    if "#" in text:
        text = _HASHTAG_RE.sub(_hashtag, text)
    text = _fold(text.lower())
    return _REPEAT_RE.sub(r"\1\1", text)


def tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(normalise(text))


def char_grams(tok: str) -> list[str]:
    """Character 2- to 5-grams of a token padded with spaces; none for one-character tokens
    and for the placeholders of handles and links."""
    if len(tok) < 2 or tok in _NO_CHARS:
        return []
    w = " " + tok + " "
    n = len(w)
    return ["c:" + w[i : i + k] for k in range(CHAR_MIN, min(CHAR_MAX, n) + 1) for i in range(n - k + 1)]


def featurize(text: str) -> list[str]:
    """Word unigrams and bigrams ('w:' / 'b:') and character 2- to 5-grams of each word of two
    characters or more, padded with spaces ('c:'); punctuation and emoji are word tokens of
    their own."""
    toks = tokens(text)
    out = ["w:" + t for t in toks]
    out.extend("b:" + a + " " + b for a, b in zip(toks, toks[1:]))
    for t in toks:
        out.extend(char_grams(t))
    return out


class NgramModel:
    """A trained model loaded from its JSON artefact; ``predict`` takes texts and their
    lexicon scores and returns (probabilities, ...) per post."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        raw = self.path.read_bytes()
        data = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
        if data.get("format") != FORMAT:
            raise ValueError(f"{self.path}: unknown model format {data.get('format')!r} (expected {FORMAT})")
        if tuple(data["classes"]) != CLASSES:
            raise ValueError(f"{self.path}: classes {data['classes']} are not {list(CLASSES)}")
        self.lang = data["lang"]
        self.meta = {k: v for k, v in data.items() if k not in ("features",)}
        self.lexicon_version = data.get("lexicon_version")
        self.intercept = tuple(float(x) for x in data["intercept"])
        self.lex_coef = tuple(float(x) * float(data["lexicon_weight"]) for x in data["lexicon_coef"])
        # feature -> (idf, w_neg * idf, w_neu * idf, w_pos * idf), pre-multiplied at load
        feats = {}
        for f, (idf, a, b, c) in data["features"].items():
            feats[f] = (idf, a * idf, b * idf, c * idf)
        self.features = feats
        # word bigrams again, keyed by the pair of tokens: no string to build per bigram of a post
        # (tokens hold no space, so "b:a b" splits back into its pair)
        self._bigrams = {tuple(f[2:].split(" ", 1)): e for f, e in feats.items() if f.startswith("b:")}
        self._tok_cache: dict[str, tuple] = {}
        self.version = f"{data.get('version', '1')}+{hashlib.sha256(raw).hexdigest()[:12]}"

    def _token_feats(self, tok: str) -> tuple:
        """A token's word and character features that the model knows, with their summed
        weights and squared idf as if each occurred once (cached: words repeat across posts,
        so most posts cost one look-up per word; repeats are corrected in ``proba``)."""
        got = self._tok_cache.get(tok)
        if got is None:
            feats = self.features
            keys = tuple(f for f in ["w:" + tok, *char_grams(tok)] if f in feats)
            es = [feats[f] for f in keys]
            got = (keys, sum(e[1] for e in es), sum(e[2] for e in es), sum(e[3] for e in es),
                   sum(e[0] * e[0] for e in es))
            if len(self._tok_cache) > 300_000:
                self._tok_cache.clear()
            self._tok_cache[tok] = got
        return got

    def proba(self, text: str, lex: float) -> tuple[float, float, float]:
        toks = tokens(text)
        feats = self.features
        tf = self._token_feats
        cached = self._tok_cache.get
        s0 = s1 = s2 = nrm = 0.0
        keys: list[str] = []
        for t in toks:
            got = cached(t)
            k, a0, a1, a2, n2 = got if got is not None else tf(t)
            keys.extend(k)
            s0 += a0
            s1 += a1
            s2 += a2
            nrm += n2
        bigrams = self._bigrams
        for pair in zip(toks, toks[1:]):
            e = bigrams.get(pair)
            if e is not None:
                keys.append(pair)  # a bigram's key is its pair (a tuple never equals a str key)
                s0 += e[1]
                s1 += e[2]
                s2 += e[3]
                nrm += e[0] * e[0]
        counts = Counter(keys)
        if len(counts) != len(keys):
            # sublinear tf: a feature seen c times weighs 1 + ln c, not c (the features seen more than
            # once picked out in C, in the order of their first occurrence, as before)
            log = math.log
            for f, c in compress(counts.items(), map(_MORE_THAN_ONE, counts.values())):
                e = feats[f] if f.__class__ is str else bigrams[f]
                w = 1.0 + log(c)
                d = w - c
                s0 += d * e[1]
                s1 += d * e[2]
                s2 += d * e[3]
                nrm += e[0] * e[0] * (w * w - c)
        if nrm > 0:
            inv = 1.0 / math.sqrt(nrm)
            s0 *= inv
            s1 *= inv
            s2 *= inv
        b, u = self.intercept, self.lex_coef
        z0 = s0 + b[0] + lex * u[0]
        z1 = s1 + b[1] + lex * u[1]
        z2 = s2 + b[2] + lex * u[2]
        m = max(z0, z1, z2)
        e0, e1, e2 = math.exp(z0 - m), math.exp(z1 - m), math.exp(z2 - m)
        t = e0 + e1 + e2
        return e0 / t, e1 / t, e2 / t

    def __repr__(self) -> str:
        return f"NgramModel(lang={self.lang!r}, version={self.version!r}, features={len(self.features)})"
