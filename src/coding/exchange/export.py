"""Export to REFI-QDA: the codebook as ``.qdc`` and the project (documents,
coders, codings) as ``.qdpx``. GUIDs are derived from ids, so the same
store gives the same bytes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from coding import __version__
from coding.codebook import Codebook
from coding.errors import CodingError
from coding.exchange.codebook_import import SETTINGS_SET
from coding.exchange.descriptions import compose
from coding.exchange.notes import case_variables, note_guids, write_cases, write_notes
from coding.exchange.variables import seen_ranges, write_values, write_variables
from coding.exchange.xml import (
    NS_CODEBOOK,
    NS_PROJECT,
    child,
    colour,
    guid,
    name_key,
    sub,
    xml_bytes,
)
from coding.files import write_bytes, write_with
from coding.records import AUTOMATIC_CODERS, StrPath

if TYPE_CHECKING:
    from coding.store import Store

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed member dates: the same project gives the same bytes

def _variable_colours(codebook: Codebook) -> dict[str, str | None]:
    from coding.reports.figures import variable_colours

    configured = codebook.settings.variable_colours
    return {v: colour(c) for v, c in variable_colours(codebook.variable_ids, configured).items()}


def _code_tree(parent: ET.Element, codebook: Codebook) -> None:
    """Variables as parent codes with their codes as children (schema order:
    Description before child Codes)."""
    colours = _variable_colours(codebook)
    codes_el = sub(parent, "Codes")
    for var in codebook.variables:
        v_el = sub(codes_el, "Code", {"guid": guid("variable", var.id), "name": var.label,
                                        "isCodable": "true", "color": colours.get(var.id)})
        desc = compose(var)
        if desc:
            sub(v_el, "Description", text=desc)
        for code in codebook.codes_of(var.id):
            c_el = sub(v_el, "Code", {"guid": guid("code", code.id), "name": code.label,
                                        "isCodable": "true", "color": colours.get(var.id)})
            desc = compose(code)
            if desc:
                sub(c_el, "Description", text=desc)


def check_unique_labels(codebook: Codebook) -> None:
    """Refuse a codebook in which two items (variables and codes together)
    share a label, compared in NFC without case and outer spaces.

    The loader refuses duplicates among variables and among codes, but an
    exchange file turns both into codes: QDA programs need unique code names
    (QualCoder silently drops the codings of the second code of a name), and
    import folds a code named like its parent into the parent.
    """
    first: dict[str, tuple[str, str]] = {}
    items = [("variable", v) for v in codebook.variables] + [("code", c) for c in codebook.codes]
    for kind, item in items:
        key = name_key(item.label)
        if key in first:
            other_kind, other_id = first[key]
            raise CodingError(f"{kind} '{item.id}' has the label {item.label!r} of {other_kind} '{other_id}'; "
                              "exchange files need unique labels (QDA programs drop the codings of a second "
                              "code of the same name)", codebook.path)
        first[key] = (kind, item.id)


# -- export --------------------------------------------------------------------

def export_codebook(codebook: Codebook, path: StrPath) -> Path:
    """Write the codebook as a REFI-QDA ``.qdc`` file (see the module doc).

    A codebook whose labels are not unique across variables and codes is
    refused (see :func:`check_unique_labels`)."""
    check_unique_labels(codebook)
    root = ET.Element("CodeBook", {"xmlns": NS_CODEBOOK, "origin": f"coding {__version__}"})
    _code_tree(root, codebook)
    _settings_set(root, codebook)
    return write_bytes(path, xml_bytes(root))


def _settings_set(root: ET.Element, codebook: Codebook) -> None:
    """The codebook's name, description and settings as YAML in the
    description of a code set without members (the one place of a ``.qdc``
    for free text outside codes), so that its own round trip keeps them."""
    import yaml

    raw = yaml.safe_load(codebook.content) if codebook.content else None
    kept = {k: raw[k] for k in ("name", "description", "settings") if isinstance(raw, dict) and raw.get(k)}
    if kept:
        st = sub(sub(root, "Sets"), "Set", {"guid": guid("settings", "codebook"), "name": SETTINGS_SET})
        sub(st, "Description", text=yaml.safe_dump(kept, allow_unicode=True, sort_keys=False, width=10_000))


def _xsd_datetime(value: str) -> str | None:
    value = (value or "").strip()
    if value.endswith("+00:00"):
        value = value[:-6] + "Z"
    return value or None


#: The user who adds the sources to an exported project: this program, not
#: any coder (a name with parentheses, so that no coder is likely to have it).
PROGRAM_USER = "coding (program)"


def _coders_to_export(store, coders, version: str) -> list[str]:
    known = store.coder_names(version)
    if coders is None:
        coders = known
    else:
        coders = list(dict.fromkeys(coders))
        missing = [c for c in coders if c not in known]
        if missing:
            raise CodingError(f"unknown coder(s): {', '.join(missing)} (in the store: {', '.join(known) or 'none'})",
                              store.path)
    if not coders:
        raise CodingError("no coders to export", store.path)
    return coders


def _selections(src: ET.Element, rows: list[tuple], codebook: Codebook) -> None:
    """One PlainTextSelection with one Coding per coding of the source's units."""
    variables, codes = set(codebook.variable_ids), set(codebook.code_ids)
    for _doc, unit_id, start, end, coder, variable, code, created in rows:
        if code and code in codes:
            target = guid("code", code)
        elif not code and variable in variables:
            target = guid("variable", variable)
        else:
            continue  # not in this codebook version
        key = f"{coder}|{unit_id}|{variable}|{code}"
        when = _xsd_datetime(created)
        user = guid("user", coder)
        sel = sub(src, "PlainTextSelection", {
            "guid": guid("selection", key), "name": unit_id, "startPosition": str(start),
            "endPosition": str(end), "creatingUser": user, "creationDateTime": when})
        cod = sub(sel, "Coding", {"guid": guid("coding", key), "creatingUser": user, "creationDateTime": when})
        sub(cod, "CodeRef", {"targetGUID": target})


def _span_selections(src: ET.Element, spans: list[tuple], known: dict[tuple[str, str], str]) -> None:
    """One PlainTextSelection per span a person coded (as they made it), with
    one Coding per code and the memo as its description."""
    by_span: dict[tuple, list[tuple]] = {}
    for row in spans:
        by_span.setdefault((row[0], row[1], row[2], row[3]), []).append(row)
    for (coder, doc, start, end), rows in by_span.items():
        key = f"{coder}|{doc}|{start}|{end}"
        user = guid("user", coder)
        when = _xsd_datetime(min((r[6] for r in rows if r[6]), default=""))
        sel = sub(src, "PlainTextSelection", {
            "guid": guid("span", key), "name": f"{start}-{end}", "startPosition": str(start),
            "endPosition": str(end), "creatingUser": user, "creationDateTime": when})
        memo = next((r[7] for r in rows if r[7]), "")
        if memo:
            sub(sel, "Description", text=memo)
        for row in rows:
            target = known.get((row[5], row[4]))
            if target is None:
                continue
            cod = sub(sel, "Coding", {"guid": guid("coding", f"{key}|{row[5]}|{row[4]}"), "creatingUser": user,
                                      "creationDateTime": _xsd_datetime(row[6])})
            sub(cod, "CodeRef", {"targetGUID": target})


def _annotations(src: ET.Element, doc_id: str, notes: list[tuple]) -> None:
    """Selections without codes holding a person's remark on a passage."""
    for i, (coder, kind, target, name, text, _author, created) in enumerate(notes):
        doc, _sp, span = target.partition(" ")
        if kind != "annotation" or doc != doc_id or "-" not in span:
            continue
        start, end = span.split("-", 1)
        sel = sub(src, "PlainTextSelection", {
            "guid": guid("annotation", f"{coder}|{target}|{i}"), "name": name or None, "startPosition": start,
            "endPosition": end, "creatingUser": guid("user", coder), "creationDateTime": _xsd_datetime(created)})
        sub(sel, "Description", text=text)


def _covered_by_spans(rows: list[tuple], spans: list[tuple]) -> list[tuple]:
    """The unit codings that no span of the same coder and code overlaps
    (those the spans give back on import are not written twice)."""
    by_item: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
    for coder, _doc, start, end, code, variable, *_rest in spans:
        by_item.setdefault((coder, variable, code), []).append((start, end))
    return [r for r in rows if not any(min(e, r[3]) > max(s, r[2]) for s, e in by_item.get((r[4], r[5], r[6]), ()))]


def _extra_codes(book: ET.Element, spans: list[tuple], codebook: Codebook) -> dict[tuple[str, str], str]:
    """(variable, code) -> code GUID for every item the spans use: the
    codebook's, and codes kept from an import with new codes (added to the
    code tree under their variable, named by the last part of their label)."""
    known = {(c.variable, c.id): guid("code", c.id) for c in codebook.codes}
    known.update({(v.id, ""): guid("variable", v.id) for v in codebook.variables})
    codes_el = child(book, "Codes")
    if codes_el is None:  # _code_tree writes one
        raise CodingError("the project's code book has no <Codes>")
    nodes = {el.get("guid"): el for el in codes_el.iter("Code")}
    for *_head, code, variable, _created, _memo, _status, label in spans:
        if (variable, code) in known:
            continue
        parts = [p.strip() for p in label.split(" > ")]
        vguid = guid("variable", variable)
        if vguid not in nodes:
            nodes[vguid] = sub(codes_el, "Code", {"guid": vguid, "name": parts[0], "isCodable": "true"})
        known[(variable, "")] = vguid
        if code:
            parent = nodes[vguid]
            for depth in range(1, len(parts) - 1):  # the levels between, so that the chain comes back whole
                mid = guid("code level", f"{variable}/{' > '.join(parts[1:depth + 1])}")
                if mid not in nodes:
                    nodes[mid] = sub(parent, "Code", {"guid": mid, "name": parts[depth], "isCodable": "false"})
                parent = nodes[mid]
            known[(variable, code)] = guid("code", f"{variable}/{code}")
            sub(parent, "Code", {"guid": known[(variable, code)], "name": parts[-1], "isCodable": "true"})
    return known


def _write_archive(path, project: bytes, files: list[tuple[str, bytes]]) -> Path:
    def _write(fh):
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in [("project.qde", project), *files]:
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)

    return write_with(path, _write, binary=True)


def _user_order(coders: list[str], active_coder: str | None) -> list[str]:
    """Users in the order QDA programs read them: ``active_coder`` first,
    then people, then the machine coders (QualCoder opens the project as its
    first user, and files a person's new codings under that name)."""
    if active_coder is not None and active_coder not in coders:
        raise CodingError(f"the active coder '{active_coder}' is not among the exported coders "
                          f"({', '.join(coders)})")
    first = [active_coder] if active_coder else []
    people = [c for c in coders if c not in AUTOMATIC_CODERS]
    return list(dict.fromkeys([*first, *people, *coders]))


def export_project(store: Store, path: StrPath, coders: Sequence[str] | None = None,
                   codebook_version: str | None = None, active_coder: str | None = None) -> Path:
    """Write the store's documents, codebook and codings as a ``.qdpx`` archive.

    ``coders``: names to export (default: every coder with codings or
    coverage under the codebook version). The documents' manifest fields
    and the units each coder saw travel as variables (see
    :mod:`coding.exchange.variables`). Sources are
    created by the user
    :data:`PROGRAM_USER`, at the time of their earliest exported coding
    (else the project's earliest). Output is deterministic: the same store
    gives the same archive bytes.

    Users are listed ``active_coder`` first, then people, then machine
    coders (see :func:`_user_order`). A coder's span codings (the
    selections an import kept as made) are written as they are, in place of
    the unit codings they overlap; memos, notes, annotations and cases
    read by an import go back where they came from (see
    :mod:`coding.exchange.notes`).
    """
    codebook = store.codebook(codebook_version)
    check_unique_labels(codebook)
    coders = _coders_to_export(store, coders, codebook.version)
    docs = store.documents()
    if not docs:
        raise CodingError("the store has no documents", store.path)
    by_doc: dict[str, list] = {}
    for row in store.export_rows(coders, codebook.version):
        by_doc.setdefault(row[0], []).append(row)

    root = ET.Element("Project", {"xmlns": NS_PROJECT, "name": codebook.name or store.path.stem,
                                  "origin": f"coding {__version__}"})
    spans = [s for c in coders for s in store.span_codings(c, with_status=True)]
    notes = [n for c in coders for n in store.exchange_notes(c)]
    _write_users(root, list(coders), active_coder, notes)
    book = sub(root, "CodeBook")
    _code_tree(book, codebook)
    known = _extra_codes(book, spans, codebook)
    coverage, units = store.coverage(codebook.version), store.units()
    seen_by = {c: seen_ranges(units, set(coverage.loc[coverage["coder"] == c, "unit_id"])) for c in coders}
    guids = write_variables(root, docs, seen_by, case_variables(notes))
    write_cases(root, notes, guids)
    context = _SourceContext(codebook, spans, notes, note_guids(notes), known, seen_by, guids,
                             min((r[7] for rows in by_doc.values() for r in rows if r[7]), default=""))
    sources = sub(root, "Sources")
    files = [_write_source(sources, doc, by_doc.get(doc.id, []), context) for doc in docs]
    write_notes(root, notes, context.note_ids)
    return _write_archive(path, xml_bytes(root), files)


def _write_users(root: ET.Element, coders: list[str], active_coder: str | None, notes: list[tuple]) -> None:
    """``<Users>``: the coders in :func:`_user_order`, the authors of notes
    (so that they keep their names), and the program."""
    users = sub(root, "Users")
    authors = [n[5] for n in notes if n[5]]
    for name in dict.fromkeys([*_user_order(coders, active_coder), *authors, PROGRAM_USER]):
        sub(users, "User", {"guid": guid("user", name), "name": name})


class _SourceContext(NamedTuple):
    """What every exported source draws on."""

    codebook: Codebook
    spans: list[tuple]
    notes: list[tuple]
    note_ids: dict[int, str]
    known: dict[tuple[str, str], str]
    seen_by: dict[str, dict[str, str]]
    guids: dict[str, str]
    first_time: str


def _write_source(sources: ET.Element, doc, rows: list[tuple], context: _SourceContext) -> tuple[str, bytes]:
    """One document as a ``TextSource`` with its selections, memos and
    values; returns the archive member of its text."""
    sguid = guid("source", doc.id)
    created = min((r[7] for r in rows if r[7]), default=context.first_time)
    src = sub(sources, "TextSource", {
        "guid": sguid, "name": doc.id, "plainTextPath": f"internal://{sguid}.txt",
        "creatingUser": guid("user", PROGRAM_USER), "creationDateTime": _xsd_datetime(created)})
    notes = context.notes
    memo = "\n\n".join(dict.fromkeys(n[4] for n in notes if n[1] == "document memo" and n[2] == doc.id))
    if memo or (doc.title and doc.title != doc.id):
        sub(src, "Description", text=memo or doc.title)
    doc_spans = [sp for sp in context.spans if sp[1] == doc.id]
    _selections(src, _covered_by_spans(rows, doc_spans), context.codebook)
    _span_selections(src, doc_spans, context.known)
    _annotations(src, doc.id, notes)
    _note_refs(src, doc.id, notes, context.note_ids)
    write_values(src, doc, context.seen_by, context.guids)
    return f"sources/{sguid}.txt", doc.text.replace("\r\n", "\n").encode("utf-8")


def _note_refs(src: ET.Element, doc_id: str, notes: list[tuple], note_ids: dict[int, str]) -> None:
    """A ``NoteRef`` to each note on the document."""
    for i, n in enumerate(notes):
        if i in note_ids and n[1] == "document note" and n[2] == doc_id:
            sub(src, "NoteRef", {"targetGUID": note_ids[i]})
