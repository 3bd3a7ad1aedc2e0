"""Checks on the shipped corpus: manifest columns, files, ids, types, dates."""
import csv
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.shipped

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
REQUIRED = ["id", "title", "doc_type", "date", "source", "path", "speaker"]
DOC_TYPES = {"thesis_chapter", "interview", "official_statement"}
DATE_RE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


def read_manifest():
    with open(CORPUS / "manifest.csv", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return reader.fieldnames, list(reader)


def test_manifest_has_required_columns():
    fields, rows = read_manifest()
    assert fields[: len(REQUIRED)] == REQUIRED
    assert rows


def test_manifest_is_utf8_with_lf():
    data = (CORPUS / "manifest.csv").read_bytes()
    data.decode("utf-8")
    assert b"\r" not in data
    assert data.endswith(b"\n")


def test_ids_unique():
    _, rows = read_manifest()
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert all(ids)


def test_doc_types_known():
    _, rows = read_manifest()
    assert {r["doc_type"] for r in rows} <= DOC_TYPES


def test_dates_are_iso_year_month_or_year():
    _, rows = read_manifest()
    bad = [(r["id"], r["date"]) for r in rows if not DATE_RE.match(r["date"])]
    assert not bad


def test_enough_interviews_and_statements():
    _, rows = read_manifest()
    kinds = [r["doc_type"] for r in rows]
    assert kinds.count("interview") >= 1
    assert kinds.count("official_statement") >= 5
    assert kinds.count("thesis_chapter") == 6


@pytest.mark.parametrize("row", read_manifest()[1], ids=lambda r: r["id"])
def test_document_file(row):
    path = CORPUS / row["path"]
    assert path.is_file(), row["path"]
    data = path.read_bytes()
    text = data.decode(row.get("encoding") or "utf-8")
    assert b"\r" not in data
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert text.strip()
    lines = text.split("\n")
    page_numbers = [i + 1 for i, line in enumerate(lines) if re.fullmatch(r"\s*\d+\s*", line)]
    assert not page_numbers, f"page-number-only lines at {page_numbers}"
    # one blank line between paragraphs, no whitespace-only or padded lines
    assert "\n\n\n" not in text
    assert all(line == line.strip() for line in lines)
