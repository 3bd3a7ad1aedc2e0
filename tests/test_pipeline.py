"""End to end: `coding run` and `coding code`, reruns, interruption, bad input."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest

from coding.cli import main
from coding.errors import CodingError
from coding.jobs import pipeline
from coding.store import Store


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def table_dump(db_path):
    db = sqlite3.connect(db_path)
    out = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
           for t in ("documents", "units", "codings", "coverage", "coded", "codebooks")}
    db.close()
    return out


def test_run_end_to_end(tiny, capsys):
    corpus, codebook, out = tiny
    assert main(["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 documents" in printed and "economic:" in printed
    segs = read_csv(out / "segments.csv")
    # doc b's first two blocks are one paragraph broken by a page break
    assert [s["unit_id"] for s in segs] == ["a:p0001", "a:p0002", "a:p0003", "b:p0001", "b:p0002"]
    codings = read_csv(out / "codings.csv")
    got = {(c["unit_id"], c["code"]) for c in codings}
    assert got == {("a:p0001", "energy"), ("a:p0001", "trade"), ("a:p0002", "terrorism"),
                   ("a:p0002", "defence"), ("b:p0001", "trade"), ("b:p0002", "defence"),
                   ("b:p0002", "terrorism")}
    texts = {d: (corpus / "docs" / f"{d}.txt").read_text(encoding="utf-8") for d in ("a", "b")}
    for c in codings:
        assert list(c) == ["unit_id", "document_id", "variable", "code", "coder", "evidence", "probability"]
        assert c["probability"] == ""  # the dictionary coder gives none
        for e in json.loads(c["evidence"]):
            assert texts[c["document_id"]][e["start"]:e["end"]] == e["term"]
    with Store(out / "project.sqlite") as store:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = {r[0] for r in store.db.execute("SELECT codebook_version FROM codings")}
        assert len(versions) == 1


def test_rerun_with_unchanged_inputs_changes_nothing(tiny):
    corpus, codebook, out = tiny
    pipeline.run(corpus, codebook, out, progress=False, report=False)
    before = table_dump(out / "project.sqlite")
    csv_before = (out / "codings.csv").read_bytes()
    summary = pipeline.run(corpus, codebook, out, progress=False, report=False)
    assert summary.coded_documents == 0 and summary.skipped_documents == 2
    assert table_dump(out / "project.sqlite") == before
    assert (out / "codings.csv").read_bytes() == csv_before


def test_added_document_is_coded_without_recoding_others(tiny):
    corpus, codebook, out = tiny
    pipeline.run(corpus, codebook, out, progress=False, report=False)
    (corpus / "docs" / "c.txt").write_text("LNG imports rose.\n", encoding="utf-8")
    with open(corpus / "manifest.csv", "a", encoding="utf-8") as fh:
        fh.write("c,Doc C,media,2022,src c,docs/c.txt\n")
    summary = pipeline.run(corpus, codebook, out, progress=False, report=False)
    assert (summary.coded_documents, summary.skipped_documents) == (1, 2)
    assert ("c:p0001", "energy") in {(r["unit_id"], r["code"]) for r in read_csv(out / "codings.csv")}


def test_changed_codebook_recodes_and_keeps_old_version(tiny):
    corpus, codebook, out = tiny
    first = pipeline.run(corpus, codebook, out, progress=False, report=False)
    codebook.write_text(codebook.read_text(encoding="utf-8").replace(
        "patterns: [trade, investment, export]", "patterns: [investment, export]"), encoding="utf-8")
    second = pipeline.run(corpus, codebook, out, progress=False, report=False)
    assert first.codebook_version != second.codebook_version
    assert second.coded_documents == 2
    db = sqlite3.connect(out / "project.sqlite")
    old = db.execute("SELECT COUNT(*) FROM codings WHERE code='trade' AND codebook_version=?",
                     (first.codebook_version,)).fetchone()[0]
    new = db.execute("SELECT COUNT(*) FROM codings WHERE code='trade' AND codebook_version=?",
                     (second.codebook_version,)).fetchone()[0]
    assert (old, new) == (2, 1)
    # the outputs follow the current codebook
    assert {r["code"] for r in read_csv(out / "codings.csv") if r["unit_id"] == "a:p0001"} == {"energy"}


def test_interrupted_run_leaves_a_consistent_store(tiny, monkeypatch):
    corpus, codebook, out = tiny
    real = Store.save_document
    calls = []

    def dying(self, *args, **kwargs):
        if calls:
            raise KeyboardInterrupt  # killed between the first and the second document
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Store, "save_document", dying)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(corpus, codebook, out, progress=False, report=False)
    db = sqlite3.connect(out / "project.sqlite")
    assert db.execute("SELECT id FROM documents").fetchall() == [("a",)]
    assert db.execute("SELECT COUNT(*) FROM codings WHERE unit_id NOT IN (SELECT id FROM units)").fetchone()[0] == 0
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    monkeypatch.setattr(Store, "save_document", real)
    summary = pipeline.run(corpus, codebook, out, progress=False, report=False)
    assert (summary.coded_documents, summary.skipped_documents) == (1, 1)


def test_unreadable_document_is_listed_and_the_rest_processed(tiny, capsys):
    corpus, codebook, out = tiny
    (corpus / "docs" / "b.txt").write_bytes(b"caf\xe9 trade\n")
    rc = main(["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(out)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "b.txt" in err and "not UTF-8" in err
    assert {r["document_id"] for r in read_csv(out / "segments.csv")} == {"a"}


def test_run_where_no_document_can_be_read_lists_them_and_exits_1(tiny, capsys):
    corpus, codebook, out = tiny
    (corpus / "docs" / "a.txt").write_bytes(b"")
    (corpus / "docs" / "b.txt").write_bytes(b"caf\xe9 trade\n")
    rc = main(["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    assert "a.txt" in err and "b.txt" in err and "unknown coder" not in err
    assert read_csv(out / "segments.csv") == [] and (out / "report.html").is_file()


@pytest.mark.parametrize("manifest, message", [
    ("id,title,doc_type,date,path\na,A,t,2020,docs/a.txt\n", "missing column(s): source"),
    ("id,title,doc_type,date,source,path\na,A,t,2020,s,docs/a.txt\na,A,t,2020,s,docs/b.txt\n", "duplicate id"),
    ("id,title,doc_type,date,source,path\na,A,t,20/1/2020,s,docs/a.txt\n", "is not YYYY"),
    ("id,title,doc_type,date,source,path\na,A,t,2020,s,docs/missing.txt\n", "not found"),
])
def test_bad_manifest_is_one_line_exit_2_and_writes_nothing(tiny, capsys, manifest, message):
    corpus, codebook, out = tiny
    (corpus / "manifest.csv").write_text(manifest, encoding="utf-8")
    assert main(["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "manifest.csv" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_bad_codebook_exits_2_and_writes_nothing(tiny, capsys):
    corpus, codebook, out = tiny
    codebook.write_text("variables: [\n", encoding="utf-8")
    assert main(["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(out)]) == 2
    assert "invalid YAML" in capsys.readouterr().err
    assert not out.exists()


def test_code_jsonl_units_as_given(tiny, tmp_path):
    _, codebook, _ = tiny
    src = tmp_path / "units.jsonl"
    src.write_text("\n".join(json.dumps(u) for u in [
        {"id": "n1", "text": "Gas pipeline talks.\n\nMilitants fled."},
        {"id": "n2", "text": "The weather was fine."},
        {"id": 3, "text": "Helicopter sales rose."},
    ]) + "\n", encoding="utf-8")
    dest = tmp_path / "codings.csv"
    assert main(["code", str(src), "--out", str(dest), "--codebook", str(codebook)]) == 0
    rows = read_csv(dest)
    assert [(r["unit_id"], r["code"]) for r in rows] == [
        ("n1", "energy"), ("n1", "terrorism"), ("n2", ""), ("3", "defence")]
    assert list(rows[0]) == ["unit_id", "variable", "code", "evidence"]
    ev = json.loads(rows[1]["evidence"])[0]
    assert "Gas pipeline talks.\n\nMilitants fled."[ev["start"]:ev["end"]] == "Militants"


def test_code_jsonl_text_with_unicode_line_separators(tiny, tmp_path):
    _, codebook, _ = tiny
    src = tmp_path / "units.jsonl"
    # valid JSON Lines: U+2028 and NEL may stand raw inside a string; CRLF line ends
    src.write_text(json.dumps({"id": "u1", "text": "Gas\u2028talks \x85 trade."}, ensure_ascii=False)
                   + "\r\n" + json.dumps({"id": "u2", "text": "none"}) + "\r\n", encoding="utf-8")
    dest = tmp_path / "codings.csv"
    assert main(["code", str(src), "--out", str(dest), "--codebook", str(codebook)]) == 0
    assert [(r["unit_id"], r["code"]) for r in read_csv(dest)] == [("u1", "energy"), ("u1", "trade"), ("u2", "")]


def test_code_folder_and_csv_with_two_jobs_matches_one_job(tiny, tmp_path):
    corpus, codebook, _ = tiny
    table = tmp_path / "units.csv"
    table.write_text("id,text\nu1,Trade and gas\nu2,nothing\n", encoding="utf-8")
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    pipeline.code_paths([corpus / "docs", table], one, codebook=codebook, jobs=1, batch_size=2)
    pipeline.code_paths([corpus / "docs", table], two, codebook=codebook, jobs=2, batch_size=2)
    assert one.read_bytes() == two.read_bytes()
    ids = [r["unit_id"] for r in read_csv(one)]
    assert ids[0] == "a:p0001" and "u2" in ids


def test_two_jobs_leave_only_the_output_even_when_a_file_fails(tiny, tmp_path):
    corpus, codebook, _ = tiny
    out = tmp_path / "out"
    out.mkdir()
    pipeline.code_paths([corpus / "docs"], out / "codings.csv", codebook=codebook, jobs=2)
    assert [p.name for p in out.iterdir()] == ["codings.csv"]  # the workers' files of rows are gone
    (corpus / "docs" / "bad.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(CodingError, match="bad.txt"):
        pipeline.code_paths([corpus / "docs"], out / "strict.csv", codebook=codebook, jobs=2)
    assert [p.name for p in out.iterdir()] == ["codings.csv"]


@pytest.mark.parametrize("command", [["code", "{docs}"], ["export", "codebook", "--format", "qdc"]])
def test_out_that_is_a_folder_is_one_line_exit_2(tiny, tmp_path, capsys, command):
    corpus, codebook, _ = tiny
    dest = tmp_path / "results"
    dest.mkdir()
    argv = [a.format(docs=corpus / "docs") for a in command]
    assert main(argv + ["--out", str(dest), "--codebook", str(codebook)]) == 2
    err = capsys.readouterr().err.strip()
    assert "results" in err and "directory" in err and len(err.splitlines()) == 1
    assert list(dest.iterdir()) == [] and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("name, content, message", [
    ("bad.jsonl", b'{"id": "x"}\n', "missing field 'text'"),
    ("bad.csv", b"id,body\nx,y\n", "missing column(s): text"),
    ("empty.csv", b"", "empty"),
    ("latin.txt", b"caf\xe9\n", "not UTF-8"),
    ("bad2.jsonl", b'{"id": "x", "text": "a"}\nnot json\n', "invalid JSON"),
])
def test_code_bad_input(tiny, tmp_path, capsys, name, content, message):
    _, codebook, _ = tiny
    src = tmp_path / name
    src.write_bytes(content)
    dest = tmp_path / "out.csv"
    assert main(["code", str(src), "--out", str(dest), "--codebook", str(codebook)]) == 2
    err = capsys.readouterr().err
    assert message in err and name in err
    assert not dest.exists()


def test_human_coder_file_is_imported(tiny):
    corpus, codebook, out = tiny
    (corpus / "coders").mkdir()
    (corpus / "coders" / "human-1.csv").write_text(
        "unit_id,variable\na:p0001,economic\na:p0002,strategic\na:p0002,regional_security\nb:p0001,\n",
        encoding="utf-8")
    summary = pipeline.run(corpus, codebook, out, progress=False, report=False)
    assert summary.coders_imported == ["human-1"]
    with Store(out / "project.sqlite") as store:
        assert ("human-1", 3, 3) in store.coders()
    human = [r for r in read_csv(out / "codings.csv") if r["coder"] == "human-1"]
    assert [(r["unit_id"], r["variable"], r["code"]) for r in human] == [
        ("a:p0001", "economic", ""), ("a:p0002", "regional_security", ""), ("a:p0002", "strategic", "")]


def test_human_coder_file_with_unknown_units_is_rejected(tiny):
    corpus, codebook, out = tiny
    (corpus / "coders").mkdir()
    (corpus / "coders" / "h.csv").write_text("unit_id,variable\nzz:p0001,economic\n", encoding="utf-8")
    with pytest.raises(CodingError, match="unknown unit id"):
        pipeline.run(corpus, codebook, out, progress=False, report=False)


def test_sentence_run_skips_paragraph_coder_files_and_switches_back(tiny):
    corpus, codebook, out = tiny
    (corpus / "coders").mkdir()
    (corpus / "coders" / "human-1.csv").write_text("unit_id,variable\na:p0001,economic\n", encoding="utf-8")
    summary = pipeline.run(corpus, codebook, out, unit="sentence", progress=False, report=False)
    assert summary.coders_skipped and summary.coders_imported == []
    segs = read_csv(out / "segments.csv")
    assert {s["unit_type"] for s in segs} == {"sentence"}
    assert "b:s0003" in {s["unit_id"] for s in segs}  # "Helicopters were sold." / "Terrorism fell."
    summary = pipeline.run(corpus, codebook, out, progress=False, report=False)
    assert summary.coders_imported == ["human-1"]
    assert {s["unit_type"] for s in read_csv(out / "segments.csv")} == {"paragraph"}


def test_code_folder_with_an_unreadable_file_codes_the_rest_and_exits_1(tiny, tmp_path, capsys):
    corpus, codebook, _ = tiny
    (corpus / "docs" / "bad.txt").write_bytes(b"caf\xe9\n")
    dest = tmp_path / "out.csv"
    assert main(["code", str(corpus / "docs"), "--out", str(dest), "--codebook", str(codebook), "--jobs", "2"]) == 1
    err = capsys.readouterr().err
    assert "bad.txt" in err and "not UTF-8" in err
    assert {r["unit_id"].split(":")[0] for r in read_csv(dest)} == {"a", "b"}
    with pytest.raises(CodingError, match="bad.txt"):
        pipeline.code_paths([corpus / "docs"], tmp_path / "strict.csv", codebook=codebook)
    assert not (tmp_path / "strict.csv").exists()


def test_coder_file_with_a_multiline_field_reports_the_right_line(tiny):
    corpus, codebook, out = tiny
    (corpus / "coders").mkdir()
    path = corpus / "coders" / "h.csv"
    path.write_text('unit_id,variable,note\na:p0001,economic,"two\nlines"\na:p0002,strategic\n', encoding="utf-8")
    with pytest.raises(CodingError) as err:
        pipeline.run(corpus, codebook, out, progress=False, report=False)
    assert str(err.value).startswith(f"{path}:4:") and "expected 3 fields" in str(err.value)
    path.write_text('unit_id,variable,note\na:p0001,economic,"two\nlines"\na:p0002,strategic,\n', encoding="utf-8")
    assert pipeline.run(corpus, codebook, out, progress=False, report=False).coders_imported == ["h"]


def test_code_jobs_must_be_positive(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["code", str(tmp_path), "--out", str(tmp_path / "o.csv"), "--jobs", "0"])
    assert exit_.value.code == 2
    assert "at least 1" in capsys.readouterr().err
