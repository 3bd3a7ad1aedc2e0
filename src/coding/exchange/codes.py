"""Which codebook item a code of an exchanged project is.

A code is matched by its GUID (this package writes GUIDs derived from ids,
which a program that keeps GUIDs, such as ATLAS.ti or MAXQDA, passes on),
then by its label or id (case-insensitive; ATLAS.ti's ``group::code`` by its
last part), then by its definition (the ``Description``, which survives a
rename in the QDA program even where the GUID does not, as in QualCoder). A
code that still matches nothing is unknown: refused, or, when new codes are
allowed, kept under an id made from its name and the top of its parent
chain, so that a four-level tree stays readable (``A > B > C > D``).
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from typing import NamedTuple

from coding.codebook import Codebook
from coding.exchange.descriptions import split
from coding.exchange.xml import child, children, guid, name_key, norm_guid


class FileCode(NamedTuple):
    """A code of the project file with the names of its ancestors."""

    guid: str
    name: str
    description: str
    chain: tuple[str, ...]   # names from the top-level code down to this one


class CodeMatch(NamedTuple):
    variable: str
    code: str                # "" for a variable-level coding
    how: str                 # "GUID", "label", "definition" or "new code"
    label: str               # the code's name in the file, with its parent chain


def file_codes(root: ET.Element) -> dict[str, FileCode]:
    """Code GUID -> :class:`FileCode`, over the whole code tree of a project."""
    found: dict[str, FileCode] = {}
    book = child(root, "CodeBook")
    codes = child(book, "Codes") if book is not None else None

    def walk(el: ET.Element, chain: tuple[str, ...]) -> None:
        for c in children(el, "Code"):
            name = (c.get("name") or "").strip()
            d = child(c, "Description")
            here = (*chain, name)
            found[norm_guid(c.get("guid"))] = FileCode(norm_guid(c.get("guid")), name,
                                                       (d.text or "").strip() if d is not None else "", here)
            walk(c, here)
    if codes is not None:
        walk(codes, ())
    # ATLAS.ti keeps its codes flat and groups them in sets: a code's first group is its parent
    sets = child(root, "Sets")
    for st in (children(sets, "Set") if sets is not None else []):
        for member in children(st, "MemberCode"):
            fc = found.get(norm_guid(member.get("targetGUID")))
            if fc is not None and len(fc.chain) == 1 and (st.get("name") or "").strip() != fc.name:
                found[fc.guid] = fc._replace(chain=((st.get("name") or "").strip(), fc.name))
    return found


def _text_key(text: str) -> str:
    return " ".join(name_key(text).split())


def _slug(name: str) -> str:
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
    base = re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_") or "code"
    return base if base[0].isalpha() else "c_" + base


class CodeMatcher:
    """Matches the codes of a project file to the items of ``codebook``."""

    def __init__(self, codebook: Codebook, codes: dict[str, FileCode], new_codes: bool = False):
        self.codes, self.new_codes = codes, new_codes
        self.by_guid: dict[str, tuple[str, str]] = {}
        self.by_label: dict[str, tuple[str, str]] = {}
        by_definition: dict[str, list[tuple[str, str]]] = {}
        for v in codebook.variables:
            self.by_guid[guid("variable", v.id)] = (v.id, "")
            for key in (v.id, v.label):
                self.by_label.setdefault(name_key(key), (v.id, ""))
        for c in codebook.codes:
            self.by_guid[guid("code", c.id)] = (c.variable, c.id)
            for key in (c.id, c.label):
                self.by_label[name_key(key)] = (c.variable, c.id)
            if c.definition.strip():
                by_definition.setdefault(_text_key(c.definition), []).append((c.variable, c.id))
        # a definition shared by several codes names none of them
        self.by_definition = {k: v[0] for k, v in by_definition.items() if len(set(v)) == 1}
        self.variable_ids = {name_key(v.id): v.id for v in codebook.variables}
        self.variable_ids.update({name_key(v.label): v.id for v in codebook.variables})
        self.cache: dict[str, CodeMatch | None] = {}

    def match(self, target: str) -> CodeMatch | None:
        """The codebook item of the file's code ``target`` (a GUID), or None."""
        target = norm_guid(target)
        if target not in self.cache:
            self.cache[target] = self._match(target)
        return self.cache[target]

    def _match(self, target: str) -> CodeMatch | None:
        fc = self.codes.get(target)
        label = " > ".join(fc.chain) if fc else ""
        if target in self.by_guid:
            return CodeMatch(*self.by_guid[target], "GUID", label or target)
        if fc is None:
            return None
        key = name_key(fc.name)
        hit = self.by_label.get(key) or ("::" in key and self.by_label.get(key.rsplit("::", 1)[-1].strip()))
        if hit:
            return CodeMatch(*hit, "label", label)
        definition = _text_key(str(split(fc.description).get("definition", ""))) if fc.description else ""
        if definition in self.by_definition:
            return CodeMatch(*self.by_definition[definition], "definition", label)
        if not self.new_codes:
            return None
        top = fc.chain[0]
        variable = self.variable_ids.get(name_key(top)) or _slug(top)
        return CodeMatch(variable, "" if len(fc.chain) == 1 else _slug(fc.name), "new code", label)

    def name(self, target: str) -> str:
        """The file's name of a code (with its parent chain), for reports."""
        fc = self.codes.get(norm_guid(target))
        return " > ".join(fc.chain) if fc else f"(code {target or '?'})"
