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
from coding.exchange.archive import find_qde, open_archive, read_limited, read_member
from coding.exchange.descriptions import split
from coding.exchange.xml import child, children, colour, guid, local, name_key, norm_guid, parse_xml
from coding.files import write_bytes
from coding.records import StrPath

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


#: The name of the code set in which this package's .qdc keeps the codebook's name, description and settings.
SETTINGS_SET = "coding: settings"


class Extras:
    """What a code tree says besides names and descriptions: where a code
    sat in a deeper tree, the colours of top-level codes, this package's
    settings, and notes on what the import changed."""

    def __init__(self):
        self.chains: dict[tuple[str, str], str] = {}    # (variable key, code key) -> "A > B > C"
        self.colours: dict[str, str] = {}               # variable key -> #RRGGBB
        self.settings: dict = {}                        # name, description, settings
        self.notes: list[str] = []
        self.guids: dict[tuple[str, str], str] = {}     # (variable key, code key) -> the code's GUID


def _codes_below(el: ET.Element, parent_name: str, out: list[tuple[str, str]], chain: tuple[str, ...] = (),
                 extras: Extras | None = None) -> None:
    """(name, description) of the codes below ``el``, at any depth, in
    document order. A code named like its parent is folded into the parent
    (its children are kept): QualCoder 3.8.2 writes every parent code as a
    category holding a code of the same name, which is the parent itself.
    Codes deeper than the second level keep their parent chain in ``extras``."""
    extras = extras if extras is not None else Extras()
    chain = chain or (parent_name,)
    for node in children(el, "Code"):
        name = _name(node)
        if name_key(name) == name_key(parent_name):
            extras.notes.append(f"code {name!r} is named like its parent: taken as the parent "
                                "(its codings code the parent)")
            _codes_below(node, parent_name, out, chain, extras)
        else:
            out.append((name, _description(node)))
            extras.guids[(name_key(chain[0]), name_key(name))] = norm_guid(node.get("guid"))
            if len(chain) > 1:
                extras.chains[(name_key(chain[0]), name_key(name))] = " > ".join((*chain, name))
            _codes_below(node, name, out, (*chain, name), extras)


def _folded_description(top: ET.Element) -> str:
    """A parent's description, else that of a same-named child folded into it."""
    own = _description(top)
    if own:
        return own
    twins = [c for c in children(top, "Code") if name_key(_name(c)) == name_key(_name(top))]
    return _description(twins[0]) if twins else ""


_Tree = list[tuple[str, str, list[tuple[str, str]]]]  # (variable name, description, [(code name, description)])


def _code_sets(sets: ET.Element | None, extras: Extras) -> list[tuple[str, str, list[str]]]:
    """(name, description, member code GUIDs) of the sets of codes (ATLAS.ti's
    code groups); this package's settings set is read into ``extras``."""
    found = []
    for st in (children(sets, "Set") if sets is not None else []):
        if _name(st) == SETTINGS_SET:
            import yaml

            try:
                data = yaml.safe_load(_description(st)) or {}
            except yaml.YAMLError:
                data = {}
            extras.settings = {k: data[k] for k in ("name", "description", "settings") if isinstance(data, dict)
                               and k in data}
            continue
        members = [norm_guid(m.get("targetGUID")) for m in children(st, "MemberCode")]
        if members:
            found.append((_name(st), _description(st), members))
    return found


def _grouped(loose: list[ET.Element], sets: list[tuple[str, str, list[str]]], extras: Extras) -> _Tree:
    """Top-level codes without children grouped by the first code set that
    holds them (ATLAS.ti's code groups); a code named like its group is the
    group itself. Codes in no set go under a last variable ``General``."""
    by_guid = {norm_guid(el.get("guid")): el for el in loose}
    placed: set[str] = set()
    tree: _Tree = []
    for name, desc, members in sets:
        codes = _group_codes(name, members, by_guid, placed, extras)
        if codes:
            tree.append((name, desc, codes))
    for name, _desc, _members in sets:
        _fold_twin(name, tree, by_guid, placed, extras)
    rest = [(_name(el), _description(el)) for g, el in by_guid.items() if g not in placed]
    if rest:
        tree.append(("General", "codes without a parent code", rest))
    return tree


def _group_codes(name: str, members: list[str], by_guid: dict[str, ET.Element], placed: set[str],
                 extras: Extras) -> list[tuple[str, str]]:
    """(name, description) of the codes of one code group not placed in an earlier group."""
    codes = []
    for g in members:
        el = by_guid.get(g)
        if el is None:
            continue
        if g in placed:
            extras.notes.append(f"code {_name(el)!r} is also in code group {name!r}; it stays in its first group")
            continue
        placed.add(g)
        codes.append((_name(el), _description(el)))
        extras.guids[(name_key(name), name_key(_name(el)))] = g
    return codes


def _fold_twin(name: str, tree: _Tree, by_guid: dict[str, ET.Element], placed: set[str], extras: Extras) -> None:
    """A code named like the code group ``name`` is the group: its description goes to the group's variable."""
    twin = next((g for g, el in by_guid.items() if g not in placed and name_key(_name(el)) == name_key(name)), None)
    at = next((i for i, (v, _d, _c) in enumerate(tree) if v == name), None)
    if twin is not None and at is not None:
        placed.add(twin)
        v, d, c = tree[at]
        tree[at] = (v, d or _description(by_guid[twin]), c)
        extras.notes.append(f"code {name!r} is named like its code group: taken as the group")


def _code_tree(root: ET.Element, sets: ET.Element | None = None, extras: Extras | None = None) -> _Tree:
    """Top-level codes with children as variables holding their codes;
    top-level codes without children grouped by the code sets that hold
    them, else under a last variable ``General``."""
    extras = extras if extras is not None else Extras()
    codes_el = child(root, "Codes")
    if codes_el is None:
        return []
    tree: _Tree = []
    loose: list[ET.Element] = []
    for top in children(codes_el, "Code"):
        if children(top, "Code"):
            codes: list[tuple[str, str]] = []
            _codes_below(top, _name(top), codes, (), extras)
            tree.append((_name(top), _folded_description(top), codes))
            if top_colour := colour(top.get("color")):
                extras.colours[name_key(_name(top))] = top_colour
        else:
            loose.append(top)
    deep = len(extras.chains)
    if deep:
        extras.notes.append(f"{deep} code(s) lie deeper than two levels: each is a code of its top-level "
                            "variable, with its parent chain kept as a comment in the codebook")
    return tree + _grouped(loose, _code_sets(sets if sets is not None else child(root, "Sets"), extras), extras)


def _renamed(tree: _Tree, reused: list[list[str | None]], codebook: Codebook, extras: Extras) -> None:
    """Fill ``reused`` for codes whose label the current codebook does not
    have: the id of its code with the same GUID (a program that keeps GUIDs,
    after a rename), else with the same definition; said in ``extras.notes``."""
    left = {c.id: c for c in codebook.codes} if codebook else {}
    for ids in reused:
        for cid in filter(None, ids):
            left.pop(cid, None)
    by_guid = {guid("code", cid): cid for cid in left}
    definitions: dict[str, list[str]] = {}
    for c in left.values():
        if c.definition.strip():
            definitions.setdefault(" ".join(name_key(c.definition).split()), []).append(c.id)
    for (vname, _d, codes), ids in zip(tree, reused):
        for i, (cname, cdesc) in enumerate(codes):
            if ids[i] is not None:
                continue
            hit, how = by_guid.get(extras.guids.get((name_key(vname), name_key(cname)), "")), "GUID"
            if hit is None or hit not in left:
                hit, how = _same_definition(cdesc, definitions, left)
            if hit is not None:
                ids[i] = hit
                left.pop(hit)
                extras.notes.append(f"code {cname!r} keeps the id {hit!r} of the current codebook (same {how})")
    extras.notes += [f"code {c.id!r} ({c.label}) of the current codebook is not in the file" for c in left.values()]


def _same_definition(description: str, definitions: dict[str, list[str]], left: dict) -> tuple[str | None, str]:
    """(id, "definition") of the one code not yet matched whose definition a
    code's description gives, else (None, "")."""
    key = " ".join(name_key(str(split(description).get("definition", ""))).split())
    same = definitions.get(key, []) if key else []
    return (same[0], "definition") if len(same) == 1 and same[0] in left else (None, "")


def _assign_ids(tree: _Tree, codebook: Codebook | None, extras: Extras | None = None) -> list[ImportedCode]:
    """Ids for the variables and codes of ``tree``: the id of the item of
    ``codebook`` with the same label (NFC, without case) where there is one,
    else (codes) with the same GUID or definition (see :func:`_renamed`),
    else a slug of the name that no other item, and no item of ``codebook``,
    has."""
    known_vars = {name_key(v.label): v.id for v in codebook.variables} if codebook else {}
    known_codes = {name_key(c.label): c.id for c in codebook.codes} if codebook else {}
    # pop: a label given twice in the file reuses the id once
    reused_vars = [known_vars.pop(name_key(name), None) for name, _d, _codes in tree]
    reused_codes = [[known_codes.pop(name_key(name), None) for name, _d in codes] for _n, _d, codes in tree]
    if codebook is not None:
        _renamed(tree, reused_codes, codebook, extras if extras is not None else Extras())
    # a new slug takes no id of the current codebook: codings stored under that id mean its item
    taken = set(codebook.variable_ids + codebook.code_ids) if codebook else set()
    variables, codes = [], []
    for (name, desc, var_codes), vid, code_ids in zip(tree, reused_vars, reused_codes):
        vid = vid or _slug(name, taken)
        variables.append(ImportedCode(vid, name, "", desc))
        for (code_name, code_desc), cid in zip(var_codes, code_ids):
            codes.append(ImportedCode(cid or _slug(code_name, taken), code_name, vid, code_desc))
    return variables + codes


def read_codebook_codes(root: ET.Element, codebook: Codebook | None = None,
                        extras: Extras | None = None) -> list[ImportedCode]:
    """Codes of a ``CodeBook`` element as variables and codes.

    Top-level codes with children become variables and their descendants
    (at any depth) its codes; a code named like its parent is the parent
    (see :func:`_codes_below`). Top-level codes without children are put
    under a variable ``general``. With ``codebook`` (the current one),
    items keep the ids of its variables and codes with the same labels
    (compared in NFC, without case): programs such as QualCoder write new
    GUIDs, so labels are all that survive a round trip.
    """
    return _assign_ids(_code_tree(root, extras=extras), codebook)


def reuse_ids(entries: list[ImportedCode], codebook: Codebook | None) -> list[ImportedCode]:
    """``entries`` (variables first, as :func:`read_codebook_codes` gives
    them) with the ids of ``codebook``'s items of the same labels."""
    tree = [(v.label, v.description, [(c.label, c.description) for c in entries if c.parent == v.id])
            for v in entries if not v.parent]
    return _assign_ids(tree, codebook)


def import_codebook(path: StrPath, out: StrPath | None = None, codebook: Codebook | None = None,
                    notes: list[str] | None = None) -> list[ImportedCode]:
    """Read the codes of a ``.qdc`` (or the codebook of a ``.qdpx``/``.qde``).

    Returns variables first (parent ""), then codes. ``codebook``: the
    current codebook, whose ids are kept for items with the same labels
    (see :func:`read_codebook_codes`). With ``out``, also writes a
    ``codebook.yaml`` skeleton: what the file's descriptions and settings
    give (a ``.qdc`` of this package gives back examples, patterns,
    settings and colours); pattern lists it does not give are left for the
    user to fill (the codebook loader rejects it until they are). What the
    import changed in the tree (folded codes, deep chains, code groups) is
    added to ``notes``.
    """
    path = Path(path)
    sets = None
    if path.suffix.lower() == ".qdpx":
        with open_archive(path) as zf:
            project = parse_xml(read_member(zf, find_qde(zf, path), path), path)
        root, sets = child(project, "CodeBook"), child(project, "Sets")
        if root is None:
            raise CodingError("the project has no codebook", path)
    else:
        root = parse_xml(read_limited(path), path)
    if local(root.tag) != "CodeBook":
        raise CodingError(f"root element is <{local(root.tag)}>, not <CodeBook>", path)
    extras = Extras()
    entries = _assign_ids(_code_tree(root, sets, extras), codebook, extras)
    if not any(e.parent for e in entries):
        raise CodingError("the codebook has no codes", path)
    if notes is not None:
        notes += extras.notes
    if out is not None:
        write_codebook_skeleton(entries, out, name=path.stem, extras=extras)
    return entries


def _yaml_str(value: str) -> str:
    import yaml

    return yaml.safe_dump(value, allow_unicode=True, default_style='"', width=10_000).strip()




def _described(description: str) -> list[str]:
    """YAML lines for a description; the parts this package's export writes
    (see :mod:`coding.exchange.descriptions`) go back to their own keys."""
    out = []
    for key, value in split(description).items():
        if isinstance(value, list):
            if key != "patterns":
                out.append(f"    {key}: [" + ", ".join(_yaml_str(v) for v in value) + "]")
        elif isinstance(value, str) and (value.strip() or key == "definition"):
            out.append(f"    {key}: {_yaml_str(value)}")
    return out


def _patterns(description: str) -> str:
    patterns = split(description).get("patterns")
    if isinstance(patterns, list) and patterns:
        return "    patterns: [" + ", ".join(_yaml_str(p) for p in patterns) + "]"
    return "    patterns: []  # TO FILL: terms or 're:' regexes for this code"


def _header(name: str, extras: Extras | None, variable_ids: dict[str, str]) -> list[str]:
    import yaml

    kept = dict(extras.settings) if extras else {}
    settings = dict(kept.get("settings") or {})
    colours = {variable_ids[k]: c for k, c in (extras.colours if extras else {}).items() if k in variable_ids}
    if colours and "variable_colours" not in settings:
        settings["variable_colours"] = colours
    lines = [f"name: {_yaml_str(str(kept.get('name') or name))}",
             f"description: {_yaml_str(str(kept.get('description') or ''))}"]
    if settings:
        dumped = yaml.safe_dump({"settings": settings}, allow_unicode=True, sort_keys=False, width=10_000)
        lines += dumped.rstrip("\n").splitlines()
    return lines


def write_codebook_skeleton(entries: list[ImportedCode], out: StrPath, name: str = "imported codebook",
                            codebook: Codebook | None = None, extras: Extras | None = None) -> Path:
    """Write a codebook YAML with the imported variables and codes.

    A code whose description gives no patterns gets ``patterns: []`` with a
    comment: the loader refuses empty pattern lists, so the file must be
    completed before use. With ``codebook`` (the current one), items with
    its labels get its ids (see :func:`reuse_ids`). ``extras``: settings,
    colours and parent chains read with the tree.
    """
    import yaml

    if codebook is not None:
        entries = reuse_ids(entries, codebook)
    variable_ids = {name_key(e.label): e.id for e in entries if not e.parent}
    labels = {e.id: e.label for e in entries if not e.parent}
    lines = [
        "# Codebook skeleton imported from a REFI-QDA codebook.",
        "# Fill in every 'patterns' list marked TO FILL (terms, or regexes starting with 're:') before use:",
        "# the codebook is rejected while any pattern list is empty.",
        *_header(name, extras, variable_ids),
        "variables:",
    ]
    for e in entries:
        if not e.parent:
            lines += [f"  - id: {e.id}", f"    label: {_yaml_str(e.label)}"] + _described(e.description)
    lines.append("codes:")
    for e in entries:
        if e.parent:
            chain = extras.chains.get((name_key(labels[e.parent]), name_key(e.label))) if extras else None
            lines += [f"  # in the file: {chain}"] if chain else []
            lines += [f"  - id: {e.id}", f"    label: {_yaml_str(e.label)}", f"    variable: {e.parent}"]
            lines += _described(e.description)
            lines.append(_patterns(e.description))
    text = "\n".join(lines) + "\n"
    yaml.safe_load(text)  # the skeleton must at least be valid YAML
    return write_bytes(out, text.encode("utf-8"))
