"""Worker processes of ``coding code --jobs N``: what each one is coding,
and one line when one dies.

multiprocessing's pool starts a new worker in place of one that died
(killed, out of memory) but never returns the item the dead one was coding,
so the parent would wait for it without end. Each worker notes the item it
takes in a small file of its own (``<folder>/<pid>.item``); the parent waits
for results a little at a time and, when a worker it started has died, stops
with a one-line error naming that worker's item.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path

from coding.errors import CodingError

#: folders of the workers' notes (and rows) beside the output: ``<prefix><pid>-<random>``, the
#: parent's process id, so that a later run can tell those of killed runs
PARTS_PREFIX = ".coding-parts-"

#: how often the parent looks for dead workers while it waits (seconds)
POLL_SECONDS = 0.5


def note_item(folder: str, what: str) -> None:
    """In a worker: record that it now codes ``what`` (a file or shard)."""
    with open(os.path.join(folder, f"{os.getpid()}.item"), "w", encoding="utf-8") as fh:
        fh.write(what)


def children() -> set[int]:
    """The process ids of this process's live children (call before a pool
    starts, to tell its workers from other children afterwards)."""
    return {p.pid for p in multiprocessing.active_children() if p.pid is not None}


def started(before: set[int]) -> list:
    """The pool's worker processes: the children not in ``before``. Call it as
    soon as the pool is made, before it is given work: ``active_children``
    forgets a child once it has died, so a worker that died before this call
    could not be told from its replacement, and the parent would wait for its
    item without end."""
    return [p for p in multiprocessing.active_children() if p.pid not in before]


def watched(results, workers: list, folder: str, what: str = "file") -> Iterator:
    """The results of a pool's ``imap``/``imap_unordered`` iterator, as they
    come; CodingError naming the item of one of ``workers`` (of
    :func:`started`) that has died."""
    while True:
        try:
            result = results.next(timeout=POLL_SECONDS)
        except StopIteration:
            return
        except multiprocessing.TimeoutError:
            _check(workers, folder, what)
            continue
        yield result


def _check(workers, folder: str, what: str) -> None:
    dead = next((p for p in workers if p.exitcode not in (None, 0)), None)
    if dead is None:
        return
    code = dead.exitcode
    how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
    try:
        item = Path(folder, f"{dead.pid}.item").read_text(encoding="utf-8")
    except OSError:  # died before it took an item
        item = None
    raise CodingError(f"a worker process died ({how}) while coding this {what}; nothing more was coded "
                      "(out of memory? run again, perhaps with fewer --jobs)", item)
