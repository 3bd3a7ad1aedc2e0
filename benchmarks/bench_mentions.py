"""Words per CPU-second of `coding code --coder mentions` beside `auto`.

A synthetic corpus of N MB is made by repeating the shipped thesis corpus,
one copy per file. Each measured run is a fresh child process that builds
its coder (not timed) and codes the folder into a CSV with ``code_paths`` on
one core: read, segment into paragraphs, code, write rows with evidence.
Runs are interleaved (auto, mentions, auto, ...) so that drift in the
machine's load hits both alike; CPU time (not wall time) is what is
divided, since the machine is shared. Prints per size and coder the words
per CPU-second (median of ``--repeat`` runs), the ratio mentions/auto of
the same run, and the child's peak resident memory: memory that does not
grow with the corpus is what streaming promises.

    python benchmarks/bench_mentions.py --sizes 5,50 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CODERS = ("auto", "mentions")


def child(coder_name: str, folder: str, out: str) -> None:
    """Build the coder, then code the folder; print JSON figures."""
    from coding.coders.coder_choice import make_coder
    from coding.jobs.pipeline import code_paths

    coder, _ = make_coder(coder_name, str(REPO / "codebook.yaml"))
    cpu, wall = time.process_time(), time.perf_counter()
    counts = code_paths([folder], out, coder=coder, progress=False)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"cpu": cpu, "wall": wall, "units": counts["units"], "peak": peak}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,50", help="corpus sizes in MB (default: 5,50)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_learned import make_corpus, measure

    print(f"{'MB':>5} {'coder':<9} {'words/CPU-s':>12} {'CPU-s per run':<20} {'peak MB':>8}  mentions/auto")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            folder = Path(tmp) / f"corpus{size}"
            words = make_corpus(folder, size)
            runs: dict[str, list[dict]] = {name: [] for name in CODERS}
            for _ in range(args.repeat):
                for name in runs:
                    runs[name].append(measure(name, folder, Path(tmp) / f"{name}.csv", script=__file__))
            rate = {n: words / statistics.median(r["cpu"] for r in rs) for n, rs in runs.items()}
            for name, rs in runs.items():
                times = ", ".join(f"{r['cpu']:.1f}" for r in rs)
                ratio = f"{rate['mentions'] / rate['auto']:.2f}" if name == "mentions" else ""
                print(f"{size:>5} {name:<9} {rate[name]:>12,.0f} {times:<20} "
                      f"{max(r['peak'] for r in rs) / 2**20:>8.0f}  {ratio}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
