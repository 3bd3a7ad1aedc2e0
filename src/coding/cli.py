"""The ``coding`` command: a thin layer over the library functions.

Exit status: 0 on success, 1 when a run finished but some documents could
not be read, 2 on bad input (the message names the file, line or unit).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from coding import __version__
from coding.errors import CodingError
from coding.records import StrPath

if TYPE_CHECKING:
    import pandas as pd


#: where ``coding run`` puts the store, relative to the current folder
DEFAULT_STORE = Path("outputs") / "project.sqlite"


def find_store(store: StrPath | None = None, out: StrPath | None = None) -> Path:
    """The store to use: ``store`` when given, else ``<out>/project.sqlite``
    when it exists, else ``outputs/project.sqlite`` of the current folder
    (the default place), else the first of those (for the error message)."""
    if store:
        return Path(store)
    candidates = ([Path(out) / "project.sqlite"] if out else []) + [DEFAULT_STORE]
    return next((c for c in candidates if c.is_file()), candidates[0])


def open_store(path: StrPath | None = None, out: StrPath | None = None):
    """The existing project store at ``path`` (or found by :func:`find_store`
    from ``out``), or a one-line error that says how to make one."""
    from coding.store import Store

    try:
        return Store.open_existing(find_store(path, out))
    except CodingError as exc:
        if exc.message == "no project store here":
            exc.message += "; run 'coding run' first (or give --store)"
        raise


def _coder(args, codebook_optional: bool = False):
    """The coder a command asked for, and its codebook. With the learned
    coder and no --codebook, ``codebook.yaml`` here is used when present,
    else the copy kept in the model."""
    from coding.coders.coder_choice import make_coder

    given = args.codebook if (args.codebook != "codebook.yaml" or not codebook_optional) else None
    return make_coder(args.coder, given, args.model, getattr(args, "min_probability", None))


def _add_coder_options(parser) -> None:
    parser.add_argument("--coder", default="auto", choices=["auto", "learned", "mentions"],
                        help="auto: the codebook's patterns (default); learned: the model trained on people's "
                             "coding, with its evidence; mentions: each mention read in its sentence, with "
                             "a calibrated probability")
    parser.add_argument("--model", default=None,
                        help="model file of the learned or mention coder (default: the one that ships with the "
                             "package)")
    parser.add_argument("--min-probability", type=float, default=None, metavar="P",
                        help="mention coder: keep only codings with at least this probability (fewer, surer "
                             "codings; default: each code's own threshold)")


def _cmd_run(args) -> int:
    from coding.jobs.pipeline import run

    # the coder is handed over, not kept here: run() lets it go before writing the report
    summary = run(args.corpus, args.codebook, args.out, unit=args.unit, prune=args.prune,
                  allow_outside=args.allow_outside, report=not args.no_report, coder=_coder(args)[0])
    print(f"codebook {summary.codebook_version}: {summary.documents} documents "
          f"({summary.coded_documents} coded, {summary.skipped_documents} unchanged), {summary.units} units")
    for var, n in summary.units_per_variable.items():
        print(f"  {var}: {n} units, {summary.codings_per_variable[var]} codings")
    if summary.coders_imported:
        print(f"imported coders: {', '.join(summary.coders_imported)}")
    if summary.coders_skipped:
        print(f"coder files not imported: {', '.join(summary.coders_skipped)}")
    for note in summary.coders_replaced:
        print(f"imported coder {note}")
    if summary.removed_documents:
        print(f"removed from the store (no longer in the manifest): {', '.join(summary.removed_documents)}")
    for coder, units, codings in summary.orphans:
        print(f"kept aside: {coder}'s codings of {units} unit(s) whose text changed or is gone ({codings} codings; "
              "'coding coders list' shows them)")
    unchanged = [path for name, path in summary.outputs.items() if name in summary.unchanged_outputs]
    for name, path in summary.outputs.items():
        if name not in summary.unchanged_outputs:
            print(f"wrote {path}")
    if unchanged:
        print(f"nothing changed in {', '.join(map(str, unchanged))}")
    if summary.errors:
        return _failures("document(s) could not be read",
                         [_advise(str(err), "in the manifest column encoding") for err in summary.errors])
    return 0


def _failures(what: str, messages: list[str]) -> int:
    """Print how many inputs failed and one line each on standard error; the exit status (1)."""
    print(f"{len(messages)} {what}:", file=sys.stderr)
    for message in messages:
        print(f"  {message}", file=sys.stderr)
    return 1


def _advise(message: str, how: str) -> str:
    """A reader's message with the command's way of declaring an encoding."""
    from coding.corpus import UNDECLARED_ENCODING

    return message + f" ({how})" if message.endswith(UNDECLARED_ENCODING) else message


def _cmd_code(args) -> int:
    from coding.jobs.pipeline import code_paths

    errors: list[str] = []
    cpus = os.cpu_count() or 1
    if args.jobs > cpus:
        print(f"coding: --jobs {args.jobs} is more than the {cpus} CPU(s) here; using {cpus}", file=sys.stderr)
    _check_engine_options(args)
    try:
        coder, _ = _coder(args, codebook_optional=True)
        if args.format == "parquet":
            return _code_shards(args, coder)
        counts = code_paths(args.paths, args.out, codebook=args.codebook, unit=args.unit, jobs=args.jobs,
                            coder=coder, errors=errors, encoding=args.encoding, with_text=args.with_text)
    except CodingError as exc:
        raise CodingError(_advise(str(exc), "with --encoding")) from None
    print(f"{counts.get('units', 0)} units, {counts.get('codings', 0)} codings -> {args.out}")
    _report_not_english(coder)
    if errors:
        print(f"{len(errors)} file(s) could not be read:", file=sys.stderr)
        for err in errors:
            print(f"  {_advise(err, 'with --encoding')}", file=sys.stderr)
        return 1
    return 0


def _report_not_english(coder) -> None:
    """Say how many units the coder could not read (not English), rather than leave them silent zeros."""
    n = getattr(coder, "not_english", 0)
    if n:
        print(f"{n} unit(s) not in English: not coded (their rows have no code)")


def _check_engine_options(args) -> None:
    """One-line errors for --format/--engine/--scheduler/--workers that do not go together."""
    if args.engine == "dask" and args.format != "parquet":
        raise CodingError("--engine dask writes Parquet: add --format parquet (--out is then a folder)")
    if (args.scheduler or args.workers) and args.engine != "dask":
        raise CodingError("--scheduler and --workers are for --engine dask")
    if args.scheduler and args.workers:
        raise CodingError("give --scheduler (a running cluster) or --workers (a local one), not both")
    if args.engine == "dask" and args.jobs > 1:
        raise CodingError("--jobs is for the local engine; with --engine dask give --workers")
    if args.format == "parquet" and (args.with_text or args.unit != "paragraph"):
        raise CodingError("--with-text and --unit are for documents and CSV output; Parquet shards are units "
                          "already and pass their own columns through")


def _code_shards(args, coder) -> int:
    from coding.jobs.engine import code_shards

    run = code_shards(args.paths, args.out, codebook=args.codebook, coder=coder, engine=args.engine,
                      jobs=args.jobs, scheduler=args.scheduler, workers=args.workers)
    print(f"{len(run.results)} shard(s) ({run.count('coded')} coded, {run.count('unchanged')} unchanged, "
          f"{run.count('failed')} failed): {run.count('units')} units, {run.count('codings')} codings "
          f"-> {args.out} ({Path(run.manifest).name})")
    if run.failed:
        return _failures("shard(s) could not be coded", [str(r.error) for r in run.failed])
    return 0


def _cmd_codebook_check(args) -> int:
    from coding.codebook import load_codebook
    from coding.coders.dictionary import example_failures

    cb = load_codebook(args.codebook)
    from coding.exchange.export import check_unique_labels

    check_unique_labels(cb)  # what an export would refuse
    failures = example_failures(cb)
    print(f"{cb.path}: version {cb.version}, {len(cb.variables)} variables, {len(cb.codes)} codes")
    for var in cb.variables:
        codes = cb.codes_of(var.id)
        print(f"  {var.id} ({var.label}): {len(codes)} codes")
        for c in codes:
            print(f"    {c.id}: {len(c.patterns)} patterns, {len(c.exclude_patterns)} exclusions, "
                  f"{len(c.examples)} examples, {len(c.counterexamples)} counterexamples")
            for code, kind, text in failures:
                if code == c.id:
                    what = "example not coded" if kind == "example" else "counterexample coded"
                    print(f"      {what} {code}: {text!r}")
    if failures:
        print(f"{len(failures)} example(s) or counterexample(s) fail", file=sys.stderr)
        return 1
    print("all examples and counterexamples pass")
    return 0


# -- coders, agreement, validation, adjudication ---------------------------------


def _num(value, width: int = 6) -> str:
    return f"{'-':>{width}}" if value is None or value != value else f"{value:>{width}.3f}"


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


def _coder_list(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _cmd_agree(args) -> int:
    from coding.agreement.audit import write_agreement
    from coding.files import check_output
    from coding.reports.figures import alpha_figure

    coders = _coder_list(args.coders)
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
    from coding.files import check_output

    with open_store(args.store, args.out) as store:
        check_output(args.out, [store.path])
        table, paths = write_validation(store, args.coder, args.out, predicted=args.predicted)
    print(f"{args.predicted} against {args.coder} (precision: share of {args.predicted}'s codings "
          f"the person shares; recall: share of the person's codings {args.predicted} finds)")
    print(format_validation(table))
    _print_provenance(table)
    for path in paths.values():
        print(f"wrote {path}")
    return 0


def _cmd_reconcile(args) -> int:
    from coding.agreement.audit import reconcile_sheet
    from coding.files import write_frame

    coders = _coder_list(args.coders)
    with open_store(args.store) as store:
        _check_sheet_output(args.out, store)
        sheet = reconcile_sheet(store, coders, args.level)
    write_frame(args.out, sheet)
    print(f"{len(sheet)} disputed item(s) on {sheet['unit_id'].nunique()} unit(s) -> {args.out}")
    print("fill 'decision' with 1 (coded) or 0 (not coded), then: "
          f"coding coders import {args.out} --coder consensus")
    return 0


def _check_sheet_output(out, store, *inputs) -> None:
    """A sheet to fill never replaces the store, a person's coder file (any
    file a coder in the store was imported from) or another input."""
    from coding.files import check_output

    check_output(out, [store.path, *store.coder_sources(), *inputs])


def _add_audit_commands(sub) -> None:
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
    ag.add_argument("--resamples", type=_resamples, default=1000,
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
    va.add_argument("--predicted", "--reference", dest="predicted", default="auto",
                    help="the coder being checked (default: auto)")
    va.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    va.add_argument("--store", default=None, help=found_help)
    va.set_defaults(func=_cmd_validate)

    rc = sub.add_parser("reconcile", help="sheet of two coders' disagreements to settle by hand")
    rc.add_argument("--coders", required=True, help="two comma-separated coders, e.g. human-1,human-2")
    rc.add_argument("--out", required=True, help="adjudication CSV to write")
    rc.add_argument("--level", default="variable", choices=["variable", "code"])
    rc.add_argument("--store", default="outputs/project.sqlite", help=store_help)
    rc.set_defaults(func=_cmd_reconcile)


def _cmd_report(args) -> int:
    from coding.reports.project import EmptySelection, build_report, filtered_folder, manifest_attributes

    doc_types = [t.strip() for part in (args.doc_type or []) for t in part.split(",") if t.strip()] or None
    speakers = [t.strip() for part in (args.speaker or []) for t in part.split(",") if t.strip()] or None
    skip = [t.strip() for part in (args.skip_speaker or []) for t in part.split(",") if t.strip()] or None
    out = args.out or filtered_folder("outputs", doc_types, args.year_from, args.year_to, speakers, skip)
    coders = _coder_list(args.coders) if args.coders else None
    from coding.files import check_output

    found = find_store(args.store, args.out or "outputs")
    if args.out and not args.store and found == DEFAULT_STORE and found.is_file():
        # said aloud: which store answers must never depend silently on the folder the command runs in
        print(f"coding: no store in {args.out}; reading {found}", file=sys.stderr)
    with open_store(args.store, args.out or "outputs") as store:
        check_output(out, [store.path])
        try:
            attributes = manifest_attributes(args.corpus) if args.corpus else None
            files = build_report(store, out, coder=args.coder, doc_types=doc_types, year_from=args.year_from,
                                 year_to=args.year_to, exemplars=args.exemplars, coders=coders, speakers=speakers,
                                 skip_speakers=skip, seen_rule=args.seen, attributes=attributes)
        except EmptySelection as exc:
            print(f"coding: error: {exc}", file=sys.stderr)
            return 1
    if not files.written:
        print(f"nothing changed: {files['report.html']} and the other {len(files.unchanged) - 1} files are "
              "as they were")
    else:
        print(f"wrote {files['report.html']}: {len(files.written)} file(s) written, {len(files.unchanged)} unchanged")
    return 0


def _whole_number(low: int, high: int | None = None):
    """An argparse type: a whole number from ``low`` (to ``high``, when given)."""

    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            n = None
        if n is None or n < low or (high is not None and n > high):
            bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise argparse.ArgumentTypeError(f"must be a whole number {bounds}, not {value!r}")
        return n

    return parse


#: bounds of ``agree --resamples``: fewer give no usable interval, more take minutes per item for nothing
MIN_RESAMPLES, MAX_RESAMPLES = 100, 100_000
_non_negative, _positive = _whole_number(0), _whole_number(1)
_resamples = _whole_number(MIN_RESAMPLES, MAX_RESAMPLES)
#: cross-validation folds: at least 2 (at most the number of documents, checked once they are known)
_folds = _whole_number(2)


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
            examples = from_store(store, _coder_list(args.coders), args.level)
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
        lines.append(f"{r.variable:<18} {r.coder:<14} {_num(r.precision)} {_num(r.recall)} {_num(r.f1)} "
                     f"{_num(r.alpha)}  {r.alpha_min:.3f}-{r.alpha_max:.3f}")
    return "\n".join(lines)


def _cmd_suggest(args) -> int:
    from coding.coders.suggest import suggest
    from coding.files import write_frame

    if args.coder not in ("learned", "mentions"):
        raise CodingError("suggestions come from the learned or mention coder (--coder learned or mentions)")
    with open_store(args.store) as store:
        _check_sheet_output(args.out, store, args.model, args.codebook)
        coder, _ = _coder(args)
        sheet = suggest(store, coder, args.n, args.random, args.seed)
    write_frame(args.out, sheet)
    print(f"{len(sheet)} unit(s) to code -> {args.out}: fill the variable columns with 1 (coded) or leave them "
          f"empty, then: coding coders import {args.out} --coder NAME")
    return 0


def _add_learning_commands(sub) -> None:
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
    le.add_argument("--folds", type=_folds, default=5,
                    help="cross-validation folds (default: 5; from 2 to the number of documents)")
    le.add_argument("--repeats", type=_positive, default=3, help="cross-validation repeats (default: 3)")
    le.set_defaults(func=_cmd_learn)
    sg = sub.add_parser("suggest", help="the units people should code next (active learning)")
    sg.add_argument("--coder", default="learned", choices=["learned", "mentions"],
                    help="whose uncertainty ranks the units (mentions: at the level of codes)")
    sg.add_argument("--model", default=None, help="model file (default: the shipped one)")
    sg.add_argument("--n", type=_non_negative, default=50, help="least certain units (default: 50)")
    sg.add_argument("--random", type=_non_negative, default=10, help="units drawn at random besides (default: 10)")
    sg.add_argument("--seed", type=int, default=0)
    sg.add_argument("--out", required=True, help="coder sheet to write (.csv)")
    sg.add_argument("--codebook", default="codebook.yaml")
    sg.add_argument("--store", default="outputs/project.sqlite")
    sg.set_defaults(func=_cmd_suggest)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``coding`` command."""
    p = argparse.ArgumentParser(prog="coding", description="Reproducible qualitative content analysis.")
    p.add_argument("--version", action="version", version=f"coding {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for add in (_add_run_command, _add_code_command, _add_report_command, _add_codebook_command,
                _add_audit_commands, _add_learning_commands, _add_exchange_commands):
        add(sub)
    _add_serve_command(sub)
    return p


def _cmd_serve(args) -> int:
    from coding.app.desk import Options
    from coding.app.web import serve

    coders = tuple(_coder_list(args.coders)) if args.coders else ()
    options = Options(coder=args.coder or "", mode=args.mode, order=args.order, n=args.n, seed=args.seed,
                      coders=coders, consensus=args.consensus, machine=args.machine, codebook=args.codebook,
                      model=args.model, retrain_every=args.retrain_every)
    try:
        serve(find_store(args.store), options, host=args.host, port=args.port, open_browser=not args.no_browser,
              announce=lambda url: print(f"coding in the browser at {url}\n(Ctrl+C stops the server; every "
                                         "decision is already in the store)", flush=True))
    except KeyboardInterrupt:
        pass
    return 0


def _add_serve_command(sub) -> None:
    """``serve``: the coding app in the browser."""
    sv = sub.add_parser("serve", help="code units in the browser (a local app on the store)")
    sv.add_argument("--store", default=None, help="project store (default: outputs/project.sqlite)")
    sv.add_argument("--coder", help="the person's name (default: asked on the first page)")
    sv.add_argument("--mode", default="blind", choices=["blind", "review", "adjudicate"],
                    help="blind: nothing of another coder shown (default); review: the machine coder's proposals, "
                         "stored as NAME-review; adjudicate: where --coders differ, stored as --consensus")
    sv.add_argument("--order", default="documents", choices=["documents", "random", "active"],
                    help="documents in order (default), a random sample (--n, --seed), or active learning")
    sv.add_argument("--n", type=_non_negative, default=0,
                    help="units in the plan (default: all in document order, 100 at random, 50 active)")
    sv.add_argument("--seed", type=int, default=0, help="seed of the random sample (default: 0)")
    sv.add_argument("--coders", help="the two coders to adjudicate, e.g. human-1,human-2")
    sv.add_argument("--consensus", default="consensus", help="coder name of adjudicated decisions")
    sv.add_argument("--machine", default="", help="the machine coder shown in review mode (default: the default "
                                                   "coder, auto)")
    sv.add_argument("--codebook", default=None, help="codebook of the machine coder (default: codebook.yaml)")
    sv.add_argument("--model", default=None, help="learned coder's model (default: the shipped one)")
    sv.add_argument("--retrain-every", type=_non_negative, default=20,
                    help="active learning: train the learned coder again every N decisions (0: never)")
    sv.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default: 127.0.0.1, this machine only; another prints a warning)")
    sv.add_argument("--port", type=_non_negative, default=0, help="port (default: a free one)")
    sv.add_argument("--no-browser", action="store_true", help="print the address without opening a browser")
    sv.set_defaults(func=_cmd_serve)


def _add_run_command(sub) -> None:
    r = sub.add_parser("run", help="code the corpus into the store and write the outputs")
    r.add_argument("--corpus", default="corpus", help="corpus folder with manifest.csv (default: corpus)")
    r.add_argument("--codebook", default="codebook.yaml", help="codebook file (default: codebook.yaml)")
    r.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    r.add_argument("--unit", default="paragraph", choices=["paragraph", "sentence"], help="unit of analysis")
    r.add_argument("--prune", action="store_true",
                   help="remove stored documents the manifest no longer lists, even many or ones with "
                        "people's codings (those codings are kept aside as orphans)")
    r.add_argument("--no-report", action="store_true",
                   help="code into the store and write segments.csv and codings.csv only (no tables, figures, "
                        "report.html)")
    r.add_argument("--allow-outside", action="store_true",
                   help="read manifest paths that leave the corpus folder (../, absolute)")
    _add_coder_options(r)
    r.set_defaults(func=_cmd_run)


def _add_code_command(sub) -> None:
    c = sub.add_parser("code", help="code texts outside the corpus (no store)")
    c.add_argument("paths", nargs="+",
                   help=".txt/.md/.docx/.pdf files, folders of them, or .csv/.jsonl/.parquet tables of units with "
                        "id,text (globs in quotes: 'shards/*.parquet')")
    c.add_argument("--out", required=True, help="output CSV (a folder with --format parquet)")
    c.add_argument("--encoding", default="", help="encoding of plain-text files (default: UTF-8)")
    c.add_argument("--with-text", action="store_true",
                   help="add the code's label and the unit's text (columns a coder-file import ignores)")
    c.add_argument("--codebook", default="codebook.yaml")
    c.add_argument("--unit", default="paragraph", choices=["paragraph", "sentence"])
    c.add_argument("--jobs", type=_positive, default=1, help="worker processes (default: 1)")
    c.add_argument("--format", default="csv", choices=["csv", "parquet"],
                   help="csv: one file; parquet: a folder with one file per shard, their other columns passed "
                        "through, and _manifest.json (default: csv)")
    c.add_argument("--engine", default="local", choices=["local", "dask"],
                   help="dask: one task per shard on a Dask cluster (needs --format parquet and "
                        "pip install 'coding[dask]')")
    c.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    c.add_argument("--workers", type=_positive, help="worker processes of a local Dask cluster (default: CPUs)")
    _add_coder_options(c)
    c.set_defaults(func=_cmd_code)


def _add_report_command(sub) -> None:
    rp = sub.add_parser("report", help="rebuild tables, figures and report.html from the store")
    rp.add_argument("--coder", default="auto", help="whose codings to report (default: auto)")
    rp.add_argument("--doc-type", action="append", help="keep these doc types (repeat or comma-separate)")
    rp.add_argument("--from", dest="year_from", type=int, help="first document year to keep")
    rp.add_argument("--to", dest="year_to", type=int, help="last document year to keep")
    rp.add_argument("--speaker", action="append",
                    help="keep only units spoken by these speakers (turn labels in interviews, else the "
                         "manifest's speaker; repeat or comma-separate)")
    rp.add_argument("--skip-speaker", action="append",
                    help="leave out units spoken by these speakers, e.g. --skip-speaker Interviewer")
    rp.add_argument("--corpus", default=None,
                    help="corpus folder whose manifest's extra columns the crosstabs take (coding run does this)")
    rp.add_argument("--exemplars", type=_non_negative, default=3, help="quotations per code (default: 3)")
    rp.add_argument("--coders", help="comma-separated coders shown in the agreement section and on the document "
                                     "pages (default: every coder)")
    rp.add_argument("--seen", default="coded-documents", choices=["coded-documents", "coded-units"],
                    help="for a coder whose seen units an import inferred: the units of the documents it coded in "
                         "(default) or only the units it coded")
    rp.add_argument("--out", default=None,
                    help="output folder (default: outputs; a filtered report: outputs/reports/<filters>)")
    rp.add_argument("--store", default=None,
                    help="project store (default: <out>/project.sqlite, else outputs/project.sqlite)")
    rp.set_defaults(func=_cmd_report)


def _add_codebook_command(sub) -> None:
    cb = sub.add_parser("codebook", help="codebook tools")
    cbsub = cb.add_subparsers(dest="codebook_command", required=True)
    chk = cbsub.add_parser("check", help="validate the codebook and test its examples")
    chk.add_argument("--codebook", default="codebook.yaml")
    chk.set_defaults(func=_cmd_codebook_check)


# -- REFI-QDA exchange ----------------------------------------------------------

def _cmd_export_codebook(args) -> int:
    from coding.codebook import load_codebook
    from coding.exchange import export_codebook, validate_schema
    from coding.files import check_output

    check_output(args.out, [args.codebook])
    path = export_codebook(load_codebook(args.codebook), args.out)
    validate_schema(path, own=True)
    print(f"wrote {path}")
    return 0


def _cmd_export_project(args) -> int:
    from coding.exchange import export_project, validate_schema

    coders = [c.strip() for c in args.coders.split(",") if c.strip()] if args.coders else None
    from coding.files import check_output

    with open_store(args.store, Path(args.out).parent) as store:
        check_output(args.out, [store.path])
        path = export_project(store, args.out, coders=coders, active_coder=args.active_coder)
    validate_schema(path, own=True)
    print(f"wrote {path}")
    return 0


def _cmd_import(args) -> int:
    from coding.exchange import import_codebook, import_project

    suffix = Path(args.path).suffix.lower()
    if suffix in (".qdc", ".qdpx") and not Path(args.path).is_file():
        raise CodingError("file not found", args.path)
    from coding.codebook import load_codebook

    if suffix == ".qdc":
        out = args.out or "codebook.yaml"
        if Path(out).exists() and not args.force:
            raise CodingError("file exists; choose another --out or add --force", out)
        from coding.files import check_output

        check_output(out, [args.path])
        # the current codebook lends its ids to items with its labels (QDA programs write new GUIDs)
        current_path = args.codebook or ("codebook.yaml" if Path("codebook.yaml").is_file() else None)
        try:
            current = load_codebook(current_path) if current_path else None
        except CodingError as exc:
            exc.message += " (the codebook whose ids the import keeps; give another with --codebook)"
            raise
        notes: list[str] = []
        entries = import_codebook(args.path, out, codebook=current, notes=notes)
        for note in notes:
            print(f"  note: {note}")
        n_vars = sum(1 for e in entries if not e.parent)
        kept = sum(1 for e in entries if current and e.id in current.variable_ids + current.code_ids)
        same = f" ({kept} ids kept from {current_path})" if current else ""
        to_fill = Path(out).read_text(encoding="utf-8").count("TO FILL:")
        print(f"wrote {out}: {n_vars} variables, {len(entries) - n_vars} codes{same}; "
              + (f"fill in the patterns of {to_fill} code(s) before use" if to_fill else "ready to use"))
        return 0
    if suffix != ".qdpx":
        raise CodingError("cannot import this file type (expected .qdpx or .qdc)", args.path)
    if not args.coder:
        raise CodingError("importing a project needs --coder NAME", args.path)
    from coding.coder_files import check_person_name, check_replace

    codebook = load_codebook(args.codebook or "codebook.yaml")
    with open_store(args.store) as store:
        check_replace(store, check_person_name(args.coder, args.path), args.replace, args.path)
        report = import_project(store, args.path, args.coder, codebook, min_overlap=args.min_overlap,
                                user=args.user, seen=args.seen, new_codes=args.new_codes)
    for line in report.lines():
        print(line)
    if report.seen_from and report.seen_from != "project":
        print(f"  (units seen inferred as --seen {report.seen_from}; the other choice: "
              f"--seen {'documents' if report.seen_from == 'coded' else 'coded'})")
        print("  (stored as inferred: coding agree --seen coded-units counts only the units the coder coded)")
    if not report.stored:
        print(f"coding: nothing was stored for coder {args.coder.strip()} (see the report above)", file=sys.stderr)
        return 1
    if report.refused_codes:
        print(f"coding: {report.refused_codes} coding(s) of {len(report.unknown_codes)} code(s) not in the codebook "
              "were refused; add the codes to the codebook, or import again with --new-codes to keep them as "
              "span codings under new codes", file=sys.stderr)
        return 1
    return 0


def _add_exchange_commands(sub) -> None:
    """``export`` and ``import``: REFI-QDA codebooks (.qdc) and projects (.qdpx)."""
    ex = sub.add_parser("export", help="export to REFI-QDA (ATLAS.ti, MAXQDA, NVivo, QualCoder...)")
    exsub = ex.add_subparsers(dest="export_command", required=True)
    cb = exsub.add_parser("codebook", help="the codebook as a .qdc file")
    cb.add_argument("--format", default="qdc", choices=["qdc"], help="output format (default: qdc)")
    cb.add_argument("--out", required=True, help="output .qdc file")
    cb.add_argument("--codebook", default="codebook.yaml")
    cb.set_defaults(func=_cmd_export_codebook)
    pr = exsub.add_parser("project", help="documents and codings as a .qdpx project")
    pr.add_argument("--out", required=True, help="output .qdpx file")
    pr.add_argument("--coders", help="comma-separated coder names (default: all)")
    pr.add_argument("--active-coder", help="the coder listed first, whom QualCoder opens the project as "
                                           "(default: people before machine coders)")
    pr.add_argument("--store", default=None,
                    help="project store (default: project.sqlite beside --out, else outputs/project.sqlite)")
    pr.set_defaults(func=_cmd_export_project)

    im = sub.add_parser("import", help="import a REFI-QDA project (.qdpx) or codebook (.qdc)")
    im.add_argument("path", help=".qdpx project or .qdc codebook")
    im.add_argument("--coder", help="name for the imported codings (.qdpx)")
    im.add_argument("--user", help="import only this project user's codings (name or GUID)")
    im.add_argument("--min-overlap", type=float, default=0.5,
                    help="share of a unit's characters a selection must cover to code it (default: 0.5)")
    im.add_argument("--seen", default="coded", choices=["coded", "documents"],
                    help="when the project does not record which units the user saw (files from other "
                         "programs): every unit of the documents the user coded (default), or of every "
                         "matched document (.qdpx)")
    im.add_argument("--new-codes", action="store_true",
                    help="keep codings of codes the codebook does not have (matched by GUID, label or definition) "
                         "as span codings under new codes, instead of refusing them (.qdpx)")
    im.add_argument("--store", default="outputs/project.sqlite")
    im.add_argument("--codebook", help="the current codebook (default: codebook.yaml); a .qdc import keeps "
                                       "its ids for codes with its labels")
    im.add_argument("--out", help="codebook YAML to write (.qdc; default: codebook.yaml)")
    im.add_argument("--force", action="store_true", help="overwrite --out if it exists (.qdc)")
    im.add_argument("--replace", action="store_true",
                    help="replace the codings of a coder already in the store (.qdpx)")
    im.set_defaults(func=_cmd_import)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``coding`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # the reader went away (coding ... | head): stop quietly, as other Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except CodingError as exc:
        print(f"coding: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an output that cannot be written (a folder, no permission): one line too
        print(f"coding: error: {exc.filename2 or exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("coding: interrupted; the store keeps every document committed so far", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
