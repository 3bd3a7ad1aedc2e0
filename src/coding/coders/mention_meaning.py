"""Meaning beyond the word list for the mention coder: how close each
sentence comes to each code's own text in the codebook.

A sentence and a code's label, definition and include note are embedded by
``wordllama`` (static word embeddings whose weights ship inside its wheel;
loaded from the package's files with downloads off, so nothing is fetched
at run time), and their cosine similarity is one feature per code
(``sim:<code>``), standardised by the mean and spread of the training
sentences. The words of a sentence say which terms it uses; the similarity
says how near it comes to what the code is about, in words the codebook
may not list.

A model may also read the whole unit's similarity to each code
(``usim:<code>``, the same on each of its sentences): the unit's embedding
is the sum of its sentences' token vectors, so it costs no second pass of
the embedder.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from coding.codebook import Codebook
from coding.coders.embedding import EMBEDDER, embed, embed_with_groups, embedder_version, one_thread
from coding.errors import CodingError

#: Prefix of the similarity columns in a model's vocabulary.
PREFIX = "sim:"
#: Prefix of the whole unit's similarity columns.
UNIT_PREFIX = "usim:"


def code_texts(codebook: Codebook, codes: Sequence[str]) -> list[str]:
    """Per code: its label, definition and include note, as the codebook words them."""
    out = []
    for code in codes:
        c = codebook.code(code)
        out.append(" ".join(x for x in (c.label, c.definition, c.include) if x))
    return out


class Meaning:
    """Similarity of sentences to the codes ``codes`` of ``codebook``, and
    with ``unit`` their units' too; with ``mean`` and ``sd`` (one per column)
    the similarities are standardised."""

    def __init__(self, codebook: Codebook, codes: Sequence[str], mean=None, sd=None, unit: bool = False):
        self.codes = tuple(codes)
        self.unit = unit
        self._codes = embed(code_texts(codebook, codes))
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.sd = None if sd is None else np.asarray(sd, dtype=np.float64)

    @property
    def columns(self) -> list[str]:
        """The names of the similarity columns: the sentence's, then (with ``unit``) its unit's."""
        return [PREFIX + c for c in self.codes] + ([UNIT_PREFIX + c for c in self.codes] if self.unit else [])

    def raw(self, sentences: Sequence[str], offsets: Sequence[int] | None = None) -> np.ndarray:
        """Sentences x columns: cosine similarity of each sentence to each
        code's text, and with ``unit`` its unit's (``offsets[i]:offsets[i + 1]``
        are the sentences of unit i)."""
        if not len(sentences):
            return np.zeros((0, len(self.columns)))
        if not self.unit:
            with one_thread():
                return embed(sentences) @ self._codes.T
        if offsets is None:
            raise CodingError("the unit similarities need the units' sentences: give their offsets")
        sentence, unit = embed_with_groups(sentences, offsets)
        with one_thread():
            per_unit = (unit @ self._codes.T)[np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))]
            return np.hstack([sentence @ self._codes.T, per_unit])

    def standardised(self, raw: np.ndarray) -> np.ndarray:
        """``raw`` similarities on the training sentences' scale. A text
        without tokens (an empty unit) has no embedding and so no similarity
        (NaN): it gets 0, the training sentences' mean, which says nothing
        for or against a code."""
        if self.mean is None or self.sd is None:
            raise CodingError("the similarity features have no scale: the model was not trained with them")
        return np.nan_to_num((raw - self.mean) / self.sd, nan=0.0)

    def settings(self) -> dict:
        """What a model file keeps of this (JSON): the codes, the scale and the embedder's version."""
        if self.mean is None or self.sd is None:
            raise CodingError("the similarity features have no scale yet: fit it on training sentences")
        out = {"codes": list(self.codes), "mean": self.mean.tolist(), "sd": self.sd.tolist(),
               "embedder": f"{EMBEDDER} {embedder_version()}"}
        if self.unit:
            out["unit"] = True
        return out

    @classmethod
    def from_settings(cls, codebook: Codebook, settings: dict) -> Meaning:
        """The :class:`Meaning` a model file describes; a model made with
        another version of the embedder is refused (its similarities would differ)."""
        want = settings.get("embedder", "")
        have = f"{EMBEDDER} {embedder_version()}"
        if want != have:
            raise CodingError(f"the mention model was trained with {want or 'an unknown embedder'}, "
                              f"this installation has {have}: install that version or train the model again")
        return cls(codebook, settings["codes"], settings["mean"], settings["sd"], bool(settings.get("unit")))


def fit_scale(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread (never zero) of training similarities, per column."""
    return raw.mean(axis=0), raw.std(axis=0) + 1e-9
