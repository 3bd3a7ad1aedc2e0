"""Load and validate the codebook: variables, codes and their patterns.

The codebook is the configuration of the whole analysis. It is read from a
YAML file, validated strictly (every problem is reported as one line naming
the file, the line and the code), and identified by a version: a hash of the
file's bytes, recorded with every coding made under it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from re import _constants as sre
from re import _parser as sre_parse

import regex
import yaml

from coding.errors import CodingError
from coding.records import StrPath

TOP_KEYS = {"name", "description", "settings", "variables", "codes"}
SETTINGS_KEYS = {"mask_patterns", "study_period", "referenced_years", "variable_colours", "include_unit_types"}
VARIABLE_KEYS = {"id", "label", "definition", "include", "exclude"}
CODE_KEYS = {
    "id", "label", "variable", "definition", "include", "exclude",
    "examples", "counterexamples", "patterns", "exclude_patterns", "context_patterns",
}
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
REGEX_PREFIX = "re:"
CASE_PREFIX = "cs:"
_LINE = "__line__"
_COLOUR_RE = re.compile(r"#[0-9a-fA-F]{6}")

#: Years counted when texts mention years, unless the codebook's
#: ``settings.referenced_years`` says otherwise: 1900 to 2100, the years a
#: modern text is likely to name; smaller four-digit numbers (counts, sums)
#: are more often not years.
DEFAULT_REFERENCED_YEARS = (1900, 2100)


@dataclass(frozen=True)
class Variable:
    """A variable of the analysis (economic, strategic...); codes belong to one."""

    id: str
    label: str
    definition: str = ""
    include: str = ""
    exclude: str = ""


@dataclass(frozen=True)
class Code:
    """A code: definition, usage notes, test texts and matching patterns."""

    id: str
    label: str
    variable: str
    definition: str = ""
    include: str = ""
    exclude: str = ""
    examples: tuple[str, ...] = ()
    counterexamples: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    exclude_patterns: tuple[str, ...] = ()
    context_patterns: tuple[str, ...] = ()
    line: int | None = None


class FrozenMap(Mapping):
    """A read-only, hashable mapping, so that frozen dataclasses can hold one."""

    __slots__ = ("_data",)

    def __init__(self, data=()):
        self._data = dict(data)

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self) -> Iterator:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


@dataclass(frozen=True)
class StudySettings:
    """Study-wide settings from the codebook's ``settings:``.

    ``study_period``: (first year, last year) of the study, or None when the
    codebook gives none. ``referenced_years``: (first, last) of the years
    counted when texts mention years (default ``DEFAULT_REFERENCED_YEARS``).
    ``variable_colours``: variable id -> ``"#rrggbb"``, for the variables
    given a colour (others: the reports' choice). ``include_unit_types``:
    the units other than prose (headings) that reports count in shares
    (default: none; they are reported apart).
    """

    study_period: tuple[int, int] | None = None
    referenced_years: tuple[int, int] = DEFAULT_REFERENCED_YEARS
    variable_colours: Mapping[str, str] = field(default_factory=FrozenMap)
    include_unit_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Codebook:
    """A validated codebook. ``version`` is the first 12 hex digits of the
    SHA-256 of the file's bytes, so any edit gives a new version."""

    path: str
    version: str
    name: str
    description: str
    variables: tuple[Variable, ...]
    codes: tuple[Code, ...]
    mask_patterns: tuple[str, ...] = ()
    settings: StudySettings = field(default_factory=StudySettings)
    content: str = field(default="", repr=False)

    @property
    def variable_ids(self) -> list[str]:
        return [v.id for v in self.variables]

    @property
    def code_ids(self) -> list[str]:
        return [c.id for c in self.codes]

    def code(self, code_id: str) -> Code:
        for c in self.codes:
            if c.id == code_id:
                return c
        raise KeyError(code_id)

    def variable(self, variable_id: str) -> Variable:
        for v in self.variables:
            if v.id == variable_id:
                return v
        raise KeyError(variable_id)

    def codes_of(self, variable_id: str) -> list[Code]:
        return [c for c in self.codes if c.variable == variable_id]


# libyaml's loader when PyYAML was built with it (much faster), else Python's
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):
    """Safe loader that remembers the line of every mapping, for messages."""


class _DuplicateKey(yaml.YAMLError):
    """A mapping that gives the same key twice (YAML would keep the last)."""

    def __init__(self, key, first: int, line: int, item: str | None):
        super().__init__(f"duplicate key {key!r}")
        self.key, self.first, self.line, self.item = key, first, line, item


def _check_duplicate_keys(loader, node) -> None:
    """Raise _DuplicateKey if a key of ``node`` is given twice.

    Only the keys written in the mapping itself are compared: keys brought
    in by a merge (``<<: *anchor``) may be overridden, as YAML intends.
    """
    keys = [(k, v) for k, v in node.value
            if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge"]
    # the mapping's id, if it has one, names the item in the message
    item = next((v.value for k, v in keys if k.value == "id" and isinstance(v, yaml.ScalarNode)), None)
    seen: dict = {}
    for key_node, _value in keys:
        key = loader.construct_object(key_node)  # scalars: always hashable
        line = key_node.start_mark.line + 1
        if key in seen:
            raise _DuplicateKey(key, seen[key], line, item)
        seen[key] = line


def _construct_mapping(loader, node, deep=False):
    _check_duplicate_keys(loader, node)
    mapping = _SafeLoader.construct_mapping(loader, node, deep=deep)
    mapping[_LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


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
        return _chars(*body[0], flags) if len(body) == 1 and av[1] > 0 else None
    if op is sre.SUBPATTERN:
        body = list(av[3])
        return _chars(*body[0], _flags(av, flags)) if len(body) == 1 else None
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
            found.append(_chars(*body[0], flags) if len(body) == 1 else None)
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
        if op not in _SINGLE:
            return None
        out.append(_chars(op, av, flags))
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

def _text(value, path, line, item, key) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CodingError(f"'{key}' must be text", path, line, item)
    return value.strip()


def _text_list(value, path, line, item, key) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CodingError(f"'{key}' must be a list of texts", path, line, item)
    return tuple(v for v in value)


def _check_keys(mapping, allowed, path, what, item=None):
    if not isinstance(mapping, dict):
        raise CodingError(f"{what} must be a mapping", path, None, item)
    unknown = sorted(k for k in mapping if k != _LINE and k not in allowed)
    if unknown:
        raise CodingError(
            f"unknown key '{unknown[0]}' in {what} (allowed: {', '.join(sorted(allowed))})",
            path, mapping.get(_LINE), item,
        )


def _short(pattern: str, limit: int = 80) -> str:
    """A pattern as quoted in a message: a very long one is cut, so that the message stays one readable line."""
    return pattern if len(pattern) <= limit else pattern[:limit] + "..."


def check_pattern(pattern: str, path: StrPath, line: int, item: str) -> None:
    """Raise CodingError if a pattern is empty or its regex does not compile."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise CodingError("empty pattern", path, line, item)
    if pattern.startswith(REGEX_PREFIX):
        body = pattern[len(REGEX_PREFIX):]
        if not body.strip():
            raise CodingError("empty regex pattern", path, line, item)
        try:
            re.compile(body, re.IGNORECASE)  # the syntax accepted is Python's
            compiled = compile_regex(body)
            if compiled.search("") is not None:
                raise CodingError(f"pattern {_short(pattern)!r} matches the empty string", path, line, item)
            risk = backtracking_risk(body)
        except (re.error, regex.error, OverflowError) as exc:  # OverflowError: a repeat count past 2**32
            raise CodingError(f"pattern {_short(pattern)!r} does not compile: {exc}", path, line, item) from None
        except RecursionError:
            raise CodingError(f"pattern {_short(pattern)!r} nests its groups too deeply", path, line, item) from None
        if risk:
            raise CodingError(f"pattern {pattern!r} could take exponential time: {risk}", path, line, item)
    else:
        term = pattern.removeprefix(CASE_PREFIX)
        if not term.strip():
            raise CodingError("empty case-sensitive pattern", path, line, item)
        # Folding turns dashes into spaces, and a hit needs no letter or digit
        # beside it: such a term matches nothing ("--") or stray punctuation
        # anywhere ("..." between two spaces).
        if not any(c.isalnum() for c in term):
            raise CodingError(f"pattern {pattern!r} has no letter or digit: a term must contain a word "
                              "(write punctuation as a 're:' pattern)", path, line, item)


def _new_id(mapping: dict, kind: str, seen: dict, path) -> str:
    """The valid, not yet used id of a variable or code; records it in ``seen``."""
    line = mapping.get(_LINE)
    value = mapping.get("id")
    if value is None or value == "":
        raise CodingError(f"{kind} without an 'id'", path, line)
    if not isinstance(value, str):
        # `id: 5` is a number to YAML, not a missing id
        raise CodingError(f"'id' must be text (a lower-case name), not {value!r}", path, line)
    if not ID_RE.match(value):
        raise CodingError("ids must be lower-case letters, digits and '_'", path, line, value)
    if value in seen:
        raise CodingError(f"duplicate id (first at line {seen[value]})", path, line, value)
    seen[value] = line
    return value


def _new_label(label: str, kind: str, item: str, labels: dict, path, line) -> str:
    """``label``, refused if another variable (or code) has it.

    Labels are compared without case and outer spaces, because QDA programs
    that import the codebook need unique code names and silently drop the
    codings of a duplicate.
    """
    key = label.strip().casefold()
    if key in labels:
        other, other_line = labels[key]
        raise CodingError(f"duplicate label {label!r} ({kind} '{other}' at line {other_line} has it)",
                          path, line, item)
    labels[key] = (item, line)
    return label


def _parse_variables(raw: dict, seen: dict, path) -> list[Variable]:
    """The validated variables of the codebook mapping ``raw``."""
    raw_vars = raw.get("variables")
    if not isinstance(raw_vars, list) or not raw_vars:
        raise CodingError("'variables' must be a non-empty list", path, raw.get(_LINE))
    labels: dict[str, tuple[str, int | None]] = {}
    variables = []
    for rv in raw_vars:
        _check_keys(rv, VARIABLE_KEYS, path, "a variable")
        line = rv.get(_LINE)
        vid = _new_id(rv, "variable", seen, path)
        label = _text(rv.get("label"), path, line, vid, "label") or vid
        variables.append(Variable(
            id=vid,
            label=_new_label(label, "variable", vid, labels, path, line),
            definition=_text(rv.get("definition"), path, line, vid, "definition"),
            include=_text(rv.get("include"), path, line, vid, "include"),
            exclude=_text(rv.get("exclude"), path, line, vid, "exclude"),
        ))
    return variables


def _code_variable(rc: dict, var_ids: set[str], path, line, cid: str) -> str:
    """The id of the variable that code ``cid`` belongs to."""
    var = rc.get("variable")
    if var is None or var == "":
        raise CodingError("code has no 'variable'", path, line, cid)
    if not isinstance(var, str):
        raise CodingError("'variable' must be text (one variable id)", path, line, cid)
    if var not in var_ids:
        raise CodingError(f"unknown variable '{var}'", path, line, cid)
    return var


def _parse_code(rc, var_ids: set[str], seen: dict, labels: dict, path) -> Code:
    """One validated code of the codebook's ``codes`` list."""
    given_id = rc.get("id") if isinstance(rc, dict) else None
    _check_keys(rc, CODE_KEYS, path, "a code", given_id if isinstance(given_id, str) else None)
    line = rc.get(_LINE)
    cid = _new_id(rc, "code", seen, path)
    var = _code_variable(rc, var_ids, path, line, cid)
    patterns = _text_list(rc.get("patterns"), path, line, cid, "patterns")
    if not patterns:
        raise CodingError("empty pattern list", path, line, cid)
    excl = _text_list(rc.get("exclude_patterns"), path, line, cid, "exclude_patterns")
    context = _text_list(rc.get("context_patterns"), path, line, cid, "context_patterns")
    for p in patterns + excl + context:
        check_pattern(p, path, line, cid)
    both = sorted(set(patterns) & set(context))
    if both:
        raise CodingError(f"pattern {both[0]!r} is in both 'patterns' and 'context_patterns'", path, line, cid)
    label = _text(rc.get("label"), path, line, cid, "label") or cid
    return Code(
        id=cid,
        label=_new_label(label, "code", cid, labels, path, line),
        variable=var,
        definition=_text(rc.get("definition"), path, line, cid, "definition"),
        include=_text(rc.get("include"), path, line, cid, "include"),
        exclude=_text(rc.get("exclude"), path, line, cid, "exclude"),
        examples=_text_list(rc.get("examples"), path, line, cid, "examples"),
        counterexamples=_text_list(rc.get("counterexamples"), path, line, cid, "counterexamples"),
        patterns=patterns,
        exclude_patterns=excl,
        context_patterns=context,
        line=line,
    )


def _year_range(settings: dict, key: str, path) -> tuple[int, int] | None:
    """``settings[key]`` as (first year, last year), or None if not given."""
    value = settings.get(key)
    if value is None:
        return None
    line, item = settings.get(_LINE), f"settings.{key}"
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(y, int) and not isinstance(y, bool) for y in value)):
        raise CodingError("must be two years [first, last], e.g. [2012, 2023]", path, line, item)
    first, last = value
    if not all(1000 <= y <= 9999 for y in value):
        raise CodingError(f"years must have four digits, not [{first}, {last}]", path, line, item)
    if first > last:
        raise CodingError(f"the first year ({first}) is after the last ({last})", path, line, item)
    return first, last


def _variable_colours(settings: dict, var_ids: set[str], path) -> FrozenMap:
    """``settings.variable_colours``: variable id -> ``"#rrggbb"``."""
    value = settings.get("variable_colours")
    if value is None:
        return FrozenMap()
    item = "settings.variable_colours"
    if not isinstance(value, dict):
        raise CodingError('must map variable ids to colours "#rrggbb"', path, settings.get(_LINE), item)
    line = value.get(_LINE)
    colours = {}
    for var, colour in value.items():
        if var == _LINE:
            continue
        if var not in var_ids:
            raise CodingError(f"unknown variable '{var}'", path, line, item)
        if not isinstance(colour, str) or not _COLOUR_RE.fullmatch(colour.strip()):
            # an unquoted #1b9e77 is a YAML comment, so the value is empty
            raise CodingError(f'the colour of \'{var}\' must be "#rrggbb" in quotes, not {colour!r}',
                              path, line, item)
        colours[var] = colour.strip()
    return FrozenMap(colours)


def _unit_types(settings: dict, path) -> tuple[str, ...]:
    """``settings.include_unit_types``: unit types other than prose counted in shares."""
    from coding.segment import NON_PROSE_TYPES

    value = settings.get("include_unit_types")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(t, str) and t in NON_PROSE_TYPES for t in value):
        raise CodingError(f"must be a list of unit types among: {', '.join(NON_PROSE_TYPES)}",
                          path, settings.get(_LINE), "settings.include_unit_types")
    return tuple(sorted(set(value)))


def _study_settings(settings: dict, var_ids: set[str], path) -> StudySettings:
    """The validated study settings of the codebook's ``settings:``."""
    return StudySettings(
        study_period=_year_range(settings, "study_period", path),
        referenced_years=_year_range(settings, "referenced_years", path) or DEFAULT_REFERENCED_YEARS,
        variable_colours=_variable_colours(settings, var_ids, path),
        include_unit_types=_unit_types(settings, path),
    )


def _load_yaml(content: str, path):
    """The YAML document in ``content``; duplicate keys and syntax errors are CodingErrors."""
    try:
        return yaml.load(content, Loader=_LineLoader)
    except _DuplicateKey as exc:
        raise CodingError(f"duplicate key {exc.key!r} (lines {exc.first} and {exc.line})",
                          path, exc.line, exc.item) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CodingError(f"invalid YAML: {problem}", path, line) from None


def parse_codebook(content: str, path: str = "<codebook>") -> Codebook:
    """Validate codebook YAML text and return a :class:`Codebook`."""
    raw = _load_yaml(content, path)
    if raw is None:
        raise CodingError("the codebook is empty", path)
    _check_keys(raw, TOP_KEYS, path, "the codebook")

    settings = raw.get("settings") or {}
    _check_keys(settings, SETTINGS_KEYS, path, "settings")
    masks = _text_list(settings.get("mask_patterns"), path, settings.get(_LINE), "settings", "mask_patterns")
    for m in masks:
        check_pattern(REGEX_PREFIX + m, path, settings.get(_LINE), "settings.mask_patterns")

    seen: dict[str, int | None] = {}  # ids of variables and codes share one name space
    variables = _parse_variables(raw, seen, path)
    var_ids = {v.id for v in variables}
    study = _study_settings(settings, var_ids, path)
    raw_codes = raw.get("codes")
    if not isinstance(raw_codes, list) or not raw_codes:
        raise CodingError("'codes' must be a non-empty list", path, raw.get(_LINE))
    labels: dict[str, tuple[str, int | None]] = {}
    codes = [_parse_code(rc, var_ids, seen, labels, path) for rc in raw_codes]

    version = hashlib.sha256(content.encode("utf-8")).hexdigest()[:12]
    return Codebook(
        path=str(path),
        version=version,
        name=_text(raw.get("name"), path, raw.get(_LINE), None, "name"),
        description=_text(raw.get("description"), path, raw.get(_LINE), None, "description"),
        variables=tuple(variables),
        codes=tuple(codes),
        mask_patterns=masks,
        settings=study,
        content=content,
    )


def load_codebook(path: StrPath) -> Codebook:
    """Read and validate a codebook file; raise CodingError on any problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CodingError(f"cannot read codebook: {exc.strerror}", path) from None
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CodingError(f"not UTF-8 (byte {exc.start})", path) from None
    return parse_codebook(content, str(path))


#: colours of variables the codebook gives none (settings.variable_colours), in order
SPARE_COLOURS = ["#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4", "#666666"]


def variable_colours(variables: list[str], configured=None) -> dict[str, str]:
    """Fixed colour per variable id: those the codebook's settings give keep
    theirs, the others take spare colours in order (the reports, the coding
    app and exchange files use the same)."""
    configured = configured or {}
    spare = iter(SPARE_COLOURS * (1 + len(variables) // len(SPARE_COLOURS)))
    return {v: configured.get(v) or next(spare) for v in variables}
