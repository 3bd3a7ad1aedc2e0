"""Labelled units to learn from: the codings people made in a store, or any
table of units with a coder file beside it, and the job behind
``coding learn`` (grouped cross-validation, then the model trained on all).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from coding.errors import CodingError
from coding.files import read_utf8
from coding.records import AUTOMATIC_CODERS, Coding, StrPath, Unit

if TYPE_CHECKING:
    import pandas as pd

    from coding.codebook import Codebook
    from coding.coders.learn import Model
    from coding.store import Store

#: Columns of a unit table that name the unit's group (its document or page),
#: in order of preference: units of one group never straddle training and test.
GROUP_COLUMNS = ("group", "document_id", "document", "url")


@dataclass
class Examples:
    """Units with the items a person coded on each (a code implies its
    variable; an empty set is a unit seen and left uncoded), the group of
    each unit and where they come from."""

    units: list[Unit] = field(default_factory=list)
    labels: dict[str, set[str]] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    coders: list[str] = field(default_factory=list)

    def __add__(self, other: Examples) -> Examples:
        clash = {u.id for u in self.units} & {u.id for u in other.units}
        if clash:
            raise CodingError(f"unit id '{sorted(clash)[0]}' comes from two sources of examples")
        return Examples(self.units + other.units, {**self.labels, **other.labels}, {**self.groups, **other.groups},
                        self.sources + other.sources, sorted(set(self.coders) | set(other.coders)))


def labels_of(seen: Sequence[str], codings: Sequence[Coding]) -> dict[str, set[str]]:
    """Unit id -> the variables and codes coded on it, for every unit seen."""
    labels: dict[str, set[str]] = {u: set() for u in seen}
    for c in codings:
        labels[c.unit_id] |= {c.variable} | ({c.code} if c.code else set())
    return labels


def _check_coders(store: Store, coders: Sequence[str]) -> None:
    """Raise unless every one of ``coders`` is a person the store knows."""
    known = set(store.coder_names())
    for name in coders:
        if name in AUTOMATIC_CODERS:
            raise CodingError(f"'{name}' is an automatic coder; learn from people's codings", item=name)
        if name not in known:
            raise CodingError(f"unknown coder (known: {', '.join(sorted(known)) or 'none'})", store.path, item=name)


def from_store(store: Store, coders: Sequence[str], level: str = "variable") -> Examples:
    """The units the named coders saw in the store, with their codings.

    Where several of them saw a unit, the first named coder's coding counts
    (``consensus,human-1`` prefers the settled sheet). Automatic coders
    cannot be learnt from. Groups are documents.
    """
    _check_coders(store, coders)
    labels: dict[str, set[str]] = {}
    for name in coders:
        seen, coded = store.coder_items(name, "variable")
        if not seen:
            raise CodingError("the coder saw no unit in the store", store.path, item=name)
        codes = store.coder_items(name, "code")[1] if level == "code" else set()
        mine: dict[str, set[str]] = {u: set() for u in seen if u not in labels}
        for unit_id, item in coded | codes:
            if unit_id in mine:
                mine[unit_id].add(item)
        labels.update(mine)
    units = [u for u in store.units() if u.id in labels]
    return Examples(units, {u.id: labels[u.id] for u in units}, {u.id: u.document_id for u in units},
                    [str(store.path)], list(coders))


def from_table(units_path: StrPath, labels_path: StrPath, codebook: Codebook, name: str = "") -> Examples:
    """Units of a ``.jsonl``/``.csv`` table (``id``, ``text``, and a group
    column if any of :data:`GROUP_COLUMNS`) labelled by a coder file in the
    format ``coding coders import`` reads (long or wide). Units the coder
    file does not list are not examples; a listed unit the table lacks is
    an error."""
    from coding.coder_files import read_coder_file

    units_path, labels_path = Path(units_path), Path(labels_path)
    rows = _table_rows(units_path)
    by_id: dict[str, Unit] = {}
    groups: dict[str, str] = {}
    for n, (uid, text, group) in enumerate(rows):
        by_id[uid] = Unit(uid, units_path.stem, n + 1, "given", 0, len(text), text)
        groups[uid] = group or uid  # without a group column every unit is its own group
    seen, codings = read_coder_file(labels_path, codebook, set(by_id), name or labels_path.stem)
    labels = labels_of(seen, codings)
    units = [by_id[u] for u in seen]
    return Examples(units, labels, {u.id: groups[u.id] for u in units},
                    [f"{units_path}={labels_path}"], [name or labels_path.stem])


def _table_rows(path: Path) -> list[tuple[str, str, str]]:
    """(id, text, group) of a unit table."""
    raw = read_utf8(path)
    if path.suffix.lower() == ".csv":
        records = list(csv.DictReader(io.StringIO(raw, newline="")))
    else:
        records = []
        for i, line in enumerate(raw.split("\n"), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise CodingError(f"invalid JSON: {exc.msg}", path, i) from None
                except RecursionError:  # arrays or objects nested thousands deep
                    raise CodingError("invalid JSON: nested too deeply", path, i) from None
    out = []
    for i, r in enumerate(records, start=1):
        if not isinstance(r, dict) or not isinstance(r.get("text"), str) or not str(r.get("id", "")).strip():
            raise CodingError("each unit needs an 'id' and a text 'text'", path, i)
        group = next((str(r[c]) for c in GROUP_COLUMNS if r.get(c)), "")
        out.append((str(r["id"]).strip(), r["text"], group))
    if not out:
        raise CodingError("no units in the file", path)
    return out


def check_counts(examples: Examples, codebook: Codebook) -> None:
    """Every variable needs enough coded and uncoded units to be learnt."""
    from coding.coders.learn import MIN_UNITS

    for v in codebook.variable_ids:
        positives = sum(1 for u in examples.units if v in examples.labels[u.id])
        negatives = len(examples.units) - positives
        if positives < MIN_UNITS or negatives < MIN_UNITS:
            raise CodingError(f"too few coded units to learn it: {positives} coded, {negatives} not coded "
                              f"(at least {MIN_UNITS} of each needed)", item=v)


def learn(examples: Examples, codebook: Codebook, out: StrPath, *, level: str = "variable",
          extra: Examples | None = None, folds: int = 5, repeats: int = 3,
          progress: bool | None = None) -> tuple[Model, pd.DataFrame]:
    """Cross-validate the learned coder on ``examples`` (grouped: no group
    in its own test fold; repeated with fixed seeds; thresholds chosen on
    training folds only), then train it on every example and write the
    model to ``out`` with the cross-validation figures in it.

    ``extra`` examples are added to every training set but never tested
    on, with the lower weight :data:`coding.coders.learn.EXTRA_WEIGHT` (text of
    another kind than the one the coder is meant for). Returns the model
    and the cross-validation table.
    """
    from coding.coders.learn import EXTRA_WEIGHT, cross_validate, save_model, train

    if not examples.units:
        raise CodingError("no labelled units to learn from")
    extra = extra or Examples()
    check_counts(examples + extra, codebook)
    folds = max(2, min(folds, len(set(examples.groups.values()))))
    cv = cross_validate(examples.units, examples.labels, examples.groups, codebook, folds=folds,
                        repeats=repeats, seeds=tuple(range(repeats)),
                        extra=(extra.units, extra.labels, extra.groups) if extra.units else None)
    everything = examples + extra
    weights = {u.id: EXTRA_WEIGHT for u in extra.units}
    model = train(everything.units, everything.labels, everything.groups, codebook, level=level,
                  weights=weights, sources=everything.sources, coders=everything.coders, cv=cv)
    save_model(model, out)
    return model, cv
