"""People as coders in the store: their codings imported from coder files
(with the anchors that tie each row to its text), the record of every coder,
what they saw and coded, and the removal of a coder.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from coding.errors import CodingError
from coding.records import AUTOMATIC_CODERS, Coding
from coding.store.base import StoreBase, evidence_json, utc_now
from coding.store.schema import SEEN_RECORDED


class PeopleQueries(StoreBase):
    """The queries of coder imports (:mod:`coding.coder_files`, :mod:`coding.anchors`) and
    of ``coding coders``."""

    def replace_coder(self, coder: str, unit_ids: list[str], codings: list[Coding], codebook_version: str,
                      kind: str = "human", source: str = "", content_hash: str = "", seen: str = SEEN_RECORDED) -> None:
        """Replace all of a coder's codings and coverage atomically; ``seen``
        says how ``unit_ids`` are known (see :data:`SEEN_INFERRED`)."""
        with self.transaction():
            self._replace_coder_rows(coder, unit_ids, codings, codebook_version, kind, source, content_hash, seen)

    def _replace_coder_rows(self, coder: str, unit_ids: list[str], codings: list[Coding], codebook_version: str,
                            kind: str, source: str, content_hash: str, seen: str = SEEN_RECORDED) -> None:
        self.db.execute("DELETE FROM codings WHERE coder=? AND codebook_version=?", (coder, codebook_version))
        self.db.execute("DELETE FROM coverage WHERE coder=? AND codebook_version=?", (coder, codebook_version))
        self.db.executemany("INSERT INTO coverage VALUES (?,?,?)", [(coder, u, codebook_version) for u in unit_ids])
        now = utc_now()
        self.db.executemany(
            "INSERT INTO codings (unit_id, code, variable, coder, codebook_version, evidence, created_at) "
            "VALUES (?,?,?,?,?,?,?)",
            [(c.unit_id, c.code, c.variable, coder, codebook_version, evidence_json(c), now) for c in codings],
        )
        self.db.execute("INSERT OR REPLACE INTO coders (name, kind, source, content_hash, seen) VALUES (?,?,?,?,?)",
                        (coder, kind, source, content_hash, seen))
        # a full import is the coder's whole current state: what was set aside before is superseded, and
        # so are spans and notes of an earlier exchange file (an exchange import adds its own after)
        for table in ("orphans", "anchors", "coder_imports", "span_codings", "exchange_notes"):
            self.db.execute(f"DELETE FROM {table} WHERE coder=?", (coder,))

    def replace_person(self, coder: str, unit_ids: list[str], codings: list[Coding], codebook_version: str, *,
                       source: str, content_hash: str, file_hash: str, anchors: list[tuple],
                       orphans: list[tuple]) -> None:
        """:meth:`replace_coder` for a person's coder file, in one transaction
        with what anchors it: ``anchors`` (unit_id as the file names it,
        document_id, segmentation, start, end, text_hash, text) replace the
        coder's anchors; ``orphans`` (unit_id, document_id, segmentation, text,
        variable, code) are rows of the file whose text is no longer in the
        corpus, kept aside (an empty variable: the person saw the unit); the
        import is recorded with its source and time."""
        now = utc_now()
        with self.transaction():
            self._replace_coder_rows(coder, unit_ids, codings, codebook_version, "human", source, content_hash)
            self.db.executemany("INSERT OR REPLACE INTO anchors VALUES (?,?,?,?,?,?,?,?)",
                                [(coder, *row) for row in anchors])
            self.db.executemany(
                "INSERT INTO orphans VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [(coder, uid, doc, seg, text, variable, code, codebook_version, "[]", now, now,
                  "text changed since the coder coded it") for uid, doc, seg, text, variable, code in orphans])
            self.db.execute("INSERT OR REPLACE INTO coder_imports VALUES (?,?,?,?)",
                            (coder, source, file_hash, datetime.now(UTC).isoformat()))

    def anchors(self, coder: str) -> dict[str, tuple]:
        """unit_id -> (document_id, segmentation, start, end, text_hash, text) of
        the units that ``coder``'s last imported file named, as they were then."""
        return {r[0]: r[1:] for r in self.db.execute(
            'SELECT unit_id, document_id, segmentation, start, "end", text_hash, text FROM anchors WHERE coder=?',
            (coder,))}

    def coder_import(self, coder: str) -> tuple[str, str, str] | None:
        """(source, file_hash, imported_at) of ``coder``'s last file import, or None."""
        return self.db.execute("SELECT source, file_hash, imported_at FROM coder_imports WHERE coder=?",
                               (coder,)).fetchone()

    def coder_source(self, coder: str) -> str | None:
        """Where ``coder``'s codings came from (a file path; '' when not known), or None for no such coder."""
        row = self.db.execute("SELECT source FROM coders WHERE name=?", (coder,)).fetchone()
        return row[0] if row else None

    def coder_sources(self) -> list[str]:
        """The files the store's coders were imported from (as recorded), for
        commands that must not write over them."""
        return [r[0] for r in self.db.execute(
            "SELECT source FROM coders WHERE source<>'' UNION SELECT source FROM coder_imports ORDER BY 1")]

    def coder_codings(self, coder: str) -> int | None:
        """How many codings ``coder`` has (every codebook version), or None when
        the store knows no such coder."""
        known = self.db.execute("SELECT 1 FROM coders WHERE name=? UNION ALL SELECT 1 FROM coverage WHERE coder=? "
                                "LIMIT 1", (coder, coder)).fetchone()
        if known is None:
            return None
        return self.db.execute("SELECT COUNT(*) FROM codings WHERE coder=?", (coder,)).fetchone()[0]

    def units_by_ids(self, unit_ids: Iterable[str], segmentation: str | None = None) -> dict[str, tuple]:
        """unit_id -> (document_id, start, end, text) of those of ``unit_ids``
        that exist in the current (or given) segmentation."""
        seg = segmentation or self.segmentation()
        found = {}
        for uid in unit_ids:
            row = self.db.execute('SELECT document_id, start, "end", text FROM units WHERE id=? AND segmentation=?',
                                  (uid, seg)).fetchone()
            if row is not None:
                found[uid] = row
        return found

    def coder_hash(self, coder: str) -> str | None:
        row = self.db.execute("SELECT content_hash FROM coders WHERE name=?", (coder,)).fetchone()
        return row[0] if row else None

    def coders(self, codebook_version: str | None = None) -> list[tuple[str, int, int]]:
        """(coder, units seen, codings) for every coder, by name."""
        version = codebook_version or self.current_codebook()
        return self.db.execute(
            """SELECT cv.coder, COUNT(DISTINCT cv.unit_id),
                      (SELECT COUNT(*) FROM codings c WHERE c.coder=cv.coder AND c.codebook_version=?)
               FROM coverage cv WHERE cv.codebook_version=? GROUP BY cv.coder ORDER BY cv.coder""",
            (version, version),
        ).fetchall()

    def seen_provenance(self) -> dict[str, str]:
        """{coder: how its seen units are known} for the coders with a record:
        ``recorded``, ``inferred-coded``, ``inferred-documents`` or ``""``
        (stored before this was kept). Automatic coders have no record: what
        they saw is what they coded, recorded by the run."""
        return dict(self.db.execute("SELECT name, seen FROM coders ORDER BY name"))

    def coder_items(self, coder: str, level: str) -> tuple[set[str], set[tuple[str, str]]]:
        """(units ``coder`` saw, (unit_id, item) pairs it coded) under the
        current codebook, at level ``variable`` or ``code``."""
        column = "variable" if level == "variable" else "code"
        version = self.current_codebook()
        rows = self.db.execute(
            f"SELECT DISTINCT unit_id, {column} FROM codings "
            f"WHERE coder=? AND codebook_version=? AND {column}<>''",
            (coder, version),
        ).fetchall()
        seen = {r[0] for r in self.db.execute(
            "SELECT unit_id FROM coverage WHERE coder=? AND codebook_version=?", (coder, version))}
        return seen, {(u, i) for u, i in rows}

    def coding_probabilities(self, coder: str) -> dict[tuple[str, str, str], float | None]:
        """(unit_id, variable, code) -> the probability the coder gave that
        coding (None for a coder without one), under the current codebook."""
        rows = self.db.execute(
            "SELECT unit_id, variable, code, probability FROM codings WHERE coder=? AND codebook_version="
            "(SELECT value FROM meta WHERE key='current_codebook') ORDER BY 1, 2, 3", (coder,)).fetchall()
        return {(u, v, c): p for u, v, c, p in rows}

    def coder_names(self, codebook_version: str | None = None) -> list[str]:
        """Coders with codings or coverage under a codebook version, by name."""
        version = codebook_version or self.current_codebook()
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT coder FROM coverage WHERE codebook_version=? UNION "
            "SELECT DISTINCT coder FROM codings WHERE codebook_version=? ORDER BY 1", (version, version))]

    def remove_coder(self, coder: str, allow_automatic: bool = False) -> tuple[int, int]:
        """Delete every coding and coverage row of ``coder`` (all codebook
        versions), its record and its orphaned codings, in one transaction;
        returns (units it had seen, codings deleted). An automatic coder's
        codings are removed only with ``allow_automatic`` (its documents are
        then coded again by the next run); an unknown coder is an error."""
        known = set(self.coder_names()) | {r[0] for r in self.db.execute(
            "SELECT coder FROM coverage UNION SELECT coder FROM codings UNION SELECT name FROM coders")}
        if coder not in known:
            raise CodingError(f"unknown coder '{coder}' (known: {', '.join(sorted(known)) or 'none'})", self.path)
        if coder in AUTOMATIC_CODERS and not allow_automatic:
            raise CodingError(f"'{coder}' is an automatic coder: its codings are removed only when forced",
                              self.path)
        units = self.db.execute("SELECT COUNT(DISTINCT unit_id) FROM coverage WHERE coder=?", (coder,)).fetchone()[0]
        codings = self.db.execute("SELECT COUNT(*) FROM codings WHERE coder=?", (coder,)).fetchone()[0]
        with self.transaction():
            for table in ("codings", "coverage", "orphans", "coded", "span_codings", "exchange_notes", "anchors",
                          "coder_imports", "app_decisions"):
                self.db.execute(f"DELETE FROM {table} WHERE coder=?", (coder,))
            self.db.execute("DELETE FROM coders WHERE name=?", (coder,))
        return units, codings

