"""Grouped cross-validation of the learned coder on real published text.

The real set (115 paragraphs from 97 public web pages, outside the repo) is
split into folds by page, 5 folds x 3 repeats with fixed seeds. Table 1
trains on the other folds plus the thesis paragraphs coded by a person
(``corpus/coders/human-1.csv``, ``evaluation/heldout/holdout-1.csv``) and
the news-style texts the project wrote (``evaluation/news*/``); table 2 on
the real set alone. Each table gives per variable the dictionary coder, the
learned coder on words only and the learned coder on words and dictionary
hits (what ships): precision, recall, F1 and Krippendorff's alpha against
the labels, mean over repeats with min-max.

Labels of the real set: ``evaluation/real/consensus.csv`` when it exists,
else the first reader's ``reader-a.csv``.

    python scripts/evaluate_learned.py [--real ../shared/real-texts] [--set C=4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "real-texts"


def real_set(folder: Path, labels_path: Path, codebook):
    """(units, labels, groups by page URL) of the real published texts."""
    from coding.coders.training import from_table

    real = from_table(folder / "units.jsonl", labels_path, codebook)
    return real.units, real.labels, real.groups


def extra_set(codebook):
    """(units, labels, groups) of the thesis paragraphs coded by a person
    (grouped by document) and of the written news-style sets (each text its
    own group): the extra training units of the shipped model."""
    sys.path.insert(0, str(REPO / "scripts"))
    from train_model import thesis_examples, written_examples

    extra = thesis_examples(codebook) + written_examples(codebook)
    return extra.units, extra.labels, extra.groups


def print_table(title: str, table, variables) -> None:
    """One block per variable: a row per coder, mean [min-max] per metric."""
    print(f"\n{title}")
    for v in variables:
        part = table[table["variable"] == v]
        first = part.iloc[0]
        print(f"\n  {v} ({first['positives']} of {first['units']} units positive)")
        print(f"  {'coder':<14}" + "".join(f"{m:>22}" for m in ("precision", "recall", "F1", "alpha")))
        for r in part.itertuples():
            cells = []
            for m in ("precision", "recall", "f1", "alpha"):
                mean, lo, hi = getattr(r, m), getattr(r, m + "_min"), getattr(r, m + "_max")
                cells.append(f"{mean:.3f} [{lo:.3f}-{hi:.3f}]" if lo != hi else f"{mean:.3f}")
            print(f"  {r.coder:<14}" + "".join(f"{c:>22}" for c in cells))


def _setting(text: str):
    key, _, value = text.partition("=")
    if key == "dictionary":  # kinds of dictionary features, comma-separated
        return key, tuple(k for k in value.split(",") if k)
    for cast in (int, float):
        try:
            return key, cast(value)
        except ValueError:
            pass
    return key, {"true": True, "false": False}.get(value.lower(), value)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--real", default=str(REAL), help="folder of the real texts (units.jsonl, reader-a.csv)")
    p.add_argument("--codebook", default=str(REPO / "codebook.yaml"))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="learner setting (C, min_df, ngram, inner_folds, threshold_metric)")
    p.add_argument("--extra-weight", type=float, default=None,
                   help="weight of the thesis and written units in training "
                        "(default: coding.coders.learn.EXTRA_WEIGHT)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)

    from coding.codebook import load_codebook
    from coding.coders.learn import DEFAULTS, EXTRA_WEIGHT, cross_validate

    cb = load_codebook(args.codebook)
    consensus = REPO / "evaluation/real/consensus.csv"
    labels_path = consensus if consensus.is_file() else Path(args.real) / "reader-a.csv"
    settings = dict(_setting(s) for s in args.set)
    if args.extra_weight is None:
        args.extra_weight = EXTRA_WEIGHT
    units, labels, groups = real_set(Path(args.real), labels_path, cb)
    extra = extra_set(cb)
    print(f"real set: {len(units)} units, {len(set(groups.values()))} pages; labels {labels_path}")
    print(f"extra training units: {len(extra[0])} (thesis human-1 + held-out, news-style sets)")
    print(f"settings: {({**DEFAULTS, **settings})}, extra units weighted {args.extra_weight}; "
          f"{args.folds} folds x {args.repeats} repeats, seeds 0-{args.repeats - 1}")
    seeds = tuple(range(args.repeats))
    for title, more in (("1. trained on the other real folds + thesis + written sets", extra),
                        ("2. trained on the other real folds only", None)):
        start = time.perf_counter()
        table = cross_validate(units, labels, groups, cb, folds=args.folds, repeats=args.repeats, seeds=seeds,
                               extra=more, extra_weight=args.extra_weight, **settings)
        print_table(f"{title} ({time.perf_counter() - start:.0f} s)", table, cb.variable_ids)
    return 0


if __name__ == "__main__":
    sys.exit(main())
