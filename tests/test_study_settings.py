"""A study's own settings (period, referenced years, colours) come from its
codebook, not from the library."""

from __future__ import annotations

from conftest import TINY_CODEBOOK, coded_tiny

from coding import exchange as refi
from coding.codebook import parse_codebook
from coding.jobs import pipeline

SETTINGS = """  study_period: [2019, 2021]
  referenced_years: [2015, 2025]
  variable_colours: {economic: "#112233"}
"""


def _with_settings(text: str) -> str:
    return text.replace("settings:\n", "settings:\n" + SETTINGS, 1)


def test_report_and_exports_use_the_codebook_settings(tiny, tmp_path):
    corpus, codebook, out = tiny
    codebook.write_text(_with_settings(TINY_CODEBOOK), encoding="utf-8")
    (corpus / "docs" / "a.txt").write_text("Gas trade in 2010 and 2020.\n\nMilitants crossed the border.\n",
                                           encoding="utf-8")
    pipeline.run(corpus, codebook, out, progress=False)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "The study period is 2019-2021." in html and "each year from 2015 to 2025" in html
    years = (out / "tables" / "frequencies_by_referenced_year.csv").read_text(encoding="utf-8")
    assert "2020" in years and "2010" not in years
    qdc = refi.export_codebook(parse_codebook(_with_settings(TINY_CODEBOOK), "cb.yaml"), tmp_path / "cb.qdc")
    assert 'color="#112233"' in qdc.read_text(encoding="utf-8")


def test_without_a_study_period_the_report_states_none(tmp_path):
    out = coded_tiny(tmp_path).parent
    assert "The study period is" not in (out / "report.html").read_text(encoding="utf-8")
