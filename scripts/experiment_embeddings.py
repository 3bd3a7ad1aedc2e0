"""Do static sentence embeddings add agreement to the mention coder?

The protocol of ``scripts/evaluate_mentions.py`` (leave-one-collection-out
over the five real collections and the thesis, every setting chosen inside
the training collections, out-of-fold predictions pooled over the real
collections), run in one go for the mention coder on words and the
dictionary's hits alone (``base``) and with extra features on each candidate
sentence from ``wordllama`` (a static embedding model whose weights ship
inside its wheel; it is loaded from the package's own files with downloads
disabled). The coder that ships reads ``sim`` (:mod:`coding.coders.mention_meaning`):

- ``sim``: the sentence's cosine similarity to each code's text in the
  codebook (label, definition, include), one column per code;
- ``ex``: ``sim`` and, per code, the sentence's highest similarity to one
  of the code's examples in the codebook and to one of its counterexamples;
- ``nbr``: ``sim`` and, per code, the higher similarity of the sentences
  just before and after it (its own in a unit of one sentence);
- ``unit``: ``sim`` and, per code, the whole unit's similarity;
- ``vec``: the sentence's embedding itself (``--dims`` of its 256 dimensions).

The extra columns are standardised with the mean and spread of the training
units' sentences of each fold. The splits, the multiple-instance training,
the per-code settings, calibration and thresholds are the protocol's own
(``collection_folds`` of :mod:`coding.coders.mention_protocol`, ``fit`` of :mod:`coding.coders.mention_training`);
decisions are the calibrated best-sentence probability at the code's
threshold, with the coder's rules for units not in English and one-line
texts. Prints Krippendorff's alpha per variable and per code for each arm
beside the dictionary. ``wordllama`` is a dependency of the project.

    python scripts/experiment_embeddings.py [--arms base,sim,vec] [--dims 256] [--resamples 1000]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parent))



def extra_columns(wl, units, d, codebook, arm: str) -> tuple[np.ndarray, list[str]]:
    """The arm's extra features of every sentence and their column names:
    ``sim`` as the coder reads them (:class:`coding.coders.mention_meaning.Meaning`),
    ``vec`` the embedding itself."""
    texts = [units[i].text[s:e] for i, cand in enumerate(d.candidates) for s, e in cand.spans]
    if arm in ("sim", "ex", "nbr", "unit"):
        from coding.coders.mention_meaning import Meaning

        meaning = Meaning(codebook, [c.id for c in codebook.codes])
        raw, names = meaning.raw(texts), meaning.columns
        extra = {"ex": lambda: example_similarities(texts, codebook),
                 "nbr": lambda: neighbour_similarities(raw, d),
                 "unit": lambda: meaning.raw([u.text for u in units])[unit_of_sentence(d)]}
        if arm in extra:
            kinds = ("ex", "cex") if arm == "ex" else (arm,)
            raw, names = np.hstack([raw, extra[arm]()]), names + [
                f"{kind}:{c.id}" for kind in kinds for c in codebook.codes]
        return raw, names
    E = np.asarray(wl.embed(texts, norm=True), dtype=np.float64)
    return E, [f"emb:{k}" for k in range(E.shape[1])]


def example_similarities(texts, codebook) -> np.ndarray:
    """Sentences x (codes, codes): per code, the highest cosine similarity
    to one of its examples, then to one of its counterexamples (0 for a
    code without any)."""
    from coding.coders.embedding import embed

    E = embed(texts)
    cols = []
    for kind in ("examples", "counterexamples"):
        for c in codebook.codes:
            ex = list(getattr(c, kind))
            cols.append((E @ embed(ex).T).max(axis=1) if ex else np.zeros(len(texts)))
    return np.column_stack(cols)


def unit_of_sentence(d) -> np.ndarray:
    """The unit of each sentence of the design."""
    return np.repeat(np.arange(len(d.candidates)), np.diff(d.offsets))


def neighbour_similarities(raw: np.ndarray, d) -> np.ndarray:
    """Per sentence and code: the higher similarity of the sentences just
    before and after it in its unit (its own for a unit of one sentence)."""
    out = raw.copy()
    for a, b in zip(d.offsets[:-1], d.offsets[1:]):
        if b - a > 1:
            block = raw[a:b]
            before = np.vstack([np.full((1, raw.shape[1]), -np.inf), block[:-1]])
            after = np.vstack([block[1:], np.full((1, raw.shape[1]), -np.inf)])
            out[a:b] = np.maximum(before, after)
    return out


def with_columns(d, extra: np.ndarray, names: list[str], train: np.ndarray):
    """A copy of the design with ``extra`` appended, standardised on the ``train`` units' sentences."""
    from coding.coders.mention_design import Design

    rows = d.rows_of(train)
    mean, sd = extra[rows].mean(axis=0), extra[rows].std(axis=0) + 1e-9
    X = sparse.hstack([d.X, sparse.csr_matrix((extra - mean) / sd)], format="csr")
    return Design(d.candidates, X, d.offsets, d.columns + names)


def decide(d, fitted, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, accepted) of the ``test`` units from the design's own
    rows: the coder's rule (best sentence, calibration, threshold, nothing
    for a unit not in English, a hit needed in a one-line text)."""
    from coding.coders.mention_training import best_scores

    s = best_scores(d, test, fitted.W, fitted.b)
    p = 1 / (1 + np.exp(-(fitted.scale * s + fitted.shift)))
    ok = p >= fitted.thresholds
    for k, i in enumerate(test):
        cand = d.candidates[i]
        ok[k] &= cand.english
        if cand.short:
            ok[k] &= np.array([c in cand.hits for c in fitted.codes])
    return p, ok.astype(int)


def run_arm(units, d, codebook, extra, log=print) -> tuple[np.ndarray, np.ndarray, int]:
    """Out-of-fold (probabilities, accepted) of one arm, and for the arm
    without extra columns the number of decisions that differ from the
    shipped coder's own :func:`predict` (a check of :func:`decide`)."""
    from coding.coders.mention_protocol import collection_folds
    from coding.coders.mention_training import fit, predict, to_model
    from coding.coders.mentions import MentionCoder

    codes = [c.id for c in codebook.codes]
    variable_of = {c.id: c.variable for c in codebook.codes}
    probs, accepted = np.zeros((len(units), len(codes))), np.zeros((len(units), len(codes)), dtype=int)
    differ = 0
    for train, test in collection_folds(units, np.arange(len(units))):
        start = time.process_time()
        dd = d if extra is None else with_columns(d, extra[0], extra[1], train)
        fitted = fit(dd, units, train, codes, None, variable_of)
        probs[test], accepted[test] = decide(dd, fitted, test)
        if extra is None:
            _, shipped = predict(MentionCoder(to_model(d, fitted, codebook, {}), codebook), d, test)
            differ += int((shipped != accepted[test]).sum())
        log(f"  held out {units[test[0]].collection}: {len(test)} units ({time.process_time() - start:.0f} CPU-s)")
    return probs, accepted, differ


def _fmt(a) -> str:
    return f"{a[0]:.3f} ({a[1]:.2f}-{a[2]:.2f})".replace("0.", ".")


def print_comparison(units, arms: dict, dict_codes, codebook, resamples: int) -> None:
    """Alpha per variable (real collections pooled, and the thesis) and per code, each arm beside the dictionary."""
    from evaluate_mentions import clustered_alpha, to_variables

    names = list(arms)
    real = np.array([u.collection != "T" for u in units])
    groups = np.array([u.group for u in units])
    truth = np.array([[v in u.variables for v in codebook.variable_ids] for u in units], dtype=int)
    head = " | ".join(names)
    print(f"\n| variable | units | positives | {head} | dictionary |")
    print("|---|---|---|" + "---|" * (len(names) + 1))
    for j, v in enumerate(codebook.variable_ids):
        for label, rows in (("", real), (" (thesis)", ~real)):
            cells = [clustered_alpha(truth[rows, j], to_variables(arms[n], codebook)[rows, j], groups[rows],
                                     resamples) for n in names]
            dct = clustered_alpha(truth[rows, j], to_variables(dict_codes, codebook)[rows, j], groups[rows], resamples)
            print(f"| {v}{label} | {rows.sum()} | {truth[rows, j].sum()} | "
                  f"{' | '.join(map(_fmt, cells))} | {_fmt(dct)} |")
    coded = np.array([u.collection in "ESRD" for u in units])
    print(f"\n| code | positives | {head} | dictionary |")
    print("|---|---|" + "---|" * (len(names) + 1))
    for k, code in enumerate(c.id for c in codebook.codes):
        rows = coded & np.array([code in u.codes for u in units])
        y = np.array([units[i].codes.get(code, 0) for i in np.flatnonzero(rows)])
        cells = [clustered_alpha(y, arms[n][rows, k], groups[rows], resamples) for n in names]
        print(f"| {code} | {y.sum()} | {' | '.join(map(_fmt, cells))} | "
              f"{_fmt(clustered_alpha(y, dict_codes[rows, k], groups[rows], resamples))} |")


def main(argv=None) -> int:
    from evaluate_mentions import dictionary_codes, protocol_parser, real_training_set

    p = protocol_parser(__doc__.splitlines()[0])
    p.add_argument("--arms", default="base,sim,vec", help="comma-separated: base, sim, ex, nbr, unit, vec")
    p.add_argument("--dims", type=int, default=256, choices=(64, 128, 256), help="embedding dimensions for vec")
    args = p.parse_args(argv)

    data = real_training_set(args.real, meaning=False)
    if data is None:
        return 0
    cb, units, d = data
    print(f"units: {len(units)}; {d.X.shape[0]} sentences; arms {args.arms}; vec at {args.dims} dimensions")
    from coding.coders.embedding import embedder

    wl = embedder(None if args.dims == 256 else args.dims) if "vec" in args.arms.split(",") else None
    arms, evidence = {}, {}
    for arm in args.arms.split(","):
        start = time.process_time()
        extra = None if arm == "base" else extra_columns(wl, units, d, cb, arm)
        print(f"{arm}:")
        _, arms[arm], differ = run_arm(units, d, cb, extra)
        evidence[arm] = time.process_time() - start
        if arm == "base":
            print(f"  decisions differing from the coder's own predict: {differ}")
    print("CPU-s per arm: " + ", ".join(f"{a} {s:.0f}" for a, s in evidence.items()))
    print_comparison(units, arms, dictionary_codes(d, cb), cb, args.resamples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
