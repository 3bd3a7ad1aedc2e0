"""The report context: a report's inputs normalised once, shared by every table, figure and page.

:class:`ReportContext` holds the documents and units of the report (in
document and unit order, without their texts), the reported coder's codings,
the variables and codes in codebook order, and a unit x item presence matrix
per level. It is built once per report (:func:`context_of`); the units' texts
are read once, a document at a time, for their words and the years they mention.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy import sparse

from .data import CODING_COLUMNS, DOCUMENT_COLUMNS, UNIT_COLUMNS, ReportData, frame, keyed_by_row
from .quotes import Quotations, parse_evidence
from .source import FrameSource, TextSource

#: a four-digit number standing alone; years outside the codebook's referenced_years are dropped
YEAR_RE = re.compile(r"\b(\d{4})\b")

T = TypeVar("T")

#: an item's label, definition and (for a code) variable, by id
Items = dict[str, dict[str, str]]


@dataclass(eq=False, repr=False)
class ReportContext:
    """Normalised inputs shared by the table builders, the figures and the pages.

    The units and codings are held without their texts and evidence: the
    words and referenced years of the units come from one pass over the
    report's text source, one document at a time (:func:`build_report_context`)."""

    codebook: Any
    #: the coder whose codings are reported (None: every coder)
    coder: str | None
    #: the documents with units in the report, in corpus order (``year`` as Int64, text columns as str)
    documents: pd.DataFrame
    #: where unit texts and evidence are read
    source: TextSource
    #: the units of the report in document and unit order, without texts; ``_doc`` is the document's row,
    #: ``doc_type``, ``speaker`` categoricals, ``document_year`` the document's year
    units: pd.DataFrame
    #: the units of document i are rows ``doc_bounds[i]:doc_bounds[i + 1]``
    doc_bounds: np.ndarray
    #: the reported codings: code, variable, coder, codebook_version, n_evidence and ``_pos`` (the unit's row)
    codings: pd.DataFrame
    #: variables, in codebook order
    variables: Items
    #: every code of the codebook (and of the codings), grouped by variable
    all_codes: Items
    #: the codes reported: ``all_codes``, or none for a coder of variables only
    codes: Items
    #: units x codes and units x variables: presence, and evidence matches (sparse)
    code_matrix: np.ndarray
    code_evidence: sparse.csr_matrix
    var_matrix: np.ndarray
    var_evidence: sparse.csr_matrix
    #: unit types the codebook counts in shares although they are not prose
    included_types: tuple[str, ...] = ()
    #: units of each type (missing: "paragraph") before non-prose units are left out
    type_counts: dict[str, int] = field(default_factory=dict)
    #: the units left out of shares (headings): their key (``left_out_key``) and type
    left_out: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({"key": [], "unit_type": []}))
    left_out_key: str = "unit_id"
    #: (unit type, variable or "") -> units left out of shares that carry it ("": any)
    left_out_coded: dict[tuple[str, str], int] = field(default_factory=dict)
    #: document attributes beyond the known ones (``document_id`` and a column each), and their names
    attributes: pd.DataFrame | None = None
    attribute_names: list[str] = field(default_factory=list)
    #: referenced year -> positions of the units mentioning it
    referenced: dict[int, np.ndarray] = field(default_factory=dict)
    #: the quotations gathered by the pass over the coded units (set by ``compute_tables``)
    quotations: Quotations | None = None
    #: document id -> its row in ``documents``
    doc_order: dict[str, int] = field(init=False)
    #: results several tables are cut from, computed once (see :meth:`shared`)
    _shared: dict[Hashable, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.doc_order = {d: i for i, d in enumerate(self.documents["id"])}

    @property
    def coders(self) -> list[str] | None:
        """The coders whose codings are reported (None: every coder)."""
        return None if self.coder is None else [self.coder]

    @property
    def quotes(self) -> Quotations:
        """The quotations of the report (an error before ``compute_tables`` gathered them)."""
        if self.quotations is None:
            raise RuntimeError("the report's quotations are gathered by compute_tables first")
        return self.quotations

    @property
    def codebook_versions(self) -> list[str]:
        return sorted({str(v) for v in self.codings["codebook_version"].dropna().unique()})

    def shared(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, computed once per context and ``key``: for a result several tables are cut from."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]

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


def context_of(data: ReportData) -> ReportContext:
    """The table context of ``data``: the one ``compute_tables`` built
    for it, else a new one (building it costs as much as the tables)."""
    ctx = getattr(data, "_context", None)
    return ctx if isinstance(ctx, ReportContext) else build_report_context(data)


def build_report_context(data: ReportData) -> ReportContext:
    """Normalise ``data`` once for the tables: the units the coder saw, the codings, items and matrices."""
    docs = _documents(data.documents)
    units = data.units if data.units is not None else frame(None, UNIT_COLUMNS)
    codings = data.codings if data.codings is not None else frame(None, CODING_COLUMNS)
    source = data.source if data.source is not None else \
        FrameSource(frame(units, UNIT_COLUMNS), frame(codings, CODING_COLUMNS))
    keep, docs = _seen(units, docs, data.seen)
    prose = _Prose(data.codebook, units, keep)
    units, bounds = _report_units(units, prose.keep, docs)
    codings = _coder_codings(codings, data.coder)
    left_out_coded = _left_out_coded(codings, prose.left_out, prose.key)
    codings = _positioned(codings, units)
    variables, all_codes, codes = _items(data.codebook, codings)
    code_matrix, code_evidence = _matrices(codings, len(units), list(codes), "code")
    var_matrix, var_evidence = _matrices(codings, len(units), list(variables), "variable")
    ctx = ReportContext(
        codebook=data.codebook, coder=data.coder, documents=docs, source=source, units=units, doc_bounds=bounds,
        codings=codings, variables=variables, all_codes=all_codes, codes=codes,
        code_matrix=code_matrix, code_evidence=code_evidence, var_matrix=var_matrix, var_evidence=var_evidence,
        included_types=prose.included, type_counts=prose.type_counts, left_out=prose.left_out,
        left_out_key=prose.key, left_out_coded=left_out_coded, attributes=data.attributes,
        attribute_names=[c for c in data.attributes.columns if c != "document_id"]
        if data.attributes is not None else [])
    _read_texts(ctx)
    return ctx


# --------------------------------------------------------------------------- documents and units

def _documents(documents: pd.DataFrame | None) -> pd.DataFrame:
    """The documents with their year as Int64 and text columns as strings."""
    docs = frame(documents, DOCUMENT_COLUMNS)
    docs["year"] = pd.to_numeric(docs["year"], errors="coerce").astype("Int64")
    for col in ("title", "doc_type", "date", "source", "path", "speaker"):
        docs[col] = docs[col].fillna("").astype(str)
    docs["id"] = docs["id"].astype(str)
    return docs


def _seen(units: pd.DataFrame, docs: pd.DataFrame, seen: Any) -> tuple[np.ndarray, pd.DataFrame]:
    """The units of the report's documents the coder saw (a mask), and the documents holding them."""
    keep = units["document_id"].isin({d: i for i, d in enumerate(docs["id"])}).to_numpy().copy()
    if seen is not None:
        # a coder who saw part of the corpus: every share is over what it saw
        keep &= units["unit_row" if isinstance(seen, np.ndarray) else "unit_id"].isin(seen).to_numpy()
        docs = docs[docs["id"].isin(set(units.loc[keep, "document_id"]))]
        docs = docs.reset_index(drop=True)
    return keep, docs


class _Prose:
    """The units that are prose (headings are not), unless the codebook's
    ``settings.include_unit_types`` counts them; the units left out are kept
    aside (their key column and type) to be reported apart."""

    def __init__(self, codebook: Any, units: pd.DataFrame, keep: np.ndarray):
        from coding.segment import NON_PROSE_TYPES

        settings = getattr(codebook, "settings", None)
        self.included: tuple[str, ...] = tuple(getattr(settings, "include_unit_types", ()) or ())
        self.type_counts = _type_counts(units["unit_type"], keep)
        apart = [t for t in NON_PROSE_TYPES if t not in self.included]
        out = keep & ~units["unit_type"].isin(apart).to_numpy() if apart else keep
        self.key = "unit_row" if "unit_row" in units else "unit_id"
        self.left_out = pd.DataFrame({"key": units.loc[keep & ~out, self.key].to_numpy(),
                                      "unit_type": units.loc[keep & ~out, "unit_type"].astype(str).to_numpy()})
        self.keep = out


def _report_units(units: pd.DataFrame, keep: np.ndarray, docs: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The units kept, in document and unit order, with their document's row, labels and year;
    and the bounds of each document's rows. One copy of the frame at most: on a large corpus each
    copy costs hundreds of MB."""
    columns = [c for c in units.columns if c != "text"]
    units = (units.loc[keep, columns] if not keep.all() else units[columns]).reset_index(drop=True)
    for col in (c for c in UNIT_COLUMNS if c not in units.columns and c != "text"):
        units[col] = pd.Series(np.nan if col == "words" else None, index=units.index,
                               dtype=np.float64 if col == "words" else object)
    for col in ("ordinal", "start", "end"):
        if units[col].dtype != np.int64:  # the store's are: no copy of a column of every unit
            units[col] = pd.to_numeric(units[col], errors="coerce").fillna(0).astype("int64")
    units["_doc"] = positions_in(units["document_id"], pd.Index(docs["id"]))
    ordinal = units["ordinal"].to_numpy()
    key = units["_doc"].to_numpy() * (int(ordinal.max(initial=0)) + 1) + ordinal
    if not (np.diff(key) > 0).all():
        # not already in document and unit order (the store gives that order; frames built by hand may not)
        units = units.sort_values(["_doc", "ordinal", "unit_id"], kind="mergesort").reset_index(drop=True)
    doc = units["_doc"].to_numpy()
    # per-unit labels as categoricals: a byte per unit where a string costs tens
    units["doc_type"] = _per_unit(docs["doc_type"], doc, units.index)
    # a unit's speaker: its turn's label (see coding.segment.unit_speakers), else the document's
    units["speaker"] = _per_unit(docs["speaker"], doc, units.index, own=units["speaker"])
    units["document_year"] = docs["year"].array.take(doc) if len(doc) else pd.array([], dtype="Int64")
    return units, np.searchsorted(units["_doc"].to_numpy(), np.arange(len(docs) + 1))


def positions_in(labels: pd.Series, index: pd.Index) -> np.ndarray:
    """The position of each label in ``index`` (int64; -1 for none). A
    categorical is looked up once per category, then by its codes (a code of
    -1, missing, has no position)."""
    if isinstance(labels.dtype, pd.CategoricalDtype):
        per_category = np.append(index.get_indexer(labels.cat.categories), -1).astype(np.int64)
        return per_category[labels.cat.codes.to_numpy()]
    return index.get_indexer(labels).astype(np.int64, copy=False)


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


# --------------------------------------------------------------------------- codings and items

def _coder_codings(codings: pd.DataFrame, coder: str | None) -> pd.DataFrame:
    """The codings of ``coder`` (None: every coder)."""
    if coder is not None and len(codings):
        mine = (codings["coder"] == coder).to_numpy()
        codings = codings if mine.all() else codings[mine]  # read for this coder alone: no copy
    return codings


def _positioned(codings: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """The codings of the report's units, with their unit's position (``_pos``) and evidence count."""
    columns = ["code", "variable", "coder", "codebook_version"]
    out = pd.DataFrame({c: codings[c] if c in codings else pd.Series(dtype="object") for c in columns})
    out["n_evidence"] = codings["n_evidence"] if "n_evidence" in codings else \
        [len(parse_evidence(v)) for v in (codings["evidence"] if "evidence" in codings else [])]
    pos = _unit_positions(codings, units)
    if not (pos >= 0).all():  # else no copy: millions of codings on a large corpus
        out = out[pos >= 0].reset_index(drop=True)
        pos = pos[pos >= 0]
    out["_pos"] = pos.astype(np.int64, copy=False)
    for col in ("code", "variable"):
        # categoricals stay so (a code per row; strings would cost GBs on a large corpus)
        out[col] = _labels_filled(out[col])
    out["n_evidence"] = out["n_evidence"].fillna(0).astype(np.int64)
    return out


def _unit_positions(codings: pd.DataFrame, units: pd.DataFrame) -> np.ndarray:
    """Position of each coding's unit in the report's unit order (-1: not in the report)."""
    if not len(codings):
        return np.zeros(0, dtype=np.int64)
    if keyed_by_row(units, codings):  # integer keys: no index of every unit id string
        rows = units["unit_row"].to_numpy(dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        keys = codings["unit_row"].to_numpy(dtype=np.int64)
        at = np.minimum(np.searchsorted(rows[order], keys), max(len(rows) - 1, 0))
        found = (rows[order][at] == keys) if len(rows) else np.zeros(len(keys), dtype=bool)
        return np.where(found, order[at] if len(rows) else -1, -1)
    return pd.Index(units["unit_id"]).get_indexer(codings["unit_id"])


def _labels_filled(column: pd.Series) -> pd.Series:
    """A label column with "" for missing values, as strings, or as a categorical when it is one."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        if "" not in column.cat.categories:
            column = column.cat.add_categories([""])
        return column.fillna("")
    return column.fillna("").astype(str)


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


def _codebook_items(codebook: Any) -> tuple[Items, Items]:
    """The codebook's variables and codes, in its order."""
    variables: Items = {}
    codes: Items = {}
    for v in getattr(codebook, "variables", ()) or ():
        variables[v.id] = {"label": v.label or v.id, "definition": getattr(v, "definition", "") or ""}
    for c in getattr(codebook, "codes", ()) or ():
        codes[c.id] = {"label": c.label or c.id, "variable": c.variable,
                       "definition": getattr(c, "definition", "") or ""}
    return variables, codes


def _items(codebook: Any, codings: pd.DataFrame) -> tuple[Items, Items, Items]:
    """Variables, every code and the reported codes, in codebook order, codes grouped by variable."""
    variables, codes = _codebook_items(codebook)
    # codes/variables seen in codings but absent from the codebook still count;
    # an empty code is a coding of the variable alone, not a code
    extra = codings[~codings["code"].isin(codes) & (codings["code"] != "")]
    extra = extra[["code", "variable"]]
    for code, var in sorted(set(map(tuple, extra.to_numpy()))):
        codes.setdefault(code, {"label": code, "variable": var, "definition": ""})
    for var in sorted({c["variable"] for c in codes.values()} | set(codings["variable"].unique())):
        if var and var not in variables:
            variables[var] = {"label": var, "definition": ""}
    var_order = {v: i for i, v in enumerate(variables)}
    cb_order = {c: i for i, c in enumerate(codes)}
    ordered = sorted(codes, key=lambda c: (var_order.get(codes[c]["variable"], len(var_order)), cb_order[c]))
    all_codes = {c: codes[c] for c in ordered}
    # a coder who coded variables only has no code-level data: no code rows
    variable_only = len(codings) and (codings["code"] == "").all()
    return variables, all_codes, {} if variable_only else all_codes


def _item_index(column: pd.Series, items: list[str]) -> np.ndarray:
    """The position of each row's label in ``items`` (NaN: not one of them), as floats."""
    lookup = {c: i for i, c in enumerate(items)}
    if isinstance(column.dtype, pd.CategoricalDtype):  # one lookup per category, then the codes
        per_category = np.array([lookup.get(c, np.nan) for c in column.cat.categories] + [np.nan], dtype=float)
        return per_category[column.cat.codes.to_numpy()]  # code -1 (missing) takes the last entry
    return column.map(lookup).to_numpy(dtype=float)


def _matrices(codings: pd.DataFrame, n: int, items: list[str], column: str) -> tuple[np.ndarray, sparse.csr_matrix]:
    """Unit x item presence and evidence counts of the items in ``column`` of the codings."""
    pos = codings["_pos"].to_numpy()
    evidence = codings["n_evidence"].to_numpy()
    index = _item_index(codings[column], items)
    known = ~np.isnan(index)  # an empty code is a coding of the variable alone, not a code
    # 32-bit positions and counts: the transient arrays of millions of codings at half the size
    rows, cols = pos[known].astype(np.int32), index[known].astype(np.int32)
    del index
    presence = np.zeros((n, len(items)), dtype=bool)
    presence[rows, cols] = True
    # sparse: only the coded cells hold evidence (a dense count per unit and item costs 4 bytes a cell)
    counts = sparse.csr_matrix((evidence[known].astype(np.int32), (rows, cols)), shape=(n, len(items)))
    return presence, counts


# --------------------------------------------------------------------------- texts

def years_mentioned(text: str, first: int, last: int) -> list[int]:
    """The distinct years from ``first`` to ``last`` that ``text`` mentions
    (four digits standing alone), in order."""
    return sorted({y for y in map(int, YEAR_RE.findall(text)) if first <= y <= last})


def referenced_range(codebook: Any) -> tuple[int, int]:
    """The range of years counted as referenced (the codebook's settings)."""
    from coding.codebook import DEFAULT_REFERENCED_YEARS

    settings = getattr(codebook, "settings", None)
    return settings.referenced_years if settings is not None else DEFAULT_REFERENCED_YEARS


def _read_texts(ctx: ReportContext) -> None:
    """One pass over the units' texts: words (where not given) and the
    years each unit mentions (positions of the units per referenced year)."""
    first, last = referenced_range(ctx.codebook)
    words = pd.to_numeric(ctx.units["words"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan).copy()
    missing = np.isnan(words)
    # (year, unit position) pairs in typed arrays: a large corpus mentions years millions of times,
    # and a Python int in a list costs 36 bytes where these cost 12
    years, positions = array("q"), array("q")
    for doc_id in ctx.documents["id"]:
        units = ctx.source.units(doc_id)
        for pos, unit in zip(ctx.positions(doc_id, [u[0] for u in units]), units):
            if pos < 0:
                continue
            text = unit[3] or ""
            if missing[pos]:
                words[pos] = len(text.split())
            for year in years_mentioned(text, first, last):
                years.append(year)
                positions.append(pos)
    ctx.units["words"] = words.astype("int64")
    years_np, positions_np = np.frombuffer(years, dtype=np.int64), np.frombuffer(positions, dtype=np.int64)
    order = np.lexsort((positions_np, years_np))  # by year, then unit position
    for block in np.split(order, np.flatnonzero(np.diff(years_np[order])) + 1):
        if len(block):
            ctx.referenced[int(years_np[block[0]])] = positions_np[block]
