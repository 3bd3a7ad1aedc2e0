"""Worker processes of ``coding code --jobs 2`` that die end the command in
seconds with one line naming the file or shard; what killed runs leave
behind is removed by the next run (only theirs)."""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path

import pytest
from conftest import TINY_CODEBOOK

from coding.cli import main
from coding.jobs import code_paths, engine

DEAD = 999_999_999  # above any pid_max: no such process


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # two workers even on a one-CPU machine
    Path("codebook.yaml").write_text(TINY_CODEBOOK, encoding="utf-8")
    Path("texts").mkdir()
    for i in range(6):
        Path(f"texts/t{i}.txt").write_text("Gas pipelines and trade grew.\n\nTerrorism fell.\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def no_hang():
    """A wait without end fails the test instead of stopping the suite."""
    def _stop(*_):
        raise TimeoutError("still waiting after 60 s")

    old = signal.signal(signal.SIGALRM, _stop)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _dies_on(name: str, real):
    """``real``, except that the worker process coding ``name`` is killed."""
    def wrapper(*args):
        if name in repr(args):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args)
    return wrapper


def test_a_killed_worker_stops_code_with_csv_output(here, capsys, monkeypatch, no_hang):
    monkeypatch.setattr(code_paths, "_code_item", _dies_on("t3.txt", code_paths._code_item))
    assert main(["code", "texts", "--out", "o.csv", "--jobs", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("coding: error: texts/t3.txt: a worker process died (killed by signal 9) while coding "
                          "this file")
    assert not Path("o.csv").exists()
    assert not [p for p in Path(".").iterdir() if p.name.startswith(".")]  # no folder of parts, no temporary


def test_a_worker_that_dies_before_the_parent_watches_is_still_seen(here, capsys, monkeypatch, no_hang):
    """The pool's workers are taken down when the pool is made: one that dies
    before the parent first waits (and is replaced at once) is still seen."""
    import time

    real = code_paths.watched

    def late(results, *args):
        time.sleep(2)  # the worker coding t0.txt is dead and replaced by now
        yield from real(results, *args)

    monkeypatch.setattr(code_paths, "watched", late)
    monkeypatch.setattr(code_paths, "_code_item", _dies_on("t0.txt", code_paths._code_item))
    assert main(["code", "texts", "--out", "o.csv", "--jobs", "2"]) == 2
    assert "texts/t0.txt: a worker process died (killed by signal 9)" in capsys.readouterr().err


def test_a_killed_worker_stops_code_with_parquet_output(here, capsys, monkeypatch, no_hang):
    import pandas as pd

    Path("shards").mkdir()
    for i in range(4):
        pd.DataFrame({"id": [f"s{i}-{k}" for k in range(3)], "text": ["Gas trade grew."] * 3}).to_parquet(
            f"shards/s{i}.parquet")
    monkeypatch.setattr(engine, "code_shard", _dies_on("s2.parquet", engine.code_shard))
    assert main(["code", "shards", "--out", "coded", "--format", "parquet", "--jobs", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "s2.parquet: a worker process died (killed by signal 9) while coding this shard" in err
    assert not [p.name for p in Path("coded").iterdir() if p.name.startswith(".")]


def test_stale_temporaries_beside_the_output_are_removed_only_for_dead_runs(here, capsys):
    stale_parts = Path(f".coding-parts-{DEAD}-abc")
    stale_parts.mkdir()
    (stale_parts / "1.csv").write_text("rows", encoding="utf-8")
    stale_output = Path(f".o.csv.{DEAD}.tmp-abcdef")
    stale_output.write_text("half", encoding="utf-8")
    live_parts = Path(f".coding-parts-{os.getpid()}-xyz")  # a run still going
    live_parts.mkdir()
    other = Path(f".other.csv.{DEAD}.tmp-abcdef")  # another output's: not this run's business
    other.write_text("half", encoding="utf-8")
    assert main(["code", "texts", "--out", "o.csv", "--jobs", "2"]) == 0
    assert not stale_parts.exists() and not stale_output.exists()
    assert live_parts.is_dir() and other.is_file()


def test_stale_worker_folders_in_a_shard_output_are_removed(here, capsys):
    import pandas as pd

    pd.DataFrame({"id": ["a", "b"], "text": ["Gas trade.", "Terrorism."]}).to_parquet("s.parquet")
    Path("coded").mkdir()
    stale = Path(f"coded/.coding-parts-{DEAD}-abc")
    stale.mkdir()
    assert main(["code", "s.parquet", "--out", "coded", "--format", "parquet"]) == 0
    assert not stale.exists()


def test_report_spill_folders_of_dead_runs_are_removed(tmp_path, monkeypatch):
    from conftest import run_tiny

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    stale, live, foreign = temp / f"coding-report-{DEAD}-abc", temp / f"coding-report-{os.getpid()}-x", \
        temp / "coding-report-abc"
    for folder in (stale, live, foreign):
        folder.mkdir()
    run_tiny(tmp_path)
    assert not stale.exists() and live.is_dir() and foreign.is_dir()
    assert sorted(p.name for p in temp.iterdir()) == sorted([live.name, foreign.name])  # its own is gone too
