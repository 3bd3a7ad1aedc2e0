"""``coding report``: tables, figures and ``report.html`` rebuilt from the
store, for a selection of documents, speakers and coders."""

from __future__ import annotations

import sys

from coding.commands.common import DEFAULT_STORE, coder_list, find_store, non_negative, open_store


def _cmd_report(args) -> int:
    from coding.reports.project import EmptySelection, build_report, filtered_folder, manifest_attributes

    doc_types, speakers, skip = _listed(args.doc_type), _listed(args.speaker), _listed(args.skip_speaker)
    out = args.out or filtered_folder("outputs", doc_types, args.year_from, args.year_to, speakers, skip)
    coders = coder_list(args.coders) if args.coders else None
    from coding.files import check_output

    _say_which_store(args)
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


def _listed(values: list[str] | None) -> list[str] | None:
    """The names of a repeated, comma-separated option, or None when none is given."""
    return [t.strip() for part in (values or []) for t in part.split(",") if t.strip()] or None


def _say_which_store(args) -> None:
    """Say so when ``--out`` has no store and the default one answers:
    which store answers must never depend silently on the folder the
    command runs in."""
    found = find_store(args.store, args.out or "outputs")
    if args.out and not args.store and found == DEFAULT_STORE and found.is_file():
        print(f"coding: no store in {args.out}; reading {found}", file=sys.stderr)


def add_commands(sub) -> None:
    """``report``."""
    rp = sub.add_parser("report", help="rebuild tables, figures and report.html from the store")
    rp.add_argument("--coder", default=None,
                    help="whose codings to report (default: the default coder, as coding run chose it)")
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
    rp.add_argument("--exemplars", type=non_negative, default=3, help="quotations per code (default: 3)")
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
