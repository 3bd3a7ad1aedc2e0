"""Reports: tables (CSV and one Excel workbook), figures (PNG) and a self-contained HTML report.

``write_report(data, out_dir)`` writes everything under ``out_dir``::

    tables/<name>.csv      one CSV per table (see registry.TABLES)
    tables.xlsx            the same tables, one sheet each, plus a README sheet
    figures/<name>.png     see figures.FIGURE_TITLES
    report.html            method, corpus, codebook, tables, figures, quotations

All outputs depend only on the inputs: rows are sorted, floats rounded to four
places, and no wall-clock time is written, so two runs give identical CSV,
PNG and HTML files. Each file is written to a temporary file and moved into
place, so an interrupted run never leaves a half-written file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from coding.files import remove_stale_folders

from .context import ReportContext
from .data import ReportData, filter_data
from .figures import write_figures
from .html import write_html
from .output import Outputs, stage
from .pages import PageSource, write_pages
from .registry import TABLES, TableSpec
from .tables import compute_tables, write_tables

__all__ = [
    "Outputs",
    "PageSource",
    "ReportContext",
    "ReportData",
    "TABLES",
    "TableSpec",
    "compute_tables",
    "filter_data",
    "write_figures",
    "write_html",
    "write_report",
    "write_tables",
]


#: temporary folders of a report in the system's temporary folder: ``<prefix><pid>-<random>``
SPILL_PREFIX = "coding-report-"


def write_report(data: ReportData, out_dir, *, exemplars: int = 3, min_pair_count: int = 1,
                 agreement: pd.DataFrame | None = None,
                 extra_figures: dict[str, Path] | None = None, outputs: Outputs | None = None,
                 progress: bool | None = None, pages: PageSource | None = None,
                 unitized: pd.DataFrame | None = None, seen_notes: list[str] | None = None) -> dict[str, Path]:
    """Write tables, workbook, figures and ``report.html`` under ``out_dir``.

    ``exemplars`` is the number of quotations per code, ``min_pair_count``
    the smallest co-occurrence count listed in ``cooccurrence_pairs``, and
    ``agreement`` an optional table (one row per code or variable) shown in
    the report's agreement section. Files whose bytes would not change are
    left alone (``outputs`` records which were written). ``progress`` draws
    a bar per stage on standard error (default: when it is a terminal).
    With ``pages`` (the documents' texts and the coders to show), a page
    per document and per code is written too and linked from the report.
    ``unitized`` (a table) and ``seen_notes`` (sentences) join the agreement section.
    Returns a mapping from a name (``"tables/<name>"``, ``"tables.xlsx"``,
    ``"figures/<name>"``, ``"codes/<id>"``, ``"report.html"``; ``"documents"``
    for the folder of document pages) to the path written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    outputs = outputs if outputs is not None else Outputs()
    # the key words in context of a large corpus wait here (not in memory) until written to their CSV
    # named with this process's id: a later report removes the folders of killed runs (only theirs)
    remove_stale_folders(tempfile.gettempdir(), SPILL_PREFIX)
    with tempfile.TemporaryDirectory(prefix=f"{SPILL_PREFIX}{os.getpid()}-") as spill:
        with stage("tables", 2, progress) as bar:
            tables = compute_tables(data, exemplars=exemplars, min_pair_count=min_pair_count, spill=Path(spill),
                                    progress=progress)
            bar.update()
            paths: dict[str, Path] = {}
            paths.update(write_tables(tables, out, outputs=outputs))
            bar.update()
    figures = write_figures(data, tables, out, outputs=outputs, progress=progress)
    figures.update(extra_figures or {})  # e.g. the agreement chart, drawn by the audit
    paths.update(figures)
    index = None
    if pages is not None:
        index = write_pages(data, tables, pages, out, outputs=outputs, progress=progress)
        paths["documents"] = out / "documents"  # a folder of one page per document: one entry, not 80,000
        paths.update({f"codes/{c['id']}": out / c["href"] for c in index["codes"]})
    paths["report.html"] = write_html(data, tables, figures, out, agreement=agreement, outputs=outputs,
                                      pages=index, unitized=unitized, seen_notes=seen_notes)
    return paths
