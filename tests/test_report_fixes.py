"""What a user hit in the report (issue 11, section 3): each test failed before its fix."""

from __future__ import annotations

import os
import re
import time

import openpyxl
import pandas as pd
import pytest
from conftest import TINY_CODEBOOK, prepared, write_corpus

from coding.cli import main
from coding.jobs import pipeline
from coding.store import Store

pytestmark = pytest.mark.report


def _coders(corpus, **files):
    (corpus / "coders").mkdir(exist_ok=True)
    for name, text in files.items():
        (corpus / "coders" / f"{name}.csv").write_text(text, encoding="utf-8")


# human-1 saw two units and coded variables only: economic in one of them
HUMAN_1 = "unit_id,variable\na:p0001,economic\nb:p0001,\n"
# human-2 saw the same two units: economic in both
HUMAN_2 = "unit_id,variable\na:p0001,economic\nb:p0001,economic\n"


def _two_people(root):
    corpus = write_corpus(root)
    (root / "codebook.yaml").write_text(TINY_CODEBOOK, encoding="utf-8")
    _coders(corpus, **{"human-1": HUMAN_1, "human-2": HUMAN_2})
    pipeline.run(corpus, root / "codebook.yaml", root / "outputs", progress=False)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """The tiny corpus run into ./outputs (the default place) with two human coders
    (a copy of one run per test process)."""
    prepared("report-two-people", _two_people, tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _freq(folder):
    return pd.read_csv(folder / "tables" / "frequencies.csv", keep_default_na=False)


def test_shares_are_over_the_units_the_coder_saw_and_no_phantom_code_row(project):
    assert main(["report", "--coder", "human-1", "--out", "h1"]) == 0
    freq = _freq(project / "h1")
    # no code rows at all (the coder coded variables only), in particular none with an empty code
    assert set(freq["level"]) == {"variable"}
    economic = freq[freq["variable"] == "economic"].iloc[0]
    assert (economic["units_coded"], economic["units_total"]) == (1, 2)  # of the 2 units seen, not of 5
    assert economic["unit_share"] == 0.5
    html = (project / "h1" / "report.html").read_text(encoding="utf-8")
    assert "saw 2 of the 5 units" in html


def test_a_filtered_report_says_so_goes_to_its_own_folder_and_filters_agreement(project):
    main_report = (project / "outputs" / "report.html").read_bytes()
    assert main(["report", "--doc-type", "official_statement"]) == 0
    assert (project / "outputs" / "report.html").read_bytes() == main_report  # not overwritten
    folder = project / "outputs" / "reports" / "official_statement"
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert re.search(r"<title>[^<]*doc type official_statement</title>", html)
    assert "Filtered report" in html and "This report keeps only doc type official_statement" in html
    # the agreement section counts only b:p0001, the one unit of the selection the people saw
    section = html[html.index('id="agreement"'):]
    rows = re.findall(r"<tr><th scope=\"row\">human-1 vs human-2</th><td>(\w+)</td><td>(\d+)</td>", section)
    assert rows and {n for _, n in rows if _ != "ALL"} == {"1"}


@pytest.mark.parametrize("args", [["--doc-type", "nonexistent"], ["--from", "2030", "--to", "2010"]])
def test_a_filter_matching_nothing_is_an_error_and_writes_nothing(project, capsys, args):
    before = {p: p.stat().st_mtime_ns for p in (project / "outputs").rglob("*") if p.is_file()}
    assert main(["report", *args]) == 1
    assert "matches the filters" in capsys.readouterr().err
    after = {p: p.stat().st_mtime_ns for p in (project / "outputs").rglob("*") if p.is_file()}
    assert after == before and not (project / "outputs" / "reports").exists()


def test_commands_find_the_store_in_the_default_place(project, capsys):
    assert main(["report", "--out", "elsewhere"]) == 0
    assert (project / "elsewhere" / "report.html").is_file()
    assert main(["agree", "--coders", "human-1,human-2", "--out", "agree"]) == 0
    assert main(["validate", "--coder", "human-1", "--out", "valid"]) == 0
    assert main(["export", "project", "--out", "exchange/project.qdpx"]) == 0
    assert (project / "exchange" / "project.qdpx").is_file()


def test_coders_option_chooses_the_agreement_coders(project):
    assert main(["report", "--coders", "human-1,human-2", "--out", "two"]) == 0
    html = (project / "two" / "report.html").read_text(encoding="utf-8")
    section = html[html.index('id="agreement"'):]
    assert "human-1 vs human-2" in section and "auto vs" not in section
    assert main(["report", "--out", "all"]) == 0
    assert "auto vs human-1" in (project / "all" / "report.html").read_text(encoding="utf-8")


def test_coders_remove(project, capsys):
    store = project / "outputs" / "project.sqlite"
    assert main(["coders", "remove", "human-1"]) == 0
    assert "removed coder human-1: 1 codings on 2 units" in capsys.readouterr().out
    with Store(store) as s:
        assert "human-1" not in set(s.coverage()["coder"])
        assert "human-1" not in set(s.frames()[2]["coder"])
    # the automatic coder's codings are not removed without --force
    assert main(["coders", "remove", "auto"]) == 2
    assert "--force" in capsys.readouterr().err
    with Store(store) as s:
        assert "auto" in set(s.coverage()["coder"])
    assert main(["coders", "remove", "auto", "--force"]) == 0
    with Store(store) as s:
        assert "auto" not in set(s.coverage()["coder"])
    assert main(["coders", "remove", "nobody"]) == 2


def test_html_tables_are_complete_with_readable_headers(project):
    html = (project / "outputs" / "report.html").read_text(encoding="utf-8")
    section = html[html.index('id="table-frequencies"'):html.index('id="table-frequencies_by_doc_type"')]
    assert "First " not in section
    freq = _freq(project / "outputs")
    assert section.count("<tr><th scope=\"row\">") == len(freq)
    # the interval shown is the one that resamples documents; the CSV keeps the Wilson interval too
    assert '<th scope="col" title="unit_share_cl_low">Share: 95% low (by document)</th>' in section
    assert ">unit_share_cl_low<" not in html and ">unit_share_ci_low<" not in html
    assert "unit_share_ci_low" in (project / "outputs" / "tables" / "frequencies.csv").read_text()


def test_proportions_print_as_percentages_with_one_decimal():
    from coding.reports.text import format_cell

    assert format_cell(0.50431, "unit_share") == "50.4%"
    assert format_cell(0.0, "share_a") == "0.0%"
    assert format_cell(-0.1128, "difference") == "-11.3 pts"
    assert format_cell(1.2345678, "lift") == "1.2346"  # not a proportion


def test_tiny_p_values_print_as_less_than():
    from coding.reports.text import format_cell

    assert format_cell(3e-9, "fisher_p") == "< 0.0001"
    assert format_cell(0.00012, "fisher_p") == "0.0001"
    assert format_cell(0.0, "fisher_p") == "< 0.0001"
    assert format_cell(0.04, "fisher_p") == "0.0400"
    assert format_cell(0.5, "lift") == "0.5"


def test_workbook_is_easy_to_open(project):
    book = openpyxl.load_workbook(project / "outputs" / "tables.xlsx")
    sheet = book["frequencies"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == sheet.dimensions
    assert all(cell.font.bold for cell in sheet[1])
    headers = [c.value for c in sheet[1]]
    share = sheet.cell(row=2, column=headers.index("unit_share") + 1)
    assert share.data_type == "n" and isinstance(share.value, float)
    label = headers.index("label") + 1
    assert sheet.column_dimensions[openpyxl.utils.get_column_letter(label)].width >= len("Regional security")


def test_progress_only_when_asked_or_on_a_terminal(project, capsys):
    from coding.reports.project import build_report

    with Store(project / "outputs" / "project.sqlite") as store:
        build_report(store, project / "p1", progress=True)
        err = capsys.readouterr().err
        for stage in ("tables", "figures", "agreement"):
            assert stage in err
        build_report(store, project / "p2")  # standard error is not a terminal under pytest
        assert capsys.readouterr().err == ""


def test_an_unchanged_rerun_rewrites_nothing_and_says_so(project, capsys):
    assert main(["report", "--out", "again"]) == 0
    files = [p for p in (project / "again").rglob("*") if p.is_file()]
    old = time.time() - 1000
    for p in files:
        os.utime(p, (old, old))
    capsys.readouterr()
    assert main(["report", "--out", "again"]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert all(p.stat().st_mtime == pytest.approx(old) for p in files)


def test_referenced_year_table_in_the_report_keeps_to_the_study_period(tiny):
    corpus, codebook, out = tiny
    text = codebook.read_text(encoding="utf-8").replace("settings:\n", "settings:\n  study_period: [2012, 2023]\n")
    codebook.write_text(text, encoding="utf-8")
    (corpus / "docs" / "a.txt").write_text("Gas in 1951 and trade in 2015.\n\nMore gas in 2020.\n", encoding="utf-8")
    pipeline.run(corpus, codebook, out, progress=False)
    html = (out / "report.html").read_text(encoding="utf-8")
    section = html[html.index('id="table-frequencies_by_referenced_year"'):]
    section = section[:section.index("</table>")]
    years = set(re.findall(r"<tr><th scope=\"row\">(\d{4})</th>", section))
    assert years == {"2015", "2020"}
    assert "1951" in (out / "tables" / "frequencies_by_referenced_year.csv").read_text()


def test_exemplar_citations_are_clean():
    from coding.reports.text import citation

    assert citation("Chapter Four: Results", "thesis_chapter", "2024", "A thesis, 2024, chapter four.") \
        == "Chapter Four: Results, thesis chapter, 2024, A thesis, 2024, chapter four"
    assert citation("Doc A", "interview", "", "Doc A.") == "Doc A, interview"


def test_report_quotes_highlight_evidence_with_clean_citations(project):
    html = (project / "outputs" / "report.html").read_text(encoding="utf-8")
    section = html[html.index('id="exemplars"'):]
    # each quotation marks the evidence of its own code
    assert '<blockquote><mark class="ev">Gas</mark> <mark class="ev">pipelines</mark> and trade grew.' in section
    assert '<blockquote>Gas pipelines and <mark class="ev">trade</mark> grew.' in section
    assert "<cite>Doc A, thesis chapter, 2020, src a</cite>" in section


def test_kwic_contexts_are_cut_between_words(tiny):
    corpus, codebook, out = tiny
    words = " ".join(f"word{i:03d}" for i in range(60))
    (corpus / "docs" / "a.txt").write_text(f"{words} gas {words}.\n", encoding="utf-8")
    pipeline.run(corpus, codebook, out, progress=False)
    kwic = pd.read_csv(out / "tables" / "kwic.csv", keep_default_na=False)
    row = kwic[kwic["term"] == "gas"].iloc[0]
    assert row["left"].startswith("\u2026word") and row["right"].endswith("\u2026")
    assert all(re.fullmatch(r"word\d{3}", w) for w in row["left"][1:].split())
    assert all(re.fullmatch(r"word\d{3}", w) for w in row["right"][:-1].split())


def test_an_unchanged_run_leaves_the_manifest_alone(tiny):
    corpus, codebook, out = tiny
    pipeline.run(corpus, codebook, out, progress=False)
    manifest = out / "manifest.json"
    old = time.time() - 1000
    os.utime(manifest, (old, old))
    pipeline.run(corpus, codebook, out, progress=False)
    assert manifest.stat().st_mtime == pytest.approx(old)
