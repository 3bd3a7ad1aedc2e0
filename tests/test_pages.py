"""Coded documents, code retrieval and speakers."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import DOCS, TINY_CODEBOOK, prepared, write_corpus

from coding.cli import main
from coding.jobs import pipeline

pytestmark = pytest.mark.report

COLOURS = "  variable_colours:\n    economic: '#123456'\n    strategic: '#abcdef'\n    regional_security: '#0f0f0f'\n"


def _coloured(root):
    corpus = write_corpus(root)
    codebook = root / "codebook.yaml"
    codebook.write_text(TINY_CODEBOOK.replace("settings:\n", "settings:\n" + COLOURS), encoding="utf-8")
    (corpus / "coders").mkdir()
    # a:p0001: economic, as auto; b:p0001: nothing, where auto codes economic (trade)
    (corpus / "coders" / "human-1.csv").write_text("unit_id,variable\na:p0001,economic\nb:p0001,\n",
                                                   encoding="utf-8")
    pipeline.run(corpus, codebook, root / "outputs", progress=False)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """The tiny corpus with configured colours and a person who coded two units at the variable
    level, run into ./outputs (a copy of one run per test process)."""
    prepared("pages-coloured", _coloured, tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "outputs"


def _unit(html: str, unit_id: str) -> str:
    start = html.index(f'id="{unit_id}"')
    start = html.rindex("<div", 0, start)
    return html[start:html.index("</aside>", start)]


def test_a_page_per_document_with_stripes_labels_and_underlined_evidence(project):
    report = (project / "report.html").read_text(encoding="utf-8")
    assert 'href="documents/a.html"' in report and 'href="documents/b.html"' in report
    page = (project / "documents" / "a.html").read_text(encoding="utf-8")
    assert "<script" not in page and "http://" not in page and "https://" not in page
    unit = _unit(page, "a:p0002")  # Militants ... Pak Afghan border and joint exercises
    assert 'style="background: #abcdef"' in unit and 'style="background: #0f0f0f"' in unit
    assert 'style="background: #123456"' not in unit
    assert "Defence cooperation" in unit and "Terrorism" in unit
    assert '<span class="evu">Militants</span>' in unit and '<span class="evu">joint exercises</span>' in unit
    # the uncoded unit is there, unmarked
    plain = _unit(page, "a:p0003")
    assert "Nothing to see here" in plain and "stripe" not in plain.split('class="utext"')[0].split("stripes")[1]


def test_document_pages_compare_two_coders(project):
    assert main(["report", "--coders", "auto,human-1", "--out", "compare"]) == 0
    page = (project.parent / "compare" / "documents" / "b.html").read_text(encoding="utf-8")
    differs = re.findall(r'<div class="unit[^"]*differs[^"]*" id="([^"]+)"', page)
    assert differs == ["b:p0001"]
    unit = _unit(page, "b:p0001")
    assert "auto: Trade" in unit and "human-1: no code" in unit
    same = (project.parent / "compare" / "documents" / "a.html").read_text(encoding="utf-8")
    assert not re.findall(r'<div class="unit[^"]*differs', same)
    assert "human-1: not seen" in _unit(same, "a:p0002")


def test_a_page_per_code_retrieves_its_segments_in_order(project):
    page = (project / "codes" / "trade.html").read_text(encoding="utf-8")
    ids = re.findall(r'<figure class="quote segment" id="([^"]+)">', page)
    assert ids == ["a:p0001", "b:p0001"]  # document order, then position
    assert '<mark class="ev">trade</mark>' in page and '<mark class="ev">exports</mark>' in page
    assert "<cite>Doc B, official statement, 2021-05-02, src b</cite>" in page
    assert 'href="../documents/b.html#b:p0001"' in page
    # key words in context, one row per match, aligned in three columns
    rows = re.findall(r'<td class="left">([^<]*)</td><td class="term">([^<]*)</td>', page)
    assert [t for _, t in rows] == ["trade", "exports"]
    report = (project / "report.html").read_text(encoding="utf-8")
    assert '<a href="codes/trade.html">trade</a>' in report


def test_pages_escape_the_text(tiny):
    corpus, codebook, out = tiny
    (corpus / "docs" / "a.txt").write_text("Gas <script>alert(1)</script> & trade.\n", encoding="utf-8")
    pipeline.run(corpus, codebook, out, progress=False)
    for page in ("documents/a.html", "codes/energy.html"):
        html = (out / page).read_text(encoding="utf-8")
        assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in html


INTERVIEW = ("Interviewer: What about gas?\n\nDr Ahmed: The gas pipeline matters, and trade too.\n\n"
             "Interviewer: And terrorism?\n\nDr Ahmed: Militants crossed the border.\n")


def _with_interview(root):
    corpus = write_corpus(root, {**DOCS, "i": ("Interview I", "interview", "2022", INTERVIEW)})
    (root / "codebook.yaml").write_text(TINY_CODEBOOK, encoding="utf-8")
    pipeline.run(corpus, root / "codebook.yaml", root / "outputs", progress=False)


@pytest.fixture
def interview(tmp_path, monkeypatch):
    """The tiny corpus and an interview, run into ./outputs (a copy of one run per test process)."""
    prepared("pages-interview", _with_interview, tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "outputs"


def test_units_of_speaker_turns_carry_the_speaker(interview):
    seg = pd.read_csv(interview / "segments.csv", keep_default_na=False)
    turns = seg[seg["document_id"] == "i"]
    assert list(turns["speaker"]) == ["Interviewer", "Dr Ahmed", "Interviewer", "Dr Ahmed"]
    assert set(seg.loc[seg["document_id"] != "i", "speaker"]) == {""}
    matrix = pd.read_csv(interview / "tables" / "unit_by_code.csv", keep_default_na=False)
    assert list(matrix.loc[matrix["document_id"] == "i", "speaker"]) == list(turns["speaker"])


def test_a_report_can_leave_out_interviewer_turns(interview):
    assert main(["report", "--skip-speaker", "interviewer"]) == 0
    folder = interview / "reports" / "without-interviewer"
    freq = pd.read_csv(folder / "tables" / "frequencies.csv", keep_default_na=False)
    assert set(freq["units_total"]) == {5 + 2}  # the five units of a and b, the two answers
    matrix = pd.read_csv(folder / "tables" / "unit_by_code.csv", keep_default_na=False)
    assert "Interviewer" not in set(matrix["speaker"])
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "without units spoken by interviewer" in html
    assert main(["report", "--speaker", "Dr Ahmed", "--out", "answers"]) == 0
    answers = pd.read_csv(interview.parent / "answers" / "tables" / "unit_by_code.csv", keep_default_na=False)
    assert list(answers["unit_id"]) == ["i:t0002", "i:t0004"]


def test_one_coder_named_shows_its_codes_on_the_pages_without_agreement(project):
    assert main(["report", "--coders", "human-1", "--out", "one"]) == 0
    folder = project.parent / "one"
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert 'id="agreement"' not in html
    unit = _unit((folder / "documents" / "a.html").read_text(encoding="utf-8"), "a:p0001")
    assert "Economic" in unit and "Energy" not in unit  # human-1's variable, not auto's codes


def test_document_pages_show_every_coder_unless_coders_narrows(project):
    # the run's own report: no --coders, so the person's coding is on the page beside auto's
    page = (project / "documents" / "b.html").read_text(encoding="utf-8")
    unit = _unit(page, "b:p0001")
    assert "auto: Trade" in unit and "human-1: no code" in unit
    assert main(["report", "--coders", "auto", "--out", "only-auto"]) == 0
    page = (project.parent / "only-auto" / "documents" / "b.html").read_text(encoding="utf-8")
    assert "human-1" not in page
