"""``run``: the corpus read, segmented, coded and stored, then the outputs
written (``segments.csv``, ``codings.csv``, the report and ``manifest.json``).

Owns the run's summary, the import of people's coder files from
``<corpus>/coders`` (checked before the store changes, applied after the
documents are coded) and the export of the store's tables.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from coding.codebook import Codebook, load_codebook
from coding.coder_files import PersonFile, anchor_rows, check_person_name, read_person_file, store_person
from coding.coders.coder_choice import default_coder, default_coder_name
from coding.coders.provenance import read_development_coders
from coding.corpus import iter_documents, load_manifest
from coding.errors import CodingError
from coding.files import check_output, remove_stale_temporaries, write_csv
from coding.records import AUTO, Coder
from coding.segment import UNIT_TYPES, segment, unit_speakers
from coding.store import Store, run_lock

SEGMENT_COLUMNS = ["unit_id", "document_id", "ordinal", "unit_type", "start", "end", "words", "speaker", "text"]
CODING_COLUMNS = ["unit_id", "document_id", "variable", "code", "coder", "evidence", "probability"]


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
    """Write ``segments.csv`` and ``codings.csv`` from the store
    (``probability``: as ``coding code`` writes it, empty for a coder that
    gives none).

    Rows are streamed from SQLite to the files (the same rows, in the same
    order, as ``Store.frames``): memory stays flat however large the corpus.
    """
    out = Path(out)
    seg = write_csv(out / "segments.csv", SEGMENT_COLUMNS, _segment_rows(store))
    # codings_frame columns: unit_id, document_id, code, variable, coder, codebook_version, evidence, probability
    rows = ((r[0], r[1], r[3], r[2], r[4], r[6], "" if r[7] is None else f"{r[7]:.4f}")
            for r in store.coding_rows(with_probability=True))
    cod = write_csv(out / "codings.csv", CODING_COLUMNS, rows)
    return {"segments": seg, "codings": cod}


def _segment_rows(store: Store):
    """The rows of segments.csv, one document's units at a time, with each
    unit's speaker (see :func:`coding.segment.unit_speakers`)."""
    from itertools import groupby

    for doc_id, group in groupby(store.unit_rows(), key=lambda r: r[1]):
        rows = list(group)
        # only interviews have turns: the text of other documents is not read again
        doc = store.document(doc_id) if rows[0][7] == "interview" else None
        who = unit_speakers(doc, [r[4] for r in rows]) if doc is not None else [rows[0][8] or ""] * len(rows)
        for (unit_id, _, ordinal, unit_type, start, end, text, _, _), speaker in zip(rows, who):
            yield unit_id, doc_id, ordinal, unit_type, start, end, len(text.split()), speaker, text


def run(corpus="corpus", codebook="codebook.yaml", out="outputs", unit: str = "paragraph",
        progress: bool | None = None, report: bool = True, coder: Coder | None = None,
        prune: bool = False, allow_outside: bool = False) -> RunSummary:
    """Read, segment, code and store the corpus, then write the outputs.

    ``coder`` is any :class:`coding.records.Coder` (default:
    :func:`coding.coders.coder_choice.default_coder` of ``codebook``: the
    mention coder when the shipped model was made for it, else the
    dictionary coder). Unchanged documents already coded by this coder
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
    coder = coder or default_coder(cb)
    coder_cb: Codebook = getattr(coder, "codebook", cb)
    if coder_cb.version != cb.version:
        raise CodingError(f"the coder works with codebook version {coder_cb.version}, not {cb.version}")
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
            _write_report(store, out, corpus, codebook, unit, cb, summary)
        else:
            summary.outputs = export_tables(store, out)
        _count_codings(store, summary.coder, cb, summary)
    return summary


def _write_report(store: Store, out: Path, corpus: Path, codebook, unit: str, cb: Codebook,
                  summary: RunSummary) -> None:
    """The tables, ``report.html`` and ``manifest.json`` of a run, each
    listed in ``summary.outputs`` (and in ``summary.unchanged_outputs`` when
    a rerun left it as it was)."""
    from coding.reports import project

    # an unchanged rerun (same store content, outputs in place) skips the report: seconds, not minutes
    attributes = project.manifest_attributes(corpus)
    # the manifest's extra columns shape the report too, though the store does not hold them
    digest = project.run_digest(store, summary.coder) + (
        "" if attributes is None else ":" + hashlib.sha256(attributes.to_csv().encode()).hexdigest()[:16])
    if summary.coder != default_coder_name(cb):
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
