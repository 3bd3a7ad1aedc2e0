"""Bootstrap intervals of Krippendorff's alpha.

:func:`bootstrap_alpha` resamples the pairable units of one coders x units
table; :func:`_unit_bootstrap` resamples units of an audit with all their
items at once (the pooled row of :mod:`coding.agreement.tables`, whose items
of one unit are not independent). Both draw from a seeded generator, so the
same data give the same interval, compute the alphas of a block of
resamples at once by :mod:`coding.agreement.alpha` (a resample is the count
of each unit's draws), and read the interval off the resamples in one way
(:func:`_percentile_interval`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from coding.agreement.alpha import Level, _alpha, _alpha_matrix, _alphas, _level, _pairable, _value_counts
from coding.agreement.ratings import NAN, RatingData
from coding.errors import CodingError

__all__ = ["AlphaInterval", "bootstrap_alpha"]


class AlphaInterval(NamedTuple):
    """Bootstrap interval of alpha (see :func:`bootstrap_alpha`)."""

    low: float
    high: float
    #: share of the resamples left out because alpha was undefined on them
    dropped: float


def bootstrap_alpha(data: RatingData, level: str = "nominal", n_resamples: int = 1000,
                    seed: int = 12345, ci: float = 0.95, max_dropped: float = 0.10) -> AlphaInterval:
    """Percentile bootstrap interval for Krippendorff's alpha.

    Parameters
    ----------
    data : coders x units table
        None/NaN = missing.
    level : str
        As in :func:`krippendorff_alpha`.
    n_resamples : int
        Number of bootstrap samples (>= 1).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed and data always
        give the same interval.
    ci : float
        Coverage of the interval, 0 < ci < 1.
    max_dropped : float
        Largest share of undefined resamples (0-1) for which an interval is
        still given.

    Returns
    -------
    AlphaInterval
        ``(low, high, dropped)``.  The pairable units (two or more values)
        are drawn with replacement, as many as there are, ``n_resamples``
        times; alpha is computed on each sample and the interval is the
        ``(1-ci)/2`` and ``(1+ci)/2`` quantiles (linear interpolation) of
        the defined alphas.  ``dropped`` is the share of samples left out
        because alpha was undefined there (no variation: e.g. a rare code
        drawn without its positives).  Those samples are not left out at
        random -- the rest are conditioned on the code occurring -- so when
        ``dropped > max_dropped`` the interval is withheld: ``low`` and
        ``high`` are NaN (one agreed positive in 40 units drops about 36%
        and would otherwise give [1, 1]).  ``(nan, nan, nan)`` when alpha
        itself is undefined (nothing resampled).

    Raises
    ------
    CodingError
        As :func:`krippendorff_alpha`; also ``n_resamples < 1``, or ``ci``
        outside (0, 1), or ``max_dropped`` outside [0, 1].
    """
    if int(n_resamples) != n_resamples or n_resamples < 1:
        raise CodingError(f"n_resamples must be a positive whole number, got {n_resamples!r}")
    if not 0 < ci < 1:
        raise CodingError(f"ci must lie strictly between 0 and 1, got {ci!r}")
    if not 0 <= max_dropped <= 1:
        raise CodingError(f"max_dropped must lie between 0 and 1, got {max_dropped!r}")
    matrix, domain = _alpha_matrix(data, level)
    return _bootstrap(matrix, domain, level, _alpha(matrix, domain, level), n_resamples, seed, ci, max_dropped)


def _bootstrap(matrix: np.ndarray, domain: np.ndarray, level: str, alpha: float, n_resamples: int, seed: int,
               ci: float, max_dropped: float) -> AlphaInterval:
    """The interval of :func:`bootstrap_alpha` from the numeric matrix and its alpha."""
    if math.isnan(alpha):
        return AlphaInterval(NAN, NAN, NAN)
    counts = _value_counts(_pairable(matrix), domain)
    alphas = _resampled_alphas(counts, np.arange(len(counts)), len(counts), domain, _level(level),
                               n_resamples, seed)
    return _percentile_interval(alphas, ci, max_dropped)


def _resampled_alphas(counts: np.ndarray, unit_of: np.ndarray, n_units: int, domain: np.ndarray, level: Level,
                      n_resamples: int, seed: int) -> np.ndarray:
    """Alphas of ``n_resamples`` draws of ``n_units`` units with replacement,
    column *j* of ``counts`` belonging to unit ``unit_of[j]``."""
    rng = np.random.default_rng(seed)
    # a block of resamples at a time (the same numbers as one draw): memory stays ~32 MB at any count
    block = max(1, 2**22 // max(n_units, len(counts), 1))
    alphas = np.empty(int(n_resamples))
    for lo in range(0, int(n_resamples), block):
        rows = min(block, int(n_resamples) - lo)
        draws = rng.integers(0, n_units, size=(rows, n_units))
        drawn = np.bincount((draws + n_units * np.arange(rows)[:, None]).ravel(), minlength=rows * n_units)
        alphas[lo:lo + rows] = _alphas(counts, drawn.reshape(rows, n_units)[:, unit_of].astype(float), domain, level)
    return alphas


def _unit_bootstrap(codes: np.ndarray, n_resamples: int, seed: int, ci: float,
                    max_dropped: float = 0.10) -> AlphaInterval:
    """The interval of the nominal alpha of presence codes (coders x items x
    units, -1 not seen) pooled over items, with units resampled, each with
    every item. (nan, nan, nan) with fewer than two units two coders saw."""
    seen = (codes >= 0).sum(axis=0).max(axis=0) >= 2  # units that two coders saw (for some item)
    units = np.flatnonzero(seen)
    if len(units) < 2:
        return AlphaInterval(NAN, NAN, NAN)
    values = np.where(codes[:, :, units] >= 0, codes[:, :, units], np.nan).astype(float)
    flat = values.reshape(values.shape[0], -1)  # columns item by item, each item's units in order
    pairable = (~np.isnan(flat)).sum(axis=0) >= 2
    domain = np.unique(flat[~np.isnan(flat)])
    unit_of = np.tile(np.arange(len(units)), values.shape[1])[pairable]
    alphas = _resampled_alphas(_value_counts(flat[:, pairable], domain), unit_of, len(units), domain, "nominal",
                               n_resamples, seed)
    return _percentile_interval(alphas, ci, max_dropped)


def _percentile_interval(alphas: np.ndarray, ci: float, max_dropped: float) -> AlphaInterval:
    """The ``(1-ci)/2`` and ``(1+ci)/2`` quantiles of the defined resampled
    alphas, withheld (NaN) when more than ``max_dropped`` were undefined."""
    defined = alphas[~np.isnan(alphas)]
    dropped = 1 - defined.size / alphas.size
    if defined.size == 0 or dropped > max_dropped:
        return AlphaInterval(NAN, NAN, dropped)
    low, high = np.quantile(defined, [(1 - ci) / 2, (1 + ci) / 2])
    return AlphaInterval(float(low), float(high), dropped)
