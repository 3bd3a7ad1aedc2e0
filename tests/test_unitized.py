"""Unitized agreement (coding.agreement.unitized) against the definitions of Krippendorff,
Mathet, Bouvry and Widlöcher (2016, Quality & Quantity 50:2347-2364), computed
here character by character with full coincidence matrices, against the
``krippendorff`` package where the data are ordinary reliability data, and
against the ``krippendorff-unitized-alpha`` package where it is installed."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest

from coding.agreement.unitized import Span, coefficients, layer_units, unitized_table
from coding.errors import CodingError

VALUES = "abc"


def _random_units(rng, m: int, length: int, n_values: int) -> dict[str, list]:
    """Each coder a partition of [0, length) into stretches, about half of them units."""
    units = {}
    for i in range(m):
        cuts = sorted(set(rng.integers(0, length + 1, size=int(rng.integers(0, 8))).tolist()) | {0, length})
        units[f"c{i}"] = [(s, e, VALUES[int(rng.integers(n_values))]) for s, e in zip(cuts, cuts[1:])
                          if rng.random() < 0.5]
    return units


def _by_character(units: dict[str, list], length: int) -> dict:
    """uα, |uα, cuα and (k)uα from the paper's sums over single characters (value 0: gap)."""
    coders = list(units)
    m = len(coders)
    labels = sorted({v for rows in units.values() for *_, v in rows})
    values = np.zeros((m, length), dtype=int)
    unit_of = np.full((m, length), -1)
    unit_list = []  # (coder, start, end, value index)
    for i, c in enumerate(coders):
        for s, e, v in units[c]:
            values[i, s:e] = labels.index(v) + 1
            unit_of[i, s:e] = len(unit_list)
            unit_list.append((i, s, e, labels.index(v) + 1))
    n = len(labels) + 1
    o = np.zeros((n, n))
    for p in range(length):
        for i in range(m):
            for j in range(m):
                if i != j:
                    o[values[i, p], values[j, p]] += 1 / (m - 1)
    l_c = o.sum(axis=1)
    l_all = o.sum()
    s_c = np.zeros(n)
    s_c[0] = (values == 0).sum()
    for _, s, e, v in unit_list:
        s_c[v] += (e - s) ** 2
    e = l_all * (np.outer(l_c, l_c) - np.diag(s_c)) / (l_all ** 2 - s_c.sum())
    off = ~np.eye(n, dtype=bool)
    u = 1 - o[off].sum() / e[off].sum()
    binary = 1 - o[0, 1:].sum() / e[0, 1:].sum()
    # cuα on the valued part of the matrix
    ov = o[1:, 1:]
    lv = ov.sum(axis=1)
    lv_all = lv.sum()
    s_cu = np.zeros(n - 1)
    for i, s, end, v in unit_list:
        for j in range(m):
            if j != i:
                s_cu[v - 1] += ((values[j, s:end] > 0).sum()) ** 2
    ev = (np.outer(lv, lv) - np.diag(s_cu / (m - 1))) / (lv_all - s_cu.sum() / (lv_all * (m - 1)))
    offv = ~np.eye(n - 1, dtype=bool)
    cu = 1 - ov[offv].sum() / ev[offv].sum()
    k = {lab: 1 - (ev[x].sum() / lv[x]) * (lv[x] - ov[x, x]) / (ev[x].sum() - ev[x, x])
         for x, lab in enumerate(labels)}
    return {"u": u, "binary": binary, "cu": cu, "k": k}


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and not math.isfinite(b)) or bool(np.isclose(a, b, rtol=1e-9, atol=1e-12))


def test_equals_the_definitions_on_1000_random_datasets():
    rng = np.random.default_rng(20160)
    checked = {"u": 0, "binary": 0, "cu": 0, "k": 0}
    for _ in range(1000):
        m, length, n_values = int(rng.integers(2, 5)), int(rng.integers(3, 40)), int(rng.integers(1, 4))
        units = _random_units(rng, m, length, n_values)
        if not any(units.values()):
            continue
        mine = coefficients(units, length)
        with np.errstate(divide="ignore", invalid="ignore"):
            truth = _by_character(units, length)
        for name, value in (("u", mine.u_alpha), ("binary", mine.binary_alpha), ("cu", mine.cu_alpha)):
            assert _same(value, truth[name]), (name, value, truth[name], units, length)
            checked[name] += math.isfinite(value)
        for label, value in mine.k_alpha.items():
            assert _same(value, truth["k"][label]), ("k", label, value, truth["k"][label], units, length)
            checked["k"] += math.isfinite(value)
    assert min(checked.values()) > 200  # most datasets are defined for every coefficient


def test_equals_krippendorff_unitized_alpha_on_1000_random_datasets():
    """uα against the package's coincidence matrices, and |uα as its uα with every value one."""
    pytest.importorskip("krippendorff_unitized_alpha")
    from krippendorff_unitized_alpha.krippendorffs_unitized_alpha import (
        EMPTY_TAG,
        KrippendorffUnitizedAlpha,
        Segment,
    )

    def reference(units, length):
        data = {}
        for coder, rows in units.items():
            segments, at = [], 0
            for s, e, v in rows:
                if s > at:
                    segments.append(Segment(EMPTY_TAG, at, s))
                segments.append(Segment(v, s, e))
                at = e
            if at < length:
                segments.append(Segment(EMPTY_TAG, at, length))
            data[coder] = segments
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(KrippendorffUnitizedAlpha(data).result)

    rng = np.random.default_rng(2347)
    compared = 0
    for _ in range(1000):
        m, length, n_values = int(rng.integers(2, 5)), int(rng.integers(3, 60)), int(rng.integers(1, 4))
        units = _random_units(rng, m, length, n_values)
        if not any(units.values()):
            continue
        mine = coefficients(units, length)
        assert _same(mine.u_alpha, reference(units, length)), (units, length)
        one_value = {c: [(s, e, "x") for s, e, _ in rows] for c, rows in units.items()}
        assert _same(mine.binary_alpha, reference(one_value, length)), (units, length)
        compared += 1
    assert compared > 900


def test_aligned_units_give_ordinary_alpha():
    """Units that every coder draws alike, all valued: uα and cuα are Krippendorff's nominal alpha."""
    rng = np.random.default_rng(7)
    for _ in range(200):
        m, n, width = int(rng.integers(2, 5)), int(rng.integers(2, 12)), int(rng.integers(1, 5))
        values = rng.integers(0, 3, size=(m, n))
        units = {f"c{i}": [(u * width, u * width + width, VALUES[values[i, u]]) for u in range(n)]
                 for i in range(m)}
        if len(np.unique(values)) < 2:
            continue
        expected = krippendorff.alpha(reliability_data=values.astype(float), level_of_measurement="nominal")
        result = coefficients(units, n * width)
        assert result.cu_alpha == pytest.approx(expected, abs=1e-12)
        assert result.u_alpha == pytest.approx(expected, abs=1e-12)


def test_perfect_agreement_and_continua_laid_end_to_end():
    spans = [Span(c, "d1", 3, 9, "a") for c in "AB"] + [Span(c, "d2", 0, 4, "b") for c in "AB"]
    table = unitized_table(spans, {"d1": [(0, 12)], "d2": [(0, 10)]}, ["A", "B"], n_resamples=50)
    assert table.loc[table["item"] == "ALL", ["u_alpha", "binary_alpha", "cu_alpha"]].to_numpy().tolist() == [
        [1.0, 1.0, 1.0]]
    assert table["length"].tolist() == [22, 22, 22]
    # the same codings on one text of the two texts' length give the same coefficients
    shifted = [Span(c, "d", 3, 9, "a") for c in "AB"] + [Span(c, "d", 12, 16, "b") for c in "AB"]
    one = unitized_table(shifted, {"d": [(0, 22)]}, ["A", "B"], n_resamples=50)
    assert one.drop(columns=["u_low", "u_high"]).equals(table.drop(columns=["u_low", "u_high"]))
    # a continuum given by its length is the whole of it
    assert unitized_table(spans, {"d1": 12, "d2": 10}, ["A", "B"], n_resamples=50).equals(table)


def test_only_sections_count_and_overlaps_of_one_coder():
    spans = [Span("A", "d", 0, 10, "a"), Span("A", "d", 5, 15, "a"), Span("A", "d", 12, 20, "b"),
             Span("B", "d", 0, 15, "a"), Span("B", "d", 30, 40, "b")]
    from coding.agreement.unitized import _offsets, _placed_spans

    placed, length = _offsets({"d": [(0, 25)]})
    assert length == 25
    units = layer_units(_placed_spans(spans, placed), ["A", "B"])
    # same-code overlaps joined; a and b overlap on 12-15; B's span outside the section is gone
    assert units == {"A": [(0, 12, "a"), (12, 15, "a+b"), (15, 20, "b")], "B": [(0, 15, "a")]}
    # several sections: a span keeps its parts inside them, laid end to end
    placed, length = _offsets({"d": [(30, 40), (0, 5), (10, 20)], "e": [(0, 3)]})
    assert length == 28
    assert _placed_spans([Span("A", "d", 3, 35, "a"), Span("A", "d", 21, 29, "b"), Span("A", "e", 1, 9, "c")],
                         placed) == [("A", 3, 5, "a"), ("A", 5, 15, "a"), ("A", 15, 20, "a"), ("A", 26, 28, "c")]


def test_bootstrap_interval_is_deterministic_and_holds_the_estimate():
    rng = np.random.default_rng(3)
    spans = []
    for doc in range(12):
        for coder in "AB":
            start = int(rng.integers(0, 20))
            spans.append(Span(coder, f"d{doc}", start, start + int(rng.integers(5, 30)), "abc"[doc % 2]))
    sections = {f"d{doc}": [(0, 60)] for doc in range(12)}
    first = unitized_table(spans, sections, ["A", "B"], n_resamples=300, seed=5)
    again = unitized_table(spans, sections, ["A", "B"], n_resamples=300, seed=5)
    assert first.equals(again)
    row = first.set_index("item").loc["ALL"]
    assert row["u_low"] <= row["u_alpha"] <= row["u_high"]
    assert row["u_high"] - row["u_low"] > 0.01


def test_bad_input_is_refused():
    with pytest.raises(CodingError, match="2 coders"):
        unitized_table([Span("A", "d", 0, 5, "a")], {"d": [(0, 10)]}, ["A"])
    with pytest.raises(CodingError, match="overlap"):
        unitized_table([], {"d": [(0, 10), (5, 12)]}, ["A", "B"])
    with pytest.raises(CodingError, match="ends before"):
        unitized_table([Span("A", "d", 6, 5, "a")], {"d": [(0, 10)]}, ["A", "B"])


def _runs(values: list, breaks: list[bool]) -> list[tuple[int, int, str]]:
    """(start, end, value) of the runs of equal values along a continuum, gaps ("") included; a run
    also ends before a position where ``breaks`` is true."""
    runs, start = [], 0
    for p in range(1, len(values) + 1):
        if p == len(values) or values[p] != values[start] or breaks[p]:
            runs.append((start, p, values[start]))
            start = p
    return runs


def _reference_u(codes_at: dict[str, list[set]], runs_on: dict[str, list[set]], keep: set | None) -> float:
    """krippendorff-unitized-alpha's uα of each coder's units read character by character (the codes
    in ``keep``, or all): a unit is a run of one set of codes, ended where one of them does not run on."""
    from krippendorff_unitized_alpha.krippendorffs_unitized_alpha import (
        EMPTY_TAG,
        KrippendorffUnitizedAlpha,
        Segment,
    )

    data = {}
    for coder, row in codes_at.items():
        kept = [codes if keep is None else codes & keep for codes in row]
        values = ["+".join(sorted(codes)) for codes in kept]
        breaks = [bool(kept[p] - runs_on[coder][p]) for p in range(len(row))]
        data[coder] = [Segment(v or EMPTY_TAG, s, e) for s, e, v in _runs(values, breaks)]
    with np.errstate(divide="ignore", invalid="ignore"):
        return round(float(KrippendorffUnitizedAlpha(data).result), 12)


def test_table_equals_krippendorff_unitized_alpha_on_1000_random_span_datasets():
    """The table as the command computes it, from raw spans (overlapping,
    several documents, only some stretches worked on), against the package
    fed each coder's units read character by character: a unit is a run of
    one set of codes, ended where a section ends or where one of its codes'
    spans only touch (two selections side by side are two units)."""
    pytest.importorskip("krippendorff_unitized_alpha")
    rng = np.random.default_rng(2364)
    compared = 0
    for _ in range(1000):
        coders = [f"c{i}" for i in range(int(rng.integers(2, 4)))]
        docs = {f"d{k}": int(rng.integers(5, 30)) for k in range(int(rng.integers(1, 4)))}
        sections = {d: sorted({(0, n // 2), (n // 2 + int(rng.integers(0, 2)), n)}) for d, n in docs.items()}
        spans = []
        for coder in coders:
            for _span in range(int(rng.integers(0, 6))):
                doc = f"d{int(rng.integers(len(docs)))}"
                start = int(rng.integers(0, docs[doc]))
                spans.append(Span(coder, doc, start, start + int(rng.integers(1, 12)), VALUES[int(rng.integers(3))]))
        # the characters inside the sections, documents laid end to end: each coder's codes there, and
        # the codes whose span runs on from the character before
        codes_at = {c: [] for c in coders}
        runs_on = {c: [] for c in coders}
        for doc in sorted(docs):
            for s_start, s_end in sections[doc]:
                for p in range(s_start, s_end):
                    for c in coders:
                        mine = [s for s in spans if s.coder == c and s.continuum == doc and s.start <= p < s.end]
                        codes_at[c].append({s.code for s in mine if s.start <= p < s.end})
                        runs_on[c].append({s.code for s in mine if s.start < p < s.end} if p > s_start else set())

        table = unitized_table(spans, sections, coders, n_resamples=0, decimals=12).set_index("item")
        inside = sorted(set().union(*(codes for row in codes_at.values() for codes in row)))
        assert list(table.index) == [*inside, "ALL"]  # a code with no character inside the sections has no row
        for code in inside:
            assert _same(table.loc[code, "u_alpha"], _reference_u(codes_at, runs_on, {code})), (code, spans, sections)
        if inside:
            assert _same(table.loc["ALL", "u_alpha"], _reference_u(codes_at, runs_on, None)), (spans, sections)
            compared += 1
    assert compared > 900
