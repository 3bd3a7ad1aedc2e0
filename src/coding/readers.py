"""Readers for word-processor and PDF files: the text that units refer to.

Each reader takes ``(path, encoding)`` like the plain-text reader (the
encoding is ignored: these formats carry their own) and returns plain text
with paragraphs separated by one blank line, so that segmentation works the
same way as for ``.txt`` files.

* ``.docx`` (python-docx): body paragraphs and tables in document order,
  one paragraph per table row with cells joined by `` | ``; headers,
  footers, comments and footnotes are left out.
* ``.pdf`` (pypdf): text per page; running headers and footers (a line that
  repeats at the top or bottom of most pages, digits ignored) and page
  numbers are dropped; lines are grouped into paragraphs by vertical gaps
  (more than 1.5 times the most frequent line distance of the document);
  a paragraph broken by a page break is joined again.

A file that cannot give text (encrypted, corrupt, empty, scanned images
only) raises :class:`~coding.errors.CodingError` naming the file.
"""

from __future__ import annotations

import logging
import re
import zipfile
import zlib
from itertools import pairwise
from pathlib import Path

from coding.errors import CodingError
from coding.records import StrPath

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # compound file: encrypted .docx or old .doc
_BLANKS = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
_SPACES = re.compile(r"[ \t\u00a0]+")


def _clean_block(text: str) -> str:
    """One paragraph: no blank lines inside, no trailing spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0b", "\n").replace("\f", "\n")
    text = _BLANKS.sub("\n", text)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


# -- .docx -------------------------------------------------------------------

def _table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            # a merged cell is returned once per grid column it spans
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            text = " ".join(_clean_block(cell.text).split("\n")).strip()
            cells.append(text)
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def read_docx(path: StrPath, encoding: str = "") -> str:
    """Text of a ``.docx`` file: paragraphs and table rows in body order."""
    path = Path(path)
    with open(path, "rb") as fh:  # eight bytes, not the whole file
        head = fh.read(8)
    if head == _OLE_MAGIC:
        raise CodingError("password-protected or old-format Word file (save it unprotected as .docx)", path)
    if not zipfile.is_zipfile(path):
        raise CodingError("not a .docx file (not a zip package); the file may be corrupt", path)
    _check_package_size(path)
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
        blocks = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.extend(_table_rows(item))
            else:
                text = _clean_block(item.text)
                if text:
                    blocks.append(text)
    except CodingError:
        raise
    except Exception as exc:  # noqa: BLE001 - python-docx raises many kinds on a damaged package
        raise CodingError(f"cannot read the .docx file ({type(exc).__name__}: {_first_line(exc)})", path) from None
    if not blocks:
        raise CodingError("the .docx file has no text in its body", path)
    return "\n\n".join(blocks) + "\n"


#: A .docx is refused before it is inflated when its parts together would
#: expand beyond this (python-docx holds every part in memory, and its XML
#: tree takes several times the size of the XML): a "zip bomb" cannot take
#: more than a few hundred MB.
MAX_DOCX_BYTES = 200 * 1024 * 1024
MAX_DOCX_XML_BYTES = 40 * 1024 * 1024
#: What an XML tree costs is its number of elements (some 200 bytes each once
#: parsed, however short their text): the elements of every XML part are
#: counted, without parsing, before python-docx reads them. A long thesis has
#: a few hundred thousand.
MAX_DOCX_ELEMENTS = 1_500_000
#: and the XML parts together: their trees and texts are held at once
MAX_DOCX_XML_TOTAL = 100 * 1024 * 1024


def _check_package_size(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise CodingError(f"cannot read the .docx file ({_first_line(exc)})", path) from None
    total = sum(i.file_size for i in infos)
    if total > MAX_DOCX_BYTES:
        raise CodingError(f"the .docx file expands to {total} bytes (limit {MAX_DOCX_BYTES})", path)
    big_xml = [i for i in infos if i.filename.endswith(".xml") and i.file_size > MAX_DOCX_XML_BYTES]
    if big_xml:
        raise CodingError(f"the .docx part {big_xml[0].filename} expands to {big_xml[0].file_size} bytes "
                          f"(limit {MAX_DOCX_XML_BYTES})", path)
    xml = [i for i in infos if i.filename.endswith((".xml", ".rels"))]
    xml_total = sum(i.file_size for i in xml)
    if xml_total > MAX_DOCX_XML_TOTAL:
        raise CodingError(f"the .docx file's XML parts expand to {xml_total} bytes (limit {MAX_DOCX_XML_TOTAL})",
                          path)
    _check_elements(path, xml)


def _check_elements(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse a package whose XML parts hold more than MAX_DOCX_ELEMENTS
    elements in all: start tags counted in a stream, a megabyte at a time."""
    elements = 0
    try:
        with zipfile.ZipFile(path) as zf:
            for info in infos:
                with zf.open(info) as fh:
                    last = b""
                    while chunk := fh.read(1 << 20):
                        both = last + chunk  # a "</" cut between two chunks
                        elements += both.count(b"<") - both.count(b"</") - (last.count(b"<") - last.count(b"</"))
                        last = chunk[-1:]
                if elements > MAX_DOCX_ELEMENTS:
                    raise CodingError(f"the .docx file has more than {MAX_DOCX_ELEMENTS} XML elements "
                                      f"({elements} up to {info.filename}); too many to read safely", path)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError, zlib.error) as exc:
        raise CodingError(f"cannot read the .docx file ({_first_line(exc)})", path) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else "no details"


# -- .pdf --------------------------------------------------------------------

_PAGE_NUMBER = re.compile(
    r"^(?:(?:page|p\.|seite|pg\.?)\s*)?[\-\u2013\u2014\[(]?\s*(?:\d+|[ivx]{1,6})\s*[\-\u2013\u2014\])]?"
    r"(?:\s*(?:of|/|von)\s*\d+)?$",
    re.IGNORECASE,
)
_TERMINAL = re.compile(r"[.!?:;\"\u201d\u2019')\]]\s*$")
_LOWER_START = re.compile(r"^[a-z\u00df-\u00ff(]")


def _page_lines(page) -> list[tuple[float, str]]:
    """(y, text) of each line of a page, in content order.

    y is the baseline height of the line's first text (PDF units, upwards);
    it lets paragraph breaks be found from vertical gaps.
    """
    lines: list[list] = [[None, ""]]

    def visit(text, cm, tm, font_dict, font_size):
        if not text:
            return
        # position of the text origin: tm x cm
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        parts = text.split("\n")
        for i, part in enumerate(parts):
            if i > 0:
                lines.append([None, ""])
            if part:
                if lines[-1][0] is None and part.strip():
                    lines[-1][0] = y
                lines[-1][1] += part

    page.extract_text(visitor_text=visit)
    out = []
    last_y = 0.0
    for y, text in lines:
        text = _SPACES.sub(" ", text).strip()
        if not text:
            continue
        y = last_y if y is None else y
        last_y = y
        out.append((float(y), text))
    return out


def _furniture_key(line: str) -> str:
    """Running headers repeat with a changing page number: compare without digits."""
    return re.sub(r"\d+", "#", _SPACES.sub(" ", line.strip().lower()))


def _drop_furniture(pages: list[list[tuple[float, str]]], edge: int = 2) -> list[list[tuple[float, str]]]:
    """Remove running headers/footers and page numbers from the page edges."""
    n = len(pages)
    counts: dict[str, int] = {}
    if n >= 2:
        for lines in pages:
            keys = {_furniture_key(t) for _, t in lines[:edge] + lines[-edge:]}
            for k in keys:
                counts[k] = counts.get(k, 0) + 1
    repeated = {k for k, c in counts.items() if c >= max(2, (n * 3 + 4) // 5)}  # on >= 60% of pages
    out = []
    for lines in pages:
        lines = list(lines)
        for _ in range(edge):
            if lines and (_furniture_key(lines[0][1]) in repeated or _PAGE_NUMBER.match(lines[0][1])):
                lines.pop(0)
            if lines and (_furniture_key(lines[-1][1]) in repeated or _PAGE_NUMBER.match(lines[-1][1])):
                lines.pop()
        out.append(lines)
    return out


def line_spacing(pages: list[list[tuple[float, str]]]) -> float | None:
    """The usual distance between lines: the most frequent downward gap
    over the whole document (rounded to half a point; ties to the smaller)."""
    counts: dict[float, int] = {}
    for lines in pages:
        for prev, cur in pairwise(lines):
            gap = round((prev[0] - cur[0]) * 2) / 2
            if gap > 1.0:
                counts[gap] = counts.get(gap, 0) + 1
    if not counts:
        return None
    return min(counts, key=lambda g: (-counts[g], g))


def _paragraphs(lines: list[tuple[float, str]], spacing: float | None) -> list[str]:
    """Group lines into paragraphs: a gap clearly larger than the usual
    line spacing (1.5x) or a jump upwards (a new column) starts one."""
    if not lines:
        return []
    paras = [[lines[0][1]]]
    for (prev_y, _), (y, text) in pairwise(lines):
        gap = prev_y - y
        if spacing is not None and (gap > spacing * 1.5 or gap < -1.0):
            paras.append([text])
        else:
            paras[-1].append(text)
    return [_join_lines(p) for p in paras]


_HYPHENATED = re.compile(r"(\w+)-$")


def _join_lines(lines: list[str]) -> str:
    """Join the lines of a paragraph. A line ending in a hyphen before a
    word is joined without a space: the hyphen goes when the two halves make
    a word of the English lexicon ("interna-" + "tional"), and stays
    otherwise ("anti-" + "Pakistan")."""
    from coding.language import lexicon

    text = lines[0]
    for line in lines[1:]:
        m = _HYPHENATED.search(text)
        if m and line[:1].isalpha():
            head = line.split(" ", 1)[0].rstrip(".,;:!?)\"'’”")
            if (m.group(1) + head).lower() in lexicon():
                text = text[:-1] + line
            else:
                text = text + line
        else:
            text = text + " " + line
    return text


def full_line_length(pages: list[list[tuple[float, str]]]) -> int | None:
    """Characters in a full-width line of body text: the 90th percentile of
    line lengths (lines of 20 characters or more), or None with fewer than
    30 such lines."""
    lengths = sorted(len(t) for lines in pages for _, t in lines if len(t) >= 20)
    if len(lengths) < 30:  # too few lines to know the full width
        return None
    return lengths[int(0.9 * (len(lengths) - 1))]


def _continues(paragraph: str, last_line: str, next_text: str, full: int | None) -> bool:
    """Whether a page break cut ``paragraph``: it ends mid-sentence and the
    next page starts in lower case, or the page's last line runs the full
    width (a paragraph's own last line is usually short)."""
    if not _TERMINAL.search(paragraph) and _LOWER_START.match(next_text):
        return True
    return full is not None and len(last_line) >= 0.85 * full and not next_text[:1].isdigit()


def read_pdf(path: StrPath, encoding: str = "") -> str:
    """Text of a ``.pdf`` file with page furniture removed (see module doc)."""
    path = Path(path)
    page_lines = _pdf_page_lines(path)
    if not any(page_lines):
        raise CodingError("the PDF has no extractable text (scanned images only?); run OCR on it first", path)
    paragraphs: list[str] = []
    page_lines = _drop_furniture(page_lines)
    spacing = line_spacing(page_lines)
    full = full_line_length(page_lines)
    last_line = ""
    for lines in page_lines:
        page_paras = _paragraphs(lines, spacing)
        if not page_paras:
            continue
        if paragraphs and _continues(paragraphs[-1], last_line, page_paras[0], full):
            paragraphs[-1] = _join_lines([paragraphs[-1], page_paras.pop(0)])
        paragraphs.extend(page_paras)
        last_line = lines[-1][1]
    if not paragraphs:
        raise CodingError("the PDF has no text besides page headers and numbers", path)
    return "\n\n".join(paragraphs) + "\n"


#: A page's text is read from its content stream, which pypdf inflates and
#: splits into many small objects (time and memory many times the stream's
#: size): a PDF whose page streams inflate beyond these is refused before its
#: text is read (pypdf's own bound is 75 MB per stream, which takes minutes).
MAX_PDF_PAGE_BYTES = 10 * 1024 * 1024
MAX_PDF_CONTENT_BYTES = 100 * 1024 * 1024


def _bounded_page_lines(pages, path: Path) -> list[list[tuple[float, str]]]:
    """The lines of each page, once the sizes of the inflated content streams are known to be within bounds."""
    total, out = 0, []
    for number, page in enumerate(pages, start=1):
        contents = page.get_contents()
        size = len(contents.get_data()) if contents is not None else 0
        total += size
        if size > MAX_PDF_PAGE_BYTES:
            raise CodingError(f"page {number} of the PDF inflates to {size} bytes (limit {MAX_PDF_PAGE_BYTES})", path)
        if total > MAX_PDF_CONTENT_BYTES:
            raise CodingError(f"the PDF's pages inflate to more than {MAX_PDF_CONTENT_BYTES} bytes", path)
        out.append(_page_lines(page))
    return out


def _pdf_page_lines(path: Path) -> list[list[tuple[float, str]]]:
    """The text lines of every page; an encrypted, empty or damaged file is
    a one-line error."""
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PdfReadError

    # pypdf logs repairs of damaged files as warnings, which would reach the
    # user's terminal as stray lines: what matters is said as a CodingError
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(str(path))
        if reader.is_encrypted:
            try:
                # files with only an owner password open with an empty user password
                ok = bool(reader.decrypt(""))
            except (DependencyError, NotImplementedError):
                ok = False
            if not ok:
                raise FileNotDecryptedError("encrypted")
        pages = list(reader.pages)
        if not pages:
            raise CodingError("the PDF has no pages", path)
        return _bounded_page_lines(pages, path)
    except CodingError:
        raise
    except LimitReachedError as exc:  # a stream that inflates or splits past pypdf's own bounds
        raise CodingError(f"the PDF is too large to read safely ({_first_line(exc)})", path) from None
    except FileNotDecryptedError:
        raise CodingError("the PDF is encrypted (password-protected); save an unprotected copy", path) from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError,
            RecursionError, AssertionError) as exc:
        raise CodingError(f"cannot read the PDF ({type(exc).__name__}: {_first_line(exc)}); the file may be corrupt",
                          path) from None
