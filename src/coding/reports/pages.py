"""A page per coded document and a page per code, linked from the report.

``documents/<id>.html`` shows a document's full text with each coded unit
marked by a stripe in its variables' colours in the margin, its codes
labelled per coder and the evidence terms underlined; with two or more
coders it marks the units on which they differ (the way MAXQDA's coding
stripes show it), and it lists the span codings a person made in a QDA
program beside the unit where each starts. ``codes/<id>.html`` retrieves the segments of one code:
every unit with it, in document and position order, with its document,
date and citation and the evidence highlighted, then its key words in
context, aligned on the term.

The pages are static HTML (no scripts, no network), share the report's
stylesheet and print on A4.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import jinja2
import pandas as pd
from markupsafe import Markup

from .context import ReportContext, context_of
from .figures import variable_colours
from .output import Outputs, stage
from .quotes import parse_evidence
from .registry import TABLES
from .source import TextSource
from .text import citation, highlight, page_name

TEMPLATE_DIR = Path(__file__).parent / "templates"


@dataclass
class PageSource:
    """Which coders the document pages show, and where their codings, the
    units they saw and the documents' full texts are read (default: the
    report's own text source, see :mod:`coding.reports.source`)."""

    coders: list[str] = field(default_factory=list)
    source: TextSource | None = None


class _Unit(NamedTuple):
    unit_id: str
    start: int
    end: int
    text: str
    speaker: str


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined)


def underline(text: str, spans) -> Markup:
    """``text`` escaped with evidence spans underlined (``<span class="evu">``)."""
    return Markup(str(highlight(text, spans, css="evu")).replace('<mark class="evu">', '<span class="evu">')
                  .replace("</mark>", "</span>"))


def _unit_codings(rows: list[tuple], ctx: ReportContext) -> dict[str, dict[str, list[dict]]]:
    """unit id -> coder -> its codings (variable, code, evidence) of that unit."""
    out: dict[str, dict[str, list[dict]]] = {}
    known = set(ctx.variables)
    for unit_id, coder, variable, code, evidence in rows:
        if variable in known:
            out.setdefault(unit_id, {}).setdefault(coder, []).append(
                {"variable": variable, "code": code or "", "evidence": parse_evidence(evidence)})
    return out


def _labels(codings: list[dict], ctx: ReportContext) -> list[str]:
    """Readable labels of one coder's codings of a unit, in codebook order."""
    order = {c: i for i, c in enumerate(ctx.all_codes)}
    vorder = {v: i for i, v in enumerate(ctx.variables)}
    codes = sorted({c["code"] for c in codings if c["code"]}, key=lambda c: order.get(c, len(order)))
    if codes:
        return [ctx.all_codes.get(c, {"label": c})["label"] for c in codes]
    variables = sorted({c["variable"] for c in codings}, key=lambda v: vorder.get(v, len(vorder)))
    return [ctx.variables[v]["label"] for v in variables]


def _differs(by_coder: dict[str, list[dict]], coders: list[str], seen: dict, unit_id: str) -> bool:
    """Whether the coders who saw the unit coded it differently (variables,
    and codes where every one of them coded codes)."""
    present = [c for c in coders if unit_id in seen.get(c, ())]
    if len(present) < 2:
        return False
    variables = {c: frozenset(x["variable"] for x in by_coder.get(c, [])) for c in present}
    codes = {c: frozenset(x["code"] for x in by_coder.get(c, []) if x["code"]) for c in present}
    with_codes = all(codes[c] or not variables[c] for c in present)
    return len(set(variables.values())) > 1 or (with_codes and len(set(codes.values())) > 1)


def _unit_view(unit: _Unit, by_coder: dict[str, list[dict]], ctx: ReportContext, shown: list[str],
               seen: dict[str, set], colours: dict[str, str]) -> dict:
    """One unit of a document page: stripes, labels per coder, text with evidence underlined."""
    start = int(unit.start)
    codings = [c for cs in by_coder.values() for c in cs]
    spans = [(int(e.get("start", 0)) - start, int(e.get("end", 0)) - start) for c in codings for e in c["evidence"]]
    variables = [v for v in ctx.variables if any(c["variable"] == v for c in codings)]
    coders = []
    for coder in shown:
        saw = unit.unit_id in seen.get(coder, ()) or coder in by_coder
        coders.append({"name": coder, "seen": saw, "labels": _labels(by_coder.get(coder, []), ctx)})
    return {"id": unit.unit_id, "html": underline(unit.text, spans), "speaker": unit.speaker,
            "stripes": [{"colour": colours[v], "label": ctx.variables[v]["label"]} for v in variables],
            "coders": coders, "coded": bool(codings),
            "differs": _differs(by_coder, shown, seen, unit.unit_id), "spans": []}


def _span_view(row: tuple, text: str, ctx: ReportContext) -> dict:
    """A span coding as its unit's margin lists it: coder, code, the text it covers."""
    coder, start, end, code, variable, status, label = row
    name = (ctx.all_codes.get(code, {}).get("label") if code else ctx.variables.get(variable, {}).get("label"))
    covered = " ".join(text[start:end].split())
    return {"coder": coder, "label": name or label.rsplit(" > ", 1)[-1] or code or variable, "status": status,
            "text": covered if len(covered) <= 80 else covered[:77] + "..."}


def _place_spans(blocks: list[dict], rows: list[tuple], text: str, ctx: ReportContext) -> None:
    """List each span coding beside the unit where it starts (a person's
    selection, whether or not it reached the unit threshold)."""
    units = [b["unit"] for b in blocks if "unit" in b]
    starts = [u["start"] for u in units]
    for row in sorted(rows, key=lambda r: (r[1], r[2], r[0])):
        at = max(0, bisect.bisect_right(starts, row[1]) - 1)
        if units:
            units[at]["spans"].append(_span_view(row, text, ctx))


def document_view(doc: dict, units: list[_Unit], ctx: ReportContext, coders: list[str], texts: TextSource,
                  colours: dict[str, str]) -> dict:
    """Everything a document page shows: the text between units as it is,
    each unit as a block with its marks by ``coders`` (codings and coverage
    are read from ``texts`` for this document alone)."""
    text = texts.text(doc["id"])
    unit_codings = _unit_codings(texts.codings(doc["id"], coders), ctx)
    seen: dict[str, set] = {}
    for coder, unit_id in texts.coverage(doc["id"], coders):
        seen.setdefault(coder, set()).add(unit_id)
    blocks: list[dict] = []
    pos = 0
    for unit in sorted(units, key=lambda u: u.start):
        if unit.start > pos:
            blocks.append({"gap": text[pos:unit.start]})
        view = _unit_view(unit, unit_codings.get(unit.unit_id, {}), ctx, coders, seen, colours)
        blocks.append({"unit": {**view, "start": int(unit.start)}})
        pos = max(pos, unit.end)
    if pos < len(text):
        blocks.append({"gap": text[pos:]})
    spans = getattr(texts, "spans", None)  # a source of frames holds no span codings
    if spans is not None and coders:
        _place_spans(blocks, spans(doc["id"], coders), text, ctx)
    units_marked = [b["unit"] for b in blocks if "unit" in b]
    return {"id": doc["id"], "title": doc["title"] or doc["id"], "doc_type": doc["doc_type"],
            "date": doc["date"], "source": doc["source"], "speaker": doc["speaker"],
            "citation": citation(doc["title"], doc["doc_type"], doc["date"], doc["source"]),
            "blocks": blocks, "units": len(units_marked), "coded": sum(u["coded"] for u in units_marked),
            "differ": sum(u["differs"] for u in units_marked)}


def code_view(code: str, ctx: ReportContext) -> dict:
    """The units with ``code`` its page lists (document and position order)
    and its key words in context, as gathered by the pass over the texts."""
    info = ctx.all_codes[code]
    meta = ctx.documents.set_index("id")
    quotes = ctx.quotes
    shown = quotes.code_units.get(code, [])
    units, on_page = [], set()
    for pos in shown:
        u = ctx.units.iloc[pos]
        doc = meta.loc[u["document_id"]]
        on_page.add(u["unit_id"])
        units.append({"id": u["unit_id"], "document_id": u["document_id"], "date": doc["date"],
                      "title": doc["title"], "speaker": u["speaker"],
                      "page": f"../documents/{page_name(u['document_id'])}#{u['unit_id']}",
                      "citation": citation(doc["title"], doc["doc_type"], doc["date"], doc["source"]),
                      "html": highlight(quotes.texts[u["unit_id"]], quotes.spans.get((u["unit_id"], code), []))})
    column = list(ctx.codes).index(code) if code in ctx.codes else None
    total_units = int(ctx.code_matrix[:, column].sum()) if column is not None else 0
    total_kwic = int(ctx.codings.loc[ctx.codings["code"] == code, "n_evidence"].sum())
    kwic = [{"left": r[6], "term": r[7], "right": r[8], "unit_id": r[3],
             "href": f"#{r[3]}" if r[3] in on_page else f"../documents/{page_name(r[2])}#{r[3]}"}
            for r in quotes.code_kwic.get(code, [])]
    return {"id": code, "label": info["label"], "definition": info["definition"],
            "variable": ctx.variables.get(info["variable"], {}).get("label", info["variable"]),
            "units": units, "total_units": total_units, "kwic": kwic, "total_kwic": total_kwic,
            # every unit and every match are in these tables
            "units_csv": TABLES["unit_by_code"].csv, "kwic_csv": TABLES["kwic"].csv}


def _report_units(data, ctx: ReportContext):
    """A function giving, for a document id, the ids and speakers of its units
    in the report (every unit of the data, not only those the coder saw).
    Only the row numbers are grouped: the ids are read a document at a time."""
    units = data.units if data.units is not None else ctx.units
    ids = units["unit_id"]
    speakers = units["speaker"] if "speaker" in units else pd.Series([""] * len(units))
    if not isinstance(speakers.dtype, pd.CategoricalDtype):  # a categorical (the store's) stays one: no string per unit
        speakers = speakers.fillna("").astype(str)
    groups = units.groupby("document_id", sort=False, observed=True).indices

    def of(doc_id: str) -> dict[str, str]:
        rows = groups.get(doc_id)
        if rows is None:
            return {}
        if rows[-1] - rows[0] + 1 == len(rows):  # a document's rows in a run (the store's order): a slice
            part = slice(int(rows[0]), int(rows[-1]) + 1)
            return dict(zip(ids.iloc[part].tolist(), speakers.iloc[part].tolist()))
        # a take from a string column read in chunks costs time in the number of chunks: only out of order
        return dict(zip(ids.take(rows).tolist(), speakers.take(rows).tolist()))

    return of


def write_pages(data, tables: dict[str, pd.DataFrame], source: PageSource, out_dir, outputs: Outputs | None = None,
                progress: bool | None = None) -> dict:
    """Write ``documents/<id>.html`` for each document of the report and
    ``codes/<id>.html`` for each code; returns the index the report links:
    the codes and the first :data:`~coding.reports.html.REPORT_DOCUMENT_LINKS`
    documents with their pages and counts, ``documents_total`` and ``counts_csv`` (the table of every
    document's counts). Documents are read
    one at a time, so the pages of a large corpus take no more memory than
    those of a small one."""
    from . import html as report
    from .html import _settings

    outputs = outputs if outputs is not None else Outputs()
    ctx = context_of(data)  # built once, by compute_tables
    coders = list(source.coders)
    texts = source.source if source.source is not None else ctx.source
    out = Path(out_dir)
    env = _environment()
    colours = variable_colours(list(ctx.variables), _settings(data).variable_colours)
    report_units = _report_units(data, ctx)
    legend = [{"label": v["label"], "colour": colours[k]} for k, v in ctx.variables.items()]
    documents: list[dict] = []
    codes: list[dict] = []
    with stage("pages", len(ctx.documents) + len(ctx.codes), progress) as bar:
        columns = list(ctx.documents.columns)
        for values in ctx.documents.itertuples(index=False, name=None):  # one dict at a time, not one per document
            doc = dict(zip(columns, values))
            speaker_of = report_units(doc["id"])
            units = [_Unit(r[0], int(r[1]), int(r[2]), r[3] or "", speaker_of[r[0]])
                     for r in texts.units(doc["id"]) if r[0] in speaker_of]
            view = document_view(doc, units, ctx, coders, texts, colours)
            html = env.get_template("document.html.j2").render(doc=view, legend=legend, coders=coders)
            outputs.write_text(out / "documents" / page_name(doc["id"]), html)
            # the report lists the first documents: an entry per document of a large corpus costs ~50 MB
            if len(documents) < report.REPORT_DOCUMENT_LINKS:
                documents.append({"id": doc["id"], "title": view["title"], "units": view["units"],
                                  "href": f"documents/{page_name(doc['id'])}", "coded": view["coded"],
                                  "differ": view["differ"]})
            bar.update()
        for code in ctx.codes:
            view = code_view(code, ctx)
            html = env.get_template("code.html.j2").render(code=view, coder=data.coder)
            outputs.write_text(out / "codes" / page_name(code), html)
            codes.append({"id": code, "label": view["label"], "href": f"codes/{page_name(code)}",
                          "units": view["total_units"], "variable": view["variable"]})
            bar.update()
    return {"documents": documents, "documents_total": len(ctx.documents), "codes": codes, "coders": coders,
            "counts_csv": TABLES["frequencies_by_document"].csv}
