"""The project store: one SQLite file holding documents, units, codebook
versions and every coder's codings.

Writes happen in transactions, one document at a time, so a run killed at
any point leaves the last committed state readable and consistent; WAL mode
lets readers open the file while a run writes.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from coding.errors import CodingError
from coding.records import AUTOMATIC_CODERS, Coding, Document, StrPath, Unit, content_hash
from coding.records import evidence_json as _evidence_json

if TYPE_CHECKING:
    from coding.codebook import Codebook

SCHEMA_VERSION = 7
#: Written into the SQLite header of every store this program creates, so
#: that it never writes into a database another program made.
APPLICATION_ID = 0x436F6465  # "Code"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, position INTEGER NOT NULL, title TEXT NOT NULL, doc_type TEXT NOT NULL,
    date TEXT NOT NULL, source TEXT NOT NULL, path TEXT NOT NULL, speaker TEXT NOT NULL,
    content_hash TEXT NOT NULL, text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS units (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, unit_type TEXT NOT NULL, segmentation TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS units_by_document ON units(document_id, segmentation, ordinal);
CREATE TABLE IF NOT EXISTS codebooks (
    version TEXT PRIMARY KEY, path TEXT NOT NULL, content TEXT NOT NULL, added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS codes (
    codebook_version TEXT NOT NULL REFERENCES codebooks(version) ON DELETE CASCADE,
    id TEXT NOT NULL, variable TEXT NOT NULL, label TEXT NOT NULL, definition TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (codebook_version, id)
);
CREATE TABLE IF NOT EXISTS variables (
    codebook_version TEXT NOT NULL REFERENCES codebooks(version) ON DELETE CASCADE,
    id TEXT NOT NULL, label TEXT NOT NULL, definition TEXT NOT NULL, position INTEGER NOT NULL,
    PRIMARY KEY (codebook_version, id)
);
CREATE TABLE IF NOT EXISTS codings (
    unit_id TEXT NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    code TEXT NOT NULL, variable TEXT NOT NULL, coder TEXT NOT NULL,
    codebook_version TEXT NOT NULL, evidence TEXT NOT NULL, created_at TEXT NOT NULL,
    probability REAL,
    PRIMARY KEY (unit_id, coder, codebook_version, variable, code)
);
CREATE INDEX IF NOT EXISTS codings_by_coder ON codings(coder, codebook_version);
-- Which units a coder saw: a unit seen with no coding is 'absent', an unseen one 'missing'.
CREATE TABLE IF NOT EXISTS coverage (
    coder TEXT NOT NULL, unit_id TEXT NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    codebook_version TEXT NOT NULL,
    PRIMARY KEY (coder, codebook_version, unit_id)
);
-- What has been coded automatically: a document, segmented one way, under a codebook version.
CREATE TABLE IF NOT EXISTS coded (
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    segmentation TEXT NOT NULL, coder TEXT NOT NULL, codebook_version TEXT NOT NULL,
    content_hash TEXT NOT NULL, coder_version TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (document_id, segmentation, coder, codebook_version)
);
CREATE TABLE IF NOT EXISTS coders (
    name TEXT PRIMARY KEY, kind TEXT NOT NULL, source TEXT NOT NULL, content_hash TEXT NOT NULL,
    seen TEXT NOT NULL DEFAULT ''
);
-- People's codings (and units they saw: empty variable) whose unit no longer exists, with the
-- unit's old text: kept aside, never deleted, and put back when a unit with that text returns.
CREATE TABLE IF NOT EXISTS orphans (
    coder TEXT NOT NULL, unit_id TEXT NOT NULL, document_id TEXT NOT NULL, segmentation TEXT NOT NULL,
    text TEXT NOT NULL, variable TEXT NOT NULL, code TEXT NOT NULL, codebook_version TEXT NOT NULL,
    evidence TEXT NOT NULL, created_at TEXT NOT NULL, orphaned_at TEXT NOT NULL, reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orphans_by_document ON orphans(document_id, segmentation);
-- What each unit id of a person's last imported coder file meant: the unit's document, offsets,
-- text and a hash of it. A re-import of the same file places its rows by this text, not by id.
CREATE TABLE IF NOT EXISTS anchors (
    coder TEXT NOT NULL, unit_id TEXT NOT NULL, document_id TEXT NOT NULL, segmentation TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text_hash TEXT NOT NULL, text TEXT NOT NULL,
    PRIMARY KEY (coder, unit_id)
);
-- Where and when a person's codings were last imported from (which of two imports is newer).
CREATE TABLE IF NOT EXISTS coder_imports (
    coder TEXT PRIMARY KEY, source TEXT NOT NULL, file_hash TEXT NOT NULL, imported_at TEXT NOT NULL
);
-- Decisions made in the coding app (coding serve), one per coder and unit: how (blind, review or
-- adjudicate), by whom, what a machine coder proposed when one was shown (kept here, apart from the
-- person's codings), the reason given, and the hash of the unit text the person read. A record, not a
-- coding: it outlives changes to its unit (no foreign key), and the hash tells which text it was about.
CREATE TABLE IF NOT EXISTS app_decisions (
    coder TEXT NOT NULL, unit_id TEXT NOT NULL,
    codebook_version TEXT NOT NULL, mode TEXT NOT NULL, person TEXT NOT NULL, proposer TEXT NOT NULL,
    proposal TEXT NOT NULL, reason TEXT NOT NULL, text_hash TEXT NOT NULL, decided_at TEXT NOT NULL,
    PRIMARY KEY (coder, codebook_version, unit_id)
);
"""

#: How long a command waits for another run to let go of the store before it
#: gives up with "another run holds the store" (seconds; said on stderr when
#: it starts waiting).
STORE_WAIT_SECONDS = 30.0

#: Changes from one schema version to the next, applied in order to older stores.
MIGRATIONS = {
    1: "ALTER TABLE coded ADD COLUMN coder_version TEXT NOT NULL DEFAULT '';",
    # 3 (anchors, coder_imports), 4 (span_codings, exchange_notes) and 6 (app_decisions) add tables
    # only: SCHEMA makes them
    # how a coder's seen units came to be: 'recorded', 'inferred-coded', 'inferred-documents'; '' = not
    # known (stored before this was kept)
    5: "ALTER TABLE coders ADD COLUMN seen TEXT NOT NULL DEFAULT '';",
    # a coder's probability of each coding (the mention and learned coders); NULL for the others
    2: "ALTER TABLE codings ADD COLUMN probability REAL;",
}
#: How the units a coder saw came to be known (the ``seen`` column of ``coders``): recorded (by this
#: program, a coder file, a project's ``units seen by`` attribute) or inferred by an import.
SEEN_RECORDED, SEEN_INFERRED = "recorded", ("inferred-coded", "inferred-documents")

# People's codings as they made them in a QDA program (character spans of a document, any length),
# beside the units they map to; and what they wrote there besides codings (memos, cases, notes).
# Not tied to units or documents by foreign keys: a span outlives a change of segmentation.
SPAN_SCHEMA = """
CREATE TABLE IF NOT EXISTS span_codings (
    coder TEXT NOT NULL, document_id TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    code TEXT NOT NULL, variable TEXT NOT NULL, created_at TEXT NOT NULL, memo TEXT NOT NULL,
    status TEXT NOT NULL, label TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS span_codings_by_coder ON span_codings(coder, document_id, start);
CREATE TABLE IF NOT EXISTS exchange_notes (
    coder TEXT NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL, name TEXT NOT NULL, text TEXT NOT NULL,
    author TEXT NOT NULL, created_at TEXT NOT NULL, position INTEGER NOT NULL
);
"""
SCHEMA += SPAN_SCHEMA
# idempotent, so that it holds whatever number it is given among the other steps
MIGRATIONS[4] = SPAN_SCHEMA.split(";")[0] + ";"



class UnitChanged(CodingError):
    """A decision on a unit whose text changed (or that is gone) since it was shown: refused."""


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def evidence_json(coding: Coding) -> str:
    """The evidence of a coding as compact JSON (list of term/pattern/start/end)."""
    return _evidence_json(coding.evidence)


class Store:
    """An SQLite project file. Use as a context manager or call close()."""

    def __init__(self, path):
        self.path = Path(path)
        exists = self.path.is_file() and self.path.stat().st_size > 0
        if not exists:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = None
        try:
            # a short first wait: a longer one is announced on stderr (see _Transaction)
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=min(1.0, STORE_WAIT_SECONDS))
            if exists:
                self._check_and_migrate()
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA synchronous=NORMAL")
            if not exists:
                self._create()
        except sqlite3.OperationalError as exc:
            self.close()
            if _kind(exc) in ("busy", "readonly", "full"):
                raise store_error(exc, self.path) from None
            raise CodingError(f"not a usable project store: {exc}", self.path) from None
        except sqlite3.DatabaseError as exc:
            self.close()
            raise CodingError(f"not a usable project store: {exc}", self.path) from None
        except CodingError:
            self.close()
            raise

    def _create(self) -> None:
        with self.transaction():
            self.db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _check_and_migrate(self) -> None:
        """Refuse a database this program did not make, or a schema it does
        not know; bring an older store of its own up to date."""
        app = self.db.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        ours = app == APPLICATION_ID or (app == 0 and {"meta", "documents", "units", "codings"} <= tables)
        if not ours:
            raise CodingError("not a project store of this program (another SQLite database); "
                              "nothing was written to it", self.path)
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        version = row[0] if row else ""
        if not str(version).isdigit() or not 1 <= int(version) <= SCHEMA_VERSION:
            raise CodingError(f"unknown store schema version {version!r} (this program knows 1 to "
                              f"{SCHEMA_VERSION})", self.path)
        if int(version) < SCHEMA_VERSION:
            with self.transaction():
                for v in range(int(version), SCHEMA_VERSION):
                    if v in MIGRATIONS:  # versions without a change of their own have no entry
                        self._migrate_step(MIGRATIONS[v])
                for statement in SCHEMA.split(";"):  # new tables and indexes
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                self.db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))

    def _migrate_step(self, statement: str) -> None:
        """One migration step; a column that is already there counts as added (a store made
        between two steps, or steps renumbered when branches of the schema were joined)."""
        try:
            self.db.execute(statement)
        except sqlite3.OperationalError as exc:
            if "duplicate column name" not in str(exc):
                raise

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        if isinstance(exc, sqlite3.Error) or _pandas_database_error(exc):
            # a damaged page, a full disk, a lock held too long: one line naming the store
            raise store_error(exc, self.path) from None

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    def lock(self):
        """A context manager that holds this store for one run: a second
        run on the same store is told that another run is in progress
        instead of racing it (an advisory lock on ``<store>.lock``)."""
        return run_lock(self.path)

    def transaction(self):
        """A context manager: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""
        return _Transaction(self.db, self.path)

    # -- codebooks --------------------------------------------------------
    def save_codebook(self, codebook: Codebook) -> None:
        """Record a codebook version and its codes (once per version; two
        runs recording the same version at once both succeed)."""
        if self.db.execute("SELECT 1 FROM codebooks WHERE version=?", (codebook.version,)).fetchone():
            return
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO codebooks VALUES (?,?,?,?)",
                (codebook.version, codebook.path, codebook.content, _now()),
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

    def current_codebook(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key='current_codebook'").fetchone()
        return row[0] if row else None

    def set_segmentation(self, unit_type: str) -> None:
        with self.transaction():  # waits for another writer as every write does
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('segmentation', ?)", (unit_type,))

    def segmentation(self) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key='segmentation'").fetchone()
        return row[0] if row else "paragraph"

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
        now = _now()
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
        now = _now()
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

    # -- human coders -----------------------------------------------------
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
        now = _now()
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
        now = _now()
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
        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        marks = ",".join("?" * len(coders))
        bound = "" if within is None else \
            "AND c.unit_id IN (SELECT unit_id FROM coverage WHERE coder=? AND codebook_version=?)"
        return self.db.execute(
            f"""SELECT c.coder, u.document_id, u.start, u."end", c.code, c.variable
                FROM codings c JOIN units u ON u.id=c.unit_id JOIN documents d ON d.id=u.document_id
                WHERE c.codebook_version=? AND u.segmentation=? AND c.coder IN ({marks}) {bound}
                ORDER BY d.position, u.document_id, u.ordinal, c.coder, c.variable, c.code""",
            [version, seg, *coders, *(() if within is None else (within, version))]).fetchall()

    def seen_ranges(self, coders: list[str], codebook_version: str | None = None,
                    segmentation: str | None = None, within: str | None = None) -> list[tuple]:
        """(coder, unit_id, document_id, start, end) of every unit each of
        ``coders`` saw; ``within`` (a coder): only the units it saw."""
        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        marks = ",".join("?" * len(coders))
        bound = "" if within is None else \
            "AND cv.unit_id IN (SELECT unit_id FROM coverage WHERE coder=? AND codebook_version=?)"
        return self.db.execute(
            f"""SELECT cv.coder, u.id, u.document_id, u.start, u."end" FROM coverage cv JOIN units u ON u.id=cv.unit_id
                WHERE cv.codebook_version=? AND u.segmentation=? AND cv.coder IN ({marks}) {bound}
                ORDER BY u.document_id, u.start, cv.coder""",
            [version, seg, *coders, *(() if within is None else (within, version))]).fetchall()

    # -- reading ----------------------------------------------------------
    @classmethod
    def open_existing(cls, path: StrPath) -> Store:
        """Open a store that must already exist (never create an empty one
        by mistake): a missing file is a one-line error."""
        path = Path(path)
        if not path.is_file():
            raise CodingError("no project store here", path)
        return cls(path)

    def codebook(self, version: str | None = None):
        """The codebook of ``version`` (default: the current one), parsed
        from the copy kept in the store, so reports and exports need not
        find the YAML file again."""
        from coding.codebook import parse_codebook

        version = version or self.current_codebook()
        if version is None:
            raise CodingError("the store holds no coding yet", self.path)
        row = self.db.execute("SELECT path, content FROM codebooks WHERE version=?", (version,)).fetchone()
        if row is None:
            raise CodingError(f"no codebook version {version} in the store", self.path)
        return parse_codebook(row[1], row[0])

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

    def export_rows(self, coders: list[str], codebook_version: str | None = None,
                    segmentation: str | None = None) -> list[tuple]:
        """Codings of ``coders`` with their unit spans, for exchange files:
        (document_id, unit_id, start, end, coder, variable, code, created_at)
        in document, unit, coder, variable and code order."""
        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        marks = ",".join("?" * len(coders))
        return self.db.execute(
            f"""SELECT u.document_id, u.id, u.start, u."end", c.coder, c.variable, c.code, c.created_at
                FROM codings c JOIN units u ON u.id=c.unit_id JOIN documents d ON d.id=u.document_id
                WHERE u.segmentation=? AND c.codebook_version=? AND c.coder IN ({marks})
                ORDER BY d.position, u.ordinal, c.coder, c.variable, c.code""",
            [seg, version, *coders],
        ).fetchall()

    def units_fingerprint(self, unit_ids: Iterable[str], segmentation: str | None = None) -> str:
        """A hash of the current text of the named units (a missing unit
        counts too): it changes when any of them changes."""
        import hashlib

        seg = segmentation or self.segmentation()
        digest = hashlib.sha256()
        for uid in sorted(set(unit_ids)):
            row = self.db.execute("SELECT text FROM units WHERE id=? AND segmentation=?", (uid, seg)).fetchone()
            digest.update(f"{uid}\x00{row[0] if row else chr(0)}\x00".encode())
        return digest.hexdigest()[:16]

    def unit_ids(self, segmentation: str | None = None) -> set[str]:
        seg = segmentation or self.segmentation()
        return {r[0] for r in self.db.execute("SELECT id FROM units WHERE segmentation=?", (seg,))}

    def has_unit(self, unit_id: str, segmentation: str | None = None) -> bool:
        """True when a unit of that id exists in the current (or given)
        segmentation: one lookup, where :meth:`unit_ids` holds every id."""
        seg = segmentation or self.segmentation()
        row = self.db.execute("SELECT 1 FROM units WHERE id=? AND segmentation=?", (unit_id, seg)).fetchone()
        return row is not None

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
               segmentation: str | None = None):
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

    def documents_frame(self):
        """The documents frame of :meth:`frames`: metadata and ``year``, no texts."""
        import pandas as pd

        documents = _read_frame(
            self.db, "SELECT id, title, doc_type, date, source, path, speaker FROM documents ORDER BY position, id", ())
        documents["year"] = pd.array(
            [int(d[:4]) if d[:4].isdigit() else None for d in documents["date"]], dtype="Int64"
        )
        return documents

    def unit_rows(self, segmentation: str | None = None):
        """(unit_id, document_id, ordinal, unit_type, start, end, text, doc_type, speaker of the
        document) of every unit, in the order of :meth:`frames`, streamed from SQLite one row at a
        time (an export never holds every unit text at once)."""
        seg = segmentation or self.segmentation()
        yield from self.db.execute(
            """SELECT u.id, u.document_id, u.ordinal, u.unit_type, u.start, u."end", u.text, d.doc_type, d.speaker
               FROM units u JOIN documents d ON d.id=u.document_id WHERE u.segmentation=?
               ORDER BY d.position, u.ordinal""", (seg,))

    def coding_rows(self, coder: str | None = None, codebook_version: str | None = None,
                    segmentation: str | None = None):
        """The rows of :meth:`codings_frame` (same columns, same order), streamed."""
        query, params = self._codings_query(coder, codebook_version, segmentation)
        yield from self.db.execute(query, params)

    def document(self, document_id: str) -> Document | None:
        """One stored document with its text (None when there is none of that id)."""
        r = self.db.execute("SELECT id, title, doc_type, date, source, path, speaker, content_hash, text "
                            "FROM documents WHERE id=?", (document_id,)).fetchone()
        return None if r is None else Document(id=r[0], title=r[1], doc_type=r[2], date=r[3], source=r[4],
                                               path=r[5], speaker=r[6], content_hash=r[7], text=r[8])

    def _codings_query(self, coder, codebook_version, segmentation,
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
                      segmentation: str | None = None):
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

    def report_units(self, segmentation: str | None = None, chunksize: int = 5_000):
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
                       chunksize: int = 5_000):
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

    def iter_documents(self):
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

    def coverage_rows(self, coder: str, codebook_version: str | None = None, segmentation: str | None = None):
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

    def coverage(self, codebook_version: str | None = None, segmentation: str | None = None):
        """DataFrame of (coder, unit_id): the units of the current (or given)
        segmentation that each coder saw."""

        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        return _read_frame(
            self.db, "SELECT cv.coder, cv.unit_id FROM coverage cv JOIN units u ON u.id=cv.unit_id "
            "WHERE cv.codebook_version=? AND u.segmentation=? ORDER BY cv.coder, cv.unit_id", (version, seg))

    def coded_items(self, level: str = "variable", codebook_version: str | None = None,
                    segmentation: str | None = None):
        """DataFrame of (coder, unit_id, item): which variables (``level``
        "variable") or codes ("code") each coder coded on which unit of the
        current (or given) segmentation, each once; ``item`` is "" for a
        coding without one (a variable coded without a code). The agreement
        audit reads this in place of :meth:`codings_frame`: no evidence, no
        document order."""

        column = "variable" if level == "variable" else "code"
        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        return _read_frame(
            self.db, f"SELECT DISTINCT c.coder, c.unit_id, c.{column} AS item FROM codings c "
            "JOIN units u ON u.id=c.unit_id WHERE c.codebook_version=? AND u.segmentation=?", (version, seg))

    def units_by_id(self, segmentation: str | None = None):
        """(rowid, id) of every unit of the current (or given) segmentation,
        in order of id, streamed 20,000 rows at a time. SQLite orders text
        by its UTF-8 bytes, which is the order of code points, as Python
        sorts strings; the rowid is the unit's key in :meth:`coverage_codes`
        and :meth:`coded_item_codes`."""
        seg = segmentation or self.segmentation()
        cursor = self.db.execute("SELECT rowid, id FROM units WHERE segmentation=? ORDER BY id", (seg,))
        while rows := cursor.fetchmany(20_000):
            yield from rows

    def coverage_codes(self, codebook_version: str | None = None, segmentation: str | None = None):
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
                         segmentation: str | None = None):
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

    def set_coding_times(self, coder: str, codebook_version: str, times: dict[tuple[str, str, str], str]) -> int:
        """Set the ``created_at`` of stored codings of ``coder``, keyed by
        (unit_id, variable, code), e.g. to the times an exchange file gives
        after :meth:`replace_coder` stored them with the time of import.
        Keys without a stored coding are ignored; returns how many were set."""
        rows = [(when, coder, codebook_version, unit, variable, code)
                for (unit, variable, code), when in times.items()]
        with self.transaction():
            before = self.db.total_changes
            self.db.executemany(
                "UPDATE codings SET created_at=? WHERE coder=? AND codebook_version=? AND unit_id=? "
                "AND variable=? AND code=?", rows)
            return self.db.total_changes - before

    # -- the coding app (coding serve) ------------------------------------
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

    def unit_in_context(self, unit_id: str, around: int = 2, segmentation: str | None = None):
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
            now = _now()
            self.db.executemany("INSERT INTO codings (unit_id, code, variable, coder, codebook_version, evidence, "
                                "created_at) VALUES (?,?,?,?,?,?,?)",
                                [(unit_id, c.code, c.variable, coder, version, evidence_json(c), now)
                                 for c in codings])
            self.db.execute("INSERT OR IGNORE INTO coverage VALUES (?,?,?)", (coder, unit_id, version))
            self.db.execute("INSERT OR REPLACE INTO app_decisions VALUES (?,?,?,?,?,?,?,?,?,?)",
                            (coder, unit_id, version, mode, person, proposer, proposal, reason, text_hash, now))
            self.db.execute("INSERT OR IGNORE INTO coders (name, kind, source, content_hash, seen) VALUES (?,?,?,?,?)",
                            (coder, "human", source, "", SEEN_RECORDED))

    # -- spans and notes from exchange files ------------------------------
    def replace_exchange(self, coder: str, spans: list[tuple], notes: list[tuple]) -> None:
        """Replace ``coder``'s span codings and notes at once.

        ``spans``: (document_id, start, end, code, variable, created_at, memo,
        status, label); ``notes``: (kind, target, name, text, author, created_at)."""
        with self.transaction():
            self.db.execute("DELETE FROM span_codings WHERE coder=?", (coder,))
            self.db.execute("DELETE FROM exchange_notes WHERE coder=?", (coder,))
            self.db.executemany("INSERT INTO span_codings VALUES (?,?,?,?,?,?,?,?,?,?)",
                                [(coder, *row) for row in spans])
            self.db.executemany("INSERT INTO exchange_notes VALUES (?,?,?,?,?,?,?,?)",
                                [(coder, *row, i) for i, row in enumerate(notes)])

    def span_codings(self, coder: str | None = None, with_status: bool = False,
                     document_id: str | None = None) -> list[tuple]:
        """People's codings as they made them: (coder, document_id, start,
        end, code, variable, created_at, memo) by coder, document and
        position (with ``with_status``, then the span's status and the
        code's label in the file), of one document with ``document_id``."""
        extra = ", status, label" if with_status else ""
        conditions = [(c, v) for c, v in (("coder=?", coder), ("document_id=?", document_id)) if v is not None]
        where = ("WHERE " + " AND ".join(c for c, _v in conditions)) if conditions else ""
        params = tuple(v for _c, v in conditions)
        return self.db.execute(
            f'SELECT coder, document_id, start, "end", code, variable, created_at, memo{extra} FROM span_codings '
            f'{where} ORDER BY coder, document_id, start, "end", variable, code', params).fetchall()

    def exchange_notes(self, coder: str | None = None) -> list[tuple]:
        """Memos, cases and notes read from exchange files: (coder, kind,
        target, name, text, author, created_at), in the order read."""
        where, params = ("WHERE coder=?", (coder,)) if coder is not None else ("", ())
        return self.db.execute(f"SELECT coder, kind, target, name, text, author, created_at FROM exchange_notes "
                               f"{where} ORDER BY coder, position", params).fetchall()


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


def run_lock(store: StrPath):
    """The advisory lock of one run on the store at ``store`` (taken before
    the store is opened, so that two runs started at once in a new folder do
    not both create it): a second run waits up to :data:`STORE_WAIT_SECONDS`,
    saying so on stderr, then stops with "another run holds the store"."""
    store = Path(store)
    return _RunLock(store.with_name(store.name + ".lock"), store)


class _RunLock:
    def __init__(self, path: Path, store: Path):
        self.path = path
        self.store = store
        self.fh = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform: runs are not guarded
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(self.path, "a+")
        except OSError as exc:
            raise CodingError(f"the store's folder cannot be written ({exc.strerror})", self.store) from None
        if not _try_flock(fcntl, self.fh):
            _say_waiting(self.store)
            deadline = time.monotonic() + STORE_WAIT_SECONDS
            while not _try_flock(fcntl, self.fh):
                if time.monotonic() >= deadline:
                    self.fh.close()
                    self.fh = None
                    raise CodingError(f"another run holds the store (waited {STORE_WAIT_SECONDS:g} s); try again "
                                      "when it has finished", self.store)
                time.sleep(0.1)
        return self

    def __exit__(self, *exc):
        if self.fh is not None:
            self.fh.close()  # closing releases the lock
        return False


def _try_flock(fcntl, fh) -> bool:
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _say_waiting(store: Path) -> None:
    print(f"coding: another run holds {store}; waiting up to {STORE_WAIT_SECONDS:g} s for it", file=sys.stderr)


def _kind(exc: BaseException) -> str:
    """What an SQLite error means for the user: busy, readonly, full, damaged or other."""
    text = str(exc).lower()
    for kind, words in (("busy", ("locked", "busy")), ("readonly", ("readonly", "read-only")),
                        ("full", ("disk is full", "disk i/o error")),
                        ("damaged", ("malformed", "not a database", "corrupt"))):
        if any(w in text for w in words):
            return kind
    return "other"


def _pandas_database_error(exc: BaseException | None) -> bool:
    # pandas wraps SQLite's errors in its own DatabaseError (with the SQL text)
    return type(exc).__name__ == "DatabaseError" and isinstance(exc.__cause__ or exc.__context__, sqlite3.Error)


def store_error(exc: BaseException, path: StrPath, waited: float | None = None) -> CodingError:
    """A one-line error naming the store for an SQLite error ``exc`` (after
    ``waited`` seconds for a lock, when the command waited)."""
    if _pandas_database_error(exc):
        exc = exc.__cause__ or exc.__context__
    kind = _kind(exc)
    waiting = f" (waited {waited:g} s)" if waited is not None else ""
    message = {
        "busy": f"another run holds the store{waiting}; try again when it has finished",
        "readonly": "the store cannot be written (read-only file or folder)",
        "full": f"the store could not be written ({exc}: disk full or file-size limit?); it keeps every "
                "document committed so far",
        "damaged": f"the store is damaged ({exc}); restore it from a copy, or code into a new --out",
    }.get(kind, f"the store cannot be used: {exc}")
    return CodingError(message, path)


class _Transaction:
    def __init__(self, db: sqlite3.Connection, path: Path):
        self.db = db
        self.path = path

    def __enter__(self):
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _kind(exc) != "busy":
                raise
            # another process writes: wait the documented time, saying so, then give up in one line
            _say_waiting(self.path)
            self.db.execute(f"PRAGMA busy_timeout={int(STORE_WAIT_SECONDS * 1000)}")
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as again:
                raise store_error(again, self.path, STORE_WAIT_SECONDS) from None
            finally:
                self.db.execute(f"PRAGMA busy_timeout={int(min(1.0, STORE_WAIT_SECONDS) * 1000)}")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:  # SQLite has rolled back by itself after some errors (a full disk)
            self.db.execute("ROLLBACK")
        return False


def _read_frame(db: sqlite3.Connection, query: str, params: tuple, chunksize: int = 20_000):
    """The rows of ``query`` as a DataFrame, fetched ``chunksize`` at a time:
    SQLite's rows as Python tuples take many times the frame they become, so
    a whole large table fetched at once would set a run's peak memory."""
    import pandas as pd

    # pandas yields one (empty) frame for a query without rows, so there is always a chunk
    chunks = list(pd.read_sql_query(query, db, params=params, chunksize=chunksize))
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def _code_rows(db: sqlite3.Connection, query: str, params: tuple, labels: int, chunksize: int = 20_000):
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
