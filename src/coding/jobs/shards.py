"""Shards: tables of pre-segmented units (Parquet, CSV, JSON Lines) read a
batch at a time, and Parquet files of codings written atomically.

A shard has the columns ``id`` and ``text`` (each row a unit) and any
others (date, outlet, author...), which pass through to the codings. A
Parquet shard is read in record batches, so a large one never sits whole in
memory; CSV and JSON Lines shards are read as :mod:`coding.jobs.inputs` reads
tables of units, with their extra fields as text.

pyarrow is imported only here and only when a Parquet file is read or
written: the base install does not need it (``pip install 'coding[dask]'``
brings it).
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from coding.errors import CodingError, first_line
from coding.files import jsonl_record
from coding.records import StrPath, Unit

if TYPE_CHECKING:
    import pyarrow

SHARD_SUFFIXES = (".parquet", ".csv", ".jsonl")
#: The columns of the codings, in front of the passed-through ones.
OUTPUT_COLUMNS = ("unit_id", "variable", "code", "evidence")
_GLOB_CHARS = "*?["
_HASH_CHUNK = 8 << 20


def need_pyarrow():
    """The pyarrow module, or a one-line error saying how to install it."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise CodingError("Parquet needs pyarrow, which is not installed: pip install 'coding[dask]'") from None
    return pyarrow


def expand_paths(paths: list[StrPath]) -> list[Path]:
    """``paths`` with every glob pattern ('shards/*.parquet') replaced by the
    files it names, sorted; a pattern that names nothing is an error."""
    out: list[Path] = []
    for p in paths:
        text = str(p)
        if any(c in text for c in _GLOB_CHARS) and not Path(text).exists():
            found = sorted(glob.glob(text, recursive=True))
            if not found:
                raise CodingError("no file matches this pattern", text)
            out += [Path(f) for f in found]
        else:
            out.append(Path(text))
    return out


def shard_files(paths: list[StrPath]) -> list[tuple[Path, Path]]:
    """(shard, its path relative to where it was found) of every shard in
    ``paths`` (files, folders searched recursively, glob patterns), in
    order; the relative path names its output."""
    found: list[tuple[Path, Path]] = []
    for p in expand_paths(paths):
        if p.is_dir():
            inside = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SHARD_SUFFIXES
                            and not any(part.startswith((".", "_")) for part in f.relative_to(p).parts))
            if not inside:
                raise CodingError("no .parquet, .csv or .jsonl shards in the folder", p)
            found += [(f, f.relative_to(p)) for f in inside]
        elif not p.exists():
            raise CodingError("no such file or folder", p)
        elif p.suffix.lower() not in SHARD_SUFFIXES:
            raise CodingError("not a shard: give .parquet, .csv or .jsonl files (or folders of them)", p)
        else:
            found.append((p, Path(p.name)))
    return found


def file_sha256(path: StrPath) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class UnitBatch:
    """Units of one batch of a shard and the values of its other columns:
    ``meta`` is a pyarrow RecordBatch of them (Parquet) or a dict of lists
    of text (CSV, JSON Lines), one row per unit."""

    units: list[Unit]
    meta: dict[str, list[str]] | pyarrow.RecordBatch


def open_shard(path: StrPath, batch_rows: int = 5000) -> tuple[list, Iterator[UnitBatch]]:
    """The passed-through columns of a shard (pyarrow fields for Parquet,
    names otherwise) and an iterator of its units ``batch_rows`` at a time.

    A CodingError names the shard (and row or line) when it cannot be read,
    lacks ``id`` or ``text``, has a column that would clash with an output
    column, or has an empty or repeated id or a text that is not a string;
    errors in later batches are raised as they are reached."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        pf = _parquet_file(path)
        fields = [f for f in pf.schema_arrow if f.name not in ("id", "text")]
        _check_clash(path, [f.name for f in fields])
        return fields, _parquet_batches(path, pf, batch_rows)
    records = _csv_records(path) if path.suffix.lower() == ".csv" else _jsonl_records(path)
    first = next(records, None)
    if first is None:
        raise CodingError("no units in the file", path)
    names = [n for n in first[1] if n not in ("id", "text")]
    _check_clash(path, names)
    return names, _table_batches(path, first, records, names, batch_rows)


def _check_clash(path: Path, names: list[str], columns: tuple[str, ...] = OUTPUT_COLUMNS) -> None:
    clash = [n for n in names if n in columns]
    if clash:
        raise CodingError(f"column '{clash[0]}' would clash with the output column of that name: rename it", path)


def _parquet_file(path: Path):
    pa = need_pyarrow()
    try:
        pf = pa.parquet.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise CodingError(f"cannot be read as Parquet ({first_line(exc)})", path) from None
    names = pf.schema_arrow.names
    missing = [c for c in ("id", "text") if c not in names]
    if missing:
        raise CodingError(f"missing column(s): {', '.join(missing)}", path)
    return pf


def _parquet_batches(path: Path, pf, batch_rows: int) -> Iterator[UnitBatch]:
    pa = need_pyarrow()
    seen: set[str] = set()
    row = 0
    try:
        for batch in pf.iter_batches(batch_size=batch_rows):
            ids, texts = batch.column("id").to_pylist(), batch.column("text").to_pylist()
            units = _units(path, ids, texts, row, seen)
            row += len(units)
            yield UnitBatch(units, batch.drop_columns(["id", "text"]))
    except (pa.ArrowException, OSError) as exc:  # a damaged page: the input's fault, named as such
        raise CodingError(f"cannot be read as Parquet at row {row + 1} or after ({first_line(exc)})",
                          path) from None
    if not row:
        raise CodingError("no units in the file", path)


def _units(path: Path, ids: list, texts: list, row: int, seen: set[str]) -> list[Unit]:
    """Units of one batch, checked; rows are numbered from 1 in the shard."""
    units = []
    for i, (uid, text) in enumerate(zip(ids, texts), start=row + 1):
        if uid is None or isinstance(uid, (bool, dict, list)) or uid != uid or str(uid).strip() == "":  # NaN
            raise CodingError(f"row {i}: 'id' must be a non-empty text or number", path)
        if not isinstance(text, str):
            raise CodingError(f"row {i}: 'text' must be a string", path, None, str(uid))
        uid = str(uid).strip()
        if uid in seen:
            raise CodingError(f"row {i}: duplicate id", path, None, uid)
        seen.add(uid)
        units.append(Unit(uid, path.stem, i, "given", 0, len(text), text))
    return units


def _open_text(path: Path, newline: str | None):
    try:
        return open(path, encoding="utf-8-sig", newline=newline)
    except OSError as exc:
        raise CodingError(f"cannot be read ({exc.strerror})", path) from None


def _csv_records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line, row) of a CSV shard, streamed; the line a row starts on."""
    import csv

    from coding.files import raise_csv_field_limit

    raise_csv_field_limit()
    with _open_text(path, "") as fh:
        reader = csv.DictReader(fh)
        try:
            missing = [c for c in ("id", "text") if c not in (reader.fieldnames or [])]
            if missing:
                raise CodingError(f"missing column(s): {', '.join(missing)}", path, 1)
            last = reader.line_num
            for row in reader:
                if None in row:
                    raise CodingError("more fields than the header has", path, last + 1)
                yield last + 1, row
                last = reader.line_num
        except UnicodeDecodeError:
            raise CodingError(f"not UTF-8 (after line {reader.line_num})", path) from None
        except csv.Error as exc:
            raise CodingError(f"not valid CSV ({exc})", path, reader.line_num) from None


def _jsonl_records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line, object) of a JSON Lines shard, streamed; only "\\n" ends a
    record (JSON allows U+2028 raw inside strings)."""
    with _open_text(path, "\n") as fh:
        i = 0
        try:
            for i, line in enumerate(fh, start=1):
                obj = jsonl_record(line, path, i)
                if obj is not None:
                    yield i, obj
        except UnicodeDecodeError:
            raise CodingError(f"not UTF-8 (after line {i})", path) from None


def _table_batches(path: Path, first: tuple[int, dict], records: Iterator, names: list[str],
                   batch_rows: int) -> Iterator[UnitBatch]:
    seen: set[str] = set()
    pending = [first]
    row = 0
    for record in records:
        if len(pending) == batch_rows:
            yield _table_batch(path, pending, names, row, seen)
            row += len(pending)
            pending = []
        pending.append(record)
    yield _table_batch(path, pending, names, row, seen)


def _table_batch(path: Path, records: list[tuple[int, dict]], names: list[str], row: int,
                 seen: set[str]) -> UnitBatch:
    units = _units(path, [r.get("id") for _, r in records], [r.get("text") for _, r in records], row, seen)
    meta = {n: [_as_text(r.get(n)) for _, r in records] for n in names}
    return UnitBatch(units, meta)


def _as_text(value) -> str:
    """A passed-through field of a CSV or JSON Lines shard as text (JSON
    for lists, objects, numbers and booleans; empty when missing)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# -- writing -----------------------------------------------------------------------

class _HashingFile:
    """A binary file that hashes what is written to it, so that an output's
    SHA-256 needs no second read. pyarrow writes Parquet sequentially."""

    def __init__(self, fh):
        self._fh = fh
        self.digest = hashlib.sha256()
        self.closed = False

    def write(self, data) -> int:
        self.digest.update(data)
        return self._fh.write(data)

    def tell(self) -> int:
        return self._fh.tell()

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        self.closed = True  # the underlying file is closed by its owner

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def output_schema(meta_fields: list, extra: tuple[str, ...] = (), path: StrPath | None = None):
    """The Parquet schema of a shard's codings: the output columns as
    strings, the coder's own ``extra`` columns (the mention coder's
    ``probability``), then the passed-through columns (their own types for
    Parquet input, text otherwise). A passed-through column named like an
    extra one is an error naming ``path``."""
    pa = need_pyarrow()
    names = [m if isinstance(m, str) else m.name for m in meta_fields]
    _check_clash(Path(path or ""), names, extra)
    fields = [pa.field(c, pa.string()) for c in (*OUTPUT_COLUMNS, *extra)]
    fields += [pa.field(m, pa.string()) if isinstance(m, str) else m for m in meta_fields]
    return pa.schema(fields)


def codings_table(schema, rows: list[list[str]], batch: UnitBatch, width: int = len(OUTPUT_COLUMNS)):
    """A pyarrow table of coding ``rows`` (unit_id, variable, code,
    evidence, and any columns of the coder's own: ``width`` in all) with
    each row's unit's passed-through values."""
    pa = need_pyarrow()
    position = {u.id: i for i, u in enumerate(batch.units)}
    take = [position[r[0]] for r in rows]
    columns = [pa.array([r[i] for r in rows], type=pa.string()) for i in range(width)]
    if isinstance(batch.meta, dict):
        columns += [pa.array([values[i] for i in take], type=pa.string()) for values in batch.meta.values()]
    else:
        indices = pa.array(take, type=pa.int64())
        columns += [batch.meta.column(i).take(indices) for i in range(batch.meta.num_columns)]
    return pa.Table.from_arrays(columns, schema=schema)


def write_parquet(path: StrPath, schema, tables: Iterator, footer: dict[str, str]) -> str:
    """Write the tables of ``tables`` (one schema) to a Parquet file
    atomically (temporary name in the same folder, then renamed, as
    :func:`coding.files.write_with`), with ``footer`` as key-value metadata
    (read once the tables are written, so they may fill it in); returns
    the file's SHA-256. Nothing is left at ``path`` if writing fails."""
    from coding.files import write_with

    pa = need_pyarrow()
    digest = {}

    def _write(fh):
        sink = _HashingFile(fh)
        # fixed options and no timestamps: the same codings give the same bytes
        with pa.parquet.ParquetWriter(sink, schema, compression="zstd", write_statistics=False) as writer:
            for table in tables:
                writer.write_table(table)
            writer.add_key_value_metadata(dict(sorted(footer.items())))
        digest["sha256"] = sink.digest.hexdigest()

    write_with(path, _write, binary=True)
    return digest["sha256"]


def footer_metadata(path: StrPath) -> dict[str, str] | None:
    """The key-value metadata of a Parquet file's footer, or None when the
    file is missing or not readable Parquet."""
    pa = need_pyarrow()
    try:
        meta = pa.parquet.read_metadata(path).metadata or {}
    except (OSError, pa.ArrowException):
        return None
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in meta.items()}
