"""Validation of one coder against a person: precision, recall and F1 per
variable and code, with the evidence behind every false positive and the
text of every false negative, so that a researcher can see why the coder
erred.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from coding.agreement.audit import check_coders, items_of, joined
from coding.agreement.coefficients import precision_recall_f1
from coding.errors import CodingError
from coding.files import write_frame
from coding.records import CODING_LEVELS, StrPath

if TYPE_CHECKING:
    from coding.store import Store

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


def validation(store: Store, truth: str, predicted: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Precision, recall and F1 of coder ``predicted`` (None: the store's
    default coder, :func:`coding.coders.coder_choice.stored_default`) against
    coder ``truth`` (a person).

    Over the units both saw.  Per variable, and per code as well when both
    coders coded codes (not only variables).  Each level ends with a pooled
    ``ALL`` row (every unit x item pair counts once: micro-averaged).

    Returns ``(table, errors)``:

    * ``table`` -- :data:`VALIDATION_COLUMNS`: ``tp`` both coded the item,
      ``fp`` only ``predicted``, ``fn`` only ``truth``, ``tn`` neither;
      precision/recall/F1 as :func:`coding.agreement.precision_recall_f1`
      (NaN when undefined), rounded to 4 places.
    * ``errors`` -- :data:`ERROR_COLUMNS`, one row per false positive
      evidence (``code``, ``pattern`` and ``term`` that fired and a
      keyword-in-context ``context`` of about 60 characters each side; a
      coder without evidence gets the abridged unit text) and one per
      false negative (the unit text abridged to about 300 characters).
      Sorted by level, item, error, document order and position.
    """
    from coding.coders.coder_choice import stored_default

    predicted = predicted or stored_default(store)
    codebook = store.codebook()
    _, units, codings = store.frames()
    coverage = store.coverage()
    check_coders(coverage, [predicted, truth])
    levels = ["variable"]
    has_codes = codings.groupby("coder")["code"].apply(lambda s: bool((s != "").any()))
    if all(bool(has_codes.get(c, False)) for c in (truth, predicted)):
        levels.append("code")
    both = set(coverage.loc[coverage["coder"] == truth, "unit_id"]) & \
        set(coverage.loc[coverage["coder"] == predicted, "unit_id"])
    order = [u for u in units["unit_id"] if u in both]
    if not order:
        raise CodingError(f"'{truth}' and '{predicted}' have no unit in common")
    pred_rows = codings[(codings["coder"] == predicted) & codings["unit_id"].isin(both)]
    true_rows = codings[(codings["coder"] == truth) & codings["unit_id"].isin(both)]
    records, errors = [], []
    for level in levels:
        rec, err = _level_validation(level, items_of(codebook, level), order, units.set_index("unit_id"),
                                     true_rows, pred_rows)
        records += rec
        errors += err
    return pd.DataFrame.from_records(records, columns=VALIDATION_COLUMNS), _sorted_errors(errors, order)


def _level_validation(level: str, items: list[str], order: list[str], info: pd.DataFrame,
                      true_rows: pd.DataFrame, pred_rows: pd.DataFrame) -> tuple[list, list]:
    """Validation rows (one per item and ``ALL``) and error rows of one level."""
    column = "variable" if level == "variable" else "code"
    pred = set(zip(pred_rows["unit_id"], pred_rows[column]))
    true = set(zip(true_rows["unit_id"], true_rows[column]))
    records, errors, all_t, all_p = [], [], [], []
    for item in sorted(items):
        t = [int((u, item) in true) for u in order]
        p = [int((u, item) in pred) for u in order]
        all_t += t
        all_p += p
        records.append(_validation_row(level, item, t, p))
        for u in order:
            if (u, item) in pred and (u, item) not in true:
                errors += _false_positive(level, item, u, info.loc[u],
                                          pred_rows[(pred_rows["unit_id"] == u) & (pred_rows[column] == item)])
            elif (u, item) in true and (u, item) not in pred:
                errors.append([level, item, "false_negative", u, info.at[u, "document_id"], "", "", "",
                               abridge(info.at[u, "text"]), 0])
    records.append(_validation_row(level, "ALL", all_t, all_p))
    return records, errors


def _sorted_errors(errors: list[list], order: list[str]) -> pd.DataFrame:
    rank = {u: i for i, u in enumerate(order)}
    err = pd.DataFrame(errors, columns=ERROR_COLUMNS + ["_pos"])
    level_rank = {name: i for i, name in enumerate(CODING_LEVELS)}
    err = err.assign(_lv=err["level"].map(level_rank), _u=err["unit_id"].map(rank))
    err = err.sort_values(["_lv", "item", "error", "_u", "_pos", "code", "pattern"], kind="stable")
    return err[ERROR_COLUMNS].reset_index(drop=True)


def _validation_row(level: str, item: str, truth: list[int], pred: list[int]) -> list:
    tp = sum(p and t for t, p in zip(truth, pred))
    fp = sum(p and not t for t, p in zip(truth, pred))
    fn = sum(t and not p for t, p in zip(truth, pred))
    tn = len(pred) - tp - fp - fn
    precision, recall, f1 = precision_recall_f1(truth, pred)
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
        codes = joined(c for c in rows["code"] if c)
        out.append([level, item, "false_positive", uid, unit["document_id"], codes, "", "",
                    abridge(text), 0])
    return out


def write_validation(store: Store, truth: str, out: StrPath, predicted: str | None = None) -> tuple[pd.DataFrame,
                     dict[str, Path]]:
    """Validation table plus ``validation.csv`` and ``validation_errors.csv`` in ``out``."""
    from coding.coders.coder_choice import stored_default
    from coding.coders.provenance import notes

    predicted = predicted or stored_default(store)
    table, errors = validation(store, truth, predicted)
    # in-sample figures say so in the file too (see coding.coders.provenance)
    table["provenance"] = " ".join(notes(store, [predicted, truth]))
    out = Path(out)
    return table, {"validation": write_frame(out / "validation.csv", table),
                   "errors": write_frame(out / "validation_errors.csv", errors)}


