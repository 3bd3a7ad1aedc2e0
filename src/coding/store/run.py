"""What a run writes and checks in the store: the codebook and settings it
codes under, each document with its units and an automatic coder's codings,
and the documents it removes.

People's codings are never lost here: when a document's text changes, units
whose text is unchanged keep them (matched by text, then by nearest
position), and those of units whose text really changed are kept aside as
orphans with the old text, to return when a unit with that text does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from coding.errors import CodingError
from coding.records import AUTOMATIC_CODERS, Coding, Document, Unit
from coding.store.base import StoreBase, evidence_json, utc_now

if TYPE_CHECKING:
    from coding.codebook import Codebook


class RunQueries(StoreBase):
    """The queries of a run (:mod:`coding.jobs.pipeline`)."""

    def save_codebook(self, codebook: Codebook) -> None:
        """Record a codebook version and its codes (once per version; two
        runs recording the same version at once both succeed)."""
        if self.db.execute("SELECT 1 FROM codebooks WHERE version=?", (codebook.version,)).fetchone():
            return
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO codebooks VALUES (?,?,?,?)",
                (codebook.version, codebook.path, codebook.content, utc_now()),
            )
            self.db.executemany(
                "INSERT OR IGNORE INTO variables VALUES (?,?,?,?,?)",
                [(codebook.version, v.id, v.label, v.definition, i) for i, v in enumerate(codebook.variables)],
            )
            self.db.executemany(
                "INSERT OR IGNORE INTO codes VALUES (?,?,?,?,?,?)",
                [(codebook.version, c.id, c.variable, c.label, c.definition, i) for i, c in enumerate(codebook.codes)],
            )

    def set_current_codebook(self, version: str) -> None:
        with self.transaction():  # waits for another writer as every write does
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('current_codebook', ?)", (version,))

    def set_segmentation(self, unit_type: str) -> None:
        with self.transaction():  # waits for another writer as every write does
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('segmentation', ?)", (unit_type,))

    def set_development_coders(self, coders: list[str]) -> None:
        """Record the people whose units the codebook was tuned on (see coding.coders.provenance)."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('development_coders', ?)", (json.dumps(sorted(coders)),))

    def development_coders(self) -> list[str]:
        row = self.db.execute("SELECT value FROM meta WHERE key='development_coders'").fetchone()
        return json.loads(row[0]) if row else []

    def coder_versions(self, coder: str) -> list[str]:
        """The versions of an automatic coder that coded the stored documents."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT coder_version FROM coded WHERE coder=? "
                                              "ORDER BY coder_version", (coder,))]

    # -- documents and automatic codings ----------------------------------
    def is_coded(self, document: Document, segmentation: str, coder: str, codebook_version: str,
                 coder_version: str = "") -> bool:
        """True when this exact document text is already segmented and coded
        by this coder at this coder version."""
        row = self.db.execute(
            "SELECT content_hash, coder_version FROM coded "
            "WHERE document_id=? AND segmentation=? AND coder=? AND codebook_version=?",
            (document.id, segmentation, coder, codebook_version),
        ).fetchone()
        return row is not None and row[0] == document.content_hash and row[1] == coder_version

    def save_document(self, document: Document, position: int, segmentation: str,
                      units: list[Unit], codings: list[Coding], coder: str, codebook_version: str,
                      coder_version: str = "") -> None:
        """Store a document, its units and one coder's codings in one transaction.

        People's codings are never lost: when a document's text changes,
        units whose text is unchanged keep them (matched by text, then by
        nearest position), and those of units whose text really changed
        are kept aside as orphans with the old text (see :meth:`orphans`);
        they return if a unit with that text comes back.
        """
        with self.transaction():
            old = self.db.execute("SELECT content_hash FROM documents WHERE id=?", (document.id,)).fetchone()
            if old is not None and old[0] != document.content_hash:
                # other segmentations of the old text are stale: their people's codings go aside
                self._orphan_units("document_id=? AND segmentation<>?", (document.id, segmentation),
                                   "document text changed")
                self.db.execute("DELETE FROM units WHERE document_id=? AND segmentation<>?",
                                (document.id, segmentation))
                self.db.execute("DELETE FROM coded WHERE document_id=?", (document.id,))
            self._upsert_document(document, position)
            if self._replace_units(document.id, segmentation, units):
                # other automatic coders' codings went with the old units: they must recode
                self.db.execute("DELETE FROM coded WHERE document_id=? AND segmentation=?",
                                (document.id, segmentation))
            self._replace_codings(document.id, segmentation, units, codings, coder, codebook_version)
            self.db.execute(
                "INSERT OR REPLACE INTO coded VALUES (?,?,?,?,?,?)",
                (document.id, segmentation, coder, codebook_version, document.content_hash, coder_version),
            )

    def _upsert_document(self, document: Document, position: int) -> None:
        self.db.execute(
            """INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(id) DO UPDATE SET position=excluded.position, title=excluded.title,
               doc_type=excluded.doc_type, date=excluded.date, source=excluded.source,
               path=excluded.path, speaker=excluded.speaker, content_hash=excluded.content_hash,
               text=excluded.text""",
            (document.id, position, document.title, document.doc_type, document.date, document.source,
             document.path, document.speaker, document.content_hash, document.text),
        )

    def _replace_codings(self, document_id: str, segmentation: str, units: list[Unit],
                         codings: list[Coding], coder: str, codebook_version: str) -> None:
        in_doc = "unit_id IN (SELECT id FROM units WHERE document_id=? AND segmentation=?)"
        self.db.execute(f"DELETE FROM codings WHERE coder=? AND codebook_version=? AND {in_doc}",
                        (coder, codebook_version, document_id, segmentation))
        now = utc_now()
        self.db.executemany(
            "INSERT INTO codings (unit_id, code, variable, coder, codebook_version, evidence, created_at, "
            "probability) VALUES (?,?,?,?,?,?,?,?)",
            [(c.unit_id, c.code, c.variable, c.coder, c.codebook_version, evidence_json(c), now, c.probability)
             for c in codings],
        )
        self.db.execute(f"DELETE FROM coverage WHERE coder=? AND codebook_version=? AND {in_doc}",
                        (coder, codebook_version, document_id, segmentation))
        self.db.executemany("INSERT INTO coverage VALUES (?,?,?)", [(coder, u.id, codebook_version) for u in units])

    def update_document_metadata(self, document: Document, position: int) -> None:
        """Refresh manifest fields (title, date...) of an unchanged document."""
        with self.transaction():
            self.db.execute(
                "UPDATE documents SET position=?, title=?, doc_type=?, date=?, source=?, path=?, speaker=? "
                "WHERE id=? AND (position, title, doc_type, date, source, path, speaker) IS NOT (?,?,?,?,?,?,?)",
                (position, document.title, document.doc_type, document.date, document.source, document.path,
                 document.speaker, document.id, position, document.title, document.doc_type, document.date,
                 document.source, document.path, document.speaker),
            )

    def _replace_units(self, document_id: str, segmentation: str, units: list[Unit]) -> bool:
        """Store a document's units of one segmentation; True when they changed."""
        current = self.db.execute(
            "SELECT id, start, \"end\", unit_type, text, ordinal FROM units "
            "WHERE document_id=? AND segmentation=? ORDER BY ordinal",
            (document_id, segmentation),
        ).fetchall()
        if [r[:4] for r in current] == [(u.id, u.start, u.end, u.unit_type) for u in units]:
            return False  # same units: keep them, and the human codings that point at them
        people = self._people_rows(document_id, segmentation)
        moved = match_units([(r[0], r[4], r[5]) for r in current], units)
        self.db.execute("DELETE FROM units WHERE document_id=? AND segmentation=?", (document_id, segmentation))
        self.db.executemany(
            "INSERT INTO units VALUES (?,?,?,?,?,?,?,?)",
            [(u.id, u.document_id, u.ordinal, u.unit_type, segmentation, u.start, u.end, u.text) for u in units],
        )
        texts = {r[0]: r[4] for r in current}
        lost = [row for row in people if row[1] not in moved]
        self._restore_people(people, moved)
        self._add_orphans(lost, texts, document_id, segmentation, "unit text changed")
        self._reattach_orphans(document_id, segmentation, units)
        return True

    def _people_rows(self, document_id: str, segmentation: str) -> list[tuple]:
        """People's codings and coverage on a document's units: rows of
        (coder, unit_id, variable, code, codebook_version, evidence, created_at);
        coverage rows have an empty variable."""
        marks = ",".join("?" * len(AUTOMATIC_CODERS))
        in_doc = "unit_id IN (SELECT id FROM units WHERE document_id=? AND segmentation=?)"
        params = (*AUTOMATIC_CODERS, document_id, segmentation)
        codings = self.db.execute(
            f"SELECT coder, unit_id, variable, code, codebook_version, evidence, created_at FROM codings "
            f"WHERE coder NOT IN ({marks}) AND {in_doc}", params).fetchall()
        # coverage is keyed (coder, version, unit): one key lookup per person and version, not a
        # scan of the whole table for every document (which made a first run quadratic in size);
        # sorted by rowid, the rows come in the order the scan gave
        seen = []
        for coder, version in self._coverage_keys():
            if coder not in AUTOMATIC_CODERS:
                seen += self.db.execute(
                    f"SELECT rowid, coder, unit_id, '', '', codebook_version, '', '' FROM coverage "
                    f"WHERE coder=? AND codebook_version=? AND {in_doc}",
                    (coder, version, document_id, segmentation)).fetchall()
        return codings + [row[1:] for row in sorted(seen)]

    def _coverage_keys(self) -> list[tuple[str, str]]:
        """The (coder, codebook_version) pairs in coverage, each found by a
        seek in its primary key (from one pair straight to the next)."""
        # two plain range seeks: a row-value '(coder, version) > (?, ?)' walks every row of the pair
        keys: list[tuple[str, str]] = []
        row = self.db.execute("SELECT coder, codebook_version FROM coverage "
                              "ORDER BY coder, codebook_version LIMIT 1").fetchone()
        while row is not None:
            keys.append(row)
            later = self.db.execute("SELECT codebook_version FROM coverage WHERE coder=? AND codebook_version>? "
                                    "ORDER BY codebook_version LIMIT 1", row).fetchone()
            row = (row[0], later[0]) if later else self.db.execute(
                "SELECT coder, codebook_version FROM coverage WHERE coder>? "
                "ORDER BY coder, codebook_version LIMIT 1", (row[0],)).fetchone()
        return keys

    def _restore_people(self, rows: list[tuple], moved: dict[str, str]) -> None:
        for coder, unit_id, variable, code, version, evidence, created in rows:
            if unit_id not in moved:
                continue
            if variable:
                self.db.execute("INSERT OR IGNORE INTO codings (unit_id, code, variable, coder, codebook_version, "
                                "evidence, created_at) VALUES (?,?,?,?,?,?,?)",
                                (moved[unit_id], code, variable, coder, version, evidence, created))
            else:
                self.db.execute("INSERT OR IGNORE INTO coverage VALUES (?,?,?)", (coder, moved[unit_id], version))

    def _add_orphans(self, rows: list[tuple], texts: dict[str, str], document_id: str, segmentation: str,
                     reason: str) -> None:
        now = utc_now()
        self.db.executemany(
            "INSERT INTO orphans VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [(coder, unit_id, document_id, segmentation, texts.get(unit_id, ""), variable, code, version,
              evidence or "[]", created or now, now, reason)
             for coder, unit_id, variable, code, version, evidence, created in rows],
        )

    def _orphan_units(self, where: str, params: tuple, reason: str) -> None:
        """Put people's codings on the units selected by ``where`` aside."""
        for doc_id, seg in self.db.execute(f"SELECT DISTINCT document_id, segmentation FROM units WHERE {where}",
                                           params).fetchall():
            texts = dict(self.db.execute("SELECT id, text FROM units WHERE document_id=? AND segmentation=?",
                                         (doc_id, seg)).fetchall())
            self._add_orphans(self._people_rows(doc_id, seg), texts, doc_id, seg, reason)

    def _reattach_orphans(self, document_id: str, segmentation: str, units: list[Unit]) -> None:
        """Give orphaned codings back to units of the same document whose
        text is the orphan's text again."""
        rows = self.db.execute(
            "SELECT rowid, coder, unit_id, text, variable, code, codebook_version, evidence, created_at "
            "FROM orphans WHERE document_id=? AND segmentation=?", (document_id, segmentation)).fetchall()
        if not rows:
            return
        by_text: dict[str, list[str]] = {}
        for u in units:
            by_text.setdefault(u.text, []).append(u.id)
        for rowid, coder, unit_id, text, *rest in rows:
            targets = by_text.get(text)
            if targets:
                target = unit_id if unit_id in targets else targets[0]
                self._restore_people([(coder, unit_id, *rest)], {unit_id: target})
                self.db.execute("DELETE FROM orphans WHERE rowid=?", (rowid,))

    def check_removal(self, keep_ids: Iterable[str], prune: bool = False) -> list[str]:
        """The stored documents a run keeping ``keep_ids`` would remove.

        Without ``prune``, removing more than half of the stored documents,
        or any document carrying people's codings, is an error: a manifest
        emptied by mistake must not wipe a project.
        """
        keep = set(keep_ids)
        stored = [r[0] for r in self.db.execute("SELECT id FROM documents ORDER BY id")]
        gone = [d for d in stored if d not in keep]
        if not gone or prune:
            return gone
        marks = ",".join("?" * len(AUTOMATIC_CODERS))
        with_people = [d for d in gone if self.db.execute(
            f"SELECT 1 FROM coverage cv JOIN units u ON u.id=cv.unit_id "
            f"WHERE u.document_id=? AND cv.coder NOT IN ({marks}) LIMIT 1", (d, *AUTOMATIC_CODERS)).fetchone()]
        if with_people:
            raise CodingError(f"the manifest no longer lists {len(gone)} stored document(s), among them "
                              f"{', '.join(with_people[:5])} with people's codings; nothing was changed "
                              "(give --prune to remove them: their people's codings are kept aside as orphans)",
                              self.path)
        if 2 * len(gone) > len(stored):
            raise CodingError(f"the manifest no longer lists {len(gone)} of the {len(stored)} stored documents; "
                              "nothing was changed (give --prune to remove them)", self.path)
        return gone

    def remove_documents_except(self, document_ids: Iterable[str], prune: bool = False) -> list[str]:
        """Delete documents no longer in the corpus (see :meth:`check_removal`);
        people's codings on them are kept aside as orphans. Returns their ids."""
        gone = self.check_removal(document_ids, prune)
        if gone:
            with self.transaction():
                for doc_id in gone:
                    self._orphan_units("document_id=?", (doc_id,), "document removed from the corpus")
                self.db.executemany("DELETE FROM documents WHERE id=?", [(d,) for d in gone])
        return gone

    def orphans(self) -> list[tuple[str, int, int]]:
        """(coder, orphaned units, orphaned codings) per coder, by name."""
        return self.db.execute(
            "SELECT coder, COUNT(DISTINCT document_id || ' ' || unit_id || ' ' || text), "
            "SUM(variable<>'') FROM orphans GROUP BY coder ORDER BY coder").fetchall()



def match_units(old: list[tuple[str, str, int]], new: list[Unit]) -> dict[str, str]:
    """Old unit id -> new unit id for units whose text is unchanged.

    ``old`` holds (id, text, ordinal). Units are matched by identical text;
    where a text occurs more than once, each new unit takes the unused old
    one nearest in position, so an inserted or removed paragraph does not
    move codings onto other units.
    """
    by_text: dict[str, list[tuple[int, str]]] = {}
    for uid, text, ordinal in old:
        by_text.setdefault(text, []).append((ordinal, uid))
    moved: dict[str, str] = {}
    for unit in new:
        candidates = by_text.get(unit.text)
        if not candidates:
            continue
        best = min(candidates, key=lambda c: (abs(c[0] - unit.ordinal), c[0]))
        candidates.remove(best)
        moved[best[1]] = unit.id
    return moved


