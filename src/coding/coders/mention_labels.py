"""What the mention coder learns from: labelled units.

The real published paragraphs (their readers' code labels, or variable
labels where no code was settled, and the clauses a reader marked as
deciding a code) and the thesis paragraphs the people coded, each as a
:class:`Labelled` unit with its collection and page, so that the protocol's
splits never put a page on both sides.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coding.codebook import Codebook


@dataclass
class Labelled:
    """A unit to learn from: its text, collection (one letter or ``T`` for the
    thesis), group (the page or document: never on both sides of a split),
    variables coded, and the codes known to be present (1) or absent (0);
    ``clauses``: code -> the exact words a reader marked as deciding it;
    ``weak``: the codes marked present by
    :func:`~coding.coders.mention_training.weak_code_labels`."""

    id: str
    collection: str
    group: str
    text: str
    variables: frozenset[str]
    codes: dict[str, int]
    clauses: dict[str, list[str]] = field(default_factory=dict)
    weak: tuple[str, ...] = ()


def code_labels(variables: set[str], codes: set[str] | None, codebook: Codebook) -> dict[str, int]:
    """Known code labels: with ``codes`` given, every code is known; without,
    only the codes of variables not coded (absent)."""
    out = {}
    for c in codebook.codes:
        if codes is not None:
            out[c.id] = int(c.id in codes)
        elif c.variable not in variables:
            out[c.id] = 0
    return out


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def load_real_texts(folder: Path, codebook: Codebook, variable_labels: Path | None = None) -> list[Labelled]:
    """The real published paragraphs with their labels: codes from
    ``consensus.csv`` (two of three readers), for the units without (the Y
    collection) variables from ``variable_labels`` (default: units where
    ``reader-a.csv`` and ``reader-b.csv`` agree) and codes of coded variables
    from a third reader's file ``reader-c.csv`` beside ``variable_labels``
    when it names codes of exactly those variables."""
    variables_ids = codebook.variable_ids
    units = [json.loads(line) for line in (folder / "units.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    consensus = {r["unit_id"]: r for r in _read_csv(folder / "consensus.csv")}
    var_rows = _variable_rows(folder, variable_labels)
    extra_codes = _reader_c(variable_labels, codebook)
    clauses = _clauses(folder / "evidence.jsonl")
    out = []
    for u in units:
        uid = u["id"]
        codes: set[str] | None
        if uid in consensus:
            codes = {c for c in consensus[uid]["codes"].split(";") if c}
            variables = {v for v in variables_ids if consensus[uid].get(v) == "1"}
        elif uid in var_rows:
            variables = var_rows[uid]
            codes = extra_codes.get(uid)
            if codes is not None and {codebook.code(c).variable for c in codes} != variables:
                codes = None
        else:
            continue  # readers disagree and nothing settles it
        out.append(Labelled(uid, uid[0], u["url"], u["text"], frozenset(variables),
                            code_labels(variables, codes, codebook), clauses.get(uid, {})))
    return out


def _variable_rows(folder: Path, given: Path | None) -> dict[str, set[str]]:
    if given is not None and given.is_file():
        rows = _read_csv(given)
        return {r["unit_id"]: {k for k, v in r.items() if k != "unit_id" and v == "1"} for r in rows}
    a = {r["unit_id"]: r for r in _read_csv(folder / "reader-a.csv")}
    b = {r["unit_id"]: r for r in _read_csv(folder / "reader-b.csv")}
    return {u: {k for k, v in r.items() if k != "unit_id" and v == "1"} for u, r in a.items()
            if u in b and r == b[u]}


def _reader_c(variable_labels: Path | None, codebook: Codebook) -> dict[str, set[str]]:
    path = variable_labels.with_name("reader-c.csv") if variable_labels is not None else None
    if path is None or not path.is_file():
        return {}
    known = {c.id for c in codebook.codes}
    out: dict[str, set[str]] = {}
    for r in _read_csv(path):
        out.setdefault(r["unit_id"], set())
        if r["code"] in known:
            out[r["unit_id"]].add(r["code"])
    return out


def _clauses(path: Path) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            for code, clause in r["evidence"].items():
                out.setdefault(r["id"], {}).setdefault(code, []).append(clause)
    return out


#: The collection of the codebook's own example sentences (:func:`codebook_units`).
EXAMPLES_COLLECTION = "K"


def codebook_units(codebook: Codebook) -> list[Labelled]:
    """The codebook's examples (their code present) and counterexamples
    (their code absent, the other codes unknown) as one-sentence units of
    collection :data:`EXAMPLES_COLLECTION`, each on a page of its own."""
    out = []
    for c in codebook.codes:
        for kind, texts, label in (("example", c.examples, 1), ("counterexample", c.counterexamples, 0)):
            for i, text in enumerate(texts):
                uid = f"{EXAMPLES_COLLECTION}:{c.id}:{kind}:{i}"
                out.append(Labelled(uid, EXAMPLES_COLLECTION, uid, text,
                                    frozenset({c.variable} if label else ()), {c.id: label}))
    return out


#: The people's coder files of thesis paragraphs the mention coder learns from (relative to the project).
THESIS_CODER_FILES = ("corpus/coders/human-1.csv", "evaluation/heldout/holdout-1.csv")


def thesis_units(root: Path, codebook: Codebook, files: Sequence[str] = THESIS_CODER_FILES) -> list[Labelled]:
    """Thesis paragraphs a person coded (``files``, relative to ``root``;
    each file's name is its coder's), collection ``T``, grouped by document."""
    from coding.coder_files import read_coder_file
    from coding.coders.training import labels_of
    from coding.corpus import iter_documents
    from coding.segment import segment

    units = {u.id: u for d in iter_documents(root / "corpus") for u in segment(d)}
    out = []
    for path in (root / name for name in files):
        seen, codings = read_coder_file(path, codebook, set(units), path.stem)
        for uid, items in labels_of(seen, codings).items():
            variables = {i for i in items if i in codebook.variable_ids}
            codes = {i for i in items if i not in codebook.variable_ids} or None
            u = units[uid]
            out.append(Labelled(uid, "T", u.document_id, u.text, frozenset(variables),
                                code_labels(variables, codes, codebook)))
    return out


def named_codes(path: Path, codebook: Codebook, unit_ids: set[str]) -> dict[str, set[str]]:
    """Unit id -> the codes a coder file names for it (checked by the
    project's coder-file reader against ``unit_ids`` and the codebook; a
    unit the file lists without a code maps to an empty set)."""
    from coding.coder_files import read_coder_file
    from coding.coders.training import labels_of

    seen, codings = read_coder_file(path, codebook, unit_ids, path.stem)
    variables = set(codebook.variable_ids)
    return {u: items - variables for u, items in labels_of(seen, codings).items()}


def name_codes(units: Sequence[Labelled], named: dict[str, set[str]], codebook: Codebook) -> int:
    """Code labels from readers who named the codes of units whose people
    coded variables only (``named``: unit id -> codes). Per unit and coded
    variable without code labels, the named codes of that variable are
    present and its other codes absent; a variable of which nothing was
    named stays as it was (the people's variable labels always stand, so a
    named code of a variable they did not code is not taken). Returns how
    many units changed (``units`` are changed in place)."""
    changed = 0
    for u in units:
        codes = named.get(u.id)
        if codes is None:
            continue
        before = dict(u.codes)
        for v in sorted(u.variables):
            mine = [c.id for c in codebook.codes if c.variable == v]
            if any(c in u.codes for c in mine) or not codes.intersection(mine):
                continue
            u.codes.update((c, int(c in codes)) for c in mine)
        changed += u.codes != before
    return changed
