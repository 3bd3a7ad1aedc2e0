"""Report tables are declared once (coding.reports.registry): a declaration alone puts a table in its
CSV file, the workbook and the HTML report; the declared columns are the written ones."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest
from test_reports import make_data

from coding.reports import ReportContext, compute_tables, registry, write_report
from coding.reports.context import context_of
from coding.reports.registry import Shown, TableSpec


def _words_per_document(ctx: ReportContext) -> pd.DataFrame:
    """Words of each document's units of the report, in document order."""
    words = ctx.units.groupby("_doc")["words"].sum()
    return pd.DataFrame({"document_id": list(ctx.documents["id"]),
                         "words": [int(words.get(i, 0)) for i in range(len(ctx.documents))]})


def _declare(monkeypatch, spec: TableSpec) -> None:
    monkeypatch.setitem(registry.TABLES, spec.name, spec)


def _sheets(path) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


def test_a_declared_table_reaches_the_csv_the_workbook_and_the_report(tmp_path, monkeypatch):
    _declare(monkeypatch, TableSpec("words_per_document", "Words of each document's units.",
                                    lambda ctx, options: _words_per_document(ctx), ["document_id", "words"],
                                    shown=Shown(), place=0.5))
    data = make_data()
    paths = write_report(data, tmp_path)

    csv = pd.read_csv(paths["tables/words_per_document"])
    expected = data.units.assign(n=data.units["text"].str.split().str.len()).groupby("document_id")["n"].sum()
    assert csv.to_dict("list") == {"document_id": ["d1", "d2"], "words": [int(expected["d1"]), int(expected["d2"])]}

    sheets = _sheets(paths["tables.xlsx"])
    assert sheets["words_per_document"][0] == ("document_id", "words")
    assert sheets["words_per_document"][1:] == [("d1", int(expected["d1"])), ("d2", int(expected["d2"]))]
    readme = {row[1]: row for row in sheets["README"][1:]}
    assert readme["words_per_document"] == ("words_per_document", "words_per_document",
                                            "Words of each document's units.", "tables/words_per_document.csv",
                                            "yes")

    html = paths["report.html"].read_text(encoding="utf-8")
    section = html[html.index('id="table-words_per_document"'):]
    assert "Words of each document&#39;s units." in section[:2000]
    assert 'href="tables/words_per_document.csv"' in section[:2000]
    # placed second among the shown tables: after frequencies, before the doc type breakdown
    assert html.index('id="table-frequencies"') < html.index('id="table-words_per_document"') \
        < html.index('id="table-frequencies_by_doc_type"')


def test_a_table_declared_for_its_csv_only_is_linked_not_shown(tmp_path, monkeypatch):
    _declare(monkeypatch, TableSpec("words_per_document", "Words of each document's units.",
                                    lambda ctx, options: _words_per_document(ctx), ["document_id", "words"],
                                    workbook=False))
    paths = write_report(make_data(), tmp_path)
    assert paths["tables/words_per_document"].is_file()
    sheets = _sheets(paths["tables.xlsx"])
    assert "words_per_document" not in sheets
    readme = {row[1]: row for row in sheets["README"][1:]}
    assert readme["words_per_document"][4].startswith("CSV only")
    html = paths["report.html"].read_text(encoding="utf-8")
    assert 'id="table-words_per_document"' not in html
    further = html[html.index('id="table-files"'):]
    assert '<a href="tables/words_per_document.csv">tables/words_per_document.csv</a> (2 rows)' in further


def test_columns_follow_the_declaration(monkeypatch):
    # computed in another order: written in the declared one
    _declare(monkeypatch, TableSpec("words_per_document", "", lambda ctx, options: _words_per_document(ctx),
                                    ["words", "document_id"]))
    assert list(compute_tables(make_data())["words_per_document"].columns) == ["words", "document_id"]
    # a declared column the computation does not give is an error, not an empty column
    _declare(monkeypatch, TableSpec("words_per_document", "", lambda ctx, options: _words_per_document(ctx),
                                    ["document_id", "words", "units"]))
    with pytest.raises(ValueError, match="words_per_document"):
        compute_tables(make_data())


def test_every_declared_table_is_computed_with_its_declared_columns():
    data = make_data()
    tables = compute_tables(data)
    assert list(tables) == list(registry.TABLES)
    ctx = context_of(data)
    for name, spec in registry.TABLES.items():
        assert list(tables[name].columns) == spec.columns_of(ctx), name
        assert spec.description, name
