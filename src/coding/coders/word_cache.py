"""Rows of numbers per word, read for many words at once through a cache.

Both readers of a batch's words in the mention coder (the embedder's token
ids, the features' word forms) do per word some work in Python that gives
the same answer every time the word comes back. :class:`WordCache` does it
once per word and keeps the rows in flat arrays, so that a batch's words are
turned into rows by one dictionary lookup per word and array indexing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any

import numpy as np


class WordCache:
    """Per word, the rows ``encode`` gives it (any number, each ``width``
    integers; with ``width`` 1, plain integers), kept for up to ``limit``
    words; past that the cache starts afresh with the batch's words, so
    memory stays flat on any corpus. Safe to share between threads; a
    pickled copy starts empty."""

    def __init__(self, encode: Callable[[list[str]], Sequence[Sequence[Any]]], width: int,
                 limit: int = 100_000):
        self._encode = encode
        self.width = width
        self.limit = limit
        self._lock = threading.Lock()
        self._forget()

    def _forget(self) -> None:
        # word -> its number; per number, where its rows start in _rows and how many
        self._index: dict[str, int] = {}
        self._starts = np.zeros(0, dtype=np.intp)
        self._lens = np.zeros(0, dtype=np.intp)
        self._rows = np.zeros((0, self.width), dtype=np.int64)

    def __getstate__(self) -> dict:
        # a copy sent to another process (Dask's workers) starts empty: a lock does not pickle,
        # and the words are cheaper to learn there than to send
        return {"encode": self._encode, "width": self.width, "limit": self.limit}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["encode"], state["width"], state["limit"])  # type: ignore[misc]

    def __len__(self) -> int:
        return len(self._index)

    def rows(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(the words' rows end to end, rows x ``width``; how many rows each word has)."""
        with self._lock:
            numbers = self._numbers(words)
            new = np.flatnonzero(numbers < 0)
            if len(new):
                self._learn({words[i] for i in new.tolist()}, words)
                numbers = self._numbers(words)
            starts, lens, rows = self._starts[numbers], self._lens[numbers], self._rows
        # position of each word's k-th row in _rows: its start plus k
        before = np.cumsum(lens) - lens
        return rows[np.arange(int(lens.sum())) + np.repeat(starts - before, lens)], lens

    def _numbers(self, words: Sequence[str]) -> np.ndarray:
        # -1 for a word not (yet) in the cache
        return np.fromiter(map(self._index.get, words, repeat(-1)), np.intp, len(words))

    def _learn(self, new: set[str], words: Sequence[str]) -> None:
        if len(self._index) + len(new) > self.limit:
            self._forget()
            new = set(words)
        new_words = sorted(new)
        encoded = self._encode(new_words)
        self._index.update(zip(new_words, range(len(self._index), len(self._index) + len(new_words))))
        lens = np.fromiter(map(len, encoded), np.intp, len(encoded))
        flat = np.array([r for rows in encoded for r in rows], dtype=np.int64).reshape(-1, self.width)
        self._starts = np.concatenate((self._starts, len(self._rows) + np.cumsum(lens) - lens))
        self._lens = np.concatenate((self._lens, lens))
        self._rows = np.concatenate((self._rows, flat))
