"""Document variables of an exchanged project: what a ``.qdpx`` says about
each source besides its text and codings.

Two kinds travel as REFI-QDA ``Variables`` (``typeOfVariable="Text"``) with a
``VariableValue`` on each ``TextSource``:

* document metadata from the corpus manifest (:data:`METADATA`), one
  variable per field that some document has;
* what each coder saw: a variable ``units seen by <coder>`` whose value on a
  source lists the character ranges of the units the coder saw there,
  coded or not (``"0-57 59-130"``: 0-based, end exclusive, as selections;
  consecutive seen units are merged). A source without a value was not
  seen. REFI-QDA has no other place for "seen and left uncoded": ``Sets``
  hold whole sources only, and QualCoder turns a set into such a document
  variable anyway, then writes it back as one (as it does with every
  variable).

Reading also accepts values given the MAXQDA way: a ``Case`` without a name
that refers to exactly one source.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence

from coding.errors import CodingError
from coding.exchange.xml import child, children, guid, local, norm_guid, sub
from coding.records import Document, StrPath, Unit

#: Document fields exchanged as variables, in this order.
METADATA = ("title", "doc_type", "date", "speaker", "source")
#: Name of the variable recording the units a coder saw: this prefix and the coder's name.
SEEN_PREFIX = "units seen by "
_RANGES = re.compile(r"^\s*\d+\s*-\s*\d+(?:[\s,;]+\d+\s*-\s*\d+)*\s*$")
_VALUE_TAGS = ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue", "DateTimeValue")


def seen_variable(coder: str) -> str:
    """The name of the variable that records the units ``coder`` saw."""
    return SEEN_PREFIX + coder


def seen_ranges(units: Iterable[Unit], seen: set[str]) -> dict[str, str]:
    """Document id -> the ranges of its seen units (see the module doc).

    ``units`` in document and unit order (as :meth:`Store.units` gives them)."""
    runs: dict[str, list[list[int]]] = {}
    last: dict[str, bool] = {}  # was the document's previous unit seen?
    for unit in units:
        if unit.id in seen:
            doc_runs = runs.setdefault(unit.document_id, [])
            if last.get(unit.document_id):
                doc_runs[-1][1] = unit.end
            else:
                doc_runs.append([unit.start, unit.end])
        last[unit.document_id] = unit.id in seen
    return {doc: " ".join(f"{s}-{e}" for s, e in doc_runs) for doc, doc_runs in runs.items()}


def parse_ranges(value: str, where: str, path: StrPath) -> list[tuple[int, int]]:
    """The (start, end) ranges of a seen value; anything else is an error."""
    if not _RANGES.match(value):
        raise CodingError(f"{where} is not a list of character ranges like '0-57 59-130': {value[:60]!r}", path)
    pairs = [(int(m.group(1)), int(m.group(2))) for m in re.finditer(r"(\d+)\s*-\s*(\d+)", value)]
    bad = [f"{s}-{e}" for s, e in pairs if s >= e]
    if bad:
        raise CodingError(f"{where} has an empty or reversed range {bad[0]}", path)
    return pairs


def write_variables(root: ET.Element, documents: Sequence[Document], seen_by: dict[str, dict[str, str]],
                    case_attributes: Sequence[str] = ()) -> dict[str, str]:
    """Add ``<Variables>`` for the documents' metadata, the coders' seen
    units and the attributes of cases to the project ``root``; returns
    variable name -> GUID.

    ``seen_by``: coder -> document id -> ranges (:func:`seen_ranges`)."""
    fields = [f for f in METADATA if any(getattr(d, f, "") for d in documents)]
    declared = [(f, guid("document variable", f), f"the document's {f} in the corpus manifest") for f in fields]
    declared += [(seen_variable(c), guid("seen variable", c),
                  f"character ranges (start-end, 0-based, end exclusive) of the units {c} saw in the "
                  "document, coded or not; no value: not seen") for c in seen_by]
    taken = {name for name, _g, _d in declared}
    declared += [(a, guid("case variable", a), "an attribute of cases") for a in case_attributes if a not in taken]
    if not declared:
        return {}
    variables = sub(root, "Variables")
    for name, vguid, description in declared:
        var = sub(variables, "Variable", {"guid": vguid, "name": name, "typeOfVariable": "Text"})
        sub(var, "Description", text=description)
    return {name: vguid for name, vguid, _d in declared}


def write_values(source: ET.Element, document: Document, seen_by: dict[str, dict[str, str]], guids: dict[str,
                 str]) -> None:
    """Add the ``VariableValue``s of one document to its ``TextSource``
    (last, as the schema's order wants)."""
    values = [(f, getattr(document, f, "")) for f in METADATA]
    values += [(seen_variable(c), ranges.get(document.id, "")) for c, ranges in seen_by.items()]
    for name, value in values:
        if value and name in guids:
            vv = sub(source, "VariableValue")
            sub(vv, "VariableRef", {"targetGUID": guids[name]})
            sub(vv, "TextValue", text=value)


def read_variables(root: ET.Element) -> dict[str, str]:
    """Variable GUID -> name, from the project's ``<Variables>``."""
    el = child(root, "Variables")
    return {norm_guid(v.get("guid")): (v.get("name") or "").strip()
            for v in (children(el, "Variable") if el is not None else [])}


def _value(vv: ET.Element, names: dict[str, str]) -> tuple[str, str] | None:
    ref = child(vv, "VariableRef")
    name = names.get(norm_guid(ref.get("targetGUID") if ref is not None else ""))
    values = [c for c in vv if local(c.tag) in _VALUE_TAGS]
    if not name or not values:
        return None
    return name, (values[0].text or "").strip()


def source_values(root: ET.Element, names: dict[str, str]) -> dict[str, dict[str, str]]:
    """Source GUID -> variable name -> value, from the sources'
    ``VariableValue``s and from nameless cases of one source each."""
    found: dict[str, dict[str, str]] = {}
    sources = child(root, "Sources")
    for src in (list(sources) if sources is not None else []):
        mine = found.setdefault(norm_guid(src.get("guid")), {})
        mine.update(v for vv in children(src, "VariableValue") if (v := _value(vv, names)))
    cases = child(root, "Cases")
    for case in (children(cases, "Case") if cases is not None else []):
        refs = children(case, "SourceRef")
        if case.get("name") is None and len(refs) == 1:
            mine = found.setdefault(norm_guid(refs[0].get("targetGUID")), {})
            mine.update(v for vv in children(case, "VariableValue") if (v := _value(vv, names)))
    return found
