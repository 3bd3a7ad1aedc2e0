"""Segmentation: offsets invariant, page-break rejoin, turns, sentences."""

from __future__ import annotations

import pytest
from conftest import REPO

from coding.corpus import Document, iter_documents
from coding.errors import CodingError
from coding.segment import segment


def doc(text, doc_type="thesis_chapter"):
    return Document("d", "D", doc_type, "2020", "", "d.txt", text)


def test_paragraphs_and_offsets():
    text = "First para line one\nline two.\n\n\n  Second para.  \n\nThird."
    units = segment(doc(text))
    assert [u.text for u in units] == ["First para line one\nline two.", "Second para.", "Third."]
    assert [u.id for u in units] == ["d:p0001", "d:p0002", "d:p0003"]
    for u in units:
        assert text[u.start:u.end] == u.text


def test_paragraph_broken_by_page_break_is_rejoined():
    text = "The two states signed an agreement on\n\nenergy in 2018.\n\n3.1 A Heading\n\nNew paragraph."
    units = segment(doc(text))
    assert units[0].text.startswith("The two states") and units[0].text.endswith("in 2018.")
    assert [u.text for u in units[1:]] == ["3.1 A Heading", "New paragraph."]


def test_interview_turns():
    text = ("Interviewer: What about trade?\nIt matters.\n\nDr Ahmed: Trade is growing.\n\n"
            "More on it.\nInterviewer: Thanks.")
    units = segment(doc(text, "interview"))
    assert [u.unit_type for u in units] == ["turn"] * 3
    assert units[1].text == "Dr Ahmed: Trade is growing.\n\nMore on it."
    assert [u.id for u in units] == ["d:t0001", "d:t0002", "d:t0003"]
    for u in units:
        assert text[u.start:u.end] == u.text


def test_interview_without_turns_falls_back_to_paragraphs():
    units = segment(doc("He said trade matters.\n\nAnd security too.", "interview"))
    assert [u.unit_type for u in units] == ["paragraph", "paragraph"]


def test_sentences():
    text = "Russia sold helicopters. Pakistan bought them!\n\nA new paragraph here."
    units = segment(doc(text), unit="sentence")
    assert [u.text for u in units] == ["Russia sold helicopters.", "Pakistan bought them!", "A new paragraph here."]
    assert units[0].id == "d:s0001"
    for u in units:
        assert text[u.start:u.end] == u.text


def test_sentences_of_a_paragraph_longer_than_a_million_characters():
    text = "Gas word. " * 100_001  # one paragraph past spaCy's default max_length
    units = segment(doc(text), unit="sentence")
    assert len(units) == 100_001
    assert text[units[-1].start:units[-1].end] == units[-1].text == "Gas word."


def test_unknown_unit_type():
    with pytest.raises(CodingError, match="unknown unit type"):
        segment(doc("x"), unit="chapter")


@pytest.mark.parametrize("unit", ["paragraph", "sentence"])
def test_offsets_invariant_on_the_shipped_corpus(unit):
    n = 0
    for d in iter_documents(REPO / "corpus"):
        units = segment(d, unit)
        assert units, d.id
        assert len({u.id for u in units}) == len(units)
        for u in units:
            assert d.text[u.start:u.end] == u.text
            assert u.text == u.text.strip() and u.text
        starts = [u.start for u in units]
        assert starts == sorted(starts)
        n += len(units)
    assert n > 300


def test_turn_labels_may_start_with_a_non_ascii_capital():
    text = "Émile: Trade grew.\n\nİlham: Security too.\n\nnote: lower-case labels are not turns."
    units = segment(doc(text, "interview"))
    assert [u.unit_type for u in units] == ["turn", "turn"]
    assert units[1].text == "İlham: Security too.\n\nnote: lower-case labels are not turns."
