"""The Findings section: sentences filled in from the tables, each linked to its table."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

import pytest
from test_reports import BOOK, make_data

from coding.codebook import StudySettings
from coding.reports import ReportData, write_report
from coding.reports.findings import excerpt
from coding.reports.tables import wilson_interval

pytestmark = pytest.mark.report


@dataclass(frozen=True)
class StudyBook:
    version: str = BOOK.version
    name: str = "Hand-made study"
    variables: tuple = BOOK.variables
    codes: tuple = BOOK.codes
    settings: StudySettings = field(default_factory=lambda: StudySettings(study_period=(2012, 2023)))


def _report(tmp_path, data=None):
    data = data or make_data()
    data = ReportData(data.documents, data.units, data.codings, StudyBook(), data.coder)
    paths = write_report(data, tmp_path)
    return paths, paths["report.html"].read_text(encoding="utf-8")


def _findings(html: str) -> str:
    return html[html.index('<section id="findings">'):html.index('<section id="method">')]


def _text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def test_findings_come_first_one_part_per_variable_in_codebook_order(tmp_path):
    _, html = _report(tmp_path)
    assert html.index('id="findings"') < html.index('id="method"') < html.index('id="tables"')
    parts = re.findall(r'<section class="finding" id="finding-(\w+)">', html)
    assert parts == ["economic", "strategic"]


def test_prevalence_and_leading_codes_are_the_tables_numbers(tmp_path):
    _, html = _report(tmp_path)
    text = _text(_findings(html))
    # economic: u1..u5 of 6 units, in both documents (see test_reports.make_data)
    lo, hi = wilson_interval(5, 6)
    assert (f"Economic is coded in 5 of 6 units (83.3%; 95% interval {100 * lo[()]:.1f}% to "
            f"{100 * hi[()]:.1f}%) and in 2 of 2 documents.") in text
    assert ("Its 2 leading codes are Trade and investment (4 units, 66.7%) and Energy (3 units, 50.0%).") in text
    assert "Its leading code is Defence cooperation (2 units, 33.3%)." in text


def test_movement_over_referenced_and_document_years(tmp_path):
    _, html = _report(tmp_path)
    text = _text(_findings(html))
    # economic units mention 2014 (u1, u2) and 2018 (u2, u5): each year 2 of 2 units
    assert ("Of the years 2012-2023, units coded Economic refer to 2; most often to 2014 "
            "(2 of the 2 units that mention it, 100.0%).") in text
    assert "Counted once per year mentioned, 2 such mentions fall in 2012-2017 and 2 in 2018-2023." in text
    # document years 2015 (3 units, economic in 3) and 2020 (3 units, economic in 2)
    assert ("the share of units coded Economic ranges from 66.7% of 3 units (2020) to 100.0% of 3 units "
            "(2015)") not in text  # fewer than five units a year: no range is claimed
    assert "figures/findings_economic.png" in html


def test_range_over_document_years_uses_years_with_enough_units():
    import pandas as pd

    from coding.reports.findings import over_document_years

    table = pd.DataFrame({"level": "variable", "variable": "economic", "document_year": [2014, 2015, 2016],
                          "units_total": [10, 4, 20], "unit_share": [0.1, 0.0, 0.55]})
    (sentence,) = over_document_years({"id": "economic", "label": "Economic"}, table)
    assert str(sentence["html"]) == ("By the documents&#39; own dates (years with at least 5 units), the share of "
                                     "units coded Economic ranges from 10.0% of 10 units (2014) to 55.0% of 20 "
                                     "units (2016).")
    assert sentence["ref"] == "#table-frequencies_by_document_year"


def test_cooccurrence_states_lift_phi_and_p(tmp_path):
    _, html = _report(tmp_path)
    text = _text(_findings(html))
    # economic (5) and strategic (2) share u2 u3: expected 10/6, lift 1.2, phi 0.3162, Fisher p = 1
    assert ("Economic and Strategic share 2 units, about as often as chance would give: 1.7 expected, "
            "lift 1.20, phi 0.32, p = 1.0000.") in text


def test_every_sentence_links_to_a_table_of_the_report(tmp_path):
    _, html = _report(tmp_path)
    refs = re.findall(r'<a class="ref" href="#([\w-]+)">', _findings(html))
    assert len(refs) >= 8
    for ref in set(refs):
        assert f'id="{ref}"' in html, ref


def test_quotations_highlight_the_variables_evidence_with_a_clean_citation(tmp_path):
    _, html = _report(tmp_path)
    part = _findings(html)
    part = part[part.index('id="finding-economic"'):part.index('id="finding-strategic"')]
    quotes = re.findall(r"<blockquote>(.*?)</blockquote>", part, flags=re.S)
    assert 1 <= len(quotes) <= 3
    assert '<mark class="ev">trade</mark>' in quotes[0] and '<mark class="ev">investment</mark>' in quotes[0]
    assert "<cite>Chapter 3, thesis chapter, 2015-06-01, Thesis (2015), ch. 3</cite>" in part
    assert "<script>" not in html


def test_labels_are_escaped_in_sentences(tmp_path):
    book = StudyBook()
    variables = (dataclasses.replace(book.variables[0], label="Economic <b>& co</b>"), book.variables[1])
    data = make_data()
    data = ReportData(data.documents, data.units, data.codings, dataclasses.replace(book, variables=variables))
    html = write_report(data, tmp_path)["report.html"].read_text(encoding="utf-8")
    assert "Economic &lt;b&gt;&amp; co&lt;/b&gt; is coded in 5 of 6 units" in html
    assert "<b>& co</b>" not in html


def test_long_quotations_keep_their_sentences_with_evidence():
    text = "First sentence here. " * 30 + "The gas pipeline grew. " + "Last sentence here. " * 30
    start = text.index("gas")
    shown = str(excerpt(text, [(start, start + 3)], max_words=20))
    assert shown == '[\u2026] The <mark class="ev">gas</mark> pipeline grew. [\u2026]'


def test_two_more_figures(tmp_path):
    paths, html = _report(tmp_path)
    for name in ("code_by_document", "units_by_document_date", "findings_economic", "findings_strategic"):
        assert paths[f"figures/{name}"].stat().st_size > 1000
    assert 'id="figure-code_by_document"' in html and 'id="figure-units_by_document_date"' in html
