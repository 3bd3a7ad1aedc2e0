"""Inter-coder agreement coefficients on plain data.

Reliability data are laid out as **coders x units**: one row per coder, one
column per unit, ``None`` or NaN where a coder did not code (did not see) a
unit.  Every coefficient below accepts lists of lists, NumPy arrays or pandas
DataFrames in that layout (a DataFrame is read as it stands, one row per
coder: transpose a units x coders frame first); two-coder functions take two
sequences instead.

Which software computes what
----------------------------
* Krippendorff's alpha: the ``krippendorff`` package (coincidence matrices,
  all four levels of measurement); values that are not numbers are mapped to
  integer codes for the nominal level.  Its results reproduce Krippendorff's
  own worked examples.
* Every other coefficient is a short closed formula written out here with
  NumPy.

Missing values: which units each coefficient uses
-------------------------------------------------
With complete data the rules below coincide; they differ only when some
coder did not code some unit.

* Gwet's (2014, ch. 2 and 5) rule -- :func:`percent_agreement`,
  :func:`brennan_prediger`, :func:`fleiss_kappa`, :func:`gwet_ac1`, and
  :func:`cohen_kappa` / :func:`scott_pi` with ``missing="gwet"``: observed
  agreement uses the units coded by at least two coders; chance agreement
  uses every unit coded by at least one coder (Fleiss, AC1 and Scott: each
  unit's own category distribution averaged over those units; Cohen: each
  coder's own category shares over the units that coder coded;
  Brennan-Prediger: 1/q, no shares at all).
* Pairwise deletion -- :func:`cohen_kappa` and :func:`scott_pi` by default
  (``missing="pairwise"``; Cohen's kappa is then scikit-learn's
  ``cohen_kappa_score`` of the complete pairs),
  :func:`confusion_2x2` and :func:`precision_recall_f1`: a unit missing
  either coder's value is dropped from every term, chance included.
* Krippendorff's rule -- :func:`krippendorff_alpha` and
  :func:`bootstrap_alpha`: only pairable values (units with two or more
  values) enter, observed and expected disagreement alike; a lone value
  counts nowhere.

Undefined values
----------------
A coefficient that is undefined for the data at hand is returned as
``float('nan')`` -- never an exception -- and :func:`interpret_alpha` reads
NaN as ``"undefined"``.  The cases are:

* no unit coded by at least two coders (one coder, one unit seen by only one
  coder, coders who never saw the same unit): every coefficient, including
  percent agreement, is NaN;
* no variation (every value observed is the same category): the chance-
  corrected coefficients whose expected agreement is then 1 (Cohen's kappa,
  Scott's pi, Fleiss' kappa, Krippendorff's alpha) are NaN, while percent
  agreement is 1.0.  Brennan-Prediger and Gwet's AC1 stay defined (1.0)
  when the set of possible categories is given (``categories=``), because
  their chance term does not depend on the observed marginals; without it,
  a single observed value gives q = 1 and they are NaN as well.
* :func:`bootstrap_alpha` withholds its interval (NaN bounds) when alpha
  is undefined on more than ``max_dropped`` (default 10%) of the resamples,
  as happens with very rare codes, and reports that share.

Malformed input (ragged rows, a non-2D table, an unknown level, sequences of
different lengths, non-binary values where 0/1 is required) raises
:class:`coding.errors.CodingError`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import krippendorff as _krippendorff
import numpy as np
import pandas as pd

from coding.errors import CodingError

__all__ = [
    "AlphaInterval",
    "MEASUREMENT_LEVELS",
    "MISSING_RULES",
    "REPORTED_DECIMALS",
    "TABLE_COLUMNS",
    "agreement_table",
    "bootstrap_alpha",
    "brennan_prediger",
    "cohen_kappa",
    "confusion_2x2",
    "counts_from_data",
    "fleiss_kappa",
    "gwet_ac1",
    "interpret_alpha",
    "krippendorff_alpha",
    "percent_agreement",
    "precision_recall_f1",
    "prevalence_paradox",
    "scott_pi",
]

#: A table of ratings as a sequence of rows, an array or a frame (None or NaN
#: where a coder did not code a unit); each function says which way round.
RatingData = Sequence | np.ndarray | pd.DataFrame
NAN = float("nan")
MEASUREMENT_LEVELS = ("nominal", "ordinal", "interval", "ratio")
#: Decimals of the floats in :func:`agreement_table`; alpha is read at this precision.
REPORTED_DECIMALS = 4
#: Treatments of missing values offered by :func:`cohen_kappa` and :func:`scott_pi`.
MISSING_RULES = ("pairwise", "gwet")

#: Columns of :func:`agreement_table`, in order.
TABLE_COLUMNS = [
    "level", "item", "n_units", "prevalence", "percent_agreement",
    "cohen_kappa", "scott_pi", "brennan_prediger", "fleiss_kappa",
    "krippendorff_alpha", "alpha_low", "alpha_high", "alpha_resamples_dropped", "gwet_ac1",
    "reading", "paradox", "n11", "n10", "n01", "n00", "alpha_interval_note",
]


# --------------------------------------------------------------------------
# input handling


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


def _check_missing(missing: str) -> None:
    if missing not in MISSING_RULES:
        raise CodingError(f"unknown rule for missing values {missing!r}; use one of {', '.join(MISSING_RULES)}")


def _observed_agreement(table: np.ndarray) -> float:
    """Mean share of agreeing coder pairs over units with >= 2 values."""
    r = table.sum(axis=1)
    keep = r >= 2
    if not keep.any():
        return NAN
    t, r = table[keep], r[keep]
    return float(np.mean((t * (t - 1)).sum(axis=1) / (r * (r - 1))))


def _class_shares(table: np.ndarray) -> np.ndarray:
    """pi_k: each unit's category distribution averaged over units with >= 1 value."""
    r = table.sum(axis=1)
    keep = r >= 1
    if not keep.any():
        return np.zeros(table.shape[1])
    return (table[keep] / r[keep, None]).mean(axis=0)


# --------------------------------------------------------------------------
# coefficients


def _chance_corrected(observed: float, expected: float) -> float:
    """(observed - expected) / (1 - expected); NaN when chance agreement is
    certain (no variation), where the ratio is undefined."""
    if math.isclose(expected, 1.0):
        return NAN
    return (observed - expected) / (1 - expected)


def percent_agreement(data: RatingData) -> float:
    """Pairwise percent agreement of two or more coders.

    Parameters
    ----------
    data : coders x units table (list of lists, 2D array, DataFrame)
        ``None`` or NaN marks a unit the coder did not code.

    Returns
    -------
    float
        .. math:: p_a = \\frac{1}{n'} \\sum_{i: r_i \\ge 2} \\sum_k
                  \\frac{r_{ik}(r_{ik}-1)}{r_i(r_i-1)}

        where :math:`r_{ik}` is the number of coders who put unit *i* in
        category *k*, :math:`r_i` the number of coders of unit *i* and
        :math:`n'` the number of units coded by at least two coders: the share
        of agreeing coder pairs within a unit, averaged over units.  With two
        coders it is the share of units on which they agree.  1.0 when every
        pair agrees (including the no-variation case); NaN when no unit was
        coded by two coders (one coder, no overlap).

    Raises
    ------
    CodingError
        Ragged or non-2D data.
    """
    table, _ = _counts(_rows(data))
    return _observed_agreement(table)


def cohen_kappa(a: Sequence, b: Sequence, missing: str = "pairwise") -> float:
    """Cohen's (1960) kappa for two coders.

    Parameters
    ----------
    a, b : sequences of equal length
        The two coders' values for the same units, None/NaN where a coder
        did not code a unit.
    missing : {"pairwise", "gwet"}
        ``"pairwise"`` (default): a unit missing either value is dropped
        from every term, which gives ``sklearn.metrics.cohen_kappa_score``
        of the complete pairs.
        ``"gwet"`` (Gwet 2014, ch. 2; Conger's kappa of ``irrCAC`` with two
        coders): :math:`p_o` still uses the units both coded, but each
        coder's category shares are taken over all the units that coder
        coded.  Both give the same value on complete data.

    Returns
    -------
    float
        .. math:: \\kappa = \\frac{p_o - p_e}{1 - p_e}, \\quad
                  p_e = \\sum_k p_{a,k}\\, p_{b,k}

        :math:`p_o` is the share of agreeing pairs, :math:`p_{a,k}` and
        :math:`p_{b,k}` each coder's own share of category *k* (each coder
        keeps a marginal).  NaN when no unit was coded by both or when
        :math:`p_e = 1` (both coders used one and the same category
        throughout: no variation).

    Raises
    ------
    CodingError
        Sequences of different lengths, or an unknown ``missing`` rule.
    """
    _check_missing(missing)
    x, y = _pair(a, b)
    if not x:
        return NAN
    if missing == "gwet":  # each coder's marginal over every unit the coder coded
        a, b = _two_coders(a, b)
        ma, mb = [v for v in a if v is not None], [v for v in b if v is not None]
    else:
        ma, mb = x, y
    return _cohen(float(np.mean([u == v for u, v in zip(x, y)])), ma, mb)


def _cohen(po: float, ma, mb) -> float:
    """Cohen's kappa from the observed agreement and each coder's values (the marginals)."""
    share_a, share_b = pd.Series(ma).value_counts(normalize=True), pd.Series(mb).value_counts(normalize=True)
    pe = float(share_a.mul(share_b, fill_value=0).sum())
    return _chance_corrected(po, pe)


def scott_pi(a: Sequence, b: Sequence, missing: str = "pairwise") -> float:
    """Scott's (1955) pi for two coders.

    Parameters
    ----------
    a, b : sequences of equal length
        As in :func:`cohen_kappa`.
    missing : {"pairwise", "gwet"}
        ``"pairwise"`` (default): a unit missing either value is dropped
        from every term.  ``"gwet"`` (Gwet 2014, ch. 2 and 5): the category
        shares also use units only one coder coded, each unit's own
        distribution averaged over units -- the value of
        :func:`fleiss_kappa` on the two coders.  Both give the same value on
        complete data.

    Returns
    -------
    float
        .. math:: \\pi = \\frac{p_o - p_e}{1 - p_e}, \\quad
                  p_e = \\sum_k \\pi_k^2

        :math:`p_o` is the share of agreeing pairs; :math:`\\pi_k` the two
        coders' pooled share of category *k* (one common marginal): with
        pairwise deletion :math:`(n_{a,k} + n_{b,k})/2N` over the complete
        pairs.  NaN when no unit was coded by both or when only one category
        occurs (:math:`p_e = 1`).

    Raises
    ------
    CodingError
        Sequences of different lengths, or an unknown ``missing`` rule.
    """
    _check_missing(missing)
    if missing == "gwet":
        table, _ = _counts(list(_two_coders(a, b)))
        pa = _observed_agreement(table)
        return NAN if math.isnan(pa) else _chance_corrected(pa, float(np.sum(_class_shares(table) ** 2)))
    x, y = _pair(a, b)
    if not x:
        return NAN
    return _scott(float(np.mean([u == v for u, v in zip(x, y)])), x + y)


def _scott(po: float, both) -> float:
    """Scott's pi from the observed agreement and the two coders' values one after the other."""
    pooled = pd.Series(both).value_counts(normalize=True).to_numpy()
    pe = float(np.sum(pooled ** 2))
    return _chance_corrected(po, pe)


def brennan_prediger(data: RatingData, categories: Sequence | None = None) -> float:
    """Brennan and Prediger's (1981) free-marginal kappa for 2+ coders.

    Parameters
    ----------
    data : coders x units table
        None/NaN = missing.
    categories : sequence, optional
        All categories a coder could choose (e.g. ``(0, 1)`` for presence).
        Default: the distinct values observed in ``data``.

    Returns
    -------
    float
        .. math:: \\kappa_{BP} = \\frac{p_a - 1/q}{1 - 1/q}

        :math:`p_a` is :func:`percent_agreement` and *q* the number of
        categories, so chance agreement assumes each category equally likely
        (the "free-marginal" kappa MAXQDA reports).  NaN when no unit has two
        coders or when q < 2 (only one category observed and ``categories``
        not given).

    Raises
    ------
    CodingError
        Ragged data, or values outside ``categories``.
    """
    table, cats = _counts(_rows(data), categories)
    return _brennan_prediger(table, len(cats))


def _brennan_prediger(table: np.ndarray, q: int) -> float:
    pa = _observed_agreement(table)
    if q < 2 or math.isnan(pa):
        return NAN
    return (pa - 1 / q) / (1 - 1 / q)


def counts_from_data(data: RatingData, categories: Sequence | None = None) -> pd.DataFrame:
    """Convert coders x units data into the units x categories count table.

    Parameters
    ----------
    data : coders x units table
        None/NaN = missing.
    categories : sequence, optional
        Column order; default the sorted distinct observed values.

    Returns
    -------
    pandas.DataFrame
        One row per unit (in data order, index 0..n-1), one integer column per
        category: the number of coders who assigned the unit to it.  A unit
        nobody coded is a row of zeros.

    Raises
    ------
    CodingError
        Ragged data, or values outside ``categories``.
    """
    table, cats = _counts(_rows(data), categories)
    return pd.DataFrame(table.astype(int), columns=cats)


def fleiss_kappa(counts: pd.DataFrame | np.ndarray) -> float:
    """Fleiss' (1971) kappa from a units x categories count table.

    Parameters
    ----------
    counts : 2D array or DataFrame, units x categories
        ``counts[i, k]`` = number of coders who put unit *i* in category *k*
        (see :func:`counts_from_data`).  Rows may have different totals when
        coders missed units.

    Returns
    -------
    float
        .. math:: \\kappa_F = \\frac{p_a - p_e}{1 - p_e}, \\quad
                  p_e = \\sum_k \\pi_k^2, \\quad
                  \\pi_k = \\frac{1}{n} \\sum_{i: r_i \\ge 1} \\frac{r_{ik}}{r_i}

        :math:`p_a` as in :func:`percent_agreement` (units with
        :math:`r_i \\ge 2`).  With the same number of coders on every unit
        this is exactly Fleiss (1971); with missing ratings it is Gwet's
        (2014, sec. 5.3) extension.  NaN when no unit has two ratings or only
        one category is used (:math:`p_e = 1`).

    Raises
    ------
    CodingError
        Not 2D, negative or non-integer counts.
    """
    if isinstance(counts, pd.DataFrame):
        counts = counts.to_numpy()
    try:
        table = np.asarray(counts, dtype=float)
    except (TypeError, ValueError) as exc:
        raise CodingError(f"counts must be a numeric units x categories table: {exc}") from None
    if table.ndim != 2:
        raise CodingError(f"counts must be 2-dimensional (units x categories), got {table.ndim} dimension(s)")
    if table.size and (np.isnan(table).any() or (table < 0).any() or (table != np.round(table)).any()):
        raise CodingError("counts must be non-negative whole numbers")
    return _fleiss(table)


def _fleiss(table: np.ndarray, shares: np.ndarray | None = None) -> float:
    """Fleiss' kappa of a count table; ``shares`` the class shares if already known."""
    pa = _observed_agreement(table)
    if math.isnan(pa):
        return NAN
    pe = float(np.sum((_class_shares(table) if shares is None else shares) ** 2))
    return _chance_corrected(pa, pe)


def gwet_ac1(data: RatingData, categories: Sequence | None = None) -> float:
    """Gwet's AC1 for two or more coders, with missing data.

    Parameters
    ----------
    data : coders x units table
        None/NaN = missing.
    categories : sequence, optional
        All possible categories; default the distinct observed values.  Pass
        it (e.g. ``(0, 1)``) so that q does not shrink when a category is
        never used.

    Returns
    -------
    float
        Gwet (2008; 2014, sec. 5.3):

        .. math:: AC_1 = \\frac{p_a - p_e}{1 - p_e}, \\quad
                  p_e = \\frac{1}{q-1} \\sum_k \\pi_k (1 - \\pi_k)

        with :math:`p_a` as in :func:`percent_agreement` (units with two or
        more coders) and :math:`\\pi_k` as in :func:`fleiss_kappa` (units
        with at least one coder).  :math:`p_e \\le 1/q`, so AC1 is defined
        whenever q >= 2 and some unit has two coders; perfect agreement on a
        single category gives 1.0.  NaN when no unit has two coders or q < 2.

    Raises
    ------
    CodingError
        Ragged data, or values outside ``categories``.
    """
    table, cats = _counts(_rows(data), categories)
    return _ac1(table, len(cats))


def _ac1(table: np.ndarray, q: int, shares: np.ndarray | None = None) -> float:
    pa = _observed_agreement(table)
    if q < 2 or math.isnan(pa):
        return NAN
    pi = _class_shares(table) if shares is None else shares
    pe = float(np.sum(pi * (1 - pi))) / (q - 1)
    return (pa - pe) / (1 - pe)


def _alpha_matrix(data, level: str) -> tuple[np.ndarray, np.ndarray]:
    """Numeric coders x units matrix (NaN missing) and the value domain."""
    if level not in MEASUREMENT_LEVELS:
        raise CodingError(f"unknown level of measurement {level!r}; use one of {', '.join(MEASUREMENT_LEVELS)}")
    if isinstance(data, np.ndarray) and data.ndim == 2 and data.dtype.kind == "f":
        # a float array needs no per-cell checks: the same matrix, without a Python loop over the cells
        matrix = np.asarray(data, dtype=float)
        values = np.unique(matrix[~np.isnan(matrix)])
        if level != "nominal":
            return np.array(matrix, dtype=float, order="C"), values
        coded = np.searchsorted(values, matrix).astype(float)
        return np.where(np.isnan(matrix), NAN, coded), np.arange(values.size, dtype=float)
    rows = _rows(data)
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
    return matrix[:, (~np.isnan(matrix)).sum(axis=0) >= 2]


def _alpha(matrix: np.ndarray, domain: np.ndarray, level: str) -> float:
    pairable = _pairable(matrix)
    values = pairable[~np.isnan(pairable)]
    if pairable.shape[1] == 0 or np.unique(values).size < 2:
        return NAN  # no pairable unit, or no variation: expected disagreement 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(_krippendorff.alpha(reliability_data=pairable, value_domain=domain,
                                         level_of_measurement=level))


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
        the number of pairable values (Krippendorff 2011).  Computed by the
        ``krippendorff`` package.  NaN when no unit has two values or when
        all pairable values are equal (no variation, :math:`D_e = 0`).

    Raises
    ------
    CodingError
        Ragged data, an unknown level, or non-numeric values for a level
        other than nominal.
    """
    matrix, domain = _alpha_matrix(data, level)
    return _alpha(matrix, domain, level)


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
    pairable = _pairable(matrix)
    m = pairable.shape[1]
    rng = np.random.default_rng(seed)
    # drawn a block of resamples at a time (the same numbers as one draw): memory stays ~32 MB at any count
    block = max(1, 2**22 // max(m, 1))
    alphas = np.empty(int(n_resamples))
    for lo in range(0, int(n_resamples), block):
        draws = rng.integers(0, m, size=(min(block, int(n_resamples) - lo), m))
        alphas[lo:lo + len(draws)] = [_alpha(pairable[:, idx], domain, level) for idx in draws]
    defined = alphas[~np.isnan(alphas)]
    dropped = 1 - defined.size / alphas.size
    if defined.size == 0 or dropped > max_dropped:
        return AlphaInterval(NAN, NAN, dropped)
    low, high = np.quantile(defined, [(1 - ci) / 2, (1 + ci) / 2])
    return AlphaInterval(float(low), float(high), dropped)


def interpret_alpha(alpha: float, decimals: int | None = REPORTED_DECIMALS) -> str:
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


def _binary(values, name: str) -> list:
    out = []
    for v in values:
        if v is None:
            out.append(None)
        elif v in (0, 1) and not isinstance(v, str):
            out.append(int(v))
        else:
            raise CodingError(f"binary data must be 0/1 (or None for missing), got {v!r}", item=name)
    return out


def confusion_2x2(a: Sequence, b: Sequence) -> dict[str, int]:
    """Two coders' agreement table for presence (0/1) data.

    Parameters
    ----------
    a, b : sequences of 0/1 of equal length
        Pairs with a missing value (None/NaN) are dropped.

    Returns
    -------
    dict
        ``n11`` both coded 1, ``n10`` a = 1 and b = 0, ``n01`` a = 0 and
        b = 1, ``n00`` both 0.  All zero when no pair is left.

    Raises
    ------
    CodingError
        Different lengths or a value other than 0/1.
    """
    x, y = _pair(a, b)
    x, y = _binary(x, "a"), _binary(y, "b")
    cells = {"n11": 0, "n10": 0, "n01": 0, "n00": 0}
    for u, v in zip(x, y):
        cells[f"n{u}{v}"] += 1
    return cells


def prevalence_paradox(kappa: float, ac1: float, threshold: float = 0.2) -> bool:
    """Flag the kappa paradox: kappa and AC1 disagree by more than ``threshold``.

    With a rare (or near-universal) code, kappa-type coefficients fall even
    when coders almost always agree, while AC1 stays close to percent
    agreement (Feinstein and Cicchetti 1990; Gwet 2008).  A large gap says
    the low kappa reflects prevalence, not disagreement.

    Returns
    -------
    bool
        ``abs(ac1 - kappa) > threshold``; False when either is None or NaN
        (nothing to compare: the undefined coefficient is reported as such).
    """
    if kappa is None or ac1 is None or _is_missing(kappa) or _is_missing(ac1):
        return False
    return bool(abs(float(ac1) - float(kappa)) > threshold)


def precision_recall_f1(truth: Sequence[int], pred: Sequence[int]) -> tuple[float, float, float]:
    """Precision, recall and F1 of binary predictions against the truth
    (truth first, as in scikit-learn).

    Parameters
    ----------
    truth, pred : sequences of 0/1 of equal length
        E.g. a human coder (truth) and the automatic coding (pred); pairs
        with a missing value are dropped.

    Returns
    -------
    (precision, recall, f1) : tuple of float
        precision = TP / (TP + FP), recall = TP / (TP + FN),
        F1 = 2 TP / (2 TP + FP + FN) (the harmonic mean of the two).
        Precision is NaN without predicted positives, recall NaN without gold
        positives, F1 NaN when neither side has a positive (then 0.0 would
        wrongly suggest failure); F1 is 0.0 when positives exist but none
        match.

    Raises
    ------
    CodingError
        Different lengths or values other than 0/1.
    """
    cells = confusion_2x2(pred, truth)  # n10: predicted, not true
    tp, fp, fn = cells["n11"], cells["n10"], cells["n01"]
    precision = tp / (tp + fp) if tp + fp else NAN
    recall = tp / (tp + fn) if tp + fn else NAN
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else NAN
    return (precision, recall, f1)


# --------------------------------------------------------------------------
# audit table


def _count_table(matrix: np.ndarray, categories) -> np.ndarray:
    """Units x categories table of a numeric coders x units matrix, as :func:`_counts` builds it."""
    table = np.zeros((matrix.shape[1], len(categories)), dtype=float)
    for k, category in enumerate(categories):
        table[:, k] = (matrix == category).sum(axis=0)
    return table


def _two_coder_terms(matrix: np.ndarray) -> tuple[float, float, dict]:
    """Cohen's kappa, Scott's pi (pairwise deletion) and the 2x2 cells of a two-row 0/1 matrix."""
    both = ~np.isnan(matrix).any(axis=0)
    x, y = matrix[0, both].astype(np.int64), matrix[1, both].astype(np.int64)
    cells = {f"n{u}{v}": int(((x == u) & (y == v)).sum()) for u in (1, 0) for v in (1, 0)}
    if not x.size:
        return NAN, NAN, cells
    po = float(np.mean(x == y))
    return _cohen(po, x, y), _scott(po, np.concatenate([x, y])), cells


class _Scan(NamedTuple):
    """What a row of :func:`agreement_table` needs of a coders x units matrix."""

    #: the units seen by two or more coders, coders x units of 0/1 (NaN: not seen), in the matrix's order
    pairable: np.ndarray
    #: number of units seen by at least one coder
    n_seen: int
    #: sum over those units of each unit's shares of categories 0 and 1, added unit after unit
    shares: np.ndarray
    #: the categories among the values, of (0, 1)
    observed: list


#: Units read at a time by :func:`_scan`.
SCAN_CHUNK = 1 << 16


def _scan(matrices, n_coders: int) -> _Scan:
    """The :class:`_Scan` of coders x units int8 matrices (-1: not seen) put
    side by side, read a chunk of units at a time.

    Only units seen by two or more coders are kept whole: every coefficient
    but Fleiss' kappa and AC1 uses those alone, and those two take from the
    others only the category shares, summed here row after row as
    ``mean(axis=0)`` sums them in :func:`_class_shares` (the same floats).
    """
    pieces, n_seen, shares, found = [], 0, np.zeros(2), np.zeros(2, dtype=bool)
    for matrix in matrices:
        for lo in range(0, matrix.shape[1], SCAN_CHUNK):
            chunk = matrix[:, lo:lo + SCAN_CHUNK]
            table = np.stack([(chunk == 0).sum(axis=0), (chunk == 1).sum(axis=0)], axis=1).astype(float)
            r = table.sum(axis=1)
            keep = r >= 1
            shares = np.vstack([shares[None], table[keep] / r[keep, None]]).sum(axis=0)
            n_seen += int(keep.sum())
            found |= (table > 0).any(axis=0)
            part = chunk[:, r >= 2]
            pieces.append(np.where(part < 0, NAN, part.astype(float)))
    pairable = np.concatenate(pieces, axis=1) if pieces else np.zeros((n_coders, 0))
    return _Scan(pairable, n_seen, shares, [c for c in (0, 1) if found[c]])


def _table_row(scan: _Scan, level_name: str, item, n_resamples: int, seed: int, ci: float) -> dict:
    """One row of :func:`agreement_table` from the :func:`_scan` of a coders x units matrix.

    Each coefficient is computed from the same numbers, in the same order, as
    the function of the same name called on the matrix as rows of lists
    (units seen by one coder only enter Fleiss' kappa and AC1 through
    ``scan.shares``; Krippendorff's alpha leaves them out).
    """
    matrix = scan.pairable
    values = matrix[~np.isnan(matrix)]  # coder by coder, as the rows read
    presence = _count_table(matrix, (0, 1))
    two = matrix.shape[0] == 2
    if two:
        kappa, pi, cells = _two_coder_terms(matrix)
    else:
        kappa, pi, cells = NAN, NAN, dict.fromkeys(("n11", "n10", "n01", "n00"), pd.NA)
    # np.mean divides the sum by the count: so does this
    shares = scan.shares / scan.n_seen if scan.n_seen else np.zeros(2)
    fleiss = _fleiss(presence, shares)
    alpha = krippendorff_alpha(matrix)
    codes, domain = _alpha_matrix(matrix, "nominal")
    interval = _bootstrap(codes, domain, "nominal", _alpha(codes, domain, "nominal"), n_resamples, seed, ci, 0.10)
    ac1 = _ac1(presence, 2, shares)
    return {
        "level": level_name,
        "item": item,
        "n_units": int(matrix.shape[1]),
        "prevalence": float(np.mean(values)) if values.size else NAN,
        "percent_agreement": _observed_agreement(_count_table(matrix, scan.observed)),
        "cohen_kappa": kappa,
        "scott_pi": pi,
        "brennan_prediger": _brennan_prediger(presence, 2),
        "fleiss_kappa": fleiss,
        "krippendorff_alpha": alpha,
        "alpha_low": interval.low,
        "alpha_high": interval.high,
        "alpha_resamples_dropped": interval.dropped,
        "gwet_ac1": ac1,
        "reading": interpret_alpha(alpha),
        "paradox": prevalence_paradox(kappa if two else fleiss, ac1),
        **cells,
    }


def _order(values: list, key=None) -> np.ndarray:
    """Positions of ``values`` in sorted order (:func:`_sort_values`, or by ``key``)."""
    position = {v: k for k, v in enumerate(values)}
    if key is None:
        return np.array([position[v] for v in _sort_values(values)], dtype=np.intp)
    return np.array(sorted(range(len(values)), key=lambda k: key(values[k])), dtype=np.intp)


def agreement_table_from_values(values: np.ndarray, coders: Sequence[str], items: Sequence, units: Sequence,
                                level_name: str = "code", *, n_resamples: int = 1000, seed: int = 12345,
                                ci: float = 0.95) -> pd.DataFrame:
    """:func:`agreement_table` of presence data given as an array.

    Parameters
    ----------
    values : numpy.ndarray, coders x items x units
        1 (coded), 0 (seen, not coded), NaN (not seen), for ``coders``,
        ``items`` and ``units`` in the given orders (any order: rows and
        units are sorted here as :func:`agreement_table` sorts them).
    coders, items, units : sequences
        The labels of the three axes; ids are distinct.

    Returns
    -------
    pandas.DataFrame
        The table :func:`agreement_table` gives for the same data in long
        form, value for value; an item no coder saw a unit of has no row.

    Raises
    ------
    CodingError
        A shape that does not match the labels, values other than 0, 1 and
        NaN, or no coder.
    """
    values = np.asarray(values, dtype=float)
    if values.shape != (len(coders), len(items), len(units)):
        raise CodingError(f"values of shape {values.shape} do not match {len(coders)} coders, {len(items)} items "
                          f"and {len(units)} units")
    if not np.isin(values[~np.isnan(values)], (0.0, 1.0)).all():
        raise CodingError("value must be 0 or 1")
    units = list(units)
    by_unit, by_text = _order(units), _order(units, str)
    codes = np.where(np.isnan(values), -1, values).astype(np.int8)[:, :, by_unit]
    # the pooled row orders units by their ids as text, which for ids other than strings may differ
    pooled = None if np.array_equal(by_unit, by_text) else np.argsort(by_unit)[by_text]
    return agreement_table_from_codes(codes, coders, items, level_name, pooled_order=pooled,
                                      n_resamples=n_resamples, seed=seed, ci=ci)


def agreement_table_from_codes(codes: np.ndarray, coders: Sequence[str], items: Sequence, level_name: str = "code",
                               *, pooled_order: np.ndarray | None = None, n_resamples: int = 1000,
                               seed: int = 12345, ci: float = 0.95) -> pd.DataFrame:
    """:func:`agreement_table` of presence data given as a compact array, in
    memory that does not grow with the units seen by one coder only.

    Parameters
    ----------
    codes : numpy.ndarray of int8, coders x items x units
        1 (coded), 0 (seen, not coded), -1 (not seen), units in order of
        their ids (as :func:`agreement_table` sorts them); items in any
        order. Units no coder saw are allowed (they count nowhere).
    coders, items : sequences
        The labels of the first two axes.
    pooled_order : numpy.ndarray, optional
        The order of the units in the pooled row when it differs (ids other
        than strings: that row orders them by their ids as text).

    Returns
    -------
    pandas.DataFrame
        As :func:`agreement_table_from_values`.

    Raises
    ------
    CodingError
        A shape that does not match the labels, or no coder.
    """
    if codes.ndim != 3 or codes.shape[:2] != (len(coders), len(items)):
        raise CodingError(f"codes of shape {codes.shape} do not match {len(coders)} coders and {len(items)} items")
    if not len(coders):
        raise CodingError("no coder to compare")
    items = list(items)
    records = []
    for i in _order(items):
        scan = _scan([codes[:, i]], len(coders))
        if scan.n_seen:
            records.append(_table_row(scan, level_name, items[i], n_resamples, seed, ci))
    # the pooled row: every (item, unit) one unit, in the order of their ids as text
    pooled = (codes[:, i] if pooled_order is None else codes[:, i][:, pooled_order] for i in _order(items, str))
    records.append(_table_row(_scan(pooled, len(coders)), level_name, "ALL", n_resamples, seed, ci))
    # ... but its interval resamples units with all their items: the items of a unit are not independent
    records[-1].update(_pooled_interval(codes, n_resamples, seed, ci))
    for record in records:
        _withhold_point(record)
    return _format_table(records)


def _pooled_interval(codes: np.ndarray, n_resamples: int, seed: int, ci: float, max_dropped: float = 0.10) -> dict:
    """The bootstrap interval of the pooled alpha with units resampled, each
    with every item (``codes``: coders x items x units, -1 not seen)."""
    seen = (codes >= 0).sum(axis=0).max(axis=0) >= 2  # units that two coders saw (for some item)
    units = np.flatnonzero(seen)
    if len(units) < 2:
        return {"alpha_low": NAN, "alpha_high": NAN, "alpha_resamples_dropped": NAN}
    values = np.where(codes[:, :, units] >= 0, codes[:, :, units], np.nan).astype(float)
    rng = np.random.default_rng(seed)
    alphas = []
    for _ in range(int(n_resamples)):
        draw = values[:, :, rng.integers(0, len(units), len(units))]
        alphas.append(_pooled_alpha(draw.reshape(draw.shape[0], -1)))
    alphas = np.array(alphas)
    dropped = float(np.isnan(alphas).mean())
    if dropped > max_dropped or dropped == 1.0:
        return {"alpha_low": NAN, "alpha_high": NAN, "alpha_resamples_dropped": dropped}
    low, high = np.quantile(alphas[~np.isnan(alphas)], [(1 - ci) / 2, (1 + ci) / 2])
    return {"alpha_low": float(low), "alpha_high": float(high), "alpha_resamples_dropped": dropped}


def _pooled_alpha(matrix: np.ndarray) -> float:
    """Nominal alpha of a coders x units matrix (NaN: missing), NaN where undefined."""
    codes, domain = _alpha_matrix(matrix, "nominal")
    try:
        return float(_alpha(codes, domain, "nominal"))
    except (ZeroDivisionError, FloatingPointError):
        return NAN


def _withhold_point(record: dict) -> None:
    """An interval that collapses to one point (a rare code whose every
    resample agrees perfectly) covers nothing: withheld, with the reason;
    so is one withheld for undefined resamples."""
    low, high, dropped = record["alpha_low"], record["alpha_high"], record["alpha_resamples_dropped"]
    record["alpha_interval_note"] = ""
    if not np.isnan(low) and low == high:
        record["alpha_low"] = record["alpha_high"] = NAN
        record["alpha_interval_note"] = "withheld: every resample gives the same alpha (too few coded units)"
    elif np.isnan(low) and not np.isnan(dropped) and dropped > 0:
        record["alpha_interval_note"] = (f"withheld: alpha undefined in {100 * dropped:.0f}% of resamples "
                                         "(a rare item drawn without its positives)")


def _format_table(records: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame.from_records(records, columns=TABLE_COLUMNS)
    floats = ["prevalence", "percent_agreement", "cohen_kappa", "scott_pi", "brennan_prediger",
              "fleiss_kappa", "krippendorff_alpha", "alpha_low", "alpha_high", "alpha_resamples_dropped",
              "gwet_ac1"]
    table[floats] = table[floats].astype(float).round(REPORTED_DECIMALS)
    for col in ("n11", "n10", "n01", "n00"):
        table[col] = table[col].astype("Int64")
    table["n_units"] = table["n_units"].astype(int)
    table["paradox"] = table["paradox"].astype(bool)
    return table.reset_index(drop=True)


def agreement_table(presence: pd.DataFrame, coders: Sequence[str] | None = None, level_name: str = "code", *,
                    n_resamples: int = 1000, seed: int = 12345, ci: float = 0.95) -> pd.DataFrame:
    """Agreement audit of presence/absence coding, one row per item plus "ALL".

    Parameters
    ----------
    presence : pandas.DataFrame
        Columns ``unit_id``, ``coder``, ``item`` (a code or variable id) and
        ``value`` (0/1).  A coder has a row for every (unit, item) the coder
        saw, 0 included; a missing row means "not seen" (missing data), never
        "absent".  Identical duplicate rows are ignored.
    coders : sequence of str, optional
        Coders to compare, in this order (the first is ``a`` of the 2x2
        table).  Default: every coder in ``presence``, sorted.
    level_name : str
        Label of what the items are (e.g. ``"code"`` or ``"variable"``),
        repeated in the ``level`` column so tables of several levels can be
        concatenated.
    n_resamples, seed, ci :
        Passed to :func:`bootstrap_alpha` (same seed for every row, so the
        table is reproducible; default ``max_dropped``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`.  One row per item, sorted by item id,
        then the pooled row ``item == "ALL"`` in which every (unit, item) pair
        is one unit.  For each row:

        * ``n_units`` -- units seen by at least two of the coders (with two
          coders: by both): the units on which agreement is observed.
          0 when the coders never saw the same unit, and then every
          coefficient and ``prevalence`` is NaN and ``reading`` "undefined".
        * ``prevalence`` -- share of 1s among the coders' values on those
          units.
        * the coefficients get every unit of the item that one of the coders
          saw and treat a unit seen by one coder only as the functions of the
          same names do (module docstring): ``percent_agreement``,
          ``brennan_prediger`` (q = 2) and ``krippendorff_alpha`` (nominal)
          with its bootstrap interval ``alpha_low``/``alpha_high`` leave it
          out; ``fleiss_kappa`` and ``gwet_ac1`` (q = 2) count it in the
          category shares (Gwet 2014), so each equals its function called
          on the item's coders x units data.  When every value is the same,
          kappa/pi/alpha are NaN (no variation) while percent agreement,
          Brennan-Prediger and AC1 are 1.0.
        * ``alpha_resamples_dropped`` -- share of the bootstrap resamples on
          which alpha was undefined (no variation) and that were left out;
          above 0.10 ``alpha_low``/``alpha_high`` are NaN (interval withheld,
          see :func:`bootstrap_alpha`); NaN when alpha is undefined.
        * ``cohen_kappa``, ``scott_pi`` and ``n11``, ``n10``, ``n01``,
          ``n00`` -- only with exactly two coders, on the units both saw
          (pairwise deletion, the functions' default); otherwise NaN / <NA>.
          Fleiss' kappa is the many-coder counterpart of Scott's pi: the two
          are equal unless some unit was seen by one coder only.
        * ``reading`` -- :func:`interpret_alpha` of alpha as printed
          (rounded to 4 decimals).
        * ``paradox`` -- :func:`prevalence_paradox` of AC1 against Cohen's
          kappa (two coders) or Fleiss' kappa (more).

        Floats are rounded to :data:`REPORTED_DECIMALS` (4) decimals.

    Raises
    ------
    CodingError
        Missing columns, values other than 0/1, conflicting duplicate rows,
        no coder, or a requested coder absent from ``presence``.
    """
    need = ["unit_id", "coder", "item", "value"]
    missing = [c for c in need if c not in presence.columns]
    if missing:
        raise CodingError(f"presence table lacks column(s): {', '.join(missing)}")
    frame = presence[need].copy()
    bad = frame[~frame["value"].isin([0, 1])]
    if len(bad):
        row = bad.iloc[0]
        raise CodingError(f"value must be 0 or 1, got {row['value']!r}",
                          item=f"{row['item']} / {row['unit_id']} / {row['coder']}")
    frame["value"] = frame["value"].astype(int)
    frame = frame.drop_duplicates()
    dupes = frame.duplicated(["unit_id", "coder", "item"], keep=False)
    if dupes.any():
        row = frame[dupes].iloc[0]
        raise CodingError("conflicting values for the same unit, coder and item",
                          item=f"{row['item']} / {row['unit_id']} / {row['coder']}")
    present = _sort_values(set(frame["coder"]))
    coders = present if coders is None else list(coders)
    if not coders:
        raise CodingError("no coder to compare")
    absent = [c for c in coders if c not in set(present)]
    if absent:
        raise CodingError("coder not found in the presence table", item=str(absent[0]))
    frame = frame[frame["coder"].isin(coders)]
    items = _sort_values(set(frame["item"]))
    units = _sort_values(set(frame["unit_id"]))
    values = np.full((len(coders), len(items), len(units)), NAN)
    values[pd.Index(coders).get_indexer(frame["coder"]), pd.Index(items).get_indexer(frame["item"]),
           pd.Index(units).get_indexer(frame["unit_id"])] = frame["value"].to_numpy(dtype=float)
    return agreement_table_from_values(values, coders, items, units, level_name, n_resamples=n_resamples,
                                       seed=seed, ci=ci)
