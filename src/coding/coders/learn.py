"""Training the learned coder: logistic regression on words and dictionary hits.

The dictionary coder (:mod:`coding.coders.dictionary`) finds codebook terms but not
their context: "to the west" is not alignment with the West, "oil" in a
recipe is not energy. The learned coder learns from human coding when such
a hit counts. Its parts:

Features (:mod:`coding.coders.learned_features`)
    lemma unigrams and bigrams and dictionary hits, weighted by tf-idf; no
    spaCy pipeline per unit, the same in training and coding.

Training (this module)
    one logistic regression (scikit-learn, balanced class weights) per
    variable and, at level "code", per code with enough labelled units. Each
    target's decision threshold is chosen on the training data only, from
    out-of-fold probabilities of an inner grouped cross-validation
    (:func:`train`); repeated grouped cross-validation of the whole
    procedure against the dictionary coder (:func:`cross_validate`).

Model and model file (:mod:`coding.coders.learned_model`)
    plain JSON (never pickle) with its own SHA-256, the same data giving a
    byte-identical file: :func:`save_model`, :func:`load_model`.

Coder (:mod:`coding.coders.learned`)
    :class:`LearnedCoder` implements the :class:`coding.records.Coder`
    protocol; every coding carries evidence (dictionary hits and the
    model's strongest features present in the unit) and a probability.

The names of those modules that callers use are importable from here too.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from coding.agreement.coefficients import binary_pair_alpha
from coding.codebook import Codebook
from coding.coders.dictionary import matcher_version
from coding.coders.learned import EVIDENCE_FEATURES as EVIDENCE_FEATURES
from coding.coders.learned import LearnedCoder as LearnedCoder
from coding.coders.learned_features import _TOKEN, _matrix, _select, _vocabulary
from coding.coders.learned_features import DICTIONARY_FEATURES as DICTIONARY_FEATURES
from coding.coders.learned_features import Analysis as Analysis
from coding.coders.learned_features import Features as Features
from coding.coders.learned_features import _lemmas as _lemmas
from coding.coders.learned_features import dictionary_hits as dictionary_hits
from coding.coders.learned_model import FORMAT as FORMAT
from coding.coders.learned_model import FORMAT_VERSION as FORMAT_VERSION
from coding.coders.learned_model import LEVELS as LEVELS
from coding.coders.learned_model import Model as Model
from coding.coders.learned_model import TargetModel as TargetModel
from coding.coders.learned_model import _canonical as _canonical
from coding.coders.learned_model import _cv_records, _round
from coding.coders.learned_model import load_model as load_model
from coding.coders.learned_model import model_codebook as model_codebook
from coding.coders.learned_model import model_hash as model_hash
from coding.coders.learned_model import model_probabilities as model_probabilities
from coding.coders.learned_model import save_model as save_model
from coding.errors import CodingError
from coding.records import Unit

#: A variable needs at least this many positive and negative units.
MIN_UNITS = 5
#: A code gets its own classifier only with this many positive and negative units.
MIN_CODE_UNITS = 20
#: Settings of the learner; each may be passed to :func:`train`. Chosen by
#: grouped cross-validation on real published text (scripts/evaluate_learned.py)
#: among C 1-64, min_df 1-2, ngram 1-2, threshold by alpha or F1 and the
#: kinds of dictionary features: with ``code`` features economic agreement
#: was lower there (alpha .89 against .93 over 10 repeats), so they are off.
DEFAULTS = {"C": 16.0, "min_df": 2, "ngram": 2, "dictionary": ("var", "ctx"), "inner_folds": 5,
            "threshold_metric": "alpha"}
#: Weight of training text of another kind than the text to code (thesis
#: paragraphs and written sets when coding media text), chosen the same way.
EXTRA_WEIGHT = 0.1

# --------------------------------------------------------------------------
# targets and folds


@dataclass(frozen=True)
class _Target:
    """What one classifier learns: y (0/1) over the units where ``known``."""

    id: str
    kind: str
    variable: str
    y: np.ndarray
    known: np.ndarray


def _label_sets(units: Sequence[Unit], labels: Mapping[str, Iterable[str]],
                codebook: Codebook) -> list[frozenset[str]]:
    """Each unit's item ids, a code adding its variable; unknown ids raise."""
    code_var = {c.id: c.variable for c in codebook.codes}
    variables = set(codebook.variable_ids)
    out = []
    for unit in units:
        if unit.id not in labels:
            raise CodingError("unit has no labels (give an empty set for a unit coded with nothing)",
                              item=unit.id)
        items = set(labels[unit.id])
        unknown = items - variables - set(code_var)
        if unknown:
            raise CodingError(f"unknown code(s) or variable(s): {', '.join(sorted(unknown))}", item=unit.id)
        items |= {code_var[i] for i in items if i in code_var}
        out.append(frozenset(items))
    return out


def _targets(sets: Sequence[frozenset[str]], codebook: Codebook,
             level: str) -> tuple[list[_Target], list[dict]]:
    """The classifiers to train and the codes skipped for want of units.

    A code is known to be absent from a unit that lacks its variable and to
    be present or absent where the unit names any code of that variable;
    a unit with the variable but none of its codes says nothing on codes.
    """
    targets = []
    for v in codebook.variable_ids:
        y = np.array([v in s for s in sets], dtype=int)
        pos, neg = int(y.sum()), int(len(y) - y.sum())
        if pos < MIN_UNITS or neg < MIN_UNITS:
            raise CodingError(f"too few labelled units to learn it: {pos} positive, {neg} negative "
                              f"(need at least {MIN_UNITS} of each)", item=v)
        targets.append(_Target(v, "variable", v, y, np.ones(len(y), dtype=bool)))
    skipped = []
    if level == "code":
        for code in codebook.codes:
            siblings = {c.id for c in codebook.codes_of(code.variable)}
            known = np.array([code.variable not in s or bool(s & siblings) for s in sets], dtype=bool)
            y = np.array([code.id in s for s in sets], dtype=int)
            pos, neg = int(y[known].sum()), int(known.sum() - y[known].sum())
            if pos < MIN_CODE_UNITS or neg < MIN_CODE_UNITS:
                skipped.append({"code": code.id, "positives": pos, "negatives": neg})
            else:
                targets.append(_Target(code.id, "code", code.variable, y, known))
    return targets, skipped


def grouped_folds(groups: Sequence[str], strata: Sequence[int] | np.ndarray, folds: int,
                  seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays of a grouped, stratified k-fold split.

    No group has units on both sides of a split; groups are shuffled with
    ``seed`` and spread so that each fold gets a similar share of each
    stratum. Raises CodingError when there are fewer groups than folds.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(set(groups))
    if n_groups < folds:
        raise CodingError(f"grouped cross-validation needs at least {folds} groups, found {n_groups}")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rare strata: spread as far as they go
        return list(splitter.split(np.zeros(len(groups)), np.asarray(strata), np.asarray(groups)))


def _strata(targets: Sequence[_Target]) -> np.ndarray:
    """One stratum per combination of variables."""
    strata = np.zeros(len(targets[0].y), dtype=int)
    for k, y in enumerate(t.y for t in targets if t.kind == "variable"):
        strata += y << k
    return strata


# --------------------------------------------------------------------------
# fitting


def _fit_one(X, target: _Target, rows: np.ndarray, weight: np.ndarray, C: float,
             seed: int) -> tuple[np.ndarray, float]:
    """Weights and intercept of one target on the given rows of X."""
    from sklearn.linear_model import LogisticRegression

    rows = rows[target.known[rows]]
    y = target.y[rows]
    if y.min() == y.max():  # one class only: a constant at the prior
        prior = min(max(y.mean(), 1e-3), 1 - 1e-3)
        return np.zeros(X.shape[1]), math.log(prior / (1 - prior))
    clf = LogisticRegression(C=C, class_weight="balanced", solver="liblinear", random_state=seed,
                             max_iter=1000)
    clf.fit(X[rows], y, sample_weight=weight[rows])
    return clf.coef_[0].copy(), float(clf.intercept_[0])


def _fit_weights(bags, targets, weight, rows, options, seed):
    """Vocabulary, idf and per-target (weights, intercept) fitted on ``rows``."""
    vocab, idf = _vocabulary([bags[i] for i in rows], options["min_df"])
    index = {f: j for j, f in enumerate(vocab)}
    X = _matrix(bags, index, idf)
    fitted = [_fit_one(X, t, np.asarray(rows), weight, options["C"], seed) for t in targets]
    return vocab, idf, index, fitted


def _probabilities(X, fitted) -> np.ndarray:
    """Units x targets probabilities of fitted (weights, intercept) pairs."""
    W = np.column_stack([w for w, _ in fitted]) if fitted else np.zeros((X.shape[1], 0))
    b = np.array([b for _, b in fitted])
    return 1.0 / (1.0 + np.exp(-(X @ W + b)))


def _f1(y: np.ndarray, pred: np.ndarray, weight: np.ndarray) -> float:
    both = float(weight @ (y + pred))
    return 2 * float(weight @ (y & pred)) / both if both else 0.0


def _best_threshold(p: np.ndarray, y: np.ndarray, weight: np.ndarray, metric: str) -> float:
    """The threshold that maximises ``metric`` ("alpha" or "f1") on (p, y),
    units weighted; among equals the one nearest 0.5. Candidates lie midway
    between neighbouring distinct probabilities."""
    values = np.unique(p)
    candidates = np.concatenate([[0.5], (values[:-1] + values[1:]) / 2]) if len(values) > 1 else np.array([0.5])
    best, best_score = 0.5, -math.inf
    for t in sorted(candidates, key=lambda c: (abs(c - 0.5), c)):
        pred = (p >= t).astype(int)
        score = _f1(y, pred, weight) if metric == "f1" else binary_pair_alpha(y, pred, weight)
        score = -1.0 if math.isnan(score) else score
        if score > best_score + 1e-12:
            best, best_score = float(t), score
    return best


def _thresholds(bags, targets, groups, weight, options, seed) -> list[float]:
    """Per target, the best threshold on out-of-fold probabilities of an
    inner grouped cross-validation (training data only)."""
    oof = np.full((len(bags), len(targets)), np.nan)
    for inner_train, inner_test in grouped_folds(groups, _strata(targets), options["inner_folds"], seed):
        _, idf, index, fitted = _fit_weights(bags, targets, weight, inner_train, options, seed)
        oof[inner_test] = _probabilities(_matrix([bags[i] for i in inner_test], index, idf), fitted)
    out = []
    for k, t in enumerate(targets):
        keep = t.known
        out.append(_best_threshold(oof[keep, k], t.y[keep], weight[keep], options["threshold_metric"]))
    return out


def _libraries() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("scikit-learn", "numpy", "scipy", "spacy-lookups-data"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = ""
    return out


def _settings(options: Mapping) -> dict:
    """The settings recorded in a model: the learner's options and what the
    features are."""
    return {**options, "tokens": _TOKEN.pattern, "lemmas": "spacy-lookups-data en lemma_lookup",
            "tf": "sublinear", "idf": "smooth", "norm": "l2", "matcher_version": matcher_version()}


def _options(settings: Mapping) -> dict:
    """:data:`DEFAULTS` updated with ``settings``, checked."""
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise CodingError(f"unknown learner setting(s): {', '.join(sorted(unknown))} "
                          f"(known: {', '.join(DEFAULTS)})")
    options = {**DEFAULTS, **settings}
    kinds = set(options["dictionary"])
    if not kinds <= set(DICTIONARY_FEATURES):
        raise CodingError(f"unknown dictionary feature kind(s): {', '.join(sorted(kinds - set(DICTIONARY_FEATURES)))}"
                          f" (known: {', '.join(DICTIONARY_FEATURES)})")
    options["dictionary"] = [k for k in DICTIONARY_FEATURES if k in kinds]  # JSON order, as loaded
    if options["threshold_metric"] not in ("alpha", "f1"):
        raise CodingError(f"threshold_metric must be 'alpha' or 'f1', got {options['threshold_metric']!r}")
    return options


def _fit_model(bags: Sequence[Counter], sets: Sequence[frozenset], groups: Sequence[str],
               codebook: Codebook, level: str, seed: int, options: Mapping,
               weight: Sequence[float] | None = None) -> Model:
    """Thresholds from an inner grouped CV, then weights on all units."""
    targets, skipped = _targets(sets, codebook, level)
    unit_weight = np.ones(len(bags)) if weight is None else np.asarray(weight, dtype=float)
    thresholds = _thresholds(bags, targets, groups, unit_weight, options, seed)
    vocab, idf, _, fitted = _fit_weights(bags, targets, unit_weight, np.arange(len(bags)), options, seed)
    models = tuple(
        TargetModel(t.id, t.kind, t.variable, tuple(_round(w) for w in weights), _round(b), _round(thr),
                    int(t.y[t.known].sum()), int(t.known.sum() - t.y[t.known].sum()))
        for t, (weights, b), thr in zip(targets, fitted, thresholds)
    )
    return Model(codebook.version, level, _settings({**options, "seed": seed}), tuple(vocab),
                 tuple(_round(x) for x in idf), models, tuple(skipped), libraries=_libraries())


def _group_list(units: Sequence[Unit], groups) -> list[str]:
    """Each unit's group from a mapping (unit id -> group) or a sequence."""
    if isinstance(groups, Mapping):
        missing = [u.id for u in units if u.id not in groups]
        if missing:
            raise CodingError("unit has no group", item=missing[0])
        return [str(groups[u.id]) for u in units]
    groups = [str(g) for g in groups]
    if len(groups) != len(units):
        raise CodingError(f"{len(groups)} groups for {len(units)} units")
    return groups


def train(units: Sequence[Unit], labels: Mapping[str, Iterable[str]], groups: Mapping[str, str] | Sequence[str],
          codebook: Codebook, *,
          level: str = "variable", seed: int = 0, weights: Mapping[str, float] | None = None,
          sources: Sequence[str] = (), coders: Sequence[str] = (), cv: pd.DataFrame | None = None,
          **settings) -> Model:
    """Train a learned coder on human-coded units.

    ``labels`` maps every unit id to its item ids (variables and, where
    known, codes; a code implies its variable; an empty set = coded with
    nothing). ``groups`` maps unit id -> group (document or source page),
    or lists the groups in unit order: thresholds are chosen by a grouped
    inner cross-validation. ``level="code"`` adds a classifier for every
    code with at least :data:`MIN_CODE_UNITS` positive and negative units
    (the others are listed in ``model.skipped``). ``settings`` override
    :data:`DEFAULTS`. ``weights`` (unit id -> weight, default 1) make some
    units count more in fitting and in choosing thresholds, e.g. text of
    the kind the coder is for over other training text. ``sources``,
    ``coders`` and ``cv`` (a table from :func:`cross_validate`) are
    recorded in the model.

    Raises CodingError when a variable has fewer than :data:`MIN_UNITS`
    positive or negative units, or on unknown labels and settings.
    """
    if level not in LEVELS:
        raise CodingError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    options = _options(settings)
    units = list(units)
    sets = _label_sets(units, labels, codebook)
    group_list = _group_list(units, groups)
    features = Features(codebook, ngram=options["ngram"])
    bags = [_select(features.analyse(u.text).counts, options["dictionary"]) for u in units]
    weight = [float((weights or {}).get(u.id, 1.0)) for u in units]
    model = _fit_model(bags, sets, group_list, codebook, level, seed, options, weight)
    training = {"units": len(units), "groups": len(set(group_list)), "sources": sorted(sources),
                "coders": sorted(coders), "weights": {str(_round(w)): n for w, n in sorted(Counter(weight).items())}}
    # the codebook travels with the model, so the model codes from any folder
    model = replace(model, training=training, cv=_cv_records(cv), codebook_content=codebook.content)
    return replace(model, sha256=model_hash(model))


# --------------------------------------------------------------------------
# cross-validation

#: Coders compared by :func:`cross_validate`.
CV_CODERS = ("dictionary", "learned-words", "learned")
_METRICS = ("precision", "recall", "f1", "alpha")


def _scores(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from coding.agreement.coefficients import krippendorff_alpha, precision_recall_f1

    p, r, f1 = precision_recall_f1(truth.tolist(), pred.tolist())
    return {"precision": p, "recall": r, "f1": f1, "alpha": krippendorff_alpha([truth.tolist(), pred.tolist()])}


def _predict_folds(bags, sets, groups, extra, codebook, split, seed, options, extra_weight) -> np.ndarray:
    """Out-of-fold 0/1 predictions (units x variables) of one repeat."""
    ebags, esets, egroups = extra
    pred = np.zeros((len(bags), len(codebook.variable_ids)), dtype=int)
    for train_idx, test_idx in split:
        weight = [1.0] * len(train_idx) + [extra_weight] * len(ebags)
        model = _fit_model([bags[i] for i in train_idx] + ebags, [sets[i] for i in train_idx] + esets,
                           [groups[i] for i in train_idx] + egroups, codebook, "variable", seed, options, weight)
        probs = model_probabilities(model, [bags[i] for i in test_idx])
        thr = np.array([t.threshold for t in model.targets])
        k = [model.targets.index(model.target(v)) for v in codebook.variable_ids]
        pred[test_idx] = (probs[:, k] >= thr[k]).astype(int)
    return pred


#: Further labelled units to train on, never tested on: (units, labels, groups).
Extra = tuple[Sequence[Unit], Mapping[str, Iterable[str]], Mapping[str, str] | Sequence[str]]


def _prepared(features: Features, units: Sequence[Unit], labels: Mapping[str, Iterable[str]],
              groups: Mapping[str, str] | Sequence[str],
              codebook: Codebook) -> tuple[list[Counter], list[frozenset[str]], list[str]]:
    """Feature counts, label sets and groups of labelled units."""
    units = list(units)
    sets = _label_sets(units, labels, codebook)
    return [features.analyse(u.text).counts for u in units], sets, _group_list(units, groups)


def _prepared_extra(features: Features, units: Sequence[Unit], extra: Extra | None,
                    codebook: Codebook) -> tuple[list[Counter], list[frozenset[str]], list[str]]:
    """:func:`_prepared` of the extra training units (none without
    ``extra``); a unit that is also among the tested ``units`` raises."""
    if extra is None:
        return [], [], []
    extra_units = list(extra[0])
    if {u.id for u in units} & {u.id for u in extra_units}:
        raise CodingError("a unit is both in the tested units and in the extra training units")
    return _prepared(features, extra_units, extra[1], extra[2], codebook)


def _records(repeat: int, truth: np.ndarray, preds: Mapping[str, np.ndarray],
             variables: list[str]) -> list[dict]:
    """Scores of one repeat: one record per coder and variable."""
    return [{"repeat": repeat, "variable": v, "coder": name, **_scores(truth[:, j], pred[:, j])}
            for name, pred in preds.items() for j, v in enumerate(variables)]


def cross_validate(units: Sequence[Unit], labels: Mapping[str, Iterable[str]],
                   groups: Mapping[str, str] | Sequence[str], codebook: Codebook, *,
                   folds: int = 5, repeats: int = 3, seeds: Sequence[int] = (0, 1, 2),
                   extra: Extra | None = None, extra_weight: float = EXTRA_WEIGHT, **settings) -> pd.DataFrame:
    """Repeated grouped cross-validation of the learned coder, per variable.

    Each repeat splits ``units`` into ``folds`` folds by group (no group in
    its own test fold; shuffled with that repeat's seed), trains on the
    other folds plus every unit of ``extra`` -- a tuple ``(units, labels,
    groups)`` of further labelled units, never tested on -- and predicts
    the test fold, the extra units weighted ``extra_weight`` (see
    :func:`train`); thresholds are chosen inside the training folds only.
    Three coders are compared against the labels (truth before
    prediction): "dictionary" (the dictionary coder alone),
    "learned-words" (words only) and "learned" (words and dictionary hits,
    what :func:`train` makes).

    Returns one row per variable and coder: ``units``, ``positives`` and,
    for precision, recall, f1 and Krippendorff's alpha (nominal, two
    coders) computed over each repeat's pooled out-of-fold predictions,
    the mean over repeats and its ``_min`` and ``_max``.
    """
    if repeats < 1 or len(seeds) < repeats:
        raise CodingError(f"{repeats} repeats need at least as many seeds, got {len(seeds)}")
    options = _options(settings)
    features = Features(codebook, ngram=options["ngram"])
    units = list(units)
    bags, sets, group_list = _prepared(features, units, labels, groups, codebook)
    ebags, esets, egroups = _prepared_extra(features, units, extra, codebook)
    variables = codebook.variable_ids
    truth = np.array([[v in s for v in variables] for s in sets], dtype=int)
    # the dictionary coder codes a variable exactly when a var:<id> feature is present
    preds = {"dictionary": np.array([["var:" + v in b for v in variables] for b in bags], dtype=int)}
    strata = truth @ (1 << np.arange(len(variables)))
    records: list[dict] = []
    for r, seed in enumerate(seeds[:repeats]):
        split = grouped_folds(group_list, strata, folds, seed)
        for name, kinds in (("learned-words", []), ("learned", options["dictionary"])):
            preds[name] = _predict_folds(
                [_select(b, kinds) for b in bags], sets, group_list,
                ([_select(b, kinds) for b in ebags], esets, egroups), codebook, split, seed,
                {**options, "dictionary": kinds}, extra_weight)
        records += _records(r, truth, preds, variables)
    return _summary(pd.DataFrame(records), truth, variables)


def _summary(records: pd.DataFrame, truth: np.ndarray, variables: list[str]) -> pd.DataFrame:
    """Mean, min and max over repeats per variable and coder."""
    rows = []
    for j, v in enumerate(variables):
        for name in CV_CODERS:
            part = records[(records["variable"] == v) & (records["coder"] == name)]
            row = {"variable": v, "coder": name, "units": len(truth), "positives": int(truth[:, j].sum())}
            for m in _METRICS:
                row[m], row[m + "_min"], row[m + "_max"] = part[m].mean(), part[m].min(), part[m].max()
            rows.append(row)
    return pd.DataFrame(rows)
