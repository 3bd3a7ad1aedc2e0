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

import hashlib
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import import_module
from itertools import accumulate
from json.encoder import encode_basestring as _json_str
from pathlib import Path

import ahocorasick
import regex

from coding.codebook import CASE_PREFIX, REGEX_PREFIX, Codebook, compile_regex
from coding.coders.prefilter import Literals, leading_literal, literal_text, may_match, required_literals
from coding.errors import CodingError
from coding.language import fold, term_variants
from coding.records import AUTO, Coding, Evidence, Unit

#: Modules whose code decides what the matcher finds: how the codebook's
#: patterns are read and compiled, folding and inflection, the prefilters
#: and the matcher itself.
MATCHING_MODULES = ("coding.codebook", "coding.language", "coding.coders.prefilter", "coding.coders.dictionary")
#: Packages whose version decides it: the lemma lookup table the terms are
#: inflected with, the regex engine of ``re:`` patterns and the automaton.
#: (spaCy itself is not run by the matcher.)
MATCHING_PACKAGES = ("spacy-lookups-data", "regex", "pyahocorasick")

#: Seconds one ``re:`` pattern may take on a text of up to 100,000
#: characters (longer texts get proportionally more). The shipped patterns
#: take milliseconds on a megabyte; a pattern that backtracks exponentially
#: is stopped and reported instead of hanging the run.
REGEX_TIMEOUT = 1.0


def version_of(sources: Iterable[bytes], packages: Mapping[str, str]) -> str:
    """12 hex digits of the SHA-256 of ``sources`` (in order, line ends
    read as "\\n", so a checkout with CRLF gives the same) and of the
    ``packages``' versions (name -> version, in any order)."""
    digest = hashlib.sha256()
    for source in sources:
        digest.update(hashlib.sha256(source.replace(b"\r\n", b"\n")).digest())
    for name, version in sorted(packages.items()):
        digest.update(f"{name}={version}\n".encode())
    return digest.hexdigest()[:12]


def _installed(package: str) -> str:
    """The installed version of ``package`` ("" when it has no metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return ""


@cache
def matcher_version() -> str:
    """The matcher's version: :func:`version_of` the source of
    :data:`MATCHING_MODULES`, the versions of :data:`MATCHING_PACKAGES` and
    of the Unicode data that lower-casing and word characters follow.

    Whatever changes what the matcher finds changes it, so a store recodes
    what this coder (and the coders built on it) coded before; nobody bumps
    it by hand. Computed once per process, on first use (reading package
    metadata costs some milliseconds that coding nothing need not pay)."""
    sources = [Path(str(import_module(name).__file__)).read_bytes() for name in MATCHING_MODULES]
    packages = {name: _installed(name) for name in MATCHING_PACKAGES}
    packages["unicodedata"] = unicodedata.unidata_version
    return version_of(sources, packages)


def __getattr__(name: str) -> str:
    # MATCHER_VERSION, the name coders built on the matcher import, is computed on first use
    if name == "MATCHER_VERSION":
        return matcher_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


#: Up to this many hits, comparing each with the kept ones costs less than
#: the byte map of _longest_first (whose cost is linear in any number).
_FEW_HITS = 16


def _longest_first(hits: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Of overlapping hits, the longest, then the leftmost (then by pattern),
    in text order.

    Kept hits never overlap, so a byte per character of the covered text
    tells whether a candidate touches one: every character is marked once
    and each candidate scans its own length. Hits are never empty.
    """
    # the common case: hits in text order, none overlapping the next, so all are kept
    # (non-empty and disjoint, their starts increase: the order returned below)
    previous_end = -1
    for h in hits:
        if h[1] < previous_end:
            break
        previous_end = h[2]
    else:
        return hits
    hits = sorted(hits, key=lambda h: (h[1] - h[2], h[1], h[0]))
    if len(hits) <= _FEW_HITS:
        kept: list[tuple[str, int, int]] = []
        for h in hits:
            s, e = h[1], h[2]
            for k in kept:
                if k[1] < e and s < k[2]:
                    break
            else:
                kept.append(h)
        kept.sort(key=lambda h: (h[1], h[2], h[0]))
        return kept
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


#: Characters other than word characters (``str.isalnum`` or "_", as the
#: ``re`` module's \\w) and the space that :func:`fold` puts for white space.
_NON_WORD = re.compile(r"[^\w ]")
# The same for Latin-1 text as a byte table: bytes.translate is several
# times faster than a regex substitution, and most text is Latin-1.
_LATIN1_WORD = bytes(i if chr(i).isalnum() or i == ord("_") else ord(" ") for i in range(256))


def word_text(folded: str) -> str:
    """``folded`` with every character that is not a word character made a
    space, and a space added at each end: a term key between two spaces
    (see :func:`_automaton`) then occurs in it exactly where the term occurs
    in ``folded`` as whole words."""
    try:
        return " " + folded.encode("latin-1").translate(_LATIN1_WORD).decode("latin-1") + " "
    except UnicodeEncodeError:
        return " " + _NON_WORD.sub(" ", folded) + " "


def _automaton(entries: dict[str, list[tuple[int, str, bool, str | None]]]) -> ahocorasick.Automaton | None:
    """An Aho-Corasick automaton of ``entries`` (folded key -> (code index,
    pattern, is_exclude, case-sensitive surface or None)) to run over
    :func:`word_text`; None when there are no keys.

    Each key is stored as it reads in the word text, between two spaces, so
    the automaton reports only whole-word occurrences (a hit inside a word
    costs nothing in Python) of the key or of keys that differ from it only
    in non-word characters; the value holds those keys to compare with the
    folded text: (key length, alternatives), each (key, (code index,
    pattern) of the hits, code indexes of the exclusions, the case-sensitive
    entries). Split this way, the hot loop touches no flag of the common
    entries."""
    by_word_key: dict[str, list] = {}
    for key in sorted(k for k in entries if k):
        plain = [e for e in entries[key] if e[3] is None]
        hits = tuple((idx, pattern) for idx, pattern, is_excl, _ in plain if not is_excl)
        excluded = tuple(idx for idx, _pattern, is_excl, _ in plain if is_excl)
        case = tuple(e for e in entries[key] if e[3] is not None)
        by_word_key.setdefault(word_text(key), []).append((key, hits, excluded, case))
    if not by_word_key:
        return None
    automaton = ahocorasick.Automaton()
    for word_key, alternatives in by_word_key.items():
        automaton.add_word(word_key, (len(word_key) - 2, tuple(alternatives)))
    automaton.make_automaton()
    return automaton


def _term_hits(automaton: ahocorasick.Automaton, text: str, folded: str,
               found: dict[int, list[tuple[str, int, int]]], excluded: dict[int, list[tuple[int, int]]]) -> None:
    """Add the whole-word hits of the terms (see :func:`_automaton`) in
    ``text`` to ``found`` (code index -> (pattern, start, end)) and
    ``excluded`` (code index -> spans of its exclusions).

    The hot loop of the coder: it runs once per occurrence of a term, so it
    calls nothing but for the rare case-sensitive entries."""
    for last, (length, alternatives) in automaton.iter(word_text(folded)):
        # the word key ends at last + 1 with a space on each side, and the
        # word text has one character more in front than the folded text
        end = last - 1
        start = end - length
        for key, hits, excl, case in alternatives:
            if folded[start:end] != key:
                continue  # differs in a non-word character
            for idx, pattern in hits:
                mine = found.get(idx)
                if mine is None:
                    found[idx] = [(pattern, start, end)]
                else:
                    mine.append((pattern, start, end))
            for idx in excl:
                excluded.setdefault(idx, []).append((start, end))
            if case:
                _case_hits(case, text, start, end, found, excluded)


def _case_hits(case: tuple[tuple[int, str, bool, str | None], ...], text: str, start: int, end: int,
               found: dict[int, list[tuple[str, int, int]]], excluded: dict[int, list[tuple[int, int]]]) -> None:
    """Add the case-sensitive entries ``case`` whose surface is
    ``text[start:end]`` as written."""
    for idx, pattern, is_excl, surface in case:
        if text[start:end] != surface:
            continue
        if is_excl:
            excluded.setdefault(idx, []).append((start, end))
        else:
            found.setdefault(idx, []).append((pattern, start, end))


#: JSON of the start of an evidence item, by (term, pattern): the same
#: terms fire again and again, and encoding them is most of the cost of a row.
_EVIDENCE_HEADS: dict[tuple[str, str], str] = {}
_EVIDENCE_HEADS_MAX = 100_000


def _evidence(text: str, hits: list[tuple[str, int, int]]) -> str:
    """The evidence JSON of ``hits`` in ``text``, exactly as
    :func:`coding.records.evidence_json` writes it."""
    return "[" + evidence_items(text, hits) + "]"


def evidence_items(text: str, hits: Iterable[tuple[str, int, int]]) -> str:
    """The items of :func:`_evidence`, comma-separated, without the brackets."""
    heads = _EVIDENCE_HEADS
    items = []
    for pattern, s, e in hits:
        term = text[s:e]
        head = heads.get((term, pattern))
        if head is None:
            head = f'{{"term":{_json_str(term)},"pattern":{_json_str(pattern)},"start":'
            if len(heads) < _EVIDENCE_HEADS_MAX:
                heads[(term, pattern)] = head
        items.append(f'{head}{s},"end":{e}}}')
    return ",".join(items)


class DictionaryCoder:
    """The dictionary coder: codes units with the patterns of a codebook.

    >>> coder = DictionaryCoder(load_codebook("codebook.yaml"))
    >>> codings = coder.code(units)

    Its version is the codebook version with the matcher's own (derived
    from the matcher's code and libraries, :func:`matcher_version`), so a
    change of either recodes the corpus.
    """

    def __init__(self, codebook: Codebook, name: str = AUTO):
        self.codebook = codebook
        self.name = name
        self._variable = {c.id: c.variable for c in codebook.codes}
        # entries: folded term -> list of (code index, pattern, is_exclude, case-sensitive surface)
        entries: dict[str, list[tuple[int, str, bool, str | None]]] = {}
        # (code index, pattern, is_exclude, compiled, literals one of which a match needs)
        self._regexes: list[tuple[int, str, bool, regex.Pattern, Literals | None]] = []
        self._codes = list(codebook.codes)
        self.codes = self._codes
        for idx, code in enumerate(self._codes):
            for is_excl, patterns in ((False, code.patterns + code.context_patterns),
                                      (True, code.exclude_patterns)):
                for pattern in patterns:
                    if pattern.startswith(REGEX_PREFIX):
                        body = pattern[len(REGEX_PREFIX):]
                        self._regexes.append((idx, pattern, is_excl, compile_regex(body), required_literals(body)))
                    elif pattern.startswith(CASE_PREFIX):
                        surface = pattern[len(CASE_PREFIX):].strip()
                        entries.setdefault(fold(surface), []).append((idx, pattern, is_excl, surface))
                    else:
                        for variant in term_variants(pattern):
                            entries.setdefault(variant, []).append((idx, pattern, is_excl, None))
        self._automaton = _automaton(entries)
        self._masks = [(m, compile_regex(m), required_literals(m), leading_literal(m))
                       for m in codebook.mask_patterns]
        self._context = [frozenset(c.context_patterns) for c in self._codes]

    @property
    def version(self) -> str:
        """The codebook version with the matcher's (:func:`matcher_version`)."""
        return f"{self.codebook.version}+m{matcher_version()}"

    def _spans(self, rx: regex.Pattern, text: str, pattern: str, code: int | None) -> list[tuple[int, int]]:
        """Spans of the matches of ``rx`` in ``text``; a CodingError naming
        the pattern (and its code, or the masks) if it takes too long."""
        timeout = REGEX_TIMEOUT * max(1.0, len(text) / 100_000)
        try:
            # positional: (string, pos, endpos, overlapped, concurrent, partial, timeout), as the regex
            # module's own finditer() calls it; keywords cost about half a microsecond more per call
            return [m.span() for m in rx.finditer(text, None, None, False, None, False, timeout)]
        except TimeoutError:
            if code is None:
                line, item = None, "settings.mask_patterns"
            else:
                line, item = self._codes[code].line, self._codes[code].id
            raise CodingError(f"pattern {pattern!r} took too long (over {timeout:g} s on a text of "
                              f"{len(text)} characters): it backtracks too much, simplify it",
                              self.codebook.path, line, item) from None

    def _masked(self, text: str, folded: str, last_end: int) -> list[tuple[int, int]]:
        """Spans of the masks that can cover a hit ending at or before ``last_end``:
        a mask whose required literals are not in the text cannot match it, nor
        can one whose matches start with a literal first found after the last
        hit ends (see coding.coders.prefilter)."""
        spans = []
        for pattern, rx, literals, lead in self._masks:
            if may_match(text, folded, literals) and not (lead and text.find(lead) >= last_end):
                spans += self._spans(rx, text, pattern, None)
        return spans

    def match(self, text: str, folded: str | None = None) -> dict[int, list[tuple[str, int, int]]]:
        """Hits per code index in ``text``: lists of (pattern, start, end),
        after masks and exclusions, overlapping hits reduced to the longest.
        ``folded`` is :func:`coding.language.fold` of ``text`` when the caller has it."""
        return self.match_with_context(text, folded)[0]

    def match_with_context(self, text: str, folded: str | None = None) -> tuple[dict[int, list], dict[int, list]]:
        """:meth:`match`, and the hits of the codes whose hits (after masks,
        exclusions and overlaps) are all context patterns: what the coder
        found but does not code with, from the same pass."""
        found: dict[int, list[tuple[str, int, int]]] = {}
        excluded: dict[int, list[tuple[int, int]]] = {}
        if folded is None:
            folded = fold(text)  # for the terms and the literals of re: patterns
        if self._automaton is not None:
            _term_hits(self._automaton, text, folded, found, excluded)
        in_folded = literal_text(folded) if self._regexes or self._masks else folded
        if self._regexes:
            self._regex_hits(text, in_folded, found, excluded)
        if not found:
            return {}, {}
        if self._masks:  # only where something fired
            masked = self._masked(text, in_folded, max(h[2] for hits in found.values() for h in hits))
        else:
            masked = []
        return self._kept(found, excluded, masked)

    def _regex_hits(self, text: str, in_folded: str, found: dict[int, list[tuple[str, int, int]]],
                    excluded: dict[int, list[tuple[int, int]]]) -> None:
        """Add the non-empty matches of the ``re:`` patterns to ``found`` and
        ``excluded``; ``in_folded`` is :func:`literal_text` of the folded text."""
        for idx, pattern, is_excl, rx, literals in self._regexes:
            if literals is not None and not may_match(text, in_folded, literals):
                continue  # cannot match: skip the call and the scan
            for start, end in self._spans(rx, text, pattern, idx):
                if end > start:
                    if is_excl:
                        excluded.setdefault(idx, []).append((start, end))
                    else:
                        found.setdefault(idx, []).append((pattern, start, end))

    def _kept(self, found: dict[int, list[tuple[str, int, int]]], excluded: dict[int, list[tuple[int, int]]],
              masked: list[tuple[int, int]]) -> tuple[dict[int, list], dict[int, list]]:
        """The hits of each code that code the unit: outside masks and the
        code's exclusions, overlaps reduced to the longest, and not context
        patterns alone; and apart, the codes whose hits are context patterns alone."""
        result, context_only = {}, {}
        for idx, hits in found.items():
            bad = masked + excluded.get(idx, [])
            if bad:
                hits = _outside(hits, bad)
            if len(hits) > 1:
                hits = _longest_first(hits)
            if not hits:
                continue
            context = self._context[idx]
            if context and all(h[0] in context for h in hits):
                context_only[idx] = hits
            else:
                result[idx] = hits
        return result, context_only

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
                rows.append([unit.id, code.variable, code.id, _evidence(text, hits[idx])])
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
