"""The shipped corpus end to end: one `coding run`, then invariants of its
tables against codings.csv, provenance, the agreement audit and REFI-QDA
export. The run is made once per test process (conftest.shipped_run) and
copied for the module."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from coding import exchange as refi
from coding.codebook import load_codebook
from coding.store import Store

pytestmark = [pytest.mark.shipped, pytest.mark.figures]


@pytest.fixture(scope="module")
def shipped(shipped_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("shipped")
    shutil.copytree(shipped_run[0], out, dirs_exist_ok=True)
    return out, shipped_run[1]


def test_whole_corpus_is_coded(shipped):
    out, summary = shipped
    assert not summary.errors
    manifest = pd.read_csv(REPO / "corpus" / "manifest.csv")
    assert summary.documents == len(manifest) == summary.coded_documents
    assert summary.coders_imported == ["human-1", "human-2"]
    segments = pd.read_csv(out / "segments.csv")
    assert set(segments["document_id"]) == set(manifest["id"])
    codings = pd.read_csv(out / "codings.csv", keep_default_na=False)
    assert set(codings["unit_id"]) <= set(segments["unit_id"])
    # the default coder with the shipped codebook: the mention coder (its model was made for it)
    assert summary.coder == "mentions"
    auto = codings[codings["coder"] == summary.coder]
    for var in ("economic", "strategic", "regional_security"):
        assert (auto["variable"] == var).sum() > 50, var
    assert all(json.loads(e) for e in auto["evidence"])  # every automatic coding has evidence
    # the mention coder's probabilities, as coding code writes them, on its rows only
    probability = auto["probability"].astype(float)
    assert ((probability > 0) & (probability <= 1)).all() and auto["probability"].str.fullmatch(r"[01]\.\d{4}").all()
    assert (codings.loc[codings["coder"] != summary.coder, "probability"] == "").all()


def test_frequencies_equal_a_recount_of_codings_csv(shipped):
    out, summary = shipped
    codings = pd.read_csv(out / "codings.csv", keep_default_na=False)
    segments = pd.read_csv(out / "segments.csv")
    prose = set(segments.loc[segments["unit_type"] != "heading", "unit_id"])  # shares leave headings out
    auto = codings[(codings["coder"] == summary.coder) & codings["unit_id"].isin(prose)]
    n_units = len(prose)
    freq = pd.read_csv(out / "tables" / "frequencies.csv", keep_default_na=False)
    for row in freq.itertuples():
        key = "variable" if row.level == "variable" else "code"
        item = row.variable if row.level == "variable" else row.code
        rows = auto[auto[key] == item]
        assert row.units_coded == rows["unit_id"].nunique(), item
        assert row.documents_coded == rows["document_id"].nunique(), item
        assert row.units_total == n_units
        assert 0 <= row.unit_share <= 1 and row.unit_share_ci_low <= row.unit_share <= row.unit_share_ci_high
        assert 0 <= row.document_share <= 1


@pytest.mark.parametrize("name, key", [("cooc_variables_units", "variable"), ("cooc_codes_units", "code")])
def test_cooccurrence_matrices(shipped, name, key):
    out, summary = shipped
    matrix = pd.read_csv(out / "tables" / f"{name}.csv", index_col=0)
    assert list(matrix.index) == list(matrix.columns)
    values = matrix.to_numpy()
    assert np.array_equal(values, values.T)
    codings = pd.read_csv(out / "codings.csv", keep_default_na=False)
    segments = pd.read_csv(out / "segments.csv")
    prose = set(segments.loc[segments["unit_type"] != "heading", "unit_id"])  # headings are counted apart
    auto = codings[(codings["coder"] == summary.coder) & codings["unit_id"].isin(prose)]
    sets = {item: set(auto.loc[auto[key] == item, "unit_id"]) for item in matrix.index}
    for a in matrix.index:
        for b in matrix.columns:
            assert matrix.loc[a, b] == len(sets[a] & sets[b]), (a, b)


def test_pairs_list_agrees_with_matrix(shipped):
    out, _ = shipped
    pairs = pd.read_csv(out / "tables" / "cooccurrence_pairs.csv")
    matrix = pd.read_csv(out / "tables" / "cooc_variables_units.csv", index_col=0)
    part = pairs[(pairs["level"] == "variable") & (pairs["context"] == "unit")]
    assert len(part) == 3
    for r in part.itertuples():
        assert r.n_ab == matrix.loc[r.item_a, r.item_b]
        assert r.jaccard == pytest.approx(r.n_ab / (r.n_a + r.n_b - r.n_ab), abs=1e-4)
        assert 0 <= r.p_b_given_a <= 1 and 0 <= r.p_a_given_b <= 1


def test_report_and_figures(shipped):
    out, _ = shipped
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "agreement" in html.lower() and "human-1" in html
    for fig in ("variable_frequencies", "code_frequencies", "cooccurrence_codes", "timeline_referenced_year",
                "frequencies_by_doc_type", "agreement_alpha"):
        assert (out / "figures" / f"{fig}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_manifest_records_inputs_with_hashes(shipped):
    out, summary = shipped
    record = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert record["codebook"]["version"] == summary.codebook_version == load_codebook(REPO / "codebook.yaml").version
    assert record["unit"] == "paragraph"
    assert {c["name"] for c in record["coders"]} == {summary.coder, "human-1", "human-2"}
    assert record["software"]["libraries"]["spacy"]
    paths = {Path(i["path"]).name: i for i in record["inputs"]}
    assert "codebook.yaml" in paths and "manifest.csv" in paths and "human-1.csv" in paths
    for item in record["inputs"]:
        assert hashlib.sha256(Path(item["path"]).read_bytes()).hexdigest() == item["sha256"]


def _published_alphas() -> dict[tuple[str, ...], list[str]]:
    """The README's table of alphas on the development set: coders -> the
    column values (economic, strategic, regional security, all) as printed."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Results on the shipped corpus"):]
    section = section[:section.index("\n#")]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[1].startswith(("0.", ".", "1.")):
            rows[tuple(c.strip() for c in cells[0].replace(" vs ", ",").split(","))] = cells[1:]
    return rows


def test_agreement_on_the_development_set_is_what_the_readme_publishes(shipped, tmp_path):
    """The README's figures for the default coder (``mentions``, as the run
    chose it) and for ``auto``, coded into a copy of the same store."""
    from coding.agreement.audit import audit_agreement
    from coding.coders.dictionary import DictionaryCoder
    from coding.jobs import pipeline

    out, _ = shipped
    store_copy = tmp_path / "out"
    shutil.copytree(out, store_copy)
    cb = load_codebook(REPO / "codebook.yaml")
    pipeline.run(REPO / "corpus", REPO / "codebook.yaml", store_copy, progress=False, report=False,
                 coder=DictionaryCoder(cb))
    published = _published_alphas()
    assert set(published) == {(c, "human-1") for c in ("mentions", "auto")} | \
        {(c, "human-2") for c in ("mentions", "auto")} | {("human-1", "human-2")} | \
        {(c, "human-1", "human-2") for c in ("mentions", "auto")}
    with Store(store_copy / "project.sqlite") as store:
        for coders, values in published.items():
            # the point estimates do not depend on the number of resamples
            table = audit_agreement(store, list(coders), "variable", n_resamples=50).set_index("item")
            assert list(table.index) == ["economic", "regional_security", "strategic", "ALL"]
            assert list(table["n_units"]) == [120, 120, 120, 360], coders
            alphas = table.loc[["economic", "strategic", "regional_security", "ALL"], "krippendorff_alpha"]
            assert [f"{a:.3f}".removeprefix("0") for a in alphas] == values, coders


def test_shipped_project_exports_valid_refi_files(shipped, tmp_path):
    out, _ = shipped
    qdc = refi.export_codebook(load_codebook(REPO / "codebook.yaml"), tmp_path / "codebook.qdc")
    refi.validate_schema(qdc)
    with Store(out / "project.sqlite") as store:
        qdpx = refi.export_project(store, tmp_path / "project.qdpx", coders=["mentions", "human-1"])
    refi.validate_schema(qdpx)


def test_report_reads_shares_over_prose_and_says_which_comparisons_are_empty(shipped):
    out, _ = shipped
    html = " ".join((out / "report.html").read_text(encoding="utf-8").split())
    types = pd.read_csv(out / "tables" / "unit_types.csv").set_index("unit_type")
    headings = int(types.loc["heading", "units"])
    assert headings > 50 and f"leave out {headings} headings" in html
    # the thesis chapters and the interview are dated 2024: no comparison by document year
    dated_other = int(types["units"].sum() - headings) - int(
        pd.read_csv(out / "tables" / "frequencies_by_document_year.csv").query("document_year == 2024")
        ["units_total"].iloc[0])
    assert f"All but {dated_other} units are dated 2024; no comparison by document year." in html
    assert "By document type, Economic is coded in" in html and "0.0% of 5 units of interview" in html
    assert "documents resampled" in html
    findings = html[html.index('<section id="findings">'):html.index('<section id="method">')]
    assert "Interview excerpt" in findings  # quotations stratified by document type: the interviews speak too
    # long tables go to an appendix at the end, their variables' rows only; the CSV and workbook keep every row
    assert html.index('id="exemplars"') < html.index('id="tables"')
    pairs = html[html.index('id="table-cooccurrence_pairs"'):]
    pairs = pairs[:pairs.index("</section>")]
    assert "every row is in tables/cooccurrence_pairs.csv and tables.xlsx" in pairs
    assert '<th scope="row">variable</th>' in pairs and '<th scope="row">code</th>' not in pairs
    share = pd.read_csv(out / "tables" / "frequencies.csv").query("level == 'variable'")["unit_share"].iloc[0]
    assert f"{100 * share:.1f}%" in html and f"{share:.4f}" not in html  # percentages with one decimal
