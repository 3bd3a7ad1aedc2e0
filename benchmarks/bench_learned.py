"""Throughput and memory of `coding code --coder learned` beside `auto`.

A synthetic corpus of N MB is made by repeating the shipped thesis corpus,
one copy per file. Each measured run is a fresh child process that builds
its coder (timing starts after that) and codes the folder into a CSV with
``code_paths`` on one core (``--jobs 1``): read, segment into paragraphs,
code, write rows with evidence. Runs are interleaved (auto, learned, auto,
learned, ...) so drift in the machine's load hits both alike. Prints words
per second (median of ``--repeat`` runs), the ratio learned/auto measured
in the same run, and each child's peak resident memory, per size: memory
that does not grow with the corpus is what streaming promises.

    python benchmarks/bench_learned.py --sizes 5,50 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MB = 1_000_000


def make_corpus(folder: Path, size_mb: int) -> int:
    """Write about ``size_mb`` MB of text files; returns their word count."""
    from coding.corpus import iter_documents

    text = "\n\n".join(d.text for d in iter_documents(REPO / "corpus"))
    folder.mkdir(parents=True, exist_ok=True)
    copies = max(1, round(size_mb * MB / len(text.encode("utf-8"))))
    for i in range(copies):
        (folder / f"copy{i:05d}.txt").write_text(text, encoding="utf-8")
    return copies * len(text.split())


def child(coder_name: str, folder: str, out: str) -> None:
    """Build the coder, then time coding the folder; print JSON figures."""
    from coding.coders.coder_choice import make_coder
    from coding.jobs.pipeline import code_paths

    coder, _ = make_coder(coder_name, str(REPO / "codebook.yaml"))
    start = time.perf_counter()
    counts = code_paths([folder], out, coder=coder, progress=False)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "units": counts["units"], "peak": peak}))


def measure(coder_name: str, folder: Path, out: Path, script: str = __file__) -> dict:
    """What ``script --child`` prints (its last line, JSON) after coding ``folder`` with ``coder_name``
    in a fresh process, so that each figure, peak memory above all, is the coder's own."""
    result = subprocess.run([sys.executable, script, "--child", coder_name, str(folder), str(out)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,50", help="corpus sizes in MB (default: 5,50)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    print(f"{'MB':>5} {'coder':<8} {'words/s':>10} {'runs (s)':<24} {'peak MB':>8}  learned/auto")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            folder = Path(tmp) / f"corpus{size}"
            words = make_corpus(folder, size)
            runs: dict[str, list[dict]] = {"auto": [], "learned": []}
            for _ in range(args.repeat):
                for name in runs:
                    runs[name].append(measure(name, folder, Path(tmp) / f"{name}.csv"))
            rate = {n: words / statistics.median(r["seconds"] for r in rs) for n, rs in runs.items()}
            for name, rs in runs.items():
                times = ", ".join(f"{r['seconds']:.1f}" for r in rs)
                ratio = f"{rate['learned'] / rate['auto']:.2f}" if name == "learned" else ""
                print(f"{size:>5} {name:<8} {rate[name]:>10,.0f} {times:<24} "
                      f"{max(r['peak'] for r in rs) / 2**20:>8.0f}  {ratio}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
