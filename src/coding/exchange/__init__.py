"""REFI-QDA exchange: codebooks (``.qdc``) and projects (``.qdpx``).

REFI-QDA (QDA-XML 1.0) is the exchange format of ATLAS.ti, MAXQDA, NVivo,
QualCoder and others. What maps to what:

* Codebook: every variable is a parent code, its codes are child codes; the
  definition is the ``<Description>``; every code is codable. GUIDs are
  derived from the ids (UUID version 5 in a fixed namespace), so exporting
  the same codebook again gives the same GUIDs. Labels must be unique
  across variables and codes (QDA programs merge codes of the same name).
  Other programs write new GUIDs, so a codebook import keeps the ids of the
  current codebook by label (else GUID, else definition), and folds a code
  named like its parent into the parent (QualCoder 3.8.2 writes each parent
  as a category holding a code of the same name), saying so.
* Project: every document is a ``TextSource`` whose text is stored as
  ``sources/<guid>.txt`` (UTF-8, no byte-order mark, LF line ends); every
  coder is a ``User``; every coding is a ``PlainTextSelection`` over the
  unit's characters (``startPosition`` = unit start, ``endPosition`` = unit
  end: 0-based code points, end exclusive) with one ``Coding`` whose
  ``CodeRef`` names the code (a variable-level coding names the variable's
  parent code). Codings keep their times (``creationDateTime``) both ways.
* Document metadata (title, doc_type, date, speaker, source) travels as
  project ``Variables`` with a value on each source (see
  :mod:`~coding.exchange.variables`); import reads and reports it.
* Import keeps each coded selection as a span coding (as the person made
  it, with its memo) and maps it to the units of the matching corpus
  document: a unit counts as coded when the selection covers at least
  ``min_overlap`` of the unit's characters (0.5 by default: more than half
  of a paragraph). Every selection is accounted for per user (kept whole,
  mapped, partial, annotation, refused and why). Codes are matched by GUID,
  label, then definition (:mod:`~coding.exchange.codes`); memos, notes and
  cases are kept and exported back (:mod:`~coding.exchange.notes`). A code's
  examples, patterns and the codebook's settings travel in descriptions
  (:mod:`~coding.exchange.descriptions`). Positions count the characters of the source's text
  file, CRs included, unless the selections' names show that they count
  CRLF as one character (QualCoder's export for MAXQDA).
* Which units a coder saw, coded or not, is exported as a project variable
  ``units seen by <coder>`` (character ranges per source) and read back on
  import; a file without that record (from another program) gets the
  units of the documents the user coded, or of every matched document
  (``seen=``), with a warning in the report.

The package is split by job: :mod:`~coding.exchange.xml` (namespaces, GUIDs,
safe parsing), :mod:`~coding.exchange.archive` (safe archive reading),
:mod:`~coding.exchange.schema` (validation against the shipped XSDs),
:mod:`~coding.exchange.variables` (document variables), :mod:`~coding.exchange.codes`, :mod:`~coding.exchange.notes`,
:mod:`~coding.exchange.descriptions`, :mod:`~coding.exchange.export`, :mod:`~coding.exchange.codebook_import`,
:mod:`~coding.exchange.project_import`, with :mod:`~coding.exchange.project_sources` (the sources read and
matched to documents) and :mod:`~coding.exchange.import_report` (what an import did, per user).

Imported files are untrusted: archive members may not leave the archive,
the archive's size and member count are bounded, and XML with a DTD or
entity declarations is refused.
"""

from coding.exchange.codebook_import import (
    ImportedCode,
    import_codebook,
    read_codebook_codes,
    reuse_ids,
    write_codebook_skeleton,
)
from coding.exchange.export import export_codebook, export_project
from coding.exchange.project_import import ImportReport, import_project
from coding.exchange.schema import validate_schema
from coding.exchange.xml import colour, guid, parse_xml

__all__ = [
    "ImportReport",
    "ImportedCode",
    "colour",
    "export_codebook",
    "export_project",
    "guid",
    "import_codebook",
    "import_project",
    "parse_xml",
    "read_codebook_codes",
    "reuse_ids",
    "validate_schema",
    "write_codebook_skeleton",
]
