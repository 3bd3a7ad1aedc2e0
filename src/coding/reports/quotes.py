"""Quotations: key words in context, exemplar quotations and the units a
code page shows, gathered in one pass over the texts of the coded units.

The pass reads one document at a time from the report's text source (see
:mod:`coding.reports.source`), so a report never holds every unit text or
evidence list. Key words in context can run to millions of rows on a large
corpus: with a ``spill`` folder they go to a CSV file per code there, in
report order, and the ``kwic`` table is the concatenation of those files;
without one (small reports, tests) they stay in memory.
"""

from __future__ import annotations

import bisect
import csv
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from .output import LongTable, stage
from .source import TextSource

#: characters of context either side of a keyword-in-context match
KWIC_CONTEXT = 60
#: units listed on a code's page (in document order; every unit is in unit_by_code.csv)
CODE_PAGE_UNITS = 300
#: key words in context listed on a code's page (every match is in kwic.csv)
CODE_PAGE_KWIC = 1000
#: rows of one code kept in memory before they are appended to its spill file
SPILL_ROWS = 2_000

KWIC_COLUMNS = ["code", "variable", "document_id", "unit_id", "start", "end", "left", "term", "right", "pattern"]
EXEMPLAR_COLUMNS = ["code", "code_label", "variable", "rank", "unit_id", "document_id", "title", "doc_type",
                    "date", "citation", "distinct_terms", "terms", "words", "text"]

_WS = re.compile(r"\s+")


def parse_evidence(value: Any) -> list[dict]:
    """Evidence JSON (or an already decoded list) as a list of dicts."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    return [dict(e) for e in value]


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


class _CodeRows:
    """KWIC rows per code, in memory or appended to a CSV file per code in
    ``folder`` (the rows of one code arrive in report order)."""

    def __init__(self, n_codes: int, folder: Path | None = None):
        self.folder = folder
        self.rows: list[list[tuple]] = [[] for _ in range(n_codes)]
        self.count = 0

    def add(self, c: int, rows: list[tuple]) -> None:
        self.rows[c].extend(rows)
        self.count += len(rows)
        if self.folder is not None and len(self.rows[c]) >= SPILL_ROWS:
            self._flush(c)

    def _flush(self, c: int) -> None:
        if self.rows[c] and self.folder is not None:
            with open(self.folder / f"{c}.csv", "a", encoding="utf-8", newline="") as fh:
                csv.writer(fh, lineterminator="\n").writerows(self.rows[c])
            self.rows[c] = []

    def table(self) -> LongTable:
        """The rows of every code, in code order, as a :class:`LongTable`."""
        if self.folder is not None:
            for c in range(len(self.rows)):
                self._flush(c)
        return LongTable(KWIC_COLUMNS, self.count, self._pieces)

    def _pieces(self) -> Iterator[Any]:
        yield pd.DataFrame({c: pd.Series(dtype="object") for c in KWIC_COLUMNS})  # the header
        for c, rows in enumerate(self.rows):
            if self.folder is not None and (self.folder / f"{c}.csv").is_file():
                with open(self.folder / f"{c}.csv", "rb") as fh:
                    while block := fh.read(1 << 20):
                        yield block  # CSV rows as written above: the bytes pandas writes for them
            elif rows:
                yield pd.DataFrame.from_records(rows, columns=KWIC_COLUMNS)


@dataclass
class _Candidate:
    """A unit in the running for a code's exemplars, with what its quotation needs."""

    key: tuple
    pos: int
    unit_id: str
    terms: frozenset[str]
    text: str
    spans: dict[str, list[tuple[int, int]]]

    def __lt__(self, other: _Candidate) -> bool:
        return self.key < other.key


@dataclass
class Quotations:
    """What the pass over the coded units' texts gives the report."""

    kwic: LongTable
    exemplars: pd.DataFrame
    #: code -> positions (in the report's unit order) of the units its page lists
    code_units: dict[str, list[int]] = field(default_factory=dict)
    #: code -> the first KWIC rows of the code, for its page
    code_kwic: dict[str, list[tuple]] = field(default_factory=dict)
    #: unit id -> text of every unit quoted (exemplars and code pages)
    texts: dict[str, str] = field(default_factory=dict)
    #: (unit id, code) -> evidence spans as offsets into the unit's text, for the quoted units
    spans: dict[tuple[str, str], list[tuple[int, int]]] = field(default_factory=dict)


class Scanned(Protocol):
    """What the pass reads of a report context (:class:`coding.reports.context.ReportContext`)."""

    codes: dict[str, dict[str, str]]
    units: pd.DataFrame
    documents: pd.DataFrame
    source: TextSource

    @property
    def coders(self) -> list[str] | None: ...

    def positions(self, doc_id: str, unit_ids: list[str]) -> list[int]: ...


class _Pass:
    """State of the pass: the rows, candidates and page lists gathered so far."""

    def __init__(self, ctx: Scanned, exemplars: int, width: int, spill: Path | None):
        self.ctx, self.n, self.width = ctx, exemplars, width
        self.code_order = {c: i for i, c in enumerate(ctx.codes)}
        self.rows = _CodeRows(len(self.code_order), spill)
        self.best: dict[str, list[_Candidate]] = {c: [] for c in ctx.codes}
        # the best unit of each document type and speaker, so that every kind of text can be quoted
        self.strata: dict[str, dict[tuple, _Candidate]] = {c: {} for c in ctx.codes}
        units = ctx.units
        self.stratum_of = np.stack([_label_codes(units["doc_type"]), _label_codes(units["speaker"])], axis=1) \
            if len(units) else np.zeros((0, 2), dtype=np.int64)
        self.page_units: dict[str, list[tuple[int, str, str, list]]] = {c: [] for c in ctx.codes}
        self.page_kwic: dict[str, list[tuple]] = {c: [] for c in ctx.codes}

    def document(self, doc_id: str) -> None:
        """Gather one document's rows: its coded units in report order."""
        codings = self.ctx.source.codings(doc_id, self.ctx.coders)
        if not codings:
            return
        by_unit: dict[str, list[tuple]] = {}
        for row in codings:
            if row[3] in self.code_order:  # a coding of the variable alone has no evidence to show
                by_unit.setdefault(row[0], []).append(row)
        if not by_unit:
            return
        ids = list(by_unit)
        positions = self.ctx.positions(doc_id, ids)
        texts = {u[0]: (int(u[1]), u[3] or "") for u in self.ctx.source.units(doc_id) if u[0] in by_unit}
        for pos, uid in sorted((int(p), u) for p, u in zip(positions, ids) if p >= 0 and u in texts):
            self.unit(pos, uid, doc_id, *texts[uid], by_unit[uid])

    def unit(self, pos: int, uid: str, doc_id: str, start: int, text: str, codings: list[tuple]) -> None:
        """Gather one unit's KWIC rows, spans and exemplar standing per code."""
        per_code: dict[str, list[tuple]] = {}
        spans: dict[str, list[tuple[int, int]]] = {}
        terms: dict[str, set[str]] = {}
        for _uid, _coder, var, code, evidence in codings:
            rows = per_code.setdefault(code, [])
            code_spans = spans.setdefault(code, [])
            code_terms = terms.setdefault(code, set())
            for ev in parse_evidence(evidence):
                s, e = int(ev.get("start", 0)), int(ev.get("end", 0))
                ls, le = max(0, s - start), max(0, e - start)
                term = str(ev.get("term", ""))
                rows.append((code, var, doc_id, uid, s, e, _left_context(text[:ls], self.width), term,
                             _right_context(text[le:], self.width), str(ev.get("pattern", ""))))
                code_spans.append((s - start, e - start))
                code_terms.add(term.lower())
        for code, rows in sorted(per_code.items(), key=lambda kv: self.code_order[kv[0]]):
            rows.sort(key=lambda r: (r[4], r[5], r[7], r[9]))
            self.rows.add(self.code_order[code], rows)
            page = self.page_kwic[code]
            page.extend(rows[:max(0, CODE_PAGE_KWIC - len(page))])
            if len(self.page_units[code]) < CODE_PAGE_UNITS:
                self.page_units[code].append((pos, uid, text, spans[code]))
            self._rank(code, _Candidate((-len(terms[code]), len(text), uid), pos, uid, frozenset(terms[code]),
                                        text, spans))

    def _rank(self, code: str, candidate: _Candidate) -> None:
        stratum = tuple(self.stratum_of[candidate.pos]) if len(self.stratum_of) else ()
        strata = self.strata[code]
        if self.n > 0 and (stratum in strata or len(strata) < MAX_STRATA) and \
                (stratum not in strata or candidate < strata[stratum]):
            strata[stratum] = candidate
        best = self.best[code]
        if self.n > 0 and (len(best) < self.n or candidate < best[-1]):
            bisect.insort(best, candidate)
            del best[self.n:]

    def result(self) -> Quotations:
        """The quotations gathered by the pass."""
        texts: dict[str, str] = {}
        spans: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for code, page in self.page_units.items():
            for _pos, uid, text, code_spans in page:
                texts[uid] = text
                spans[(uid, code)] = code_spans
        for code in self.best:
            self.best[code] = stratified(self.best[code], self.strata[code], self.n)
        for best in self.best.values():
            for cand in best:
                texts[cand.unit_id] = cand.text
                spans.update({(cand.unit_id, c): s for c, s in cand.spans.items()})
        return Quotations(kwic=self.rows.table(), exemplars=self._exemplars(),
                          code_units={c: [p[0] for p in page] for c, page in self.page_units.items()},
                          code_kwic=self.page_kwic, texts=texts, spans=spans)

    def _exemplars(self) -> pd.DataFrame:
        """Per code, the units with the most distinct evidence terms (ties: the shorter, then the smaller id)."""
        ctx, rows = self.ctx, []
        meta = ctx.documents.set_index("id")
        words = ctx.units["words"].to_numpy()
        # a unit's document through its row number: an array of every unit's document id costs ~100 MB
        doc_rows, doc_ids = ctx.units["_doc"].to_numpy(), ctx.documents["id"].to_numpy()
        for code, info in ctx.codes.items():
            for rank, cand in enumerate(self.best[code], start=1):
                doc_id = doc_ids[doc_rows[cand.pos]]
                doc = meta.loc[doc_id]
                rows.append({"code": code, "code_label": info["label"], "variable": info["variable"],
                             "rank": rank, "unit_id": cand.unit_id, "document_id": doc_id,
                             "title": doc["title"], "doc_type": doc["doc_type"], "date": doc["date"],
                             "citation": doc["source"] or doc["title"], "distinct_terms": len(cand.terms),
                             "terms": "; ".join(sorted(cand.terms)), "words": int(words[cand.pos]),
                             "text": cand.text.strip()})
        if not rows:
            return pd.DataFrame({c: pd.Series(dtype="object") for c in EXEMPLAR_COLUMNS})
        return pd.DataFrame(rows)[EXEMPLAR_COLUMNS]


#: document type and speaker pairs whose best unit is kept per code (a bound on memory)
MAX_STRATA = 50


def _label_codes(column: pd.Series) -> np.ndarray:
    """An integer per distinct label of a column (categorical codes when it is one)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.int64)
    return pd.factorize(column.fillna("").astype(str))[0].astype(np.int64)


def stratified(best: list[_Candidate], strata: dict[tuple, _Candidate], n: int) -> list[_Candidate]:
    """``n`` exemplars, in rank order: the best unit of each document type
    first (best first), then of each other speaker, then the best of the rest."""
    by_type: dict[Any, _Candidate] = {}
    for stratum, cand in sorted(strata.items(), key=lambda kv: kv[1]):
        by_type.setdefault(stratum[0] if stratum else None, cand)
    chosen: list[_Candidate] = []
    ids: set[str] = set()
    for cand in [*sorted(by_type.values()), *sorted(strata.values()), *best]:
        if len(chosen) >= n:
            break
        if cand.unit_id not in ids:
            chosen.append(cand)
            ids.add(cand.unit_id)
    return sorted(chosen)


def scan_quotations(ctx: Scanned, exemplars: int = 3, width: int = KWIC_CONTEXT, spill: Path | None = None,
                    progress: bool | None = None) -> Quotations:
    """One pass over the coded units of a report context (document by
    document): every evidence match in context (about ``width`` characters
    either side, cut between words; rows by code, unit, then offsets), the
    ``exemplars`` units per code with the most distinct evidence terms, and
    the units and matches each code's page lists. With ``spill`` (a folder),
    the KWIC rows are kept there rather than in memory."""
    state = _Pass(ctx, exemplars, width, Path(spill) if spill is not None else None)
    with stage("quotations", len(ctx.documents), progress) as bar:
        for doc_id in ctx.documents["id"]:
            state.document(doc_id)
            bar.update()
    return state.result()

