"""Inputs that once ended in a traceback -- huge or deep regexes, deep JSON, a
loop of symbolic links, a PDF that inflates too far, numbers out of range, a
bad model, a bad scheduler address -- end in one line that names the file."""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

import pytest
from conftest import REPO, TINY_CODEBOOK, write_corpus

from coding import readers
from coding.cli import main


def one_line(capsys, argv, code: int = 2) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("codebook.yaml").write_text(TINY_CODEBOOK, encoding="utf-8")
    return tmp_path


# ---------------------------------------------------------------- codebook patterns

@pytest.mark.parametrize("pattern, message", [
    ("re:a{4294967296}", "does not compile: the repetition number is too large"),
    ("re:" + "(" * 2000 + "a" + ")" * 2000, "nests its groups too deeply"),
])
def test_regexes_too_large_or_too_deep_are_one_line(here, capsys, pattern, message):
    text = TINY_CODEBOOK.replace("patterns: [trade, investment, export]", f'patterns: [trade, "{pattern}"]')
    Path("cb.yaml").write_text(text, encoding="utf-8")
    err = one_line(capsys, ["codebook", "check", "--codebook", "cb.yaml"])
    assert err.startswith("coding: error: cb.yaml:") and ": trade: pattern " in err and message in err
    assert len(err) < 300  # the 4,000-character pattern is shortened in the message


# ---------------------------------------------------------------- deep JSON

DEEP = '{"id": "u1", "text": ' + "[" * 100_000 + "]" * 100_000 + "}\n"


def test_json_nested_100000_deep_in_a_table_of_units(here, capsys):
    Path("units.jsonl").write_text('{"id": "u0", "text": "gas"}\n' + DEEP, encoding="utf-8")
    err = one_line(capsys, ["code", "units.jsonl", "--out", "o.csv"])
    assert "units.jsonl:2: invalid JSON: nested too deeply" in err
    assert not Path("o.csv").exists()


def test_json_nested_100000_deep_in_a_shard(here, capsys):
    Path("shards").mkdir()
    Path("shards/s1.jsonl").write_text(DEEP, encoding="utf-8")
    assert main(["code", "shards/s1.jsonl", "--out", "coded", "--format", "parquet"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "s1.jsonl:1: invalid JSON: nested too deeply" in err


def test_json_nested_100000_deep_in_a_training_table(here, capsys):
    Path("units.jsonl").write_text(DEEP, encoding="utf-8")
    Path("labels.csv").write_text("unit_id,economic\nu1,1\n", encoding="utf-8")
    err = one_line(capsys, ["learn", "--table", "units.jsonl=labels.csv", "--out", "m.json"])
    assert "units.jsonl:1: invalid JSON: nested too deeply" in err


# ---------------------------------------------------------------- the manifest

def test_a_loop_of_symbolic_links_in_the_manifest(here, capsys):
    corpus = write_corpus(here)
    (corpus / "docs" / "loop1").symlink_to("loop2")
    (corpus / "docs" / "loop2").symlink_to("loop1")
    manifest = corpus / "manifest.csv"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("docs/a.txt", "docs/loop1"), encoding="utf-8")
    err = one_line(capsys, ["run", "--no-report"])
    assert "corpus/manifest.csv:2: a: path 'docs/loop1' is a loop of symbolic links" in err
    assert not Path("outputs").exists()


# ---------------------------------------------------------------- PDFs that inflate

def write_raw_pdf(path: Path, streams: list[bytes]) -> Path:
    """A minimal PDF with one page per content stream (raw bytes, deflated)."""
    n = len(streams)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode()]
    for i, raw in enumerate(streams):
        data = zlib.compress(raw, 1)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
                       f"/Resources << /Font << /F1 {3 + 2 * n} 0 R >> >> >>".encode())
        objects.append(f"<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode() + data + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


TEXT = b"BT /F1 12 Tf 72 700 Td (Gas pipelines and trade grew.) Tj ET\n"


def test_a_small_raw_pdf_reads(tmp_path):
    assert readers.read_pdf(write_raw_pdf(tmp_path / "ok.pdf", [TEXT])) == "Gas pipelines and trade grew.\n"


def test_a_content_stream_past_pypdfs_limit_is_one_line_through_code(here, capsys):
    pdf = write_raw_pdf(here / "bomb.pdf", [TEXT + b" " * 76_000_000])
    assert pdf.stat().st_size < 1_000_000
    assert main(["code", "bomb.pdf", "--out", "o.csv"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    assert "bomb.pdf: the PDF is too large to read safely" in err


def test_pages_that_inflate_past_the_bounds_are_refused_before_their_text_is_read(tmp_path, monkeypatch):
    from coding.errors import CodingError

    monkeypatch.setattr(readers, "MAX_PDF_PAGE_BYTES", 1000)
    with pytest.raises(CodingError, match=rf"page 2 of the PDF inflates to {len(TEXT) + 2000} bytes \(limit 1000\)"):
        readers.read_pdf(write_raw_pdf(tmp_path / "p.pdf", [TEXT, TEXT + b" " * 2000]))
    monkeypatch.setattr(readers, "MAX_PDF_CONTENT_BYTES", 600)
    with pytest.raises(CodingError, match="the PDF's pages inflate to more than 600 bytes"):
        readers.read_pdf(write_raw_pdf(tmp_path / "q.pdf", [TEXT + b" " * 500, TEXT + b" " * 500]))


# ---------------------------------------------------------------- numbers on the command line

@pytest.mark.parametrize("value", ["0", "-5", "99", "100000000", "many"])
def test_resamples_out_of_range_are_refused_by_the_parser(value, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["agree", "--coders", "auto,h1", "--resamples", value])
    assert stop.value.code == 2
    assert f"--resamples: must be a whole number from 100 to 100000, not '{value}'" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["1", "0", "-3", "two"])
def test_folds_below_two_are_refused_by_the_parser(value, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["learn", "--folds", value])
    assert stop.value.code == 2
    assert f"--folds: must be a whole number of at least 2, not '{value}'" in capsys.readouterr().err


def test_more_folds_than_documents_are_refused_before_training(here, capsys):
    rows = [{"id": f"u{i}", "text": t, "group": f"doc{i % 3}"}
            for i, t in enumerate(["Gas trade grew."] * 6 + ["The weather was mild."] * 6)]
    Path("units.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    Path("labels.csv").write_text("unit_id,economic\n" + "".join(f"u{i},{int(i < 6)}\n" for i in range(12)),
                                  encoding="utf-8")
    err = one_line(capsys, ["learn", "--table", "units.jsonl=labels.csv", "--out", "m.json", "--folds", "1000"])
    assert "--folds 1000 needs at least 1000 documents (groups) to hold out, the examples come from 3: " \
           "give --folds 2 to 3" in err
    assert "1000-fold" not in capsys.readouterr().out and not Path("m.json").exists()


# ---------------------------------------------------------------- models

def _altered_model(path: Path, change) -> Path:
    """The shipped model with ``change`` applied and its hash made to match (a model that looks whole)."""
    from coding.coders.coder_choice import shipped_model
    from coding.coders.learn import _canonical

    d = json.loads(shipped_model().read_text(encoding="utf-8"))
    d.pop("sha256")
    change(d)
    d["sha256"] = hashlib.sha256(_canonical(d).encode("ascii")).hexdigest()
    path.write_text(json.dumps(d), encoding="utf-8")
    return path


def _code_with(model: Path, root: Path) -> list[str]:
    (root / "t.txt").write_text("Gas pipeline talks went on.\n", encoding="utf-8")
    return ["code", str(root / "t.txt"), "--out", str(root / "o.csv"), "--coder", "learned",
            "--model", str(model), "--codebook", str(REPO / "codebook.yaml")]


def test_a_model_whose_ngram_is_not_a_number_names_the_file(tmp_path, capsys):
    model = _altered_model(tmp_path / "m.json", lambda d: d["settings"].update(ngram="x"))
    err = one_line(capsys, _code_with(model, tmp_path))
    assert f"{model}: malformed model: settings: ngram must be 1 or 2, not 'x'" in err


def test_a_model_without_a_variable_names_the_file(tmp_path, capsys):
    def drop_first_variable(d):
        first = next(t["id"] for t in d["targets"] if t["kind"] == "variable")
        d["targets"] = [t for t in d["targets"] if t["variable"] != first]

    model = _altered_model(tmp_path / "m.json", drop_first_variable)
    err = one_line(capsys, _code_with(model, tmp_path))
    assert f"{model}: " in err and "the model has no classifier for this variable" in err


# ---------------------------------------------------------------- the Dask scheduler

def test_a_scheduler_that_is_not_an_address(here, capsys):
    pytest.importorskip("distributed")
    Path("s.csv").write_text("id,text\nu1,gas trade\n", encoding="utf-8")
    err = one_line(capsys, ["code", "s.csv", "--out", "coded", "--format", "parquet", "--engine", "dask",
                            "--scheduler", "notanaddress"])
    assert "notanaddress: not a Dask scheduler address" in err


# ---------------------------------------------------------------- shards and tables

def _shards(root: Path, damaged: str | None = None) -> Path:
    """Three Parquet shards of 20,000 units in row groups of 5,000; ``damaged`` has bytes overwritten mid-file."""
    import pandas as pd

    folder = root / "shards"
    folder.mkdir()
    for i in range(3):
        pd.DataFrame({"id": [f"s{i}-{k}" for k in range(20_000)],
                      "text": [f"Gas pipelines and trade grew. {k}" for k in range(20_000)]}).to_parquet(
            folder / f"s{i}.parquet", row_group_size=5000)
    if damaged:
        data = bytearray((folder / damaged).read_bytes())
        middle = len(data) // 2
        data[middle:middle + 3000] = bytes(b ^ 0x55 for b in data[middle:middle + 3000])
        (folder / damaged).write_bytes(bytes(data))
    return folder


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_one_damaged_shard_among_good_ones_with_csv_output(here, capsys, monkeypatch, jobs):
    """The other shards are coded, the damaged one is named and none of its
    rows stay in the output (not even those read before the damage)."""
    import csv

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    _shards(here, damaged="s1.parquet")
    assert main(["code", "shards/*.parquet", "--out", "o.csv", "--jobs", jobs]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "shards/s1.parquet: cannot be read as Parquet at row" in captured.err
    assert "40000 units, 80000 codings" in captured.out
    with open("o.csv", newline="", encoding="utf-8") as fh:
        ids = {row["unit_id"].split("-")[0] for row in csv.DictReader(fh)}
    assert ids == {"s0", "s2"}


def test_a_damaged_input_page_is_blamed_on_the_input_not_the_output(here, capsys):
    _shards(here, damaged="s1.parquet")
    assert main(["code", "shards", "--out", "coded", "--format", "parquet"]) == 1
    err = capsys.readouterr().err
    assert "shards/s1.parquet: cannot be read as Parquet at row" in err and "cannot be written" not in err
    assert sorted(p.name for p in Path("coded").glob("*.parquet")) == ["s0.parquet", "s2.parquet"]


def test_a_nan_id_in_a_parquet_shard_names_the_shard_and_row(here, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": [1.0, float("nan"), 3.0], "text": ["gas", "trade", "export"]}), "s.parquet")
    err = one_line(capsys, ["code", "s.parquet", "--out", "o.csv"])
    assert "s.parquet: row 2: 'id' must be a non-empty text or number" in err
    assert main(["code", "s.parquet", "--out", "coded", "--format", "parquet"]) == 1
    assert "s.parquet: row 2: 'id' must be a non-empty text or number" in capsys.readouterr().err


def test_a_nan_id_in_a_table_of_units_is_refused(here, capsys):
    Path("u.jsonl").write_text('{"id": "a", "text": "gas"}\n{"id": NaN, "text": "trade"}\n', encoding="utf-8")
    assert "u.jsonl:2: 'id' must be a non-empty text or number" in one_line(capsys, ["code", "u.jsonl", "--out",
                                                                                       "o.csv"])


def test_a_spreadsheet_given_as_a_coder_file_is_called_a_spreadsheet(tmp_path, capsys):
    import zipfile

    from conftest import coded_tiny

    store = coded_tiny(tmp_path)
    sheet = tmp_path / "h1.xlsx"
    with zipfile.ZipFile(sheet, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "\u00ff" * 200 + "<workbook/>")
    err = one_line(capsys, ["coders", "import", str(sheet), "--coder", "h1", "--store", str(store)])
    assert f"{sheet}: this is a spreadsheet, not a CSV file: save it as CSV (UTF-8)" in err
    assert "UTF-8 at byte" not in err


def test_an_input_error_while_an_output_is_written_names_the_input(tmp_path):
    from coding.files import write_with

    def failing(fh):
        raise FileNotFoundError(2, "No such file or directory", str(tmp_path / "input.csv"))

    with pytest.raises(OSError) as err:
        write_with(tmp_path / "out.csv", failing)
    assert err.value.filename == str(tmp_path / "input.csv")
    assert list(tmp_path.iterdir()) == []  # nor a temporary left


def test_an_output_inside_a_file_says_so(tmp_path):
    from coding.errors import CodingError
    from coding.files import write_text

    (tmp_path / "afile").write_text("x", encoding="utf-8")
    with pytest.raises(CodingError, match="afile: is a file, so the output cannot go in it"):
        write_text(tmp_path / "afile" / "o.csv", "rows")


def test_an_output_error_never_names_the_hidden_temporary(tmp_path, capsys):
    from coding.files import write_with

    def failing(fh):  # a writer whose message quotes the file it writes
        raise OSError(f"cannot write {next(tmp_path.glob('.o.csv.*'))}: disk quota exceeded")

    out = tmp_path / "o.csv"
    with pytest.raises(OSError) as err:
        write_with(out, failing)
    assert err.value.filename == str(out) and ".tmp-" not in str(err.value)
    assert f"cannot write {out}: disk quota exceeded" in str(err.value)
