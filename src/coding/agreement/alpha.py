"""Krippendorff's alpha: the one implementation every other module calls.

:func:`krippendorff_alpha` takes any number of coders, missing data and the
four levels of measurement. It sums per-unit coincidence matrices, so a
batch of bootstrap resamples (each unit counted as often as it was drawn) is
one matrix product: :func:`_alphas` computes both (tests hold it to the
``krippendorff`` package, whose results reproduce Krippendorff's worked
examples, on random data of every level). :func:`binary_pair_alpha` is the same
coefficient for the commonest case, two coders' complete 0/1 data, written
out in closed form and with units that may count several times: fast enough
to be evaluated at every candidate threshold of the learned coder, and equal
to the package's value to 1e-12 (a test holds it there).
:func:`interpret_alpha` reads a value as reliable, tentative or unreliable.
Its bootstrap interval is :mod:`coding.agreement.bootstrap`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, TypeAlias

import numpy as np

from coding.agreement.ratings import NAN, RatingData, _categories, _is_missing, _rows
from coding.errors import CodingError

Level: TypeAlias = Literal["nominal", "ordinal", "interval", "ratio"]
MEASUREMENT_LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")
#: Decimals of the floats in :func:`coding.agreement.tables.agreement_table`; alpha is read at this precision.
REPORTED_DECIMALS = 4


def _level(level: str) -> Level:
    """``level`` checked to be a level of measurement."""
    for known in MEASUREMENT_LEVELS:
        if level == known:
            return known
    raise CodingError(f"unknown level of measurement {level!r}; use one of {', '.join(MEASUREMENT_LEVELS)}")


def _alpha_matrix(data: RatingData, level: str) -> tuple[np.ndarray, np.ndarray]:
    """Numeric coders x units matrix (NaN missing) and the value domain."""
    level = _level(level)
    if isinstance(data, np.ndarray) and data.ndim == 2 and data.dtype.kind == "f":
        return _float_matrix(data, level)
    return _cell_matrix(_rows(data), level)


def _float_matrix(data: np.ndarray, level: Level) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_alpha_matrix` of a float array: it needs no per-cell checks, so
    the same matrix comes without a Python loop over the cells."""
    matrix = np.asarray(data, dtype=float)
    values = np.unique(matrix[~np.isnan(matrix)])
    if level != "nominal":
        return np.array(matrix, dtype=float, order="C"), values
    coded = np.searchsorted(values, matrix).astype(float)
    return np.where(np.isnan(matrix), NAN, coded), np.arange(values.size, dtype=float)


def _cell_matrix(rows: list[list], level: Level) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_alpha_matrix` of checked rows of values (None missing)."""
    values = _categories(rows)
    if level == "nominal":
        # integer codes: the nominal metric only asks whether two values are equal
        code = {v: float(k) for k, v in enumerate(values)}
    else:
        bad = [v for v in values if isinstance(v, bool) or not isinstance(v, (int, float))]
        if bad:
            raise CodingError(f"level {level!r} needs numeric values, got {bad[0]!r}")
        code = {v: float(v) for v in values}
    matrix = np.array([[NAN if v is None else code[v] for v in row] for row in rows], dtype=float)
    if matrix.ndim != 2:
        matrix = matrix.reshape(len(rows), 0)
    domain = np.array(sorted(set(code.values())), dtype=float)
    return matrix, domain


def _pairable(matrix: np.ndarray) -> np.ndarray:
    """The units (columns) of a numeric matrix with two or more values."""
    return matrix[:, (~np.isnan(matrix)).sum(axis=0) >= 2]


def _alpha(matrix: np.ndarray, domain: np.ndarray, level: str) -> float:
    """Alpha of a numeric matrix of :func:`_alpha_matrix`; NaN where undefined."""
    counts = _value_counts(_pairable(matrix), domain)
    return float(_alphas(counts, np.ones((1, counts.shape[0])), domain, _level(level))[0])


def _value_counts(matrix: np.ndarray, domain: np.ndarray) -> np.ndarray:
    """Units x values: how many coders gave each value of ``domain`` to each unit (column) of ``matrix``."""
    values = ~np.isnan(matrix)
    units = np.broadcast_to(np.arange(matrix.shape[1]), matrix.shape)[values]
    counts = np.zeros((matrix.shape[1], domain.size))
    np.add.at(counts, (units, np.searchsorted(domain, matrix[values])), 1.0)
    return counts


def _distances(domain: np.ndarray, level: Level, marginals: np.ndarray) -> np.ndarray:
    """Squared differences between the values of ``domain`` (batch x values x
    values); the ordinal one depends on each batch row's marginal counts."""
    if level == "ordinal":
        i = np.arange(domain.size)
        lo, hi = np.minimum.outer(i, i), np.maximum.outer(i, i)
        # n_lo + ... + n_hi, less half of the two end values' counts
        between = np.cumsum(marginals, axis=1)[:, hi] - np.cumsum(marginals, axis=1)[:, lo] + marginals[:, lo]
        return (between - (marginals[:, lo] + marginals[:, hi]) / 2) ** 2
    diff = np.subtract.outer(domain, domain)
    if level == "nominal":
        delta = (diff != 0).astype(float)
    elif level == "interval":
        delta = diff**2
    else:  # ratio
        total = np.add.outer(domain, domain)
        delta = np.divide(diff, total, out=np.zeros_like(diff), where=total != 0) ** 2
    return delta[None]


def _coincidences(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Coincidence matrices (batch x values x values) of pairable units whose
    value counts are ``counts``, unit *u* counted ``weights[r, u]`` times in row *r*.

    Unit *u* with :math:`m_u` values adds :math:`(n_{uc} n_{uk} - [c = k] n_{uc}) / (m_u - 1)`
    to cell (c, k): its ordered pairs of values from different coders.
    """
    n_values = counts.shape[1]
    scaled = weights / (counts.sum(axis=1) - 1)
    pairs = counts[:, :, None] * counts[:, None, :]
    pairs[:, np.arange(n_values), np.arange(n_values)] -= counts
    pairs = pairs.reshape(len(counts), n_values * n_values)
    matrices = np.zeros((len(weights), n_values * n_values))
    step = max(1, 2**20 // max(n_values * n_values, 1))  # units at a time: memory stays a few MB
    for lo in range(0, len(counts), step):
        matrices += scaled[:, lo:lo + step] @ pairs[lo:lo + step]
    return matrices.reshape(len(weights), n_values, n_values)


def _alphas(counts: np.ndarray, weights: np.ndarray, domain: np.ndarray, level: Level) -> np.ndarray:
    """Alpha of each row of ``weights`` (a unit's row of ``counts`` counted that
    many times), from the coincidence matrix :math:`o_{ck}` and its marginals
    :math:`n_c`: :math:`1 - (n-1) \\sum o_{ck}\\delta^2_{ck} / \\sum n_c n_k \\delta^2_{ck}`.
    NaN for a row with no pairable value or no variation."""
    coincidences = _coincidences(counts, weights)
    marginals = weights @ counts  # a unit's m_u values each count once
    n = marginals.sum(axis=1)
    delta = _distances(domain, level, marginals)
    observed = (coincidences * delta).sum(axis=(1, 2))
    expected = np.einsum("rc,rck,rk->r", marginals, delta, marginals)
    defined = expected > 0
    alphas = np.full(len(weights), NAN)
    alphas[defined] = 1 - (n[defined] - 1) * observed[defined] / expected[defined]
    return alphas


def krippendorff_alpha(data: RatingData, level: str = "nominal") -> float:
    """Krippendorff's alpha for any number of coders, with missing data.

    Parameters
    ----------
    data : coders x units table
        None/NaN = missing.  For ``level="nominal"`` values may be any
        hashable (strings, numbers); other levels need numbers.
    level : {"nominal", "ordinal", "interval", "ratio"}
        Level of measurement, which selects the difference function.

    Returns
    -------
    float
        .. math:: \\alpha = 1 - \\frac{D_o}{D_e} = 1 - (n-1)
                  \\frac{\\sum_{c,k} o_{ck}\\, \\delta^2_{ck}}
                       {\\sum_{c,k} n_c n_k\\, \\delta^2_{ck}}

        from the coincidence matrix :math:`o_{ck}` of the pairable values
        (units with two or more values), :math:`n_c` its marginals and *n*
        the number of pairable values (Krippendorff 2011).  NaN when no unit has two values or when
        all pairable values are equal (no variation, :math:`D_e = 0`).

    Raises
    ------
    CodingError
        Ragged data, an unknown level, or non-numeric values for a level
        other than nominal.
    """
    matrix, domain = _alpha_matrix(data, level)
    return _alpha(matrix, domain, level)


def _binary_array(values: Sequence[int] | np.ndarray, name: str) -> np.ndarray:
    """Complete 0/1 values as an int array; anything else is an error naming ``name``."""
    array = np.asarray(values)
    if array.ndim == 1 and array.dtype.kind in "iu" and (not array.size or 0 <= array.min() <= array.max() <= 1):
        return array.astype(np.int64, copy=False)  # the common case, checked in two passes over the array
    if array.ndim != 1 or not ((array == 0) | (array == 1)).all():
        raise CodingError("binary data must be a sequence of 0/1 with no value missing", item=name)
    return array.astype(np.int64)


def binary_pair_alpha(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray,
                 weight: Sequence[float] | np.ndarray | None = None) -> float:
    """Krippendorff's alpha (nominal) of two coders' complete 0/1 data, in closed form.

    Parameters
    ----------
    a, b : sequences or arrays of 0/1 of equal length
        The two coders' values, one per unit; none may be missing.
    weight : sequence or array of float, optional
        How many times each unit counts (default: once each).

    Returns
    -------
    float
        With two values per unit the coincidence matrix holds the units on
        which the coders differ off its diagonal, so

        .. math:: \\alpha = 1 - (n - 1) \\frac{d}{n_0 n_1}

        with *n* the pairable values (twice the units), :math:`n_0` and
        :math:`n_1` the 0s and 1s among them and *d* the units on which the
        coders differ (each counted ``weight`` times): the value of
        :func:`krippendorff_alpha` of ``[a, b]`` without its cost per call,
        for callers that evaluate alpha many times (a search for the best
        threshold). NaN when only one value occurs (no variation) or there
        is no unit.

    Raises
    ------
    CodingError
        Sequences of different lengths, values other than 0/1 (or missing),
        or weights not one per unit.
    """
    x, y = _binary_array(a, "a"), _binary_array(b, "b")
    if x.size != y.size:
        raise CodingError(f"sequences differ in length: {x.size} and {y.size}")
    w = np.ones(x.size) if weight is None else np.asarray(weight, dtype=float)
    if w.shape != x.shape:
        raise CodingError(f"{w.size} weights for {x.size} units")
    n = 2 * float(w.sum())
    ones = float(w @ (x + y))
    zeros = n - ones
    if ones <= 0 or zeros <= 0:
        return NAN
    return 1.0 - (n - 1) * float(w @ (x != y)) / (zeros * ones)


def interpret_alpha(alpha: float | None, decimals: int | None = REPORTED_DECIMALS) -> str:
    """Krippendorff's (2004, p. 241) reading of an alpha value, as reported.

    Parameters
    ----------
    alpha : float or None
    decimals : int or None
        Alpha is read as reported: rounded to this many decimals (default 4,
        as :func:`agreement_table` prints it), so 0.79996, printed 0.8000,
        reads "reliable" and 0.66696, printed 0.6670, "tentative"; 0.66666,
        printed 0.6667, stays "unreliable" (below .667).  None reads the
        unrounded value.

    Returns
    -------
    str
        ``"reliable"`` for alpha >= 0.800, ``"tentative"`` for
        0.667 <= alpha < 0.800 (fit only for tentative conclusions),
        ``"unreliable"`` below 0.667, and ``"undefined"`` for None or NaN.
    """
    if alpha is None or _is_missing(alpha) or math.isnan(float(alpha)):
        return "undefined"
    alpha = float(alpha)
    if decimals is not None:
        # np.round, as DataFrame.round: the reading matches the printed digits
        alpha = float(np.round(alpha, decimals))
    if alpha >= 0.800:
        return "reliable"
    if alpha >= 0.667:
        return "tentative"
    return "unreliable"
