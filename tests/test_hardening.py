"""Hardening against bad or hostile input: codebook validation, regexes that
could hang, huge units. Every error is one line naming file, line and item."""

from __future__ import annotations

import itertools

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


# ---------------------------------------------------------------- item 2: regexes that could hang

def test_nested_quantifier_is_refused_at_load():
    text = error_of(changed(TRADE_PATTERNS, 'patterns: [trade, "re:(a+)+$"]'))
    assert text.startswith(f"cb.yaml:{TRADE}: trade: pattern 're:(a+)+$' could take exponential time: ")
    assert "unbounded repeat inside an unbounded repeat" in text


def test_hanging_mask_pattern_is_refused_at_load():
    settings = line_of(TINY_CODEBOOK, "mask_patterns:")
    text = error_of(changed("  mask_patterns:\n", "  mask_patterns:\n    - '(a|a)*b'\n"))
    assert text.startswith(f"cb.yaml:{settings}: settings.mask_patterns: pattern 're:(a|a)*b' could take")


@pytest.mark.parametrize("body", [
    r"(a+)+$", r"(a*)*b", r"(\w+\s?)+$", r"(x+x+)+y", r"^(([a-z])+.)+[A-Z]([a-z])+$", r"((ab)+)+",
    r"(?:x|y+)*", r"(?:(?:a+){2})+", r"((a+)(b?))+$", r"(a|a)*", r"(a|ab)*", r"(a|aa)+$", r"(\d+|\d+\.)+x",
    r"(?:ab|[a-z]b)+", r"(?:(?:a|a)x)*$", r"(?i:(?-i:a)|A)+",
])
def test_shapes_that_backtrack_exponentially(body):
    from coding.patterns import backtracking_risk

    assert backtracking_risk(body)


@pytest.mark.parametrize("body", [
    r"(a+b)+", r"(\s*;\s*)*", r"(\w+\s)*", r"(x+y+)+", r"(?:cat|dog)*", r"(?:ab|cd)*", r"a++", r"(?>a+)+",
    r"(a++)+", r"\d+(?:,\d+)*", r"(?:\w+\.)*\w+", r"(?-i:a+)(?:(?-i:A)+x)+", r"(?:\s+\w+){0,5}",
    r"\$\s?\d[\d,.]*\s*-?\s*(?:million|billion)\b",
])
def test_ordinary_shapes_are_accepted(body):
    from coding.patterns import backtracking_risk

    assert backtracking_risk(body) is None


def test_shipped_regexes_pass_the_check():
    from conftest import REPO

    from coding.codebook import load_codebook
    from coding.patterns import backtracking_risk

    cb = load_codebook(REPO / "codebook.yaml")
    bodies = [p[3:] for c in cb.codes for p in c.patterns + c.exclude_patterns + c.context_patterns
              if p.startswith("re:")] + list(cb.mask_patterns)
    assert len(bodies) > 10
    assert [b for b in bodies if backtracking_risk(b)] == []


@pytest.mark.parametrize("where", ["code", "mask"])
def test_a_regex_that_takes_too_long_is_stopped(where, monkeypatch):
    import time

    import coding.coders.dictionary
    from coding.coders.dictionary import DictionaryCoder

    # nested, but the outer repeat is bounded: not refused at load, slow all the same
    slow = r"(?:a+){1,30}$"
    if where == "code":
        cb = parse_codebook(changed(TRADE_PATTERNS, f'patterns: [trade, "re:{slow}"]'), "cb.yaml")
        prefix = f"cb.yaml:{TRADE}: trade: pattern 're:{slow}' took too long"
    else:
        cb = parse_codebook(changed("  mask_patterns:\n", f"  mask_patterns:\n    - '{slow}'\n"), "cb.yaml")
        prefix = f"cb.yaml: settings.mask_patterns: pattern '{slow}' took too long"
    monkeypatch.setattr(coding.coders.dictionary, "REGEX_TIMEOUT", 0.2)
    coder = DictionaryCoder(cb)
    t = time.monotonic()
    with pytest.raises(CodingError) as err:
        coder.match("gas " + "a" * 5000 + "!")
    assert time.monotonic() - t < 10
    assert str(err.value).startswith(prefix)
    assert "\n" not in str(err.value)


def test_regex_patterns_stay_case_insensitive_with_scoped_flags():
    from coding.coders.dictionary import DictionaryCoder

    cb = parse_codebook(changed(TRADE_PATTERNS, 'patterns: [trade, "re:(?-i:USD)\\\\s?\\\\d+", "re:\\\\bbarter\\\\b"]'),
                        "cb.yaml")
    coder = DictionaryCoder(cb)
    assert coder.code_text("USD 5 and BARTER") == ["trade"]
    assert [h[0] for h in coder.match("usd 5 and BARTER")[1]] == ["re:\\bbarter\\b"]


# ---------------------------------------------------------------- item 3: coding time linear in the unit

def test_a_megabyte_unit_with_many_overlapping_hits_codes_quickly():
    import time

    from coding.coders.dictionary import DictionaryCoder

    cb = parse_codebook(TINY_CODEBOOK.replace("patterns: [gas, pipeline,", "patterns: [gas, pipeline, gas pipeline,"))
    piece = "gas pipelines, gas chamber and trade (Trade Review, 2019); "
    text = piece * (1_000_000 // len(piece))
    n = len(text) // len(piece)
    t = time.monotonic()
    hits = DictionaryCoder(cb).match(text)
    assert time.monotonic() - t < 20  # quadratic before: about 90 s
    gas, trade = piece.index("gas pipelines"), piece.index("trade (")
    assert hits == {
        0: [("gas pipeline", i * len(piece) + gas, i * len(piece) + gas + 13) for i in range(n)],
        1: [("trade", i * len(piece) + trade, i * len(piece) + trade + 5) for i in range(n)],
    }


def _reference_outside(hits, bad):
    """The former quadratic filter, kept as the reference."""
    return [h for h in hits if not any(s < h[2] and h[1] < e for s, e in bad)]


def _reference_longest_first(hits):
    hits = sorted(hits, key=lambda h: (h[1] - h[2], h[1], h[0]))
    kept = []
    for h in hits:
        if not any(k[1] < h[2] and h[1] < k[2] for k in kept):
            kept.append(h)
    return sorted(kept, key=lambda h: (h[1], h[2], h[0]))


def test_fast_overlap_rules_choose_exactly_as_before():
    import random

    from coding.coders.dictionary import _longest_first, _outside

    rng = random.Random(7)
    for _ in range(2000):
        size = rng.randint(1, 60)
        hits = []
        for _ in range(rng.randint(0, 25)):
            s = rng.randrange(size)
            hits.append((rng.choice("pqr"), s, rng.randint(s + 1, min(size, s + 12))))
        bad = []
        for _ in range(rng.randint(0, 6)):
            s = rng.randrange(size + 1)
            bad.append((s, rng.randint(s, min(size, s + 10))))  # masks may match empty text
        assert _outside(hits, bad) == _reference_outside(hits, bad)
        if hits:
            assert _longest_first(hits) == _reference_longest_first(hits)


# ---------------------------------------------------------------- item 4: unit size

def _document(text, doc_type="thesis_chapter"):
    from coding.records import Document

    return Document("d", "D", doc_type, "2020", "", "d.txt", text)


def _check_units(text, units):
    from coding.segment import MAX_UNIT_CHARS

    for u in units:
        assert text[u.start:u.end] == u.text
        assert u.text == u.text.strip() and u.text
        assert len(u.text) <= MAX_UNIT_CHARS
    assert [u.start for u in units] == sorted(u.start for u in units)
    # nothing but white space is lost between units
    gaps = [(0, units[0].start)] + [(a.end, b.start) for a, b in itertools.pairwise(units)] + [(units[-1].end, None)]
    pieces = [text[s:e] for s, e in gaps]
    assert all(not p.strip() for p in pieces)


def test_a_long_paragraph_is_split_at_sentence_ends():
    from coding.segment import MAX_UNIT_CHARS, segment

    text = "Intro.\n\n" + "Gas was sold to them. " * 12_000 + "\n\nEnd."
    units = segment(_document(text))
    _check_units(text, units)
    assert units[0].text == "Intro." and units[-1].text == "End."
    middle = units[1:-1]
    assert len(middle) == 3
    assert all(u.text.endswith("them.") and u.text.startswith("Gas") for u in middle)
    assert all(len(u.text) > MAX_UNIT_CHARS - 30 for u in middle[:-1])
    assert [u.id for u in units] == [f"d:p{i:04d}" for i in range(1, 6)]
    assert {u.unit_type for u in units} == {"paragraph"}


def test_a_long_paragraph_without_sentence_ends_is_split_at_white_space():
    from coding.segment import segment

    text = "word " * 50_000
    units = segment(_document(text))
    _check_units(text, units)
    assert len(units) == 3
    assert all(u.text.startswith("word") and u.text.endswith("word") for u in units)


def test_a_long_text_without_white_space_is_cut_at_the_limit():
    from coding.segment import MAX_UNIT_CHARS, segment

    text = "x" * (2 * MAX_UNIT_CHARS + 7)
    units = segment(_document(text))
    _check_units(text, units)
    assert [len(u.text) for u in units] == [MAX_UNIT_CHARS, MAX_UNIT_CHARS, 7]


def test_long_turns_and_long_sentences_are_split_too():
    from coding.segment import segment

    text = "Interviewer: Tell us.\n\nDr Ahmed: " + "trade grew and " * 20_000 + "so on.\n\nInterviewer: Thanks."
    turns = segment(_document(text, "interview"))
    _check_units(text, turns)
    assert [u.unit_type for u in turns] == ["turn"] * 6  # the long turn in four pieces
    sentences = segment(_document(text, "interview"), unit="sentence")
    _check_units(text, sentences)
    assert len(sentences) == 6  # "Tell us.", four pieces of the long sentence, "Thanks."


def test_a_megabyte_of_broken_lines_is_segmented_quickly():
    import time

    from coding.segment import segment

    text = "and so on,\n\n" * 85_000  # every block continues the one before
    t = time.monotonic()
    units = segment(_document(text))
    assert time.monotonic() - t < 20  # quadratic before: about 17 minutes
    _check_units(text, units)
    assert len(units) == 11


def test_open_end_test_means_what_the_former_regex_meant():
    import re
    import sys

    from coding.segment import _open_end

    former = re.compile(r"[\w,\-\u2013(]\s*$")
    for code in range(sys.maxunicode + 1):
        for block in (chr(code), "x" + chr(code), chr(code) + " \n"):
            assert _open_end(block, 0, len(block)) == bool(former.search(block)), hex(code)
    assert _open_end("ends, ", 0, 6) and not _open_end("ends. Then on,", 0, 5)


# ---------------------------------------------------------------- item 5: study settings

STUDY = """settings:
  study_period: [2012, 2023]
  referenced_years: [1947, 2030]
  variable_colours: {economic: "#1b9e77", strategic: "#D95F02"}
"""


def test_study_settings_are_read():
    cb = parse_codebook(changed("settings:\n", STUDY), "cb.yaml")
    s = cb.settings
    assert s.study_period == (2012, 2023) and s.referenced_years == (1947, 2030)
    assert dict(s.variable_colours) == {"economic": "#1b9e77", "strategic": "#D95F02"}
    with pytest.raises(TypeError):
        s.variable_colours["economic"] = "#000000"
    assert hash(s) == hash(parse_codebook(changed("settings:\n", STUDY), "cb.yaml").settings)


def test_study_settings_defaults():
    from coding.codebook import DEFAULT_REFERENCED_YEARS

    s = parse_codebook(TINY_CODEBOOK, "cb.yaml").settings
    assert s.study_period is None and s.referenced_years == DEFAULT_REFERENCED_YEARS == (1900, 2100)
    assert dict(s.variable_colours) == {}


def test_shipped_study_settings():
    from conftest import REPO

    from coding.codebook import load_codebook

    s = load_codebook(REPO / "codebook.yaml").settings
    assert s.study_period == (2012, 2023) and s.referenced_years == (1947, 2030)
    assert dict(s.variable_colours) == {"economic": "#1b9e77", "strategic": "#d95f02", "regional_security": "#7570b3"}


@pytest.mark.parametrize("old, new, message", [
    ("[2012, 2023]", "[2023, 2012]", "settings.study_period: the first year (2023) is after the last (2012)"),
    ("[2012, 2023]", "2012", "settings.study_period: must be two years [first, last]"),
    ("[2012, 2023]", "[2012, 2023, 2024]", "settings.study_period: must be two years"),
    ("[2012, 2023]", "['2012', 2023]", "settings.study_period: must be two years"),
    ("[2012, 2023]", "[true, 2023]", "settings.study_period: must be two years"),
    ("[1947, 2030]", "[47, 2030]", "settings.referenced_years: years must have four digits, not [47, 2030]"),
    ("[1947, 2030]", "[2030, 1947]", "settings.referenced_years: the first year (2030) is after the last (1947)"),
    ('{economic: "#1b9e77", strategic: "#D95F02"}', '["#1b9e77"]',
     "settings.variable_colours: must map variable ids to colours"),
    ("  study_period", "  study_years: [1, 2]\n  study_period", "unknown key 'study_years' in settings"),
])
def test_bad_study_settings(old, new, message):
    study = STUDY.replace(old, new, 1)
    assert study != STUDY
    text = error_of(changed("settings:\n", study))
    assert text.startswith(f"cb.yaml:{line_of(TINY_CODEBOOK, 'settings:') + 1}: ")  # the settings' first line
    assert message in text


@pytest.mark.parametrize("old, new, message", [
    ('economic: "#1b9e77"', 'economics: "#1b9e77"', "unknown variable 'economics'"),
    ('"#1b9e77"', '"#1b9e7"', "the colour of 'economic' must be \"#rrggbb\" in quotes, not '#1b9e7'"),
    ('"#1b9e77"', '"red"', "the colour of 'economic' must be \"#rrggbb\" in quotes, not 'red'"),
])
def test_bad_variable_colours(old, new, message):
    text = error_of(changed("settings:\n", STUDY.replace(old, new, 1)))
    line = line_of(TINY_CODEBOOK, "settings:") + 3  # the line of variable_colours
    assert text == f"cb.yaml:{line}: settings.variable_colours: {message}"


def test_unquoted_colour_is_a_comment_and_is_refused():
    text = error_of(changed("settings:\n", "settings:\n  variable_colours:\n    economic: #1b9e77\n"))
    first = line_of(TINY_CODEBOOK, "settings:") + 2
    assert text == f"cb.yaml:{first}: settings.variable_colours: the colour of 'economic' must be \"#rrggbb\" " \
                   "in quotes, not None"
