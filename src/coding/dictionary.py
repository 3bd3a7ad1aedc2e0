"""The automatic coder: the codebook compiled into one matcher.

Terms are expanded once into their inflected forms (see
:mod:`coding.language`) and put into one Aho-Corasick automaton over folded
text (lower case, dashes as spaces); a hit counts only on word boundaries.
``re:`` patterns are compiled regular expressions. Every coding carries its
evidence: the matched text, the pattern that fired and the offsets in the
document.

Rules applied to every unit:

* text matched by a codebook ``mask_patterns`` regex (citations) codes
  nothing;
* a hit of a code that overlaps a hit of one of that code's
  ``exclude_patterns`` is dropped;
* overlapping hits of the same code keep the longest;
* hits of a code's ``context_patterns`` (actors, settings: "ambassador",
  "foreign office") count as evidence only beside a hit of its
  ``patterns``: alone they do not code the unit.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from itertools import accumulate

import ahocorasick
import regex

from coding.codebook import CASE_PREFIX, REGEX_PREFIX, Codebook, compile_regex
from coding.errors import CodingError
from coding.language import fold, term_variants
from coding.records import AUTO, Coding, Evidence, Unit, evidence_json

#: Changes whenever matching changes in a way that can change codings, so
#: that stores recode what this coder coded before.
MATCHER_VERSION = "1"

#: Seconds one ``re:`` pattern may take on a text of up to 100,000
#: characters (longer texts get proportionally more). The shipped patterns
#: take milliseconds on a megabyte; a pattern that backtracks exponentially
#: is stopped and reported instead of hanging the run.
REGEX_TIMEOUT = 1.0


def _outside(hits: list[tuple[str, int, int]], bad: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """The hits that overlap no span of ``bad`` (masked or excluded text).

    A hit (start, end) overlaps a span (s, e) when s < end and start < e, so
    an empty span (a mask may match empty text) counts strictly inside a
    hit. With the spans sorted by start and the furthest end reached so far,
    each hit is one binary search: n log n where comparing every pair was
    quadratic in the length of the unit.
    """
    bad = sorted(bad)
    starts = [s for s, _ in bad]
    reach = list(accumulate((e for _, e in bad), max))  # reach[i]: furthest end of bad[:i + 1]
    out = []
    for h in hits:
        i = bisect_left(starts, h[2])  # bad[:i] start before the hit ends
        if i == 0 or reach[i - 1] <= h[1]:
            out.append(h)
    return out


def _longest_first(hits: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Of overlapping hits, the longest, then the leftmost (then by pattern),
    in text order.

    Kept hits never overlap, so a byte per character of the covered text
    tells whether a candidate touches one: every character is marked once
    and each candidate scans its own length. Hits are never empty.
    """
    hits = sorted(hits, key=lambda h: (h[1] - h[2], h[1], h[0]))
    low = min(h[1] for h in hits)
    taken = bytearray(max(h[2] for h in hits) - low)
    kept = []
    for h in hits:
        s, e = h[1] - low, h[2] - low
        if taken.find(1, s, e) < 0:
            taken[s:e] = b"\x01" * (e - s)
            kept.append(h)
    kept.sort(key=lambda h: (h[1], h[2], h[0]))
    return kept


class DictionaryCoder:
    """The dictionary coder: codes units with the patterns of a codebook.

    >>> coder = DictionaryCoder(load_codebook("codebook.yaml"))
    >>> codings = coder.code(units)

    Its version is the codebook version with the matcher's own, so an edit
    of either recodes the corpus.
    """

    def __init__(self, codebook: Codebook, name: str = AUTO):
        self.codebook = codebook
        self.name = name
        self._variable = {c.id: c.variable for c in codebook.codes}
        # entries: folded key -> list of (code index, pattern, is_exclude, case-sensitive surface)
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, list[tuple[int, str, bool, str | None]]] = {}
        self._regexes: list[tuple[int, str, bool, regex.Pattern]] = []
        self._codes = list(codebook.codes)
        self.codes = self._codes
        for idx, code in enumerate(self._codes):
            for is_excl, patterns in ((False, code.patterns + code.context_patterns),
                                      (True, code.exclude_patterns)):
                for pattern in patterns:
                    if pattern.startswith(REGEX_PREFIX):
                        self._regexes.append((idx, pattern, is_excl, compile_regex(pattern[len(REGEX_PREFIX):])))
                    elif pattern.startswith(CASE_PREFIX):
                        surface = pattern[len(CASE_PREFIX):].strip()
                        entries.setdefault(fold(surface), []).append((idx, pattern, is_excl, surface))
                    else:
                        for variant in term_variants(pattern):
                            entries.setdefault(variant, []).append((idx, pattern, is_excl, None))
        for key, value in entries.items():
            self._automaton.add_word(key, (len(key), tuple(value)))
        self._has_terms = bool(entries)
        if self._has_terms:
            self._automaton.make_automaton()
        self._masks = [(m, compile_regex(m)) for m in codebook.mask_patterns]
        self._context = [frozenset(c.context_patterns) for c in self._codes]

    @property
    def version(self) -> str:
        return f"{self.codebook.version}+m{MATCHER_VERSION}"

    def _spans(self, rx: regex.Pattern, text: str, pattern: str, code: int | None) -> list[tuple[int, int]]:
        """Spans of the matches of ``rx`` in ``text``; a CodingError naming
        the pattern (and its code, or the masks) if it takes too long."""
        timeout = REGEX_TIMEOUT * max(1.0, len(text) / 100_000)
        try:
            return [m.span() for m in rx.finditer(text, timeout=timeout)]
        except TimeoutError:
            if code is None:
                line, item = None, "settings.mask_patterns"
            else:
                line, item = self._codes[code].line, self._codes[code].id
            raise CodingError(f"pattern {pattern!r} took too long (over {timeout:g} s on a text of "
                              f"{len(text)} characters): it backtracks too much, simplify it",
                              self.codebook.path, line, item) from None

    def _masked(self, text: str) -> list[tuple[int, int]]:
        return [span for pattern, rx in self._masks for span in self._spans(rx, text, pattern, None)]

    def match(self, text: str) -> dict[int, list[tuple[str, int, int]]]:  # noqa: C901 - the hot loop, kept inline for speed
        """Hits per code index in ``text``: lists of (pattern, start, end),
        after masks and exclusions, overlapping hits reduced to the longest."""
        found: dict[int, list[tuple[str, int, int]]] = {}
        excluded: dict[int, list[tuple[int, int]]] = {}
        if self._has_terms:
            folded = fold(text)
            n = len(folded)
            for last, (length, entries) in self._automaton.iter(folded):
                end = last + 1
                start = end - length
                # whole words only (the hot loop: checks inlined)
                if start > 0:
                    c = folded[start - 1]
                    if c.isalnum() or c == "_":
                        continue
                if end < n:
                    c = folded[end]
                    if c.isalnum() or c == "_":
                        continue
                for idx, pattern, is_excl, surface in entries:
                    if surface is not None and text[start:end] != surface:
                        continue
                    if is_excl:
                        excluded.setdefault(idx, []).append((start, end))
                    else:
                        found.setdefault(idx, []).append((pattern, start, end))
        for idx, pattern, is_excl, rx in self._regexes:
            for start, end in self._spans(rx, text, pattern, idx):
                if end > start:
                    if is_excl:
                        excluded.setdefault(idx, []).append((start, end))
                    else:
                        found.setdefault(idx, []).append((pattern, start, end))
        if not found:
            return {}
        masked = self._masked(text) if self._masks else []  # only where something fired
        result = {}
        for idx, hits in found.items():
            bad = masked + excluded.get(idx, [])
            if bad:
                hits = _outside(hits, bad)
            if len(hits) > 1:
                hits = _longest_first(hits)
            context = self._context[idx]
            if hits and not (context and all(h[0] in context for h in hits)):
                result[idx] = hits
        return result

    def code_text(self, text: str) -> list[str]:
        """The ids of the codes that ``text`` gets, in codebook order."""
        return [self._codes[i].id for i in sorted(self.match(text))]

    def code_unit(self, unit: Unit) -> list[Coding]:
        """Codings of one unit, in codebook order, evidence in document offsets."""
        out = []
        for idx, hits in sorted(self.match(unit.text).items()):
            code = self._codes[idx]
            evidence = tuple(
                Evidence(unit.text[s:e], pattern, unit.start + s, unit.start + e) for pattern, s, e in hits
            )
            out.append(Coding(unit.id, code.id, code.variable, self.name, self.codebook.version, evidence))
        return out

    def code_rows(self, units: Iterable[Unit]) -> list[list[str]]:
        """Rows ``unit_id, variable, code, evidence`` for units coded as
        given: evidence offsets relative to the unit text, one row per code,
        and one row with empty variable and code for a unit with no code."""
        rows = []
        for unit in units:
            text = unit.text
            hits = self.match(text)
            if not hits:
                rows.append([unit.id, "", "", ""])
                continue
            for idx in sorted(hits):
                code = self._codes[idx]
                ev = evidence_json([(text[s:e], p, s, e) for p, s, e in hits[idx]])
                rows.append([unit.id, code.variable, code.id, ev])
        return rows

    def code(self, units: Iterable[Unit]) -> list[Coding]:
        """Code units; returns their codings (a unit may get several codes)."""
        out: list[Coding] = []
        for unit in units:
            out.extend(self.code_unit(unit))
        return out


def example_failures(codebook: Codebook, coder: DictionaryCoder | None = None) -> list[tuple[str, str, str]]:
    """The codebook's examples its patterns do not code and counterexamples
    they do: (code id, "example" or "counterexample", text), in codebook order.
    An empty list means every example and counterexample behaves as written."""
    coder = coder or DictionaryCoder(codebook)
    failures = []
    for code in codebook.codes:
        failures += [(code.id, "example", ex) for ex in code.examples if code.id not in coder.code_text(ex)]
        failures += [(code.id, "counterexample", ex) for ex in code.counterexamples
                     if code.id in coder.code_text(ex)]
    return failures
