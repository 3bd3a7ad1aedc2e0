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
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from coding.codebook import Codebook
from coding.coders.embedding import EMBEDDER, embed, embedder_version, one_thread
from coding.errors import CodingError

#: Prefix of the similarity columns in a model's vocabulary.
PREFIX = "sim:"


def code_texts(codebook: Codebook, codes: Sequence[str]) -> list[str]:
    """Per code: its label, definition and include note, as the codebook words them."""
    out = []
    for code in codes:
        c = codebook.code(code)
        out.append(" ".join(x for x in (c.label, c.definition, c.include) if x))
    return out


class Meaning:
    """Similarity of sentences to the codes ``codes`` of ``codebook``;
    with ``mean`` and ``sd`` (one per code) the similarities are standardised."""

    def __init__(self, codebook: Codebook, codes: Sequence[str], mean=None, sd=None):
        self.codes = tuple(codes)
        self._codes = embed(code_texts(codebook, codes))
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.sd = None if sd is None else np.asarray(sd, dtype=np.float64)

    @property
    def columns(self) -> list[str]:
        """The names of the similarity columns."""
        return [PREFIX + c for c in self.codes]

    def raw(self, sentences: Sequence[str]) -> np.ndarray:
        """Sentences x codes: cosine similarity of each sentence to each code's text."""
        if not len(sentences):
            return np.zeros((0, len(self.codes)))
        with one_thread():
            return embed(sentences) @ self._codes.T

    def standardised(self, raw: np.ndarray) -> np.ndarray:
        """``raw`` similarities on the training sentences' scale."""
        if self.mean is None or self.sd is None:
            raise CodingError("the similarity features have no scale: the model was not trained with them")
        return (raw - self.mean) / self.sd

    def settings(self) -> dict:
        """What a model file keeps of this (JSON): the codes, the scale and the embedder's version."""
        if self.mean is None or self.sd is None:
            raise CodingError("the similarity features have no scale yet: fit it on training sentences")
        return {"codes": list(self.codes), "mean": self.mean.tolist(), "sd": self.sd.tolist(),
                "embedder": f"{EMBEDDER} {embedder_version()}"}

    @classmethod
    def from_settings(cls, codebook: Codebook, settings: dict) -> Meaning:
        """The :class:`Meaning` a model file describes; a model made with
        another version of the embedder is refused (its similarities would differ)."""
        want = settings.get("embedder", "")
        have = f"{EMBEDDER} {embedder_version()}"
        if want != have:
            raise CodingError(f"the mention model was trained with {want or 'an unknown embedder'}, "
                              f"this installation has {have}: install that version or train the model again")
        return cls(codebook, settings["codes"], settings["mean"], settings["sd"])


def fit_scale(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread (never zero) of training similarities, per column."""
    return raw.mean(axis=0), raw.std(axis=0) + 1e-9
