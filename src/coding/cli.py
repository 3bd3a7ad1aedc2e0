"""The ``coding`` command: a thin layer over the library functions.

Exit status: 0 on success, 1 when a run finished but some documents could
not be read, 2 on bad input (the message names the file, line or unit).

The sub-commands live in :mod:`coding.commands`, one module per stage;
this module puts their parsers together and turns errors into one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from coding import __version__
from coding.commands import audit, codebook, exchange, learning, report, run, serve
from coding.commands.audit import format_agreement, format_validation
from coding.commands.common import DEFAULT_STORE, find_store, open_store
from coding.commands.learning import format_cv, skipped_codes
from coding.errors import CodingError

__all__ = ["DEFAULT_STORE", "build_parser", "find_store", "format_agreement", "format_cv", "format_validation",
           "main", "open_store", "skipped_codes"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``coding`` command."""
    p = argparse.ArgumentParser(prog="coding", description="Reproducible qualitative content analysis.")
    p.add_argument("--version", action="version", version=f"coding {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for commands in (run, report, codebook, audit, learning, exchange, serve):
        commands.add_commands(sub)
    return p


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
