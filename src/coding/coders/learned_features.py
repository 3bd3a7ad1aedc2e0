"""Features of a text for the learned coder: the same in training and coding.

Word unigrams and bigrams of lemmas of the folded, lower-cased tokens (lemma
by lookup in :func:`coding.language.lemma_table`), plus one feature per
dictionary hit: ``code:<id>`` per hit of a code, ``var:<id>`` per hit of any
code of a variable, ``ctx:<id>`` per hit of a code's context patterns where
the code itself has no hit. Counts become rows of sublinear tf * smoothed
idf, l2-normalised (:func:`_matrix`), over a vocabulary of the features
found in at least ``min_df`` training units (:func:`_vocabulary`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import sparse

from coding.codebook import Codebook
from coding.coders.dictionary import DictionaryCoder
from coding.errors import CodingError
from coding.language import fold, lemma_table

#: Kinds of dictionary features: hits per code, per variable, of context patterns alone.
DICTIONARY_FEATURES = ("code", "var", "ctx")

_TOKEN = re.compile(r"[^\W_]+")
_DICT_PREFIXES = ("code:", "var:", "ctx:")


@lru_cache(maxsize=1)
def _lemmas() -> dict[str, str]:
    """Lower-case word form -> lower-case lemma."""
    return {form.lower(): lemma.lower() for form, lemma in lemma_table().items()}


@dataclass
class Analysis:
    """A text's features and the dictionary hits behind them.

    ``counts``: feature -> count; ``hits``: code id -> (pattern, start, end)
    of the dictionary coder; ``context``: code id -> context-pattern hits of
    codes without a hit of their own; ``lemmas``: the text's lemmas.
    """

    counts: Counter
    hits: dict[str, list[tuple[str, int, int]]]
    context: dict[str, list[tuple[str, int, int]]]
    lemmas: list[str]


class Features:
    """Turns texts into feature counts, the same way in training and coding."""

    def __init__(self, codebook: Codebook, *, ngram: int = 2):
        if ngram not in (1, 2):
            raise CodingError(f"ngram must be 1 or 2, got {ngram!r}")
        self.ngram = ngram
        self.coder = DictionaryCoder(codebook)
        self._lemmas = _lemmas()
        self._codes = [c.id for c in self.coder.codes]
        self._variable = {c.id: c.variable for c in codebook.codes}

    def lemmas(self, text: str) -> list[str]:
        """Lemmas of the tokens of ``text`` (folded, lower-cased)."""
        get = self._lemmas.get
        tokens = _TOKEN.findall(fold(text))
        return list(map(get, tokens, tokens))

    def analyse(self, text: str) -> Analysis:
        """Features of ``text`` (every kind of dictionary feature) with the
        dictionary hits behind them."""
        lemmas = self.lemmas(text)
        counts = Counter(lemmas)
        if self.ngram == 2 and len(lemmas) > 1:
            counts.update(map(" ".join, zip(lemmas, lemmas[1:])))
        hits, context = dictionary_hits(self.coder, self._codes, text)
        for code, h in hits.items():
            counts["code:" + code] += len(h)
            counts["var:" + self._variable[code]] += len(h)
        for code, h in context.items():
            counts["ctx:" + code] += len(h)
        return Analysis(counts, hits, context, lemmas)


def _select(counts: Counter, dictionary: Sequence[str]) -> Counter:
    """Word features and the dictionary features of the given kinds."""
    drop = tuple(f"{k}:" for k in DICTIONARY_FEATURES if k not in dictionary)
    return Counter({f: n for f, n in counts.items() if not f.startswith(drop)}) if drop else counts


def _vocabulary(bags: Sequence[Counter], min_df: int) -> tuple[list[str], np.ndarray]:
    """Sorted features found in at least ``min_df`` bags, and their smoothed
    idf, ln((1 + n) / (1 + df)) + 1."""
    df: Counter[str] = Counter()
    for bag in bags:
        df.update(bag.keys())
    vocab = sorted(f for f, n in df.items() if n >= min_df)
    n = len(bags)
    idf = np.array([math.log((1 + n) / (1 + df[f])) + 1 for f in vocab], dtype=float)
    return vocab, idf


def _matrix(bags: Sequence[Counter], index: Mapping[str, int], idf: np.ndarray) -> sparse.csr_matrix:
    """Rows of sublinear tf * idf, l2-normalised, over ``index``."""
    data: list[float] = []
    cols: list[int] = []
    indptr = [0]
    for bag in bags:
        row = sorted((index[f], (1.0 + math.log(n)) * idf[index[f]]) for f, n in bag.items() if f in index)
        norm = math.sqrt(sum(v * v for _, v in row)) or 1.0
        cols.extend(j for j, _ in row)
        data.extend(v / norm for _, v in row)
        indptr.append(len(cols))
    return sparse.csr_matrix((np.array(data, dtype=np.float64), np.array(cols, dtype=np.int64), indptr),
                             shape=(len(bags), len(index)))


def dictionary_hits(coder: DictionaryCoder, codes: list[str], text: str) -> tuple[dict[str, list], dict[str, list]]:
    """The dictionary's hits in ``text`` per code id, and the hits of the
    codes whose hits are all context patterns (which do not code the unit
    alone), both from one pass of the matcher."""
    hits, context = coder.match_with_context(text)
    return {codes[i]: h for i, h in hits.items()}, {codes[i]: h for i, h in context.items()}
