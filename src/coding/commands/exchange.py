"""``coding export`` and ``coding import``: REFI-QDA codebooks (.qdc) and
projects (.qdpx), over :mod:`coding.exchange`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from coding.commands.common import open_store
from coding.errors import CodingError

if TYPE_CHECKING:
    from coding.codebook import Codebook


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
    suffix = Path(args.path).suffix.lower()
    if suffix in (".qdc", ".qdpx") and not Path(args.path).is_file():
        raise CodingError("file not found", args.path)
    if suffix == ".qdc":
        return _import_codebook(args)
    if suffix != ".qdpx":
        raise CodingError("cannot import this file type (expected .qdpx or .qdc)", args.path)
    if not args.coder:
        raise CodingError("importing a project needs --coder NAME", args.path)
    return _import_project(args)


def _import_codebook(args) -> int:
    """A .qdc codebook written as codebook YAML (``--out``)."""
    from coding.exchange import import_codebook
    from coding.files import check_output

    out = args.out or "codebook.yaml"
    if Path(out).exists() and not args.force:
        raise CodingError("file exists; choose another --out or add --force", out)
    check_output(out, [args.path])
    # the current codebook lends its ids to items with its labels (QDA programs write new GUIDs)
    current_path = args.codebook or ("codebook.yaml" if Path("codebook.yaml").is_file() else None)
    current = _current_codebook(current_path)
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


def _current_codebook(path: str | None) -> Codebook | None:
    """The codebook whose ids a .qdc import keeps, when there is one."""
    from coding.codebook import load_codebook

    try:
        return load_codebook(path) if path else None
    except CodingError as exc:
        exc.message += " (the codebook whose ids the import keeps; give another with --codebook)"
        raise


def _import_project(args) -> int:
    """A .qdpx project's codings stored as coder ``--coder``; 1 when nothing, or not all, was stored."""
    from coding.codebook import load_codebook
    from coding.coder_files import check_person_name, check_replace
    from coding.exchange import import_project

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


def add_commands(sub) -> None:
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
