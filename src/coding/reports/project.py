"""Reports from the project store, and the provenance manifest of a run."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from importlib import metadata
from pathlib import Path

import pandas as pd

from coding.errors import CodingError
from coding.files import write_with

#: Seed of every random step of a report (the bootstrap of alpha).
SEED = 12345
RESAMPLES = 1000
LIBRARIES = ("spacy", "spacy-lookups-data", "pyahocorasick", "pandas", "numpy", "scipy", "scikit-learn",
             "matplotlib", "Jinja2", "openpyxl", "krippendorff", "PyYAML")


def agreement_summary(store, n_resamples: int = RESAMPLES, seed: int = SEED) -> pd.DataFrame | None:
    """Variable-level agreement of every pair of coders in the store
    (and of all coders together when there are more than two), or None
    when fewer than two coders exist."""
    from itertools import combinations

    from coding.audit import agreement

    coders = sorted(set(store.coverage()["coder"]))
    if len(coders) < 2:
        return None
    groups = [list(p) for p in combinations(coders, 2)]
    if len(coders) > 2:
        groups.append(coders)
    frames = []
    for group in groups:
        table = agreement(store, group, "variable", n_resamples=n_resamples, seed=seed)
        table.insert(0, "coders", " vs ".join(group))
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def build_report(store, out, coder: str = "auto", doc_types=None, year_from=None, year_to=None,
                 exemplars: int = 3, min_pair_count: int = 1) -> dict[str, Path]:
    """Write tables, figures and ``report.html`` for one coder's codings.

    Filters keep documents of the given doc types and document years
    (inclusive). A coder with no codings, or a filter that matches
    nothing, gives an empty report, not an error; an unknown coder is an
    error.
    """
    from coding.reports import ReportData, filter_data, write_report

    codebook = store.codebook()
    coders = set(store.coverage()["coder"])
    # "auto" is known even before it has seen a unit (no document readable yet)
    if coder not in coders and coder != "auto":
        raise CodingError(f"unknown coder '{coder}' (known: {', '.join(sorted(coders)) or 'none'})", store.path)
    documents, units, codings = store.frames(coder=coder)
    data = ReportData(documents, units, codings, codebook, coder)
    if doc_types or year_from is not None or year_to is not None:
        data = filter_data(data, doc_types=doc_types, year_from=year_from, year_to=year_to)
    agreement = agreement_summary(store)
    extra = {}
    if agreement is not None:
        from coding.reports.figures import alpha_figure

        pairs = agreement[agreement["item"] != "ALL"]
        if not pairs.empty:
            extra["figures/agreement_alpha"] = alpha_figure(
                pairs.assign(item=pairs["coders"] + ": " + pairs["item"]),
                Path(out) / "figures" / "agreement_alpha.png",
                title="Krippendorff's alpha by variable and pair of coders",
            )
    return write_report(data, out, exemplars=exemplars, min_pair_count=min_pair_count, agreement=agreement,
                        extra_figures=extra)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(out, corpus, codebook, unit: str, store, argv=None) -> Path:
    """Write ``<out>/manifest.json``: inputs with hashes, codebook version,
    coders, unit type, versions of the software, seeds and command line."""
    from coding import __version__
    from coding.corpus import find_manifest, load_manifest

    corpus = Path(corpus)
    inputs = []
    manifest_file = find_manifest(corpus)
    files = [manifest_file, Path(codebook)] + [corpus / d.path for d in load_manifest(corpus, allow_outside=True)]
    files += sorted((corpus / "coders").glob("*.csv")) if (corpus / "coders").is_dir() else []
    for f in files:
        if f.is_file():
            inputs.append({"path": f.as_posix(), "sha256": _sha256(f), "bytes": f.stat().st_size})
    versions = {}
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
        "random_seeds": {"bootstrap_alpha": SEED, "resamples": RESAMPLES},
        "inputs": inputs,
    }

    def _write(fh):
        json.dump(record, fh, indent=2, ensure_ascii=False)
        fh.write("\n")

    return write_with(Path(out) / "manifest.json", _write)
