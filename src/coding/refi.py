"""REFI-QDA exchange: codebooks (``.qdc``) and projects (``.qdpx``).

REFI-QDA (QDA-XML 1.0) is the exchange format of ATLAS.ti, MAXQDA, NVivo,
QualCoder and others. What maps to what:

* Codebook: every variable is a parent code, its codes are child codes; the
  definition is the ``<Description>``; every code is codable. GUIDs are
  derived from the ids (UUID version 5 in a fixed namespace), so exporting
  the same codebook again gives the same GUIDs.
* Project: every document is a ``TextSource`` whose text is stored as
  ``sources/<guid>.txt`` (UTF-8, no byte-order mark, LF line ends); every
  coder is a ``User``; every coding is a ``PlainTextSelection`` over the
  unit's characters (``startPosition`` = unit start, ``endPosition`` = unit
  end: 0-based code points, end exclusive) with one ``Coding`` whose
  ``CodeRef`` names the code (a variable-level coding names the variable's
  parent code).
* Import maps each coded selection to the units of the matching corpus
  document: a unit counts as coded when the selection covers at least
  ``min_overlap`` of the unit's characters (0.5 by default: more than half
  of a paragraph). Every unit of a matched document counts as seen by the
  imported coder, since REFI-QDA cannot say which units a coder looked at
  and left uncoded.

Imported files are untrusted: archive members may not leave the archive,
the archive's size and member count are bounded, and XML with a DTD or
entity declarations is refused.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import unicodedata
import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from coding import __version__
from coding.codebook import Codebook
from coding.errors import CodingError
from coding.files import write_bytes, write_with
from coding.records import Coding, content_hash

NS_PROJECT = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
# Fixed namespace for the GUIDs this package derives (never change it:
# GUIDs must stay the same from one export to the next).
GUID_NAMESPACE = uuid.UUID("6f1c3c52-5d0e-4b8e-9a57-0c0d1e2f3a4b")
MAX_ARCHIVE_BYTES = 500 * 1024 * 1024
MAX_ARCHIVE_MEMBERS = 10_000
_RGB = re.compile(r"^#?([0-9A-Fa-f]{6})(?:[0-9A-Fa-f]{2})?$")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed member dates: the same project gives the same bytes


def guid(kind: str, key: str) -> str:
    """A stable GUID for an object of ``kind`` (code, variable, user...) named ``key``."""
    return str(uuid.uuid5(GUID_NAMESPACE, f"{kind}:{key}")).upper()


def _norm_guid(value: str | None) -> str:
    return (value or "").strip().strip("{}").upper()


def colour(value: str | None) -> str | None:
    """A colour as ``#RRGGBB``; ``#RRGGBBAA`` loses its alpha; anything else is None."""
    m = _RGB.match((value or "").strip())
    return f"#{m.group(1).upper()}" if m else None


def _variable_colours(variable_ids: list[str]) -> dict[str, str]:
    from coding.reports.figures import variable_colours

    return {v: colour(c) for v, c in variable_colours(variable_ids).items()}


def _description(definition: str, include: str = "", exclude: str = "") -> str:
    parts = [definition.strip()]
    if include.strip():
        parts.append(f"Include: {include.strip()}")
    if exclude.strip():
        parts.append(f"Exclude: {exclude.strip()}")
    return "\n\n".join(p for p in parts if p)


def _sub(parent: ET.Element, tag: str, attrs: dict | None = None, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: v for k, v in (attrs or {}).items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _code_tree(parent: ET.Element, codebook: Codebook) -> None:
    """Variables as parent codes with their codes as children (schema order:
    Description before child Codes)."""
    colours = _variable_colours(codebook.variable_ids)
    codes_el = _sub(parent, "Codes")
    for var in codebook.variables:
        v_el = _sub(codes_el, "Code", {"guid": guid("variable", var.id), "name": var.label,
                                        "isCodable": "true", "color": colours.get(var.id)})
        desc = _description(var.definition, var.include, var.exclude)
        if desc:
            _sub(v_el, "Description", text=desc)
        for code in codebook.codes_of(var.id):
            c_el = _sub(v_el, "Code", {"guid": guid("code", code.id), "name": code.label,
                                        "isCodable": "true", "color": colours.get(var.id)})
            desc = _description(code.definition, code.include, code.exclude)
            if desc:
                _sub(c_el, "Description", text=desc)


def _xml_bytes(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


# -- export --------------------------------------------------------------------

def export_codebook(codebook: Codebook, path) -> Path:
    """Write the codebook as a REFI-QDA ``.qdc`` file (see the module doc)."""
    root = ET.Element("CodeBook", {"xmlns": NS_CODEBOOK, "origin": f"coding {__version__}"})
    _code_tree(root, codebook)
    return write_bytes(path, _xml_bytes(root))


def _xsd_datetime(value: str) -> str:
    value = (value or "").strip()
    if value.endswith("+00:00"):
        value = value[:-6] + "Z"
    return value or None


def export_project(store, path, coders=None, codebook_version: str | None = None) -> Path:
    """Write the store's documents, codebook and codings as a ``.qdpx`` archive.

    ``coders``: names to export (default: every coder with codings or
    coverage under the codebook version). Output is deterministic: the same
    store gives the same archive bytes.
    """
    codebook = store.codebook(codebook_version)
    version = codebook.version
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
    docs = [(d.id, d.title, d.text) for d in store.documents()]
    if not docs:
        raise CodingError("the store has no documents", store.path)
    rows = store.export_rows(coders, version)
    by_doc: dict[str, list] = {}
    for row in rows:
        by_doc.setdefault(row[0], []).append(row)
    variables = set(codebook.variable_ids)
    codes = set(codebook.code_ids)

    root = ET.Element("Project", {"xmlns": NS_PROJECT, "name": codebook.name or store.path.stem,
                                  "origin": f"coding {__version__}"})
    users = _sub(root, "Users")
    for name in coders:
        _sub(users, "User", {"guid": guid("user", name), "name": name})
    _code_tree(_sub(root, "CodeBook"), codebook)
    sources = _sub(root, "Sources")
    files: list[tuple[str, bytes]] = []
    for doc_id, title, text in docs:
        sguid = guid("source", doc_id)
        src = _sub(sources, "TextSource", {"guid": sguid, "name": doc_id,
                                           "plainTextPath": f"internal://{sguid}.txt"})
        if title and title != doc_id:
            _sub(src, "Description", text=title)
        for _doc, unit_id, start, end, coder, variable, code, created in by_doc.get(doc_id, ()):
            if code and code in codes:
                target = guid("code", code)
            elif not code and variable in variables:
                target = guid("variable", variable)
            else:
                continue  # not in this codebook version
            key = f"{coder}|{unit_id}|{variable}|{code}"
            when = _xsd_datetime(created)
            user = guid("user", coder)
            sel = _sub(src, "PlainTextSelection", {
                "guid": guid("selection", key), "name": unit_id, "startPosition": str(start),
                "endPosition": str(end), "creatingUser": user, "creationDateTime": when})
            cod = _sub(sel, "Coding", {"guid": guid("coding", key), "creatingUser": user,
                                       "creationDateTime": when})
            _sub(cod, "CodeRef", {"targetGUID": target})
        files.append((f"sources/{sguid}.txt", text.replace("\r\n", "\n").encode("utf-8")))
    project = _xml_bytes(root)

    def _write(fh):
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in [("project.qde", project), *files]:
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)

    return write_with(path, _write, binary=True)


# -- validation ------------------------------------------------------------------

@cache
def _schema(name: str):
    import xmlschema

    with resources.as_file(resources.files("coding") / "schemas" / name) as p:
        return xmlschema.XMLSchema(str(p))


def parse_xml(data: bytes, path) -> ET.Element:
    """Parse untrusted XML: DTDs, entity declarations and external
    references are refused (defusedxml)."""
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    try:
        return DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise CodingError(f"refused XML with a DTD or entity declarations ({type(exc).__name__})", path) from None
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise CodingError(f"not well-formed XML: {str(exc).splitlines()[0]}", path, line) from None


def validate(path) -> None:
    """Validate a ``.qdc`` codebook, or the ``project.qde`` of a ``.qdpx``
    (or a bare ``.qde``), against the REFI-QDA schema.

    Raises CodingError with the first problem; returns None when valid.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".qdc":
        data, schema, where = _read_limited(path), _schema("Codebook.xsd"), path
    elif suffix == ".qde":
        data, schema, where = _read_limited(path), _schema("Project-mrt2019.xsd"), path
    elif suffix == ".qdpx":
        with _open_archive(path) as zf:
            name = _find_qde(zf, path)
            data = _read_member(zf, name, path)
        schema, where = _schema("Project-mrt2019.xsd"), f"{path}!{name}"
    else:
        raise CodingError("not a REFI-QDA file (expected .qdc, .qdpx or .qde)", path)
    root = parse_xml(data, where)
    for err in schema.iter_errors(root):
        reason = " ".join((err.reason or str(err)).split())
        raise CodingError(f"not valid REFI-QDA: {reason}", where, None, err.path)


def _read_limited(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CodingError(f"cannot read: {exc.strerror}", path) from None
    if size > MAX_ARCHIVE_BYTES:
        raise CodingError(f"file larger than {MAX_ARCHIVE_BYTES // 2**20} MB", path)
    return path.read_bytes()


# -- safe archive access -----------------------------------------------------

def _open_archive(path: Path) -> zipfile.ZipFile:
    """Open a .qdpx after checking member paths, count and total size."""
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise CodingError("file not found", path) from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise CodingError(f"not a .qdpx (zip) archive: {exc}", path) from None
    infos = zf.infolist()
    if len(infos) > MAX_ARCHIVE_MEMBERS:
        zf.close()
        raise CodingError(f"archive has {len(infos)} members (limit {MAX_ARCHIVE_MEMBERS})", path)
    total = sum(i.file_size for i in infos)
    if total > MAX_ARCHIVE_BYTES:
        zf.close()
        raise CodingError(f"archive expands to {total} bytes (limit {MAX_ARCHIVE_BYTES})", path)
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            zf.close()
            raise CodingError(f"archive member path leaves the archive: {info.filename!r}", path)
    return zf


def _read_member(zf: zipfile.ZipFile, name: str, path) -> bytes:
    info = zf.getinfo(name)
    with zf.open(info) as fh:
        # the declared size may lie: never read more than the bound
        data = fh.read(MAX_ARCHIVE_BYTES + 1)
    if len(data) > MAX_ARCHIVE_BYTES:
        raise CodingError(f"archive member {name!r} expands beyond {MAX_ARCHIVE_BYTES} bytes", path)
    return data


def _find_qde(zf: zipfile.ZipFile, path) -> str:
    """``project.qde`` (any case) at the top, else the only ``*.qde``."""
    names = [n for n in zf.namelist() if not n.endswith("/")]
    top = [n for n in names if n.lower() == "project.qde"]
    if top:
        return top[0]
    qde = [n for n in names if n.lower().endswith(".qde")]
    if len(qde) == 1:
        return qde[0]
    if not qde:
        raise CodingError("no project.qde in the archive", path)
    raise CodingError(f"several .qde files in the archive ({', '.join(sorted(qde))})", path)


# -- XML helpers (namespace-lenient) ---------------------------------------------

def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


# -- codebook import ---------------------------------------------------------------

class ImportedCode(NamedTuple):
    """A code read from a REFI-QDA codebook, with the id given to it here."""

    id: str
    label: str
    parent: str          # variable id for a code, "" for a variable
    description: str


def _slug(name: str, taken: set[str]) -> str:
    # Accents are dropped, not the letters that carry them ("Énergie" -> "energie").
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
    base = re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_") or "code"
    if not base[0].isalpha():
        base = "c_" + base
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}_{n}", n + 1
    taken.add(slug)
    return slug


def read_codebook_codes(root: ET.Element) -> list[ImportedCode]:
    """Codes of a ``CodeBook`` element as variables and codes.

    Top-level codes with children become variables and their descendants
    (at any depth) its codes; top-level codes without children are put
    under a variable ``general``.
    """
    codes_el = _child(root, "Codes")
    if codes_el is None:
        return []
    taken: set[str] = set()
    variables, codes, loose = [], [], []

    def desc(el):
        d = _child(el, "Description")
        return (d.text or "").strip() if d is not None else ""

    def walk(el, variable_id):
        for child in _children(el, "Code"):
            name = (child.get("name") or "").strip() or "unnamed"
            codes.append(ImportedCode(_slug(name, taken), name, variable_id, desc(child)))
            walk(child, variable_id)

    for top in _children(codes_el, "Code"):
        name = (top.get("name") or "").strip() or "unnamed"
        if _children(top, "Code"):
            vid = _slug(name, taken)
            variables.append(ImportedCode(vid, name, "", desc(top)))
            walk(top, vid)
        else:
            loose.append((name, desc(top)))
    if loose:
        gid = _slug("general", taken)
        variables.append(ImportedCode(gid, "General", "", "codes without a parent code"))
        for name, d in loose:
            codes.append(ImportedCode(_slug(name, taken), name, gid, d))
    return variables + codes


def import_codebook(path, out=None) -> list[ImportedCode]:
    """Read the codes of a ``.qdc`` (or the codebook of a ``.qdpx``/``.qde``).

    Returns variables first (parent ""), then codes. With ``out``, also
    writes a ``codebook.yaml`` skeleton whose pattern lists are left for the
    user to fill (the codebook loader rejects it until they are).
    """
    path = Path(path)
    if path.suffix.lower() == ".qdpx":
        with _open_archive(path) as zf:
            root = parse_xml(_read_member(zf, _find_qde(zf, path), path), path)
        root = _child(root, "CodeBook")
        if root is None:
            raise CodingError("the project has no codebook", path)
    else:
        root = parse_xml(_read_limited(path), path)
    if _local(root.tag) != "CodeBook":
        raise CodingError(f"root element is <{_local(root.tag)}>, not <CodeBook>", path)
    entries = read_codebook_codes(root)
    if not any(e.parent for e in entries):
        raise CodingError("the codebook has no codes", path)
    if out is not None:
        write_codebook_skeleton(entries, out, name=path.stem)
    return entries


def _yaml_str(value: str) -> str:
    import yaml

    return yaml.safe_dump(value, allow_unicode=True, default_style='"', width=10_000).strip()


_DESCRIBED = re.compile(r"^(.*?)(?:\n\s*\nInclude: (.*?))?(?:\n\s*\nExclude: (.*))?$", re.DOTALL)


def _described(description: str) -> list[str]:
    """YAML lines for a description; 'Include:'/'Exclude:' paragraphs (as
    exported here) go back to their own keys."""
    m = _DESCRIBED.match(description.strip())
    parts = {"definition": m.group(1), "include": m.group(2), "exclude": m.group(3)}
    out = []
    for key, value in parts.items():
        if value is not None and (value.strip() or key == "definition"):
            out.append(f"    {key}: {_yaml_str(' '.join(value.split()))}")
    return out


def write_codebook_skeleton(entries: list[ImportedCode], out, name: str = "imported codebook") -> Path:
    """Write a codebook YAML with the imported variables and codes.

    Every code gets ``patterns: []`` with a comment: the loader refuses
    empty pattern lists, so the file must be completed before use.
    """
    import yaml

    lines = [
        "# Codebook skeleton imported from a REFI-QDA codebook.",
        "# Fill in every 'patterns' list (terms, or regexes starting with 're:') before use:",
        "# the codebook is rejected while any pattern list is empty.",
        f"name: {_yaml_str(name)}",
        'description: ""',
        "variables:",
    ]
    for e in entries:
        if not e.parent:
            lines += [f"  - id: {e.id}", f"    label: {_yaml_str(e.label)}"] + _described(e.description)
    lines.append("codes:")
    for e in entries:
        if e.parent:
            lines += [f"  - id: {e.id}", f"    label: {_yaml_str(e.label)}", f"    variable: {e.parent}"]
            lines += _described(e.description)
            lines.append("    patterns: []  # TO FILL: terms or 're:' regexes for this code")
    text = "\n".join(lines) + "\n"
    yaml.safe_load(text)  # the skeleton must at least be valid YAML
    return write_bytes(out, text.encode("utf-8"))


# -- project import ---------------------------------------------------------------

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

    def lines(self) -> list[str]:
        """The report as printable lines."""
        out = [f"coder {self.coder}: {len(self.matched)} of {self.sources} sources matched, "
               f"{self.selections_used} of {self.selections} text selections used, "
               f"{self.codings} codings on {self.units_seen} units"
               + ("" if self.stored else " (nothing stored: no source matched)")]
        out += [f"  matched {s!r} -> {d} ({how})" for s, d, how in self.matched]
        out += [f"  unmatched {s!r}: {why}" for s, why in self.unmatched]
        out += [f"  skipped {kind} {n!r}: {why}" for kind, n, why in self.skipped]
        out += [f"  unknown code {c!r} ({n} codings)" for c, n in sorted(self.unknown_codes.items())]
        out += [f"  warning: {w}" for w in self.warnings]
        return out


class _Source(NamedTuple):
    kind: str
    name: str
    element: ET.Element            # holds the PlainTextSelections and Codings
    text: str | None               # normalised (LF) text, None when not available
    raw_to_text: list[int] | None  # positions of removed CRs, for mapping positions
    problem: str


def _decode_source(data: bytes) -> tuple[str, list[int]]:
    """Text of a source file and the raw indices of the CRs that LF
    normalisation removes (positions refer to the raw text, BOM excluded)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raw = data.decode("utf-16")
    else:
        raw = data.decode("utf-8-sig")
    removed = [m.start() for m in re.finditer("\r\n", raw)]
    return raw.replace("\r\n", "\n").replace("\r", "\n"), removed


def _raw_to_norm(pos: int, removed: list[int]) -> int:
    """Map a position in the raw text to the LF-normalised text."""
    return pos - bisect.bisect_left(removed, pos)


def _member_lookup(zf: zipfile.ZipFile) -> dict[str, str]:
    """Source files by lower-case base name, for ``internal://`` references
    (in ``sources/``, ``Sources/`` or anywhere in the archive)."""
    found: dict[str, str] = {}
    for n in sorted(zf.namelist(), key=lambda n: (n.count("/"), n)):
        if not n.endswith("/"):
            found.setdefault(PurePosixPath(n).name.lower(), n)
    return found


def _source_text(el: ET.Element, zf, lookup, path) -> tuple[str | None, list[int] | None, str]:
    content = _child(el, "PlainTextContent")
    if content is not None and content.text:
        text, removed = _decode_source(content.text.encode("utf-8"))
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
        text, removed = _decode_source(_read_member(zf, member, path))
    except UnicodeDecodeError as exc:
        return None, None, f"text file {member} is not UTF-8 (byte {exc.start})"
    return text, removed, ""


def _name_key(name: str) -> str:
    """Names compare in NFC, case-folded (exports may write decomposed accents)."""
    return unicodedata.normalize("NFC", name).strip().casefold()


def _squash(text: str) -> str:
    return " ".join(text.split())


class _Doc(NamedTuple):
    id: str
    title: str
    path: str
    hash: str
    text: str


def _match(source: _Source, docs: list[_Doc], by_hash, by_squash, by_name) -> tuple[_Doc | None, str]:
    """The corpus document a source is, and how it was matched (or why not)."""
    if source.text is not None:
        doc = by_hash.get(content_hash(source.text))
        if doc:
            return doc, "same text"
        doc = by_squash.get(content_hash(_squash(source.text)))
        if doc:
            return doc, "same text apart from white space"
    keys = {_name_key(source.name), _name_key(Path(source.name).stem)} - {""}
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
        return lambda p, is_end=False: _raw_to_norm(p, removed)
    # same text apart from white space: align on non-space characters
    src_ns = [i for i, ch in enumerate(source.text) if not ch.isspace()]
    doc_ns = [i for i, ch in enumerate(doc.text) if not ch.isspace()]

    def mapper(p, is_end=False):
        p = _raw_to_norm(p, removed)
        if is_end:
            k = bisect.bisect_left(src_ns, p) - 1  # last non-space before p
            return doc_ns[k] + 1 if k >= 0 else 0
        k = bisect.bisect_left(src_ns, p)  # first non-space at or after p
        return doc_ns[k] if k < len(doc_ns) else len(doc.text)
    return mapper


def _code_index(codebook: Codebook) -> dict[str, tuple[str, str]]:
    """Lower-case names (labels and ids) -> (variable, code); code names first."""
    index: dict[str, tuple[str, str]] = {}
    for v in codebook.variables:
        for key in (v.id, v.label):
            index.setdefault(key.strip().lower(), (v.id, ""))
    for c in codebook.codes:
        for key in (c.id, c.label):
            index[key.strip().lower()] = (c.variable, c.id)
    return index


def _project_codes(root: ET.Element) -> dict[str, str]:
    """Code GUID -> name, over the whole code tree."""
    names: dict[str, str] = {}
    book = _child(root, "CodeBook")
    codes = _child(book, "Codes") if book is not None else None

    def walk(el):
        for c in _children(el, "Code"):
            names[_norm_guid(c.get("guid"))] = (c.get("name") or "").strip()
            walk(c)
    if codes is not None:
        walk(codes)
    return names


def _author(coding: ET.Element, selection: ET.Element | None) -> str:
    """GUID of the user who made a coding (the coding's own, else its selection's)."""
    who = coding.get("creatingUser") or (selection.get("creatingUser") if selection is not None else "")
    return _norm_guid(who)


def _pick_user(root: ET.Element, user: str | None, user_names: dict[str, str], path) -> str | None:
    """The GUID whose codings to import: ``user`` by name or GUID; with no
    ``user``, None (all codings) unless several users made codings."""
    authors: dict[str, int] = {}
    for sel in root.iter():
        if _local(sel.tag) in ("PlainTextSelection", "TextSource"):
            for cod in _children(sel, "Coding"):
                a = _author(cod, sel)
                authors[a] = authors.get(a, 0) + 1
    label = lambda g: user_names.get(g) or g or "(no user)"
    if user is None:
        if len(authors) > 1:
            raise CodingError("codings by several users (" + ", ".join(sorted(label(a) for a in authors))
                              + "); choose one user to import", path)
        return None
    key = user.strip()
    for g, name in user_names.items():
        if key.lower() in (name.lower(), g.lower()) or _norm_guid(key) == g:
            return g
    if _norm_guid(key) in authors:
        return _norm_guid(key)
    raise CodingError(f"no user '{user}' in the project (users: "
                      + ", ".join(sorted(label(g) for g in set(user_names) | set(authors))) + ")", path)


def _code_for(name: str, index) -> tuple[str, str] | None:
    key = name.strip().lower()
    if key in index:
        return index[key]
    if "::" in key:  # ATLAS.ti writes group::code
        return index.get(key.rsplit("::", 1)[-1].strip())
    return None


def import_project(store, path, coder: str, codebook: Codebook, min_overlap: float = 0.5,
                   user: str | None = None) -> ImportReport:
    """Import the text codings of a ``.qdpx`` as coder ``coder``.

    Sources are matched to the store's documents by text (SHA-256 of the
    LF-normalised text, or of the text with white space collapsed) or by
    name (TextSource name against document id, title, file name or stem).
    Each coded selection codes the units it covers by at least
    ``min_overlap`` of their characters; codes are matched by label or id,
    case-insensitively, to codes or variables of ``codebook``. A project
    whose codings come from several users needs ``user`` (a User's name or
    GUID): only that user's codings are imported. Pictures,
    audio, video and PDFs without text are skipped and reported. The
    coder's codings under the codebook version are replaced (kind
    ``import``) unless no source matched, in which case nothing is stored.
    """
    path = Path(path)
    if not 0.0 <= min_overlap <= 1.0:
        raise CodingError(f"min_overlap must be between 0 and 1, not {min_overlap}")
    if not coder or not coder.strip():
        raise CodingError("an import needs a coder name")
    report = ImportReport(coder=coder)
    with _open_archive(path) as zf:
        qde = _find_qde(zf, path)
        root = parse_xml(_read_member(zf, qde, path), f"{path}!{qde}")
        if _local(root.tag) != "Project":
            raise CodingError(f"root element is <{_local(root.tag)}>, not <Project>", f"{path}!{qde}")
        lookup = _member_lookup(zf)
        sources: list[_Source] = []
        srcs_el = _child(root, "Sources")
        for el in (list(srcs_el) if srcs_el is not None else []):
            kind, name = _local(el.tag), (el.get("name") or el.get("guid") or "").strip()
            if kind == "TextSource":
                text, removed, problem = _source_text(el, zf, lookup, path)
                sources.append(_Source(kind, name, el, text, removed, problem))
            elif kind == "PDFSource" and _child(el, "Representation") is not None:
                rep = _child(el, "Representation")
                text, removed, problem = _source_text(rep, zf, lookup, path)
                sources.append(_Source(kind, name, rep, text, removed, problem))
                n = len(_children(el, "PDFSelection"))
                if n:
                    report.skipped.append(("PDFSelection", name, f"{n} area selection(s) on PDF pages"))
            elif kind == "PDFSource":
                report.skipped.append((kind, name, "PDF without a text representation"))
            elif kind in ("PictureSource", "AudioSource", "VideoSource"):
                report.skipped.append((kind, name, "not a text source"))
            else:
                report.skipped.append((kind, name, "unknown kind of source"))
    report.sources = len(sources) + sum(1 for s in report.skipped if s[0] != "PDFSelection")

    docs = [_Doc(d.id, d.title, d.path, d.content_hash, d.text) for d in store.documents()]
    by_hash = {d.hash or content_hash(d.text): d for d in docs}
    by_squash = {content_hash(_squash(d.text)): d for d in docs}
    by_name: dict[str, list[_Doc]] = {}
    for d in docs:
        for key in {d.id, d.title, Path(d.path).name, Path(d.path).stem}:
            if key:
                by_name.setdefault(_name_key(key), []).append(d)
    seg = store.segmentation()
    units_of: dict[str, list[tuple[str, int, int]]] = {}
    for unit in store.units(seg):
        units_of.setdefault(unit.document_id, []).append((unit.id, unit.start, unit.end))
    code_names = _project_codes(root)
    index = _code_index(codebook)
    users_el = _child(root, "Users")
    user_names = {_norm_guid(u.get("guid")): (u.get("name") or "").strip()
                  for u in (_children(users_el, "User") if users_el is not None else [])}
    wanted = _pick_user(root, user, user_names, path)

    sel_parent: dict[int, ET.Element] = {}
    matched_docs: list[_Doc] = []
    pairs: set[tuple[str, str, str]] = set()
    for source in sources:
        selections = _children(source.element, "PlainTextSelection")
        whole = _children(source.element, "Coding")  # codings of the whole source
        report.selections += len(selections) + len(whole)
        doc, how = _match(source, docs, by_hash, by_squash, by_name)
        if doc is None:
            report.unmatched.append((source.name, how))
            continue
        if doc in matched_docs:
            report.unmatched.append((source.name, f"document '{doc.id}' already matched by another source"))
            continue
        matched_docs.append(doc)
        report.matched.append((source.name, doc.id, how))
        to_doc = _position_mapper(source, doc)
        limit = len(source.text) if source.text is not None else len(doc.text)
        spans = []
        for sel in selections:
            try:
                raw_start, raw_end = int(sel.get("startPosition")), int(sel.get("endPosition"))
            except (TypeError, ValueError):
                report.warnings.append(f"{source.name}: selection {sel.get('guid')} has no valid positions")
                continue
            spans.append((raw_start, raw_end, _children(sel, "Coding"), sel.get("guid")))
            for cod in _children(sel, "Coding"):
                sel_parent[id(cod)] = sel
        for cod in whole:
            spans.append((None, None, [cod], None))
        units = units_of.get(doc.id, [])
        for raw_start, raw_end, codings, sel_guid in spans:
            if raw_start is None:
                start, end = 0, len(doc.text)
            else:
                start, end = to_doc(max(0, raw_start)), to_doc(max(0, raw_end), True)
                if raw_end > limit + len(source.raw_to_text or []) or raw_start >= raw_end:
                    report.warnings.append(
                        f"{source.name}: selection {sel_guid} ({raw_start}-{raw_end}) is outside the text or empty")
                    if raw_start >= raw_end:
                        continue
            targets = []
            for cod in codings:
                if wanted is not None and _author(cod, sel_parent.get(id(cod))) != wanted:
                    continue
                ref = _child(cod, "CodeRef")
                name = code_names.get(_norm_guid(ref.get("targetGUID") if ref is not None else ""), "")
                hit = _code_for(name, index) if name else None
                if hit is None:
                    label = name or f"(code {ref.get('targetGUID') if ref is not None else '?'})"
                    report.unknown_codes[label] = report.unknown_codes.get(label, 0) + 1
                    continue
                targets.append(hit)
            if not targets:
                continue
            covered = [uid for uid, us, ue in units
                       if (ov := min(end, ue) - max(start, us)) > 0 and ov >= min_overlap * (ue - us)]
            if covered:
                report.selections_used += 1
            for uid in covered:
                for variable, code in targets:
                    pairs.add((uid, variable, code))

    if not matched_docs:
        return report
    # a code already implies its variable
    with_code = {(u, v) for u, v, c in pairs if c}
    pairs = {p for p in pairs if p[2] or (p[0], p[1]) not in with_code}
    seen = [uid for d in matched_docs for uid, _s, _e in units_of.get(d.id, [])]
    order = {u: i for i, u in enumerate(seen)}
    codings = [Coding(u, c, v, coder, codebook.version)
               for u, v, c in sorted(pairs, key=lambda p: (order[p[0]], p[1], p[2]))]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    store.replace_coder(coder, seen, codings, codebook.version, kind="import", source=str(path),
                        content_hash=f"{digest}:{codebook.version}:{seg}:{min_overlap}")
    report.units_seen, report.codings, report.stored = len(seen), len(codings), True
    return report
