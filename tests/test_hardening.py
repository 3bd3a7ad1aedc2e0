"""Hardening against bad or hostile input: codebook validation, regexes that
could hang, huge units. Every error is one line naming file, line and item."""

from __future__ import annotations

import pytest
from conftest import TINY_CODEBOOK

from coding.codebook import parse_codebook
from coding.errors import CodingError


def line_of(text, needle):
    """1-based line number of the first line of ``text`` containing ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def error_of(codebook: str) -> str:
    """The one-line message that parsing ``codebook`` raises."""
    with pytest.raises(CodingError) as err:
        parse_codebook(codebook, "cb.yaml")
    text = str(err.value)
    assert "\n" not in text
    return text


def changed(old: str, new: str) -> str:
    assert old in TINY_CODEBOOK
    return TINY_CODEBOOK.replace(old, new, 1)


TRADE = line_of(TINY_CODEBOOK, "- id: trade")
TRADE_PATTERNS = "patterns: [trade, investment, export]"


# ---------------------------------------------------------------- item 1: codebook validation

@pytest.mark.parametrize("value", ["[economic]", "{id: economic}", "5"])
def test_variable_must_be_one_id_given_as_text(value):
    text = error_of(changed("    variable: economic\n    definition: trade",
                            f"    variable: {value}\n    definition: trade"))
    assert text == f"cb.yaml:{TRADE}: trade: 'variable' must be text (one variable id)"


def test_duplicate_key_in_a_code_names_the_key_and_both_lines():
    label = line_of(TINY_CODEBOOK, "label: Trade")
    text = error_of(changed("    label: Trade\n", "    label: Trade\n    label: Commerce\n"))
    assert text == f"cb.yaml:{label + 1}: trade: duplicate key 'label' (lines {label} and {label + 1})"


def test_duplicate_top_level_key_is_refused():
    text = error_of(TINY_CODEBOOK + "name: again\n")
    first = line_of(TINY_CODEBOOK, "name: tiny")
    last = len(TINY_CODEBOOK.splitlines()) + 1
    assert text == f"cb.yaml:{last}: duplicate key 'name' (lines {first} and {last})"


def test_duplicate_key_in_settings_is_refused():
    text = error_of(changed("settings:\n", "settings:\n  mask_patterns: []\n"))
    assert "duplicate key 'mask_patterns'" in text


def test_merge_keys_are_not_duplicates():
    cb = parse_codebook(changed("  - id: trade\n", "  - &t\n    id: trade\n")
                        .replace("  - id: defence\n", "  - <<: *t\n    id: defence\n", 1), "cb.yaml")
    assert cb.code("defence").label == "Defence cooperation"


@pytest.mark.parametrize("pattern", ["--", "...", "'", "cs:--", "\u2014 \u2013"])
def test_punctuation_only_pattern_is_refused(pattern):
    quoted = '"' + pattern + '"'
    text = error_of(changed(TRADE_PATTERNS, f"patterns: [trade, {quoted}]"))
    assert text.startswith(f"cb.yaml:{TRADE}: trade: pattern {pattern!r} has no letter or digit")


def test_punctuation_inside_a_term_and_regex_punctuation_are_fine():
    cb = parse_codebook(changed(TRADE_PATTERNS, "patterns: [trade, \"U.S.\", \"re:\\\\$\\\\d+\"]"), "cb.yaml")
    assert "re:\\$\\d+" in cb.code("trade").patterns


@pytest.mark.parametrize("value", ["5", "true", "[trade]"])
def test_id_that_is_not_text(value):
    text = error_of(changed("  - id: trade\n", f"  - id: {value}\n"))
    assert text.startswith(f"cb.yaml:{TRADE}: ")
    assert "'id' must be text" in text
    assert "without an 'id'" not in text


def test_missing_id_still_reported_as_missing():
    assert "code without an 'id'" in error_of(changed("  - id: trade\n", "  - id:\n"))


def test_duplicate_code_label_is_refused_case_insensitively():
    text = error_of(changed("    label: Trade\n", "    label: '  energy '\n"))
    first = line_of(TINY_CODEBOOK, "- id: energy")
    assert text == f"cb.yaml:{TRADE}: trade: duplicate label 'energy' (code 'energy' at line {first} has it)"


def test_duplicate_variable_label_is_refused():
    text = error_of(changed("    label: Strategic\n", "    label: ECONOMIC\n"))
    line = line_of(TINY_CODEBOOK, "- id: strategic")
    first = line_of(TINY_CODEBOOK, "- id: economic")
    assert text == (f"cb.yaml:{line}: strategic: duplicate label 'ECONOMIC' "
                    f"(variable 'economic' at line {first} has it)")


def test_a_code_may_share_its_label_with_a_variable():
    cb = parse_codebook(changed("    label: Trade\n", "    label: Economic\n"), "cb.yaml")
    assert cb.code("trade").label == "Economic"
