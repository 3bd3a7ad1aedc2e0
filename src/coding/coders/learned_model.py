"""The learned coder's model: what a training run makes, and its file.

:class:`Model` holds one logistic regression (:class:`TargetModel`) per
variable and, at level "code", per code, over the model's vocabulary. The
file is plain JSON (never pickle) with its own SHA-256, written with sorted
keys and floats rounded to 6 significant digits, so that the same data give
a byte-identical file: :func:`save_model`, :func:`load_model`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from coding.codebook import Codebook
from coding.coders.learned_features import _matrix
from coding.errors import CodingError
from coding.records import StrPath

FORMAT = "coding-learned-model"
FORMAT_VERSION = 1
LEVELS = ("variable", "code")


def _round(x: float) -> float:
    """6 significant digits: the precision kept in a model file."""
    return float(f"{float(x):.6g}")

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
