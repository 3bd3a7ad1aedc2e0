"""The jobs behind ``coding run`` and ``coding code``, importable from one
place: :func:`run` (corpus to store and outputs, :mod:`coding.jobs.run`)
and :func:`code_paths` (loose texts, no store, :mod:`coding.jobs.code_paths`)."""

from __future__ import annotations

from coding.jobs.code_paths import CODE_OUTPUT_COLUMNS, code_paths, coding_rows
from coding.jobs.inputs import TABLE_SUFFIXES
from coding.jobs.run import (
    CODING_COLUMNS,
    SEGMENT_COLUMNS,
    RunSummary,
    apply_coder_files,
    check_coder_files,
    export_tables,
    read_coder_files,
    run,
)

__all__ = ["CODE_OUTPUT_COLUMNS", "CODING_COLUMNS", "SEGMENT_COLUMNS", "TABLE_SUFFIXES", "RunSummary",
           "apply_coder_files", "check_coder_files", "code_paths", "coding_rows", "export_tables",
           "read_coder_files", "run"]
