"""Codebook regexes: how a ``re:`` pattern is compiled, and whether it could hang.

A codebook is written by people, and one careless regex can stall a run for
hours. Patterns are compiled by :func:`compile_regex` (the ``regex`` module,
whose timeout stops a runaway match) and checked beforehand by
:func:`backtracking_risk`, which finds the usual shapes of exponential
backtracking in the parsed pattern.
"""

from __future__ import annotations

import re
from functools import cache
from re import _constants as sre  # type: ignore[attr-defined]  # the parser's constants have no stubs
from re import _parser as sre_parse  # type: ignore[attr-defined]

import regex


def compile_regex(pattern: str) -> regex.Pattern:
    """Compile a ``re:`` pattern body (case-insensitive).

    Patterns are matched with the ``regex`` module, whose ``timeout=`` stops a
    match that backtracks too long; ``regex.V0`` keeps the syntax and
    semantics of Python's ``re``, by which they are also checked.
    """
    return regex.compile(pattern, regex.IGNORECASE | regex.V0)


# ------------------------------------------------------------------ regexes that could hang
#
# A backtracking matcher takes exponential time when a repeated part can
# match the same text in more than one way: "(a+)+$" tries every way of
# cutting a run of a's into pieces before it fails. backtracking_risk() finds
# the usual shapes in the parsed pattern; the coder's timeout catches the rest.

_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)
_SINGLE = (sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN)
_ZERO_WIDTH = (sre.AT, sre.ASSERT, sre.ASSERT_NOT)
# Characters on which character classes are compared: ASCII, Latin-1 and a
# few others (dashes, quotes, spaces, Cyrillic, CJK, Arabic digits, emoji).
_UNIVERSE = frozenset(map(chr, range(0x250))) | frozenset(
    "\u2009\u2013\u2014\u2018\u2019\u201c\u201d\u2003\u0416\u0436\u4e2d\u0663\U0001f600")
_CATEGORY_RE = {
    sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_NOT_DIGIT: r"\D", sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S", sre.CATEGORY_WORD: r"\w", sre.CATEGORY_NOT_WORD: r"\W",
}


@cache
def _category(category) -> frozenset[str]:
    rx = re.compile(_CATEGORY_RE[category])
    return frozenset(c for c in _UNIVERSE if rx.match(c))


def _with_case(chars: frozenset[str]) -> frozenset[str]:
    return chars | {v for c in chars for v in (c.lower(), c.upper(), c.casefold()) if len(v) == 1}


def _class_chars(items, ci: bool) -> frozenset[str]:
    """The characters (of _UNIVERSE) of a character class ``[...]``."""
    chars: set[str] = set()
    negate = False
    for op, av in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            chars.add(chr(av))
        elif op is sre.RANGE:
            chars.update(c for c in _UNIVERSE if av[0] <= ord(c) <= av[1])
        elif op is sre.CATEGORY:
            chars |= _category(av)
    found = _with_case(frozenset(chars)) if ci else frozenset(chars)
    return _UNIVERSE - found if negate else found


def _chars(op, av, flags) -> frozenset[str] | None:
    """The characters a one-character node can match; None for other nodes.

    A repeat of a one-character node, and a group around one, count as that
    node (they match runs of those characters).
    """
    ci, dotall = flags
    if op is sre.LITERAL:
        return _with_case(frozenset(chr(av))) if ci else frozenset(chr(av))
    if op is sre.NOT_LITERAL:
        return _UNIVERSE - (_with_case(frozenset(chr(av))) if ci else frozenset(chr(av)))
    if op is sre.ANY:
        return _UNIVERSE if dotall else _UNIVERSE - {"\n"}
    if op is sre.IN:
        return _class_chars(av, ci)
    if op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
        body = list(av[2])
        return _chars(body[0][0], body[0][1], flags) if len(body) == 1 and av[1] > 0 else None
    if op is sre.SUBPATTERN:
        body = list(av[3])
        return _chars(body[0][0], body[0][1], _flags(av, flags)) if len(body) == 1 else None
    return None


def _flags(subpattern_av, flags):
    """(case-insensitive, dot-all) inside a group ``(?i:...)``, ``(?-i:...)``..."""
    _group, add, remove, _body = subpattern_av
    ci, dotall = flags
    ci = (ci or bool(add & sre.SRE_FLAG_IGNORECASE)) and not remove & sre.SRE_FLAG_IGNORECASE
    dotall = (dotall or bool(add & sre.SRE_FLAG_DOTALL)) and not remove & sre.SRE_FLAG_DOTALL
    return ci, dotall


def _nullable(seq) -> bool:
    """Whether the node sequence ``seq`` can match the empty string."""
    return all(_nullable_node(op, av) for op, av in seq)


def _nullable_node(op, av) -> bool:
    if op in _ZERO_WIDTH or op is sre.GROUPREF:
        return True
    if op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
        return av[0] == 0 or _nullable(av[2])
    if op is sre.SUBPATTERN:
        return _nullable(av[3])
    if op is sre.ATOMIC_GROUP:
        return _nullable(av)
    if op is sre.BRANCH:
        return any(_nullable(b) for b in av[1])
    if op is sre.GROUPREF_EXISTS:
        return _nullable(av[1]) or av[2] is None or _nullable(av[2])
    return False


def _first(seq, flags) -> frozenset[str]:
    """Characters that a match of ``seq`` can start with (an estimate)."""
    out: frozenset[str] = frozenset()
    for op, av in seq:
        chars = _chars(op, av, flags)
        if chars is None:
            if op is sre.SUBPATTERN:
                chars = _first(av[3], _flags(av, flags))
            elif op is sre.BRANCH:
                chars = frozenset().union(*(_first(b, flags) for b in av[1]))
            elif op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
                chars = _first(av[2], flags) if av[1] > 0 else frozenset()
            elif op is sre.ATOMIC_GROUP:
                chars = _first(av, flags)
            else:
                chars = frozenset()
        out |= chars
        if not _nullable_node(op, av):
            break
    return out



def _absorbed(op, av, chars, flags) -> bool:
    """Whether node ``op, av`` beside a repeat of ``chars`` leaves the cut
    between two rounds of the outer repeat open: it can match nothing, or
    characters that the inner repeat could take as well."""
    if _nullable_node(op, av):
        return True
    own = _chars(op, av, flags)
    return chars is not None and own is not None and bool(own & chars)


def _inner_repeats(seq, flags) -> list[frozenset[str] | None]:
    """Unbounded repeats inside ``seq`` whose neighbours are all absorbed
    (see _absorbed): the characters each repeats (None if not one character).

    Inside an unbounded repeat, any of them makes "(a+)+": a run can be cut
    between the inner and the outer repeat in exponentially many ways.
    Atomic groups and possessive repeats do not backtrack, so they are not
    looked into.
    """
    seq = list(seq)
    out = []
    for i, (op, av) in enumerate(seq):
        found: list[frozenset[str] | None] = []
        if op in _REPEATS and av[1] == sre.MAXREPEAT:
            body = list(av[2])
            found.append(_chars(body[0][0], body[0][1], flags) if len(body) == 1 else None)
        elif op in _REPEATS and av[1] > 0:
            found = _inner_repeats(av[2], flags)
        elif op is sre.SUBPATTERN:
            found = _inner_repeats(av[3], _flags(av, flags))
        elif op is sre.BRANCH:
            found = [c for b in av[1] for c in _inner_repeats(b, flags)]
        for chars in found:
            if all(_absorbed(o, a, chars, flags) for j, (o, a) in enumerate(seq) if j != i):
                out.append(chars)
    return out


def _last_branch(seq, flags):
    """(alternatives, flags) of an alternation that ends ``seq``, else None."""
    seq = list(seq)
    if not seq:
        return None
    op, av = seq[-1]
    if op is sre.BRANCH:
        return av[1], flags
    if op is sre.SUBPATTERN:
        return _last_branch(av[3], _flags(av, flags))
    return None


def _overlapping_alternatives(branches, flags) -> bool:
    """Whether two alternatives can start alike: both start with a common
    character, or one can match nothing (Python parses "a|ab" as "a(?:|b)")."""
    for i, a in enumerate(branches):
        for b in branches[i + 1:]:
            if _nullable(a) or _nullable(b) or _first(a, flags) & _first(b, flags):
                return True
    return False


def _fixed_chars(seq, flags) -> list[frozenset[str]] | None:
    """Per position, the characters of a sequence of one-character nodes."""
    out = []
    for op, av in seq:
        chars = _chars(op, av, flags) if op in _SINGLE else None
        if chars is None:
            return None
        out.append(chars)
    return out


def _same_text_alternatives(branches, flags) -> bool:
    """Whether two alternatives of fixed length can match the same text."""
    fixed = [f for f in (_fixed_chars(b, flags) for b in branches) if f is not None]
    for i, a in enumerate(fixed):
        for b in fixed[i + 1:]:
            if len(a) == len(b) and all(x & y for x, y in zip(a, b)):
                return True
    return False


def _risk(seq, flags, in_repeat: bool) -> str | None:
    """The first shape in ``seq`` that can backtrack exponentially, described."""
    for op, av in seq:
        unbounded = op in _REPEATS and av[1] == sre.MAXREPEAT
        if unbounded and _inner_repeats(av[2], flags):
            return "an unbounded repeat inside an unbounded repeat, as in (a+)+"
        last = _last_branch(av[2], flags) if unbounded else None
        if last and _overlapping_alternatives(*last):
            return "an unbounded repeat of alternatives that can match the same text, as in (a|ab)*"
        if op is sre.BRANCH and in_repeat and _same_text_alternatives(av[1], flags):
            return "alternatives that match the same text inside an unbounded repeat, as in ((a|a)x)*"
        for child in _sub_sequences(op, av, flags, in_repeat or unbounded):
            found = _risk(*child)
            if found:
                return found
    return None


def _sub_sequences(op, av, flags, in_repeat: bool) -> list[tuple]:
    """(sequence, flags, inside a repeat) of the parts of one regex node."""
    if op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
        return [(av[2], flags, in_repeat)]
    if op is sre.SUBPATTERN:
        return [(av[3], _flags(av, flags), in_repeat)]
    if op is sre.BRANCH:
        return [(b, flags, in_repeat) for b in av[1]]
    if op is sre.ATOMIC_GROUP:
        return [(av, flags, in_repeat)]
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return [(av[1], flags, in_repeat)]
    if op is sre.GROUPREF_EXISTS:
        return [(b, flags, in_repeat) for b in av[1:] if b is not None]
    return []


def backtracking_risk(body: str) -> str | None:
    """Why the regex ``body`` (a ``re:`` pattern without its prefix) could
    take exponential time, or None if no known shape is found.

    Found: an unbounded repeat inside an unbounded repeat where the cut
    between the two is ambiguous ("(a+)+", "(\\w+\\s?)*", "(x+x+)+"; not
    "(\\s*;\\s*)*", whose ";" fixes it), an unbounded repeat ending in
    alternatives that can start alike ("(a|a)*", "(a|ab)*") and alternatives
    of the same fixed text inside one ("((a|a)x)*"). Not every slow pattern
    has these shapes: the coder's timeout is the second line of defence.
    """
    parsed = sre_parse.parse(body, re.IGNORECASE)
    flags = (bool(parsed.state.flags & sre.SRE_FLAG_IGNORECASE), bool(parsed.state.flags & sre.SRE_FLAG_DOTALL))
    return _risk(parsed, flags, False)
