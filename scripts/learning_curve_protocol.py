"""Agreement against the number of training units, leave-one-collection-out.

The protocol of ``scripts/evaluate_mentions.py``: each of the five real
collections (``../shared/real-texts``) is held out in turn and the coders are
trained on units of the other collections and the thesis paragraphs people
coded, never on a page of the held-out collection. Here the training units
are a random draw of N of those (every N of ``--sizes``, ``all`` = every
one), the same draw for both coders: the mention coder (every setting chosen
by leave-one-collection-out inside the draw) and the learned coder
(``coding train``'s defaults, thresholds by its own grouped inner
cross-validation). Predictions on the held-out collections are pooled and
compared with the readers (Krippendorff's alpha per variable); the
dictionary coder, which needs no training, is the flat line. Mean over
``--seeds`` draws (one for ``all``).

    python scripts/learning_curve_protocol.py [--sizes 50,100,200,400,all] [--seeds 2]
        [--out docs/figures/learning_curve_protocol.png]

Prints one table row per size and coder and draws the figure.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "real-texts"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def mention_variables(units, d, cb, train, test) -> np.ndarray:
    """Test units x variables coded by a mention coder trained on ``train``."""
    from evaluate_mentions import to_variables

    from coding.coders.mention_training import fit, predict, to_model
    from coding.coders.mentions import MentionCoder

    codes = [c.id for c in cb.codes]
    fitted = fit(d, units, train, codes, None, {c.id: c.variable for c in cb.codes})
    coder = MentionCoder(to_model(d, fitted, cb, {}), cb)
    return to_variables(predict(coder, d, test)[1], cb)


def learned_variables(units, cb, train, test) -> np.ndarray:
    """Test units x variables coded by a learned coder trained on ``train``
    (NaN where it cannot be trained: too few positives of a variable)."""
    from coding.coders.learn import LearnedCoder
    from coding.coders.learn import train as train_learned
    from coding.errors import CodingError
    from coding.records import Unit

    def unit(i):
        u = units[i]
        return Unit(u.id, u.group, 0, "paragraph", 0, len(u.text), u.text)

    mine = [unit(i) for i in train]
    try:
        model = train_learned(mine, {units[i].id: set(units[i].variables) for i in train},
                              [units[i].group for i in train], cb)
    except CodingError:
        return np.full((len(test), len(cb.variable_ids)), np.nan)
    coded = {(c.unit_id, c.variable) for c in LearnedCoder(model, cb).code([unit(i) for i in test])}
    return np.array([[(units[i].id, v) in coded for v in cb.variable_ids] for i in test], dtype=float)


def curve(units, d, cb, sizes, seeds, log=print) -> dict:
    """(coder, size) -> units x variables out-of-fold predictions per draw."""
    from coding.coders.mention_protocol import collection_folds

    real = np.array([i for i, u in enumerate(units) if u.collection != "T"])
    out: dict = {}
    for size in sizes:
        for seed in (seeds if size != "all" else (0,)):
            rng = np.random.default_rng(seed)
            pred = {name: np.full((len(units), len(cb.variable_ids)), np.nan) for name in ("mentions", "learned")}
            start = time.process_time()
            for train, test in collection_folds(units, np.arange(len(units))):
                test = np.intersect1d(test, real)
                if not len(test):
                    continue
                if size != "all":
                    train = np.sort(rng.choice(train, size=min(int(size), len(train)), replace=False))
                pred["mentions"][test] = mention_variables(units, d, cb, train, test)
                pred["learned"][test] = learned_variables(units, cb, train, test)
            log(f"  {size} units, draw {seed}: {time.process_time() - start:.0f} CPU-s")
            for name, p in pred.items():
                out.setdefault((name, size), []).append(p[real])
    return out


def alphas(truth: np.ndarray, draws: list[np.ndarray]) -> np.ndarray:
    """Mean over draws of alpha per variable (NaN where a coder was not trained)."""
    from coding.coders.mention_protocol import alpha2

    per = [[alpha2(truth[:, j], p[:, j]) if not np.isnan(p[:, j]).any() else np.nan for j in range(truth.shape[1])]
           for p in draws]
    return np.nanmean(np.array(per, dtype=float), axis=0) if per else np.full(truth.shape[1], np.nan)


def draw(table: dict, dictionary: np.ndarray, variables: list[str], sizes: list[int], path: Path) -> None:
    """One panel per variable: alpha against training units, per coder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(variables), figsize=(4 * len(variables), 3.4), sharey=True)
    for j, (ax, v) in enumerate(zip(np.atleast_1d(axes), variables)):
        for name, style in (("mentions", "o-"), ("learned", "s--")):
            ax.plot(sizes, [table[name, n][j] for n in sizes], style, label=name)
        ax.axhline(dictionary[j], color="grey", linestyle=":", label="dictionary (auto)")
        ax.set_xscale("log")
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.minorticks_off()
        ax.set_title(v)
        ax.set_xlabel("training units")
    np.atleast_1d(axes)[0].set_ylabel("alpha, held-out collections pooled")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    import io

    from coding.files import write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    write_bytes(path, buf.getvalue())


def scores(units, d, cb, preds: dict) -> tuple[dict, np.ndarray]:
    """Alpha per variable of each (coder, size) and of the dictionary, on the real collections."""
    from evaluate_mentions import dictionary_codes, to_variables

    real = np.array([u.collection != "T" for u in units])
    truth = np.array([[v in u.variables for v in cb.variable_ids] for u in units], dtype=int)[real]
    dictionary = alphas(truth, [to_variables(dictionary_codes(d, cb), cb)[real]])
    return {key: alphas(truth, draws) for key, draws in preds.items()}, dictionary


def print_table(table: dict, dictionary: np.ndarray, variables: list[str], sizes: list, n_all: int) -> None:
    """One row per size and coder: alpha per variable and their mean."""
    print(f"\n| training units | coder | {' | '.join(variables)} | mean |")
    print("|---|---|" + "---|" * (len(variables) + 1))
    for size in sizes:
        for name in ("mentions", "learned"):
            a = table[name, size]
            label = f"all (up to {n_all})" if size == "all" else str(size)
            print(f"| {label} | {name} | " + " | ".join(f"{x:.3f}" for x in a) + f" | {np.mean(a):.3f} |")
    print("| any | dictionary (`auto`) | " + " | ".join(f"{x:.3f}" for x in dictionary)
          + f" | {np.mean(dictionary):.3f} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--real", default=str(REAL))
    p.add_argument("--sizes", default="50,100,200,400,all")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--out", default=str(REPO / "docs" / "figures" / "learning_curve_protocol.png"))
    args = p.parse_args(argv)
    from evaluate_mentions import real_training_set

    data = real_training_set(args.real)
    if data is None:
        return 0
    cb, units, d = data
    sizes = [s if s == "all" else int(s) for s in args.sizes.split(",")]
    preds = curve(units, d, cb, sizes, tuple(range(args.seeds)))
    table, dictionary = scores(units, d, cb, preds)
    n_all = len(units) - min(sum(u.collection == c for u in units) for c in {u.collection for u in units} - {"T"})
    print_table(table, dictionary, cb.variable_ids, sizes, n_all)
    numeric = [s if s != "all" else n_all for s in sizes]
    draw({(k[0], numeric[sizes.index(k[1])]): v for k, v in table.items()}, dictionary, cb.variable_ids,
         numeric, Path(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
