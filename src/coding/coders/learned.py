"""The learned coder: codes units with a trained model, with evidence.

A unit gets a variable when the variable's classifier reaches its
threshold and there is evidence; every coding carries the dictionary hits
behind it and the model's strongest word features present in the unit,
and a probability. Trained by :mod:`coding.coders.learn`, stored by
:mod:`coding.coders.learned_model`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import numpy as np

from coding.codebook import Codebook
from coding.coders.dictionary import matcher_version
from coding.coders.learned_features import _DICT_PREFIXES, _TOKEN, Analysis, Features
from coding.coders.learned_model import Model, _model_arrays, _round, model_hash
from coding.errors import CodingError
from coding.language import fold
from coding.records import LEARNED, Coding, Evidence, Unit, evidence_json

#: Model features named in the evidence of one coding.
EVIDENCE_FEATURES = 3


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
        return f"{self._hash[:12]}+m{matcher_version()}"

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
        out: list[tuple] = []
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
        out: list[tuple[str, str, float, list[tuple]]] = []
        spans = None
        for v in self._variables:
            k = self._target[v]
            if p[k] < self._thr[k]:
                continue
            if spans is None:
                spans = [m.span() for m in _TOKEN.finditer(fold(text))]
            out.extend(self._variable_codings(text, v, a, p, spans, (rows, x, norm)))
        return out

    def _variable_codings(self, text: str, v: str, a: Analysis, p: np.ndarray, spans: list[tuple[int, int]],
                          scored: tuple[np.ndarray, np.ndarray, float]) -> list[tuple[str, str, float, list[tuple]]]:
        """The codings of variable ``v``, whose probability reached its
        threshold: its codes whose classifier fires or that the dictionary
        gives, else the variable alone; none without evidence. ``scored``:
        the rows, values and norm of :meth:`_score`."""
        k = self._target[v]
        ev_model = self._model_evidence(k, a.lemmas, spans, *scored)
        coded = []
        for code in self._codes[v]:
            kc = self._target.get(code)
            if kc is not None and p[kc] >= self._thr[kc]:
                own, probability = self._model_evidence(kc, a.lemmas, spans, *scored), p[kc]
            elif code in a.hits:
                own, probability = ev_model, p[k]
            else:
                continue
            ev = _evidence(text, self._hit_evidence(a, [code]), own)
            if ev:
                coded.append((v, code, float(probability), ev))
        if not coded:
            ev = _evidence(text, self._hit_evidence(a, self._codes[v]), ev_model)
            if ev:  # no evidence, no coding
                coded.append((v, "", float(p[k]), ev))
        return coded

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
    ev: list[tuple] = [(text[s:e], pattern, s, e) for pattern, s, e in hits]
    ev.extend((text[s:e], pattern, s, e, w) for (s, e), pattern, w in model)
    return ev
