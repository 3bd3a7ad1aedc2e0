"""Import of a REFI-QDA codebook (``.qdc``, or the code tree of a project):
its codes become a YAML codebook skeleton."""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

from coding.errors import CodingError
from coding.files import write_bytes
from coding.refi.archive import find_qde, open_archive, read_limited, read_member
from coding.refi.xml import child, children, local, parse_xml

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
    codes_el = child(root, "Codes")
    if codes_el is None:
        return []
    taken: set[str] = set()
    variables, codes, loose = [], [], []

    def desc(el):
        d = child(el, "Description")
        return (d.text or "").strip() if d is not None else ""

    def walk(el, variable_id):
        for node in children(el, "Code"):
            name = (node.get("name") or "").strip() or "unnamed"
            codes.append(ImportedCode(_slug(name, taken), name, variable_id, desc(node)))
            walk(node, variable_id)

    for top in children(codes_el, "Code"):
        name = (top.get("name") or "").strip() or "unnamed"
        if children(top, "Code"):
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
        with open_archive(path) as zf:
            root = parse_xml(read_member(zf, find_qde(zf, path), path), path)
        root = child(root, "CodeBook")
        if root is None:
            raise CodingError("the project has no codebook", path)
    else:
        root = parse_xml(read_limited(path), path)
    if local(root.tag) != "CodeBook":
        raise CodingError(f"root element is <{local(root.tag)}>, not <CodeBook>", path)
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
