"""Throughput and memory of `coding code` against plain regex competitors.

A synthetic corpus of N MB is made by repeating the shipped thesis corpus,
one copy per file (about 170 kB each). Each measured task runs in a fresh
child process, so its peak resident memory is its own, and each reads the
same files and writes one CSV row per (paragraph, variable) or coding:

* ``coding``: ``code_paths`` end to end (read, segment into paragraphs,
  code with the lemma-aware matcher, masks, ``re:`` patterns, write the CSV
  with evidence), with ``--jobs 1`` and ``--jobs 2``;
* ``trie`` (the competitor a good engineer writes): the codebook's plain and
  ``cs:`` terms with the same inflected variants as the coder, one
  trie-shaped regular expression per variable (``pak(?:istan|...)``, so
  the regex engine scans for the first letters instead of trying every
  position) run over the lower-cased document; a hit counts where it starts
  and ends a word; hits are mapped to paragraphs (blank-line blocks) and
  each (paragraph, variable) is written once. No masks, no ``re:``
  patterns, no evidence, no case-sensitive terms: it does less than the
  coder;
* ``naive`` (the former baseline, second row): the files split into
  sentences, one case-insensitive ``re`` alternation of the plain terms as
  written per variable, ``\\b`` in front, searched in every sentence. Slow
  (the leading ``\\b`` and IGNORECASE defeat the engine's literal scan), so
  it runs only on sizes up to ``--naive-up-to`` MB.

Timing starts after the imports, so interpreter start-up is not counted.
Besides wall time, the CPU time of the task (its process and its worker
processes) gives words per CPU-second: other processes on the machine slow
the wall-time figures of every task, but hardly this per-core one.
Runs are interleaved (every task once, then again) so that drift in the
machine's load hits every task alike. Prints words per second (median of
``--repeat`` runs), the ratio to the trie competitor and to ``--jobs 1``
measured in the same run, peak memory, and the load average before each
size (another process on the machine lowers the ``--jobs 2`` figure).

    python benchmarks/bench_coding.py --sizes 50,200 --repeat 3
    python benchmarks/bench_coding.py --sizes 5 --repeat 1 --tasks trie,coding1
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import os
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
TASKS = {"trie": ("trie", 1), "naive": ("naive", 1), "coding1": ("coding", 1), "coding2": ("coding", 2)}


def corpus_text() -> str:
    """The shipped corpus's documents joined into one text."""
    from coding.corpus import iter_documents

    return "\n\n".join(d.text for d in iter_documents(REPO / "corpus")) + "\n"


def make_corpus(folder: Path, size_mb: int) -> int:
    """Write about ``size_mb`` MB of thesis text as documents of the
    thesis's own size (about 170 kB each); return the number of words."""
    text = corpus_text()
    n = max(1, round(size_mb * MB / len(text.encode("utf-8"))))
    for i in range(n):
        (folder / f"doc{i:05d}.txt").write_text(text, encoding="utf-8")
    return n * len(text.split())


def task_coding(folder: str, codebook: str, jobs: int, out: Path) -> None:
    from coding.codebook import load_codebook
    from coding.coders.dictionary import DictionaryCoder
    from coding.jobs.pipeline import code_paths

    # the dictionary coder by name: with the shipped codebook the default would be the mention coder
    coder = DictionaryCoder(load_codebook(codebook))
    code_paths([folder], out, codebook=codebook, jobs=jobs, progress=False, coder=coder)


# -- the trie-shaped regular expression ---------------------------------------

def trie_pattern(terms) -> str:
    """One regular expression matching any of ``terms``, shaped as their
    trie: shared prefixes are written once and each branch starts with a
    distinct character, so the engine's first-character scan applies and
    at most one branch is tried per position. Longer terms are preferred
    (optional tails are greedy)."""
    root: dict = {}
    for term in terms:
        node = root
        for ch in term:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _node_pattern(root)


def _node_pattern(node: dict) -> str:
    ends = "" in node
    branches = [re.escape(ch) + _node_pattern(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:
        body = body + "?" if len(branches) == 1 and len(branches[0]) == 1 else f"(?:{body})?"
    return body


def variable_terms(codebook: str) -> dict[str, set[str]]:
    """The lower-cased terms of each variable with the coder's inflected
    variants (plain terms) and surfaces (``cs:`` terms); no ``re:``."""
    from coding.codebook import CASE_PREFIX, REGEX_PREFIX, load_codebook
    from coding.language import term_variants

    cb = load_codebook(codebook)
    out: dict[str, set[str]] = {}
    for code in cb.codes:
        terms = out.setdefault(code.variable, set())
        for p in code.patterns:
            if p.startswith(REGEX_PREFIX):
                continue
            if p.startswith(CASE_PREFIX):
                terms.add(p[len(CASE_PREFIX):].strip().lower())
            else:
                terms.update(term_variants(p))
    return out


def task_trie(folder: str, codebook: str, out: Path) -> None:
    regexes = [(var, re.compile(trie_pattern(terms) + r"\b")) for var, terms in variable_terms(codebook).items()]
    blocks = re.compile(r"\n[ \t]*\n\s*")
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["unit_id", "variable"])
        for path in sorted(Path(folder).glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            low = text.lower().replace("-", " ")
            starts = [0] + [m.end() for m in blocks.finditer(low)]
            rows = set()
            for var, rx in regexes:
                for m in rx.finditer(low):
                    s = m.start()
                    if s and (low[s - 1].isalnum() or low[s - 1] == "_"):
                        continue  # starts inside a word
                    rows.add((bisect.bisect_right(starts, s), var))
            w.writerows((f"{path.stem}:p{p:04d}", var) for p, var in sorted(rows))


def task_naive(folder: str, codebook: str, out: Path) -> None:
    from coding.codebook import CASE_PREFIX, REGEX_PREFIX, load_codebook

    cb = load_codebook(codebook)
    regexes = []
    for var in cb.variables:
        terms = sorted({
            p[len(CASE_PREFIX):] if p.startswith(CASE_PREFIX) else p
            for code in cb.codes_of(var.id) for p in code.patterns if not p.startswith(REGEX_PREFIX)
        }, key=lambda t: (-len(t), t))  # longest first, as an alternation needs
        regexes.append((var.id, re.compile(r"\b(?:" + "|".join(re.escape(t) for t in terms) + r")\b",
                                           re.IGNORECASE)))
    sentence = re.compile(r"(?<=[.!?])\s+|\n\s*\n")
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["unit_id", "variable"])
        for path in sorted(Path(folder).glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            for i, s in enumerate(sentence.split(text), start=1):
                w.writerows((f"{path.stem}:s{i:04d}", var) for var, rx in regexes if rx.search(s))


# -- measuring -----------------------------------------------------------------

def child(args) -> None:
    """Run one task and print its wall time and peak memory as JSON."""
    import coding.codebook
    import coding.jobs.pipeline  # noqa: F401

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.csv"
        me = resource.getrusage(resource.RUSAGE_SELF)
        cpu0 = me.ru_utime + me.ru_stime  # the imports are not counted
        t0 = time.perf_counter()
        if args.task == "trie":
            task_trie(args.folder, args.codebook, out)
        elif args.task == "naive":
            task_naive(args.folder, args.codebook, out)
        else:
            task_coding(args.folder, args.codebook, args.jobs, out)
        seconds = time.perf_counter() - t0
        rows = sum(1 for _ in open(out, encoding="utf-8")) - 1
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"seconds": seconds, "peak_mb": max(me.ru_maxrss, kids.ru_maxrss) / 1024, "rows": rows,
                      "cpu_seconds": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime - cpu0}))


def measure(task: str, folder: Path, codebook: str, jobs: int = 1) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", task, "--folder", str(folder), "--codebook", codebook,
         "--jobs", str(jobs)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_size(size: int, tasks: list[str], args) -> None:
    """Measure ``tasks`` on a corpus of ``size`` MB and print one row each."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        words = make_corpus(folder, size)
        load = os.getloadavg()[0]
        results: dict[str, list[dict]] = {t: [] for t in tasks}
        for _ in range(args.repeat):
            for name in tasks:
                task, jobs = TASKS[name]
                results[name].append(measure(task, folder, args.codebook, jobs))
    rate = {name: statistics.median(words / r["seconds"] for r in runs) for name, runs in results.items()}
    cpu_rate = {name: statistics.median(words / r["cpu_seconds"] for r in runs) for name, runs in results.items()}
    for name, runs in results.items():
        task, jobs = TASKS[name]
        label = f"coding --jobs {jobs}" if task == "coding" else task
        vs_trie = f"{rate[name] / rate['trie']:.2f}" if "trie" in rate else "-"
        vs_one = f"{rate[name] / rate['coding1']:.2f}" if task == "coding" and "coding1" in rate else "-"
        cpu_vs_trie = f"{cpu_rate[name] / cpu_rate['trie']:.2f}" if "trie" in cpu_rate else "-"
        peak = max(r["peak_mb"] for r in runs)
        print(f"{size:>5} {label:<16} {rate[name]:>13,.0f} {vs_trie:>7} {vs_one:>9} {cpu_rate[name]:>12,.0f} "
              f"{cpu_vs_trie:>7} {peak:>8.0f} {runs[0]['rows']:>10,}", flush=True)
    print(f"{size:>5} ({words:,} words; load average {load:.2f} before the runs; "
          f"{args.repeat} run(s) per task)", flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Benchmark coding against regex competitors.")
    p.add_argument("--sizes", default="50,200", help="corpus sizes in MB, comma-separated (default: 50,200)")
    p.add_argument("--repeat", type=int, default=3, help="runs per task; the median is reported")
    p.add_argument("--codebook", default=str(REPO / "codebook.yaml"))
    p.add_argument("--tasks", default="trie,naive,coding1,coding2",
                   help="which of trie, naive, coding1 (--jobs 1), coding2 (--jobs 2) to run")
    p.add_argument("--naive-up-to", type=int, default=20,
                   help="run the naive baseline only on sizes up to this many MB (default: 20)")
    p.add_argument("--child", choices=["trie", "naive", "coding"], dest="task")
    p.add_argument("--folder")
    p.add_argument("--jobs", type=int, default=1)
    args = p.parse_args(argv)
    if args.task:
        child(args)
        return 0

    print(f"{'MB':>5} {'task':<16} {'words/s':>13} {'x trie':>7} {'x jobs 1':>9} {'words/CPU-s':>12} {'x trie':>7} "
          f"{'peak MB':>8} {'rows':>10}")
    for size in [int(s) for s in args.sizes.split(",")]:
        tasks = [t for t in TASKS if t in args.tasks.split(",") and (t != "naive" or size <= args.naive_up_to)]
        bench_size(size, tasks, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
