"""Does choosing the next units by uncertainty pay? A simulated learning
curve on the real published texts.

The real set (``../shared/real-texts``, labels ``evaluation/real/consensus.csv``)
is split by page into 5 folds. For each held-out fold, a person "codes" the
other folds' units in batches: the first 10 at random, then each batch
either the units the current model is least sure about (``coding suggest``'s
rule) or units drawn at random. After each batch the learned coder is
trained (with the thesis and written sets as extra units at a tenth of the
weight, as the shipped model is) and Krippendorff's alpha against the
consensus is measured on the held-out pages, pooled over folds. Three seeds.

    python scripts/learning_curve.py [--real ../shared/real-texts] [--out docs/figures/learning_curve.png]

Prints the table and draws the figure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SIZES = (10, 20, 30, 45, 60, 92)
SEEDS = (0, 1, 2)


def _predict(train_ex, test_units, codebook, extra):
    from coding.coders.learn import EXTRA_WEIGHT, LearnedCoder, train

    everything = train_ex + extra
    model = train(everything.units, everything.labels, everything.groups, codebook,
                  weights={u.id: EXTRA_WEIGHT for u in extra.units})
    coder = LearnedCoder(model, codebook)
    _, probs, thr = coder.probabilities(test_units)
    return coder, (probs >= thr).astype(int)


def _subset(ex, ids):
    from coding.coders.training import Examples

    keep = set(ids)
    units = [u for u in ex.units if u.id in keep]
    return Examples(units, {u.id: ex.labels[u.id] for u in units}, {u.id: ex.groups[u.id] for u in units})


def _curve(real, extra, codebook, folds, strategy: str, seed: int) -> dict[int, np.ndarray]:
    """Held-out predictions (units x variables) at each size, pooled over folds."""
    from coding.coders.suggest import uncertainty

    rng = np.random.default_rng(seed)
    pred = {n: np.zeros((len(real.units), len(codebook.variable_ids)), dtype=int) for n in SIZES}
    index = {u.id: i for i, u in enumerate(real.units)}
    for test_rows in folds:
        test = [real.units[i] for i in test_rows]
        held = set(test_rows)
        pool = [u.id for i, u in enumerate(real.units) if i not in held]
        order = list(rng.permutation(pool))
        chosen, coder = order[:SIZES[0]], None
        for n in SIZES:
            target = min(n, len(pool))  # the last size is "all the pool"
            if len(chosen) < target:
                rest = [u for u in order if u not in set(chosen)]
                if strategy == "random":
                    chosen += rest[:target - len(chosen)]
                else:  # the model trained on the batches so far picks the next
                    _, probs, thr = coder.probabilities([real.units[index[u]] for u in rest])
                    margins = uncertainty(probs, thr)
                    chosen += [rest[i] for i in np.argsort(margins, kind="stable")[:target - len(chosen)]]
            coder, p = _predict(_subset(real, chosen), test, codebook, extra)
            for row, i in zip(p, test_rows):
                pred[n][i] = row
    return pred


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", default=str(REPO.parent / "shared" / "real-texts"))
    parser.add_argument("--out", default=str(REPO / "docs" / "figures" / "learning_curve.png"))
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "scripts"))
    from train_model import thesis_examples, written_examples

    from coding.agreement.coefficients import krippendorff_alpha
    from coding.codebook import load_codebook
    from coding.coders.learn import grouped_folds
    from coding.coders.training import from_table

    codebook = load_codebook(REPO / "codebook.yaml")
    real = from_table(Path(args.real) / "units.jsonl", REPO / "evaluation" / "real" / "consensus.csv", codebook)
    extra = thesis_examples(codebook) + written_examples(codebook)
    variables = codebook.variable_ids
    truth = np.array([[v in real.labels[u.id] for v in variables] for u in real.units], dtype=int)
    groups = [real.groups[u.id] for u in real.units]
    strata = truth @ (1 << np.arange(len(variables)))
    results = {}
    for seed in SEEDS:
        folds = [list(test) for _, test in grouped_folds(groups, strata, 5, seed)]
        for strategy in ("uncertainty", "random"):
            pred = _curve(real, extra, codebook, folds, strategy, seed)
            for n, p in pred.items():
                alphas = [krippendorff_alpha([truth[:, j].tolist(), p[:, j].tolist()])  # coders x units
                          for j in range(len(variables))]
                results[(strategy, seed, n)] = alphas
            print(f"seed {seed} {strategy}: " + ", ".join(
                f"{n}: {np.mean(results[(strategy, seed, n)]):.3f}" for n in SIZES), flush=True)
    _report(results, variables, Path(args.out))
    return 0


def _report(results, variables, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    print(f"\n{'units coded':>11} {'strategy':<12} " + " ".join(f"{v:>18}" for v in variables) + f" {'mean':>6}")
    fig, axes = plt.subplots(1, len(variables), figsize=(11, 3.6), sharey=True, layout="constrained")
    for strategy, colour in (("uncertainty", "#d95f02"), ("random", "#7570b3")):
        mean = {n: np.mean([results[(strategy, s, n)] for s in SEEDS], axis=0) for n in SIZES}
        for n in SIZES:
            print(f"{n:>11} {strategy:<12} " + " ".join(f"{a:>18.3f}" for a in mean[n]) + f" {mean[n].mean():>6.3f}")
        for j, ax in enumerate(axes):
            ax.plot(SIZES, [mean[n][j] for n in SIZES], marker="o", color=colour, label=strategy)
            ax.set_title(variables[j])
            ax.set_xlabel("real units coded by a person")
    axes[0].set_ylabel("Krippendorff's alpha on held-out pages")
    for ax in axes:
        ax.axhline(0.8, color="#999999", linewidth=0.8, linestyle="--")
    axes[-1].legend(loc="lower right", frameon=False)
    fig.suptitle("Learning curve on real published text: next units by uncertainty or at random (3 seeds)")
    import io

    from coding.files import write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    write_bytes(out, buf.getvalue())
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
