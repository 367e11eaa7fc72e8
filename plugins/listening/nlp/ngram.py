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
        # for proba_many: every feature (word, character and bigram) numbered, with its idf and
        # pre-multiplied weights as arrays; bigrams looked up by token pair to their number
        self._index = {f: i for i, f in enumerate(feats)}
        self._bigram_ix = {tuple(f[2:].split(" ", 1)): i for f, i in self._index.items() if f.startswith("b:")}
        self._arrays = None  # built on the first proba_many (numpy imported only then)
        self._reset_tokens()

    def _reset_tokens(self) -> None:
        """proba_many's token table: token -> number; per number, its known features (numbers,
        in a flat array) and their sums, as ``_token_feats`` computes them."""
        from array import array

        self._tok_id: dict[str, int] = {}
        self._tok_start = array("q")
        self._tok_len = array("q")
        self._tok_flat = array("q")
        self._tok_sums = (array("d"), array("d"), array("d"), array("d"))

    def _new_token(self, tok: str) -> int:
        keys, a0, a1, a2, n2 = self._token_feats(tok)
        i = len(self._tok_len)
        self._tok_id[tok] = i
        self._tok_start.append(len(self._tok_flat))
        self._tok_len.append(len(keys))
        index = self._index
        self._tok_flat.extend(index[k] for k in keys)
        for arr, v in zip(self._tok_sums, (a0, a1, a2, n2)):
            arr.append(v)
        return i

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

    CHUNK = 8_000  # texts per numpy pass (keeps the sort keys within int64 and the arrays small)

    def proba_many(self, texts: list[str], lexs: list[float]) -> list[tuple[float, float, float]]:
        """``proba`` of each text, ``CHUNK`` texts at a time (see ``_proba_chunk``)."""
        out: list[tuple[float, float, float]] = []
        for i in range(0, len(texts), self.CHUNK):
            out += self._proba_chunk(texts[i : i + self.CHUNK], lexs[i : i + self.CHUNK])
        return out

    def _proba_chunk(self, texts: list[str], lexs: list[float]) -> list[tuple[float, float, float]]:
        """``proba`` of each text, the same floats bit for bit, for a batch at once: the text's
        tokens are read in Python, the repeated features found and summed with numpy.

        Exactness: ``proba`` adds, per text and in this order, each token's cached sums, each
        known bigram's weights, then a correction for each feature seen more than once (in the
        order of first occurrence). ``numpy.bincount`` adds its weights into each bin in array
        order, so one bincount over [token sums, bigram weights, corrections], each part in
        the text's own order, does the same additions in the same order; the softmax is done
        with ``math`` as in ``proba``."""
        import numpy as np

        n = len(texts)
        if n == 0:
            return []
        if len(self._tok_len) > 300_000:
            self._reset_tokens()
        if self._arrays is None:
            es = list(self.features.values())
            idf = np.array([e[0] for e in es], dtype=np.float64)
            self._arrays = (idf, idf * idf, np.array([[e[1], e[2], e[3]] for e in es], dtype=np.float64).reshape(-1, 3))
        idf, idf2, wts = self._arrays
        tok_id = self._tok_id
        get_id = tok_id.get
        new = self._new_token
        bget = self._bigram_ix.get
        ids: list[int] = []
        ntok: list[int] = []
        big: list[int] = []
        nbig: list[int] = []
        for text in texts:
            toks = tokens(text)
            t_ids = list(map(get_id, toks))
            if None in t_ids:
                t_ids = [i if i is not None else (get_id(t) if t in tok_id else new(t)) for t, i in zip(toks, t_ids)]
            ids += t_ids
            ntok.append(len(t_ids))
            if len(toks) > 1:
                b = [x for x in map(bget, zip(toks, toks[1:])) if x is not None]
                big += b
                nbig.append(len(b))
            else:
                nbig.append(0)
        post = np.arange(n, dtype=np.int64)
        tid = np.array(ids, dtype=np.int64)
        tpost = np.repeat(post, ntok)
        bfeat = np.array(big, dtype=np.int64)
        bpost = np.repeat(post, nbig)
        sums = [np.frombuffer(a, dtype=np.float64)[tid] for a in self._tok_sums]
        # every known feature of every text: first the token features (text by text, token by
        # token), then the bigrams (text by text); an element's index keeps proba's order
        # within a text
        lens = np.frombuffer(self._tok_len, dtype=np.int64)[tid]
        starts = np.frombuffer(self._tok_start, dtype=np.int64)[tid]
        ends = np.cumsum(lens)
        pos = np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64) + np.repeat(starts - (ends - lens), lens)
        feat = np.concatenate([np.frombuffer(self._tok_flat, dtype=np.int64)[pos], bfeat])
        fpost = np.concatenate([np.repeat(tpost, lens), bpost])
        m = len(feat)
        if (n + 1) * len(idf) * (m + 1) >= 1 << 62:  # the sort key would overflow int64
            if n == 1:
                return [self.proba(texts[0], lexs[0])]
            h = n // 2
            return self._proba_chunk(texts[:h], lexs[:h]) + self._proba_chunk(texts[h:], lexs[h:])
        # repeated features: sort by (text, feature, index); a run of equal (text, feature) is
        # one feature seen c times, its first element the first occurrence
        key = (fpost * len(idf) + feat) * m + np.arange(m, dtype=np.int64)
        key.sort()
        group = key // max(m, 1)
        first = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))[: m]
        counts = np.diff(np.append(first, m))
        rep = counts > 1
        at = key[first[rep]] % max(m, 1)
        o = np.argsort(at)            # corrections in the order of first occurrence
        at, c = at[o], counts[rep][o]
        f = feat[at]
        w = self._logs(int(c.max()) if len(c) else 1)[c]
        d = w - c
        corr = (d * wts[f, 0], d * wts[f, 1], d * wts[f, 2], idf2[f] * (w * w - c))
        bw = (wts[bfeat, 0], wts[bfeat, 1], wts[bfeat, 2], idf2[bfeat])
        allp = np.concatenate([tpost, bpost, fpost[at]])
        s = [np.bincount(allp, weights=np.concatenate([sums[k], bw[k], corr[k]]), minlength=n).tolist()
             for k in range(4)]
        b, u = self.intercept, self.lex_coef
        exp, sqrt = math.exp, math.sqrt
        out = []
        for s0, s1, s2, nrm, lex in zip(*s, lexs):
            if nrm > 0:
                inv = 1.0 / sqrt(nrm)
                s0 *= inv
                s1 *= inv
                s2 *= inv
            z0 = s0 + b[0] + lex * u[0]
            z1 = s1 + b[1] + lex * u[1]
            z2 = s2 + b[2] + lex * u[2]
            mx = max(z0, z1, z2)
            e0, e1, e2 = exp(z0 - mx), exp(z1 - mx), exp(z2 - mx)
            t = e0 + e1 + e2
            out.append((e0 / t, e1 / t, e2 / t))
        return out

    _LOGS: list = []

    def _logs(self, cmax: int):
        """1 + ln c for c = 0 .. cmax, computed by ``math.log`` as ``proba`` does."""
        import numpy as np

        if len(NgramModel._LOGS) <= cmax:
            NgramModel._LOGS = [0.0] + [1.0 + math.log(c) for c in range(1, max(cmax, 64) + 1)]
            NgramModel._LOGS_NP = np.array(NgramModel._LOGS)
        return NgramModel._LOGS_NP

    def __repr__(self) -> str:
        return f"NgramModel(lang={self.lang!r}, version={self.version!r}, features={len(self.features)})"
