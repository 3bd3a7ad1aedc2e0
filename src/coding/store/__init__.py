"""The project store: one SQLite file holding documents, units, codebook
versions and every coder's codings; the only place with SQL.

Writes happen in transactions, one document at a time, so a run killed at
any point leaves the last committed state readable and consistent; WAL mode
lets readers open the file while a run writes.

This module opens the file (creating or migrating it), runs transactions and
holds the run lock, and turns SQLite's errors into one line naming the store.
The queries live beside it, grouped by who uses them, and :class:`Store`
combines them:

* :mod:`coding.store.schema` -- every table (where the store's schema is);
* :mod:`coding.store.migrations` -- bringing an older store up to date;
* :mod:`coding.store.run` -- what a run writes (documents, units, automatic codings);
* :mod:`coding.store.people` -- people's coders and their imports;
* :mod:`coding.store.reads` -- documents, units and codings for outputs and reports;
* :mod:`coding.store.coverage` -- who saw and coded what, for the agreement audit;
* :mod:`coding.store.exchange` -- spans and notes of exchange files;
* :mod:`coding.store.app` -- the coding app's reads and decisions.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path
from types import ModuleType, TracebackType
from typing import IO, Literal

from coding.errors import CodingError
from coding.records import StrPath
from coding.store.app import AppQueries, UnitChanged
from coding.store.base import evidence_json
from coding.store.coverage import AgreementQueries
from coding.store.exchange import ExchangeQueries
from coding.store.migrations import MIGRATIONS, check_and_migrate
from coding.store.people import PeopleQueries
from coding.store.reads import ReadQueries
from coding.store.run import RunQueries, match_units
from coding.store.schema import APPLICATION_ID, SCHEMA, SCHEMA_VERSION, SEEN_INFERRED, SEEN_RECORDED, statements

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA", "SCHEMA_VERSION", "SEEN_INFERRED", "SEEN_RECORDED",
           "STORE_WAIT_SECONDS", "Store", "UnitChanged", "evidence_json", "match_units", "run_lock", "store_error"]

#: How long a command waits for another run to let go of the store before it
#: gives up with "another run holds the store" (seconds; said on stderr when
#: it starts waiting).
STORE_WAIT_SECONDS = 30.0


class Store(RunQueries, PeopleQueries, ReadQueries, AgreementQueries, ExchangeQueries, AppQueries):
    """An SQLite project file. Use as a context manager or call close()."""

    def __init__(self, path: StrPath) -> None:
        self.path = Path(path)
        exists = self.path.is_file() and self.path.stat().st_size > 0
        if not exists:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._open = False
        try:
            # a short first wait: a longer one is announced on stderr (see _Transaction)
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=min(1.0, STORE_WAIT_SECONDS))
            self._open = True
            if exists:
                check_and_migrate(self.db, self.path, self.transaction)
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
            for statement in statements(SCHEMA):
                self.db.execute(statement)
            self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    @classmethod
    def open_existing(cls, path: StrPath) -> Store:
        """Open a store that must already exist (never create an empty one
        by mistake): a missing file is a one-line error."""
        path = Path(path)
        if not path.is_file():
            raise CodingError("no project store here", path)
        return cls(path)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
        if exc is not None and (isinstance(exc, sqlite3.Error) or _pandas_database_error(exc)):
            # a damaged page, a full disk, a lock held too long: one line naming the store
            raise store_error(exc, self.path) from None

    def close(self) -> None:
        if self._open:
            self._open = False
            self.db.close()

    def transaction(self) -> _Transaction:
        """A context manager: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""
        return _Transaction(self.db, self.path)


def run_lock(store: StrPath) -> _RunLock:
    """The advisory lock of one run on the store at ``store`` (taken before
    the store is opened, so that two runs started at once in a new folder do
    not both create it): a second run waits up to :data:`STORE_WAIT_SECONDS`,
    saying so on stderr, then stops with "another run holds the store"."""
    store = Path(store)
    return _RunLock(store.with_name(store.name + ".lock"), store)


class _RunLock:
    """An advisory lock on ``path`` for the store at ``store``, held while the ``with`` block runs."""

    def __init__(self, path: Path, store: Path) -> None:
        self.path = path
        self.store = store
        self.fh: IO[str] | None = None

    def __enter__(self) -> _RunLock:
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform: runs are not guarded
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(self.path, "a+")
        except OSError as exc:
            raise CodingError(f"the store's folder cannot be written ({exc.strerror})", self.store) from None
        fh = self.fh
        if not _try_flock(fcntl, fh):
            _say_waiting(self.store)
            deadline = time.monotonic() + STORE_WAIT_SECONDS
            while not _try_flock(fcntl, fh):
                if time.monotonic() >= deadline:
                    fh.close()
                    self.fh = None
                    raise CodingError(f"another run holds the store (waited {STORE_WAIT_SECONDS:g} s); try again "
                                      "when it has finished", self.store)
                time.sleep(0.1)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        if self.fh is not None:
            self.fh.close()  # closing releases the lock
        return False


def _try_flock(fcntl: ModuleType, fh: IO[str]) -> bool:
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
    return (exc is not None and type(exc).__name__ == "DatabaseError"
            and isinstance(exc.__cause__ or exc.__context__, sqlite3.Error))


def store_error(exc: BaseException, path: StrPath, waited: float | None = None) -> CodingError:
    """A one-line error naming the store for an SQLite error ``exc`` (after
    ``waited`` seconds for a lock, when the command waited)."""
    cause = exc.__cause__ or exc.__context__
    if _pandas_database_error(exc) and cause is not None:
        exc = cause
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
    """BEGIN IMMEDIATE ... COMMIT on ``db``, or ROLLBACK when the ``with`` block raises."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
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

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]:
        if exc_type is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:  # SQLite has rolled back by itself after some errors (a full disk)
            self.db.execute("ROLLBACK")
        return False


