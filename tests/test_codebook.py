"""Codebook loading: validation errors name file, line and code; the shipped
codebook's examples and counterexamples hold."""

from __future__ import annotations

import pytest
from conftest import REPO, TINY_CODEBOOK

from coding.codebook import load_codebook, parse_codebook
from coding.coders.dictionary import DictionaryCoder
from coding.errors import CodingError


def test_tiny_codebook_loads():
    cb = parse_codebook(TINY_CODEBOOK, "cb.yaml")
    assert cb.variable_ids == ["economic", "strategic", "regional_security"]
    assert [c.id for c in cb.codes_of("economic")] == ["energy", "trade"]
    assert len(cb.version) == 12


def test_version_changes_with_content():
    a = parse_codebook(TINY_CODEBOOK, "cb.yaml")
    b = parse_codebook(TINY_CODEBOOK.replace("energy supply", "energy supplies"), "cb.yaml")
    assert a.version != b.version


def line_of(text, needle):
    """1-based line number of the first line of ``text`` containing ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


TRADE = line_of(TINY_CODEBOOK, "- id: trade")
DEFENCE = line_of(TINY_CODEBOOK, "- id: defence")


@pytest.mark.parametrize("change, message, line", [
    (("patterns: [trade, investment, export]", "patterns: []"), "trade: empty pattern list", TRADE),
    (("patterns: [trade, investment, export]", "patterns: ['re:(unclosed']"), "trade: pattern", TRADE),
    (("  - id: trade\n", "  - id: energy\n"), "energy: duplicate id", TRADE),
    (("    variable: strategic\n    definition: military", "    definition: military"),
     "defence: code has no 'variable'", DEFENCE),
    (("    variable: strategic\n    definition: military", "    variable: politics\n    definition: military"),
     "defence: unknown variable 'politics'", DEFENCE),
    (("    label: Trade\n", "    label: Trade\n    colour: red\n"), "trade: unknown key 'colour'", TRADE),
    (("  - id: trade\n", "  - id:\n"), "code without an 'id'", TRADE),
])
def test_bad_codebooks_name_the_line_and_code(change, message, line):
    old, new = change
    assert old in TINY_CODEBOOK
    with pytest.raises(CodingError) as err:
        parse_codebook(TINY_CODEBOOK.replace(old, new, 1), "cb.yaml")
    text = str(err.value)
    assert message in text
    assert text.startswith(f"cb.yaml:{line}:")
    assert "\n" not in text


def test_bad_yaml_reports_line(tmp_path):
    path = tmp_path / "cb.yaml"
    path.write_text("name: x\nvariables: [\n  - id: a\n", encoding="utf-8")
    with pytest.raises(CodingError) as err:
        load_codebook(path)
    assert str(err.value).startswith(f"{path}:")
    assert "invalid YAML" in str(err.value)


def test_shipped_codebook_examples_get_their_code_and_counterexamples_do_not():
    cb = load_codebook(REPO / "codebook.yaml")
    coder = DictionaryCoder(cb)
    assert cb.variable_ids == ["economic", "strategic", "regional_security"]
    failures = []
    for code in cb.codes:
        assert code.examples, f"{code.id} has no examples"
        assert code.counterexamples, f"{code.id} has no counterexamples"
        for ex in code.examples:
            if code.id not in coder.code_text(ex):
                failures.append(f"example of {code.id} not coded: {ex}")
        for ex in code.counterexamples:
            if code.id in coder.code_text(ex):
                failures.append(f"counterexample of {code.id} coded: {ex}")
    assert not failures, "\n".join(failures)


def test_shipped_codebook_codes_have_every_field():
    cb = load_codebook(REPO / "codebook.yaml")
    for code in cb.codes:
        for field in ("label", "definition", "include", "exclude"):
            assert getattr(code, field), f"{code.id} lacks {field}"
