"""Bringing an older store up to date: the change of each schema version and
the check that a file is a store of this program before anything is written.

A step adds what its version added (a column); tables and indexes added by a
version come from running :data:`coding.store.schema.SCHEMA` again, whose
statements all say ``IF NOT EXISTS``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from coding.errors import CodingError
from coding.store.schema import APPLICATION_ID, SCHEMA, SCHEMA_VERSION, SPAN_SCHEMA, statements

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
# idempotent, so that it holds whatever number it is given among the other steps
MIGRATIONS[4] = SPAN_SCHEMA.split(";")[0] + ";"

#: The tables a store made before it carried :data:`APPLICATION_ID` always had.
_FIRST_TABLES = {"meta", "documents", "units", "codings"}


def check_and_migrate(db: sqlite3.Connection, path: Path,
                      transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]) -> None:
    """Refuse a database this program did not make, or a schema it does
    not know; bring an older store of its own up to date (in one
    ``transaction``)."""
    _check_ours(db, path)
    version = _schema_version(db, path)
    if version < SCHEMA_VERSION:
        with transaction():
            for v in range(version, SCHEMA_VERSION):
                if v in MIGRATIONS:  # versions without a change of their own have no entry
                    _migrate_step(db, MIGRATIONS[v])
            for statement in statements(SCHEMA):  # new tables and indexes
                db.execute(statement)
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))


def _check_ours(db: sqlite3.Connection, path: Path) -> None:
    app = db.execute("PRAGMA application_id").fetchone()[0]
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not (app == APPLICATION_ID or (app == 0 and _FIRST_TABLES <= tables)):
        raise CodingError("not a project store of this program (another SQLite database); "
                          "nothing was written to it", path)


def _schema_version(db: sqlite3.Connection, path: Path) -> int:
    """The schema version a store records, when this program knows it."""
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    version = row[0] if row else ""
    if not str(version).isdigit() or not 1 <= int(version) <= SCHEMA_VERSION:
        raise CodingError(f"unknown store schema version {version!r} (this program knows 1 to "
                          f"{SCHEMA_VERSION})", path)
    return int(version)


def _migrate_step(db: sqlite3.Connection, statement: str) -> None:
    """One migration step; a column that is already there counts as added (a store made
    between two steps, or steps renumbered when branches of the schema were joined)."""
    try:
        db.execute(statement)
    except sqlite3.OperationalError as exc:
        if "duplicate column name" not in str(exc):
            raise
