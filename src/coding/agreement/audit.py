"""The agreement audit over the store: coders' codings turned into
presence/absence data and fed to :mod:`coding.agreement.coefficients`.

Only units a coder saw count for that coder: a unit in the coder's coverage
without a coding of an item is "absent" (0); a unit outside it is missing.

Besides the agreement table this module lists the units on which coders
differ and writes the adjudication sheet that settles them. Validation of
one coder against a person is :mod:`coding.agreement.validation`.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from coding.agreement.tables import agreement_table_from_values
from coding.anchors import text_hash
from coding.coder_files import ADJUDICATION_FIELDS
from coding.errors import CodingError
from coding.files import write_frame
from coding.records import CODING_LEVELS, StrPath

if TYPE_CHECKING:
    from coding.codebook import Codebook
    from coding.store import Store


def presence(codings: pd.DataFrame, coverage: pd.DataFrame, items: list[str],
             coders: list[str], level: str = "variable") -> pd.DataFrame:
    """Presence table (unit_id, coder, item, value) over each coder's units.

    ``codings`` has columns unit_id, coder, variable, code; ``coverage``
    has coder, unit_id; ``items`` are the variable or code ids to audit.
    At the code level a coder who coded only variables has no data and is
    an error.
    """
    if level not in CODING_LEVELS:
        raise CodingError(f"unknown level '{level}' (use one of: {', '.join(CODING_LEVELS)})")
    column = "variable" if level == "variable" else "code"
    frames = []
    for coder in coders:
        seen = sorted(set(coverage.loc[coverage["coder"] == coder, "unit_id"]))
        if not seen:
            raise CodingError("coder has no coded units in the store", item=coder)
        mine = codings[(codings["coder"] == coder) & (codings[column] != "")]
        if level == "code" and mine.empty and not codings[codings["coder"] == coder].empty:
            raise CodingError("coder coded variables only; compare at the variable level", item=coder)
        hits = set(zip(mine["unit_id"], mine[column]))
        frames.append(pd.DataFrame(
            [(u, coder, item, int((u, item) in hits)) for u in seen for item in items],
            columns=["unit_id", "coder", "item", "value"],
        ))
    return pd.concat(frames, ignore_index=True)


def presence_values(coded: pd.DataFrame, coverage: pd.DataFrame, items: list[str], coders: list[str],
                    level: str = "variable") -> tuple[np.ndarray, list[str]]:
    """The data of :func:`presence` as an array for
    :func:`coding.agreement.agreement_table_from_values`.

    ``coded`` has columns coder, unit_id, item (as
    :meth:`coding.store.Store.coded_items`: "" for a coding without an item
    of the level); ``coverage`` has coder, unit_id. Returns the coders x
    items x units array (1 coded, 0 seen and not coded, NaN not seen) and
    the unit ids of its columns: every unit one of ``coders`` saw, sorted.
    Errors as :func:`presence`.
    """
    if level not in CODING_LEVELS:
        raise CodingError(f"unknown level '{level}' (use one of: {', '.join(CODING_LEVELS)})")
    coverage = coverage[coverage["coder"].isin(coders)]
    units = sorted(set(coverage["unit_id"]))
    unit_index, item_index = pd.Index(units), pd.Index(items)
    values = np.full((len(coders), len(items), len(units)), np.nan)
    for k, coder in enumerate(coders):
        seen = unit_index.get_indexer(coverage.loc[coverage["coder"] == coder, "unit_id"])
        if not seen.size:
            raise CodingError("coder has no coded units in the store", item=coder)
        mine = coded[coded["coder"] == coder]
        hits = mine[mine["item"] != ""]
        if level == "code" and hits.empty and not mine.empty:
            raise CodingError("coder coded variables only; compare at the variable level", item=coder)
        values[k][:, seen] = 0
        u, i = unit_index.get_indexer(hits["unit_id"]), item_index.get_indexer(hits["item"])
        known = (u >= 0) & (i >= 0)
        u, i = u[known], i[known]
        on_seen = ~np.isnan(values[k, i, u])  # a coding of a unit the coder did not see does not count
        values[k, i[on_seen], u[on_seen]] = 1
    return values, units


def _unit_ranks(store: Store, units=None) -> tuple[np.ndarray, int]:
    """Position of each unit (by rowid; -1: left out) among the units of
    the store, or of ``units``, in order of their ids; and their number."""
    units = None if units is None else set(units)
    rowids, last, ordered = array("q"), None, True  # an array of ints, not a list of int objects
    for rowid, uid in store.units_by_id():
        if units is None or uid in units:
            ordered = ordered and (last is None or last < uid)
            last = uid
            rowids.append(rowid)
    if not ordered:  # SQLite's order of the ids was not Python's: sort them here (ids held a while)
        pairs = sorted((uid, rowid) for rowid, uid in store.units_by_id() if units is None or uid in units)
        rowids = array("q", [rowid for _, rowid in pairs])
    order = np.frombuffer(rowids, dtype=np.int64) if rowids else np.zeros(0, dtype=np.int64)
    ranks = np.full(int(order.max()) + 1 if order.size else 0, -1, dtype=np.int64)
    ranks[order] = np.arange(order.size)
    return ranks, order.size


def _rank_of(ranks: np.ndarray, rowids: np.ndarray) -> np.ndarray:
    """The positions of units given by rowid (-1 for a unit left out)."""
    inside = rowids < ranks.size
    out = np.full(rowids.shape, -1, dtype=np.int64)
    out[inside] = ranks[rowids[inside]]
    return out


def presence_codes(store: Store, items: list[str], level: str = "variable",
                   units=None, seen_rule: str = "coded-documents") -> tuple[list[str], np.ndarray, np.ndarray]:
    """The data of :func:`presence_values` for every coder of the store,
    read without unit id strings: ``(coders, seen, codes)``.

    ``coders`` are the coders of the coverage, sorted (all of them, also
    those with none of ``units``); ``seen`` is a coders x units boolean
    array (the coder saw the unit); ``codes`` the coders x items x units
    int8 array, 1 coded, 0 seen and not coded, -1 not seen. Units are
    every unit of the store (or those of ``units``, ids) in order of their
    ids, also units no coder saw (-1 throughout). Unlike :func:`presence`
    it does not check that a coder coded codes at the code level. A coder
    whose seen units were inferred by an import sees those of ``seen_rule``
    (see :func:`coverage_by_rule`).
    """
    if level not in CODING_LEVELS:
        raise CodingError(f"unknown level '{level}' (use one of: {', '.join(CODING_LEVELS)})")
    _check_rule(seen_rule)
    ranks, n_units = _unit_ranks(store, units)
    seen_by: dict[str, np.ndarray] = {}  # a chunk of rows at a time: no array as long as the coverage
    for names, coder, unit in store.coverage_codes():
        unit = _rank_of(ranks, unit)
        for k, name in enumerate(names):
            mine = unit[(coder == k) & (unit >= 0)]
            seen_by.setdefault(name, np.zeros(n_units, dtype=bool))[mine] = True
    for name in inferred_coders(store, list(seen_by)):
        rows = _rank_of(ranks, np.array([r for r, _u in store.seen_by_rule(name, seen_rule)], dtype=np.int64))
        allowed = np.zeros(n_units, dtype=bool)
        allowed[rows[rows >= 0]] = True
        seen_by[name] &= allowed
    coders = sorted(seen_by)
    seen = np.array([seen_by.pop(c) for c in coders], dtype=bool).reshape(len(coders), n_units)
    codes = np.repeat(np.where(seen, np.int8(0), np.int8(-1))[:, None, :], len(items), axis=1)
    row, column = pd.Index(coders), pd.Index(items)
    for names, item_names, coder, unit, item in store.coded_item_codes(level):
        coder, item = row.get_indexer(names)[coder], column.get_indexer(item_names)[item]
        unit = _rank_of(ranks, unit)
        known = (coder >= 0) & (item >= 0) & (unit >= 0)
        coder, item, unit = coder[known], item[known], unit[known]
        on_seen = codes[coder, item, unit] == 0  # a coding of a unit the coder did not see does not count
        codes[coder[on_seen], item[on_seen], unit[on_seen]] = 1
    return coders, seen, codes


#: How an inferred seen set is taken: the units of the documents the coder coded something in, or only
#: the units it coded.
SEEN_RULES = ("coded-documents", "coded-units")


def _check_rule(rule: str) -> None:
    if rule not in SEEN_RULES:
        raise CodingError(f"unknown seen rule '{rule}' (use one of: {', '.join(SEEN_RULES)})")


def inferred_coders(store: Store, coders: list[str]) -> dict[str, str]:
    """{coder: how} for those of ``coders`` whose seen units an import inferred
    (``inferred-coded`` or ``inferred-documents``) rather than recorded."""
    from coding.store import SEEN_INFERRED

    provenance = store.seen_provenance()
    return {c: provenance[c] for c in coders if provenance.get(c) in SEEN_INFERRED}


def coverage_by_rule(store: Store, coverage: pd.DataFrame, coders: list[str],
                     seen_rule: str = "coded-documents") -> pd.DataFrame:
    """``coverage`` (coder, unit_id) with the seen units of each of ``coders``
    whose set was inferred taken by ``seen_rule``: ``coded-documents``, the
    units of the documents where the coder coded something (what an import
    guesses by default), or ``coded-units``, only the units it coded (a
    person who recoded 40 units in another program saw those 40). Recorded
    seen sets are kept as they are."""
    _check_rule(seen_rule)
    inferred = inferred_coders(store, coders)
    if not inferred:
        return coverage
    frames = [coverage[~coverage["coder"].isin(list(inferred))]]
    for coder in inferred:
        rows = store.seen_by_rule(coder, seen_rule)
        frames.append(pd.DataFrame({"coder": coder, "unit_id": [u for _r, u in rows]}, columns=["coder", "unit_id"]))
    return pd.concat(frames, ignore_index=True)


def check_coders(coverage: pd.DataFrame, coders: list[str], at_least: int = 2) -> None:
    """A clear error unless ``coders`` are at least ``at_least`` distinct coders of ``coverage``."""
    known = set(coverage["coder"])
    if len(set(coders)) != len(coders):
        raise CodingError(f"a coder is named twice: {', '.join(coders)}")
    unknown = [c for c in coders if c not in known]
    if unknown:
        raise CodingError(f"unknown coder(s): {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(known)) or 'none'})")
    if len(coders) < at_least:
        raise CodingError(f"name at least {at_least} coders" if at_least > 1 else "name a coder")


def items_of(codebook: Codebook, level: str) -> list[str]:
    """The variable or code ids of a codebook, by level."""
    if level not in CODING_LEVELS:
        raise CodingError(f"unknown level '{level}' (use one of: {', '.join(CODING_LEVELS)})")
    return codebook.variable_ids if level == "variable" else codebook.code_ids


def audit_agreement(store: Store, coders: list[str], level: str = "variable", *, n_resamples: int = 1000,
                    seed: int = 12345, seen_rule: str = "coded-documents") -> pd.DataFrame:
    """The agreement table of ``coders`` at the variable or code level.

    One row per item (sorted by id) and a pooled ``ALL`` row; see
    :func:`coding.agreement.agreement_table` for the columns.  A unit
    counts for an item when at least two of the coders saw it (with two
    coders: both). Inferred seen sets are taken by ``seen_rule`` (see
    :func:`coverage_by_rule`).
    """
    items = items_of(store.codebook(), level)
    coverage = store.coverage()
    check_coders(coverage, coders)
    coverage = coverage_by_rule(store, coverage, coders, seen_rule)
    values, units = presence_values(store.coded_items(level), coverage, items, coders, level)
    return agreement_table_from_values(values, coders, items, units, level, n_resamples=n_resamples, seed=seed)


# -- disagreements and adjudication ----------------------------------------


def joined(items: Iterable[str]) -> str:
    """Items sorted and ``;``-joined, as the disagreement and error tables show them."""
    return ";".join(sorted(items))


def _differences(store, coders: list[str], level: str, seen_rule: str = "coded-documents"):
    """(frame of document_id and text by unit_id, {coder: {unit: set(items)}}, [(unit, differing items)]).

    Only units every named coder saw; units in document order. The frame
    holds the differing units only: the texts of the others are not kept.
    """
    items = items_of(store.codebook(), level)
    coverage = store.coverage()
    check_coders(coverage, coders)
    reserved = [c for c in coders if c in ADJUDICATION_FIELDS or c in ("differ",)]
    if reserved:
        raise CodingError(f"coder name '{reserved[0]}' clashes with a column name; re-import under another name")
    coverage = coverage_by_rule(store, coverage, coders, seen_rule)
    values, unit_ids = presence_values(store.coded_items(level), coverage, items, coders, level)
    coded: dict[str, dict[str, set]] = {c: {} for c in coders}
    for k, coder in enumerate(coders):
        for i, u in zip(*np.nonzero(values[k] == 1)):
            coded[coder].setdefault(unit_ids[u], set()).add(items[i])
    common = ~np.isnan(values).any(axis=(0, 1))  # every coder saw the unit
    differs = (values.max(axis=0) != values.min(axis=0)) & common
    differing = {unit_ids[u]: sorted(items[i] for i in np.nonzero(differs[:, u])[0])
                 for u in np.nonzero(differs.any(axis=0))[0]}
    rows, texts = [], []
    for uid, document_id, _ordinal, _type, start, end, text, _doc_type, _speaker in store.unit_rows():
        if uid in differing:
            rows.append((uid, differing[uid]))
            texts.append((uid, document_id, text, start, end))
    frame = pd.DataFrame(texts, columns=["unit_id", "document_id", "text", "start", "end"]).set_index("unit_id")
    return frame, coded, rows


def disagreements(store: Store, coders: list[str], level: str = "variable",
                  seen_rule: str = "coded-documents") -> pd.DataFrame:
    """Units seen by every named coder on which they do not code alike.

    Columns: ``unit_id``, ``document_id``, ``text``, one column per coder
    (that coder's items on the unit, sorted and ``;``-joined; empty for
    none) and ``differ`` (the items not coded by all of them). Units in
    document order.
    """
    units, coded, rows = _differences(store, coders, level, seen_rule)
    records = [
        [uid, units.at[uid, "document_id"], units.at[uid, "text"]]
        + [joined(coded[c].get(uid, ())) for c in coders] + [joined(differ)]
        for uid, differ in rows
    ]
    return pd.DataFrame(records, columns=["unit_id", "document_id", "text", *coders, "differ"])


def reconcile_sheet(store: Store, coders: list[str], level: str = "variable") -> pd.DataFrame:
    """An adjudication sheet for two coders: one row per unit and item they differ on.

    Columns: ``unit_id``, ``document_id``, ``text`` (whitespace collapsed to
    single spaces), ``level``, ``item``, the two coders' 0/1 values (one
    column each, named after the coder), an empty ``decision`` to fill
    with 1 (coded) or 0 (not coded), and the unit's ``start``, ``end`` and
    ``text_hash`` (see :mod:`coding.anchors`).  Items both coders agree on have no
    row.  Import the filled sheet with :func:`import_coder`; the resulting
    coder covers every unit both coders saw, with every item of the level
    on them: the decision where the two differed, their common value
    elsewhere.
    """
    if len(coders) != 2:
        raise CodingError(f"reconcile compares exactly two coders, got {len(coders)}")
    units, coded, rows = _differences(store, coders, level)
    a, b = coders
    records = []
    for uid, differ in rows:
        text = " ".join(str(units.at[uid, "text"]).split())
        # the unit's fingerprint: the import places the decisions on this text, wherever its id goes
        where = [int(units.at[uid, "start"]), int(units.at[uid, "end"]), text_hash(text)]
        for item in differ:
            records.append([uid, units.at[uid, "document_id"], text, level, item,
                            int(item in coded[a].get(uid, ())), int(item in coded[b].get(uid, ())), "", *where])
    return pd.DataFrame(records, columns=["unit_id", "document_id", "text", "level", "item", a, b, "decision",
                                          "start", "end", "text_hash"])


# -- output files -----------------------------------------------------------


def agreement_folder(out: StrPath, coders: list[str], level: str = "variable") -> Path:
    """Where the files of one comparison go: ``<out>/agreement/<a>-vs-<b>[-vs-<c>]-<level>``,
    so that the audit of one pair of coders never overwrites another's."""
    import re

    name = "-vs-".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", c) for c in coders) + f"-{level}"
    return Path(out) / "agreement" / name


def write_agreement(store: Store, coders: list[str], out: StrPath, level: str = "variable", *, n_resamples: int = 1000,
                    seed: int = 12345, seen_rule: str = "coded-documents") -> tuple[pd.DataFrame, dict[str, Path]]:
    """Agreement table plus ``agreement.csv`` and ``disagreements.csv`` in
    the comparison's own folder (see :func:`agreement_folder`). The alpha
    chart of the table is the report's to draw
    (:func:`coding.reports.figures.alpha_figure`)."""
    from coding.coders.provenance import notes

    table = audit_agreement(store, coders, level, n_resamples=n_resamples, seed=seed, seen_rule=seen_rule)
    # in-sample figures say so in the file too (see coding.coders.provenance)
    table["provenance"] = " ".join(notes(store, coders))
    diffs = disagreements(store, coders, level, seen_rule)
    out = agreement_folder(out, coders, level)
    paths = {
        "agreement": write_frame(out / "agreement.csv", table),
        "disagreements": write_frame(out / "disagreements.csv", diffs),
    }
    return table, paths


