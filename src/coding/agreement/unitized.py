"""Agreement on unitized continua: Krippendorff's alpha for spans.

Coders who mark stretches of text (spans) rather than code given units are
compared with the unitizing coefficients of Krippendorff, Mathet, Bouvry and
Widlöcher (2016), "On the reliability of unitizing textual continua: further
developments", Quality & Quantity 50:2347-2364 (the family ATLAS.ti reports):

* ``u_alpha`` (uα): agreement on where units lie and which value they carry,
  gaps (stretches no coder marked as a unit) included as a value of their own;
* ``binary_alpha`` (|uα): units against gaps, values ignored;
* ``cu_alpha`` (cuα): agreement on the values of the stretches where the
  coders' units overlap, ignoring where they do not (unitizing aside);
* ``Cu_alpha`` (Cuα): cuα with the variables (groups of codes) as values;
* ``k_alpha`` ((k)uα): cuα for one value k against the others.

Input is plain data: spans ``(coder, continuum, start, end, code)`` with
``start`` and ``end`` character offsets, ``end`` exclusive, and the stretches
of each continuum (document) that every coder worked on. The continua are laid
end to end into one continuum; every term of the coefficients is a sum over
stretches, so this is what computing them on one long text would give.

Overlapping spans of one coder: spans of the same code that overlap are
joined (two that only touch stay two units, as does a span cut by the end
of a section); where spans of different codes overlap the stretch takes the set of
codes as its value ("a+b"), so that two coders agree on a stretch when they
applied the same codes there. A coder without overlaps is taken as it stands.

Intervals: a block bootstrap. The continuum is cut wherever no coder's unit
runs across the cut (a gap goes with the block before it); blocks are drawn
with replacement, as many as there are, and the coefficient recomputed; the
interval is the percentile interval of the defined values, withheld (NaN) when
more than ``max_dropped`` of the resamples are undefined, as for
:func:`coding.agreement.bootstrap_alpha`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from coding.errors import CodingError

__all__ = ["Span", "UNITIZED_COLUMNS", "Unitized", "coefficients", "layer_units", "unitized_table"]

NAN = float("nan")
GAP = ""  # the value of a stretch no unit covers (the paper's empty value)

#: Columns of :func:`unitized_table`, in order.
UNITIZED_COLUMNS = ["level", "item", "n_coders", "length", "coded", "u_alpha", "u_low", "u_high",
                    "binary_alpha", "cu_alpha", "Cu_alpha", "k_alpha"]


class Span(NamedTuple):
    """One coder's coding of the characters ``[start, end)`` of a continuum."""

    coder: str
    continuum: str
    start: int
    end: int
    code: str


class Unitized(NamedTuple):
    """The coefficients of one unitized layer; NaN where undefined."""

    u_alpha: float
    binary_alpha: float
    cu_alpha: float
    #: (k)uα of each value (code, or set of codes joined by "+")
    k_alpha: dict


# --------------------------------------------------------------------------
# laying the continua end to end


def _offsets(sections: Mapping[str, Sequence[tuple[int, int]] | int]) -> tuple[dict, int]:
    """{continuum: [(start, end, global start)]} of the sections kept, in order, and the total length.
    A continuum given by its length is one section, the whole of it."""
    placed, total = {}, 0
    for continuum in sorted(sections):
        rows: list[tuple[int, int, int]] = []
        stretches = sections[continuum]
        for start, end in sorted([(0, stretches)] if isinstance(stretches, int) else stretches):
            if end <= start:
                continue
            if rows and start < rows[-1][1]:
                raise CodingError("sections of a continuum overlap", item=f"{continuum} at {start}")
            rows.append((start, end, total))
            total += end - start
        placed[continuum] = rows
    return placed, total


def _placed_spans(spans: Iterable[Span], placed: dict) -> list[tuple[str, int, int, str]]:
    """(coder, global start, global end, code) of the parts of ``spans`` inside the sections."""
    ends = {continuum: [r[1] for r in rows] for continuum, rows in placed.items()}
    out = []
    for span in spans:
        coder, continuum, start, end, code = span
        if end < start or start < 0:
            raise CodingError(f"span ends before it starts or starts before 0 ({start}-{end})",
                              item=f"{coder} in {continuum}")
        rows = placed.get(continuum, ())
        # sections are sorted and apart: start from the first one that ends after the span starts
        for s_start, s_end, at in rows[bisect_right(ends[continuum], start) if rows else 0:]:
            if s_start >= end:
                break
            low, high = max(start, s_start), min(end, s_end)
            if low < high:
                out.append((coder, low - s_start + at, high - s_start + at, code))
    return out


def layer_units(placed: Iterable[tuple[str, int, int, str]], coders: Sequence[str]) -> dict[str, list]:
    """{coder: [(start, end, value)]}: each coder's units, sorted and not
    overlapping (same-code overlaps joined, different codes' overlaps split
    into stretches valued with the set of codes, joined by "+")."""
    by_coder: dict[str, dict[str, list]] = {c: {} for c in coders}
    for coder, start, end, code in placed:
        if coder in by_coder and end > start:
            by_coder[coder].setdefault(code, []).append((start, end))
    units = {}
    for coder, codes in by_coder.items():
        edges = []  # (position, +1/-1, code) of the joined spans
        for code, rows in codes.items():
            rows.sort()
            run_start, run_end = rows[0]
            for start, end in rows[1:]:
                if start < run_end:
                    run_end = max(run_end, end)
                    continue
                edges += [(run_start, 1, code), (run_end, -1, code)]
                run_start, run_end = start, end
            edges += [(run_start, 1, code), (run_end, -1, code)]
        units[coder] = _split(edges)
    return units


def _split(edges: list) -> list[tuple[int, int, str]]:
    """Stretches between consecutive edges, valued with the codes open there."""
    edges.sort(key=lambda e: (e[0], e[1]))
    out: list[tuple[int, int, str]] = []
    open_codes: dict[str, int] = {}
    last = None
    for position, step, code in edges:
        if open_codes and last is not None and position > last:
            out.append((last, position, "+".join(sorted(open_codes))))
        open_codes[code] = open_codes.get(code, 0) + step
        if not open_codes[code]:
            del open_codes[code]
        last = position
    return out


# --------------------------------------------------------------------------
# the sums the coefficients are made of, per block


class _Blocks(NamedTuple):
    values: list  # value labels; index 0 is the gap
    features: np.ndarray  # blocks x features, additive over blocks
    m: int
    coded: int  # characters covered by at least one coder's unit


def _pieces(units: dict[str, list], length: int):
    """Elementary stretches (between any two boundaries) with each coder's unit and value on them."""
    coders = list(units)
    labels = sorted({v for rows in units.values() for *_, v in rows})
    index = {v: k + 1 for k, v in enumerate(labels)}
    boundaries = {0, length}
    for rows in units.values():
        for start, end, _ in rows:
            boundaries.update((start, end))
    cuts = np.array(sorted(c for c in boundaries if 0 <= c <= length), dtype=np.int64)
    starts, lengths = cuts[:-1], np.diff(cuts)
    unit = np.full((len(coders), starts.size), -1, dtype=np.int64)  # unit number per coder, -1 gap
    value = np.zeros((len(coders), starts.size), dtype=np.int64)
    unit_value: list[int] = []
    unit_coder: list[int] = []
    unit_length: list[int] = []
    unit_start: list[int] = []
    for i, coder in enumerate(coders):
        rows = units[coder]
        if rows:
            _place(rows, starts, [index[r[2]] for r in rows], len(unit_value), unit[i], value[i])
        unit_value += [index[r[2]] for r in rows]
        unit_coder += [i] * len(rows)
        unit_length += [r[1] - r[0] for r in rows]
        unit_start += [r[0] for r in rows]
    first_piece = np.searchsorted(starts, np.array(unit_start, dtype=np.int64))
    return [GAP, *labels], lengths, unit, value, (np.array(unit_value, dtype=np.int64),
                                                   np.array(unit_coder, dtype=np.int64),
                                                   np.array(unit_length, dtype=np.float64), first_piece)


def _place(rows: list, starts: np.ndarray, values: list[int], first: int, unit: np.ndarray,
           value: np.ndarray) -> None:
    """Fill one coder's row of unit numbers (from ``first``) and values over the pieces starting at ``starts``."""
    u_start = np.array([r[0] for r in rows], dtype=np.int64)
    u_end = np.array([r[1] for r in rows], dtype=np.int64)
    k = np.searchsorted(u_start, starts, side="right") - 1
    inside = (k >= 0) & (starts < u_end[np.maximum(k, 0)])
    unit[inside] = k[inside] + first
    value[inside] = np.array(values, dtype=np.int64)[k[inside]]


def _blocks(units: dict[str, list], length: int) -> _Blocks:
    """The additive sums of every block: length, and per value the observed
    agreement o_cc, the margin l_c, the coincidences with gaps o_c0, the
    within-unit pairs S_c of uα's expected term and S'_c of cuα's.

    S'_c is read as: over every unit of value c of every coder i and every
    other coder j, the squared length of the part of that unit that j's
    valued units overlap; the expected term divides it by m - 1, as the
    observed coincidences are."""
    values, lengths, unit, value, (u_value, u_coder, u_length, u_piece) = _pieces(units, length)
    m, n_pieces, n_values = unit.shape[0], lengths.size, len(values)
    # a block ends where no coder's unit runs on into the next piece and that piece is not all gap
    runs_on = ((unit[:, :-1] == unit[:, 1:]) & (unit[:, 1:] >= 0)).any(axis=0)
    all_gap_next = (value[:, 1:] == 0).all(axis=0)
    block = np.concatenate([[0], np.cumsum(~(runs_on | all_gap_next))]) if n_pieces else np.zeros(0, np.int64)
    n_blocks = int(block[-1]) + 1 if n_pieces else 0
    counts = np.zeros((n_values, n_pieces))
    for i in range(m):
        counts[value[i], np.arange(n_pieces)] += 1
    lengths = lengths.astype(np.float64)
    width = 1 + 5 * n_values
    features = np.zeros((n_blocks, width))
    np.add.at(features[:, 0], block, lengths)
    pair = 1 / (m - 1)
    for c in range(n_values):
        features[:, 1 + c] = np.bincount(block, lengths * counts[c] * (counts[c] - 1) * pair, n_blocks)
        features[:, 1 + n_values + c] = np.bincount(block, lengths * counts[c], n_blocks)
        features[:, 1 + 2 * n_values + c] = np.bincount(block, lengths * counts[c] * counts[0] * pair, n_blocks)
    # S_c: a gap counts as pieces of length one (its length), a unit as one piece (its length squared)
    features[:, 1 + 3 * n_values] = features[:, 1 + n_values]
    if u_value.size:
        first = block[u_piece]  # a unit lies in the block of its first piece
        sq = np.zeros((n_blocks, n_values))
        np.add.at(sq, (first, u_value), u_length ** 2)
        features[:, 1 + 3 * n_values + 1:1 + 4 * n_values] = sq[:, 1:]
        # S'_c: the part of each unit overlapped by another coder's units, squared, over the other coders
        covered = np.zeros((u_value.size, m))
        for i in range(m):
            mine = unit[i] >= 0
            for j in range(m):
                if j != i:
                    np.add.at(covered[:, j], unit[i, mine], lengths[mine] * (value[j, mine] > 0))
        other = np.ones((u_value.size, m), dtype=bool)
        other[np.arange(u_value.size), u_coder] = False
        s_cu = (covered ** 2 * other).sum(axis=1)
        sq_cu = np.zeros((n_blocks, n_values))
        np.add.at(sq_cu, (first, u_value), s_cu)
        features[:, 1 + 4 * n_values:] = sq_cu
    coded = int(lengths[(value > 0).any(axis=0)].sum()) if n_pieces else 0
    return _Blocks(values, features, m, coded)


# --------------------------------------------------------------------------
# the coefficients from the sums


def _split_sums(total: np.ndarray, n_values: int):
    """The sums of :func:`_blocks` for one or many resamples (last axis the features)."""
    length = total[..., 0]
    parts = [total[..., 1 + k * n_values:1 + (k + 1) * n_values] for k in range(5)]
    return length, *parts


def _alphas(total: np.ndarray, m: int, n_values: int):
    """(uα, |uα, cuα, (k)uα per value) from summed features; arrays over resamples."""
    length, o_cc, l_c, o_c0, s_c, s_cu = _split_sums(total, n_values)
    with np.errstate(divide="ignore", invalid="ignore"):
        l_all = m * length
        denominator = l_all ** 2 - s_c.sum(axis=-1)
        e_cc = l_all[..., None] * (l_c ** 2 - s_c) / denominator[..., None]
        u = 1 - _ratio(l_all - o_cc.sum(axis=-1), l_all - e_cc.sum(axis=-1), l_all)
        gap = l_c[..., 0]
        binary = 1 - _ratio((gap - o_cc[..., 0]) * denominator, l_all * gap * (l_all - gap), l_all ** 4)
        # cuα: the coincidences of valued stretches only
        lv = (l_c - o_c0)[..., 1:]
        lv_all = lv.sum(axis=-1)
        scu = s_cu[..., 1:] / (m - 1)
        cu_den = lv_all - scu.sum(axis=-1) / lv_all
        e_vv = (lv ** 2 - scu) / cu_den[..., None]
        cu = 1 - _ratio(lv_all - o_cc[..., 1:].sum(axis=-1), lv_all - e_vv.sum(axis=-1), lv_all)
        e_v = (lv * lv_all[..., None] - scu) / cu_den[..., None]
        k = 1 - (e_v / lv) * _ratio(lv - o_cc[..., 1:], e_v - e_vv, lv_all[..., None])
    return u, binary, cu, k


def _ratio(numerator, denominator, scale):
    """numerator / denominator, NaN where the denominator is nought up to rounding
    (no expected disagreement: the coefficient is undefined)."""
    nought = np.abs(denominator) <= 1e-9 * np.abs(scale)
    return np.where(nought, np.nan, numerator / np.where(nought, 1.0, denominator))


def _defined(value) -> float:
    value = float(value)
    return value if math.isfinite(value) else NAN


def coefficients(units: dict[str, list], length: int) -> Unitized:
    """The coefficients of one layer: ``units`` as :func:`layer_units` gives
    them (two or more coders), ``length`` the length of the continuum."""
    if len(units) < 2:
        raise CodingError(f"unitized agreement needs two or more coders, got {len(units)}")
    return _coefficients(_blocks(units, length))


def _coefficients(blocks: _Blocks) -> Unitized:
    u, binary, cu, k = _alphas(blocks.features.sum(axis=0), blocks.m, len(blocks.values))
    per_value = {v: _defined(a) for v, a in zip(blocks.values[1:], np.atleast_1d(k))}
    return Unitized(_defined(u), _defined(binary), _defined(cu), per_value)


def _u_alpha(total: np.ndarray, m: int) -> np.ndarray:
    """uα from the sums (length, sum of o_cc, sum of S_c, then l_c per value) of resamples."""
    length, o_sum, s_sum, l_c = total[:, 0], total[:, 1], total[:, 2], total[:, 3:]
    with np.errstate(divide="ignore", invalid="ignore"):
        l_all = m * length
        e_sum = l_all * ((l_c ** 2).sum(axis=1) - s_sum) / (l_all ** 2 - s_sum)
        return 1 - _ratio(l_all - o_sum, l_all - e_sum, l_all)


def _interval(blocks: _Blocks, n_resamples: int, seed: int, ci: float, max_dropped: float) -> tuple[float, float]:
    """Block-bootstrap percentile interval of uα (see the module docstring)."""
    n_blocks, n_values = blocks.features.shape[0], len(blocks.values)
    if n_blocks < 2 or n_resamples < 1:
        return NAN, NAN
    _length, o_cc, l_c, _o_c0, s_c, _s_cu = _split_sums(blocks.features, n_values)
    # uα needs only these sums: far fewer columns to resample than every feature
    few = np.column_stack([blocks.features[:, 0], o_cc.sum(axis=1), s_c.sum(axis=1), l_c])
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, n_blocks, size=(n_resamples, n_blocks)) + np.arange(n_resamples)[:, None] * n_blocks
    draws = np.bincount(drawn.ravel(), minlength=n_resamples * n_blocks).reshape(n_resamples, n_blocks)
    draws = draws.astype(np.float64)  # how often each block is drawn, per resample
    u = _u_alpha(draws @ few, blocks.m)
    defined = u[np.isfinite(u)]
    if defined.size == 0 or 1 - defined.size / u.size > max_dropped:
        return NAN, NAN
    low, high = np.quantile(defined, [(1 - ci) / 2, (1 + ci) / 2])
    return float(low), float(high)


# --------------------------------------------------------------------------
# the table


def unitized_table(spans: Iterable[Span], sections: Mapping[str, Sequence[tuple[int, int]] | int],
                   coders: Sequence[str], variable_of: Mapping[str, str] | None = None, *,
                   n_resamples: int = 1000, seed: int = 12345, ci: float = 0.95,
                   max_dropped: float = 0.10, decimals: int = 4) -> pd.DataFrame:
    """The unitized agreement of ``coders``: one row per code, one per
    variable (when ``variable_of`` maps codes to variables) and an ``ALL``
    row, with the columns of :data:`UNITIZED_COLUMNS`.

    ``sections`` gives, per continuum, the stretches ``(start, end)`` every
    coder worked on, or the continuum's length when they worked on all of
    it; only the parts of spans inside them count. A code row
    holds the agreement on that code against everything else (uα of the code
    alone, which is its |uα) and its (k)uα among all codes; a variable row
    uα, |uα and cuα of its codes; the ``ALL`` row those of every code and,
    with ``variable_of``, Cuα (cuα of the variables). ``coded`` is the
    length covered by at least one coder's units of the row's codes.
    """
    coders = list(dict.fromkeys(coders))
    if len(coders) < 2:
        raise CodingError(f"name at least 2 coders, got {len(coders)}")
    placed, length = _offsets(sections)
    rows_in = [r for r in _placed_spans(spans, placed) if r[0] in coders]
    by_code: dict[str, list] = {}
    for row in rows_in:
        by_code.setdefault(row[3], []).append(row)
    codes = sorted(by_code)
    boot = {"n_resamples": n_resamples, "ci": ci, "max_dropped": max_dropped}
    overall = _blocks(layer_units(rows_in, coders), length)
    k_alpha = _coefficients(overall).k_alpha
    records = [_record("code", code, _blocks(layer_units(by_code[code], coders), length), boot, seed + n,
                       k_alpha=k_alpha.get(code, NAN)) for n, code in enumerate(codes)]
    if variable_of:
        variables: dict[str, list] = {}
        for code in codes:
            variables.setdefault(variable_of.get(code, code), []).extend(by_code[code])
        records += [_record("variable", variable, _blocks(layer_units(variables[variable], coders), length), boot,
                            seed + len(codes) + n) for n, variable in enumerate(sorted(variables))]
    record = _record("all", "ALL", overall, boot, seed - 1)
    if variable_of:
        by_variable = layer_units([(c, s, e, variable_of.get(k, k)) for c, s, e, k in rows_in], coders)
        record["Cu_alpha"] = coefficients(by_variable, length).cu_alpha
    records.append(record)
    table = pd.DataFrame(records, columns=UNITIZED_COLUMNS)
    floats = ["u_alpha", "u_low", "u_high", "binary_alpha", "cu_alpha", "Cu_alpha", "k_alpha"]
    table[floats] = table[floats].astype(float).round(decimals)
    return table


def _record(level: str, item: str, blocks: _Blocks, boot: dict, seed: int, k_alpha: float = NAN) -> dict:
    result = _coefficients(blocks)
    low, high = _interval(blocks, seed=seed, **boot)
    single = level == "code"  # one value: cuα is undefined and uα is |uα
    return {"level": level, "item": item, "n_coders": blocks.m, "length": int(blocks.features[:, 0].sum()),
            "coded": blocks.coded, "u_alpha": result.u_alpha, "u_low": low, "u_high": high,
            "binary_alpha": result.binary_alpha, "cu_alpha": NAN if single else result.cu_alpha, "Cu_alpha": NAN,
            "k_alpha": k_alpha}
