"""Reports at scale: the workbook stays within Excel's limits, the per-document index is a group-by."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from coding.reports import tables as T
from coding.reports import workbook, write_report


def _data():
    from test_reports import make_data

    return make_data()


def test_workbook_leaves_per_unit_and_oversized_tables_to_csv(tmp_path, monkeypatch):
    # a tiny row limit stands in for Excel's 1,048,576 rows
    monkeypatch.setattr(workbook, "XLSX_MAX_ROWS", 4)
    paths = write_report(_data(), tmp_path)
    book = openpyxl.load_workbook(paths["tables.xlsx"])
    for name in T.CSV_ONLY_TABLES:
        assert name not in book.sheetnames and paths[f"tables/{name}"].is_file()
    readme = pd.read_excel(paths["tables.xlsx"], sheet_name="README")
    notes = dict(zip(readme["table"], readme["in_workbook"]))
    assert notes["kwic"].startswith("CSV only")
    freq = pd.read_csv(paths["tables/frequencies"])
    assert len(freq) + 1 > 4 and "frequencies" not in book.sheetnames
    assert "more than an Excel sheet holds" in notes["frequencies"]
    assert notes["codebook"] == "yes" or "codebook" not in book.sheetnames


def test_workbook_leaves_too_wide_tables_to_csv(tmp_path, monkeypatch):
    monkeypatch.setattr(workbook, "XLSX_MAX_COLUMNS", 3)
    paths = write_report(_data(), tmp_path)
    book = openpyxl.load_workbook(paths["tables.xlsx"])
    assert "code_by_document" not in book.sheetnames and "README" in book.sheetnames


def test_an_unchanged_rerun_skips_the_report_and_a_change_rebuilds_it(tiny, monkeypatch):
    from coding.jobs import pipeline
    from coding.reports import project

    corpus, codebook, out = tiny
    first = pipeline.run(corpus, codebook, out, progress=False)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.suffix in {".csv", ".html", ".xlsx"}}
    built = []
    real = project.build_report
    monkeypatch.setattr(project, "build_report", lambda *a, **k: built.append(1) or real(*a, **k))
    again = pipeline.run(corpus, codebook, out, progress=False)
    assert built == [] and again.outputs == first.outputs
    assert {p: p.read_bytes() for p in before} == before
    (out / "report.html").unlink()  # an output gone: rebuilt
    pipeline.run(corpus, codebook, out, progress=False)
    assert built == [1] and (out / "report.html").read_bytes() == before[out / "report.html"]
    doc = next((corpus / "docs").glob("*.txt"))
    doc.write_text(doc.read_text(encoding="utf-8") + "\nMore gas and trade here.\n", encoding="utf-8")
    pipeline.run(corpus, codebook, out, progress=False)  # the store changed: rebuilt
    assert built == [1, 1] and (out / "report.html").read_bytes() != before[out / "report.html"]


@pytest.mark.figures
def test_code_by_document_figure_sums_runs_of_documents_on_a_large_corpus(tmp_path, monkeypatch):
    import numpy as np

    from coding.reports import figures as F

    counts, labels = F._document_columns(np.arange(10.0).reshape(2, 5), list("abcde"))
    assert counts.shape == (2, 5)
    monkeypatch.setattr(F, "MAX_DOCUMENT_COLUMNS", 2)
    counts, labels = F._document_columns(np.arange(10.0).reshape(2, 5), list("abcde"))
    assert labels == ["a\u2026c", "d\u2026e"] and counts.tolist() == [[3.0, 7.0], [18.0, 17.0]]
    monkeypatch.setattr(F, "MAX_DOCUMENT_COLUMNS", 1)
    paths = write_report(_data(), tmp_path)
    assert paths["figures/code_by_document"].stat().st_size > 0
