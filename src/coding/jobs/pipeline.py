"""The jobs behind the commands: ``run`` (corpus to store and outputs) and
``code_paths`` (code loose texts without a store)."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import sys
import tempfile
from collections import Counter, deque
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from tqdm import tqdm

from coding.anchors import FINGERPRINT_COLUMNS, fingerprint
from coding.codebook import Codebook, load_codebook
from coding.coder_files import PersonFile, anchor_rows, check_person_name, read_person_file, store_person
from coding.coders.dictionary import DictionaryCoder
from coding.coders.provenance import read_development_coders
from coding.corpus import (
    READERS,
    document_from_file,
    iter_documents,
    load_manifest,
    loose_document_id,
)
from coding.errors import CodingError
from coding.files import (
    check_output,
    jsonl_record,
    raise_csv_field_limit,
    read_utf8,
    remove_stale_folders,
    remove_stale_temporaries,
    remove_stale_temporaries_of,
    write_csv,
    write_with,
)
from coding.jobs.shards import expand_paths
from coding.jobs.workers import PARTS_PREFIX, children, note_item, watched
from coding.records import AUTO, Coder, evidence_json
from coding.segment import UNIT_TYPES, Unit, segment, unit_speakers
from coding.store import Store, run_lock

SEGMENT_COLUMNS = ["unit_id", "document_id", "ordinal", "unit_type", "start", "end", "words", "speaker", "text"]
CODING_COLUMNS = ["unit_id", "document_id", "variable", "code", "coder", "evidence"]
CODE_OUTPUT_COLUMNS = ["unit_id", "variable", "code", "evidence"]
TABLE_SUFFIXES = (".csv", ".jsonl", ".parquet")


@dataclass
class RunSummary:
    """What a run did, for the printed summary and for tests."""

    documents: int = 0
    coded_documents: int = 0
    skipped_documents: int = 0
    removed_documents: list[str] = field(default_factory=list)
    units: int = 0
    codings_per_variable: dict[str, int] = field(default_factory=dict)
    units_per_variable: dict[str, int] = field(default_factory=dict)
    coders_imported: list[str] = field(default_factory=list)
    coders_skipped: list[str] = field(default_factory=list)
    coders_replaced: list[str] = field(default_factory=list)
    orphans: list[tuple[str, int, int]] = field(default_factory=list)
    errors: list[CodingError] = field(default_factory=list)
    codebook_version: str = ""
    coder: str = AUTO
    outputs: dict[str, Path] = field(default_factory=dict)
    #: the names among ``outputs`` whose files a rerun left as they were
    unchanged_outputs: list[str] = field(default_factory=list)
    #: units coded in this run that the coder found not in English (and left uncoded)
    not_english: int = 0


def read_coder_files(coders_dir, codebook: Codebook) -> list[PersonFile]:
    """Every ``<coders_dir>/<name>.csv`` read and checked against the
    codebook, as coder ``name``: done before the store is opened, so that a
    bad file stops a run before anything changes. A reserved name (an
    automatic coder's, e.g. ``auto.csv``) is an error."""
    coders_dir = Path(coders_dir)
    if not coders_dir.is_dir():
        return []
    return [read_person_file(path, codebook, check_person_name(path.stem, path))
            for path in sorted(coders_dir.glob("*.csv"))]


def _newer_import(store: Store, person: PersonFile) -> str | None:
    """Why the store's codings of ``person.coder`` win over the file, or None
    when the file may be imported: the later of the two wins, and a file
    saved before the store's import of that coder from another file is the
    older one."""
    source = store.coder_source(person.coder)
    if source is None or not source or Path(source).resolve() == person.path.resolve():
        return None
    record = store.coder_import(person.coder)
    if record is not None:
        saved = datetime.fromtimestamp(person.path.stat().st_mtime, UTC)
        if saved > datetime.fromisoformat(record[2]):
            return None
    return f"{person.coder} (the store holds a later import of this coder, from {source})"


def check_coder_files(store: Store, people: list[PersonFile], codebook_version: str, unit: str,
                      document_ids: set[str], summary: RunSummary | None = None) -> list[tuple[PersonFile, dict]]:
    """The coder files a run imports, with their anchors, decided before
    the store changes (see :func:`coding.coder_files.anchor_rows`). A file
    is imported again when its bytes, the codebook or the segmentation
    changed: not when documents changed (the stored codings follow their
    text, see :meth:`Store.save_document`), and never over a later import of
    the same coder from another file (listed in ``summary.coders_skipped``)."""
    plans = []
    for person in people:
        if store.coder_hash(person.coder) == f"{person.file_hash}:{codebook_version}:{unit}":
            continue
        newer = _newer_import(store, person)
        if newer is not None:
            if summary is not None:
                summary.coders_skipped.append(newer)
            continue
        anchors = anchor_rows(person, store, unit)
        unknown = [u for u, a in anchors.items() if a is None and u.rsplit(":", 1)[0] not in document_ids]
        if unknown:
            raise CodingError(f"unknown unit id(s): {', '.join(sorted(unknown)[:5])}", person.path)
        plans.append((person, anchors))
    return plans


def apply_coder_files(store: Store, plans: list[tuple[PersonFile, dict]], codebook_version: str, unit: str,
                      summary: RunSummary | None = None) -> list[str]:
    """Import the files :func:`check_coder_files` chose, each row on the
    unit with its text (rows whose text is gone kept aside). A file none of
    whose units exist in this segmentation (units coded as paragraphs, in a
    run by sentences) is skipped and listed in ``summary.coders_skipped``."""
    imported = []
    for person, anchors in plans:
        if unit != "paragraph" and not store.units_by_ids(person.seen, unit):
            if summary is not None:
                summary.coders_skipped.append(f"{person.coder} (codes units of another segmentation)")
            continue
        replaced = store.coder_source(person.coder)
        store_person(store, person, anchors, codebook_version, unit, str(person.path.resolve()))
        if summary is not None and replaced and Path(replaced).resolve() != person.path.resolve():
            summary.coders_replaced.append(f"{person.coder} (the file is newer than the import from {replaced})")
        imported.append(person.coder)
    if summary is not None:
        summary.coders_imported = imported
    return imported


def export_tables(store: Store, out) -> dict[str, Path]:
    """Write ``segments.csv`` and ``codings.csv`` from the store.

    Rows are streamed from SQLite to the files (the same rows, in the same
    order, as ``Store.frames``): memory stays flat however large the corpus.
    """
    out = Path(out)
    seg = write_csv(out / "segments.csv", SEGMENT_COLUMNS, _segment_rows(store))
    # codings_frame columns: unit_id, document_id, code, variable, coder, codebook_version, evidence
    rows = ((r[0], r[1], r[3], r[2], r[4], r[6]) for r in store.coding_rows())
    cod = write_csv(out / "codings.csv", CODING_COLUMNS, rows)
    return {"segments": seg, "codings": cod}


def _segment_rows(store: Store):
    """The rows of segments.csv, one document's units at a time, with each
    unit's speaker (see :func:`coding.segment.unit_speakers`)."""
    from itertools import groupby

    for doc_id, rows in groupby(store.unit_rows(), key=lambda r: r[1]):
        rows = list(rows)
        # only interviews have turns: the text of other documents is not read again
        doc = store.document(doc_id) if rows[0][7] == "interview" else None
        who = unit_speakers(doc, [r[4] for r in rows]) if doc is not None else [rows[0][8] or ""] * len(rows)
        for (unit_id, _, ordinal, unit_type, start, end, text, _, _), speaker in zip(rows, who):
            yield unit_id, doc_id, ordinal, unit_type, start, end, len(text.split()), speaker, text


def run(corpus="corpus", codebook="codebook.yaml", out="outputs", unit: str = "paragraph",
        progress: bool | None = None, report: bool = True, coder: Coder | None = None,
        prune: bool = False, allow_outside: bool = False) -> RunSummary:
    """Read, segment, code and store the corpus, then write the outputs.

    ``coder`` is any :class:`coding.records.Coder` (default: the dictionary
    coder of ``codebook``). Unchanged documents already coded by this coder
    at its version are not recoded; a new codebook version recodes
    everything and keeps the old codings under the old version. Human coder
    files in ``<corpus>/coders/*.csv`` are imported under their file names.
    People's codings are never lost (see :meth:`Store.save_document`). A
    run that would remove more than half of the stored documents, or one
    carrying people's codings, stops unless ``prune``. Unreadable documents
    are listed in ``summary.errors``; the rest of the corpus is still
    processed. Manifest paths outside the corpus folder need
    ``allow_outside``. With ``report`` (the default) the tables, figures,
    ``report.html`` and ``manifest.json`` are written as well.
    """
    if unit not in UNIT_TYPES:
        raise CodingError(f"unknown unit type '{unit}' (use one of: {', '.join(UNIT_TYPES)})")
    corpus, out = Path(corpus), Path(out)
    check_output(out, [corpus, codebook])
    cb = load_codebook(codebook)  # read once: the store and manifest.json record this text
    coder = coder or DictionaryCoder(cb)
    if getattr(coder, "codebook", cb).version != cb.version:
        raise CodingError(f"the coder works with codebook version {coder.codebook.version}, not {cb.version}")
    summary = RunSummary(codebook_version=cb.version, coder=coder.name)
    manifest = load_manifest(corpus, allow_outside)  # validate before touching the store
    people = read_coder_files(corpus / "coders", cb)
    development = read_development_coders(corpus / "coders")  # who the codebook was tuned on
    # the lock first: two runs started at once in a new folder must not both create the store
    with run_lock(out / "project.sqlite"), Store(out / "project.sqlite") as store:
        remove_stale_temporaries(out)
        store.check_removal([d.id for d in manifest], prune)
        # every coder file is checked against the store as it is, before the run changes it
        plans = check_coder_files(store, people, cb.version, unit, {d.id for d in manifest}, summary)
        del people
        store.save_codebook(cb)
        store.set_current_codebook(cb.version)
        store.set_segmentation(unit)
        ids = _code_corpus(store, corpus, manifest, unit, coder, cb, summary, progress)
        summary.not_english = getattr(coder, "not_english", 0)
        failed = {Path(e.path).resolve() for e in summary.errors if e.path}
        keep = ids + [d.id for d in manifest if (corpus / d.path).resolve() in failed]
        # the outputs need neither the manifest nor the coder: on a large corpus they hold ~100 MB
        del manifest, coder, ids
        summary.removed_documents = store.remove_documents_except(keep, prune)
        apply_coder_files(store, plans, cb.version, unit, summary)
        store.set_development_coders(development)
        del plans
        summary.orphans = store.orphans()
        if report:
            from coding.reports import project

            # an unchanged rerun (same store content, outputs in place) skips the report: seconds, not minutes
            attributes = project.manifest_attributes(corpus)
            # the manifest's extra columns shape the report too, though the store does not hold them
            digest = project.run_digest(store, summary.coder) + (
                "" if attributes is None else ":" + hashlib.sha256(attributes.to_csv().encode()).hexdigest()[:16])
            if summary.coder != AUTO:
                # another coder's report goes to a folder of its own: the main report stays the default coder's
                summary.outputs = export_tables(store, out)
                folder = out / "reports" / ("coder-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", summary.coder))
                files = project.build_report(store, folder, coder=summary.coder, attributes=attributes)
                summary.outputs["report"] = files["report.html"]
                if not files.written:
                    summary.unchanged_outputs.append("report")
            elif project.report_is_current(out, digest):
                summary.outputs = {"segments": out / "segments.csv", "codings": out / "codings.csv",
                                   "report": out / "report.html"}
                summary.unchanged_outputs = list(summary.outputs)
            else:
                project.forget_digest(out)
                summary.outputs = export_tables(store, out)
                summary.outputs["report"] = project.build_report(store, out, coder=summary.coder,
                                                                 attributes=attributes)["report.html"]
                project.record_digest(out, digest)
            before = (out / "manifest.json").read_bytes() if (out / "manifest.json").is_file() else None
            summary.outputs["manifest"] = project.write_manifest(out, corpus, codebook, unit, store,
                                                                 codebook_text=cb.content)
            if before == summary.outputs["manifest"].read_bytes():
                summary.unchanged_outputs.append("manifest")
        else:
            summary.outputs = export_tables(store, out)
        _count_codings(store, summary.coder, cb, summary)
    return summary


def _code_corpus(store: Store, corpus: Path, manifest, unit: str, coder: Coder, cb: Codebook,
                 summary: RunSummary, progress: bool | None) -> list[str]:
    """Code every readable document not yet coded by this coder version;
    returns the ids of the documents read."""
    ids = []
    docs = iter_documents(corpus, errors=summary.errors, manifest=manifest)
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    bar = tqdm(docs, total=len(manifest), desc="coding", unit="doc", disable=disable, file=sys.stderr)
    for position, doc in enumerate(bar):
        ids.append(doc.id)
        summary.documents += 1
        if store.is_coded(doc, unit, coder.name, cb.version, coder.version):
            store.update_document_metadata(doc, position)
            summary.skipped_documents += 1
            continue
        units = segment(doc, unit)
        store.save_document(doc, position, unit, units, coder.code(units), coder.name, cb.version, coder.version)
        summary.coded_documents += 1
    return ids


def _count_codings(store: Store, coder: str, cb: Codebook, summary: RunSummary) -> None:
    # counted by SQLite: frames of every unit text and coding took more memory than coding them
    summary.units, counts = store.coding_counts(coder)
    summary.codings_per_variable = {v: counts.get(v, (0, 0))[0] for v in cb.variable_ids}
    summary.units_per_variable = {v: counts.get(v, (0, 0))[1] for v in cb.variable_ids}


# -- coding loose texts ------------------------------------------------------

def _units_from_table(path: Path) -> list[Unit]:
    """Pre-segmented units from a .csv or .jsonl with ``id`` and ``text``."""
    raise_csv_field_limit()
    raw = read_utf8(path)
    if not raw.strip():
        raise CodingError("the file is empty", path)
    units = []
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
    files = []
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
        common = Path(os.path.commonpath([f.resolve().parent for f, _ in files]))
        ids = [loose_document_id(f.resolve(), common) for f, _ in files]
        seen: dict[str, Path] = {}
        for (f, _), doc_id in zip(files, ids):
            if doc_id in seen:
                raise CodingError(f"gives the same unit ids as {seen[doc_id]}", f)
            seen[doc_id] = f
    return [(f, root, doc_id) for (f, root), doc_id in zip(files, ids)]


def _work_items(paths: list[Path], batch_size: int):
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


def _count_files(p: Path) -> int:
    if p.is_dir():
        return sum(1 for f in p.rglob("*") if f.is_file() and f.suffix.lower() in READERS)
    return 1


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


def _code_in_worker(item) -> tuple[str, int, int, int, int, str | None]:
    """Code one item; its rows go to this worker's own file, and only where
    they lie comes back: the parent would otherwise unpickle and write every
    byte of them, on the cores the workers need."""
    global _PART
    note_item(_PARTS_FOLDER, _describe(item))
    text, n_units, n_codings, error = _code_item(_WORKER, item)
    if _PART is None:
        _PART = open(os.path.join(_PARTS_FOLDER, f"{os.getpid()}.csv"), "ab")
    offset = _PART.tell()
    _PART.write(text)
    _PART.flush()  # the parent reads it next
    return _PART.name, offset, len(text), n_units, n_codings, error


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
    ``coder`` is any :class:`coding.records.Coder` (default: the dictionary
    coder of ``codebook``). ``encoding`` is that of plain-text files
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
    coder = coder or DictionaryCoder(cb)
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
    counts = Counter()
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    # what killed runs left beside the output: their workers' folders and the output's temporaries
    remove_stale_folders(Path(out).parent, PARTS_PREFIX)
    remove_stale_temporaries_of(out)

    def _write(fh):
        # a coder may add columns after the evidence (the mention coder: its probability)
        extra = list(getattr(job.coder, "output_columns", ()))
        extra += ["label", "text", *FINGERPRINT_COLUMNS] if with_text else []
        fh.write((",".join(CODE_OUTPUT_COLUMNS + extra) + "\n").encode())
        tables = _Tables(fh, counts)
        items = tables.tag(_work_items(paths, batch_size))
        bar = tqdm(desc="coding", unit="unit", disable=disable, file=sys.stderr)
        if jobs > 1:
            # workers read, segment and code whole files into files of their own, copied here in input order
            ctx = get_context("fork" if sys.platform != "win32" else "spawn")
            before = children()  # to tell this pool's workers from other children, to see one die
            # the folder carries this process's id: a later run removes it if this one is killed
            with tempfile.TemporaryDirectory(prefix=f"{PARTS_PREFIX}{os.getpid()}-", dir=Path(out).parent) as parts, \
                    ctx.Pool(jobs, initializer=_init_worker, initargs=(job, parts)) as pool, ExitStack() as files:
                sources: dict[str, Any] = {}
                for name, offset, length, n_units, n_codings, error in watched(
                        pool.imap(_code_in_worker, items, chunksize=1), before, parts):
                    if name not in sources:
                        sources[name] = files.enter_context(open(name, "rb"))
                    table = tables.next(error)
                    _copy_range(fh, sources[name], offset, length)
                    _count(counts, bar, n_units, n_codings, error, errors)
                    tables.done(table, error)
        else:
            for item in items:
                text, n_units, n_codings, error = _code_item(job, item)
                table = tables.next(error)
                fh.write(text)
                _count(counts, bar, n_units, n_codings, error, errors)
                tables.done(table, error)
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


def _count(counts, bar, n_units: int, n_codings: int, error: str | None, errors: list | None) -> None:
    if error is not None:
        if errors is None:
            raise CodingError(error)
        errors.append(error)
    counts["units"] += n_units
    counts["codings"] += n_codings
    bar.update(n_units)
