"""The array path of the agreement audit (agreement_table_from_values,
audit.presence_values, Store.coded_items) gives what the long presence
frame and the coefficient functions give, to the last bit."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import coded_tiny

import coding.agreement as ag
from coding.agreement import audit
from coding.coder_files import import_coder
from coding.errors import CodingError
from coding.reports.project import agreement_summary
from coding.store import Store

# human coders on the tiny corpus (see test_audit.py): h1 never saw b:p0002
H1 = "unit_id,variable\na:p0001,economic\na:p0002,strategic\na:p0003,economic\nb:p0001,economic\n"
H2 = ("unit_id,economic,strategic,regional_security\n"
      "a:p0001,1,0,0\na:p0002,0,1,1\na:p0003,0,0,0\nb:p0001,1,0,0\nb:p0002,0,0,1\n")


@pytest.fixture
def unrounded(monkeypatch):
    """Tables with every digit a float holds, so that equality means the same float."""
    monkeypatch.setattr(ag.tables, "REPORTED_DECIMALS", 15)


def _random_presence(seed: int, coders=("A", "B", "C"), n_units: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for coder in coders:
        for u in range(n_units):
            if rng.random() < 0.3:
                continue  # not seen by this coder: missing, also for every item
            for item in ("x", "y", "z"):
                rows.append((f"u{u:03d}", coder, item, int(rng.random() < (0.1 if item == "z" else 0.5))))
    return pd.DataFrame(rows, columns=["unit_id", "coder", "item", "value"])


def _rounded(value: float, decimals: int) -> float:
    """``value`` rounded as the table rounds it (NumPy's rounding, which can
    differ from Python's round() in the last digit)."""
    return float(np.round(np.float64(value), decimals))


def _assert_row_equals_the_functions(row, rows, n_resamples, seed, interval=True):
    """A table row (unrounded) against each coefficient function on the coders x units ``rows``
    (the pooled row's interval resamples units, not (item, unit) pairs: ``interval=False``)."""
    assert row["percent_agreement"] == _rounded(ag.percent_agreement(rows), 15)
    assert row["fleiss_kappa"] == _rounded(ag.fleiss_kappa(ag.counts_from_data(rows, categories=(0, 1))), 15)
    assert row["gwet_ac1"] == _rounded(ag.gwet_ac1(rows, categories=(0, 1)), 15)
    assert row["brennan_prediger"] == _rounded(ag.brennan_prediger(rows, categories=(0, 1)), 15)
    assert row["krippendorff_alpha"] == _rounded(ag.krippendorff_alpha(rows), 15)
    if interval:
        low, high, dropped = ag.bootstrap_alpha(rows, n_resamples=n_resamples, seed=seed)
        assert (row["alpha_low"], row["alpha_high"]) == (_rounded(low, 15), _rounded(high, 15))
        assert row["alpha_resamples_dropped"] == _rounded(dropped, 15)
    if len(rows) == 2:
        assert row["cohen_kappa"] == _rounded(ag.cohen_kappa(*rows), 15)
        assert row["scott_pi"] == _rounded(ag.scott_pi(*rows), 15)
        cells = ag.confusion_2x2(*rows)
        assert [row[k] for k in ("n11", "n10", "n01", "n00")] == list(cells.values())


def _rows_of(frame, coders, items, unit_key=None):
    """Coders x units lists of ``frame``'s values, (item, unit) pairs as units in
    the order of ``items`` and then of the unit ids (by ``unit_key``)."""
    lookup = {(c, i, u): v for c, i, u, v in zip(frame["coder"], frame["item"], frame["unit_id"], frame["value"])}
    cells = [(i, u) for i in items for u in sorted(set(frame.loc[frame["item"] == i, "unit_id"]), key=unit_key)]
    return [[lookup.get((c, i, u)) for i, u in cells] for c in coders]


@pytest.mark.parametrize("coders", [["A", "B"], ["A", "B", "C"]])
def test_table_rows_equal_the_functions_on_the_same_data(unrounded, coders):
    frame = _random_presence(7)
    table = ag.agreement_table(frame, coders, "code", n_resamples=200, seed=3).set_index("item")
    frame = frame[frame["coder"].isin(coders)]
    for item in ("x", "y", "z"):
        _assert_row_equals_the_functions(table.loc[item], _rows_of(frame, coders, [item]), 200, 3)


@pytest.mark.parametrize("coders", [["A", "B"], ["A", "B", "C"]])
def test_pooled_row_equals_the_functions_read_in_small_chunks(unrounded, monkeypatch, coders):
    """Most units seen by one coder only (as a full automatic coding beside a
    human sample) and units read a few at a time: the category shares summed
    chunk after chunk are those of the whole table, to the last bit."""
    monkeypatch.setattr(ag.tables, "SCAN_CHUNK", 7)
    frame = _random_presence(5, n_units=400)
    alone = (frame["coder"] != "A") & (frame["unit_id"] > "u040")
    frame = frame[~alone & frame["coder"].isin(coders)]
    table = ag.agreement_table(frame, coders, "code", n_resamples=100, seed=5).set_index("item")
    for item in ("x", "y", "z"):
        _assert_row_equals_the_functions(table.loc[item], _rows_of(frame, coders, [item]), 100, 5)
    _assert_row_equals_the_functions(table.loc["ALL"], _rows_of(frame, coders, ["x", "y", "z"]), 100, 5, False)


def test_pooled_row_orders_ids_that_are_not_strings_as_text(unrounded):
    frame = _random_presence(3, n_units=30)
    frame["unit_id"] = frame["unit_id"].str[1:].astype(int) * 7 % 30  # 9 sorts after 10 as text
    table = ag.agreement_table(frame, ["A", "B", "C"], "code", n_resamples=100).set_index("item")
    _assert_row_equals_the_functions(table.loc["ALL"], _rows_of(frame, ["A", "B", "C"], ["x", "y", "z"], str), 100,
                                     12345, False)
    _assert_row_equals_the_functions(table.loc["x"], _rows_of(frame, ["A", "B", "C"], ["x"]), 100, 12345)


def test_from_values_equals_the_long_frame_in_any_order(unrounded):
    frame = _random_presence(11)
    coders, items = ["C", "A", "B"], ["z", "x", "y"]  # axes in no particular order
    units = sorted(set(frame["unit_id"]), reverse=True)
    values = np.full((3, 3, len(units)), np.nan)
    values[pd.Index(coders).get_indexer(frame["coder"]), pd.Index(items).get_indexer(frame["item"]),
           pd.Index(units).get_indexer(frame["unit_id"])] = frame["value"]
    expected = ag.agreement_table(frame, coders, "code", n_resamples=100)
    got = ag.agreement_table_from_values(values, coders, items, units, "code", n_resamples=100)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_from_values_rejects_bad_input():
    with pytest.raises(CodingError, match="shape"):
        ag.agreement_table_from_values(np.zeros((2, 1, 3)), ["A", "B"], ["x"], ["u1", "u2"])
    with pytest.raises(CodingError, match="0 or 1"):
        ag.agreement_table_from_values(np.full((2, 1, 1), 2.0), ["A", "B"], ["x"], ["u1"])


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    """The tiny project coded, with two human coders imported."""
    root = tmp_path_factory.mktemp("tiny_values")
    db = coded_tiny(root)
    for name, content in (("h1", H1), ("h2", H2)):
        (root / f"{name}.csv").write_text(content, encoding="utf-8")
        with Store(db) as store:
            import_coder(store, root / f"{name}.csv", name)
    return db


def _plain_summary(store, units=None, n_resamples=200):
    """agreement_summary recomputed the plain way: the long presence frame of
    every coding (evidence included) for each group."""
    coverage, codings = store.coverage(), store.codings_frame()
    if units is not None:
        coverage = coverage[coverage["unit_id"].isin(units)]
        codings = codings[codings["unit_id"].isin(units)]
    items = audit.items_of(store.codebook(), "variable")
    frames = []
    for group in (["auto", "h1"], ["auto", "h2"], ["h1", "h2"], ["auto", "h1", "h2"]):
        presence = audit.presence(codings, coverage, items, group, "variable")
        table = ag.agreement_table(presence, group, "variable", n_resamples=n_resamples, seed=12345)
        table.insert(0, "coders", " vs ".join(group))
        table["provenance"] = ""  # no development coders named, no learned coder: nothing in-sample
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("units", [None, {"a:p0001", "a:p0002", "b:p0002"}])
def test_summary_equals_the_plain_recomputation(store_path, tmp_path, unrounded, units):
    db = tmp_path / "project.sqlite"
    shutil.copyfile(store_path, db)
    with Store(db) as store:
        got = agreement_summary(store, n_resamples=200, units=units, progress=False)
        expected = _plain_summary(store, units, n_resamples=200)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_audit_agreement_equals_the_long_frame(store_path, tmp_path):
    db = tmp_path / "project.sqlite"
    shutil.copyfile(store_path, db)
    with Store(db) as store:
        got = audit.audit_agreement(store, ["h2", "auto"], n_resamples=100)
        _, _, codings = store.frames()
        presence = audit.presence(codings, store.coverage(), audit.items_of(store.codebook(), "variable"),
                                  ["h2", "auto"], "variable")
    pd.testing.assert_frame_equal(got, ag.agreement_table(presence, ["h2", "auto"], "variable", n_resamples=100),
                                  check_exact=True)


@pytest.mark.parametrize("units", [None, {"a:p0001", "a:p0002", "b:p0002", "no:such"}])
def test_presence_codes_are_presence_values(store_path, tmp_path, units):
    db = tmp_path / "project.sqlite"
    shutil.copyfile(store_path, db)
    with Store(db) as store:
        items = audit.items_of(store.codebook(), "variable")
        coders, seen, codes = audit.presence_codes(store, items, "variable", units)
        coverage, coded = store.coverage(), store.coded_items("variable")
    if units is not None:
        coverage, coded = coverage[coverage["unit_id"].isin(units)], coded[coded["unit_id"].isin(units)]
    assert coders == ["auto", "h1", "h2"]
    values, unit_ids = audit.presence_values(coded, coverage, items, coders, "variable")
    assert seen.shape[1] == codes.shape[2] >= len(unit_ids)
    seen_any = seen.any(axis=0)  # presence_values keeps only units a coder saw
    np.testing.assert_array_equal(np.where(np.isnan(values), -1, values), codes[:, :, seen_any])
    np.testing.assert_array_equal(seen[:, seen_any], ~np.isnan(values[:, 0]))


def test_the_pooled_interval_resamples_units_with_all_their_items():
    # three items that are copies of one another: a unit's items stand or fall together
    rng = np.random.default_rng(8)
    truth = rng.random(60) < 0.4
    other = np.where(rng.random(60) < 0.15, ~truth, truth)
    rows = [{"coder": c, "unit_id": f"u{u:03d}", "item": item, "value": int(v[u])}
            for c, v in (("A", truth), ("B", other)) for u in range(60) for item in ("x", "y", "z")]
    table = ag.agreement_table(pd.DataFrame(rows), ["A", "B"], "code", n_resamples=400).set_index("item")
    pooled = table.loc["ALL", "alpha_high"] - table.loc["ALL", "alpha_low"]
    one = table.loc["x", "alpha_high"] - table.loc["x", "alpha_low"]
    flat = [[int(v[u]) for item in ("x", "y", "z") for u in range(60)] for v in (truth, other)]
    low, high, _ = ag.bootstrap_alpha(flat, n_resamples=400)
    # as wide as one item's (the same units), not the narrower interval of 180 independent pairs
    assert pooled == pytest.approx(one, abs=0.05) and pooled > 1.3 * (high - low)


def test_an_interval_that_collapses_to_a_point_is_withheld_with_its_reason():
    # a rare code both coders give to the same two units of 40 and to no other
    rows = [{"coder": c, "unit_id": f"u{u:02d}", "item": "x", "value": int(u < 2)} for c in "AB" for u in range(40)]
    row = ag.agreement_table(pd.DataFrame(rows), ["A", "B"], "code", n_resamples=200).set_index("item").loc["x"]
    assert row["krippendorff_alpha"] == 1.0
    assert np.isnan(row["alpha_low"]) and np.isnan(row["alpha_high"])
    assert row["alpha_interval_note"].startswith("withheld")
