"""`coding code` on awkward inputs: clashing names, bad tables, encodings,
the output name, and the text beside the codes."""

from __future__ import annotations

import csv

import pytest

from coding.cli import main


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_same_file_name_in_two_folders_gives_unique_unit_ids(tiny, tmp_path):
    _, codebook, _ = tiny
    for folder in ("2019", "2020"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.txt").write_text("Gas pipelines.\n\nTrade grew.\n", encoding="utf-8")
    out = tmp_path / "codes.csv"
    assert main(["code", str(tmp_path / "2019" / "x.txt"), str(tmp_path / "2020" / "x.txt"),
                 "--out", str(out), "--codebook", str(codebook)]) == 0
    ids = sorted({r["unit_id"] for r in _rows(out)})
    assert ids == ["2019-x:p0001", "2019-x:p0002", "2020-x:p0001", "2020-x:p0002"]


def test_the_same_unit_id_in_two_tables_is_an_error(tiny, tmp_path, capsys):
    _, codebook, _ = tiny
    for name in ("a.jsonl", "b.jsonl"):
        (tmp_path / name).write_text('{"id": "u1", "text": "Gas."}\n', encoding="utf-8")
    assert main(["code", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), "--out", str(tmp_path / "o.csv"),
                 "--codebook", str(codebook)]) == 2
    assert "unit id 'u1' is also in" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("name, content, message", [
    ("extra.csv", "id,text\nu1,Gas,surplus\n", "more fields than the header"),
    ("objid.jsonl", '{"id": {"a": 1}, "text": "Gas."}\n', "'id' must be a non-empty text or number"),
    ("boolid.jsonl", '{"id": true, "text": "Gas."}\n', "'id' must be"),
])
def test_malformed_tables_are_one_line_errors(tiny, tmp_path, capsys, name, content, message):
    _, codebook, _ = tiny
    (tmp_path / name).write_text(content, encoding="utf-8")
    assert main(["code", str(tmp_path / name), "--out", str(tmp_path / "o.csv"), "--codebook", str(codebook)]) == 2
    err = capsys.readouterr().err
    assert message in err and name in err and err.count("\n") == 1


def test_an_output_name_of_another_format_is_refused(tiny, tmp_path, capsys):
    _, codebook, _ = tiny
    (tmp_path / "t.txt").write_text("Gas.\n", encoding="utf-8")
    assert main(["code", str(tmp_path / "t.txt"), "--out", str(tmp_path / "o.xlsx"), "--codebook", str(codebook)]) == 2
    assert "give a .csv file" in capsys.readouterr().err and not (tmp_path / "o.xlsx").exists()


def test_undeclared_encoding_advises_the_option_which_reads_it(tiny, tmp_path, capsys):
    _, codebook, _ = tiny
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Caf\u00e9 trade and gas.\n".encode("latin-1"))
    out = tmp_path / "o.csv"
    argv = ["code", str(latin), "--out", str(out), "--codebook", str(codebook)]
    assert main(argv) == 2
    assert "with --encoding" in capsys.readouterr().err
    assert main(argv + ["--encoding", "latin-1"]) == 0
    assert {r["code"] for r in _rows(out)} == {"trade", "energy"}


def test_with_text_adds_label_and_text_columns_that_import_ignores(tiny, tmp_path):
    _, codebook, _ = tiny
    (tmp_path / "u.jsonl").write_text('{"id": "u1", "text": "Gas and trade."}\n{"id": "u2", "text": "Nothing."}\n',
                                      encoding="utf-8")
    out = tmp_path / "o.csv"
    assert main(["code", str(tmp_path / "u.jsonl"), "--out", str(out), "--codebook", str(codebook),
                 "--with-text"]) == 0
    rows = _rows(out)
    assert list(rows[0]) == ["unit_id", "variable", "code", "evidence", "label", "text", "document_id", "start", "end",
                            "text_hash"]
    assert [(r["unit_id"], r["code"], r["label"], r["text"]) for r in rows] == [
        ("u1", "energy", "Energy", "Gas and trade."), ("u1", "trade", "Trade", "Gas and trade."),
        ("u2", "", "", "Nothing.")]


def test_help_names_every_readable_format(capsys):
    with pytest.raises(SystemExit):
        main(["code", "--help"])
    text = capsys.readouterr().out
    assert all(fmt in text for fmt in (".txt", ".md", ".docx", ".pdf", ".csv", ".jsonl"))


def test_negative_exemplars_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["report", "--exemplars", "-2"])
    assert stop.value.code == 2 and "at least 0" in capsys.readouterr().err


def test_a_write_error_names_the_output_not_the_temporary(tmp_path, monkeypatch):
    import os

    from coding import files

    def failing_replace(src, dst):
        raise PermissionError(13, "Permission denied", src)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError) as err:
        files.write_text(tmp_path / "out.csv", "x\n")
    assert err.value.filename == str(tmp_path / "out.csv")
    assert [p.name for p in tmp_path.iterdir()] == []


def test_jobs_beyond_the_cpus_are_capped_and_said(tiny, tmp_path, capsys):
    import os

    _, codebook, _ = tiny
    (tmp_path / "t.txt").write_text("Gas.\n\nTrade.\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    assert main(["code", str(tmp_path / "t.txt"), "--out", str(out), "--codebook", str(codebook),
                 "--jobs", "100000"]) == 0
    assert f"using {os.cpu_count()}" in capsys.readouterr().err
    assert [r["code"] for r in _rows(out)] == ["energy", "trade"]


def test_a_wide_coder_file_listing_a_unit_twice_with_different_values_is_refused(tiny, tmp_path, capsys):
    corpus, codebook, out = tiny
    assert main(["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(out), "--no-report"]) == 0
    wide = tmp_path / "w.csv"
    wide.write_text("unit_id,economic,strategic\na:p0001,1,0\na:p0002,0,1\na:p0001,0,0\n", encoding="utf-8")
    assert main(["coders", "import", str(wide), "--coder", "h", "--store", str(out / "project.sqlite")]) == 2
    err = capsys.readouterr().err
    assert "w.csv:4: a:p0001: unit listed twice with different values (first on line 2)" in err
    wide.write_text("unit_id,economic,strategic\na:p0001,1,0\na:p0001,1,0\n", encoding="utf-8")
    assert main(["coders", "import", str(wide), "--coder", "h", "--store", str(out / "project.sqlite")]) == 0
