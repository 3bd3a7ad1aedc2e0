"""The pieces of the mention coder's protocol: collections as folds (never a
page on both sides), agreement of 0/1 decisions, Platt calibration, the
threshold that maximises agreement, and the expected calibration error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from coding.coders.mention_labels import Labelled

#: Thresholds tried on the calibrated probability.
THRESHOLDS = tuple(round(0.05 + 0.025 * i, 3) for i in range(37))


def alpha2(y: np.ndarray, pred: np.ndarray) -> float:
    """Krippendorff's alpha (nominal) of two coders on 0/1 data."""
    from coding.agreement.coefficients import binary_pair_alpha

    return binary_pair_alpha(np.asarray(y, dtype=int), np.asarray(pred, dtype=int))


def platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(scale, shift) of a logistic fit of ``y`` on ``scores``."""
    if len(set(y.tolist())) < 2:
        prior = (y.sum() + 0.5) / (len(y) + 1.0)
        return 0.0, math.log(prior / (1 - prior))
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=100.0, solver="lbfgs", max_iter=1000).fit(scores.reshape(-1, 1), y)
    return float(clf.coef_[0, 0]), float(clf.intercept_[0])


def best_threshold(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(threshold, alpha) maximising alpha of y against p >= threshold; ties
    go to the threshold nearest .5."""
    best = (-2.0, 0.5)
    for t in sorted(THRESHOLDS, key=lambda t: abs(t - 0.5)):
        a = alpha2(y, (p >= t).astype(int))
        if not math.isnan(a) and a > best[0] + 1e-9:
            best = (a, t)
    return best[1], best[0]


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the weighted mean over equal-width bins of
    |mean probability - share positive|."""
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    if not len(p):
        return float("nan")
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for k in range(bins):
        m = which == k
        if m.any():
            total += m.sum() * abs(p[m].mean() - y[m].mean())
    return total / len(p)


def _without_pages_of(units: Sequence[Labelled], train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """``train`` less the units on a page that ``test`` also has."""
    pages = {units[i].group for i in test}
    return np.array([i for i in train if units[i].group not in pages], dtype=np.int64)


def collection_folds(units: Sequence[Labelled], idx: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) per collection of the units ``idx``: the collection is
    the test side; a unit of another collection on one of its pages is left
    out of training, so no page is on both sides."""
    coll = np.array([units[i].collection for i in idx])
    return [(_without_pages_of(units, idx[coll != c], idx[coll == c]), idx[coll == c]) for c in sorted(set(coll))]


def inner_folds(units: Sequence[Labelled], train: np.ndarray,
                fit_only: Sequence[str] = ()) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds inside ``train``: one per collection held out when there are at
    least three collections that may be held out (not in ``fit_only``: those
    are always on the training side), else three folds by page; never a page
    on both sides."""
    held = {units[i].collection for i in train} - set(fit_only)
    if len(held) >= 3:
        return [(tr, te) for tr, te in collection_folds(units, train) if units[te[0]].collection in held]
    groups = sorted({units[i].group for i in train})
    fold_of = {g: k % 3 for k, g in enumerate(groups)}
    f = np.array([fold_of[units[i].group] for i in train])
    return [(train[f != k], train[f == k]) for k in range(3) if (f == k).any() and (f != k).any()]

