"""Import of the text codings of a REFI-QDA project (``.qdpx``) as one coder
of the store."""

from __future__ import annotations

import bisect
import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from coding.codebook import Codebook
from coding.errors import CodingError
from coding.exchange.archive import (
    decode_source,
    find_qde,
    member_lookup,
    open_archive,
    raw_to_norm,
    read_member,
)
from coding.exchange.codes import CodeMatcher, file_codes
from coding.exchange.notes import Note, project_notes, read_notes, selection_memo
from coding.exchange.variables import METADATA, parse_ranges, read_variables, seen_variable, source_values
from coding.exchange.xml import child, children, local, name_key, norm_guid, parse_xml
from coding.records import StrPath, codings_from_triples, content_hash

if TYPE_CHECKING:
    from collections.abc import Sequence

    from coding.store import Store

# -- project import ---------------------------------------------------------------

#: What becomes of a selection, per user: whole units, mapped to units by the
#: overlap rule, kept as a span only, or refused (with a reason).
KEPT = ("whole", "mapped", "partial")


@dataclass
class UserTally:
    """The selections holding one user's codings, by what became of them.

    Every selection counts once for each user with codings in it: kept
    ``whole`` (it covers whole units and nothing more), ``mapped`` (it codes
    the units it covers by at least the overlap threshold, and touches
    others less), ``partial`` (it codes no unit: kept as a span only), an
    ``annotation`` (no codes, a remark), or refused for a reason."""

    imported: bool = False
    whole: int = 0
    mapped: int = 0
    partial: int = 0
    annotations: int = 0
    new_codes: int = 0      # kept as spans only: every code of theirs is new (--new-codes)
    refused: dict[str, int] = field(default_factory=dict)
    #: for each partial selection: (share of the unit it covers most, that unit's characters)
    partial_shares: list[tuple[float, int]] = field(default_factory=list)

    @property
    def selections(self) -> int:
        return (self.whole + self.mapped + self.partial + self.annotations + self.new_codes
                + sum(self.refused.values()))

    def add(self, kind: str) -> None:
        if kind in KEPT:
            setattr(self, kind, getattr(self, kind) + 1)
        elif kind == "annotation":
            self.annotations += 1
        elif kind == "new code":
            self.new_codes += 1
        else:
            self.refused[kind] = self.refused.get(kind, 0) + 1

    def lines(self, name: str) -> list[str]:
        how = "imported" if self.imported else f"not imported: choose it with --user {name!r}"
        out = [f"  user {name!r} ({how}): {self.selections} selection(s): {self.whole} kept whole, "
               f"{self.mapped} mapped to units, {self.partial} partial (kept as spans, below the unit "
               f"threshold), " + (f"{self.new_codes} under new codes only (kept as spans), " if self.new_codes else "")
               + f"{self.annotations} annotation(s), {sum(self.refused.values())} refused"]
        if self.partial_shares:
            shares = sorted(self.partial_shares)
            share, chars = shares[len(shares) // 2]
            out.append(f"    partial: the median one covers {share:.1%} of the unit it overlaps most "
                       f"({chars:,} characters); kept as span codings, coding no unit (smaller units or a lower "
                       "--min-overlap map more of them to units)")
        out += [f"    refused {n}: {why}" for why, n in sorted(self.refused.items())]
        return out


@dataclass
class ImportReport:
    """What an import did and what it left out."""

    coder: str
    sources: int = 0
    matched: list[tuple[str, str, str]] = field(default_factory=list)     # (source, document id, how)
    unmatched: list[tuple[str, str]] = field(default_factory=list)        # (source, reason)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)     # (kind, name, reason)
    unknown_codes: dict[str, int] = field(default_factory=dict)           # code name -> codings
    selections: int = 0
    selections_used: int = 0
    units_seen: int = 0
    codings: int = 0
    warnings: list[str] = field(default_factory=list)
    stored: bool = False
    not_stored: str = "no source matched"   # why nothing was stored
    #: where the units seen come from: "project" (its record of them), else how they were inferred
    seen_from: str = ""
    #: document id -> manifest field -> value, as the project's variables give them (see coding.exchange.variables)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    #: (document id, field, value in the project, value in the store) where the two differ
    metadata_differences: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: project user name -> what became of the selections holding that user's codings
    users: dict[str, UserTally] = field(default_factory=dict)
    #: file code (with its parent chain) -> (variable, code, how matched), for codes not matched by label
    code_matches: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    #: (selection's author, coding's author) -> selections whose codings another user made
    authors_differ: dict[tuple[str, str], int] = field(default_factory=dict)
    spans: int = 0          # span codings stored (the selections as made)
    notes: dict[str, int] = field(default_factory=dict)    # kind -> memos, notes and cases stored

    @property
    def refused_codes(self) -> int:
        """Codings refused because their code is not in the codebook."""
        return sum(self.unknown_codes.values())

    def lines(self) -> list[str]:
        """The report as printable lines."""
        out = [f"coder {self.coder}: {len(self.matched)} of {self.sources} sources matched, "
               f"{self.selections_used} of {self.selections} text selections used, "
               f"{self.codings} codings on {self.units_seen} units, {self.spans} span codings"
               + ("" if self.stored else f" (nothing stored: {self.not_stored})")]
        for name, tally in sorted(self.users.items()):
            out += tally.lines(name)
        out += [f"  {n} selection(s) made by user {a!r} hold codings made by user {b!r}: they count for {b!r}, "
                "the coding's author" for (a, b), n in sorted(self.authors_differ.items())]
        out += [f"  code {label!r} is {code or variable!r} (matched by {how})"
                for label, (variable, code, how) in sorted(self.code_matches.items())]
        if self.notes:
            out.append("  kept: " + ", ".join(f"{n} {kind}(s)" for kind, n in sorted(self.notes.items())))
        out += [f"  matched {s!r} -> {d} ({how})" for s, d, how in self.matched]
        out += [f"  unmatched {s!r}: {why}" for s, why in self.unmatched]
        out += [f"  skipped {kind} {n!r}: {why}" for kind, n, why in self.skipped]
        out += [f"  refused code {c!r}: not in the codebook ({n} codings)"
                for c, n in sorted(self.unknown_codes.items())]
        if self.metadata:
            out.append(f"  document metadata read for {len(self.metadata)} matched source(s)")
        out += [f"  metadata of {d!r}: {f} is {mine!r} in the project, {theirs!r} in the store"
                for d, f, mine, theirs in self.metadata_differences]
        out += [f"  warning: {w}" for w in self.warnings]
        return out


class _Source(NamedTuple):
    kind: str
    guid: str                      # of the source element (a PDF's, not its representation's)
    name: str
    element: ET.Element            # holds the PlainTextSelections and Codings
    text: str | None               # normalised (LF) text, None when not available
    raw_to_text: Sequence[int] | None  # positions of removed CRs, for mapping positions
    problem: str


def _source_text(el: ET.Element, zf, lookup, path) -> tuple[str | None, list[int] | None, str]:
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


class _Doc(NamedTuple):
    id: str
    title: str
    path: str
    hash: str
    text: str
    meta: dict[str, str]           # manifest fields (METADATA)


def _match(source: _Source, docs: list[_Doc], by_hash, by_squash, by_name) -> tuple[_Doc | None, str]:
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


def _position_mapper(source: _Source, doc: _Doc):
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


def _author(coding: ET.Element, selection: ET.Element | None) -> str:
    """GUID of the user who made a coding (the coding's own, else its selection's)."""
    who = coding.get("creatingUser") or (selection.get("creatingUser") if selection is not None else "")
    return norm_guid(who)


def _pick_user(root: ET.Element, user: str | None, user_names: dict[str, str], path) -> str | None:
    """The GUID whose codings to import: ``user`` by name or GUID; with no
    ``user``, the one user who made codings (None when none did; an error
    when several did)."""
    authors: dict[str, int] = {}
    for sel in root.iter():
        if local(sel.tag) in ("PlainTextSelection", "TextSource"):
            for cod in children(sel, "Coding"):
                a = _author(cod, sel)
                authors[a] = authors.get(a, 0) + 1
    def label(g: str) -> str:
        return user_names.get(g) or g or "(no user)"

    if user is None:
        if len(authors) > 1:
            raise CodingError("codings by several users (" + ", ".join(sorted(label(a) for a in authors))
                              + "); choose one user to import", path)
        return next(iter(authors), None)
    key = user.strip()
    for g, name in user_names.items():
        if key.lower() in (name.lower(), g.lower()) or norm_guid(key) == g:
            return g
    if norm_guid(key) in authors:
        return norm_guid(key)
    raise CodingError(f"no user '{user}' in the project (users: "
                      + ", ".join(sorted(label(g) for g in set(user_names) | set(authors))) + ")", path)


def _read_sources(zf, root: ET.Element, path, report: ImportReport) -> list[_Source]:
    """The text sources of a project (PDFs with a text representation
    included); every other kind is skipped and reported."""
    lookup = member_lookup(zf)
    sources: list[_Source] = []
    srcs_el = child(root, "Sources")
    for el in (list(srcs_el) if srcs_el is not None else []):
        kind, name = local(el.tag), (el.get("name") or el.get("guid") or "").strip()
        if kind == "TextSource":
            text, removed, problem = _source_text(el, zf, lookup, path)
            sources.append(_Source(kind, norm_guid(el.get("guid")), name, el, text, removed, problem))
        elif kind == "PDFSource" and child(el, "Representation") is not None:
            rep = child(el, "Representation")
            text, removed, problem = _source_text(rep, zf, lookup, path)
            sources.append(_Source(kind, norm_guid(el.get("guid")), name, rep, text, removed, problem))
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


class _Corpus:
    """The store's documents indexed for matching sources, and their units."""

    def __init__(self, store):
        self.docs = [_Doc(d.id, d.title, d.path, d.content_hash, d.text, {f: getattr(d, f) for f in METADATA})
                     for d in store.documents()]
        self.by_hash = {d.hash or content_hash(d.text): d for d in self.docs}
        self.by_squash = {content_hash(_squash(d.text)): d for d in self.docs}
        self.by_name: dict[str, list[_Doc]] = {}
        for d in self.docs:
            for key in {d.id, d.title, Path(d.path).name, Path(d.path).stem}:
                if key:
                    self.by_name.setdefault(name_key(key), []).append(d)
        self.segmentation = store.segmentation()
        self.units_of: dict[str, list[tuple[str, int, int]]] = {}
        for unit in store.units(self.segmentation):
            self.units_of.setdefault(unit.document_id, []).append((unit.id, unit.start, unit.end))

    def match(self, source: _Source) -> tuple[_Doc | None, str]:
        return _match(source, self.docs, self.by_hash, self.by_squash, self.by_name)


class _Codes:
    """Which codes of the codebook a project's codings refer to (see
    :mod:`coding.exchange.codes`), and whose codings are imported."""

    def __init__(self, root: ET.Element, codebook: Codebook, user: str | None, path, new_codes: bool = False):
        self.matcher = CodeMatcher(codebook, file_codes(root), new_codes)
        users_el = child(root, "Users")
        self.user_names = {norm_guid(u.get("guid")): (u.get("name") or "").strip()
                           for u in (children(users_el, "User") if users_el is not None else [])}
        self.wanted = _pick_user(root, user, self.user_names, path)
        self.user_name = self.user_names.get(self.wanted, "") if self.wanted is not None else ""

    def label(self, user_guid: str) -> str:
        return self.user_names.get(user_guid) or user_guid or "(no user)"

    def by_author(self, codings: list[ET.Element], selection: ET.Element | None) -> dict[str, list[ET.Element]]:
        """The codings of a selection grouped by their author's GUID."""
        groups: dict[str, list[ET.Element]] = {}
        for cod in codings:
            groups.setdefault(_author(cod, selection), []).append(cod)
        return groups

    def targets(self, codings: list[ET.Element], selection: ET.Element | None, report: ImportReport | None,
                ) -> list[tuple[str, str, str | None, str, str]]:
        """(variable, code, time, label, how) of each coding whose code
        matches; unknown codes are counted in ``report`` (when given). The
        time is the coding's ``creationDateTime``, else its selection's
        (QualCoder dates selections only), see :func:`_store_time`."""
        found = []
        for cod in codings:
            ref = child(cod, "CodeRef")
            target = ref.get("targetGUID") if ref is not None else ""
            hit = self.matcher.match(target)
            if hit is None:
                if report is not None:
                    label = self.matcher.name(target)
                    report.unknown_codes[label] = report.unknown_codes.get(label, 0) + 1
                continue
            if report is not None and hit.how != "label":
                report.code_matches[hit.label] = (hit.variable, hit.code, hit.how)
            when = _store_time(cod.get("creationDateTime"))
            if when is None and selection is not None:
                when = _store_time(selection.get("creationDateTime"))
            found.append((hit.variable, hit.code, when, hit.label, hit.how))
        return found


def _store_time(value: str | None) -> str | None:
    """An xsd:dateTime as the store writes times (UTC, whole seconds,
    ``+00:00``); None when missing or invalid. A time without a zone is
    taken as UTC."""
    try:
        when = datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0).isoformat()


class _Collected:
    """The chosen user's codings as (unit_id, variable, code) with the
    earliest time any selection gives each, and the documents coded."""

    def __init__(self, notes: dict[str, Note] | None = None):
        self.times: dict[tuple[str, str, str], str | None] = {}
        self.documents: set[str] = set()
        #: (document, start, end, code, variable, time, memo, status, label): the selections as made
        self.spans: list[tuple] = []
        self.annotations: list[tuple] = []
        self.notes = notes or {}
        self.used_notes: set[str] = set()

    def add(self, doc_id: str, units: list[str], targets: list[tuple[str, str, str | None]]) -> None:
        for uid in units:
            for variable, code, when in targets:
                key = (uid, variable, code)
                old = self.times.get(key)
                if key not in self.times or (when is not None and (old is None or when < old)):
                    self.times[key] = when
                self.documents.add(doc_id)


def _spans(source: _Source, doc: _Doc):
    """(start, end, codings, selection, problem) in document positions for
    each selection of a source (``problem``: why its positions cannot be
    used, else ""), and the whole document for codings of the source."""
    to_doc = _position_mapper(source, doc)
    limit = len(source.text) if source.text is not None else len(doc.text)
    for sel in children(source.element, "PlainTextSelection"):
        try:
            raw_start, raw_end = int(sel.get("startPosition")), int(sel.get("endPosition"))
        except (TypeError, ValueError):
            yield 0, 0, children(sel, "Coding"), sel, "no valid positions"
            continue
        if raw_start >= raw_end or raw_start < 0:
            yield 0, 0, children(sel, "Coding"), sel, "empty or reversed positions"
            continue
        problem = ""
        if raw_end > limit + len(source.raw_to_text or []):
            problem = "ends after the end of the text"
        start, end = to_doc(max(0, raw_start)), to_doc(max(0, raw_end), True)
        yield start, min(end, len(doc.text)), children(sel, "Coding"), sel, problem
    for cod in children(source.element, "Coding"):  # codings of the whole source
        yield 0, len(doc.text), [cod], None, ""


def _named_like(name: str, text: str) -> bool:
    """Whether a selection's name is its text (QualCoder's names), or the
    start of it (ATLAS.ti cuts long quotations short)."""
    name, text = _squash(name), _squash(text)
    cut = name.rstrip(".\u2026").rstrip()
    return bool(name) and (name == text or (cut != name and len(cut) >= 10 and text.startswith(cut)))


def _counts_crs(source: _Source) -> bool:
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
            start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
        except (TypeError, ValueError):
            continue
        name = sel.get("name") or ""
        votes[0] += _named_like(name, source.text[raw_to_norm(start, removed):raw_to_norm(end, removed)])
        votes[1] += _named_like(name, source.text[start:end])
    return votes[1] <= votes[0]


def _coded_units(units: list[tuple[str, int, int]], start: int, end: int, min_overlap: float) -> list[str]:
    """Units covered by a selection by at least ``min_overlap`` of their characters."""
    return [uid for uid, us, ue in units
            if (ov := min(end, ue) - max(start, us)) > 0 and ov >= min_overlap * (ue - us)]


def _read_metadata(values: dict[str, str], doc: _Doc, report: ImportReport) -> None:
    """Record the manifest fields the project gives a document, and where
    they differ from the store's (the store keeps its own)."""
    meta = {f: values[f] for f in METADATA if f in values}
    if meta:
        report.metadata[doc.id] = meta
    report.metadata_differences += [(doc.id, f, v, doc.meta.get(f, "")) for f, v in meta.items()
                                    if v != doc.meta.get(f, "")]


#: How the units a coder saw are inferred when the project does not record them.
SEEN_CHOICES = ("coded", "documents")


def _recorded_seen(name: str, values, matched: list[tuple[_Source, _Doc]], corpus: _Corpus, min_overlap: float,
                   path) -> set[str]:
    """Units of the matched documents that the variable ``name`` records as
    seen. Its ranges count the characters of the text as exported here (LF
    line ends) whatever line ends the file has now, since other programs
    pass values on untouched."""
    seen: set[str] = set()
    for source, doc in matched:
        value = values.get(source.guid, {}).get(name, "")
        if not value:
            continue
        to_doc = _position_mapper(source._replace(raw_to_text=[]), doc)
        for start, end in parse_ranges(value, f"variable {name!r} of source {source.name!r}", path):
            seen.update(_coded_units(corpus.units_of.get(doc.id, []), to_doc(start), to_doc(end, True), min_overlap))
    return seen


def _seen_units(record: str | None, mode: str, values, matched: list[tuple[_Source, _Doc]], corpus: _Corpus,
                collected: _Collected, min_overlap: float, report: ImportReport, path) -> list[str]:
    """The units the coder saw, in corpus order: as the project records
    them (``record``, the name of its variable), else inferred by ``mode``
    with a warning. Coded units always count as seen."""
    coded = {uid for uid, _v, _c in collected.times}
    docs = [d for _s, d in matched]
    if record:
        seen = _recorded_seen(record, values, matched, corpus, min_overlap, path)
        if coded - seen:
            report.warnings.append(f"{len(coded - seen)} coded unit(s) lie outside the units the project records "
                                   "as seen; they count as seen")
        seen |= coded
        report.seen_from = "project"
    else:
        if mode == "coded":
            docs = [d for d in docs if d.id in collected.documents]
            how = (f"every unit of the {len(docs)} matched document(s) with its codings counts as seen, "
                   f"the other {len(matched) - len(docs)} as not seen")
        else:
            how = f"every unit of the {len(docs)} matched document(s) counts as seen"
        seen = {uid for d in docs for uid, _s, _e in corpus.units_of.get(d.id, [])} | coded
        report.seen_from = mode
        report.warnings.append(f"the project does not record which units {report.coder} saw: {how}")
    return [uid for d in {d.id: d for _s, d in matched}.values() for uid, _s, _e in corpus.units_of.get(d.id, [])
            if uid in seen]


def _read_project(path: Path, report: ImportReport) -> tuple[ET.Element, list[_Source], dict[str, Note]]:
    with open_archive(path) as zf:
        qde = find_qde(zf, path)
        root = parse_xml(read_member(zf, qde, path), f"{path}!{qde}")
        if local(root.tag) != "Project":
            raise CodingError(f"root element is <{local(root.tag)}>, not <Project>", f"{path}!{qde}")
        return root, _read_sources(zf, root, path, report), read_notes(zf, root, member_lookup(zf), path)


def _store(store, path: Path, coder: str, codebook: Codebook, seen: list[str], collected: _Collected,
           notes: list[tuple], fingerprint: str, report: ImportReport) -> None:
    """Replace the coder's codings, coverage, spans and notes; keep the file's times."""
    codings = codings_from_triples(collected.times, seen, coder, codebook.version)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    store.replace_coder(coder, seen, codings, codebook.version, kind="import", source=str(path),
                        content_hash=f"{digest}:{fingerprint}",
                        seen="recorded" if report.seen_from == "project" else f"inferred-{report.seen_from}")
    times = {k: w for k, w in collected.times.items() if w is not None}
    store.set_coding_times(coder, codebook.version, times)
    store.replace_exchange(coder, sorted(set(collected.spans)), notes)  # after replace_coder, which clears them
    report.spans = len(set(collected.spans))
    for row in notes:
        report.notes[row[0]] = report.notes.get(row[0], 0) + 1
    undated = sum(1 for c in codings if (c.unit_id, c.variable, c.code) not in times)
    if undated:
        report.warnings.append(f"{undated} coding(s) without a valid creationDateTime carry the time of import")
    report.units_seen, report.codings, report.stored = len(seen), len(codings), True


def _kind(units: list[tuple[str, int, int]], start: int, end: int, min_overlap: float) -> tuple[str, list[str]]:
    """What a selection is at the unit level (see :class:`UserTally`) and the units it codes."""
    covered = _coded_units(units, start, end, min_overlap)
    if not covered:
        return "partial", []
    touched = [(us, ue) for _uid, us, ue in units if min(end, ue) > max(start, us)]
    whole = len(touched) == len(covered) and all(start <= us and ue <= end for us, ue in touched)
    return ("whole" if whole else "mapped"), covered


def _best_share(units: list[tuple[str, int, int]], start: int, end: int) -> tuple[float, int]:
    """(share, length) of the unit a selection covers the largest share of."""
    return max((((min(end, ue) - max(start, us)) / (ue - us), ue - us) for _uid, us, ue in units
                if ue > us and min(end, ue) > max(start, us)), default=(0.0, 0))


def _account_unmatched(source: _Source, codes: _Codes, reason: str, report: ImportReport) -> None:
    """Every selection of a source that matches no document is refused, for each of its users."""
    for sel in children(source.element, "PlainTextSelection"):
        for author in codes.by_author(children(sel, "Coding"), sel) or {_author(sel, None): []}:
            report.users.setdefault(codes.label(author), UserTally()).add(f"source {source.name!r}: {reason}")
    for cod in children(source.element, "Coding"):
        report.users.setdefault(codes.label(_author(cod, None)), UserTally()).add(
            f"source {source.name!r}: {reason}")


class _Span(NamedTuple):
    doc: _Doc
    start: int
    end: int
    selection: ET.Element | None
    units: list[tuple[str, int, int]]


def _account_selection(span: _Span, codings: list[ET.Element], codes: _Codes, collected: _Collected,
                       min_overlap: float, report: ImportReport) -> None:
    """Count one selection for each user with codings in it; keep the chosen user's as spans and units."""
    groups = codes.by_author(codings, span.selection)
    if not groups:  # no coding: a remark on a passage, or nothing at all
        author = _author(span.selection, None) if span.selection is not None else ""
        memo = selection_memo(span.selection, collected.notes, collected.used_notes)
        tally = report.users.setdefault(codes.label(author), UserTally())
        tally.add("annotation" if memo else "no code and no memo in the selection")
        if memo and author == codes.wanted:
            collected.annotations.append(("annotation", f"{span.doc.id} {span.start}-{span.end}",
                                          span.selection.get("name") or "", memo, codes.label(author),
                                          _store_time(span.selection.get("creationDateTime")) or ""))
        return
    sel_author = _author(span.selection, None) if span.selection is not None else ""
    for author, mine in groups.items():
        tally = report.users.setdefault(codes.label(author), UserTally())
        if sel_author and author and sel_author != author:
            key = (codes.label(sel_author), codes.label(author))
            report.authors_differ[key] = report.authors_differ.get(key, 0) + 1
        wanted = author == codes.wanted
        targets = codes.targets(mine, span.selection, report if wanted else None)
        if not targets:
            tally.add("code not in the codebook (add it, or import with --new-codes)")
            continue
        kind, covered = _kind(span.units, span.start, span.end, min_overlap)
        tally.add("new code" if all(t[4] == "new code" for t in targets) else kind)
        if kind == "partial":
            tally.partial_shares.append(_best_share(span.units, span.start, span.end))
        if not wanted:
            continue
        collected.documents.add(span.doc.id)  # a span below the unit threshold is coding in the document too
        known = [t for t in targets if t[4] != "new code"]
        report.selections_used += bool(covered and known)
        collected.add(span.doc.id, covered, [t[:3] for t in known])
        memo = selection_memo(span.selection, collected.notes, collected.used_notes)
        for variable, code, when, label, how in targets:
            status = "new code" if how == "new code" else kind
            collected.spans.append((span.doc.id, span.start, span.end, code, variable, when or "", memo, status,
                                    label))


def _match_sources(sources: list[_Source], corpus: _Corpus, codes: _Codes, values, min_overlap: float,
                   report: ImportReport, collected: _Collected) -> list[tuple[_Source, _Doc]]:
    """Match each source to a corpus document, account for every selection
    per user, and collect the chosen user's codings of the units its
    selections cover and its selections as spans."""
    matched: list[tuple[_Source, _Doc]] = []
    for source in sources:
        report.selections += (len(children(source.element, "PlainTextSelection"))
                              + len(children(source.element, "Coding")))
        doc, how = corpus.match(source)
        if doc is None or doc in [d for _s, d in matched]:
            reason = how if doc is None else f"document '{doc.id}' already matched by another source"
            report.unmatched.append((source.name, reason))
            _account_unmatched(source, codes, reason, report)
            continue
        if not _counts_crs(source):
            source = source._replace(raw_to_text=[])
            report.warnings.append(f"{source.name}: positions count each CRLF line end as one character "
                                   "(as the selections' texts show)")
        matched.append((source, doc))
        report.matched.append((source.name, doc.id, how))
        _read_metadata(values.get(source.guid, {}), doc, report)
        units = corpus.units_of.get(doc.id, [])
        for start, end, codings, selection, problem in _spans(source, doc):
            where = f"{source.name}: selection {selection.get('guid') if selection is not None else ''}"
            if problem and start >= end:
                for author in codes.by_author(codings, selection) or {"": []}:
                    report.users.setdefault(codes.label(author), UserTally()).add(f"selection with {problem}")
                continue
            if problem:
                report.warnings.append(f"{where} {problem}; it is cut at the end of the document")
            _account_selection(_Span(doc, start, end, selection, units), codings, codes, collected, min_overlap,
                               report)
    return matched


def import_project(store: Store, path: StrPath, coder: str, codebook: Codebook, min_overlap: float = 0.5,
                   user: str | None = None, seen: str = "coded", new_codes: bool = False) -> ImportReport:
    """Import the text codings of a ``.qdpx`` as coder ``coder``.

    Sources are matched to the store's documents by text (SHA-256 of the
    LF-normalised text, or of the text with white space collapsed) or by
    name (TextSource name against document id, title, file name or stem).
    Each coded selection is kept as a span coding (as the person made it,
    with its memo) and codes the units it covers by at least
    ``min_overlap`` of their characters. Codes are matched to codes or
    variables of ``codebook`` by GUID, label or id, then definition (see
    :mod:`coding.exchange.codes`); codings of a code that matches nothing are
    refused and counted in ``unknown_codes``, or with ``new_codes`` kept as
    span codings under a new code. A project whose codings come from
    several users needs ``user`` (a User's name or GUID): only that user's
    codings are imported (a coding's user is its own ``creatingUser``, else
    its selection's); the report accounts for every selection of every user
    (:class:`UserTally`). Memos, notes and cases are kept (see
    :mod:`coding.exchange.notes`). Pictures,
    audio, video and PDFs without text are skipped and reported. The
    coder's codings under the codebook version are replaced (kind
    ``import``) unless no source matched, in which case nothing is stored.
    Codings keep the ``creationDateTime`` of the file (the earliest, when
    several selections give a unit the same code).

    The units the coder saw (coded or not) are read from the project's
    ``units seen by <user>`` variable, which this package's export writes
    (see :mod:`coding.exchange.variables`). Files from other programs have no
    such record; then ``seen`` says what counts as seen, with a warning in
    the report: ``"coded"`` (the default) every unit of the documents in
    which the user made codings, since a document without any of the
    user's codings is more often one they were not given than one they read
    and left uncoded; ``"documents"`` every unit of every matched document.
    Coded units always count as seen.
    """
    path = Path(path)
    if not 0.0 <= min_overlap <= 1.0:
        raise CodingError(f"min_overlap must be between 0 and 1, not {min_overlap}")
    if not coder or not coder.strip():
        raise CodingError("an import needs a coder name")
    if seen not in SEEN_CHOICES:
        raise CodingError(f"seen must be one of {', '.join(SEEN_CHOICES)}, not {seen!r}")
    report = ImportReport(coder=coder)
    root, sources, notes = _read_project(path, report)
    corpus, codes = _Corpus(store), _Codes(root, codebook, user, path, new_codes)
    for tally_user in {codes.label(a) for a in _authors(root)} | {codes.user_name or codes.label(codes.wanted or "")}:
        report.users.setdefault(tally_user, UserTally())
    report.users[codes.label(codes.wanted or "")].imported = True
    variables = read_variables(root)
    values = source_values(root, variables)
    record = seen_variable(codes.user_name) if codes.user_name else None
    collected = _Collected(notes)
    matched = _match_sources(sources, corpus, codes, values, min_overlap, report, collected)
    _explain_authors(codes, report)
    if not matched:
        return report
    units = _seen_units(record if record in variables.values() else None, seen, values, matched, corpus,
                        collected, min_overlap, report, path)
    if not units:
        report.not_stored = "no unit of the matched documents was seen or coded"
        return report
    titles = {d.id: d.title for _s, d in matched}
    kept = collected.annotations + project_notes(root, notes, {s.guid: d.id for s, d in matched}, titles,
                                                 variables, collected.used_notes, codes.user_names)
    _store(store, path, coder, codebook, units, collected, kept,
           f"{codebook.version}:{corpus.segmentation}:{min_overlap}:{seen}:{new_codes}", report)
    return report


def _authors(root: ET.Element) -> set[str]:
    """GUIDs of the users who made codings."""
    return {_author(cod, sel) for sel in root.iter() if local(sel.tag) in ("PlainTextSelection", "TextSource")
            for cod in children(sel, "Coding")}


def _explain_authors(codes: _Codes, report: ImportReport) -> None:
    """Say so when the chosen user made selections whose codings someone else made."""
    for (maker, author), n in sorted(report.authors_differ.items()):
        if codes.user_name and maker == codes.user_name:
            report.warnings.append(
                f"{maker!r} made {n} selection(s) whose codings were made by {author!r}: they are not imported "
                f"under {maker!r} (NVivo records the coding's author apart from the selection's; import them "
                f"with --user {author!r})")
