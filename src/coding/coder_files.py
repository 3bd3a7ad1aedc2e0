"""Human coders' files: read, validate and turn into codings.

A coder file is a CSV in one of two shapes:

* long: ``unit_id`` plus ``code`` and/or ``variable``, one row per coding; a
  row whose code and variable are empty records a unit the coder saw and
  left uncoded;
* wide: ``unit_id`` plus one 0/1 column per code or variable id (an empty
  cell is 0; the columns in :data:`IGNORED_COLUMNS`, such as ``text``, are
  not read);
* adjudication sheet (written by ``coding reconcile``): ``unit_id``,
  ``item`` and ``decision`` (1 = coded, 0 = not), one row per item on which
  two coders differ, with one 0/1 column per coder holding their values and
  optionally ``level`` (variable or code), ``document_id`` and ``text``.

Every unit listed counts as seen by the coder (so "absent" differs from
"not coded"); a code implies its variable.

Each unit a file names is anchored to its text (:mod:`coding.anchors`): by
its ``text_hash`` column, else the hash of its ``text`` column, else the text
the unit has in the store when the file is checked. An import places every
row on the unit with that text, wherever its id has moved, and keeps rows
whose text is gone aside as orphans.

An adjudication sheet alone does not say what the two coders agreed on, so
reading one needs ``coder_items`` (see :func:`read_coder_file`). The coder
it yields covers every unit both coders saw, and on each of them every item
of the sheet's level: a disputed item takes the decision, every other item
the value both coders gave it.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import TYPE_CHECKING

from coding.anchors import Anchor, place, text_hash
from coding.codebook import Codebook
from coding.errors import CodingError
from coding.files import raise_csv_field_limit, read_utf8
from coding.records import AUTOMATIC_CODERS, CODING_LEVELS, Coding, StrPath, codings_from_triples

if TYPE_CHECKING:
    from coding.store import Store

#: Columns a coder file may carry for the person's convenience (the unit's
#: text, a suggestion, from ``coding suggest`` or ``coding code --with-text``):
#: never read as codes.
IGNORED_COLUMNS = ("document_id", "text", "label", "suggested", "uncertainty", "picked", "note",
                   "start", "end", "text_hash")
_TRUE = {"1", "1.0", "true", "yes", "x"}
_FALSE = {"0", "0.0", "false", "no", ""}


def _first(items: Iterable[str], n: int = 5) -> str:
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


#: What a store says of a coder: (units seen, (unit, item) pairs coded) at a level.
CoderItems = Callable[[str, str], tuple[set[str], set[tuple[str, str]]]]


def read_coder_file(path: StrPath, codebook: Codebook, unit_ids: Container[str], coder: str, *,
                    coder_items: CoderItems | None = None,
                    rename: dict[str, str] | None = None) -> tuple[list[str], list[Coding]]:
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
    rows, lines, header = _read_table(path)
    if "item" in header and "decision" in header:
        return _read_adjudication(path, rows, lines, header, codebook, unit_ids, coder, coder_items, rename or {})
    reader = _LongRows(codebook) if ("code" in header or "variable" in header) else _WideRows(codebook, header, path)
    col = {h: i for i, h in enumerate(header)}
    seen: dict[str, None] = {}
    triples: set[tuple[str, str, str]] = set()
    bad_units: set[str] = set()
    for lineno, row in zip(lines[1:], rows[1:]):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise CodingError(f"expected {len(header)} fields, found {len(row)}", path, lineno)
        uid = row[col["unit_id"]].strip()
        if uid not in unit_ids:
            bad_units.add(uid)
            continue
        seen.setdefault(uid)
        triples |= reader.triples(uid, row, col, path, lineno)
    if bad_units:
        raise CodingError(f"unknown unit id(s): {_first(bad_units)}", path)
    if reader.bad_items:
        raise CodingError(f"unknown code(s) or variable(s): {_first(reader.bad_items)}", path)
    return list(seen), codings_from_triples(triples, list(seen), coder, codebook.version)


def _read_table(path: Path) -> tuple[list[list[str]], list[int], list[str]]:
    """Rows, the line each starts on, and the stripped header of a coder CSV."""
    text = read_utf8(path)
    rows, lines = _rows_with_lines(text)
    if not rows or not any(rows):
        raise CodingError("the file is empty", path)
    header = [h.strip() for h in rows[0]]
    if "unit_id" not in header:
        raise CodingError("missing column 'unit_id'", path, 1)
    return rows, lines, header


class _LongRows:
    """Rows of a long file: ``unit_id`` plus ``code`` and/or ``variable``."""

    def __init__(self, codebook: Codebook):
        self.variables = set(codebook.variable_ids)
        self.code_var = {c.id: c.variable for c in codebook.codes}
        self.bad_items: set[str] = set()

    def triples(self, uid: str, row: list[str], col: dict[str, int], path: Path,
                lineno: int) -> set[tuple[str, str, str]]:
        code = row[col["code"]].strip() if "code" in col else ""
        var = row[col["variable"]].strip() if "variable" in col else ""
        if code and code not in self.code_var:
            if code in self.variables and not var:  # a long file may name variables in its 'code' column
                return {(uid, code, "")}
            self.bad_items.add(code)
            return set()
        if code:
            if var and var != self.code_var[code]:
                raise CodingError(f"code '{code}' belongs to '{self.code_var[code]}', not '{var}'", path, lineno, uid)
            return {(uid, self.code_var[code], code)}
        if var and var not in self.variables:
            self.bad_items.add(var)
            return set()
        return {(uid, var, "")} if var else set()


class _WideRows:
    """Rows of a wide file: ``unit_id`` plus one 0/1 column per code or variable.
    A unit listed twice must have the same values both times."""

    def __init__(self, codebook: Codebook, header: list[str], path: Path) -> None:
        self.variables = set(codebook.variable_ids)
        self.code_var = {c.id: c.variable for c in codebook.codes}
        self.columns = [h for h in header if h != "unit_id" and h and h not in IGNORED_COLUMNS]
        unknown = [h for h in self.columns if h not in self.variables and h not in self.code_var]
        if unknown:
            raise CodingError(f"unknown code or variable column(s): {_first(unknown)}", path, 1)
        if not self.columns:
            raise CodingError("no code or variable columns (need 'code'/'variable' or 0/1 columns)", path, 1)
        self.bad_items: set[str] = set()
        self.first: dict[str, tuple[int, tuple[int, ...]]] = {}

    def triples(self, uid: str, row: list[str], col: dict[str, int], path: Path,
                lineno: int) -> set[tuple[str, str, str]]:
        flags = []
        for h in self.columns:
            value = row[col[h]].strip().lower()
            if value not in _TRUE and value not in _FALSE:
                raise CodingError(f"value '{row[col[h]]}' in column '{h}' is not 0/1", path, lineno, uid)
            flags.append(int(value in _TRUE))
        values = tuple(flags)
        first = self.first.setdefault(uid, (lineno, values))
        if first[1] != values:
            raise CodingError(f"unit listed twice with different values (first on line {first[0]})",
                              path, lineno, uid)
        return {(uid, h, "") if h in self.variables else (uid, self.code_var[h], h)
                for h, v in zip(self.columns, values) if v}


#: Columns of an adjudication sheet other than the two coders' value columns.
ADJUDICATION_FIELDS = ("unit_id", "document_id", "text", "level", "item", "decision", "start", "end", "text_hash")


def _read_adjudication(path: Path, rows: list[list[str]], lines: list[int], header: list[str], codebook: Codebook,
                       unit_ids: Container[str], coder: str, coder_items: CoderItems | None,
                       rename: dict[str, str]) -> tuple[list[str], list[Coding]]:
    """An adjudication sheet -> (units in the sheet, the settled codings)."""
    pair = _coder_pair(header, path)
    if coder_items is None:
        raise CodingError("an adjudication sheet is settled against the two coders in a project store; "
                          "import it into the store that holds them", path)
    sheet = _Sheet(codebook, header, pair, unit_ids, path, rename)
    for lineno, row in zip(lines[1:], rows[1:]):
        if any(cell.strip() for cell in row):
            sheet.add(row, lineno)
    level = sheet.level()
    items = codebook.variable_ids if level == "variable" else codebook.code_ids
    stored = {name: coder_items(name, level)[1] for name in pair}
    seen = {name: coder_items(name, level)[0] for name in pair}
    # the consensus covers every unit both coders saw: the units they agreed on too, not only the sheet's
    listed = set(sheet.seen)
    units = sheet.seen + sorted((set(seen[pair[0]]) & set(seen[pair[1]])) - listed)
    _check_sheet(sheet, items, seen, stored, path, units)
    code_var = {c.id: c.variable for c in codebook.codes} if level == "code" else None
    coded = _settled(sheet, units, items, stored[pair[0]], code_var)
    return units, codings_from_triples(coded, units, coder, codebook.version)


def _coder_pair(header: list[str], path: Path) -> list[str]:
    """The two coders' value columns of an adjudication sheet."""
    pair = [h for h in header if h and h not in ADJUDICATION_FIELDS]
    if len(pair) != 2:
        raise CodingError("an adjudication sheet needs exactly two coder value columns besides "
                          f"{', '.join(ADJUDICATION_FIELDS)}; found: {', '.join(pair) or 'none'}", path, 1)
    return pair


def _settled(sheet: _Sheet, units: list[str], items: list[str], first: set[tuple[str, str]],
             code_var: dict[str, str] | None) -> list[tuple[str, str, str]]:
    """(unit, variable, code) of every item coded once the sheet is settled: the
    decision where the two coders differed, their common value (that of the
    ``first``) elsewhere. ``code_var`` (code -> variable) for a sheet of codes,
    None for one of variables."""
    coded = []
    for uid in units:
        for item in items:
            decided = sheet.decided.get((uid, item))
            if decided[0] if decided is not None else (uid, item) in first:
                coded.append((uid, item, "") if code_var is None else (uid, code_var[item], item))
    return coded


class _Sheet:
    """The rows of an adjudication sheet: decisions per (unit, item) with the
    two coders' values as the sheet shows them."""

    def __init__(self, codebook: Codebook, header: list[str], pair: list[str], unit_ids: Container[str], path: Path,
                 rename: dict[str, str]) -> None:
        self.col = {h: i for i, h in enumerate(header)}
        self.width, self.pair, self.unit_ids, self.path = len(header), pair, unit_ids, path
        self.rename = rename  # the sheet's unit ids -> the ids of the units with their text now
        self.variables, self.codes = set(codebook.variable_ids), set(codebook.code_ids)
        self.decided: dict[tuple[str, str], tuple[int, dict[str, int]]] = {}
        self.seen: list[str] = []
        self.levels: set[str] = set()
        self.bad_units: set[str] = set()
        self.bad_items: set[str] = set()
        self.undecided: list[str] = []

    def _cell(self, row: list[str], name: str) -> str:
        return row[self.col[name]].strip()

    def add(self, row: list[str], lineno: int) -> None:
        if len(row) != self.width:
            raise CodingError(f"expected {self.width} fields, found {len(row)}", self.path, lineno)
        uid, item = self._cell(row, "unit_id"), self._cell(row, "item")
        uid = self.rename.get(uid, uid)
        if uid not in self.unit_ids:
            self.bad_units.add(uid)
            return
        level = self._cell(row, "level") if "level" in self.col else (
            "variable" if item in self.variables else "code")
        if level not in CODING_LEVELS:
            raise CodingError(f"level '{level}' is not one of: {', '.join(CODING_LEVELS)}", self.path, lineno, uid)
        if item not in (self.variables if level == "variable" else self.codes):
            self.bad_items.add(item)
            return
        self.levels.add(level)
        decision = self._cell(row, "decision").lower()
        if decision == "":
            self.undecided.append(str(lineno))
            return
        if decision not in _TRUE and decision not in _FALSE:
            raise CodingError(f"decision '{self._cell(row, 'decision')}' is not 1 or 0", self.path, lineno, uid)
        values = {}
        for name in self.pair:
            if self._cell(row, name).lower() not in ("0", "1"):
                raise CodingError(f"value '{self._cell(row, name)}' in column '{name}' is not 0/1",
                                  self.path, lineno, uid)
            values[name] = int(self._cell(row, name))
        entry = (int(decision in _TRUE), values)
        if self.decided.setdefault((uid, item), entry) != entry:
            raise CodingError(f"item '{item}' appears twice for this unit with different values",
                              self.path, lineno, uid)
        if uid not in self.seen:
            self.seen.append(uid)

    def level(self) -> str:
        """The one level the sheet settles, after checking what was read."""
        if self.bad_units:
            raise CodingError(f"unknown unit id(s): {_first(self.bad_units)}", self.path)
        if self.bad_items:
            raise CodingError(f"unknown code(s) or variable(s): {_first(self.bad_items)}", self.path)
        if self.undecided:
            raise CodingError(f"no decision (1 or 0) on line(s) {_first(self.undecided)}", self.path)
        if not self.decided:
            raise CodingError("the sheet has no rows to settle", self.path)
        if len(self.levels) != 1:
            raise CodingError("the sheet mixes variables and codes; settle one level per sheet", self.path)
        return next(iter(self.levels))


def _check_sheet(sheet: _Sheet, items: list[str], seen: dict[str, set], stored: dict[str, set], path: Path,
                 units: list[str]) -> None:
    """The sheet must still describe the stored codings of its two coders
    on ``units`` (every unit both saw)."""
    for name, units_seen in seen.items():
        unseen = [u for u in sheet.seen if u not in units_seen]
        if unseen:
            raise CodingError(f"coder '{name}' has not coded unit(s) {_first(unseen)} in the store", path)
    stale = [f"{uid} {item} ({name})" for (uid, item), (_, values) in sheet.decided.items()
             for name in sheet.pair if values[name] != int((uid, item) in stored[name])]
    if stale:
        raise CodingError(f"the sheet no longer matches the stored codings of {' and '.join(sheet.pair)} "
                          f"(make a new sheet): {_first(stale)}", path)
    a, b = sheet.pair
    unlisted = [f"{uid} {item}" for uid in units for item in items
                if ((uid, item) in stored[a]) != ((uid, item) in stored[b]) and (uid, item) not in sheet.decided]
    if unlisted:
        raise CodingError(f"the coders differ on item(s) without a row in the sheet: {_first(unlisted)}", path)


def file_hash(path: StrPath) -> str:
    """SHA-256 of a file's bytes (to skip re-importing an unchanged file)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def import_coder(store: Store, path: StrPath, coder: str, replace: bool = False) -> tuple[int, int]:
    """Import a coder's CSV (long, wide or adjudication sheet) as ``coder``;
    returns (units seen, codings). See :func:`import_person`."""
    result = import_person(store, path, coder, replace=replace)
    return result.units, result.codings


@dataclass
class CoderImport:
    """What an import of a person's coder file did."""

    coder: str
    units: int = 0
    codings: int = 0
    #: codings the coder had before (all codebook versions), replaced by this import
    replaced: int = 0
    #: units of the file, and their codings, kept aside: their text is no longer in the corpus
    orphaned_units: int = 0
    orphaned_codings: int = 0


def check_person_name(coder: str, path: StrPath | None = None) -> str:
    """The coder name stripped; an empty or reserved (automatic coder) name is an error."""
    coder = coder.strip()
    if not coder:
        raise CodingError("the coder name is empty", path)
    if coder in AUTOMATIC_CODERS:
        raise CodingError(f"'{coder}' is the name of an automatic coder; a person's codings need another name",
                          path, item=coder)
    return coder


def check_replace(store: Store, coder: str, replace: bool, path: StrPath | None = None) -> int:
    """How many codings ``coder`` has in the store (0 for a new coder); a
    coder already there is an error unless ``replace``."""
    existing = store.coder_codings(coder)
    if existing is not None and not replace:
        raise CodingError(f"coder '{coder}' is already in the store ({existing} codings); add --replace to "
                          "replace them with this file", path)
    return existing or 0


def import_person(store: Store, path: StrPath, coder: str, replace: bool = False) -> CoderImport:
    """Import a coder's CSV (long, wide or adjudication sheet) as ``coder``.

    A coder already in the store is replaced only with ``replace``. The file
    is validated in full and its rows placed on the units whose text they
    were coded on (see :mod:`coding.anchors`) before the store is touched;
    then the coder's previous codings and coverage are replaced in one
    transaction, and rows whose text is gone are kept aside as orphans.
    """
    coder = check_person_name(coder, path)
    existing = check_replace(store, coder, replace, path)
    codebook = store.codebook()
    person = read_person_file(path, codebook, coder, store)
    if not person.seen:
        raise CodingError("the file lists no unit", path)
    anchors = anchor_rows(person, store, store.segmentation())
    result = store_person(store, person, anchors, codebook.version, store.segmentation(), str(Path(path).resolve()))
    result.replaced = existing
    return result


@dataclass
class PersonFile:
    """A person's coder file, read and checked against the codebook; its
    unit ids are the file's, not yet placed on the store's units."""

    path: Path
    coder: str
    file_hash: str
    seen: list[str]
    codings: list[Coding]
    #: unit id -> its anchor from the file's own columns (None: the file names the unit by id alone)
    anchors: dict[str, Anchor | None]


class _AnyUnit:
    """Every unit id, while reading a file whose ids are placed afterwards."""

    def __contains__(self, unit_id: object) -> bool:
        return isinstance(unit_id, str) and unit_id != ""


def read_person_file(path: StrPath, codebook: Codebook, coder: str, store: Store | None = None) -> PersonFile:
    """Read and check a coder file against the codebook (not yet against
    the store's units); an adjudication sheet needs ``store``."""
    path = Path(path)
    items = store.coder_items if store is not None else None
    anchors = file_anchors(path, _AnyUnit())
    rename = _sheet_units(path, anchors, store) if store is not None else {}
    seen, codings = read_coder_file(path, codebook, _AnyUnit(), coder, coder_items=items, rename=rename)
    anchors = {rename.get(u, u): a for u, a in anchors.items()}
    return PersonFile(path, coder, file_hash(path), seen, codings, {u: anchors.get(u) for u in seen})


def _sheet_units(path: Path, anchors: dict[str, Anchor | None], store: Store) -> dict[str, str]:
    """An adjudication sheet's unit ids -> the ids its units' text has now
    (a sheet is settled against the two coders' stored codings, which
    followed their text); a unit whose text is gone is an error."""
    header = _read_table(path)[2]
    if "item" not in header or "decision" not in header:
        return {}
    placed = place({u: a for u, a in anchors.items() if a is not None}, store, store.segmentation())
    if placed.orphans:
        raise CodingError(f"the text of unit(s) {_first(placed.orphans)} changed since the sheet was written; "
                          "make a new sheet ('coding reconcile')", path)
    return placed.units


def file_anchors(path: Path, unit_ids: Container[str]) -> dict[str, Anchor | None]:
    """Anchors that a coder file carries: ``text_hash`` where there is one,
    else the hash of its ``text``; ``document_id`` and ``start`` when given
    (else the document named by the unit id)."""
    rows, _lines, header = _read_table(path)
    col = {h: i for i, h in enumerate(header)}
    anchors: dict[str, Anchor | None] = {}
    for row in rows[1:]:
        if len(row) != len(header):
            continue
        uid = row[col["unit_id"]].strip()
        if uid not in unit_ids or anchors.get(uid) is not None:
            continue
        cell = {name: row[col[name]] for name in ("text_hash", "text", "document_id", "start", "end") if name in col}
        digest = cell.get("text_hash", "").strip() or (text_hash(cell["text"]) if cell.get("text", "").strip() else "")
        if not digest:
            anchors[uid] = None
            continue
        document = cell.get("document_id", "").strip() or uid.rsplit(":", 1)[0]
        start, end = (int(v) if v.strip().isdigit() else 0 for v in (cell.get("start", ""), cell.get("end", "")))
        anchors[uid] = Anchor(document, start, end, digest.lower(), cell.get("text", ""))
    return anchors


def anchor_rows(person: PersonFile, store: Store, segmentation: str) -> dict[str, Anchor | None]:
    """The anchors of a file's units, completed from the store before it
    changes: a file imported before keeps the anchors recorded then; the
    units of a file that names them by id alone take the text they have in
    the store now -- unless that is not the text they had when the coder's
    codings were last imported (the ids have shifted since), which is an
    error: such a file cannot say which text its ids meant."""
    anchors = dict(person.anchors)
    by_id = [u for u, a in anchors.items() if a is None]
    if not by_id:
        return anchors
    prior = {u: a for u, a in store.anchors(person.coder).items() if a[1] == segmentation}
    record = store.coder_import(person.coder)
    if record is not None and record[1] == person.file_hash:
        # the same file again: its ids mean what they meant when it was imported
        # (prior rows: document_id, segmentation, start, end, text_hash, text)
        anchors.update({u: Anchor(prior[u][0], *prior[u][2:]) for u in by_id if u in prior})
    by_id = [u for u in by_id if anchors[u] is None]
    current = store.units_by_ids(by_id, segmentation)
    _refuse_shifted(person, by_id, prior, current)
    for u in by_id:
        if u in current:
            doc, start, end, text = current[u]
            anchors[u] = Anchor(doc, start, end, text_hash(text), text)
    return anchors


def _refuse_shifted(person: PersonFile, by_id: list[str], prior: dict[str, tuple],
                    current: dict[str, tuple]) -> None:
    """A file naming units by id alone, whose ids no longer name the text
    (``prior`` anchors) the coder coded when last imported: an error."""
    shifted = [u for u in by_id if u in prior and (u not in current or text_hash(current[u][3]) != prior[u][4])]
    if shifted:
        raise CodingError(f"unit id(s) {_first(shifted)} no longer name the text {person.coder} coded when last "
                          "imported (the documents changed since); this file names units by id alone, so it "
                          "cannot say which text it means: code a sheet written since (it carries text_hash), "
                          f"or remove the coder first ('coding coders remove {person.coder}')", person.path)


def store_person(store: Store, person: PersonFile, anchors: dict[str, Anchor | None], codebook_version: str,
                 segmentation: str, source: str) -> CoderImport:
    """Place a checked file's rows on the units with their text and replace
    the coder's codings with them (rows whose text is gone kept aside)."""
    placed = place(anchors, store, segmentation)
    if placed.unknown:
        raise CodingError(f"unknown unit id(s): {_first(placed.unknown)}", person.path)
    units = store.units_by_ids(set(placed.units.values()), segmentation)
    seen = [placed.units[u] for u in person.seen if u in placed.units]
    codings = [dc_replace(c, unit_id=placed.units[c.unit_id]) for c in person.codings if c.unit_id in placed.units]
    orphans = [(u, placed.orphans[u].document_id, segmentation, placed.orphans[u].text, "", "")
               for u in person.seen if u in placed.orphans]
    orphans += [(c.unit_id, placed.orphans[c.unit_id].document_id, segmentation, placed.orphans[c.unit_id].text,
                 c.variable, c.code) for c in person.codings if c.unit_id in placed.orphans]
    rows = []
    for u in person.seen:
        if u in placed.units:
            doc, start, end, text = units[placed.units[u]]
            rows.append((u, doc, segmentation, start, end, text_hash(text), text))
        else:
            a = placed.orphans[u]
            rows.append((u, a.document_id, segmentation, a.start, a.end, a.text_hash, a.text))
    store.replace_person(person.coder, seen, codings, codebook_version, source=source,
                         content_hash=f"{person.file_hash}:{codebook_version}:{segmentation}",
                         file_hash=person.file_hash, anchors=rows, orphans=orphans)
    return CoderImport(person.coder, len(seen), len(codings), orphaned_units=len(placed.orphans),
                       orphaned_codings=len(orphans) - len(placed.orphans))
