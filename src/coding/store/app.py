"""The coding app's queries (``coding serve``): the units in order, one unit
in its context with the codings shown beside it, and a person's decision
stored with the codings it makes, refused when the unit changed since it was
shown.
"""

from __future__ import annotations

from coding.errors import CodingError
from coding.records import Coding, Document, Unit, content_hash
from coding.store.base import StoreBase, evidence_json, utc_now
from coding.store.schema import SEEN_RECORDED


class UnitChanged(CodingError):
    """A decision on a unit whose text changed (or that is gone) since it was shown: refused."""


class AppQueries(StoreBase):
    """The queries of :mod:`coding.app`."""

    def wait_when_busy(self, milliseconds: int) -> None:
        """Wait up to ``milliseconds`` for another writer's transaction to
        end instead of failing with 'database is locked' (several people
        coding the same store at once)."""
        self.db.execute(f"PRAGMA busy_timeout={int(milliseconds)}")

    def unit_order(self, segmentation: str | None = None) -> list[str]:
        """The ids of every unit of the current (or given) segmentation, in
        document and unit order (no texts)."""
        seg = segmentation or self.segmentation()
        return [r[0] for r in self.db.execute(
            "SELECT u.id FROM units u JOIN documents d ON d.id=u.document_id WHERE u.segmentation=? "
            "ORDER BY d.position, u.ordinal", (seg,))]

    def seen_units(self, coder: str, codebook_version: str | None = None) -> set[str]:
        """The ids of the units ``coder`` saw under the current (or given) codebook version."""
        version = codebook_version or self.current_codebook()
        return {r[0] for r in self.db.execute(
            "SELECT unit_id FROM coverage WHERE coder=? AND codebook_version=?", (coder, version))}

    def unit_in_context(self, unit_id: str, around: int = 2,
                        segmentation: str | None = None) -> tuple[Unit, Document, list[tuple]] | None:
        """(unit, document, neighbours) of one unit: the :class:`Unit`, its
        :class:`Document` without text, and (ordinal, text) of the units up to
        ``around`` before and after it; None when there is no such unit."""
        seg = segmentation or self.segmentation()
        r = self.db.execute(
            'SELECT u.id, u.document_id, u.ordinal, u.unit_type, u.start, u."end", u.text, d.title, d.doc_type, '
            "d.date, d.source, d.path, d.speaker, d.content_hash FROM units u JOIN documents d "
            "ON d.id=u.document_id WHERE u.id=? AND u.segmentation=?", (unit_id, seg)).fetchone()
        if r is None:
            return None
        unit = Unit(*r[:7])
        document = Document(id=r[1], title=r[7], doc_type=r[8], date=r[9], source=r[10], path=r[11],
                            speaker=r[12], content_hash=r[13])
        neighbours = self.db.execute(
            "SELECT ordinal, text FROM units WHERE document_id=? AND segmentation=? AND ordinal BETWEEN ? AND ? "
            "AND ordinal<>? ORDER BY ordinal", (unit.document_id, seg, unit.ordinal - around,
                                                unit.ordinal + around, unit.ordinal)).fetchall()
        return unit, document, neighbours

    def unit_codings(self, unit_id: str, coders: list[str], codebook_version: str | None = None) -> list[tuple]:
        """(coder, variable, code, evidence JSON) of ``coders``' codings of one unit."""
        version = codebook_version or self.current_codebook()
        marks = ",".join("?" * len(coders))
        return self.db.execute(
            f"SELECT coder, variable, code, evidence FROM codings WHERE unit_id=? AND codebook_version=? "
            f"AND coder IN ({marks}) ORDER BY coder, variable, code", [unit_id, version, *coders]).fetchall()

    def app_decision(self, coder: str, unit_id: str, codebook_version: str | None = None) -> tuple | None:
        """(mode, person, proposer, proposal JSON, reason, text_hash, decided_at) of the decision the
        coding app stored for ``coder`` on a unit, or None."""
        version = codebook_version or self.current_codebook()
        return self.db.execute(
            "SELECT mode, person, proposer, proposal, reason, text_hash, decided_at FROM app_decisions "
            "WHERE coder=? AND codebook_version=? AND unit_id=?", (coder, version, unit_id)).fetchone()

    def app_decision_counts(self, coder: str, codebook_version: str | None = None) -> dict[str, int]:
        """{mode: decisions} the coding app stored for ``coder``."""
        version = codebook_version or self.current_codebook()
        return dict(self.db.execute("SELECT mode, COUNT(*) FROM app_decisions WHERE coder=? AND codebook_version=? "
                                    "GROUP BY mode ORDER BY mode", (coder, version)).fetchall())

    def save_decision(self, coder: str, unit_id: str, codings: list[Coding], text_hash: str, *, mode: str,
                      person: str, proposer: str = "", proposal: str = "[]", reason: str = "",
                      source: str = "coding serve") -> None:
        """Store one person's decision on one unit in one transaction: the
        unit marked seen, ``codings`` in place of the coder's earlier ones on
        it, and the decision with how it was made. Refused (CodingError, nothing
        written) when the unit is gone or its text no longer has ``text_hash``."""
        version = self.current_codebook()
        seg = self.segmentation()
        with self.transaction():
            row = self.db.execute("SELECT text FROM units WHERE id=? AND segmentation=?", (unit_id, seg)).fetchone()
            if row is None:
                raise UnitChanged("the unit is no longer in the store (the corpus changed since it was shown); "
                                  "nothing was saved", item=unit_id)
            if content_hash(row[0]) != text_hash:
                raise UnitChanged("the unit's text changed since it was shown; nothing was saved, look at it again",
                                  item=unit_id)
            self.db.execute("DELETE FROM codings WHERE coder=? AND codebook_version=? AND unit_id=?",
                            (coder, version, unit_id))
            now = utc_now()
            self.db.executemany("INSERT INTO codings (unit_id, code, variable, coder, codebook_version, evidence, "
                                "created_at) VALUES (?,?,?,?,?,?,?)",
                                [(unit_id, c.code, c.variable, coder, version, evidence_json(c), now)
                                 for c in codings])
            self.db.execute("INSERT OR IGNORE INTO coverage VALUES (?,?,?)", (coder, unit_id, version))
            self.db.execute("INSERT OR REPLACE INTO app_decisions VALUES (?,?,?,?,?,?,?,?,?,?)",
                            (coder, unit_id, version, mode, person, proposer, proposal, reason, text_hash, now))
            self.db.execute("INSERT OR IGNORE INTO coders (name, kind, source, content_hash, seen) VALUES (?,?,?,?,?)",
                            (coder, "human", source, "", SEEN_RECORDED))

