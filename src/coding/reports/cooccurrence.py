"""Co-occurrence: code x code and variable x variable matrices, and the pairs with their association.

Items co-occur within a unit or within a document; every pair with enough
units (or documents) in common is listed with its counts, Jaccard, Ochiai,
the conditional shares, phi with Fisher's exact test and, within units, the
test with documents as strata (see :mod:`coding.reports.design`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import pandas as pd

from . import design
from .context import ReportContext
from .frequencies import level_items
from .measures import pair_statistics
from .output import empty_table

#: pairs whose frequencies differ more than this factor are flagged for Jaccard
JACCARD_RATIO_WARNING = 5.0

PAIR_COLUMNS = [
    "level", "context", "item_a", "item_b", "label_a", "label_b", "variable_a", "variable_b",
    "n_a", "n_b", "n_ab", "n_total", "units_ab",
    "expected", "lift", "jaccard", "ochiai", "p_b_given_a", "p_a_given_b",
    "phi", "fisher_p", "frequency_ratio", "jaccard_misleading", "expected_within", "p_within",
]


def _gram(matrix: np.ndarray, rows: int = 100_000) -> np.ndarray:
    """``matrix.T @ matrix`` of a 0/1 matrix as int64, a block of rows at a
    time (an int64 copy of a large corpus's unit matrix would cost hundreds of MB)."""
    out = np.zeros((matrix.shape[1], matrix.shape[1]), dtype=np.int64)
    for lo in range(0, len(matrix), rows):
        block = matrix[lo:lo + rows].astype(np.int64)
        out += block.T @ block
    return out


#: the square matrix of each level and context
MATRIX_NAMES = {("code", "unit"): "cooc_codes_units", ("code", "document"): "cooc_codes_documents",
                ("variable", "unit"): "cooc_variables_units", ("variable", "document"): "cooc_variables_documents"}


class _Items(NamedTuple):
    """The items of one level co-occurring within one context: their presence (contexts x items),
    the contexts holding each pair (``counts``, diagonal: each item) and the units holding each pair."""

    level: str
    context: str
    ids: list[str]
    variables: list[str]
    labels: list[str]
    presence: np.ndarray
    counts: np.ndarray
    unit_counts: np.ndarray


def _cooccurring(ctx: ReportContext) -> list[_Items]:
    """Every level within units, then within documents; counted once per context (five tables use them)."""
    return ctx.shared("cooccurrence", lambda: list(_count(ctx)))


def _count(ctx: ReportContext) -> Iterator[_Items]:
    doc_codes = ctx.units["_doc"].to_numpy()
    for level, ids, variables, labels, unit_matrix, _ in level_items(ctx):
        unit_counts = _gram(unit_matrix)
        yield _Items(level, "unit", ids, variables, labels, unit_matrix, unit_counts, unit_counts)
        if len(ctx.documents):
            per_doc = pd.DataFrame(unit_matrix).groupby(doc_codes).any().reindex(
                range(len(ctx.documents)), fill_value=False).to_numpy()
        else:
            per_doc = np.zeros((0, len(ids)), dtype=bool)
        per_doc = per_doc.astype(bool).reshape(len(ctx.documents) if not len(ids) else -1, len(ids))
        yield _Items(level, "document", ids, variables, labels, per_doc, _gram(per_doc), unit_counts)


def matrix(ctx: ReportContext, level: str, context: str) -> pd.DataFrame:
    """The square matrix of ``level`` items co-occurring within ``context`` (unit or document):
    the contexts holding both of a pair, the diagonal those holding the item."""
    items = next(i for i in _cooccurring(ctx) if (i.level, i.context) == (level, context))
    square = pd.DataFrame(items.counts, columns=items.ids)
    square.insert(0, level, items.ids)
    return square


def pairs(ctx: ReportContext, min_pair_count: int = 1) -> pd.DataFrame:
    """The long pair list: pairs with ``n_ab >= min_pair_count`` (all pairs when it is 0),
    sorted by level, context, then strength: Jaccard descending, ``n_ab``
    descending, then item ids. ``units_ab`` is the number of units in which
    both occur, also for document-level rows."""
    unit_docs = ctx.units["_doc"].to_numpy().astype(np.int64)
    return _sorted_pairs([row for items in _cooccurring(ctx) for row in _pairs(items, unit_docs, min_pair_count)])


def cooccurrence_tables(ctx: ReportContext, min_pair_count: int = 1) -> dict[str, pd.DataFrame]:
    """The pair list (see :func:`pairs`) and the four square matrices (see :func:`matrix`), by table name."""
    out = {"cooccurrence_pairs": pairs(ctx, min_pair_count)}
    out.update({name: matrix(ctx, *key) for key, name in MATRIX_NAMES.items()})
    return out


def _pairs(items: _Items, unit_docs: np.ndarray, min_pair_count: int) -> Iterator[dict]:
    """A row per pair of items with at least ``min_pair_count`` contexts in common."""
    ids, presence, counts, unit_counts = items.ids, items.presence, items.counts, items.unit_counts
    n_total = presence.shape[0]
    for i in range(len(ids)):
        for j in range(i + 1, len(ids)):
            n_ab = int(counts[i, j])
            if n_ab < min_pair_count:
                continue
            n_a, n_b = int(counts[i, i]), int(counts[j, j])
            st = pair_statistics(n_a, n_b, n_ab, n_total)
            # within units: against the documents' own shares (documents as strata), see design.within_documents
            within = design.within_documents(presence[:, i], presence[:, j], unit_docs) \
                if items.context == "unit" else {"expected_within": math.nan, "p_within": math.nan}
            yield {"level": items.level, "context": items.context, "item_a": ids[i], "item_b": ids[j],
                   "label_a": items.labels[i], "label_b": items.labels[j],
                   "variable_a": items.variables[i], "variable_b": items.variables[j],
                   "n_a": n_a, "n_b": n_b, "n_ab": n_ab, "n_total": n_total,
                   "units_ab": int(unit_counts[i, j]), **st, **within,
                   "jaccard_misleading": bool(st["frequency_ratio"] > JACCARD_RATIO_WARNING)}


def _sorted_pairs(rows: list[dict]) -> pd.DataFrame:
    """The pairs by level, context, Jaccard and ``n_ab`` (both descending), then item ids."""
    if not rows:
        return empty_table(PAIR_COLUMNS)
    pairs = pd.DataFrame(rows)[PAIR_COLUMNS]
    pairs["_level"] = pairs["level"].map({"code": 0, "variable": 1})
    pairs["_context"] = pairs["context"].map({"unit": 0, "document": 1})
    pairs["_j"] = pairs["jaccard"].fillna(-1.0)
    pairs = pairs.sort_values(["_level", "_context", "_j", "n_ab", "item_a", "item_b"],
                              ascending=[True, True, False, False, True, True], kind="mergesort")
    return pairs[PAIR_COLUMNS].reset_index(drop=True)
