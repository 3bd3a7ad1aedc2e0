"""Import of a REFI-QDA codebook (``.qdc``, or the code tree of a project):
its codes become a YAML codebook skeleton."""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

from coding.codebook import Codebook
from coding.errors import CodingError
from coding.files import write_bytes
from coding.records import StrPath
from coding.refi.archive import find_qde, open_archive, read_limited, read_member
from coding.refi.xml import child, children, local, name_key, parse_xml

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


def _description(el: ET.Element) -> str:
    d = child(el, "Description")
    return (d.text or "").strip() if d is not None else ""


def _name(el: ET.Element) -> str:
    return (el.get("name") or "").strip() or "unnamed"


def _codes_below(el: ET.Element, parent_name: str, out: list[tuple[str, str]]) -> None:
    """(name, description) of the codes below ``el``, at any depth, in
    document order. A code named like its parent is folded into the parent
    (its children are kept): QualCoder 3.8.2 writes every parent code as a
    category holding a code of the same name, which is the parent itself."""
    for node in children(el, "Code"):
        name = _name(node)
        if name_key(name) == name_key(parent_name):
            _codes_below(node, parent_name, out)
        else:
            out.append((name, _description(node)))
            _codes_below(node, name, out)


def _folded_description(top: ET.Element) -> str:
    """A parent's description, else that of a same-named child folded into it."""
    own = _description(top)
    if own:
        return own
    twins = [c for c in children(top, "Code") if name_key(_name(c)) == name_key(_name(top))]
    return _description(twins[0]) if twins else ""


_Tree = list[tuple[str, str, list[tuple[str, str]]]]  # (variable name, description, [(code name, description)])


def _code_tree(root: ET.Element) -> _Tree:
    """Top-level codes with children as variables holding their codes;
    top-level codes without children under a last variable ``General``."""
    codes_el = child(root, "Codes")
    if codes_el is None:
        return []
    tree: _Tree = []
    loose: list[tuple[str, str]] = []
    for top in children(codes_el, "Code"):
        if children(top, "Code"):
            codes: list[tuple[str, str]] = []
            _codes_below(top, _name(top), codes)
            tree.append((_name(top), _folded_description(top), codes))
        else:
            loose.append((_name(top), _description(top)))
    if loose:
        tree.append(("General", "codes without a parent code", loose))
    return tree


def _assign_ids(tree: _Tree, codebook: Codebook | None) -> list[ImportedCode]:
    """Ids for the variables and codes of ``tree``: the id of the item of
    ``codebook`` with the same label (NFC, without case) where there is one,
    else a slug of the name that no other item, and no item of ``codebook``,
    has."""
    known_vars = {name_key(v.label): v.id for v in codebook.variables} if codebook else {}
    known_codes = {name_key(c.label): c.id for c in codebook.codes} if codebook else {}
    # pop: a label given twice in the file reuses the id once
    reused_vars = [known_vars.pop(name_key(name), None) for name, _d, _codes in tree]
    reused_codes = [[known_codes.pop(name_key(name), None) for name, _d in codes] for _n, _d, codes in tree]
    # a new slug takes no id of the current codebook: codings stored under that id mean its item
    taken = set(codebook.variable_ids + codebook.code_ids) if codebook else set()
    variables, codes = [], []
    for (name, desc, var_codes), vid, code_ids in zip(tree, reused_vars, reused_codes):
        vid = vid or _slug(name, taken)
        variables.append(ImportedCode(vid, name, "", desc))
        for (code_name, code_desc), cid in zip(var_codes, code_ids):
            codes.append(ImportedCode(cid or _slug(code_name, taken), code_name, vid, code_desc))
    return variables + codes


def read_codebook_codes(root: ET.Element, codebook: Codebook | None = None) -> list[ImportedCode]:
    """Codes of a ``CodeBook`` element as variables and codes.

    Top-level codes with children become variables and their descendants
    (at any depth) its codes; a code named like its parent is the parent
    (see :func:`_codes_below`). Top-level codes without children are put
    under a variable ``general``. With ``codebook`` (the current one),
    items keep the ids of its variables and codes with the same labels
    (compared in NFC, without case): programs such as QualCoder write new
    GUIDs, so labels are all that survive a round trip.
    """
    return _assign_ids(_code_tree(root), codebook)


def reuse_ids(entries: list[ImportedCode], codebook: Codebook | None) -> list[ImportedCode]:
    """``entries`` (variables first, as :func:`read_codebook_codes` gives
    them) with the ids of ``codebook``'s items of the same labels."""
    tree = [(v.label, v.description, [(c.label, c.description) for c in entries if c.parent == v.id])
            for v in entries if not v.parent]
    return _assign_ids(tree, codebook)


def import_codebook(path: StrPath, out: StrPath | None = None, codebook: Codebook | None = None) -> list[ImportedCode]:
    """Read the codes of a ``.qdc`` (or the codebook of a ``.qdpx``/``.qde``).

    Returns variables first (parent ""), then codes. ``codebook``: the
    current codebook, whose ids are kept for items with the same labels
    (see :func:`read_codebook_codes`). With ``out``, also writes a
    ``codebook.yaml`` skeleton whose pattern lists are left for the user to
    fill (the codebook loader rejects it until they are).
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
    entries = read_codebook_codes(root, codebook)
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


def write_codebook_skeleton(entries: list[ImportedCode], out: StrPath, name: str = "imported codebook",
                            codebook: Codebook | None = None) -> Path:
    """Write a codebook YAML with the imported variables and codes.

    Every code gets ``patterns: []`` with a comment: the loader refuses
    empty pattern lists, so the file must be completed before use. With
    ``codebook`` (the current one), items with its labels get its ids (see
    :func:`reuse_ids`).
    """
    import yaml

    if codebook is not None:
        entries = reuse_ids(entries, codebook)

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
