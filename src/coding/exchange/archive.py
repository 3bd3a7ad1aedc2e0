"""Safe reading of ``.qdpx`` archives and their source texts: member paths
may not leave the archive, and the number of members and the bytes they
expand to are bounded before anything is inflated."""

from __future__ import annotations

import bisect
import re
import weakref
import zipfile
import zlib
from array import array
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from coding.errors import CodingError
from coding.records import StrPath

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Bounds checked before anything is inflated, so that no archive can take
#: more than a few hundred MB of memory: all members together, and one member
#: (the project XML or one source text, decoded after reading).
MAX_ARCHIVE_BYTES = 400 * 1024 * 1024
MAX_MEMBER_BYTES = 100 * 1024 * 1024
MAX_ARCHIVE_MEMBERS = 10_000
#: The members read from one archive (the project XML and the source texts,
#: held at once with their decoded and normalised copies) together: a few
#: large members each under MAX_MEMBER_BYTES must not add up to gigabytes.
MAX_READ_BYTES = 64 * 1024 * 1024

_read_so_far: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

def read_limited(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CodingError(f"cannot read: {exc.strerror}", path) from None
    if size > MAX_ARCHIVE_BYTES:
        raise CodingError(f"file larger than {MAX_ARCHIVE_BYTES // 2**20} MB", path)
    return path.read_bytes()


# -- safe archive access -----------------------------------------------------

def open_archive(path: Path) -> zipfile.ZipFile:
    """Open a .qdpx after checking member paths, count and total size."""
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise CodingError("file not found", path) from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise CodingError(f"not a .qdpx (zip) archive: {exc}", path) from None
    infos = zf.infolist()
    if len(infos) > MAX_ARCHIVE_MEMBERS:
        zf.close()
        raise CodingError(f"archive has {len(infos)} members (limit {MAX_ARCHIVE_MEMBERS})", path)
    total = sum(i.file_size for i in infos)
    if total > MAX_ARCHIVE_BYTES:
        zf.close()
        raise CodingError(f"archive expands to {total} bytes (limit {MAX_ARCHIVE_BYTES})", path)
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            zf.close()
            raise CodingError(f"archive member path leaves the archive: {info.filename!r}", path)
    return zf


def read_member(zf: zipfile.ZipFile, name: str, path: StrPath) -> bytes:
    """The bytes of one member, at most :data:`MAX_MEMBER_BYTES`: a member
    that is corrupt, encrypted, compressed with an unknown method or larger
    than it says is a one-line error."""
    info = zf.getinfo(name)
    if info.file_size > MAX_MEMBER_BYTES:
        raise CodingError(f"archive member {name!r} is {info.file_size} bytes (limit {MAX_MEMBER_BYTES})", path)
    total = _read_so_far.get(zf, 0) + info.file_size
    if zf in _read_so_far and total > MAX_READ_BYTES:  # one member alone is bounded by MAX_MEMBER_BYTES
        raise CodingError(f"the project's XML and source texts expand to more than {MAX_READ_BYTES} bytes "
                          f"(at member {name!r}); too large to read safely", path)
    _read_so_far[zf] = total
    try:
        with zf.open(info) as fh:
            # the declared size may lie: never inflate more than the bound
            data = fh.read(MAX_MEMBER_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise CodingError(f"archive member {name!r} is corrupt ({_first_line(exc)})", path) from None
    except NotImplementedError as exc:  # before RuntimeError, its base class
        raise CodingError(f"archive member {name!r} uses an unsupported compression ({_first_line(exc)})",
                          path) from None
    except RuntimeError as exc:  # zipfile's word for an encrypted member
        raise CodingError(f"archive member {name!r} cannot be read ({_first_line(exc)})", path) from None
    if len(data) > MAX_MEMBER_BYTES:
        raise CodingError(f"archive member {name!r} expands beyond {MAX_MEMBER_BYTES} bytes", path)
    return data


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def find_qde(zf: zipfile.ZipFile, path: StrPath) -> str:
    """``project.qde`` (any case) at the top, else the only ``*.qde``."""
    names = [n for n in zf.namelist() if not n.endswith("/")]
    top = [n for n in names if n.lower() == "project.qde"]
    if top:
        return top[0]
    qde = [n for n in names if n.lower().endswith(".qde")]
    if len(qde) == 1:
        return qde[0]
    if not qde:
        raise CodingError("no project.qde in the archive", path)
    raise CodingError(f"several .qde files in the archive ({', '.join(sorted(qde))})", path)


def decode_source(data: bytes) -> tuple[str, array]:
    """Text of a source file and the raw indices of the CRs that LF
    normalisation removes (positions refer to the raw text, BOM excluded)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raw = data.decode("utf-16")
    else:
        raw = data.decode("utf-8-sig")
    # an array, not a list: a text of CRLFs would otherwise take ~36 bytes per line end
    removed = array("q", (m.start() for m in re.finditer("\r\n", raw)))
    return raw.replace("\r\n", "\n").replace("\r", "\n"), removed


def raw_to_norm(pos: int, removed: Sequence[int]) -> int:
    """Map a position in the raw text to the LF-normalised text."""
    return pos - bisect.bisect_left(removed, pos)


def member_lookup(zf: zipfile.ZipFile) -> dict[str, str]:
    """Source files by lower-case base name, for ``internal://`` references
    (in ``sources/``, ``Sources/`` or anywhere in the archive)."""
    found: dict[str, str] = {}
    for n in sorted(zf.namelist(), key=lambda n: (n.count("/"), n)):
        if not n.endswith("/"):
            found.setdefault(PurePosixPath(n).name.lower(), n)
    return found
