"""How report values read: column labels, cells, p-values, citations, highlighted evidence.

The CSV files keep the machine names of columns (``unit_share_ci_low``);
the HTML pages show :data:`COLUMN_LABELS` instead, with the machine name as
a tooltip. Text from the corpus is always escaped here before any mark-up is
added, so highlighting can never inject HTML.
"""

from __future__ import annotations

import math
import re

import pandas as pd
from markupsafe import Markup, escape

#: p-values below this print as "< 0.0001" (four decimals cannot show them)
P_FLOOR = 0.0001

#: readable header of each machine column name used in the report tables
COLUMN_LABELS = {
    "level": "Level", "variable": "Variable", "code": "Code", "label": "Label", "definition": "Definition",
    "doc_type": "Document type", "document_id": "Document", "title": "Title", "document_year": "Document year",
    "referenced_year": "Year referred to", "units_total": "Units", "words_total": "Words",
    "documents_total": "Documents", "units_coded": "Units coded", "unit_share": "Share of units",
    "unit_share_ci_low": "Share: 95% low", "unit_share_ci_high": "Share: 95% high",
    "documents_coded": "Documents coded", "document_share": "Share of documents",
    "document_share_ci_low": "Documents: 95% low", "document_share_ci_high": "Documents: 95% high",
    "evidence_matches": "Evidence matches", "units_coded_per_1000_words": "Per 1,000 words",
    "units_coded_per_1000_words_ci_low": "Rate: 95% low", "units_coded_per_1000_words_ci_high": "Rate: 95% high",
    "context": "Within", "item_a": "A", "item_b": "B", "label_a": "A", "label_b": "B",
    "variable_a": "Variable of A", "variable_b": "Variable of B", "n_a": "n(A)", "n_b": "n(B)",
    "n_ab": "n(A and B)", "n_total": "n", "units_ab": "Units with both", "expected": "Expected",
    "lift": "Lift", "jaccard": "Jaccard", "ochiai": "Ochiai", "p_b_given_a": "P(B | A)", "p_a_given_b": "P(A | B)",
    "phi": "Phi", "fisher_p": "Fisher p", "frequency_ratio": "Frequency ratio",
    "jaccard_misleading": "Jaccard misleads", "documents": "Documents", "units": "Units", "words": "Words",
    "coded_units": "Coded units", "unit_id": "Unit", "left": "Before", "term": "Term", "right": "After",
    "pattern": "Pattern", "coders": "Coders", "item": "Item", "n_units": "Units", "prevalence": "Prevalence",
    "percent_agreement": "Agreement", "cohen_kappa": "Cohen's kappa", "scott_pi": "Scott's pi",
    "brennan_prediger": "Brennan-Prediger", "fleiss_kappa": "Fleiss' kappa",
    "krippendorff_alpha": "Krippendorff's alpha", "alpha_low": "Alpha: 95% low", "alpha_high": "Alpha: 95% high",
    "alpha_resamples_dropped": "Resamples dropped", "gwet_ac1": "Gwet's AC1", "reading": "Reading",
    "paradox": "Paradox", "n11": "Both coded", "n10": "First only", "n01": "Second only", "n00": "Neither",
    "total": "Total", "speaker": "Speaker", "date": "Date", "citation": "Citation", "rank": "Rank",
    "unit_share_cl_low": "Share: 95% low (by document)", "unit_share_cl_high": "Share: 95% high (by document)",
    "expected_within": "Expected within documents", "p_within": "p within documents",
    "comparison": "Comparison", "group_a": "Side a", "group_b": "Side b", "units_a": "Units a",
    "documents_a": "Documents a", "coded_a": "Coded a", "share_a": "Share a", "units_b": "Units b",
    "documents_b": "Documents b", "coded_b": "Coded b", "share_b": "Share b", "difference": "Difference (b - a)",
    "difference_cl_low": "Difference: 95% low", "difference_cl_high": "Difference: 95% high",
    "verdict": "Verdict", "note": "Note", "attribute": "Attribute", "group": "Group", "groups": "Groups",
    "test": "Test", "statistic": "Chi-square", "df": "df", "p": "p", "p_units": "p (units independent)",
    "unit_type": "Unit type", "in_shares": "In shares", "alpha_interval_note": "Alpha's interval",
    "provenance": "Provenance",
}

#: proportions, shown as percentages with one decimal (the CSVs keep proportions)
PERCENT_COLUMNS = frozenset({
    "unit_share", "unit_share_ci_low", "unit_share_ci_high", "unit_share_cl_low", "unit_share_cl_high",
    "document_share", "document_share_ci_low", "document_share_ci_high", "p_b_given_a", "p_a_given_b",
    "share_a", "share_b", "prevalence", "percent_agreement",
})
#: differences of proportions, shown in percentage points
POINTS_COLUMNS = frozenset({"difference", "difference_cl_low", "difference_cl_high"})
#: p-values whose names do not end in "_p"
P_NAMES = frozenset({"p", "p_units", "p_within"})


def column_label(name: str) -> str:
    """The header shown for a machine column name (the name itself when none is known)."""
    return COLUMN_LABELS.get(name, name.replace("_", " "))


def format_cell(value, column: str = "") -> str:
    """Display text of one cell: proportions as percentages with one decimal
    (differences in points), four decimals for other floats, "< 0.0001" for
    a tiny p-value, en dash for missing, yes/no for booleans."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalar
    if value is None or value is pd.NA:
        return "\u2013"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return _float_cell(value, column)
    try:
        if pd.isna(value):
            return "\u2013"
    except (TypeError, ValueError):
        pass
    return str(value)


def _float_cell(value: float, column: str) -> str:
    """Display text of a float (see :func:`format_cell`)."""
    if math.isnan(value):
        return "\u2013"
    if column.endswith("_p") or column in P_NAMES:
        return f"< {P_FLOOR:.4f}" if value < P_FLOOR else f"{value:.4f}"
    if column in PERCENT_COLUMNS:
        return f"{100 * value:.1f}%"
    if column in POINTS_COLUMNS:
        return f"{100 * value:+.1f} pts"
    if value % 1 == 0:
        return f"{value:.0f}"
    return f"{value:.4f}".rstrip("0").rstrip(".")


_TRAILING = re.compile(r"[\s.,;:]+$")


def _clean(part: str) -> str:
    return _TRAILING.sub("", " ".join(str(part or "").split()))


def citation(title: str, doc_type: str, date: str, source: str) -> str:
    """A citation for a quotation: "title, doc type, date, source", each
    part without trailing punctuation, empty parts and a source equal to
    the title left out."""
    parts = [_clean(title), _clean(str(doc_type or "").replace("_", " ")), _clean(date)]
    src = _clean(source)
    if src and src.casefold() != parts[0].casefold():
        parts.append(src)
    return ", ".join(p for p in parts if p)


def highlight(text: str, spans, css: str = "ev") -> Markup:
    """``text`` escaped, with each (start, end) span (offsets into ``text``)
    wrapped in ``<mark class="css">``. Overlapping spans are merged."""
    merged: list[list[int]] = []
    for s, e in sorted((max(0, int(s)), min(len(text), int(e))) for s, e in spans):
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out, pos = [], 0
    for s, e in merged:
        out.append(escape(text[pos:s]))
        out.append(Markup('<mark class="{}">{}</mark>').format(css, text[s:e]))
        pos = e
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def page_name(item_id: str) -> str:
    """A file name for a document or code id (ids are letters, digits, ``_ . -``)."""
    safe = "".join(ch if ch.isalnum() or ch in "_.-" else "_" for ch in str(item_id))
    return (safe.lstrip(".") or "_") + ".html"
