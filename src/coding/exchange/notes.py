"""What people write in a QDA program besides codings: memos, notes
(journals, annotations), cases and their attributes.

Read from a project on import and stored beside the coder's span codings
(``exchange_notes``), written back on export. Where each lives in QDA-XML:

* project memo: the project's ``Description``;
* document memo: a source's ``Description`` (one equal to the document's
  title is the title this package exports, not a memo);
* coding memo: a ``PlainTextSelection``'s ``Description`` and the notes its
  ``NoteRef``s (or its codings') name; kept on the span coding;
* annotation: a selection without codings but with a description or a note
  (a remark on a passage);
* document note: a ``Note`` that a source refers to; journal: a ``Note``
  nothing refers to;
* case: a ``Case`` with a name: its description, its attribute values (as
  ``name=value`` lines) and the documents it holds.

Stored rows are (kind, target, name, text, author, created_at); ``target``
is a document id, ``start-end`` positions after it for annotations, or the
documents of a case joined by new lines.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import PurePosixPath
from typing import NamedTuple

from coding.exchange.archive import decode_source, read_member
from coding.exchange.xml import child, children, guid, norm_guid, sub

KINDS = ("project memo", "document memo", "annotation", "document note", "journal", "case")


class Note(NamedTuple):
    name: str
    text: str
    author: str   # user GUID
    created: str


def description(el: ET.Element | None) -> str:
    d = child(el, "Description") if el is not None else None
    return (d.text or "").strip() if d is not None else ""


def _note_text(el: ET.Element, zf, lookup, path) -> str:
    """A note's text: its content, then its description where it has both (ATLAS.ti writes both)."""
    content = child(el, "PlainTextContent")
    text = (content.text or "").strip() if content is not None else ""
    ref = (el.get("plainTextPath") or "").strip()
    member = lookup.get(PurePosixPath(ref.split("://", 1)[-1]).name.lower()) if ref and not text else None
    if member is not None:
        try:
            text = decode_source(read_member(zf, member, path))[0].strip()
        except UnicodeDecodeError:
            text = ""
    return "\n\n".join(dict.fromkeys(p for p in (text, description(el)) if p))


def read_notes(zf, root: ET.Element, lookup, path) -> dict[str, Note]:
    """Note GUID -> :class:`Note`, from the project's ``<Notes>``."""
    notes_el = child(root, "Notes")
    return {norm_guid(n.get("guid")): Note((n.get("name") or "").strip(), _note_text(n, zf, lookup, path),
                                           norm_guid(n.get("creatingUser")), n.get("creationDateTime") or "")
            for n in (children(notes_el, "Note") if notes_el is not None else [])}


def note_refs(el: ET.Element) -> list[str]:
    return [norm_guid(r.get("targetGUID")) for r in children(el, "NoteRef")]


def selection_memo(sel: ET.Element | None, notes: dict[str, Note], used: set[str]) -> str:
    """A selection's memo: its description and the notes it (or its codings) refers to."""
    if sel is None:
        return ""
    refs = note_refs(sel) + [r for cod in children(sel, "Coding") for r in note_refs(cod)]
    used.update(refs)
    parts = [description(sel)] + [notes[r].text for r in refs if r in notes]
    return "\n\n".join(dict.fromkeys(p for p in parts if p))


def _case_text(case: ET.Element, variables: dict[str, str]) -> str:
    values = {}
    for vv in children(case, "VariableValue"):
        ref = child(vv, "VariableRef")
        name = variables.get(norm_guid(ref.get("targetGUID") if ref is not None else ""))
        value = next((c.text or "" for c in vv if c.tag.rsplit("}", 1)[-1].endswith("Value")), "")
        if name:
            values[name] = value.strip()
    return json.dumps({"description": description(case), "attributes": values}, ensure_ascii=False,
                      sort_keys=True)


def project_notes(root: ET.Element, notes: dict[str, Note], docs: dict[str, str], titles: dict[str, str],
                  variables: dict[str, str], used: set[str], users: dict[str, str]) -> list[tuple]:
    """The project's memos, notes and cases as stored rows (see the module doc).

    ``docs``: source GUID -> document id of the matched sources; ``titles``:
    document id -> title; ``used``: note GUIDs already kept as coding memos."""
    rows: list[tuple] = []
    if description(root):  # the project's own name and author are the file's, not the memo's
        rows.append(("project memo", "", "", description(root), "", ""))
    sources = child(root, "Sources")
    for src in (list(sources) if sources is not None else []):
        doc = docs.get(norm_guid(src.get("guid")))
        if doc is not None:
            rows += _source_notes(src, doc, titles.get(doc, ""), notes, used, users)
    for ref, n in notes.items():
        if ref not in used:
            rows.append(("journal", "", n.name, n.text, users.get(n.author, ""), n.created))
    return rows + _cases(root, docs, variables)


def _source_notes(src: ET.Element, doc: str, title: str, notes: dict[str, Note], used: set[str],
                  users: dict[str, str]) -> list[tuple]:
    """A source's memo (its description, unless that is its title) and the notes it refers to."""
    rows: list[tuple] = []
    memo = description(src)
    if memo and " ".join(memo.split()) != " ".join(title.split()):
        rows.append(("document memo", doc, "", memo, "", ""))  # the source's author is not the memo's
    for ref in note_refs(src):
        if ref in notes and ref not in used:
            used.add(ref)
            n = notes[ref]
            rows.append(("document note", doc, n.name, n.text, users.get(n.author, ""), n.created))
    return rows


def _cases(root: ET.Element, docs: dict[str, str], variables: dict[str, str]) -> list[tuple]:
    """The project's named cases as stored rows."""
    rows: list[tuple] = []
    cases = child(root, "Cases")
    for case in (children(cases, "Case") if cases is not None else []):
        if case.get("name") is None:
            continue  # MAXQDA's nameless one-source cases are document variables (coding.exchange.variables)
        members = [docs[g] for r in children(case, "SourceRef") if (g := norm_guid(r.get("targetGUID"))) in docs]
        rows.append(("case", "\n".join(members), case.get("name") or "", _case_text(case, variables), "", ""))
    return rows


# -- export -----------------------------------------------------------------------

def case_variables(rows: list[tuple]) -> list[str]:
    """Names of the attributes of the stored cases, in order of appearance."""
    names: dict[str, None] = {}
    for _coder, kind, _target, _name, text, *_rest in rows:
        if kind == "case":
            names.update(dict.fromkeys(json.loads(text).get("attributes", {})))
    return list(names)


def write_cases(root: ET.Element, rows: list[tuple], guids: dict[str, str]) -> None:
    """``<Cases>`` of the stored cases; ``guids``: attribute name -> variable GUID."""
    cases = [r for r in rows if r[1] == "case"]
    if not cases:
        return
    el = sub(root, "Cases")
    for coder, _kind, target, name, text, *_rest in cases:
        data = json.loads(text)
        case = sub(el, "Case", {"guid": guid("case", f"{coder}|{name}"), "name": name})
        if data.get("description"):
            sub(case, "Description", text=data["description"])
        for attr, value in data.get("attributes", {}).items():
            vv = sub(case, "VariableValue")
            sub(vv, "VariableRef", {"targetGUID": guids[attr]})
            sub(vv, "TextValue", text=value)
        for doc in filter(None, target.split("\n")):
            sub(case, "SourceRef", {"targetGUID": guid("source", doc)})


def write_notes(root: ET.Element, rows: list[tuple], note_ids: dict[int, str]) -> None:
    """``<Notes>`` for journals and document notes (``note_ids``: row index ->
    note GUID, as :func:`note_guids` gives them); the project memo as the
    project's ``Description`` (both after Sources, as the schema orders them)."""
    notes = [(i, r) for i, r in enumerate(rows) if i in note_ids]
    if notes:
        el = sub(root, "Notes")
        for i, (coder, _kind, _target, name, text, author, created) in notes:
            note = sub(el, "Note", {"guid": note_ids[i], "name": name or "note",
                                    "creatingUser": guid("user", author or coder),
                                    "creationDateTime": _xsd(created)})
            sub(note, "PlainTextContent", text=text)
    memos = [r[4] for r in rows if r[1] == "project memo"]
    if memos:
        sub(root, "Description", text="\n\n".join(dict.fromkeys(memos)))


def note_guids(rows: list[tuple]) -> dict[int, str]:
    """Row index -> GUID for the rows that become ``Note``s."""
    return {i: guid("note", f"{r[0]}|{r[1]}|{r[2]}|{r[3]}|{i}") for i, r in enumerate(rows)
            if r[1] in ("journal", "document note")}


def _xsd(value: str) -> str | None:
    value = (value or "").strip()
    return (value[:-6] + "Z" if value.endswith("+00:00") else value) or None
