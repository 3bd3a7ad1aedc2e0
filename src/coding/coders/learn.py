"""The learned coder: logistic regression on words and dictionary hits.

The dictionary coder (:mod:`coding.coders.dictionary`) finds codebook terms but not
their context: "to the west" is not alignment with the West, "oil" in a
recipe is not energy. This coder learns from human coding when such a hit
counts.

Features (deterministic, no spaCy pipeline per unit)
    word unigrams and bigrams of lemmas of the folded, lower-cased tokens
    (lemma by lookup in :func:`coding.language.lemma_table`), plus one
    feature per dictionary hit: ``code:<id>`` per hit of a code,
    ``var:<id>`` per hit of any code of a variable, ``ctx:<id>`` per hit of
    a code's context patterns where the code itself has no hit (which kinds
    are used is the setting ``dictionary``). Weighted by tf-idf (sublinear
    tf, smoothed idf, rows l2-normalised); the vocabulary keeps features
    found in at least ``min_df`` training units.

Model
    one logistic regression (scikit-learn, balanced class weights) per
    variable and, at level "code", per code with enough labelled units. Each
    target's decision threshold is chosen on the training data only, from
    out-of-fold probabilities of an inner grouped cross-validation.

Model file
    plain JSON (never pickle) with its own SHA-256, written with sorted keys
    and floats rounded to 6 significant digits, so that the same data give
    a byte-identical file: :func:`save_model`, :func:`load_model`.

Coder
    :class:`LearnedCoder` implements the :class:`coding.records.Coder`
    protocol; every coding carries evidence (dictionary hits and the
    model's strongest features present in the unit) and a probability.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from coding.agreement.coefficients import binary_pair_alpha
from coding.codebook import Codebook
from coding.coders.dictionary import MATCHER_VERSION, DictionaryCoder
from coding.errors import CodingError
from coding.language import fold, lemma_table
from coding.records import LEARNED, Coding, Evidence, StrPath, Unit, evidence_json

FORMAT = "coding-learned-model"
FORMAT_VERSION = 1
LEVELS = ("variable", "code")
#: A variable needs at least this many positive and negative units.
MIN_UNITS = 5
#: A code gets its own classifier only with this many positive and negative units.
MIN_CODE_UNITS = 20
#: Model features named in the evidence of one coding.
EVIDENCE_FEATURES = 3
#: Kinds of dictionary features: hits per code, per variable, of context patterns alone.
DICTIONARY_FEATURES = ("code", "var", "ctx")
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

_TOKEN = re.compile(r"[^\W_]+")
_DICT_PREFIXES = ("code:", "var:", "ctx:")


def _round(x: float) -> float:
    """6 significant digits: the precision kept in a model file."""
    return float(f"{float(x):.6g}")


# --------------------------------------------------------------------------
# features


@lru_cache(maxsize=1)
def _lemmas() -> dict[str, str]:
    """Lower-case word form -> lower-case lemma."""
    return {form.lower(): lemma.lower() for form, lemma in lemma_table().items()}


def _context_coders(codebook: Codebook) -> tuple[DictionaryCoder, DictionaryCoder] | None:
    """Dictionary coders whose patterns are the codebook's context patterns:
    they find the hits that the dictionary coder keeps only beside a hit of
    the code itself. The first ignores the codes' exclusions (a quick test:
    exclusions only remove hits, and their regexes would scan every unit),
    the second applies them."""
    codes = tuple(replace(c, patterns=c.context_patterns, context_patterns=())
                  for c in codebook.codes if c.context_patterns)
    if not codes:
        return None
    quick = tuple(replace(c, exclude_patterns=()) for c in codes)
    return DictionaryCoder(replace(codebook, codes=quick)), DictionaryCoder(replace(codebook, codes=codes))


@dataclass
class Analysis:
    """A text's features and the dictionary hits behind them.

    ``counts``: feature -> count; ``hits``: code id -> (pattern, start, end)
    of the dictionary coder; ``context``: code id -> context-pattern hits of
    codes without a hit of their own; ``lemmas``: the text's lemmas.
    """

    counts: Counter
    hits: dict[str, list[tuple[str, int, int]]]
    context: dict[str, list[tuple[str, int, int]]]
    lemmas: list[str]


class Features:
    """Turns texts into feature counts, the same way in training and coding."""

    def __init__(self, codebook: Codebook, *, ngram: int = 2):
        if ngram not in (1, 2):
            raise CodingError(f"ngram must be 1 or 2, got {ngram!r}")
        self.ngram = ngram
        self.coder = DictionaryCoder(codebook)
        self._context = _context_coders(codebook)
        self._lemmas = _lemmas()
        self._codes = [c.id for c in self.coder.codes]
        self._variable = {c.id: c.variable for c in codebook.codes}

    def lemmas(self, text: str) -> list[str]:
        """Lemmas of the tokens of ``text`` (folded, lower-cased)."""
        get = self._lemmas.get
        tokens = _TOKEN.findall(fold(text))
        return list(map(get, tokens, tokens))

    def analyse(self, text: str) -> Analysis:
        """Features of ``text`` (every kind of dictionary feature) with the
        dictionary hits behind them."""
        lemmas = self.lemmas(text)
        counts = Counter(lemmas)
        if self.ngram == 2 and len(lemmas) > 1:
            counts.update(map(" ".join, zip(lemmas, lemmas[1:])))
        hits, context = dictionary_hits(self.coder, self._context, self._codes, text)
        for code, h in hits.items():
            counts["code:" + code] += len(h)
            counts["var:" + self._variable[code]] += len(h)
        for code, h in context.items():
            counts["ctx:" + code] += len(h)
        return Analysis(counts, hits, context, lemmas)


def _select(counts: Counter, dictionary: Sequence[str]) -> Counter:
    """Word features and the dictionary features of the given kinds."""
    drop = tuple(f"{k}:" for k in DICTIONARY_FEATURES if k not in dictionary)
    return Counter({f: n for f, n in counts.items() if not f.startswith(drop)}) if drop else counts


def _vocabulary(bags: Sequence[Counter], min_df: int) -> tuple[list[str], np.ndarray]:
    """Sorted features found in at least ``min_df`` bags, and their smoothed
    idf, ln((1 + n) / (1 + df)) + 1."""
    df = Counter()
    for bag in bags:
        df.update(bag.keys())
    vocab = sorted(f for f, n in df.items() if n >= min_df)
    n = len(bags)
    idf = np.array([math.log((1 + n) / (1 + df[f])) + 1 for f in vocab], dtype=float)
    return vocab, idf


def _matrix(bags: Sequence[Counter], index: Mapping[str, int], idf: np.ndarray) -> sparse.csr_matrix:
    """Rows of sublinear tf * idf, l2-normalised, over ``index``."""
    data, cols, indptr = [], [], [0]
    for bag in bags:
        row = sorted((index[f], (1.0 + math.log(n)) * idf[index[f]]) for f, n in bag.items() if f in index)
        norm = math.sqrt(sum(v * v for _, v in row)) or 1.0
        cols.extend(j for j, _ in row)
        data.extend(v / norm for _, v in row)
        indptr.append(len(cols))
    return sparse.csr_matrix((np.array(data, dtype=float), np.array(cols, dtype=np.int64), indptr),
                             shape=(len(bags), len(index)))


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


def grouped_folds(groups: Sequence[str], strata: Sequence[int], folds: int,
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
    ys = [t.y for t in targets if t.kind == "variable"]
    return sum(y << k for k, y in enumerate(ys))


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


# --------------------------------------------------------------------------
# the model


@dataclass(frozen=True)
class TargetModel:
    """One classifier: a variable or a code, with its weights (aligned with
    the model's vocabulary), intercept, decision threshold and the numbers
    of positive and negative units it was trained on."""

    id: str
    kind: str
    variable: str
    weights: tuple[float, ...]
    intercept: float
    threshold: float
    positives: int
    negatives: int


@dataclass(frozen=True)
class Model:
    """A trained learned coder, as stored in a model file.

    ``settings`` holds the features and learner settings used, ``training``
    the units, groups, coders and sources it learnt from, ``libraries`` the
    versions of the libraries that made it, ``cv`` cross-validation figures
    if given, ``sha256`` the hash of everything else (see
    :func:`model_hash`).
    """

    codebook_version: str
    level: str
    settings: dict
    vocabulary: tuple[str, ...]
    idf: tuple[float, ...]
    targets: tuple[TargetModel, ...]
    skipped: tuple[dict, ...] = ()
    training: dict = field(default_factory=dict)
    libraries: dict = field(default_factory=dict)
    cv: tuple[dict, ...] = ()
    codebook_content: str = ""
    sha256: str = ""

    def target(self, target_id: str) -> TargetModel:
        """The classifier of a variable or code id (KeyError if none)."""
        for t in self.targets:
            if t.id == target_id:
                return t
        raise KeyError(target_id)


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
            "tf": "sublinear", "idf": "smooth", "norm": "l2", "matcher_version": MATCHER_VERSION}


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
    weight = np.ones(len(bags)) if weight is None else np.asarray(weight, dtype=float)
    thresholds = _thresholds(bags, targets, groups, weight, options, seed)
    vocab, idf, _, fitted = _fit_weights(bags, targets, weight, np.arange(len(bags)), options, seed)
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


def model_codebook(model: Model, origin: str = "<model>") -> Codebook:
    """The codebook a model was trained with, parsed from the copy it keeps."""
    from coding.codebook import parse_codebook

    if not model.codebook_content:
        raise CodingError("the model keeps no copy of its codebook; give the codebook", origin)
    return parse_codebook(model.codebook_content, f"{origin} (codebook {model.codebook_version})")


def _json_value(v):
    """A table cell as plain JSON: NaN as null, floats rounded."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return None if math.isnan(v) else _round(v)
    return v


def _cv_records(cv: pd.DataFrame | None) -> tuple[dict, ...]:
    """Rows of a :func:`cross_validate` table as plain dicts."""
    if cv is None:
        return ()
    return tuple({str(k): _json_value(v) for k, v in rec.items()} for rec in cv.to_dict("records"))


def _model_arrays(model: Model) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """index, idf, weights (vocabulary x targets), intercepts, thresholds."""
    index = {f: j for j, f in enumerate(model.vocabulary)}
    idf = np.array(model.idf, dtype=float)
    W = np.array([t.weights for t in model.targets], dtype=float).T.reshape(len(index), len(model.targets))
    b = np.array([t.intercept for t in model.targets], dtype=float)
    thr = np.array([t.threshold for t in model.targets], dtype=float)
    return index, idf, W, b, thr


def model_probabilities(model: Model, bags: Sequence[Counter]) -> np.ndarray:
    """Units x targets probabilities of ``model`` for feature counts (from
    :meth:`Features.analyse`), in the order of ``model.targets``."""
    index, idf, W, b, _ = _model_arrays(model)
    X = _matrix(bags, index, idf)
    return 1.0 / (1.0 + np.exp(-(X @ W + b)))


# --------------------------------------------------------------------------
# the model file


def _model_dict(model: Model) -> dict:
    """The model as plain JSON data, without its hash."""
    d = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "codebook_version": model.codebook_version, "level": model.level, "settings": model.settings,
        "vocabulary": list(model.vocabulary), "idf": list(model.idf),
        "targets": [{"id": t.id, "kind": t.kind, "variable": t.variable, "weights": list(t.weights),
                     "intercept": t.intercept, "threshold": t.threshold, "positives": t.positives,
                     "negatives": t.negatives} for t in model.targets],
        "skipped": list(model.skipped), "training": model.training, "libraries": model.libraries,
        "cv": list(model.cv), "codebook": model.codebook_content,
    }
    return d


def _canonical(d: dict) -> str:
    """The JSON text that is hashed: sorted keys, no white space, ASCII."""
    return json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def model_hash(model: Model) -> str:
    """SHA-256 of the model's canonical JSON (sorted keys, no white space,
    without the hash field)."""
    return hashlib.sha256(_canonical(_model_dict(model)).encode("ascii")).hexdigest()


def save_model(model: Model, path: StrPath) -> Path:
    """Write ``model`` as JSON with its hash; the same model gives the same bytes."""
    from coding.files import write_text

    d = _model_dict(model)
    d["sha256"] = model_hash(model)
    text = json.dumps(d, sort_keys=True, indent=1, ensure_ascii=True, allow_nan=False) + "\n"
    return write_text(path, text)


def _model_from_dict(d: dict) -> Model:
    """A Model from the parsed JSON; KeyError/TypeError/ValueError if malformed."""
    vocab = tuple(str(f) for f in d["vocabulary"])
    idf = tuple(float(x) for x in d["idf"])
    targets = []
    for t in d["targets"]:
        weights = tuple(float(w) for w in t["weights"])
        if len(weights) != len(vocab):
            raise ValueError(f"target '{t['id']}' has {len(weights)} weights for {len(vocab)} features")
        targets.append(TargetModel(str(t["id"]), str(t["kind"]), str(t["variable"]), weights,
                                   float(t["intercept"]), float(t["threshold"]), int(t["positives"]),
                                   int(t["negatives"])))
    if len(idf) != len(vocab):
        raise ValueError(f"{len(idf)} idf values for {len(vocab)} features")
    if d["level"] not in LEVELS:
        raise ValueError(f"unknown level {d['level']!r}")
    if dict(d["settings"]).get("ngram", 2) not in (1, 2):
        raise ValueError(f"settings: ngram must be 1 or 2, not {d['settings']['ngram']!r}")
    return Model(str(d["codebook_version"]), d["level"], dict(d["settings"]), vocab, idf, tuple(targets),
                 tuple(d["skipped"]), dict(d["training"]), dict(d["libraries"]), tuple(d["cv"]),
                 str(d.get("codebook", "")))


def load_model(path: StrPath, codebook: Codebook | None = None) -> Model:
    """Read a model file written by :func:`save_model`.

    Raises a one-line CodingError naming the file when it cannot be read,
    is not valid JSON (e.g. truncated), is not a model of this format, does
    not match its own hash (altered or damaged), or -- with ``codebook`` --
    was made for another codebook version.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise CodingError(f"cannot read the model: {exc.strerror}", path) from None
    except UnicodeDecodeError:
        raise CodingError("not a model file: not UTF-8 text", path) from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodingError(f"not a model file: invalid JSON at line {exc.lineno} (truncated?)", path) from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise CodingError(f"not a learned-coder model (format is not '{FORMAT}')", path)
    if d.get("format_version") != FORMAT_VERSION:
        raise CodingError(f"model format version {d.get('format_version')!r} is not supported "
                          f"(this program reads version {FORMAT_VERSION})", path)
    stored = d.pop("sha256", None)
    try:
        actual = hashlib.sha256(_canonical(d).encode("ascii")).hexdigest()
    except ValueError:  # NaN or infinity: not written by save_model
        actual = ""
    if stored != actual:
        raise CodingError("hash mismatch: the model file was altered or damaged", path)
    try:
        model = _model_from_dict(d)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CodingError(f"malformed model: {exc}", path) from None
    if codebook is not None and model.codebook_version != codebook.version:
        raise CodingError(f"model made for codebook version {model.codebook_version}, the codebook is "
                          f"version {codebook.version}: train the model again", path)
    return replace(model, sha256=stored)


# --------------------------------------------------------------------------
# the coder


def dictionary_hits(coder, context_coders, codes: list[str], text: str) -> tuple[dict[str, list], dict[str, list]]:
    """The dictionary's hits in ``text`` per code id, and the context
    patterns' hits (``context_coders``, see :func:`_context_coders`) of codes
    the dictionary did not find."""
    hits = {codes[i]: h for i, h in coder.match(text).items()}
    context: dict[str, list] = {}
    if context_coders is not None and context_coders[0].match(text):
        ctx_codes = context_coders[1].codes
        for i, h in context_coders[1].match(text).items():
            if ctx_codes[i].id not in hits:
                context[ctx_codes[i].id] = h
    return hits, context


class LearnedCoder:
    """The learned coder: codes units with a trained :class:`Model`.

    >>> coder = LearnedCoder(load_model("model.json", codebook), codebook)
    >>> codings = coder.code(units)

    A unit gets a variable when that variable's probability reaches its
    threshold and there is evidence; a code of a coded variable when the
    code's own classifier fires or the dictionary coder gives the code. A
    coded variable without such a code gets one variable-level coding
    (code ""). Evidence: the dictionary hits for the variable or code, then
    up to :data:`EVIDENCE_FEATURES` word features of the model that raise
    the probability most in this unit (pattern ``model:<feature>``, weight =
    the feature's contribution to the log-odds, offsets of its first
    occurrence). ``probability`` is the code's classifier's when it fired,
    else the variable's.
    """

    def __init__(self, model: Model, codebook: Codebook, name: str = LEARNED):
        if model.codebook_version != codebook.version:
            raise CodingError(f"model made for codebook version {model.codebook_version}, the codebook "
                              f"is version {codebook.version}: train the model again")
        ids = {t.id for t in model.targets}
        missing = [v for v in codebook.variable_ids if v not in ids]
        if missing:
            raise CodingError("the model has no classifier for this variable", item=missing[0])
        self.model = model
        self.codebook = codebook
        self.name = name
        self._hash = model.sha256 or model_hash(model)
        settings = model.settings
        # features the model lacks (other dictionary kinds) are ignored by lookup
        self.features = Features(codebook, ngram=int(settings.get("ngram", 2)))
        index, idf, W, self._b, self._thr = _model_arrays(model)
        # feature -> (row, idf): one dict lookup per feature of a unit
        self._table = {f: (j, float(idf[j])) for f, j in index.items()}
        self._W = W
        self._target = {t.id: k for k, t in enumerate(model.targets)}
        self._codes = {v: [c.id for c in codebook.codes_of(v)] for v in codebook.variable_ids}
        self._variables = codebook.variable_ids

    @property
    def version(self) -> str:
        """A short hash of the model (with the matcher's version, which makes
        its dictionary features): a new model recodes."""
        return f"{self._hash[:12]}+m{MATCHER_VERSION}"

    def _score(self, counts: Counter) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Probabilities per target, with the rows and tf-idf values (before
        l2 norm) of the unit's features and the norm."""
        table, rows, values = self._table, [], []
        log = math.log
        for f, n in counts.items():
            entry = table.get(f)
            if entry is not None:
                rows.append(entry[0])
                values.append((1.0 + log(n)) * entry[1] if n > 1 else entry[1])
        if not rows:
            return 1.0 / (1.0 + np.exp(-self._b)), np.empty(0, int), np.empty(0), 1.0
        x = np.array(values)
        norm = math.sqrt(float(x @ x))
        r = np.array(rows)
        scores = self._b + (x @ self._W[r]) / norm
        return 1.0 / (1.0 + np.exp(-scores)), r, x, norm

    def _model_evidence(self, k: int, lemmas: list[str], spans: list[tuple[int, int]], rows: np.ndarray,
                        x: np.ndarray, norm: float) -> list[tuple]:
        """The word features that raise target ``k`` most in this unit:
        (term, "model:<feature>", start, end, contribution to the log-odds)."""
        if not len(rows):
            return []
        contribution = x * self._W[rows, k] / norm
        out = []
        for i in np.argsort(-contribution, kind="stable"):
            if contribution[i] <= 0 or len(out) == EVIDENCE_FEATURES:
                break
            feature = self.model.vocabulary[rows[i]]
            if feature.startswith(_DICT_PREFIXES):
                continue  # dictionary features are shown by their hits
            span = _occurrence(feature, lemmas, spans)
            if span is not None:
                out.append((span, "model:" + feature, float(contribution[i])))
        return out

    @staticmethod
    def _hit_evidence(analysis: Analysis, codes: Iterable[str]) -> list[tuple]:
        """Dictionary hits (including context-pattern hits) of ``codes``."""
        hits = [h for c in codes for h in analysis.hits.get(c, []) + analysis.context.get(c, [])]
        return sorted(hits, key=lambda h: (h[1], h[2], h[0]))

    def _decide(self, text: str) -> list[tuple[str, str, float, list[tuple]]]:
        """(variable, code, probability, evidence) of one text, evidence as
        (term, pattern, start, end[, weight]) in offsets of the text."""
        a = self.features.analyse(text)
        p, rows, x, norm = self._score(a.counts)
        thr, out, spans = self._thr, [], None
        for v in self._variables:
            k = self._target[v]
            if p[k] < thr[k]:
                continue
            if spans is None:
                spans = [m.span() for m in _TOKEN.finditer(fold(text))]
            ev_model = self._model_evidence(k, a.lemmas, spans, rows, x, norm)
            coded = []
            for code in self._codes[v]:
                kc = self._target.get(code)
                fired = kc is not None and p[kc] >= thr[kc]
                if not fired and code not in a.hits:
                    continue
                own = self._model_evidence(kc, a.lemmas, spans, rows, x, norm) if fired else ev_model
                ev = _evidence(text, self._hit_evidence(a, [code]), own)
                if ev:
                    coded.append((v, code, float(p[kc] if fired else p[k]), ev))
            if not coded:
                ev = _evidence(text, self._hit_evidence(a, self._codes[v]), ev_model)
                if ev:  # no evidence, no coding
                    coded.append((v, "", float(p[k]), ev))
            out.extend(coded)
        return out

    def probabilities(self, units: Iterable[Unit]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(variable ids, probabilities as a units x variables array, the
        variables' thresholds): how sure the model is, unit by unit."""
        cols = [self._target[v] for v in self._variables]
        rows = [self._score(self.features.analyse(u.text).counts)[0][cols] for u in units]
        probs = np.vstack(rows) if rows else np.empty((0, len(cols)))
        return list(self._variables), probs, np.asarray(self._thr)[cols]

    def code_rows(self, units: Iterable[Unit]) -> list[list[str]]:
        """Rows ``unit_id, variable, code, evidence`` as
        :meth:`DictionaryCoder.code_rows` gives them: evidence offsets
        relative to the unit text, one row per coding, one row with empty
        variable and code for a unit with no coding."""
        rows = []
        for unit in units:
            decided = self._decide(unit.text)
            if not decided:
                rows.append([unit.id, "", "", ""])
            for v, code, _, ev in decided:
                rows.append([unit.id, v, code, evidence_json(ev)])
        return rows

    def code(self, units: Iterable[Unit]) -> list[Coding]:
        """Code units; evidence offsets are document offsets."""
        out = []
        for unit in units:
            for v, code, p, ev in self._decide(unit.text):
                evidence = tuple(Evidence(e[0], e[1], unit.start + e[2], unit.start + e[3],
                                          e[4] if len(e) > 4 else None) for e in ev)
                out.append(Coding(unit.id, code, v, self.name, self.codebook.version, evidence, _round(p)))
        return out


def _occurrence(feature: str, lemmas: list[str], spans: list[tuple[int, int]]) -> tuple[int, int] | None:
    """Offsets of the first occurrence of a unigram or bigram feature."""
    words = feature.split(" ")
    if len(words) == 1:
        try:
            return spans[lemmas.index(feature)]
        except ValueError:
            return None
    first, second = words
    for i in range(len(lemmas) - 1):
        if lemmas[i] == first and lemmas[i + 1] == second:
            return spans[i][0], spans[i + 1][1]
    return None


def _evidence(text: str, hits: list[tuple[str, int, int]], model: list[tuple]) -> list[tuple]:
    """Evidence tuples: dictionary hits, then model features."""
    ev = [(text[s:e], pattern, s, e) for pattern, s, e in hits]
    ev.extend((text[s:e], pattern, s, e, w) for (s, e), pattern, w in model)
    return ev


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


def _prepared(features: Features, units, labels, groups, codebook) -> tuple[list[Counter], list, list[str]]:
    """Feature counts, label sets and groups of labelled units."""
    units = list(units)
    sets = _label_sets(units, labels, codebook)
    return [features.analyse(u.text).counts for u in units], sets, _group_list(units, groups)


def cross_validate(units: Sequence[Unit], labels: Mapping[str, Iterable[str]],
                   groups: Mapping[str, str] | Sequence[str], codebook: Codebook, *,
                   folds: int = 5, repeats: int = 3, seeds: Sequence[int] = (0, 1, 2),
                   extra: tuple | None = None, extra_weight: float = EXTRA_WEIGHT, **settings) -> pd.DataFrame:
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
    extra = ([], {}, []) if extra is None else (list(extra[0]), *extra[1:])
    if {u.id for u in units} & {u.id for u in extra[0]}:
        raise CodingError("a unit is both in the tested units and in the extra training units")
    ebags, esets, egroups = _prepared(features, *extra, codebook)
    variables = codebook.variable_ids
    truth = np.array([[v in s for v in variables] for s in sets], dtype=int)
    # the dictionary coder codes a variable exactly when a var:<id> feature is present
    preds = {"dictionary": np.array([["var:" + v in b for v in variables] for b in bags], dtype=int)}
    strata = truth @ (1 << np.arange(len(variables)))
    records = []
    for r, seed in enumerate(seeds[:repeats]):
        split = grouped_folds(group_list, strata, folds, seed)
        for name, kinds in (("learned-words", []), ("learned", options["dictionary"])):
            preds[name] = _predict_folds(
                [_select(b, kinds) for b in bags], sets, group_list,
                ([_select(b, kinds) for b in ebags], esets, egroups), codebook, split, seed,
                {**options, "dictionary": kinds}, extra_weight)
        for name, pred in preds.items():
            for j, v in enumerate(variables):
                records.append({"repeat": r, "variable": v, "coder": name, **_scores(truth[:, j], pred[:, j])})
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
