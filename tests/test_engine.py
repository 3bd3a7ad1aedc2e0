"""Parquet shards in and out, the local shard engine and the Dask engine on
a LocalCluster of two worker processes (127.0.0.1 only): equality with a
local run, a worker killed mid-run, resuming, bad shards."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
distributed = pytest.importorskip("distributed")

from conftest import REPO  # noqa: E402

from coding.cli import main  # noqa: E402
from coding.corpus import iter_documents  # noqa: E402
from coding.errors import CodingError  # noqa: E402
from coding.jobs.engine import MANIFEST, SUCCESS, code_shards  # noqa: E402
from coding.jobs.pipeline import code_paths  # noqa: E402
from coding.jobs.shards import open_shard  # noqa: E402
from coding.segment import segment  # noqa: E402

CODEBOOK = REPO / "codebook.yaml"


@pytest.fixture(scope="module")
def units():
    return [u for d in iter_documents(REPO / "corpus") for u in segment(d)]


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each, on the loopback address."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0", silence_logs=50) as c:
        yield c


def write_shards(folder: Path, units, n: int, copies: int = 1) -> list[Path]:
    """``n`` Parquet shards of the shipped units (each ``copies`` times, ids
    made unique), with outlet (text), year (int32) and date (date) columns."""
    import datetime

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n):
        part = [(f"{u.id}#{c}", u.text) for c in range(copies) for u in units[k::n]]
        table = pa.table({
            "id": [i for i, _ in part], "text": [t for _, t in part],
            "outlet": [f"outlet-{k % 3}"] * len(part),
            "year": pa.array([2012 + k % 12] * len(part), pa.int32()),
            "date": pa.array([datetime.date(2012 + k % 12, 1, 1 + i % 28) for i in range(len(part))]),
        })
        paths.append(folder / f"part-{k:02d}.parquet")
        pq.write_table(table, paths[-1])
    return paths


def output_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def test_local_shards_match_the_csv_of_coding_code_and_keep_their_columns(tmp_path, units):
    shards = write_shards(tmp_path / "in", units, 3)
    run = code_shards([tmp_path / "in"], tmp_path / "out", codebook=CODEBOOK)
    assert [r.status for r in run.results] == ["coded"] * 3
    code_paths(shards, tmp_path / "all.csv", codebook=CODEBOOK, progress=False)
    import csv

    header, *expected = list(csv.reader((tmp_path / "all.csv").read_text(encoding="utf-8").splitlines()))
    # the default coder with the shipped codebook is the mention coder: its probability is a column too
    assert header == ["unit_id", "variable", "code", "evidence", "probability"]
    got, metadata = [], []
    for p in shards:
        table = pq.read_table(tmp_path / "out" / p.name)
        assert table.column_names[:5] == header
        got += [list(r) for r in zip(*(table.column(c).to_pylist() for c in header))]
        metadata.append(table.select(["outlet", "year", "date"]))
    assert got == expected and len(got) > len(units)  # same rows, same order, same evidence and probability
    # passed-through columns keep their types and follow their unit
    source = pq.read_table(shards[1])
    assert metadata[1].schema == source.select(["outlet", "year", "date"]).schema
    first_unit = source.column("id")[0].as_py()
    out1 = pq.read_table(tmp_path / "out" / shards[1].name)
    row = out1.column("unit_id").to_pylist().index(first_unit)
    assert out1.column("date")[row] == source.column("date")[0]
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert manifest["complete"] and (tmp_path / "out" / SUCCESS).exists()
    assert manifest["totals"]["units"] == len(units) and manifest["coder"]["name"] == "mentions"


def test_a_column_named_like_the_coders_own_output_is_refused(tmp_path):
    """The mention coder writes a probability column: a shard passing one
    through would give two, so that shard fails with a one-line error."""
    folder = tmp_path / "in"
    folder.mkdir()
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["Gas pipeline talks.", "Trade rose."],
                             "probability": ["x", "y"]}), folder / "p.parquet")
    run = code_shards([folder], tmp_path / "out", codebook=CODEBOOK)
    (result,) = run.results
    assert result.status == "failed" and "column 'probability' would clash" in result.error
    assert "p.parquet" in result.error and not (tmp_path / "out" / "p.parquet").exists()


def test_a_large_shard_is_read_in_batches(tmp_path, units):
    (shard,) = write_shards(tmp_path, units, 1)
    _fields, batches = open_shard(shard, batch_rows=50)
    sizes = [len(b.units) for b in batches]
    assert len(sizes) > 5 and max(sizes) == 50 and sum(sizes) == len(units)


def test_dask_gives_the_bytes_of_a_local_run(tmp_path, units, cluster):
    write_shards(tmp_path / "in", units, 4)
    local = code_shards([tmp_path / "in"], tmp_path / "local", codebook=CODEBOOK, jobs=2)
    dask = code_shards([str(tmp_path / "in" / "*.parquet")], tmp_path / "dask", codebook=CODEBOOK,
                       engine="dask", scheduler=cluster.scheduler_address)
    assert [r.status for r in dask.results] == ["coded"] * 4
    assert output_bytes(tmp_path / "dask") == output_bytes(tmp_path / "local")
    assert local.count("codings") > 1000


def test_a_worker_killed_mid_run_loses_nothing(tmp_path, units, cluster):
    write_shards(tmp_path / "in", units, 10, copies=40)
    code_shards([tmp_path / "in"], tmp_path / "local", codebook=CODEBOOK)
    killed = []

    def kill_a_busy_worker(result):
        if killed:
            return
        client = distributed.default_client()  # the engine's
        busy = [addr for addr, keys in client.processing().items() if keys]
        pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
        killed.append((pid, len(client.processing()[busy[0]])))
        os.kill(pid, signal.SIGKILL)

    run = code_shards([tmp_path / "in"], tmp_path / "dask", codebook=CODEBOOK, engine="dask",
                      scheduler=cluster.scheduler_address, on_result=kill_a_busy_worker)
    assert killed and killed[0][1] >= 1  # it had a shard in hand
    # a shard the killed worker had written but not reported is found complete by its rerun
    assert len(run.results) == 10 and {r.status for r in run.results} <= {"coded", "unchanged"}
    assert output_bytes(tmp_path / "dask") == output_bytes(tmp_path / "local")
    assert not [p for p in (tmp_path / "dask").iterdir() if p.name.startswith(".")]  # no partial file


def test_a_rerun_skips_unchanged_shards_and_recodes_a_changed_one(tmp_path, units, cluster):
    shards = write_shards(tmp_path / "in", units, 3)
    first = code_shards([tmp_path / "in"], tmp_path / "out", codebook=CODEBOOK, engine="dask",
                        scheduler=cluster.scheduler_address)
    before = output_bytes(tmp_path / "out")
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*.parquet")}
    again = code_shards([tmp_path / "in"], tmp_path / "out", codebook=CODEBOOK, engine="dask",
                        scheduler=cluster.scheduler_address)
    assert [r.status for r in again.results] == ["unchanged"] * 3
    assert output_bytes(tmp_path / "out") == before
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*.parquet")} == stamps
    assert again.count("codings") == first.count("codings")
    table = pq.read_table(shards[2]).slice(0, 20)
    pq.write_table(table, shards[2])  # the input of one shard changes
    third = code_shards([tmp_path / "in"], tmp_path / "out", codebook=CODEBOOK)
    assert [r.status for r in third.results] == ["unchanged", "unchanged", "coded"]
    assert third.results[2].units == 20
    shards[0].write_bytes(b"no longer Parquet")  # a shard that went bad loses its old codings
    fourth = code_shards([tmp_path / "in"], tmp_path / "out", codebook=CODEBOOK)
    assert [r.status for r in fourth.results] == ["failed", "unchanged", "unchanged"]
    assert not (tmp_path / "out" / shards[0].name).exists()


def test_bad_shards_are_named_and_the_others_coded(tmp_path, units, cluster, capsys):
    write_shards(tmp_path / "in", units, 2)
    pq.write_table(pa.table({"id": ["a", "b"], "body": ["x", "y"]}), tmp_path / "in" / "no-text.parquet")
    (tmp_path / "in" / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    (tmp_path / "in" / "dup.jsonl").write_text('{"id": 1, "text": "trade"}\n{"id": 1, "text": "gas"}\n')
    run = code_shards([tmp_path / "in"], tmp_path / "out", codebook=CODEBOOK, engine="dask",
                      scheduler=cluster.scheduler_address)
    status = {Path(r.source).name: r.status for r in run.results}
    assert status == {"broken.parquet": "failed", "dup.jsonl": "failed", "no-text.parquet": "failed",
                      "part-00.parquet": "coded", "part-01.parquet": "coded"}
    errors = {Path(r.source).name: r.error for r in run.failed}
    assert "no-text.parquet: missing column(s): text" in errors["no-text.parquet"]
    assert "broken.parquet: cannot be read as Parquet" in errors["broken.parquet"]
    assert "duplicate id" in errors["dup.jsonl"]
    assert all("\n" not in e for e in errors.values())
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert not manifest["complete"] and not (tmp_path / "out" / SUCCESS).exists()
    assert {Path(s["input"]).name: s.get("error", "") for s in manifest["shards"]}["no-text.parquet"]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.parquet")) == ["part-00.parquet", "part-01.parquet"]
    # the command: its own local cluster of two workers, the errors on stderr, exit status 1
    code = main(["code", str(tmp_path / "in"), "--out", str(tmp_path / "cli"), "--format", "parquet",
                 "--engine", "dask", "--workers", "2", "--codebook", str(CODEBOOK)])
    out, err = capsys.readouterr()
    assert code == 1 and "5 shard(s) (2 coded, 0 unchanged, 3 failed)" in out
    assert "no-text.parquet: missing column(s): text" in err
    assert output_bytes(tmp_path / "cli") == output_bytes(tmp_path / "out")


def test_option_and_install_errors_are_one_line(tmp_path, units, monkeypatch, capsys):
    write_shards(tmp_path / "in", units, 1)
    assert main(["code", str(tmp_path / "in"), "--out", str(tmp_path / "x.csv"), "--engine", "dask"]) == 2
    assert "add --format parquet" in capsys.readouterr().err
    assert main(["code", str(tmp_path / "in"), "--out", str(tmp_path / "o"), "--workers", "2"]) == 2
    assert "are for --engine dask" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    with pytest.raises(CodingError, match="is a file: give a folder"):
        code_shards([tmp_path / "in"], tmp_path / "file", codebook=CODEBOOK)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    with pytest.raises(CodingError, match=r"Parquet needs pyarrow.*pip install 'coding\[dask\]'"):
        code_paths([tmp_path / "in" / "part-00.parquet"], tmp_path / "x.csv", codebook=CODEBOOK)
    run = code_shards([tmp_path / "in"], tmp_path / "o2", codebook=CODEBOOK)
    assert "Parquet needs pyarrow" in run.failed[0].error
    monkeypatch.setitem(sys.modules, "distributed", None)
    from coding.jobs.engine import need_dask

    with pytest.raises(CodingError, match=r"--engine dask needs dask and distributed"):
        need_dask()


def test_the_learned_coder_codes_shards_with_the_codebook_in_its_model(tmp_path, units, monkeypatch, capsys):
    write_shards(tmp_path / "in", units, 2)
    monkeypatch.chdir(tmp_path)  # no codebook.yaml here
    assert main(["code", "in", "--out", "out", "--format", "parquet", "--coder", "learned"]) == 0
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert manifest["coder"]["name"] == "learned" and manifest["complete"]
    assert manifest["totals"]["codings"] > 500
    assert "2 shard(s) (2 coded" in capsys.readouterr().out
