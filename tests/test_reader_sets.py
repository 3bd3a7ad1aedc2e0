"""The code-level reader sets of thesis paragraphs (``evaluation/thesis-codes``,
``evaluation/thesis-code-names``): their settled labels are what the
settling rule makes of the three readers' files."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import REPO

from coding.codebook import load_codebook
from coding.coders.mention_labels import named_codes
from coding.corpus import iter_documents
from coding.segment import segment


def _script():
    spec = importlib.util.spec_from_file_location("thesis_readers", REPO / "scripts" / "thesis_readers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus_ids():
    return {u.id for d in iter_documents(REPO / "corpus") for u in segment(d)}


@pytest.mark.parametrize("folder", ["thesis-codes", "thesis-code-names"])
def test_settled_labels_follow_from_the_readers(folder, corpus_ids):
    cb = load_codebook(REPO / "codebook.yaml")
    a, b, c, settled = (named_codes(REPO / "evaluation" / folder / f"{name}.csv", cb, corpus_ids)
                        for name in ("reader-a", "reader-b", "reader-c", "readers"))
    assert set(c) == {u for u in a if a[u] != b[u]}  # the third reader coded exactly the disagreements
    assert settled == _script().settle(a, b, c)


def test_settling_takes_two_of_three_where_a_and_b_differ():
    settle = _script().settle
    a = {"u1": {"trade"}, "u2": {"trade", "energy"}}
    b = {"u1": {"trade"}, "u2": {"energy", "defence"}}
    assert settle(a, b, {"u2": {"defence"}}) == {"u1": {"trade"}, "u2": {"energy", "defence"}}
    with pytest.raises(SystemExit, match="u2"):
        settle(a, b, {})
