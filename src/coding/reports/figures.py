"""Report figures: PNG files drawn from the report tables with matplotlib (Agg).

Every figure has a title and axis labels, colours are fixed per variable, and
PNGs are written without a software/time stamp so that identical tables give
byte-identical files. With no codings a figure still appears, saying so.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # no display; must precede the pyplot import

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from coding.codebook import SPARE_COLOURS, variable_colours  # noqa: F401 (the reports' names for them)

from .output import LongTable, Outputs, stage

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

DPI = 150
WIDTH = 8.0
NO_CODINGS = "No codings"
NO_CODES = "No code-level codings (the coder coded variables only)"

RC: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans", "font.size": 9, "axes.titlesize": 11, "axes.titleweight": "bold",
    "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.fontsize": 8,
    "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": DPI,
    "figure.constrained_layout.h_pad": 0.1, "figure.constrained_layout.w_pad": 0.1,  # inches around the edge
}

#: figure name -> caption used in the HTML report
FIGURE_TITLES = {
    "variable_frequencies": "Units coded per variable",
    "code_frequencies": "Units coded per code, coloured by variable",
    "cooccurrence_variables": "Co-occurrence of variables within units",
    "cooccurrence_codes": "Co-occurrence of codes within units, grouped by variable",
    "timeline_referenced_year": "Units per variable by the year they refer to",
    "frequencies_by_doc_type": "Share of units coded per variable, by document type",
    "agreement_alpha": "Krippendorff's alpha per variable and pair of coders, with the .667 and .800 thresholds",
    "code_by_document": "Units coded per code and document",
    "units_by_document_date": "Share of each document's units coded, by the document's date",
}
#: figures of the Findings section (one per variable), not listed among the figures
FINDINGS_PREFIX = "findings_"


def _settings(data):
    """The study settings of the reported codebook (defaults without one)."""
    from coding.codebook import StudySettings

    return getattr(getattr(data, "codebook", None), "settings", None) or StudySettings()


def _wrap(text: str, width: int = 28) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    # every figure is laid out by the constrained layout engine, which keeps each label
    # inside the figure: a tight bounding box on top would draw it once more
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _no_codings(ax, message: str = NO_CODINGS) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color="#555555",
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _freq(tables: dict[str, pd.DataFrame], name: str, level: str, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of ``level`` of a frequency table (only ``columns``, when given)."""
    df = tables[name]
    if isinstance(df, LongTable):  # written in pieces (a large corpus): keep the level's rows of each
        pieces = [p.loc[p["level"] == level, columns or p.columns] for p in df.pieces()]
        return pd.concat(pieces, ignore_index=True)
    return df.loc[df["level"] == level, columns or df.columns].reset_index(drop=True)


def _has_codings(tables) -> bool:
    f = tables["frequencies"]
    return bool(len(f)) and bool((f["units_coded"].fillna(0) > 0).any())


def _bars(tables, level: str, colours: dict[str, str]):
    """Horizontal bars of units coded, largest on top."""
    f = _freq(tables, "frequencies", level)
    height = 1.6 + 0.34 * max(len(f), 2)
    fig, ax = plt.subplots(figsize=(WIDTH, height), layout="constrained")
    what = "code" if level == "code" else "variable"
    ax.set_title(FIGURE_TITLES[f"{level}_frequencies"])
    total = int(f["units_total"].iloc[0]) if len(f) else 0
    ax.set_xlabel(f"Units coded (of {total:,} units)")
    ax.set_ylabel(what.capitalize())
    if not _has_codings(tables) or f.empty:
        _no_codings(ax, NO_CODINGS if _has_codings(tables) is False or level != "code" else NO_CODES)
        return fig
    # largest at the top (barh draws the first row at the bottom); ties in codebook order
    f = f.iloc[np.lexsort((-np.arange(len(f)), f["units_coded"].to_numpy()))]
    y = np.arange(len(f))
    ax.barh(y, f["units_coded"], color=[colours.get(v, "#999999") for v in f["variable"]], height=0.7)
    ax.set_yticks(y, [_wrap(lbl, 34) for lbl in f["label"]])
    top = float(f["units_coded"].max())
    for yi, n, share in zip(y, f["units_coded"], f["unit_share"]):
        ax.text(n + top * 0.01, float(yi), f"{int(n):,} ({share:.0%})", va="center", fontsize=8)
    ax.set_xlim(0, top * 1.18)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if level == "code":
        present = list(dict.fromkeys(_freq(tables, "frequencies", "variable")["variable"]))
        labels = dict(zip(_freq(tables, "frequencies", "variable")["variable"],
                          _freq(tables, "frequencies", "variable")["label"]))
        ax.legend(handles=[Patch(color=colours[v], label=labels.get(v, v)) for v in present],
                  title="Variable", loc="lower right", frameon=False)
    return fig


def _heatmap(tables, level: str, colours: dict[str, str]):
    """Co-occurrence within units: colour = Jaccard, numbers = units; diagonal = frequency."""
    key = "cooc_codes_units" if level == "code" else "cooc_variables_units"
    m = tables[key]
    ids = list(m.columns[1:])
    counts = m[ids].to_numpy(dtype=float)
    labels, var_of = _item_labels(tables, level, ids)
    n = len(ids)
    empty = not _has_codings(tables) or n == 0
    side = 5.5 if empty or level != "code" else 3.2 + 0.42 * n
    fig, ax = plt.subplots(figsize=(side + 1.8, side), layout="constrained")
    name = "cooccurrence_codes" if level == "code" else "cooccurrence_variables"
    ax.set_title(FIGURE_TITLES[name])
    ax.set_xlabel(level.capitalize())
    ax.set_ylabel(level.capitalize())
    if empty:
        _no_codings(ax, NO_CODES if _has_codings(tables) and n == 0 else NO_CODINGS)
        return fig
    jac = _jaccard(counts)
    shown = np.ma.masked_array(jac, mask=np.eye(n, dtype=bool))
    cmap = plt.get_cmap("Blues").with_extremes(bad="#e6e6e6")
    im = ax.imshow(shown, cmap=cmap, vmin=0, vmax=max(0.05, float(shown.max() or 0)), aspect="equal")
    bar = fig.colorbar(im, ax=ax, shrink=0.8)
    bar.set_label("Jaccard (c-coefficient)")
    _cell_counts(ax, counts, jac, im.get_clim()[1])
    ax.set_xticks(range(n), labels, rotation=90 if level == "code" else 0)
    ax.set_yticks(range(n), labels)
    ax.spines[:].set_visible(False)
    _variable_groups(ax, var_of, colours)
    ax.set_xlabel(f"{level.capitalize()}  (cells: units coded with both; grey diagonal: units coded)")
    return fig


def _item_labels(tables, level: str, ids: list[str]) -> tuple[list[str], list[str]]:
    """The wrapped label and the variable of each item (the id and "" for an item without frequencies)."""
    f = _freq(tables, "frequencies", level)
    f = f.set_index(f[level].to_numpy())
    labels = [_wrap(f.at[i, "label"] if i in f.index else i, 30) for i in ids]
    return labels, [f.at[i, "variable"] if i in f.index else "" for i in ids]


def _jaccard(counts: np.ndarray) -> np.ndarray:
    """Jaccard of each pair of a co-occurrence matrix whose diagonal holds the frequencies (0 where undefined)."""
    diag = np.diag(counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        union = diag[:, None] + diag[None, :] - counts
        return np.where(union > 0, counts / np.where(union > 0, union, 1), 0.0)


def _cell_counts(ax: Axes, counts: np.ndarray, jac: np.ndarray, vmax: float) -> None:
    """The count in each cell of a heatmap, white on its darker cells, bold on the diagonal."""
    n = len(counts)
    fontsize = 8 if n <= 12 else 7
    for i in range(n):
        for j in range(n):
            value = int(counts[i, j])
            dark = i != j and jac[i, j] > 0.6 * vmax
            ax.text(j, i, f"{value:,}", ha="center", va="center", fontsize=fontsize,
                    fontweight="bold" if i == j else "normal", color="white" if dark else "black")


def _variable_groups(ax: Axes, var_of: list[str], colours: dict[str, str]) -> None:
    """Tick labels in their variable's colour, and lines between the variables' groups."""
    for tick, var in zip(ax.get_xticklabels(), var_of):
        tick.set_color(colours.get(var, "black"))
    for tick, var in zip(ax.get_yticklabels(), var_of):
        tick.set_color(colours.get(var, "black"))
    # separate the variable groups
    for k in range(1, len(var_of)):
        if var_of[k] != var_of[k - 1]:
            ax.axhline(k - 0.5, color="black", linewidth=1)
            ax.axvline(k - 0.5, color="black", linewidth=1)


def _timeline(tables, colours: dict[str, str], period: tuple[int, int] | None):
    f = _freq(tables, "frequencies_by_referenced_year", "variable")
    fig, ax = plt.subplots(figsize=(WIDTH + 1, 4.2), layout="constrained")
    ax.set_title(FIGURE_TITLES["timeline_referenced_year"])
    ax.set_xlabel("Year referenced in the unit's text (referenced_year)")
    ax.set_ylabel("Units coded")
    years_seen = sorted(int(y) for y in f["referenced_year"].dropna().unique()) if not f.empty else []
    if period is not None:
        lo, hi = period
        ax.axvspan(lo - 0.5, hi + 0.5, color="#cccccc", alpha=0.35, linewidth=0,
                   label=f"Study period {lo}-{hi}")
    else:
        lo, hi = (years_seen[0], years_seen[-1]) if years_seen else (2000, 2020)
    if not _has_codings(tables) or f.empty or not (f["units_coded"] > 0).any():
        ax.set_xlim(lo - 3, hi + 3)
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        ax.text(0.5, 0.5, NO_CODINGS if not _has_codings(tables) else "No coded unit refers to a year",
                ha="center", va="center", fontsize=12, color="#555555", transform=ax.transAxes)
        if period is not None:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return fig
    years = sorted(int(y) for y in f["referenced_year"].dropna().unique())
    first, last = min(years + [lo]), max(years + [hi])
    full = np.arange(first, last + 1)
    labels = dict(zip(_freq(tables, "frequencies", "variable")["variable"],
                      _freq(tables, "frequencies", "variable")["label"]))
    for var, sub in f.groupby("variable", sort=False):
        series = sub.set_index(sub["referenced_year"].astype(int))["units_coded"].reindex(full, fill_value=0)
        ax.plot(full, series.to_numpy(), marker="o", markersize=3, linewidth=1.6,
                color=colours.get(var, "#999999"), label=labels.get(var, var))
    ax.set_xlim(first - 0.8, last + 0.8)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=16))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    # outside the axes so that it never hides a line
    ax.legend(title="Variable", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def _by_doc_type(tables, colours: dict[str, str]):
    f = _freq(tables, "frequencies_by_doc_type", "variable")
    fig, ax = plt.subplots(figsize=(WIDTH + 1, 4.6), layout="constrained")
    ax.set_title(FIGURE_TITLES["frequencies_by_doc_type"])
    ax.set_xlabel("Document type (n = units)")
    ax.set_ylabel("Units coded (% of the type's units)")
    if not _has_codings(tables) or f.empty:
        _no_codings(ax)
        return fig
    types = list(dict.fromkeys(f["doc_type"]))
    variables = list(dict.fromkeys(f["variable"]))
    labels = dict(zip(f["variable"], f["label"]))
    width = 0.8 / max(len(variables), 1)
    x = np.arange(len(types))
    for k, var in enumerate(variables):
        sub = f[f["variable"] == var].set_index("doc_type").reindex(types)
        share = sub["unit_share"].fillna(0).to_numpy() * 100
        err = np.vstack([share - sub["unit_share_ci_low"].fillna(0).to_numpy() * 100,
                         sub["unit_share_ci_high"].fillna(0).to_numpy() * 100 - share]).clip(min=0)
        ax.bar(x + (k - (len(variables) - 1) / 2) * width, share, width * 0.92, yerr=err,
               color=colours.get(var, "#999999"), label=labels.get(var, var),
               error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#333333"})
    totals = f.drop_duplicates("doc_type").set_index("doc_type")["units_total"]
    ax.set_xticks(x, [f"{_wrap(t.replace('_', ' '), 14)}\n(n = {int(totals[t]):,})" for t in types])
    ax.set_ylim(0, 100)
    ax.legend(title="Variable\n(error bars: 95%\nWilson interval)", loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


#: most document columns of the code-by-document heatmap; beyond, runs of consecutive documents are summed
#: (one column per document of a large corpus would make an image wider than a PNG can be, and unreadable)
MAX_DOCUMENT_COLUMNS = 60


def _document_columns(counts: np.ndarray, docs: list[str]) -> tuple[np.ndarray, list[str]]:
    """``counts`` (codes x documents) with at most :data:`MAX_DOCUMENT_COLUMNS`
    columns: runs of consecutive documents summed, labelled "first…last"."""
    if len(docs) <= MAX_DOCUMENT_COLUMNS:
        return counts, docs
    size = math.ceil(len(docs) / MAX_DOCUMENT_COLUMNS)
    starts = list(range(0, len(docs), size))
    summed = np.add.reduceat(counts, starts, axis=1)
    labels = [f"{docs[i]}\u2026{docs[min(i + size, len(docs)) - 1]}" for i in starts]
    return summed, labels


def _code_by_document(tables, colours: dict[str, str]):
    """Heatmap of units coded per code (rows, grouped by variable) and document (columns)."""
    m = tables["code_by_document"]
    docs = [c for c in m.columns if c not in ("code", "variable", "label", "total")]
    columns = min(len(docs), MAX_DOCUMENT_COLUMNS)
    fig, ax = plt.subplots(figsize=(max(WIDTH, 2.5 + 0.28 * columns), 1.6 + 0.3 * max(len(m), 3)),
                           layout="constrained")
    ax.set_title(FIGURE_TITLES["code_by_document"])
    ax.set_xlabel("Document (in corpus order)")
    if not _has_codings(tables) or m.empty or not docs:
        _no_codings(ax, NO_CODINGS if not _has_codings(tables) else NO_CODES)
        return fig
    counts, docs = _document_columns(m[docs].to_numpy(dtype=float), docs)
    if len(docs) and "\u2026" in docs[0]:
        ax.set_xlabel(f"Documents (in corpus order, summed in {len(docs)} runs of consecutive documents)")
    im = ax.imshow(np.ma.masked_equal(counts, 0), cmap=plt.get_cmap("Blues").with_extremes(bad="#f4f4f4"),
                   vmin=0, vmax=max(1.0, counts.max()), aspect="auto")
    fig.colorbar(im, ax=ax, shrink=0.8).set_label("Units coded")
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            if counts[i, j]:
                dark = counts[i, j] > 0.6 * counts.max()
                ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=6,
                        color="white" if dark else "black")
    ax.set_xticks(range(len(docs)), docs, rotation=90, fontsize=7)
    ax.set_yticks(range(len(m)), [_wrap(lbl, 40) for lbl in m["label"]], fontsize=7)
    for tick, var in zip(ax.get_yticklabels(), m["variable"]):
        tick.set_color(colours.get(var, "black"))
    ax.spines[:].set_visible(False)
    return fig


def _date_number(date: str) -> float:
    """A document date (YYYY, YYYY-MM or YYYY-MM-DD) as a fractional year; NaN when unknown."""
    parts = str(date or "").split("-")
    if not parts[0][:4].isdigit():
        return math.nan
    year = int(parts[0][:4])
    month = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 7  # a bare year: its middle
    day = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 1
    return year + (month - 1) / 12 + (day - 1) / 365


def _document_dates(data) -> pd.Series:
    """document id -> date of the report's documents that have units."""
    from .context import context_of

    ctx = context_of(data)
    docs = ctx.documents[np.diff(ctx.doc_bounds) > 0]  # units are sorted by document
    return docs.set_index("id")["date"]


def _by_document_date(tables, colours: dict[str, str], dates: pd.Series):
    """The share of each document's units coded for each variable, one panel
    per variable, at the document's date; a point's area grows with the
    document's units, so a one-paragraph statement and a chapter both show."""
    # four columns: a large corpus has a row per document and variable
    f = _freq(tables, "frequencies_by_document", "variable", ["document_id", "variable", "units_coded", "units_total"])
    labels = dict(zip(_freq(tables, "frequencies", "variable")["variable"],
                      _freq(tables, "frequencies", "variable")["label"]))
    variables = list(dict.fromkeys(f["variable"])) if not f.empty else []
    fig, axes = plt.subplots(max(1, len(variables)), 1, figsize=(WIDTH + 1, 1.9 * max(1, len(variables)) + 0.8),
                             layout="constrained", sharex=True, squeeze=False)
    fig.suptitle(FIGURE_TITLES["units_by_document_date"], fontweight="bold")
    if not _has_codings(tables) or f.empty:
        _no_codings(axes[0, 0])
        return fig
    f = f.assign(x=f["document_id"].map(dates).map(_date_number)).dropna(subset=["x"])
    # documents of one date side by side, in their order, so that they do not hide each other
    order = f.drop_duplicates("document_id")[["document_id", "x"]]
    order["k"] = order.groupby("x").cumcount()
    order["n"] = order.groupby("x")["k"].transform("size")
    spread = dict(zip(order["document_id"], (order["k"] - (order["n"] - 1) / 2) * (0.6 / order["n"].clip(lower=1))))
    f = f.assign(x=f["x"] + f["document_id"].map(spread), share=100 * f["units_coded"] / f["units_total"].clip(lower=1))
    biggest = max(1.0, float(f["units_total"].max()))
    for ax, var in zip(axes[:, 0], variables):
        sub = f[f["variable"] == var]
        ax.scatter(sub["x"], sub["share"], s=12 + 140 * np.sqrt(sub["units_total"] / biggest),
                   color=colours.get(var, "#999999"), alpha=0.7, edgecolors="white", linewidths=0.5)
        ax.set_ylim(-8, 108)
        ax.set_yticks([0, 50, 100], ["0%", "50%", "100%"])
        ax.set_title(labels.get(var, var), loc="left", fontsize=10, color=colours.get(var, "black"))
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", alpha=0.3)
    axes[-1, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1, 0].set_xlabel("Document date (a point is a document; its area grows with the document's units)")
    fig.supylabel("Share of the document's units coded", fontsize=10)
    return fig


def _share_points(ax, x, rows: pd.DataFrame, colour: str) -> None:
    """Shares (%) at ``x`` with their document-clustered intervals (where given) and the units under each."""
    share = rows["unit_share"].to_numpy(dtype=float) * 100
    low = rows["unit_share_cl_low"].to_numpy(dtype=float) * 100
    high = rows["unit_share_cl_high"].to_numpy(dtype=float) * 100
    known = ~np.isnan(low)
    err = np.vstack([share - low, high - share])[:, known].clip(min=0)
    ax.errorbar(np.asarray(x)[known], share[known], yerr=err, fmt="none", ecolor="#555555", elinewidth=1,
                capsize=3)
    ax.scatter(x, share, s=30, color=colour, zorder=3)
    for xi, si, n in zip(x, share, rows["units_total"].to_numpy()):
        ax.annotate(f"n={int(n)}", (xi, si), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    ax.set_ylim(0, 105)


def _variable_movement(tables, var: str, colours: dict[str, str], period: tuple[int, int] | None) -> Figure:
    """Small figure of one variable: its share of the units that refer to
    each year of the study period, and its share by document type, each with
    the document-clustered interval and the units it is a share of."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(WIDTH, 3.4), layout="constrained")
    colour = colours.get(var, "#999999")
    ref = _freq(tables, "frequencies_by_referenced_year", "variable")
    ref = ref[(ref["variable"] == var) & (ref["units_total"] > 0)]
    if period is not None:
        ref = ref[(ref["referenced_year"] >= period[0]) & (ref["referenced_year"] <= period[1])]
    ref = ref.sort_values("referenced_year", kind="mergesort")
    _share_points(left, ref["referenced_year"].astype(int).to_numpy(), ref, colour)
    left.set_title("By year referred to" + (f" ({period[0]}-{period[1]})" if period else ""), fontsize=10)
    left.set_ylabel("% of the units that refer to the year", fontsize=9)
    left.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    types = _freq(tables, "frequencies_by_doc_type", "variable")
    types = types[(types["variable"] == var) & (types["units_total"] > 0)].sort_values("doc_type", kind="mergesort")
    x = np.arange(len(types))
    _share_points(right, x, types, colour)
    right.set_xticks(x, [_wrap(str(t).replace("_", " "), 14) for t in types["doc_type"]], fontsize=9)
    right.set_xlim(-0.6, len(types) - 0.4)
    right.set_title("By document type", fontsize=10)
    right.set_ylabel("% of the type's units", fontsize=9)
    return fig


def write_figures(data, tables: dict[str, pd.DataFrame], out_dir, outputs=None,
                  progress: bool | None = None) -> dict[str, Path]:
    """Draw every figure from ``tables`` into ``<out_dir>/figures/<name>.png``.

    The figures are drawn from the tables; ``data.codebook.settings`` gives
    the variables' colours and the study period. Returns ``{"figures/<name>": path}``.
    """
    outputs = outputs if outputs is not None else Outputs()
    out = Path(out_dir) / "figures"
    variables = list(_freq(tables, "frequencies", "variable")["variable"])
    settings = _settings(data)
    colours = variable_colours(variables, settings.variable_colours)
    paths: dict[str, Path] = {}
    with plt.style.context("default"), matplotlib.rc_context(RC):
        builders: dict[str, Callable[[], Figure]] = {
            "variable_frequencies": lambda: _bars(tables, "variable", colours),
            "code_frequencies": lambda: _bars(tables, "code", colours),
            "cooccurrence_variables": lambda: _heatmap(tables, "variable", colours),
            "cooccurrence_codes": lambda: _heatmap(tables, "code", colours),
            "timeline_referenced_year": lambda: _timeline(tables, colours, settings.study_period),
            "frequencies_by_doc_type": lambda: _by_doc_type(tables, colours),
            "code_by_document": lambda: _code_by_document(tables, colours),
            "units_by_document_date": lambda: _by_document_date(tables, colours, _document_dates(data)),
        }
        for var in variables:
            builders[f"findings_{var}"] = partial(_variable_movement, tables, var, colours, settings.study_period)
        with stage("figures", len(builders), progress) as bar:
            for name, build in builders.items():
                paths[f"figures/{name}"] = outputs.write(out / f"{name}.png", _png(build()))
                bar.update()
    return paths


READING_COLOURS = {"reliable": "#2b8a3e", "tentative": "#e8a317", "unreliable": "#c92a2a",
                   "undefined": "#adb5bd"}


def _alpha_bar(ax: Axes, y: int, r: Any) -> None:
    """One row of the alpha chart: its bar coloured by reading, its interval and its value."""
    alpha = r.krippendorff_alpha
    colour = READING_COLOURS.get(r.reading, READING_COLOURS["undefined"])
    if pd.isna(alpha):
        ax.text(0.01, y, "undefined (no variation or no shared unit)", va="center", fontsize=8,
                color="#555555")
        return
    ax.barh(y, alpha, color=colour, height=0.6, hatch="//" if r.item == "ALL" else None,
            edgecolor="white" if r.item != "ALL" else "#333333")
    if not (pd.isna(r.alpha_low) or pd.isna(r.alpha_high)):
        ax.errorbar(alpha, y, xerr=[[max(alpha - r.alpha_low, 0)], [max(r.alpha_high - alpha, 0)]],
                    fmt="none", ecolor="#222222", capsize=3, lw=1)
    end = alpha if pd.isna(r.alpha_high) else max(alpha, r.alpha_high)
    ax.text(max(end, 0) + 0.015, y, f"{alpha:.3f} {r.reading}", va="center", fontsize=7, color="#222222")


def alpha_figure(table: pd.DataFrame, path, title: str | None = None, outputs=None) -> Path:
    """Bar chart of Krippendorff's alpha per item, written as a PNG.

    One horizontal bar per row of an agreement table (``ALL`` last), its
    bootstrap interval as a whisker, coloured by reading, with lines at
    0.667 and 0.800.  Undefined alphas are labelled, not drawn.  The PNG
    carries no software or date stamp, so the same table gives the same
    bytes.
    """
    rows = table.reset_index(drop=True)
    n = len(rows)
    fig, ax = plt.subplots(figsize=(7.0, 1.2 + 0.42 * max(n, 1)),
                           layout=ConstrainedLayoutEngine(h_pad=0.1, w_pad=0.1))
    ys = list(range(n))[::-1]
    for y, r in zip(ys, rows.itertuples()):
        _alpha_bar(ax, y, r)
    for x, label, side in ((0.667, ".667 ", "right"), (0.800, " .800", "left")):
        ax.axvline(x, color="#444444", ls="--", lw=1)
        ax.text(x, n - 0.45, label, ha=side, va="bottom", fontsize=7, color="#444444")
    shown = list(rows["alpha_low"].dropna()) + list(rows["krippendorff_alpha"].dropna())
    low = min([0.0] + [float(v) for v in shown])
    ax.set_xlim(min(low - 0.05, 0), 1.2)
    ax.set_xticks([k / 5 for k in range(math.floor(min(low - 0.05, 0) * 5) + 1 if low < 0 else 0, 6)])
    ax.set_ylim(-0.7, n - 0.1)
    ax.set_yticks(ys)
    ax.set_yticklabels([f"{r.item} (n={r.n_units})" for r in rows.itertuples()], fontsize=8)
    ax.set_xlabel("Krippendorff's alpha (nominal), 95% bootstrap interval")
    level = str(rows["level"].iloc[0]) if n else ""
    ax.set_title(title or f"Agreement per {level}", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, metadata={"Software": None})
    plt.close(fig)
    return (outputs if outputs is not None else Outputs()).write(path, buf.getvalue())
