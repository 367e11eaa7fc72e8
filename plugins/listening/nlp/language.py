"""Language of each post, among the configured languages only.

The platform's own tag is trusted when it names a configured language; otherwise lingua,
restricted to the configured languages (fast and more accurate than an open set), decides,
and a post it can't tell with enough confidence is 'und' rather than a guess.
"""
from __future__ import annotations

from functools import lru_cache
from itertools import islice

from listening.clean import text_for_language

UNDETERMINED = "und"
MIN_CONFIDENCE = 0.5
MIN_LETTERS = 3


@lru_cache(maxsize=8)
def _detector(languages: tuple[str, ...]):
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    langs = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in languages]
    if len(langs) == 1:
        return None
    return LanguageDetectorBuilder.from_languages(*langs).with_preloaded_language_models().build()


def identify(texts: list[str], declared: list[str | None], languages: list[str]) -> list[tuple[str, str, float]]:
    """(language, source, confidence) per post: source is 'platform' or 'detected'."""
    out: list[tuple[str, str, float] | None] = [None] * len(texts)
    todo_idx, todo_texts = [], []
    for i, (text, lang) in enumerate(zip(texts, declared)):
        if lang:
            code = lang.split("-")[0].lower()
            if code in languages:
                out[i] = (code, "platform", 1.0)
                continue
        words = text_for_language(text)
        if len(list(islice(filter(str.isalpha, words), MIN_LETTERS))) < MIN_LETTERS:  # < 3 letters
            out[i] = (UNDETERMINED, "detected", 0.0)
            continue
        todo_idx.append(i)
        todo_texts.append(words)
    if todo_texts:
        detector = _detector(tuple(sorted(languages)))
        if detector is None:
            results = [[(languages[0], 1.0)] for _ in todo_texts]
        else:
            # each distinct text detected once (reposts and copies repeat it; lingua reads one text at a time)
            distinct = list(dict.fromkeys(todo_texts))
            found = dict(zip(distinct, (
                [(cv.language.iso_code_639_1.name.lower(), cv.value) for cv in values[:1]]
                for values in detector.compute_language_confidence_values_in_parallel(distinct))))
            results = [found[t] for t in todo_texts]
        for i, values in zip(todo_idx, results):
            if values and values[0][1] >= MIN_CONFIDENCE:
                out[i] = (values[0][0], "detected", round(float(values[0][1]), 4))
            else:
                out[i] = (UNDETERMINED, "detected", round(float(values[0][1]), 4) if values else 0.0)
    return out  # type: ignore[return-value]
