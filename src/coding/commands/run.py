"""``coding run`` (the corpus into the store and the outputs) and ``coding
code`` (loose texts into a CSV, or shards into Parquet), over
:mod:`coding.jobs`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from coding.commands.common import add_coder_options, advise, chosen_coder, failures, positive
from coding.errors import CodingError


def _cmd_run(args) -> int:
    from coding.jobs.run import run

    # the coder is handed over, not kept here: run() lets it go before writing the report
    summary = run(args.corpus, args.codebook, args.out, unit=args.unit, prune=args.prune,
                  allow_outside=args.allow_outside, report=not args.no_report, coder=chosen_coder(args)[0])
    print(f"codebook {summary.codebook_version}, coder {summary.coder}: {summary.documents} documents "
          f"({summary.coded_documents} coded, {summary.skipped_documents} unchanged), {summary.units} units")
    for var, n in summary.units_per_variable.items():
        print(f"  {var}: {n} units, {summary.codings_per_variable[var]} codings")
    if summary.not_english:
        print(f"{summary.not_english} unit(s) not in English: not coded (no coding of theirs in the store)")
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
        return failures("document(s) could not be read",
                         [advise(str(err), "in the manifest column encoding") for err in summary.errors])
    return 0


def _cmd_code(args) -> int:
    from coding.jobs.code_paths import code_paths

    errors: list[str] = []
    cpus = os.cpu_count() or 1
    if args.jobs > cpus:
        print(f"coding: --jobs {args.jobs} is more than the {cpus} CPU(s) here; using {cpus}", file=sys.stderr)
    _check_engine_options(args)
    try:
        coder, _ = chosen_coder(args, codebook_optional=True)
        if args.format == "parquet":
            return _code_shards(args, coder)
        counts = code_paths(args.paths, args.out, codebook=args.codebook, unit=args.unit, jobs=args.jobs,
                            coder=coder, errors=errors, encoding=args.encoding, with_text=args.with_text)
    except CodingError as exc:
        raise CodingError(advise(str(exc), "with --encoding")) from None
    print(f"{counts.get('units', 0)} units, {counts.get('codings', 0)} codings by {coder.name} -> {args.out}")
    if counts.get("not_english"):
        print(f"{counts['not_english']} unit(s) not in English: not coded (their rows have no code)")
    if errors:
        print(f"{len(errors)} file(s) could not be read:", file=sys.stderr)
        for err in errors:
            print(f"  {advise(err, 'with --encoding')}", file=sys.stderr)
        return 1
    return 0


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
    assert run.manifest is not None, "code_shards writes the manifest of every run"
    print(f"{len(run.results)} shard(s) ({run.count('coded')} coded, {run.count('unchanged')} unchanged, "
          f"{run.count('failed')} failed): {run.count('units')} units, {run.count('codings')} codings "
          f"-> {args.out} ({Path(run.manifest).name})")
    if run.failed:
        return failures("shard(s) could not be coded", [str(r.error) for r in run.failed])
    return 0


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
    add_coder_options(r)
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
    c.add_argument("--jobs", type=positive, default=1, help="worker processes (default: 1)")
    c.add_argument("--format", default="csv", choices=["csv", "parquet"],
                   help="csv: one file; parquet: a folder with one file per shard, their other columns passed "
                        "through, and _manifest.json (default: csv)")
    c.add_argument("--engine", default="local", choices=["local", "dask"],
                   help="dask: one task per shard on a Dask cluster (needs --format parquet and "
                        "pip install 'coding[dask]')")
    c.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    c.add_argument("--workers", type=positive, help="worker processes of a local Dask cluster (default: CPUs)")
    add_coder_options(c)
    c.set_defaults(func=_cmd_code)


def add_commands(sub) -> None:
    """``run`` and ``code``."""
    _add_run_command(sub)
    _add_code_command(sub)
