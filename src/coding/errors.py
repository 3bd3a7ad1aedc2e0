"""Error type shared by every stage: one line that names where and what."""

from __future__ import annotations

import os


class CodingError(Exception):
    """Bad input, reported as one line: ``path:line: item: message``.

    ``path``, ``line`` and ``item`` (a code id, unit id, column...) are each
    optional; the parts that are known are joined so that the user can find
    the problem without a traceback.
    """

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None, line: int | None = None,
                 item: str | None = None) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.item = item
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
        parts = [p for p in (where, self.item) if p]
        return ": ".join(parts + [self.message])


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none), for a one-line error."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
