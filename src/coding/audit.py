"""The agreement audit over the store: coders' codings turned into
presence/absence data and fed to :mod:`coding.agreement`.

Only units a coder saw count for that coder: a unit in the coder's coverage
without a coding of an item is "absent" (0); a unit outside it is missing.
"""

from __future__ import annotations

import pandas as pd

from coding.agreement import agreement_table
from coding.errors import CodingError

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


def agreement(store, coders: list[str], level: str = "variable", *, n_resamples: int = 1000,
              seed: int = 12345) -> pd.DataFrame:
    """The agreement table of ``coders`` at the variable or code level."""
    from coding.codebook import parse_codebook

    version = store.current_codebook()
    if version is None:
        raise CodingError("the store holds no coding yet; run 'coding run' first", store.path)
    _, _, codings = store.frames()
    coverage = store.coverage()
    known = set(coverage["coder"])
    unknown = [c for c in coders if c not in known]
    if unknown:
        raise CodingError(f"unknown coder(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    if len(coders) < 2:
        raise CodingError("name at least two coders")
    content = store.db.execute("SELECT content FROM codebooks WHERE version=?", (version,)).fetchone()[0]
    codebook = parse_codebook(content, f"codebook {version}")
    items = codebook.variable_ids if level == "variable" else codebook.code_ids
    table = presence(codings, coverage, items, coders, level)
    return agreement_table(table, coders, level, n_resamples=n_resamples, seed=seed)
