"""The ``coding`` command: a thin layer over the library functions.

Exit status: 0 on success, 1 when a run finished but some documents could
not be read, 2 on bad input (the message names the file, line or unit).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coding import __version__
from coding.errors import CodingError


def _cmd_run(args) -> int:
    from coding.pipeline import run

    summary = run(args.corpus, args.codebook, args.out, unit=args.unit)
    print(f"codebook {summary.codebook_version}: {summary.documents} documents "
          f"({summary.coded_documents} coded, {summary.skipped_documents} unchanged), {summary.units} units")
    for var, n in summary.units_per_variable.items():
        print(f"  {var}: {n} units, {summary.codings_per_variable[var]} codings")
    if summary.coders_imported:
        print(f"imported coders: {', '.join(summary.coders_imported)}")
    if summary.removed_documents:
        print(f"removed from the store (no longer in the manifest): {', '.join(summary.removed_documents)}")
    for name, path in summary.outputs.items():
        print(f"wrote {path}")
    if summary.errors:
        print(f"{len(summary.errors)} document(s) could not be read:", file=sys.stderr)
        for err in summary.errors:
            print(f"  {err}", file=sys.stderr)
        return 1
    return 0


def _cmd_code(args) -> int:
    from coding.pipeline import code_paths

    counts = code_paths(args.paths, args.out, codebook=args.codebook, unit=args.unit, jobs=args.jobs)
    print(f"{counts.get('units', 0)} units, {counts.get('codings', 0)} codings -> {args.out}")
    return 0


def _cmd_codebook_check(args) -> int:
    from coding.codebook import load_codebook
    from coding.coder import Coder

    cb = load_codebook(args.codebook)
    coder = Coder(cb)
    print(f"{cb.path}: version {cb.version}, {len(cb.variables)} variables, {len(cb.codes)} codes")
    failures = 0
    for var in cb.variables:
        codes = cb.codes_of(var.id)
        print(f"  {var.id} ({var.label}): {len(codes)} codes")
        for c in codes:
            print(f"    {c.id}: {len(c.patterns)} patterns, {len(c.exclude_patterns)} exclusions, "
                  f"{len(c.examples)} examples, {len(c.counterexamples)} counterexamples")
            for ex in c.examples:
                if c.id not in coder.code_text(ex):
                    failures += 1
                    print(f"      example not coded {c.id}: {ex!r}")
            for ex in c.counterexamples:
                if c.id in coder.code_text(ex):
                    failures += 1
                    print(f"      counterexample coded {c.id}: {ex!r}")
    if failures:
        print(f"{failures} example(s) or counterexample(s) fail", file=sys.stderr)
        return 1
    print("all examples and counterexamples pass")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``coding`` command."""
    p = argparse.ArgumentParser(prog="coding", description="Reproducible qualitative content analysis.")
    p.add_argument("--version", action="version", version=f"coding {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="code the corpus into the store and write the outputs")
    r.add_argument("--corpus", default="corpus", help="corpus folder with manifest.csv (default: corpus)")
    r.add_argument("--codebook", default="codebook.yaml", help="codebook file (default: codebook.yaml)")
    r.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    r.add_argument("--unit", default="paragraph", choices=["paragraph", "sentence"], help="unit of analysis")
    r.set_defaults(func=_cmd_run)

    c = sub.add_parser("code", help="code texts outside the corpus (no store)")
    c.add_argument("paths", nargs="+", help=".txt/.md files, folders, or .csv/.jsonl of units with id,text")
    c.add_argument("--out", required=True, help="output CSV")
    c.add_argument("--codebook", default="codebook.yaml")
    c.add_argument("--unit", default="paragraph", choices=["paragraph", "sentence"])
    c.add_argument("--jobs", type=int, default=1, help="worker processes (default: 1)")
    c.set_defaults(func=_cmd_code)

    cb = sub.add_parser("codebook", help="codebook tools")
    cbsub = cb.add_subparsers(dest="codebook_command", required=True)
    chk = cbsub.add_parser("check", help="validate the codebook and test its examples")
    chk.add_argument("--codebook", default="codebook.yaml")
    chk.set_defaults(func=_cmd_codebook_check)
    return p


def main(argv=None) -> int:
    """Entry point of the ``coding`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CodingError as exc:
        print(f"coding: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("coding: interrupted; the store keeps every document committed so far", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
