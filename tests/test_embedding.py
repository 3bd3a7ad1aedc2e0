"""The mention coder's embeddings: read through the word cache, they are the
embedder's own, bit for bit, whatever the text."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coding.coders.embedding import WordTokens, embed, embedder

# pieces that stress the word reading: spaces (single, doubled, at the ends), the word-start
# mark itself, other white space, the tokenizer's special tokens, bytes outside its vocabulary
PIECES = ["a", "e", "the", "ing", "Pakistan", "'", "’", ".", ",", "-", "0", "12", "é", "Ру", "اردو", "😀",
          " ", " ", " ", "  ", "\u2581", "\n", "\t", "\u00a0", "\u3000", "\r", "<", ">", "/", "s",
          "<s>", "</s>", "<unk>", "unk"]
TEXTS = st.lists(st.sampled_from(PIECES), max_size=25).map("".join)


def _tokenizer_ids(texts):
    """The ids the embedder's own tokenizer gives, padding dropped."""
    return [[i for i, m in zip(e.ids, e.attention_mask) if m] for e in embedder().tokenize(list(texts))]


def test_the_tokenizer_never_merges_across_a_word_start():
    """What the word-by-word reading rests on: no token of the vocabulary
    holds the word-start mark after another character."""
    vocab = json.loads(embedder().tokenizer.to_str())["model"]["vocab"]
    assert len(vocab) > 1000
    assert not [t for t in vocab if re.search("[^\u2581]\u2581", t)]


@pytest.fixture(scope="module")
def word_tokens():
    """One cache for many examples: words met before come from it."""
    return WordTokens(embedder().tokenizer)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(TEXTS, min_size=1, max_size=8))
def test_word_tokens_are_the_tokenizers_ids(word_tokens, texts):
    """Read word by word through the cache, a text's token ids are the
    ones the tokenizer gives it whole."""
    assert word_tokens.ids(texts) == _tokenizer_ids(texts)


def test_the_cache_starts_afresh_past_its_limit_and_stays_right():
    """Past its limit the cache forgets its words and learns the batch's;
    ids stay the tokenizer's, from one thread or many."""
    words = [f"w{i}x" for i in range(400)]
    texts = [" ".join(words[i:i + 7]) for i in range(0, 400, 3)]
    tokens = WordTokens(embedder().tokenizer, limit=50)
    want = _tokenizer_ids(texts)
    assert [tokens.ids(texts[i:i + 4]) for i in range(0, len(texts), 4)] == \
        [want[i:i + 4] for i in range(0, len(texts), 4)]
    assert len(tokens._cache) <= 50
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda i: tokens.ids(texts[i:i + 4]), range(0, len(texts), 4)))
    assert [x for batch in got for x in batch] == want


def test_embeddings_are_the_embedders_own_bit_for_bit():
    """Sentences, paragraphs and odd texts: the same float32 numbers as
    the embedder's ``embed(norm=True)``, within and across chunks."""
    texts = ["Pakistan and Russia signed an agreement on the Pakistan Stream gas pipeline.",
             "The two ministers met in Moscow  to discuss  regional security.",
             " Leading space", "trailing space ", "tab\tand\nnewline", "A word\u2581mark here",
             "<s> and </s> and <unk>", "Урду اردو 😀", "x" * 300, "a", "",
             # long enough that an adding order other than the tokens' would show
             " ".join(["Officials from both capitals described the talks on energy, defence and the",
                       "stability of the region as frank, while traders in Karachi and Astrakhan waited",
                       "to see whether the barter arrangement for wheat, cotton and refined oil would"] * 3)]
    texts = texts + [" ".join(reversed(t.split(" "))) for t in texts[:8]] * 3
    with np.errstate(all="ignore"):
        want = np.asarray(embedder().embed(texts, norm=True), dtype=np.float64)
        got = embed(texts, chunk=7)
    assert got.dtype == np.float64 and got.shape == want.shape
    assert np.array_equal(got, want, equal_nan=True)  # the empty text has no direction: nan in both
    assert np.isnan(got[texts.index("")]).all() and not np.isnan(got[0]).any()


def test_embedding_nothing_is_an_empty_array():
    assert embed([]).shape == (0, 0)


@pytest.mark.parametrize("text", ["a\u2581 b", "x  y", " z", "<unk>"])
def test_texts_the_word_reading_could_get_wrong_are_tokenized_whole(text):
    """Texts with an empty word, a word ending in the mark or a special
    token go to the tokenizer whole, and get its ids."""
    tokens = WordTokens(embedder().tokenizer)
    assert tokens._whole(text)
    assert tokens.ids([text, "plain words"]) == _tokenizer_ids([text, "plain words"])


@pytest.mark.parametrize("block", [7, 40])
def test_long_texts_are_summed_a_block_at_a_time_in_the_same_order(monkeypatch, block):
    """With few token vectors gathered at a time (many texts of one length,
    and texts longer than a block, summed block by block), the embeddings
    are still the embedder's own."""
    import coding.coders.embedding as embedding

    texts = [" ".join(f"w{i % 97}ord{i % 13}" for i in range(n)) for n in (5, 40, 41, 300)] * 3
    with np.errstate(all="ignore"):
        want = np.asarray(embedder().embed(texts, norm=True), dtype=np.float64)
    monkeypatch.setattr(embedding, "BLOCK", block)
    assert np.array_equal(embed(texts), want)


def test_groups_are_embedded_from_their_texts_token_sums():
    """A group's embedding is the unit-length sum of all its texts' token
    vectors (in float64 here, the sum of the float32 means times their
    counts there): close to embedding the texts joined by a space, which
    tokenizes alike; groups that leave a text out or are empty are refused."""
    from coding.coders.embedding import _word_tokens, embed, embed_with_groups, embedder

    texts = ["Gas flows east.", "The pipeline was signed in Moscow.", "Militants attacked.", "Talks resume."]
    sentence, group = embed_with_groups(texts, [0, 2, 3, 4])
    assert np.array_equal(sentence, embed(texts))
    vectors = embedder().embedding.astype(np.float64)
    for g, (a, e) in enumerate([(0, 2), (2, 3), (3, 4)]):
        ids, _ = _word_tokens().flat(texts[a:e])
        want = vectors[ids].sum(axis=0)
        assert np.allclose(group[g], want / np.linalg.norm(want), atol=1e-6)
        assert np.allclose(group[g], embed([" ".join(texts[a:e])])[0], atol=1e-6)
    with pytest.raises(ValueError, match="at least one text"):
        embed_with_groups(texts, [0, 2, 2, 4])
    with pytest.raises(ValueError, match="cover"):
        embed_with_groups(texts, [0, 2, 3])


def test_one_thread_limits_blas_while_it_lasts_and_restores_it():
    """The coder's matrix products run on one BLAS thread; after them BLAS
    has its own number again, and the limit can be taken again and again
    (the thread pools are found once)."""
    from threadpoolctl import threadpool_info

    from coding.coders.embedding import one_thread

    np.ones((4, 4)) @ np.ones((4, 4))  # BLAS loaded

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    assert before
    for _ in range(3):
        with one_thread():
            assert blas_threads() == [1] * len(before)
        assert blas_threads() == before
