"""Every report table, declared once: what it computes, its columns, how it is written and shown.

A :class:`TableSpec` in :data:`TABLES` is all a table needs: ``compute_tables``
computes the tables in this order, ``write_tables`` writes each to
``tables/<name>.csv`` and (unless ``workbook`` is false) to a sheet of
``tables.xlsx`` whose README sheet gives the description, and the HTML report
shows it in its appendix (``shown``) or lists it among the further tables.
To add a table, write the function that computes it and declare it here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Union

import pandas as pd

from . import comparisons, cooccurrence, frequencies, summaries
from .comparisons import COMPARISON_COLUMNS, CROSSTAB_COLUMNS, TEST_COLUMNS
from .context import ReportContext
from .cooccurrence import PAIR_COLUMNS
from .frequencies import FREQ_VALUE_COLUMNS
from .output import LongTable
from .quotes import EXEMPLAR_COLUMNS, KWIC_COLUMNS

#: a computed table: a DataFrame, or a long one written piece by piece
Table = Union[pd.DataFrame, LongTable]


@dataclass(frozen=True)
class TableOptions:
    """The report's settings the tables depend on."""

    #: the smallest co-occurrence count listed in ``cooccurrence_pairs``
    min_pair_count: int = 1


@dataclass(frozen=True)
class Shown:
    """How the HTML report shows a table in its appendix."""

    #: the columns shown (None: all)
    columns: tuple[str, ...] | None = None
    #: show the variables' rows only (the code rows are in the CSV); a table of more than
    #: ``html.APPENDIX_ROWS`` rows shows only them anyway
    variable_rows: bool = False
    #: a column of years: only the years of the codebook's study period are shown
    period_column: str | None = None


@dataclass(frozen=True)
class TableSpec:
    """One report table."""

    name: str
    #: one line, for the workbook's README sheet and the report's captions
    description: str
    #: the table of a report context
    compute: Callable[[ReportContext, TableOptions], Table]
    #: the columns, in order (a function of the context where they follow the items or documents)
    columns: Sequence[str] | Callable[[ReportContext], list[str]]
    #: whether it goes in the workbook (tables that grow with the corpus are in their CSV only)
    workbook: bool = True
    #: shown in the report's appendix; None: listed among the further tables, linked to its CSV
    shown: Shown | None = None
    #: its place in the report's list of shown (or of further) tables; ties in declaration order
    place: float = 1000

    @property
    def csv(self) -> str:
        """Its CSV file, relative to the report's folder."""
        return f"tables/{self.name}.csv"

    def columns_of(self, ctx: ReportContext) -> list[str]:
        """Its columns for the report of ``ctx``."""
        return self.columns(ctx) if callable(self.columns) else list(self.columns)


def _of(compute: Callable[[ReportContext], Table]) -> Callable[[ReportContext, TableOptions], Table]:
    """A compute function that needs the context alone."""
    return lambda ctx, options: compute(ctx)


def _frequency_columns(*groups: str) -> list[str]:
    return ["level", "variable", "code", "label", *groups, *FREQ_VALUE_COLUMNS]


def _square(level: str, context: str) -> TableSpec:
    """A co-occurrence matrix of ``level`` items within ``context``."""
    plural, kind = ("codes", "Code x code") if level == "code" else ("variables", "Variable x variable")
    within = "units coded with both (diagonal: units coded)" if context == "unit" else \
        "documents containing both (diagonal: documents)"
    return TableSpec(
        f"cooc_{plural}_{context}s", f"{kind} matrix: {within}.",
        _of(lambda ctx: cooccurrence.matrix(ctx, level, context)),
        lambda ctx: [level, *(ctx.codes if level == "code" else ctx.variables)],
        shown=Shown() if level == "variable" else None, place=8 if level == "variable" else 2)


def _unit_by_code_columns(ctx: ReportContext) -> list[str]:
    return ["unit_id", "document_id", "ordinal", "unit_type", "doc_type", "document_date", "document_year",
            "speaker", "words", *(f"code_{c}" for c in ctx.codes), *(f"variable_{v}" for v in ctx.variables)]


def _kwic(ctx: ReportContext) -> Table:
    return ctx.quotes.kwic


def _exemplars(ctx: ReportContext) -> Table:
    return ctx.quotes.exemplars


_DECLARED = [
    TableSpec("frequencies",
              "Units coded, share of all units and documents, per code and variable, with 95% intervals "
              "(Wilson for shares; exact Poisson on the count of coded units for the rate per 1,000 words).",
              _of(frequencies.frequencies), _frequency_columns(), place=0,
              shown=Shown(("level", "variable", "code", "label", "units_total", "units_coded", "unit_share",
                           "unit_share_cl_low", "unit_share_cl_high", "documents_total", "documents_coded",
                           "document_share", "evidence_matches", "units_coded_per_1000_words",
                           "units_coded_per_1000_words_ci_low", "units_coded_per_1000_words_ci_high"))),
    TableSpec("frequencies_by_document", "The same measures within each document.",
              _of(frequencies.frequencies_by_document),
              _frequency_columns("document_id", "title", "doc_type", "document_year"), workbook=False, place=1),
    TableSpec("frequencies_by_doc_type", "The same measures within each doc_type.",
              _of(frequencies.frequencies_by_doc_type), _frequency_columns("doc_type"), place=1,
              shown=Shown(("doc_type", "level", "label", "units_total", "units_coded", "unit_share",
                           "unit_share_cl_low", "unit_share_cl_high", "units_coded_per_1000_words"))),
    TableSpec("frequencies_by_document_year",
              "The same measures by document_year: the year of the document's own date.",
              _of(frequencies.frequencies_by_document_year), _frequency_columns("document_year"), place=2,
              shown=Shown(("document_year", "level", "label", "units_total", "units_coded", "unit_share",
                           "unit_share_cl_low", "unit_share_cl_high", "units_coded_per_1000_words"))),
    TableSpec("frequencies_by_referenced_year",
              "The same measures by referenced_year: years (within the codebook's referenced_years) mentioned in "
              "a unit's text; a unit counts once under each distinct year it mentions.",
              _of(frequencies.frequencies_by_referenced_year), _frequency_columns("referenced_year"), place=3,
              shown=Shown(("referenced_year", "level", "label", "units_total", "units_coded", "unit_share",
                           "unit_share_cl_low", "unit_share_cl_high", "units_coded_per_1000_words"),
                          period_column="referenced_year")),
    TableSpec("cooccurrence_pairs",
              "Pairs of codes/variables co-occurring within units or documents, by strength. "
              "jaccard = n_ab/(n_a+n_b-n_ab) is ATLAS.ti's c-coefficient; it misleads when the two "
              "frequencies differ more than five-fold (jaccard_misleading): use ochiai and the "
              "conditional shares there. expected = n_a*n_b/n_total, lift = n_ab/expected; phi with "
              "a two-sided Fisher exact p-value.",
              lambda ctx, options: cooccurrence.pairs(ctx, options.min_pair_count),
              PAIR_COLUMNS, place=4,
              shown=Shown(("level", "context", "label_a", "label_b", "n_a", "n_b", "n_ab", "expected", "lift",
                           "jaccard", "ochiai", "p_b_given_a", "p_a_given_b", "phi", "fisher_p", "expected_within",
                           "p_within"))),
    _square("code", "unit"),
    _square("code", "document"),
    _square("variable", "unit"),
    _square("variable", "document"),
    TableSpec("code_by_document", "Units coded per code and document.", _of(summaries.code_by_document),
              lambda ctx: ["code", "variable", "label", *ctx.documents["id"], "total"], place=4),
    TableSpec("unit_by_code",
              "One row per unit, 0/1 per code (code_<id>) and variable (variable_<id>), with document metadata.",
              _of(summaries.unit_by_code), _unit_by_code_columns, workbook=False, place=5),
    TableSpec("kwic", "Keyword in context: every evidence match with about 60 characters either side.",
              _of(_kwic), KWIC_COLUMNS, workbook=False, place=6),
    TableSpec("exemplars", "Exemplar quotations: per code, the units with the most distinct evidence terms.",
              _of(_exemplars), EXEMPLAR_COLUMNS, place=7),
    TableSpec("corpus_by_doc_type", "Documents, units, words and coded units per doc_type.",
              _of(summaries.corpus_by_doc_type), summaries.CORPUS_COLUMNS, place=8),
    TableSpec("comparisons",
              "Shares compared between two halves of the study period, by the years units refer to and by "
              "the documents' dates: units, documents and coded units on each side, the difference of the "
              "shares (b - a) with its document-clustered 95% interval and the verdict it allows; a "
              "comparison the data cannot carry has no verdict and says why (note).",
              _of(comparisons.study_comparisons), COMPARISON_COLUMNS, place=5,
              shown=Shown(("comparison", "label", "group_a", "units_a", "documents_a", "share_a", "group_b",
                           "units_b", "documents_b", "share_b", "difference", "difference_cl_low",
                           "difference_cl_high", "verdict", "note"), variable_rows=True)),
    TableSpec("crosstabs",
              "Share of units carrying each variable and code in each group of an attribute (doc_type, speaker, "
              "document_year and any extra manifest column), with its document-clustered 95% interval.",
              _of(comparisons.crosstab_shares), CROSSTAB_COLUMNS, place=0),
    TableSpec("crosstab_tests",
              "Per attribute and item: the test that fits the design and the counts (documents permuted "
              "when the attribute belongs to documents, permuted within documents when it varies inside "
              "them, chi-square or Fisher exact when no document has two units), its chi-square statistic, "
              "df and p; p_units is the test that takes units as independent.",
              _of(comparisons.crosstab_tests), TEST_COLUMNS, place=6,
              shown=Shown(("attribute", "label", "groups", "units", "documents", "test", "statistic", "df", "p",
                           "p_units"), variable_rows=True)),
    TableSpec("unit_types",
              "Units of each type (paragraph, turn, sentence, heading): whether shares count them (in_shares; "
              "headings are left out unless the codebook's settings.include_unit_types names them), how many "
              "there are and how many carry any code and each variable.",
              _of(summaries.unit_types_table), summaries.unit_types_columns, place=7, shown=Shown()),
    TableSpec("codebook", "Variables and codes with their definitions.", _of(summaries.codebook_table),
              summaries.CODEBOOK_COLUMNS, place=9),
]

#: table name -> its declaration, in the order of the workbook and ``compute_tables``
TABLES: dict[str, TableSpec] = {spec.name: spec for spec in _DECLARED}


def description(name: str) -> str:
    """The one-line description of a declared table ("" for another name)."""
    spec = TABLES.get(name)
    return spec.description if spec is not None else ""


def shown_tables() -> list[TableSpec]:
    """The tables the report shows in its appendix, in their order."""
    return _placed([s for s in TABLES.values() if s.shown is not None])


def linked_tables() -> list[TableSpec]:
    """The tables the report lists among the further tables (linked to their CSV), in their order."""
    return _placed([s for s in TABLES.values() if s.shown is None])


def _placed(specs: list[TableSpec]) -> list[TableSpec]:
    order = {name: i for i, name in enumerate(TABLES)}
    return sorted(specs, key=lambda s: (s.place, order[s.name]))
