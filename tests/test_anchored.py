"""A person's coding stays on the text it was made on: coder files placed by
text, never applied by id onto other text; nobody's codings replaced
without asking; every input checked before the store changes."""

from __future__ import annotations

import os
import sqlite3
import time

import pytest
from conftest import DOCS, TINY_CODEBOOK, write_corpus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coding.cli import main
from coding.coder_files import import_coder
from coding.errors import CodingError
from coding.jobs import pipeline
from coding.store import Store

H1 = "unit_id,variable\na:p0001,economic\na:p0002,strategic\na:p0003,\nb:p0002,regional_security\n"


def _run(corpus, codebook, out, **kw):
    return pipeline.run(corpus, codebook, out, progress=False, report=False, **kw)


def _argv(corpus, codebook, out, *more):
    return ["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(out), "--no-report", *more]


def _coder_file(corpus, name, rows):
    (corpus / "coders").mkdir(exist_ok=True)
    path = corpus / "coders" / f"{name}.csv"
    path.write_text(rows, encoding="utf-8")
    return path


def _coded(db, coder, every_version=False):
    """{(unit text, variable)} of a coder's codings under the current codebook (or every one), and
    variable '' for units seen."""
    with Store(db) as store:
        version = "%" if every_version else store.current_codebook()
        coded = set(store.db.execute(
            "SELECT u.text, c.variable FROM codings c JOIN units u ON u.id=c.unit_id "
            "WHERE c.coder=? AND c.codebook_version LIKE ?", (coder, version)))
        seen = {(r[0], "") for r in store.db.execute(
            "SELECT u.text FROM coverage cv JOIN units u ON u.id=cv.unit_id "
            "WHERE cv.coder=? AND cv.codebook_version LIKE ?", (coder, version))}
    return coded | seen


def _orphaned(db, coder):
    with Store(db) as store:
        return set(store.db.execute("SELECT text, variable FROM orphans WHERE coder=?", (coder,)))


def _dump(db):
    """Every row of the store, for 'nothing changed'."""
    con = sqlite3.connect(db)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def _edit(corpus, doc, paragraphs):
    (corpus / "docs" / f"{doc}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")


PARAS_A = DOCS["a"][3].rstrip("\n").split("\n\n")


def test_a_paragraph_rewritten_in_place_keeps_its_coding_aside(tiny, capsys):
    corpus, codebook, out = tiny
    _coder_file(corpus, "human-1", H1)
    assert main(_argv(corpus, codebook, out)) == 0
    db = out / "project.sqlite"
    before = _coded(db, "human-1")
    assert (PARAS_A[1], "strategic") in before
    new = "A paragraph that nobody has coded, on helicopters and trade."
    _edit(corpus, "a", [PARAS_A[0], new, PARAS_A[2]])
    capsys.readouterr()
    assert main(_argv(corpus, codebook, out)) == 0
    printed = capsys.readouterr().out
    after = _coded(db, "human-1")
    assert {text for text, _ in after} == {text for text, _ in before} - {PARAS_A[1]}
    assert after == {p for p in before if p[0] != PARAS_A[1]}
    assert "kept aside: human-1's codings of 1 unit(s) whose text changed or is gone (1 codings" in printed
    assert _orphaned(db, "human-1") == {(PARAS_A[1], "strategic"), (PARAS_A[1], "")}
    assert main(["coders", "list", "--store", str(db)]) == 0
    row = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("human-1 ")]
    assert row == [["human-1", "3", "2", "1", "1"]]


def test_a_paragraph_inserted_above_coded_ones_shifts_no_coding(tiny):
    corpus, codebook, out = tiny
    _coder_file(corpus, "human-1", H1)
    _run(corpus, codebook, out)
    db = out / "project.sqlite"
    before = _coded(db, "human-1")
    _edit(corpus, "a", ["An opening paragraph inserted later, about gas."] + PARAS_A)
    summary = _run(corpus, codebook, out)
    assert _coded(db, "human-1") == before and summary.orphans == []
    with Store(db) as store:  # the ids moved with the text: a:p0001 is now the new paragraph
        assert store.units_by_ids(["a:p0002"])["a:p0002"][3] == PARAS_A[0]
    # a new codebook version imports the unchanged file again: by the text it was coded on, not by id
    codebook.write_text(TINY_CODEBOOK + "# a new version\n", encoding="utf-8")
    summary = _run(corpus, codebook, out)
    assert summary.coders_imported == ["human-1"]
    assert _coded(db, "human-1") == before and summary.orphans == []


def test_a_file_naming_units_by_id_alone_is_refused_when_ids_have_shifted(tiny, capsys):
    corpus, codebook, out = tiny
    path = _coder_file(corpus, "human-1", H1)
    _run(corpus, codebook, out)
    db = out / "project.sqlite"
    _edit(corpus, "a", ["An opening paragraph inserted later."] + PARAS_A)
    _run(corpus, codebook, out)
    before = _dump(db)
    # the person adds a row to the old file: which text does a:p0002 mean now?
    path.write_text(H1 + "a:p0001,strategic\n", encoding="utf-8")
    assert main(_argv(corpus, codebook, out)) == 2
    err = capsys.readouterr().err
    assert "human-1.csv" in err and "no longer name the text human-1 coded" in err and err.count("\n") == 1
    assert _dump(db) == before
    # a file that carries the text it was coded on (--with-text, sheets) is placed by that text
    text = {"a:p0001": PARAS_A[0], "a:p0002": PARAS_A[1]}
    rows = "".join(f'{uid},{var},"{text[uid]}"\n' for uid, var in [("a:p0001", "economic"), ("a:p0002", "trade")])
    path.write_text("unit_id,code,text\n" + rows, encoding="utf-8")
    assert main(_argv(corpus, codebook, out)) == 0
    assert _coded(db, "human-1") == {(PARAS_A[0], "economic"), (PARAS_A[1], "economic"), (PARAS_A[0], ""),
                                     (PARAS_A[1], "")}


def test_a_sheet_with_text_hash_places_rows_and_keeps_changed_ones_aside(tiny):
    from coding.anchors import text_hash

    corpus, codebook, out = tiny
    _run(corpus, codebook, out)
    db = out / "project.sqlite"
    sheet = out / "sheet.csv"
    sheet.write_text("unit_id,document_id,start,end,text_hash,economic,strategic\n"
                     f"a:p0002,a,0,0,{text_hash(PARAS_A[1])},0,1\n"
                     f"a:p0003,a,0,0,{text_hash('A text that is not in the corpus.')},1,0\n", encoding="utf-8")
    with Store(db) as store:
        units, codings = import_coder(store, sheet, "h")
    assert (units, codings) == (1, 1)
    assert _coded(db, "h") == {(PARAS_A[1], "strategic"), (PARAS_A[1], "")}
    assert _orphaned(db, "h") == {("", ""), ("", "economic")}


def test_a_with_text_template_made_before_ids_shifted_lands_on_its_text(tiny):
    import csv

    corpus, codebook, out = tiny
    _run(corpus, codebook, out)
    template = out / "template.csv"
    assert main(["code", str(corpus / "docs" / "a.txt"), "--with-text", "--out", str(template),
                 "--codebook", str(codebook)]) == 0
    with open(template, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["text_hash"] for r in rows} == {text_hash_of(p) for p in PARAS_A}
    _edit(corpus, "a", ["An opening paragraph inserted later."] + PARAS_A)
    _run(corpus, codebook, out)
    with Store(out / "project.sqlite") as store:
        import_coder(store, template, "t")
    wanted = {(r["text"], r["variable"]) for r in rows} | {(r["text"], "") for r in rows}
    assert _coded(out / "project.sqlite", "t") == wanted


def text_hash_of(text):
    from coding.anchors import text_hash

    return text_hash(text)


def test_importing_over_a_coder_needs_replace_and_says_how_many(tiny, capsys):
    corpus, codebook, out = tiny
    _run(corpus, codebook, out)
    db = str(out / "project.sqlite")
    first, second = out / "first.csv", out / "second.csv"
    first.write_text(H1, encoding="utf-8")
    second.write_text("unit_id,variable\nb:p0001,economic\n", encoding="utf-8")
    assert main(["coders", "import", str(first), "--coder", "human-1", "--store", db]) == 0
    capsys.readouterr()
    assert main(["coders", "import", str(second), "--coder", "human-1", "--store", db]) == 2
    err = capsys.readouterr().err
    assert "coder 'human-1' is already in the store (3 codings); add --replace" in err
    assert len(_coded(out / "project.sqlite", "human-1")) == 7
    assert main(["coders", "import", str(second), "--coder", "human-1", "--store", db, "--replace"]) == 0
    assert "1 units, 1 codings" in capsys.readouterr().out.replace("replacing its 3 earlier codings", "")
    for name in ("auto", "learned"):
        assert main(["coders", "import", str(second), "--coder", name, "--store", db, "--replace"]) == 2
        assert "automatic coder" in capsys.readouterr().err


def test_run_never_imports_a_coder_file_over_a_later_import(tiny, capsys):
    corpus, codebook, out = tiny
    path = _coder_file(corpus, "human-1", H1)
    old = time.time() - 3600
    os.utime(path, (old, old))
    _run(corpus, codebook, out)
    db = out / "project.sqlite"
    newer = out / "h1.csv"
    newer.write_text("unit_id,variable\nb:p0001,economic\n", encoding="utf-8")
    assert main(["coders", "import", str(newer), "--coder", "human-1", "--store", str(db), "--replace"]) == 0
    wanted = _coded(db, "human-1")
    capsys.readouterr()
    assert main(_argv(corpus, codebook, out)) == 0
    printed = capsys.readouterr().out
    assert "coder files not imported: human-1 (the store holds a later import of this coder, from" in printed
    assert _coded(db, "human-1") == wanted
    # the file saved after that import is the later one: it wins, and the run says so
    path.write_text(H1, encoding="utf-8")
    assert main(_argv(corpus, codebook, out)) == 0
    assert "imported coder human-1 (the file is newer than the import from" in capsys.readouterr().out
    assert len(_coded(db, "human-1")) == 7


@pytest.mark.parametrize("name", ["auto", "learned"])
def test_a_coder_file_with_a_machine_name_is_refused_before_anything_changes(tiny, capsys, name):
    corpus, codebook, out = tiny
    _run(corpus, codebook, out)
    db = out / "project.sqlite"
    before = _dump(db)
    _coder_file(corpus, name, H1)
    assert main(_argv(corpus, codebook, out)) == 2
    err = capsys.readouterr().err
    assert f"{name}.csv" in err and "automatic coder" in err
    assert _dump(db) == before


def test_a_bad_coder_file_stops_a_run_before_it_recodes(tiny, capsys):
    corpus, codebook, out = tiny
    _coder_file(corpus, "human-1", H1)
    _run(corpus, codebook, out)
    db = out / "project.sqlite"
    before = _dump(db)
    # the codebook renames a variable that the coder file uses: a new version would recode everything
    codebook.write_text(TINY_CODEBOOK.replace("id: strategic", "id: strategy").replace(
        "variable: strategic", "variable: strategy"), encoding="utf-8")
    assert main(_argv(corpus, codebook, out)) == 2
    assert "strategic" in capsys.readouterr().err
    assert _dump(db) == before


def test_a_bad_coder_file_stops_a_pruning_run_before_it_prunes(tiny, capsys):
    corpus, codebook, out = tiny
    write_corpus(corpus.parent, {**DOCS, "c": ("Doc C", "news", "2022", "Gas.\n")})
    _run(corpus, codebook, out)
    db = out / "project.sqlite"
    before = _dump(db)
    manifest = corpus / "manifest.csv"
    manifest.write_text("".join(line + "\n" for line in manifest.read_text(encoding="utf-8").splitlines()
                                if not line.startswith("c,")), encoding="utf-8")
    _coder_file(corpus, "human-1", "unit_id,code\na:p0001,no_such_code\n")
    assert main(_argv(corpus, codebook, out, "--prune")) == 2
    assert "no_such_code" in capsys.readouterr().err
    assert _dump(db) == before


def test_a_legacy_store_is_migrated_to_anchors(tiny):
    corpus, codebook, out = tiny
    _run(corpus, codebook, out)
    db = out / "project.sqlite"
    con = sqlite3.connect(db)
    con.executescript("DROP TABLE anchors; DROP TABLE coder_imports; UPDATE meta SET value='2' "
                      "WHERE key='schema_version';")
    con.close()
    _coder_file(corpus, "human-1", H1)
    assert _run(corpus, codebook, out).coders_imported == ["human-1"]
    with Store(db) as store:
        assert len(store.anchors("human-1")) == 4


# -- the property: random edits never move a coding onto other text ---------------------------------------------

POOL = ["Gas pipelines and trade grew.", "Militants crossed the Pak Afghan border.", "Helicopters were sold.",
        "Nothing to see here.", "Exports rose by ten percent.", "Terrorism fell sharply.",
        "A joint exercise followed.", "The minister spoke of investment."]
VARIABLES = ["economic", "strategic", "regional_security", ""]

_ACTION = st.tuples(st.sampled_from(["insert", "delete", "change", "move", "codebook", "recode", "sheet"]),
                    st.sampled_from(["a", "b"]), st.integers(0, 7), st.integers(0, 7))


def _change_paragraphs(docs, action, doc, k, j, n):
    """Insert, delete, change or move (within the document or to the other one) a paragraph."""
    paras = docs[doc]
    k %= max(len(paras), 1)
    if action == "insert":
        paras.insert(k, f"Inserted paragraph {n} on trade.")
    elif action == "delete" and len(paras) > 1:
        paras.pop(k)
    elif action == "change" and paras:
        paras[k] = paras[k].rstrip(".") + " and gas, changed."
    elif action == "move" and len(paras) > 1:
        other = docs["b" if doc == "a" else "a"] if j % 2 else paras
        moved = paras.pop(k)
        other.insert(j % (len(other) + 1), moved)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_ACTION, min_size=1, max_size=5))
def test_edits_between_runs_never_move_a_coding_onto_text_nobody_coded_there(tmp_path_factory, actions):
    root = tmp_path_factory.mktemp("anchored")
    docs = {"a": POOL[0:4], "b": POOL[4:8]}
    corpus = write_corpus(root, {d: (d, "news", "2020", "\n\n".join(p) + "\n") for d, p in docs.items()})
    codebook = root / "codebook.yaml"
    codebook.write_text(TINY_CODEBOOK, encoding="utf-8")
    out = root / "out"
    # the person codes every unit (some as seen only) in a file of ids, as before anchors existed
    rows = [(f"{d}:p{i + 1:04d}", VARIABLES[(POOL.index(t) + len(d)) % 4]) for d, p in docs.items()
            for i, t in enumerate(p)]
    coders = _coder_file(corpus, "h", "unit_id,variable\n" + "".join(f"{u},{v}\n" for u, v in rows))
    _run(corpus, codebook, out)
    db = out / "project.sqlite"
    coded = _coded(db, "h")  # (text, variable) pairs the person made, and (text, '') for each unit seen
    imported = coders.read_bytes()
    # a second person's sheet carries the text each row was coded on; it is imported again now and then
    sheet = root / "w.csv"
    with Store(db) as store:
        units = {u.id: u.text for u in store.units()}
    sheet.write_text("unit_id,variable,text\n" + "".join(f'{u},{v},"{units[u]}"\n' for u, v in rows[::-1]),
                     encoding="utf-8")
    with Store(db) as store:
        import_coder(store, sheet, "w")
    sheet_coded = _coded(db, "w")
    assert sheet_coded == coded
    assert len({t for t, _ in coded}) == 8
    for n, (action, doc, k, j) in enumerate(actions):
        _change_paragraphs(docs, action, doc, k, j, n)
        if action == "codebook":  # a new version: the unchanged coder file is imported again
            codebook.write_text(TINY_CODEBOOK + f"# version {n}\n", encoding="utf-8")
        elif action == "recode":  # the person's file is saved again, unchanged in content but not in bytes
            coders.write_text(coders.read_text(encoding="utf-8").replace("\n", "\r\n"), encoding="utf-8")
        elif action == "sheet":  # the second person's sheet imported again, after the edits
            for d in docs:
                _edit(corpus, d, docs[d])
            _run(corpus, codebook, out)
            with Store(db) as store:
                import_coder(store, sheet, "w", replace=True)
        for d in docs:
            _edit(corpus, d, docs[d])
        try:
            _run(corpus, codebook, out)
        except CodingError as exc:  # a file of ids alone after ids shifted: refused, with the store as it was
            assert "no longer name the text h coded" in str(exc)
            coders.write_bytes(imported)
            _run(corpus, codebook, out)
        imported = coders.read_bytes()
        # the run imports h's file under each codebook version; w's import stays under the version of its time
        for person in ("h", "w"):
            now = _coded(db, person, every_version=person == "w")
            assert now <= coded, f"a coding of {person} sits on text the person did not code with it"
            assert coded <= now | _orphaned(db, person), f"a coding of {person} was lost without being listed"


def test_importing_a_project_over_a_coder_needs_replace_too(tiny, capsys):
    corpus, codebook, out = tiny
    _run(corpus, codebook, out)
    db, qdpx = str(out / "project.sqlite"), out / "p.qdpx"
    assert main(["export", "project", "--out", str(qdpx), "--coders", "auto", "--store", db]) == 0
    argv = ["import", str(qdpx), "--store", db, "--codebook", str(codebook)]
    assert main([*argv, "--coder", "copy"]) == 0
    capsys.readouterr()
    assert main([*argv, "--coder", "copy"]) == 2
    assert "coder 'copy' is already in the store" in capsys.readouterr().err
    assert main([*argv, "--coder", "copy", "--replace"]) == 0
    assert main([*argv, "--coder", "auto", "--replace"]) == 2
    assert "automatic coder" in capsys.readouterr().err


def test_an_adjudication_sheet_made_before_ids_shifted_settles_the_same_text(tiny, capsys):
    import csv

    corpus, codebook, out = tiny
    _coder_file(corpus, "h1", "unit_id,variable\na:p0001,economic\na:p0002,strategic\na:p0003,\n")
    _coder_file(corpus, "h2", "unit_id,variable\na:p0001,strategic\na:p0002,strategic\na:p0003,economic\n")
    _run(corpus, codebook, out)
    db, sheet = out / "project.sqlite", out / "sheet.csv"
    assert main(["reconcile", "--coders", "h1,h2", "--out", str(sheet), "--store", str(db)]) == 0
    with open(sheet, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["decision"] = "1"
    with open(sheet, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    _edit(corpus, "a", ["An opening paragraph inserted later."] + PARAS_A)
    _run(corpus, codebook, out)
    assert main(["coders", "import", str(sheet), "--coder", "consensus", "--store", str(db)]) == 0
    # the consensus covers the units both saw, agreed ones too (PARAS_A[1]: strategic for both)
    assert _coded(db, "consensus") == {(PARAS_A[0], "economic"), (PARAS_A[0], "strategic"), (PARAS_A[0], ""),
                                       (PARAS_A[1], "strategic"), (PARAS_A[1], ""),
                                       (PARAS_A[2], "economic"), (PARAS_A[2], "")}
    # a sheet whose text has changed since cannot be settled against the coders: refused, nothing stored
    _edit(corpus, "a", ["An opening paragraph inserted later.", PARAS_A[0] + " Rewritten.", *PARAS_A[1:]])
    _run(corpus, codebook, out)
    assert main(["coders", "import", str(sheet), "--coder", "c2", "--store", str(db)]) == 2
    assert "changed since the sheet was written" in capsys.readouterr().err
