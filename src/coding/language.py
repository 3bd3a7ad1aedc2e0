"""The language layer: spaCy pipeline, lemmas, and inflections of terms.

Everything runs offline: ``spacy.blank("en")`` with the rule-based
sentencizer and the lookup lemmatizer whose table ships in
``spacy-lookups-data``. No trained model is needed; one may be named
(``model=``) if it is installed.

spaCy is imported only when a pipeline is made (sentence segmentation): its
import costs about a second per process, and paragraph units, the lemma
table and term inflection never need it. The table is read straight from
the ``spacy-lookups-data`` package, which is plain data.

Lemma-aware matching is done once, at load time: every word of a codebook
term is expanded into all the inflected forms that the lookup table maps to
the same lemma ("pipeline" -> "pipeline", "pipelines"). Coding then needs
no per-token lemmatisation, which keeps it fast.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from functools import lru_cache
from itertools import product
from pathlib import Path

# Characters mapped one-to-one before matching, so offsets are preserved:
# every dash and hyphen counts as a space ("Pak-Afghan" = "Pak Afghan"),
# every white-space character as a space, typographic apostrophes as "'".
_FOLD = {ord(c): " " for c in "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\t\n\r\f\v\u00a0\u2009\u202f"}
_FOLD.update({ord(c): "'" for c in "\u2018\u2019\u02bc\u0060\u00b4"})
# The same as (character, replacement) pairs: a str.replace per character
# present is about ten times faster than str.translate, which looks up
# every character of the text in the table.
_FOLD_PAIRS = tuple((chr(k), v) for k, v in _FOLD.items())

MAX_FORMS = 256  # cap on inflected variants of one multi-word term


@lru_cache(maxsize=4)
def make_nlp(model: str | None = None):
    """Return the spaCy pipeline used for sentences and lemmas.

    ``model=None`` gives ``spacy.blank("en")`` + sentencizer + lookup
    lemmatizer; a model name loads that installed pipeline instead.
    """
    import spacy

    if model:
        return spacy.load(model)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    # spaCy's length limit guards parser/NER memory; this pipeline has neither,
    # so a paragraph of any length can be split into sentences.
    nlp.max_length = 10**10
    return nlp


@lru_cache(maxsize=1)
def lemma_table() -> dict[str, str]:
    """The English lookup table (word form -> lemma) from spacy-lookups-data.

    Read as spaCy's ``load_language_data`` reads it (the named JSON file, or
    the same name with ``.gz``), without importing spaCy."""
    import spacy_lookups_data

    path = spacy_lookups_data.en["lemma_lookup"]
    if path.is_file():
        return dict(json.loads(path.read_bytes()))
    return dict(json.loads(gzip.decompress(Path(str(path) + ".gz").read_bytes())))


@lru_cache(maxsize=1)
def sentence_nlp():
    """A spaCy pipeline that only splits sentences (blank English and the
    rule-based sentencizer): segmentation never reads lemmas, so the lookup
    lemmatizer would only cost time on every token."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.initialize()
    nlp.max_length = 10**10  # as in make_nlp: no parser or NER to guard
    return nlp


@lru_cache(maxsize=1)
def lexicon() -> frozenset[str]:
    """Lower-case English words known to the lookup table (forms and lemmas)."""
    table = lemma_table()
    return frozenset(w.lower() for w in table) | frozenset(w.lower() for w in table.values())


@lru_cache(maxsize=1)
def _forms_by_lemma() -> dict[str, frozenset[str]]:
    inverse: dict[str, set[str]] = defaultdict(set)
    for form, lemma in lemma_table().items():
        inverse[lemma.lower()].add(form.lower())
    return {k: frozenset(v) for k, v in inverse.items()}


def fold(text: str) -> str:
    """Lower-case ``text`` and fold dashes, spaces and apostrophes.

    The result has exactly the length of ``text`` so that match offsets in
    it are offsets in the original.
    """
    low = text.lower()
    if len(low) != len(text):  # a few characters lower-case to two
        low = "".join(c.lower()[0] for c in text)
    for char, replacement in _FOLD_PAIRS:
        if char in low:
            low = low.replace(char, replacement)
    return low


def word_forms(word: str) -> set[str]:
    """All forms of ``word`` sharing its lemma in the lookup table."""
    word = word.lower()
    lemma = lemma_table().get(word, word).lower()
    forms = {word, lemma}
    forms |= _forms_by_lemma().get(lemma, frozenset())
    forms |= _forms_by_lemma().get(word, frozenset())
    return forms


def term_variants(term: str) -> list[str]:
    """Folded inflected variants of a (multi-word) term, sorted.

    Only alphabetic words are inflected; numbers and acronyms with digits
    stay as written. The number of variants is capped at ``MAX_FORMS``.
    """
    words = fold(term).split()
    options = []
    for w in words:
        core = w.strip("'")
        if core.isalpha() and len(core) > 2:
            options.append(sorted(word_forms(w)))
        else:
            options.append([w])
    variants = set()
    for combo in product(*options):
        variants.add(" ".join(combo))
        if len(variants) >= MAX_FORMS:
            break
    return sorted(variants)
