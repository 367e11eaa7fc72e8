"""Post triage: what a post is, the response it calls for, and how urgent it is.

Each post gets one of ten labels -- question, positive_feedback, disagreement, humour,
negative, misinformation, inflammatory, insult, spam, other -- following the table of post
types of the IPU's "Social Media Guidelines for Parliaments", with the response that table
recommends (``include/config/triage.yml``, English and French), an urgency (green, amber,
red) and a short reason in plain words naming the cue that decided.

    from listening import triage
    triage.classify(["Pouvez-vous publier l'ordre du jour ? @parlbxl"], ["fr"], [True])
    # [Triage(label='question', action='reply in detail, quickly ...', urgency='red',
    #         reason="question: '?' and 'pouvez-vous', addressed to the institution")]

How it decides (docs/triage.md has the details and the measured quality):

* cues are lexicons per language (``include/lexicons/triage/<lang>.yml``: fr, nl, en, de)
  plus language-independent ones (``common.yml``: emoji, crypto, link shorteners, phone
  numbers, '?', links only, shouting). Each class of cues is ONE regular expression per
  language, compiled once: literal entries are merged into a trie-shaped alternation and
  matched on the lowercased, accent-stripped text with links and @mentions blanked out;
* the first class that fires in a fixed order of precedence wins (a threat or spam before
  an insult, an insult before misinformation, ... , positive feedback last), with a few
  combinations (praise with irony or a complaint is read as negative; a bare "mais" /
  "but" counts as disagreement only in a reply);
* urgency is the label's base urgency, raised when the post addresses the institution
  (``addresses``, computed by the caller from its handles) or spreads (engagement at least
  ``spreading_engagement``); a threat is always red.

Languages without a lexicon (or 'und') get only the language-independent cues and fall
back to "other". Pure Python and ``re``: no model, nothing downloaded, about 10 regex
searches per post.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

__all__ = ["Triage", "Rules", "LABELS", "URGENCIES", "classify", "classify_one", "load_rules",
           "DEFAULT_CONFIG", "DEFAULT_LEXICON_DIR", "TriageConfigError"]

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO / "include" / "config" / "triage.yml"
DEFAULT_LEXICON_DIR = REPO / "include" / "lexicons" / "triage"

LABELS = ("question", "positive_feedback", "disagreement", "humour", "negative",
          "misinformation", "inflammatory", "insult", "spam", "other")
URGENCIES = ("green", "amber", "red")
LANGUAGES = ("fr", "nl", "en", "de")
# cue classes of the lexicon files (threat, irony, spam_weak and contrast are sub-cues)
CUE_CLASSES = ("question", "positive_feedback", "disagreement", "contrast", "humour", "irony",
               "negative", "misinformation", "inflammatory", "insult", "threat", "spam",
               "spam_weak")
CUE_WORD = {  # how a reason names the cue of each class
    "insult": "lexicon word", "threat": "threat", "spam": "spam cue", "spam_weak": "spam cue",
    "misinformation": "claim cue", "inflammatory": "call to anger",
    "question": "question form", "disagreement": "disagreement phrase", "contrast": "objection",
    "negative": "complaint word", "humour": "laughter", "positive_feedback": "praise",
    "irony": "irony marker",
}


class TriageConfigError(ValueError):
    """The response table or a lexicon file is malformed (the message names file and entry)."""


@dataclass(frozen=True, slots=True)
class Triage:
    label: str     # one of LABELS
    action: str    # the recommended response, in the requested language
    urgency: str   # green, amber or red
    reason: str    # the cue that decided, in plain words


# --------------------------------------------------------------------------------------
# text normalisation: lowercase, strip accents, keep the length (one char -> one char), so
# a match on the normalised text can be quoted from the original.

def _accent_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in range(0xC0, 0x250):
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if len(base) == 1 and base != ch:
            table[cp] = base.lower()
    for ch in "\u2019\u2018\u02bc\u00b4`":  # apostrophes
        table[ord(ch)] = "'"
    for ch in "\u2010\u2011":  # hyphens
        table[ord(ch)] = "-"
    table[ord("\u00a0")] = " "
    table[ord("\u202f")] = " "
    return table


_TABLE = _accent_table()


_ASCII_MAPPED = "".join(chr(c) for c in _TABLE if c < 128)  # the backtick, an apostrophe
# the characters _TABLE maps, one class: a text has few of them, and replacing just those is
# about three times cheaper than str.translate, which looks every character up in the table
_MAPPED_RE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_TABLE)) + "]")
_MAPPED = {chr(c): v for c, v in _TABLE.items()}


def _mapped(m: re.Match) -> str:
    return _MAPPED[m.group()]


def normalise(text: str) -> str:
    """Lowercase and accent-stripped (``text.lower().translate(_TABLE)``); same length as
    ``text`` unless lower() changes it."""
    low = text.lower()
    if low.isascii() and not any(c in low for c in _ASCII_MAPPED):
        return low  # nothing the table maps
    return _MAPPED_RE.sub(_mapped, low)


# links (also bare domains such as "promo-site.info/x") and @mentions (also fediverse
# handles); possessive quantifiers keep the scan linear
_TLDS = frozenset("com net org info biz xyz shop online site top click store io be nl de fr eu ly me co".split())
_LINKISH_RE = re.compile(r"https?://\S+|www\.\S+|\b(?<![@./-])[\w-]++(?:\.[\w-]++)+(?:/\S*)?"
                         r"|(?<![\w@])@[\w.\-]++(?:@[\w.\-]++)?")


# A text without '://', 'www.' or a '.' between word characters or hyphens (what the first three
# kinds of _LINKISH_RE need) has at most @mentions to blank, found by _LINKISH_RE's fourth kind
# alone. Both regexes below start with a literal character, so the regex engine jumps from one
# '.' or '@' to the next, where _LINKISH_RE tries its four kinds at every position.
_WORD_DOT_RE = re.compile(r"\.(?<=[\w-]\.)[\w-]")
_MENTION_RE = re.compile(r"@(?<![\w@]@)[\w.\-]++(?:@[\w.\-]++)?")  # _LINKISH_RE's fourth kind


def _strip_links(norm: str) -> tuple[str, int]:
    """The text with links and @mentions blanked (same length), and the number of links."""
    if not ("://" in norm or "www." in norm or _WORD_DOT_RE.search(norm)):
        return (_MENTION_RE.sub(_blank, norm) if "@" in norm else norm), 0
    n = 0

    def blank(m: re.Match) -> str:
        nonlocal n
        s = m.group()
        if s[0] == "@":
            return " " * len(s)
        if not s.startswith(("http", "www.")) and s.split("/", 1)[0].rsplit(".", 1)[-1] not in _TLDS:
            return s  # "8.5", "fin.Le": not a link
        n += 1
        return " " * len(s)

    return _LINKISH_RE.sub(blank, norm), n


_HASHTAG_RE = re.compile(r"#(?<![\w#]#)\w+")  # a '#' not glued to a word or a '#' (a literal start: a fast scan)
# a word of 3+ capitals not glued to a word, '#' or '@' before it; written to start with its
# character class (the regex engine then jumps to the capitals instead of trying every position):
# the look-behind sees the character before the first capital
_CAPS_RE = re.compile(r"[A-ZÀ-ÖØ-Þ](?<![#@\w][A-ZÀ-ÖØ-Þ])[A-ZÀ-ÖØ-Þ]{2,}(?!\w)")
_LETTER_RE = re.compile(r"[^\W\d_]")
_QMARK_RE = re.compile(r"\?")
_ENDS_Q_RE = re.compile(r"\?[\s\W]*$")
_SHORTENER_RE = re.compile(
    r"\b(?:bit\.ly|cutt\.ly|tinyurl\.com|goo\.gl|ow\.ly|is\.gd|rb\.gy|shorturl\.at|linktr\.ee|t\.me|wa\.me)/")


def _blank(m: re.Match) -> str:
    return " " * len(m.group())


# --------------------------------------------------------------------------------------
# lexicon compilation: one regex per cue class and language

_WORD_RE = re.compile(r"\w")


def _tokens(entry: str) -> list[str]:
    """Regex tokens of a literal entry (already normalised)."""
    wildcard = entry.endswith("*") and len(entry) > 1
    if wildcard:
        entry = entry[:-1]
    toks: list[str] = []
    prev_space = False
    for i, ch in enumerate(entry):
        if ch == " ":
            if not prev_space:
                toks.append(r"\s+")
            prev_space = True
            continue
        prev_space = False
        toks.append(re.escape(ch))
    if wildcard:
        toks.append(r"\w*")
    elif _WORD_RE.match(entry[-1]):
        toks.append(r"(?!\w)")
    return toks


def _trie_pattern(token_lists: list[list[str]]) -> str:
    trie: dict = {}
    for toks in token_lists:
        node = trie
        for t in toks:
            node = node.setdefault(t, {})
        node[""] = {}  # end of an entry

    def emit(node: dict) -> str:
        end = "" in node
        alts = [t + emit(child) for t, child in sorted(node.items()) if t != ""]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if end:
            body = "(?:" + body + ")?" if len(alts) > 1 else "(?:" + body + ")?"
        return body

    return emit(trie)


def entries_pattern(entries: list[str], where: str) -> str | None:
    """Regex text for a list of lexicon entries (literals and ``re:`` patterns): literals
    starting with a word character form one trie behind a single \\b, the others a second
    trie; ``re:`` patterns follow as they are."""
    word: list[list[str]] = []
    other: list[list[str]] = []
    word_regexes: list[str] = []   # re: entries that start with \\b share the trie's \\b
    regexes: list[str] = []
    for e in entries:
        if not isinstance(e, str) or not e.strip():
            raise TriageConfigError(f"{where}: entry {e!r} is not a non-empty string")
        if e.startswith("re:"):
            try:
                re.compile(e[3:])
            except re.error as exc:
                raise TriageConfigError(f"{where}: bad regular expression {e[3:]!r}: {exc}") from None
            if e.startswith("re:\\b"):
                word_regexes.append(e[5:])
            else:
                regexes.append(e[3:])
        else:
            lit = normalise(e.strip())
            (word if _WORD_RE.match(lit[0]) else other).append(_tokens(lit))
    parts = []
    digit_regexes = [r for r in word_regexes if r.startswith("\\d")]  # "40 % des", "page 214"
    word_regexes = [r for r in word_regexes if not r.startswith("\\d")]
    if word or word_regexes:
        parts.append(r"\b(?:" + "|".join(([_trie_pattern(word)] if word else []) + word_regexes) + ")")
    if digit_regexes:
        parts.append(r"(?=\d)\b(?:" + "|".join(digit_regexes) + ")")
    for group in (
            [t for t in other if t[0].isascii()],       # "<3", "/s", "% off"
            [t for t in other if not t[0].isascii()]):  # emoji: tested only where a non-ASCII char is
        if not group:
            continue
        # a look-ahead on the possible first characters: one test per position, not one per entry
        firsts = sorted({re.sub(r"^\\", "", t[0]) for t in group})
        charset = "".join("\\" + c if c in "]\\^-[" else c for c in firsts)
        gate = "" if group[0][0].isascii() else "(?=[^\\x00-\\x7f])"
        parts.append(f"{gate}(?=[{charset}])" + _trie_pattern(group))
    # regexes that start alike share their start (one test per position for the group)
    by_prefix: dict[str, list[str]] = {}
    for rx in regexes:
        pre = next((pr for pr in _SHARED_PREFIXES if rx.startswith(pr)), "")
        by_prefix.setdefault(pre, []).append(rx[len(pre):])
    for pre, rest in by_prefix.items():
        if pre:
            parts.append(pre + "(?:" + "|".join(f"(?:{r})" for r in rest) + ")")
        else:
            parts += rest
    if not parts:
        return None
    return "|".join(f"(?:{p})" for p in parts)


_SHARED_PREFIXES = ("(?:^|[.!:;])\\s*", "(?:^|\\s)")


def compile_entries(entries: list[str], where: str) -> re.Pattern | None:
    """One compiled regex for a list of lexicon entries."""
    pat = entries_pattern(entries, where)
    return re.compile(pat, re.M) if pat else None


@dataclass(frozen=True)
class Rules:
    labels: dict          # label -> {description, action, urgency, if_addressed, if_spreading}
    spreading: int
    default_language: str
    cues: dict            # lang ('common' too) -> {cue class -> compiled regex or None}
    union: dict           # lang ('common' too) -> one regex of every cue of every class


def _check_table(table: dict, path: Path) -> None:
    labels = table.get("labels")
    if not isinstance(labels, dict):
        raise TriageConfigError(f"{path}: 'labels' must be a mapping of the ten labels")
    missing = [lab for lab in LABELS if lab not in labels]
    extra = [lab for lab in labels if lab not in LABELS]
    if missing or extra:
        raise TriageConfigError(f"{path}: labels missing {missing}, unknown {extra}")
    for lab, row in labels.items():
        for key in ("description", "action"):
            val = row.get(key)
            if not isinstance(val, dict) or not all(isinstance(val.get(lg), str) for lg in ("en", "fr")):
                raise TriageConfigError(f"{path}: labels.{lab}.{key} needs an 'en' and a 'fr' text")
        for key in ("urgency", "if_addressed", "if_spreading"):
            if row.get(key) not in URGENCIES:
                raise TriageConfigError(f"{path}: labels.{lab}.{key} must be one of {URGENCIES}, "
                                        f"not {row.get(key)!r}")


@lru_cache(maxsize=8)
def load_rules(path: str | os.PathLike | None = None, lexicon_dir: str | os.PathLike | None = None) -> Rules:
    """The response table and the compiled cues, cached per (path, lexicon_dir)."""
    path = Path(path) if path else DEFAULT_CONFIG
    lexdir = Path(lexicon_dir) if lexicon_dir else DEFAULT_LEXICON_DIR
    try:
        table = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TriageConfigError(f"{path}: {exc}") from None
    if not isinstance(table, dict):
        raise TriageConfigError(f"{path}: expected a mapping")
    _check_table(table, path)
    lexicons: dict[str, dict] = {}
    for lang in ("common",) + LANGUAGES:
        f = lexdir / f"{lang}.yml"
        if not f.exists():
            lexicons[lang] = {}
            continue
        try:
            lex = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise TriageConfigError(f"{f}: {exc}") from None
        if not isinstance(lex, dict):
            raise TriageConfigError(f"{f}: expected a mapping of cue classes to lists of entries")
        unknown = [k for k in lex if k not in CUE_CLASSES and k != "lang"]
        if unknown:
            raise TriageConfigError(f"{f}: unknown cue classes {unknown}; known: {CUE_CLASSES}")
        for cls in CUE_CLASSES:
            if not isinstance(lex.get(cls) or [], list):
                raise TriageConfigError(f"{f}: {cls} must be a list of entries")
        lexicons[lang] = {cls: list(lex.get(cls) or []) for cls in CUE_CLASSES}
    cues: dict[str, dict] = {}
    union: dict[str, re.Pattern] = {}
    for lang in ("common",) + LANGUAGES:
        # a language's cues include the language-independent ones
        merged = {cls: lexicons[lang].get(cls, []) + (lexicons["common"].get(cls, []) if lang != "common" else [])
                  for cls in CUE_CLASSES}
        cues[lang] = {cls: compile_entries(merged[cls], f"{lang}.yml: {cls}") for cls in CUE_CLASSES}
        every = [e for cls in CUE_CLASSES for e in merged[cls]]
        union[lang] = compile_entries(every, f"{lang}.yml") or re.compile(r"(?!)")
    return Rules(labels=table["labels"], spreading=int(table.get("spreading_engagement", 100)),
                 default_language=str(table.get("default_language", "en")), cues=cues, union=union)


def response_table(lang: str = "en", path: str | os.PathLike | None = None) -> dict[str, dict]:
    """label -> {description, action, urgency} in ``lang`` ('en' or 'fr'), for reports and docs."""
    rules = load_rules(path)
    return {lab: {"description": row["description"][lang], "action": row["action"][lang],
                  "urgency": row["urgency"]} for lab, row in rules.labels.items()}


# --------------------------------------------------------------------------------------
# classification

_RANK = {u: i for i, u in enumerate(URGENCIES)}
ARGUED_WORDS = 18  # words (without links, mentions, hashtags) from which a post "argues"


def _lang_key(lang: str | None) -> str | None:
    if lang in _LANGSET:
        return lang
    if not lang:
        return None
    lg = lang.strip().lower()[:2]  # "FR", "fr-BE"
    return lg if lg in _LANGSET else None


_LANGSET = frozenset(LANGUAGES)


def classify_one(text: str, lang: str | None, addresses: bool = False, engagement: int = 0,
                 rules: Rules | None = None, action_lang: str | None = None) -> Triage:
    """Triage one post (see classify)."""
    rules = rules or load_rules()
    return _respond(*_decide(text or "", _lang_key(lang), rules, addresses), addresses, engagement, rules,
                    action_lang)


def _respond(label: str, reason: str, threat: bool, addresses: bool, engagement: int, rules: Rules,
             action_lang: str | None) -> Triage:
    """A decided label with its urgency, full reason and action (see classify_one)."""
    row = rules.labels[label]
    urg = row["urgency"]
    if addresses and _RANK[row["if_addressed"]] > _RANK[urg]:
        urg = row["if_addressed"]
    if engagement and engagement >= rules.spreading:
        reason += f", spreading ({engagement} interactions)"
        if _RANK[row["if_spreading"]] > _RANK[urg]:
            urg = row["if_spreading"]
    if threat:
        urg = "red"
    if addresses:
        reason += ", addressed to the institution"
    action = row["action"].get(action_lang or rules.default_language) or row["action"]["en"]
    return Triage(label, action, urg, reason)


def classify(texts: list[str], langs: list[str], addresses: list[bool],
             engagement: list[int] | None = None, *, path: str | os.PathLike | None = None,
             action_lang: str | None = None) -> list[Triage]:
    """Triage each post. ``langs``: ISO 639-1 codes ('fr', 'nl', 'en', 'de'; anything else,
    'und' or None gets the language-independent cues only). ``addresses``: the post mentions
    or answers one of the institution's accounts. ``engagement``: likes + reposts + replies
    + quotes, or None. ``action_lang``: 'en' or 'fr' (default: the table's default_language)."""
    n = len(texts)
    if len(langs) != n or len(addresses) != n or (engagement is not None and len(engagement) != n):
        raise ValueError(f"classify: texts ({n}), langs ({len(langs)}), addresses ({len(addresses)})"
                         + (f" and engagement ({len(engagement)})" if engagement is not None else "")
                         + " must have the same length")
    rules = load_rules(path)
    eng = engagement if engagement is not None else [0] * n
    # a text decided once per language and addressing (reposts and copies repeat it), and each
    # (decision, addressing, engagement that counts) answered once: Triage is immutable
    decided: dict[tuple, tuple[str, str, bool]] = {}
    answered: dict[tuple, Triage] = {}
    spreading = rules.spreading
    out = []
    for t, lg, a, e in zip(texts, langs, addresses, eng):
        a = bool(a)
        key = (t, lg, a)
        d = decided.get(key)
        if d is None:
            d = decided[key] = _decide(t or "", _lang_key(lg), rules, a)
        e = int(e or 0)
        if e < spreading:
            e = 0  # below the spreading line, engagement changes nothing
        k = (d, a, e)
        r = answered.get(k)
        if r is None:
            r = answered[k] = _respond(*d, a, e, rules, action_lang)
        out.append(r)
    return out


_MEMO: dict[tuple[str, bool, str], tuple[str, ...]] = {}


def _classes_of(snippet: str, line_start: bool, lang: str, rules: Rules) -> tuple[str, ...]:
    """The cue classes whose regex matches at the start of a matched snippet (memoised).
    The snippet is matched behind a sentinel character: a newline when it starts a line
    (so that '^' can match), a NUL otherwise (so that '^' cannot)."""
    k = (lang, line_start, snippet)
    got = _MEMO.get(k)
    if got is None:
        if len(_MEMO) > 200_000:
            _MEMO.clear()
        s = ("\n" if line_start else "\0") + snippet
        got = tuple(cls for cls, p in rules.cues[lang].items() if p is not None and p.match(s, 1))
        _MEMO[k] = got
    return got


def _cues(blanked: str, lang: str, rules: Rules) -> dict[str, tuple[int, int]]:
    """First span of each cue class in the text: one pass of the language's union regex."""
    found: dict[str, tuple[int, int]] = {}
    search = rules.union[lang].search
    pos, n = 0, len(blanked)
    while pos < n:
        m = search(blanked, pos)
        if m is None:
            break
        s = m.group()
        start, end = m.span()
        classes = _MEMO.get((lang, start == 0 or blanked[start - 1] == "\n", s))
        if classes is None:
            classes = _classes_of(s, start == 0 or blanked[start - 1] == "\n", lang, rules)
        for cls in classes:
            if cls not in found:
                found[cls] = (start, end)
        # a cue that began with its context (". Quand", "  pourquoi" after a blanked
        # mention) lets the next search start at its first word: "pourquoi ... interdit"
        # is then found too
        if end > start and s[0] not in " .!:;\n":
            pos = end  # most cues start with their word
        else:
            lead = len(s) - len(s.lstrip(" .!:;\n"))
            pos = start + lead if 0 < lead < len(s) else max(end, start + 1)
    return found


def _bare(blanked: str) -> str:
    """What is left of a post once links, mentions (blanked already) and hashtags are removed;
    asked for by the few rules that count words, so most posts never compute it."""
    return _HASHTAG_RE.sub(" ", blanked) if "#" in blanked else blanked


def _decide(text: str, lang: str | None, rules: Rules, addresses_hint: bool = False) -> tuple[str, str, bool]:
    """(label, reason, is_threat) of one post."""
    norm = normalise(text)
    blanked, n_links = _strip_links(norm) if ("@" in norm or "." in norm) else (norm, 0)
    key = lang or "common"
    found = _cues(blanked, key, rules)

    cue = found.get  # the first span of a cue class, or None

    def q(cls: str, span: tuple[int, int]) -> str:
        src = text if len(text) == len(norm) else norm
        s = " ".join(src[span[0]:span[1]].split())
        return f"{CUE_WORD[cls]} '{s[:40]}'"

    n_hashtags = blanked.count("#")

    # 1. threat: always an insult (abuse), always red
    m = cue("threat")
    if m:
        return "insult", f"insult: {q('threat', m)}", True

    # 2. spam
    m = cue("spam")
    if m:
        return "spam", f"spam: {q('spam', m)}", False
    if n_links and _SHORTENER_RE.search(norm):
        return "spam", "spam: link shortener", False
    m = cue("spam_weak")
    if m and (n_links or n_hashtags >= 3):
        return "spam", f"spam: {q('spam_weak', m)} with a link", False
    if n_links >= 3:
        return "spam", f"spam: {n_links} links", False
    if n_links and n_hashtags >= 3 and not _bare(blanked).split():
        return "spam", "spam: links and hashtags only", False

    # 3. insult
    m = cue("insult")
    if m:
        return "insult", f"insult: {q('insult', m)}", False

    # 4. misinformation
    m = cue("misinformation")
    if m:
        return "misinformation", f"misinformation: {q('misinformation', m)}", False

    # 5. inflammatory: calls to anger, shouting, or '!!!' with a complaint
    m = cue("inflammatory")
    if m:
        return "inflammatory", f"inflammatory: {q('inflammatory', m)}", False
    caps = _CAPS_RE.findall(text)
    if len(caps) >= 3:
        letters = len(_LETTER_RE.findall(_strip_links(text)[0]))
        capital = sum(len(w) for w in caps)
        if letters and capital >= 0.6 * letters:
            return "inflammatory", "inflammatory: written in capitals (shouting)", False
    neg = cue("negative")
    if neg and text.count("!") >= 3:
        return "inflammatory", f"inflammatory: '!!!' with {q('negative', neg)}", False

    # 6. question: a question form, or a '?' that is not rhetorical (a rhetorical '?' is
    # followed by an argument, or comes with laughter or a complaint)
    has_q = "?" in blanked  # (a hashtag holds no '?')
    m = cue("question")
    after = _bare(blanked).rpartition("?")[2].split() if has_q else []
    rhetorical = (len(after) >= ARGUED_WORDS // 2 and not addresses_hint
                  and (cue("contrast") or cue("disagreement")))  # "Pourquoi X ? Il faudrait d'abord Y..."
    if has_q and m and not rhetorical:
        return "question", f"question: '?' and {q('question', m)}", False
    if m and not has_q:
        return "question", f"question: {q('question', m)}", False
    if has_q and not m:
        if cue("humour"):
            pass  # "Coïncidence ? Je ne crois pas 😄": humour below
        elif rhetorical:
            pass
        elif neg and not addresses_hint:
            pass  # "Encore fermé ? Sérieux ?": negative below
        else:
            return "question", ("question: ends with '?'" if not after else "question: contains '?'"), False

    # 7. disagreement: a disagreement phrase, or an objection ("mais", "but") argued at
    # some length or in a reply
    m = cue("disagreement")
    if m:
        return "disagreement", f"disagreement: {q('disagreement', m)}", False
    if rhetorical:
        return "disagreement", "disagreement: a rhetorical question followed by an argument", False
    m = cue("contrast")
    pos = cue("positive_feedback")
    if m and pos and pos[0] > m[0]:
        m = None  # "sceptique, mais c'était top": the praise after the objection wins
    if m:
        reply = text.lstrip().startswith("@")
        if reply or len(_bare(blanked).split()) >= ARGUED_WORDS:
            return "disagreement", f"disagreement: {q('contrast', m)} in {'a reply' if reply else 'an argued post'}", False

    # 8. humour, negative, positive (irony turns praise into a complaint)
    hum = cue("humour")
    if hum:
        return "humour", f"humour: {q('humour', hum)}", False
    if neg:
        return "negative", f"negative: {q('negative', neg)}", False
    if pos:
        iro = cue("irony")
        if iro:
            return "negative", f"negative: {q('irony', iro)} with {q('positive_feedback', pos)}", False
        return "positive_feedback", f"positive_feedback: {q('positive_feedback', pos)}", False

    if n_links and not _bare(blanked).split():
        return "other", "other: links only", False
    return "other", "other: no cue", False
