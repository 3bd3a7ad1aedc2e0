"""Human coders' files: read, validate and turn into codings.

A coder file is a CSV in one of two shapes:

* long: ``unit_id`` plus ``code`` and/or ``variable``, one row per coding; a
  row whose code and variable are empty records a unit the coder saw and
  left uncoded;
* wide: ``unit_id`` plus one 0/1 column per code or variable id;
* adjudication sheet (written by ``coding reconcile``): ``unit_id``,
  ``item`` and ``decision`` (1 = coded, 0 = not), one row per item on which
  two coders differ, with one 0/1 column per coder holding their values and
  optionally ``level`` (variable or code), ``document_id`` and ``text``.

Every unit listed counts as seen by the coder (so "absent" differs from
"not coded"); a code implies its variable.

An adjudication sheet alone does not say what the two coders agreed on, so
reading one needs ``coder_items`` (see :func:`read_coder_file`). The coder
it yields covers exactly the units in the sheet, and on each of them every
item of the sheet's level: a disputed item takes the decision, every other
item the value both coders gave it.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from coding.codebook import Codebook
from coding.errors import CodingError
from coding.files import raise_csv_field_limit
from coding.records import AUTOMATIC_CODERS, CODING_LEVELS, Coding

_TRUE = {"1", "1.0", "true", "yes", "x"}
_FALSE = {"0", "0.0", "false", "no", ""}


def _first(items, n=5) -> str:
    items = sorted(items)
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def _rows_with_lines(text: str) -> tuple[list[list[str]], list[int]]:
    """CSV rows and the line each starts on (quoted fields may span lines)."""
    raise_csv_field_limit()
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, lines, last = [], [], 0
    for row in reader:
        rows.append(row)
        lines.append(last + 1)
        last = reader.line_num
    return rows, lines


def read_coder_file(path, codebook: Codebook, unit_ids: set[str], coder: str, *,
                    coder_items=None) -> tuple[list[str], list[Coding]]:
    """Read a coder CSV; return (units seen, codings), validated.

    Unknown unit ids, codes or variables raise one CodingError that names
    the file and lists the first few.

    ``coder_items(name, level)`` is needed only for an adjudication sheet:
    it returns ``(seen, coded)`` of the coder ``name`` as stored -- the set
    of unit ids the coder saw and the set of ``(unit_id, item)`` pairs the
    coder coded at ``level`` ("variable" or "code").  The sheet is checked
    against it: both coders must have seen every unit, the values in the
    sheet must still be the stored ones, and every item on which they differ
    must have a row with a decision; otherwise nothing is returned.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise CodingError(f"cannot read: {exc.strerror}", path) from None
    except UnicodeDecodeError as exc:
        raise CodingError(f"not UTF-8 at byte {exc.start}", path) from None
    rows, lines = _rows_with_lines(text)
    if not rows or not any(rows):
        raise CodingError("the file is empty", path)
    header = [h.strip() for h in rows[0]]
    if "unit_id" not in header:
        raise CodingError("missing column 'unit_id'", path, 1)
    if "item" in header and "decision" in header:
        return _read_adjudication(path, rows, lines, header, codebook, unit_ids, coder, coder_items)
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
    for lineno, row in zip(lines[1:], rows[1:]):
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


#: Columns of an adjudication sheet other than the two coders' value columns.
ADJUDICATION_FIELDS = ("unit_id", "document_id", "text", "level", "item", "decision")


def _read_adjudication(path: Path, rows: list[list[str]], lines: list[int], header: list[str], codebook: Codebook,
                       unit_ids: set[str], coder: str, coder_items) -> tuple[list[str], list[Coding]]:
    """An adjudication sheet -> (units in the sheet, the settled codings)."""
    col = {h: i for i, h in enumerate(header)}
    pair = [h for h in header if h and h not in ADJUDICATION_FIELDS]
    if len(pair) != 2:
        raise CodingError("an adjudication sheet needs exactly two coder value columns besides "
                          f"{', '.join(ADJUDICATION_FIELDS)}; found: {', '.join(pair) or 'none'}", path, 1)
    if coder_items is None:
        raise CodingError("an adjudication sheet is settled against the two coders in the project "
                          "store; import it with 'coding coders import'", path)
    variables, code_var = set(codebook.variable_ids), {c.id: c.variable for c in codebook.codes}
    decided: dict[tuple[str, str], tuple[int, dict[str, int]]] = {}
    seen: list[str] = []
    levels: set[str] = set()
    bad_units, bad_items, undecided = set(), set(), []
    for lineno, row in zip(lines[1:], rows[1:]):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise CodingError(f"expected {len(header)} fields, found {len(row)}", path, lineno)
        uid, item = row[col["unit_id"]].strip(), row[col["item"]].strip()
        if uid not in unit_ids:
            bad_units.add(uid)
            continue
        if "level" in col:
            level = row[col["level"]].strip()
            if level not in CODING_LEVELS:
                raise CodingError(f"level '{level}' is not one of: {', '.join(CODING_LEVELS)}", path, lineno, uid)
        else:
            level = "variable" if item in variables else "code"
        if item not in (variables if level == "variable" else code_var):
            bad_items.add(item)
            continue
        levels.add(level)
        decision = row[col["decision"]].strip().lower()
        if decision == "":
            undecided.append(str(lineno))
            continue
        if decision not in _TRUE and decision not in _FALSE:
            raise CodingError(f"decision '{row[col['decision']]}' is not 1 or 0", path, lineno, uid)
        values = {}
        for name in pair:
            value = row[col[name]].strip().lower()
            if value not in ("0", "1"):
                raise CodingError(f"value '{row[col[name]]}' in column '{name}' is not 0/1", path, lineno, uid)
            values[name] = int(value)
        key = (uid, item)
        entry = (int(decision in _TRUE), values)
        if key in decided and decided[key] != entry:
            raise CodingError(f"item '{item}' appears twice for this unit with different values",
                              path, lineno, uid)
        decided[key] = entry
        if uid not in seen:
            seen.append(uid)
    if bad_units:
        raise CodingError(f"unknown unit id(s): {_first(bad_units)}", path)
    if bad_items:
        raise CodingError(f"unknown code(s) or variable(s): {_first(bad_items)}", path)
    if undecided:
        raise CodingError(f"no decision (1 or 0) on line(s) {_first(undecided)}", path)
    if not decided:
        raise CodingError("the sheet has no rows to settle", path)
    if len(levels) != 1:
        raise CodingError("the sheet mixes variables and codes; settle one level per sheet", path)
    level = levels.pop()
    items = codebook.variable_ids if level == "variable" else codebook.code_ids
    stored = {name: coder_items(name, level) for name in pair}
    for name, (units_seen, _) in stored.items():
        unseen = [u for u in seen if u not in units_seen]
        if unseen:
            raise CodingError(f"coder '{name}' has not coded unit(s) {_first(unseen)} in the store", path)
    stale, unlisted = [], []
    for (uid, item), (_, values) in decided.items():
        for name in pair:
            if values[name] != int((uid, item) in stored[name][1]):
                stale.append(f"{uid} {item} ({name})")
    for uid in seen:
        for item in items:
            a, b = (int((uid, item) in stored[name][1]) for name in pair)
            if a != b and (uid, item) not in decided:
                unlisted.append(f"{uid} {item}")
    if stale:
        raise CodingError(f"the sheet no longer matches the stored codings of {' and '.join(pair)} "
                          f"(re-run 'coding reconcile'): {_first(stale)}", path)
    if unlisted:
        raise CodingError(f"the coders differ on item(s) without a row in the sheet: {_first(unlisted)}", path)
    coded = []
    for uid in seen:
        for item in items:
            if (uid, item) in decided:
                value = decided[(uid, item)][0]
            else:  # the two coders agree here
                value = int((uid, item) in stored[pair[0]][1])
            if value:
                coded.append((uid, item, "") if level == "variable" else (uid, code_var[item], item))
    order = {u: i for i, u in enumerate(seen)}
    codings = [Coding(u, c, v, coder, codebook.version)
               for u, v, c in sorted(coded, key=lambda p: (order[p[0]], p[1], p[2]))]
    return seen, codings


def file_hash(path) -> str:
    """SHA-256 of a file's bytes (to skip re-importing an unchanged file)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def import_coder(store, path, coder: str) -> tuple[int, int]:
    """Import a coder's CSV (long, wide or adjudication sheet) as ``coder``.

    The file is validated in full before the store is touched; then the
    coder's previous codings and coverage are replaced in one transaction.
    Returns (units seen, codings).
    """
    coder = coder.strip()
    if not coder:
        raise CodingError("the coder name is empty")
    if coder in AUTOMATIC_CODERS:
        raise CodingError(f"'{coder}' is an automatic coder; choose another name", item=coder)
    codebook = store.codebook()
    seen, codings = read_coder_file(path, codebook, store.unit_ids(), coder,
                                    coder_items=store.coder_items)
    if not seen:
        raise CodingError("the file lists no unit", path)
    digest = f"{file_hash(path)}:{codebook.version}:{store.segmentation()}"
    store.replace_coder(coder, seen, codings, codebook.version, "human", str(path), digest)
    return len(seen), len(codings)
