"""Throughput and memory of `coding code` against a plain regex baseline.

A synthetic corpus of N MB is made by repeating the shipped thesis corpus,
one copy per file. Each measured task runs in a fresh child process, so its
peak resident memory is its own:

* ``coding``: ``code_paths`` end to end (read, segment into paragraphs,
  code with the lemma-aware matcher, write the CSV), with ``--jobs 1`` and
  ``--jobs 2``;
* ``baseline``: the same files read and split into sentences, then one
  case-insensitive ``re`` alternation per variable over the codebook's plain
  terms (as written, no inflections, no ``re:`` patterns) searched in every
  sentence.

Timing starts after the imports, so interpreter start-up is not counted.

Prints words per second (median of ``--repeat`` runs), the ratio to the
baseline measured in the same run, and peak memory per corpus size.

    python benchmarks/bench_coding.py --sizes 5 --repeat 3
    python benchmarks/bench_coding.py --sizes 5,200 --repeat 1 --tasks coding1,coding2
"""

from __future__ import annotations

import argparse
import json
import re
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
    """Write about ``size_mb`` MB of thesis text as documents of the
    thesis's own size (about 170 kB each); return the number of words."""
    from coding.corpus import iter_documents

    text = "\n\n".join(d.text for d in iter_documents(REPO / "corpus")) + "\n"
    n = max(1, round(size_mb * MB / len(text.encode("utf-8"))))
    for i in range(n):
        (folder / f"doc{i:05d}.txt").write_text(text, encoding="utf-8")
    return n * len(text.split())


def task_coding(folder: str, codebook: str, jobs: int) -> None:
    from coding.pipeline import code_paths

    with tempfile.TemporaryDirectory() as tmp:
        code_paths([folder], Path(tmp) / "codings.csv", codebook=codebook, jobs=jobs, progress=False)


def task_baseline(folder: str, codebook: str) -> None:
    from coding.codebook import CASE_PREFIX, REGEX_PREFIX, load_codebook

    cb = load_codebook(codebook)
    regexes = []
    for var in cb.variables:
        terms = sorted({
            p[len(CASE_PREFIX):] if p.startswith(CASE_PREFIX) else p
            for code in cb.codes_of(var.id) for p in code.patterns if not p.startswith(REGEX_PREFIX)
        }, key=lambda t: (-len(t), t))  # longest first, as an alternation needs
        regexes.append(re.compile(r"\b(?:" + "|".join(re.escape(t) for t in terms) + r")\b", re.IGNORECASE))
    sentence = re.compile(r"(?<=[.!?])\s+|\n\s*\n")
    hits = 0
    for path in sorted(Path(folder).glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for s in sentence.split(text):
            for rx in regexes:
                if rx.search(s):
                    hits += 1
    if hits < 0:  # keep the work observable
        print(hits)


def child(args) -> None:
    """Run one task and print its wall time and peak memory as JSON."""
    import coding.codebook
    import coding.pipeline  # noqa: F401

    t0 = time.perf_counter()
    if args.task == "baseline":
        task_baseline(args.folder, args.codebook)
    else:
        task_coding(args.folder, args.codebook, args.jobs)
    seconds = time.perf_counter() - t0
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mb": max(self_kb, kids_kb) / 1024}))


def measure(task: str, folder: Path, codebook: str, jobs: int = 1) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", task, "--folder", str(folder), "--codebook", codebook,
         "--jobs", str(jobs)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Benchmark coding against a regex baseline.")
    p.add_argument("--sizes", default="5", help="corpus sizes in MB, comma-separated (e.g. 5,200)")
    p.add_argument("--repeat", type=int, default=3, help="runs per task; the median is reported")
    p.add_argument("--codebook", default=str(REPO / "codebook.yaml"))
    p.add_argument("--tasks", default="baseline,coding1,coding2",
                   help="which of baseline, coding1 (--jobs 1), coding2 (--jobs 2) to run")
    p.add_argument("--child", choices=["baseline", "coding"], dest="task")
    p.add_argument("--folder")
    p.add_argument("--jobs", type=int, default=1)
    args = p.parse_args(argv)
    if args.task:
        child(args)
        return 0

    print(f"{'MB':>4} {'task':<16} {'words/s (median)':>17} {'x baseline':>10} {'peak MB':>8}")
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            words = make_corpus(folder, size)
            chosen = set(args.tasks.split(","))
            tasks = [t for name, t in (("baseline", ("baseline", 1)), ("coding1", ("coding", 1)),
                                        ("coding2", ("coding", 2))) if name in chosen]
            results = {t: [] for t in tasks}
            for _ in range(args.repeat):  # interleaved, so drift hits every task alike
                for task, jobs in tasks:
                    results[(task, jobs)].append(measure(task, folder, args.codebook, jobs))
            base = (statistics.median(words / r["seconds"] for r in results[("baseline", 1)])
                    if ("baseline", 1) in results else float("nan"))
            for (task, jobs), runs in results.items():
                rate = statistics.median(words / r["seconds"] for r in runs)
                peak = max(r["peak_mb"] for r in runs)
                name = task if task == "baseline" else f"coding --jobs {jobs}"
                print(f"{size:>4} {name:<16} {rate:>17,.0f} {rate / base:>10.2f} {peak:>8.0f}")
            print(f"{size:>4} ({words:,} words)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
