"""Agreement of the automatic coder with the development set, per variable.

Runs the pipeline on the shipped corpus (into a scratch folder unless
--out is given) and prints, for each variable, percent agreement, Cohen's
kappa and Krippendorff's alpha of ``auto`` against a human coder, with the
counts of false positives and false negatives behind them.

    python scripts/dev_agreement.py [--coder human-1] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--coder", default="human-1")
    p.add_argument("--corpus", default=str(REPO / "corpus"))
    p.add_argument("--codebook", default=str(REPO / "codebook.yaml"))
    p.add_argument("--out", default=None, help="output folder (default: a scratch folder)")
    args = p.parse_args(argv)

    from coding.agreement.audit import audit_agreement
    from coding.codebook import load_codebook
    from coding.coders.dictionary import DictionaryCoder
    from coding.jobs.pipeline import run
    from coding.store import Store

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(args.out or scratch)
        run(args.corpus, args.codebook, out, progress=False, report=False,
            coder=DictionaryCoder(load_codebook(args.codebook)))  # the dictionary coder: its figures
        with Store(out / "project.sqlite") as store:
            table = audit_agreement(store, ["auto", args.coder], level="variable", n_resamples=200)
    print(f"auto vs {args.coder}, variable level")
    print(f"{'variable':<18} {'units':>5} {'agree':>6} {'kappa':>6} {'alpha':>6}  {'FP':>3} {'FN':>3}  reading")
    worst = 1.0
    for r in table.itertuples():
        # the 2x2 cells: n10 = auto only (false positive), n01 = human only (false negative)
        print(f"{r.item:<18} {r.n_units:>5} {r.percent_agreement:>6.3f} {r.cohen_kappa:>6.3f} "
              f"{r.krippendorff_alpha:>6.3f}  {r.n10:>3} {r.n01:>3}  {r.reading}")
        if r.item != "ALL":
            worst = min(worst, r.krippendorff_alpha)
    print(f"lowest alpha over variables: {worst:.3f} (target >= 0.800)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
