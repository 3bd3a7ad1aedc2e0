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

``--stages`` prints instead where the mention coder's time goes, in one
process on the shipped corpus's paragraphs repeated ``--copies`` times:
CPU time (median of five) of the dictionary matcher alone, the batch's
features (matcher included), scoring and deciding, the rows with their
evidence and the CSV written from them, beside ``auto``'s rows; before
them, the sentences embedded by the embedder's own ``embed`` and through
the word cache the coder uses (the same numbers, checked there); after
them, the batches scored and decided with BLAS's own threads instead of
the coder's one; last, the milliseconds of a batch of one paragraph (as
``coding run`` codes a document of one paragraph), over the first 1,000.
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


def stages(copies: int) -> None:
    """Print the CPU time of each stage of the mention coder (see the module docstring)."""
    import csv
    import io

    from coding.coders.coder_choice import make_coder
    from coding.coders.dictionary import DictionaryCoder
    from coding.corpus import iter_documents
    from coding.segment import segment

    coder, _ = make_coder("mentions", str(REPO / "codebook.yaml"))
    units = [u for d in iter_documents(REPO / "corpus") for u in segment(d)] * copies
    texts = [u.text for u in units]
    batches = [texts[i:i + 500] for i in range(0, len(texts), 500)]
    dictionary = DictionaryCoder(coder.codebook)
    rows = coder.code_rows(units)

    def cpu(work) -> float:
        times = []
        for _ in range(5):
            start = time.process_time()
            work()
            times.append(time.process_time() - start)
        return statistics.median(times)

    words = sum(len(t.split()) for t in texts)
    print(f"{len(units):,} paragraphs, {words:,} words; CPU-s, median of five")
    if coder._meaning is not None:
        embedding_stages(coder, batches, cpu)
    for label, work in (
            ("dictionary matcher alone", lambda: [dictionary.match(t) for t in texts]),
            ("features of the batches (matcher included)", lambda: [coder._features.batch(b) for b in batches]),
            ("... and scored, codes decided", lambda: [coder._decisions(b) for b in batches]),
            ("... and rows with evidence (code_rows)", lambda: coder.code_rows(units)),
            ("CSV of those rows", lambda: csv.writer(io.StringIO()).writerows(rows)),
            ("auto: rows with evidence (code_rows)", lambda: dictionary.code_rows(units))):
        print(f"  {label:<45} {cpu(work):6.3f}", flush=True)
    if coder._meaning is not None:
        blas_stage(coder, batches, cpu)
    # coding run codes each document as its own batch: a batch's fixed cost counts where documents are short
    one = units[:1000]
    took = cpu(lambda: [coder.code_rows([u]) for u in one])
    print(f"  {'a batch of one paragraph, milliseconds':<45} {took / len(one) * 1000:6.3f}", flush=True)


def embedding_stages(coder, batches, cpu) -> None:
    """CPU time of embedding the batches' sentences: by the embedder's own
    ``embed`` (its tokenizer over every sentence), and through the word
    cache of :mod:`coding.coders.embedding`, which gives the same numbers."""
    import numpy as np

    from coding.coders.embedding import embed, embedder

    per_batch = [[t[a:e] for t, spans in zip(b, coder._features.batch(b).spans) for a, e in spans] for b in batches]
    sentences = [s for batch in per_batch for s in batch]
    own = np.asarray(embedder().embed(sentences, norm=True), dtype=np.float64)
    same = np.array_equal(own, embed(sentences), equal_nan=True)
    print(f"  {len(sentences):,} sentences; the two embeddings are {'identical' if same else 'DIFFERENT'}")
    for label, work in (("sentences embedded by wordllama's own embed", lambda: embedder().embed(sentences)),
                        ("sentences embedded through the word cache", lambda: embed(sentences))):
        print(f"  {label:<45} {cpu(work):6.3f}", flush=True)


def blas_stage(coder, batches, cpu) -> None:
    """CPU time of the batches scored and decided with the limit of one BLAS
    thread lifted (``embedding.one_thread``): BLAS's own threads spin between
    the coder's small products; the coder as it runs is in the table above."""
    import contextlib

    import coding.coders.mention_meaning as meaning_module
    import coding.coders.mentions as mentions_module

    limit = mentions_module.one_thread
    try:
        mentions_module.one_thread = meaning_module.one_thread = contextlib.nullcontext  # type: ignore[assignment]
        took = cpu(lambda: [coder._decisions(b) for b in batches])
    finally:
        mentions_module.one_thread = meaning_module.one_thread = limit
    print(f"  {'... scored, with the BLAS default threads':<45} {took:6.3f}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,50", help="corpus sizes in MB (default: 5,50)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--stages", action="store_true", help="where the time goes, stage by stage")
    parser.add_argument("--copies", type=int, default=10, help="copies of the corpus for --stages (default 10)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    if args.stages:
        stages(args.copies)
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
