"""REFI-QDA XML: namespaces, stable GUIDs, colours, safe parsing and
namespace-lenient element access."""

from __future__ import annotations

import re
import unicodedata
import uuid
import xml.etree.ElementTree as ET

from coding.errors import CodingError
from coding.records import StrPath

NS_PROJECT = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
# Fixed namespace for the GUIDs this package derives (never change it:
# GUIDs must stay the same from one export to the next).
GUID_NAMESPACE = uuid.UUID("6f1c3c52-5d0e-4b8e-9a57-0c0d1e2f3a4b")
_RGB = re.compile(r"^#?([0-9A-Fa-f]{6})(?:[0-9A-Fa-f]{2})?$")

def guid(kind: str, key: str) -> str:
    """A stable GUID for an object of ``kind`` (code, variable, user...) named ``key``."""
    return str(uuid.uuid5(GUID_NAMESPACE, f"{kind}:{key}")).upper()


def norm_guid(value: str | None) -> str:
    return (value or "").strip().strip("{}").upper()


def name_key(name: str) -> str:
    """A name as compared across programs: NFC (exports may write decomposed
    accents), without case and outer spaces."""
    return unicodedata.normalize("NFC", name).strip().casefold()


def colour(value: str | None) -> str | None:
    """A colour as ``#RRGGBB``; ``#RRGGBBAA`` loses its alpha; anything else is None."""
    m = _RGB.match((value or "").strip())
    return f"#{m.group(1).upper()}" if m else None


def sub(parent: ET.Element, tag: str, attrs: dict | None = None, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: v for k, v in (attrs or {}).items() if v is not None})
    if text is not None:
        el.text = text
    return el


def xml_bytes(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def parse_xml(data: bytes, path: StrPath, bounded: bool = True) -> ET.Element:
    """Parse untrusted XML: DTDs, entity declarations and external
    references are refused (defusedxml); with ``bounded``, so is XML of more
    than :data:`MAX_ELEMENTS` elements."""
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    # a tree costs hundreds of bytes per element however short: count them before parsing
    elements = data.count(b"<") - data.count(b"</") if bounded and isinstance(data, bytes) else 0
    if elements > MAX_ELEMENTS:
        raise CodingError(f"XML with {elements} elements (limit {MAX_ELEMENTS}); too many to read safely", path)
    try:
        root = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise CodingError(f"refused XML with a DTD or entity declarations ({type(exc).__name__})", path) from None
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise CodingError(f"not well-formed XML: {str(exc).splitlines()[0]}", path, line) from None
    _check_depth(root, path)
    return root


#: Deeper trees are refused: code trees are walked recursively, and no real
#: project nests elements this deep.
MAX_DEPTH = 200
#: More elements are refused before parsing (a project of 50,000 codings has some 200,000).
MAX_ELEMENTS = 1_000_000


def _check_depth(root: ET.Element, path) -> None:
    stack = [(root, 1)]
    while stack:
        el, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise CodingError(f"XML nested deeper than {MAX_DEPTH} levels", path)
        stack.extend((c, depth + 1) for c in el)


# -- XML helpers (namespace-lenient) ---------------------------------------------

def local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if local(c.tag) == name]


def child(el: ET.Element, name: str) -> ET.Element | None:
    for c in el:
        if local(c.tag) == name:
            return c
    return None
