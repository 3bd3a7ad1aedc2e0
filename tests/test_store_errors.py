"""A store that cannot be used -- read-only, held by another run, damaged, on
a full disk -- ends a command with one line naming the store, never a
traceback or a wait without end."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY_CODEBOOK, coded_tiny, write_corpus

from coding import store as store_module
from coding.cli import main

REPO = Path(__file__).resolve().parents[1]


def one_line_error(capsys, argv) -> str:
    """Run the command; it must exit 2 with one ``coding: error:`` line last on stderr."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert not any(word in err for word in ("Traceback", "sqlite3.", "DatabaseError"))
    last = err.rstrip("\n").split("\n")[-1]
    assert last.startswith("coding: error: ")
    return err


def _coder_file(root: Path) -> Path:
    path = root / "h.csv"
    path.write_text("unit_id,code\na:p0001,trade\n", encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    coded_tiny(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(store_module, "STORE_WAIT_SECONDS", 0.3)
    return tmp_path, Path("out/project.sqlite")


def test_a_read_only_store_is_one_line(project, capsys, monkeypatch):
    root, store = project
    connect = sqlite3.connect

    def read_only(path, *args, **kwargs):  # what a read-only file gives a non-root user
        return connect(f"file:{path}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(store_module.sqlite3, "connect", read_only)
    for argv in (["run", "--corpus", "corpus", "--out", "out", "--no-report"],
                 ["coders", "import", str(_coder_file(root)), "--coder", "h1", "--store", str(store)]):
        err = one_line_error(capsys, argv)
        assert f"{store}: the store cannot be written (read-only" in err


def _hold_writes(store: Path) -> sqlite3.Connection:
    """Another connection in the middle of a write: SQLite's lock is held."""
    db = sqlite3.connect(store, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    return db


@pytest.mark.parametrize("argv", [
    ["coders", "import", "h.csv", "--coder", "h1", "--store", "out/project.sqlite"],
    ["coders", "remove", "auto", "--force", "--store", "out/project.sqlite"],
    ["run", "--corpus", "corpus", "--out", "out", "--no-report"],
])
def test_a_store_held_by_another_writer_waits_then_says_so(project, capsys, argv):
    root, store = project
    _coder_file(root)
    with store_module.Store(store) as s:  # a new codebook version: the run has to write
        s.db.execute("DELETE FROM coded")
    holder = _hold_writes(store)
    try:
        err = one_line_error(capsys, argv)
    finally:
        holder.rollback()
        holder.close()
    assert f"another run holds {store}; waiting up to 0.3 s" in err
    assert err.rstrip().endswith(f"{store}: another run holds the store (waited 0.3 s); try again when it has "
                                 "finished")


def _hold_run_lock(store: Path):
    store.parent.mkdir(parents=True, exist_ok=True)
    fh = open(store.with_name(store.name + ".lock"), "a+")
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fh


def test_a_second_run_waits_for_the_first_then_says_another_run_holds_the_store(project, capsys):
    _, store = project
    with _hold_run_lock(store):
        err = one_line_error(capsys, ["run", "--corpus", "corpus", "--out", "out", "--no-report"])
    assert "waiting up to 0.3 s" in err and "another run holds the store" in err


def test_a_run_takes_the_lock_before_it_creates_the_store(tmp_path, capsys, monkeypatch):
    """Two runs started at once in a new folder: the second is told that
    another run holds the store, and does not create (or race to create) it."""
    write_corpus(tmp_path)
    (tmp_path / "codebook.yaml").write_text(TINY_CODEBOOK, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(store_module, "STORE_WAIT_SECONDS", 0.3)
    store = tmp_path / "fresh" / "project.sqlite"
    with _hold_run_lock(store):
        err = one_line_error(capsys, ["run", "--out", "fresh", "--no-report"])
    assert "another run holds the store" in err
    assert not store.exists()


def test_two_runs_started_together_in_a_new_folder(tmp_path):
    """The race as it happens: one run codes, the other waits its turn (both
    succeed) or is told another run holds the store; never a SQL error."""
    write_corpus(tmp_path)
    (tmp_path / "codebook.yaml").write_text(TINY_CODEBOOK, encoding="utf-8")
    cmd = [sys.executable, "-m", "coding.cli", "run", "--out", "fresh", "--no-report"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    runs = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    results = [(r.wait(120), r.stderr.read()) for r in runs]
    for code, err in results:
        assert code == 0 or (code == 2 and "another run holds the store" in err), err
        assert "UNIQUE" not in err and "another SQLite database" not in err and "Traceback" not in err


def _damage(store: Path) -> None:
    """Overwrite pages in the middle of the store (its header stays)."""
    data = bytearray(store.read_bytes())
    for i in range(4096 * 3, min(len(data), 4096 * 12)):
        data[i] = (i * 7) & 0xFF
    store.write_bytes(bytes(data))


@pytest.mark.parametrize("argv", [
    ["run", "--corpus", "corpus", "--out", "out"],
    ["export", "project", "--out", "out/x.qdpx", "--store", "out/project.sqlite"],
    ["report", "--out", "out/r", "--store", "out/project.sqlite"],
    ["agree", "--coders", "auto,human", "--out", "out/a", "--store", "out/project.sqlite"],
])
def test_a_damaged_page_names_the_store(project, capsys, argv):
    _, store = project
    for name in ("project.sqlite-wal", "project.sqlite-shm"):
        (store.parent / name).unlink(missing_ok=True)
    _damage(store)
    err = one_line_error(capsys, argv)
    assert f"{store}: the store is damaged (database disk image is malformed)" in err


def test_a_full_disk_during_a_run_is_one_line(tmp_path):
    """A file-size limit stands in for a full disk: SQLite's write fails in
    the middle of the run."""
    write_corpus(tmp_path)
    (tmp_path / "codebook.yaml").write_text(TINY_CODEBOOK, encoding="utf-8")
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (60000, 60000)); "
            "from coding.cli import main; sys.exit(main(['run', '--out', 'out']))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1
    assert out.stderr.startswith("coding: error: out/project.sqlite: the store could not be written")
