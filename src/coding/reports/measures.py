"""The statistics of the report tables: Wilson and exact Poisson intervals, and association of two items.

Intervals here take units as independent; the document-clustered intervals
are in :mod:`coding.reports.design`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

#: two-sided 95% normal quantile
Z95 = 1.959963984540054


def wilson_interval(successes, n, z: float = Z95):
    """Wilson score interval for ``successes / n`` (arrays allowed); NaN when n == 0."""
    x = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    low = np.where(n > 0, low, np.nan)
    high = np.where(n > 0, high, np.nan)
    return low, high


def poisson_interval(count, exposure=1.0, scale: float = 1.0, level: float = 0.95):
    """Exact (Garwood) Poisson interval for the rate ``count / exposure * scale``.

    Lower bound ``chi2.ppf(a/2, 2k) / 2`` (0 when k == 0), upper bound
    ``chi2.ppf(1 - a/2, 2k + 2) / 2``; NaN where the exposure is 0.
    """
    k = np.asarray(count, dtype=float)
    e = np.asarray(exposure, dtype=float)
    alpha = 1 - level
    low = np.where(k > 0, stats.chi2.ppf(alpha / 2, np.maximum(2 * k, 1e-12)) / 2, 0.0)
    high = stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(e > 0, low / e * scale, np.nan)
        high = np.where(e > 0, high / e * scale, np.nan)
    return low, high


def ratio(a, b) -> np.ndarray:
    """``a / b`` element-wise as floats, NaN where ``b`` is 0."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1), np.nan)


def pair_statistics(n_a: int, n_b: int, n_ab: int, n_total: int) -> dict[str, float]:
    """Association measures for two items from a 2x2 presence table.

    ``n_a``/``n_b`` are the contexts (units or documents) containing each
    item, ``n_ab`` those containing both, ``n_total`` all contexts.
    """
    n10, n01 = n_a - n_ab, n_b - n_ab
    n00 = n_total - n_a - n_b + n_ab
    expected = n_a * n_b / n_total if n_total else math.nan
    union = n_a + n_b - n_ab
    denom = n_a * (n_total - n_a) * n_b * (n_total - n_b)
    lo, hi = min(n_a, n_b), max(n_a, n_b)
    if n_total > 0 and min(n10, n01, n00, n_ab) >= 0:
        fisher_p = float(stats.fisher_exact([[n_ab, n10], [n01, n00]], alternative="two-sided")[1])
    else:
        fisher_p = math.nan
    return {
        "expected": expected,
        "lift": n_ab / expected if expected else math.nan,
        "jaccard": n_ab / union if union else math.nan,
        "ochiai": n_ab / math.sqrt(n_a * n_b) if n_a and n_b else math.nan,
        "p_b_given_a": n_ab / n_a if n_a else math.nan,
        "p_a_given_b": n_ab / n_b if n_b else math.nan,
        "phi": (n_ab * n00 - n10 * n01) / math.sqrt(denom) if denom else math.nan,
        "fisher_p": fisher_p,
        "frequency_ratio": hi / lo if lo else math.nan,
    }

