"""The agreement audit table: every coefficient of presence/absence coding,
one row per item (a variable or code) and a pooled ``ALL`` row.

:func:`agreement_table` takes a long frame (unit, coder, item, value);
:func:`agreement_table_from_values` and :func:`agreement_table_from_codes`
the same data as arrays, as the audit over the store and the report read
them. Each coefficient is the one of :mod:`coding.agreement.coefficients`
and :mod:`coding.agreement.alpha` on the same data, value for value, and
the intervals are those of :mod:`coding.agreement.bootstrap`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from coding.agreement.alpha import REPORTED_DECIMALS, _alpha_matrix, interpret_alpha, krippendorff_alpha
from coding.agreement.bootstrap import AlphaInterval, _bootstrap, _unit_bootstrap
from coding.agreement.coefficients import (
    _ac1,
    _brennan_prediger,
    _cells_2x2,
    _cohen,
    _fleiss,
    _observed_agreement,
    _scott,
    prevalence_paradox,
)
from coding.agreement.ratings import NAN, _sort_values
from coding.errors import CodingError

__all__ = ["TABLE_COLUMNS", "agreement_table", "agreement_table_from_codes", "agreement_table_from_values"]

#: Columns of :func:`agreement_table`, in order.
TABLE_COLUMNS = [
    "level", "item", "n_units", "prevalence", "percent_agreement",
    "cohen_kappa", "scott_pi", "brennan_prediger", "fleiss_kappa",
    "krippendorff_alpha", "alpha_low", "alpha_high", "alpha_resamples_dropped", "gwet_ac1",
    "reading", "paradox", "n11", "n10", "n01", "n00", "alpha_interval_note",
]


def _count_table(matrix: np.ndarray, categories) -> np.ndarray:
    """Units x categories table of a numeric coders x units matrix, as
    :func:`coding.agreement.ratings._counts` builds it of rows of values."""
    table = np.zeros((matrix.shape[1], len(categories)), dtype=float)
    for k, category in enumerate(categories):
        table[:, k] = (matrix == category).sum(axis=0)
    return table


def _two_coder_terms(matrix: np.ndarray) -> tuple[float, float, dict]:
    """Cohen's kappa, Scott's pi (pairwise deletion) and the 2x2 cells of a two-row 0/1 matrix."""
    both = ~np.isnan(matrix).any(axis=0)
    x, y = matrix[0, both].astype(np.int64), matrix[1, both].astype(np.int64)
    cells = _cells_2x2(x, y)
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
            table = _count_table(chunk, (0, 1))
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
    interval = _bootstrap(codes, domain, "nominal", alpha, n_resamples, seed, ci, 0.10)
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
        **_interval_columns(interval),
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
    records[-1].update(_interval_columns(_unit_bootstrap(codes, n_resamples, seed, ci)))
    for record in records:
        _withhold_point(record)
    return _format_table(records)


def _interval_columns(interval: AlphaInterval) -> dict[str, float]:
    """The table's columns of a bootstrap interval."""
    return {"alpha_low": interval.low, "alpha_high": interval.high, "alpha_resamples_dropped": interval.dropped}


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
    frame = _checked_presence(presence)
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


def _checked_presence(presence: pd.DataFrame) -> pd.DataFrame:
    """The presence table's four columns, values as 0/1 integers, identical
    duplicate rows dropped; a CodingError for a missing column, another
    value or conflicting duplicates."""
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
    return frame
