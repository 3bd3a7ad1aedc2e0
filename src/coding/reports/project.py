"""Reports from the project store, and the provenance manifest of a run."""

from __future__ import annotations

import hashlib
import json
import platform
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from coding.errors import CodingError
from coding.segment import unit_speakers

from . import design

if TYPE_CHECKING:
    from coding.store import Store

#: Seed of every random step of a report (the bootstrap of alpha).
SEED = 12345
RESAMPLES = 1000
LIBRARIES = ("spacy", "spacy-lookups-data", "pyahocorasick", "pandas", "numpy", "scipy", "scikit-learn",
             "matplotlib", "Jinja2", "openpyxl", "krippendorff", "PyYAML")


class EmptySelection(CodingError):
    """The filters of a report match no unit (nothing is written)."""


def agreement_summary(store, n_resamples: int = RESAMPLES, seed: int = SEED, units=None,
                      coders: list[str] | None = None, progress: bool | None = None,
                      seen_rule: str = "coded-documents") -> pd.DataFrame | None:
    """Variable-level agreement of pairs of coders (and of all of them
    together when there are more than two), or None when no pair shares a unit.

    ``coders`` chooses the coders (default: every coder in the store);
    ``units`` (unit ids) restricts the audit to the units of a filtered
    report. Pairs (and coders) without a shared unit among those are left
    out: their coefficients are undefined and say nothing.
    """
    from itertools import combinations

    from coding.agreement.audit import check_coders, items_of, presence_codes
    from coding.agreement.tables import agreement_table_from_codes
    from coding.coders.provenance import notes

    from .output import stage

    # no codebook yet: no coverage either, so no agreement (None below)
    items = items_of(store.codebook(), "variable") if store.current_codebook() else []
    # integer codes, not unit id strings: a large store holds hundreds of thousands of units
    known, seen, codes = presence_codes(store, items, "variable", units, seen_rule=seen_rule)
    if coders is not None:
        check_coders(pd.DataFrame({"coder": known}), list(coders), at_least=1)  # one coder: no agreement
    row = {c: k for k, c in enumerate(known)}
    names = [c for c in (coders if coders is not None else known) if seen[row[c]].any()]
    groups = [list(p) for p in combinations(names, 2) if (seen[row[p[0]]] & seen[row[p[1]]]).any()]
    in_pairs = sorted({c for g in groups for c in g}, key=names.index)
    if len(in_pairs) > 2:
        groups.append(in_pairs)
    if not groups:
        return None
    # a group takes its coders' rows; units seen by one coder of the group stay:
    # Fleiss' kappa and AC1 count them in their shares
    frames = []
    with stage("agreement (bootstrap)", len(groups), progress) as bar:
        for group in groups:
            table = agreement_table_from_codes(codes[[row[c] for c in group]], group, items, "variable",
                                               n_resamples=n_resamples, seed=seed)
            table.insert(0, "coders", " vs ".join(group))
            table["provenance"] = " ".join(notes(store, group))  # in-sample figures say so
            frames.append(table)
            bar.update()
    return pd.concat(frames, ignore_index=True)


#: Columns of the report's unitized table, with their headers.
UNITIZED_SHOWN = {"coders": "Coders", "level": "Level", "item": "Item", "coded": "Characters coded",
                  "u_alpha": "uα", "u_low": "uα: 95% low", "u_high": "uα: 95% high", "binary_alpha": "|uα",
                  "cu_alpha": "cuα", "Cu_alpha": "Cuα"}


def unitized_summary(store, agreement: pd.DataFrame | None, units=None, seen_rule: str = "coded-documents",
                     n_resamples: int = RESAMPLES, seed: int = SEED) -> tuple[pd.DataFrame | None, list[str]]:
    """The unitized agreement (per variable and overall) of each group of
    coders of the agreement section that holds a person, and a sentence for
    each coder of those groups whose seen units an import inferred.
    (None, []) without an agreement section."""
    from coding.agreement.audit import inferred_coders
    from coding.agreement.span_agreement import unitized_agreement
    from coding.records import AUTOMATIC_CODERS

    if agreement is None:
        return None, []
    groups = [g.split(" vs ") for g in dict.fromkeys(agreement["coders"])]
    frames = []
    for group in groups:
        if all(c in AUTOMATIC_CODERS for c in group):
            continue
        try:
            table = unitized_agreement(store, group, seen_rule=seen_rule, n_resamples=n_resamples, seed=seed,
                                       units=units)
        except CodingError:  # no unit seen by every coder of the group
            continue
        table = table[table["level"] != "code"]
        frames.append(table.assign(coders=" vs ".join(group))[list(UNITIZED_SHOWN)])
    inferred = inferred_coders(store, sorted({c for g in groups for c in g}))
    notes = [f"The units {coder} saw were inferred when its codings were imported "
             f"({how.replace('inferred-', '--seen ')}), not recorded; they are taken as --seen {seen_rule}."
             for coder, how in inferred.items()]
    if not frames:
        return None, notes
    return pd.concat(frames, ignore_index=True).rename(columns=UNITIZED_SHOWN), notes


def filtered_folder(base, doc_types=None, year_from=None, year_to=None, speakers=None,
                    skip_speakers=None) -> Path:
    """Where a report goes by default: ``base`` unfiltered, else its own
    folder ``<base>/reports/<filters>`` (e.g. ``reports/interview_2015-2020``),
    so that a filtered report never overwrites the main one."""
    parts = ["-".join(sorted(doc_types))] if doc_types else []
    if year_from is not None or year_to is not None:
        parts.append(f"{'' if year_from is None else year_from}-{'' if year_to is None else year_to}")
    if speakers:
        parts.append("by-" + "-".join(sorted(speakers)))
    if skip_speakers:
        parts.append("without-" + "-".join(sorted(skip_speakers)))
    if not parts:
        return Path(base)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", "_".join(parts)).strip("-.") or "filtered"
    return Path(base) / "reports" / slug


class ReportFiles(dict):
    """Name -> path of the files of a report (the document pages by their
    folder, ``"documents"``), with the paths (strings) of every file
    ``written`` and of those left ``unchanged`` (same bytes as before)."""

    written: list[str]
    unchanged: list[str]


def speakers_of(store: Store, units: pd.DataFrame) -> pd.Categorical:
    """The speaker of each unit of a units frame (see :func:`coding.segment.unit_speakers`),
    as a categorical (a few labels repeated over every unit); the documents are read one at a time."""
    by_doc = units.groupby("document_id", sort=False, observed=True).indices  # row numbers, not lists of ints
    labels = {"": 0}
    codes = np.zeros(len(units), dtype=np.int32)  # a code per unit, not a string
    starts = units["start"].to_numpy()
    for doc in store.iter_documents():
        rows = by_doc.get(doc.id)
        if rows is not None:
            codes[rows] = [labels.setdefault(s, len(labels)) for s in unit_speakers(doc, starts[rows].tolist())]
    order = sorted(labels)
    recode = np.array([order.index(s) for s in labels], dtype=np.int32)  # categories in sorted order
    return pd.Categorical.from_codes(recode[codes], order)


def _categories(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """``columns`` of ``frame`` as categoricals (a code per row instead of a
    string: the codings of a large corpus repeat a few values millions of times)."""
    for col in columns:
        frame[col] = frame[col].astype("category")
    return frame


def _joined(chunks: list[pd.DataFrame], categorical: list[str]) -> pd.DataFrame:
    """Chunks of one query as one frame, column by column: pd.concat would
    turn categoricals with other categories back into strings."""
    from pandas.api.types import union_categoricals

    return pd.DataFrame({col: union_categoricals([c[col] for c in chunks]) if col in categorical else
                         pd.concat([c[col] for c in chunks], ignore_index=True) for col in chunks[0].columns})


def _report_frames(store, coder: str):
    """Documents, units (without texts) and the codings of ``coder`` (without
    evidence, ``n_evidence`` counts it; keyed by ``unit_row``, not by unit id
    strings), read lean for a large corpus: repeated labels become
    categoricals chunk by chunk, before the chunks are joined."""
    documents = store.documents_frame()
    labels = ["document_id", "unit_type"]
    units = _joined([_categories(chunk, labels) for chunk in store.report_units()], labels)
    labels = ["code", "variable", "coder", "codebook_version"]
    chunks = [_categories(chunk, labels) for chunk in store.report_codings(coder)]
    return documents, units, _joined(chunks, labels) if chunks else None


def report_data(store, coder: str | None = None, doc_types=None, year_from=None, year_to=None, speakers=None,
                skip_speakers=None):
    """The :class:`ReportData` of one coder: its codings over the units it
    saw, filtered by doc type, document year and speaker (see
    :func:`coding.reports.filter_data`). A filter matching no unit raises
    :class:`EmptySelection`; an unknown coder is a CodingError. Unit texts
    and evidence stay in the store: the report reads them one document at a
    time (:class:`~coding.reports.source.StoreSource`)."""
    from coding.coders.coder_choice import stored_default
    from coding.records import AUTOMATIC_CODERS
    from coding.reports import ReportData, filter_data

    from .source import StoreSource

    coder = coder or stored_default(store)  # None: the default coder, as coding run chose it
    codebook = store.codebook()
    coders = set(store.coder_names())
    # an automatic coder is known even before it has seen a unit (no document readable yet)
    if coder not in coders and coder not in AUTOMATIC_CODERS:
        raise CodingError(f"unknown coder '{coder}' (known: {', '.join(sorted(coders)) or 'none'})", store.path)
    documents, units, codings = _report_frames(store, coder)
    units["speaker"] = speakers_of(store, units)
    seen = store.coverage_rows(coder)  # unit_row values: no set of every unit id string
    data = ReportData(documents, units, codings, codebook, coder, seen=seen if len(seen) else None,
                      source=StoreSource(store))
    filtered = bool(doc_types or speakers or skip_speakers) or year_from is not None or year_to is not None
    if filtered:
        data = filter_data(data, doc_types=doc_types, year_from=year_from, year_to=year_to, speakers=speakers,
                           skip_speakers=skip_speakers)
        kept = len(data.units) if data.seen is None else int(data.units["unit_row"].isin(data.seen).sum())
        if not kept:
            from .data import describe_filters

            raise EmptySelection(f"no unit of coder {coder} matches the filters ({describe_filters(data.filters)}); "
                                 "nothing was written", store.path)
    return data


def page_source(store, coders: list[str]):
    """The coders the document pages show (their codings, coverage and the
    documents' texts are read from the store one document at a time)."""
    from coding.reports import PageSource

    from .source import StoreSource

    return PageSource(coders=list(coders), source=StoreSource(store))


def manifest_attributes(corpus) -> pd.DataFrame | None:
    """The extra columns of a corpus's manifest (beyond id, title, doc_type,
    date, source, path, speaker, encoding) with ``document_id``; None when it has none."""
    from coding.corpus import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, find_manifest

    frame = pd.read_csv(find_manifest(corpus), dtype=str, keep_default_na=False)
    extra = [c for c in frame.columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if not extra:
        return None
    return frame[["id", *extra]].rename(columns={"id": "document_id"})


def build_report(store, out, coder: str | None = None, doc_types=None, year_from=None, year_to=None,
                 exemplars: int = 3, min_pair_count: int = 1, coders: list[str] | None = None,
                 progress: bool | None = None, speakers=None, skip_speakers=None,
                 seen_rule: str = "coded-documents", attributes: pd.DataFrame | None = None) -> ReportFiles:
    """Write tables, figures and ``report.html`` for one coder's codings
    (``coder`` None: :func:`coding.coders.coder_choice.stored_default`).

    Shares are over the units the coder saw. Filters keep documents of the
    given doc types and document years (inclusive) and apply to every
    section, agreement included; a filter that matches no unit raises
    :class:`EmptySelection` before anything is written. ``coders`` chooses
    the coders of the agreement section and of the document pages (default:
    every coder, the reported one first); ``speakers``/``skip_speakers``
    keep or leave out units by speaker (interviewer turns). An unknown
    coder is an error. Files whose bytes would not change are not rewritten.
    Seen sets an import inferred are taken by ``seen_rule`` (see
    :func:`coding.agreement.audit.coverage_by_rule`) and flagged in the agreement
    section, which also shows the unitized agreement (:func:`unitized_summary`).
    """
    from coding.coders.coder_choice import stored_default
    from coding.reports import write_report

    from .output import Outputs

    coder = coder or stored_default(store)
    data = report_data(store, coder, doc_types, year_from, year_to, speakers, skip_speakers)
    data.attributes = attributes  # the manifest's extra columns, crossed with the codes
    units = set(data.units["unit_id"]) if data.filters else None
    agreement = agreement_summary(store, units=units, coders=coders, progress=progress, seen_rule=seen_rule)
    unitized, seen_notes = unitized_summary(store, agreement, units, seen_rule)
    outputs = Outputs()
    extra = {}
    if agreement is not None:
        from coding.reports.figures import alpha_figure

        pairs = agreement[agreement["item"] != "ALL"]
        if not pairs.empty:
            extra["figures/agreement_alpha"] = alpha_figure(
                pairs.assign(item=pairs["coders"] + ": " + pairs["item"]),
                Path(out) / "figures" / "agreement_alpha.png",
                title="Krippendorff's alpha by variable and pair of coders", outputs=outputs,
            )
    paths = write_report(data, out, exemplars=exemplars, min_pair_count=min_pair_count, agreement=agreement,
                         extra_figures=extra, outputs=outputs, progress=progress,
                         pages=page_source(store, coders or _every_coder(store, coder)), unitized=unitized,
                         seen_notes=seen_notes)
    files = ReportFiles(paths)
    files.written, files.unchanged = outputs.written, outputs.unchanged
    return files


def _every_coder(store, coder: str) -> list[str]:
    """The reported coder, then every other coder in the store (the document pages show them all)."""
    return [coder] + sorted(name for name, *_ in store.coders() if name != coder)


#: the files of ``coding run``'s outputs whose presence (and report.html's bytes) a skipped rerun needs
RUN_OUTPUTS = ("segments.csv", "codings.csv", "tables.xlsx", "report.html")
#: where a run records what its outputs were built from (hidden: not one of the report's files)
DIGEST_FILE = ".report-digest"


def run_digest(store, coder: str) -> str:
    """What the outputs of ``coding run`` depend on: the store's content
    (:meth:`Store.content_digest`), the reported coder and the software
    version (a new version may write the report differently)."""
    from coding import __version__

    return hashlib.sha256(f"{store.content_digest()}|{coder}|{__version__}".encode()).hexdigest()


def report_is_current(out, digest: str) -> bool:
    """Whether the outputs in ``out`` were built from ``digest`` and are all
    still there, report.html unchanged since (a ``coding report`` into the
    same folder with other options replaces it, and then the run rebuilds)."""
    out = Path(out)
    try:
        recorded = (out / DIGEST_FILE).read_text(encoding="utf-8").split()
    except OSError:
        return False
    if len(recorded) != 2 or not all((out / name).is_file() for name in RUN_OUTPUTS):
        return False
    return recorded == [digest, _sha256(out / "report.html")]


def forget_digest(out) -> None:
    """Drop the record before outputs are rebuilt, so that a rebuild that
    stops half-way is never taken for a finished one."""
    (Path(out) / DIGEST_FILE).unlink(missing_ok=True)


def record_digest(out, digest: str) -> Path:
    """Record that the outputs in ``out`` were built from ``digest``."""
    from coding.files import write_text

    return write_text(Path(out) / DIGEST_FILE, f"{digest} {_sha256(Path(out) / 'report.html')}\n")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(out, corpus, codebook, unit: str, store, argv=None, codebook_text: str | None = None) -> Path:
    """Write ``<out>/manifest.json``: inputs with hashes, codebook version,
    coders, unit type, versions of the software, seeds and command line.
    ``codebook_text`` is the codebook as the run read it: its hash is
    recorded, not that of the file now on disk (which may have changed
    since)."""
    from coding import __version__
    from coding.corpus import find_manifest, load_manifest

    corpus = Path(corpus)
    inputs = []
    manifest_file = find_manifest(corpus)
    files = [manifest_file, Path(codebook)] + [corpus / d.path for d in load_manifest(corpus, allow_outside=True)]
    files += sorted((corpus / "coders").glob("*.csv")) if (corpus / "coders").is_dir() else []
    files += [corpus / "coders" / "provenance.yaml"]  # the codebook's development coders (when there)
    for f in files:
        if codebook_text is not None and f == Path(codebook):
            data = codebook_text.encode("utf-8")
            inputs.append({"path": f.as_posix(), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
        elif f.is_file():
            inputs.append({"path": f.as_posix(), "sha256": _sha256(f), "bytes": f.stat().st_size})
    versions: dict[str, str | None] = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    record = {
        "software": {"coding": __version__, "python": platform.python_version(), "libraries": versions},
        "command": list(sys.argv if argv is None else argv),
        "codebook": {"path": str(codebook), "version": store.current_codebook()},
        "unit": unit,
        "coders": [{"name": name, "units": units, "codings": codings} for name, units, codings in store.coders()],
        "random_seeds": {"bootstrap_alpha": SEED, "resamples": RESAMPLES, "report_design": design.SEED,
                         "report_resamples": design.RESAMPLES, "report_permutations": design.PERMUTATIONS},
        "inputs": inputs,
    }

    from .output import Outputs

    # an unchanged rerun leaves the file (and its modification time) alone
    text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    return Outputs().write_text(Path(out) / "manifest.json", text)
