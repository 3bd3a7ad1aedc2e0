"""The HTML report: one self-contained file (figures inlined, no scripts, no network).

Rendered with Jinja2 from ``templates/report.html.j2`` with autoescaping on,
so corpus text, codebook text and metadata are always escaped. Nothing in the
report depends on the time it was written: dates come from the documents.
"""

from __future__ import annotations

import base64
from pathlib import Path

import jinja2
import pandas as pd

from .context import ReportContext, context_of
from .data import describe_filters
from .figures import FIGURE_TITLES, FINDINGS_PREFIX
from .findings import build_findings
from .output import Outputs
from .registry import Shown, description, linked_tables, shown_tables
from .text import citation, column_label, format_cell, highlight

TEMPLATE_DIR = Path(__file__).parent / "templates"
#: a table with more rows scrolls inside its box on screen (on paper it runs on)
LONG_ROWS = 25
#: a table with more columns is printed on a landscape page
WIDE_COLUMNS = 9

AGREEMENT_COEFFICIENTS = ["coders", "item", "n_units", "percent_agreement", "cohen_kappa", "scott_pi",
                          "brennan_prediger", "fleiss_kappa", "krippendorff_alpha", "alpha_low", "alpha_high",
                          "gwet_ac1", "reading", "paradox"]
AGREEMENT_COUNTS = ["coders", "item", "n_units", "prevalence", "alpha_resamples_dropped", "alpha_interval_note", "n11",
                    "n10", "n01", "n00"]
#: a table of more rows shows its variables' rows only (on paper the long tables took half the pages)
APPENDIX_ROWS = 60


def _cell(value, column: str = "") -> str:
    """Display text of one cell (see :func:`coding.reports.text.format_cell`)."""
    return format_cell(value, column)


def _table_view(name: str, df: pd.DataFrame, columns: list[str] | None, caption: str | None = None,
                note: str = "") -> dict:
    """Every row (as display strings) and metadata of a table for the template."""
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    return {"name": name, "caption": caption if caption is not None else description(name),
            "note": note, "columns": cols, "labels": [column_label(c) for c in cols],
            "rows": [[_cell(v, c) for v, c in zip(r, cols)] for r in df[cols].itertuples(index=False)],
            "total_rows": len(df), "csv": f"tables/{name}.csv", "total": None,
            "long": len(df) > LONG_ROWS, "wide": len(cols) >= WIDE_COLUMNS}


def _shown_tables(data, tables: dict[str, pd.DataFrame]) -> list[dict]:
    """The tables of the report body, complete; a table of years by the text
    shows the years of the study period (all years are in its CSV)."""
    period = _settings(data).study_period
    return [_shown(spec.name, spec.shown, tables[spec.name], period) for spec in shown_tables()
            if spec.shown is not None and spec.name in tables]


def _shown(name: str, shown: Shown, table: pd.DataFrame, period: tuple[int, int] | None) -> dict:
    """The view of one shown table: its variables' rows when long, the years of the study period."""
    df, note = table, ""
    if (shown.variable_rows or len(df) > APPENDIX_ROWS) and len(df) and "level" in df.columns:
        df = df[df["level"] == "variable"]
        note = f"Variables: {len(df)} of {len(table)} rows; every row is in tables/{name}.csv and tables.xlsx."
    if shown.period_column is not None and period is not None:
        years = df[shown.period_column]
        df = df[(years >= period[0]) & (years <= period[1])]
        note = (f"Years of the study period {period[0]}-{period[1]}" + (", variables only" if note else "")
                + f": {len(df)} of {len(table)} rows; every row is in the CSV.")
    columns = list(shown.columns) if shown.columns is not None else None
    return _table_view(name, df, columns, note=note)


def _settings(data):
    from coding.codebook import StudySettings

    return getattr(getattr(data, "codebook", None), "settings", None) or StudySettings()


def _date_range(dates: pd.Series) -> tuple[str, str]:
    known = sorted(d for d in dates.fillna("").astype(str) if d.strip())
    return (known[0], known[-1]) if known else ("", "")


def build_context(data, tables: dict[str, pd.DataFrame], figures: dict[str, Path],
                  agreement: pd.DataFrame | None = None, pages: dict | None = None,
                  unitized: pd.DataFrame | None = None, seen_notes: list[str] | None = None) -> dict:
    """Everything the template shows, as plain strings, lists and dicts."""
    ctx = context_of(data)  # built once, by compute_tables
    codebook = data.codebook
    filters = describe_filters(data.filters)
    agreement_view = _agreement_view(agreement, unitized, filters) if agreement is not None else None
    notes = _agreement_notes(agreement)
    name = getattr(codebook, "name", "") or "Content analysis report"
    return {
        "title": f"{name}: {filters}" if filters else name,
        "filters": filters,
        "has_codings": bool(len(ctx.codings)),
        "method": _method_view(ctx, data),
        "corpus": _corpus_view(tables["corpus_by_doc_type"]),
        "variables": _variables_view(ctx, tables["frequencies"], pages),
        "tables": _shown_tables(data, tables),
        "linked": [{"name": s.name, "caption": s.description, "csv": s.csv, "rows": len(tables[s.name])}
                   for s in linked_tables() if s.name in tables],
        "figures": _figures_view(figures),
        "exemplars": _exemplars_view(ctx, tables["exemplars"], pages),
        "agreement": agreement_view,
        "seen_notes": list(seen_notes or []) if agreement_view is not None else [],
        "agreement_notes": notes,
        "study_period": _period(data),
        "referenced_years": _referenced(data),
        "findings": _link_quotes(_findings_view(ctx, tables, figures, data), pages),
        "pages": _pages_view(pages),
    }


def _agreement_view(agreement: pd.DataFrame, unitized: pd.DataFrame | None, filters: str) -> list[dict]:
    """The tables of the agreement section: the coefficients, the counts, and unitized agreement."""
    scope = f", over the units of this report ({filters})." if filters else "."
    table = agreement.reset_index(drop=True)
    # two tables of readable width instead of one of 21 columns: the coefficients, then the counts
    view = [_table_view("agreement", table, None, caption="Inter-coder agreement" + scope)] \
        if "krippendorff_alpha" not in table.columns else [
        _table_view("agreement", table, AGREEMENT_COEFFICIENTS, caption="Inter-coder agreement (variable "
                    "level) of each pair of coders sharing units, and of all of them together" + scope),
        _table_view("agreement", table, AGREEMENT_COUNTS, caption="The same units: prevalence, bootstrap "
                    "resamples dropped for alpha's interval (and why an interval is withheld), and (two "
                    "coders) the 2x2 counts" + scope)]
    if unitized is not None:
        view.append(_table_view(
            "agreement", unitized, None,
            caption="Unitized agreement (Krippendorff, Mathet, Bouvry and Widlöcher 2016): the codings as spans "
                    "of characters over the units every coder of a group saw, per variable and overall; uα: where "
                    "units lie and what they are, |uα: coded or not, cuα: the codes where codings overlap, Cuα: "
                    "the variables there" + scope))
    return view


def _agreement_notes(agreement: pd.DataFrame | None) -> list[dict]:
    """Where each group of coders' codings came from, when the agreement table says."""
    if agreement is None or "provenance" not in agreement.columns:
        return []
    return [{"coders": coders, "text": note}
            for coders, note in agreement[["coders", "provenance"]].drop_duplicates().itertuples(index=False) if note]


def _method_view(ctx: ReportContext, data) -> dict:
    docs, units = ctx.documents, ctx.units
    first, last = _date_range(docs["date"])
    version = getattr(data.codebook, "version", None)
    return {
        "documents": len(docs), "doc_types": sorted(set(docs["doc_type"])),
        "units": len(units), "unit_types": sorted({str(t) for t in units["unit_type"].dropna().unique()}),
        "words": int(units["words"].sum()) if len(units) else 0,
        "codebook_versions": sorted(set(ctx.codebook_versions) | ({str(version)} if version else set())),
        "coders": sorted({str(c) for c in ctx.codings["coder"].dropna().unique()}), "coder": data.coder,
        "variables": len(ctx.variables), "codes": len(ctx.codes), "codebook_codes": len(ctx.all_codes),
        "first_date": first, "last_date": last, "codings": len(ctx.codings),
        "filters": describe_filters(data.filters), "all_units": _all_units(data),
        "partial": data.seen is not None and len(units) < _all_units(data),
        "type_counts": [f"{n:,} {t}{'s' if n != 1 else ''}" for t, n in ctx.type_counts.items()],
        "left_out": [f"{n:,} {t}{'s' if n != 1 else ''}" for t, n in ctx.type_counts.items()
                     if t in set(ctx.left_out["unit_type"])],
        "included_types": list(ctx.included_types),
    }


def _all_units(data) -> int:
    """Units of the (filtered) corpus, whoever saw them."""
    return 0 if data.units is None else len(data.units)


def _link_quotes(parts: list[dict], pages: dict | None) -> list[dict]:
    """Quotations of the Findings link to their unit on its document page."""
    for part in parts:
        for q in part["quotes"]:
            q["page"] = _unit_page(q, pages)
    return parts


#: documents listed in the report's index of pages (every page is in documents/)
REPORT_DOCUMENT_LINKS = 1_000


def _pages_view(pages: dict | None) -> dict | None:
    """The index of pages as the report lists it: the first
    :data:`REPORT_DOCUMENT_LINKS` documents, in corpus order, and how many
    there are (a list of every document of a large corpus would make the
    report tens of MB)."""
    if not pages:
        return pages
    return {**pages, "documents": pages["documents"][:REPORT_DOCUMENT_LINKS],
            "documents_total": pages.get("documents_total", len(pages["documents"]))}


def _unit_page(q: dict, pages: dict | None) -> str | None:
    if not pages:
        return None
    from .text import page_name

    return f"documents/{page_name(q['document_id'])}#{q['unit_id']}"


def _variables_view(ctx: ReportContext, freq: pd.DataFrame, pages: dict | None = None) -> list[dict]:
    code_freq = freq[freq["level"] == "code"].set_index("code")["units_coded"] if len(freq) else pd.Series(dtype=int)
    # with codes reported, a code never applied shows 0; a coder of variables only shows a dash
    missing = 0 if ctx.codes else None
    code_pages = {c["id"]: c["href"] for c in (pages or {}).get("codes", [])}
    return [{"id": var, "label": info["label"], "definition": info["definition"], "codes": [
        {"id": c, "label": ci["label"], "definition": ci["definition"], "units": _cell(code_freq.get(c, missing)),
         "page": code_pages.get(c)}
        for c, ci in ctx.all_codes.items() if ci["variable"] == var]} for var, info in ctx.variables.items()]


def _corpus_view(corpus: pd.DataFrame) -> dict:
    view = _table_view("corpus_by_doc_type", corpus, None)
    if len(corpus):
        view["total"] = ["all", *(_cell(int(corpus[c].sum())) for c in ("documents", "units", "words", "coded_units"))]
    return view


def _exemplars_view(ctx: ReportContext, ex: pd.DataFrame, pages: dict | None = None) -> list[dict]:
    # the texts and evidence spans of the quoted units, gathered by the pass over the texts
    spans, texts = ctx.quotes.spans, ctx.quotes.texts
    out = []
    for code, info in ctx.codes.items():
        rows = ex[ex["code"] == code] if len(ex) else ex
        out.append({"code": code, "label": info["label"],
                    "variable": ctx.variables.get(info["variable"], {}).get("label", info["variable"]),
                    "quotes": [_quote(r, texts, spans, pages) for r in rows.itertuples(index=False)]})
    return out


def _quote(r, texts: dict[str, str], spans, pages: dict | None = None) -> dict:
    """One quotation: its text with the code's evidence highlighted and a clean citation."""
    text = texts.get(r.unit_id, r.text)
    q = {"html": highlight(text, spans.get((r.unit_id, r.code), [])), "unit_id": r.unit_id,
         "document_id": r.document_id, "terms": r.terms,
         "citation": citation(r.title, r.doc_type, r.date, r.citation)}
    q["page"] = _unit_page(q, pages)
    return q


def _findings_view(ctx: ReportContext, tables: dict[str, pd.DataFrame], figures: dict[str, Path], data) -> list[dict]:
    """The Findings section: one part per variable (see :mod:`coding.reports.findings`)."""
    small = {}
    for key, path in figures.items():
        name = key.split("/", 1)[-1]
        if name.startswith(FINDINGS_PREFIX):
            small[name[len(FINDINGS_PREFIX):]] = {"src": _data_uri(path), "file": f"figures/{name}.png"}
    texts = ctx.quotes.texts
    return build_findings(ctx.variables, ctx.codes, tables, _settings(data).study_period, texts,
                          ctx.quotes.spans, small)


def _data_uri(path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _figures_view(figures: dict[str, Path]) -> list[dict]:
    views = []
    for key, path in figures.items():
        name = key.split("/", 1)[-1]
        if name.startswith(FINDINGS_PREFIX):  # shown in the Findings, beside their variable
            continue
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        views.append({"name": name, "caption": FIGURE_TITLES.get(name, name),
                      "src": "data:image/png;base64," + data, "file": f"figures/{name}.png"})
    return views


def _period(data) -> str:
    settings = getattr(data.codebook, "settings", None)
    period = settings.study_period if settings is not None else None
    return f"{period[0]}-{period[1]}" if period else ""


def _referenced(data) -> str:
    from coding.codebook import DEFAULT_REFERENCED_YEARS

    settings = getattr(data.codebook, "settings", None)
    first, last = settings.referenced_years if settings is not None else DEFAULT_REFERENCED_YEARS
    return f"{first} to {last}"


def render_html(context: dict) -> str:
    """Render the report template with autoescaping."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("report.html.j2").render(**context)


def write_html(data, tables: dict[str, pd.DataFrame], figures: dict[str, Path], out_dir,
               agreement: pd.DataFrame | None = None, outputs=None, pages: dict | None = None,
               unitized: pd.DataFrame | None = None, seen_notes: list[str] | None = None) -> Path:
    """Write ``<out_dir>/report.html`` (unless unchanged) and return its path;
    ``pages`` is the index of the document and code pages to link."""
    html = render_html(build_context(data, tables, figures, agreement, pages, unitized, seen_notes))
    return (outputs if outputs is not None else Outputs()).write_text(Path(out_dir) / "report.html", html)
