"""The store's schema: every table of the project file and what its rows mean.

:data:`SCHEMA` creates a new store's tables (and, run again on an older store
after its migrations, the tables added since); :data:`SCHEMA_VERSION` is the
number a store records in ``meta``. Older stores are brought up to date by
:mod:`coding.store.migrations`.
"""

from __future__ import annotations

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


def statements(script: str) -> list[str]:
    """The SQL statements of ``script`` (``;``-separated), blank ones left out."""
    return [statement for statement in script.split(";") if statement.strip()]
