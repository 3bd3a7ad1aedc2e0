"""The learned coder through the command line: learn, code, run, suggest,
and every way its input can be wrong. Texts here are invented for the tests."""

from __future__ import annotations

import csv
import json
import os

import pytest
from conftest import REPO, TINY_CODEBOOK

from coding.cli import main
from coding.codebook import load_codebook
from coding.coders.coder_choice import shipped_model
from coding.coders.learn import load_model

ECONOMIC = ["Gas pipeline talks went on.", "Trade rose by a fifth.", "An investment plan was signed."]
STRATEGIC = ["A joint exercise was held.", "Helicopters were delivered.", "A defence agreement was agreed."]
SECURITY = ["Militants attacked a post.", "Terrorism was discussed.", "The Pak-Afghan border was closed."]
NEUTRAL = ["The weather was mild.", "A festival drew crowds.", "Rice and oil make a pilaf."]


def _paragraphs(n: int = 48):
    """(text, variables) of invented paragraphs, every mix of the three themes."""
    out = []
    for i in range(n):
        parts, labels = [], set()
        for k, (pool, var) in enumerate(((ECONOMIC, "economic"), (STRATEGIC, "strategic"),
                                         (SECURITY, "regional_security"))):
            if (i >> k) & 1:
                parts.append(pool[i % 3])
                labels.add(var)
        parts.append(NEUTRAL[i % 3])
        out.append((" ".join(parts), labels))
    return out


@pytest.fixture
def project(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "docs").mkdir(parents=True)
    paragraphs = _paragraphs()
    rows = ["id,title,doc_type,date,source,path"]
    coder_rows = ["unit_id,variable"]
    for d in range(8):
        mine = paragraphs[d::8]
        (corpus / "docs" / f"d{d}.txt").write_text("\n\n".join(t for t, _ in mine) + "\n", encoding="utf-8")
        rows.append(f"d{d},Doc {d},news,2020,s,docs/d{d}.txt")
        for j, (_, labels) in enumerate(mine, start=1):
            coder_rows += [f"d{d}:p{j:04d},{v}" for v in sorted(labels)] or [f"d{d}:p{j:04d},"]
    (corpus / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (corpus / "coders").mkdir()
    (corpus / "coders" / "person.csv").write_text("\n".join(coder_rows) + "\n", encoding="utf-8")
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(TINY_CODEBOOK, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(out), "--no-report"]) == 0
    return tmp_path, codebook, out / "project.sqlite"


def _learn(codebook, store, model, *extra):
    return main(["learn", "--coders", "person", "--codebook", str(codebook), "--store", str(store),
                 "--out", str(model), "--folds", "3", "--repeats", "1", *extra])


def test_learn_prints_cross_validation_and_writes_a_deterministic_model(project, capsys):
    root, codebook, store = project
    assert _learn(codebook, store, root / "m1.json") == 0
    printed = capsys.readouterr().out
    assert "learned from 48 units of 8 documents" in printed
    assert all(f"{v}" in printed for v in ("economic", "strategic", "regional_security", "dictionary"))
    assert _learn(codebook, store, root / "m2.json") == 0
    assert (root / "m1.json").read_bytes() == (root / "m2.json").read_bytes()
    model = json.loads((root / "m1.json").read_text(encoding="utf-8"))
    assert model["training"]["coders"] == ["person"] and model["training"]["units"] == 48
    assert model["codebook_version"] == load_codebook(codebook).version and model["cv"]


def test_learned_codings_are_stored_beside_auto_with_evidence(project, capsys):
    root, codebook, store = project
    assert _learn(codebook, store, root / "m.json") == 0
    corpus = root / "corpus"
    assert main(["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(store.parent),
                 "--coder", "learned", "--model", str(root / "m.json"), "--no-report"]) == 0
    with open(store.parent / "codings.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    learned = [r for r in rows if r["coder"] == "learned"]
    assert learned and {r["coder"] for r in rows} >= {"auto", "learned", "person"}
    assert all(json.loads(r["evidence"]) for r in learned)
    assert main(["agree", "--coders", "learned,person", "--out", str(root / "agree"), "--store", str(store),
                 "--resamples", "100"]) == 0


@pytest.mark.parametrize("argv, message", [
    (["--coders", "nobody"], "nobody: unknown coder"),
    (["--coders", "auto"], "automatic coder"),
    ([], "nothing to learn from"),
    (["--table", "units.jsonl"], "UNITS=LABELS"),
])
def test_learn_bad_input_is_one_line(project, capsys, argv, message):
    root, codebook, store = project
    out = root / "m.json"
    assert main(["learn", "--codebook", str(codebook), "--store", str(store), "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not out.exists()


def test_too_few_coded_units_names_the_variable_and_counts(project, capsys):
    root, codebook, store = project
    units = root / "few.jsonl"
    units.write_text("".join(json.dumps({"id": f"u{i}", "text": t}) + "\n"
                             for i, (t, _) in enumerate(_paragraphs(12))), encoding="utf-8")
    labels = root / "few.csv"
    labels.write_text("unit_id,economic\n" + "".join(f"u{i},{int(i == 3)}\n" for i in range(12)), encoding="utf-8")
    assert main(["learn", "--table", f"{units}={labels}", "--codebook", str(codebook),
                 "--out", str(root / "m.json")]) == 2
    err = capsys.readouterr().err
    assert "economic: too few coded units to learn it: 1 coded, 11 not coded" in err


def test_model_errors_are_one_line(project, capsys, tmp_path):
    root, codebook, store = project
    text = tmp_path / "t.txt"
    text.write_text("Gas pipeline talks went on.\n", encoding="utf-8")
    argv = ["code", str(text), "--out", str(tmp_path / "o.csv"), "--codebook", str(codebook), "--coder", "learned"]
    bad = tmp_path / "bad.json"
    cases = [
        (tmp_path / "missing.json", None, "no model file here"),
        (bad, "{\"format\": \"coding-learned-model\", \"voc", "invalid JSON"),
        (bad, "[1, 2]", "not a learned-coder model"),
        (shipped_model(), None, "model made for codebook version"),  # the tiny codebook is another version
    ]
    for path, content, message in cases:
        if content is not None:
            path.write_text(content, encoding="utf-8")
        assert main(argv + ["--model", str(path)]) == 2, message
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
        assert not (tmp_path / "o.csv").exists()
    assert main(argv[:-2] + ["--model", str(bad)]) == 2  # a model and no coder named
    assert "a model file needs its coder" in capsys.readouterr().err
    assert main(argv[:-1] + ["auto", "--model", str(bad)]) == 2  # a model with the dictionary coder
    assert "for the learned coder only" in capsys.readouterr().err


@pytest.mark.shipped
def test_the_shipped_model_codes_from_any_folder(tmp_path, monkeypatch):
    assert load_model(shipped_model(), load_codebook(REPO / "codebook.yaml"))  # made for the shipped codebook
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "a.txt").write_text("The two countries signed a deal to build a gas pipeline.\n\n"
                                 "She baked bread with rice flour and olive oil.\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert not os.path.exists("codebook.yaml")
    assert main(["code", "texts", "--out", "codings.csv", "--coder", "learned"]) == 0
    with open(tmp_path / "codings.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert ("a:p0001", "economic") in {(r["unit_id"], r["variable"]) for r in rows}
    assert {r["unit_id"] for r in rows} == {"a:p0001", "a:p0002"}
    for r in rows:
        if r["variable"]:  # no coding without evidence, and the model's own features among it
            evidence = json.loads(r["evidence"])
            assert evidence and any(e["pattern"].startswith("model:") and "weight" in e for e in evidence)


def test_suggest_writes_a_sheet_that_imports(project, capsys):
    root, codebook, store = project
    assert _learn(codebook, store, root / "m.json") == 0
    # a store where nobody coded half the units: the person's coding replaced by half of it
    sheet = root / "next.csv"
    rows = (root / "corpus" / "coders" / "person.csv").read_text(encoding="utf-8").splitlines()
    half = [rows[0]] + [r for r in rows[1:] if r.split(",")[0] < "d4"]
    (root / "half.csv").write_text("\n".join(half) + "\n", encoding="utf-8")
    assert main(["coders", "import", str(root / "half.csv"), "--coder", "person", "--store", str(store),
                 "--replace"]) == 0
    assert main(["suggest", "--model", str(root / "m.json"), "--codebook", str(codebook), "--store", str(store),
                 "--n", "5", "--random", "2", "--out", str(sheet)]) == 0
    with open(sheet, newline="", encoding="utf-8") as fh:
        got = list(csv.DictReader(fh))
    assert len(got) == 7 and [r["picked"] for r in got] == ["uncertain"] * 5 + ["random"] * 2
    assert all(r["unit_id"] >= "d4" for r in got)  # only units no person coded
    margins = [float(r["uncertainty"]) for r in got[:5]]
    assert margins == sorted(margins)
    got[0]["economic"] = "1"
    with open(sheet, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(got[0]))
        w.writeheader()
        w.writerows(got)
    assert main(["coders", "import", str(sheet), "--coder", "next", "--store", str(store)]) == 0
    assert "7 units, 1 codings" in capsys.readouterr().out
