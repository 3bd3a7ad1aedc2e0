"""The plain records every stage passes on: documents, units, codings and
their evidence, and what any coder is.

This module imports nothing heavy (no spaCy, no pandas), so that the store,
the audit and the exchange formats can use these records without loading
the language layer.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from json.encoder import encode_basestring as _json_str
from typing import Protocol, runtime_checkable

#: A file or folder argument: a string or a path.
StrPath = str | os.PathLike

#: Name of the dictionary (pattern) coder, the default automatic coder.
AUTO = "auto"
#: Name of the coder that learns from human coding.
LEARNED = "learned"
#: Name of the coder that reads each mention in context (coding.coders.mentions).
MENTIONS = "mentions"
#: Coders whose codings are made by software; every other coder is a person
#: (or a file from another program) and its codings are never thrown away.
AUTOMATIC_CODERS = (AUTO, LEARNED, MENTIONS)
#: The two levels at which coders code and agreement is measured.
CODING_LEVELS = ("variable", "code")

_DATE = re.compile(r"^(\d{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


def content_hash(text: str) -> str:
    """SHA-256 of the text (UTF-8), the identity of a document's content."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Document:
    """A document of the corpus with its extracted text."""

    id: str
    title: str
    doc_type: str
    date: str
    source: str
    path: str
    text: str = ""
    speaker: str = ""
    encoding: str = ""
    content_hash: str = ""

    @property
    def year(self) -> int | None:
        m = _DATE.match(self.date or "")
        return int(m.group(1)) if m else None


@dataclass(frozen=True)
class Unit:
    """A unit of analysis with its offsets in the document text."""

    id: str
    document_id: str
    ordinal: int
    unit_type: str
    start: int
    end: int
    text: str

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class Evidence:
    """Why a unit got a code: a pattern hit (matched text, pattern, document
    offsets) or, for a learned coder, a weighted feature present in the unit
    (``weight`` set; ``pattern`` names the feature)."""

    term: str
    pattern: str
    start: int
    end: int
    weight: float | None = None


@dataclass(frozen=True)
class Coding:
    """A code applied to a unit by a coder under a codebook version.

    ``code`` is empty for a variable-level coding. ``probability`` is set by
    coders that estimate one (the learned coder).
    """

    unit_id: str
    code: str
    variable: str
    coder: str
    codebook_version: str
    evidence: tuple[Evidence, ...] = ()
    probability: float | None = None


@runtime_checkable
class Coder(Protocol):
    """What any coder is: a name under which its codings are stored, a
    version string that changes whenever its behaviour changes (so that a
    store knows what to recode), and ``code(units)`` giving codings with
    evidence."""

    name: str

    @property
    def version(self) -> str: ...

    def code(self, units: Iterable[Unit]) -> list[Coding]: ...


def codings_from_triples(triples: Iterable[tuple[str, str, str]], seen: list[str], coder: str,
                         codebook_version: str) -> list[Coding]:
    """Codings of ``coder`` from (unit_id, variable, code) triples, as coder
    files and exchange files give them: a code implies its variable, so a
    variable-only triple that a code of the same variable covers is
    dropped. Sorted by the order of units in ``seen``, then variable and
    code."""
    triples = set(triples)
    with_code = {(u, v) for u, v, c in triples if c}
    kept = [t for t in triples if t[2] or (t[0], t[1]) not in with_code]
    order = {u: i for i, u in enumerate(seen)}
    return [Coding(u, c, v, coder, codebook_version)
            for u, v, c in sorted(kept, key=lambda t: (order[t[0]], t[1], t[2]))]


def _evidence_item(e) -> str:
    if isinstance(e, tuple):
        term, pattern, start, end = e[:4]
        weight = e[4] if len(e) > 4 else None
    else:
        term, pattern, start, end, weight = e.term, e.pattern, e.start, e.end, e.weight
    item = f'{{"term":{_json_str(term)},"pattern":{_json_str(pattern)},"start":{int(start)},"end":{int(end)}'
    if weight is not None:
        item += f',"weight":{float(weight):.4f}'
    return item + "}"


def evidence_json(hits: Iterable) -> str:
    """Evidence as compact JSON: a list of {term, pattern, start, end[, weight]}.

    ``hits`` are (term, pattern, start, end[, weight]) tuples or
    :class:`Evidence`. Written by hand with the json module's string
    encoder: this runs once per coding, and json.dumps of small dicts costs
    more than the matching.
    """
    return "[" + ",".join(_evidence_item(e) for e in hits) + "]"
