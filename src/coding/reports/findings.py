"""The "Findings" section: the report's tables read aloud, one part per variable.

Every sentence is filled in from a template with numbers taken from a table
of the same report, and carries a link to that table; nothing is generated
freely and nothing is stated that the tables do not show. A part tells how
many units and documents carry the variable (with its document-clustered
interval), its leading codes, how its share compares between the halves of
the study period (by the years units refer to and by the documents' dates)
and between document types and speakers, with the verdict the test allows
("higher", "lower", "no clear difference"; or why no comparison is made),
which other variables it co-occurs with beyond what the documents give
(Cochran-Mantel-Haenszel) and quotations with the evidence highlighted.
"""

from __future__ import annotations

import re

import pandas as pd
from markupsafe import Markup, escape

from .text import P_FLOOR, citation, highlight

#: a co-occurrence counts as beyond chance below this Fisher p-value
ALPHA = 0.05
#: quotations per variable
QUOTES = 3
#: a quotation longer than this (in words) is cut to its sentences with evidence
QUOTE_WORDS = 70
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"'\u201d\u2019)\]])\s+")


def _pct(share) -> str:
    return "–" if pd.isna(share) else f"{100 * float(share):.1f}%"


def _p(p) -> str:
    if pd.isna(p):
        return "p undefined"
    return f"p < {P_FLOOR:.4f}" if p < P_FLOOR else f"p = {p:.4f}"


def _interval(low, high) -> str:
    """A document-clustered interval in words, or why there is none."""
    if pd.isna(low) or pd.isna(high):
        return "no interval: too few documents or no spread between them"
    return f"95% interval, documents resampled, {_pct(low)} to {_pct(high)}"


def _sentence(text: str, ref: str, ref_label: str) -> dict:
    """One sentence (plain text, escaped here) with its link to a table."""
    return {"html": escape(text), "ref": ref, "ref_label": ref_label}


def _e(value) -> str:
    """A label as it goes into a sentence (escaping happens once, in :func:`_sentence`)."""
    return str(value)


def prevalence(var: dict, freq: pd.DataFrame) -> list[dict]:
    """How many units and documents carry the variable."""
    r = freq[(freq["level"] == "variable") & (freq["variable"] == var["id"])]
    if r.empty:
        return []
    r = r.iloc[0]
    text = (f"{_e(var['label'])} is coded in {int(r.units_coded):,} of {int(r.units_total):,} units "
            f"({_pct(r.unit_share)}; {_interval(r.unit_share_cl_low, r.unit_share_cl_high)}) "
            f"and in {int(r.documents_coded)} of {int(r.documents_total)} documents.")
    return [_sentence(text, "#table-frequencies", "frequencies")]


def leading_codes(var: dict, freq: pd.DataFrame, n: int = 3) -> list[dict]:
    """The variable's most frequent codes (units coded, share of units)."""
    codes = freq[(freq["level"] == "code") & (freq["variable"] == var["id"]) & (freq["units_coded"] > 0)]
    if codes.empty:
        return []
    top = codes.sort_values("units_coded", ascending=False, kind="mergesort").head(n)
    named = [f"{_e(r.label)} ({int(r.units_coded):,} units, {_pct(r.unit_share)})" for r in top.itertuples()]
    lead = "Its leading code is " if len(named) == 1 else f"Its {len(named)} leading codes are "
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return [_sentence(f"{lead}{listed}.", "#table-frequencies", "frequencies")]


def over_referenced_years(var: dict, table: pd.DataFrame, period) -> list[dict]:
    """Where the variable peaks among the years of the study period its units refer to."""
    if period is None:
        return []
    rows = table[(table["level"] == "variable") & (table["variable"] == var["id"])]
    rows = rows[(rows["referenced_year"] >= period[0]) & (rows["referenced_year"] <= period[1])]
    rows = rows[rows["units_coded"] > 0]
    ref, label = "#table-frequencies_by_referenced_year", "frequencies by referenced year"
    if rows.empty:
        return [_sentence(f"No unit coded {_e(var['label'])} refers to a year of the study period "
                          f"{period[0]}-{period[1]}.", ref, label)]
    peak = rows.sort_values(["units_coded", "referenced_year"], ascending=[False, True], kind="mergesort").iloc[0]
    return [
        _sentence(f"Of the years {period[0]}-{period[1]}, units coded {_e(var['label'])} refer to "
                  f"{len(rows)}; most often to {int(peak.referenced_year)} ({int(peak.units_coded)} of the "
                  f"{int(peak.units_total)} units that mention it, {_pct(peak.unit_share)}).", ref, label),
    ]


#: how each comparison is named in a sentence: (the sides, the ones on a side)
COMPARISON_WORDS = {
    "referenced_year": ("by the years units refer to", "units referring to {group}"),
    "document_year": ("by the documents' own dates", "units of documents dated {group}"),
}


def compared(var: dict, table: pd.DataFrame, comparison: str) -> list[dict]:
    """The share of units carrying the variable on the two sides of a
    comparison, with denominators, the clustered interval of the difference
    and the words it allows; or why no comparison is made."""
    rows = table[(table["comparison"] == comparison) & (table["level"] == "variable")
                 & (table["variable"] == var["id"])] if len(table) else table
    if not len(rows):
        return []
    r = rows.iloc[0]
    how, side = COMPARISON_WORDS[comparison]
    ref, label = "#table-comparisons", "comparisons"
    if r.note or not r.verdict or r.verdict == "undefined":
        why = r.note or "the resamples leave a side empty too often"
        text = why[0].upper() + why[1:] + "." if "no comparison" in why else f"No comparison {how}: {why}."
        return [_sentence(text, ref, label)]
    a = f"{int(r.coded_a)} of {int(r.units_a)} {side.format(group=r.group_a)} ({_pct(r.share_a)}, " \
        f"{int(r.documents_a)} documents)"
    b = f"{int(r.coded_b)} of {int(r.units_b)} {side.format(group=r.group_b)} ({_pct(r.share_b)}, " \
        f"{int(r.documents_b)} documents)"
    span = f"difference {_pp(r.difference)}, 95% interval with documents resampled {_pp(r.difference_cl_low)} to " \
        f"{_pp(r.difference_cl_high)}"
    if r.verdict == "no clear difference":
        text = f"Compared {how}, {_e(var['label'])} is coded in {a} and in {b}: no clear difference ({span})."
    else:
        text = (f"Compared {how}, the share coded {_e(var['label'])} is {r.verdict} in {r.group_b} than in "
                f"{r.group_a}: {b} against {a} ({span}).")
    return [_sentence(text, ref, label)]


def _pp(value) -> str:
    """A difference of shares in percentage points."""
    return "–" if pd.isna(value) else f"{100 * float(value):+.1f} points"


#: groups named in a crosstab sentence; the rest are in the table
CROSSTAB_GROUPS = 6
#: attributes read aloud in the Findings, with their names in a sentence
CROSSTAB_WORDS = {"doc_type": "document type", "speaker": "speaker"}


def _attributes(tests: pd.DataFrame) -> list[str]:
    """The attributes read aloud: document type, speaker, then any extra manifest column (document
    years are compared by halves of the study period instead)."""
    extra = [] if not len(tests) else \
        [a for a in dict.fromkeys(tests["attribute"]) if a not in CROSSTAB_WORDS and a != "document_year"]
    return [*CROSSTAB_WORDS, *extra]


def by_attribute(var: dict, shares: pd.DataFrame, tests: pd.DataFrame, attribute: str) -> list[dict]:
    """The variable's share in each group of an attribute (the largest
    groups first) and the verdict of the test that fits the design."""
    if not len(tests):
        return []
    t = tests[(tests["attribute"] == attribute) & (tests["level"] == "variable") & (tests["variable"] == var["id"])]
    if not len(t) or int(t.iloc[0]["groups"]) < 2:
        return []
    t = t.iloc[0]
    rows = shares[(shares["attribute"] == attribute) & (shares["level"] == "variable")
                  & (shares["variable"] == var["id"])]
    rows = rows.sort_values(["units_total", "group"], ascending=[False, True], kind="mergesort")
    named = [f"{_pct(r.unit_share)} of {int(r.units_total)} units of {_e(r.group)} ({int(r.units_coded)} coded, "
             f"{int(r.documents_total)} document{'s' if int(r.documents_total) != 1 else ''})"
             for r in rows.head(CROSSTAB_GROUPS).itertuples()]
    more = len(rows) - CROSSTAB_GROUPS
    listed = "; ".join(named) + (f"; and {more} more groups" if more > 0 else "")
    words = CROSSTAB_WORDS.get(attribute, attribute)
    if pd.isna(t.p):
        verdict = "the groups cannot be compared by a test"
    elif t.p < ALPHA:
        verdict = f"the shares differ between groups ({t.test}, {_p(t.p)})"
    else:
        verdict = f"no clear difference between groups ({t.test}, {_p(t.p)})"
    return [_sentence(f"By {words}, {_e(var['label'])} is coded in {listed}: {verdict}.",
                      "#table-crosstab_tests", "crosstabs")]


def cooccurrence(var: dict, variables: dict, pairs: pd.DataFrame, matrix: pd.DataFrame) -> list[dict]:
    """With which other variables it shares units, against chance (lift, phi, Fisher p)."""
    out = []
    rows = pairs[(pairs["level"] == "variable") & (pairs["context"] == "unit")]
    for other, info in variables.items():
        if other == var["id"]:
            continue
        hit = rows[((rows["item_a"] == var["id"]) & (rows["item_b"] == other))
                   | ((rows["item_a"] == other) & (rows["item_b"] == var["id"]))]
        if hit.empty:
            out.append(_sentence(f"{_e(var['label'])} and {_e(info['label'])} share no unit.",
                                 "#table-cooc_variables_units", "co-occurrence of variables"))
            continue
        r = hit.iloc[0]
        if pd.isna(r.p_within):
            verdict = "which cannot be tested against their documents' shares"
        elif r.p_within < ALPHA:
            verdict = ("more often" if r.n_ab > r.expected_within else "less often") + \
                " than their documents' shares of each would give"
        else:
            verdict = "no clear difference from what their documents' shares of each would give"
        out.append(_sentence(
            f"{_e(var['label'])} and {_e(info['label'])} share {int(r.n_ab)} of {int(r.n_total)} units "
            f"({_pct(r.n_ab / r.n_total if r.n_total else float('nan'))}), {verdict}: "
            f"{r.expected_within:.1f} expected within documents, {_p(r.p_within)} "
            f"(Cochran-Mantel-Haenszel, documents as strata).",
            "#table-cooccurrence_pairs", "co-occurrence pairs"))
    return out


def excerpt(text: str, spans: list[tuple[int, int]], max_words: int = QUOTE_WORDS) -> Markup:
    """``text`` with ``spans`` highlighted; a long text is cut to the (at
    most two) sentences holding evidence, "[…]" marking each cut."""
    if len(text.split()) <= max_words or not spans:
        return highlight(text, spans)
    bounds, pos = [], 0
    for m in _SENTENCE_END.finditer(text):
        bounds.append((pos, m.start()))
        pos = m.end()
    bounds.append((pos, len(text)))
    chosen = [b for b in bounds if any(s < b[1] and e > b[0] for s, e in spans)][:2]
    parts, last = [], 0
    for s, e in chosen:
        if s > last:
            parts.append(Markup("[\u2026] "))
        inside = [(max(a, s) - s, min(b, e) - s) for a, b in spans if a < e and b > s]
        parts.append(highlight(text[s:e], inside))
        parts.append(Markup(" "))
        last = e
    if last < len(text):
        parts.append(Markup("[\u2026]"))
    return Markup("").join(parts).strip()


def quotations(var: dict, exemplars: pd.DataFrame, lead: list[str], texts: dict, spans: dict,
               n: int = QUOTES) -> list[dict]:
    """The first-ranked exemplar of each leading code (distinct units), with
    every evidence match of the variable's codes highlighted."""
    out, used = [], set()
    ex = exemplars[exemplars["variable"] == var["id"]] if len(exemplars) else exemplars
    ranked = sorted(ex.itertuples(index=False), key=lambda r: (r.rank, lead.index(r.code) if r.code in lead
                                                               else len(lead)))
    # one quotation from each document type first (interviews speak too), then by rank
    first, seen_types = [], set()
    for r in ranked:
        if r.doc_type not in seen_types:
            seen_types.add(r.doc_type)
            first.append(r)
    ranked = first + [r for r in ranked if r not in first]
    for r in ranked:
        if r.unit_id in used:
            continue
        used.add(r.unit_id)
        own = [s for code in var["codes"] for s in spans.get((r.unit_id, code), [])]
        out.append({"html": excerpt(texts.get(r.unit_id, r.text), own), "unit_id": r.unit_id,
                    "document_id": r.document_id, "terms": r.terms,
                    "citation": citation(r.title, r.doc_type, r.date, r.citation), "page": None})
        if len(out) == n:
            break
    return out


def build_findings(variables: dict, codes: dict, tables: dict[str, pd.DataFrame], period, texts: dict,
                   spans: dict, figures: dict[str, dict[str, str]]) -> list[dict]:
    """One part per variable, in the codebook's order: its sentences (each
    with a link to its table), a small figure and quotations.

    ``variables``/``codes`` are the report's items (``ReportContext``), ``texts``
    unit id -> text, ``spans`` (unit id, code) -> evidence offsets in the
    unit, ``figures`` variable id -> its small figure (``src``: the image, ``file``: its relative link).
    """
    freq = tables["frequencies"]
    parts = []
    for var_id, info in variables.items():
        var = {"id": var_id, "label": info["label"],
               "codes": [c for c, ci in codes.items() if ci["variable"] == var_id]}
        lead = freq[(freq["level"] == "code") & (freq["variable"] == var_id) & (freq["units_coded"] > 0)]
        lead = list(lead.sort_values("units_coded", ascending=False, kind="mergesort")["code"])
        parts.append({
            "id": var_id, "label": info["label"],
            "prevalence": prevalence(var, freq) + leading_codes(var, freq),
            "movement": over_referenced_years(var, tables["frequencies_by_referenced_year"], period)
            + compared(var, tables["comparisons"], "referenced_year")
            + compared(var, tables["comparisons"], "document_year"),
            "groups": [s for a in _attributes(tables["crosstab_tests"]) for s in by_attribute(
                var, tables["crosstabs"], tables["crosstab_tests"], a)],
            "figure": figures.get(var_id),
            "cooccurrence": cooccurrence(var, variables, tables["cooccurrence_pairs"],
                                         tables["cooc_variables_units"]),
            "quotes": quotations(var, tables["exemplars"], lead, texts, spans),
        })
    return parts
