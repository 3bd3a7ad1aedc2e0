"""Literal prefilters for ``re:`` patterns: text that every match needs.

Running a regular expression over a unit costs a call and a scan even when
it cannot match, and most units contain none of the literal text a pattern
needs: a sum of money needs "$", "USD" or "Rs", a citation needs "(", a web
address "://" or "www.". For each pattern this module finds a set of
literal strings of which every match (together with its lookbehind and
lookahead context) contains at least one; a unit containing none of them is
skipped without running the pattern, which gives the same matches at a
fraction of the cost. Where a pattern needs several such sets (a citation
needs "(" and ")" and a year's digits), up to ``MAX_GROUPS`` of them are
checked, each of which must be met.

A literal is looked for in one of two texts:

* as written, in the unit text: literal characters in a case-sensitive part
  of the pattern (``(?-i:USD)``), and case-insensitive runs without letters
  ("(", "://");
* folded (:func:`coding.language.fold`), in the folded unit text: runs of
  ASCII characters with letters in a case-insensitive part ("www."). Every
  character that the regex module matches case-insensitively with an ASCII
  letter folds to that letter, except the long s "ſ" (which matches "s"),
  so the folded text is searched with "ſ" read as "s" (the tests check
  this against every Unicode character).

Case-insensitive runs with non-ASCII letters are not used. A pattern that
yields no usable literal gets no prefilter and is always run.
"""

from __future__ import annotations

# the parser that re itself uses; private, so typeshed has no stub for it
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

from coding.language import fold

_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT))
#: Characters the regex module matches case-insensitively with an ASCII
#: letter although they do not fold to it, with that letter (checked over
#: all of Unicode by the tests).
UNFOLDED_ASCII_EQUIVALENTS = {"\u017f": "s"}
#: At most this many sets of literals are checked per pattern.
MAX_GROUPS = 4
#: A set of more literals than this is not checked: each literal is a scan
#: of the text, and past a few the scans cost more than running the pattern.
MAX_LITERALS = 4

#: One set of literals, any of which will do: (literal, whether it is
#: looked for in the folded text).
Group = tuple[tuple[str, bool], ...]
#: Required literals: groups that must each be met.
Literals = tuple[Group, ...]


def required_literals(pattern: str, ignore_case: bool = True) -> Literals | None:
    """Sets of literals such that every match of ``pattern`` (with its
    context) contains at least one literal of each set, the most selective
    set first; None when the pattern gives none that can be trusted (see
    the module docstring).

    ``ignore_case`` is the pattern's global flag (``re:`` patterns are
    compiled case-insensitively)."""
    try:
        parsed = sre_parse.parse(pattern, sre.SRE_FLAG_IGNORECASE if ignore_case else 0)
    except Exception:  # noqa: BLE001 - syntax only the regex module knows: no prefilter, always run
        return None
    # a global inline flag ("(?i)" at the start) is in the parsed state
    groups = _needs(list(parsed), bool(parsed.state.flags & sre.SRE_FLAG_IGNORECASE))
    groups = [g for g in groups if len(g) <= MAX_LITERALS]
    if not groups:
        return None
    best = sorted(set(groups), key=_rank, reverse=True)[:MAX_GROUPS]
    return tuple(tuple(sorted(g, key=lambda lit: (-len(lit[0]), lit))) for g in best)


def _rank(group: frozenset[tuple[str, bool]]) -> tuple[bool, int, int, list[tuple[str, bool]]]:
    """How selective a set of literals is likely to be: sets whose literals
    all have three characters or more (rarer in text) first, then the ones
    with the fewest literals (each is a scan), then the longest shortest
    literal, then by the literals themselves (a stable order)."""
    shortest = min(len(lit) for lit, _ in group)
    return (shortest >= 3, -len(group), shortest, sorted(group))


def _needs(items: list, ignore_case: bool) -> list[frozenset[tuple[str, bool]]]:
    """Every set of literals that a sequence of parsed items requires: each
    literal run, and what its groups, repeats and lookaheads require."""
    groups: list[frozenset[tuple[str, bool]]] = []
    run: list[str] = []

    def flush():
        if run:
            literal = "".join(run)
            folded = ignore_case and any(c.isalpha() for c in literal)
            groups.append(frozenset([(fold(literal), True) if folded else (literal, False)]))
            run.clear()

    for op, value in items:
        # case-sensitive: any character; case-insensitive: ASCII only (see the module docstring)
        if op is sre.LITERAL and (not ignore_case or value < 128):
            run.append(chr(value))
            continue
        flush()
        groups += _needs_of(op, value, ignore_case)
    flush()
    return groups


def _needs_of(op, value, ignore_case: bool) -> list[frozenset[tuple[str, bool]]]:
    """What one parsed item that is not a usable literal requires."""
    if op is sre.SUBPATTERN:
        _group, add_flags, del_flags, sub = value
        case = ignore_case
        if add_flags & sre.SRE_FLAG_IGNORECASE:
            case = True
        if del_flags & sre.SRE_FLAG_IGNORECASE:
            case = False
        return _needs(list(sub), case)
    if op is sre.BRANCH:
        # a match takes one alternative: the union of one set of each, if every one has a set
        union: set[tuple[str, bool]] = set()
        for alternative in value[1]:
            groups = _needs(list(alternative), ignore_case)
            if not groups:
                return []
            best: frozenset[tuple[str, bool]] = max(groups, key=_rank)
            union |= best
        return [frozenset(union)]
    if op in _REPEATS:
        low, _high, sub = value
        return _needs(list(sub), ignore_case) if low >= 1 else []
    if op is getattr(sre, "ATOMIC_GROUP", None):
        return _needs(list(value), ignore_case)
    if op is sre.ASSERT:
        # a positive lookaround's text must be in the unit too
        return _needs(list(value[1]), ignore_case)
    return []


def leading_literal(pattern: str, ignore_case: bool = True) -> str | None:
    """The literal text that every match of ``pattern`` starts with (as
    written: case-sensitive characters, or case-insensitive ones that are
    ASCII but not letters), or None. A match then starts at an occurrence
    of it, so none can start before the first one: a mask that begins with
    "(" cannot cover a hit that ends before the first "(" of the text."""
    try:
        parsed = sre_parse.parse(pattern, sre.SRE_FLAG_IGNORECASE if ignore_case else 0)
    except Exception:  # noqa: BLE001 - as in required_literals
        return None
    lead = _leading(list(parsed), bool(parsed.state.flags & sre.SRE_FLAG_IGNORECASE))
    return lead or None


def _leading(items: list, ignore_case: bool) -> str:
    """The exact literal at the start of a sequence of parsed items."""
    run = []
    for op, value in items:
        if op is sre.LITERAL and (not ignore_case or (value < 128 and not chr(value).isalpha())):
            run.append(chr(value))
            continue
        if op is sre.SUBPATTERN and not run:
            _group, add_flags, del_flags, sub = value
            case = (ignore_case or bool(add_flags & sre.SRE_FLAG_IGNORECASE)) and not (
                del_flags & sre.SRE_FLAG_IGNORECASE)
            return _leading(list(sub), case)
        break
    return "".join(run)


def literal_text(folded: str) -> str:
    """The folded text as folded literals are looked for in it: with the
    characters of ``UNFOLDED_ASCII_EQUIVALENTS`` read as their letters."""
    for char, letter in UNFOLDED_ASCII_EQUIVALENTS.items():
        if char in folded:
            folded = folded.replace(char, letter)
    return folded


def may_match(text: str, folded: str, literals: Literals | None) -> bool:
    """Whether ``text`` contains a literal of each group of ``literals``
    (always true for None); ``folded`` is :func:`literal_text` of the
    folded text."""
    if literals is None:
        return True
    for group in literals:
        for literal, in_folded in group:
            if literal in (folded if in_folded else text):
                break
        else:
            return False
    return True
