"""Code-level labels of thesis paragraphs from three blind readers.

``evaluation/thesis-codes/`` (the paragraphs no person had coded) and
``evaluation/thesis-code-names/`` (those the people coded at the level of
variables) each hold three readers' codes (``reader-a.csv``,
``reader-b.csv``: every unit; ``reader-c.csv``: the units where a and b chose
different codes), in the long coder-file format (``unit_id, code``; a unit
without a code has one row with an empty code). This script checks them
against the corpus and the codebook, writes the settled labels
(``readers.csv``: where a and b chose the same codes, theirs; elsewhere a code
applies when at least two of the three chose it) and prints the readers'
agreement (Krippendorff's alpha, nominal, a against b) per variable and per
code, and the prevalence in the settled labels.

    python scripts/thesis_readers.py [evaluation/thesis-code-names]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "evaluation" / "thesis-codes"


def settle(a: dict[str, set[str]], b: dict[str, set[str]], c: dict[str, set[str]]) -> dict[str, set[str]]:
    """The settled codes: a and b where they agree; else each code two of the three chose."""
    if set(a) != set(b):
        raise SystemExit("reader-a and reader-b must code the same units")
    out = {}
    for u in a:
        if a[u] == b[u]:
            out[u] = set(a[u])
            continue
        if u not in c:
            raise SystemExit(f"{u}: readers a and b differ and reader-c did not code it")
        votes = [a[u], b[u], c[u]]
        out[u] = {code for code in set().union(*votes) if sum(code in v for v in votes) >= 2}
    return out


def write_long(path: Path, labels: dict[str, set[str]]) -> None:
    """A long coder file: a row per unit and code, one row with an empty code for a unit without."""
    from coding.files import write_csv

    write_csv(path, ["unit_id", "code"], [[u, code] for u in labels for code in (sorted(labels[u]) or [""])])


def main(argv=None) -> int:
    from coding.agreement.coefficients import binary_pair_alpha
    from coding.codebook import load_codebook
    from coding.coders.mention_labels import named_codes
    from coding.corpus import iter_documents
    from coding.segment import segment

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", nargs="?", default=str(FOLDER), help="the readers' folder (default: %(default)s)")
    folder = Path(p.parse_args(argv).folder)
    cb = load_codebook(REPO / "codebook.yaml")
    ids = {u.id for d in iter_documents(REPO / "corpus") for u in segment(d)}
    a, b, c = (named_codes(folder / f"reader-{r}.csv", cb, ids) for r in "abc")
    settled = settle(a, b, c)
    write_long(folder / "readers.csv", settled)
    units = list(a)
    print(f"{len(units)} units; readers a and b chose different codes on {sum(a[u] != b[u] for u in units)}, "
          f"reader c coded {len(c)}")
    print("\n| item | settled positives | alpha, a against b |\n|---|---|---|")
    of = {x.id: x.variable for x in cb.codes}
    items = [(v, {k for k, w in of.items() if w == v}) for v in cb.variable_ids] + [(k, {k}) for k in of]
    for name, codes in items:
        ya = np.array([bool(a[u] & codes) for u in units], dtype=int)
        yb = np.array([bool(b[u] & codes) for u in units], dtype=int)
        pos = sum(bool(settled[u] & codes) for u in units)
        alpha = binary_pair_alpha(ya, yb)
        print(f"| {name} | {pos} | {_figure(alpha)} |")
    print_against_people(settled, cb, of)
    print(f"\nwrote {folder / 'readers.csv'}")
    return 0


def _figure(x: float) -> str:
    return "n/a" if np.isnan(x) else f"{x:.3f}".replace("0.", ".")


def print_against_people(settled: dict[str, set[str]], cb, of: dict[str, str]) -> None:
    """For the settled units that people coded at the level of variables
    (the mention coder's thesis coder files), the settled codes taken to
    their variables against the people's variables: positives and alpha."""
    from coding.agreement.coefficients import binary_pair_alpha
    from coding.coders.mention_labels import THESIS_CODER_FILES, thesis_units

    people = {u.id: u.variables for u in thesis_units(REPO, cb, THESIS_CODER_FILES) if u.id in settled}
    if not people:
        return
    print(f"\n{len(people)} of these units were coded by people at the level of variables:")
    print("\n| variable | people's positives | readers' positives | alpha, people against readers |\n|---|---|---|---|")
    units = sorted(people)
    for v in cb.variable_ids:
        y = np.array([v in people[u] for u in units], dtype=int)
        r = np.array([any(of[c] == v for c in settled[u]) for u in units], dtype=int)
        print(f"| {v} | {y.sum()} | {r.sum()} | {_figure(binary_pair_alpha(y, r))} |")


if __name__ == "__main__":
    sys.exit(main())
