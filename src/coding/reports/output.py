"""Writing a report's files: unchanged files are left alone, long stages show progress.

A report is rebuilt from the store every time, but a file whose new bytes
equal the bytes already on disk is not written again: it keeps its
modification time, so that tools watching the folder (and people) can see
that an unchanged rerun changed nothing. Every file that is written goes
through :func:`coding.files.write_bytes` (atomic, with the user's file mode).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from coding.files import write_bytes, write_if_changed


class Outputs:
    """Writes files of one report and remembers which changed."""

    def __init__(self) -> None:
        # paths as strings: a large report writes a page per document, and a Path costs ~400 bytes
        self.written: list[str] = []
        self.unchanged: list[str] = []

    def write(self, path, payload: bytes) -> Path:
        """Write ``payload`` to ``path`` unless the file already holds exactly these bytes."""
        path = Path(path)
        try:
            same = path.is_file() and path.stat().st_size == len(payload) and path.read_bytes() == payload
        except OSError:
            same = False
        if same:
            self.unchanged.append(str(path))
            return path
        self.written.append(str(write_bytes(path, payload)))
        return path

    def write_stream(self, path, write) -> Path:
        """Write the file ``write(fh)`` fills (binary) unless it already holds
        exactly those bytes; for outputs too large to build in memory."""
        path = Path(path)
        (self.written if write_if_changed(path, write, binary=True) else self.unchanged).append(str(path))
        return path

    def write_text(self, path, text: str) -> Path:
        """Write ``text`` as UTF-8 (see :meth:`write`)."""
        return self.write(path, text.encode("utf-8"))


#: rows per piece when a table is written to its CSV (bounds the memory of the CSV text)
CSV_PIECE_ROWS = 50_000


@dataclass
class LongTable:
    """A table that grows with the corpus (a row per unit or per match),
    produced in pieces and written to its CSV piece by piece, never held
    whole. ``pieces()`` yields DataFrames with ``columns``; ``rows`` is the
    number of rows they hold together."""

    columns: list[str]
    rows: int
    pieces: Callable[[], Iterator[pd.DataFrame]]

    def __len__(self) -> int:
        return self.rows

    def frame(self) -> pd.DataFrame:
        """The whole table as one DataFrame (small reports and tests)."""
        return pd.concat(list(self.pieces()), ignore_index=True)


def piece_bounds(n: int, size: int | None = None) -> Iterator[tuple[int, int]]:
    """(first, end) of slices of ``size`` rows (default :data:`CSV_PIECE_ROWS`)
    of ``n`` rows: one slice, possibly empty, at least, so a table always has its header."""
    size = size or CSV_PIECE_ROWS
    yield 0, min(n, size)
    for lo in range(size, n, size):
        yield lo, min(n, lo + size)


def frame_pieces(df: pd.DataFrame, size: int | None = None) -> Iterator[pd.DataFrame]:
    """``df`` in slices of ``size`` rows (see :func:`piece_bounds`)."""
    for lo, hi in piece_bounds(len(df), size):
        yield df.iloc[lo:hi]


def write_csv_pieces(fh, pieces) -> None:
    """Write DataFrames to ``fh`` (binary) as one CSV, the header once, with
    the bytes pandas gives the whole table (UTF-8, no index, ``\\n``). A
    piece may also be bytes: CSV rows already written out (after the header)."""
    header = True
    for piece in pieces:
        if isinstance(piece, bytes):
            fh.write(piece)
            continue
        fh.write(piece.to_csv(index=False, header=header, lineterminator="\n").encode("utf-8"))
        header = False


def show_progress(progress: bool | None) -> bool:
    """Whether to draw progress bars: as asked, else only when standard error is a terminal."""
    return sys.stderr.isatty() if progress is None else bool(progress)


def stage(desc: str, total: int, progress: bool | None):
    """A progress bar on standard error for one stage of a report (a no-op when not shown)."""
    return tqdm(total=total, desc=desc, unit="step", disable=not show_progress(progress), file=sys.stderr,
                leave=False)


#: p-values whose names do not end in "_p"
P_COLUMNS = ("p", "p_units", "p_within")


def finish(df: pd.DataFrame) -> pd.DataFrame:
    """Round floats so that output does not depend on float noise: four
    decimal places, but p-values to four significant digits (a small
    p-value must not print as 0)."""
    for col in df.columns:  # in place: the tables are the report's own (a copy would double a large one)
        if pd.api.types.is_float_dtype(df[col]):
            if col.endswith("_p") or col in P_COLUMNS:
                df[col] = df[col].map(lambda v: v if pd.isna(v) else float(f"{v:.4g}"))
            else:
                df[col] = df[col].round(4)
    return df.reset_index(drop=True)


def empty_table(columns: list[str]) -> pd.DataFrame:
    """A table with ``columns`` and no rows (every column of objects)."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
