"""CPU time of a report's agreement section on the shipped corpus.

Runs ``coding run --no-report`` of the shipped corpus and codebook into a
temporary folder (untimed), then times ``agreement_summary`` over its store
(every pair of coders, variable level, 1,000 bootstrap resamples per item):
the median CPU seconds of ``--repeat`` calls after one untimed call. With
``--src`` the same is timed with an older tree's package, so that before and
after come from one run on one machine.

    python benchmarks/bench_agreement.py
    python benchmarks/bench_agreement.py --src /tmp/before/src
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(store: str, repeat: int) -> None:
    """Time ``agreement_summary`` on ``store``; print the median CPU seconds."""
    from coding.reports.project import agreement_summary
    from coding.store import Store

    with Store(store) as s:
        agreement_summary(s)
        times = []
        for _ in range(repeat):
            start = time.process_time()
            agreement_summary(s)
            times.append(time.process_time() - start)
    print(f"{statistics.median(times):.2f}")


def timed(store: Path, repeat: int, src: str | None) -> str:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, __file__, "--child", str(store), "--repeat", str(repeat)],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--src", help="an older tree's src folder, timed beside this one")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.repeat)
        return 0
    from coding.codebook import load_codebook
    from coding.coders.dictionary import DictionaryCoder
    from coding.jobs import pipeline

    with tempfile.TemporaryDirectory() as tmp:
        pipeline.run(ROOT / "corpus", ROOT / "codebook.yaml", Path(tmp), progress=False, report=False,
                     coder=DictionaryCoder(load_codebook(ROOT / "codebook.yaml")))  # as when its figures were measured
        store = Path(tmp) / "project.sqlite"
        print(f"agreement section, CPU seconds (median of {args.repeat})")
        print(f"  this tree: {timed(store, args.repeat, None)}")
        if args.src:
            print(f"  {args.src}: {timed(store, args.repeat, args.src)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
