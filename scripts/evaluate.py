"""Agreement of the automatic coder with readers on text it was not tuned on.

Evaluation sets live in ``evaluation/``:

* ``heldout/holdout-1.csv``: 100 thesis paragraphs outside the development
  set (``corpus/coders/``), coded at the variable level by a reader;
* ``thesis-codes/readers.csv``: the 236 thesis paragraphs no person had
  coded before, coded at the level of codes by three blind readers (two,
  and a third where they differed); reported per variable and per code;
* every other folder with ``units.jsonl`` and ``coder-1.csv`` (``news/``,
  ``news2/``): short texts in the style of news reports and official
  statements, coded the same way by a reader.

For each set the script codes the units with the shipped codebook and prints
per variable: units, percent agreement, Cohen's kappa, Krippendorff's alpha,
precision, recall, and the counts of false positives and negatives. The
coder is the dictionary coder unless ``--coder`` names another (``mentions``:
the shipped mention coder, which learned from the held-out thesis
paragraphs, so its figure on them is in-sample; it never saw the news-style
sets).

    python scripts/evaluate.py [--codebook codebook.yaml] [--coder auto]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def read_coder(path: Path) -> tuple[list[str], set[tuple[str, str]]]:
    """(units in order, {(unit, variable)}) of a ``unit_id,variable`` file."""
    units, pairs = [], set()
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["unit_id"] not in units:
                units.append(row["unit_id"])
            if row["variable"]:
                pairs.add((row["unit_id"], row["variable"]))
    return units, pairs


def score(name: str, units: list[str], auto: set, human: set, variables: list[str],
          coder: str = "auto", level: str = "variable") -> pd.DataFrame:
    """Per-item agreement of the coder's (unit, item) pairs ``auto`` with the reader's over ``units``
    (items: ``variables``, or codes with ``level`` "code")."""
    from coding.agreement import agreement_table, precision_recall_f1

    rows = [(u, coder, v, int((u, v) in pairs)) for coder, pairs in (("auto", auto), ("reader", human))
            for u in units for v in variables]
    table = agreement_table(pd.DataFrame(rows, columns=["unit_id", "coder", "item", "value"]),
                            ["auto", "reader"], level, n_resamples=200)
    print(f"\n{name}: {coder} vs reader, {len(units)} units, {level} level")
    print(f"{level:<22} {'agree':>6} {'kappa':>6} {'alpha':>6} {'prec':>6} {'recall':>6}  {'FP':>3} {'FN':>3}")
    for r in table.itertuples():
        items = variables if r.item == "ALL" else [r.item]
        pred = [int((u, v) in auto) for u in units for v in items]
        gold = [int((u, v) in human) for u in units for v in items]
        p, rec, _ = precision_recall_f1(gold, pred)
        print(f"{r.item:<22} {r.percent_agreement:>6.3f} {r.cohen_kappa:>6.3f} {r.krippendorff_alpha:>6.3f} "
              f"{p:>6.3f} {rec:>6.3f}  {r.n10:>3} {r.n01:>3}")
    return table


def thesis_codes(path: Path, cb, coder, units: dict) -> None:
    """Per variable and per code: the coder against the readers' settled codes of ``path``
    (``units``: the corpus's units by id)."""
    from coding.coder_files import read_coder_file

    seen, codings = read_coder_file(path, cb, set(units), "readers")
    human = {(c.unit_id, c.code) for c in codings if c.code}
    auto = {(c.unit_id, c.code) for c in coder.code([units[u] for u in seen]) if c.code}
    name = "thesis paragraphs coded at the level of codes"
    score(name, seen, {(u, cb.code(c).variable) for u, c in auto}, {(u, cb.code(c).variable) for u, c in human},
          cb.variable_ids, coder.name)
    score(name, seen, auto, human, [c.id for c in cb.codes], coder.name, "code")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--codebook", default=str(REPO / "codebook.yaml"))
    p.add_argument("--corpus", default=str(REPO / "corpus"))
    p.add_argument("--evaluation", default=str(REPO / "evaluation"))
    p.add_argument("--coder", default="auto", help="the coder to measure (default: auto, the dictionary coder)")
    args = p.parse_args(argv)

    from coding.codebook import load_codebook
    from coding.coders.coder_choice import make_coder
    from coding.corpus import iter_documents
    from coding.jobs.pipeline import code_paths
    from coding.segment import segment

    cb = load_codebook(args.codebook)
    coder, _ = make_coder(args.coder, args.codebook)
    evaluation = Path(args.evaluation)

    corpus = {u.id: u for d in iter_documents(args.corpus) for u in segment(d)}  # segmented once
    units, human = read_coder(evaluation / "heldout" / "holdout-1.csv")
    unknown = sorted(set(units) - set(corpus))
    if unknown:
        print(f"unknown unit ids in the held-out file: {unknown[:5]}", file=sys.stderr)
        return 2
    auto = {(c.unit_id, c.variable) for c in coder.code([corpus[u] for u in units])}
    score("held-out thesis paragraphs", units, auto, human, cb.variable_ids, coder.name)
    if (evaluation / "thesis-codes" / "readers.csv").is_file():
        thesis_codes(evaluation / "thesis-codes" / "readers.csv", cb, coder, corpus)

    for folder in sorted(p for p in evaluation.iterdir() if (p / "units.jsonl").is_file()):
        units, human = read_coder(folder / "coder-1.csv")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "codings.csv"
            code_paths([folder / "units.jsonl"], out, codebook=args.codebook, progress=False, coder=coder)
            with open(out, newline="", encoding="utf-8") as fh:
                auto = {(r["unit_id"], r["variable"]) for r in csv.DictReader(fh) if r["variable"]}
        with open(folder / "units.jsonl", encoding="utf-8") as fh:
            ids = [json.loads(line)["id"] for line in fh if line.strip()]
        if set(ids) != set(units):
            print(f"{folder}: the coder file and units.jsonl list different units", file=sys.stderr)
            return 2
        score(f"{folder.name}: news-style texts", units, auto, human, cb.variable_ids, coder.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
