"""Tables of the corpus and the codebook: codes per document, the unit x code matrix,
the corpus by doc type, the unit types and the codebook itself."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .context import ReportContext
from .output import LongTable, empty_table, piece_bounds

CORPUS_COLUMNS = ["doc_type", "documents", "units", "words", "coded_units"]
CODEBOOK_COLUMNS = ["level", "variable", "code", "label", "definition"]


def code_by_document(ctx: ReportContext) -> pd.DataFrame:
    """Units coded per code (rows) and document (columns, in document order)."""
    doc_ids = list(ctx.documents["id"])
    doc_codes = ctx.units["_doc"].to_numpy()
    # one pass over the units (a count per document and code), not one mask of every unit per document
    counts = np.stack([np.bincount(doc_codes.astype(np.int64), weights=ctx.code_matrix[:, j],
                                   minlength=len(doc_ids)).astype(np.int64) for j in range(len(ctx.codes))]) \
        if len(ctx.codes) else np.zeros((0, len(doc_ids)), dtype=np.int64)
    df = pd.DataFrame(counts, columns=doc_ids)
    df.insert(0, "label", [c["label"] for c in ctx.codes.values()])
    df.insert(0, "variable", [c["variable"] for c in ctx.codes.values()])
    df.insert(0, "code", list(ctx.codes))
    df["total"] = counts.sum(axis=1)
    return df


def unit_by_code(ctx: ReportContext) -> LongTable:
    """Binary unit-by-code matrix: one row per unit, 0/1 columns ``code_<id>``,
    ``variable_<id>``, built a slice of units at a time."""
    meta = ctx.documents.set_index("id")
    columns = ["unit_id", "document_id", "ordinal", "unit_type", "doc_type", "document_date", "document_year",
               "speaker", "words", *(f"code_{c}" for c in ctx.codes), *(f"variable_{v}" for v in ctx.variables)]

    def piece(lo: int, hi: int) -> pd.DataFrame:
        u = ctx.units.iloc[lo:hi]
        df = pd.DataFrame({
            "unit_id": u["unit_id"], "document_id": u["document_id"], "ordinal": u["ordinal"],
            "unit_type": u["unit_type"], "doc_type": u["doc_type"],
            "document_date": u["document_id"].map(meta["date"]) if len(u) else pd.Series(dtype=object),
            "document_year": u["document_year"], "speaker": u["speaker"], "words": u["words"],
        })
        for col in ("document_id", "unit_type"):
            if isinstance(df[col].dtype, pd.CategoricalDtype):  # plain strings in the table, as the store gives
                df[col] = df[col].astype(df[col].cat.categories.dtype)
        for j, code in enumerate(ctx.codes):
            df[f"code_{code}"] = ctx.code_matrix[lo:hi, j].astype(np.int64)
        for j, var in enumerate(ctx.variables):
            df[f"variable_{var}"] = ctx.var_matrix[lo:hi, j].astype(np.int64)
        return df.reset_index(drop=True)

    def pieces():
        for lo, hi in piece_bounds(len(ctx.units)):
            yield piece(lo, hi)

    return LongTable(columns, len(ctx.units), pieces)


def corpus_by_doc_type(ctx: ReportContext) -> pd.DataFrame:
    """Documents, units, words and coded units per doc_type."""
    u = ctx.units
    coded = np.asarray(ctx.code_matrix.any(axis=1)) if len(ctx.codes) else np.zeros(len(u), dtype=bool)
    rows = []
    for t in sorted(set(ctx.documents["doc_type"])):
        mask = (u["doc_type"] == t).to_numpy()
        rows.append({"doc_type": t, "documents": int((ctx.documents["doc_type"] == t).sum()),
                     "units": int(mask.sum()), "words": int(u["words"].to_numpy()[mask].sum()),
                     "coded_units": int(coded[mask].sum())})
    return pd.DataFrame(rows, columns=CORPUS_COLUMNS) if rows else empty_table(CORPUS_COLUMNS)


def unit_types_table(ctx: ReportContext) -> pd.DataFrame:
    """Units of each type: whether shares count them, how many there are,
    how many carry any code and each variable (units left out of shares,
    such as headings, are counted here and nowhere else)."""
    rows = []
    kept_types = ctx.units["unit_type"].astype(object).where(ctx.units["unit_type"].notna(), "paragraph")
    kept_types = kept_types.astype(str).to_numpy()
    coded = np.asarray(ctx.var_matrix.any(axis=1)) if len(ctx.variables) else np.zeros(len(ctx.units), dtype=bool)
    for unit_type, n in ctx.type_counts.items():
        mask = kept_types == unit_type
        in_shares = bool(mask.any()) or unit_type not in set(ctx.left_out["unit_type"])
        row = {"unit_type": unit_type, "in_shares": in_shares, "units": n}
        if in_shares:
            row["units_coded"] = int(coded[mask].sum())
            row.update({f"variable_{v}": int(ctx.var_matrix[mask, j].sum()) for j, v in enumerate(ctx.variables)})
        else:
            row["units_coded"] = ctx.left_out_coded.get((unit_type, ""), 0)
            row.update({f"variable_{v}": ctx.left_out_coded.get((unit_type, v), 0) for v in ctx.variables})
        rows.append(row)
    cols = unit_types_columns(ctx)
    return pd.DataFrame(rows, columns=cols) if rows else empty_table(cols)


def unit_types_columns(ctx: ReportContext) -> list[str]:
    """The columns of the unit types table: a count per variable of the report."""
    return ["unit_type", "in_shares", "units", "units_coded", *(f"variable_{v}" for v in ctx.variables)]


def codebook_table(ctx: ReportContext) -> pd.DataFrame:
    """Variables and their codes with labels and definitions, in codebook order."""
    rows = []
    for var, vinfo in ctx.variables.items():
        rows.append({"level": "variable", "variable": var, "code": "", "label": vinfo["label"],
                     "definition": vinfo["definition"]})
        for code, cinfo in ctx.all_codes.items():
            if cinfo["variable"] == var:
                rows.append({"level": "code", "variable": var, "code": code, "label": cinfo["label"],
                             "definition": cinfo["definition"]})
    return pd.DataFrame(rows, columns=CODEBOOK_COLUMNS) if rows else empty_table(CODEBOOK_COLUMNS)


