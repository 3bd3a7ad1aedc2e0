"""What a report is computed from: :class:`ReportData`, its filters, and the frames' columns.

:func:`filter_data` narrows the data to doc types, years and speakers and
records what it did, so that the report can state it (:func:`describe_filters`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

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


def frame(df: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """Copy of ``df`` with at least ``columns`` (missing ones added empty)."""
    df = pd.DataFrame(columns=columns) if df is None else df.copy()
    for col in columns:
        if col not in df.columns:
            df[col] = pd.Series(dtype="object")
    return df.reset_index(drop=True)


def keyed_by_row(units: pd.DataFrame | None, codings: pd.DataFrame | None) -> bool:
    """Whether codings name their units by ``unit_row`` (see Store.report_units), not by id."""
    return units is not None and codings is not None and "unit_row" in units and "unit_row" in codings


def _dated(docs: pd.DataFrame, doc_types: Iterable[str] | None, year_from: int | None,
           year_to: int | None) -> pd.DataFrame:
    """The documents of ``doc_types`` dated ``year_from``..``year_to`` (a bound drops the undated)."""
    keep = pd.Series(True, index=docs.index)
    if doc_types is not None:
        keep &= docs["doc_type"].isin(list(doc_types))
    years = pd.to_numeric(docs["year"], errors="coerce")
    if year_from is not None:
        keep &= (years >= year_from).fillna(False)
    if year_to is not None:
        keep &= (years <= year_to).fillna(False)
    return docs[keep.astype(bool)].reset_index(drop=True)


def _spoken(units: pd.DataFrame, speakers: Iterable[str] | None,
            skip_speakers: Iterable[str] | None) -> pd.DataFrame:
    """The units of ``speakers`` (all when None), less those of ``skip_speakers``, compared case-insensitively."""
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
    return units


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
    docs = _dated(frame(data.documents, DOCUMENT_COLUMNS), doc_types, year_from, year_to)
    units = frame(data.units, UNIT_COLUMNS)
    units = _spoken(units[units["document_id"].isin(set(docs["id"]))].reset_index(drop=True), speakers,
                    skip_speakers)
    if keyed_by_row(units, data.codings):  # frames read lean from the store: keyed by unit_row
        codings = data.codings[data.codings["unit_row"].isin(units["unit_row"])].reset_index(drop=True)
    else:
        codings = frame(data.codings, CODING_COLUMNS)
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
