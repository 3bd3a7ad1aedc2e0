"""Import of the text codings of a REFI-QDA project (``.qdpx``) as one coder
of the store."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from coding.codebook import Codebook
from coding.errors import CodingError
from coding.exchange.archive import find_qde, member_lookup, open_archive, read_member
from coding.exchange.codes import CodeMatcher, file_codes
from coding.exchange.import_report import KEPT, ImportReport, UserTally
from coding.exchange.notes import Note, project_notes, read_notes, selection_memo
from coding.exchange.project_sources import Corpus, Doc, Source, counts_crs, position_mapper, read_sources
from coding.exchange.variables import METADATA, SEEN_PREFIX, parse_ranges, read_variables, seen_variable, source_values
from coding.exchange.xml import child, children, local, norm_guid, parse_xml
from coding.records import StrPath, codings_from_triples

if TYPE_CHECKING:
    from coding.store import Store

__all__ = ["KEPT", "SEEN_CHOICES", "ImportReport", "UserTally", "import_project"]

# -- project import ---------------------------------------------------------------

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
            target = (ref.get("targetGUID") or "") if ref is not None else ""
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


def _spans(source: Source, doc: Doc):
    """(start, end, codings, selection, problem) in document positions for
    each selection of a source (``problem``: why its positions cannot be
    used, else ""), and the whole document for codings of the source."""
    to_doc = position_mapper(source, doc)
    limit = len(source.text) if source.text is not None else len(doc.text)
    for sel in children(source.element, "PlainTextSelection"):
        try:
            raw_start, raw_end = int(sel.get("startPosition") or ""), int(sel.get("endPosition") or "")
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


def _coded_units(units: list[tuple[str, int, int]], start: int, end: int, min_overlap: float) -> list[str]:
    """Units covered by a selection by at least ``min_overlap`` of their characters."""
    return [uid for uid, us, ue in units
            if (ov := min(end, ue) - max(start, us)) > 0 and ov >= min_overlap * (ue - us)]


def _read_metadata(values: dict[str, str], doc: Doc, report: ImportReport) -> None:
    """Record the manifest fields the project gives a document, and where
    they differ from the store's (the store keeps its own)."""
    meta = {f: values[f] for f in METADATA if f in values}
    if meta:
        report.metadata[doc.id] = meta
    report.metadata_differences += [(doc.id, f, v, doc.meta.get(f, "")) for f, v in meta.items()
                                    if v != doc.meta.get(f, "")]


#: How the units a coder saw are inferred when the project does not record them.
SEEN_CHOICES = ("coded", "documents")


def _recorded_seen(name: str, values, matched: list[tuple[Source, Doc]], corpus: Corpus, min_overlap: float,
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
        to_doc = position_mapper(source._replace(raw_to_text=[]), doc)
        for start, end in parse_ranges(value, f"variable {name!r} of source {source.name!r}", path):
            seen.update(_coded_units(corpus.units_of.get(doc.id, []), to_doc(start), to_doc(end, True), min_overlap))
    return seen


def _seen_units(record: str | None, mode: str, values, matched: list[tuple[Source, Doc]], corpus: Corpus,
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


def _read_project(path: Path, report: ImportReport) -> tuple[ET.Element, list[Source], dict[str, Note]]:
    with open_archive(path) as zf:
        qde = find_qde(zf, path)
        root = parse_xml(read_member(zf, qde, path), f"{path}!{qde}")
        if local(root.tag) != "Project":
            raise CodingError(f"root element is <{local(root.tag)}>, not <Project>", f"{path}!{qde}")
        return root, read_sources(zf, root, path, report), read_notes(zf, root, member_lookup(zf), path)


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


def _account_unmatched(source: Source, codes: _Codes, reason: str, report: ImportReport) -> None:
    """Every selection of a source that matches no document is refused, for each of its users."""
    for sel in children(source.element, "PlainTextSelection"):
        for author in codes.by_author(children(sel, "Coding"), sel) or {_author(sel, None): []}:
            report.users.setdefault(codes.label(author), UserTally()).add(f"source {source.name!r}: {reason}")
    for cod in children(source.element, "Coding"):
        report.users.setdefault(codes.label(_author(cod, None)), UserTally()).add(
            f"source {source.name!r}: {reason}")


class _Span(NamedTuple):
    doc: Doc
    start: int
    end: int
    selection: ET.Element | None
    units: list[tuple[str, int, int]]


def _account_selection(span: _Span, codings: list[ET.Element], codes: _Codes, collected: _Collected,
                       min_overlap: float, report: ImportReport) -> None:
    """Count one selection for each user with codings in it; keep the chosen user's as spans and units."""
    groups = codes.by_author(codings, span.selection)
    if not groups:  # no coding: a remark on a passage, or nothing at all
        _account_annotation(span, codes, collected, report)
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
        if wanted:
            _keep(span, kind, covered, targets, collected, report)


def _account_annotation(span: _Span, codes: _Codes, collected: _Collected, report: ImportReport) -> None:
    """A selection without codings: an annotation when it holds a memo (kept
    for the chosen user), else counted as refused."""
    author = _author(span.selection, None) if span.selection is not None else ""
    memo = selection_memo(span.selection, collected.notes, collected.used_notes)
    tally = report.users.setdefault(codes.label(author), UserTally())
    tally.add("annotation" if memo else "no code and no memo in the selection")
    if memo and author == codes.wanted and span.selection is not None:
        collected.annotations.append(("annotation", f"{span.doc.id} {span.start}-{span.end}",
                                      span.selection.get("name") or "", memo, codes.label(author),
                                      _store_time(span.selection.get("creationDateTime")) or ""))


def _keep(span: _Span, kind: str, covered: list[str], targets: list[tuple[str, str, str | None, str, str]],
          collected: _Collected, report: ImportReport) -> None:
    """The chosen user's codings of a selection: on the units it covers, and as span codings."""
    collected.documents.add(span.doc.id)  # a span below the unit threshold is coding in the document too
    known = [t for t in targets if t[4] != "new code"]
    report.selections_used += bool(covered and known)
    collected.add(span.doc.id, covered, [t[:3] for t in known])
    memo = selection_memo(span.selection, collected.notes, collected.used_notes)
    for variable, code, when, label, how in targets:
        status = "new code" if how == "new code" else kind
        collected.spans.append((span.doc.id, span.start, span.end, code, variable, when or "", memo, status, label))


def _match_sources(sources: list[Source], corpus: Corpus, codes: _Codes, values, min_overlap: float,
                   report: ImportReport, collected: _Collected) -> list[tuple[Source, Doc]]:
    """Match each source to a corpus document, account for every selection
    per user, and collect the chosen user's codings of the units its
    selections cover and its selections as spans."""
    matched: list[tuple[Source, Doc]] = []
    for source in sources:
        report.selections += (len(children(source.element, "PlainTextSelection"))
                              + len(children(source.element, "Coding")))
        doc, how = corpus.match(source)
        if doc is None or doc in [d for _s, d in matched]:
            reason = how if doc is None else f"document '{doc.id}' already matched by another source"
            report.unmatched.append((source.name, reason))
            _account_unmatched(source, codes, reason, report)
            continue
        if not counts_crs(source):
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
    _check_arguments(min_overlap, coder, seen)
    report = ImportReport(coder=coder)
    root, sources, notes = _read_project(path, report)
    corpus, codes = Corpus(store), _Codes(root, codebook, user, path, new_codes)
    _tally_users(root, codes, report)
    variables = read_variables(root)
    values = source_values(root, variables)
    record = seen_variable(codes.user_name) if codes.user_name else None
    collected = _Collected(notes)
    matched = _match_sources(sources, corpus, codes, values, min_overlap, report, collected)
    _explain_authors(codes, report)
    _say_not_kept(root, values, matched, report)
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


def _say_not_kept(root: ET.Element, values: dict[str, dict[str, str]], matched: list[tuple[Source, Doc]],
                  report: ImportReport) -> None:
    """Name what the project says of the matched documents that the store
    does not keep: document variables other than the manifest's fields (and
    the seen records), and sets of documents."""
    unread: dict[str, int] = {}
    for source, _doc in matched:
        for name in values.get(source.guid, {}):
            if name not in METADATA and not name.startswith(SEEN_PREFIX):
                unread[name] = unread.get(name, 0) + 1
    report.skipped += [("document variable", name, f"values on {n} matched document(s) are not kept (only "
                        f"{', '.join(METADATA)} are read)") for name, n in sorted(unread.items())]
    guids = {source.guid for source, _doc in matched}
    sets = child(root, "Sets")
    report.skipped += [("document set", (s.get("name") or "").strip(), "sets of documents are not kept")
                       for s in (children(sets, "Set") if sets is not None else [])
                       if any(norm_guid(m.get("targetGUID")) in guids for m in children(s, "MemberSource"))]


def _check_arguments(min_overlap: float, coder: str, seen: str) -> None:
    if not 0.0 <= min_overlap <= 1.0:
        raise CodingError(f"min_overlap must be between 0 and 1, not {min_overlap}")
    if not coder or not coder.strip():
        raise CodingError("an import needs a coder name")
    if seen not in SEEN_CHOICES:
        raise CodingError(f"seen must be one of {', '.join(SEEN_CHOICES)}, not {seen!r}")


def _tally_users(root: ET.Element, codes: _Codes, report: ImportReport) -> None:
    """A tally for every user who made codings and for the chosen one, marked imported."""
    wanted = codes.label(codes.wanted or "")
    for tally_user in {codes.label(a) for a in _authors(root)} | {codes.user_name or wanted}:
        report.users.setdefault(tally_user, UserTally())
    report.users[wanted].imported = True


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
