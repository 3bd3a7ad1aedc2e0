"""A page per coded document and a page per code, linked from the report.

``documents/<id>.html`` shows a document's full text with each coded unit
marked by a stripe in its variables' colours in the margin, its codes
labelled per coder and the evidence terms underlined; with two or more
coders it marks the units on which they differ (the way MAXQDA's coding
stripes show it). ``codes/<id>.html`` retrieves the segments of one code:
every unit with it, in document and position order, with its document,
date and citation and the evidence highlighted, then its key words in
context, aligned on the term.

The pages are static HTML (no scripts, no network), share the report's
stylesheet and print on A4.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

from .figures import variable_colours
from .output import Outputs, stage
from .tables import _Context, context_of, parse_evidence
from .text import citation, highlight, page_name

TEMPLATE_DIR = Path(__file__).parent / "templates"


@dataclass
class PageSource:
    """What the pages need beyond the report data: the documents' full
    texts, the codings of every coder the document pages show, and which
    units each of those coders saw."""

    texts: dict[str, str]
    codings: pd.DataFrame
    seen: dict[str, frozenset] = field(default_factory=dict)
    coders: list[str] = field(default_factory=list)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined)


def underline(text: str, spans) -> Markup:
    """``text`` escaped with evidence spans underlined (``<span class="evu">``)."""
    return Markup(str(highlight(text, spans, css="evu")).replace('<mark class="evu">', '<span class="evu">')
                  .replace("</mark>", "</span>"))


def _unit_codings(source: PageSource, ctx: _Context) -> dict[str, dict[str, list[dict]]]:
    """unit id -> coder -> its codings (variable, code, evidence) of that unit."""
    out: dict[str, dict[str, list[dict]]] = {}
    known = set(ctx.variables)
    for r in source.codings.itertuples(index=False):
        if r.coder not in source.coders or r.variable not in known:
            continue
        out.setdefault(r.unit_id, {}).setdefault(r.coder, []).append(
            {"variable": r.variable, "code": r.code or "", "evidence": parse_evidence(r.evidence)})
    return out


def _labels(codings: list[dict], ctx: _Context) -> list[str]:
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


def _unit_view(unit, by_coder: dict[str, list[dict]], ctx: _Context, source: PageSource,
               colours: dict[str, str]) -> dict:
    """One unit of a document page: stripes, labels per coder, text with evidence underlined."""
    start = int(unit.start)
    codings = [c for cs in by_coder.values() for c in cs]
    spans = [(int(e.get("start", 0)) - start, int(e.get("end", 0)) - start) for c in codings for e in c["evidence"]]
    variables = [v for v in ctx.variables if any(c["variable"] == v for c in codings)]
    coders = []
    for coder in source.coders:
        seen = unit.unit_id in source.seen.get(coder, ()) or coder in by_coder
        coders.append({"name": coder, "seen": seen, "labels": _labels(by_coder.get(coder, []), ctx)})
    return {"id": unit.unit_id, "html": underline(unit.text, spans), "speaker": unit.speaker,
            "stripes": [{"colour": colours[v], "label": ctx.variables[v]["label"]} for v in variables],
            "coders": coders, "coded": bool(codings),
            "differs": _differs(by_coder, source.coders, source.seen, unit.unit_id)}


def document_view(doc, units: pd.DataFrame, unit_codings: dict, ctx: _Context, source: PageSource,
                  colours: dict[str, str]) -> dict:
    """Everything a document page shows: the text between units as it is,
    each unit as a block with its marks."""
    text = source.texts.get(doc["id"], "")
    blocks, pos = [], 0
    for unit in units.sort_values("start", kind="mergesort").itertuples(index=False):
        if int(unit.start) > pos:
            blocks.append({"gap": text[pos:int(unit.start)]})
        blocks.append({"unit": _unit_view(unit, unit_codings.get(unit.unit_id, {}), ctx, source, colours)})
        pos = max(pos, int(unit.end))
    if pos < len(text):
        blocks.append({"gap": text[pos:]})
    units_marked = [b["unit"] for b in blocks if "unit" in b]
    return {"id": doc["id"], "title": doc["title"] or doc["id"], "doc_type": doc["doc_type"],
            "date": doc["date"], "source": doc["source"], "speaker": doc["speaker"],
            "citation": citation(doc["title"], doc["doc_type"], doc["date"], doc["source"]),
            "blocks": blocks, "units": len(units_marked), "coded": sum(u["coded"] for u in units_marked),
            "differ": sum(u["differs"] for u in units_marked)}


def code_view(code: str, ctx: _Context, kwic: pd.DataFrame, spans: dict) -> dict:
    """Every unit with ``code`` (document and position order) and its key words in context."""
    info = ctx.all_codes[code]
    meta = ctx.documents.set_index("id")
    rows = ctx.codings[ctx.codings["code"] == code].sort_values("_pos", kind="mergesort")
    units = []
    for pos in dict.fromkeys(rows["_pos"]):
        u = ctx.units.iloc[pos]
        doc = meta.loc[u["document_id"]]
        units.append({"id": u["unit_id"], "document_id": u["document_id"], "date": doc["date"],
                      "title": doc["title"], "speaker": u["speaker"],
                      "page": f"../documents/{page_name(u['document_id'])}#{u['unit_id']}",
                      "citation": citation(doc["title"], doc["doc_type"], doc["date"], doc["source"]),
                      "html": highlight(u["text"], spans.get((u["unit_id"], code), []))})
    lines = kwic[kwic["code"] == code] if len(kwic) else kwic
    return {"id": code, "label": info["label"], "definition": info["definition"],
            "variable": ctx.variables.get(info["variable"], {}).get("label", info["variable"]),
            "units": units, "kwic": [{"left": r.left, "term": r.term, "right": r.right, "unit_id": r.unit_id}
                                     for r in lines.itertuples(index=False)]}


def write_pages(data, tables: dict[str, pd.DataFrame], source: PageSource, out_dir, outputs: Outputs | None = None,
                progress: bool | None = None) -> dict:
    """Write ``documents/<id>.html`` for each document of the report and
    ``codes/<id>.html`` for each code; returns the index the report links
    (documents and codes with their pages and counts)."""
    from .html import _settings, evidence_spans

    outputs = outputs if outputs is not None else Outputs()
    ctx = context_of(data)  # built once, by compute_tables
    out = Path(out_dir)
    env = _environment()
    colours = variable_colours(list(ctx.variables), _settings(data).variable_colours)
    unit_codings = _unit_codings(source, ctx)
    units = data.units if data.units is not None else ctx.units
    legend = [{"label": v["label"], "colour": colours[k]} for k, v in ctx.variables.items()]
    index = {"documents": [], "codes": [], "coders": list(source.coders)}
    spans = evidence_spans(ctx)
    with stage("pages", len(ctx.documents) + len(ctx.codes), progress) as bar:
        for doc in ctx.documents.to_dict("records"):
            view = document_view(doc, units[units["document_id"] == doc["id"]], unit_codings, ctx, source, colours)
            html = env.get_template("document.html.j2").render(doc=view, legend=legend, coders=source.coders)
            outputs.write_text(out / "documents" / page_name(doc["id"]), html)
            index["documents"].append({"id": doc["id"], "title": view["title"], "units": view["units"],
                                       "href": f"documents/{page_name(doc['id'])}", "coded": view["coded"],
                                       "differ": view["differ"]})
            bar.update()
        for code in ctx.codes:
            view = code_view(code, ctx, tables["kwic"], spans)
            html = env.get_template("code.html.j2").render(code=view, coder=data.coder)
            outputs.write_text(out / "codes" / page_name(code), html)
            index["codes"].append({"id": code, "label": view["label"], "href": f"codes/{page_name(code)}",
                                   "units": len(view["units"]), "variable": view["variable"]})
            bar.update()
    return index
