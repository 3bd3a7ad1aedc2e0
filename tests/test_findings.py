"""The Findings section: sentences filled in from the tables, each linked to its table."""

from __future__ import annotations

import dataclasses
import re
import shutil
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


def _write(folder):
    data = make_data()
    data = ReportData(data.documents, data.units, data.codings, StudyBook(), data.coder)
    return write_report(data, folder)


@pytest.fixture(scope="module")
def study_report(tmp_path_factory):
    """The report of the hand-made study, written once for the module: (folder, its paths)."""
    folder = tmp_path_factory.mktemp("study_report")
    return folder, _write(folder)


def _report(tmp_path, study_report):
    """A copy in ``tmp_path`` of the study's report: (paths, report.html's text)."""
    folder, written = study_report
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    paths = {name: tmp_path / path.relative_to(folder) for name, path in written.items()}
    return paths, paths["report.html"].read_text(encoding="utf-8")


def _findings(html: str) -> str:
    return html[html.index('<section id="findings">'):html.index('<section id="method">')]


def _text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def test_findings_come_first_one_part_per_variable_in_codebook_order(tmp_path, study_report):
    _, html = _report(tmp_path, study_report)
    assert html.index('id="findings"') < html.index('id="method"') < html.index('id="tables"')
    parts = re.findall(r'<section class="finding" id="finding-(\w+)">', html)
    assert parts == ["economic", "strategic"]


def test_prevalence_and_leading_codes_are_the_tables_numbers(tmp_path, study_report):
    import pandas as pd

    paths, html = _report(tmp_path, study_report)
    text = _text(_findings(html))
    # economic: u1..u5 of 6 units, in both documents (see test_reports.make_data)
    freq = pd.read_csv(paths["tables/frequencies"])
    row = freq[(freq["level"] == "variable") & (freq["variable"] == "economic")].iloc[0]
    interval = ("no interval: too few documents or no spread between them" if pd.isna(row.unit_share_cl_low) else
                f"95% interval, documents resampled, {100 * row.unit_share_cl_low:.1f}% to "
                f"{100 * row.unit_share_cl_high:.1f}%")
    assert f"Economic is coded in 5 of 6 units (83.3%; {interval}) and in 2 of 2 documents." in text
    lo, hi = wilson_interval(5, 6)  # the interval that takes units as independent is not the one quoted
    assert f"{100 * lo[()]:.1f}% to {100 * hi[()]:.1f}%" not in text
    assert ("Its 2 leading codes are Trade and investment (4 units, 66.7%) and Energy (3 units, 50.0%).") in text
    assert "Its leading code is Defence cooperation (2 units, 33.3%)." in text


def test_movement_over_referenced_and_document_years(tmp_path, study_report):
    _, html = _report(tmp_path, study_report)
    text = _text(_findings(html))
    # economic units mention 2014 (u1, u2) and 2018 (u2, u5): each year 2 of 2 units
    assert ("Of the years 2012-2023, units coded Economic refer to 2; most often to 2014 "
            "(2 of the 2 units that mention it, 100.0%).") in text
    # counts of mentions are no longer read as a trend
    assert "such mentions fall in" not in text
    # 2 units in 1 document against 2 in 2: too few for any comparison, and the report says so
    assert "No comparison by the years units refer to: too few to compare: 2 units in 1 documents against 2 in 2" \
        in text
    # document years 2015 (3 units) and 2020 (3 units): too few as well
    assert "No comparison by the documents&#39; own dates: too few to compare: 3 units in 1 documents" in \
        _findings(html).replace("\n", " ") or "No comparison by the documents' own dates: too few" in text
    assert "figures/findings_economic.png" in html


def _comparison(**values):
    import pandas as pd

    row = {"comparison": "document_year", "level": "variable", "variable": "economic", "code": "", "label": "Economic",
           "group_a": "2012-2017", "group_b": "2018-2023", "units_a": 40, "documents_a": 8, "coded_a": 10,
           "share_a": 0.25, "units_b": 50, "documents_b": 9, "coded_b": 30, "share_b": 0.6, "difference": 0.35,
           "difference_cl_low": 0.1, "difference_cl_high": 0.55, "verdict": "higher", "note": ""}
    row.update(values)
    return pd.DataFrame([row])


def test_comparisons_say_higher_lower_or_no_clear_difference_as_the_interval_allows():
    from coding.reports.findings import compared

    var = {"id": "economic", "label": "Economic"}
    (s,) = compared(var, _comparison(), "document_year")
    assert str(s["html"]).startswith("Compared by the documents&#39; own dates, the share coded Economic is higher "
                                     "in 2018-2023 than in 2012-2017: 30 of 50 units of documents dated 2018-2023 "
                                     "(60.0%, 9 documents) against 10 of 40")
    assert "difference +35.0 points, 95% interval with documents resampled +10.0 points to +55.0 points" in s["html"]
    (s,) = compared(var, _comparison(verdict="no clear difference", difference_cl_low=-0.05), "document_year")
    assert "no clear difference" in s["html"] and "higher" not in s["html"]
    (s,) = compared(var, _comparison(verdict="", note="all but 17 units are dated 2024; no comparison by "
                                     "document year"), "document_year")
    assert str(s["html"]) == "All but 17 units are dated 2024; no comparison by document year."
    assert s["ref"] == "#table-comparisons"


def test_cooccurrence_is_tested_within_documents(tmp_path, study_report):
    import pandas as pd

    paths, html = _report(tmp_path, study_report)
    text = _text(_findings(html))
    pairs = pd.read_csv(paths["tables/cooccurrence_pairs"])
    r = pairs[(pairs["level"] == "variable") & (pairs["context"] == "unit")].iloc[0]
    # economic (5) and strategic (2) share u2 u3; no document varies in both, so nothing can be tested
    assert pd.isna(r.p_within)
    assert (f"Economic and Strategic share 2 of 6 units (33.3%), which cannot be tested against their documents' "
            f"shares: {r.expected_within:.1f} expected within documents, p undefined") in text.replace("&#39;", "'")
    assert "chance would give" not in text


def test_every_sentence_links_to_a_table_of_the_report(tmp_path, study_report):
    _, html = _report(tmp_path, study_report)
    refs = re.findall(r'<a class="ref" href="#([\w-]+)">', _findings(html))
    assert len(refs) >= 8
    for ref in set(refs):
        assert f'id="{ref}"' in html, ref


def test_quotations_highlight_the_variables_evidence_with_a_clean_citation(tmp_path, study_report):
    _, html = _report(tmp_path, study_report)
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


@pytest.mark.figures
def test_two_more_figures(tmp_path, study_report):
    paths, html = _report(tmp_path, study_report)
    for name in ("code_by_document", "units_by_document_date", "findings_economic", "findings_strategic"):
        assert paths[f"figures/{name}"].stat().st_size > 1000
    assert 'id="figure-code_by_document"' in html and 'id="figure-units_by_document_date"' in html


def test_the_document_date_figure_shows_shares_per_variable_with_documents_of_one_date_apart():
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from coding.reports.figures import _by_document_date

    by_doc = pd.DataFrame({
        "level": "variable", "variable": ["economic", "economic", "economic", "strategic", "strategic", "strategic"],
        "document_id": ["a", "b", "c"] * 2, "units_coded": [1, 0, 30, 1, 1, 10], "units_total": [1, 2, 60] * 2})
    freq = pd.DataFrame({"level": "variable", "variable": ["economic", "strategic"], "label": ["Economic", "Strategic"],
                         "units_coded": [31, 12]})
    dates = pd.Series({"a": "2024", "b": "2024", "c": "2019-05-01"})
    fig = _by_document_date({"frequencies_by_document": by_doc, "frequencies": freq}, {}, dates)
    axes = fig.get_axes()
    assert [ax.get_title(loc="left") for ax in axes] == ["Economic", "Strategic"]  # a panel per variable
    points = axes[0].collections[0].get_offsets()
    assert sorted(round(float(y), 1) for y in points[:, 1]) == [0.0, 50.0, 100.0]  # shares, not counts
    xs = sorted(float(x) for x in points[:, 0])
    assert xs[2] - xs[1] > 0.1  # the two documents of 2024 side by side, not on one spot
    sizes = axes[0].collections[0].get_sizes()
    assert sizes[2] > sizes[0]  # a longer document is a larger point
