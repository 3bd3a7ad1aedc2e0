"""The workbook: every table that fits a sheet in one ``tables.xlsx``, with a README sheet.

The workbook is written with fixed timestamps, so the same tables give the
same bytes; the tables that grow with the corpus stay in their CSV files.
"""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from collections.abc import Mapping
from typing import Any

import pandas as pd

from .registry import TABLES, Table, description

#: fixed workbook timestamps so that the workbook does not record when it was written
WORKBOOK_DATE = datetime.datetime(2000, 1, 1)

_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


#: Excel's limits per sheet (the header takes one row)
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLUMNS = 16_384


def workbook_sheets(tables: Mapping[str, Table]) -> dict[str, str]:
    """Table name -> why it is left to its CSV ("" when it goes in the workbook).

    Per-unit tables (declared with ``workbook=False``) are CSV only; any other
    table larger than a sheet can hold (:data:`XLSX_MAX_ROWS` rows with the
    header, :data:`XLSX_MAX_COLUMNS` columns) is left out too, so that the
    workbook always opens in Excel.
    """
    reasons = {}
    for name, df in tables.items():
        if name in TABLES and not TABLES[name].workbook:
            reasons[name] = "CSV only: one row per unit or document (too large for a workbook on a big corpus)"
        elif len(df) + 1 > XLSX_MAX_ROWS:
            reasons[name] = f"CSV only: {len(df):,} rows, more than an Excel sheet holds"
        elif len(df.columns) > XLSX_MAX_COLUMNS:
            reasons[name] = f"CSV only: {len(df.columns):,} columns, more than an Excel sheet holds"
        else:
            reasons[name] = ""
    return reasons


def workbook(tables: Mapping[str, Table]) -> bytes:
    """The bytes of ``tables.xlsx``: a README sheet describing each table (and
    saying which are in their CSV only, see :func:`workbook_sheets`), then one
    sheet per table it holds (sheet names are the table names, at most 31
    characters)."""
    left_out = workbook_sheets(tables)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        readme = pd.DataFrame({"sheet": [n if not left_out[n] else "" for n in tables], "table": list(tables),
                               "description": [description(n) for n in tables],
                               "csv": [f"tables/{n}.csv" for n in tables],
                               "in_workbook": [left_out[n] or "yes" for n in tables]})
        readme.to_excel(writer, sheet_name="README", index=False)
        for name, df in tables.items():
            if not left_out[name] and isinstance(df, pd.DataFrame):
                _sheet(df).to_excel(writer, sheet_name=name[:31], index=False)
        for sheet in writer.book.worksheets:
            _format_sheet(sheet)
        writer.book.properties.created = WORKBOOK_DATE
        writer.book.properties.modified = WORKBOOK_DATE
        writer.book.properties.creator = "coding"
    return _normalise_xlsx(buf.getvalue())


def _sheet(df: pd.DataFrame) -> pd.DataFrame:
    """A table's cells as a sheet takes them."""
    # Excel has no NA for integers and rejects some objects: write plain values
    plain = df.astype(object).where(df.notna(), None)
    # XML forbids most control characters (form feeds from PDFs): a space in the workbook
    return plain.map(lambda v: _XLSX_ILLEGAL.sub(" ", v) if isinstance(v, str) else v)


#: widest column of the workbook, in characters (longer text wraps in Excel's cell editor)
XLSX_MAX_WIDTH = 60


def _format_sheet(sheet: Any) -> None:
    """Make a sheet easy to read: a bold header row that stays in view, a
    filter on every column and columns as wide as their content."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    if sheet.max_row < 1 or sheet.max_column < 1:
        return
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for idx, column in enumerate(sheet.iter_cols(values_only=True), start=1):
        longest = max((len(str(v)) for v in column if v is not None), default=0)
        # room for the filter button beside the header
        width = min(XLSX_MAX_WIDTH, max(longest, len(str(column[0] or "")) + 3) + 2)
        sheet.column_dimensions[get_column_letter(idx)].width = width


def _normalise_xlsx(payload: bytes) -> bytes:
    """Pin the save time openpyxl records (core properties and zip entry dates)."""
    stamp = WORKBOOK_DATE.strftime("%Y-%m-%dT%H:%M:%SZ")
    src = zipfile.ZipFile(io.BytesIO(payload))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + stamp.encode() + rb"\g<2>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=WORKBOOK_DATE.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, data)
    return buf.getvalue()
