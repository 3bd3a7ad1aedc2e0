"""Reading input files and writing output files: inputs as UTF-8 text with
one-line errors, outputs atomically, with the permissions a user expects.

Every output of the project goes through :func:`write_with` (or one of the
helpers built on it): the data is written to a hidden temporary file in the
target folder and renamed into place, so a reader never sees half a file and
an interrupted run leaves the previous file as it was. The finished file gets
the mode that the user's umask gives a file made with ``open()`` (0644 under
the common umask 022), not the 0600 of a temporary file, so colleagues on a
shared server can read every output.

Temporaries carry the writer's process id (``.<name>.<pid>.tmp-<random>``), so
that :func:`remove_stale_temporaries` can delete those left by a killed run
without touching the ones of a run still in progress.
"""

from __future__ import annotations

import csv
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, SupportsFloat, cast

from coding.errors import CodingError
from coding.records import StrPath

if TYPE_CHECKING:
    import pandas as pd

_TEMP_MARK = ".tmp-"
_TEMP_NAME = re.compile(r"^\..+\.(\d+)\.tmp-[A-Za-z0-9_]+$")


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read the umask is to set it
    os.umask(mask)
    return mask


def _file_mode() -> int:
    return 0o666 & ~_umask()


def write_with(path: StrPath, write: Callable[[IO], Any], *, binary: bool = False) -> Path:
    """Write ``path`` atomically: ``write(fh)`` fills a temporary file that
    is then renamed into place. Text files are UTF-8 with the line ends the
    writer gives. Returns the path."""
    _write_atomically(Path(path), write, binary, keep_same=False)
    return Path(path)


def write_if_changed(path: StrPath, write: Callable[[IO], Any], *, binary: bool = False) -> bool:
    """As :func:`write_with`, but an existing file that already holds exactly
    the new bytes is left alone (its modification time too); the bytes are
    compared in blocks, so a large output is never held in memory. Returns
    whether the file was written."""
    return _write_atomically(Path(path), write, binary, keep_same=True)


def _write_atomically(path: Path, write: Callable[[IO], Any], binary: bool, keep_same: bool) -> bool:
    path = writable_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:  # a file where a folder of the path should be
        raise CodingError("is a file, so the output cannot go in it: give another --out", exc.filename) from None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}{_TEMP_MARK}", dir=path.parent)
    try:
        fh: IO = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
        with fh:
            write(fh)
        if keep_same and _same_bytes(tmp, path):
            Path(tmp).unlink()
            return False
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename and str(exc.filename) != tmp and not exc.filename2:
            raise  # about another file (an input being read): its own name is the right one
        # name the output the user asked for, not the hidden temporary (in the message either)
        raise OSError(exc.errno, (exc.strerror or str(exc)).replace(tmp, str(path)), str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def writable_path(path: StrPath) -> Path:
    """The file an output at ``path`` goes to: a symlink is written through
    (its target is replaced, the link stays); a named pipe, socket or device
    is refused, since renaming a file over it would silently replace it."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    if path.exists() and not path.is_file() and not path.is_dir():
        raise CodingError("not a regular file (a named pipe, socket or device): refusing to write over it", path)
    return path


def corpus_holding(path: StrPath) -> Path | None:
    """The corpus folder (one with a manifest.csv) that ``path`` is, or is inside; None if none."""
    target = Path(path).resolve()
    for folder in (target, *target.parents):
        if (folder / "manifest.csv").is_file():
            return folder
    return None


def check_output(out: StrPath, inputs: Iterable[StrPath | None] = (), *, what: str = "--out",
                 folder: bool = False) -> Path:
    """Refuse an output that would clobber an input, before anything is
    written: ``out`` the same file as one of ``inputs`` (a symlink counts as
    its target), inside an input folder (a corpus, a folder of shards being
    read), inside any corpus folder (one with a manifest.csv), or a named
    pipe or device; with ``folder`` (``out`` is a folder of files named
    after the inputs), also a folder that holds an input. Every command that
    writes checks its ``--out`` here. Returns ``out``."""
    out = Path(out)
    writable_path(out)
    target = out.resolve()
    for given in inputs:
        if given is None or str(given) == "":
            continue
        source = Path(given).resolve()
        if target == source:
            raise CodingError(f"{what} is an input of this command ({given}); choose another {what}", out)
        if source.is_dir() and target.is_relative_to(source):
            raise CodingError(f"{what} is inside the input folder {given}; choose another {what}", out)
        if folder and source.is_relative_to(target):
            raise CodingError(f"{what} holds the input {given}, which its outputs would replace; choose another "
                              f"{what}", out)
    corpus = corpus_holding(target)
    if corpus is not None:
        raise CodingError(f"{what} is inside the corpus folder {corpus} (it holds manifest.csv); outputs never go "
                          f"into a corpus: choose another {what}", out)
    return out


def _same_bytes(new: StrPath, old: Path) -> bool:
    """Whether ``old`` is a file with the bytes of ``new`` (compared in blocks, never read whole)."""
    import filecmp

    try:
        return old.is_file() and filecmp.cmp(new, old, shallow=False)
    except OSError:
        return False


def write_bytes(path: StrPath, payload: bytes) -> Path:
    """Write bytes atomically."""
    return write_with(path, lambda fh: fh.write(payload), binary=True)


def write_text(path: StrPath, text: str) -> Path:
    """Write text (UTF-8) atomically."""
    return write_with(path, lambda fh: fh.write(text))


def write_csv(path: StrPath, columns: list[str], rows: Iterable[Iterable]) -> Path:
    """Write rows (iterables in ``columns`` order) as a UTF-8 CSV with
    ``\\n`` line ends, atomically. Rows may be a generator: they are
    streamed, never held in memory."""
    def _write(fh):
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)
    return write_with(path, _write)


def format_value(value: object) -> str:
    """One cell of an output CSV: floats to 4 places, missing as empty,
    booleans as ``true``/``false``."""
    if value is None or type(value).__name__ == "NAType":
        return ""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "true" if value else "false"
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        number = float(cast(SupportsFloat, value))  # a numpy float by its type's name: float() takes it
        return "" if math.isnan(number) else f"{number:.4f}"
    return str(value)


def write_frame(path: StrPath, frame: pd.DataFrame) -> Path:
    """Write a DataFrame as CSV atomically, cells as :func:`format_value`."""
    rows = ([format_value(v) for v in row] for row in frame.itertuples(index=False, name=None))
    return write_csv(path, list(frame.columns), rows)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except OSError:
        return True
    return True


def remove_stale_temporaries(folder: StrPath) -> list[Path]:
    """Delete temporaries that this module made in ``folder`` (and its
    subfolders) for a process that no longer runs; returns what was removed.
    Files of other programs are never touched: only names of the form
    ``.<name>.<pid>.tmp-<random>`` whose process is gone."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in sorted(folder.rglob(f".*{_TEMP_MARK}*")):
        m = _TEMP_NAME.match(path.name)
        if m and path.is_file() and not _alive(int(m.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def remove_stale_temporaries_of(path: StrPath) -> list[Path]:
    """Delete the temporaries of the one output file ``path`` (beside it,
    not below) that a process no longer running left; returns what was removed."""
    path = Path(path)
    removed = []
    if path.parent.is_dir():
        for tmp in sorted(path.parent.glob(f".{glob_escape(path.name)}.*{_TEMP_MARK}*")):
            m = _TEMP_NAME.match(tmp.name)
            if m and tmp.name.startswith(f".{path.name}.") and tmp.is_file() and not _alive(int(m.group(1))):
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


def glob_escape(name: str) -> str:
    """``name`` with the characters that glob reads as patterns escaped."""
    import glob

    return glob.escape(name)


def remove_stale_folders(folder: StrPath, prefix: str) -> list[Path]:
    """Delete the folders ``<prefix><pid>-*`` in ``folder`` whose process no
    longer runs (temporary folders of a killed run); returns what was removed.
    Folders of a running process, or named otherwise, are never touched."""
    import shutil

    folder = Path(folder)
    removed = []
    if folder.is_dir():
        pattern = re.compile(re.escape(prefix) + r"(\d+)-")
        for path in sorted(folder.glob(glob_escape(prefix) + "*")):
            m = pattern.match(path.name)
            if m and path.is_dir() and not path.is_symlink() and not _alive(int(m.group(1))):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def read_utf8(path: StrPath) -> str:
    """The text of an input file in UTF-8 (a byte-order mark dropped); a
    file that cannot be read or is not UTF-8 is a one-line error naming it."""
    try:
        return Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise CodingError(f"cannot read: {exc.strerror}", path) from None
    except UnicodeDecodeError as exc:
        if _is_spreadsheet(path):
            raise CodingError("this is a spreadsheet, not a CSV file: save it as CSV (UTF-8) and give that file",
                              path) from None
        raise CodingError(f"not UTF-8 at byte {exc.start}", path) from None


def _is_spreadsheet(path: StrPath) -> bool:
    """Whether a file that is not text is an Excel or OpenDocument workbook (by its first bytes)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    suffix = Path(path).suffix.lower()
    zipped = head.startswith(b"PK\x03\x04") and suffix in (".xlsx", ".xlsm", ".ods", ".csv", ".txt", "")
    return zipped or (head == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" and suffix in (".xls", ".csv", ".txt", ""))


def jsonl_record(line: str, path: StrPath, line_no: int) -> dict | None:
    """One line of a JSON Lines table of units as a dict with ``id`` and
    ``text`` (None for a blank line); a one-line error naming the file and
    line otherwise. Only "\\n" ends a record: JSON allows U+2028 raw inside
    strings, where ``splitlines()`` would cut."""
    import json

    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CodingError(f"invalid JSON: {exc.msg}", path, line_no) from None
    except RecursionError:  # arrays or objects nested thousands deep
        raise CodingError("invalid JSON: nested too deeply", path, line_no) from None
    if not isinstance(obj, dict):
        raise CodingError("each line must be a JSON object", path, line_no)
    missing = [c for c in ("id", "text") if c not in obj]
    if missing:
        raise CodingError(f"missing field '{missing[0]}'", path, line_no)
    return obj


def raise_csv_field_limit() -> None:
    """Let the csv module read fields of any size (a long unit in a coder
    file or a table of units); its default stops at 131,072 characters."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:  # a C long is 32 bits on some platforms
            limit //= 2
