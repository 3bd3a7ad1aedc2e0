"""The mention coder: each sentence read as a candidate mention of each code.

Readers code a unit when it explicitly refers to a dimension, even briefly:
they decide at the level of the mention, not of what a paragraph is mostly
about. This coder does the same. Its candidates are the unit's sentences
(every dictionary hit lies in one, and a sentence without a hit can still
mention a code); each is scored for every code in its context by a linear
model, and a code applies to the unit when its best candidate is accepted.
A variable is coded exactly when one of its codes is, so the two levels never
contradict each other.

Features of a candidate
    binary features of the sentence, its neighbours and its unit (words,
    dictionary hits, negation and modality, actors, position), listed in
    :mod:`coding.coders.mention_features`, which makes them; and, for a
    model trained with them, the sentence's similarity to each code's text
    (:mod:`coding.coders.mention_meaning`).

Model
    per code a weight vector and intercept over one shared vocabulary, a
    Platt calibration (``a * score + b``) of the unit's best score, and a
    threshold on the calibrated probability. Trained by
    :mod:`coding.coders.mention_training`. Stored as a compressed ``.npz`` of arrays
    only (vocabulary of features, weights, settings as JSON text): no
    sentence of any training text is kept, and nothing is pickled.

Every coding names its mention: the sentence (pattern ``mention:<code>``,
offsets, weight = the probability) and the code's dictionary hits in it.
A heading or a one-line text is coded only where it has a hit of the code
itself; a unit not in English is not coded and is counted
(:attr:`MentionCoder.not_english`).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import NamedTuple

import numpy as np

from coding.codebook import Codebook
from coding.coders.dictionary import MATCHER_VERSION, evidence_items
from coding.coders.embedding import one_thread
from coding.coders.mention_features import SHORT_WORDS, Batch, Candidates, CompiledFeatures, Extractor, sentences
from coding.errors import CodingError

# the candidates' names stay importable from here
__all__ = ["SHORT_WORDS", "Candidates", "Extractor", "MentionCoder", "MentionModel", "load_model", "model_hash",
           "model_codebook_version", "save_model", "sentences", "shipped_model_path"]
from coding.records import MENTIONS, Coding, Evidence, StrPath, Unit, evidence_json

FORMAT = "coding-mention-model"
FORMAT_VERSION = 1
#: Units scored together: larger batches share the array work, memory grows with them.
BATCH = 500


# --------------------------------------------------------------------------
# the model


@dataclass(frozen=True)
class MentionModel:
    """Weights of the mention coder: ``weights`` is features x codes,
    ``intercepts``, calibration ``scale``/``shift`` and ``thresholds`` one per
    code of ``codes``; ``settings`` and ``training`` describe how it was made."""

    codebook_version: str
    codes: tuple[str, ...]
    vocabulary: tuple[str, ...]
    weights: np.ndarray
    intercepts: np.ndarray
    scale: np.ndarray
    shift: np.ndarray
    thresholds: np.ndarray
    settings: dict
    training: dict
    sha256: str = ""


def model_hash(model: MentionModel) -> str:
    """SHA-256 of the model's contents (arrays and metadata)."""
    h = hashlib.sha256()
    h.update(json.dumps(_meta(model), sort_keys=True).encode("utf-8"))
    h.update("\n".join(model.vocabulary).encode("utf-8"))
    for a in (model.weights, model.intercepts, model.scale, model.shift, model.thresholds):
        h.update(np.ascontiguousarray(a, dtype=np.float32).tobytes())
    return h.hexdigest()


def _meta(model: MentionModel) -> dict:
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "codebook_version": model.codebook_version,
            "codes": list(model.codes), "settings": model.settings, "training": model.training}


def save_model(model: MentionModel, path: StrPath) -> str:
    """Write ``model`` as a compressed .npz of arrays (no pickle); returns its hash."""
    from coding.files import write_bytes

    model = _as_float32(model)
    digest = model_hash(model)
    meta = json.dumps({**_meta(model), "sha256": digest}, sort_keys=True)
    arrays = {"meta": np.array(meta), "vocabulary": np.array("\n".join(model.vocabulary)),
              "weights": model.weights, "intercepts": model.intercepts, "scale": model.scale,
              "shift": model.shift, "thresholds": model.thresholds}
    buf = io.BytesIO()
    # written member by member with a fixed date, so the same model gives the same bytes
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0)), member.getvalue(),
                        compress_type=zipfile.ZIP_DEFLATED)
    write_bytes(path, buf.getvalue())
    return digest


def _as_float32(model: MentionModel) -> MentionModel:
    return replace(model, weights=np.asarray(model.weights, dtype=np.float32),
                   intercepts=np.asarray(model.intercepts, dtype=np.float32),
                   scale=np.asarray(model.scale, dtype=np.float32),
                   shift=np.asarray(model.shift, dtype=np.float32),
                   thresholds=np.asarray(model.thresholds, dtype=np.float32))


def load_model(path: StrPath) -> MentionModel:
    """Read a model written by :func:`save_model`; a damaged or altered file
    is a CodingError."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            vocab = str(npz["vocabulary"])
            arrays = {k: npz[k] for k in ("weights", "intercepts", "scale", "shift", "thresholds")}
    except FileNotFoundError:
        raise CodingError("no model file here (train one first)", path) from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise CodingError(f"not a mention model: {exc}", path) from None
    if meta.get("format") != FORMAT:
        raise CodingError("not a mention model", path)
    model = MentionModel(meta["codebook_version"], tuple(meta["codes"]), tuple(vocab.split("\n")) if vocab else (),
                         settings=meta["settings"], training=meta["training"], **arrays)
    if model_hash(model) != meta.get("sha256"):
        raise CodingError("hash mismatch: the model file was altered or damaged", path)
    return replace(model, sha256=meta["sha256"])


def model_codebook_version(path: StrPath) -> str:
    """The codebook version a model file was made for, read from its
    metadata alone (no weights, no hash check: :func:`load_model` does those
    when the model codes); "" when the file cannot be read as a model."""
    try:
        with np.load(Path(path), allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
        return ""
    return str(meta.get("codebook_version", "")) if isinstance(meta, dict) else ""


def shipped_model_path() -> Path:
    """The mention model that ships inside the package."""
    return Path(str(resources.files("coding") / "models" / "mentions.npz"))


# --------------------------------------------------------------------------
# the coder


class MentionCoder:
    """Codes units with a :class:`MentionModel`.

    >>> coder = MentionCoder(load_model(shipped_model_path()), codebook)
    >>> codings = coder.code(units)

    ``min_probability`` raises every code's threshold to at least that value
    (fewer, surer codings). ``not_english`` counts the units seen that are not
    in English (they get no coding).
    """

    def __init__(self, model: MentionModel, codebook: Codebook, name: str = MENTIONS,
                 min_probability: float = 0.0):
        if model.codebook_version != codebook.version:
            raise CodingError(f"model made for codebook version {model.codebook_version}, the codebook is "
                              f"version {codebook.version}: train the model again")
        known = {c.id for c in codebook.codes}
        if set(model.codes) - known:
            raise CodingError(f"the model knows codes the codebook lacks: {sorted(set(model.codes) - known)}")
        self.model = model
        self.codebook = codebook
        self.name = name
        self.extractor = Extractor(codebook)
        self._features = CompiledFeatures(self.extractor, model.vocabulary)
        self._index = {f: j for j, f in enumerate(model.vocabulary)}
        # one row of zeros after the weights (see scores)
        self._W = np.vstack([np.asarray(model.weights, dtype=np.float64), np.zeros((1, len(model.codes)))])
        self._zero = len(model.vocabulary)
        self._b = np.asarray(model.intercepts, dtype=np.float64)
        self._a = np.asarray(model.scale, dtype=np.float64)
        self._c = np.asarray(model.shift, dtype=np.float64)
        self._thr = np.maximum(np.asarray(model.thresholds, dtype=np.float64), float(min_probability))
        self._variable = {c.id: c.variable for c in codebook.codes}
        self._hash = model.sha256 or model_hash(model)
        self._meaning, self._W_meaning = self._meaning_of(model, codebook)
        self.not_english = 0

    def _meaning_of(self, model: MentionModel, codebook: Codebook):
        """The similarity features of the model, if it has them: the
        :class:`~coding.coders.mention_meaning.Meaning` and their weights
        (one row per similarity column, zero for a column without a weight)."""
        if "meaning" not in model.settings:
            return None, None
        from coding.coders.mention_meaning import Meaning

        meaning = Meaning.from_settings(codebook, model.settings["meaning"])
        rows = [self._index.get(c) for c in meaning.columns]
        W = np.array([self._W[j] if j is not None else np.zeros(len(model.codes)) for j in rows])
        return meaning, W

    def _meaning_scores(self, raw: np.ndarray | None) -> np.ndarray | float:
        """Sentences x codes: what the sentences' ``raw`` similarities to the
        codes add to their scores; 0 for a model without them."""
        if self._meaning is None:
            return 0.0
        if raw is None:
            raise CodingError("this mention model reads the sentences' similarities to the codes: give them")
        with one_thread():
            return self._meaning.standardised(raw) @ self._W_meaning

    #: Column written by ``coding code`` after the evidence.
    output_columns = ("probability",)

    @property
    def version(self) -> str:
        """The model's hash and the matcher's version: a new model recodes."""
        return f"{self._hash[:12]}+m{MATCHER_VERSION}"

    def scores(self, cand: Candidates, raw: np.ndarray | None = None) -> np.ndarray:
        """Sentences x codes raw scores (log-odds before calibration);
        ``raw``: the sentences' similarities to the codes, for a model that reads them."""
        get = self._index.get
        zero = self._zero  # a row of zeros opens every sentence, so that none is empty
        ids: list[int] = []
        starts: list[int] = []
        for fs in cand.features:
            starts.append(len(ids))
            ids.append(zero)
            ids.extend(j for j in map(get, fs) if j is not None)
        unit = [j for j in map(get, cand.unit) if j is not None]
        base = self._b + self._W[unit].sum(axis=0)
        return np.add.reduceat(self._W[ids], starts, axis=0) + base + self._meaning_scores(raw)

    def probabilities_of(self, cand: Candidates, raw: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(calibrated probability per code, best sentence per code) of one unit
        (``raw``: as for :meth:`scores`)."""
        s = self.scores(cand, raw)
        best = s.argmax(axis=0)
        return self._calibrated(s[best, np.arange(s.shape[1])]), best

    def _calibrated(self, top: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of raw best-sentence scores (per code)."""
        return 1.0 / (1.0 + np.exp(-(self._a * top + self._c)))

    def _scored(self, texts: Sequence[str]) -> tuple[Batch, np.ndarray, np.ndarray]:
        """(features, sentences x codes raw scores, units x codes raw scores
        of the best sentences) of a batch of texts."""
        b = self._features.batch(texts)
        per_sentence = np.repeat(np.arange(len(texts)), np.diff(b.offsets))
        s = b.sentences @ self._W[:-1] + (b.units @ self._W[:-1] + self._b)[per_sentence]
        if self._meaning is not None:
            sentences = [t[a:e] for t, spans in zip(texts, b.spans) for a, e in spans]
            s += self._meaning_scores(self._meaning.raw(sentences, b.offsets))
        if not len(texts):
            return b, s, np.empty((0, len(self.model.codes)))
        return b, s, np.maximum.reduceat(s, b.offsets[:-1], axis=0)

    def _decisions(self, texts: Sequence[str]) -> list[list[Decision]]:
        """The accepted codes of each of ``texts``, scored as one batch."""
        b, s, top = self._scored(texts)
        p = self._calibrated(top)
        out: list[list[Decision]] = [[] for _ in texts]
        self.not_english += int((~b.english).sum())
        units, ks = np.nonzero((p >= self._thr) & b.english[:, None])
        if not len(units):
            return out
        best = _best_sentences(s, b.offsets, top)[units, ks]
        codes, short = self.model.codes, b.short.tolist()
        for u, k, i, prob in zip(units.tolist(), ks.tolist(), best.tolist(), p[units, ks].tolist()):
            code = codes[k]
            own = b.hits[u].get(code, ())
            if short[u] and not own:
                continue  # a heading or one-line text: only an explicit mention codes it
            out[u].append(Decision(self._variable[code], code, prob, b.spans[u][i],
                                   [(pattern, hs, he) for pattern, hs, he, j in own if j == i]))
        return out

    def decide(self, text: str) -> list[tuple[str, str, float, list[tuple]]]:
        """(variable, code, probability, evidence) of one text, evidence
        (term, pattern, start, end[, weight]) in offsets of the text."""
        return [(d.variable, d.code, d.probability, d.evidence(text)) for d in self._decisions([text])[0]]

    def _batches(self, units: Iterable[Unit]) -> Iterator[list[Unit]]:
        it = iter(units)
        while batch := list(islice(it, BATCH)):
            yield batch

    def code_probabilities(self, units: Iterable[Unit]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(code ids, units x codes calibrated probabilities, thresholds)."""
        rows = [self._calibrated(self._scored([u.text for u in batch])[2]) for batch in self._batches(units)]
        probs = np.vstack(rows) if rows else np.empty((0, len(self.model.codes)))
        return list(self.model.codes), probs, self._thr.copy()

    def code_rows(self, units: Iterable[Unit]) -> list[list[str]]:
        """Rows ``unit_id, variable, code, evidence, probability`` (offsets
        in the unit text), one row per coding, one row with empty variable,
        code and probability for a unit with no coding."""
        rows = []
        for batch in self._batches(units):
            for unit, decided in zip(batch, self._decisions([u.text for u in batch])):
                if not decided:
                    rows.append([unit.id, "", "", "", ""])
                for d in decided:
                    rows.append([unit.id, d.variable, d.code, d.evidence_json(unit.text), f"{d.probability:.4f}"])
        return rows

    def code(self, units: Iterable[Unit]) -> list[Coding]:
        """Code units; evidence offsets are document offsets."""
        out = []
        for batch in self._batches(units):
            for unit, decided in zip(batch, self._decisions([u.text for u in batch])):
                for d in decided:
                    evidence = tuple(Evidence(t, pat, unit.start + s, unit.start + e, e5[0] if e5 else None)
                                     for t, pat, s, e, *e5 in d.evidence(unit.text))
                    out.append(Coding(unit.id, d.code, d.variable, self.name, self.codebook.version, evidence,
                                      float(f"{d.probability:.6g}")))
        return out


class Decision(NamedTuple):
    """An accepted code of a unit: its probability, the sentence that
    carried it (``mention``, offsets in the unit text) and the code's
    dictionary hits in that sentence, (pattern, start, end)."""

    variable: str
    code: str
    probability: float
    mention: tuple[int, int]
    hits: list[tuple[str, int, int]]

    def evidence(self, text: str) -> list[tuple]:
        """(term, pattern, start, end[, weight]): the mention, weighted by
        its probability, then the hits in it."""
        start, end = self.mention
        return [(text[start:end], "mention:" + self.code, start, end, round(self.probability, 4)),
                *((text[s:e], pattern, s, e) for pattern, s, e in self.hits)]

    def evidence_json(self, text: str) -> str:
        """:func:`coding.records.evidence_json` of :meth:`evidence`, the hits
        written as the dictionary coder writes them (their terms' JSON cached)."""
        start, end = self.mention
        mention = evidence_json([(text[start:end], "mention:" + self.code, start, end, self.probability)])
        return mention[:-1] + ("," + evidence_items(text, self.hits) if self.hits else "") + "]"


def _best_sentences(s: np.ndarray, offsets: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Units x codes: the index in its unit of the first sentence with the
    unit's best score ``top`` for the code (``s``: sentences x codes,
    ``offsets``: each unit's first sentence row, and the total)."""
    per_sentence = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    rows = np.where(s == top[per_sentence], np.arange(len(s))[:, None], len(s))
    return np.minimum.reduceat(rows, offsets[:-1], axis=0) - offsets[:-1, None]
