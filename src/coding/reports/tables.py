"""Report tables: frequencies, normalised rates, co-occurrence, matrices, KWIC, exemplars.

Everything here is pure: :func:`compute_tables` takes a :class:`ReportData`
bundle and returns named DataFrames with a fixed column order, sorted rows and
floats rounded to four places, so that writing them twice gives identical files.

Vocabulary used in column names
-------------------------------
``units_coded``
    number of distinct units to which a code (or any code of a variable) was
    applied. A unit counts once per code however many matches it holds.
``document_year``
    the year of the document's own date (``documents.year``).
``referenced_year``
    a year a unit *mentions*: every distinct four-digit year in the
    unit's text within the codebook's ``settings.referenced_years``. A unit
    mentioning 2014 and 2018 counts once under each, so the
    by-year table draws the timeline of events from the text itself.
``*_ci_low`` / ``*_ci_high``
    95% intervals. Shares use the Wilson score interval; the rate
    ``units_coded_per_1000_words`` uses the exact (Garwood) Poisson interval on
    the count of coded units, scaled by the words in the group.
``expected`` / ``lift``
    expected co-occurrence count under independence ``n_a * n_b / n_total``
    and ``n_ab / expected``.
``jaccard``
    ``n_ab / (n_a + n_b - n_ab)``; ATLAS.ti reports the same quantity as the
    *c-coefficient*. It is bounded by ``min(n_a, n_b) / max(n_a, n_b)``, so
    when two frequencies differ more than five-fold (``frequency_ratio`` > 5,
    flagged in ``jaccard_misleading``) it stays small even if the rarer code
    always occurs with the other; read ``ochiai`` and the conditional shares
    ``p_b_given_a`` / ``p_a_given_b`` instead.
``phi`` / ``fisher_p``
    the phi coefficient of the 2x2 table and the two-sided Fisher exact test.
"""

from __future__ import annotations

import datetime
import io
import json
import math
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from coding.files import frame_csv_bytes

#: a four-digit number standing alone; years outside the codebook's referenced_years are dropped
YEAR_RE = re.compile(r"\b(\d{4})\b")
#: two-sided 95% normal quantile
Z95 = 1.959963984540054
#: characters of context either side of a keyword-in-context match
KWIC_CONTEXT = 60
#: pairs whose frequencies differ more than this factor are flagged for Jaccard
JACCARD_RATIO_WARNING = 5.0

DOCUMENT_COLUMNS = ["id", "title", "doc_type", "date", "year", "source", "path", "speaker"]
UNIT_COLUMNS = ["unit_id", "document_id", "ordinal", "unit_type", "start", "end", "text", "words", "speaker"]
CODING_COLUMNS = ["unit_id", "document_id", "code", "variable", "coder", "codebook_version", "evidence"]


@dataclass
class ReportData:
    """Everything a report is computed from.

    ``documents``, ``units`` and ``codings`` are the frames produced by
    ``Store.frames``; ``codebook`` has ``.version``, ``.variables`` (``id``,
    ``label``, ``definition``) and ``.codes`` (``id``, ``label``,
    ``variable``, ``definition``); ``coder`` names the coder whose codings are
    reported (``None`` reports every row of ``codings``).
    """

    documents: pd.DataFrame
    units: pd.DataFrame
    codings: pd.DataFrame
    codebook: Any = None
    coder: str | None = None
    #: the units the reported coder saw (``Store.coverage``); None: every unit.
    #: Shares, intervals and rates are taken over these units only.
    seen: frozenset[str] | None = None
    #: the filters applied (see :func:`filter_data`), for the report to state them
    filters: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- input

def _frame(df: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """Copy of ``df`` with at least ``columns`` (missing ones added empty)."""
    df = pd.DataFrame(columns=columns) if df is None else df.copy()
    for col in columns:
        if col not in df.columns:
            df[col] = pd.Series(dtype="object")
    return df.reset_index(drop=True)


def filter_data(data: ReportData, doc_types: Iterable[str] | None = None,
                year_from: int | None = None, year_to: int | None = None,
                speakers: Iterable[str] | None = None, skip_speakers: Iterable[str] | None = None) -> ReportData:
    """Restrict ``data`` to documents of ``doc_types`` dated ``year_from``..``year_to``,
    and to units of ``speakers`` / not of ``skip_speakers``.

    Bounds are inclusive and apply to the document year; a document without a
    year is dropped as soon as either bound is given. Speakers are compared
    case-insensitively with the units' ``speaker`` (the turn's label in an
    interview split into turns, else the document's speaker). Units and
    codings follow their documents. The filters are recorded in ``filters``
    of the result (added to those already there), so that the report states them.
    """
    docs = _frame(data.documents, DOCUMENT_COLUMNS)
    keep = pd.Series(True, index=docs.index)
    if doc_types is not None:
        keep &= docs["doc_type"].isin(list(doc_types))
    years = pd.to_numeric(docs["year"], errors="coerce")
    if year_from is not None:
        keep &= (years >= year_from).fillna(False)
    if year_to is not None:
        keep &= (years <= year_to).fillna(False)
    docs = docs[keep.astype(bool)].reset_index(drop=True)
    ids = set(docs["id"])
    units = _frame(data.units, UNIT_COLUMNS)
    units = units[units["document_id"].isin(ids)].reset_index(drop=True)
    who = units["speaker"].fillna("").astype(str).str.casefold()
    if speakers:
        units = units[who.isin({s.casefold() for s in speakers})].reset_index(drop=True)
        who = units["speaker"].fillna("").astype(str).str.casefold()
    if skip_speakers:
        units = units[~who.isin({s.casefold() for s in skip_speakers})].reset_index(drop=True)
    codings = _frame(data.codings, CODING_COLUMNS)
    codings = codings[codings["unit_id"].isin(set(units["unit_id"]))].reset_index(drop=True)
    given = {"doc_types": sorted(doc_types) if doc_types is not None else None,
             "year_from": year_from, "year_to": year_to,
             "speakers": sorted(speakers) if speakers else None,
             "skip_speakers": sorted(skip_speakers) if skip_speakers else None}
    filters = {**data.filters, **{k: v for k, v in given.items() if v is not None}}
    return replace(data, documents=docs, units=units, codings=codings, filters=filters)


def describe_filters(filters: dict) -> str:
    """The filters of a report in words ("" when unfiltered), e.g.
    "doc type interview; documents dated 2015 to 2020"."""
    parts = []
    if filters.get("doc_types") is not None:
        parts.append("doc type " + ", ".join(filters["doc_types"]) if filters["doc_types"] else "no doc type")
    lo, hi = filters.get("year_from"), filters.get("year_to")
    if lo is not None and hi is not None:
        parts.append(f"documents dated {lo} to {hi}")
    elif lo is not None:
        parts.append(f"documents dated {lo} or later")
    elif hi is not None:
        parts.append(f"documents dated {hi} or earlier")
    if filters.get("speakers"):
        parts.append("units spoken by " + ", ".join(filters["speakers"]))
    if filters.get("skip_speakers"):
        parts.append("without units spoken by " + ", ".join(filters["skip_speakers"]))
    return "; ".join(parts)


def parse_evidence(value: Any) -> list[dict]:
    """Evidence JSON (or an already decoded list) as a list of dicts."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    return [dict(e) for e in value]


def years_mentioned(text: str, first: int, last: int) -> list[int]:
    """The distinct years from ``first`` to ``last`` that ``text`` mentions
    (four digits standing alone), in order."""
    return sorted({y for y in map(int, YEAR_RE.findall(text)) if first <= y <= last})


def _referenced_years(ctx) -> tuple[int, int]:
    """The range of years counted as referenced (the codebook's settings)."""
    from coding.codebook import DEFAULT_REFERENCED_YEARS

    settings = getattr(ctx.codebook, "settings", None)
    return settings.referenced_years if settings is not None else DEFAULT_REFERENCED_YEARS


class _Context:
    """Normalised inputs shared by the table builders (built once)."""

    def __init__(self, data: ReportData):
        self.codebook = data.codebook
        docs = _frame(data.documents, DOCUMENT_COLUMNS)
        docs["year"] = pd.to_numeric(docs["year"], errors="coerce").astype("Int64")
        for col in ("title", "doc_type", "date", "source", "path", "speaker"):
            docs[col] = docs[col].fillna("").astype(str)
        docs["id"] = docs["id"].astype(str)
        self.documents = docs
        self.doc_order = {d: i for i, d in enumerate(docs["id"])}

        units = _frame(data.units, UNIT_COLUMNS)
        units = units[units["document_id"].isin(self.doc_order)]
        if data.seen is not None:
            # a coder who saw part of the corpus: every share is over what it saw
            units = units[units["unit_id"].isin(data.seen)]
            docs = docs[docs["id"].isin(set(units["document_id"]))].reset_index(drop=True)
            self.documents = docs
            self.doc_order = {d: i for i, d in enumerate(docs["id"])}
        units["text"] = units["text"].fillna("").astype(str)
        if units["words"].isna().any():
            units["words"] = units["words"].fillna(units["text"].str.split().str.len())
        units["words"] = units["words"].astype("int64")
        for col in ("ordinal", "start", "end"):
            units[col] = pd.to_numeric(units[col], errors="coerce").fillna(0).astype("int64")
        units["_doc"] = units["document_id"].map(self.doc_order)
        units = units.sort_values(["_doc", "ordinal", "unit_id"], kind="mergesort").reset_index(drop=True)
        meta = docs.set_index("id")
        units["doc_type"] = units["document_id"].map(meta["doc_type"])
        # a unit's speaker: its turn's label (see coding.segment.unit_speakers), else the document's
        spoken = units["speaker"].fillna("").astype(str)
        units["speaker"] = spoken.where(spoken != "", units["document_id"].map(meta["speaker"]).fillna(""))
        units["document_year"] = units["document_id"].map(meta["year"]).astype("Int64")
        self.units = units
        self.unit_pos = {u: i for i, u in enumerate(units["unit_id"])}

        codings = _frame(data.codings, CODING_COLUMNS)
        if data.coder is not None:
            codings = codings[codings["coder"] == data.coder]
        codings = codings[codings["unit_id"].isin(self.unit_pos)].copy()
        codings["code"] = codings["code"].fillna("").astype(str)
        codings["variable"] = codings["variable"].fillna("").astype(str)
        codings["_pos"] = codings["unit_id"].map(self.unit_pos).astype("int64")
        codings["document_id"] = units["document_id"].to_numpy()[codings["_pos"].to_numpy()] \
            if len(codings) else codings["document_id"]
        codings["_evidence"] = [parse_evidence(v) for v in codings["evidence"]]
        self.codings = codings.reset_index(drop=True)

        self._items(data.codebook)
        n = len(units)
        self.code_matrix = np.zeros((n, len(self.codes)), dtype=bool)
        self.var_matrix = np.zeros((n, len(self.variables)), dtype=bool)
        self.code_evidence = np.zeros((n, len(self.codes)), dtype=np.int64)
        self.var_evidence = np.zeros((n, len(self.variables)), dtype=np.int64)
        code_idx = {c: i for i, c in enumerate(self.codes)}
        var_idx = {v: i for i, v in enumerate(self.variables)}
        for pos, code, var, ev in zip(self.codings["_pos"], self.codings["code"],
                                      self.codings["variable"], self.codings["_evidence"]):
            if code in code_idx:  # not a coding of the variable alone (empty code)
                self.code_matrix[pos, code_idx[code]] = True
                self.code_evidence[pos, code_idx[code]] += len(ev)
            if var in var_idx:
                self.var_matrix[pos, var_idx[var]] = True
                self.var_evidence[pos, var_idx[var]] += len(ev)

    def _items(self, codebook: Any) -> None:
        """Variables and codes in codebook order, codes grouped by variable."""
        variables: dict[str, dict] = {}
        codes: dict[str, dict] = {}
        for v in getattr(codebook, "variables", ()) or ():
            variables[v.id] = {"label": v.label or v.id, "definition": getattr(v, "definition", "") or ""}
        for c in getattr(codebook, "codes", ()) or ():
            codes[c.id] = {"label": c.label or c.id, "variable": c.variable,
                           "definition": getattr(c, "definition", "") or ""}
        # codes/variables seen in codings but absent from the codebook still count;
        # an empty code is a coding of the variable alone, not a code
        extra = self.codings[~self.codings["code"].isin(codes) & (self.codings["code"] != "")]
        extra = extra[["code", "variable"]]
        for code, var in sorted(set(map(tuple, extra.to_numpy()))):
            codes.setdefault(code, {"label": code, "variable": var, "definition": ""})
        for var in sorted({c["variable"] for c in codes.values()} | set(self.codings["variable"])):
            if var and var not in variables:
                variables[var] = {"label": var, "definition": ""}
        var_order = {v: i for i, v in enumerate(variables)}
        cb_order = {c: i for i, c in enumerate(codes)}
        ordered = sorted(codes, key=lambda c: (var_order.get(codes[c]["variable"], len(var_order)), cb_order[c]))
        self.variables = variables
        #: every code of the codebook (the codebook section lists them all)
        self.all_codes = {c: codes[c] for c in ordered}
        # a coder who coded variables only has no code-level data: no code rows
        variable_only = len(self.codings) and (self.codings["code"] == "").all()
        self.codes = {} if variable_only else self.all_codes

    @property
    def codebook_versions(self) -> list[str]:
        return sorted(set(self.codings["codebook_version"].dropna().astype(str)))


def context_of(data: ReportData) -> _Context:
    """The table context of ``data``: the one :func:`compute_tables` built
    for it, else a new one (building it costs as much as the tables)."""
    ctx = getattr(data, "_context", None)
    return ctx if ctx is not None else _Context(data)


# --------------------------------------------------------------------------- statistics

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


def _ratio(a, b):
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


# --------------------------------------------------------------------------- frequencies

FREQ_VALUE_COLUMNS = [
    "units_total", "words_total", "documents_total",
    "units_coded", "unit_share", "unit_share_ci_low", "unit_share_ci_high",
    "documents_coded", "document_share", "document_share_ci_low", "document_share_ci_high",
    "evidence_matches",
    "units_coded_per_1000_words", "units_coded_per_1000_words_ci_low", "units_coded_per_1000_words_ci_high",
]


def _level_items(ctx: _Context):
    """(level, item ids, variable of each, label of each, unit matrix, evidence matrix)."""
    yield ("variable", list(ctx.variables), list(ctx.variables),
           [v["label"] for v in ctx.variables.values()], ctx.var_matrix, ctx.var_evidence)
    yield ("code", list(ctx.codes), [c["variable"] for c in ctx.codes.values()],
           [c["label"] for c in ctx.codes.values()], ctx.code_matrix, ctx.code_evidence)


def _frequency_table(ctx: _Context, groups: list[tuple[dict, np.ndarray]], group_cols: list[str]) -> pd.DataFrame:
    """Long frequency table: one row per level x group x item.

    ``groups`` lists (group column values, positions of the units in the group).
    """
    doc_codes = ctx.units["_doc"].to_numpy()
    words = ctx.units["words"].to_numpy()
    rows = []
    for level, ids, variables, labels, matrix, evidence in _level_items(ctx):
        for values, pos in groups:
            sub = matrix[pos]
            docs = doc_codes[pos]
            if len(ids) and len(pos):
                units_coded = sub.sum(axis=0)
                # one document (the per-document table): coded there when any unit is; no group-by per group
                docs_coded = (units_coded > 0).astype(np.int64) if docs.min() == docs.max() else \
                    pd.DataFrame(sub).groupby(docs).any().sum(axis=0).to_numpy()
                ev = evidence[pos].sum(axis=0)
            else:
                units_coded = docs_coded = ev = np.zeros(len(ids), dtype=np.int64)
            base = {"units_total": len(pos), "words_total": int(words[pos].sum()),
                    "documents_total": len(np.unique(docs))}
            for j, item in enumerate(ids):
                rows.append({"level": level, "variable": variables[j],
                             "code": item if level == "code" else "", "label": labels[j],
                             **values, **base, "units_coded": int(units_coded[j]),
                             "documents_coded": int(docs_coded[j]), "evidence_matches": int(ev[j])})
    columns = ["level", "variable", "code", "label", *group_cols] + FREQ_VALUE_COLUMNS
    if not rows:
        return _typed_empty(columns, group_cols)
    df = pd.DataFrame(rows)
    df["unit_share"] = _ratio(df["units_coded"], df["units_total"])
    df["unit_share_ci_low"], df["unit_share_ci_high"] = wilson_interval(df["units_coded"], df["units_total"])
    df["document_share"] = _ratio(df["documents_coded"], df["documents_total"])
    df["document_share_ci_low"], df["document_share_ci_high"] = wilson_interval(df["documents_coded"],
                                                                                df["documents_total"])
    df["units_coded_per_1000_words"] = _ratio(df["units_coded"] * 1000, df["words_total"])
    lo, hi = poisson_interval(df["units_coded"], df["words_total"], scale=1000)
    df["units_coded_per_1000_words_ci_low"], df["units_coded_per_1000_words_ci_high"] = lo, hi
    return df[columns]


def _typed_empty(columns: list[str], group_cols: list[str] = ()) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def frequency_tables(ctx: _Context) -> dict[str, pd.DataFrame]:
    """Overall frequencies and the breakdowns by document, doc_type and both years."""
    units = ctx.units
    all_pos = np.arange(len(units))
    out = {"frequencies": _frequency_table(ctx, [({}, all_pos)], [])}

    groups = []
    # one pass over the units (a group-by), not a comparison of every unit with every document
    by_doc = pd.Series(all_pos).groupby(units["_doc"].to_numpy()).indices
    empty = np.zeros(0, dtype=np.int64)
    docs = ctx.documents
    for i, (doc_id, title, doc_type, year) in enumerate(zip(docs["id"], docs["title"], docs["doc_type"],
                                                            docs["year"])):
        groups.append(({"document_id": doc_id, "title": title, "doc_type": doc_type,
                        "document_year": year}, by_doc.get(i, empty)))
    out["frequencies_by_document"] = _frequency_table(
        ctx, groups, ["document_id", "title", "doc_type", "document_year"])

    doc_types = units["doc_type"].to_numpy()
    groups = [({"doc_type": t}, np.flatnonzero(doc_types == t))
              for t in sorted(set(ctx.documents["doc_type"]))]
    out["frequencies_by_doc_type"] = _frequency_table(ctx, groups, ["doc_type"])

    years = units["document_year"]
    groups = [({"document_year": int(y)}, np.flatnonzero((years == y).fillna(False).to_numpy()))
              for y in sorted(set(years.dropna().astype(int)))]
    if years.isna().any():
        groups.append(({"document_year": pd.NA}, np.flatnonzero(years.isna().to_numpy())))
    out["frequencies_by_document_year"] = _frequency_table(ctx, groups, ["document_year"])

    first, last = _referenced_years(ctx)
    referenced: dict[int, list[int]] = {}
    for pos, text in enumerate(units["text"]):
        for year in years_mentioned(text, first, last):
            referenced.setdefault(year, []).append(pos)
    groups = [({"referenced_year": y}, np.asarray(referenced[y], dtype=np.int64)) for y in sorted(referenced)]
    out["frequencies_by_referenced_year"] = _frequency_table(ctx, groups, ["referenced_year"])

    for name in ("frequencies_by_document", "frequencies_by_document_year"):
        out[name]["document_year"] = out[name]["document_year"].astype("Int64")
    out["frequencies_by_referenced_year"]["referenced_year"] = \
        out["frequencies_by_referenced_year"]["referenced_year"].astype("Int64")
    return out


# --------------------------------------------------------------------------- co-occurrence

PAIR_COLUMNS = [
    "level", "context", "item_a", "item_b", "label_a", "label_b", "variable_a", "variable_b",
    "n_a", "n_b", "n_ab", "n_total", "units_ab",
    "expected", "lift", "jaccard", "ochiai", "p_b_given_a", "p_a_given_b",
    "phi", "fisher_p", "frequency_ratio", "jaccard_misleading",
]


def _context_matrices(ctx: _Context):
    """(level, context, ids, variables, labels, presence matrix, unit-level matrix)."""
    doc_codes = ctx.units["_doc"].to_numpy()
    for level, ids, variables, labels, matrix, _ in _level_items(ctx):
        yield level, "unit", ids, variables, labels, matrix.astype(np.int64), matrix
        if len(ctx.documents):
            per_doc = pd.DataFrame(matrix).groupby(doc_codes).any().reindex(
                range(len(ctx.documents)), fill_value=False).to_numpy()
        else:
            per_doc = np.zeros((0, len(ids)), dtype=bool)
        per_doc = per_doc.astype(np.int64).reshape(len(ctx.documents) if not len(ids) else -1, len(ids))
        yield level, "document", ids, variables, labels, per_doc, matrix


def cooccurrence_tables(ctx: _Context, min_pair_count: int = 1) -> dict[str, pd.DataFrame]:
    """Square co-occurrence matrices (diagonal = frequency) and the long pair list.

    Pairs with ``n_ab >= min_pair_count`` are listed (all pairs when it is 0),
    sorted by level, context, then strength: Jaccard descending, ``n_ab``
    descending, then item ids. ``units_ab`` is the number of units in which
    both occur, also for document-level rows.
    """
    out: dict[str, pd.DataFrame] = {}
    rows = []
    names = {("code", "unit"): "cooc_codes_units", ("code", "document"): "cooc_codes_documents",
             ("variable", "unit"): "cooc_variables_units", ("variable", "document"): "cooc_variables_documents"}
    for level, context, ids, variables, labels, presence, unit_matrix in _context_matrices(ctx):
        counts = presence.T @ presence
        unit_counts = unit_matrix.astype(np.int64).T @ unit_matrix.astype(np.int64)
        n_total = presence.shape[0]
        square = pd.DataFrame(counts, columns=ids)
        square.insert(0, level, ids)
        out[names[(level, context)]] = square
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                n_ab = int(counts[i, j])
                if n_ab < min_pair_count:
                    continue
                n_a, n_b = int(counts[i, i]), int(counts[j, j])
                st = pair_statistics(n_a, n_b, n_ab, n_total)
                rows.append({"level": level, "context": context, "item_a": ids[i], "item_b": ids[j],
                             "label_a": labels[i], "label_b": labels[j],
                             "variable_a": variables[i], "variable_b": variables[j],
                             "n_a": n_a, "n_b": n_b, "n_ab": n_ab, "n_total": n_total,
                             "units_ab": int(unit_counts[i, j]), **st,
                             "jaccard_misleading": bool(st["frequency_ratio"] > JACCARD_RATIO_WARNING)})
    if rows:
        pairs = pd.DataFrame(rows)[PAIR_COLUMNS]
        pairs["_level"] = pairs["level"].map({"code": 0, "variable": 1})
        pairs["_context"] = pairs["context"].map({"unit": 0, "document": 1})
        pairs["_j"] = pairs["jaccard"].fillna(-1.0)
        pairs = pairs.sort_values(["_level", "_context", "_j", "n_ab", "item_a", "item_b"],
                                  ascending=[True, True, False, False, True, True], kind="mergesort")
        pairs = pairs[PAIR_COLUMNS].reset_index(drop=True)
    else:
        pairs = _typed_empty(PAIR_COLUMNS)
    out["cooccurrence_pairs"] = pairs
    return {k: out[k] for k in ("cooccurrence_pairs", "cooc_codes_units", "cooc_codes_documents",
                                "cooc_variables_units", "cooc_variables_documents")}


# --------------------------------------------------------------------------- matrices

def code_by_document(ctx: _Context) -> pd.DataFrame:
    """Units coded per code (rows) and document (columns, in document order)."""
    doc_ids = list(ctx.documents["id"])
    doc_codes = ctx.units["_doc"].to_numpy()
    counts = np.zeros((len(doc_ids), len(ctx.codes)), dtype=np.int64)
    # one pass over the units, not one mask of every unit per document
    np.add.at(counts, doc_codes.astype(np.int64), ctx.code_matrix.astype(np.int64))
    counts = counts.T
    df = pd.DataFrame(counts, columns=doc_ids)
    df.insert(0, "label", [c["label"] for c in ctx.codes.values()])
    df.insert(0, "variable", [c["variable"] for c in ctx.codes.values()])
    df.insert(0, "code", list(ctx.codes))
    df["total"] = counts.sum(axis=1)
    return df


def unit_by_code(ctx: _Context) -> pd.DataFrame:
    """Binary unit-by-code matrix: one row per unit, 0/1 columns ``code_<id>``, ``variable_<id>``."""
    u = ctx.units
    meta = ctx.documents.set_index("id")
    df = pd.DataFrame({
        "unit_id": u["unit_id"], "document_id": u["document_id"], "ordinal": u["ordinal"],
        "unit_type": u["unit_type"], "doc_type": u["doc_type"],
        "document_date": u["document_id"].map(meta["date"]) if len(u) else pd.Series(dtype=object),
        "document_year": u["document_year"], "speaker": u["speaker"], "words": u["words"],
    })
    for j, code in enumerate(ctx.codes):
        df[f"code_{code}"] = ctx.code_matrix[:, j].astype(np.int64)
    for j, var in enumerate(ctx.variables):
        df[f"variable_{var}"] = ctx.var_matrix[:, j].astype(np.int64)
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------- quotations

KWIC_COLUMNS = ["code", "variable", "document_id", "unit_id", "start", "end", "left", "term", "right", "pattern"]
EXEMPLAR_COLUMNS = ["code", "code_label", "variable", "rank", "unit_id", "document_id", "title", "doc_type",
                    "date", "citation", "distinct_terms", "terms", "words", "text"]

_WS = re.compile(r"\s+")


def _collapse(text: str) -> str:
    return _WS.sub(" ", text)


def _left_context(text: str, width: int) -> str:
    """About ``width`` characters before the end of ``text``, starting at a
    word (never inside one), white space collapsed; "…" marks a cut."""
    start = max(0, len(text) - 3 * width)
    piece = _collapse(text[start:])
    cut = start > 0
    at_word = not cut or text[start - 1].isspace()
    if len(piece) > width:
        cut, at_word = True, piece[-width - 1] == " "
        piece = piece[-width:]
    if not at_word and " " in piece:
        piece = piece[piece.index(" "):]  # drop the partial first word
    piece = piece.lstrip()
    return "\u2026" + piece if cut else piece


def _right_context(text: str, width: int) -> str:
    """About ``width`` characters from the start of ``text``, ending at the
    end of a word, white space collapsed; "…" marks a cut."""
    end = min(len(text), 3 * width)
    piece = _collapse(text[:end])
    cut = end < len(text)
    at_word = not cut or text[end].isspace()
    if len(piece) > width:
        cut, at_word = True, piece[width] == " "
        piece = piece[:width]
    if not at_word and " " in piece.strip():
        piece = piece[:piece.rstrip().rindex(" ")]  # drop the partial last word
    piece = piece.rstrip()
    return piece + "\u2026" if cut else piece


def keyword_in_context(ctx: _Context, width: int = KWIC_CONTEXT) -> pd.DataFrame:
    """One row per evidence match, with about ``width`` characters of context each side.

    Context is taken from the unit's text (offsets are converted from document
    to unit offsets) with whitespace collapsed, and cut between words, never
    inside one ("…" marks a cut).
    """
    code_order = {c: i for i, c in enumerate(ctx.codes)}
    texts = ctx.units["text"].to_numpy()
    starts = ctx.units["start"].to_numpy()
    rows = []
    for pos, code, var, unit_id, doc_id, evidence in zip(
            ctx.codings["_pos"], ctx.codings["code"], ctx.codings["variable"], ctx.codings["unit_id"],
            ctx.codings["document_id"], ctx.codings["_evidence"]):
        if code not in code_order:  # a coding of the variable alone has no evidence to show
            continue
        text = texts[pos]
        for ev in evidence:
            s, e = int(ev.get("start", 0)), int(ev.get("end", 0))
            ls, le = max(0, s - starts[pos]), max(0, e - starts[pos])
            # a tuple per match, not a dict: a large corpus has millions of matches
            rows.append((code, var, doc_id, unit_id, s, e, _left_context(text[:ls], width),
                         str(ev.get("term", "")), _right_context(text[le:], width),
                         str(ev.get("pattern", "")), code_order[code], pos))
    if not rows:
        return _typed_empty(KWIC_COLUMNS)
    df = pd.DataFrame.from_records(rows, columns=KWIC_COLUMNS + ["_c", "_p"])
    del rows
    df = df.sort_values(["_c", "_p", "start", "end", "term", "pattern"], kind="mergesort")
    return df[KWIC_COLUMNS].reset_index(drop=True)


def exemplar_quotations(ctx: _Context, n: int = 3) -> pd.DataFrame:
    """Per code, the ``n`` units with the most distinct evidence terms.

    Terms are compared case-insensitively; ties go to the shorter unit (in
    characters), then to the smaller unit id. ``citation`` is the document's
    source, or its title when no source is recorded.
    """
    u = ctx.units
    meta = ctx.documents.set_index("id")
    rows = []
    for code, info in ctx.codes.items():
        sub = ctx.codings[ctx.codings["code"] == code]
        terms: dict[int, set[str]] = {}
        for pos, evidence in zip(sub["_pos"], sub["_evidence"]):
            terms.setdefault(pos, set()).update(str(e.get("term", "")).lower() for e in evidence)
        ranked = sorted(terms, key=lambda p: (-len(terms[p]), len(u.at[p, "text"]), u.at[p, "unit_id"]))
        for rank, pos in enumerate(ranked[:n], start=1):
            doc = meta.loc[u.at[pos, "document_id"]]
            rows.append({"code": code, "code_label": info["label"], "variable": info["variable"],
                         "rank": rank, "unit_id": u.at[pos, "unit_id"], "document_id": u.at[pos, "document_id"],
                         "title": doc["title"], "doc_type": doc["doc_type"], "date": doc["date"],
                         "citation": doc["source"] or doc["title"], "distinct_terms": len(terms[pos]),
                         "terms": "; ".join(sorted(terms[pos])), "words": int(u.at[pos, "words"]),
                         "text": u.at[pos, "text"].strip()})
    return pd.DataFrame(rows)[EXEMPLAR_COLUMNS] if rows else _typed_empty(EXEMPLAR_COLUMNS)


# --------------------------------------------------------------------------- summaries

def corpus_by_doc_type(ctx: _Context) -> pd.DataFrame:
    """Documents, units, words and coded units per doc_type."""
    u = ctx.units
    coded = ctx.code_matrix.any(axis=1) if len(ctx.codes) else np.zeros(len(u), dtype=bool)
    rows = []
    for t in sorted(set(ctx.documents["doc_type"])):
        mask = (u["doc_type"] == t).to_numpy()
        rows.append({"doc_type": t, "documents": int((ctx.documents["doc_type"] == t).sum()),
                     "units": int(mask.sum()), "words": int(u["words"].to_numpy()[mask].sum()),
                     "coded_units": int(coded[mask].sum())})
    cols = ["doc_type", "documents", "units", "words", "coded_units"]
    return pd.DataFrame(rows, columns=cols) if rows else _typed_empty(cols)


def codebook_table(ctx: _Context) -> pd.DataFrame:
    """Variables and their codes with labels and definitions, in codebook order."""
    rows = []
    for var, vinfo in ctx.variables.items():
        rows.append({"level": "variable", "variable": var, "code": "", "label": vinfo["label"],
                     "definition": vinfo["definition"]})
        for code, cinfo in ctx.all_codes.items():
            if cinfo["variable"] == var:
                rows.append({"level": "code", "variable": var, "code": code, "label": cinfo["label"],
                             "definition": cinfo["definition"]})
    cols = ["level", "variable", "code", "label", "definition"]
    return pd.DataFrame(rows, columns=cols) if rows else _typed_empty(cols)


# --------------------------------------------------------------------------- entry point

#: table name -> one-line description (used for the README sheet and the HTML report)
TABLE_DESCRIPTIONS = {
    "frequencies": "Units coded, share of all units and documents, per code and variable, with 95% intervals "
                   "(Wilson for shares; exact Poisson on the count of coded units for the rate per 1,000 words).",
    "frequencies_by_document": "The same measures within each document.",
    "frequencies_by_doc_type": "The same measures within each doc_type.",
    "frequencies_by_document_year": "The same measures by document_year: the year of the document's own date.",
    "frequencies_by_referenced_year": "The same measures by referenced_year: years (within the codebook's "
                                      "referenced_years) mentioned in a "
                                      "unit's text; a unit counts once under each distinct year it mentions.",
    "cooccurrence_pairs": "Pairs of codes/variables co-occurring within units or documents, by strength. "
                          "jaccard = n_ab/(n_a+n_b-n_ab) is ATLAS.ti's c-coefficient; it misleads when the two "
                          "frequencies differ more than five-fold (jaccard_misleading): use ochiai and the "
                          "conditional shares there. expected = n_a*n_b/n_total, lift = n_ab/expected; phi with "
                          "a two-sided Fisher exact p-value.",
    "cooc_codes_units": "Code x code matrix: units coded with both (diagonal: units coded).",
    "cooc_codes_documents": "Code x code matrix: documents containing both (diagonal: documents).",
    "cooc_variables_units": "Variable x variable matrix: units coded with both (diagonal: units coded).",
    "cooc_variables_documents": "Variable x variable matrix: documents containing both (diagonal: documents).",
    "code_by_document": "Units coded per code and document.",
    "unit_by_code": "One row per unit, 0/1 per code (code_<id>) and variable (variable_<id>), with document metadata.",
    "kwic": "Keyword in context: every evidence match with about 60 characters either side.",
    "exemplars": "Exemplar quotations: per code, the units with the most distinct evidence terms.",
    "corpus_by_doc_type": "Documents, units, words and coded units per doc_type.",
    "codebook": "Variables and codes with their definitions.",
}


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    """Round floats so that output does not depend on float noise: four
    decimal places, but p-values to four significant digits (a small
    p-value must not print as 0)."""
    df = df.copy()
    for col in df.columns:
        if pd.api.types.is_float_dtype(df[col]):
            if col.endswith("_p"):
                df[col] = df[col].map(lambda v: v if pd.isna(v) else float(f"{v:.4g}"))
            else:
                df[col] = df[col].round(4)
    return df.reset_index(drop=True)


def compute_tables(data: ReportData, *, exemplars: int = 3, min_pair_count: int = 1,
                   kwic_width: int = KWIC_CONTEXT) -> dict[str, pd.DataFrame]:
    """Compute every report table from ``data`` (pure; nothing is written).

    Returns the tables named in :data:`TABLE_DESCRIPTIONS`, in that order.
    """
    ctx = _Context(data)
    # the HTML report and the pages reuse it (see context_of) instead of building it again
    object.__setattr__(data, "_context", ctx)
    tables: dict[str, pd.DataFrame] = {}
    tables.update(frequency_tables(ctx))
    tables.update(cooccurrence_tables(ctx, min_pair_count=min_pair_count))
    tables["code_by_document"] = code_by_document(ctx)
    tables["unit_by_code"] = unit_by_code(ctx)
    tables["kwic"] = keyword_in_context(ctx, width=kwic_width)
    tables["exemplars"] = exemplar_quotations(ctx, n=exemplars)
    tables["corpus_by_doc_type"] = corpus_by_doc_type(ctx)
    tables["codebook"] = codebook_table(ctx)
    return {name: _finish(tables[name]) for name in TABLE_DESCRIPTIONS}


# --------------------------------------------------------------------------- writing

#: fixed workbook timestamps so that the workbook does not record when it was written
WORKBOOK_DATE = datetime.datetime(2000, 1, 1)


_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


#: Excel's limits per sheet (the header takes one row)
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLUMNS = 16_384
#: tables that grow with the units (or documents) of the corpus: CSV only, never in the workbook,
#: whose cell-by-cell writing would cost minutes and gigabytes on a large corpus
CSV_ONLY_TABLES = ("frequencies_by_document", "unit_by_code", "kwic")


def workbook_sheets(tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Table name -> why it is left to its CSV ("" when it goes in the workbook).

    Per-unit tables are CSV only; any other table larger than a sheet can
    hold (:data:`XLSX_MAX_ROWS` rows with the header, :data:`XLSX_MAX_COLUMNS`
    columns) is left out too, so that the workbook always opens in Excel.
    """
    reasons = {}
    for name, df in tables.items():
        if name in CSV_ONLY_TABLES:
            reasons[name] = "CSV only: one row per unit or document (too large for a workbook on a big corpus)"
        elif len(df) + 1 > XLSX_MAX_ROWS:
            reasons[name] = f"CSV only: {len(df):,} rows, more than an Excel sheet holds"
        elif len(df.columns) > XLSX_MAX_COLUMNS:
            reasons[name] = f"CSV only: {len(df.columns):,} columns, more than an Excel sheet holds"
        else:
            reasons[name] = ""
    return reasons


def write_tables(tables: dict[str, pd.DataFrame], out_dir, outputs=None) -> dict[str, Path]:
    """Write ``<out_dir>/tables/<name>.csv`` for each table and ``<out_dir>/tables.xlsx``.

    The workbook holds a README sheet describing each table (and saying
    which are in their CSV only, see :func:`workbook_sheets`), then one
    sheet per table it holds (sheet names are the table names, at most 31
    characters).
    """
    from .output import Outputs

    outputs = outputs if outputs is not None else Outputs()
    out = Path(out_dir)
    paths: dict[str, Path] = {}
    for name, df in tables.items():
        paths[f"tables/{name}"] = outputs.write(out / "tables" / f"{name}.csv", frame_csv_bytes(df))
    left_out = workbook_sheets(tables)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        readme = pd.DataFrame({"sheet": [n if not left_out[n] else "" for n in tables], "table": list(tables),
                               "description": [TABLE_DESCRIPTIONS.get(n, "") for n in tables],
                               "csv": [f"tables/{n}.csv" for n in tables],
                               "in_workbook": [left_out[n] or "yes" for n in tables]})
        readme.to_excel(writer, sheet_name="README", index=False)
        for name, df in tables.items():
            if left_out[name]:
                continue
            # Excel has no NA for integers and rejects some objects: write plain values
            plain = df.astype(object).where(df.notna(), None)
            # XML forbids most control characters (form feeds from PDFs): a space in the workbook
            plain = plain.map(lambda v: _XLSX_ILLEGAL.sub(" ", v) if isinstance(v, str) else v)
            plain.to_excel(writer, sheet_name=name[:31], index=False)
        for sheet in writer.book.worksheets:
            _format_sheet(sheet)
        writer.book.properties.created = WORKBOOK_DATE
        writer.book.properties.modified = WORKBOOK_DATE
        writer.book.properties.creator = "coding"
    paths["tables.xlsx"] = outputs.write(out / "tables.xlsx", _normalise_xlsx(buf.getvalue()))
    return paths


#: widest column of the workbook, in characters (longer text wraps in Excel's cell editor)
XLSX_MAX_WIDTH = 60


def _format_sheet(sheet) -> None:
    """Make a sheet easy to read: a bold header row that stays in view, a
    filter on every column and columns as wide as their content."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    if sheet.max_row < 1 or sheet.max_column < 1:
        return
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for idx, column in enumerate(sheet.iter_cols(values_only=True), start=1):
        longest = max((len(str(v)) for v in column if v is not None), default=0)
        # room for the filter button beside the header
        width = min(XLSX_MAX_WIDTH, max(longest, len(str(column[0] or "")) + 3) + 2)
        sheet.column_dimensions[get_column_letter(idx)].width = width


def _normalise_xlsx(payload: bytes) -> bytes:
    """Pin the save time openpyxl records (core properties and zip entry dates)."""
    stamp = WORKBOOK_DATE.strftime("%Y-%m-%dT%H:%M:%SZ")
    src = zipfile.ZipFile(io.BytesIO(payload))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + stamp.encode() + rb"\g<2>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=WORKBOOK_DATE.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, data)
    return buf.getvalue()
