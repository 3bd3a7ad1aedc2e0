"""Frequency tables: units and documents coded per variable and code, overall and by group.

A group is a document, a doc type, a document year or a year the units
mention; a unit may belong to several groups (the years it mentions). Each
row carries the counts, the shares with their Wilson and document-clustered
intervals, and the rate per 1,000 words with its exact Poisson interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from . import design
from .context import ReportContext, positions_in
from .measures import poisson_interval, ratio, wilson_interval
from .output import LongTable, empty_table, finish

FREQ_VALUE_COLUMNS = [
    "units_total", "words_total", "documents_total",
    "units_coded", "unit_share", "unit_share_ci_low", "unit_share_ci_high", "unit_share_cl_low", "unit_share_cl_high",
    "documents_coded", "document_share", "document_share_ci_low", "document_share_ci_high",
    "evidence_matches",
    "units_coded_per_1000_words", "units_coded_per_1000_words_ci_low", "units_coded_per_1000_words_ci_high",
]


def level_items(ctx: ReportContext):
    """(level, item ids, variable of each, label of each, unit matrix, evidence matrix)."""
    yield ("variable", list(ctx.variables), list(ctx.variables),
           [v["label"] for v in ctx.variables.values()], ctx.var_matrix, ctx.var_evidence)
    yield ("code", list(ctx.codes), [c["variable"] for c in ctx.codes.values()],
           [c["label"] for c in ctx.codes.values()], ctx.code_matrix, ctx.code_evidence)


def _sum_by(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum of ``values`` (rows) per group as int64, a column at a time (an
    int64 copy of a large corpus's unit matrix would cost hundreds of MB).
    The float sums of bincount are exact: the counts stay far below 2**53."""
    if values.ndim == 1:
        return np.rint(np.bincount(groups, weights=values, minlength=n_groups)).astype(np.int64)
    out = np.zeros((n_groups, values.shape[1]), dtype=np.int64)
    for j in range(values.shape[1]):
        out[:, j] = np.rint(np.bincount(groups, weights=values[:, j], minlength=n_groups)).astype(np.int64)
    return out


def _sparse_sum_by(groups: np.ndarray, values: sparse.csr_matrix, n_groups: int) -> np.ndarray:
    """Sum of the rows of a sparse matrix per group, as a dense int64 array."""
    member = sparse.csr_matrix((np.ones(len(groups), dtype=np.int64), (groups, np.arange(len(groups)))),
                               shape=(n_groups, len(groups)))
    summed = member @ values.astype(np.int64)  # int64 sums: a group's count may pass 2**31
    return np.asarray(summed.todense(), dtype=np.int64).reshape(n_groups, values.shape[1])


def _document_pairs(groups: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (group, document) pairs of the members: the group of
    each pair, and the pair of each member."""
    width = int(docs.max(initial=0)) + 1
    keys = groups.astype(np.int64) * width + docs
    # members usually come in runs of one pair (units in document order): then no sort or hash of
    # every member's key is needed, each costing several copies of the keys
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]])) if len(keys) else np.zeros(0, np.int64)
    first = keys[starts]
    if len(np.unique(first)) == len(first):
        return first // width, np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(keys))))
    distinct, pair = np.unique(keys, return_inverse=True)
    return distinct // width, pair.reshape(-1)


#: members of a frequency table counted at a time: the copies of the unit matrices' rows stay this small
FREQUENCY_BLOCK = 1 << 17


def _coded_counts(matrix: np.ndarray, evidence: sparse.csr_matrix, member_group: np.ndarray,
                  member_pos: np.ndarray, pair: np.ndarray, pair_group: np.ndarray, n_groups: int) -> tuple:
    """Units coded, distinct documents coded and evidence matches per group
    (rows) and item (columns), counted a block of members at a time."""
    k = matrix.shape[1]
    units = np.zeros((n_groups, k), dtype=np.int64)
    matches = np.zeros((n_groups, k), dtype=np.int64)
    hit = np.zeros((len(pair_group), k), dtype=bool)  # (group, document) pairs with the item coded
    for lo in range(0, len(member_pos), FREQUENCY_BLOCK):
        pos, group = member_pos[lo:lo + FREQUENCY_BLOCK], member_group[lo:lo + FREQUENCY_BLOCK]
        coded = matrix[pos]
        units += _sum_by(group, coded, n_groups)
        matches += _sparse_sum_by(group, evidence[pos], n_groups)
        rows, cols = np.nonzero(coded)
        hit[pair[lo:lo + FREQUENCY_BLOCK][rows], cols] = True
    documents = np.stack([np.bincount(pair_group[hit[:, j]], minlength=n_groups) for j in range(k)], axis=1) \
        if k else np.zeros((n_groups, 0))
    return units, documents.astype(np.int64), matches


def _frequency_table(ctx: ReportContext, groups: pd.DataFrame, member_group: np.ndarray, member_pos: np.ndarray,
                     group_cols: list[str], levels: tuple[str, ...] = ("variable", "code"),
                     clustered: bool = True) -> pd.DataFrame:
    """Long frequency table: one row per level x group x item, in that order.

    ``groups`` has one row per group (its ``group_cols`` values); unit
    ``member_pos[i]`` belongs to group ``member_group[i]`` (a unit may be in
    several groups, e.g. the years it mentions). Counts are computed for
    every group at once, so the per-document table is linear in the corpus.
    """
    n_groups = len(groups)
    pair_group, pair = _document_pairs(member_group, ctx.units["_doc"].to_numpy()[member_pos].astype(np.int64))
    base = {"units_total": np.bincount(member_group, minlength=n_groups).astype(np.int64),
            "words_total": _sum_by(member_group, ctx.units["words"].to_numpy()[member_pos], n_groups),
            "documents_total": np.bincount(pair_group, minlength=n_groups).astype(np.int64)}
    frames = []
    member_doc = ctx.units["_doc"].to_numpy()[member_pos].astype(np.int64)
    for level, ids, variables, labels, matrix, evidence in level_items(ctx):
        k = len(ids)
        if not k or not n_groups or level not in levels:
            continue
        units_coded, docs_coded, matches = _coded_counts(matrix, evidence, member_group, member_pos, pair,
                                                         pair_group, n_groups)
        if clustered:  # documents resampled, all of a document's units together (see coding.reports.design)
            cl_low, cl_high = design.share_intervals(member_group, member_doc, matrix[member_pos], n_groups,
                                                     len(ctx.documents))
        else:
            cl_low = cl_high = np.full((n_groups, k), np.nan)
        take = np.repeat(np.arange(n_groups), k)
        frame = pd.DataFrame({"level": [level] * (n_groups * k), "variable": variables * n_groups,
                              "code": (ids if level == "code" else [""] * k) * n_groups, "label": labels * n_groups})
        for col in group_cols:
            frame[col] = groups[col].take(take).reset_index(drop=True)
        for col, values in base.items():
            frame[col] = values[take]
        frame["units_coded"] = units_coded.ravel()
        frame["unit_share_cl_low"], frame["unit_share_cl_high"] = cl_low.ravel(), cl_high.ravel()
        frame["documents_coded"] = docs_coded.ravel()
        frame["evidence_matches"] = matches.ravel()
        frames.append(frame)
    columns = ["level", "variable", "code", "label", *group_cols] + FREQ_VALUE_COLUMNS
    if not frames:
        return empty_table(columns)
    df = pd.concat(frames, ignore_index=True)
    df["unit_share"] = ratio(df["units_coded"], df["units_total"])
    df["unit_share_ci_low"], df["unit_share_ci_high"] = wilson_interval(df["units_coded"], df["units_total"])
    df["document_share"] = ratio(df["documents_coded"], df["documents_total"])
    df["document_share_ci_low"], df["document_share_ci_high"] = wilson_interval(df["documents_coded"],
                                                                                df["documents_total"])
    df["units_coded_per_1000_words"] = ratio(df["units_coded"] * 1000, df["words_total"])
    lo, hi = poisson_interval(df["units_coded"], df["words_total"], scale=1000)
    df["units_coded_per_1000_words_ci_low"], df["units_coded_per_1000_words_ci_high"] = lo, hi
    return df[columns]


def _partition(labels: pd.Series, values: list, column: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Groups, member groups and positions of a partition of the units by ``labels`` (one per unit)."""
    member = positions_in(labels, pd.Index(values))
    known = member >= 0
    return (pd.DataFrame({column: values}), member[known].astype(np.int64, copy=False),
            np.flatnonzero(known).astype(np.int64, copy=False))


#: documents per piece of the per-document frequency table
DOCUMENTS_PER_PIECE = 2_000


def frequencies_by_document(ctx: ReportContext) -> LongTable:
    """The frequency table of each document (a row per level, document and
    item, in that order), built for a slice of documents at a time: on a
    large corpus it has millions of rows."""
    docs = ctx.documents
    groups = pd.DataFrame({"document_id": docs["id"], "title": docs["title"], "doc_type": docs["doc_type"],
                           "document_year": docs["year"].astype(object)})
    columns = ["level", "variable", "code", "label", "document_id", "title", "doc_type", "document_year"]
    doc_codes = ctx.units["_doc"].to_numpy(dtype=np.int64)
    levels = [level for level, ids, *_ in level_items(ctx) if len(ids)]

    def piece(level: str, first: int, last: int) -> pd.DataFrame:
        lo, hi = int(ctx.doc_bounds[first]), int(ctx.doc_bounds[last])  # the units of these documents
        # within one document there is no spread between documents to resample: no clustered interval
        table = _frequency_table(ctx, groups.iloc[first:last].reset_index(drop=True), doc_codes[lo:hi] - first,
                                 np.arange(lo, hi, dtype=np.int64), columns[4:], levels=(level,), clustered=False)
        table["document_year"] = table["document_year"].astype("Int64")
        return finish(table)

    def pieces():
        size = DOCUMENTS_PER_PIECE
        # levels outside, documents inside: the row order of the table built whole
        slices = [(level, first) for level in levels for first in range(0, len(docs), size)] or [("variable", 0)]
        for level, first in slices:
            yield piece(level, first, min(len(docs), first + size))

    rows = len(docs) * sum(len(ids) for _, ids, *_ in level_items(ctx))
    return LongTable(columns + FREQ_VALUE_COLUMNS, rows, pieces)


def frequencies(ctx: ReportContext) -> pd.DataFrame:
    """Frequencies over every unit of the report."""
    n = len(ctx.units)
    return _frequency_table(ctx, pd.DataFrame(index=[0]), np.zeros(n, dtype=np.int64), np.arange(n, dtype=np.int64),
                            [])


def frequencies_by_doc_type(ctx: ReportContext) -> pd.DataFrame:
    """Frequencies within each doc type."""
    groups, member, pos = _partition(ctx.units["doc_type"], sorted(set(ctx.documents["doc_type"])), "doc_type")
    return _frequency_table(ctx, groups, member, pos, ["doc_type"])


def frequencies_by_document_year(ctx: ReportContext) -> pd.DataFrame:
    """Frequencies by the year of the documents' own dates (a group of the undated last)."""
    years = ctx.units["document_year"]
    values: list = sorted(set(years.dropna().astype(int)))
    labels = pd.Series(years.fillna(-1).to_numpy(dtype=np.int64))  # -1: no year (vectorised: a unit each)
    if years.isna().any():
        values.append(pd.NA)
    keys = [v if v is not pd.NA else -1 for v in values]
    groups, member, pos = _partition(labels, keys, "document_year")
    groups["document_year"] = pd.Series(values, dtype=object)
    table = _frequency_table(ctx, groups, member, pos, ["document_year"])
    table["document_year"] = table["document_year"].astype("Int64")
    return table


def frequencies_by_referenced_year(ctx: ReportContext) -> pd.DataFrame:
    """Frequencies by the years the units mention (a unit counts under each)."""
    referenced = ctx.referenced
    member = np.concatenate([np.full(len(p), i, dtype=np.int64) for i, p in enumerate(referenced.values())]
                            or [np.zeros(0, dtype=np.int64)])
    pos = np.concatenate(list(referenced.values()) or [np.zeros(0, dtype=np.int64)])
    table = _frequency_table(ctx, pd.DataFrame({"referenced_year": list(referenced)}, dtype=object), member, pos,
                             ["referenced_year"])
    table["referenced_year"] = table["referenced_year"].astype("Int64")
    return table
