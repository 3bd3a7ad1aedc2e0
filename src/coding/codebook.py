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
from pathlib import Path

import regex
import yaml

from coding.errors import CodingError
from coding.patterns import backtracking_risk, compile_regex
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


@dataclass(frozen=True, kw_only=True)
class Meaning:
    """What a variable or code means, as coders read it: its ``definition``
    and what to ``include`` and ``exclude`` (given by keyword only)."""

    definition: str = ""
    include: str = ""
    exclude: str = ""


@dataclass(frozen=True)
class Variable(Meaning):
    """A variable of the analysis (economic, strategic...); codes belong to one."""

    id: str
    label: str


@dataclass(frozen=True)
class Code(Meaning):
    """A code: its meaning, test texts and matching patterns."""

    id: str
    label: str
    variable: str
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
try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


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


def check_pattern(pattern: str, path: StrPath, line: int | None, item: str) -> None:
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
            **_meaning(rv, path, line, vid),
        ))
    return variables


def _meaning(raw: dict, path, line, item: str) -> dict[str, str]:
    """The :class:`Meaning` fields of a variable's or code's mapping, checked to be text."""
    return {key: _text(raw.get(key), path, line, item, key) for key in ("definition", "include", "exclude")}


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
        **_meaning(rc, path, line, cid),
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
