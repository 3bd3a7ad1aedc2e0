"""Comparisons of shares: two periods, and crosstabs by any document attribute.

Each comparison is of shares with their denominators (units and documents on
each side), with a document-clustered interval of the difference and a
verdict that follows it ("higher", "lower", "no clear difference"). A
comparison the data cannot carry is kept as a row with an empty verdict and
the reason (``note``): a side with fewer than :data:`MIN_UNITS` units or
:data:`MIN_DOCUMENTS` documents, or one value holding nearly every unit.

Crosstabs give the share of each variable and code in each group of a
grouping (doc type, speaker, document year and any extra manifest column),
with a clustered interval per share and, per item, the test that fits the
design and the counts (see :func:`coding.reports.design.crosstab_test`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import design
from .context import ReportContext
from .output import empty_table

#: a side of a comparison needs this many units ...
MIN_UNITS = 10
#: ... in this many documents
MIN_DOCUMENTS = 2
#: one value holding this share of the units or more leaves nothing to compare
DOMINANT_SHARE = 0.9

COMPARISON_COLUMNS = [
    "comparison", "level", "variable", "code", "label", "group_a", "group_b",
    "units_a", "documents_a", "coded_a", "share_a", "units_b", "documents_b", "coded_b", "share_b",
    "difference", "difference_cl_low", "difference_cl_high", "verdict", "note",
]
CROSSTAB_COLUMNS = ["attribute", "group", "level", "variable", "code", "label", "units_total", "documents_total",
                    "units_coded", "unit_share", "unit_share_cl_low", "unit_share_cl_high"]
TEST_COLUMNS = ["attribute", "level", "variable", "code", "label", "groups", "units", "documents", "test",
                "statistic", "df", "p", "p_units", "note"]
#: the attributes every report crosses the codes with (manifest columns the report knows), in this order
ATTRIBUTES = ("doc_type", "speaker", "document_year")


#: (level, variable, code, label, column of the unit matrix) of a reported item
_Item = tuple[str, str, str, str, np.ndarray]


def _items(ctx: ReportContext) -> list[_Item]:
    """(level, variable, code, label, column of the unit matrix) of every reported item."""
    out: list[_Item] = []
    for j, (var, info) in enumerate(ctx.variables.items()):
        out.append(("variable", var, "", info["label"], ctx.var_matrix[:, j]))
    for j, (code, info) in enumerate(ctx.codes.items()):
        out.append(("code", info["variable"], code, info["label"], ctx.code_matrix[:, j]))
    return out


def _side(members: np.ndarray, docs: np.ndarray) -> tuple[int, int]:
    return int(len(members)), int(len(np.unique(docs[members]))) if len(members) else 0


def _short(side_units: int, side_docs: int) -> bool:
    return side_units < MIN_UNITS or side_docs < MIN_DOCUMENTS


def _two_sides(ctx: ReportContext, name: str, label_a: str, label_b: str, side_a: np.ndarray, side_b: np.ndarray,
               note: str = "") -> list[dict]:
    """One row per item comparing the units at ``side_a`` and ``side_b``
    (positions; a unit may be on both sides)."""
    docs = ctx.units["_doc"].to_numpy().astype(np.int64)
    (ua, da), (ub, db) = _side(side_a, docs), _side(side_b, docs)
    if not note and not ua and not ub:
        note = "no unit falls on either side"
    if not note and (_short(ua, da) or _short(ub, db)):
        note = (f"too few to compare: {ua} units in {da} documents against {ub} in {db} "
                f"(each side needs {MIN_UNITS} units in {MIN_DOCUMENTS} documents)")
    items = _items(ctx)
    group = np.concatenate([np.zeros(len(side_a), np.int64), np.ones(len(side_b), np.int64)])
    pos = np.concatenate([side_a, side_b]).astype(np.int64)
    reps = None
    if not note and items:
        coded = np.stack([column[pos] for *_, column in items], axis=1)
        reps = design.replicates(group, docs[pos], coded, 2, len(ctx.documents))
    rows = []
    for j, (level, var, code, label, column) in enumerate(items):
        ca, cb = int(column[side_a].sum()), int(column[side_b].sum())
        share_a, share_b = ca / ua if ua else math.nan, cb / ub if ub else math.nan
        row = {"comparison": name, "level": level, "variable": var, "code": code, "label": label,
               "group_a": label_a, "group_b": label_b, "units_a": ua, "documents_a": da, "coded_a": ca,
               "share_a": share_a, "units_b": ub, "documents_b": db, "coded_b": cb,
               "share_b": share_b, "note": note, "difference": share_b - share_a}
        if reps is None:
            row.update(difference_cl_low=math.nan, difference_cl_high=math.nan, verdict="")
        else:
            d = design.difference(reps[:, 0, j], reps[:, 1, j])
            row.update(difference_cl_low=d["diff_low"], difference_cl_high=d["diff_high"], verdict=d["verdict"])
        rows.append(row)
    return rows


def _dominant(values: pd.Series, what: str) -> str:
    """The note when one value holds nearly all units ("" otherwise)."""
    counts = values.value_counts()
    if not len(counts):
        return f"no unit has a {what}"
    top, n = counts.index[0], int(counts.iloc[0])
    if n >= DOMINANT_SHARE * len(values):
        rest = len(values) - n
        return f"all but {rest} units are {what} {top}" if rest else f"every unit is {what} {top}"
    return ""


def _halves(period, years: np.ndarray) -> tuple[int, int, int]:
    """(first, middle, last): the study period split at its middle, else the median year."""
    if period is not None:
        return period[0], (period[0] + period[1]) // 2, period[1]
    known = years[years >= 0]
    mid = int(np.median(known)) if len(known) else 0
    return int(known.min(initial=0)), mid, int(known.max(initial=0))


def document_years(ctx: ReportContext, period: tuple[int, int] | None) -> list[dict]:
    """Units of documents dated in the first half of the study period against the second."""
    years = ctx.units["document_year"]
    dated = years.notna().to_numpy()
    y = years.fillna(-1).to_numpy(dtype=np.int64)
    first, mid, last = _halves(period, y)
    side_a = np.flatnonzero(dated & (y >= first) & (y <= mid))
    # without a study period the later side runs to the last date
    side_b = np.flatnonzero(dated & (y > mid) & ((y <= last) | (period is None)))
    note = _dominant(pd.Series(y[dated]), "dated")
    if note:
        note += "; no comparison by document year"
    b_label = f"{mid + 1}-{last}" if period is not None else f"after {mid}"
    return _two_sides(ctx, "document_year", f"{first}-{mid}", b_label, side_a, side_b, note)


def referenced_years(ctx: ReportContext, period: tuple[int, int] | None) -> list[dict]:
    """Units mentioning a year of the first half of the study period against
    those mentioning one of the second (a unit mentioning both is on both sides)."""
    if period is None:
        return []
    first, mid, last = period[0], (period[0] + period[1]) // 2, period[1]
    early = [p for year, p in ctx.referenced.items() if first <= year <= mid]
    late = [p for year, p in ctx.referenced.items() if mid < year <= last]
    side_a = np.unique(np.concatenate(early)) if early else np.zeros(0, np.int64)
    side_b = np.unique(np.concatenate(late)) if late else np.zeros(0, np.int64)
    return _two_sides(ctx, "referenced_year", f"{first}-{mid}", f"{mid + 1}-{last}", side_a, side_b)


def comparisons(ctx: ReportContext, period: tuple[int, int] | None = None) -> pd.DataFrame:
    """Every two-sided comparison of the report (see the module docstring)."""
    rows = referenced_years(ctx, period) + document_years(ctx, period)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS) if rows else empty_table(COMPARISON_COLUMNS)


def study_comparisons(ctx: ReportContext) -> pd.DataFrame:
    """The comparisons over the codebook's study period (see :func:`comparisons`)."""
    return comparisons(ctx, getattr(getattr(ctx.codebook, "settings", None), "study_period", None))


def _attribute_values(ctx: ReportContext, name: str) -> pd.Series:
    """A unit's value of a document attribute as text ("" for none)."""
    units = ctx.units
    if name == "document_year":
        return units["document_year"].astype("string").fillna("").astype(str)
    if name in units.columns:
        return units[name].astype(object).where(units[name].notna(), "").astype(str)
    extra = getattr(ctx, "attributes", None)
    if extra is not None and name in extra.columns:
        by_doc = extra.set_index("document_id")[name].reindex(ctx.documents["id"]).fillna("").astype(str)
        return pd.Series(by_doc.to_numpy()[units["_doc"].to_numpy()], index=units.index)
    return pd.Series("", index=units.index)


def crosstabs(ctx: ReportContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(shares per attribute, group and item; one test per attribute and item).
    Computed once per context (two tables are cut from it)."""
    return ctx.shared("crosstabs", lambda: _crosstabs(ctx))


def crosstab_shares(ctx: ReportContext) -> pd.DataFrame:
    """Shares per attribute, group and item (see :func:`crosstabs`)."""
    return crosstabs(ctx)[0]


def crosstab_tests(ctx: ReportContext) -> pd.DataFrame:
    """One test per attribute and item (see :func:`crosstabs`)."""
    return crosstabs(ctx)[1]


def _crosstabs(ctx: ReportContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    names = list(ATTRIBUTES) + [c for c in ctx.attribute_names if c not in ATTRIBUTES]
    shares: list[dict] = []
    tests: list[dict] = []
    items = _items(ctx)
    for name in names:
        values = _attribute_values(ctx, name)
        known = np.flatnonzero((values != "").to_numpy())
        if not items or not len(known):
            continue
        _crosstab(ctx, name, values.iloc[known], known, items, shares, tests)
    share_frame = pd.DataFrame(shares, columns=CROSSTAB_COLUMNS) if shares else empty_table(CROSSTAB_COLUMNS)
    test_frame = pd.DataFrame(tests, columns=TEST_COLUMNS) if tests else empty_table(TEST_COLUMNS)
    return share_frame, test_frame


def _crosstab(ctx: ReportContext, name: str, values: pd.Series, known: np.ndarray, items: list[_Item],
              shares: list[dict], tests: list[dict]) -> None:
    """Add the shares and tests of one attribute (``values``: those of the units at ``known``)."""
    docs = ctx.units["_doc"].to_numpy().astype(np.int64)[known]
    groups = sorted(set(values))
    index = {g: i for i, g in enumerate(groups)}
    member = values.map(index).to_numpy(dtype=np.int64)
    coded = np.stack([column[known] for *_, column in items], axis=1).astype(np.int64)
    low, high = design.share_intervals(member, docs, coded, len(groups), len(ctx.documents))
    units_g = np.bincount(member, minlength=len(groups))
    docs_g = design.documents_per_group(member, docs, len(groups), len(ctx.documents))
    for j, (level, var, code, label, _) in enumerate(items):
        coded_g = np.bincount(member, weights=coded[:, j], minlength=len(groups)).astype(np.int64)
        for g, group in enumerate(groups):
            shares.append({"attribute": name, "group": group, "level": level, "variable": var, "code": code,
                           "label": label, "units_total": int(units_g[g]), "documents_total": int(docs_g[g]),
                           "units_coded": int(coded_g[g]), "unit_share": coded_g[g] / units_g[g],
                           "unit_share_cl_low": low[g, j], "unit_share_cl_high": high[g, j]})
    note = _dominant(values, f"of {name}") if len(groups) > 1 else f"one value only ({groups[0]})"
    results = design.crosstab_test(member, docs, coded, len(groups)) if len(groups) > 1 else \
        [{"test": "none", "statistic": math.nan, "df": 0, "p": math.nan, "p_units": math.nan}] * len(items)
    for (level, var, code, label, _), res in zip(items, results):
        tests.append({"attribute": name, "level": level, "variable": var, "code": code, "label": label,
                      "groups": len(groups), "units": len(known), "documents": int(len(np.unique(docs))),
                      **res, "note": note})
