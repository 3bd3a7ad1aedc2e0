"""``coding learn`` and ``coding suggest``: the learned coder trained on
people's coding and measured, and the units people should code next."""

from __future__ import annotations

from typing import TYPE_CHECKING

from coding.commands.common import (
    check_sheet_output,
    chosen_coder,
    coder_list,
    folds,
    non_negative,
    num,
    open_store,
    positive,
)
from coding.errors import CodingError

if TYPE_CHECKING:
    import pandas as pd


def _cmd_learn(args) -> int:
    from coding.codebook import load_codebook
    from coding.coders.training import Examples, from_store, from_table, learn
    from coding.files import check_output

    tables = [p for spec in args.table or [] for p in spec.partition("=")[::2]]
    check_output(args.out, [args.codebook, args.store if args.coders else None, *tables])
    codebook = load_codebook(args.codebook)
    examples = Examples()
    if args.coders:
        with open_store(args.store) as store:
            examples = from_store(store, coder_list(args.coders), args.level)
    for spec in args.table or []:
        units, sep, labels = spec.partition("=")
        if not sep:
            raise CodingError(f"--table takes UNITS=LABELS (a unit table and its coder file), not {spec!r}")
        examples = examples + from_table(units, labels, codebook)
    if not examples.units:
        raise CodingError("nothing to learn from: name coders in the store (--coders) or tables (--table)")
    n_groups = len(set(examples.groups.values()))
    if args.folds > n_groups:  # checked before any training: a fold needs a document of its own
        raise CodingError(f"--folds {args.folds} needs at least {args.folds} documents (groups) to hold out, "
                          f"the examples come from {n_groups}: give --folds 2 to {n_groups}" if n_groups >= 2 else
                          f"cross-validation needs units of at least 2 documents (groups), the examples come "
                          f"from {n_groups}")
    model, cv = learn(examples, codebook, args.out, level=args.level, folds=args.folds, repeats=args.repeats)
    print(f"learned from {len(examples.units)} units of {len(set(examples.groups.values()))} documents "
          f"({', '.join(examples.coders)}); grouped {args.folds}-fold cross-validation, {args.repeats} repeats:")
    print(format_cv(cv))
    skipped = skipped_codes(model.skipped)
    if skipped:
        print(f"codes without enough labelled units for their own classifier: {skipped}")
    print(f"wrote {args.out} (model {model.sha256[:12]})")
    return 0


def skipped_codes(skipped) -> str:
    """The codes a model skipped for want of labelled units, by id (``coding.coders.learn`` records
    them under "code")."""
    return ", ".join(str(s.get("code", "?")) for s in skipped)


def format_cv(cv: pd.DataFrame) -> str:
    """Cross-validation figures as fixed-width text: per variable and coder,
    precision, recall, F1 and alpha (mean, with min-max over repeats)."""
    lines = [f"{'variable':<18} {'coder':<14} {'P':>6} {'R':>6} {'F1':>6} {'alpha':>6}  range"]
    for r in cv.itertuples():
        lines.append(f"{r.variable:<18} {r.coder:<14} {num(r.precision)} {num(r.recall)} {num(r.f1)} "
                     f"{num(r.alpha)}  {r.alpha_min:.3f}-{r.alpha_max:.3f}")
    return "\n".join(lines)


def _suggesting_coder(args) -> str:
    """The coder whose uncertainty ranks the units when none is named: the
    mention coder where its shipped model fits the codebook (the default
    coder), else the learned coder (a model file named alone is the learned
    coder's, as before the mention coder existed)."""
    from pathlib import Path

    from coding.codebook import load_codebook
    from coding.coders.coder_choice import default_coder_name
    from coding.records import LEARNED, MENTIONS

    if args.model is None and Path(args.codebook).is_file() and \
            default_coder_name(load_codebook(args.codebook)) == MENTIONS:
        return MENTIONS
    return LEARNED


def _cmd_suggest(args) -> int:
    from coding.coders.suggest import suggest
    from coding.files import write_frame

    args.coder = args.coder or _suggesting_coder(args)
    with open_store(args.store) as store:
        check_sheet_output(args.out, store, args.model, args.codebook)
        coder, _ = chosen_coder(args)
        sheet = suggest(store, coder, args.n, args.random, args.seed)
    write_frame(args.out, sheet)
    print(f"{len(sheet)} unit(s) to code -> {args.out}: fill the variable columns with 1 (coded) or leave them "
          f"empty, then: coding coders import {args.out} --coder NAME")
    return 0


def add_commands(sub) -> None:
    """``learn`` and ``suggest``: the coder that learns from people's coding."""
    le = sub.add_parser("learn", help="train the learned coder on people's coding and measure it")
    le.add_argument("--coders", help="people in the store to learn from, e.g. consensus,human-1 (the first "
                                     "who saw a unit counts)")
    le.add_argument("--table", action="append", metavar="UNITS=LABELS",
                    help="also learn from a .jsonl/.csv of units (id, text[, group]) and its coder file; repeat")
    le.add_argument("--level", default="variable", choices=["variable", "code"])
    le.add_argument("--out", default="models/learned.json", help="model file to write (default: models/learned.json)")
    le.add_argument("--codebook", default="codebook.yaml")
    le.add_argument("--store", default="outputs/project.sqlite")
    le.add_argument("--folds", type=folds, default=5,
                    help="cross-validation folds (default: 5; from 2 to the number of documents)")
    le.add_argument("--repeats", type=positive, default=3, help="cross-validation repeats (default: 3)")
    le.set_defaults(func=_cmd_learn)
    sg = sub.add_parser("suggest", help="the units people should code next (active learning)")
    sg.add_argument("--coder", default=None, choices=["learned", "mentions"],
                    help="whose uncertainty ranks the units (mentions, at the level of codes: the default where "
                         "its shipped model fits the codebook; learned otherwise)")
    sg.add_argument("--model", default=None, help="model file (default: the shipped one)")
    sg.add_argument("--n", type=non_negative, default=50, help="least certain units (default: 50)")
    sg.add_argument("--random", type=non_negative, default=10, help="units drawn at random besides (default: 10)")
    sg.add_argument("--seed", type=int, default=0)
    sg.add_argument("--out", required=True, help="coder sheet to write (.csv)")
    sg.add_argument("--codebook", default="codebook.yaml")
    sg.add_argument("--store", default="outputs/project.sqlite")
    sg.set_defaults(func=_cmd_suggest)
