"""Training the mention coder (:mod:`coding.coders.mentions`) from unit and code labels.

Multiple-instance learning: a unit is a bag of candidate sentences. Every
sentence of a unit without a code is a negative example of that code; a unit
with the code has at least one positive sentence. Where a reader marked the
clause that decided a code, the sentences holding it are the positives;
elsewhere the first round takes the sentences with a dictionary hit of the
code (or all sentences when none has one) and each later round the unit's
best-scoring sentence under the current model. One logistic regression per
code (scikit-learn, liblinear, balanced class weights, L2).

Every setting is chosen inside the training data only, by
leave-one-collection-out there (each training collection held out in turn):
each code's option (the regularisation C and the weight of the dictionary's
features from a small grid; whether the model reads every sentence or only
the sentences with the code's dictionary hit; or the dictionary's own
decision for that code), the Platt calibration of its unit score (the best
sentence's) and its threshold on the calibrated probability, which
maximises Krippendorff's alpha of the code on those out-of-fold
predictions; options are then revised for the alpha of each code's
variable, and a variable keeps learnt options only where they beat the
dictionary by a margin of standard errors itself chosen by
leave-one-collection-out (:func:`choose_se_margins`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

from coding.codebook import Codebook
from coding.coders.mention_design import Design, column_mask, design, scaled
from coding.coders.mention_labels import (
    THESIS_CODER_FILES,
    Labelled,
    codebook_units,
    load_real_texts,
    name_codes,
    named_codes,
    thesis_units,
)
from coding.coders.mention_meaning import PREFIX, UNIT_PREFIX, Meaning
from coding.coders.mention_protocol import alpha2, best_threshold, inner_folds, platt
from coding.coders.mentions import Extractor, MentionCoder, MentionModel

#: Settings of the learner; the grid of C is searched per code inside the training data.
DEFAULTS = {"C_grid": (0.03, 0.1, 0.3), "dictionary_scale_grid": (1.0,), "min_df": 2, "rounds": 2,
            # which sentences a learnt option reads: all ("sentences") or those with the code's hit ("hits")
            "candidates": ("sentences", "hits"),
            # standard errors by which a variable's learnt options must beat the dictionary (one is chosen)
            "se_margins": (0.0, 1.0, 2.0)}
#: How far below its best alpha a code may go when its options are revised for its variable's alpha.
CODE_SLACK = 0.05

# --------------------------------------------------------------------------
# multiple-instance training of one code


def _lr(C: float):
    from sklearn.linear_model import LogisticRegression

    # the dual problem: far fewer sentences than features, 25 times faster than the primal here
    return LogisticRegression(C=C, class_weight="balanced", solver="liblinear", dual=True, max_iter=1000,
                              random_state=0)


def _seed_rows(d: Design, unit_idx: int, code: str, clauses: Sequence[str], text: str) -> tuple[list[int], bool]:
    """First positive rows of a unit with ``code``: the sentences holding a
    reader's clause (fixed), else those with a hit of the code, else all."""
    cand = d.candidates[unit_idx]
    base = int(d.offsets[unit_idx])
    rows = set()
    for clause in clauses:
        at = text.find(clause)
        if at >= 0:
            rows |= {base + i for i, (s, e) in enumerate(cand.spans) if s < at + len(clause) and at < e}
    if rows:
        return sorted(rows), True
    hit = sorted({base + j for _, _, _, j in cand.hits.get(code, [])})
    return (hit or list(range(base, base + len(cand.spans)))), False


def _seeds(d: Design, units: Sequence[Labelled], pos: list[int], code: str) -> dict[int, tuple[list[int], bool]]:
    """:func:`_seed_rows` of each positive unit."""
    return {i: _seed_rows(d, i, code, units[i].clauses.get(code, ()), units[i].text) for i in pos}


def fit_code(d: Design, units: Sequence[Labelled], train: np.ndarray, code: str, C: float,
             mask: np.ndarray, rounds: int, Xm: sparse.csr_matrix | None = None,
             hits_only: bool = False) -> tuple[np.ndarray, float]:
    """Weights (over all columns, zero outside ``mask``) and intercept of
    ``code`` learnt by multiple-instance rounds from the ``train`` units.
    ``Xm``: the design's columns in ``mask``, when the caller has them.
    ``hits_only``: the candidates are the sentences with the code's hit
    only, so the model learns to tell its hits apart (a unit without one
    teaches nothing)."""
    known = [i for i in train if code in units[i].codes]
    pos = [i for i in known if units[i].codes[code]]
    neg_rows = d.rows_of(np.array([i for i in known if not units[i].codes[code]], dtype=np.int64))
    seeds, allowed = _seeds(d, units, pos, code), None
    if hits_only:
        allowed = _hit_rows(d, code)
        neg_rows = neg_rows[allowed[neg_rows]]
        seeds = _seeds_among(seeds, allowed, d, pos)
    if not seeds or not len(neg_rows):  # nothing to tell apart: the share of positives
        n_neg = len(neg_rows) if hits_only else len(known) - len(pos)
        prior = (len(seeds) + 0.5) / (len(seeds) + n_neg + 1.0)
        return np.zeros(d.X.shape[1]), math.log(prior / (1 - prior))
    if Xm is None:
        Xm = d.X[:, np.flatnonzero(mask)]
    w, b = _rounds(d, Xm, seeds, neg_rows, C, rounds, allowed)
    full = np.zeros(d.X.shape[1])
    full[np.flatnonzero(mask)] = w
    return full, b


def _hit_rows(d: Design, code: str) -> np.ndarray:
    """Per sentence of the design: does it hold a hit of ``code``?"""
    if "hit:" + code not in d.columns:
        return np.zeros(d.X.shape[0], dtype=bool)
    return d.X[:, d.columns.index("hit:" + code)].toarray().ravel() > 0


def _seeds_among(seeds: dict[int, tuple[list[int], bool]], allowed: np.ndarray, d: Design,
                 pos: list[int]) -> dict[int, tuple[list[int], bool]]:
    """The seeds kept to ``allowed`` sentences: a reader's clause where it
    lies in one, else the unit's allowed sentences; units without any drop out."""
    out = {}
    for i in pos:
        rows, fixed = seeds[i]
        kept = [r for r in rows if allowed[r]]
        if not kept:
            kept, fixed = [r for r in range(int(d.offsets[i]), int(d.offsets[i + 1])) if allowed[r]], False
        if kept:
            out[i] = (kept, fixed and len(kept) == len(rows))
    return out


def _rounds(d: Design, Xm: sparse.csr_matrix, seeds: dict[int, tuple[list[int], bool]], neg_rows: np.ndarray,
            C: float, rounds: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Weights and intercept after the multiple-instance rounds: the units
    whose positives are not fixed take their best (``allowed``) sentence after each."""
    chosen = {i: rows for i, (rows, _) in seeds.items()}
    free = [i for i, (_, fixed) in seeds.items() if not fixed]
    w, b = np.zeros(Xm.shape[1]), 0.0
    for r in range(max(1, rounds)):
        pos_rows = np.array(sorted(j for rows in chosen.values() for j in rows), dtype=np.int64)
        rows = np.concatenate([pos_rows, neg_rows])
        y = np.r_[np.ones(len(pos_rows)), np.zeros(len(neg_rows))]
        clf = _lr(C).fit(Xm[rows], y)
        w, b = clf.coef_[0], float(clf.intercept_[0])
        if r + 1 < rounds and free:
            chosen.update(_best_rows(d, Xm, free, w, allowed))
    return w, b


def _best_rows(d: Design, Xm: sparse.csr_matrix, free: list[int], w: np.ndarray,
               allowed: np.ndarray | None = None) -> dict[int, list[int]]:
    """Each free unit's positive for the next round: its best-scoring (``allowed``) sentence."""
    rows = d.rows_of(np.array(free, dtype=np.int64))
    s = Xm[rows] @ w
    if allowed is not None:
        s = np.where(allowed[rows], s, -np.inf)
    bounds = np.cumsum([0] + [int(d.offsets[i + 1] - d.offsets[i]) for i in free])
    return {i: [int(d.offsets[i] + np.argmax(s[bounds[k]:bounds[k + 1]]))] for k, i in enumerate(free)}


def best_scores(d: Design, units: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Units x codes: each unit's best sentence score per code."""
    if not len(units):
        return np.empty((0, W.shape[1]))
    rows = d.rows_of(units)
    s = d.X[rows] @ W + b
    starts = np.cumsum(np.r_[0, np.diff(d.offsets)[units][:-1]])
    return np.maximum.reduceat(s, starts, axis=0)


# --------------------------------------------------------------------------
# the settings, chosen inside the training data



@dataclass
class Fitted:
    """What :func:`fit` learnt: per code weights, intercept, calibration,
    threshold and the settings chosen, over the design's columns;
    ``margins``: per variable whose codes had learnt options, by how many
    standard errors they beat the dictionary inside the training data
    (:func:`_dictionary_unless_better`); ``se_margins``: per variable, the
    margin they had to beat it by (:func:`choose_se_margins`); ``columns``:
    the feature of each row of ``W``; ``meaning``: the similarity features'
    scale, when the design had them."""

    codes: list[str]
    W: np.ndarray
    b: np.ndarray
    scale: np.ndarray
    shift: np.ndarray
    thresholds: np.ndarray
    chosen: dict
    mask: np.ndarray
    margins: dict[str, float] = field(default_factory=dict)
    se_margins: dict[str, float] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    meaning: Meaning | None = None


#: Prefixes of the features that come from the dictionary's hits.
DICTIONARY_FEATURES = ("hit:", "term:", "near:", "ctx:", "neg+hit:", "modal+hit:", "uhit:")
#: Raw score of a unit with (+) and without (-) a hit, for a code that keeps the dictionary's decision.
DICTIONARY_SCORE = 5.0


def _column_scale(d: Design, factor: float) -> np.ndarray:
    """Per column: ``factor`` for dictionary features, 1 for the others.
    A larger value of a feature is a weaker penalty on its weight: the
    learner leans on the dictionary's hits more."""
    return np.array([factor if c.startswith(DICTIONARY_FEATURES) else 1.0 for c in d.columns])


def _dictionary_weights(d: Design, code: str) -> tuple[np.ndarray, float]:
    """Weights that give a unit +DICTIONARY_SCORE when a sentence has a hit of
    ``code``, else -DICTIONARY_SCORE: the dictionary's decision as a model."""
    w = np.zeros(d.X.shape[1])
    if "hit:" + code in d.columns:
        w[d.columns.index("hit:" + code)] = 2 * DICTIONARY_SCORE
    return w, -DICTIONARY_SCORE


#: Raw score taken off a sentence without the code's hit, for an option that
#: reads the hits only: far below any threshold (learnt scores stay within
#: about +-10), so only a sentence with a hit can carry the code.
HITS_ONLY_SHIFT = 30.0


def _fit_all(d, units, train, codes, options, settings):
    """Weights (dictionary scale folded in) and intercepts of every code at
    its option (``options``: code -> (C, dictionary scale), (C, scale,
    "hits"), either with what it reads of the similarity columns when not
    the sentences' (see :func:`_options`), "dictionary", or :data:`MEAN`)
    on ``train``, and the columns known there."""
    # the columns and (in fit) the similarities' scale come from the units to be coded, not the examples
    mask = column_mask(d, _without_examples(units, train, settings), settings["min_df"])
    W, b = np.zeros((d.X.shape[1], len(codes))), np.zeros(len(codes))
    averaged = [k for k, code in enumerate(codes) if options[code] == MEAN]
    if averaged:
        W[:, averaged], b[averaged] = _mean_of_options(d, units, train, [codes[k] for k in averaged], settings)
    groups = {(o[1], _meaning_read(o), EXAMPLES in o[2:]) for o in options.values() if o not in _NAMED}
    for factor, reads, examples in sorted(groups):
        scale = _column_scale(d, factor)
        read = mask & _meaning_columns(d, reads)
        cols = np.flatnonzero(read)
        Xm = (d.X[:, cols] @ sparse.diags(scale[cols])).tocsr()
        fit_on = train if examples else _without_examples(units, train, settings)
        for k, code in enumerate(codes):
            o = options[code]
            if o not in _NAMED and o[1] == factor and _meaning_read(o) == reads and (EXAMPLES in o[2:]) == examples:
                w, b[k] = fit_code(d, units, fit_on, code, o[0], read, settings["rounds"], Xm,
                                   hits_only="hits" in o[2:])
                W[:, k] = w * scale
    for k, code in enumerate(codes):
        if options[code] == "dictionary":
            W[:, k], b[k] = _dictionary_weights(d, code)
        elif options[code] != MEAN and "hits" in options[code][2:]:
            W[:, k], b[k] = _hits_only(d, code, W[:, k], b[k])
    return W, b, mask


#: The option that averages a code's learnt options (``settings["mean_option"]``).
MEAN = "mean"
_NAMED = ("dictionary", MEAN)


def _learnt(options: Sequence) -> list:
    """The learnt options of an option list (not "dictionary", not :data:`MEAN`)."""
    return [o for o in options if o not in _NAMED]


def _mean_of_options(d, units, train, codes, settings) -> tuple[np.ndarray, np.ndarray]:
    """Weights and intercepts of ``codes``, each the mean of its learnt
    options' (:func:`_options`): the mean of their sentence scores."""
    fits = [_fit_all(d, units, train, codes, dict.fromkeys(codes, o), settings)[:2]
            for o in _learnt(_options(settings))]
    return np.mean([W for W, _ in fits], axis=0), np.mean([b for _, b in fits], axis=0)


#: The tag of an option that also learns from the units of ``settings["example_collections"]``
#: (the codebook's examples and counterexamples); options without it leave them out.
EXAMPLES = "examples"


def _without_examples(units: Sequence[Labelled], train: np.ndarray, settings: Mapping) -> np.ndarray:
    """``train`` less the units of the example collections (none unless the setting names them)."""
    left_out = set(settings.get("example_collections", ()))
    return train if not left_out else np.array([i for i in train if units[i].collection not in left_out],
                                                dtype=train.dtype)


def _hits_only(d: Design, code: str, w: np.ndarray, b: float) -> tuple[np.ndarray, float]:
    """Weights and intercept of ``code`` shifted so that only sentences with its hit score as learnt."""
    w = w.copy()
    if "hit:" + code in d.columns:
        w[d.columns.index("hit:" + code)] += HITS_ONLY_SHIFT
    return w, b - HITS_ONLY_SHIFT


def _truth(units, idx, code) -> tuple[np.ndarray, np.ndarray]:
    """(known mask, 0/1 labels) of ``code`` over the units ``idx``."""
    known = np.array([code in units[i].codes for i in idx], dtype=bool)
    y = np.array([units[i].codes.get(code, 0) for i in idx], dtype=int)
    return known, y


#: What an option reads of the similarity columns (``meaning_grid``), and
#: the tag it carries in the option: the sentences' ("sim", the default, no
#: tag), none ("words") or the sentences' and their units' ("unit").
MEANING_TAGS = {"sim": (), "words": ("words",), "unit": ("unit",)}
#: The readings a code chooses among when ``meaning_grid`` is not set (kept
#: out of DEFAULTS, so that a model trained without the setting stays as it was).
MEANING_GRID = ("sim",)
#: The similarity columns each reading leaves out.
_MEANING_LEFT_OUT = {"sim": (UNIT_PREFIX,), "words": (PREFIX, UNIT_PREFIX), "unit": ()}


def _options(settings: Mapping) -> list:
    """The options a code chooses among: (C, dictionary scale) pairs reading
    every sentence, the same reading only the sentences with the code's hit
    (a third item, "hits"), each with every reading of the similarity
    columns in ``meaning_grid`` (a last item when not "sim"), with
    ``example_collections`` each of those again learning from the units of
    those collections too (a last item, :data:`EXAMPLES`), and the
    dictionary alone."""
    grid = [(C, f) for C in settings["C_grid"] for f in settings["dictionary_scale_grid"]]
    reads = settings["candidates"]
    out: list = []
    for meaning in settings.get("meaning_grid", MEANING_GRID):
        if meaning not in MEANING_TAGS:
            raise ValueError(f"meaning_grid: {meaning!r} is not one of {', '.join(MEANING_TAGS)}")
        tag = MEANING_TAGS[meaning]
        out += [(*o, *tag) for o in grid if "sentences" in reads]
        out += [(*o, "hits", *tag) for o in grid if "hits" in reads]
    if settings.get("example_collections"):
        out += [(*o, EXAMPLES) for o in out]
    return out + ([MEAN] if settings.get("mean_option") else []) + ["dictionary"]


def _meaning_read(option: tuple) -> str:
    """Which similarity columns a learnt option reads (see :data:`MEANING_TAGS`)."""
    return next((m for m, tag in MEANING_TAGS.items() if tag and tag[0] in option[2:]), "sim")


def _meaning_columns(d: Design, reads: str) -> np.ndarray:
    """Per column of ``d``: may an option that reads ``reads`` use it?"""
    left_out = _MEANING_LEFT_OUT[reads]
    if not left_out:
        return np.ones(len(d.columns), dtype=bool)
    return np.array([not c.startswith(left_out) for c in d.columns], dtype=bool)


def _choose(scores: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """(alpha, scale, shift, threshold) of out-of-fold scores: Platt
    calibration, then the threshold that maximises alpha."""
    a, c = platt(scores, y)
    thr, alpha = best_threshold(1 / (1 + np.exp(-(a * scores + c))), y)
    return alpha, a, c, thr


def fit(d: Design, units: Sequence[Labelled], train: np.ndarray, codes: Sequence[str],
        settings: Mapping | None = None, variable_of: Mapping[str, str] | None = None) -> Fitted:
    """Train every code on the ``train`` units, its settings chosen by the
    inner folds (:func:`inner_folds`) only: per code the option (C and
    dictionary scale, every sentence or the hits only, or the dictionary's
    own decision) with the highest alpha on the inner out-of-fold
    predictions, their calibration and threshold. With ``variable_of``
    (code -> variable) the options are then revised for the alpha of each
    variable (:func:`_by_variable`), and a variable's codes fall back to the
    dictionary unless their options beat it by the margin
    :func:`choose_se_margins` chose."""
    settings = {**DEFAULTS, **(settings or {})}
    d, meaning = scaled(d, _without_examples(units, train, settings),
                        "unit" in settings.get("meaning_grid", MEANING_GRID))
    tested, per, pick = _inner_choices(d, units, train, codes, settings, variable_of)
    margins: dict[str, float] = {}
    se: dict[str, float] = {}
    if variable_of:
        se = choose_se_margins(d, units, train, codes, settings, variable_of)
        pick, margins = _dictionary_unless_better(units, tested, codes, per, pick, variable_of, se)
    chosen = {c: {"option": pick[c] if pick[c] in _NAMED else list(pick[c]),
                  "threshold": per[c, pick[c]][3], "inner_alpha": round(per[c, pick[c]][0], 4)} for c in codes}
    W, b, mask = _fit_all(d, units, train, codes, pick, settings)
    scale, shift, thresholds = (np.array([per[c, pick[c]][j] for c in codes]) for j in (1, 2, 3))
    return Fitted(list(codes), W, b, scale, shift, thresholds, chosen, mask, margins, se, d.columns, meaning)


def _inner_choices(d, units, train, codes, settings, variable_of) -> tuple[np.ndarray, dict, dict]:
    """(units tested, per (code, option): (alpha, scale, shift, threshold,
    decisions), each code's pick) from the inner out-of-fold scores of every
    option on ``train``; picks revised for the variables' alpha when
    ``variable_of`` is given."""
    folds = inner_folds(units, train, settings.get("fit_only", ()))
    options = _options(settings)
    oof = _out_of_fold(d, units, folds, codes, options, settings)
    tested = np.concatenate([te for _, te in folds])
    per = {}
    for k, code in enumerate(codes):
        known, y = _truth(units, tested, code)
        for o in options:
            alpha, a, c, thr = _choose(oof[o][tested, k][known], y[known])
            per[code, o] = (alpha, a, c, thr, _decide(oof[o][tested, k], a, c, thr))
    pick = {code: max(options, key=lambda o: (round(per[code, o][0], 9), -options.index(o))) for code in codes}
    if variable_of:
        pick = _by_variable(units, tested, codes, options, per, pick, variable_of)
    return tested, per, pick


def _out_of_fold(d, units, folds, codes, options, settings) -> dict:
    """Option -> units x codes out-of-fold best-sentence scores over ``folds``."""
    oof = {o: np.zeros((len(units), len(codes))) for o in options}
    for tr, te in folds:
        fits: dict = {}
        for o in options:
            if o == MEAN:  # the learnt options' fits of this fold, averaged (they come first)
                learnt = _learnt(options)
                W, b = (np.mean([fits[x][j] for x in learnt], axis=0) for j in (0, 1))
            else:
                W, b, _ = _fit_all(d, units, tr, codes, dict.fromkeys(codes, o), settings)
                fits[o] = (W, b)
            oof[o][te] = best_scores(d, te, W, b)
    return oof


def choose_se_margins(d, units, train, codes, settings, variable_of) -> dict[str, float]:
    """Per variable, the margin of ``settings["se_margins"]`` (standard
    errors by which learnt options must beat the dictionary) under which
    the model agrees best with held-out collections: each inner fold of
    ``train`` is held out in turn, a model is chosen and fitted on the rest
    at every margin, and its decisions on the held-out fold are pooled.
    Ties go to the larger margin (the simpler model)."""
    candidates = sorted(set(settings["se_margins"]), reverse=True)
    variables = sorted(set(variable_of.values()))
    if len(candidates) == 1:
        return dict.fromkeys(variables, float(candidates[0]))
    tested: list[np.ndarray] = []
    decided: dict[float, list[np.ndarray]] = {m: [] for m in candidates}
    for tr, te in inner_folds(units, train, settings.get("fit_only", ())):
        inner_tested, per, pick = _inner_choices(d, units, tr, codes, settings, variable_of)
        made: dict[tuple, np.ndarray] = {}  # margins that give the same picks share one fit
        for m in candidates:
            p, _ = _dictionary_unless_better(units, inner_tested, codes, per, pick, variable_of, m)
            key = tuple(p[c] for c in codes)
            if key not in made:
                made[key] = _decisions(d, units, tr, te, codes, settings, per, p)
            decided[m].append(made[key])
        tested.append(te)
    te_all = np.concatenate(tested)
    out = {}
    for v in variables:
        mine = [k for k, c in enumerate(codes) if variable_of.get(c) == v]
        y = np.array([v in units[i].variables for i in te_all], dtype=int)
        alpha = {m: alpha2(y, np.concatenate(decided[m])[:, mine].max(axis=1)) for m in candidates}
        out[v] = float(max(candidates, key=lambda m: (round(alpha[m], 9), m)))
    return out


def _decisions(d, units, train, test, codes, settings, per, pick) -> np.ndarray:
    """Units ``test`` x codes: 0/1 decisions of the model fitted on ``train`` at ``pick``."""
    W, b, _ = _fit_all(d, units, train, codes, pick, settings)
    s = best_scores(d, test, W, b)
    a, c, thr = (np.array([per[code, pick[code]][j] for code in codes]) for j in (1, 2, 3))
    return _decide(s, a, c, thr).astype(int)


def _decide(scores, a, c, threshold):
    """Whether Platt-calibrated ``scores`` (scale ``a``, shift ``c``) reach the probability ``threshold``."""
    return a * scores + c >= np.log(threshold / (1 - threshold))


def _by_variable(units, tested, codes, options, per, pick, variable_of, passes: int = 2) -> dict:
    """Options moved, one code at a time, to where the alpha of the code's
    variable (coded when one of its codes is) is highest on the inner
    out-of-fold decisions: a variable's figure counts the false positives of
    all its codes, which a code's own alpha does not see. A code keeps to
    options within :data:`CODE_SLACK` of its own best alpha."""
    pick = dict(pick)
    for v in sorted(set(variable_of.values())):
        mine = [c for c in codes if variable_of.get(c) == v]
        y = np.array([v in units[i].variables for i in tested], dtype=int)
        for _ in range(passes):
            for code in mine:
                rest = np.zeros(len(tested), dtype=bool)
                for other in mine:
                    if other != code:
                        rest |= per[other, pick[other]][4]
                # codes first: only options nearly as good for the code itself
                top = max(per[code, o][0] for o in options)
                fair = [o for o in options if per[code, o][0] >= top - CODE_SLACK]
                pick[code] = max(fair, key=lambda o: (round(alpha2(y, (rest | per[code, o][4]).astype(int)), 9),
                                                      o == pick[code], -options.index(o)))
    return pick


#: Resamples of pages for the standard error in :func:`_dictionary_unless_better`.
SE_RESAMPLES = 200
#: Standard errors by which learnt options must beat the dictionary on a
#: variable when no margin is given: two, a gain the resampling puts at
#: about 95% confidence. :func:`fit` chooses among ``se_margins`` instead.
SE_MARGIN = 2.0


def _dictionary_unless_better(units, tested, codes, per, pick, variable_of,
                              se_margin: float | Mapping[str, float] = SE_MARGIN) -> tuple[dict, dict[str, float]]:
    """Each variable's codes keep their learnt options only where they beat
    the dictionary on the variable by more than ``se_margin`` standard
    errors (one figure, or one per variable) (the inner out-of-fold alpha, pages resampled); otherwise they all
    take the dictionary's decisions. Of models about as good, the simplest,
    because the choice itself is made on few units and a lucky fold must not
    carry a worse model onto new text. Returns the picks and, per variable
    whose codes had learnt options, the gain in standard errors."""
    from coding.agreement.coefficients import binary_pair_alpha

    pick, margins = dict(pick), {}
    pages, page_of = np.unique([units[i].group for i in tested], return_inverse=True)
    rng = np.random.default_rng(0)
    # a resample counts each unit as often as its page was drawn
    draws = [np.bincount(rng.integers(0, len(pages), len(pages)), minlength=len(pages))[page_of]
             for _ in range(SE_RESAMPLES)]
    for v in sorted(set(variable_of.values())):
        mine = [c for c in codes if variable_of.get(c) == v]
        if all(pick[c] == "dictionary" for c in mine):
            continue
        y = np.array([v in units[i].variables for i in tested], dtype=int)
        learnt = np.any([per[c, pick[c]][4] for c in mine], axis=0).astype(int)
        plain = np.any([per[c, "dictionary"][4] for c in mine], axis=0).astype(int)
        gain = alpha2(y, learnt) - alpha2(y, plain)
        diffs = np.array([binary_pair_alpha(y, learnt, w) - binary_pair_alpha(y, plain, w) for w in draws])
        se = float(np.nanstd(diffs))
        margins[v] = gain / se if se > 0 else math.copysign(math.inf, gain) if gain else 0.0
        need = se_margin[v] if isinstance(se_margin, Mapping) else se_margin
        if not gain > need * se:
            pick.update(dict.fromkeys(mine, "dictionary"))
    return pick, margins


def to_model(d: Design, f: Fitted, codebook: Codebook, training: dict, settings: Mapping | None = None) -> MentionModel:
    """A :class:`MentionModel` of the columns with a weight."""
    keep = np.flatnonzero(np.abs(f.W).max(axis=1) > 1e-6)
    columns = f.columns or d.columns
    made = {"chosen": f.chosen, "se_margin_chosen": f.se_margins}
    if f.meaning is not None:
        made["meaning"] = f.meaning.settings()
    return MentionModel(codebook.version, tuple(f.codes), tuple(columns[j] for j in keep), f.W[keep], f.b,
                        f.scale, f.shift, f.thresholds,
                        settings={**{k: list(v) if isinstance(v, tuple) else v
                                     for k, v in {**DEFAULTS, **(settings or {})}.items()}, **made},
                        training=training)


def predict(coder: MentionCoder, d: Design, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(units x codes calibrated probabilities, accepted 0/1) by the coder's
    own rules (thresholds, headings and one-line texts, units not in English)."""
    n = len(coder.model.codes)
    probs = np.zeros((len(units), n))
    accepted = np.zeros((len(units), n), dtype=int)
    for k, i in enumerate(units):
        cand = d.candidates[i]
        raw = None if d.raw is None or coder._meaning is None else \
            d.raw[d.offsets[i]:d.offsets[i + 1], :len(coder._meaning.columns)]
        p, _ = coder.probabilities_of(cand, raw)
        probs[k] = p
        if not cand.english:
            continue
        ok = p >= coder._thr
        if cand.short:
            ok &= np.array([c in cand.hits for c in coder.model.codes])
        accepted[k] = ok
    return probs, accepted


def silence_convergence() -> None:
    """liblinear may warn on a hard fold; the folds' figures say how it went."""
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)


#: The rules :func:`weak_code_labels` knows, the default first.
WEAK_RULES = ("hits", "single", "none")


def weak_code_labels(d: Design, units: Sequence[Labelled], codebook: Codebook, rule: str = "hits") -> int:
    """Code labels for units whose readers coded a variable but none of its
    codes (the thesis's people code variables only): the variable's codes
    with a dictionary hit in the unit count as present, the others stay
    unknown. The multiple-instance reasoning one level up: a coded variable
    has at least one code, and a hit names the likely one. ``rule``:
    ``"hits"`` every code with a hit; ``"single"`` only when exactly one of
    the variable's codes has a hit (two hits leave both unknown); ``"none"``
    no labels. Returns how many labels were added (``units`` are changed in
    place)."""
    if rule not in WEAK_RULES:
        raise ValueError(f"weak label rule {rule!r}: expected one of {', '.join(WEAK_RULES)}")
    added = 0
    for i, u in enumerate(units):
        hits = d.candidates[i].hits
        for v in sorted(u.variables):
            mine = [c.id for c in codebook.codes if c.variable == v]
            if any(c in u.codes for c in mine):
                continue
            hit = [c for c in mine if c in hits]
            if rule == "none" or (rule == "single" and len(hit) != 1):
                continue
            for c in hit:
                u.codes[c] = 1
                u.weak += (c,)
                added += 1
    return added


def training_set(repo: Path, real: Path, meaning: bool = True, thesis_files: Sequence[str] = THESIS_CODER_FILES,
                 examples: bool = False, weak: str = "hits", code_names: Path | None = None):
    """What the protocol and the shipped model learn from: the project's
    codebook, the labelled units (the real texts in ``real``, then the
    thesis's people's coding in ``repo``, ``thesis_files``, with the codes
    readers named in the coder file ``code_names``, if given
    (:func:`~coding.coders.mention_labels.name_codes`), then
    :func:`weak_code_labels` by its ``weak`` rule; with ``examples``, last, the codebook's
    examples, :func:`~coding.coders.mention_labels.codebook_units`) and the
    design of their sentences, with their similarities to the codes unless
    ``meaning`` is false."""
    from coding.codebook import load_codebook

    silence_convergence()
    cb = load_codebook(Path(repo) / "codebook.yaml")
    units = (load_real_texts(real, cb, Path(repo) / "evaluation" / "real" / "consensus.csv")
             + thesis_units(repo, cb, thesis_files) + (codebook_units(cb) if examples else []))
    if code_names is not None:
        name_codes(units, named_codes(Path(code_names), cb, {u.id for u in units}), cb)
    d = design(Extractor(cb), [u.text for u in units], Meaning(cb, [c.id for c in cb.codes]) if meaning else None)
    weak_code_labels(d, units, cb, weak)
    return cb, units, d
