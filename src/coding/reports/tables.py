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
``unit_share_cl_low`` / ``unit_share_cl_high``
    the document-clustered 95% interval of the share: documents resampled
    with replacement, all of a document's units together (see
    :mod:`coding.reports.design`); blank where withheld (a group in fewer
    than two documents, or every resample giving the same share).
``*_ci_low`` / ``*_ci_high``
    95% intervals that take units as independent. Shares use the Wilson score interval; the rate
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
    the phi coefficient of the 2x2 table and the two-sided Fisher exact test
    (units taken as independent).
``expected_within`` / ``p_within``
    (unit pairs) the units with both that the documents' own shares of each
    would give, and the Cochran-Mantel-Haenszel p-value with documents as
    strata: whether two items go together in units beyond what their
    documents explain (see :mod:`coding.reports.design`).
"""

from __future__ import annotations

import datetime
import io
import math
import re
import zipfile
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse, stats

from . import comparisons, design
from .output import LongTable, frame_pieces, piece_bounds, write_csv_pieces
from .quotes import KWIC_CONTEXT, parse_evidence, scan_quotations
from .source import FrameSource

#: a four-digit number standing alone; years outside the codebook's referenced_years are dropped
YEAR_RE = re.compile(r"\b(\d{4})\b")
#: two-sided 95% normal quantile
Z95 = 1.959963984540054
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
    #: the units the reported coder saw (``Store.coverage``): their ids, or an
    #: array of their ``unit_row`` when the frames carry that key (see
    #: ``coding.reports.project.report_data``); None: every unit.
    #: Shares, intervals and rates are taken over these units only.
    seen: Any = None
    #: the filters applied (see :func:`filter_data`), for the report to state them
    filters: dict = field(default_factory=dict)
    #: document attributes beyond the known ones (a manifest's extra columns): ``document_id`` and one
    #: column each, crossed with the codes in the crosstabs; None: none
    attributes: Any = None
    #: where unit texts and evidence are read, one document at a time
    #: (:mod:`coding.reports.source`); None: the ``text`` and ``evidence``
    #: columns of ``units`` and ``codings``
    source: Any = None


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
        # a speaker to leave out that speaks nowhere is a typing error, not a filter that removes nothing
        unknown = [s for s in skip_speakers if s.casefold() not in set(who)]
        if unknown:
            from coding.errors import CodingError

            raise CodingError(f"--skip-speaker '{unknown[0]}' matches no unit's speaker; nothing was written")
        units = units[~who.isin({s.casefold() for s in skip_speakers})].reset_index(drop=True)
    if _keyed_by_row(units, data.codings):  # frames read lean from the store: keyed by unit_row
        codings = data.codings[data.codings["unit_row"].isin(units["unit_row"])].reset_index(drop=True)
    else:
        codings = _frame(data.codings, CODING_COLUMNS)
        codings = codings[codings["unit_id"].isin(set(units["unit_id"]))].reset_index(drop=True)
    given = {"doc_types": sorted(doc_types) if doc_types is not None else None,
             "year_from": year_from, "year_to": year_to,
             "speakers": sorted(speakers) if speakers else None,
             "skip_speakers": sorted(skip_speakers) if skip_speakers else None}
    filters = {**data.filters, **{k: v for k, v in given.items() if v is not None}}
    return replace(data, documents=docs, units=units, codings=codings, filters=filters)


def _positions_in(labels: pd.Series, index: pd.Index) -> np.ndarray:
    """The position of each label in ``index`` (int64; -1 for none). A
    categorical is looked up once per category, then by its codes (a code of
    -1, missing, has no position)."""
    if isinstance(labels.dtype, pd.CategoricalDtype):
        per_category = np.append(index.get_indexer(labels.cat.categories), -1).astype(np.int64)
        return per_category[labels.cat.codes.to_numpy()]
    return index.get_indexer(labels).astype(np.int64, copy=False)


def _labels_filled(column: pd.Series) -> pd.Series:
    """A label column with "" for missing values, as strings, or as a categorical when it is one."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        if "" not in column.cat.categories:
            column = column.cat.add_categories([""])
        return column.fillna("")
    return column.fillna("").astype(str)


def _item_index(column: pd.Series, items: list[str]) -> np.ndarray:
    """The position of each row's label in ``items`` (NaN: not one of them), as floats."""
    lookup = {c: i for i, c in enumerate(items)}
    if isinstance(column.dtype, pd.CategoricalDtype):  # one lookup per category, then the codes
        per_category = np.array([lookup.get(c, np.nan) for c in column.cat.categories] + [np.nan], dtype=float)
        return per_category[column.cat.codes.to_numpy()]  # code -1 (missing) takes the last entry
    return column.map(lookup).to_numpy(dtype=float)


def _keyed_by_row(units: pd.DataFrame | None, codings: pd.DataFrame | None) -> bool:
    """Whether codings name their units by ``unit_row`` (see Store.report_units), not by id."""
    return units is not None and codings is not None and "unit_row" in units and "unit_row" in codings


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
    """Normalised inputs shared by the table builders (built once).

    The units and codings are held without their texts and evidence: the
    words and referenced years of the units come from one pass over the
    report's text source, one document at a time."""

    def __init__(self, data: ReportData):
        self.codebook = data.codebook
        self.coder = data.coder
        #: the coders whose codings are reported (None: every coder)
        self.coders = None if data.coder is None else [data.coder]
        docs = _frame(data.documents, DOCUMENT_COLUMNS)
        docs["year"] = pd.to_numeric(docs["year"], errors="coerce").astype("Int64")
        for col in ("title", "doc_type", "date", "source", "path", "speaker"):
            docs[col] = docs[col].fillna("").astype(str)
        docs["id"] = docs["id"].astype(str)
        self.documents = docs
        self.doc_order = {d: i for i, d in enumerate(docs["id"])}
        units = data.units if data.units is not None else _frame(None, UNIT_COLUMNS)
        codings = data.codings if data.codings is not None else _frame(None, CODING_COLUMNS)
        self.source = data.source if data.source is not None else \
            FrameSource(_frame(units, UNIT_COLUMNS), _frame(codings, CODING_COLUMNS))
        self.attributes = data.attributes
        self.attribute_names = [c for c in data.attributes.columns if c != "document_id"] \
            if data.attributes is not None else []
        self._units(units, data.seen)
        self._codings(codings)
        self._items(data.codebook)
        self._matrices()
        self._read_texts()

    def _units(self, units: pd.DataFrame, seen) -> None:
        """The units of the report (those the coder saw), in document and unit order.
        One copy of the frame at most: on a large corpus each copy costs hundreds of MB."""
        keep = units["document_id"].isin(self.doc_order).to_numpy().copy()
        if seen is not None:
            # a coder who saw part of the corpus: every share is over what it saw
            keep &= units["unit_row" if isinstance(seen, np.ndarray) else "unit_id"].isin(seen).to_numpy()
            self.documents = self.documents[self.documents["id"].isin(set(units.loc[keep, "document_id"]))]
            self.documents = self.documents.reset_index(drop=True)
            self.doc_order = {d: i for i, d in enumerate(self.documents["id"])}
        keep = self._prose(units, keep)
        columns = [c for c in units.columns if c != "text"]
        units = (units.loc[keep, columns] if not keep.all() else units[columns]).reset_index(drop=True)
        for col in (c for c in UNIT_COLUMNS if c not in units.columns and c != "text"):
            units[col] = pd.Series(np.nan if col == "words" else None, index=units.index,
                                   dtype=np.float64 if col == "words" else object)
        for col in ("ordinal", "start", "end"):
            if units[col].dtype != np.int64:  # the store's are: no copy of a column of every unit
                units[col] = pd.to_numeric(units[col], errors="coerce").fillna(0).astype("int64")
        units["_doc"] = _positions_in(units["document_id"], pd.Index(self.documents["id"]))
        ordinal = units["ordinal"].to_numpy()
        key = units["_doc"].to_numpy() * (int(ordinal.max(initial=0)) + 1) + ordinal
        if not (np.diff(key) > 0).all():
            # not already in document and unit order (the store gives that order; frames built by hand may not)
            units = units.sort_values(["_doc", "ordinal", "unit_id"], kind="mergesort").reset_index(drop=True)
        doc = units["_doc"].to_numpy()
        docs = self.documents
        # per-unit labels as categoricals: a byte per unit where a string costs tens
        units["doc_type"] = _per_unit(docs["doc_type"], doc, units.index)
        # a unit's speaker: its turn's label (see coding.segment.unit_speakers), else the document's
        units["speaker"] = _per_unit(docs["speaker"], doc, units.index, own=units["speaker"])
        units["document_year"] = docs["year"].array.take(doc) if len(doc) else pd.array([], dtype="Int64")
        self.units = units
        # the units of document i are rows doc_bounds[i]:doc_bounds[i + 1] (units are sorted by document)
        self.doc_bounds = np.searchsorted(units["_doc"].to_numpy(), np.arange(len(self.documents) + 1))

    def _prose(self, units: pd.DataFrame, keep: np.ndarray) -> np.ndarray:
        """``keep`` less the units that are not prose (headings), unless the
        codebook's ``settings.include_unit_types`` counts them; the units left
        out are kept aside (``self.left_out``: their key column and type) to
        be reported apart."""
        from coding.segment import NON_PROSE_TYPES

        settings = getattr(self.codebook, "settings", None)
        self.included_types = tuple(getattr(settings, "include_unit_types", ()) or ())
        self.type_counts = _type_counts(units["unit_type"], keep)
        apart = [t for t in NON_PROSE_TYPES if t not in self.included_types]
        out = keep & ~units["unit_type"].isin(apart).to_numpy() if apart else keep
        key = "unit_row" if "unit_row" in units else "unit_id"
        self.left_out = pd.DataFrame({"key": units.loc[keep & ~out, key].to_numpy(),
                                      "unit_type": units.loc[keep & ~out, "unit_type"].astype(str).to_numpy()})
        self.left_out_key = key
        return out

    def positions(self, doc_id: str, unit_ids: list[str]) -> list[int]:
        """Positions of a document's units in the report's unit order (-1: not in the report).
        A lookup within the document's rows: a per-call lookup in the index of every unit costs
        milliseconds, thousands of times on a large corpus."""
        i = self.doc_order.get(doc_id)
        if i is None:
            return [-1] * len(unit_ids)
        lo, hi = int(self.doc_bounds[i]), int(self.doc_bounds[i + 1])
        local = {u: lo + k for k, u in enumerate(self.units["unit_id"].iloc[lo:hi].tolist())}
        return [local.get(u, -1) for u in unit_ids]

    def _codings(self, codings: pd.DataFrame) -> None:
        """The reported coder's codings of the report's units, with their unit's position."""
        if self.coder is not None and len(codings):
            mine = (codings["coder"] == self.coder).to_numpy()
            codings = codings if mine.all() else codings[mine]  # read for this coder alone: no copy
        self.left_out_coded = _left_out_coded(codings, self.left_out, self.left_out_key)
        columns = ["code", "variable", "coder", "codebook_version"]
        out = pd.DataFrame({c: codings[c] if c in codings else pd.Series(dtype="object") for c in columns})
        out["n_evidence"] = codings["n_evidence"] if "n_evidence" in codings else \
            [len(parse_evidence(v)) for v in (codings["evidence"] if "evidence" in codings else [])]
        pos = self._unit_positions(codings)
        if not (pos >= 0).all():  # else no copy: millions of codings on a large corpus
            out = out[pos >= 0].reset_index(drop=True)
            pos = pos[pos >= 0]
        out["_pos"] = pos.astype(np.int64, copy=False)
        for col in ("code", "variable"):
            # categoricals stay so (a code per row; strings would cost GBs on a large corpus)
            out[col] = _labels_filled(out[col])
        out["n_evidence"] = out["n_evidence"].fillna(0).astype(np.int64)
        self.codings = out

    def _unit_positions(self, codings: pd.DataFrame) -> np.ndarray:
        """Position of each coding's unit in the report's unit order (-1: not in the report)."""
        if not len(codings):
            return np.zeros(0, dtype=np.int64)
        if _keyed_by_row(self.units, codings):  # integer keys: no index of every unit id string
            rows = self.units["unit_row"].to_numpy(dtype=np.int64)
            order = np.argsort(rows, kind="stable")
            keys = codings["unit_row"].to_numpy(dtype=np.int64)
            at = np.minimum(np.searchsorted(rows[order], keys), max(len(rows) - 1, 0))
            found = (rows[order][at] == keys) if len(rows) else np.zeros(len(keys), dtype=bool)
            return np.where(found, order[at] if len(rows) else -1, -1)
        return pd.Index(self.units["unit_id"]).get_indexer(codings["unit_id"])

    def _matrices(self) -> None:
        """Unit x code and unit x variable presence and evidence counts."""
        n = len(self.units)
        pos = self.codings["_pos"].to_numpy()
        evidence = self.codings["n_evidence"].to_numpy()
        for name, items, column in (("code", self.codes, "code"), ("var", self.variables, "variable")):
            index = _item_index(self.codings[column], list(items))
            known = ~np.isnan(index)  # an empty code is a coding of the variable alone, not a code
            # 32-bit positions and counts: the transient arrays of millions of codings at half the size
            rows, cols = pos[known].astype(np.int32), index[known].astype(np.int32)
            del index
            presence = np.zeros((n, len(items)), dtype=bool)
            presence[rows, cols] = True
            # sparse: only the coded cells hold evidence (a dense count per unit and item costs 4 bytes a cell)
            counts = sparse.csr_matrix((evidence[known].astype(np.int32), (rows, cols)), shape=(n, len(items)))
            del rows, cols
            setattr(self, f"{name}_matrix", presence)
            setattr(self, f"{name}_evidence", counts)

    def _read_texts(self) -> None:
        """One pass over the units' texts: words (where not given) and the
        years each unit mentions (positions of the units per referenced year)."""
        first, last = _referenced_years(self)
        words = pd.to_numeric(self.units["words"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan).copy()
        missing = np.isnan(words)
        # (year, unit position) pairs in typed arrays: a large corpus mentions years millions of times,
        # and a Python int in a list costs 36 bytes where these cost 12
        years, positions = array("q"), array("q")
        for doc_id in self.documents["id"]:
            units = self.source.units(doc_id)
            for pos, unit in zip(self.positions(doc_id, [u[0] for u in units]), units):
                if pos < 0:
                    continue
                text = unit[3] or ""
                if missing[pos]:
                    words[pos] = len(text.split())
                for year in years_mentioned(text, first, last):
                    years.append(year)
                    positions.append(pos)
        self.units["words"] = words.astype("int64")
        years_np, positions_np = np.frombuffer(years, dtype=np.int64), np.frombuffer(positions, dtype=np.int64)
        order = np.lexsort((positions_np, years_np))  # by year, then unit position
        self.referenced = {}
        for block in np.split(order, np.flatnonzero(np.diff(years_np[order])) + 1):
            if len(block):
                self.referenced[int(years_np[block[0]])] = positions_np[block]

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
        for var in sorted({c["variable"] for c in codes.values()} | set(self.codings["variable"].unique())):
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
        return sorted({str(v) for v in self.codings["codebook_version"].dropna().unique()})


def _left_out_coded(codings: pd.DataFrame, left_out: pd.DataFrame, key: str) -> dict[tuple[str, str], int]:
    """(unit type, variable or "") -> distinct units left out of shares that carry it ("": any)."""
    if not len(left_out) or not len(codings) or key not in codings:
        return {}
    types = dict(zip(left_out["key"], left_out["unit_type"]))
    mine = codings[codings[key].isin(left_out["key"])]
    rows = pd.DataFrame({"unit": mine[key].to_numpy(), "variable": mine["variable"].astype(str).to_numpy()})
    rows["unit_type"] = rows["unit"].map(types)
    out = {(t, ""): int(g["unit"].nunique()) for t, g in rows.groupby("unit_type")}
    out.update({(t, v): int(g["unit"].nunique()) for (t, v), g in rows.groupby(["unit_type", "variable"])})
    return out


def _type_counts(types: pd.Series, keep: np.ndarray) -> dict[str, int]:
    """Units of each type among those kept (missing types count as "paragraph")."""
    kept = types[keep]
    kept = kept.astype(object).where(kept.notna(), "paragraph").astype(str)
    return {str(t): int(n) for t, n in sorted(kept.value_counts().items())}


def _per_unit(documents: pd.Series, doc: np.ndarray, index: pd.Index, own: pd.Series | None = None) -> pd.Series:
    """A document label for each unit (``doc``: the unit's document row) as a
    categorical over ``index``; where ``own`` gives a unit a non-empty label
    of its own, that label."""
    cats = sorted(set(documents) | (set() if own is None else set(own.dropna().astype(str))))
    codes = pd.Categorical(documents, categories=cats).codes[doc]
    if own is not None:
        mine = pd.Categorical(own.fillna("").astype(str), categories=cats).codes
        empty = cats.index("") if "" in cats else -1
        codes = np.where(mine != empty, mine, codes)
    return pd.Series(pd.Categorical.from_codes(codes, cats), index=index)


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
    "units_coded", "unit_share", "unit_share_ci_low", "unit_share_ci_high", "unit_share_cl_low", "unit_share_cl_high",
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


def _frequency_table(ctx: _Context, groups: pd.DataFrame, member_group: np.ndarray, member_pos: np.ndarray,
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
    for level, ids, variables, labels, matrix, evidence in _level_items(ctx):
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
        return _typed_empty(columns, group_cols)
    df = pd.concat(frames, ignore_index=True)
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


def _partition(ctx: _Context, labels: pd.Series, values: list, column: str) -> tuple:
    """Groups, member groups and positions of a partition of the units by ``labels`` (one per unit)."""
    member = _positions_in(labels, pd.Index(values))
    known = member >= 0
    return (pd.DataFrame({column: values}), member[known].astype(np.int64, copy=False),
            np.flatnonzero(known).astype(np.int64, copy=False))


#: documents per piece of the per-document frequency table
DOCUMENTS_PER_PIECE = 2_000


def frequencies_by_document(ctx: _Context) -> LongTable:
    """The frequency table of each document (a row per level, document and
    item, in that order), built for a slice of documents at a time: on a
    large corpus it has millions of rows."""
    docs = ctx.documents
    groups = pd.DataFrame({"document_id": docs["id"], "title": docs["title"], "doc_type": docs["doc_type"],
                           "document_year": docs["year"].astype(object)})
    columns = ["level", "variable", "code", "label", "document_id", "title", "doc_type", "document_year"]
    doc_codes = ctx.units["_doc"].to_numpy(dtype=np.int64)
    levels = [level for level, ids, *_ in _level_items(ctx) if len(ids)]

    def piece(level: str, first: int, last: int) -> pd.DataFrame:
        lo, hi = int(ctx.doc_bounds[first]), int(ctx.doc_bounds[last])  # the units of these documents
        # within one document there is no spread between documents to resample: no clustered interval
        table = _frequency_table(ctx, groups.iloc[first:last].reset_index(drop=True), doc_codes[lo:hi] - first,
                                 np.arange(lo, hi, dtype=np.int64), columns[4:], levels=(level,), clustered=False)
        table["document_year"] = table["document_year"].astype("Int64")
        return _finish(table)

    def pieces():
        size = DOCUMENTS_PER_PIECE
        # levels outside, documents inside: the row order of the table built whole
        slices = [(level, first) for level in levels for first in range(0, len(docs), size)] or [("variable", 0)]
        for level, first in slices:
            yield piece(level, first, min(len(docs), first + size))

    rows = len(docs) * sum(len(ids) for _, ids, *_ in _level_items(ctx))
    return LongTable(columns + FREQ_VALUE_COLUMNS, rows, pieces)


def frequency_tables(ctx: _Context) -> dict[str, pd.DataFrame]:
    """Overall frequencies and the breakdowns by document, doc_type and both years."""
    units = ctx.units
    n = len(units)
    all_pos = np.arange(n, dtype=np.int64)
    out = {"frequencies": _frequency_table(ctx, pd.DataFrame(index=[0]), np.zeros(n, dtype=np.int64), all_pos,
                                           [])}
    docs = ctx.documents
    out["frequencies_by_document"] = frequencies_by_document(ctx)
    out["frequencies_by_doc_type"] = _frequency_table(
        ctx, *_partition(ctx, units["doc_type"], sorted(set(docs["doc_type"])), "doc_type"), ["doc_type"])
    years = units["document_year"]
    values: list = sorted(set(years.dropna().astype(int)))
    labels = pd.Series(years.fillna(-1).to_numpy(dtype=np.int64))  # -1: no year (vectorised: a unit each)
    if years.isna().any():
        values.append(pd.NA)
    keys = [v if v is not pd.NA else -1 for v in values]
    groups, member, pos = _partition(ctx, labels, keys, "document_year")
    groups["document_year"] = pd.Series(values, dtype=object)
    out["frequencies_by_document_year"] = _frequency_table(ctx, groups, member, pos, ["document_year"])
    referenced = ctx.referenced
    member = np.concatenate([np.full(len(p), i, dtype=np.int64) for i, p in enumerate(referenced.values())]
                            or [np.zeros(0, dtype=np.int64)])
    pos = np.concatenate(list(referenced.values()) or [np.zeros(0, dtype=np.int64)])
    out["frequencies_by_referenced_year"] = _frequency_table(
        ctx, pd.DataFrame({"referenced_year": list(referenced)}, dtype=object), member, pos, ["referenced_year"])
    out["frequencies_by_document_year"]["document_year"] = \
        out["frequencies_by_document_year"]["document_year"].astype("Int64")
    out["frequencies_by_referenced_year"]["referenced_year"] = \
        out["frequencies_by_referenced_year"]["referenced_year"].astype("Int64")
    return out


# --------------------------------------------------------------------------- co-occurrence

PAIR_COLUMNS = [
    "level", "context", "item_a", "item_b", "label_a", "label_b", "variable_a", "variable_b",
    "n_a", "n_b", "n_ab", "n_total", "units_ab",
    "expected", "lift", "jaccard", "ochiai", "p_b_given_a", "p_a_given_b",
    "phi", "fisher_p", "frequency_ratio", "jaccard_misleading", "expected_within", "p_within",
]


def _gram(matrix: np.ndarray, rows: int = 100_000) -> np.ndarray:
    """``matrix.T @ matrix`` of a 0/1 matrix as int64, a block of rows at a
    time (an int64 copy of a large corpus's unit matrix would cost hundreds of MB)."""
    out = np.zeros((matrix.shape[1], matrix.shape[1]), dtype=np.int64)
    for lo in range(0, len(matrix), rows):
        block = matrix[lo:lo + rows].astype(np.int64)
        out += block.T @ block
    return out


def _context_matrices(ctx: _Context):
    """(level, context, ids, variables, labels, presence matrix, unit-level matrix)."""
    doc_codes = ctx.units["_doc"].to_numpy()
    for level, ids, variables, labels, matrix, _ in _level_items(ctx):
        yield level, "unit", ids, variables, labels, matrix, matrix
        if len(ctx.documents):
            per_doc = pd.DataFrame(matrix).groupby(doc_codes).any().reindex(
                range(len(ctx.documents)), fill_value=False).to_numpy()
        else:
            per_doc = np.zeros((0, len(ids)), dtype=bool)
        per_doc = per_doc.astype(bool).reshape(len(ctx.documents) if not len(ids) else -1, len(ids))
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
    unit_docs = ctx.units["_doc"].to_numpy().astype(np.int64)
    for level, context, ids, variables, labels, presence, unit_matrix in _context_matrices(ctx):
        counts = _gram(presence)
        unit_counts = counts if presence is unit_matrix else _gram(unit_matrix)
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
                # within units: against the documents' own shares (documents as strata), see design.within_documents
                within = design.within_documents(presence[:, i], presence[:, j], unit_docs) if context == "unit" \
                    else {"expected_within": math.nan, "p_within": math.nan}
                rows.append({"level": level, "context": context, "item_a": ids[i], "item_b": ids[j],
                             "label_a": labels[i], "label_b": labels[j],
                             "variable_a": variables[i], "variable_b": variables[j],
                             "n_a": n_a, "n_b": n_b, "n_ab": n_ab, "n_total": n_total,
                             "units_ab": int(unit_counts[i, j]), **st, **within,
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
    # one pass over the units (a count per document and code), not one mask of every unit per document
    counts = np.stack([np.bincount(doc_codes.astype(np.int64), weights=ctx.code_matrix[:, j],
                                   minlength=len(doc_ids)).astype(np.int64) for j in range(len(ctx.codes))]) \
        if len(ctx.codes) else np.zeros((0, len(doc_ids)), dtype=np.int64)
    df = pd.DataFrame(counts, columns=doc_ids)
    df.insert(0, "label", [c["label"] for c in ctx.codes.values()])
    df.insert(0, "variable", [c["variable"] for c in ctx.codes.values()])
    df.insert(0, "code", list(ctx.codes))
    df["total"] = counts.sum(axis=1)
    return df


def unit_by_code(ctx: _Context) -> LongTable:
    """Binary unit-by-code matrix: one row per unit, 0/1 columns ``code_<id>``,
    ``variable_<id>``, built a slice of units at a time."""
    meta = ctx.documents.set_index("id")
    columns = ["unit_id", "document_id", "ordinal", "unit_type", "doc_type", "document_date", "document_year",
               "speaker", "words", *(f"code_{c}" for c in ctx.codes), *(f"variable_{v}" for v in ctx.variables)]

    def piece(lo: int, hi: int) -> pd.DataFrame:
        u = ctx.units.iloc[lo:hi]
        df = pd.DataFrame({
            "unit_id": u["unit_id"], "document_id": u["document_id"], "ordinal": u["ordinal"],
            "unit_type": u["unit_type"], "doc_type": u["doc_type"],
            "document_date": u["document_id"].map(meta["date"]) if len(u) else pd.Series(dtype=object),
            "document_year": u["document_year"], "speaker": u["speaker"], "words": u["words"],
        })
        for col in ("document_id", "unit_type"):
            if isinstance(df[col].dtype, pd.CategoricalDtype):  # plain strings in the table, as the store gives
                df[col] = df[col].astype(df[col].cat.categories.dtype)
        for j, code in enumerate(ctx.codes):
            df[f"code_{code}"] = ctx.code_matrix[lo:hi, j].astype(np.int64)
        for j, var in enumerate(ctx.variables):
            df[f"variable_{var}"] = ctx.var_matrix[lo:hi, j].astype(np.int64)
        return df.reset_index(drop=True)

    def pieces():
        for lo, hi in piece_bounds(len(ctx.units)):
            yield piece(lo, hi)

    return LongTable(columns, len(ctx.units), pieces)


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


def unit_types_table(ctx: _Context) -> pd.DataFrame:
    """Units of each type: whether shares count them, how many there are,
    how many carry any code and each variable (units left out of shares,
    such as headings, are counted here and nowhere else)."""
    rows = []
    kept_types = ctx.units["unit_type"].astype(object).where(ctx.units["unit_type"].notna(), "paragraph")
    kept_types = kept_types.astype(str).to_numpy()
    coded = ctx.var_matrix.any(axis=1) if len(ctx.variables) else np.zeros(len(ctx.units), dtype=bool)
    for unit_type, n in ctx.type_counts.items():
        mask = kept_types == unit_type
        in_shares = bool(mask.any()) or unit_type not in set(ctx.left_out["unit_type"])
        row = {"unit_type": unit_type, "in_shares": in_shares, "units": n}
        if in_shares:
            row["units_coded"] = int(coded[mask].sum())
            row.update({f"variable_{v}": int(ctx.var_matrix[mask, j].sum()) for j, v in enumerate(ctx.variables)})
        else:
            row["units_coded"] = ctx.left_out_coded.get((unit_type, ""), 0)
            row.update({f"variable_{v}": ctx.left_out_coded.get((unit_type, v), 0) for v in ctx.variables})
        rows.append(row)
    cols = ["unit_type", "in_shares", "units", "units_coded", *(f"variable_{v}" for v in ctx.variables)]
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
    "comparisons": "Shares compared between two halves of the study period, by the years units refer to and by "
                   "the documents' dates: units, documents and coded units on each side, the difference of the "
                   "shares (b - a) with its document-clustered 95% interval and the verdict it allows; a "
                   "comparison the data cannot carry has no verdict and says why (note).",
    "crosstabs": "Share of units carrying each variable and code in each group of an attribute (doc_type, speaker, "
                 "document_year and any extra manifest column), with its document-clustered 95% interval.",
    "crosstab_tests": "Per attribute and item: the test that fits the design and the counts (documents permuted "
                      "when the attribute belongs to documents, permuted within documents when it varies inside "
                      "them, chi-square or Fisher exact when no document has two units), its chi-square statistic, "
                      "df and p; p_units is the test that takes units as independent.",
    "unit_types": "Units of each type (paragraph, turn, sentence, heading): whether shares count them (in_shares; "
                  "headings are left out unless the codebook's settings.include_unit_types names them), how many "
                  "there are and how many carry any code and each variable.",
    "codebook": "Variables and codes with their definitions.",
}


#: p-values whose names do not end in "_p"
P_COLUMNS = ("p", "p_units", "p_within")


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    """Round floats so that output does not depend on float noise: four
    decimal places, but p-values to four significant digits (a small
    p-value must not print as 0)."""
    for col in df.columns:  # in place: the tables are the report's own (a copy would double a large one)
        if pd.api.types.is_float_dtype(df[col]):
            if col.endswith("_p") or col in P_COLUMNS:
                df[col] = df[col].map(lambda v: v if pd.isna(v) else float(f"{v:.4g}"))
            else:
                df[col] = df[col].round(4)
    return df.reset_index(drop=True)


def compute_tables(data: ReportData, *, exemplars: int = 3, min_pair_count: int = 1,
                   kwic_width: int = KWIC_CONTEXT, spill=None, progress: bool | None = None) -> dict[str, Any]:
    """Compute every report table from ``data`` (pure; nothing is written).

    Returns the tables named in :data:`TABLE_DESCRIPTIONS`, in that order,
    as DataFrames. With ``spill`` (a folder for temporary files), the tables
    that grow with the corpus (``unit_by_code``, ``kwic``) are returned as
    :class:`~coding.reports.output.LongTable`, written to their CSV piece
    by piece (see :func:`write_tables`), and never held whole.
    """
    ctx = _Context(data)
    # the HTML report and the pages reuse it (see context_of) instead of building it again
    object.__setattr__(data, "_context", ctx)
    ctx.quotations = scan_quotations(ctx, exemplars, kwic_width, spill, progress)
    tables: dict[str, Any] = {}
    tables.update(frequency_tables(ctx))
    tables.update(cooccurrence_tables(ctx, min_pair_count=min_pair_count))
    tables["code_by_document"] = code_by_document(ctx)
    tables["unit_by_code"] = unit_by_code(ctx)
    tables["kwic"] = ctx.quotations.kwic
    tables["exemplars"] = ctx.quotations.exemplars
    tables["corpus_by_doc_type"] = corpus_by_doc_type(ctx)
    period = getattr(getattr(data.codebook, "settings", None), "study_period", None)
    tables["comparisons"] = comparisons.comparisons(ctx, period)
    tables["crosstabs"], tables["crosstab_tests"] = comparisons.crosstabs(ctx)
    tables["unit_types"] = unit_types_table(ctx)
    tables["codebook"] = codebook_table(ctx)
    if spill is None:
        tables = {k: t.frame() if isinstance(t, LongTable) else t for k, t in tables.items()}
    return {name: tables[name] if isinstance(tables[name], LongTable) else _finish(tables[name])
            for name in TABLE_DESCRIPTIONS}


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
    for name, table in tables.items():
        pieces = table.pieces if isinstance(table, LongTable) else (lambda df=table: frame_pieces(df))
        # piece by piece: the CSV text of a large table is never built whole
        paths[f"tables/{name}"] = outputs.write_stream(out / "tables" / f"{name}.csv",
                                                       lambda fh, pieces=pieces: write_csv_pieces(fh, pieces()))
    left_out = workbook_sheets(tables)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        readme = pd.DataFrame({"sheet": [n if not left_out[n] else "" for n in tables], "table": list(tables),
                               "description": [TABLE_DESCRIPTIONS.get(n, "") for n in tables],
                               "csv": [f"tables/{n}.csv" for n in tables],
                               "in_workbook": [left_out[n] or "yes" for n in tables]})
        readme.to_excel(writer, sheet_name="README", index=False)
        for name, df in tables.items():
            if left_out[name] or isinstance(df, LongTable):
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
