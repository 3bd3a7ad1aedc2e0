"""``coding coders`` (import, list, remove), ``agree``, ``validate`` and
``reconcile``: people's codings in the store, agreement between coders,
validation against a person and sheets to adjudicate, over
:mod:`coding.agreement`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from coding.commands.common import (
    MAX_RESAMPLES,
    MIN_RESAMPLES,
    check_sheet_output,
    coder_list,
    num,
    open_store,
    resamples,
)
from coding.errors import CodingError

if TYPE_CHECKING:
    import pandas as pd


def format_agreement(table: pd.DataFrame) -> str:
    """The agreement table as fixed-width text for the terminal."""
    two = table["cohen_kappa"].notna().any() or table["n11"].notna().any()
    kappa_col, kappa_name = ("cohen_kappa", "kappa") if two else ("fleiss_kappa", "fleiss")
    width = max([len("item")] + [len(str(i)) for i in table["item"]])
    lines = [(f"{'item':<{width}} {'n':>4} {'agree':>6} {kappa_name:>6} {'alpha':>6} {'95% interval':>15} "
              f"{'AC1':>6}  reading     paradox")]
    for r in table.itertuples():
        missing = r.alpha_low is None or r.alpha_low != r.alpha_low  # None or NaN
        interval = "-" if missing else f"[{r.alpha_low:.3f}, {r.alpha_high:.3f}]"
        lines.append(f"{r.item:<{width}} {r.n_units:>4} {num(r.percent_agreement)} "
                     f"{num(getattr(r, kappa_col))} {num(r.krippendorff_alpha)} {interval:>15} "
                     f"{num(r.gwet_ac1)}  {r.reading:<11} {'yes' if r.paradox else ''}")
    return "\n".join(lines)


def format_validation(table: pd.DataFrame) -> str:
    """The validation table as fixed-width text for the terminal."""
    width = max([len("item")] + [len(str(i)) for i in table["item"]])
    lines = [(f"{'level':<8} {'item':<{width}} {'n':>4} {'TP':>4} {'FP':>4} {'FN':>4} "
              f"{'precision':>9} {'recall':>6} {'F1':>6}")]
    for r in table.itertuples():
        lines.append(f"{r.level:<8} {r.item:<{width}} {r.n_units:>4} {r.tp:>4} {r.fp:>4} {r.fn:>4} "
                     f"{num(r.precision, 9)} {num(r.recall)} {num(r.f1)}")
    return "\n".join(lines)


def _cmd_coders_import(args) -> int:
    from coding.coder_files import import_person

    with open_store(args.store) as store:
        done = import_person(store, args.file, args.coder, replace=args.replace)
    replaced = f", replacing its {done.replaced} earlier codings" if args.replace else ""
    print(f"imported coder {done.coder}: {done.units} units, {done.codings} codings from {args.file}{replaced}")
    if done.orphaned_units:
        print(f"kept aside: {done.orphaned_units} unit(s) of the file ({done.orphaned_codings} codings) whose text "
              "is no longer in the corpus ('coding coders list' shows them)")
    return 0


def _cmd_coders_list(args) -> int:

    with open_store(args.store) as store:
        rows = store.coders()
        orphans = {name: (units, codings) for name, units, codings in store.orphans()}
    if not rows and not orphans:
        print("no coders in the store")
        return 0
    names = sorted({r[0] for r in rows} | set(orphans))
    counts = {name: (units, codings) for name, units, codings in rows}
    width = max(len("coder"), *(len(n) for n in names))
    print(f"{'coder':<{width}} {'units':>6} {'codings':>8} {'orphaned units':>15} {'orphaned codings':>17}")
    for name in names:
        units, codings = counts.get(name, (0, 0))
        o_units, o_codings = orphans.get(name, (0, 0))
        print(f"{name:<{width}} {units:>6} {codings:>8} {o_units:>15} {o_codings:>17}")
    return 0


def _cmd_coders_remove(args) -> int:
    from coding.records import AUTOMATIC_CODERS

    name = args.name.strip()
    if name in AUTOMATIC_CODERS and not args.force:
        raise CodingError(f"'{name}' is an automatic coder: its codings and the record of what it coded would "
                          "go (the next run codes everything again); add --force to remove them")
    with open_store(args.store) as store:
        units, codings = store.remove_coder(name, allow_automatic=args.force)
    print(f"removed coder {name}: {codings} codings on {units} units")
    return 0


def _cmd_agree(args) -> int:
    from coding.agreement.audit import write_agreement
    from coding.files import check_output
    from coding.reports.figures import alpha_figure

    coders = coder_list(args.coders)
    with open_store(args.store, args.out) as store:
        check_output(args.out, [store.path])
        if args.unitized:  # first: an error here leaves no file written
            from coding.agreement.span_agreement import format_unitized, unitized_agreement

            unitized = unitized_agreement(store, coders, seen_rule=args.seen, n_resamples=args.resamples,
                                          seed=args.seed)
        table, paths = write_agreement(store, coders, args.out, args.level,
                                       n_resamples=args.resamples, seed=args.seed, seen_rule=args.seen)
        paths["figure"] = alpha_figure(table, paths["agreement"].parent / "agreement_alpha.png",
                                       f"{' vs '.join(coders)}: agreement per {args.level}")
        if args.unitized:
            from coding.files import write_frame

            paths["unitized"] = write_frame(paths["agreement"].parent / "agreement_unitized.csv", unitized)
        inferred = _print_inferred_seen(store, coders, args.seen)
    print(f"{' vs '.join(coders)}, {args.level} level (Krippendorff's alpha: >= .800 reliable, "
          f".667-.800 tentative, < .667 unreliable)")
    print(format_agreement(table))
    _print_provenance(table)
    if args.unitized:
        print(f"\nunitized agreement (Krippendorff et al. 2016), unit codings as spans of their characters, "
              f"over the units all of them saw{'; seen sets by --seen ' + args.seen if inferred else ''}")
        print(format_unitized(unitized))
    for path in paths.values():
        print(f"wrote {path}")
    return 0


def _print_inferred_seen(store, coders: list[str], rule: str) -> dict[str, str]:
    """Say which coders' seen units an import inferred, and how they are taken."""
    from coding.agreement.audit import inferred_coders

    inferred = inferred_coders(store, coders)
    for coder, how in inferred.items():
        other = "coded-units" if rule == "coded-documents" else "coded-documents"
        print(f"note: the units {coder} saw were inferred at import ({how.replace('inferred-', '--seen ')}), "
              f"not recorded; taken here as --seen {rule} (the other choice: --seen {other})")
    return inferred


def _print_provenance(table: pd.DataFrame) -> None:
    """The in-sample warning of an agreement or validation table, next to its figures."""
    note = str(table["provenance"].iloc[0]) if len(table) and "provenance" in table else ""
    if note:
        print(f"note: {note}")


def _cmd_validate(args) -> int:
    from coding.agreement.validation import write_validation
    from coding.coders.coder_choice import stored_default
    from coding.files import check_output

    with open_store(args.store, args.out) as store:
        check_output(args.out, [store.path])
        predicted = args.predicted or stored_default(store)
        table, paths = write_validation(store, args.coder, args.out, predicted=predicted)
    print(f"{predicted} against {args.coder} (precision: share of {predicted}'s codings "
          f"the person shares; recall: share of the person's codings {predicted} finds)")
    print(format_validation(table))
    _print_provenance(table)
    for path in paths.values():
        print(f"wrote {path}")
    return 0


def _cmd_reconcile(args) -> int:
    from coding.agreement.audit import reconcile_sheet
    from coding.files import write_frame

    coders = coder_list(args.coders)
    with open_store(args.store) as store:
        check_sheet_output(args.out, store)
        sheet = reconcile_sheet(store, coders, args.level)
    write_frame(args.out, sheet)
    print(f"{len(sheet)} disputed item(s) on {sheet['unit_id'].nunique()} unit(s) -> {args.out}")
    print("fill 'decision' with 1 (coded) or 0 (not coded), then: "
          f"coding coders import {args.out} --coder consensus")
    return 0


def add_commands(sub) -> None:
    """Subcommands: coders import/list, agree, validate, reconcile."""
    store_help = "project store (default: outputs/project.sqlite)"
    found_help = "project store (default: <out>/project.sqlite, else outputs/project.sqlite)"
    co = sub.add_parser("coders", help="human coders in the store")
    cosub = co.add_subparsers(dest="coders_command", required=True)
    imp = cosub.add_parser("import", help="import (or replace) a coder's codings from a CSV")
    imp.add_argument("file", help="long (unit_id,code|variable), wide (unit_id + 0/1 columns) "
                                  "or adjudication sheet (from 'coding reconcile')")
    imp.add_argument("--coder", required=True, help="coder name")
    imp.add_argument("--store", default="outputs/project.sqlite", help=store_help)
    imp.add_argument("--replace", action="store_true",
                     help="replace the codings of a coder already in the store (says how many)")
    imp.set_defaults(func=_cmd_coders_import)
    ls = cosub.add_parser("list", help="coders with their numbers of units and codings")
    ls.add_argument("--store", default="outputs/project.sqlite", help=store_help)
    ls.set_defaults(func=_cmd_coders_list)
    rm = cosub.add_parser("remove", help="delete a coder's codings and the record of the units it saw")
    rm.add_argument("name", help="coder name")
    rm.add_argument("--force", action="store_true",
                    help="also for an automatic coder (auto, learned): its codings return on the next run")
    rm.add_argument("--store", default="outputs/project.sqlite", help=store_help)
    rm.set_defaults(func=_cmd_coders_remove)

    ag = sub.add_parser("agree", help="inter-coder agreement table, disagreements and alpha chart")
    ag.add_argument("--coders", required=True, help="comma-separated coders, e.g. auto,human-1")
    ag.add_argument("--level", default="variable", choices=["variable", "code"])
    ag.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    ag.add_argument("--store", default=None, help=found_help)
    ag.add_argument("--resamples", type=resamples, default=1000,
                    help=f"bootstrap samples for alpha's interval (default: 1000; {MIN_RESAMPLES} to "
                         f"{MAX_RESAMPLES:,})")
    ag.add_argument("--seed", type=int, default=12345, help="bootstrap seed")
    ag.add_argument("--unitized", action="store_true",
                    help="also Krippendorff's unitizing alphas (uα, |uα, cuα, Cuα, (k)uα) of the codings as spans, "
                         "per code, per variable and overall -> agreement_unitized.csv")
    ag.add_argument("--seen", default="coded-documents", choices=["coded-documents", "coded-units"],
                    help="for a coder whose seen units an import inferred: the units of the documents it coded in "
                         "(default) or only the units it coded")
    ag.set_defaults(func=_cmd_agree)

    va = sub.add_parser("validate", help="precision, recall and F1 of the automatic coding against a person")
    va.add_argument("--coder", required=True, help="the person's coder name (the gold standard)")
    va.add_argument("--predicted", "--reference", dest="predicted", default=None,
                    help="the coder being checked (default: the default coder, as coding run chose it)")
    va.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    va.add_argument("--store", default=None, help=found_help)
    va.set_defaults(func=_cmd_validate)

    rc = sub.add_parser("reconcile", help="sheet of two coders' disagreements to settle by hand")
    rc.add_argument("--coders", required=True, help="two comma-separated coders, e.g. human-1,human-2")
    rc.add_argument("--out", required=True, help="adjudication CSV to write")
    rc.add_argument("--level", default="variable", choices=["variable", "code"])
    rc.add_argument("--store", default="outputs/project.sqlite", help=store_help)
    rc.set_defaults(func=_cmd_reconcile)
