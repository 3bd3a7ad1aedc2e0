"""Throughput and memory of coding Parquet shards: the local engine with
``--jobs 2`` against Dask with two (and one) workers on this machine.

A corpus of ``--gb`` GB of text (default 2) is generated from the shipped
corpus: its paragraphs, repeated with unique ids and outlet, author and date
columns, in Parquet shards of about ``--shard-mb`` MB of text (no
dictionary encoding of the text, Snappy compression, as a crawl would be
stored). It is written under ``--folder`` (default: a folder in /tmp) and
reused by later runs with the same settings; it is never part of the
repository.

Each task runs in a fresh child process and codes every shard into its own
temporary output folder:

* ``local2``: ``code_shards(engine="local", jobs=2)`` (a process pool);
* ``dask2`` / ``dask1``: ``code_shards(engine="dask", workers=N)`` (a
  ``distributed.LocalCluster`` of N worker processes on 127.0.0.1, started
  and stopped inside the timing, as the command does).

Printed per task: wall seconds, words per second (in all and per worker),
the ratio to ``local2`` (1 - ratio is the engine's overhead), words per
CPU-second of the driver and its workers together (the engine's cost
without the waiting: other processes on the machine lower the wall-time
figures but hardly this one) and its ratio to ``local2``, the peak
resident memory of the largest worker process and of the driver, and
whether the outputs are identical to those of the first task (manifests
compared: they hold every output's SHA-256). The load average before each
task is printed too: other processes on the machine lower the figures.

    python benchmarks/bench_engine.py --gb 2
    python benchmarks/bench_engine.py --gb 0.2 --tasks local2,dask2 --repeat 2
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MB = 1_000_000
TASKS = {"local2": ("local", 2), "dask2": ("dask", 2), "dask1": ("dask", 1), "local1": ("local", 1)}


def paragraphs() -> list[str]:
    """The paragraphs of the shipped corpus, as the coder sees them."""
    from coding.corpus import iter_documents
    from coding.segment import segment

    return [u.text for d in iter_documents(REPO / "corpus") for u in segment(d)]


def make_shards(folder: Path, gb: float, shard_mb: int) -> dict:
    """Write the shards (unless this folder already holds them for the same
    settings); return what they hold: shards, units, words, text bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    marker = folder / "_corpus.json"
    settings = {"gb": gb, "shard_mb": shard_mb, "version": 2}
    if marker.exists() and json.loads(marker.read_text()).get("settings") == settings:
        return json.loads(marker.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    texts = paragraphs()
    sizes = [len(t.encode("utf-8")) for t in texts]
    words = [len(t.split()) for t in texts]
    per_shard = max(1, round(shard_mb * MB / sum(sizes)))  # copies of the corpus per shard
    n_shards = max(1, math.ceil(gb * 1000 * MB / (per_shard * sum(sizes))))  # at least gb of text
    day = datetime.date(2012, 1, 1)
    for s in range(n_shards):
        copies = range(s * per_shard, (s + 1) * per_shard)
        n = len(texts) * per_shard
        table = pa.table({
            "id": [f"a{c:06d}-{i:04d}" for c in copies for i in range(len(texts))],
            "text": texts * per_shard,
            "outlet": [f"outlet-{c % 12:02d}" for c in copies for _ in texts],
            "author": [f"author-{(c * 7 + i) % 500:03d}" for c in copies for i in range(len(texts))],
            "date": pa.array([day + datetime.timedelta(days=(c * 3) % 4000) for c in copies for _ in texts]),
        })
        assert table.num_rows == n
        pq.write_table(table, folder / f"part-{s:04d}.parquet", use_dictionary=["outlet", "author"],
                       compression="snappy")
    info = {"settings": settings, "shards": n_shards, "units": n_shards * per_shard * len(texts),
            "words": n_shards * per_shard * sum(words), "text_bytes": n_shards * per_shard * sum(sizes),
            "file_bytes": sum(p.stat().st_size for p in folder.glob("*.parquet"))}
    marker.write_text(json.dumps(info))
    return info


def child(args) -> None:
    """Code the shards once with one engine; print seconds and peaks as JSON."""
    from coding.codebook import load_codebook
    from coding.coders.dictionary import DictionaryCoder
    from coding.jobs.engine import code_shards

    engine, workers = TASKS[args.child]
    coder = DictionaryCoder(load_codebook(args.codebook))  # the figures in docs/scaling.md are the dictionary coder's
    out = Path(args.out)
    t0 = time.perf_counter()
    run = code_shards([args.folder], out, codebook=args.codebook, engine=engine,
                      jobs=workers if engine == "local" else 1, workers=workers if engine == "dask" else None,
                      progress=False, coder=coder)
    seconds = time.perf_counter() - t0
    if run.failed:
        raise SystemExit(run.failed[0].error)
    manifest = json.loads((out / "_manifest.json").read_text())
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "seconds": seconds,
        "cpu_seconds": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
        "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "driver_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "codings": run.count("codings"),
        "outputs": [s["output_sha256"] for s in manifest["shards"]],
    }))


def measure(task: str, args) -> dict:
    with tempfile.TemporaryDirectory(prefix="coding-bench-out-") as tmp:
        out = subprocess.run(
            [sys.executable, __file__, "--child", task, "--folder", str(args.folder), "--out", tmp + "/out",
             "--codebook", args.codebook],
            check=True, capture_output=True, text=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Benchmark the local and the Dask engine on Parquet shards.")
    p.add_argument("--gb", type=float, default=2.0, help="GB of text to generate (default: 2)")
    p.add_argument("--shard-mb", type=int, default=64, help="MB of text per shard (default: 64)")
    p.add_argument("--folder", default=str(Path(tempfile.gettempdir()) / "coding-bench-shards"))
    p.add_argument("--tasks", default="local2,dask2,dask1", help="which of local2, dask2, dask1, local1 to run")
    p.add_argument("--repeat", type=int, default=1, help="runs per task; the median is reported")
    p.add_argument("--codebook", default=str(REPO / "codebook.yaml"))
    p.add_argument("--child", choices=sorted(TASKS))
    p.add_argument("--out")
    args = p.parse_args(argv)
    if args.child:
        child(args)
        return 0

    t0 = time.perf_counter()
    info = make_shards(Path(args.folder), args.gb, args.shard_mb)
    print(f"corpus: {info['shards']} shards, {info['units']:,} units, {info['words']:,} words, "
          f"{info['text_bytes'] / 1e9:.2f} GB of text in {info['file_bytes'] / 1e9:.2f} GB of Parquet "
          f"({args.folder}; ready in {time.perf_counter() - t0:.0f} s)", flush=True)
    tasks = [t for t in args.tasks.split(",") if t in TASKS]
    runs: dict[str, list[dict]] = {t: [] for t in tasks}
    loads: dict[str, list[float]] = {t: [] for t in tasks}
    for _ in range(args.repeat):  # interleaved, so drift in the machine's load hits every task alike
        for task in tasks:
            loads[task].append(os.getloadavg()[0])
            runs[task].append(measure(task, args))
    report(runs, loads, info)
    return 0


def report(runs: dict[str, list[dict]], loads: dict[str, list[float]], info: dict) -> None:
    print(f"{'task':<8} {'workers':>7} {'seconds':>8} {'words/s':>12} {'per worker':>11} {'x local2':>8} "
          f"{'words/CPU-s':>11} {'x local2':>8} {'peak MB/worker':>14} {'driver MB':>9} {'load':>5} "
          f"{'same output':>11}")
    first = next(iter(runs.values()))[0]["outputs"]
    seconds = {t: statistics.median(r["seconds"] for r in rs) for t, rs in runs.items()}
    cpu = {t: statistics.median(r["cpu_seconds"] for r in rs) for t, rs in runs.items()}
    for task, rs in runs.items():
        workers = TASKS[task][1]
        rate = info["words"] / seconds[task]
        ratio = f"{seconds['local2'] / seconds[task]:.3f}" if "local2" in seconds else "-"
        cpu_ratio = f"{cpu['local2'] / cpu[task]:.3f}" if "local2" in cpu else "-"
        same = "yes" if all(r["outputs"] == first for r in rs) else "NO"
        worker_mb, driver_mb = max(r["worker_peak_mb"] for r in rs), max(r["driver_peak_mb"] for r in rs)
        print(f"{task:<8} {workers:>7} {seconds[task]:>8.1f} {rate:>12,.0f} {rate / workers:>11,.0f} {ratio:>8} "
              f"{info['words'] / cpu[task]:>11,.0f} {cpu_ratio:>8} {worker_mb:>14.0f} {driver_mb:>9.0f} "
              f"{max(loads[task]):>5.2f} {same:>11}")
    if "local2" in seconds and "dask2" in seconds:
        print(f"Dask overhead with two workers: {seconds['dask2'] / seconds['local2'] - 1:+.1%} wall time, "
              f"{cpu['dask2'] / cpu['local2'] - 1:+.1%} CPU time of local --jobs 2")
    if "dask1" in seconds and "dask2" in seconds:
        print(f"Dask scaling from one to two workers: {seconds['dask1'] / seconds['dask2']:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
