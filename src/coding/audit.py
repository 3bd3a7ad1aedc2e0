"""The agreement audit over the store: coders' codings turned into
presence/absence data and fed to :mod:`coding.agreement`.

Only units a coder saw count for that coder: a unit in the coder's coverage
without a coding of an item is "absent" (0); a unit outside it is missing.

Besides the agreement table this module imports coders' files into the
store, lists the units on which coders differ, validates one coder (by
default the automatic one) against another, writes adjudication sheets and
draws the alpha chart.  The command line only parses and prints.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pandas as pd

from coding.agreement import agreement_table, precision_recall_f1
from coding.coders import ADJUDICATION_FIELDS, file_hash, read_coder_file
from coding.errors import CodingError
from coding.files import write_bytes, write_frame

LEVELS = ("variable", "code")


def presence(codings: pd.DataFrame, coverage: pd.DataFrame, items: list[str],
             coders: list[str], level: str = "variable") -> pd.DataFrame:
    """Presence table (unit_id, coder, item, value) over each coder's units.

    ``codings`` has columns unit_id, coder, variable, code; ``coverage``
    has coder, unit_id; ``items`` are the variable or code ids to audit.
    At the code level a coder who coded only variables has no data and is
    an error.
    """
    if level not in LEVELS:
        raise CodingError(f"unknown level '{level}' (use one of: {', '.join(LEVELS)})")
    column = "variable" if level == "variable" else "code"
    frames = []
    for coder in coders:
        seen = sorted(set(coverage.loc[coverage["coder"] == coder, "unit_id"]))
        if not seen:
            raise CodingError("coder has no coded units in the store", item=coder)
        mine = codings[(codings["coder"] == coder) & (codings[column] != "")]
        if level == "code" and mine.empty and not codings[codings["coder"] == coder].empty:
            raise CodingError("coder coded variables only; use --level variable", item=coder)
        hits = set(zip(mine["unit_id"], mine[column]))
        frames.append(pd.DataFrame(
            [(u, coder, item, int((u, item) in hits)) for u in seen for item in items],
            columns=["unit_id", "coder", "item", "value"],
        ))
    return pd.concat(frames, ignore_index=True)


def _check_coders(coverage: pd.DataFrame, coders: list[str], at_least: int = 2) -> None:
    known = set(coverage["coder"])
    if len(set(coders)) != len(coders):
        raise CodingError(f"a coder is named twice: {', '.join(coders)}")
    unknown = [c for c in coders if c not in known]
    if unknown:
        raise CodingError(f"unknown coder(s): {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(known)) or 'none'})")
    if len(coders) < at_least:
        raise CodingError(f"name at least {at_least} coders" if at_least > 1 else "name a coder")


def _items(codebook, level: str) -> list[str]:
    if level not in LEVELS:
        raise CodingError(f"unknown level '{level}' (use one of: {', '.join(LEVELS)})")
    return codebook.variable_ids if level == "variable" else codebook.code_ids


def agreement(store, coders: list[str], level: str = "variable", *, n_resamples: int = 1000,
              seed: int = 12345) -> pd.DataFrame:
    """The agreement table of ``coders`` at the variable or code level.

    One row per item (sorted by id) and a pooled ``ALL`` row; see
    :func:`coding.agreement.agreement_table` for the columns.  A unit
    counts for an item when at least two of the coders saw it (with two
    coders: both).
    """
    codebook = store.codebook()
    _, _, codings = store.frames()
    coverage = store.coverage()
    _check_coders(coverage, coders)
    table = presence(codings, coverage, _items(codebook, level), coders, level)
    return agreement_table(table, coders, level, n_resamples=n_resamples, seed=seed)


# -- importing coders -------------------------------------------------------


def import_coder(store, path, coder: str) -> tuple[int, int]:
    """Import a coder's CSV (long, wide or adjudication sheet) as ``coder``.

    The file is validated in full before the store is touched; then the
    coder's previous codings and coverage are replaced in one transaction.
    Returns (units seen, codings).
    """
    from coding.records import AUTO

    coder = coder.strip()
    if not coder:
        raise CodingError("the coder name is empty")
    if coder == AUTO:
        raise CodingError(f"'{AUTO}' is the automatic coder; choose another name", item=coder)
    codebook = store.codebook()
    seen, codings = read_coder_file(path, codebook, store.unit_ids(), coder,
                                    coder_items=store.coder_items)
    if not seen:
        raise CodingError("the file lists no unit", path)
    digest = f"{file_hash(path)}:{codebook.version}:{store.segmentation()}"
    store.replace_coder(coder, seen, codings, codebook.version, "human", str(path), digest)
    return len(seen), len(codings)


# -- disagreements and adjudication ----------------------------------------


def _joined(items) -> str:
    return ";".join(sorted(items))


def _differences(store, coders: list[str], level: str):
    """(units frame, items, {coder: {unit: set(items)}}, [(unit, differing items)]).

    Only units every named coder saw; units in document order.
    """
    codebook = store.codebook()
    items = _items(codebook, level)
    _, units, codings = store.frames()
    coverage = store.coverage()
    _check_coders(coverage, coders)
    reserved = [c for c in coders if c in ADJUDICATION_FIELDS or c in ("differ",)]
    if reserved:
        raise CodingError(f"coder name '{reserved[0]}' clashes with a column name; re-import under another name")
    table = presence(codings, coverage, items, coders, level)
    coded: dict[str, dict[str, set]] = {c: {} for c in coders}
    seen: dict[str, set] = {c: set() for c in coders}
    for uid, coder, item, value in table.itertuples(index=False):
        seen[coder].add(uid)
        if value:
            coded[coder].setdefault(uid, set()).add(item)
    common = set.intersection(*seen.values())
    rows = []
    for uid in units["unit_id"]:
        if uid not in common:
            continue
        sets = [coded[c].get(uid, set()) for c in coders]
        differ = sorted(set.union(*sets) - set.intersection(*sets))
        if differ:
            rows.append((uid, differ))
    return units.set_index("unit_id"), coded, rows


def disagreements(store, coders: list[str], level: str = "variable") -> pd.DataFrame:
    """Units seen by every named coder on which they do not code alike.

    Columns: ``unit_id``, ``document_id``, ``text``, one column per coder
    (that coder's items on the unit, sorted and ``;``-joined; empty for
    none) and ``differ`` (the items not coded by all of them). Units in
    document order.
    """
    units, coded, rows = _differences(store, coders, level)
    records = [
        [uid, units.at[uid, "document_id"], units.at[uid, "text"]]
        + [_joined(coded[c].get(uid, ())) for c in coders] + [_joined(differ)]
        for uid, differ in rows
    ]
    return pd.DataFrame(records, columns=["unit_id", "document_id", "text", *coders, "differ"])


def reconcile_sheet(store, coders: list[str], level: str = "variable") -> pd.DataFrame:
    """An adjudication sheet for two coders: one row per unit and item they differ on.

    Columns: ``unit_id``, ``document_id``, ``text`` (whitespace collapsed to
    single spaces), ``level``, ``item``, the two coders' 0/1 values (one
    column each, named after the coder) and an empty ``decision`` to fill
    with 1 (coded) or 0 (not coded).  Items both coders agree on have no
    row.  Import the filled sheet with :func:`import_coder`; the resulting
    coder covers exactly the units of the sheet, with every item of the
    level on them: the decision where the two differed, their common value
    elsewhere.
    """
    if len(coders) != 2:
        raise CodingError(f"reconcile compares exactly two coders, got {len(coders)}")
    units, coded, rows = _differences(store, coders, level)
    a, b = coders
    records = []
    for uid, differ in rows:
        text = " ".join(str(units.at[uid, "text"]).split())
        for item in differ:
            records.append([uid, units.at[uid, "document_id"], text, level, item,
                            int(item in coded[a].get(uid, ())), int(item in coded[b].get(uid, ())), ""])
    return pd.DataFrame(records, columns=["unit_id", "document_id", "text", "level", "item", a, b, "decision"])


# -- validation of one coder against another --------------------------------

VALIDATION_COLUMNS = ["level", "item", "n_units", "tp", "fp", "fn", "tn", "precision", "recall", "f1"]
ERROR_COLUMNS = ["level", "item", "error", "unit_id", "document_id", "code", "pattern", "term", "context"]
KWIC_WIDTH = 60
ABRIDGE = 300


def _squash(text: str) -> str:
    return " ".join(text.split())


def abridge(text: str, limit: int = ABRIDGE) -> str:
    """Text on one line, cut at a word boundary to about ``limit`` characters."""
    text = _squash(text)
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut + " ..."


def kwic(text: str, start: int, end: int, width: int = KWIC_WIDTH) -> str:
    """``left [match] right`` with about ``width`` characters either side, on one line."""
    left, match, right = text[max(0, start - width):start], text[start:end], text[end:end + width]
    pre = "... " if start > width else ""
    post = " ..." if end + width < len(text) else ""
    left_s, right_s = _squash(left), _squash(right)
    gap_l = " " if left[-1:].isspace() else ""
    gap_r = " " if right[:1].isspace() else ""
    return f"{pre}{left_s}{gap_l}[{_squash(match)}]{gap_r}{right_s}{post}"


def validation(store, coder: str, reference: str = "auto") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Precision, recall and F1 of ``reference`` (predictions) against ``coder`` (gold).

    Over the units both saw.  Per variable, and per code as well when both
    coders coded codes (not only variables).  Each level ends with a pooled
    ``ALL`` row (every unit x item pair counts once: micro-averaged).

    Returns ``(table, errors)``:

    * ``table`` -- :data:`VALIDATION_COLUMNS`: ``tp`` both coded the item,
      ``fp`` only the reference, ``fn`` only the coder, ``tn`` neither;
      precision/recall/F1 as :func:`coding.agreement.precision_recall_f1`
      (NaN when undefined), rounded to 4 places.
    * ``errors`` -- :data:`ERROR_COLUMNS`, one row per false positive
      evidence (``code``, ``pattern`` and ``term`` that fired and a
      keyword-in-context ``context`` of about 60 characters each side; a
      reference without evidence gets the abridged unit text) and one per
      false negative (the unit text abridged to about 300 characters).
      Sorted by level, item, error, document order and position.
    """
    codebook = store.codebook()
    _, units, codings = store.frames()
    coverage = store.coverage()
    _check_coders(coverage, [reference, coder])
    levels = ["variable"]
    has_codes = codings.groupby("coder")["code"].apply(lambda s: bool((s != "").any()))
    if all(bool(has_codes.get(c, False)) for c in (coder, reference)):
        levels.append("code")
    both = set(coverage.loc[coverage["coder"] == coder, "unit_id"]) & \
        set(coverage.loc[coverage["coder"] == reference, "unit_id"])
    order = [u for u in units["unit_id"] if u in both]
    if not order:
        raise CodingError(f"'{coder}' and '{reference}' have no unit in common")
    info = units.set_index("unit_id")
    ref_rows = codings[(codings["coder"] == reference) & codings["unit_id"].isin(both)]
    gold_rows = codings[(codings["coder"] == coder) & codings["unit_id"].isin(both)]
    rank = {u: i for i, u in enumerate(order)}

    records, errors = [], []
    for level in levels:
        column = "variable" if level == "variable" else "code"
        pred = set(zip(ref_rows["unit_id"], ref_rows[column]))
        gold = set(zip(gold_rows["unit_id"], gold_rows[column]))
        all_p, all_g = [], []
        for item in sorted(_items(codebook, level)):
            p = [int((u, item) in pred) for u in order]
            g = [int((u, item) in gold) for u in order]
            all_p += p
            all_g += g
            records.append(_validation_row(level, item, p, g))
            for u in order:
                if (u, item) in pred and (u, item) not in gold:
                    errors += _false_positive(level, item, u, info.loc[u],
                                              ref_rows[(ref_rows["unit_id"] == u) & (ref_rows[column] == item)])
                elif (u, item) in gold and (u, item) not in pred:
                    errors.append([level, item, "false_negative", u, info.at[u, "document_id"], "", "", "",
                                   abridge(info.at[u, "text"]), 0])
        records.append(_validation_row(level, "ALL", all_p, all_g))
    table = pd.DataFrame.from_records(records, columns=VALIDATION_COLUMNS)
    err = pd.DataFrame(errors, columns=ERROR_COLUMNS + ["_pos"])
    level_rank = {name: i for i, name in enumerate(LEVELS)}
    err = err.assign(_lv=err["level"].map(level_rank), _u=err["unit_id"].map(rank))
    err = err.sort_values(["_lv", "item", "error", "_u", "_pos", "code", "pattern"], kind="stable")
    return table, err[ERROR_COLUMNS].reset_index(drop=True)


def _validation_row(level: str, item: str, pred: list[int], gold: list[int]) -> list:
    tp = sum(p and g for p, g in zip(pred, gold))
    fp = sum(p and not g for p, g in zip(pred, gold))
    fn = sum(g and not p for p, g in zip(pred, gold))
    tn = len(pred) - tp - fp - fn
    precision, recall, f1 = precision_recall_f1(pred, gold)
    return [level, item, len(pred), tp, fp, fn, tn, *(round(x, 4) for x in (precision, recall, f1))]


def _false_positive(level: str, item: str, uid: str, unit, rows: pd.DataFrame) -> list[list]:
    out = []
    text, start = str(unit["text"]), int(unit["start"])
    for code, evidence in zip(rows["code"], rows["evidence"]):
        try:
            found = json.loads(evidence or "[]")
        except json.JSONDecodeError:
            found = []
        for e in found:
            s, t = int(e.get("start", -1)) - start, int(e.get("end", -1)) - start
            if 0 <= s <= t <= len(text):
                context = kwic(text, s, t)
            else:  # offsets from another segmentation: show the term alone
                context, s = str(e.get("term", "")), len(text)
            out.append([level, item, "false_positive", uid, unit["document_id"], code,
                        e.get("pattern", ""), e.get("term", ""), context, s])
    if not out:  # a coder without evidence (a person): the unit is the context
        codes = _joined(c for c in rows["code"] if c)
        out.append([level, item, "false_positive", uid, unit["document_id"], codes, "", "",
                    abridge(text), 0])
    return out


# -- output files -----------------------------------------------------------


READING_COLOURS = {"reliable": "#2b8a3e", "tentative": "#e8a317", "unreliable": "#c92a2a",
                   "undefined": "#adb5bd"}


def alpha_figure(table: pd.DataFrame, path, title: str | None = None) -> Path:
    """Bar chart of Krippendorff's alpha per item, written as a PNG.

    One horizontal bar per row of an agreement table (``ALL`` last), its
    bootstrap interval as a whisker, coloured by reading, with lines at
    0.667 and 0.800.  Undefined alphas are labelled, not drawn.  The PNG
    carries no software or date stamp, so the same table gives the same
    bytes.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = table.reset_index(drop=True)
    n = len(rows)
    fig, ax = plt.subplots(figsize=(7.0, 1.2 + 0.42 * max(n, 1)))
    ys = list(range(n))[::-1]
    for y, r in zip(ys, rows.itertuples()):
        alpha = r.krippendorff_alpha
        colour = READING_COLOURS.get(r.reading, READING_COLOURS["undefined"])
        if pd.isna(alpha):
            ax.text(0.01, y, "undefined (no variation or no shared unit)", va="center", fontsize=8,
                    color="#555555")
            continue
        ax.barh(y, alpha, color=colour, height=0.6, hatch="//" if r.item == "ALL" else None,
                edgecolor="white" if r.item != "ALL" else "#333333")
        if not (pd.isna(r.alpha_low) or pd.isna(r.alpha_high)):
            ax.errorbar(alpha, y, xerr=[[max(alpha - r.alpha_low, 0)], [max(r.alpha_high - alpha, 0)]],
                        fmt="none", ecolor="#222222", capsize=3, lw=1)
        end = alpha if pd.isna(r.alpha_high) else max(alpha, r.alpha_high)
        ax.text(max(end, 0) + 0.015, y, f"{alpha:.3f} {r.reading}", va="center", fontsize=7, color="#222222")
    for x, label, side in ((0.667, ".667 ", "right"), (0.800, " .800", "left")):
        ax.axvline(x, color="#444444", ls="--", lw=1)
        ax.text(x, n - 0.45, label, ha=side, va="bottom", fontsize=7, color="#444444")
    low = min([0.0] + [float(v) for v in rows["alpha_low"].dropna()] + [float(v) for v in rows["krippendorff_alpha"].dropna()])
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
    fig.savefig(buf, format="png", dpi=120, metadata={"Software": None}, bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)
    return write_bytes(path, buf.getvalue())


def write_agreement(store, coders: list[str], out, level: str = "variable", *, n_resamples: int = 1000,
                    seed: int = 12345) -> tuple[pd.DataFrame, dict[str, Path]]:
    """Agreement table plus ``agreement.csv``, ``disagreements.csv`` and ``agreement_alpha.png`` in ``out``."""
    table = agreement(store, coders, level, n_resamples=n_resamples, seed=seed)
    diffs = disagreements(store, coders, level)
    out = Path(out)
    paths = {
        "agreement": write_frame(out / "agreement.csv", table),
        "disagreements": write_frame(out / "disagreements.csv", diffs),
        "figure": alpha_figure(table, out / "agreement_alpha.png",
                               f"{' vs '.join(coders)}: agreement per {level}"),
    }
    return table, paths


def write_validation(store, coder: str, out, reference: str = "auto") -> tuple[pd.DataFrame, dict[str, Path]]:
    """Validation table plus ``validation.csv`` and ``validation_errors.csv`` in ``out``."""
    table, errors = validation(store, coder, reference)
    out = Path(out)
    return table, {"validation": write_frame(out / "validation.csv", table),
                   "errors": write_frame(out / "validation_errors.csv", errors)}


def _num(value, width: int = 6) -> str:
    return f"{'-':>{width}}" if pd.isna(value) else f"{value:>{width}.3f}"


def format_agreement(table: pd.DataFrame) -> str:
    """The agreement table as fixed-width text for the terminal."""
    two = table["cohen_kappa"].notna().any() or table["n11"].notna().any()
    kappa_col, kappa_name = ("cohen_kappa", "kappa") if two else ("fleiss_kappa", "fleiss")
    width = max([len("item")] + [len(str(i)) for i in table["item"]])
    lines = [(f"{'item':<{width}} {'n':>4} {'agree':>6} {kappa_name:>6} {'alpha':>6} {'95% interval':>15} "
              f"{'AC1':>6}  reading     paradox")]
    for r in table.itertuples():
        interval = "-" if pd.isna(r.alpha_low) else f"[{r.alpha_low:.3f}, {r.alpha_high:.3f}]"
        lines.append(f"{r.item:<{width}} {r.n_units:>4} {_num(r.percent_agreement)} "
                     f"{_num(getattr(r, kappa_col))} {_num(r.krippendorff_alpha)} {interval:>15} "
                     f"{_num(r.gwet_ac1)}  {r.reading:<11} {'yes' if r.paradox else ''}")
    return "\n".join(lines)


def format_validation(table: pd.DataFrame) -> str:
    """The validation table as fixed-width text for the terminal."""
    width = max([len("item")] + [len(str(i)) for i in table["item"]])
    lines = [(f"{'level':<8} {'item':<{width}} {'n':>4} {'TP':>4} {'FP':>4} {'FN':>4} "
              f"{'precision':>9} {'recall':>6} {'F1':>6}")]
    for r in table.itertuples():
        lines.append(f"{r.level:<8} {r.item:<{width}} {r.n_units:>4} {r.tp:>4} {r.fp:>4} {r.fn:>4} "
                     f"{_num(r.precision, 9)} {_num(r.recall)} {_num(r.f1)}")
    return "\n".join(lines)
