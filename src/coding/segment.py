"""Segment documents into units (paragraphs, speaker turns or sentences).

Every unit keeps character offsets into its document's text, such that
``document.text[unit.start:unit.end] == unit.text``, and a stable id made of
the document id, a letter for the unit type and the ordinal.

No unit is longer than ``MAX_UNIT_CHARS`` (100,000) characters. A longer
paragraph, turn or sentence (a text extracted without line breaks, a table
flattened into one line) is split into pieces of at most that size: at the
last sentence end (".", "!" or "?", closing quotes or brackets, then white
space) that fits, failing that at the last white space, failing that at the
limit itself. Each piece is a unit of the same type with exact offsets. The
limit keeps the cost of coding one unit (and of reading it in a report)
bounded; ordinary paragraphs are a few thousand characters at most.
"""

from __future__ import annotations

import bisect
import re

from coding.errors import CodingError
from coding.records import Document, Unit

UNIT_TYPES = ("paragraph", "sentence")
_TYPE_LETTER = {"paragraph": "p", "turn": "t", "sentence": "s"}
#: unit types that are not running prose: reports leave them out of shares unless the codebook's
#: ``settings.include_unit_types`` names them (see :func:`is_heading`)
NON_PROSE_TYPES = ("heading",)
#: a heading has at most this many words
HEADING_WORDS = 15
# a line that ends a sentence or a lead-in ("...as follows:") is prose, not a heading
_PROSE_END = re.compile(r"[.!?:;,\u2026][\"'\u201d\u2019)\]]*\s*$")

_BLOCK_SPLIT = re.compile(r"\n[ \t\f\v\u00a0]*\n\s*")
# A speaker label at the start of a line: "Interviewer:", "Dr Sohail Ahmed:", "Q:", "Émile:"
# (a letter; turn_spans keeps only labels that start with a capital).
_TURN = re.compile(r"(?m)^[ \t]*([^\W\d_][\w.'\- ]{0,40}?):[ \t]+\S")
# A block that ends in a letter, digit, "_", ",", "-", "\u2013" or "(" does
# not end its paragraph (see _open_end) if the next starts like this.
_CONTINUES = re.compile(r"\s*[a-z(]")
_OPEN_END_CHARS = "_,-\u2013("

#: The longest unit, in characters (see the module docstring).
MAX_UNIT_CHARS = 100_000
# Greedy: the last sentence end, or the last white space, before the end of the search.
_LAST_SENTENCE_END = re.compile(r".*[.!?][\"'\u201d\u2019)\]]*(?=\s)", re.DOTALL)
_LAST_SPACE = re.compile(r".*\s", re.DOTALL)


def unit_id(document_id: str, unit_type: str, ordinal: int) -> str:
    """The stable id of a unit, e.g. ``ch3:p0012``."""
    return f"{document_id}:{_TYPE_LETTER[unit_type]}{ordinal:04d}"


def is_heading(text: str) -> bool:
    """Whether a paragraph is a heading: one line of at most
    :data:`HEADING_WORDS` words that starts with a capital letter or a
    digit, quotes no one (no double quotation marks) and does not end like
    a sentence ("3.1 Shift in Global Power Dynamics", "CHAPTER ONE"). The
    unit keeps its id, offsets and place; only its ``unit_type`` says
    "heading"."""
    line = text.strip()
    if not line or "\n" in line or len(line.split()) > HEADING_WORDS or any(q in line for q in '"\u201c\u201d'):
        return False
    return (line[0].isupper() or line[0].isdigit()) and not _PROSE_END.search(line)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _open_end(text: str, start: int, end: int) -> bool:
    """Whether the block ``text[start:end]`` ends mid-sentence: its last
    character other than white space is a letter, digit, "_", ",", "-",
    "\u2013" or "(". Looks at that character only, where a regex search
    would scan the whole block (and the block grows as blocks are joined)."""
    i = end - 1
    while i >= start and text[i].isspace():
        i -= 1
    return i >= start and (text[i].isalnum() or text[i] in _OPEN_END_CHARS)


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Spans of paragraphs: blocks separated by blank lines.

    A block that ends mid-sentence (no closing punctuation) followed by one
    that starts in lower case is the same paragraph broken by a page break,
    so the two are joined into one span.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _BLOCK_SPLIT.finditer(text):
        span = _trimmed(text, pos, m.start())
        if span:
            spans.append(span)
        pos = m.end()
    span = _trimmed(text, pos, len(text))
    if span:
        spans.append(span)
    joined: list[tuple[int, int]] = []
    for s, e in spans:
        if joined and _open_end(text, *joined[-1]) and _CONTINUES.match(text, s, e):
            joined[-1] = (joined[-1][0], e)
        else:
            joined.append((s, e))
    return joined


def _cut(text: str, start: int, limit: int) -> int:
    """Where to end a piece that starts at ``start`` and may not reach
    past ``limit``: after a sentence end, else after white space, else at
    the limit."""
    m = _LAST_SENTENCE_END.match(text, start, limit) or _LAST_SPACE.match(text, start, limit)
    return m.end() if m else limit


def capped_spans(text: str, spans: list[tuple[int, int]], size: int = MAX_UNIT_CHARS) -> list[tuple[int, int]]:
    """``spans`` with every span longer than ``size`` split into trimmed
    pieces of at most ``size`` characters (see the module docstring)."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        while end - start > size:
            cut = _cut(text, start, start + size)
            piece = _trimmed(text, start, cut)
            if piece:
                out.append(piece)
            start = cut
        piece = _trimmed(text, start, end)
        if piece:
            out.append(piece)
    return out


def turn_spans(text: str) -> list[tuple[int, int]] | None:
    """Spans of speaker turns, or None when fewer than two turns are marked."""
    starts = [m.start() for m in _TURN.finditer(text) if m.group(1)[0].isupper()]
    if len(starts) < 2:
        return None
    spans = []
    first = _trimmed(text, 0, starts[0])
    if first:
        spans.append(first)
    for i, s in enumerate(starts):
        e = starts[i + 1] if i + 1 < len(starts) else len(text)
        span = _trimmed(text, s, e)
        if span:
            spans.append(span)
    return spans


def turn_labels(text: str) -> list[tuple[int, str]]:
    """(offset, speaker) of each marked speaker turn, in order; empty when
    fewer than two turns are marked (the text is then not split by turns)."""
    found = [(m.start(), m.group(1).strip()) for m in _TURN.finditer(text) if m.group(1)[0].isupper()]
    return found if len(found) >= 2 else []


def unit_speakers(document: Document, starts: list[int]) -> list[str]:
    """The speaker of the unit starting at each offset of ``starts``: in an
    interview split into turns, the label of the turn the unit lies in
    (text before the first turn has none); elsewhere the document's speaker."""
    labels = turn_labels(document.text) if document.doc_type == "interview" else []
    if not labels:
        return [document.speaker or "" for _ in starts]
    offsets = [o for o, _ in labels]
    out = []
    for start in starts:
        i = bisect.bisect_right(offsets, start) - 1
        out.append(labels[i][1] if i >= 0 else "")
    return out


def sentence_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Split each span into sentences with spaCy's sentencizer (imported
    here: paragraph units never need spaCy)."""
    from coding.language import sentence_nlp

    nlp = sentence_nlp()
    out = []
    pieces = (text[s:e] for s, e in spans)
    for (s, _e), doc in zip(spans, nlp.pipe(pieces, batch_size=64)):
        for sent in doc.sents:
            span = _trimmed(text, s + sent.start_char, s + sent.end_char)
            if span:
                out.append(span)
    return out


def segment(document: Document, unit: str = "paragraph") -> list[Unit]:
    """Split a document into units.

    ``unit="paragraph"``: paragraphs, or speaker turns in interview
    documents whose turns are marked ("Name: ..."). ``unit="sentence"``:
    sentences within those.
    """
    if unit not in UNIT_TYPES:
        raise CodingError(f"unknown unit type '{unit}' (use one of: {', '.join(UNIT_TYPES)})")
    text = document.text
    spans = None
    kind = "paragraph"
    if document.doc_type == "interview":
        spans = turn_spans(text)
        if spans is not None:
            kind = "turn"
    if spans is None:
        spans = paragraph_spans(text)
    if unit == "sentence":
        spans = sentence_spans(text, spans)
        kind = "sentence"
    spans = capped_spans(text, spans)
    # a heading keeps the id of the paragraph it is (people's coder files name units by id);
    # a document of one paragraph has no heading
    headings = kind == "paragraph" and len(spans) > 1
    return [
        Unit(unit_id(document.id, kind, i), document.id, i,
             "heading" if headings and is_heading(text[s:e]) else kind, s, e, text[s:e])
        for i, (s, e) in enumerate(spans, start=1)
    ]
