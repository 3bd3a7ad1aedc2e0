"""Human coders' files: read, validate and turn into codings.

A coder file is a CSV in one of two shapes:

* long: ``unit_id`` plus ``code`` and/or ``variable``, one row per coding; a
  row whose code and variable are empty records a unit the coder saw and
  left uncoded;
* wide: ``unit_id`` plus one 0/1 column per code or variable id.

Every unit listed counts as seen by the coder (so "absent" differs from
"not coded"); a code implies its variable.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from coding.codebook import Codebook
from coding.coder import Coding
from coding.errors import CodingError

_TRUE = {"1", "1.0", "true", "yes", "x"}
_FALSE = {"0", "0.0", "false", "no", ""}


def _first(items, n=5) -> str:
    items = sorted(items)
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def read_coder_file(path, codebook: Codebook, unit_ids: set[str], coder: str) -> tuple[list[str], list[Coding]]:
    """Read a coder CSV; return (units seen, codings), validated.

    Unknown unit ids, codes or variables raise one CodingError that names
    the file and lists the first few.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise CodingError(f"cannot read: {exc.strerror}", path) from None
    except UnicodeDecodeError as exc:
        raise CodingError(f"not UTF-8 at byte {exc.start}", path) from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or not any(rows):
        raise CodingError("the file is empty", path)
    header = [h.strip() for h in rows[0]]
    if "unit_id" not in header:
        raise CodingError("missing column 'unit_id'", path, 1)
    variables = set(codebook.variable_ids)
    code_var = {c.id: c.variable for c in codebook.codes}
    col = {h: i for i, h in enumerate(header)}
    long_form = "code" in col or "variable" in col
    seen: list[str] = []
    seen_set: set[str] = set()
    pairs: set[tuple[str, str, str]] = set()  # (unit, variable, code)
    bad_units, bad_codes = set(), set()
    if not long_form:
        value_cols = [h for h in header if h != "unit_id" and h]
        unknown = [h for h in value_cols if h not in variables and h not in code_var]
        if unknown:
            raise CodingError(f"unknown code or variable column(s): {_first(unknown)}", path, 1)
        if not value_cols:
            raise CodingError("no code or variable columns (need 'code'/'variable' or 0/1 columns)", path, 1)
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise CodingError(f"expected {len(header)} fields, found {len(row)}", path, lineno)
        uid = row[col["unit_id"]].strip()
        if uid not in unit_ids:
            bad_units.add(uid)
            continue
        if uid not in seen_set:
            seen_set.add(uid)
            seen.append(uid)
        if long_form:
            code = row[col["code"]].strip() if "code" in col else ""
            var = row[col["variable"]].strip() if "variable" in col else ""
            if code:
                if code not in code_var:
                    # a long file may name variables in its 'code' column
                    if code in variables and not var:
                        pairs.add((uid, code, ""))
                    else:
                        bad_codes.add(code)
                    continue
                if var and var != code_var[code]:
                    raise CodingError(f"code '{code}' belongs to '{code_var[code]}', not '{var}'", path, lineno, uid)
                pairs.add((uid, code_var[code], code))
            elif var:
                if var not in variables:
                    bad_codes.add(var)
                    continue
                pairs.add((uid, var, ""))
        else:
            for h in header:
                if h == "unit_id" or not h:
                    continue
                value = row[col[h]].strip().lower()
                if value in _TRUE:
                    pairs.add((uid, h, "") if h in variables else (uid, code_var[h], h))
                elif value not in _FALSE:
                    raise CodingError(f"value '{row[col[h]]}' in column '{h}' is not 0/1", path, lineno, uid)
    if bad_units:
        raise CodingError(f"unknown unit id(s): {_first(bad_units)}", path)
    if bad_codes:
        raise CodingError(f"unknown code(s) or variable(s): {_first(bad_codes)}", path)
    # a code already implies its variable: drop variable-only rows it covers
    with_code = {(u, v) for u, v, c in pairs if c}
    pairs = {p for p in pairs if p[2] or (p[0], p[1]) not in with_code}
    order = {u: i for i, u in enumerate(seen)}
    codings = [
        Coding(u, c, v, coder, codebook.version)
        for u, v, c in sorted(pairs, key=lambda p: (order[p[0]], p[1], p[2]))
    ]
    return seen, codings


def file_hash(path) -> str:
    """SHA-256 of a file's bytes (to skip re-importing an unchanged file)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
