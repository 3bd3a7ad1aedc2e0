"""The mention coder's features computed for a batch of units at once are
exactly those of the one-unit extractor that training uses. Every text here
is invented for the tests."""

from __future__ import annotations

import random

import numpy as np
import pytest

from coding.codebook import parse_codebook
from coding.coders.mention_design import design
from coding.coders.mention_features import CompiledFeatures, Extractor

CODEBOOK = """
name: invented
description: a codebook for the feature tests
variables:
  - {id: economic, label: Economic}
  - {id: strategic, label: Strategic}
codes:
  - id: energy
    label: Energy
    variable: economic
    patterns: [gas, pipeline]
  - id: talks
    label: Talks
    variable: strategic
    patterns: [summit]
    context_patterns: [met, visit]
"""

PIECES = ["The cook did not light the gas.", "Officials can't agree on the pipeline!", "A summit in Quell",
          "Ministers met in Moscow and Islamabad.", "They will visit the site.", "Gas", "First things first.",
          "It was the last and only short heading", "Prices rose 3rd time in 2024.", "Garçon, une café!",
          "Газопровод и поставки газа обсуждались.", "Don't worry", "The oneline word"]


@pytest.fixture(scope="module")
def texts():
    rng = random.Random(3)
    out = [" ".join(rng.choice(PIECES) for _ in range(rng.randint(1, 4))) for _ in range(200)]
    return out + PIECES + [" ", "\n\nGas pipeline.\n", "x"]


def test_a_batch_has_exactly_the_extractors_features(texts):
    cb = parse_codebook(CODEBOOK, "invented.yaml")
    ex = Extractor(cb)
    d = design(ex, texts)
    # every feature seen, in a shuffled order, and one the texts never give
    vocabulary = [*d.columns, "u:nowhere"]
    random.Random(1).shuffle(vocabulary)
    batch = CompiledFeatures(ex, vocabulary).batch(texts)
    col = {f: j for j, f in enumerate(vocabulary)}
    assert batch.offsets[-1] == batch.sentences.shape[0] == sum(len(c.spans) for c in d.candidates)
    for u, cand in enumerate(d.candidates):
        assert batch.spans[u] == cand.spans and batch.hits[u] == cand.hits
        assert bool(batch.short[u]) == cand.short and bool(batch.english[u]) == cand.english
        assert set(batch.units[u].indices) == {col[f] for f in cand.unit}
        for i, features in enumerate(cand.features):
            row = batch.sentences[batch.offsets[u] + i]
            assert set(row.indices) == {col[f] for f in features}, (texts[u], i)
            assert (row.data == 1).all()
    assert {"ctx:talks", "neg+hit:energy", "actor:both", "heading", "oneline", "short", "first"} <= set(d.columns)


def test_features_outside_the_vocabulary_are_not_made(texts):
    cb = parse_codebook(CODEBOOK, "invented.yaml")
    ex = Extractor(cb)
    batch = CompiledFeatures(ex, ["gas", "hit:energy", "the cook"]).batch(texts[:50])
    assert batch.sentences.shape[1] == 3 and batch.units.nnz == 0
    cook = [i for i, t in enumerate(texts[:50]) if "The cook" in t]
    assert cook and all(np.asarray(batch.sentences[batch.offsets[u]:batch.offsets[u + 1]].sum(axis=0))[0, 2] >= 1
                        for u in cook)


def test_a_batchs_english_test_is_the_texts_own():
    """The batch counts the English test's words over its cached tokens; a
    text with a token outside ASCII is tested whole: either way the verdict
    is :func:`is_english`'s."""
    from coding.coders.language_id import is_english

    rng = random.Random(5)
    # typographic quotes, dashes and apostrophes are no letters: such a text is judged from its tokens too
    vocab = ["the", "THE", "gas", "Ceci", "est", "une", "3rd", "2024", "x9y", "B52s", "rue", "de", "la", "pour", "dans",
             "don\u2019t", "\u2018gas\u2019", "\u201cgas\u201d", "\u2014", "c\u02bcest", "caf\u00e9",
             "\u0433\u0430\u0437"]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 30))) + rng.choice(["", ".", " 7"])
             for _ in range(400)]
    features = CompiledFeatures(Extractor(parse_codebook(CODEBOOK, "invented.yaml")), ["gas"])
    want = [is_english(t) for t in texts]
    assert features.batch(texts).english.tolist() == want
    assert set(want) == {True, False}  # the draws reach both verdicts
