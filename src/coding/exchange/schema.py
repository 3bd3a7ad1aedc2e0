"""Validation of ``.qdc`` and ``.qde`` files against the REFI-QDA XML Schemas
that ship with the package."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from coding.errors import CodingError
from coding.exchange.archive import find_qde, open_archive, read_limited, read_member
from coding.exchange.xml import parse_xml
from coding.records import StrPath

# -- validation ------------------------------------------------------------------

@cache
def _schema(name: str):
    import xmlschema

    with resources.as_file(resources.files("coding") / "schemas" / name) as p:
        return xmlschema.XMLSchema(str(p))


def validate_schema(path: StrPath, *, own: bool = False) -> None:
    """Validate a ``.qdc`` codebook, or the ``project.qde`` of a ``.qdpx``
    (or a bare ``.qde``), against the REFI-QDA schema. ``own``: a file this
    program has just written, whose number of XML elements is not bounded
    (a large project exports more than an untrusted file may hold).

    Raises CodingError with the first problem; returns None when valid.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".qdc":
        data, schema, where = read_limited(path), _schema("Codebook.xsd"), str(path)
    elif suffix == ".qde":
        data, schema, where = read_limited(path), _schema("Project-mrt2019.xsd"), str(path)
    elif suffix == ".qdpx":
        with open_archive(path) as zf:
            name = find_qde(zf, path)
            data = read_member(zf, name, path)
        schema, where = _schema("Project-mrt2019.xsd"), f"{path}!{name}"
    else:
        raise CodingError("not a REFI-QDA file (expected .qdc, .qdpx or .qde)", path)
    root = parse_xml(data, where, bounded=not own)
    for err in schema.iter_errors(root):
        reason = " ".join((err.reason or str(err)).split())
        raise CodingError(f"not valid REFI-QDA: {reason}", where, None, err.path)
