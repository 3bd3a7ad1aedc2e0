"""Who saw which unit and coded what, as the agreement audit, validation and
span agreement read it: coverage and coded items as frames or as integer
arrays for large stores, seen units by rule, and unit codings as spans.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING

from coding.errors import CodingError
from coding.store.base import StoreBase, read_frame

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


class AgreementQueries(StoreBase):
    """The reads of :mod:`coding.agreement` (and of the exports that write what each coder saw)."""

    def seen_by_rule(self, coder: str, rule: str, codebook_version: str | None = None,
                     segmentation: str | None = None) -> list[tuple[int, str]]:
        """(rowid, unit_id) of the units ``coder`` saw, taken by ``rule``:
        ``coded-units`` only the units it coded, ``coded-documents`` the units
        it saw in the documents where it coded something."""
        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        coded = ("SELECT DISTINCT c.unit_id FROM codings c JOIN units u ON u.id=c.unit_id "
                 "WHERE c.coder=? AND c.codebook_version=? AND u.segmentation=?")
        if rule == "coded-units":
            where = f"u.id IN ({coded})"
        elif rule == "coded-documents":
            where = f"u.document_id IN (SELECT document_id FROM units WHERE id IN ({coded}))"
        else:
            raise CodingError(f"unknown seen rule '{rule}' (use coded-documents or coded-units)")
        return self.db.execute(
            f"SELECT u.rowid, u.id FROM coverage cv JOIN units u ON u.id=cv.unit_id WHERE cv.coder=? "
            f"AND cv.codebook_version=? AND u.segmentation=? AND {where} ORDER BY u.id",
            (coder, version, seg, coder, version, seg)).fetchall()

    def unit_spans(self, coders: list[str], codebook_version: str | None = None,
                   segmentation: str | None = None, within: str | None = None) -> list[tuple]:
        """``coders``' unit codings as spans: (coder, document_id, start, end,
        code, variable), a coding covering its unit's characters [start, end);
        a coding of a variable without a code has code "". In document, unit,
        coder and code order. ``within`` (a coder): only the units it saw."""
        marks, bound, params = self._coders_scope("c", coders, codebook_version, segmentation, within)
        return self.db.execute(
            f"""SELECT c.coder, u.document_id, u.start, u."end", c.code, c.variable
                FROM codings c JOIN units u ON u.id=c.unit_id JOIN documents d ON d.id=u.document_id
                WHERE c.codebook_version=? AND u.segmentation=? AND c.coder IN ({marks}) {bound}
                ORDER BY d.position, u.document_id, u.ordinal, c.coder, c.variable, c.code""",
            params).fetchall()

    def seen_ranges(self, coders: list[str], codebook_version: str | None = None,
                    segmentation: str | None = None, within: str | None = None) -> list[tuple]:
        """(coder, unit_id, document_id, start, end) of every unit each of
        ``coders`` saw; ``within`` (a coder): only the units it saw."""
        marks, bound, params = self._coders_scope("cv", coders, codebook_version, segmentation, within)
        return self.db.execute(
            f"""SELECT cv.coder, u.id, u.document_id, u.start, u."end" FROM coverage cv JOIN units u ON u.id=cv.unit_id
                WHERE cv.codebook_version=? AND u.segmentation=? AND cv.coder IN ({marks}) {bound}
                ORDER BY u.document_id, u.start, cv.coder""",
            params).fetchall()

    def _coders_scope(self, alias: str, coders: list[str], codebook_version: str | None,
                      segmentation: str | None, within: str | None) -> tuple[str, str, list]:
        """Placeholders for ``coders``, the clause keeping the rows of table ``alias`` to the
        units ``within`` saw (empty without it), and the parameters: version, segmentation,
        coders, then those of the clause."""
        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        bound = "" if within is None else \
            f"AND {alias}.unit_id IN (SELECT unit_id FROM coverage WHERE coder=? AND codebook_version=?)"
        params = [version, seg, *coders, *(() if within is None else (within, version))]
        return ",".join("?" * len(coders)), bound, params

    def coverage(self, codebook_version: str | None = None, segmentation: str | None = None) -> pd.DataFrame:
        """DataFrame of (coder, unit_id): the units of the current (or given)
        segmentation that each coder saw."""

        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        return read_frame(
            self.db, "SELECT cv.coder, cv.unit_id FROM coverage cv JOIN units u ON u.id=cv.unit_id "
            "WHERE cv.codebook_version=? AND u.segmentation=? ORDER BY cv.coder, cv.unit_id", (version, seg))

    def coded_items(self, level: str = "variable", codebook_version: str | None = None,
                    segmentation: str | None = None) -> pd.DataFrame:
        """DataFrame of (coder, unit_id, item): which variables (``level``
        "variable") or codes ("code") each coder coded on which unit of the
        current (or given) segmentation, each once; ``item`` is "" for a
        coding without one (a variable coded without a code). The agreement
        audit reads this in place of :meth:`codings_frame`: no evidence, no
        document order."""

        column = "variable" if level == "variable" else "code"
        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        return read_frame(
            self.db, f"SELECT DISTINCT c.coder, c.unit_id, c.{column} AS item FROM codings c "
            "JOIN units u ON u.id=c.unit_id WHERE c.codebook_version=? AND u.segmentation=?", (version, seg))

    def units_by_id(self, segmentation: str | None = None) -> Iterator[tuple[int, str]]:
        """(rowid, id) of every unit of the current (or given) segmentation,
        in order of id, streamed 20,000 rows at a time. SQLite orders text
        by its UTF-8 bytes, which is the order of code points, as Python
        sorts strings; the rowid is the unit's key in :meth:`coverage_codes`
        and :meth:`coded_item_codes`."""
        seg = segmentation or self.segmentation()
        cursor = self.db.execute("SELECT rowid, id FROM units WHERE segmentation=? ORDER BY id", (seg,))
        while rows := cursor.fetchmany(20_000):
            yield from rows

    def coverage_codes(self, codebook_version: str | None = None,
                       segmentation: str | None = None) -> Iterator[tuple[list[str], np.ndarray, np.ndarray]]:
        """:meth:`coverage` as integer arrays, for large stores (no unit id
        strings kept), 20,000 rows at a time: yields ``(coders, coder,
        unit)``, ``coders`` the coder names met so far, ``coder`` the
        position in it of each row's coder and ``unit`` the rowid of its
        unit (see :meth:`units_by_id`)."""
        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        for (coders,), (coder, unit) in _code_rows(
                self.db, "SELECT cv.coder, u.rowid FROM coverage cv JOIN units u ON u.id=cv.unit_id "
                "WHERE cv.codebook_version=? AND u.segmentation=?", (version, seg), labels=1):
            yield coders, coder, unit

    def coded_item_codes(self, level: str = "variable", codebook_version: str | None = None,
                         segmentation: str | None = None) -> Iterator[tuple[list[str], list[str], np.ndarray,
                                                                          np.ndarray, np.ndarray]]:
        """:meth:`coded_items` as integer arrays, 20,000 codings at a time:
        yields ``(coders, items, coder, unit, item)``, the names of the
        coders and items met so far and for each coding the positions of its
        coder and item among them and its unit's rowid (see
        :meth:`units_by_id`). A (coder, unit, item) may repeat (one row per
        code at the variable level)."""
        column = "variable" if level == "variable" else "code"
        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        for (coders, items), (coder, item, unit) in _code_rows(
                self.db, f"SELECT c.coder, c.{column}, u.rowid FROM codings c JOIN units u ON u.id=c.unit_id "
                "WHERE c.codebook_version=? AND u.segmentation=?", (version, seg), labels=2):
            yield coders, items, coder, unit, item



def _code_rows(db: sqlite3.Connection, query: str, params: tuple, labels: int,
               chunksize: int = 20_000) -> Iterator[tuple[list[list[str]], list[np.ndarray]]]:
    """The rows of ``query`` as integer arrays, ``chunksize`` rows at a time:
    yields (lists, arrays). The first ``labels`` columns (text) become
    positions in lists of their distinct values in order of appearance (the
    lists grow from chunk to chunk), the others stay integers; one array per
    column."""
    import numpy as np

    names: list[dict] = [{} for _ in range(labels)]
    cursor = db.execute(query, params)
    while rows := cursor.fetchmany(chunksize):
        columns = list(zip(*rows))
        coded = [np.fromiter((n.setdefault(v, len(n)) for v in col), np.int32, len(col))
                 for n, col in zip(names, columns)]
        yield [list(n) for n in names], coded + [np.fromiter(col, np.int64, len(col)) for col in columns[labels:]]
