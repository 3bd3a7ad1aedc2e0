"""A person's coding is never lost: edits to the corpus, removed documents,
emptied manifests, foreign or damaged stores, concurrent runs."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest
from conftest import DOCS, write_corpus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coding.cli import main
from coding.coder_files import import_coder
from coding.errors import CodingError
from coding.jobs import pipeline
from coding.store import SCHEMA_VERSION, Store, run_lock


def _run(corpus, codebook, out, **kw):
    return pipeline.run(corpus, codebook, out, progress=False, report=False, **kw)


def _human(db, name="h", rows="unit_id,variable\na:p0001,economic\na:p0002,strategic\nb:p0002,\n"):
    path = db.parent / f"{name}.csv"
    path.write_text(rows, encoding="utf-8")
    with Store(db) as store:
        import_coder(store, path, name)


def _people(db, coder="h"):
    """{(unit text, variable)} of a coder's codings and {unit text} it saw."""
    with Store(db) as store:
        coded = set(store.db.execute(
            "SELECT u.text, c.variable FROM codings c JOIN units u ON u.id=c.unit_id WHERE c.coder=?", (coder,)))
        seen = {r[0] for r in store.db.execute(
            "SELECT u.text FROM coverage cv JOIN units u ON u.id=cv.unit_id WHERE cv.coder=?", (coder,))}
    return coded, seen


def _edit(corpus, doc, text):
    (corpus / "docs" / f"{doc}.txt").write_text(text, encoding="utf-8")


def test_unchanged_units_keep_codings_and_changed_ones_are_kept_aside(tiny, capsys):
    corpus, codebook, out = tiny
    _run(corpus, codebook, out)
    _human(out / "project.sqlite")
    before, seen_before = _people(out / "project.sqlite")
    # a new first paragraph shifts every ordinal; the second paragraph gets a sentence more
    text = DOCS["a"][3].split("\n\n")
    _edit(corpus, "a", "\n\n".join(["A new opening paragraph.", text[0], text[1] + " One more sentence.", text[2]]))
    summary = _run(corpus, codebook, out)
    after, seen_after = _people(out / "project.sqlite")
    changed = text[1]
    assert after == {p for p in before if p[0] != changed}
    assert seen_after == seen_before - {changed}
    assert summary.orphans == [("h", 1, 1)]
    with Store(out / "project.sqlite") as store:
        orphan = store.db.execute("SELECT unit_id, text, variable, reason FROM orphans").fetchall()
        # the coding, and the record that the person saw the unit (empty variable)
        assert sorted(orphan) == [("a:p0002", changed, "", "unit text changed"),
                                  ("a:p0002", changed, "strategic", "unit text changed")]
        moved = store.db.execute("SELECT unit_id FROM codings WHERE coder='h' AND variable='economic'").fetchone()
        assert moved == ("a:p0002",)  # followed its text from p0001 to p0002
    assert main(["coders", "list", "--store", str(out / "project.sqlite")]) == 0
    row = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("h ")]
    assert row == [["h", "2", "1", "1", "1"]]
    # the old text back: the orphan returns to its unit
    _edit(corpus, "a", DOCS["a"][3])
    summary = _run(corpus, codebook, out)
    assert _people(out / "project.sqlite") == (before, seen_before) and summary.orphans == []


def test_coder_file_is_not_applied_again_by_id_when_documents_change(tiny):
    corpus, codebook, out = tiny
    (corpus / "coders").mkdir()
    (corpus / "coders" / "h.csv").write_text("unit_id,variable\na:p0001,economic\nb:p0002,strategic\n",
                                             encoding="utf-8")
    assert _run(corpus, codebook, out).coders_imported == ["h"]
    _edit(corpus, "b", DOCS["b"][3].rstrip("\n") + " Trade resumed.\n")
    summary = _run(corpus, codebook, out)
    # not put by id on b:p0002's new text: the coding of its old text is kept aside
    assert summary.coders_imported == [] and summary.orphans == [("h", 1, 1)]
    with Store(out / "project.sqlite") as store:
        assert store.coders() == [("auto", 5, 8), ("h", 1, 1)]
    assert _run(corpus, codebook, out).coders_imported == []


def test_empty_manifest_or_mass_removal_stops_and_changes_nothing(tiny, capsys):
    corpus, codebook, out = tiny
    _run(corpus, codebook, out)
    db = out / "project.sqlite"
    before = db.read_bytes()
    manifest = corpus / "manifest.csv"
    full = manifest.read_text(encoding="utf-8")
    manifest.write_text(full.splitlines()[0] + "\n", encoding="utf-8")
    assert main(["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(out)]) == 2
    assert "lists no documents" in capsys.readouterr().err
    # a manifest that now lists only a new document would remove both stored ones
    write_corpus(corpus.parent, {"c": ("Doc C", "news", "2022", "Gas.\n")})
    assert main(["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(out)]) == 2
    assert "no longer lists 2 of the 2 stored documents" in capsys.readouterr().err
    with Store(db) as store:
        assert [d.id for d in store.documents()] == ["a", "b"]
    assert db.read_bytes() == before
    assert main(["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(out), "--prune",
                 "--no-report"]) == 0
    with Store(db) as store:
        assert [d.id for d in store.documents()] == ["c"]


def test_removing_a_document_with_people_codings_needs_prune_and_keeps_them(tiny, capsys):
    corpus, codebook, out = tiny
    write_corpus(corpus.parent, {**DOCS, "c": ("Doc C", "news", "2022", "Gas.\n"), "d": ("Doc D", "news", "2022",
                                                                                      "Trade.\n")})
    _run(corpus, codebook, out)
    db = out / "project.sqlite"
    _human(db)
    before = _people(db)
    manifest = corpus / "manifest.csv"
    full = manifest.read_text(encoding="utf-8")
    manifest.write_text("\n".join(line for line in full.splitlines() if not line.startswith("a,")) + "\n",
                        encoding="utf-8")
    argv = ["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(out), "--no-report"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "people's codings" in err and "a" in err and err.count("\n") == 1
    assert main(argv + ["--prune"]) == 0
    assert "kept aside: h's codings of 2 unit(s)" in capsys.readouterr().out
    coded, seen = _people(db)
    assert coded == {p for p in before[0] if p[0] in seen} and len(seen) == 1
    manifest.write_text(full, encoding="utf-8")  # the document comes back: so do its codings
    assert main(argv) == 0
    assert _people(db) == before


def test_the_store_refuses_a_foreign_database_and_reports_damage(tmp_path):
    foreign = tmp_path / "project.sqlite"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE notes (x TEXT)")
    db.commit()
    db.close()
    before = foreign.read_bytes()
    with pytest.raises(CodingError, match="not a project store of this program"):
        Store(foreign)
    assert foreign.read_bytes() == before
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(CodingError, match="not a usable project store"):
        Store(junk)
    good = tmp_path / "good.sqlite"
    Store(good).close()
    db = sqlite3.connect(good)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(CodingError, match="unknown store schema version '99'"):
        Store(good)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only files")
def test_a_read_only_store_is_a_one_line_error(tiny):
    corpus, codebook, out = tiny
    _run(corpus, codebook, out)
    for p in out.glob("project.sqlite*"):
        p.chmod(0o444)
    out.chmod(0o555)
    try:
        with pytest.raises(CodingError, match="cannot be written"):
            _run(corpus, codebook, out)
    finally:
        out.chmod(0o755)


def test_a_schema_1_store_is_migrated_and_keeps_its_codings(tiny):
    corpus, codebook, out = tiny
    _run(corpus, codebook, out)
    db_path = out / "project.sqlite"
    db = sqlite3.connect(db_path)
    db.executescript("ALTER TABLE coded DROP COLUMN coder_version; DROP TABLE orphans; "
                     "ALTER TABLE coders DROP COLUMN seen; "
                     "ALTER TABLE codings DROP COLUMN probability; "  # a later schema's column
                     "UPDATE meta SET value='1' WHERE key='schema_version'; PRAGMA application_id=0;")
    n = db.execute("SELECT COUNT(*) FROM codings").fetchone()[0]
    db.close()
    summary = _run(corpus, codebook, out)
    with Store(db_path) as store:
        assert store.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
            str(SCHEMA_VERSION),)
        assert store.db.execute("SELECT COUNT(*) FROM codings").fetchone()[0] == n
    assert summary.coded_documents == 2  # coded again once: the old rows carry no coder version


def test_a_second_run_on_the_same_store_is_told_another_is_running(tiny, monkeypatch):
    from coding import store as store_module

    monkeypatch.setattr(store_module, "STORE_WAIT_SECONDS", 0.2)
    corpus, codebook, out = tiny
    _run(corpus, codebook, out)
    with run_lock(out / "project.sqlite"):
        with pytest.raises(CodingError, match="another run holds the store"):
            _run(corpus, codebook, out)
    _run(corpus, codebook, out)  # free again


def test_stale_temporaries_of_a_killed_run_are_removed(tiny):
    corpus, codebook, out = tiny
    out.mkdir(parents=True)
    stale = out / ".codings.csv.999999999.tmp-abcdef"
    stale.write_text("half", encoding="utf-8")
    _run(corpus, codebook, out)
    assert not stale.exists()


def test_paths_outside_the_corpus_need_allow_outside(tiny, capsys):
    corpus, codebook, out = tiny
    outside = corpus.parent / "elsewhere.txt"
    outside.write_text("Gas and trade.\n", encoding="utf-8")
    manifest = corpus / "manifest.csv"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "c,C,news,2020,s,../elsewhere.txt\n",
                        encoding="utf-8")
    argv = ["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(out), "--no-report"]
    assert main(argv) == 2
    assert "leaves the corpus folder" in capsys.readouterr().err
    assert not (out / "project.sqlite").exists()
    assert main(argv + ["--allow-outside"]) == 0


def test_a_closed_pipe_ends_quietly(tiny):
    corpus, codebook, out = tiny
    _run(corpus, codebook, out)
    proc = subprocess.Popen([sys.executable, "-m", "coding.cli", "coders", "list", "--store",
                             str(out / "project.sqlite")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # like `| head -0`: nobody reads
    err = proc.stderr.read().decode()
    assert proc.wait() == 0 and err == ""


PARAGRAPHS = ["Gas pipelines and trade grew.", "Militants crossed the Pak Afghan border.",
              "Helicopters were sold.", "Nothing to see here.", "Exports rose by ten percent.",
              "Terrorism fell sharply.", "A joint exercise followed."]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["insert", "delete", "change", "swap"]),
                          st.integers(0, 6)), min_size=1, max_size=4))
def test_random_edits_never_lose_a_coding_whose_text_still_exists(tmp_path_factory, edits):
    root = tmp_path_factory.mktemp("prop")
    docs = {d: list(PARAGRAPHS[i::2]) for i, d in enumerate(("a", "b"))}
    corpus = write_corpus(root, {d: (d, "news", "2020", "\n\n".join(p) + "\n") for d, p in docs.items()})
    codebook = root / "codebook.yaml"
    from conftest import TINY_CODEBOOK

    codebook.write_text(TINY_CODEBOOK, encoding="utf-8")
    out = root / "out"
    _run(corpus, codebook, out)
    rows = "unit_id,variable\n" + "".join(f"{d}:p{i + 1:04d},economic\n" for d, p in docs.items()
                                          for i in range(len(p)))
    _human(out / "project.sqlite", rows=rows)
    before, _ = _people(out / "project.sqlite")
    for doc, action, k in edits:
        paras = docs[doc]
        k %= max(len(paras), 1)
        if action == "insert":
            paras.insert(k, f"Inserted paragraph {k}.")
        elif action == "delete" and len(paras) > 1:
            paras.pop(k)
        elif action == "change" and paras:
            paras[k] = paras[k] + " Changed."
        elif action == "swap" and len(paras) > 1:
            paras[0], paras[-1] = paras[-1], paras[0]
        _edit(corpus, doc, "\n\n".join(paras) + "\n")
        _run(corpus, codebook, out)
    after, _ = _people(out / "project.sqlite")
    alive = {p for d in docs.values() for p in d}
    assert {c for c in before if c[0] in alive} <= after
