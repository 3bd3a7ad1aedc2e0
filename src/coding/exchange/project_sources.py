"""The text sources of a REFI-QDA project, read from its archive and
matched to the store's documents (by text, then by name), with the mapping
of their positions to document positions."""

from __future__ import annotations

import bisect
import re
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from coding.exchange.archive import decode_source, member_lookup, raw_to_norm, read_member
from coding.exchange.variables import METADATA
from coding.exchange.xml import child, children, local, name_key, norm_guid
from coding.records import content_hash

if TYPE_CHECKING:
    from collections.abc import Sequence

    from coding.exchange.import_report import ImportReport

class Source(NamedTuple):
    kind: str
    guid: str                      # of the source element (a PDF's, not its representation's)
    name: str
    element: ET.Element            # holds the PlainTextSelections and Codings
    text: str | None               # normalised (LF) text, None when not available
    raw_to_text: Sequence[int] | None  # positions of removed CRs, for mapping positions
    problem: str


def _source_text(el: ET.Element, zf, lookup, path) -> tuple[str | None, Sequence[int] | None, str]:
    content = child(el, "PlainTextContent")
    if content is not None and content.text:
        text, removed = decode_source(content.text.encode("utf-8"))
        return text, removed, ""
    ref = (el.get("plainTextPath") or "").strip()
    if not ref:
        return None, None, "no plain text (no plainTextPath or PlainTextContent)"
    if not ref.lower().startswith("internal://"):
        return None, None, f"text is outside the archive ({ref})"
    member = lookup.get(PurePosixPath(ref[len("internal://"):]).name.lower())
    if member is None:
        return None, None, f"text file {ref} is not in the archive"
    try:
        text, removed = decode_source(read_member(zf, member, path))
    except UnicodeDecodeError as exc:
        return None, None, f"text file {member} is not UTF-8 (byte {exc.start})"
    return text, removed, ""


def _squash(text: str) -> str:
    # one copy of the text, not a list of its words (tens of bytes each on a large source)
    return _SPACES.sub(" ", text).strip()


_SPACES = re.compile(r"\s+")


class Doc(NamedTuple):
    id: str
    title: str
    path: str
    hash: str
    text: str
    meta: dict[str, str]           # manifest fields (METADATA)


def _match(source: Source, docs: list[Doc], by_hash, by_squash, by_name) -> tuple[Doc | None, str]:
    """The corpus document a source is, and how it was matched (or why not)."""
    if source.text is not None:
        doc = by_hash.get(content_hash(source.text))
        if doc:
            return doc, "same text"
        doc = by_squash.get(content_hash(_squash(source.text)))
        if doc:
            return doc, "same text apart from white space"
    keys = {name_key(source.name), name_key(Path(source.name).stem)} - {""}
    hits = {d.id: d for k in keys for d in by_name.get(k, ())}
    if len(hits) > 1:
        return None, f"name matches several documents ({', '.join(sorted(hits))})"
    if not hits:
        if source.text is None:
            return None, source.problem
        return None, "no corpus document with this name or text"
    doc = next(iter(hits.values()))
    if source.text is None:
        return doc, f"by name; {source.problem}, so positions are taken to refer to the corpus text"
    return None, f"name matches document '{doc.id}' but the text differs"


def position_mapper(source: Source, doc: Doc):
    """A function from a source position (as in the archive) to a document position."""
    removed = source.raw_to_text or []
    if source.text is None or source.text == doc.text:
        return lambda p, is_end=False: raw_to_norm(p, removed)
    # same text apart from white space: align on non-space characters
    src_ns = [i for i, ch in enumerate(source.text) if not ch.isspace()]
    doc_ns = [i for i, ch in enumerate(doc.text) if not ch.isspace()]

    def mapper(p, is_end=False):
        p = raw_to_norm(p, removed)
        if is_end:
            k = bisect.bisect_left(src_ns, p) - 1  # last non-space before p
            return doc_ns[k] + 1 if k >= 0 else 0
        k = bisect.bisect_left(src_ns, p)  # first non-space at or after p
        return doc_ns[k] if k < len(doc_ns) else len(doc.text)
    return mapper


def read_sources(zf, root: ET.Element, path, report: ImportReport) -> list[Source]:
    """The text sources of a project (PDFs with a text representation
    included); every other kind is skipped and reported."""
    lookup = member_lookup(zf)
    sources: list[Source] = []
    srcs_el = child(root, "Sources")
    for el in (list(srcs_el) if srcs_el is not None else []):
        kind, name = local(el.tag), (el.get("name") or el.get("guid") or "").strip()
        if kind == "TextSource":
            text, removed, problem = _source_text(el, zf, lookup, path)
            sources.append(Source(kind, norm_guid(el.get("guid")), name, el, text, removed, problem))
        elif kind == "PDFSource" and (rep := child(el, "Representation")) is not None:
            text, removed, problem = _source_text(rep, zf, lookup, path)
            sources.append(Source(kind, norm_guid(el.get("guid")), name, rep, text, removed, problem))
            n = len(children(el, "PDFSelection"))
            if n:
                report.skipped.append(("PDFSelection", name, f"{n} area selection(s) on PDF pages"))
        elif kind == "PDFSource":
            report.skipped.append((kind, name, "PDF without a text representation"))
        elif kind in ("PictureSource", "AudioSource", "VideoSource"):
            report.skipped.append((kind, name, "not a text source"))
        else:
            report.skipped.append((kind, name, "unknown kind of source"))
    report.sources = len(sources) + sum(1 for s in report.skipped if s[0] != "PDFSelection")
    return sources


class Corpus:
    """The store's documents indexed for matching sources, and their units."""

    def __init__(self, store):
        self.docs = [Doc(d.id, d.title, d.path, d.content_hash, d.text, {f: getattr(d, f) for f in METADATA})
                     for d in store.documents()]
        self.by_hash = {d.hash or content_hash(d.text): d for d in self.docs}
        self.by_squash = {content_hash(_squash(d.text)): d for d in self.docs}
        self.by_name: dict[str, list[Doc]] = {}
        for d in self.docs:
            for key in {d.id, d.title, Path(d.path).name, Path(d.path).stem}:
                if key:
                    self.by_name.setdefault(name_key(key), []).append(d)
        self.segmentation = store.segmentation()
        self.units_of: dict[str, list[tuple[str, int, int]]] = {}
        for unit in store.units(self.segmentation):
            self.units_of.setdefault(unit.document_id, []).append((unit.id, unit.start, unit.end))

    def match(self, source: Source) -> tuple[Doc | None, str]:
        return _match(source, self.docs, self.by_hash, self.by_squash, self.by_name)


def _named_like(name: str, text: str) -> bool:
    """Whether a selection's name is its text (QualCoder's names), or the
    start of it (ATLAS.ti cuts long quotations short)."""
    name, text = _squash(name), _squash(text)
    cut = name.rstrip(".\u2026").rstrip()
    return bool(name) and (name == text or (cut != name and len(cut) >= 10 and text.startswith(cut)))


def counts_crs(source: Source) -> bool:
    """Whether a source's positions count the CR of each CRLF, as the
    characters of its text file (the default), rather than CRLF as one
    character, as QualCoder writes when it adds CRs for MAXQDA. Decided by
    the selections whose names are their texts."""
    removed = source.raw_to_text or []
    if not removed or source.text is None:
        return True
    votes = [0, 0]  # (CRs counted, not counted)
    for sel in children(source.element, "PlainTextSelection")[:500]:
        try:
            start, end = int(sel.get("startPosition") or ""), int(sel.get("endPosition") or "")
        except (TypeError, ValueError):
            continue
        name = sel.get("name") or ""
        votes[0] += _named_like(name, source.text[raw_to_norm(start, removed):raw_to_norm(end, removed)])
        votes[1] += _named_like(name, source.text[start:end])
    return votes[1] <= votes[0]
