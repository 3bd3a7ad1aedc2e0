"""Unitized agreement over the store: people's codings taken as spans.

A coding of a unit is a span over the unit's characters ``[start, end)`` in
its document; free selections (span codings) are spans as they were made. The
continuum compared is made of the units every named coder saw (their seen
sets, inferred ones taken by the seen rule of :mod:`coding.agreement.audit`); the parts
of spans outside it do not count. The coefficients are those of
:mod:`coding.agreement.unitized`.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import TYPE_CHECKING

import pandas as pd

from coding.agreement.audit import SEEN_RULES, check_coders, inferred_coders
from coding.agreement.unitized import Span, unitized_table
from coding.errors import CodingError
from coding.records import AUTOMATIC_CODERS

if TYPE_CHECKING:
    from coding.store import Store


def _person(coders: list[str]) -> str | None:
    """A coder who is a person: the units it saw bound the rows read (an
    automatic coder's cover the whole corpus); None when all are automatic."""
    return next((c for c in coders if c not in AUTOMATIC_CODERS), None)


def spans_from_rows(rows: Iterable[tuple]) -> tuple[list[Span], dict[str, str]]:
    """Spans and {code: variable} from span rows ``(coder, document_id, start,
    end, code, variable, ...)`` (further fields are ignored). A coding of a
    variable without a code is a span of the variable itself."""
    spans, variable_of = [], {}
    for coder, document_id, start, end, code, variable, *_ in rows:
        value = code or variable
        variable_of[value] = variable
        spans.append(Span(coder, document_id, int(start), int(end), value))
    return spans, variable_of


def common_sections(store: Store, coders: list[str], seen_rule: str = "coded-documents",
                    units=None) -> dict[str, list]:
    """{document_id: [(start, end)]}: the units every one of ``coders`` saw
    (of ``units``, unit ids, when given)."""
    within = _person(coders)
    if seen_rule not in SEEN_RULES:
        raise CodingError(f"unknown seen rule '{seen_rule}' (use one of: {', '.join(SEEN_RULES)})")
    allowed = {c: {u for _r, u in store.seen_by_rule(c, seen_rule)} for c in inferred_coders(store, coders)}
    seen_by: dict[tuple, set] = {}
    for coder, unit_id, document_id, start, end in store.seen_ranges(coders, within=within):
        if (coder not in allowed or unit_id in allowed[coder]) and (units is None or unit_id in units):
            seen_by.setdefault((document_id, start, end), set()).add(coder)
    sections: dict[str, list] = {}
    for (document_id, start, end), who in seen_by.items():
        if len(who) == len(coders) and end > start:
            sections.setdefault(document_id, []).append((start, end))
    return sections


def unitized_agreement(store: Store, coders: list[str], *, seen_rule: str = "coded-documents",
                       n_resamples: int = 1000, seed: int = 12345, spans: Iterable[tuple] = (),
                       units=None) -> pd.DataFrame:
    """The unitized agreement table of ``coders`` (see
    :func:`coding.agreement.unitized.unitized_table`) over the units they all saw (of
    ``units``, unit ids, when given), from their unit codings and ``spans``
    (further span rows, as :func:`spans_from_rows` takes them)."""
    check_coders(store.coverage(), coders)
    # a coder whose selections came from a QDA program is compared on them as made; the unit
    # codings derived from them would only repeat them at the unit's edges
    free = [row for coder in coders for row in store.span_codings(coder)]
    by_units = [c for c in coders if c not in {row[0] for row in free}]
    rows = chain(store.unit_spans(by_units, within=_person(coders)) if by_units else (), free, spans)
    span_list, variable_of = spans_from_rows(rows)
    sections = common_sections(store, coders, seen_rule, units)
    if not sections:
        raise CodingError(f"no unit was seen by every one of {', '.join(coders)}")
    return unitized_table(span_list, sections, coders, variable_of, n_resamples=n_resamples, seed=seed)


def format_unitized(table: pd.DataFrame) -> str:
    """The unitized table as fixed-width text for the terminal."""

    def num(value) -> str:
        return f"{'-':>6}" if value != value else f"{value:>6.3f}"

    width = max([len("item")] + [len(str(i)) for i in table["item"]])
    lines = [f"{'level':<8} {'item':<{width}} {'coded':>7} {'uα':>6} {'95% interval':>15} {'|uα':>6} {'cuα':>6} "
             f"{'Cuα':>6} {'(k)uα':>6}"]
    for r in table.itertuples():
        interval = "-" if r.u_low != r.u_low else f"[{r.u_low:.3f}, {r.u_high:.3f}]"
        lines.append(f"{r.level:<8} {r.item:<{width}} {r.coded:>7} {num(r.u_alpha)} {interval:>15} "
                     f"{num(r.binary_alpha)} {num(r.cu_alpha)} {num(r.Cu_alpha)} {num(r.k_alpha)}")
    return "\n".join(lines)
