"""The HTML report: one self-contained file (figures inlined, no scripts, no network).

Rendered with Jinja2 from ``templates/report.html.j2`` with autoescaping on,
so corpus text, codebook text and metadata are always escaped. Nothing in the
report depends on the time it was written: dates come from the documents.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path

import jinja2
import pandas as pd

from coding.files import write_bytes

from .figures import FIGURE_TITLES
from .tables import TABLE_DESCRIPTIONS, _Context

TEMPLATE_DIR = Path(__file__).parent / "templates"
#: rows shown for long tables; the full table is in the linked CSV
ABRIDGE_ROWS = 15

#: tables shown in the report, with the columns shown (None: all); others are linked only
SHOWN_TABLES = {
    "frequencies": ["level", "variable", "code", "label", "units_coded", "unit_share", "unit_share_ci_low",
                    "unit_share_ci_high", "documents_coded", "document_share", "evidence_matches",
                    "units_coded_per_1000_words", "units_coded_per_1000_words_ci_low",
                    "units_coded_per_1000_words_ci_high"],
    "frequencies_by_doc_type": ["doc_type", "level", "label", "units_total", "units_coded", "unit_share",
                                "unit_share_ci_low", "unit_share_ci_high", "units_coded_per_1000_words"],
    "frequencies_by_document_year": ["document_year", "level", "label", "units_total", "units_coded",
                                     "unit_share", "units_coded_per_1000_words"],
    "frequencies_by_referenced_year": ["referenced_year", "level", "label", "units_total", "units_coded",
                                       "unit_share", "units_coded_per_1000_words"],
    "cooccurrence_pairs": ["level", "context", "label_a", "label_b", "n_a", "n_b", "n_ab", "expected", "lift",
                           "jaccard", "ochiai", "p_b_given_a", "p_a_given_b", "phi", "fisher_p",
                           "jaccard_misleading"],
    "cooc_variables_units": None,
    "cooc_variables_documents": None,
    "kwic": ["code", "unit_id", "left", "term", "right"],
}
LINKED_ONLY = ["frequencies_by_document", "cooc_codes_units", "cooc_codes_documents", "code_by_document",
               "unit_by_code", "exemplars", "corpus_by_doc_type", "codebook"]


def _cell(value) -> str:
    """Display text of one cell: four decimals for floats, en dash for missing."""
    if value is None or value is pd.NA:
        return "–"
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.4f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
    if isinstance(value, (bool,)):
        return "yes" if value else "no"
    try:
        if pd.isna(value):
            return "–"
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):  # numpy scalar
        return _cell(value.item())
    return str(value)


def _table_view(name: str, df: pd.DataFrame, columns: list[str] | None, rows: int | None = ABRIDGE_ROWS,
                caption: str | None = None) -> dict:
    """Rows (as display strings) and metadata of a table for the template."""
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    shown = df if rows is None else df.head(rows)
    return {"name": name, "caption": caption if caption is not None else TABLE_DESCRIPTIONS.get(name, ""),
            "columns": cols, "rows": [[_cell(v) for v in r] for r in shown[cols].itertuples(index=False)],
            "total_rows": len(df), "abridged": len(shown) < len(df), "csv": f"tables/{name}.csv",
            "total": None}


def _date_range(dates: pd.Series) -> tuple[str, str]:
    known = sorted(d for d in dates.fillna("").astype(str) if d.strip())
    return (known[0], known[-1]) if known else ("", "")


def build_context(data, tables: dict[str, pd.DataFrame], figures: dict[str, Path],
                  agreement: pd.DataFrame | None = None) -> dict:
    """Everything the template shows, as plain strings, lists and dicts."""
    ctx = _Context(data)
    codebook = data.codebook
    agreement_view = None
    if agreement is not None:
        agreement_view = _table_view("agreement", agreement.reset_index(drop=True), None, rows=None,
                                     caption="Inter-coder agreement as computed by the agreement audit.")
    return {
        "title": getattr(codebook, "name", "") or "Content analysis report",
        "has_codings": bool(len(ctx.codings)),
        "method": _method_view(ctx, data),
        "corpus": _corpus_view(tables["corpus_by_doc_type"]),
        "variables": _variables_view(ctx, tables["frequencies"]),
        "tables": [_table_view(n, tables[n], cols) for n, cols in SHOWN_TABLES.items() if n in tables],
        "linked": [{"name": n, "caption": TABLE_DESCRIPTIONS.get(n, ""), "csv": f"tables/{n}.csv",
                    "rows": len(tables[n])} for n in LINKED_ONLY if n in tables],
        "figures": _figures_view(figures),
        "exemplars": _exemplars_view(ctx, tables["exemplars"]),
        "agreement": agreement_view,
        "study_period": _period(data),
        "referenced_years": _referenced(data),
    }


def _method_view(ctx: _Context, data) -> dict:
    docs, units = ctx.documents, ctx.units
    first, last = _date_range(docs["date"])
    version = getattr(data.codebook, "version", None)
    return {
        "documents": len(docs), "doc_types": sorted(set(docs["doc_type"])),
        "units": len(units), "unit_types": sorted(set(units["unit_type"].dropna().astype(str))),
        "words": int(units["words"].sum()) if len(units) else 0,
        "codebook_versions": sorted(set(ctx.codebook_versions) | ({str(version)} if version else set())),
        "coders": sorted(set(ctx.codings["coder"].dropna().astype(str))), "coder": data.coder,
        "variables": len(ctx.variables), "codes": len(ctx.codes),
        "first_date": first, "last_date": last, "codings": len(ctx.codings),
    }


def _variables_view(ctx: _Context, freq: pd.DataFrame) -> list[dict]:
    code_freq = freq[freq["level"] == "code"].set_index("code")["units_coded"] if len(freq) else pd.Series(dtype=int)
    return [{"id": var, "label": info["label"], "definition": info["definition"], "codes": [
        {"id": c, "label": ci["label"], "definition": ci["definition"], "units": _cell(code_freq.get(c, 0))}
        for c, ci in ctx.codes.items() if ci["variable"] == var]} for var, info in ctx.variables.items()]


def _corpus_view(corpus: pd.DataFrame) -> dict:
    view = _table_view("corpus_by_doc_type", corpus, None, rows=None)
    if len(corpus):
        view["total"] = ["all", *(_cell(int(corpus[c].sum())) for c in ("documents", "units", "words", "coded_units"))]
    return view


def _exemplars_view(ctx: _Context, ex: pd.DataFrame) -> list[dict]:
    out = []
    for code, info in ctx.codes.items():
        rows = ex[ex["code"] == code] if len(ex) else ex
        out.append({"code": code, "label": info["label"],
                    "variable": ctx.variables.get(info["variable"], {}).get("label", info["variable"]),
                    "quotes": [{"text": r.text, "citation": r.citation, "title": r.title, "date": r.date,
                                "doc_type": r.doc_type, "unit_id": r.unit_id, "terms": r.terms}
                               for r in rows.itertuples(index=False)]})
    return out


def _figures_view(figures: dict[str, Path]) -> list[dict]:
    views = []
    for key, path in figures.items():
        name = key.split("/", 1)[-1]
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
               agreement: pd.DataFrame | None = None) -> Path:
    """Write ``<out_dir>/report.html`` and return its path."""
    html = render_html(build_context(data, tables, figures, agreement))
    return write_bytes(Path(out_dir) / "report.html", html.encode("utf-8"))
