"""The mention coder's design matrix: every candidate sentence of a list of
units as a row of one sparse matrix, with (optionally) its similarities to
the codes, standardised on the training units only.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from coding.coders.mention_meaning import Meaning, fit_scale
from coding.coders.mentions import Candidates, Extractor


@dataclass
class Design:
    """Candidates of a list of units as one sparse matrix: a row per sentence
    (its features and its unit's), ``offsets[i]:offsets[i + 1]`` the rows of
    unit i, ``columns`` the feature of each column; with ``meaning``, ``raw``
    holds each sentence's similarity to each code, then its unit's (not yet
    standardised, not in ``X``: :func:`~coding.coders.mention_training.fit`
    scales the ones it reads on its training units)."""

    candidates: list[Candidates]
    X: sparse.csr_matrix
    offsets: np.ndarray
    columns: list[str]
    meaning: Meaning | None = None
    raw: np.ndarray | None = None

    def rows_of(self, units: np.ndarray) -> np.ndarray:
        """Row indexes of the given units."""
        return np.concatenate([np.arange(self.offsets[i], self.offsets[i + 1]) for i in units]) \
            if len(units) else np.empty(0, dtype=np.int64)


def design(extractor: Extractor, texts: Sequence[str], meaning: Meaning | None = None) -> Design:
    """The design matrix of ``texts`` (with ``meaning``: and the sentences'
    similarities to the codes)."""
    candidates = [extractor.analyse(t) for t in texts]
    index: dict[str, int] = {}
    cols: list[int] = []
    indptr = [0]
    offsets = [0]
    for cand in candidates:
        unit_cols = [index.setdefault(f, len(index)) for f in cand.unit]
        for fs in cand.features:
            cols.extend(sorted({index.setdefault(f, len(index)) for f in fs} | set(unit_cols)))
            indptr.append(len(cols))
        offsets.append(offsets[-1] + len(cand.features))
    X = sparse.csr_matrix((np.ones(len(cols)), np.array(cols, dtype=np.int64), np.array(indptr)),
                          shape=(len(indptr) - 1, len(index)))
    columns = [""] * len(index)
    for f, j in index.items():
        columns[j] = f
    raw = None
    if meaning is not None:
        both = copy.copy(meaning)
        both.unit = True
        raw = both.raw([t[s:e] for t, cand in zip(texts, candidates) for s, e in cand.spans], offsets)
    return Design(candidates, X, np.array(offsets), columns, meaning, raw)


def scaled(d: Design, train: np.ndarray, unit: bool = False) -> tuple[Design, Meaning | None]:
    """The design with its similarity columns appended (with ``unit``, the
    units' too), standardised on the ``train`` units' sentences, and the
    :class:`Meaning` with that scale; the design itself when it has none."""
    if d.meaning is None or d.raw is None:
        return d, None
    meaning = copy.copy(d.meaning)
    meaning.unit = unit
    raw = d.raw[:, :len(meaning.columns)]
    meaning.mean, meaning.sd = fit_scale(raw[d.rows_of(train)])
    X = sparse.hstack([d.X, sparse.csr_matrix(meaning.standardised(raw))], format="csr")
    return Design(d.candidates, X, d.offsets, d.columns + meaning.columns), meaning


def column_mask(d: Design, units: np.ndarray, min_df: int) -> np.ndarray:
    """Columns present in at least ``min_df`` of the given units."""
    rows = d.rows_of(units)
    owner = np.repeat(np.arange(len(units)), np.diff(d.offsets)[units])
    S = sparse.csr_matrix((np.ones(len(rows)), (owner, rows)), shape=(len(units), d.X.shape[0]))
    df = np.asarray(((S @ d.X) > 0).sum(axis=0)).ravel()
    return df >= min_df
