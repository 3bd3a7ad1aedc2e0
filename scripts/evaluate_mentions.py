"""The mention coder and the dictionary coder on real text they were not tuned on.

Leave-one-collection-out: the real published paragraphs beside the project
(``../shared/real-texts``) come in five collections (the first letter of an
id) and the thesis paragraphs a person coded are a sixth. Each collection is
held out in turn; the mention coder is trained on the other five, every
setting (C per code, which sentences it reads, calibration, threshold, the
margin by which learnt options must beat the dictionary) chosen by
leave-one-collection-out inside those five only, then codes the held-out collection. The out-of-fold
predictions are pooled over the five real collections and compared with the
readers' labels: Krippendorff's alpha (nominal) per variable and per code
(codes: the units with code labels from two of three readers, E, S, R, D),
with 95% intervals from 1,000 bootstrap resamples of pages (a page's
paragraphs stay together), the dictionary coder beside it, and the expected
calibration error of the code probabilities. The thesis, held out the same
way, is reported on its own line. Last, where the coder and the readers
part: false positives and misses per variable and collection.

    python scripts/evaluate_mentions.py [--real ../shared/real-texts] [--resamples 1000] [--meaning-grid sim,unit]
        [--predictions out.csv] [--more-thesis-files evaluation/thesis-codes/readers.csv] [--fit-only T]
        [--codebook-examples]

``--predictions`` also writes every out-of-fold prediction (a row per unit
and code: the probability, the decision, the dictionary's, and the readers'
label where there is one), for reading where the coder and the readers part.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "real-texts"


def pooled_protocol(units, d, codebook, settings=None, log=print):
    """Out-of-fold (probabilities, accepted) of the mention coder for every
    unit, each collection held out in turn (the codebook's examples, when
    there, are never held out: their rows stay zero)."""
    from coding.coders.mention_labels import EXAMPLES_COLLECTION
    from coding.coders.mention_protocol import collection_folds
    from coding.coders.mention_training import fit, predict, to_model
    from coding.coders.mentions import MentionCoder

    codes = [c.id for c in codebook.codes]
    probs = np.zeros((len(units), len(codes)))
    accepted = np.zeros((len(units), len(codes)), dtype=int)
    for train, test in collection_folds(units, np.arange(len(units))):
        start = time.process_time()
        c = units[test[0]].collection
        if c == EXAMPLES_COLLECTION:
            continue  # the codebook's own sentences only train
        fitted = fit(d, units, train, codes, settings, {c.id: c.variable for c in codebook.codes})
        coder = MentionCoder(to_model(d, fitted, codebook, {}, settings), codebook)
        probs[test], accepted[test] = predict(coder, d, test)
        margins = ", ".join(f"{v} {m:.2f} (needed {fitted.se_margins[v]:g})" for v, m in sorted(fitted.margins.items()))
        log(f"  held out {c}: {len(test)} units, trained on {len(train)} ({time.process_time() - start:.0f} CPU-s); "
            f"learnt options' lead over the dictionary inside, in standard errors: {margins or 'none'}")
    return probs, accepted


def dictionary_codes(d, codebook) -> np.ndarray:
    """Units x codes: the dictionary coder's codes (its hits)."""
    codes = [c.id for c in codebook.codes]
    return np.array([[c in cand.hits for c in codes] for cand in d.candidates], dtype=int)


def to_variables(codes01: np.ndarray, codebook) -> np.ndarray:
    """Units x variables: a variable is coded when one of its codes is."""
    of = [c.variable for c in codebook.codes]
    return np.column_stack([codes01[:, [k for k, v in enumerate(of) if v == var]].max(axis=1)
                            for var in codebook.variable_ids])


def clustered_alpha(y, pred, groups, resamples: int, seed: int = 0) -> tuple[float, float, float]:
    """Alpha of pred against y and a 95% interval from resampling groups."""
    from coding.agreement.coefficients import binary_pair_alpha
    from coding.coders.mention_protocol import alpha2

    names, g = np.unique(np.asarray(groups), return_inverse=True)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        k = np.bincount(rng.integers(0, len(names), len(names)), minlength=len(names))
        draw = binary_pair_alpha(y, pred, k[g])  # each unit counts as often as its group was drawn
        if not np.isnan(draw):  # NaN: the draw holds one value only
            draws.append(draw)
    lo, hi = (np.percentile(draws, [2.5, 97.5]) if draws else (float("nan"),) * 2)
    return alpha2(y, pred), float(lo), float(hi)


def _cell(a) -> str:
    point, lo, hi = a
    return f"{point:.3f} ({lo:.2f}-{hi:.2f})".replace("0.", ".")


def print_tables(units, probs, accepted, dict_codes, codebook, resamples: int) -> None:
    """The variable, code and calibration tables."""
    from coding.coders.mention_protocol import expected_calibration_error

    real = np.array([u.collection != "T" for u in units])
    groups = np.array([u.group for u in units])
    truth_v = np.array([[v in u.variables for v in codebook.variable_ids] for u in units], dtype=int)
    mv, dv = to_variables(accepted, codebook), to_variables(dict_codes, codebook)
    print("\n| variable | units | positives | mentions (pooled, 95% CI) | dictionary (`auto`) "
          "| mentions - dictionary |")
    print("|---|---|---|---|---|---|")
    for j, v in enumerate(codebook.variable_ids):
        for label, rows in (("", real), (" (thesis)", ~real), (" (all six)", np.ones_like(real))):
            if not rows.any() or (label == " (all six)" and real.all()):
                continue
            m = clustered_alpha(truth_v[rows, j], mv[rows, j], groups[rows], resamples)
            dd = clustered_alpha(truth_v[rows, j], dv[rows, j], groups[rows], resamples)
            print(f"| {v}{label} | {rows.sum()} | {truth_v[rows, j].sum()} | {_cell(m)} | {_cell(dd)} | "
                  f"{m[0] - dd[0]:+.3f} |")
    coded = np.array([u.collection in "ESRD" for u in units])
    print("\n| code | positives | mentions (pooled, 95% CI) | dictionary (`auto`) |")
    print("|---|---|---|---|")
    all_p, all_y = [], []
    for k, code in enumerate(c.id for c in codebook.codes):
        rows = coded & np.array([code in u.codes for u in units])
        y = np.array([units[i].codes.get(code, 0) for i in np.flatnonzero(rows)])
        all_p.append(probs[rows, k])
        all_y.append(y)
        m = clustered_alpha(y, accepted[rows, k], groups[rows], resamples)
        dd = clustered_alpha(y, dict_codes[rows, k], groups[rows], resamples)
        print(f"| {code} | {y.sum()} | {_cell(m)} | {_cell(dd)} |")
    p, y = np.concatenate(all_p), np.concatenate(all_y)
    print(f"\nexpected calibration error of the code probabilities (10 bins, {len(p)} unit-code pairs): "
          f"{expected_calibration_error(p, y):.3f}")


def print_errors(units, probs, accepted, dict_codes, codebook) -> None:
    """Where the coder and the readers part on the real collections: per
    variable and collection the false positives and misses, and what
    carried the false positives (codes, dictionary hits, probabilities)."""
    real = np.flatnonzero([u.collection != "T" for u in units])
    colls = sorted({units[i].collection for i in real})
    print("\n| variable | " + " | ".join(f"{c}: false +, missed" for c in colls) + " | all |")
    print("|---|" + "---|" * (len(colls) + 1))
    notes = []
    for v in codebook.variable_ids:
        ks = [k for k, c in enumerate(codebook.codes) if c.variable == v]
        truth = np.array([v in units[i].variables for i in real])
        pred = accepted[np.ix_(real, ks)].max(axis=1).astype(bool)
        fp, fn = pred & ~truth, ~pred & truth
        coll = np.array([units[i].collection for i in real])
        cells = [f"{(fp & (coll == c)).sum()}, {(fn & (coll == c)).sum()}" for c in colls]
        print(f"| {v} | " + " | ".join(cells) + f" | {fp.sum()}, {fn.sum()} |")
        best = probs[np.ix_(real, ks)].max(axis=1)
        carried = accepted[np.ix_(real[fp], ks)].sum(axis=0)
        by = ", ".join(f"{codebook.codes[k].id} {n}" for n, k in sorted(zip(carried, ks), reverse=True) if n)
        hit = dict_codes[np.ix_(real[fp], ks)].max(axis=1).sum() if fp.any() else 0
        notes.append(f"{v}: false positives carried by {by or 'no code'}; {hit} of {fp.sum()} with a dictionary "
                     f"hit of the variable; median best probability {np.median(best[fp]) if fp.any() else 0:.2f} "
                     f"(false positives), {np.median(best[fn]) if fn.any() else 0:.2f} (misses)")
    print("\n" + "\n".join(notes))


def write_predictions(path, units, probs, accepted, dict_codes, codebook) -> None:
    """A CSV of the out-of-fold predictions: unit, collection, code, probability, accepted, the
    dictionary's decision and the readers' label (empty where the code is unknown there)."""
    from coding.files import write_csv

    header = ["unit_id", "collection", "code", "probability", "accepted", "dictionary", "readers"]
    rows = [[u.id, u.collection, c.id, f"{probs[i, j]:.4f}", int(accepted[i, j]), int(dict_codes[i, j]),
             u.codes.get(c.id, "")]
            for i, u in enumerate(units) for j, c in enumerate(codebook.codes)]
    write_csv(path, header, rows)


def real_training_set(real, meaning: bool = True, more_thesis_files: Sequence[str] = (), examples: bool = False,
                      weak: str = "hits", code_names: str | None = None):
    """The protocol's training set (codebook, units, design) from the real texts at ``real``, or None,
    said on standard output, when they are not there (a clone without them); ``meaning``: with the
    sentences' similarities to the codes, as the shipped coder reads them; ``more_thesis_files``:
    coder files of thesis paragraphs to learn from besides the coder's own; ``examples``: with the
    codebook's examples and counterexamples as units too; ``weak``: the rule of the thesis's weak
    code labels (:func:`coding.coders.mention_training.weak_code_labels`); ``code_names``: a coder file
    (relative to the project) of the codes readers named in the people's thesis units."""
    real = Path(real)
    if not (real / "units.jsonl").is_file():
        print(f"skipped: no real texts at {real} (units.jsonl missing)")
        return None
    from coding.coders.mention_labels import THESIS_CODER_FILES
    from coding.coders.mention_training import training_set

    return training_set(REPO, real, meaning, (*THESIS_CODER_FILES, *more_thesis_files), examples, weak,
                        REPO / code_names if code_names else None)


def protocol_parser(description: str) -> argparse.ArgumentParser:
    """The options every script of the protocol takes: where the real texts are, how many resamples."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--real", default=str(REAL), help="folder of the real texts (units.jsonl, consensus.csv, ...)")
    p.add_argument("--resamples", type=int, default=1000)
    return p


def protocol_settings(args) -> dict | None:
    """The coder's settings the command line changes (None: its defaults)."""
    out = {}
    if args.meaning_grid:
        out["meaning_grid"] = tuple(args.meaning_grid.split(","))
    if args.mean_option:
        out["mean_option"] = True
    fit_only = [c for c in args.fit_only.split(",") if c]
    if args.codebook_examples:
        from coding.coders.mention_labels import EXAMPLES_COLLECTION

        fit_only.append(EXAMPLES_COLLECTION)
        out["example_collections"] = (EXAMPLES_COLLECTION,)
    if fit_only:
        out["fit_only"] = tuple(fit_only)
    return out or None


def print_training_set(units, d) -> None:
    """How many units, pages, sentences and weak code labels the protocol learns from."""
    counts = {c: sum(u.collection == c for u in units) for c in sorted({u.collection for u in units})}
    print(f"units: {len(units)} ({', '.join(f'{c} {n}' for c, n in counts.items())}); "
          f"{len({u.group for u in units})} pages or documents; {d.X.shape[0]} sentences")
    weak = {c: sum(len(u.weak) for u in units if u.collection == c) for c in counts}
    print(f"weak code labels (a coded variable's codes with a hit, where no code label was given): "
          f"{sum(weak.values())} ({', '.join(f'{c} {n}' for c, n in weak.items() if n)})")


def scored_only(units, *arrays):
    """The units the protocol scores (not the codebook's examples, which only train) and the rows of
    ``arrays`` that go with them."""
    from coding.coders.mention_labels import EXAMPLES_COLLECTION

    keep = np.flatnonzero([u.collection != EXAMPLES_COLLECTION for u in units])
    return [units[i] for i in keep], *(a[keep] for a in arrays)


def main(argv=None) -> int:
    from coding.coders.mention_training import WEAK_RULES

    p = protocol_parser(__doc__.splitlines()[0])
    p.add_argument("--more-thesis-files", default="",
                   help="comma-separated coder files of thesis paragraphs (relative to the project) to learn from "
                        "besides the coder's own, e.g. evaluation/thesis-codes/readers.csv")
    p.add_argument("--fit-only", default="", help="comma-separated collections (e.g. T) that the inner folds never "
                                                  "hold out: they train, the others choose the settings")
    p.add_argument("--codebook-examples", action="store_true",
                   help="also learn from the codebook's examples and counterexamples (a collection that only "
                        "trains; each code chooses inside whether its options read them)")
    p.add_argument("--weak-labels", default=WEAK_RULES[0], choices=WEAK_RULES,
                   help="the thesis's code labels where people coded only the variable: every code with a "
                        "dictionary hit (default), only a code that hits alone, or none")
    p.add_argument("--thesis-code-names", help="a coder file (relative to the project) of the codes readers named "
                                               "in the people's thesis units, e.g. "
                                               "evaluation/thesis-code-names/readers.csv")
    p.add_argument("--mean-option", action="store_true",
                   help="each code may also choose the mean of its learnt options (the training setting mean_option)")
    p.add_argument("--predictions", help="also write the out-of-fold predictions to this CSV")
    p.add_argument("--meaning-grid", help="comma-separated readings of the similarity columns each code "
                                          "chooses among: sim, words, unit (default: the coder's own)")
    args = p.parse_args(argv)
    data = real_training_set(args.real, more_thesis_files=[f for f in args.more_thesis_files.split(",") if f],
                             examples=args.codebook_examples, weak=args.weak_labels,
                             code_names=args.thesis_code_names)
    if data is None:
        return 0
    cb, units, d = data
    print_training_set(units, d)
    start = time.process_time()
    probs, accepted = pooled_protocol(units, d, cb, protocol_settings(args))
    print(f"protocol: {time.process_time() - start:.0f} CPU-s")
    units, probs, accepted, dict_codes = scored_only(units, probs, accepted, dictionary_codes(d, cb))
    print_tables(units, probs, accepted, dict_codes, cb, args.resamples)
    print_errors(units, probs, accepted, dict_codes, cb)
    if args.predictions:
        write_predictions(args.predictions, units, probs, accepted, dict_codes, cb)
        print(f"out-of-fold predictions written to {args.predictions}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
