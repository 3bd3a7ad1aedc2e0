"""Inter-coder agreement coefficients on plain data.

Reliability data are laid out as **coders x units**: one row per coder, one
column per unit, ``None`` or NaN where a coder did not code (did not see) a
unit.  Every coefficient below accepts lists of lists, NumPy arrays or pandas
DataFrames in that layout (a DataFrame is read as it stands, one row per
coder: transpose a units x coders frame first); two-coder functions take two
sequences instead (:mod:`coding.agreement.ratings` reads and checks both).

Which software computes what
----------------------------
* Krippendorff's alpha: :mod:`coding.agreement.alpha` (importable from here
  too), summed from per-unit coincidence matrices (all four levels of
  measurement); values that are not numbers are mapped to integer codes for
  the nominal level.  It reproduces Krippendorff's own worked examples, and
  the tests hold it to the ``krippendorff`` package.  Its bootstrap interval is
  :func:`coding.agreement.bootstrap.bootstrap_alpha`.
* Every other coefficient is a short closed formula written out here with
  NumPy.
* The audit table of all of them, item by item:
  :mod:`coding.agreement.tables`.

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
from collections.abc import Sequence

import numpy as np
import pandas as pd

# Krippendorff's alpha has a module of its own; it is one of the coefficients here all the same
from coding.agreement.alpha import (
    MEASUREMENT_LEVELS,
    REPORTED_DECIMALS,
    binary_pair_alpha,
    interpret_alpha,
    krippendorff_alpha,
)
from coding.agreement.ratings import (
    NAN,
    RatingData,
    _binary,
    _counts,
    _is_missing,
    _pair,
    _rows,
    _two_coders,
)
from coding.errors import CodingError

__all__ = [
    "MEASUREMENT_LEVELS",
    "MISSING_RULES",
    "REPORTED_DECIMALS",
    "binary_pair_alpha",
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

#: Treatments of missing values offered by :func:`cohen_kappa` and :func:`scott_pi`.
MISSING_RULES = ("pairwise", "gwet")


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

    ``data`` is a coders x units table (None/NaN = missing). ``categories``
    are all possible categories, by default the distinct observed values:
    pass them (e.g. ``(0, 1)``) so that q does not shrink when a category is
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

    A CodingError is raised for ragged data or values outside ``categories``.
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
    return _cells_2x2(np.array(_binary(x, "a"), dtype=np.int64), np.array(_binary(y, "b"), dtype=np.int64))


def _cells_2x2(x: np.ndarray, y: np.ndarray) -> dict[str, int]:
    """The cells of :func:`confusion_2x2` of two complete 0/1 arrays."""
    return {f"n{u}{v}": int(((x == u) & (y == v)).sum()) for u in (1, 0) for v in (1, 0)}


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
