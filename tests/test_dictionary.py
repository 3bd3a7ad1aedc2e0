"""The automatic coder: lemma-aware terms, hyphens, regexes, masks, exclusions, evidence."""

from __future__ import annotations

from conftest import TINY_CODEBOOK

from coding.codebook import parse_codebook
from coding.coders.dictionary import DictionaryCoder
from coding.corpus import Document
from coding.language import term_variants
from coding.segment import segment


def coder():
    return DictionaryCoder(parse_codebook(TINY_CODEBOOK, "cb.yaml"))


def test_inflections_are_matched():
    c = coder()
    assert c.code_text("Three pipelines were built") == ["energy"]
    assert c.code_text("MILITANTS attacked") == ["terrorism"]
    assert "pipelines" in term_variants("pipeline")
    assert "exercises" in " ".join(term_variants("joint exercise"))


def test_whole_words_only():
    c = coder()
    assert c.code_text("The gasket and the pipelined build") == []
    assert c.code_text("A trademark dispute") == []


def test_hyphen_and_space_are_interchangeable_and_case_ignored():
    c = coder()
    assert c.code_text("the pak-afghan border") == ["terrorism"]
    assert c.code_text("the Pak Afghan Border") == ["terrorism"]
    assert c.code_text("the Pak–Afghan border") == ["terrorism"]  # en dash


def test_regex_pattern():
    assert coder().code_text("LNG terminals opened") == ["energy"]
    assert coder().code_text("a slng word") == []


def test_citation_alone_codes_nothing():
    c = coder()
    assert c.code_text("As reported (Trade Review, 2019).") == []
    assert c.code_text("Trade rose (Trade Review, 2019).") == ["trade"]


def test_exclude_pattern_removes_overlapping_hit():
    c = coder()
    assert c.code_text("The gas chamber") == []
    assert c.code_text("The gas chamber and gas supply") == ["energy"]


def test_evidence_offsets_are_document_offsets():
    text = "Intro.\n\nGas pipelines and helicopters."
    d = Document("d", "D", "t", "", "", "d.txt", text)
    units = segment(d)
    codings = coder().code(units)
    assert [(c.unit_id, c.code, c.variable) for c in codings] == [
        ("d:p0002", "energy", "economic"), ("d:p0002", "defence", "strategic")]
    for c in codings:
        assert c.coder == "auto" and len(c.codebook_version) == 12
        for e in c.evidence:
            assert text[e.start:e.end] == e.term
    assert [e.term for e in codings[0].evidence] == ["Gas pipelines"] or \
        [e.term for e in codings[0].evidence] == ["Gas", "pipelines"]


def test_longest_hit_wins_within_a_code():
    cb = parse_codebook(TINY_CODEBOOK.replace("patterns: [gas, pipeline,", "patterns: [gas, pipeline, gas pipeline,"))
    m = DictionaryCoder(cb).match("gas pipelines")
    assert [h[0] for h in m[0]] == ["gas pipeline"]


def test_case_sensitive_pattern():
    cb = parse_codebook(TINY_CODEBOOK.replace("patterns: [trade, investment, export]",
                                              "patterns: [trade, 'cs:US']"))
    c = DictionaryCoder(cb)
    assert c.code_text("The US imposed") == ["trade"]
    assert c.code_text("They told us") == []


def test_context_patterns_count_only_beside_a_pattern():
    cb = parse_codebook(TINY_CODEBOOK.replace(
        "patterns: [joint exercise, defence agreement, nuclear weapon, helicopter]",
        "patterns: [joint exercise, defence agreement, nuclear weapon, helicopter]\n"
        "    context_patterns: [ambassador, defence ministry]"))
    c = DictionaryCoder(cb)
    assert c.code_text("The ambassador attended a film festival.") == []
    assert c.code_text("The ambassador signed a defence agreement.") == ["defence"]
    hits = c.match("The ambassador signed a defence agreement.")[2]
    assert [h[0] for h in hits] == ["ambassador", "defence agreement"]
    # the same pass says apart what it found but does not code with: context patterns alone
    kept, context = c.match_with_context("The ambassador attended a film festival.")
    assert kept == {} and [h[0] for hits in context.values() for h in hits] == ["ambassador"]
    kept, context = c.match_with_context("The ambassador signed a defence agreement.")
    assert context == {} and kept == c.match("The ambassador signed a defence agreement.")
    # masks apply to context hits too: a citation names nobody
    assert c.match_with_context("A film (the ambassador, 2019) was shown.") == ({}, {})


def test_a_pattern_cannot_also_be_a_context_pattern():
    import pytest

    from coding.errors import CodingError

    with pytest.raises(CodingError, match="both 'patterns' and 'context_patterns'"):
        parse_codebook(TINY_CODEBOOK.replace(
            "patterns: [trade, investment, export]", "patterns: [trade, investment, export]\n"
            "    context_patterns: [trade]"))
