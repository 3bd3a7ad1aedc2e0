"""Reports: hand-computed frequencies and co-occurrence measures, invariants, files, escaping."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from coding.reports import ReportData, filter_data, write_report
from coding.reports.tables import compute_tables, poisson_interval, wilson_interval

pytestmark = pytest.mark.report


@dataclass(frozen=True)
class Var:
    id: str
    label: str
    definition: str = ""


@dataclass(frozen=True)
class Code:
    id: str
    label: str
    variable: str
    definition: str = ""


@dataclass(frozen=True)
class Book:
    version: str = "abc123def456"
    variables: tuple = field(default_factory=tuple)
    codes: tuple = field(default_factory=tuple)


BOOK = Book(
    variables=(Var("economic", "Economic", "Economic ties."), Var("strategic", "Strategic", "Military ties.")),
    codes=(Code("trade", "Trade and investment", "economic", "Trade."),
           Code("energy", "Energy", "economic", "Energy <pipelines> & power."),
           Code("defence", "Defence cooperation", "strategic", "Defence.")),
)

# Two documents, six units. Which codes each unit carries:
#   d1 (thesis_chapter, 2015): u1 trade+energy, u2 trade+defence, u3 trade+defence
#   d2 (interview, 2020):      u4 energy,       u5 trade+energy,  u6 nothing
UNIT_TEXTS = {
    "d1:p0001": "In 2014 trade and investment grew, and 2014 saw energy talks.",  # 11 words
    "d1:p0002": "Trade in 2014 and 2018 rested on defence deals.",                 # 9 words
    "d1:p0003": "Trade followed defence cooperation.",                             # 4 words
    "d2:p0001": "The pipeline mattered <script>alert(1)</script>.",                # 4 words
    "d2:p0002": "In 2018 trade and energy links expanded.",                        # 7 words
    "d2:p0003": "Nothing else was discussed.",                                     # 4 words
}
CODED = {
    "d1:p0001": {"trade": ["trade", "investment"], "energy": ["energy"]},
    "d1:p0002": {"trade": ["Trade"], "defence": ["defence"]},
    "d1:p0003": {"trade": ["Trade"], "defence": ["defence"]},
    "d2:p0001": {"energy": ["pipeline"]},
    "d2:p0002": {"trade": ["trade"], "energy": ["energy"]},
}
VARIABLE = {"trade": "economic", "energy": "economic", "defence": "strategic"}


def make_data(coder: str = "auto") -> ReportData:
    documents = pd.DataFrame({
        "id": ["d1", "d2"], "title": ["Chapter 3", "Interview with an official"],
        "doc_type": ["thesis_chapter", "interview"], "date": ["2015-06-01", "2020"],
        "year": pd.array([2015, 2020], dtype="Int64"), "source": ["Thesis (2015), ch. 3", ""],
        "path": ["ch3.txt", "int1.txt"], "speaker": ["", "Official"],
    })
    units, codings = [], []
    offsets = {"d1": 0, "d2": 0}
    for uid, text in UNIT_TEXTS.items():
        doc, p = uid.split(":")
        start = offsets[doc]
        offsets[doc] = start + len(text) + 2
        units.append({"unit_id": uid, "document_id": doc, "ordinal": int(p[1:]), "unit_type": "paragraph",
                      "start": start, "end": start + len(text), "text": text, "words": len(text.split())})
        for code, terms in CODED.get(uid, {}).items():
            evidence, cursor = [], 0
            for term in terms:
                local = text.index(term, cursor)
                cursor = local + len(term)
                evidence.append({"term": term, "pattern": term.lower(), "start": start + local,
                                 "end": start + local + len(term)})
            codings.append({"unit_id": uid, "document_id": doc, "code": code, "variable": VARIABLE[code],
                            "coder": coder, "codebook_version": BOOK.version, "evidence": json.dumps(evidence)})
    return ReportData(documents, pd.DataFrame(units), pd.DataFrame(codings), BOOK, coder)


@pytest.fixture(scope="module")
def tables():
    return compute_tables(make_data())


def row(df, **where):
    mask = np.ones(len(df), dtype=bool)
    for k, v in where.items():
        mask &= (df[k] == v).to_numpy()
    assert mask.sum() == 1, where
    return df[mask].iloc[0]


def test_frequencies_by_hand(tables):
    f = tables["frequencies"]
    # trade: u1 u2 u3 u5 -> 4 of 6 units, in d1 and d2 -> 2 of 2 documents
    r = row(f, level="code", code="trade")
    assert (r.units_coded, r.units_total, r.documents_coded, r.documents_total) == (4, 6, 2, 2)
    assert r.unit_share == round(4 / 6, 4)
    # words: 11 + 9 + 4 + 4 + 7 + 4 = 39 ; rate 4 / 39 * 1000 = 102.5641
    assert r.words_total == 39
    assert r.units_coded_per_1000_words == round(4000 / 39, 4)
    # evidence: trade+investment (u1), Trade (u2), Trade (u3), trade (u5) = 5
    assert r.evidence_matches == 5
    # defence: u2 u3 -> 2 units, only in d1 -> 1 of 2 documents
    r = row(f, level="code", code="defence")
    assert (r.units_coded, r.documents_coded, r.document_share) == (2, 1, 0.5)
    # economic = trade OR energy: u1 u2 u3 u4 u5 -> 5 units; strategic = defence -> 2
    assert row(f, level="variable", variable="economic").units_coded == 5
    assert row(f, level="variable", variable="strategic").units_coded == 2
    # codes follow codebook order grouped by variable
    assert list(f[f.level == "code"].code) == ["trade", "energy", "defence"]


def test_breakdowns_by_hand(tables):
    t = tables["frequencies_by_doc_type"]
    # interview (d2): energy in u4 u5 -> 2 of 3 units, 15 words -> 133.3333 per 1,000
    r = row(t, level="code", code="energy", doc_type="interview")
    assert (r.units_coded, r.units_total, r.words_total) == (2, 3, 15)
    assert r.units_coded_per_1000_words == round(2000 / 15, 4)
    y = tables["frequencies_by_document_year"]
    assert row(y, level="code", code="trade", document_year=2015).units_coded == 3
    # referenced years: 2014 in u1 (twice, counted once) and u2; 2018 in u2 and u5
    ref = tables["frequencies_by_referenced_year"]
    assert sorted(set(ref.referenced_year)) == [2014, 2018]
    r = row(ref, level="code", code="trade", referenced_year=2014)
    assert (r.units_total, r.units_coded) == (2, 2)
    assert row(ref, level="code", code="defence", referenced_year=2018).units_coded == 1  # u2
    assert row(ref, level="code", code="energy", referenced_year=2018).units_coded == 1   # u5
    d = tables["frequencies_by_document"]
    assert row(d, level="code", code="defence", document_id="d2").units_coded == 0
    cbd = tables["code_by_document"].set_index("code")
    assert cbd.loc["trade", "d1"] == 3 and cbd.loc["trade", "d2"] == 1 and cbd.loc["trade", "total"] == 4


def test_cooccurrence_by_hand(tables):
    p = tables["cooccurrence_pairs"]
    units = p[(p.level == "code") & (p.context == "unit")]
    # energy & defence never co-occur -> dropped at min_pair_count=1; order: jaccard desc
    assert list(zip(units.item_a, units.item_b)) == [("trade", "defence"), ("trade", "energy")]

    # trade (4) & defence (2) in u2 u3 -> n_ab 2, N 6
    r = row(units, item_a="trade", item_b="defence")
    assert (r.n_a, r.n_b, r.n_ab, r.n_total) == (4, 2, 2, 6)
    assert r.expected == round(4 * 2 / 6, 4)            # 1.3333
    assert r.lift == 1.5                                # 2 / 1.3333
    assert r.jaccard == 0.5                             # 2 / (4 + 2 - 2)
    assert r.ochiai == round(2 / math.sqrt(8), 4)       # 0.7071
    assert (r.p_b_given_a, r.p_a_given_b) == (0.5, 1.0)  # 2/4, 2/2
    # 2x2: both 2, trade only 2 (u1 u5), defence only 0, neither 2 (u4 u6)
    # phi = (2*2 - 2*0) / sqrt(4*2*2*4) = 4/8
    assert r.phi == 0.5
    # Fisher: hypergeometric P(X=k) = C(4,k) C(2,2-k) / C(6,2): 1/15, 8/15, 6/15 for k=0,1,2;
    # two-sided p sums those <= P(X=2): (1 + 6) / 15
    assert r.fisher_p == round(7 / 15, 4)
    assert r.frequency_ratio == 2.0 and not r.jaccard_misleading

    # trade (4) & energy (3) in u1 u5; both 2, trade only 2, energy only 1 (u4), neither 1 (u6)
    r = row(units, item_a="trade", item_b="energy")
    assert r.expected == 2.0 and r.lift == 1.0          # 4*3/6 ; 2/2
    assert r.jaccard == 0.4                             # 2 / (4 + 3 - 2)
    assert r.ochiai == round(2 / math.sqrt(12), 4)      # 0.5774
    assert (r.p_b_given_a, r.p_a_given_b) == (0.5, round(2 / 3, 4))
    assert r.phi == 0.0                                 # (2*1 - 2*1) / sqrt(4*2*3*3)
    assert r.fisher_p == 1.0

    # with min_pair_count=0 the never-co-occurring pair appears:
    # both 0, energy only 3, defence only 2, neither 1: phi = (0*1 - 3*2)/sqrt(3*3*2*4) = -6/sqrt(72)
    p0 = compute_tables(make_data(), min_pair_count=0)["cooccurrence_pairs"]
    r = row(p0, level="code", context="unit", item_a="energy", item_b="defence")
    assert (r.n_ab, r.expected, r.lift, r.jaccard) == (0, 1.0, 0.0, 0.0)
    assert r.phi == round(-6 / math.sqrt(72), 4)

    # variables: economic (5) & strategic (2) share u2 u3
    r = row(p, level="variable", context="unit", item_a="economic", item_b="strategic")
    assert r.expected == round(5 * 2 / 6, 4) and r.lift == 1.2 and r.jaccard == 0.4
    assert r.ochiai == round(2 / math.sqrt(10), 4)
    assert r.phi == round(2 / math.sqrt(40), 4)          # (2*1 - 3*0) / sqrt(5*1*2*4)
    # documents: d1 has all three codes, d2 trade+energy -> trade&defence in 1 of 2 documents
    r = row(p, level="code", context="document", item_a="trade", item_b="defence")
    assert (r.n_a, r.n_b, r.n_ab, r.n_total, r.units_ab) == (2, 1, 1, 2, 2)

    m = tables["cooc_codes_units"].set_index("code")
    assert m.loc["trade", "defence"] == 2 and m.loc["energy", "defence"] == 0
    assert m.loc["trade", "trade"] == 4


def test_invariants(tables):
    freq = tables["frequencies"]
    for name in ("cooc_codes_units", "cooc_codes_documents", "cooc_variables_units", "cooc_variables_documents"):
        m = tables[name].set_index(tables[name].columns[0])
        assert list(m.index) == list(m.columns)
        assert (m.to_numpy() == m.to_numpy().T).all()
        level = "code" if "codes" in name else "variable"
        key = "units_coded" if name.endswith("units") else "documents_coded"
        f = freq[freq.level == level].set_index(level)[key]
        assert list(np.diag(m.to_numpy())) == list(f.loc[m.index])
    for name, df in tables.items():
        for col in df.columns:
            if col.endswith("_share") or col.startswith("p_") or col in ("jaccard", "ochiai"):
                vals = df[col].dropna()
                assert ((vals >= 0) & (vals <= 1)).all(), (name, col)
        if "unit_share_ci_low" in df.columns:
            sub = df[df.units_total > 0]
            assert (sub.unit_share_ci_low <= sub.unit_share).all() and (sub.unit_share <= sub.unit_share_ci_high).all()
            assert (sub.units_coded_per_1000_words_ci_low <= sub.units_coded_per_1000_words).all()
            assert (sub.units_coded_per_1000_words <= sub.units_coded_per_1000_words_ci_high).all()


def test_intervals_known_values():
    # Wilson 95% for 0/10: (0, z^2/(n+z^2)) = (0, 0.2775)
    lo, hi = wilson_interval([0, 5], [10, 10])
    assert lo[0] == 0 and round(hi[0], 4) == 0.2775
    assert round(lo[1], 4) == 0.2366 and round(hi[1], 4) == 0.7634
    # exact Poisson 95% for k = 0: (0, 3.6889); k = 1: (0.0253, 5.5716)
    lo, hi = poisson_interval([0, 1])
    assert lo[0] == 0 and round(hi[0], 4) == 3.6889
    assert round(lo[1], 4) == 0.0253 and round(hi[1], 4) == 5.5716


def test_kwic_and_exemplars(tables):
    kwic = tables["kwic"]
    n_evidence = sum(len(terms) for codes in CODED.values() for terms in codes.values())
    assert len(kwic) == n_evidence == 10  # 3 + 2 + 2 + 1 + 2
    r = row(kwic, code="trade", unit_id="d1:p0001", term="investment")
    assert r.left == "In 2014 trade and " and r.right.startswith(" grew, and 2014")
    ex = tables["exemplars"]
    # trade: u1 has 2 distinct terms; u2, u3, u5 have 1 -> shortest next: u3 (35 chars), u5 (40 chars)
    assert list(ex[ex.code == "trade"].unit_id) == ["d1:p0001", "d1:p0003", "d2:p0002"]
    assert row(ex, code="trade", rank=1).citation == "Thesis (2015), ch. 3"
    assert row(ex, code="energy", unit_id="d2:p0001").citation == "Interview with an official"


def test_unit_by_code_matrix(tables):
    m = tables["unit_by_code"]
    assert len(m) == 6 and m.columns[0] == "unit_id"
    assert list(m["code_trade"]) == [1, 1, 1, 0, 1, 0]
    assert list(m["variable_economic"]) == [1, 1, 1, 1, 1, 0]


def test_filter_data():
    data = make_data()
    assert set(filter_data(data, doc_types=["interview"]).units.document_id) == {"d2"}
    f = filter_data(data, year_from=2016)
    assert list(f.documents.id) == ["d2"] and set(f.codings.document_id) == {"d2"}
    assert len(filter_data(data, year_to=2000).units) == 0


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in {".csv", ".html", ".png", ".xlsx"}}


def test_write_report_deterministic_and_escaped(tmp_path):
    data = make_data()
    agreement = pd.DataFrame({"code": ["trade"], "alpha": [0.81]})
    a = write_report(data, tmp_path / "a", agreement=agreement)
    write_report(data, tmp_path / "b", agreement=agreement)
    fa, fb = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert fa.keys() == fb.keys() and "report.html" in fa
    assert [k for k in fa if fa[k] != fb[k]] == []
    assert all(p.exists() for p in a.values())
    assert "tables.xlsx" in a and "figures/timeline_referenced_year" in a
    html = fa["report.html"].decode()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Energy &lt;pipelines&gt; &amp; power." in html
    assert "data:image/png;base64," in html and "http://" not in html and "https://" not in html
    assert "Inter-coder agreement" in html
    xl = pd.ExcelFile(a["tables.xlsx"])
    assert "frequencies" in xl.sheet_names and "cooc_variables_documents" in xl.sheet_names


@pytest.mark.parametrize("how", ["no_codings", "filter_matches_nothing"])
def test_empty_reports(tmp_path, how):
    data = make_data()
    if how == "no_codings":
        data = ReportData(data.documents, data.units, data.codings.iloc[0:0], data.codebook, "auto")
    else:
        data = filter_data(data, doc_types=["press_release"])
    paths = write_report(data, tmp_path)
    assert all(p.exists() for p in paths.values())
    freq = pd.read_csv(paths["tables/frequencies"])
    assert "units_coded" in freq.columns
    kwic = pd.read_csv(paths["tables/kwic"])
    assert len(kwic) == 0 and "term" in kwic.columns
    html = paths["report.html"].read_text()
    assert "No codings" in html


def test_referenced_years_come_from_the_codebook_settings():
    from coding.codebook import load_codebook
    from coding.reports.tables import years_mentioned

    first, last = load_codebook(REPO / "codebook.yaml").settings.referenced_years
    assert (first, last) == (1947, 2030)
    text = "In 1946, 1947 and 2012-2023; not 2031 or 19470."
    assert years_mentioned(text, first, last) == [1947, 2012, 2023]
    assert years_mentioned("by 2030", first, last) == [2030]
    assert years_mentioned(text, 1900, 2100) == [1946, 1947, 2012, 2023, 2031]


def test_small_p_values_keep_significant_digits():
    from coding.reports.output import finish as _finish
    from coding.reports.tables import pair_statistics

    p = pair_statistics(40, 40, 40, 400)["fisher_p"]
    assert 0 < p < 1e-20
    shown = _finish(pd.DataFrame({"fisher_p": [p], "lift": [1 / 3]}))
    assert shown["fisher_p"][0] > 0 and shown["lift"][0] == 0.3333
