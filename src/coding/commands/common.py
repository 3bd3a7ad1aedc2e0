"""What the commands share: finding and opening the project store, the
coder a command asked for, its options, argument types, and the lines that
report failed inputs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coding.errors import CodingError
from coding.records import StrPath

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


def chosen_coder(args, codebook_optional: bool = False):
    """The coder a command asked for, and its codebook. With the learned
    coder and no --codebook, ``codebook.yaml`` here is used when present,
    else the copy kept in the model."""
    from coding.coders.coder_choice import make_coder

    given = args.codebook if (args.codebook != "codebook.yaml" or not codebook_optional) else None
    return make_coder(args.coder, given, args.model, getattr(args, "min_probability", None))


def add_coder_options(parser) -> None:
    """``--coder``, ``--model`` and ``--min-probability`` of a command that codes."""
    parser.add_argument("--coder", default=None, choices=["auto", "learned", "mentions"],
                        help="mentions: each mention read in its sentence, with a calibrated probability "
                             "(default when the shipped model was made for the codebook); auto: the codebook's "
                             "patterns (default otherwise); learned: the model trained on people's coding, "
                             "with its evidence")
    parser.add_argument("--model", default=None,
                        help="model file of the learned or mention coder (default: the one that ships with the "
                             "package)")
    parser.add_argument("--min-probability", type=float, default=None, metavar="P",
                        help="mention coder: keep only codings with at least this probability (fewer, surer "
                             "codings; default: each code's own threshold)")


def failures(what: str, messages: list[str]) -> int:
    """Print how many inputs failed and one line each on standard error; the exit status (1)."""
    print(f"{len(messages)} {what}:", file=sys.stderr)
    for message in messages:
        print(f"  {message}", file=sys.stderr)
    return 1


def advise(message: str, how: str) -> str:
    """A reader's message with the command's way of declaring an encoding."""
    from coding.corpus import UNDECLARED_ENCODING

    return message + f" ({how})" if message.endswith(UNDECLARED_ENCODING) else message


def coder_list(text: str) -> list[str]:
    """The coder names of a comma-separated option."""
    return [c.strip() for c in text.split(",") if c.strip()]


def num(value, width: int = 6) -> str:
    """A figure in a fixed-width column, three decimals; "-" when missing (None or NaN)."""
    return f"{'-':>{width}}" if value is None or value != value else f"{value:>{width}.3f}"


def check_sheet_output(out, store, *inputs) -> None:
    """A sheet to fill never replaces the store, a person's coder file (any
    file a coder in the store was imported from) or another input."""
    from coding.files import check_output

    check_output(out, [store.path, *store.coder_sources(), *inputs])


def whole_number(low: int, high: int | None = None):
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
non_negative, positive = whole_number(0), whole_number(1)
resamples = whole_number(MIN_RESAMPLES, MAX_RESAMPLES)
#: cross-validation folds: at least 2 (at most the number of documents, checked once they are known)
folds = whole_number(2)
