"""``coding codebook check``: the codebook validated and its examples tested."""

from __future__ import annotations

import sys


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


def add_commands(sub) -> None:
    """``codebook check``."""
    cb = sub.add_parser("codebook", help="codebook tools")
    cbsub = cb.add_subparsers(dest="codebook_command", required=True)
    chk = cbsub.add_parser("check", help="validate the codebook and test its examples")
    chk.add_argument("--codebook", default="codebook.yaml")
    chk.set_defaults(func=_cmd_codebook_check)
