"""Agreement coefficients against published worked examples and hand arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score, precision_score, recall_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from coding.agreement import (
    TABLE_COLUMNS,
    agreement_table,
    binary_pair_alpha,
    bootstrap_alpha,
    brennan_prediger,
    cohen_kappa,
    confusion_2x2,
    counts_from_data,
    fleiss_kappa,
    gwet_ac1,
    interpret_alpha,
    krippendorff_alpha,
    percent_agreement,
    precision_recall_f1,
    prevalence_paradox,
    scott_pi,
)
from coding.errors import CodingError

nan = float("nan")

# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability.
# Annenberg School for Communication, University of Pennsylvania.  Worked
# example "nominal data, any number of observers, missing data": observers
# A-D (rows) x units 1-12 (columns), "." = missing.  The same reliability data
# are reused there for the ordinal, interval and ratio examples.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],  # A
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],  # B
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],  # C
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],  # D
]

# Wikipedia, "Cohen's kappa", simple example: 50 grant proposals read by two
# readers; Yes/Yes 20, A yes & B no 5, A no & B yes 10, No/No 15.
# Published: p_o = 0.7, p_e = 0.5, kappa = 0.4.
COHEN_A = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
COHEN_B = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15


def r(x, places=3):
    return round(x, places)


# ---------------------------------------------------------------- Krippendorff


@pytest.mark.parametrize(
    "level, published",
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_2011_four_observers(level, published):
    # Krippendorff (2011): alpha_nominal = .743, alpha_ordinal = .815,
    # alpha_interval = .849, alpha_ratio = .797 for the data above.
    assert r(krippendorff_alpha(KRIPPENDORFF_2011, level)) == published


def test_krippendorff_2011_binary_two_observers():
    # Krippendorff (2011), worked example "binary data, two observers, no
    # missing data", 10 units; published alpha = 0.095.  By hand:
    # o_00 = 10, o_11 = 2, o_01 = o_10 = 4, n_0 = 14, n_1 = 6, n = 20,
    # alpha = 1 - (n-1) o_01 / (n_0 n_1) = 1 - 19*4/84 = 0.0952.
    data = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]
    assert r(krippendorff_alpha(data)) == 0.095
    assert krippendorff_alpha(data) == pytest.approx(1 - 19 * 4 / 84)


def test_krippendorff_nominal_accepts_strings_and_nan():
    letters = {1: "a", 2: "b", 3: "c", 4: "d", 5: "e"}
    as_text = [[letters.get(v) for v in row] for row in KRIPPENDORFF_2011]
    as_nan = np.array([[nan if v is None else v for v in row] for row in KRIPPENDORFF_2011])
    assert krippendorff_alpha(as_text) == pytest.approx(0.743421, abs=1e-6)
    assert krippendorff_alpha(as_nan) == pytest.approx(0.743421, abs=1e-6)
    with pytest.raises(CodingError):
        krippendorff_alpha(as_text, level="interval")


def test_alpha_matches_scott_pi_relation_for_two_coders():
    # For two coders without missing data, alpha = 1 - (1 - pi)(2N - 1)/(2N)
    # (Krippendorff 2004): an independent check of both implementations.
    rng = np.random.default_rng(7)
    a, b = rng.integers(0, 3, 40), rng.integers(0, 3, 40)
    b[:25] = a[:25]
    n = 2 * len(a)
    assert krippendorff_alpha([a, b]) == pytest.approx(1 - (1 - scott_pi(a, b)) * (n - 1) / n)



def test_binary_alpha_is_krippendorffs_alpha_to_1e12():
    # the closed form for two coders' 0/1 data against the krippendorff package, on
    # balanced, rare and near-universal codes and small and large samples
    rng = np.random.default_rng(11)
    data = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]  # Krippendorff (2011)
    assert binary_pair_alpha(*data) == pytest.approx(1 - 19 * 4 / 84, abs=1e-12)
    checked = 0
    for n, share, agree in [(10, 0.5, 0.6), (40, 0.5, 0.8), (500, 0.05, 0.9), (2000, 0.95, 0.97), (3, 0.5, 0.0)]:
        for _ in range(4):
            a = (rng.random(n) < share).astype(int)
            b = np.where(rng.random(n) < agree, a, (rng.random(n) < share).astype(int))
            expected = krippendorff_alpha([a.tolist(), b.tolist()])
            if math.isnan(expected):
                assert math.isnan(binary_pair_alpha(a, b))
                continue
            assert abs(binary_pair_alpha(a, b) - expected) < 1e-12
            assert abs(binary_pair_alpha(a.tolist(), b.astype(bool)) - expected) < 1e-12
            checked += 1
    assert checked >= 15


def test_binary_alpha_weights_count_units_that_many_times():
    rng = np.random.default_rng(12)
    a, b = rng.integers(0, 2, 60), rng.integers(0, 2, 60)
    b[:40] = a[:40]
    weight = rng.integers(0, 4, 60)
    repeated = np.repeat(np.arange(60), weight)
    expected = krippendorff_alpha([a[repeated].tolist(), b[repeated].tolist()])
    assert abs(binary_pair_alpha(a, b, weight.astype(float)) - expected) < 1e-12
    assert binary_pair_alpha(a, b, np.ones(60)) == binary_pair_alpha(a, b)


def test_binary_alpha_undefined_and_malformed():
    assert math.isnan(binary_pair_alpha([1, 1, 1], [1, 1, 1]))  # no variation
    assert math.isnan(binary_pair_alpha([], []))
    for a, b in [([0, 1], [0, 1, 1]), ([0, 2], [0, 1]), ([0, None], [0, 1]), ([[0, 1]], [[0, 1]])]:
        with pytest.raises(CodingError):
            binary_pair_alpha(a, b)
    with pytest.raises(CodingError):
        binary_pair_alpha([0, 1], [0, 1], [1.0])


# ---------------------------------------------------------------- Fleiss

# Wikipedia, "Fleiss' kappa", worked example (14 raters, 10 subjects,
# 5 categories); published P-bar = 0.378, P-bar_e = 0.213, kappa = 0.210.
FLEISS_WIKIPEDIA = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_wikipedia_worked_example():
    kappa = fleiss_kappa(FLEISS_WIKIPEDIA)
    assert r(kappa) == 0.210
    assert kappa == pytest.approx(sm_fleiss_kappa(np.array(FLEISS_WIKIPEDIA)))


def test_fleiss_matches_statsmodels_on_complete_data():
    rng = np.random.default_rng(3)
    data = rng.integers(0, 4, size=(5, 30))  # 5 coders x 30 units
    counts = counts_from_data(data)
    assert list(counts.columns) == [0, 1, 2, 3]
    assert counts.shape == (30, 4) and (counts.sum(axis=1) == 5).all()
    assert fleiss_kappa(counts) == pytest.approx(sm_fleiss_kappa(counts.to_numpy()))


# ------------------------------------------- Gwet AC1, Fleiss, BP with missing data

def test_gwet_2014_four_raters_with_missing_data():
    # Gwet, K.L. (2014) Handbook of Inter-Rater Reliability, 4th ed., data set
    # of 4 raters x 12 units, 5 categories (p. 120; "cac.raw4raters" in Gwet's
    # irrCAC package).  Its units hold the same values as KRIPPENDORFF_2011
    # (only the lone rating of unit 12 sits with another rater, which changes
    # none of these coefficients).  Values reported by irrCAC (gwet.ac1.raw,
    # fleiss.kappa.raw, bp.coeff.raw), to 3 decimals:
    #   pa = 0.818; AC1: pe = 0.190, 0.775; Fleiss: pe = 0.239, 0.761;
    #   Brennan-Prediger: pe = 0.200, 0.773.
    gwet_layout = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, None],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 3],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    for data in (gwet_layout, KRIPPENDORFF_2011):
        assert r(percent_agreement(data)) == 0.818  # = 9/11 by hand
        assert r(gwet_ac1(data)) == 0.775
        assert r(fleiss_kappa(counts_from_data(data))) == 0.761
        assert r(brennan_prediger(data)) == 0.773  # (9/11 - 1/5) / (1 - 1/5)


def test_gwet_ac1_two_coders_by_hand():
    # COHEN_A/B data: p_a = 35/50 = 0.7.  Category shares averaged over units:
    # pi_yes = (25 + 30)/100 = 0.55, pi_no = 0.45.  With q = 2:
    # p_e = (0.55*0.45 + 0.45*0.55)/(2-1) = 0.495,
    # AC1 = (0.7 - 0.495)/(1 - 0.495) = 0.205/0.505 = 0.405941.
    assert gwet_ac1([COHEN_A, COHEN_B]) == pytest.approx(0.205 / 0.505)


# ---------------------------------------------------------------- Cohen, Scott, BP


def test_cohen_wikipedia_example_and_sklearn():
    assert cohen_kappa(COHEN_A, COHEN_B) == pytest.approx(0.4)
    assert cohen_kappa(COHEN_A, COHEN_B) == pytest.approx(cohen_kappa_score(COHEN_A, COHEN_B))


def test_cohen_matches_sklearn_on_labels_and_drops_missing_pairs():
    rng = np.random.default_rng(11)
    labels = np.array(["econ", "security", "region"])
    a = list(labels[rng.integers(0, 3, 60)])
    b = [x if i % 3 else labels[(i // 3) % 3] for i, x in enumerate(a)]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    with_missing_a, with_missing_b = a + [None, "econ"], b + ["econ", nan]
    assert cohen_kappa(with_missing_a, with_missing_b) == pytest.approx(cohen_kappa_score(a, b))


def test_scott_pi_and_brennan_prediger_by_hand():
    # COHEN_A/B: p_o = 0.7.  Scott: pooled shares yes = (25 + 30)/100 = 0.55,
    # no = 0.45; p_e = 0.55^2 + 0.45^2 = 0.505;
    # pi = (0.7 - 0.505)/(1 - 0.505) = 0.195/0.495 = 0.393939.
    assert scott_pi(COHEN_A, COHEN_B) == pytest.approx(0.195 / 0.495)
    # Brennan-Prediger, q = 2: (0.7 - 1/2)/(1 - 1/2) = 0.4.
    assert brennan_prediger([COHEN_A, COHEN_B]) == pytest.approx(0.4)
    # q = 4 possible categories, two unused: (0.7 - 0.25)/0.75 = 0.6.
    assert brennan_prediger([COHEN_A, COHEN_B], categories=[0, 1, 2, 3]) == pytest.approx(0.6)


# a is coded on all 5 units, b misses the last one (a coded it 1)
MISSING_A = [1, 1, 0, 0, 1]
MISSING_B = [1, 0, 0, 0, None]


def test_cohen_and_scott_pairwise_deletion_by_default():
    # pairs (1,1) (1,0) (0,0) (0,0); p_o = .75.  Cohen: p_a(1) = .5,
    # p_b(1) = .25, p_e = .5*.25 + .5*.75 = .5 -> .5.  Scott: pooled 3/8,
    # p_e = (9 + 25)/64 -> .21875/.46875 = 7/15.
    assert cohen_kappa(MISSING_A, MISSING_B) == pytest.approx(0.5)
    assert cohen_kappa(MISSING_A, MISSING_B, missing="pairwise") == pytest.approx(0.5)
    assert scott_pi(MISSING_A, MISSING_B) == pytest.approx(7 / 15)


def test_cohen_and_scott_with_gwets_missing_rule_by_hand():
    # Cohen (Gwet 2014 ch. 2; irrCAC conger.kappa.raw): p_o = .75 on the four
    # shared units; shares over each coder's own units: p_a(1) = 3/5,
    # p_b(1) = 1/4; p_e = .6*.25 + .4*.75 = .45 -> .3/.55 = 6/11.
    assert cohen_kappa(MISSING_A, MISSING_B, missing="gwet") == pytest.approx(6 / 11)
    # Scott: each unit's distribution averaged over the five units:
    # pi_1 = (1 + .5 + 0 + 0 + 1)/5 = .5, p_e = .5 -> .25/.5 = .5 = Fleiss.
    data = [MISSING_A, MISSING_B]
    assert scott_pi(MISSING_A, MISSING_B, missing="gwet") == pytest.approx(0.5)
    assert scott_pi(*data, missing="gwet") == pytest.approx(fleiss_kappa(counts_from_data(data)))
    # complete data: both rules agree
    for rule in ("pairwise", "gwet"):
        assert cohen_kappa(COHEN_A, COHEN_B, missing=rule) == pytest.approx(0.4)
        assert scott_pi(COHEN_A, COHEN_B, missing=rule) == pytest.approx(0.195 / 0.495)
    # undefined cases stay NaN under either rule
    assert math.isnan(cohen_kappa([1, None], [None, 0], missing="gwet"))
    assert math.isnan(scott_pi([1, None], [None, 0], missing="gwet"))
    assert math.isnan(cohen_kappa([1, 1, 1], [1, 1, None], missing="gwet"))
    with pytest.raises(CodingError, match="missing"):
        cohen_kappa(MISSING_A, MISSING_B, missing="listwise")
    with pytest.raises(CodingError, match="missing"):
        scott_pi(MISSING_A, MISSING_B, missing="listwise")


def test_percent_agreement_three_coders_by_hand():
    # unit 1: a,a,a -> 3 of 3 pairs agree; unit 2: a,a,b -> 1 of 3;
    # unit 3: a,b,missing -> 0 of 1; unit 4: only one coder -> not counted.
    # (1 + 1/3 + 0)/3 = 4/9.
    data = [["a", "a", "a", "b"], ["a", "a", "b", None], ["a", "b", None, None]]
    assert percent_agreement(data) == pytest.approx(4 / 9)


# ---------------------------------------------------------------- edge cases


def test_no_variation_is_undefined_but_agreement_is_perfect():
    data = [[1, 1, 1], [1, 1, 1]]
    assert percent_agreement(data) == 1.0
    for value in (cohen_kappa(*data), scott_pi(*data), krippendorff_alpha(data),
                  fleiss_kappa(counts_from_data(data)), gwet_ac1(data), brennan_prediger(data)):
        assert math.isnan(value)
    # with the possible categories given, the free-marginal coefficients are 1
    assert gwet_ac1(data, categories=(0, 1)) == 1.0
    assert brennan_prediger(data, categories=(0, 1)) == 1.0
    assert interpret_alpha(krippendorff_alpha(data)) == "undefined"
    assert all(math.isnan(x) for x in bootstrap_alpha(data, n_resamples=20))


def test_one_coder_one_unit_and_no_overlap():
    one_coder = [[1, 0, 1]]
    no_overlap = [[1, None, 0], [None, 0, None]]
    for data in (one_coder, no_overlap, [[1]], [[1], [None]], []):
        assert math.isnan(percent_agreement(data))
        assert math.isnan(krippendorff_alpha(data))
        assert math.isnan(gwet_ac1(data, categories=(0, 1)))
        assert math.isnan(brennan_prediger(data, categories=(0, 1)))
    assert math.isnan(cohen_kappa([1, None], [None, 0]))
    assert math.isnan(scott_pi([], []))
    # one unit, two coders who agree: agreement 1, alpha undefined (no variation)
    assert percent_agreement([[2], [2]]) == 1.0
    assert math.isnan(krippendorff_alpha([[2], [2]]))


def test_malformed_input_raises_coding_error():
    with pytest.raises(CodingError, match="ragged"):
        krippendorff_alpha([[1, 2, 3], [1, 2]])
    with pytest.raises(CodingError, match="ragged"):
        percent_agreement([[1, 2, 3], [1, 2]])
    with pytest.raises(CodingError, match="unknown level"):
        krippendorff_alpha([[1, 2], [1, 2]], level="cardinal")
    with pytest.raises(CodingError):
        krippendorff_alpha([1, 2, 3])  # not coders x units
    with pytest.raises(CodingError, match="length"):
        cohen_kappa([1, 0, 1], [1, 0])
    with pytest.raises(CodingError):
        fleiss_kappa([[1, -1], [2, 0]])
    with pytest.raises(CodingError):
        confusion_2x2([1, 2], [0, 1])
    with pytest.raises(CodingError, match="categories"):
        gwet_ac1([[1, 2]], categories=(0, 1))
    with pytest.raises(CodingError):
        bootstrap_alpha(KRIPPENDORFF_2011, ci=1.5)


# ---------------------------------------------------------------- bootstrap


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_alpha_equals_the_krippendorff_package_on_random_data(level):
    # 2-5 coders, 1-30 units, 2-6 values, up to half the cells missing
    import krippendorff

    rng = np.random.default_rng(2011)
    checked = 0
    for _ in range(400):
        coders, units, values = rng.integers(2, 6), rng.integers(1, 31), rng.integers(2, 7)
        data = rng.choice([0, 1.5, 2, 3, 7, 10][:values], size=(coders, units))
        data[rng.random((coders, units)) < rng.random() / 2] = np.nan
        pairable = data[:, (~np.isnan(data)).sum(axis=0) >= 2]
        if len(np.unique(pairable[~np.isnan(pairable)])) < 2:
            assert math.isnan(krippendorff_alpha(data, level))
            continue
        expected = krippendorff.alpha(reliability_data=pairable, level_of_measurement=level)
        assert krippendorff_alpha(data, level) == pytest.approx(expected, abs=1e-12)
        checked += 1
    assert checked > 300


def test_bootstrap_alphas_in_one_batch_equal_alpha_of_each_resample():
    # a resample is the count of each unit's draws: the batch is one matrix product
    from coding.agreement.alpha import _alpha_matrix, _alphas, _pairable, _value_counts

    rng = np.random.default_rng(7)
    data = rng.integers(0, 4, size=(3, 25)).astype(float)
    data[rng.random(data.shape) < 0.2] = np.nan
    for level in ("nominal", "ordinal", "interval", "ratio"):
        matrix, domain = _alpha_matrix(data, level)
        pairable = _pairable(matrix)
        draws = rng.integers(0, pairable.shape[1], size=(20, pairable.shape[1]))
        weights = np.array([np.bincount(d, minlength=pairable.shape[1]) for d in draws], dtype=float)
        batch = _alphas(_value_counts(pairable, domain), weights, domain, level)
        one_by_one = [krippendorff_alpha(pairable[:, d], level) for d in draws]
        assert batch == pytest.approx(one_by_one, abs=1e-12, nan_ok=True)


def test_bootstrap_is_deterministic_and_contains_estimate():
    first = bootstrap_alpha(KRIPPENDORFF_2011, n_resamples=500, seed=99)
    second = bootstrap_alpha(KRIPPENDORFF_2011, n_resamples=500, seed=99)
    assert first == second
    low, high, dropped = first
    assert (first.low, first.high, first.dropped) == first
    assert dropped == 0.0  # every resample has variation
    assert low < krippendorff_alpha(KRIPPENDORFF_2011) < high
    assert -1 <= low < high <= 1
    narrow = bootstrap_alpha(KRIPPENDORFF_2011, n_resamples=500, seed=99, ci=0.5)
    assert low <= narrow[0] <= narrow[1] <= high


# one positive in 40 units, on which both coders agree: alpha = 1, but a
# resample misses that unit (and has no variation) with probability
# (39/40)**40 = .363
RARE = [1] + [0] * 39


def test_bootstrap_reports_and_withholds_when_many_resamples_are_undefined():
    assert krippendorff_alpha([RARE, RARE]) == 1.0
    low, high, dropped = bootstrap_alpha([RARE, RARE], n_resamples=1000, seed=5)
    assert dropped == pytest.approx((39 / 40) ** 40, abs=0.05)
    assert math.isnan(low) and math.isnan(high)  # not the spurious [1, 1]
    # a larger tolerance gives the (conditional) interval, still reporting the share
    loose = bootstrap_alpha([RARE, RARE], n_resamples=1000, seed=5, max_dropped=0.5)
    assert (loose.low, loose.high, loose.dropped) == (1.0, 1.0, dropped)
    # alpha undefined: nothing resampled
    assert all(math.isnan(x) for x in bootstrap_alpha([[0, 0], [0, 0]], n_resamples=10))
    with pytest.raises(CodingError, match="max_dropped"):
        bootstrap_alpha([RARE, RARE], max_dropped=1.5)


# ---------------------------------------------------------------- small helpers


@pytest.mark.parametrize(
    "alpha, reading",
    [(1.0, "reliable"), (0.8, "reliable"), (0.7999, "tentative"), (0.667, "tentative"),
     (0.6669, "unreliable"), (-0.2, "unreliable"), (None, "undefined"), (nan, "undefined")],
)
def test_interpret_alpha(alpha, reading):
    assert interpret_alpha(alpha) == reading


@pytest.mark.parametrize(
    "alpha, printed, reading, unrounded",
    [(0.79996, 0.8, "reliable", "tentative"), (0.79994, 0.7999, "tentative", "tentative"),
     # printed 0.6667, still below the .667 cut: rounding must not lift it
     (0.66666, 0.6667, "unreliable", "unreliable"),
     (0.66696, 0.667, "tentative", "unreliable")],
)
def test_interpret_alpha_reads_the_value_as_printed(alpha, printed, reading, unrounded):
    assert round(alpha, 4) == printed
    assert interpret_alpha(alpha) == reading
    assert interpret_alpha(alpha, decimals=None) == unrounded


def test_agreement_table_reading_follows_the_printed_alpha(monkeypatch):
    import coding.agreement.tables as agreement

    monkeypatch.setattr(agreement, "krippendorff_alpha", lambda data, level="nominal": 0.79996)
    x = agreement_table(_tiny_frame(), ["A", "B"], "code", n_resamples=20).iloc[0]
    assert x["krippendorff_alpha"] == 0.8 and x["reading"] == "reliable"


def test_confusion_2x2_and_precision_recall_f1():
    pred = [1, 1, 0, 0, 1, 0, None]
    gold = [1, 0, 0, 1, 1, 0, 1]
    assert confusion_2x2(pred, gold) == {"n11": 2, "n10": 1, "n01": 1, "n00": 2}
    precision, recall, f1 = precision_recall_f1(gold, pred)
    assert precision == pytest.approx(precision_score(gold[:6], pred[:6]))  # 2/3
    assert recall == pytest.approx(recall_score(gold[:6], pred[:6]))  # 2/3
    assert f1 == pytest.approx(f1_score(gold[:6], pred[:6]))
    p, rec, f = precision_recall_f1([0, 0], [0, 0])
    assert math.isnan(p) and math.isnan(rec) and math.isnan(f)
    p, rec, f = precision_recall_f1([1, 0], [0, 0])
    assert math.isnan(p) and rec == 0.0 and f == 0.0
    # truth first, as in scikit-learn: one of three true positives found, no false alarm
    assert precision_recall_f1([1, 1, 1, 0], [1, 0, 0, 0]) == pytest.approx(
        (precision_score([1, 1, 1, 0], [1, 0, 0, 0]), recall_score([1, 1, 1, 0], [1, 0, 0, 0]), 0.5))


def test_prevalence_paradox():
    assert prevalence_paradox(0.3, 0.9) is True
    assert prevalence_paradox(0.8, 0.85) is False
    assert prevalence_paradox(0.5, 0.75, threshold=0.3) is False
    assert prevalence_paradox(nan, 1.0) is False


# ---------------------------------------------------------------- agreement_table


def _presence(rows):
    return pd.DataFrame(rows, columns=["unit_id", "coder", "item", "value"])


def _tiny_frame():
    # coder A saw u1-u4, coder B saw u1-u5; item x is coded, item y never.
    x_a = {"u1": 1, "u2": 1, "u3": 0, "u4": 0}
    x_b = {"u1": 1, "u2": 0, "u3": 0, "u4": 0, "u5": 1}
    rows = [(u, "A", "x", v) for u, v in x_a.items()] + [(u, "B", "x", v) for u, v in x_b.items()]
    rows += [(u, "A", "y", 0) for u in x_a] + [(u, "B", "y", 0) for u in x_b]
    return _presence(rows)


def test_agreement_table_two_coders_by_hand():
    table = agreement_table(_tiny_frame(), ["A", "B"], "code", n_resamples=200)
    assert list(table.columns) == TABLE_COLUMNS
    assert list(table["item"]) == ["x", "y", "ALL"]
    assert set(table["level"]) == {"code"}
    x, y, pooled = (table.iloc[i] for i in range(3))

    # item x, units u1-u4 (u5 seen by B only): pairs (1,1) (1,0) (0,0) (0,0)
    assert x["n_units"] == 4
    assert (x["n11"], x["n10"], x["n01"], x["n00"]) == (1, 1, 0, 2)
    assert x["prevalence"] == 0.375  # 3 ones among 8 values
    assert x["percent_agreement"] == 0.75  # 3 of 4
    # Cohen: p_A(1) = .5, p_B(1) = .25, p_e = .5*.25 + .5*.75 = .5 -> (.75-.5)/.5
    assert x["cohen_kappa"] == 0.5
    # Scott (pairs only): pooled 3/8, p_e = (9 + 25)/64 = .53125 -> .21875/.46875
    assert x["scott_pi"] == 0.4667
    # Fleiss (Gwet's rule: u5 enters the shares): pi_1 = (1 + .5 + 0 + 0 + 1)/5
    # = .5, p_e = .5 -> .25/.5
    assert x["fleiss_kappa"] == 0.5
    assert x["brennan_prediger"] == 0.5  # (.75 - .5)/.5
    # alpha: n = 8, n_0 = 5, n_1 = 3, o_01 = 1 -> 1 - 7*1/15
    assert x["krippendorff_alpha"] == 0.5333
    # AC1: pi_1 = .5 as for Fleiss, p_e = 2*.5*.5 = .5 -> .25/.5
    assert x["gwet_ac1"] == 0.5
    assert x["reading"] == "unreliable" and not x["paradox"]
    assert x["alpha_low"] <= x["krippendorff_alpha"] <= x["alpha_high"]
    assert 0 <= x["alpha_resamples_dropped"] <= 0.1

    # item y: everybody always 0 -> no variation
    assert y["n_units"] == 4 and y["n00"] == 4 and y["prevalence"] == 0.0
    assert y["percent_agreement"] == 1.0
    assert y["brennan_prediger"] == 1.0 and y["gwet_ac1"] == 1.0
    for col in ("cohen_kappa", "scott_pi", "fleiss_kappa", "krippendorff_alpha", "alpha_low", "alpha_high",
                "alpha_resamples_dropped"):
        assert math.isnan(y[col])
    assert y["reading"] == "undefined" and not y["paradox"]

    # ALL: 8 (unit, item) pairs: x's four plus four (0,0)
    assert pooled["n_units"] == 8
    assert (pooled["n11"], pooled["n10"], pooled["n01"], pooled["n00"]) == (1, 1, 0, 6)
    assert pooled["prevalence"] == 0.1875  # 3/16
    assert pooled["percent_agreement"] == 0.875  # 7/8
    # Cohen: p_A(1) = 2/8, p_B(1) = 1/8; p_e = .03125 + .65625 = .6875 -> .1875/.3125
    assert pooled["cohen_kappa"] == 0.6
    # Scott: pooled 3/16; p_e = (9 + 169)/256 -> (.875 - .6953125)/.3046875
    assert pooled["scott_pi"] == 0.5897
    assert pooled["brennan_prediger"] == 0.75  # (.875 - .5)/.5
    assert pooled["krippendorff_alpha"] == 0.6154  # 1 - 15*1/(13*3)
    # Fleiss and AC1 over all 10 (unit, item) pairs, u5's two included:
    # pi_1 = 2.5/10 = .25.  Fleiss: p_e = .0625 + .5625 -> .25/.375;
    # AC1: p_e = 2*.25*.75 = .375 -> .5/.625 (|.8 - .6| sits on the paradox
    # threshold, so the flag is not asserted here)
    assert pooled["fleiss_kappa"] == 0.6667
    assert pooled["gwet_ac1"] == 0.8
    assert pooled["reading"] == "unreliable"


def test_agreement_table_fleiss_and_ac1_equal_the_functions():
    # units u1-u5 of item x (u5 seen by B only) and, with coder C, u9 (seen by
    # C only): the table must give what the functions give on the same data
    a = [1, 1, 0, 0, None, None]
    b = [1, 0, 0, 0, 1, None]
    c = [None, None, None, None, None, 1]
    extra = _presence([("u9", "C", "x", 1), ("u9", "C", "y", 0)])
    for frame, coders, data in ((_tiny_frame(), ["A", "B"], [a[:5], b[:5]]),
                                (pd.concat([_tiny_frame(), extra]), ["A", "B", "C"], [a, b, c])):
        x = agreement_table(frame, coders, "code", n_resamples=20).set_index("item").loc["x"]
        assert x["fleiss_kappa"] == round(fleiss_kappa(counts_from_data(data, categories=(0, 1))), 4)
        assert x["gwet_ac1"] == round(gwet_ac1(data, categories=(0, 1)), 4)
        assert x["percent_agreement"] == round(percent_agreement(data), 4)
        assert x["krippendorff_alpha"] == round(krippendorff_alpha(data), 4)
    # by hand, three coders: pi_1 = 7/12; AC1 p_e = 2 * 7/12 * 5/12 = 70/144
    # -> (.75 - 70/144)/(74/144) = 38/74
    assert x["gwet_ac1"] == round(38 / 74, 4)


def test_agreement_table_reports_dropped_resamples_for_a_rare_code():
    rows = [(f"u{i:02d}", coder, "rare", v) for coder in ("A", "B") for i, v in enumerate(RARE)]
    table = agreement_table(_presence(rows), ["A", "B"], "code", n_resamples=1000, seed=5)
    rare = table.set_index("item").loc["rare"]
    assert rare["krippendorff_alpha"] == 1.0 and rare["n_units"] == 40
    assert rare["alpha_resamples_dropped"] == round(bootstrap_alpha([RARE, RARE], seed=5).dropped, 4)
    assert rare["alpha_resamples_dropped"] > 0.25
    assert math.isnan(rare["alpha_low"]) and math.isnan(rare["alpha_high"])


def test_agreement_table_is_deterministic_and_order_free():
    frame = _tiny_frame()
    first = agreement_table(frame, ["A", "B"], "code", n_resamples=100)
    shuffled = agreement_table(frame.sample(frac=1, random_state=1), ["A", "B"], "code", n_resamples=100)
    pd.testing.assert_frame_equal(first, shuffled)


def test_agreement_table_three_coders_and_no_overlap():
    frame = _tiny_frame()
    extra = _presence([("u9", "C", "x", 1), ("u9", "C", "y", 0)])  # C shares no unit
    table = agreement_table(pd.concat([frame, extra]), None, "variable", n_resamples=50)
    x = table.set_index("item").loc["x"]
    assert math.isnan(x["cohen_kappa"]) and math.isnan(x["scott_pi"])
    assert x["n11"] is pd.NA
    # C's lone unit u9 adds no pair but enters Fleiss' category shares:
    # pi_1 = (1 + .5 + 0 + 0 + 1 + 1)/6 = 7/12, p_e = (49 + 25)/144
    # -> (.75 - 74/144)/(70/144) = 34/70
    assert x["n_units"] == 4 and x["fleiss_kappa"] == round(34 / 70, 4)

    only_c_and_a = agreement_table(pd.concat([frame, extra]), ["C", "A"], "code", n_resamples=50)
    for _, row in only_c_and_a.iterrows():
        assert row["n_units"] == 0
        assert math.isnan(row["percent_agreement"]) and math.isnan(row["krippendorff_alpha"])
        assert math.isnan(row["prevalence"])
        assert row["reading"] == "undefined"
        assert (row["n11"], row["n10"], row["n01"], row["n00"]) == (0, 0, 0, 0)


def test_agreement_table_rejects_bad_frames():
    frame = _tiny_frame()
    with pytest.raises(CodingError, match="column"):
        agreement_table(frame.drop(columns="value"), ["A", "B"], "code")
    with pytest.raises(CodingError, match="0 or 1"):
        agreement_table(pd.concat([frame, _presence([("u1", "A", "z", 2)])]), ["A", "B"], "code")
    with pytest.raises(CodingError, match="conflicting"):
        agreement_table(pd.concat([frame, _presence([("u1", "A", "x", 0)])]), ["A", "B"], "code")
    with pytest.raises(CodingError, match="not found"):
        agreement_table(frame, ["A", "Z"], "code")
