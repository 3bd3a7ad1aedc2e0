"""Reports read texts one document at a time and write long tables in pieces:
the outputs equal those computed from frames held whole in memory."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from conftest import DOCS, write_corpus

from coding.jobs import pipeline
from coding.reports import ReportData, compute_tables, frequencies, output, quotes
from coding.reports import tables as T
from coding.reports.project import report_data, speakers_of
from coding.store import Store

# ids out of alphabetical order: reports follow the manifest's order
MORE = {f"{'zyxwvu'[i]}{i}": (f"Doc X{i}", "interview" if i % 2 else "official_statement", f"20{10 + i}",
                  f"Q: trade?\n\nA: Gas and trade, then a pipeline in {2000 + i}.\n\n"
                  f"Militants and terrorism near the Pak-Afghan border; trade again in 2014.\n")
        for i in range(6)}


@pytest.fixture
def project(tmp_path, tiny):
    _, codebook, out = tiny
    corpus = write_corpus(tmp_path / "many", {**DOCS, **MORE})
    pipeline.run(corpus, codebook, out, progress=False, report=False)
    return out


def _in_memory(store: Store, coder: str = "auto") -> ReportData:
    """The report data as it was built before texts stayed in the store: whole frames with texts and evidence."""
    documents, units, codings = store.frames(coder=coder)
    units["speaker"] = speakers_of(store, units)
    coverage = store.coverage()
    seen = frozenset(coverage.loc[coverage["coder"] == coder, "unit_id"])
    return ReportData(documents, units, codings, store.codebook(), coder, seen=seen or None)


def test_streamed_tables_equal_tables_held_in_memory(project, tmp_path, monkeypatch):
    # tiny pieces and spill blocks, so that every table is written in several pieces
    monkeypatch.setattr(quotes, "SPILL_ROWS", 2)
    monkeypatch.setattr(output, "CSV_PIECE_ROWS", 3)
    monkeypatch.setattr(frequencies, "DOCUMENTS_PER_PIECE", 3)
    from coding.reports import write_report

    with Store(project / "project.sqlite") as store:
        expected = compute_tables(_in_memory(store))
        data = report_data(store)
        assert "text" not in data.units.columns and "evidence" not in data.codings.columns
        paths = write_report(data, tmp_path / "report")
    assert len(expected["kwic"]) > 6 and len(expected["unit_by_code"]) > 6
    for name, frame in expected.items():
        assert paths[f"tables/{name}"].read_bytes() == frame.to_csv(index=False, lineterminator="\n").encode(), name


def test_a_filtered_report_reads_the_same_from_the_store(project):
    with Store(project / "project.sqlite") as store:
        mem = T.filter_data(_in_memory(store), doc_types=["interview"], year_from=2012)
        expected = compute_tables(mem)
        got = compute_tables(report_data(store, doc_types=["interview"], year_from=2012))
    for name in expected:
        pd.testing.assert_frame_equal(got[name], expected[name], check_dtype=False, obj=name)
    assert set(got["kwic"]["document_id"]) <= set(MORE)


def test_code_pages_list_the_first_units_and_link_the_csvs(project, tmp_path, monkeypatch):
    monkeypatch.setattr(quotes, "CODE_PAGE_UNITS", 2)
    monkeypatch.setattr(quotes, "CODE_PAGE_KWIC", 3)
    from coding.reports.project import build_report

    with Store(project / "project.sqlite") as store:
        build_report(store, tmp_path / "report", progress=False)
        kwic = pd.read_csv(tmp_path / "report" / "tables" / "kwic.csv")
    page = (tmp_path / "report" / "codes" / "trade.html").read_text(encoding="utf-8")
    trade = kwic[kwic["code"] == "trade"]
    units = trade["unit_id"].nunique()
    assert units > 2 and page.count('class="quote segment"') == 2
    assert f"{units} unit(s) coded" in page and "The first 2 are shown here" in page
    assert f"The first 3 of {len(trade)} evidence matches" in page and "tables/kwic.csv" in page
    # a match whose unit is not on the page links to its document page
    assert "../documents/" in page.split('id="kwic"')[1]


def test_an_unchanged_long_table_is_left_alone(tmp_path):
    from coding.files import write_if_changed

    target = tmp_path / "t.csv"
    assert write_if_changed(target, lambda fh: fh.write(b"a,b\n1,2\n"), binary=True)
    os.utime(target, (1, 1))
    assert not write_if_changed(target, lambda fh: fh.write(b"a,b\n1,2\n"), binary=True)
    assert target.stat().st_mtime == 1
    assert write_if_changed(target, lambda fh: fh.write(b"a,b\n1,3\n"), binary=True)
    assert target.read_bytes() == b"a,b\n1,3\n" and [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_the_report_lists_the_first_documents_of_a_large_corpus(project, tmp_path, monkeypatch):
    from coding.reports import html
    from coding.reports.project import build_report

    monkeypatch.setattr(html, "REPORT_DOCUMENT_LINKS", 2)
    with Store(project / "project.sqlite") as store:
        build_report(store, tmp_path / "report", progress=False)
    report = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    total = len(DOCS) + len(MORE)
    assert f"The first 2 of {total} documents" in report
    listed = report.split("<h3>Documents</h3>")[1].split("<h3>Codes</h3>")[0]
    assert listed.count('<li><a href="documents/') == 2
    assert len(list((tmp_path / "report" / "documents").glob("*.html"))) == total


def test_frequencies_counted_in_blocks_equal_one_pass(project, monkeypatch):
    with Store(project / "project.sqlite") as store:
        whole = compute_tables(report_data(store))
        monkeypatch.setattr(frequencies, "FREQUENCY_BLOCK", 3)  # many blocks of members, each group split across them
        blocks = compute_tables(report_data(store))
    for name in ("frequencies", "frequencies_by_document", "frequencies_by_doc_type",
                 "frequencies_by_document_year", "frequencies_by_referenced_year"):
        assert whole[name]["units_coded"].sum() > 3, name
        pd.testing.assert_frame_equal(blocks[name], whole[name], obj=name)


@pytest.mark.parametrize("groups, docs", [
    ([0, 0, 0, 1, 1], [0, 0, 1, 1, 2]),  # runs of one (group, document) each
    ([0, 1, 0, 1, 2], [4, 4, 4, 7, 7]),  # (0, 4) and (1, 4) come back after another pair
    ([], []),
])
def test_document_pairs_name_each_group_and_document_once(groups, docs):
    pair_group, pair = frequencies._document_pairs(np.array(groups, dtype=np.int64), np.array(docs, dtype=np.int64))
    members = list(zip(groups, docs))
    assert len(pair_group) == len(set(members))
    for i, (g, d) in enumerate(members):
        assert pair_group[pair[i]] == g
        assert all((pair[i] == pair[j]) == (members[j] == (g, d)) for j in range(len(members)))
