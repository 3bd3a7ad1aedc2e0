"""The project store: one SQLite file holding documents, units, codebook
versions and every coder's codings.

Writes happen in transactions, one document at a time, so a run killed at
any point leaves the last committed state readable and consistent; WAL mode
lets readers open the file while a run writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from coding.errors import CodingError
from coding.records import Coding, Document, Unit
from coding.records import evidence_json as _evidence_json

if TYPE_CHECKING:
    from coding.codebook import Codebook

SCHEMA_VERSION = 1

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
    content_hash TEXT NOT NULL,
    PRIMARY KEY (document_id, segmentation, coder, codebook_version)
);
CREATE TABLE IF NOT EXISTS coders (
    name TEXT PRIMARY KEY, kind TEXT NOT NULL, source TEXT NOT NULL, content_hash TEXT NOT NULL
);
"""


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def evidence_json(coding: Coding) -> str:
    """The evidence of a coding as compact JSON (list of term/pattern/start/end)."""
    return _evidence_json(coding.evidence)


class Store:
    """An SQLite project file. Use as a context manager or call close()."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise CodingError(f"not a usable project store: {exc}", self.path) from None
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise CodingError(f"store schema version {row[0]} is not {SCHEMA_VERSION}", self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.db.close()

    def transaction(self):
        """A context manager: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""
        return _Transaction(self.db)

    # -- codebooks --------------------------------------------------------
    def save_codebook(self, codebook: Codebook) -> None:
        """Record a codebook version and its codes (once per version)."""
        if self.db.execute("SELECT 1 FROM codebooks WHERE version=?", (codebook.version,)).fetchone():
            return
        with self.transaction():
            self.db.execute(
                "INSERT INTO codebooks VALUES (?,?,?,?)",
                (codebook.version, codebook.path, codebook.content, _now()),
            )
            self.db.executemany(
                "INSERT INTO variables VALUES (?,?,?,?,?)",
                [(codebook.version, v.id, v.label, v.definition, i) for i, v in enumerate(codebook.variables)],
            )
            self.db.executemany(
                "INSERT INTO codes VALUES (?,?,?,?,?,?)",
                [(codebook.version, c.id, c.variable, c.label, c.definition, i) for i, c in enumerate(codebook.codes)],
            )

    def set_current_codebook(self, version: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('current_codebook', ?)", (version,))

    def current_codebook(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key='current_codebook'").fetchone()
        return row[0] if row else None

    def set_segmentation(self, unit_type: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('segmentation', ?)", (unit_type,))

    def segmentation(self) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key='segmentation'").fetchone()
        return row[0] if row else "paragraph"

    # -- documents and automatic codings ----------------------------------
    def is_coded(self, document: Document, segmentation: str, coder: str, codebook_version: str) -> bool:
        """True when this exact document text is already segmented and coded."""
        row = self.db.execute(
            "SELECT content_hash FROM coded WHERE document_id=? AND segmentation=? AND coder=? AND codebook_version=?",
            (document.id, segmentation, coder, codebook_version),
        ).fetchone()
        return row is not None and row[0] == document.content_hash

    def save_document(self, document: Document, position: int, segmentation: str,
                      units: list[Unit], codings: list[Coding], coder: str, codebook_version: str) -> None:
        """Store a document, its units and one coder's codings in one transaction.

        A document whose text changed loses its old units and with them every
        coding of those units; unchanged units of other segmentations stay.
        """
        with self.transaction():
            old = self.db.execute("SELECT content_hash FROM documents WHERE id=?", (document.id,)).fetchone()
            if old is not None and old[0] != document.content_hash:
                self.db.execute("DELETE FROM units WHERE document_id=?", (document.id,))
                self.db.execute("DELETE FROM coded WHERE document_id=?", (document.id,))
            self.db.execute(
                """INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?)
                   ON CONFLICT(id) DO UPDATE SET position=excluded.position, title=excluded.title,
                   doc_type=excluded.doc_type, date=excluded.date, source=excluded.source,
                   path=excluded.path, speaker=excluded.speaker, content_hash=excluded.content_hash,
                   text=excluded.text""",
                (document.id, position, document.title, document.doc_type, document.date, document.source,
                 document.path, document.speaker, document.content_hash, document.text),
            )
            self._replace_units(document.id, segmentation, units)
            self.db.execute(
                "DELETE FROM codings WHERE coder=? AND codebook_version=? AND unit_id IN "
                "(SELECT id FROM units WHERE document_id=? AND segmentation=?)",
                (coder, codebook_version, document.id, segmentation),
            )
            now = _now()
            self.db.executemany(
                "INSERT INTO codings VALUES (?,?,?,?,?,?,?)",
                [(c.unit_id, c.code, c.variable, c.coder, c.codebook_version, evidence_json(c), now) for c in codings],
            )
            self.db.execute(
                "DELETE FROM coverage WHERE coder=? AND codebook_version=? AND unit_id IN "
                "(SELECT id FROM units WHERE document_id=? AND segmentation=?)",
                (coder, codebook_version, document.id, segmentation),
            )
            self.db.executemany(
                "INSERT INTO coverage VALUES (?,?,?)", [(coder, u.id, codebook_version) for u in units]
            )
            self.db.execute(
                "INSERT OR REPLACE INTO coded VALUES (?,?,?,?,?)",
                (document.id, segmentation, coder, codebook_version, document.content_hash),
            )

    def update_document_metadata(self, document: Document, position: int) -> None:
        """Refresh manifest fields (title, date...) of an unchanged document."""
        self.db.execute(
            "UPDATE documents SET position=?, title=?, doc_type=?, date=?, source=?, path=?, speaker=? "
            "WHERE id=? AND (position, title, doc_type, date, source, path, speaker) IS NOT (?,?,?,?,?,?,?)",
            (position, document.title, document.doc_type, document.date, document.source, document.path,
             document.speaker, document.id, position, document.title, document.doc_type, document.date,
             document.source, document.path, document.speaker),
        )

    def _replace_units(self, document_id: str, segmentation: str, units: list[Unit]) -> None:
        current = self.db.execute(
            "SELECT id, start, \"end\", unit_type FROM units WHERE document_id=? AND segmentation=? ORDER BY ordinal",
            (document_id, segmentation),
        ).fetchall()
        if current == [(u.id, u.start, u.end, u.unit_type) for u in units]:
            return  # same units: keep them, and the human codings that point at them
        self.db.execute("DELETE FROM units WHERE document_id=? AND segmentation=?", (document_id, segmentation))
        self.db.executemany(
            "INSERT INTO units VALUES (?,?,?,?,?,?,?,?)",
            [(u.id, u.document_id, u.ordinal, u.unit_type, segmentation, u.start, u.end, u.text) for u in units],
        )

    def remove_documents_except(self, document_ids: Iterable[str]) -> list[str]:
        """Delete documents no longer in the corpus; returns their ids."""
        keep = set(document_ids)
        gone = [r[0] for r in self.db.execute("SELECT id FROM documents ORDER BY id") if r[0] not in keep]
        if gone:
            with self.transaction():
                self.db.executemany("DELETE FROM documents WHERE id=?", [(d,) for d in gone])
        return gone

    # -- human coders -----------------------------------------------------
    def replace_coder(self, coder: str, unit_ids: list[str], codings: list[Coding], codebook_version: str,
                      kind: str = "human", source: str = "", content_hash: str = "") -> None:
        """Replace all of a coder's codings and coverage atomically."""
        with self.transaction():
            self.db.execute("DELETE FROM codings WHERE coder=? AND codebook_version=?", (coder, codebook_version))
            self.db.execute("DELETE FROM coverage WHERE coder=? AND codebook_version=?", (coder, codebook_version))
            self.db.executemany("INSERT INTO coverage VALUES (?,?,?)", [(coder, u, codebook_version) for u in unit_ids])
            now = _now()
            self.db.executemany(
                "INSERT INTO codings VALUES (?,?,?,?,?,?,?)",
                [(c.unit_id, c.code, c.variable, coder, codebook_version, evidence_json(c), now) for c in codings],
            )
            self.db.execute("INSERT OR REPLACE INTO coders VALUES (?,?,?,?)", (coder, kind, source, content_hash))

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

    # -- reading ----------------------------------------------------------
    @classmethod
    def open_existing(cls, path) -> Store:
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

    def unit_ids(self, segmentation: str | None = None) -> set[str]:
        seg = segmentation or self.segmentation()
        return {r[0] for r in self.db.execute("SELECT id FROM units WHERE segmentation=?", (seg,))}

    def frames(self, coder: str | None = None, codebook_version: str | None = None,
               segmentation: str | None = None):
        """Documents, units and codings as pandas DataFrames (see the README).

        ``coder=None`` gives every coder's codings. Rows are sorted by
        document order, unit ordinal, coder, variable and code.
        """
        import pandas as pd

        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        documents = pd.read_sql_query(
            "SELECT id, title, doc_type, date, source, path, speaker FROM documents ORDER BY position, id", self.db
        )
        documents["year"] = pd.array(
            [int(d[:4]) if d[:4].isdigit() else None for d in documents["date"]], dtype="Int64"
        )
        units = pd.read_sql_query(
            """SELECT u.id AS unit_id, u.document_id, u.ordinal, u.unit_type, u.start, u."end", u.text
               FROM units u JOIN documents d ON d.id=u.document_id WHERE u.segmentation=?
               ORDER BY d.position, u.ordinal""",
            self.db, params=(seg,),
        )
        units["words"] = units["text"].str.split().str.len().fillna(0).astype(int)
        query = """SELECT c.unit_id, u.document_id, c.code, c.variable, c.coder, c.codebook_version, c.evidence
                   FROM codings c JOIN units u ON u.id=c.unit_id JOIN documents d ON d.id=u.document_id
                   WHERE u.segmentation=? AND c.codebook_version=?"""
        params: list = [seg, version]
        if coder is not None:
            query += " AND c.coder=?"
            params.append(coder)
        query += " ORDER BY d.position, u.ordinal, c.coder, c.variable, c.code"
        codings = pd.read_sql_query(query, self.db, params=params)
        return documents, units, codings

    def coverage(self, codebook_version: str | None = None, segmentation: str | None = None):
        """DataFrame of (coder, unit_id): the units of the current (or given)
        segmentation that each coder saw."""
        import pandas as pd

        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        return pd.read_sql_query(
            "SELECT cv.coder, cv.unit_id FROM coverage cv JOIN units u ON u.id=cv.unit_id "
            "WHERE cv.codebook_version=? AND u.segmentation=? ORDER BY cv.coder, cv.unit_id",
            self.db, params=(version, seg),
        )


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
        return False
