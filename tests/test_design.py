"""Statistics that respect units nested in documents, unit types, and Findings
that claim nothing their tables do not support (on a second, small corpus)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coding.jobs import pipeline
from coding.records import Document
from coding.reports import design
from coding.reports.tables import wilson_interval
from coding.segment import segment

SMALL = Path(__file__).resolve().parent / "data" / "small_corpus"


def _clustered(n_docs=10, per_doc=20, seed=1):
    """Units in documents whose share of the item is all or nothing: strongly clustered."""
    rng = np.random.default_rng(seed)
    doc = np.repeat(np.arange(n_docs), per_doc)
    coded = np.repeat(rng.random(n_docs) < 0.5, per_doc).astype(np.int64)[:, None]
    return doc, coded


def test_a_clustered_interval_is_wider_than_one_taking_units_as_independent():
    doc, coded = _clustered()
    low, high = design.share_intervals(np.zeros(len(doc), np.int64), doc, coded, 1, 10)
    w_low, w_high = wilson_interval(coded.sum(), len(doc))
    assert high[0, 0] - low[0, 0] > 2 * (w_high - w_low)
    again = design.share_intervals(np.zeros(len(doc), np.int64), doc, coded, 1, 10)
    assert np.array_equal(low, again[0]) and np.array_equal(high, again[1])  # a fixed seed


def test_an_interval_of_one_document_or_one_point_is_withheld():
    doc = np.zeros(30, np.int64)
    coded = (np.arange(30) % 3 == 0).astype(np.int64)[:, None]
    low, high = design.share_intervals(np.zeros(30, np.int64), doc, coded, 1, 1)
    assert np.isnan(low[0, 0]) and np.isnan(high[0, 0])
    doc = np.repeat(np.arange(5), 4)
    low, high = design.share_intervals(np.zeros(20, np.int64), doc, np.zeros((20, 1), np.int64), 1, 5)
    assert np.isnan(low[0, 0])  # 0% in every resample: no interval of one point


def test_the_crosstab_test_fits_the_design():
    doc, coded = _clustered(n_docs=12, per_doc=10)
    group = (doc % 2).astype(np.int64)  # an attribute of documents
    (row,) = design.crosstab_test(group, doc, coded, 2)
    assert row["test"] == "documents permuted"
    # documents permuted: far less sure than the test that takes 120 units as independent
    assert row["p"] > row["p_units"]
    # one unit per document: units are independent, small counts take Fisher's exact test
    doc1 = np.arange(12)
    coded1 = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1])[:, None]
    (row,) = design.crosstab_test((doc1 % 2).astype(np.int64), doc1, coded1, 2)
    assert row["test"] == "Fisher exact" and row["p"] == pytest.approx(row["p_units"])
    # an attribute that varies inside documents (speakers of an interview) is permuted within them
    (row,) = design.crosstab_test((np.arange(120) % 2).astype(np.int64), doc, coded, 2)
    assert row["test"] == "permuted within documents"


def test_cooccurrence_within_documents_equals_the_cochran_mantel_haenszel_test():
    from statsmodels.stats.contingency_tables import StratifiedTable

    rng = np.random.default_rng(3)
    doc = np.repeat(np.arange(6), 15)
    a = (rng.random(90) < 0.2 + 0.1 * doc / 6).astype(int)
    b = (rng.random(90) < 0.3 + 0.5 * a).astype(int)
    got = design.within_documents(a, b, doc)
    tables = [np.array([[((a == 1) & (b == 1) & (doc == d)).sum(), ((a == 1) & (b == 0) & (doc == d)).sum()],
                        [((a == 0) & (b == 1) & (doc == d)).sum(), ((a == 0) & (b == 0) & (doc == d)).sum()]])
              for d in range(6)]
    assert got["p_within"] == pytest.approx(StratifiedTable(tables).test_null_odds(correction=True).pvalue)


def test_headings_are_a_unit_type_and_keep_ids_and_offsets():
    text = "1.2 Rise of the Port\n\nThe port grew fast in 2014.\n\nCHAPTER TWO\n\nDr Lee said:\n\nIt grew."
    doc = Document("d", "T", "report", "2014", "", "d.txt", text)
    units = segment(doc)
    assert [u.unit_type for u in units] == ["heading", "paragraph", "heading", "paragraph", "paragraph"]
    assert [u.id for u in units] == [f"d:p000{i}" for i in range(1, 6)]
    assert all(text[u.start:u.end] == u.text for u in units)
    # a document of one short line has no heading
    assert segment(Document("s", "T", "statement", "2014", "", "s.txt", "Talks went well"))[0].unit_type == \
        "paragraph"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    shutil.copytree(SMALL, root / "corpus")
    pipeline.run(root / "corpus", root / "corpus" / "codebook.yaml", root / "out", progress=False)
    return root / "out"


def _findings(out: Path) -> str:
    html = (out / "report.html").read_text(encoding="utf-8")
    part = html[html.index('<section id="findings">'):html.index('<section id="method">')]
    part = re.sub(r"<blockquote>.*?</blockquote>", " ", part, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", part).replace("&#39;", "'").split())


@pytest.mark.report
def test_shares_leave_headings_out_and_count_them_apart(small):
    types = pd.read_csv(small / "tables" / "unit_types.csv").set_index("unit_type")
    assert types.loc["heading", "units"] == 5 and not types.loc["heading", "in_shares"]
    freq = pd.read_csv(small / "tables" / "frequencies.csv")
    assert set(freq["units_total"]) == {types.loc["paragraph", "units"]}
    html = (small / "report.html").read_text(encoding="utf-8")
    assert "leave out 5 headings" in " ".join(html.split())


@pytest.mark.report
def test_the_findings_of_a_second_corpus_claim_nothing_the_tables_do_not_support(small):
    text = _findings(small)
    comp = pd.read_csv(small / "tables" / "comparisons.csv", keep_default_na=False)
    for r in comp[comp["level"] == "variable"].itertuples():
        if r.note:
            assert r.note in text
            continue
        sentence = re.search(rf"Compared [^.]*?{r.label}[^\[]*", text).group(0)
        if r.verdict == "no clear difference":
            assert "no clear difference" in sentence and " higher " not in sentence and " lower " not in sentence
            assert float(r.difference_cl_low) <= 0 <= float(r.difference_cl_high)
        else:
            assert f" is {r.verdict} in " in sentence
            assert not float(r.difference_cl_low) <= 0 <= float(r.difference_cl_high)
    tests = pd.read_csv(small / "tables" / "crosstab_tests.csv")
    for r in tests[(tests["level"] == "variable") & tests["attribute"].isin(["doc_type", "speaker"])].itertuples():
        words = {"doc_type": "document type", "speaker": "speaker"}[r.attribute]
        sentence = re.search(rf"By {words}, {r.label} is coded in [^\[]*", text).group(0)
        assert ("the shares differ" in sentence) == (r.p < 0.05)
        assert f"p = {r.p:.4f}" in sentence
    # shares only, with their denominators: no count of mentions read as a trend
    assert "mentions fall in" not in text and "ranges from" not in text
    # the dates of this corpus spread over the study period: a comparison by document year is made
    assert "Compared by the documents' own dates" in text


@pytest.mark.report
def test_quotations_come_from_every_document_type(small):
    html = (small / "report.html").read_text(encoding="utf-8")
    for var in ("trade", "environment"):
        part = html[html.index(f'id="finding-{var}"'):]
        part = part[:part.index("</section>")]
        cites = re.findall(r"<cite>(.*?)</cite>", part)
        assert any(", news, " in c for c in cites) and any(", report, " in c for c in cites), cites
    exemplars = pd.read_csv(small / "tables" / "exemplars.csv")
    assert (exemplars.groupby("code")["doc_type"].nunique() == 2).all()


@pytest.mark.report
def test_crosstabs_take_any_column_a_user_adds_to_the_manifest(small):
    tests = pd.read_csv(small / "tables" / "crosstab_tests.csv")
    bank = tests[(tests["attribute"] == "bank") & (tests["level"] == "variable")]
    assert len(bank) == 2 and set(bank["groups"]) == {2}
    shares = pd.read_csv(small / "tables" / "crosstabs.csv")
    assert set(shares.loc[shares["attribute"] == "bank", "group"]) == {"east", "north"}
    assert "By bank, Trade is coded in" in _findings(small)
    sheets = pd.ExcelFile(small / "tables.xlsx").sheet_names
    assert {"crosstabs", "crosstab_tests", "comparisons", "unit_types"} <= set(sheets)
