"""Text cleaning: what every later stage reads instead of the raw text.

Mojibake repaired (UTF-8 read as Latin-1 or cp1252, the commonest damage in exports), HTML and
entities removed, Unicode normalised, whitespace folded; hashtags, mentions, links and emoji
are pulled into their own lists, and links lose their tracking parameters.
"""
from __future__ import annotations

import html
import re
import sys
import unicodedata
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TAG_RE = re.compile(r"</?[a-zA-Z][^>]{0,500}>")  # a tag starts with a letter: "prix < 5 et > 2" is text
BREAK_RE = re.compile(r"<\s*(br|/p|p)\b[^>]{0,100}>", re.I)
SPACE_RE = re.compile(r"\s+")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200e\u200f\ufeff]")
LINK_RE = re.compile(r"https?://[^\s<>\"'）)]+", re.I)
HASHTAG_RE = re.compile(r"(?<![\w&#])#(\w+)")
MENTION_RE = re.compile(r"(?<![\w@])@(\w[\w.\-]*(?:@[\w\-]+(?:\.[\w\-]+)+)?)")
TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|igshid|ref_src)$", re.I)
# On X, ?s= and ?t= only say who shared; elsewhere (YouTube's t=) they mean something.
X_TRACKING = re.compile(r"^(s|t)$")
X_HOSTS = {"x.com", "twitter.com", "www.x.com", "www.twitter.com", "mobile.twitter.com"}
# Mojibake leaves these pairs behind ("Ã©" for "é", "â€™" for "’"); ftfy runs only on such texts.
MOJIBAKE_RE = re.compile("[\u00c2\u00c3][\u0080-\u00bf]|\u00e2\u20ac|\u00c3[\u2018-\u203a\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u02c6\u02dc]")
_PICTO = "\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF"
_MODS = "(?:[\uFE0F\U0001F3FB-\U0001F3FF])*"
# Flags are pairs of regional indicators; other emoji may carry a variation selector, a skin tone
# and zero-width-joined parts (one family emoji is one emoji).
EMOJI_RE = re.compile(f"[\U0001F1E6-\U0001F1FF]{{2}}|[{_PICTO}]{_MODS}(?:\u200D[{_PICTO}]{_MODS})*")


def clean_text(text: str) -> str:
    """Readable plain text from what a platform sends (often HTML on Mastodon)."""
    if not text:
        return ""
    t = fix_mojibake(text)
    t = BREAK_RE.sub(" ", t) if "<" in t else t
    t = TAG_RE.sub("", t) if "<" in t else t
    t = html.unescape(t) if "&" in t else t
    t = unicodedata.normalize("NFC", t)
    t = CONTROL_RE.sub("", t)
    return " ".join(t.split())


def fix_mojibake(text: str) -> str:
    if not MOJIBAKE_RE.search(text):
        return text
    import ftfy

    return ftfy.fix_encoding(text)


def emoji(text: str) -> list[str]:
    """Emoji in order of appearance, each once (a flag or a joined sequence counts as one)."""
    if text.isascii():
        return []
    return list(dict.fromkeys(EMOJI_RE.findall(text)))


@lru_cache(maxsize=1)
def _strip_marks() -> dict[int, None]:
    """Every combining mark Unicode knows, for str.translate (built once per process)."""
    return {c: None for c in range(0x300, sys.maxunicode + 1)
            if not 0xD800 <= c < 0xE000 and unicodedata.combining(chr(c))}


def fold(text: str) -> str:
    """Lowercase without accents: what matching compares (Réforme == reforme)."""
    t = text.casefold()
    if t.isascii():
        return t
    return unicodedata.normalize("NFKD", t).translate(_strip_marks())


def canonical_link(url: str) -> str:
    url = url.rstrip(".,;:!?")
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    on_x = parts.netloc.lower() in X_HOSTS
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not TRACKING.match(k) and not (on_x and X_TRACKING.match(k))]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, urlencode(query), ""))


def _without_links(text: str) -> str:
    return LINK_RE.sub(" ", text) if "://" in text else text


def hashtags(text: str) -> list[str]:
    """Hashtags in order of appearance, lowercase, without '#', each once."""
    if "#" not in text:
        return []
    return list(dict.fromkeys(h.casefold() for h in HASHTAG_RE.findall(_without_links(text))))


def mentions(text: str) -> list[str]:
    """Accounts mentioned, lowercase, with '@', each once."""
    if "@" not in text:
        return []
    found = (m.rstrip(".-").casefold() for m in MENTION_RE.findall(_without_links(text)))
    return list(dict.fromkeys("@" + m for m in found))


def tags(text: str) -> tuple[list[str], list[str]]:
    """(hashtags(text), mentions(text)), the links removed once for both."""
    has_hash, has_at = "#" in text, "@" in text
    if not (has_hash or has_at):
        return [], []
    t = _without_links(text)
    tags_ = list(dict.fromkeys(h.casefold() for h in HASHTAG_RE.findall(t))) if has_hash else []
    if not has_at:
        return tags_, []
    found = (m.rstrip(".-").casefold() for m in MENTION_RE.findall(t))
    return tags_, list(dict.fromkeys("@" + m for m in found))


@lru_cache(maxsize=1)
def digit_re() -> re.Pattern:
    """Every character for which str.isdigit() is true (superscripts and circled digits too), as one
    character class: a C-speed test of `any(c.isdigit() for c in text)` (built once per process)."""
    from array import array

    codes = array("I", range(sys.maxunicode + 1))
    del codes[0xD800:0xE000]  # surrogates do not decode
    every = codes.tobytes().decode("utf-32-le" if sys.byteorder == "little" else "utf-32-be")
    # \d is Unicode's decimal digits (str.isdecimal), a C test; the few other digits (superscripts,
    # circled digits, ...) are added as ranges
    others = [ord(c) for c in filter(str.isdigit, every) if not c.isdecimal()]
    ranges: list[list[int]] = []
    for c in others:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    extra = "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges)
    return re.compile(r"[\d" + extra + "]")


def links(text: str) -> list[str]:
    return list(dict.fromkeys(canonical_link(u) for u in LINK_RE.findall(text)))


def text_for_language(text: str) -> str:
    """The words only: links, mentions and hashtags say little about the language."""
    t = LINK_RE.sub(" ", text)
    t = MENTION_RE.sub(" ", t)
    t = HASHTAG_RE.sub(" ", t)
    return SPACE_RE.sub(" ", t).strip()
