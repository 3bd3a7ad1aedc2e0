"""Static word embeddings for the mention coder, from ``wordllama``: its
weights ship inside its wheel and are loaded from the package's files with
downloads off, so nothing is fetched at run time.

:func:`embed` gives the embedder's own sentence embeddings bit for bit, but
reads each word's token ids from a cache (:class:`WordTokens`) instead of
running the tokenizer over every sentence: most of the cost of the
embeddings was the tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from coding.coders.word_cache import WordCache

#: The embedding model: its package, and the version whose weights a model was trained with.
EMBEDDER = "wordllama"


@lru_cache(maxsize=2)
def embedder(dims: int | None = None):
    """The wordllama model, from the files inside its package, never a
    download (``dims``: its embeddings cut to that many dimensions)."""
    import wordllama
    from wordllama import WordLlama

    # load() alone looks for its tokenizer in a cache folder and would fetch it; the wheel has
    # weights/ and tokenizers/ beside its code: point the cache there
    return WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True, trunc_dim=dims)


def embedder_version() -> str:
    """The installed version of the embedding package."""
    from importlib.metadata import version

    return version(EMBEDDER)


def one_thread():
    """A context in which matrix products run on one thread: for products
    of a batch's few thousand rows, BLAS threads spend more CPU waiting for
    work than they save (half the coder's CPU time on two cores)."""
    return _thread_pools().limit(limits=1, user_api="blas")


@lru_cache(maxsize=1)
def _thread_pools():
    # the libraries with thread pools, found once: finding them reads the process's memory map
    # (about a millisecond, twice a batch: most of the cost of a batch of one short unit)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class WordTokens:
    """Texts' token ids from the embedder's tokenizer, read word by word
    through a cache, so that a word met again costs one lookup.

    The tokenizer writes each space as the word-start mark and runs its
    merges over the whole text; no token holds that mark after another
    character, so no merge crosses a word boundary and a text's ids are its
    words' ids, each word tokenized alone. Texts where that reading could
    differ (a space at either end or doubled, the mark itself, the
    tokenizer's special tokens) are tokenized whole; a test checks both
    readings against the tokenizer on many texts.
    """

    _SPECIAL = ("<s>", "</s>", "<unk>")

    def __init__(self, tokenizer, limit: int = 100_000):
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_str(tokenizer.to_str())
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        # each word's ids, up to ``limit`` words (then the cache starts afresh: memory stays flat)
        self._cache = WordCache(self._encode, width=1, limit=limit)

    @classmethod
    def _whole(cls, text: str) -> bool:
        # an empty word (a space at either end or doubled), the mark itself (a word ending in it
        # lets a merge cross into the next word), a special token (matched before the words)
        return (not text or text[0] == " " or text[-1] == " " or "  " in text or "\u2581" in text
                or ("<" in text and any(s in text for s in cls._SPECIAL)))

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Per text, its token ids (no special tokens)."""
        flat, counts = self.flat(texts)
        return [row.tolist() for row in np.split(flat, np.cumsum(counts)[:-1])] if len(texts) else []

    def flat(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The texts' token ids end to end, and how many each text has."""
        whole = np.fromiter(map(self._whole, texts), bool, len(texts))
        split = [t for t, w in zip(texts, whole) if not w]
        ids, counts = self._split_ids(split)
        if not whole.any():
            return ids, counts
        rest = self._encode([t for t, w in zip(texts, whole) if w])
        all_counts = np.zeros(len(texts), dtype=np.intp)
        all_counts[~whole] = counts
        all_counts[whole] = [len(x) for x in rest]
        out = np.empty(int(all_counts.sum()), dtype=np.intp)
        in_split = np.repeat(~whole, all_counts)
        out[in_split] = ids
        out[~in_split] = [x for row in rest for x in row]
        return out, all_counts

    def _split_ids(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        # texts with single spaces only: their words' ids, through the cache
        if not texts:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
        words = " ".join(texts).split(" ")
        per_text = np.fromiter((t.count(" ") + 1 for t in texts), np.intp, len(texts))
        ids, lens = self._cache.rows(words)
        return ids[:, 0].astype(np.intp), np.add.reduceat(lens, np.cumsum(per_text) - per_text)

    def _encode(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)] if texts else []


@lru_cache(maxsize=1)
def _word_tokens() -> WordTokens:
    return WordTokens(embedder().tokenizer)


#: Token vectors gathered at once (16 MB at 256 float32 dimensions): a batch of
#: long sentences, or one very long text, never needs more memory than that.
BLOCK = 1 << 14


def embed(texts: Sequence[str], chunk: int = 1024) -> np.ndarray:
    """Texts x dimensions: unit-length embeddings (float64), as the
    embedder's own ``embed(texts, norm=True)`` gives them to the bit: the
    float32 mean of the tokens' vectors, summed in token order, then
    divided by its norm (the tokens come through :class:`WordTokens`)."""
    if not len(texts):
        return np.zeros((0, 0))
    return _unit_length(_means(texts, chunk)[0])


def embed_with_groups(texts: Sequence[str], offsets: Sequence[int],
                      chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(texts x dimensions, groups x dimensions): the texts' embeddings as
    :func:`embed` gives them, and those of the groups of consecutive texts
    ``offsets[g]:offsets[g + 1]`` (a unit's sentences): the unit-length sum
    of all their tokens' vectors, made from each text's float32 mean times
    its number of tokens, so a unit is not tokenized twice. Every group
    holds at least one text."""
    bounds = np.asarray(offsets, dtype=np.intp)
    if np.any(np.diff(bounds) < 1) or (len(bounds) and (bounds[0] != 0 or bounds[-1] != len(texts))):
        raise ValueError("every group needs at least one text, and the groups must cover the texts")
    if not len(texts):
        return np.zeros((0, 0)), np.zeros((0, 0))
    means, counts = _means(texts, chunk)
    sums = np.add.reduceat(means * counts[:, None].astype(np.float32), bounds[:-1], axis=0)
    return _unit_length(means), _unit_length(sums)


def _unit_length(vectors: np.ndarray) -> np.ndarray:
    """float32 rows divided by their norms, as float64 (a row of zeros, a text without tokens, gives NaN)."""
    with np.errstate(invalid="ignore"):
        vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float64)


def _means(texts: Sequence[str], chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """(texts x dimensions float32 mean of the tokens' vectors, tokens per text)."""
    vectors = embedder().embedding
    out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
    all_counts = np.zeros(len(texts), dtype=np.intp)
    for i in range(0, len(texts), chunk):
        ids, counts = _word_tokens().flat(texts[i:i + chunk])
        all_counts[i:i + len(counts)] = counts
        starts = np.cumsum(counts) - counts
        # texts of equal length together: a sum along an axis of a 3-d array adds in token order
        for n in np.unique(counts[counts > 0]).tolist():
            group = i + np.flatnonzero(counts == n)
            if n > BLOCK:
                for j in group:
                    out[j] = _long_sum(vectors, ids[starts[j - i]:starts[j - i] + n]) / np.float32(n)
                continue
            step = BLOCK // n
            for g in range(0, len(group), step):
                rows = group[g:g + step]
                out[rows] = np.sum(vectors[ids[starts[rows - i, None] + np.arange(n)]], axis=1,
                                   dtype=np.float32) / np.float32(n)
    return out, all_counts


def _long_sum(vectors: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The vectors of ``ids`` summed in order, :data:`BLOCK` at a time: each
    block's sum starts from the sum so far, so the adding order is unchanged."""
    total = vectors[ids[:BLOCK]].sum(axis=0, dtype=np.float32)
    for a in range(BLOCK, len(ids), BLOCK):
        total = np.vstack([total[None], vectors[ids[a:a + BLOCK]]]).sum(axis=0, dtype=np.float32)
    return total
