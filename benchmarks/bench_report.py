"""Time and peak memory of `coding run` (coding + report) on large corpora.

A corpus of N MB is made under /tmp by copying the shipped documents
(``corpus/`` and its manifest) as often as needed, each copy in its own
folder with its own document ids (the first copy keeps the shipped ids, so
the shipped coder files still apply). ``coding run`` runs in a child
process; its wall time and peak resident memory (``ru_maxrss`` of the
children) are printed, then those of an unchanged rerun (nothing to code:
the report should be skipped). With ``--no-report`` both runs are
``coding run --no-report``: the coding stage alone.

    python benchmarks/bench_report.py --sizes 5,50
    python benchmarks/bench_report.py --sizes 200 --src /tmp/before_src   # an older tree, for before/after
    python benchmarks/bench_report.py --sizes 5,50,200 --no-report         # the coding stage alone
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_corpus(folder: Path, size_mb: int) -> int:
    """Copy the shipped corpus into ``folder`` until it holds ``size_mb`` MB of text; returns bytes."""
    src = ROOT / "corpus"
    with open(src / "manifest.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    one = sum((src / r["path"]).stat().st_size for r in rows)
    copies = max(1, round(size_mb * 1_000_000 / one))
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copytree(src / "coders", folder / "coders")
    out = []
    for k in range(copies):
        for r in rows:
            path = Path(r["path"]) if k == 0 else Path(f"c{k}") / r["path"]
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / r["path"], folder / path)
            out.append({**r, "id": r["id"] if k == 0 else f"{r['id']}-c{k}", "path": path.as_posix()})
    with open(folder / "manifest.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(out)
    return copies * one


def run_child(corpus: Path, out: Path, src: str | None, report: bool = True,
              coder: str = "auto") -> tuple[float, float, int]:
    """Run ``coding run`` in a fresh child; (wall seconds, peak RSS in MB, exit status).
    Without ``report`` it is ``coding run --no-report``: read, segment, code, store, and
    segments.csv and codings.csv."""
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src  # measure another tree (e.g. a copy of the code before a change)
    cmd = [sys.executable, "-c", "import sys; from coding.cli import main; sys.exit(main(sys.argv[1:]))",
           "run", "--corpus", str(corpus), "--out", str(out), "--codebook", str(ROOT / "codebook.yaml"),
           "--coder", coder]
    if not report:
        cmd.append("--no-report")
    # GNU time gives each child's own peak; ru_maxrss of RUSAGE_CHILDREN is the largest child so far
    timed = ["/usr/bin/time", "-f", "%M", *cmd] if Path("/usr/bin/time").exists() else cmd
    start = time.perf_counter()
    proc = subprocess.run(timed, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if timed is not cmd:
        peak = int(proc.stderr.strip().splitlines()[-1]) / 1024
    else:
        import resource
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if proc.returncode:
        print(proc.stderr[-2000:], file=sys.stderr)
    return wall, peak, proc.returncode


def bench_size(size: int, args) -> None:
    """Measure a first run and unchanged reruns at ``size`` MB and print them."""
    folder = Path(args.tmp) / f"corpus_{size}mb"
    nbytes = make_corpus(folder, size)
    firsts, reruns = [], []
    for _ in range(args.repeat):
        out = Path(args.tmp) / f"out_{size}mb"
        if out.exists():
            shutil.rmtree(out)
        firsts.append(run_child(folder, out, args.src, not args.no_report, args.coder))
        reruns.append(run_child(folder, out, args.src, not args.no_report, args.coder))
    wall = statistics.median(f[0] for f in firsts)
    peak = max(f[1] for f in firsts)
    again = statistics.median(r[0] for r in reruns)
    status = max(f[2] for f in firsts + reruns)
    print(f"{size:>5} MB ({nbytes / 1e6:6.1f} MB of text): run {wall:8.1f} s  peak {peak:7.0f} MB  "
          f"{nbytes / 1e6 / wall:6.2f} MB/s  unchanged rerun {again:7.1f} s  "
          f"(rerun/run {again / wall:.3f})  exit {status}", flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="5,50", help="corpus sizes in MB, comma-separated")
    p.add_argument("--repeat", type=int, default=1, help="runs per size (median time, largest peak)")
    p.add_argument("--tmp", default="/tmp/bench_report", help="where the corpora and outputs go")
    p.add_argument("--src", default=None, help="PYTHONPATH of the code to measure (default: the installed one)")
    p.add_argument("--coder", default="auto", choices=["auto", "mentions", "learned"],
                   help="the coder of the runs (default: auto, the dictionary coder the README's figures are for)")
    p.add_argument("--no-report", action="store_true",
                   help="measure the coding stage alone (coding run --no-report: no tables, figures or HTML)")
    args = p.parse_args(argv)
    command = "coding run --no-report" if args.no_report else "coding run"
    print(f"{command}: medians of {args.repeat} run(s); peak = largest resident set of the child")
    for size in (int(s) for s in args.sizes.split(",")):
        bench_size(size, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
