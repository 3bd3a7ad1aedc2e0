"""The literal prefilters of re: patterns, the word text of the term
automaton, and what coding by paragraphs does not load."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import regex
from conftest import REPO

from coding.codebook import compile_regex, load_codebook
from coding.coders.dictionary import DictionaryCoder, word_text
from coding.coders.prefilter import UNFOLDED_ASCII_EQUIVALENTS, literal_text, may_match, required_literals
from coding.language import fold

CODEBOOK = REPO / "codebook.yaml"


def _skipped_wrongly(pattern: str, texts: list[str]) -> list[str]:
    """Texts that ``pattern`` matches although its prefilter would skip them."""
    rx = compile_regex(pattern)
    literals = required_literals(pattern)
    return [t for t in texts if rx.search(t) and not may_match(t, literal_text(fold(t)), literals)]


def test_literals_of_the_shipped_patterns():
    cb = load_codebook(CODEBOOK)
    masks = {m: required_literals(m) for m in cb.mask_patterns}
    # every citation mask needs "(" (and more); the address mask "http" or "www." in the folded text
    assert all(any(("(", False) in g for g in lits) for m, lits in masks.items() if m.startswith(r"\("))
    assert masks[r"https?://\S+|www\.\S+"] == ((("http", True), ("www.", True)),)
    assert required_literals(r"(?-i:USD)\s?\d+") == ((("USD", False),),)


def test_case_insensitive_letters_are_folded_and_non_ascii_letters_unused():
    assert required_literals("abc") == ((("abc", True),),)
    assert required_literals("(?-i:Abc)") == ((("Abc", False),),)
    assert required_literals("Ünion") == ((("nion", True),),)  # Ü breaks the run
    assert required_literals("x?") is None  # nothing required
    assert required_literals("foo|(?-i:Bar)") == ((("Bar", False), ("foo", True)),)
    assert required_literals("foo|x*") is None  # an alternative that needs nothing


def test_every_unicode_character_matching_an_ascii_letter_folds_to_it_or_is_listed():
    letters = regex.compile("[a-z]", regex.IGNORECASE | regex.V0)
    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        if 0xD800 <= cp <= 0xDFFF or cp < 128 or not letters.fullmatch(c):
            continue
        letter = next(x for x in "abcdefghijklmnopqrstuvwxyz" if regex.fullmatch(x, c, regex.IGNORECASE))
        assert literal_text(fold(c)) == letter, (hex(cp), c)
    assert UNFOLDED_ASCII_EQUIVALENTS == {"\u017f": "s"}


def test_prefilter_never_skips_a_text_the_pattern_matches():
    # texts built from the pieces the patterns look for, in all cases and with look-alikes
    pieces = ["USD", "usd", "Usd", "\u017fanction", "Sanction", "(", ")", "Khan, 2020", "1998", "n.d.",
              "www.", "HTTP", "http", "://", "trade", "Strategic", "\u212aey", "key", "-", "\u2019", " ", ",",
              "\u0130ran", "iran", "pp. 4", "Rs.", "$", "5 million", "\u201c", "title", "(Yousaf 2022", "2017)",
              "Jamshed and Fakhr", "(Raza F., 2017", "Primary Sources", "secondary sources of", "Content analysis",
              "dependent variable", "Population of this study", "Titled \u201cA\u201d", "web: www.x.org"]
    rng = random.Random(12)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    patterns = list(load_codebook(CODEBOOK).mask_patterns) + [
        r"(?-i:USD)\s?\d+", r"sanction\w*", r"\bkey\b", r"https?://\S+|www\.\S+", r"iran|trade",
        r"(?-i:Strategic)", r"(?:khan|rs)\.?,?\s*\d+", r"\$\s?\d+\s*million", r"title[ds]?", r"n\.d\.",
    ]
    for pattern in patterns:
        assert _skipped_wrongly(pattern, texts) == [], pattern
        assert any(compile_regex(pattern).search(t) for t in texts), pattern  # the check had cases


def test_prefilter_keeps_codings_of_the_shipped_corpus(tmp_path):
    from coding.corpus import iter_documents
    from coding.segment import segment

    coder = DictionaryCoder(load_codebook(CODEBOOK))
    units = [u for d in iter_documents(REPO / "corpus") for u in segment(d)]
    with_filters = coder.code_rows(units)
    coder._regexes = [(i, p, e, rx, None) for i, p, e, rx, _ in coder._regexes]
    coder._masks = [(p, rx, None, None) for p, rx, _, _ in coder._masks]
    assert coder.code_rows(units) == with_filters
    assert sum(1 for r in with_filters if r[1]) > 500


def test_leading_literals():
    from coding.coders.prefilter import leading_literal

    assert leading_literal(r"\(\s*(?:19|20)\d\d\)") == "("
    assert leading_literal("(?-i:Abc)d") == "Abc"
    assert leading_literal(r"\$\d") == "$"
    assert leading_literal("abc") is None  # letters that ignore case
    assert leading_literal("x?y") is None and leading_literal("(?:ab|cd)") is None


MASKED_CODEBOOK = r"""
name: masked
description: a mask that starts with a literal
settings:
  mask_patterns: ['\([^()]*\b(?:19|20)\d\d\)', '(?-i:itle)(?<=[Tt]itle)[^.]*']
variables:
  - {id: v, label: V, definition: d}
codes:
  - {id: a, label: A, variable: v, definition: d, patterns: [trade, gas, 're:\d+ million']}
"""


def test_masks_skipped_after_the_last_hit_change_nothing():
    from coding.codebook import parse_codebook

    coder = DictionaryCoder(parse_codebook(MASKED_CODEBOOK, "masked.yaml"))
    plain = DictionaryCoder(parse_codebook(MASKED_CODEBOOK, "masked.yaml"))
    plain._masks = [(p, rx, None, None) for p, rx, _, _ in plain._masks]
    pieces = ["trade", "gas", " ", "(", ")", "(Khan, 2019)", "2020)", "Title ", "title", ".", "5 million", "x"]
    rng = random.Random(3)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 14))) for _ in range(5000)]
    masked = 0
    for text in texts:
        got = coder.match(text)
        assert got == plain.match(text), text
        masked += bool(plain._masked(text, text, len(text))) and bool(got)
    assert masked > 500  # masks did matter in many of these texts


def test_word_text_marks_every_non_word_character_as_space():
    for folded in ["it's (a) test_1", "caf\u00e9 \u201cx\u201d \u00b2", "\u4e2d\u6587 a.b"]:
        made = word_text(folded)
        assert len(made) == len(folded) + 2 and made[0] == made[-1] == " "
        for c, w in zip(folded, made[1:-1]):
            assert w == (c if c.isalnum() or c == "_" else " ")


WORDY_CODEBOOK = """
name: wordy
description: terms with punctuation, case and short words
variables:
  - {id: v, label: V, definition: d}
codes:
  - {id: a, label: A, variable: v, definition: d, patterns: ["u.s.", "cs:IT", "trade", "trade war", "it's"]}
  - {id: b, label: B, variable: v, definition: d, patterns: ["pak-afghan", "war", "cs:UN", "o'neil"]}
"""


def _reference_hits(coder: DictionaryCoder, text: str) -> dict[int, list[tuple[str, int, int]]]:
    """Hits as the former matcher found them: every occurrence of a folded
    key with no word character (alnum or "_") on either side."""
    import re

    from coding.coders.dictionary import _longest_first

    folded = fold(text)
    found: dict[int, list[tuple[str, int, int]]] = {}
    for _length, alternatives in coder._automaton.values():
        for key, hits, _excl, case in alternatives:
            for m in re.finditer(f"(?=(?<!\\w){re.escape(key)}(?!\\w))", folded):
                s, e = m.start(), m.start() + len(key)
                for idx, pattern in hits:
                    found.setdefault(idx, []).append((pattern, s, e))
                for idx, pattern, _is_excl, surface in case:
                    if text[s:e] == surface:
                        found.setdefault(idx, []).append((pattern, s, e))
    return {i: _longest_first(h) if len(h) > 1 else h for i, h in found.items()}


def test_terms_match_as_the_former_word_boundary_check_did():
    from coding.codebook import parse_codebook

    coder = DictionaryCoder(parse_codebook(WORDY_CODEBOOK, "wordy.yaml"))
    pieces = ["u.s.", "U.S.", "us", "IT", "it", "It", "it's", "trade", "Trade-war", "war", "_war", "war_",
              "UN", "un", "Pak-Afghan", "pak afghan", "o'neil", "O\u2019Neil", "\u00e9", "\u201c", "2", " ", " ",
              ".", ",", "-", "(", ")", "\n"]
    rng = random.Random(7)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 15))) for _ in range(4000)]
    coded = 0
    for text in texts:
        got = coder.match(text)
        assert got == _reference_hits(coder, text), text
        coded += bool(got)
    assert coded > 1000


def test_coding_paragraphs_never_imports_spacy(tmp_path):
    (tmp_path / "a.txt").write_text("Trade between Pakistan and Russia grew.\n\nA second paragraph.\n")
    script = textwrap.dedent(f"""
        import sys
        from coding.jobs.pipeline import code_paths
        code_paths([{str(tmp_path / 'a.txt')!r}], {str(tmp_path / 'out.csv')!r}, codebook={str(CODEBOOK)!r},
                   progress=False)
        print('spacy' in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert "economic" in (tmp_path / "out.csv").read_text()
