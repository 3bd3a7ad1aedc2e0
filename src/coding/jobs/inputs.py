"""The inputs of ``code_paths`` as work items, in input order: a document
file to read and segment, or a batch of units from a table of pre-segmented
units (``.csv``, ``.jsonl`` with ``id`` and ``text``, or ``.parquet``).

Owns reading those tables (every bad row a one-line error naming the file
and line) and the document ids of loose files, unique across the inputs.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from coding.corpus import READERS, loose_document_id
from coding.errors import CodingError
from coding.files import jsonl_record, raise_csv_field_limit, read_utf8
from coding.segment import Unit

TABLE_SUFFIXES = (".csv", ".jsonl", ".parquet")


def _units_from_table(path: Path) -> list[Unit]:
    """Pre-segmented units from a .csv or .jsonl with ``id`` and ``text``."""
    raise_csv_field_limit()
    raw = read_utf8(path)
    if not raw.strip():
        raise CodingError("the file is empty", path)
    units: list[Unit] = []
    rows = _csv_rows(raw, path) if path.suffix.lower() == ".csv" else _jsonl_rows(raw, path)
    seen: dict[str, int] = {}
    for line, row in rows:
        if None in row:
            raise CodingError("more fields than the header has", path, line)
        uid, text = row.get("id"), row.get("text")
        if isinstance(uid, (dict, list, bool)) or uid is None or uid != uid or str(uid).strip() == "":  # NaN
            raise CodingError("'id' must be a non-empty text or number", path, line)
        if not isinstance(text, str):
            raise CodingError("'text' must be a string", path, line, str(uid))
        uid = str(uid).strip()
        if uid in seen:
            raise CodingError(f"duplicate id (first on line {seen[uid]})", path, line, uid)
        seen[uid] = line
        units.append(Unit(uid, path.stem, len(units) + 1, "given", 0, len(text), text))
    if not units:
        raise CodingError("no units in the file", path)
    return units


def _csv_rows(raw: str, path: Path):
    """(line, row) of a CSV table of units; the line a row starts on."""
    reader = csv.DictReader(io.StringIO(raw, newline=""))
    missing = [c for c in ("id", "text") if c not in (reader.fieldnames or [])]
    if missing:
        raise CodingError(f"missing column(s): {', '.join(missing)}", path, 1)
    last = reader.line_num
    for row in reader:
        yield last + 1, row
        last = reader.line_num


def _jsonl_rows(raw: str, path: Path):
    """(line, object) of a JSON Lines table of units."""
    # only "\n" ends a JSON Lines record; splitlines() would also cut at
    # U+2028 or NEL, which JSON allows raw inside strings
    for i, line in enumerate(raw.split("\n"), start=1):
        obj = jsonl_record(line, path, i)
        if obj is not None:
            yield i, obj


def _input_files(paths: list[Path]) -> list[tuple[Path, Path | None, str]]:
    """(file, folder given, document id) of the files to read, in input
    order. Ids come from file names (paths within a given folder); where two
    files would share an id, ids take the path from the inputs' common
    folder, so unit ids stay unique."""
    files: list[tuple[Path, Path | None]] = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in READERS)
            if not found:
                raise CodingError("no readable files in the folder", p)
            files += [(f, p) for f in found]
        elif p.suffix.lower() not in TABLE_SUFFIXES:
            files.append((p, None))
    ids = [loose_document_id(f, root) for f, root in files]
    if len(set(ids)) < len(ids):
        ids = _ids_from_common_folder([f for f, _ in files])
    return [(f, root, doc_id) for (f, root), doc_id in zip(files, ids)]


def _ids_from_common_folder(files: list[Path]) -> list[str]:
    """Document ids of ``files`` as paths from their common folder; two
    files that still give the same id are an error."""
    common = Path(os.path.commonpath([f.resolve().parent for f in files]))
    ids = [loose_document_id(f.resolve(), common) for f in files]
    seen: dict[str, Path] = {}
    for f, doc_id in zip(files, ids):
        if doc_id in seen:
            raise CodingError(f"gives the same unit ids as {seen[doc_id]}", f)
        seen[doc_id] = f
    return ids


def work_items(paths: list[Path], batch_size: int):
    """Units to code, as independent work items in input order: a file to
    read and segment, or a batch of pre-segmented units."""
    files = iter(_input_files(paths))
    table_ids: dict[str, Path] = {}
    for p in paths:
        if p.suffix.lower() in TABLE_SUFFIXES and not p.is_dir():
            yield from _table_items(p, batch_size, table_ids)
        else:
            for _ in range(_count_files(p)):
                yield ("file", *next(files))


def _table_items(path: Path, batch_size: int, table_ids: dict[str, Path]):
    """The work items of one table: its batches, then ("failed", message,
    path) if it turns out damaged part-way (the other tables are still
    coded). An id that another table has is an error for the whole input."""
    batches = _table_batches(path, batch_size)
    while True:
        try:
            units = next(batches, None)
        except CodingError as exc:
            yield ("failed", str(exc), path)
            return
        if units is None:
            return
        clash = next((u.id for u in units if u.id in table_ids), None)
        if clash is not None:
            raise CodingError(f"unit id '{clash}' is also in {table_ids[clash]}", path)
        table_ids.update((u.id, path) for u in units)
        yield ("units", units, path)  # the table, named if a worker dies on this batch


def _table_batches(path: Path, batch_size: int):
    """Units of a table in batches: a Parquet file is read a record batch
    at a time (never whole), CSV and JSON Lines as before."""
    if path.suffix.lower() == ".parquet":
        from coding.jobs.shards import open_shard

        _columns, batches = open_shard(path, batch_size)
        for batch in batches:
            yield batch.units
        return
    units = _units_from_table(path)
    for i in range(0, len(units), batch_size):
        yield units[i:i + batch_size]


def _count_files(p: Path) -> int:
    if p.is_dir():
        return sum(1 for f in p.rglob("*") if f.is_file() and f.suffix.lower() in READERS)
    return 1
