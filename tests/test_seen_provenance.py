"""Seen sets with provenance (recorded or inferred at import), the --seen rule
of the agreement audit, and unitized agreement over the store's codings."""

from __future__ import annotations

import sqlite3
import zipfile

import pandas as pd
import pytest
from conftest import coded_tiny

from coding import exchange as refi
from coding.agreement.audit import audit_agreement, coverage_by_rule, presence_codes
from coding.agreement.span_agreement import common_sections, spans_from_rows, unitized_agreement
from coding.agreement.unitized import Span, unitized_table
from coding.cli import main
from coding.errors import CodingError
from coding.records import Coding
from coding.store import SCHEMA_VERSION, Store

# a reviewer who recoded two units in another program, coding them as auto did
REVIEWED = [("a:p0001", "economic", "energy"), ("a:p0001", "economic", "trade"),
            ("b:p0002", "regional_security", "terrorism"), ("b:p0002", "strategic", "defence")]
ALL_UNITS = ["a:p0001", "a:p0002", "a:p0003", "b:p0001", "b:p0002"]


def _reviewer(store: Store, seen: str) -> None:
    version = store.current_codebook()
    codings = [Coding(u, code, variable, "reviewer", version) for u, variable, code in REVIEWED]
    # an import that finds no record of what was seen takes every unit of the coded documents
    store.replace_coder("reviewer", ALL_UNITS, codings, version, kind="import", source="r.qdpx", seen=seen)


def _all_row(table: pd.DataFrame) -> pd.Series:
    return table.set_index("item").loc["ALL"]


def test_inferred_seen_sets_are_flagged_and_taken_by_rule(tmp_path, capsys):
    path = coded_tiny(tmp_path)
    with Store(path) as store:
        _reviewer(store, "inferred-coded")
        assert store.seen_provenance() == {"reviewer": "inferred-coded"}
        guessed = audit_agreement(store, ["auto", "reviewer"], n_resamples=50)
        own = audit_agreement(store, ["auto", "reviewer"], n_resamples=50, seen_rule="coded-units")
        assert _all_row(guessed)["n_units"] == 15 and _all_row(guessed)["krippendorff_alpha"] == 0.5397
        assert _all_row(own)["n_units"] == 6 and _all_row(own)["krippendorff_alpha"] == 1.0
        # the array path of the report takes the same units
        coders, seen, _codes = presence_codes(store, ["economic"], seen_rule="coded-units")
        assert seen[coders.index("reviewer")].sum() == 2 and seen[coders.index("auto")].sum() == 5
        # a recorded seen set is kept whatever the rule
        _reviewer(store, "recorded")
        assert _all_row(audit_agreement(store, ["auto", "reviewer"], n_resamples=50, seen_rule="coded-units"))[
            "n_units"] == 15
        with pytest.raises(CodingError, match="unknown seen rule"):
            coverage_by_rule(store, store.coverage(), ["reviewer"], "everything")
        _reviewer(store, "inferred-documents")

    capsys.readouterr()
    out = tmp_path / "agree"
    assert main(["agree", "--coders", "auto,reviewer", "--store", str(path), "--out", str(out),
                 "--resamples", "100", "--seen", "coded-units"]) == 0
    printed = capsys.readouterr().out
    assert ("note: the units reviewer saw were inferred at import (--seen documents), not recorded; "
            "taken here as --seen coded-units (the other choice: --seen coded-documents)") in printed
    table = pd.read_csv(out / "agreement" / "auto-vs-reviewer-variable" / "agreement.csv")
    assert _all_row(table)["n_units"] == 6


def test_import_records_where_the_seen_units_come_from(tmp_path, capsys):
    path = coded_tiny(tmp_path)
    with Store(path) as store:
        cb = store.codebook()
        version = store.current_codebook()
        store.replace_coder("human-1", ALL_UNITS[:3], [Coding("a:p0001", "energy", "economic", "human-1", version)],
                            version)
        assert store.seen_provenance() == {"human-1": "recorded"}  # a coder file: recorded
        qdpx = refi.export_project(store, tmp_path / "p.qdpx", coders=["auto", "human-1"])
        refi.import_project(store, qdpx, "back", cb, user="human-1")
        assert store.seen_provenance()["back"] == "recorded"  # from 'units seen by human-1'
        with zipfile.ZipFile(qdpx) as zf:
            files = {n: zf.read(n) for n in zf.namelist()}
        qde = next(n for n in files if n.endswith(".qde"))
        files[qde] = files[qde].replace(b"units seen by human-1", b"pages read by human-1")
        stripped = tmp_path / "stripped.qdpx"
        with zipfile.ZipFile(stripped, "w") as zf:
            for name, data in files.items():
                zf.writestr(name, data)
        refi.import_project(store, stripped, "guess", cb, user="human-1")
        refi.import_project(store, stripped, "guess2", cb, user="human-1", seen="documents")
        provenance = store.seen_provenance()
        assert (provenance["guess"], provenance["guess2"]) == ("inferred-coded", "inferred-documents")
    capsys.readouterr()
    assert main(["import", str(stripped), "--coder", "cli", "--user", "human-1", "--store", str(path),
                 "--codebook", str(tmp_path / "codebook.yaml")]) == 0
    assert "coding agree --seen coded-units counts only the units the coder coded" in capsys.readouterr().out
    with Store(path) as store:
        assert store.seen_provenance()["cli"] == "inferred-coded"


def test_an_older_store_gains_the_column(tmp_path):
    path = coded_tiny(tmp_path)
    with Store(path) as store:
        _reviewer(store, "inferred-coded")
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE coders DROP COLUMN seen")
    db.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.seen_provenance() == {"reviewer": ""}  # not known: stored before it was kept
        assert store.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
            SCHEMA_VERSION)
        assert _all_row(audit_agreement(store, ["auto", "reviewer"], n_resamples=20, seen_rule="coded-units"))[
            "n_units"] == 15  # only an inferred set is narrowed


def test_unitized_agreement_of_unit_codings(tmp_path, capsys):
    path = coded_tiny(tmp_path)
    with Store(path) as store:
        _reviewer(store, "inferred-coded")
        rows = store.unit_spans(["auto", "reviewer"])
        assert ("reviewer", "a", 0, 29, "energy", "economic") in rows
        assert len(rows) == 7 + 4
        sections = common_sections(store, ["auto", "reviewer"], "coded-units")
        assert sections == {"a": [(0, 29)], "b": [(49, 87)]}
        table = unitized_agreement(store, ["auto", "reviewer"], seen_rule="coded-units", n_resamples=50)
        row = _all_row(table)
        assert (row["u_alpha"], row["cu_alpha"]) == (1.0, 1.0)
        assert row["binary_alpha"] != row["binary_alpha"]  # every character coded by both: no gap, undefined
        guessed = unitized_agreement(store, ["auto", "reviewer"], n_resamples=50)
        # the same figures from the spans written out by hand
        spans, variable_of = spans_from_rows(rows)
        units = {"a": [(0, 29), (31, 100), (102, 143)], "b": [(0, 47), (49, 87)]}
        assert guessed.equals(unitized_table(spans, units, ["auto", "reviewer"], variable_of, n_resamples=50))
        assert _all_row(guessed)["u_alpha"] < 1
        # a further span row (a selection that is not a whole unit) is one more row in
        more = unitized_agreement(store, ["auto", "reviewer"], n_resamples=50,
                                  spans=[("reviewer", "a", 40, 60, "defence", "strategic", "")])
        assert _all_row(more)["u_alpha"] != _all_row(guessed)["u_alpha"]
        assert spans_from_rows([("x", "d", 1, 2, "", "economic")]) == ([Span("x", "d", 1, 2, "economic")],
                                                                        {"economic": "economic"})

    out = tmp_path / "agree"
    assert main(["agree", "--coders", "auto,reviewer", "--store", str(path), "--out", str(out),
                 "--resamples", "100", "--unitized"]) == 0
    printed = capsys.readouterr().out
    assert "unitized agreement" in printed and "agreement_unitized.csv" in printed
    written = pd.read_csv(out / "agreement" / "auto-vs-reviewer-variable" / "agreement_unitized.csv")
    assert list(written["item"]) == list(guessed["item"])
    assert written["u_alpha"].tolist() == pytest.approx(guessed["u_alpha"].tolist(), nan_ok=True)


@pytest.mark.report
def test_the_report_flags_inferred_seen_sets_and_shows_unitized_agreement(tmp_path):
    from coding.reports.project import build_report, unitized_summary

    path = coded_tiny(tmp_path)
    with Store(path) as store:
        _reviewer(store, "inferred-coded")
        build_report(store, tmp_path / "own", seen_rule="coded-units")
        build_report(store, tmp_path / "guessed")
        with_auto = audit_agreement(store, ["auto", "reviewer"], n_resamples=20).assign(coders="auto vs reviewer")
        table, notes = unitized_summary(store, with_auto, seen_rule="coded-units", n_resamples=50)
    assert notes == ["The units reviewer saw were inferred when its codings were imported (--seen coded), "
                     "not recorded; they are taken as --seen coded-units."]
    assert table["Level"].tolist() == ["variable"] * 3 + ["all"] and set(table["Coders"]) == {"auto vs reviewer"}
    assert table["uα"].tolist() == [1.0] * 4
    own = (tmp_path / "own" / "report.html").read_text(encoding="utf-8")
    guessed = (tmp_path / "guessed" / "report.html").read_text(encoding="utf-8")
    for html in (own, guessed):
        assert "Unitized agreement (Krippendorff, Mathet, Bouvry and Widlöcher 2016)" in html
        assert "auto vs reviewer" in html
    assert "they are taken as --seen coded-units." in own and "they are taken as --seen coded-documents." in guessed


def test_agree_unitized_without_a_unit_all_saw_writes_nothing(tmp_path, capsys):
    path = coded_tiny(tmp_path)
    with Store(path) as store:
        version = store.current_codebook()
        store.replace_coder("one", ["a:p0001"], [], version)
        store.replace_coder("two", ["b:p0001"], [], version)
    out = tmp_path / "agree"
    assert main(["agree", "--coders", "auto,one,two", "--store", str(path), "--out", str(out), "--unitized"]) != 0
    assert "no unit was seen by every one of auto, one, two" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())
