"""The corpus: a manifest of documents and readers by file format.

``corpus/manifest.csv`` lists one document per row (``id, title, doc_type,
date, source, path`` and optionally ``speaker`` and ``encoding``). Each file
is read by the reader registered for its suffix; the text a reader returns is
the text that unit offsets refer to, and it is stored with the codings.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from coding.errors import CodingError
from coding.files import raise_csv_field_limit, read_utf8
from coding.readers import read_docx, read_pdf
from coding.records import Document, StrPath, content_hash

MANIFEST_NAMES = ("manifest.csv",)
REQUIRED_COLUMNS = ("id", "title", "doc_type", "date", "source", "path")
OPTIONAL_COLUMNS = ("speaker", "encoding")
_DATE = re.compile(r"^(\d{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
#: Ends the error of a text file that is not UTF-8; the command line says how to declare it.
UNDECLARED_ENCODING = "declare its encoding"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text_file(path: Path, encoding: str = "") -> str:
    """Read a plain-text or Markdown file.

    UTF-8 (with or without byte-order mark) unless an ``encoding`` is
    declared; undecodable bytes are an error naming the file and offset.
    """
    data = path.read_bytes()
    if encoding:
        try:
            text = data.decode(encoding)
        except LookupError:
            raise CodingError(f"unknown encoding '{encoding}'", path) from None
        except UnicodeDecodeError as exc:
            raise CodingError(f"not valid {encoding} at byte {exc.start}", path) from None
        text = text.removeprefix("\ufeff")  # a byte-order mark is not text ("utf-8", "utf-16-le" keep it)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CodingError(
                f"not UTF-8 at byte {exc.start}; {UNDECLARED_ENCODING}",
                path,
            ) from None
    return _normalise_newlines(text)


# Readers by suffix; formats plug in by adding an entry.
READERS: dict[str, Callable[[Path, str], str]] = {
    ".txt": read_text_file,
    ".md": read_text_file,
    ".docx": read_docx,
    ".pdf": read_pdf,
}


def read_file(path: StrPath, encoding: str = "") -> str:
    """Extract the text of a file with the reader registered for its suffix."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise CodingError(
            f"unsupported file type '{path.suffix}' (supported: {', '.join(sorted(READERS))})", path
        )
    if not path.is_file():
        raise CodingError("file not found", path)
    text = reader(path, encoding)
    if not text.strip():
        raise CodingError("the document is empty", path)
    return text


def find_manifest(corpus_dir: StrPath) -> Path:
    """The manifest file of a corpus folder."""
    corpus_dir = Path(corpus_dir)
    for name in MANIFEST_NAMES:
        if (corpus_dir / name).is_file():
            return corpus_dir / name
    if not corpus_dir.is_dir():
        raise CodingError("corpus folder not found", corpus_dir)
    raise CodingError("no manifest.csv in the corpus folder", corpus_dir)


def _manifest_row(row: dict, manifest: Path, i: int, seen: dict[str, int]) -> Document:
    """One manifest row (starting on line ``i``) checked and read as a document."""
    if None in row or any(v is None for v in row.values()):
        raise CodingError("wrong number of fields", manifest, i)
    row = {k: (v or "").strip() for k, v in row.items()}
    doc_id = row["id"]
    if not doc_id:
        raise CodingError("empty id", manifest, i)
    if not _ID.match(doc_id):
        raise CodingError("ids may hold letters, digits, '_', '.', '-' only", manifest, i, doc_id)
    if doc_id in seen:
        raise CodingError(f"duplicate id (first on line {seen[doc_id]})", manifest, i, doc_id)
    seen[doc_id] = i
    for col in ("doc_type", "path"):
        if not row[col]:
            raise CodingError(f"empty '{col}'", manifest, i, doc_id)
    if row["date"] and not _DATE.match(row["date"]):
        raise CodingError(f"date '{row['date']}' is not YYYY, YYYY-MM or YYYY-MM-DD", manifest, i, doc_id)
    return Document(
        id=doc_id, title=row["title"] or doc_id, doc_type=row["doc_type"], date=row["date"],
        source=row["source"], path=row["path"], speaker=row.get("speaker", ""),
        encoding=row.get("encoding", ""),
    )


def load_manifest(corpus_dir: StrPath, allow_outside: bool = False) -> list[Document]:
    """Read and validate the manifest; documents come without their text.

    Errors name the manifest, the line and the document id. Paths that
    leave the corpus folder (``../``, absolute) are refused unless
    ``allow_outside``; a manifest without documents is an error.
    """
    manifest = find_manifest(corpus_dir)
    raise_csv_field_limit()
    raw = read_utf8(manifest)
    reader = csv.DictReader(io.StringIO(raw, newline=""))
    columns = reader.fieldnames or []
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise CodingError(f"missing column(s): {', '.join(missing)}", manifest, 1)
    docs: list[Document] = []
    seen: dict[str, int] = {}
    last = reader.line_num
    for row in reader:
        i, last = last + 1, reader.line_num  # the line the row starts on
        doc = _manifest_row(row, manifest, i, seen)
        docs.append(doc)
        _check_path(manifest, doc.path, allow_outside, i, doc.id)
    if not docs:
        raise CodingError("the manifest lists no documents", manifest)
    return docs


def _check_path(manifest: Path, path: str, allow_outside: bool, line: int, doc_id: str) -> None:
    """A document file must exist and, unless allowed, lie inside the corpus folder."""
    target = manifest.parent / path
    try:
        resolved = target.resolve()
    except (RuntimeError, OSError):  # a loop of symbolic links (RuntimeError before Python 3.13)
        raise CodingError(f"path '{path}' is a loop of symbolic links", manifest, line, doc_id) from None
    if not allow_outside:
        root = manifest.parent.resolve()
        if Path(path).is_absolute() or not resolved.is_relative_to(root):
            raise CodingError(f"path '{path}' leaves the corpus folder (reading outside it must be allowed explicitly)",
                              manifest, line, doc_id)
    if not target.is_file():
        raise CodingError(f"file '{path}' not found", manifest, line, doc_id)


def read_document(document: Document, corpus_dir: StrPath) -> Document:
    """Return the document with its text and content hash filled in."""
    text = read_file(Path(corpus_dir) / document.path, document.encoding)
    return replace(document, text=text, content_hash=content_hash(text))


def iter_documents(corpus_dir: StrPath, errors: list | None = None,
                   manifest: list[Document] | None = None) -> Iterator[Document]:
    """Yield the corpus documents one at a time, with their text.

    With an ``errors`` list, a file that cannot be read is recorded there and
    skipped, so the rest of the corpus is still processed; without one the
    first error is raised. ``manifest`` saves reading the manifest again
    when the caller has loaded it already.
    """
    for doc in load_manifest(corpus_dir) if manifest is None else manifest:
        try:
            yield read_document(doc, corpus_dir)
        except CodingError as exc:
            if errors is None:
                raise
            errors.append(exc)


def loose_document_id(path: StrPath, root: StrPath | None = None) -> str:
    """The id of a loose file: its path relative to ``root`` (else its
    name) without suffix, separators and other characters as '-'."""
    path = Path(path)
    rel = path.relative_to(root) if root else Path(path.name)
    return re.sub(r"[^A-Za-z0-9_.\-]+", "-", str(rel.with_suffix("")).replace("/", "-")).strip("-") or "doc"


def document_from_file(path: StrPath, root: StrPath | None = None, doc_type: str = "text", encoding: str = "",
                       doc_id: str | None = None) -> Document:
    """A document made from a loose file (for coding texts outside a corpus).

    Its id is ``doc_id`` or :func:`loose_document_id`.
    """
    path = Path(path)
    doc_id = doc_id or loose_document_id(path, root)
    text = read_file(path, encoding)
    return Document(
        id=doc_id, title=path.stem, doc_type=doc_type, date="", source="", path=str(path),
        text=text, content_hash=content_hash(text),
    )
