"""Reliability data read and checked for the coefficients.

Reliability data are laid out as **coders x units**: one row per coder, one
column per unit, ``None`` or NaN where a coder did not code (did not see) a
unit, as lists of lists, NumPy arrays or pandas DataFrames; two-coder
coefficients take two sequences instead. This module turns either into plain
Python values (``None`` for missing), counts them per category, and raises
:class:`coding.errors.CodingError` on malformed input. It computes no
coefficient itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import pandas as pd

from coding.errors import CodingError

#: A table of ratings as a sequence of rows, an array or a frame (None or NaN
#: where a coder did not code a unit); each function says which way round.
RatingData: TypeAlias = Sequence | np.ndarray | pd.DataFrame
NAN = float("nan")


def _is_missing(value) -> bool:
    if value is None:
        return True
    try:
        missing = pd.isna(value)
    except (TypeError, ValueError):
        return False
    # pd.isna on a list-like returns an array; such a cell is malformed anyway
    return bool(missing) if np.ndim(missing) == 0 else False


def _cell(value, where: str):
    if _is_missing(value):
        return None
    if np.ndim(value) != 0 or isinstance(value, (list, tuple, dict, set)):
        raise CodingError("a cell holds a sequence, expected one value", item=where)
    if isinstance(value, np.generic):
        value = value.item()  # plain Python values hash and compare alike
    return value


def _rows(data) -> list[list]:
    """Validate coders x units data; return rows with None for missing."""
    if isinstance(data, pd.DataFrame):
        data = data.to_numpy(dtype=object)
    if isinstance(data, np.ndarray):
        if data.ndim != 2:
            raise CodingError(f"data must be 2-dimensional (coders x units), got {data.ndim} dimension(s)")
        data = data.tolist()
    if isinstance(data, (str, bytes)) or not isinstance(data, Sequence):
        raise CodingError("data must be a coders x units table (list of lists, 2D array or DataFrame)")
    rows = []
    width = None
    for c, row in enumerate(data):
        if isinstance(row, (str, bytes)) or not isinstance(row, (Sequence, np.ndarray, pd.Series)):
            raise CodingError("data must be a coders x units table: each row is one coder's values",
                              item=f"row {c}")
        row = list(row)
        if width is None:
            width = len(row)
        elif len(row) != width:
            raise CodingError(f"ragged data: row has {len(row)} values, row 0 has {width}",
                              item=f"row {c}")
        rows.append([_cell(v, f"row {c}, unit {u}") for u, v in enumerate(row)])
    return rows


def _sort_values(values) -> list:
    try:
        return sorted(values)
    except TypeError:  # mixed types: any fixed order will do for nominal data
        return sorted(values, key=lambda v: (type(v).__name__, repr(v)))


def _categories(rows, categories=None) -> list:
    observed = {v for row in rows for v in row if v is not None}
    if categories is None:
        return _sort_values(observed)
    cats = list(dict.fromkeys(categories))
    unknown = observed - set(cats)
    if unknown:
        raise CodingError(f"values not among the given categories: {_sort_values(unknown)!r}")
    return cats


def _counts(rows, categories=None) -> tuple[np.ndarray, list]:
    """Units x categories table of how many coders put each unit in each category."""
    cats = _categories(rows, categories)
    index = {c: k for k, c in enumerate(cats)}
    n_units = len(rows[0]) if rows else 0
    table = np.zeros((n_units, len(cats)), dtype=float)
    for row in rows:
        for u, v in enumerate(row):
            if v is not None:
                table[u, index[v]] += 1
    return table, cats


def _two_coders(a, b) -> tuple[list, list]:
    """Two coders' sequences as cells (None for missing), checked for equal length."""
    a = [_cell(v, "a") for v in list(a)]
    b = [_cell(v, "b") for v in list(b)]
    if len(a) != len(b):
        raise CodingError(f"sequences differ in length: {len(a)} and {len(b)}")
    return a, b


def _pair(a, b) -> tuple[list, list]:
    """Two coders' sequences with the pairs that miss a value dropped."""
    a, b = _two_coders(a, b)
    kept = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    return [x for x, _ in kept], [y for _, y in kept]


def _binary(values, name: str) -> list[int | None]:
    """0/1 values as ints (None stays None); anything else is an error naming ``name``."""
    out: list[int | None] = []
    for v in values:
        if v is None:
            out.append(None)
        elif v in (0, 1) and not isinstance(v, str):
            out.append(int(v))
        else:
            raise CodingError(f"binary data must be 0/1 (or None for missing), got {v!r}", item=name)
    return out
