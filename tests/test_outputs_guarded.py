"""Outputs never clobber inputs: an --out that is an input, inside the corpus
or a folder of shards being read is refused before anything is written; a
symlink is written through; a named pipe is refused; one codebook per run."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from conftest import write_corpus

from coding.cli import main
from coding.jobs import pipeline, run
from coding.store import Store

UNITS = "id,text\nu1,Gas pipelines and trade grew.\nu2,Militants crossed the border.\n"


def _tree(root):
    """Every file under ``root`` with its bytes."""
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_code_refuses_to_write_over_its_input(tiny, capsys):
    _, codebook, out = tiny
    units = out.parent / "units.csv"
    units.write_text(UNITS, encoding="utf-8")
    assert main(["code", str(units), "--out", str(units), "--codebook", str(codebook)]) == 2
    err = capsys.readouterr().err
    assert "--out is an input of this command" in err and err.count("\n") == 1
    assert units.read_text(encoding="utf-8") == UNITS


def test_code_refuses_an_output_inside_a_folder_it_reads(tiny, capsys):
    corpus, codebook, _ = tiny
    docs = corpus.parent / "loose"
    docs.mkdir()
    (docs / "a.txt").write_text("Gas and trade.\n", encoding="utf-8")
    assert main(["code", str(docs), "--out", str(docs / "codes.csv"), "--codebook", str(codebook)]) == 2
    assert "inside the input folder" in capsys.readouterr().err
    assert sorted(p.name for p in docs.iterdir()) == ["a.txt"]


def test_parquet_output_into_the_shard_folder_being_read_is_refused(tiny, capsys):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    _, codebook, _ = tiny
    shards = codebook.parent / "shards"
    shards.mkdir()
    pq.write_table(pa.table({"id": ["u1", "u2"], "text": ["Gas and trade.", "Militants."]}), shards / "s.parquet")
    before = _tree(shards)
    for given in (str(shards), str(shards / "*.parquet")):
        argv = ["code", given, "--format", "parquet", "--out", str(shards), "--codebook", str(codebook)]
        assert main(argv) == 2
        assert "--out" in capsys.readouterr().err
        assert _tree(shards) == before


@pytest.mark.parametrize("command", ["run", "report"])
def test_outputs_never_go_into_the_corpus(tiny, capsys, command):
    corpus, codebook, out = tiny
    pipeline.run(corpus, codebook, out, progress=False, report=False)
    before = _tree(corpus)
    for target in (corpus, corpus / "docs", corpus / "outputs"):
        if command == "run":
            argv = ["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(target)]
        else:
            argv = ["report", "--store", str(out / "project.sqlite"), "--out", str(target)]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert any(why in err for why in ("inside the corpus folder", "inside the input folder", "is an input"))
        assert _tree(corpus) == before


def test_an_output_symlink_is_written_through_and_a_fifo_refused(tiny, capsys):
    _, codebook, out = tiny
    out.mkdir()
    units = out / "units.csv"
    units.write_text(UNITS, encoding="utf-8")
    real, link = out / "real.csv", out / "link.csv"
    real.write_text("old\n", encoding="utf-8")
    link.symlink_to(real)
    assert main(["code", str(units), "--out", str(link), "--codebook", str(codebook)]) == 0
    assert link.is_symlink() and real.read_text(encoding="utf-8").startswith("unit_id,variable,code,evidence\n")
    if not hasattr(os, "mkfifo"):
        return
    fifo = out / "pipe.csv"
    os.mkfifo(fifo)
    assert main(["code", str(units), "--out", str(fifo), "--codebook", str(codebook)]) == 2
    assert "named pipe" in capsys.readouterr().err
    assert fifo.exists() and not fifo.is_file()


def test_reconcile_never_writes_over_a_coder_file(tiny, capsys):
    corpus, codebook, out = tiny
    (corpus / "coders").mkdir()
    person = corpus / "coders" / "human-1.csv"
    person.write_text("unit_id,variable\na:p0001,strategic\na:p0002,economic\n", encoding="utf-8")
    pipeline.run(corpus, codebook, out, progress=False, report=False)
    db = str(out / "project.sqlite")
    elsewhere = out / "human-2.csv"
    elsewhere.write_text("unit_id,variable\na:p0001,economic\n", encoding="utf-8")
    assert main(["coders", "import", str(elsewhere), "--coder", "human-2", "--store", db]) == 0
    for target in (person, elsewhere):
        before = target.read_bytes()
        assert main(["reconcile", "--coders", "human-1,human-2", "--out", str(target), "--store", db]) == 2
        assert "--out" in capsys.readouterr().err
        assert target.read_bytes() == before
    assert main(["reconcile", "--coders", "human-1,human-2", "--out", str(out / "sheet.csv"), "--store", db]) == 0


@pytest.mark.report
def test_a_run_records_the_codebook_it_read_even_if_the_file_changes_meanwhile(tiny, monkeypatch):
    corpus, codebook, out = tiny
    text = codebook.read_text(encoding="utf-8")
    real = run._code_corpus

    def replaced_meanwhile(*args, **kwargs):
        codebook.write_text(text + "# edited while the run was going\n", encoding="utf-8")
        return real(*args, **kwargs)

    monkeypatch.setattr(run, "_code_corpus", replaced_meanwhile)
    pipeline.run(corpus, codebook, out, progress=False)
    record = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    entry = next(i for i in record["inputs"] if i["path"] == codebook.as_posix())
    assert entry["sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
    with Store(out / "project.sqlite") as store:
        assert store.codebook().content == text
        assert record["codebook"]["version"] == store.current_codebook()


def test_a_corpus_in_the_current_folder_still_writes_beside_it(tmp_path, monkeypatch):
    # outputs beside the corpus folder are fine; only inside it are they refused
    corpus = write_corpus(tmp_path)
    codebook = tmp_path / "codebook.yaml"
    from conftest import TINY_CODEBOOK

    codebook.write_text(TINY_CODEBOOK, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--corpus", "corpus", "--codebook", "codebook.yaml", "--out", "outputs", "--no-report"]) == 0
    assert (tmp_path / "outputs" / "project.sqlite").is_file() and corpus.is_dir()
