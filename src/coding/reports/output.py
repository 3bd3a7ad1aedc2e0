"""Writing a report's files: unchanged files are left alone, long stages show progress.

A report is rebuilt from the store every time, but a file whose new bytes
equal the bytes already on disk is not written again: it keeps its
modification time, so that tools watching the folder (and people) can see
that an unchanged rerun changed nothing. Every file that is written goes
through :func:`coding.files.write_bytes` (atomic, with the user's file mode).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from coding.files import write_bytes


class Outputs:
    """Writes files of one report and remembers which changed."""

    def __init__(self) -> None:
        self.written: list[Path] = []
        self.unchanged: list[Path] = []

    def write(self, path, payload: bytes) -> Path:
        """Write ``payload`` to ``path`` unless the file already holds exactly these bytes."""
        path = Path(path)
        try:
            same = path.is_file() and path.stat().st_size == len(payload) and path.read_bytes() == payload
        except OSError:
            same = False
        if same:
            self.unchanged.append(path)
            return path
        self.written.append(write_bytes(path, payload))
        return path

    def write_text(self, path, text: str) -> Path:
        """Write ``text`` as UTF-8 (see :meth:`write`)."""
        return self.write(path, text.encode("utf-8"))


def show_progress(progress: bool | None) -> bool:
    """Whether to draw progress bars: as asked, else only when standard error is a terminal."""
    return sys.stderr.isatty() if progress is None else bool(progress)


def stage(desc: str, total: int, progress: bool | None):
    """A progress bar on standard error for one stage of a report (a no-op when not shown)."""
    return tqdm(total=total, desc=desc, unit="step", disable=not show_progress(progress), file=sys.stderr,
                leave=False)
