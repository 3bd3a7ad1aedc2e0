"""Report tables: computed from their declarations, written to CSV files and the workbook.

:func:`compute_tables` takes a :class:`ReportData` bundle and returns the
tables declared in :mod:`coding.reports.registry` (where each table says what
computes it, its columns and how it is written and shown), with a fixed column
order, sorted rows and floats rounded to four places, so that writing them
twice gives identical files. :func:`write_tables` writes them.

Vocabulary used in column names
-------------------------------
``units_coded``
    number of distinct units to which a code (or any code of a variable) was
    applied. A unit counts once per code however many matches it holds.
``document_year``
    the year of the document's own date (``documents.year``).
``referenced_year``
    a year a unit *mentions*: every distinct four-digit year in the
    unit's text within the codebook's ``settings.referenced_years``. A unit
    mentioning 2014 and 2018 counts once under each, so the
    by-year table draws the timeline of events from the text itself.
``unit_share_cl_low`` / ``unit_share_cl_high``
    the document-clustered 95% interval of the share: documents resampled
    with replacement, all of a document's units together (see
    :mod:`coding.reports.design`); blank where withheld (a group in fewer
    than two documents, or every resample giving the same share).
``*_ci_low`` / ``*_ci_high``
    95% intervals that take units as independent. Shares use the Wilson score interval; the rate
    ``units_coded_per_1000_words`` uses the exact (Garwood) Poisson interval on
    the count of coded units, scaled by the words in the group.
``expected`` / ``lift``
    expected co-occurrence count under independence ``n_a * n_b / n_total``
    and ``n_ab / expected``.
``jaccard``
    ``n_ab / (n_a + n_b - n_ab)``; ATLAS.ti reports the same quantity as the
    *c-coefficient*. It is bounded by ``min(n_a, n_b) / max(n_a, n_b)``, so
    when two frequencies differ more than five-fold (``frequency_ratio`` > 5,
    flagged in ``jaccard_misleading``) it stays small even if the rarer code
    always occurs with the other; read ``ochiai`` and the conditional shares
    ``p_b_given_a`` / ``p_a_given_b`` instead.
``phi`` / ``fisher_p``
    the phi coefficient of the 2x2 table and the two-sided Fisher exact test
    (units taken as independent).
``expected_within`` / ``p_within``
    (unit pairs) the units with both that the documents' own shares of each
    would give, and the Cochran-Mantel-Haenszel p-value with documents as
    strata: whether two items go together in units beyond what their
    documents explain (see :mod:`coding.reports.design`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from .context import ReportContext, build_report_context, context_of, years_mentioned
from .data import CODING_COLUMNS, DOCUMENT_COLUMNS, UNIT_COLUMNS, ReportData, describe_filters, filter_data
from .measures import Z95, pair_statistics, poisson_interval, wilson_interval
from .output import LongTable, Outputs, finish, frame_pieces, write_csv_pieces
from .quotes import KWIC_CONTEXT, scan_quotations
from .registry import TABLES, Table, TableOptions, TableSpec
from .workbook import workbook, workbook_sheets

__all__ = [
    "CODING_COLUMNS", "CSV_ONLY_TABLES", "DOCUMENT_COLUMNS", "UNIT_COLUMNS", "Z95", "ReportContext", "ReportData",
    "TABLES", "compute_tables", "context_of", "describe_filters", "filter_data", "pair_statistics",
    "poisson_interval", "wilson_interval", "workbook_sheets", "write_tables", "years_mentioned",
]

#: the declared tables that are in their CSV only (they grow with the units or documents of the corpus)
CSV_ONLY_TABLES = tuple(name for name, spec in TABLES.items() if not spec.workbook)


def compute_tables(data: ReportData, *, exemplars: int = 3, min_pair_count: int = 1,
                   kwic_width: int = KWIC_CONTEXT, spill: Path | None = None,
                   progress: bool | None = None) -> dict[str, Table]:
    """Compute every report table from ``data`` (pure; nothing is written).

    Returns the tables declared in :data:`~coding.reports.registry.TABLES`, in
    that order, as DataFrames. With ``spill`` (a folder for temporary files), the tables
    that grow with the corpus (``unit_by_code``, ``kwic``) are returned as
    :class:`~coding.reports.output.LongTable`, written to their CSV piece
    by piece (see :func:`write_tables`), and never held whole.
    """
    ctx = build_report_context(data)
    # the HTML report and the pages reuse it (see context_of) instead of building it again
    object.__setattr__(data, "_context", ctx)
    ctx.quotations = scan_quotations(ctx, exemplars, kwic_width, spill, progress)
    options = TableOptions(min_pair_count=min_pair_count)
    tables: dict[str, Table] = {}
    for name, spec in TABLES.items():
        table = _as_declared(spec, spec.compute(ctx, options), ctx)
        if spill is None and isinstance(table, LongTable):
            table = table.frame()
        tables[name] = table if isinstance(table, LongTable) else finish(table)
    return tables


def _as_declared(spec: TableSpec, table: Table, ctx: ReportContext) -> Table:
    """``table`` with the columns its declaration gives, in that order (an error when one is missing)."""
    declared = spec.columns_of(ctx)
    if list(table.columns) == declared:
        return table
    if isinstance(table, LongTable) or set(declared) - set(table.columns):
        raise ValueError(f"table {spec.name}: computed columns {list(table.columns)} are not those declared, "
                         f"{declared}")
    return table[declared]


def write_tables(tables: dict[str, Any], out_dir: str | Path, outputs: Outputs | None = None) -> dict[str, Path]:
    """Write ``<out_dir>/tables/<name>.csv`` for each table and ``<out_dir>/tables.xlsx``
    (see :func:`coding.reports.workbook.workbook`)."""
    outputs = outputs if outputs is not None else Outputs()
    out = Path(out_dir)
    paths: dict[str, Path] = {}
    for name, table in tables.items():
        # piece by piece: the CSV text of a large table is never built whole
        paths[f"tables/{name}"] = outputs.write_stream(out / "tables" / f"{name}.csv",
                                                       lambda fh, table=table: write_csv_pieces(fh, _pieces(table)))
    paths["tables.xlsx"] = outputs.write(out / "tables.xlsx", workbook(tables))
    return paths


def _pieces(table: Table) -> Iterator[pd.DataFrame | bytes]:
    """A table in pieces to write (see :func:`coding.reports.output.write_csv_pieces`)."""
    return table.pieces() if isinstance(table, LongTable) else frame_pieces(table)
