"""``code_paths``: texts outside the corpus coded into one CSV, without a store.

Owns the rows of any coder (``coding_rows``, also used for Parquet shards),
coding one work item (see :mod:`coding.jobs.inputs`), the pool of worker
processes that code items into files of their own, and the output written
in input order, a damaged table taken out whole.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
from collections import Counter, deque
from contextlib import ExitStack
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from coding.anchors import FINGERPRINT_COLUMNS, fingerprint
from coding.codebook import load_codebook
from coding.coders.coder_choice import default_coder
from coding.corpus import document_from_file
from coding.errors import CodingError
from coding.files import check_output, remove_stale_folders, remove_stale_temporaries_of, write_with
from coding.jobs.inputs import work_items
from coding.jobs.shards import expand_paths
from coding.jobs.workers import PARTS_PREFIX, children, note_item, started, watched
from coding.records import Coder, evidence_json
from coding.segment import UNIT_TYPES, Unit, segment

CODE_OUTPUT_COLUMNS = ["unit_id", "variable", "code", "evidence"]


def coding_rows(coder: Coder, units: list[Unit]) -> list[list[str]]:
    """Rows ``unit_id, variable, code, evidence`` of any coder: evidence
    offsets relative to the unit text, one row per coding, and one row with
    empty variable and code for a unit with no coding. Coders that write
    rows directly (``code_rows``) skip building records."""
    fast = getattr(coder, "code_rows", None)
    if fast is not None:
        return fast(units)
    by_unit: dict[str, list] = {}
    for c in coder.code(units):
        by_unit.setdefault(c.unit_id, []).append(c)
    rows = []
    for u in units:
        mine = by_unit.get(u.id)
        if not mine:
            rows.append([u.id, "", "", ""])
        for c in mine or ():
            ev = [(e.term, e.pattern, e.start - u.start, e.end - u.start, e.weight) for e in c.evidence]
            rows.append([u.id, c.variable, c.code, evidence_json(ev)])
    return rows


@dataclass(frozen=True)
class _CodeJob:
    """What every work item of a ``code_paths`` call shares."""

    coder: Coder
    unit: str = "paragraph"
    encoding: str = ""
    labels: dict[str, str] | None = None  # code or variable id -> label, with --with-text


def _code_item(job: _CodeJob, item) -> tuple[bytes, int, int, str | None]:
    """Code one work item; return its CSV rows as UTF-8, units, codings, and
    the error message of a file that could not be read (else None). Bytes,
    so that the parent of worker processes only copies them to the file."""
    kind, payload, *rest = item
    if kind == "failed":
        return b"", 0, 0, payload
    if kind == "file":
        root, doc_id = rest
        try:
            doc = document_from_file(payload, root=root, encoding=job.encoding, doc_id=doc_id)
            units = segment(doc, job.unit)
        except CodingError as exc:
            return b"", 0, 0, str(exc)
    else:
        units = payload
    rows = coding_rows(job.coder, units)
    if job.labels is not None:
        # the unit's text and fingerprint: a coder file made from these rows stays on this text
        text = {u.id: [u.text, *fingerprint(u.document_id, u.start, u.end, u.text)] for u in units}
        rows = [r + [job.labels.get(r[2] or r[1], ""), *text[r[0]]] for r in rows]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8"), len(units), sum(1 for r in rows if r[1]), None


_WORKER: _CodeJob | None = None
#: a worker's folder for its rows, and its file there (opened with its first item)
_PARTS_FOLDER = ""
_PART = None


def _init_worker(job: _CodeJob, folder: str) -> None:
    # the coder is built once in the parent and handed to each worker once
    global _WORKER, _PARTS_FOLDER
    _WORKER, _PARTS_FOLDER = job, folder


def _describe(item) -> str:
    """A work item as named in a message: the file, or the table and the units of a batch."""
    kind, payload, *rest = item
    if kind != "units" or not payload:
        return str(payload if kind == "file" else rest[0])
    return f"{rest[0]} (units {payload[0].id} to {payload[-1].id})"


def _not_english(coder) -> int:
    """How many units the coder has found not in English so far (0 for coders that do not look)."""
    return int(getattr(coder, "not_english", 0))


def _code_in_worker(item) -> tuple[str, int, int, int, int, str | None, int]:
    """Code one item; its rows go to this worker's own file, and only where
    they lie comes back (with how many of its units were not in English: the
    worker's copy of the coder counts them, not the parent's): the parent
    would otherwise unpickle and write every byte of them, on the cores the
    workers need."""
    global _PART
    note_item(_PARTS_FOLDER, _describe(item))
    assert _WORKER is not None, "set by _init_worker when the pool starts"
    before = _not_english(_WORKER.coder)
    text, n_units, n_codings, error = _code_item(_WORKER, item)
    if _PART is None:
        _PART = open(os.path.join(_PARTS_FOLDER, f"{os.getpid()}.csv"), "ab")
    offset = _PART.tell()
    _PART.write(text)
    _PART.flush()  # the parent reads it next
    return _PART.name, offset, len(text), n_units, n_codings, error, _not_english(_WORKER.coder) - before


def _copy_range(dst, src, offset: int, length: int) -> None:
    """Append ``length`` bytes of the file ``src`` from ``offset`` to ``dst``,
    in the kernel where it can (``os.sendfile``), else through memory."""
    dst.flush()  # what dst buffered comes first
    try:
        while length:
            sent = os.sendfile(dst.fileno(), src.fileno(), offset, length)
            if not sent:
                break
            offset, length = offset + sent, length - sent
    except (AttributeError, OSError):  # no sendfile between files on this system
        pass
    if length:
        src.seek(offset)
        dst.write(src.read(length))


def code_paths(paths, out, codebook="codebook.yaml", unit: str = "paragraph", jobs: int = 1,
               batch_size: int = 2000, progress: bool | None = None,
               errors: list[str] | None = None, coder: Coder | None = None, encoding: str = "",
               with_text: bool = False) -> dict[str, int]:
    """Code texts outside the corpus and write ``unit_id, variable, code, evidence``.

    Work is streamed: each file (or batch of ``batch_size`` pre-segmented
    units) is read, segmented and coded on its own and its rows written
    before the next, so memory does not grow with the input. Evidence
    offsets are relative to the unit's text. ``jobs > 1`` hands files and
    batches to worker processes, which write their rows to files of their
    own in a hidden folder beside ``out`` (removed at the end: the output's
    folder needs room for the rows twice meanwhile); the output is the
    same, in input order; ``jobs`` is capped at the number of CPUs.
    ``coder`` is any :class:`coding.records.Coder` (default: the default
    coder of ``codebook``, :func:`coding.coders.coder_choice.default_coder`).
    ``encoding`` is that of plain-text files
    without a declared one; ``with_text`` adds the columns ``label`` (of the
    code, else the variable), ``text`` (of the unit) and the unit's
    fingerprint (``document_id``, ``start``, ``end``, ``text_hash``), by which
    a coder-file import places the rows on the text they were coded on. Returns counts of units and codings.

    A file that cannot be read raises CodingError and nothing is written;
    with an ``errors`` list its message is appended there instead and the
    other files are still coded.
    """
    if Path(out).suffix.lower() not in ("", ".csv"):
        raise CodingError(f"the output is CSV; a '{Path(out).suffix}' name would mislead: give a .csv file", out)
    # a coder brings its own codebook (the learned coder may carry one in its model)
    cb = coder.codebook if coder is not None and hasattr(coder, "codebook") else load_codebook(codebook)
    coder = coder or default_coder(cb)
    jobs = max(1, min(int(jobs), os.cpu_count() or 1))
    if unit not in UNIT_TYPES:
        raise CodingError(f"unknown unit type '{unit}' (use one of: {', '.join(UNIT_TYPES)})")
    labels = {**{v.id: v.label for v in cb.variables}, **{c.id: c.label for c in cb.codes}} if with_text else None
    job = _CodeJob(coder, unit, encoding, labels)
    paths = expand_paths(paths)  # 'shards/*.parquet' given in quotes
    if not paths:
        raise CodingError("no input paths")
    check_output(out, [*paths, codebook if coder is None else None])
    for p in paths:
        if not p.exists():
            raise CodingError("no such file or folder", p)
    counts: Counter[str] = Counter()
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    # what killed runs left beside the output: their workers' folders and the output's temporaries
    remove_stale_folders(Path(out).parent, PARTS_PREFIX)
    remove_stale_temporaries_of(out)

    def _write(fh: IO[bytes]) -> None:
        # a coder may add columns after the evidence (the mention coder: its probability)
        extra = list(getattr(job.coder, "output_columns", ()))
        extra += ["label", "text", *FINGERPRINT_COLUMNS] if with_text else []
        fh.write((",".join(CODE_OUTPUT_COLUMNS + extra) + "\n").encode())
        tables = _Tables(fh, counts)
        items = tables.tag(work_items(paths, batch_size))
        bar = tqdm(desc="coding", unit="unit", disable=disable, file=sys.stderr)
        if jobs > 1:
            _code_in_pool(job, items, jobs, Path(out).parent, _Sink(fh, tables, counts, bar, errors))
        else:
            _code_here(job, items, _Sink(fh, tables, counts, bar, errors))
        bar.close()
        if errors and not counts["units"]:
            raise CodingError(errors[0])  # nothing could be read: no output at all

    write_with(out, _write, binary=True)
    return dict(counts)


class _Tables:
    """Where each table's rows begin in the output, so that a table found
    damaged part-way (its earlier batches already written) is taken out
    whole: its rows and its counts. Results come back in input order, and a
    table's batches one after another."""

    def __init__(self, fh, counts: Counter):
        self.fh, self.counts = fh, counts
        self.keys: deque = deque()
        self.start: dict[str, tuple[int, int, int]] = {}

    def tag(self, items):
        for item in items:
            self.keys.append(str(item[2]) if item[0] in ("units", "failed") else None)
            yield item

    def next(self, error: str | None) -> str | None:
        """The table of the next result (None for a document file); notes where its rows begin."""
        key = self.keys.popleft()
        if key is not None and key not in self.start:
            self.fh.flush()
            self.start[key] = (self.fh.tell(), self.counts["units"], self.counts["codings"])
        return key

    def done(self, key: str | None, error: str | None) -> None:
        if key is not None and error is not None:
            offset, units, codings = self.start[key]
            self.fh.flush()
            self.fh.seek(offset)
            self.fh.truncate()
            self.counts["units"], self.counts["codings"] = units, codings


@dataclass
class _Sink:
    """Where coded items go: the output, its tables' bookkeeping, the counts, the bar and the errors."""

    fh: IO[bytes]
    tables: _Tables
    counts: Counter[str]
    bar: Any
    errors: list[str] | None

    def add(self, n_units: int, n_codings: int, error: str | None, not_english: int) -> None:
        _count(self.counts, self.bar, n_units, n_codings, error, self.errors)
        if not_english:
            self.counts["not_english"] += not_english


def _code_here(job: _CodeJob, items, sink: _Sink) -> None:
    """Code the items in this process, in order."""
    for item in items:
        before = _not_english(job.coder)
        text, n_units, n_codings, error = _code_item(job, item)
        table = sink.tables.next(error)
        sink.fh.write(text)
        sink.add(n_units, n_codings, error, _not_english(job.coder) - before)
        sink.tables.done(table, error)


def _code_in_pool(job: _CodeJob, items, jobs: int, folder: Path, sink: _Sink) -> None:
    """Code the items in ``jobs`` worker processes: they read, segment and code whole files
    into files of their own, copied into the output in input order."""
    ctx = get_context("fork" if sys.platform != "win32" else "spawn")
    before = children()  # to tell this pool's workers from other children, to see one die
    # the folder carries this process's id: a later run removes it if this one is killed
    with tempfile.TemporaryDirectory(prefix=f"{PARTS_PREFIX}{os.getpid()}-", dir=folder) as parts, \
            ctx.Pool(jobs, initializer=_init_worker, initargs=(job, parts)) as pool, ExitStack() as files:
        sources: dict[str, Any] = {}
        workers = started(before)
        for name, offset, length, n_units, n_codings, error, not_english in watched(
                pool.imap(_code_in_worker, items, chunksize=1), workers, parts):
            if name not in sources:
                sources[name] = files.enter_context(open(name, "rb"))
            table = sink.tables.next(error)
            _copy_range(sink.fh, sources[name], offset, length)
            sink.add(n_units, n_codings, error, not_english)
            sink.tables.done(table, error)


def _count(counts, bar, n_units: int, n_codings: int, error: str | None, errors: list | None) -> None:
    if error is not None:
        if errors is None:
            raise CodingError(error)
        errors.append(error)
    counts["units"] += n_units
    counts["codings"] += n_codings
    bar.update(n_units)
