"""One writer for every output: atomic, with the mode a normal file gets."""

from __future__ import annotations

import ast
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from coding import files
from coding.cli import main


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _normal_mode(folder: Path) -> int:
    probe = folder / "probe-made-with-open"
    with open(probe, "w") as fh:
        fh.write("x")
    mode = _mode(probe)
    probe.unlink()
    return mode


@pytest.fixture(params=[0o022, 0o002, 0o077])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


@pytest.mark.report
def test_every_output_gets_the_mode_of_a_normally_created_file(tiny, tmp_path, umask):
    corpus, codebook, out = tiny
    common = ["--codebook", str(codebook)]
    assert main(["run", "--corpus", str(corpus), "--out", str(out), *common]) == 0
    store = str(out / "project.sqlite")
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "t.txt").write_text("Gas and trade.\n", encoding="utf-8")
    coder_file = tmp_path / "h.csv"
    coder_file.write_text("unit_id,variable\na:p0001,economic\nb:p0001,\n", encoding="utf-8")
    commands = [
        ["code", str(tmp_path / "texts"), "--out", str(out / "coded.csv"), *common],
        ["coders", "import", str(coder_file), "--coder", "h", "--store", store],
        ["agree", "--coders", "auto,h", "--out", str(out), "--resamples", "100"],
        ["validate", "--coder", "h", "--out", str(out)],
        ["reconcile", "--coders", "auto,h", "--out", str(out / "sheet.csv"), "--store", store],
        ["export", "codebook", "--out", str(out / "book.qdc"), *common],
        ["export", "project", "--out", str(out / "project.qdpx"), "--store", store],
    ]
    for argv in commands:
        assert main(argv) == 0, argv
    expected = _normal_mode(out)
    assert expected == 0o666 & ~umask
    written = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith("project.sqlite")]
    assert len(written) > 20
    wrong = {str(p.relative_to(out)): oct(_mode(p)) for p in written if _mode(p) != expected}
    assert wrong == {}


def test_write_is_atomic_and_leaves_no_temporary_on_failure(tmp_path):
    target = files.write_text(tmp_path / "a.txt", "first\n")

    def broken(fh):
        fh.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        files.write_with(target, broken)
    assert target.read_text(encoding="utf-8") == "first\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_stale_temporaries_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / "sub" / f".codings.csv.{dead_pid}.tmp-abc123"
    live = tmp_path / f".codings.csv.{os.getpid()}.tmp-xyz789"
    foreign = tmp_path / ".codings.csv.backup"
    for p in (stale, live, foreign):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x", encoding="utf-8")
    assert files.remove_stale_temporaries(tmp_path) == [stale]
    assert live.exists() and foreign.exists() and not stale.exists()


def test_csv_field_limit_is_lifted():
    files.raise_csv_field_limit()
    import csv
    import io

    big = "x" * 300_000
    row = next(csv.reader(io.StringIO(f'"{big}",b\n')))
    assert row == [big, "b"]


def _imports(path: Path) -> set[str]:
    """Modules of the package that a source file imports (at any depth)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    package = ".".join(path.relative_to(REPO / "src").with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                module = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [module])
            names = [f"{module}.{a.name}" for a in node.names] + [module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found.update(n.strip(".") for n in names if n.startswith("coding"))
    return found


def test_the_import_graph_has_no_cycle():
    sources = {".".join(p.relative_to(REPO / "src").with_suffix("").parts).removesuffix(".__init__"): p
               for p in (REPO / "src" / "coding").rglob("*.py")}
    graph = {m: {i for i in _imports(p) if i in sources and i != m} for m, p in sources.items()}
    # a package's __init__ is imported with any of its modules: not an edge back
    for m in graph:
        graph[m] = {i for i in graph[m] if not m.startswith(i + ".")}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(m, path):
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle.extend(path + [m, n])
                return True
            if n not in state and visit(n, path + [m]):
                return True
        state[m] = 2
        return False

    for m in sorted(graph):
        if m not in state and visit(m, []):
            break
    assert cycle == []


def test_no_sql_outside_the_store():
    pattern = ("SELECT ", "INSERT ", "DELETE FROM", "UPDATE ", ".db.execute", "CREATE TABLE")
    offenders = []
    package = REPO / "src" / "coding"
    for p in sorted(package.rglob("*.py")):
        if p.relative_to(package).parts[0] == "store":  # the store's package: its schema and queries
            continue
        text = p.read_text(encoding="utf-8")
        offenders += [f"{p.name}: {s.strip()}" for s in pattern if s in text]
    assert offenders == []


def test_opening_a_store_does_not_load_spacy_or_pandas():
    code = ("import sys, coding.store, coding.records, coding.files; "
            "print(sorted(m for m in ('spacy', 'pandas', 'ahocorasick') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
