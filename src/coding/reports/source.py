"""Where a report reads unit texts and evidence: one document at a time.

The tables of a report need only counts, so the report data holds the
units and codings without texts or evidence (a 500 MB corpus would not fit
otherwise). The few passes that need texts (words, referenced years, key
words in context, quotations, document pages) ask a source for one
document's units, codings and coverage at a time. :class:`StoreSource`
reads them from the project store; :class:`FrameSource` from frames held in
memory (a :class:`~coding.reports.ReportData` built by hand).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import pandas as pd

if TYPE_CHECKING:
    from coding.store import Store


class TextSource(Protocol):
    """One document's units, codings and coverage at a time."""

    def units(self, document_id: str) -> list[tuple]:
        """(unit_id, start, end, text) of the document's units, in unit order."""

    def codings(self, document_id: str, coders: list[str] | None) -> list[tuple]:
        """(unit_id, coder, variable, code, evidence) of the document's codings
        by ``coders`` (None: every coder)."""

    def coverage(self, document_id: str, coders: list[str]) -> list[tuple]:
        """(coder, unit_id) of the document's units each of ``coders`` saw."""

    def text(self, document_id: str) -> str:
        """The document's full text ("" when unknown)."""


class StoreSource:
    """A :class:`TextSource` reading the project store (nothing is held)."""

    def __init__(self, store: Store):
        self.store = store

    def units(self, document_id: str) -> list[tuple]:
        return self.store.document_units(document_id)

    def codings(self, document_id: str, coders: list[str] | None) -> list[tuple]:
        if coders is None:
            coders = self.store.coder_names()
        return self.store.document_codings(document_id, list(coders)) if coders else []

    def coverage(self, document_id: str, coders: list[str]) -> list[tuple]:
        return self.store.document_coverage(document_id, list(coders)) if coders else []

    def text(self, document_id: str) -> str:
        doc = self.store.document(document_id)
        return "" if doc is None else doc.text

    def spans(self, document_id: str, coders: list[str]) -> list[tuple]:
        """(coder, start, end, code, variable, status, label) of the span
        codings ``coders`` made in the document (as an exchange file gave them)."""
        wanted = set(coders)
        return [(r[0], r[2], r[3], r[4], r[5], r[8], r[9])
                for r in self.store.span_codings(document_id=document_id, with_status=True) if r[0] in wanted]


class FrameSource:
    """A :class:`TextSource` over frames in memory: units with their
    ``text``, codings with their ``evidence``, and optionally the documents'
    full texts and the units each coder saw."""

    def __init__(self, units: pd.DataFrame, codings: pd.DataFrame, texts: dict[str, str] | None = None,
                 seen: dict[str, frozenset] | None = None):
        self._texts = texts or {}
        self._seen = seen or {}
        self._units: dict[str, list[tuple]] = {}
        if len(units):
            cols = [units["unit_id"], units["start"], units["end"], units["text"].fillna("").astype(str)]
            order = pd.to_numeric(units["ordinal"], errors="coerce").fillna(0) if "ordinal" in units else None
            rows = list(zip(units["document_id"], order if order is not None else range(len(units)), *cols))
            for doc, _, uid, start, end, text in sorted(rows, key=lambda r: (str(r[0]), r[1], str(r[2]))):
                self._units.setdefault(doc, []).append((uid, int(start), int(end), text))
        owner = {u[0]: doc for doc, us in self._units.items() for u in us}
        self._codings: dict[str, list[tuple]] = {}
        if len(codings):
            for r in codings[["unit_id", "coder", "variable", "code", "evidence"]].itertuples(index=False):
                doc = owner.get(r.unit_id)
                if doc is not None:
                    self._codings.setdefault(doc, []).append(tuple(r))

    def units(self, document_id: str) -> list[tuple]:
        return self._units.get(document_id, [])

    def codings(self, document_id: str, coders: list[str] | None) -> list[tuple]:
        rows = self._codings.get(document_id, [])
        return rows if coders is None else [r for r in rows if r[1] in coders]

    def coverage(self, document_id: str, coders: list[str]) -> list[tuple]:
        ids = [u[0] for u in self.units(document_id)]
        return [(c, uid) for c in coders for uid in ids if uid in self._seen.get(c, ())]

    def text(self, document_id: str) -> str:
        return self._texts.get(document_id, "")
