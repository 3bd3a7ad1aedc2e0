"""Reads of documents, units and codings for outputs and reports: whole
tables as DataFrames, the same rows streamed, and the reads a report of a
large corpus makes one document at a time, with the digest that tells
whether a report is current.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from coding.records import Document, Unit
from coding.store.base import StoreBase, read_frame

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


class ReadQueries(StoreBase):
    """The reads of the outputs (:mod:`coding.jobs.pipeline`), reports (:mod:`coding.reports`)
    and every command that shows the stored corpus."""

    def documents(self) -> list[Document]:
        """Every stored document with its text, in corpus order."""
        return [Document(id=r[0], title=r[1], doc_type=r[2], date=r[3], source=r[4], path=r[5],
                         speaker=r[6], content_hash=r[7], text=r[8])
                for r in self.db.execute(
                    "SELECT id, title, doc_type, date, source, path, speaker, content_hash, text "
                    "FROM documents ORDER BY position, id")]

    def units(self, segmentation: str | None = None) -> list[Unit]:
        """Every unit of a segmentation (default: the current one), in
        document and unit order."""
        seg = segmentation or self.segmentation()
        return [Unit(*r) for r in self.db.execute(
            'SELECT u.id, u.document_id, u.ordinal, u.unit_type, u.start, u."end", u.text '
            "FROM units u JOIN documents d ON d.id=u.document_id WHERE u.segmentation=? "
            "ORDER BY d.position, u.ordinal", (seg,))]

    def unit_ids(self, segmentation: str | None = None) -> set[str]:
        seg = segmentation or self.segmentation()
        return {r[0] for r in self.db.execute("SELECT id FROM units WHERE segmentation=?", (seg,))}

    def coding_counts(self, coder: str, codebook_version: str | None = None,
                      segmentation: str | None = None) -> tuple[int, dict[str, tuple[int, int]]]:
        """(units of the documents, {variable: (codings, units coded)}) of one
        coder, counted by SQLite over the rows :meth:`frames` would give."""
        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        units = self.db.execute("SELECT COUNT(*) FROM units u JOIN documents d ON d.id=u.document_id "
                                "WHERE u.segmentation=?", (seg,)).fetchone()[0]
        rows = self.db.execute(
            """SELECT c.variable, COUNT(*), COUNT(DISTINCT c.unit_id)
               FROM codings c JOIN units u ON u.id=c.unit_id JOIN documents d ON d.id=u.document_id
               WHERE u.segmentation=? AND c.codebook_version=? AND c.coder=? GROUP BY c.variable""",
            (seg, version, coder))
        return units, {variable: (n, n_units) for variable, n, n_units in rows}

    def frames(self, coder: str | None = None, codebook_version: str | None = None,
               segmentation: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Documents, units and codings as pandas DataFrames (see the README).

        ``coder=None`` gives every coder's codings. Rows are sorted by
        document order, unit ordinal, coder, variable and code.
        """
        import pandas as pd

        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        documents = self.documents_frame()
        units = pd.read_sql_query(
            """SELECT u.id AS unit_id, u.document_id, u.ordinal, u.unit_type, u.start, u."end", u.text
               FROM units u JOIN documents d ON d.id=u.document_id WHERE u.segmentation=?
               ORDER BY d.position, u.ordinal""",
            self.db, params=(seg,),
        )
        # one unit's word list at a time (str.split over the column builds every list at once: GBs)
        units["words"] = pd.array([len(t.split()) if isinstance(t, str) else 0 for t in units["text"]],
                                  dtype="int64").to_numpy()
        return documents, units, self.codings_frame(coder, version, seg)

    def documents_frame(self) -> pd.DataFrame:
        """The documents frame of :meth:`frames`: metadata and ``year``, no texts."""
        import pandas as pd

        documents = read_frame(
            self.db, "SELECT id, title, doc_type, date, source, path, speaker FROM documents ORDER BY position, id", ())
        documents["year"] = pd.array(
            [int(d[:4]) if d[:4].isdigit() else None for d in documents["date"]], dtype="Int64"
        )
        return documents

    def unit_rows(self, segmentation: str | None = None) -> Iterator[tuple]:
        """(unit_id, document_id, ordinal, unit_type, start, end, text, doc_type, speaker of the
        document) of every unit, in the order of :meth:`frames`, streamed from SQLite one row at a
        time (an export never holds every unit text at once)."""
        seg = segmentation or self.segmentation()
        yield from self.db.execute(
            """SELECT u.id, u.document_id, u.ordinal, u.unit_type, u.start, u."end", u.text, d.doc_type, d.speaker
               FROM units u JOIN documents d ON d.id=u.document_id WHERE u.segmentation=?
               ORDER BY d.position, u.ordinal""", (seg,))

    def coding_rows(self, coder: str | None = None, codebook_version: str | None = None,
                    segmentation: str | None = None, with_probability: bool = False) -> Iterator[tuple]:
        """The rows of :meth:`codings_frame` (same columns, same order),
        streamed; ``with_probability`` adds each coding's probability (None
        for a coder that gives none) as a last column."""
        query, params = self._codings_query(coder, codebook_version, segmentation,
                                            "c.evidence, c.probability" if with_probability else "c.evidence")
        yield from self.db.execute(query, params)

    def document(self, document_id: str) -> Document | None:
        """One stored document with its text (None when there is none of that id)."""
        r = self.db.execute("SELECT id, title, doc_type, date, source, path, speaker, content_hash, text "
                            "FROM documents WHERE id=?", (document_id,)).fetchone()
        return None if r is None else Document(id=r[0], title=r[1], doc_type=r[2], date=r[3], source=r[4],
                                               path=r[5], speaker=r[6], content_hash=r[7], text=r[8])

    def _codings_query(self, coder: str | None, codebook_version: str | None, segmentation: str | None,
                       evidence: str = "c.evidence") -> tuple[str, list]:
        """The SQL (and parameters) of the codings of the current or given version and segmentation."""
        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        query = f"""SELECT c.unit_id, u.document_id, c.code, c.variable, c.coder, c.codebook_version, {evidence}
                   FROM codings c JOIN units u ON u.id=c.unit_id JOIN documents d ON d.id=u.document_id
                   WHERE u.segmentation=? AND c.codebook_version=?"""
        params: list = [seg, version]
        if coder is not None:
            query += " AND c.coder=?"
            params.append(coder)
        return query + " ORDER BY d.position, u.ordinal, c.coder, c.variable, c.code", params

    def codings_frame(self, coder: str | None = None, codebook_version: str | None = None,
                      segmentation: str | None = None) -> pd.DataFrame:
        """The codings frame of :meth:`frames` alone: for readers that need
        no unit texts (the agreement audit, the document pages), so that they
        do not read and split every unit of the store."""
        import pandas as pd

        query, params = self._codings_query(coder, codebook_version, segmentation)
        return pd.read_sql_query(query, self.db, params=params)

    # ------------------------------------------------------------------ reads for reports at scale
    # A report of a large corpus never holds every unit text or evidence list at once: it reads the
    # units and codings without them, then one document at a time for the passes that need text.
    # CROSS JOIN keeps SQLite on the document's units first (units_by_document), then the codings'
    # primary key: left to itself it scans every coding of the coder for each document (quadratic).

    def report_units(self, segmentation: str | None = None, chunksize: int = 5_000) -> Iterator[pd.DataFrame]:
        """The units frame of :meth:`frames` without the texts (same order),
        in chunks of ``chunksize`` rows (SQLite's rows as Python tuples cost
        ten times the frame they become), with ``unit_row``: the unit's rowid,
        which keys the codings and coverage of a report without id strings."""
        import pandas as pd

        seg = segmentation or self.segmentation()
        query = """SELECT u.id AS unit_id, u.rowid AS unit_row, u.document_id, u.ordinal, u.unit_type, u.start,
                          u."end"
                   FROM units u JOIN documents d ON d.id=u.document_id WHERE u.segmentation=?
                   ORDER BY d.position, u.ordinal"""
        yield from pd.read_sql_query(query, self.db, params=(seg,), chunksize=chunksize)

    def report_codings(self, coder: str, codebook_version: str | None = None, segmentation: str | None = None,
                       chunksize: int = 5_000) -> Iterator[pd.DataFrame]:
        """The codings of ``coder`` for a report, in chunks of ``chunksize``
        rows: ``unit_row`` (the unit's ``unit_row`` in :meth:`report_units`),
        code, variable, coder, codebook_version and ``n_evidence`` (the length
        of the evidence list), without unit ids or evidence JSON."""
        import pandas as pd

        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        query = """SELECT u.rowid AS unit_row, c.code, c.variable, c.coder, c.codebook_version,
                          json_array_length(c.evidence) AS n_evidence
                   FROM codings c JOIN units u ON u.id=c.unit_id
                   WHERE u.segmentation=? AND c.codebook_version=? AND c.coder=?"""
        yield from pd.read_sql_query(query, self.db, params=(seg, version, coder), chunksize=chunksize)

    def iter_documents(self) -> Iterator[Document]:
        """Every stored document with its text, in corpus order, one at a time."""
        for r in self.db.execute("SELECT id, title, doc_type, date, source, path, speaker, content_hash, text "
                                 "FROM documents ORDER BY position, id"):
            yield Document(id=r[0], title=r[1], doc_type=r[2], date=r[3], source=r[4], path=r[5],
                           speaker=r[6], content_hash=r[7], text=r[8])

    def document_units(self, document_id: str, segmentation: str | None = None) -> list[tuple]:
        """(unit_id, start, end, text) of one document's units, in unit order."""
        seg = segmentation or self.segmentation()
        return self.db.execute('SELECT id, start, "end", text FROM units WHERE document_id=? AND segmentation=? '
                               "ORDER BY ordinal", (document_id, seg)).fetchall()

    def document_codings(self, document_id: str, coders: list[str], codebook_version: str | None = None,
                         segmentation: str | None = None) -> list[tuple]:
        """(unit_id, coder, variable, code, evidence JSON) of ``coders``' codings
        of one document, in unit, coder, variable and code order."""
        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        marks = ",".join("?" * len(coders))
        return self.db.execute(
            f"""SELECT c.unit_id, c.coder, c.variable, c.code, c.evidence
                FROM units u CROSS JOIN codings c ON c.unit_id=u.id
                WHERE u.document_id=? AND u.segmentation=? AND c.codebook_version=? AND c.coder IN ({marks})
                ORDER BY u.ordinal, c.coder, c.variable, c.code""",
            [document_id, seg, version, *coders]).fetchall()

    def document_coverage(self, document_id: str, coders: list[str], codebook_version: str | None = None,
                          segmentation: str | None = None) -> list[tuple]:
        """(coder, unit_id) of the units of one document that each of ``coders`` saw."""
        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        marks = ",".join("?" * len(coders))
        return self.db.execute(
            f"""SELECT cv.coder, cv.unit_id FROM units u CROSS JOIN coverage cv ON cv.unit_id=u.id
                WHERE u.document_id=? AND u.segmentation=? AND cv.codebook_version=? AND cv.coder IN ({marks})""",
            [document_id, seg, version, *coders]).fetchall()

    def coverage_rows(self, coder: str, codebook_version: str | None = None,
                      segmentation: str | None = None) -> np.ndarray:
        """The ``unit_row`` (see :meth:`report_units`) of every unit of the current
        (or given) segmentation that ``coder`` saw, as a sorted int64 array."""
        import numpy as np

        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        rows = self.db.execute("SELECT u.rowid FROM coverage cv JOIN units u ON u.id=cv.unit_id "
                               "WHERE cv.coder=? AND cv.codebook_version=? AND u.segmentation=?",
                               (coder, version, seg))
        return np.sort(np.fromiter((r[0] for r in rows), dtype=np.int64))

    def content_digest(self) -> str:
        """SHA-256 of everything a report of the current codebook version and
        segmentation is computed from: documents (metadata and content hash),
        units, codings, coverage, coders and the codebook. Equal digests mean
        an unchanged rerun (see coding.reports.project.report_is_current);
        rows are hashed as SQLite streams them, in a fixed order, without
        building frames."""
        import hashlib

        version, seg = self.current_codebook() or "", self.segmentation()
        digest = hashlib.sha256(f"{version}\x1f{seg}\x1e".encode())
        queries = [
            ("SELECT id, position, title, doc_type, date, source, path, speaker, content_hash FROM documents "
             "ORDER BY id", ()),
            ('SELECT id, document_id, ordinal, unit_type, start, "end" FROM units WHERE segmentation=? ORDER BY id',
             (seg,)),
            ("SELECT c.unit_id, c.code, c.variable, c.coder, c.evidence FROM codings c JOIN units u ON u.id=c.unit_id "
             "WHERE c.codebook_version=? AND u.segmentation=? ORDER BY c.unit_id, c.coder, c.variable, c.code, "
             "c.evidence", (version, seg)),
            ("SELECT coder, unit_id FROM coverage WHERE codebook_version=? ORDER BY coder, unit_id", (version,)),
            ("SELECT name, kind, source, content_hash, seen FROM coders ORDER BY name", ()),
            ("SELECT content FROM codebooks WHERE version=?", (version,)),
        ]
        for query, params in queries:
            digest.update(b"\x1d")  # tables apart: rows never run into the next table's
            for row in self.db.execute(query, params):
                digest.update("\x1f".join(map(str, row)).encode("utf-8", "surrogatepass") + b"\x1e")
        return digest.hexdigest()

