"""The array path of the agreement audit (agreement_table_from_values,
audit.presence_values, Store.coded_items) gives what the long presence
frame and the coefficient functions give, to the last bit."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CODEBOOK, write_corpus

from coding import agreement as ag
from coding import audit, pipeline
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
    monkeypatch.setattr(ag, "REPORTED_DECIMALS", 15)


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


@pytest.mark.parametrize("coders", [["A", "B"], ["A", "B", "C"]])
def test_table_rows_equal_the_functions_on_the_same_data(unrounded, coders):
    frame = _random_presence(7)
    table = ag.agreement_table(frame, coders, "code", n_resamples=200, seed=3).set_index("item")
    frame = frame[frame["coder"].isin(coders)]
    for item in ("x", "y", "z"):
        part = frame[frame["item"] == item]
        units = sorted(set(part["unit_id"]))
        lookup = {(c, u): v for c, u, v in zip(part["coder"], part["unit_id"], part["value"])}
        rows = [[lookup.get((c, u)) for u in units] for c in coders]
        row = table.loc[item]
        assert row["percent_agreement"] == round(ag.percent_agreement(rows), 15)
        assert row["fleiss_kappa"] == round(ag.fleiss_kappa(ag.counts_from_data(rows, categories=(0, 1))), 15)
        assert row["gwet_ac1"] == round(ag.gwet_ac1(rows, categories=(0, 1)), 15)
        assert row["brennan_prediger"] == round(ag.brennan_prediger(rows, categories=(0, 1)), 15)
        assert row["krippendorff_alpha"] == round(ag.krippendorff_alpha(rows), 15)
        low, high, dropped = ag.bootstrap_alpha(rows, n_resamples=200, seed=3)
        assert (row["alpha_low"], row["alpha_high"]) == (round(low, 15), round(high, 15))
        assert row["alpha_resamples_dropped"] == round(dropped, 15)
        if len(coders) == 2:
            assert row["cohen_kappa"] == round(ag.cohen_kappa(*rows), 15)
            assert row["scott_pi"] == round(ag.scott_pi(*rows), 15)
            cells = ag.confusion_2x2(*rows)
            assert [row[k] for k in ("n11", "n10", "n01", "n00")] == list(cells.values())


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
    corpus = write_corpus(root)
    (root / "codebook.yaml").write_text(TINY_CODEBOOK, encoding="utf-8")
    pipeline.run(corpus, root / "codebook.yaml", root / "out", progress=False)
    db = root / "out" / "project.sqlite"
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
        got = audit.agreement(store, ["h2", "auto"], n_resamples=100)
        _, _, codings = store.frames()
        presence = audit.presence(codings, store.coverage(), audit.items_of(store.codebook(), "variable"),
                                  ["h2", "auto"], "variable")
    pd.testing.assert_frame_equal(got, ag.agreement_table(presence, ["h2", "auto"], "variable", n_resamples=100),
                                  check_exact=True)
