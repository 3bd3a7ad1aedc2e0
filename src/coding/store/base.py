"""What every group of the store's queries stands on: the open connection,
the project's settings that scope almost every query (current codebook
version, segmentation), the stored codebook, and small helpers shared by the
groups (the time a row is written, a query read into a DataFrame).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from coding.errors import CodingError
from coding.records import Coding
from coding.records import evidence_json as _evidence_json

if TYPE_CHECKING:
    import pandas as pd

    from coding.codebook import Codebook


class StoreBase:
    """The connection and settings every query group of :class:`coding.store.Store` uses."""

    db: sqlite3.Connection
    path: Path
    #: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error; the Store gives it (it knows how long to wait
    #: for another writer)
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def current_codebook(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key='current_codebook'").fetchone()
        return row[0] if row else None

    def segmentation(self) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key='segmentation'").fetchone()
        return row[0] if row else "paragraph"

    def codebook(self, version: str | None = None) -> Codebook:
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


def utc_now() -> str:
    """The time a row is written: UTC, to the second, ISO 8601."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def evidence_json(coding: Coding) -> str:
    """The evidence of a coding as compact JSON (list of term/pattern/start/end)."""
    return _evidence_json(coding.evidence)


def read_frame(db: sqlite3.Connection, query: str, params: tuple, chunksize: int = 20_000) -> pd.DataFrame:
    """The rows of ``query`` as a DataFrame, fetched ``chunksize`` at a time:
    SQLite's rows as Python tuples take many times the frame they become, so
    a whole large table fetched at once would set a run's peak memory."""
    import pandas as pd

    # pandas yields one (empty) frame for a query without rows, so there is always a chunk
    chunks = list(pd.read_sql_query(query, db, params=params, chunksize=chunksize))
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
