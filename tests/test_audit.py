"""The agreement audit on the tiny corpus: importing coders, agreement,
disagreements, validation, adjudication and their commands.

Automatic coding of the tiny corpus (variable level):
a:p0001 economic; a:p0002 regional_security, strategic; a:p0003 none;
b:p0001 economic; b:p0002 regional_security, strategic.
"""

from __future__ import annotations

import csv
import math
import shutil

import pytest
from conftest import coded_tiny

from coding.agreement import audit, validation
from coding.cli import main
from coding.coder_files import import_coder
from coding.errors import CodingError
from coding.files import write_frame
from coding.jobs import pipeline
from coding.store import Store

# h1 never saw b:p0002; differs from auto on a:p0002 (no regional_security) and a:p0003 (economic)
H1 = "unit_id,variable\na:p0001,economic\na:p0002,strategic\na:p0003,economic\nb:p0001,economic\n"
# wide file; differs from h1 on a:p0002 (regional_security) and a:p0003 (economic)
H2 = ("unit_id,economic,strategic,regional_security\n"
      "a:p0001,1,0,0\na:p0002,0,1,1\na:p0003,0,0,0\nb:p0001,1,0,0\nb:p0002,0,0,1\n")
# code level; a:p0003 seen, nothing coded
H3 = "unit_id,code\na:p0001,energy\na:p0002,defence\na:p0003,\n"


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def coded(tmp_path_factory):
    """The tiny project (as the ``tiny`` fixture builds it) coded once per module."""
    return coded_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def project(coded, tmp_path):
    """(store path, folder for coder files): a fresh copy of the coded tiny project."""
    db = tmp_path / "out" / "project.sqlite"
    db.parent.mkdir()
    shutil.copyfile(coded, db)  # the run closed the store, so the file holds everything
    files = tmp_path / "coders"
    files.mkdir()
    for name, content in (("h1", H1), ("h2", H2), ("h3", H3)):
        (files / f"{name}.csv").write_text(content, encoding="utf-8")
    return db, files


def test_run_imports_corpus_coders_and_agree_reads_them(tiny, tmp_path):
    corpus, codebook, out = tiny
    (corpus / "coders").mkdir()
    (corpus / "coders" / "h1.csv").write_text(H1, encoding="utf-8")
    pipeline.run(corpus, codebook, out, progress=False)
    assert main(["agree", "--coders", "auto,h1", "--out", str(out), "--resamples", "100"]) == 0
    assert read_csv(out / "agreement" / "auto-vs-h1-variable" / "agreement.csv")[0]["krippendorff_alpha"] == "0.5333"


def imported(project, *names, replace=False):
    db, files = project
    with Store(db) as store:
        for name in names:
            import_coder(store, files / f"{name}.csv", name, replace=replace)
    return db


def test_import_and_list(project, capsys):
    db, files = project
    assert main(["coders", "import", str(files / "h1.csv"), "--coder", "h1", "--store", str(db)]) == 0
    assert "4 units, 4 codings" in capsys.readouterr().out
    assert main(["coders", "import", str(files / "h2.csv"), "--coder", "h2", "--store", str(db)]) == 0
    assert main(["coders", "list", "--store", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split() for line in lines[1:]] == [
        ["coder", "units", "codings", "orphaned", "units", "orphaned", "codings"],
        ["auto", "5", "7", "0", "0"], ["h1", "4", "4", "0", "0"], ["h2", "5", "5", "0", "0"]]


def test_unknown_units_or_codes_are_listed_and_nothing_is_imported(project, capsys):
    db, files = project
    bad = files / "bad.csv"
    bad.write_text("unit_id,variable\na:p0001,economic\nzz:p0001,economic\nzz:p0002,strategic\n",
                   encoding="utf-8")
    assert main(["coders", "import", str(bad), "--coder", "h1", "--store", str(db)]) == 2
    err = capsys.readouterr().err
    assert "unknown unit id(s): zz:p0001, zz:p0002" in err and "bad.csv" in err
    bad.write_text("unit_id,code\na:p0001,energy\na:p0002,shipping\n", encoding="utf-8")
    assert main(["coders", "import", str(bad), "--coder", "h1", "--store", str(db)]) == 2
    assert "unknown code(s) or variable(s): shipping" in capsys.readouterr().err
    with Store(db) as store:
        assert [c[0] for c in store.coders()] == ["auto"]


def test_reimport_replaces_the_coder(project):
    db, files = project
    imported(project, "h1")
    (files / "h1.csv").write_text("unit_id,variable\nb:p0002,strategic\n", encoding="utf-8")
    with Store(db) as store, pytest.raises(CodingError, match="already in the store .4 codings.; add --replace"):
        import_coder(store, files / "h1.csv", "h1")
    imported(project, "h1", replace=True)
    with Store(db) as store:
        assert ("h1", 1, 1) in store.coders()
        _, _, codings = store.frames(coder="h1")
    assert list(zip(codings["unit_id"], codings["variable"])) == [("b:p0002", "strategic")]


def test_auto_cannot_be_overwritten(project):
    db, files = project
    with Store(db) as store, pytest.raises(CodingError, match="automatic coder"):
        import_coder(store, files / "h1.csv", "auto")


def test_agreement_values_by_hand_and_missing_units(project):
    db = imported(project, "h1")
    with Store(db) as store:
        table = audit.audit_agreement(store, ["auto", "h1"], n_resamples=50).set_index("item")
    # b:p0002 was seen by auto only: 4 shared units, not 5
    assert set(table["n_units"]) == {4, 12}
    eco = table.loc["economic"]
    # auto 1,0,0,1 against h1 1,0,1,1
    assert eco["percent_agreement"] == 0.75
    assert eco["cohen_kappa"] == 0.5  # po .75, pe .5*.75 + .5*.25 = .5
    # coincidences o11 = 4, o00 = 2, o01 = o10 = 1; n1 = 5, n0 = 3: 1 - 7*2/(2*5*3)
    assert eco["krippendorff_alpha"] == round(1 - 14 / 30, 4)
    assert (eco["n11"], eco["n10"], eco["n01"], eco["n00"]) == (2, 0, 1, 1)
    assert table.loc["strategic", "percent_agreement"] == 1.0
    assert table.loc["regional_security", "n10"] == 1


def test_agree_writes_tables_disagreements_and_figure(project, capsys, tmp_path):
    db = imported(project, "h1")
    out = tmp_path / "audit"
    argv = ["agree", "--coders", "auto,h1", "--store", str(db), "--out", str(out), "--resamples", "100"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "economic" in printed and "0.750" in printed and "ALL" in printed
    out = out / "agreement" / "auto-vs-h1-variable"
    rows = read_csv(out / "agreement.csv")
    assert [r["item"] for r in rows] == ["economic", "regional_security", "strategic", "ALL"]
    assert rows[0]["krippendorff_alpha"] == "0.5333" and rows[0]["paradox"] in ("true", "false")
    diffs = read_csv(out / "disagreements.csv")
    assert [(d["unit_id"], d["auto"], d["h1"], d["differ"]) for d in diffs] == [
        ("a:p0002", "regional_security;strategic", "strategic", "regional_security"),
        ("a:p0003", "", "economic", "economic"),
    ]
    assert diffs[0]["document_id"] == "a" and diffs[0]["text"].startswith("Militants crossed")
    first = {p: (out / p).read_bytes() for p in ("agreement.csv", "disagreements.csv", "agreement_alpha.png")}
    assert first["agreement_alpha.png"].startswith(b"\x89PNG")
    assert main(argv) == 0
    assert first == {p: (out / p).read_bytes() for p in first}  # deterministic, figure included


def test_each_pair_of_coders_keeps_its_own_agreement_files(project, tmp_path):
    db = imported(project, "h1", "h2")
    out = tmp_path / "audit"
    for pair in ("auto,h1", "h1,h2"):
        assert main(["agree", "--coders", pair, "--store", str(db), "--out", str(out), "--resamples", "100"]) == 0
    first = read_csv(out / "agreement" / "auto-vs-h1-variable" / "agreement.csv")
    second = read_csv(out / "agreement" / "h1-vs-h2-variable" / "agreement.csv")
    assert first != second  # the second pair did not overwrite the first
    assert first[0]["krippendorff_alpha"] == "0.5333" and second[1]["krippendorff_alpha"] == "0.0000"


def test_three_coders_use_fleiss(project):
    db = imported(project, "h1", "h2")
    with Store(db) as store:
        table = audit.audit_agreement(store, ["auto", "h1", "h2"], n_resamples=20).set_index("item")
        diffs = audit.disagreements(store, ["auto", "h1", "h2"])
    # b:p0002 is seen by auto and h2: two coders, so it counts
    assert table.loc["economic", "n_units"] == 5
    assert math.isnan(table.loc["economic", "cohen_kappa"]) and not math.isnan(table.loc["economic", "fleiss_kappa"])
    # disagreements need every named coder: b:p0002 (not seen by h1) is left out
    assert list(diffs["unit_id"]) == ["a:p0002", "a:p0003"]


def test_validate_by_hand(project, tmp_path, capsys):
    db = imported(project, "h1")
    out = tmp_path / "val"
    assert main(["validate", "--coder", "h1", "--store", str(db), "--out", str(out)]) == 0
    assert "precision" in capsys.readouterr().out
    rows = {r["item"]: r for r in read_csv(out / "validation.csv")}
    assert set(rows) == {"economic", "regional_security", "strategic", "ALL"}  # h1 coded variables only
    eco = rows["economic"]  # auto 1,0,0,1 against h1 1,0,1,1
    assert (eco["n_units"], eco["tp"], eco["fp"], eco["fn"], eco["tn"]) == ("4", "2", "0", "1", "1")
    assert (eco["precision"], eco["recall"], eco["f1"]) == ("1.0000", "0.6667", "0.8000")
    rs = rows["regional_security"]  # auto 0,1,0,0 against 0,0,0,0: no gold positive
    assert (rs["precision"], rs["recall"], rs["f1"]) == ("0.0000", "", "0.0000")
    assert (rows["ALL"]["tp"], rows["ALL"]["fp"], rows["ALL"]["fn"], rows["ALL"]["f1"]) == ("3", "1", "1", "0.7500")
    errors = read_csv(out / "validation_errors.csv")
    assert [(e["item"], e["error"], e["unit_id"], e["term"]) for e in errors] == [
        ("economic", "false_negative", "a:p0003", ""),
        ("regional_security", "false_positive", "a:p0002", "Militants"),
        ("regional_security", "false_positive", "a:p0002", "Pak Afghan border"),
    ]
    assert errors[0]["context"] == "Nothing to see here (Trade Review, 2019)."
    assert errors[1]["context"].startswith("[Militants] crossed the Pak Afghan")
    assert errors[2]["context"].startswith("Militants crossed the [Pak Afghan border] and joint")
    assert errors[2]["code"] == "terrorism" and errors[2]["pattern"] == "Pak-Afghan border"


def test_validate_at_code_level_when_the_person_coded_codes(project):
    db = imported(project, "h3")
    with Store(db) as store:
        table, errors = validation.validation(store, "h3")
    assert list(table["level"].unique()) == ["variable", "code"]
    trade = errors[(errors["level"] == "code") & (errors["item"] == "trade")]
    assert list(trade["context"]) == ["Gas pipelines and [trade] grew."]
    energy = table[(table["level"] == "code") & (table["item"] == "energy")].iloc[0]
    assert (energy["tp"], energy["fp"], energy["fn"]) == (1, 0, 0)


def test_kwic_and_abridge():
    text = "x" * 100 + " needle " + "y" * 100
    assert validation.kwic(text, 101, 107) == "... " + "x" * 59 + " [needle] " + "y" * 59 + " ..."
    long = " ".join(["word"] * 100)
    short = validation.abridge(long)
    assert short.endswith(" ...") and len(short) <= 304 and "\n" not in validation.abridge("a\n\nb")


def test_reconcile_round_trip(project, tmp_path, capsys):
    db = imported(project, "h1", "h2")
    sheet = tmp_path / "adjudication.csv"
    assert main(["reconcile", "--coders", "h1,h2", "--out", str(sheet), "--store", str(db)]) == 0
    rows = read_csv(sheet)
    assert list(rows[0]) == ["unit_id", "document_id", "text", "level", "item", "h1", "h2", "decision", "start", "end",
                            "text_hash"]
    assert [(r["unit_id"], r["item"], r["h1"], r["h2"], r["decision"]) for r in rows] == [
        ("a:p0002", "regional_security", "0", "1", ""),
        ("a:p0003", "economic", "1", "0", ""),
    ]
    # an undecided sheet is refused
    assert main(["coders", "import", str(sheet), "--coder", "consensus", "--store", str(db)]) == 2
    assert "no decision" in capsys.readouterr().err
    rows[0]["decision"], rows[1]["decision"] = "1", "0"
    with open(sheet, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert main(["coders", "import", str(sheet), "--coder", "consensus", "--store", str(db)]) == 0
    with Store(db) as store:
        # every unit both saw, the ones they agreed on (a:p0001, b:p0001) too
        assert ("consensus", 4, 4) in store.coders()
        _, _, codings = store.frames(coder="consensus")
        # a:p0002: regional_security as decided, strategic as both coders had it; a:p0003: nothing
        assert sorted(zip(codings["unit_id"], codings["variable"], codings["code"])) == [
            ("a:p0001", "economic", ""), ("a:p0002", "regional_security", ""), ("a:p0002", "strategic", ""),
            ("b:p0001", "economic", "")]
        cov = store.coverage()
    assert sorted(cov.loc[cov["coder"] == "consensus", "unit_id"]) == ["a:p0001", "a:p0002", "a:p0003", "b:p0001"]


def test_stale_or_incomplete_sheet_is_refused(project, tmp_path):
    db, files = project
    (files / "h4.csv").write_text("unit_id,variable\na:p0001,strategic\n", encoding="utf-8")
    imported(project, "h4")
    path = tmp_path / "adj.csv"
    with Store(db) as store:
        sheet = audit.reconcile_sheet(store, ["auto", "h4"])
        assert list(sheet["item"]) == ["economic", "strategic"]
        sheet["decision"] = "1"
        write_frame(path, sheet.iloc[:1])  # a disputed item lost its row
        with pytest.raises(CodingError, match="without a row"):
            import_coder(store, path, "consensus")
        write_frame(path, sheet)
    (files / "h4.csv").write_text("unit_id,variable\na:p0001,economic\n", encoding="utf-8")
    imported(project, "h4", replace=True)  # h4 changed after the sheet was written
    with Store(db) as store:
        with pytest.raises(CodingError, match="no longer matches"):
            import_coder(store, path, "consensus")
        assert "consensus" not in [c[0] for c in store.coders()]


def test_reconcile_at_code_level(project, tmp_path):
    db = imported(project, "h3")
    with Store(db) as store:
        sheet = audit.reconcile_sheet(store, ["auto", "h3"], level="code")
        assert set(sheet["level"]) == {"code"}
        assert ("a:p0001", "trade") in set(zip(sheet["unit_id"], sheet["item"]))
        sheet["decision"] = [1 if item == "trade" else 0 for item in sheet["item"]]
        write_frame(tmp_path / "adj.csv", sheet)
        import_coder(store, tmp_path / "adj.csv", "consensus")
        _, _, codings = store.frames(coder="consensus")
    # a:p0001: energy agreed, trade decided; a:p0002: defence agreed, terrorism decided 0
    assert list(zip(codings["unit_id"], codings["code"])) == [
        ("a:p0001", "energy"), ("a:p0001", "trade"), ("a:p0002", "defence")]


def test_cli_errors_exit_2(project, tmp_path, capsys):
    db = imported(project, "h1")
    out = str(tmp_path / "o")
    assert main(["agree", "--coders", "auto,nobody", "--store", str(db), "--out", out]) == 2
    assert "unknown coder(s): nobody" in capsys.readouterr().err
    assert main(["agree", "--coders", "auto", "--store", str(db), "--out", out]) == 2
    assert main(["agree", "--coders", "auto,h1", "--level", "code", "--store", str(db), "--out", out]) == 2
    assert "variables only" in capsys.readouterr().err
    assert main(["reconcile", "--coders", "auto,h1,h1", "--out", out + ".csv", "--store", str(db)]) == 2
    assert main(["validate", "--coder", "nobody", "--store", str(db), "--out", out]) == 2
    assert main(["coders", "list", "--store", str(tmp_path / "none.sqlite")]) == 2
    assert not (tmp_path / "none.sqlite").exists()
    assert not (tmp_path / "o").exists()
