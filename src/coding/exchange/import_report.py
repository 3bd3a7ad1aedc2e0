"""What an import of a REFI-QDA project did, per user and in all: every
selection accounted for (see :mod:`coding.exchange.project_import`)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["KEPT", "ImportReport", "UserTally"]

#: What becomes of a selection, per user: whole units, mapped to units by the
#: overlap rule, kept as a span only, or refused (with a reason).
KEPT = ("whole", "mapped", "partial")


@dataclass
class UserTally:
    """The selections holding one user's codings, by what became of them.

    Every selection counts once for each user with codings in it: kept
    ``whole`` (it covers whole units and nothing more), ``mapped`` (it codes
    the units it covers by at least the overlap threshold, and touches
    others less), ``partial`` (it codes no unit: kept as a span only), an
    ``annotation`` (no codes, a remark), or refused for a reason."""

    imported: bool = False
    whole: int = 0
    mapped: int = 0
    partial: int = 0
    annotations: int = 0
    new_codes: int = 0      # kept as spans only: every code of theirs is new (--new-codes)
    refused: dict[str, int] = field(default_factory=dict)
    #: for each partial selection: (share of the unit it covers most, that unit's characters)
    partial_shares: list[tuple[float, int]] = field(default_factory=list)

    @property
    def selections(self) -> int:
        return (self.whole + self.mapped + self.partial + self.annotations + self.new_codes
                + sum(self.refused.values()))

    def add(self, kind: str) -> None:
        if kind in KEPT:
            setattr(self, kind, getattr(self, kind) + 1)
        elif kind == "annotation":
            self.annotations += 1
        elif kind == "new code":
            self.new_codes += 1
        else:
            self.refused[kind] = self.refused.get(kind, 0) + 1

    def lines(self, name: str) -> list[str]:
        how = "imported" if self.imported else f"not imported: choose it with --user {name!r}"
        out = [f"  user {name!r} ({how}): {self.selections} selection(s): {self.whole} kept whole, "
               f"{self.mapped} mapped to units, {self.partial} partial (kept as spans, below the unit "
               f"threshold), " + (f"{self.new_codes} under new codes only (kept as spans), " if self.new_codes else "")
               + f"{self.annotations} annotation(s), {sum(self.refused.values())} refused"]
        if self.partial_shares:
            shares = sorted(self.partial_shares)
            share, chars = shares[len(shares) // 2]
            out.append(f"    partial: the median one covers {share:.1%} of the unit it overlaps most "
                       f"({chars:,} characters); kept as span codings, coding no unit (smaller units or a lower "
                       "--min-overlap map more of them to units)")
        out += [f"    refused {n}: {why}" for why, n in sorted(self.refused.items())]
        return out


@dataclass
class ImportReport:
    """What an import did and what it left out."""

    coder: str
    sources: int = 0
    matched: list[tuple[str, str, str]] = field(default_factory=list)     # (source, document id, how)
    unmatched: list[tuple[str, str]] = field(default_factory=list)        # (source, reason)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)     # (kind, name, reason)
    unknown_codes: dict[str, int] = field(default_factory=dict)           # code name -> codings
    selections: int = 0
    selections_used: int = 0
    units_seen: int = 0
    codings: int = 0
    warnings: list[str] = field(default_factory=list)
    stored: bool = False
    not_stored: str = "no source matched"   # why nothing was stored
    #: where the units seen come from: "project" (its record of them), else how they were inferred
    seen_from: str = ""
    #: document id -> manifest field -> value, as the project's variables give them (see coding.exchange.variables)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    #: (document id, field, value in the project, value in the store) where the two differ
    metadata_differences: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: project user name -> what became of the selections holding that user's codings
    users: dict[str, UserTally] = field(default_factory=dict)
    #: file code (with its parent chain) -> (variable, code, how matched), for codes not matched by label
    code_matches: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    #: (selection's author, coding's author) -> selections whose codings another user made
    authors_differ: dict[tuple[str, str], int] = field(default_factory=dict)
    spans: int = 0          # span codings stored (the selections as made)
    notes: dict[str, int] = field(default_factory=dict)    # kind -> memos, notes and cases stored

    @property
    def refused_codes(self) -> int:
        """Codings refused because their code is not in the codebook."""
        return sum(self.unknown_codes.values())

    def lines(self) -> list[str]:
        """The report as printable lines."""
        out = [f"coder {self.coder}: {len(self.matched)} of {self.sources} sources matched, "
               f"{self.selections_used} of {self.selections} text selections used, "
               f"{self.codings} codings on {self.units_seen} units, {self.spans} span codings"
               + ("" if self.stored else f" (nothing stored: {self.not_stored})")]
        for name, tally in sorted(self.users.items()):
            out += tally.lines(name)
        out += [f"  {n} selection(s) made by user {a!r} hold codings made by user {b!r}: they count for {b!r}, "
                "the coding's author" for (a, b), n in sorted(self.authors_differ.items())]
        out += [f"  code {label!r} is {code or variable!r} (matched by {how})"
                for label, (variable, code, how) in sorted(self.code_matches.items())]
        if self.notes:
            out.append("  kept: " + ", ".join(f"{n} {kind}(s)" for kind, n in sorted(self.notes.items())))
        out += [f"  matched {s!r} -> {d} ({how})" for s, d, how in self.matched]
        out += [f"  unmatched {s!r}: {why}" for s, why in self.unmatched]
        out += [f"  skipped {kind} {n!r}: {why}" for kind, n, why in self.skipped]
        out += [f"  refused code {c!r}: not in the codebook ({n} codings)"
                for c, n in sorted(self.unknown_codes.items())]
        if self.metadata:
            out.append(f"  document metadata read for {len(self.metadata)} matched source(s)")
        out += [f"  metadata of {d!r}: {f} is {mine!r} in the project, {theirs!r} in the store"
                for d, f, mine, theirs in self.metadata_differences]
        out += [f"  warning: {w}" for w in self.warnings]
        return out
