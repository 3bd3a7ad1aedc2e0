"""The per-word cache the mention coder's two word readers share."""

from __future__ import annotations

import numpy as np

from coding.coders.word_cache import WordCache


def _rows(word: str) -> list[tuple[int, int]]:
    # a row per letter: its code point and its place in the word; a word may have none
    return [(ord(c), i) for i, c in enumerate(word) if c.isalpha()]


def test_rows_are_the_encoders_and_each_word_is_encoded_once():
    asked: list[str] = []

    def encode(words):
        asked.extend(words)
        return [_rows(w) for w in words]

    cache = WordCache(encode, width=2)
    words = ["gas", "", "42", "gas", "Moscow", "a"]
    for _ in range(2):
        rows, lens = cache.rows(words)
        assert lens.tolist() == [len(_rows(w)) for w in words]
        assert rows.tolist() == [list(r) for w in words for r in _rows(w)]
    assert sorted(asked) == sorted(set(words))  # the second batch came from the cache
    rows, lens = cache.rows([])
    assert rows.shape == (0, 2) and lens.shape == (0,)


def test_past_its_limit_the_cache_starts_afresh_and_stays_right():
    cache = WordCache(lambda words: [[len(w)] * len(w) for w in words], width=1, limit=5)
    for start in range(0, 40, 3):
        words = [f"w{'x' * k}" for k in range(start, start + 4)] + ["w"]
        rows, lens = cache.rows(words)
        assert len(cache) <= 5
        assert lens.tolist() == [len(w) for w in words]
        assert np.array_equal(rows[:, 0], np.repeat(lens, lens))


def test_a_pickled_cache_starts_empty_and_reads_alike():
    """A copy sent to another process (Dask's workers) carries no words and no lock."""
    import pickle

    cache = WordCache(_encode_rows, width=2)
    words = ["gas", "Moscow", "gas"]
    rows, lens = cache.rows(words)
    copy = pickle.loads(pickle.dumps(cache))
    assert len(copy) == 0 and len(cache) == 2
    got, got_lens = copy.rows(words)
    assert np.array_equal(got, rows) and np.array_equal(got_lens, lens) and len(copy) == 2


def _encode_rows(words):
    return [_rows(w) for w in words]
