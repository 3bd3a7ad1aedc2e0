"""`coding run` and `coding report`: byte-identical outputs, honest empty reports."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import coded_tiny

from coding.cli import main
from coding.jobs import pipeline

pytestmark = pytest.mark.report


def files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in (".csv", ".html", ".png")}


@pytest.mark.figures
def test_two_runs_give_byte_identical_outputs(tiny):
    corpus, codebook, out = tiny
    pipeline.run(corpus, codebook, out / "one", progress=False)
    pipeline.run(corpus, codebook, out / "two", progress=False)
    one, two = files(out / "one"), files(out / "two")
    assert "report.html" in one and "tables/frequencies.csv" in one and "figures/code_frequencies.png" in one
    assert one == two


def test_report_for_another_coder_and_filters(tiny, capsys):
    corpus, codebook, out = tiny
    (corpus / "coders").mkdir()
    (corpus / "coders" / "human-1.csv").write_text("unit_id,code\na:p0001,energy\nb:p0001,\n", encoding="utf-8")
    pipeline.run(corpus, codebook, out, progress=False)
    assert main(["report", "--out", str(out / "h"), "--store", str(out / "project.sqlite"),
                 "--coder", "human-1"]) == 0
    freq = pd.read_csv(out / "h" / "tables" / "frequencies.csv", keep_default_na=False)
    energy = freq[(freq["level"] == "code") & (freq["code"] == "energy")].iloc[0]
    assert energy["units_coded"] == 1
    # a filter that matches nothing: an error (exit 1), nothing written
    assert main(["report", "--out", str(out / "none"), "--store", str(out / "project.sqlite"),
                 "--doc-type", "no_such_type"]) == 1
    assert not (out / "none").exists()
    assert main(["report", "--out", str(out / "y"), "--store", str(out / "project.sqlite"),
                 "--from", "2021", "--to", "2021"]) == 0
    by_doc = pd.read_csv(out / "y" / "tables" / "frequencies_by_document.csv")
    assert set(by_doc["document_id"]) == {"b"}


def test_report_doc_type_list_may_have_spaces_after_commas(tmp_path):
    out = coded_tiny(tmp_path).parent
    assert main(["report", "--out", str(out / "t"), "--store", str(out / "project.sqlite"),
                 "--doc-type", "thesis_chapter, official_statement"]) == 0
    by_doc = pd.read_csv(out / "t" / "tables" / "frequencies_by_document.csv")
    assert set(by_doc["document_id"]) == {"a", "b"}


def test_control_characters_in_texts_do_not_break_the_workbook(tiny):
    corpus, codebook, out = tiny
    # pdftotext and some exports leave form feeds (page breaks) inside paragraphs
    (corpus / "docs" / "a.txt").write_text("Gas trade.\x0cMore gas here.\x01\n", encoding="utf-8")
    pipeline.run(corpus, codebook, out, progress=False)
    sheet = pd.read_excel(out / "tables.xlsx", sheet_name="exemplars")
    assert "Gas trade. More gas here. " in set(sheet["text"])
    segments = pd.read_csv(out / "segments.csv")
    assert "Gas trade.\x0cMore gas here.\x01" in set(segments["text"])  # the CSVs keep the exact text


@pytest.mark.figures  # figures of nothing are the edge case of rendering
def test_corpus_without_codings_gives_an_empty_report(tiny):
    corpus, codebook, out = tiny
    text = codebook.read_text(encoding="utf-8")
    for pats in ("[gas, pipeline, nuclear power, \"re:\\\\bLNG\\\\b\"]", "[trade, investment, export]",
                 "[joint exercise, defence agreement, nuclear weapon, helicopter]",
                 "[terrorism, militant, Pak-Afghan border]"):
        assert pats in text, pats
        text = text.replace(pats, "[zzzqqq]")
    codebook.write_text(text, encoding="utf-8")
    summary = pipeline.run(corpus, codebook, out, progress=False)
    assert sum(summary.codings_per_variable.values()) == 0
    assert (out / "report.html").is_file()
    assert len(pd.read_csv(out / "tables" / "kwic.csv")) == 0


def test_report_without_a_store_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no outputs/project.sqlite here, whatever folder the tests run from
    assert main(["report", "--out", str(tmp_path / "report")]) == 2
    assert "no project store" in capsys.readouterr().err
