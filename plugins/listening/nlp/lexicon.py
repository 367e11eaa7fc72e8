"""VADER-style lexicon-and-rules sentiment for French, Dutch and German.

English is scored by the vaderSentiment package itself; this engine is the
multilingual counterpart, written to be simple, explicit and data-driven:

* ``include/lexicons/sentiment/<lang>.tsv`` -- ``token<TAB>valence`` lines
  (VADER scale, -4..4). A token with spaces is a multi-word idiom
  (« pas terrible », « nicht schlecht »), matched before single words.
* ``include/lexicons/sentiment/emoji.tsv`` -- emoji and emoticons, shared.
* ``base_lexicons`` in rules.yml -- generated word lists loaded before ``<lang>.tsv``,
  which overrides them (Dutch: ``nl-pattern.tsv``, built by bench/build_nl_lexicon.py
  from Pattern's PDDL lexicon).
* ``include/lexicons/sentiment/rules.yml`` -- per language: negators,
  boosters/dampeners with their increments, contrast words, neutral band,
  and the character transliterations applied before lookup.

Rules (as in VADER, Hutto & Gilbert 2014): lexicon lookup on accent-stripped
lowercase tokens; negation in a window of the 3 preceding tokens multiplies by
-0.74 (once, however many negators: « ne ... pas » counts once); boosters and
dampeners in the same window add their increment to the next sentiment word,
decaying with distance; a contrast word (mais / maar / aber) halves what comes
before it and weighs what follows by 1.5; an ALL-CAPS sentiment word in a
mixed-case text gains 0.733; '!' (at most 4) and '??' add emphasis; the sum is
normalised by x / sqrt(x*x + 15).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import unicodedata
from pathlib import Path

import yaml

__all__ = ["LexiconSentiment", "LexiconError", "DEFAULT_LEXICON_DIR"]

DEFAULT_LEXICON_DIR = (
    Path(__file__).resolve().parents[3] / "include" / "lexicons" / "sentiment"
)

ENGINE_VERSION = "1"

# VADER constants
NEGATION_SCALAR = -0.74
CAPS_INCR = 0.733
EXCLAIM_INCR = 0.292
EXCLAIM_MAX = 4
QUESTION_INCR = 0.18
QUESTION_MAX = 0.96
NORMALISATION_ALPHA = 15.0
WINDOW = 3
WINDOW_DECAY = (1.0, 0.95, 0.9)  # weight of a booster 1, 2, 3 tokens before
CONTRAST_BEFORE = 0.5
CONTRAST_AFTER = 1.5
MAX_IDIOM_WORDS = 8

_URL_RE = re.compile(r"https?://\S+|www\.\S+|\bhttp\b")
_MENTION_RE = re.compile(r"@\w+")
_HASHTAG_RE = re.compile(r"#(\w+)")
_CAMEL_RE = re.compile(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])|(?<=[A-ZÀ-Þ])(?=[A-ZÀ-Þ][a-zà-ÿ])|(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_EMOJI_NOISE_RE = re.compile("[\ufe0f\ufe0e\u200d\U0001F3FB-\U0001F3FF]")
_WORD = r"[^\W\d_]+"
_LETTER_RE = re.compile(_WORD)


class LexiconError(ValueError):
    """A lexicon or rules file is missing an entry or is malformed."""


def _strip_accents(s: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c)
    )


def _split_hashtag(match: re.Match) -> str:
    return " " + _CAMEL_RE.sub(" ", match.group(1).replace("_", " ")) + " "


class LexiconSentiment:
    """Score short texts in [-1, 1] with a VADER-like lexicon and rules."""

    name = "vigie-lexicon"

    def __init__(self, lang: str, lexicon_dir: str | Path | None = None):
        if lexicon_dir is None:
            lexicon_dir = os.environ.get("VIGIE_LEXICON_DIR") or DEFAULT_LEXICON_DIR
        self.lexicon_dir = Path(lexicon_dir)
        self.lang = lang
        rules_path = self.lexicon_dir / "rules.yml"
        lex_path = self.lexicon_dir / f"{lang}.tsv"
        emoji_path = self.lexicon_dir / "emoji.tsv"
        rules_all = self._load_rules(rules_path)
        if lang not in rules_all or not lex_path.is_file():
            known = sorted(
                k for k in rules_all if (self.lexicon_dir / f"{k}.tsv").is_file()
            )
            raise ValueError(
                f"no sentiment lexicon for language {lang!r} in {self.lexicon_dir} "
                f"(expected {lex_path.name} and a {lang!r} section in rules.yml; "
                f"available: {', '.join(known) or 'none'})"
            )
        rules = rules_all[lang] or {}
        self._translit = str.maketrans(
            {str(k): str(v) for k, v in (rules.get("transliterate") or {}).items()}
        )
        self._norm_cache: dict[str, str] = {}

        def words(key):
            return {self._norm(w) for w in (rules.get(key) or [])}

        def incs(key, path=rules_path):
            out = {}
            for w, v in (rules.get(key) or {}).items():
                try:
                    out[self._norm(str(w))] = float(v)
                except (TypeError, ValueError):
                    raise LexiconError(f"{path}: {lang}.{key}.{w}: not a number: {v!r}")
            return out

        self.negators = words("negators")
        self.contrast = words("contrast")
        self.modifiers = incs("boosters")
        self.modifiers.update(incs("dampeners"))
        band = rules.get("neutral_band", 0.05)
        if isinstance(band, (int, float)):
            self.neutral_band = (-float(band), float(band))
        else:
            self.neutral_band = (float(band[0]), float(band[1]))

        self.words: dict[str, float] = {}
        self.idioms: dict[tuple[str, ...], float] = {}
        base_paths = []
        for name in rules.get("base_lexicons") or []:
            bp = self.lexicon_dir / str(name)
            if not bp.is_file():
                raise LexiconError(f"{rules_path}: {lang}.base_lexicons: no file {bp}")
            base_paths.append(bp)
        # a generated list knows nothing of the rules: its entries for words the rules use as
        # negators, boosters, dampeners or contrast ('echt', 'heel') are dropped
        ruled = self.negators | self.contrast | set(self.modifiers)
        entries = [(k, v) for bp in base_paths for k, v in self._read_tsv(bp) if self._norm(k) not in ruled]
        entries += list(self._read_tsv(lex_path))  # the language's own file wins
        for key, val in entries:
            parts = tuple(self._norm(p) for p in key.split())
            if len(parts) == 1:
                self.words[parts[0]] = val
            else:
                if len(parts) > MAX_IDIOM_WORDS:
                    raise LexiconError(f"{lex_path}: idiom longer than {MAX_IDIOM_WORDS} words: {key!r}")
                self.idioms[parts] = val
        self._idiom_first = {p[0] for p in self.idioms}
        self._idiom_max = max((len(p) for p in self.idioms), default=1)
        self._idiom_negated = {p for p in self.idioms if self.negators.intersection(p)}

        self.emoji: dict[str, float] = {}
        if emoji_path.is_file():
            for key, val in self._read_tsv(emoji_path, lower=False):
                self.emoji[_EMOJI_NOISE_RE.sub("", key)] = val
        emo_alt = "|".join(
            re.escape(e) for e in sorted(self.emoji, key=len, reverse=True)
        )
        self._token_re = re.compile(
            (f"({emo_alt})|" if emo_alt else "((?!x)x)|") + f"({_WORD})"
        )
        # the same tokens without groups: an emoji key is never matched by the word branch (the
        # emoji branch, tried first, would have matched there), so a token is an emoji iff it
        # is a key of self.emoji
        # Where a letter is, only the emoji starting with a letter ('xD') can match before a word;
        # elsewhere no word can, and the other emoji are tried only where one of their first
        # characters is (one test per position instead of one per emoji). Each part keeps the
        # longest-first order: the same tokens as emoji-then-word everywhere.
        by_len = sorted(self.emoji, key=len, reverse=True)
        lettered = [e for e in by_len if e and _LETTER_RE.match(e)]
        others = [e for e in by_len if e and not _LETTER_RE.match(e)]
        firsts = "".join(sorted({re.escape(e[0]) for e in others}))
        self._token_re1 = re.compile(
            "".join(re.escape(e) + "|" for e in lettered) + _WORD
            + (f"|(?=[{firsts}])(?:" + "|".join(re.escape(e) for e in others) + ")" if others else ""))
        self._key_cache: dict[str, str] = {}
        self._emoji_chars = frozenset(e[0] for e in self.emoji)
        # a token whose key is none of these does nothing in polarity (not an idiom's first word,
        # a sentiment word or an emoji): the scoring loop visits only the others
        self._relevant = frozenset(self.words) | frozenset(self.emoji) | self._idiom_first

        h = hashlib.sha256()
        for p in (*base_paths, lex_path, emoji_path, rules_path):
            if p.is_file():
                h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
        self.version = f"{ENGINE_VERSION}+{h.hexdigest()[:12]}"

    # -- loading -------------------------------------------------------------

    @staticmethod
    def _load_rules(path: Path) -> dict:
        if not path.is_file():
            raise ValueError(f"no rules.yml in lexicon directory {path.parent}")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise LexiconError(f"{path}: invalid YAML: {e}") from e
        if not isinstance(data, dict):
            raise LexiconError(f"{path}: expected a mapping of language -> rules")
        return data

    @staticmethod
    def _read_tsv(path: Path, lower: bool = True):
        with open(path, encoding="utf-8") as f:
            for lineno, raw in enumerate(f, 1):
                line = raw.rstrip("\r\n")
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                fields = line.split("\t")
                if len(fields) < 2 or not fields[0].strip():
                    raise LexiconError(
                        f"{path}:{lineno}: expected 'token<TAB>valence', got {line!r}"
                    )
                try:
                    val = float(fields[1])
                except ValueError:
                    raise LexiconError(
                        f"{path}:{lineno}: valence is not a number: {fields[1]!r}"
                    ) from None
                if not -4.0 <= val <= 4.0 or math.isnan(val):
                    raise LexiconError(
                        f"{path}:{lineno}: valence {val} outside [-4, 4]"
                    )
                key = fields[0].strip()
                yield (key.lower() if lower else key), val

    # -- normalisation ---------------------------------------------------------

    def _norm(self, token: str) -> str:
        """Lowercase, transliterate (e.g. German umlauts), strip accents."""
        k = self._norm_cache.get(token)
        if k is None:
            k = _strip_accents(token.lower().translate(self._translit)).lower()
            if len(self._norm_cache) > 200_000:
                self._norm_cache.clear()
            self._norm_cache[token] = k
        return k

    def _key(self, token: str) -> str:
        """polarity's key of a token: an emoji as it is, a word normalised (cached)."""
        k = token if token in self.emoji else self._norm(token)
        if len(self._key_cache) > 200_000:
            self._key_cache.clear()
        self._key_cache[token] = k
        return k

    # -- scoring ---------------------------------------------------------------

    def polarity(self, text: str) -> float:
        """Compound score in [-1, 1]: negative < 0 < positive."""
        if not text:
            return 0.0
        if "http" in text or "www." in text:
            text = _URL_RE.sub(" ", text)
        if "@" in text:
            text = _MENTION_RE.sub(" ", text)
        if "#" in text:
            text = _HASHTAG_RE.sub(_split_hashtag, text)
        text = _EMOJI_NOISE_RE.sub("", text)

        toks = self._token_re1.findall(text)
        if not toks:
            return 0.0
        # keys: an emoji as it is, a word by its normalised form (cached per token as written)
        keys = list(map(self._key_cache.get, toks))
        if None in keys:
            keys = [k if k is not None else self._key(t) for t, k in zip(toks, keys)]
        emoji = self.emoji

        relevant = self._relevant
        hits = [i for i, k in enumerate(keys) if k in relevant]
        if not hits:
            return 0.0
        words = self.words
        negators = self.negators
        modifiers = self.modifiers
        idioms = self.idioms
        idiom_first = self._idiom_first
        cap_diff = None  # computed lazily

        n = len(keys)
        sentiments: list[float] = [0.0] * n
        any_hit = False
        skip_until = -1
        for i in hits:  # the positions of every other token do nothing (see _relevant)
            if i < skip_until:
                continue
            k = keys[i]
            v = None
            span = 1
            if k in idiom_first:
                for L in range(min(self._idiom_max, n - i), 1, -1):
                    key = tuple(keys[i : i + L])
                    iv = idioms.get(key)
                    if iv is not None:
                        v, span = iv, L
                        break
            if v is None:
                v = words.get(k)
                if v is None:
                    ev = emoji.get(k)
                    if ev is not None:  # emoji: no negation or boosting
                        sentiments[i] = ev
                        any_hit = True
                    continue
            skip_until = i + span
            if k in modifiers and span == 1 and i + 1 < n and keys[i + 1] in words:
                # "super", "trop", "total" before a sentiment word act as boosters
                continue
            orig = toks[i]  # a word here (an emoji went on above)
            if len(orig) > 1 and orig.isupper():
                if cap_diff is None:  # a word (not an emoji) that is not in capitals
                    cap_diff = any(not o.isupper() for o in toks if o not in emoji)
                if cap_diff:
                    v += CAPS_INCR if v > 0 else -CAPS_INCR
            negated = False
            # an idiom carrying its own negation ("pas terrible", "nicht schlecht")
            # is not negated again by a "ne" / other negator before it
            own_neg = span > 1 and key in self._idiom_negated
            for d in range(1, WINDOW + 1):
                j = i - d
                if j < 0:
                    break
                pk = keys[j]
                inc = modifiers.get(pk)
                if inc is not None and v != 0:
                    inc *= WINDOW_DECAY[d - 1]
                    oj = toks[j]
                    if cap_diff and len(oj) > 1 and oj.isupper() and oj not in emoji:
                        inc += 0.733 if inc > 0 else -0.733
                    v += inc if v > 0 else -inc
                elif pk in negators and not own_neg:
                    negated = True
            if negated:
                v *= NEGATION_SCALAR
            sentiments[i] = v
            any_hit = True

        if not any_hit:
            return 0.0

        contrast = self.contrast
        if contrast and not contrast.isdisjoint(keys):
            ci = next(i for i, k in enumerate(keys) if k in contrast)
            before, after = CONTRAST_BEFORE, CONTRAST_AFTER
            sentiments = ([x * before for x in sentiments[:ci]] + [sentiments[ci]]
                          + [x * after for x in sentiments[ci + 1:]])

        total = sum(sentiments)
        if total:
            emph = 0.0
            ep = text.count("!")
            if ep:
                emph += min(ep, EXCLAIM_MAX) * EXCLAIM_INCR
            qm = text.count("?")
            if qm > 1:
                emph += min(qm * QUESTION_INCR, QUESTION_MAX)
            total += emph if total > 0 else -emph
        score = total / math.sqrt(total * total + NORMALISATION_ALPHA)
        return max(-1.0, min(1.0, score))

    def polarity_many(self, texts: list[str]) -> list[float]:
        pol = self.polarity
        return [pol(t) for t in texts]

    def label(self, score: float) -> str:
        """'negative', 'neutral' or 'positive' using the language's neutral band."""
        lo, hi = self.neutral_band
        if score > hi:
            return "positive"
        if score < lo:
            return "negative"
        return "neutral"

    def __repr__(self) -> str:
        return f"LexiconSentiment(lang={self.lang!r}, version={self.version!r})"
