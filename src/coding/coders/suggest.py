"""Active learning: the next batch of units for people to code.

The learned or mention coder scores every unit no person has coded yet; the
units it is least sure about (the probability of some variable -- for the
mention coder, of some code -- closest to its threshold, on the log-odds
scale) come first, plus a few drawn at
random so that a later estimate of agreement is not biased towards hard
units. The batch is a coder sheet that ``coding coders import`` reads: one
row per unit, a 0/1 column per variable left empty to fill (an empty cell
counts as 0), and columns the import ignores with the unit's text and the
coder's current suggestion.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from coding.anchors import text_hash
from coding.errors import CodingError
from coding.records import AUTOMATIC_CODERS

if TYPE_CHECKING:
    from coding.coders.learn import LearnedCoder
    from coding.store import Store


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def uncertainty(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per unit, the smallest distance of any variable's log-odds from its
    threshold's: small is unsure."""
    if probabilities.size == 0:
        return np.empty(0)
    return np.abs(_logit(probabilities) - _logit(thresholds)).min(axis=1)


def pick(margins: np.ndarray, n: int, n_random: int, seed: int = 0) -> list[int]:
    """Positions of the ``n`` least certain units (ties by position), then
    ``n_random`` drawn at random with ``seed`` from the rest."""
    order = sorted(range(len(margins)), key=lambda i: (margins[i], i))
    chosen = order[:n]
    rest = sorted(set(range(len(margins))) - set(chosen))
    rng = np.random.default_rng(seed)
    extra = rng.choice(rest, size=min(n_random, len(rest)), replace=False).tolist() if rest else []
    return chosen + sorted(int(i) for i in extra)


def _scored(coder, units) -> tuple[list[str], np.ndarray, list[list[str]]]:
    """(variables, each unit's margin, the variables the coder gives each unit).

    The mention coder is judged at the level of codes (its decisions are
    made there: the margin is that of the code nearest its threshold); the
    learned coder at the level of variables."""
    if hasattr(coder, "code_probabilities"):
        codes, probs, thresholds = coder.code_probabilities(units)
        variable_of = {c.id: c.variable for c in coder.codebook.codes}
        variables = list(coder.codebook.variable_ids)
        fired = [{variable_of[c] for c, p, t in zip(codes, row, thresholds) if p >= t} for row in probs]
        return variables, uncertainty(probs, thresholds), [[v for v in variables if v in g] for g in fired]
    variables, probs, thresholds = coder.probabilities(units)
    given = [[v for v, p, t in zip(variables, row, thresholds) if p >= t] for row in probs]
    return variables, uncertainty(probs, thresholds), given


def suggest(store: Store, coder: LearnedCoder, n: int = 50, n_random: int = 10, seed: int = 0) -> pd.DataFrame:
    """The next units for people to code, as a coder sheet (see the module doc).

    Units of the current segmentation that no person saw are candidates.
    Columns: ``unit_id``, one empty column per variable, then ``document_id``,
    ``text``, ``suggested`` (the variables the coder gives, ``;``-joined),
    ``uncertainty`` (the log-odds margin; smaller is less sure) and
    ``picked`` (``uncertain`` or ``random``), then the unit's ``start``,
    ``end`` and ``text_hash`` (its fingerprint, see :mod:`coding.anchors`).
    """
    if n < 0 or n_random < 0:
        raise CodingError("the numbers of units to suggest must be 0 or more")
    people = [c for c in store.coder_names() if c not in AUTOMATIC_CODERS]
    coded = set().union(*(store.coder_items(c, "variable")[0] for c in people)) if people else set()
    units = [u for u in store.units() if u.id not in coded]
    if not units:
        raise CodingError("every unit in the store has been coded by a person", store.path)
    variables, margins, suggestions = _scored(coder, units)
    chosen = pick(margins, n, n_random, seed)
    rows = []
    for rank, i in enumerate(chosen):
        u = units[i]
        suggested = ";".join(suggestions[i])
        rows.append([u.id, *[""] * len(variables), u.document_id, " ".join(u.text.split()), suggested,
                     round(float(margins[i]), 4) if math.isfinite(margins[i]) else "",
                     "uncertain" if rank < n else "random", u.start, u.end, text_hash(u.text)])
    columns = ["unit_id", *variables, "document_id", "text", "suggested", "uncertainty", "picked",
               "start", "end", "text_hash"]
    return pd.DataFrame(rows, columns=columns)
