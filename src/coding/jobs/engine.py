"""Coding shards into Parquet: one output file per input shard, on this
machine (one process or a pool) or on a Dask cluster.

Each shard (see :mod:`coding.jobs.shards`) is one task: its units are read a
batch at a time, coded, and written with their passed-through columns to
``<out>/<shard path>.parquet`` under a temporary name that is renamed when
complete, so no partial file ever stays. The footer of each output records
the SHA-256 of its input, the coder's name and version, the codebook
version and the row counts; a rerun into the same folder keeps every output
whose footer still matches (resumable long jobs: a killed run loses only
the shards in progress). A shard that cannot be read is reported by name,
in the manifest too, and the others are still coded.

``_manifest.json`` lists the shards with their hashes and counts, the coder
and the codebook; ``_SUCCESS`` is written when every shard was coded. Both
start with "_", which Parquet readers skip when reading the folder as a
dataset. Nothing in the output depends on the engine, the number of
workers or the order in which shards finish: a run on a cluster gives the
same bytes as a local run.

On Dask the coder is built once in the client and handed to every worker
once, by a worker plugin (:mod:`coding.jobs.dask_worker`; a worker that
replaces a killed one gets it too); each task only names its shard. dask
and distributed are imported only when that engine is used. The workers
must see the shards and the output folder at the same paths as the client
(a shared file system on a cluster).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

from coding.codebook import load_codebook
from coding.errors import CodingError, first_line
from coding.files import check_output, remove_stale_folders, remove_stale_temporaries, write_text
from coding.jobs.shard_job import FORMAT_VERSION, ShardResult, ShardTask, code_shard, coder_identity
from coding.jobs.shards import expand_paths, shard_files
from coding.jobs.workers import PARTS_PREFIX, children, note_item, started, watched
from coding.records import Coder, StrPath

MANIFEST = "_manifest.json"
SUCCESS = "_SUCCESS"
ENGINES = ("local", "dask")


@dataclass
class ShardRun:
    """A whole run: the results in shard order and the manifest written."""

    results: list[ShardResult] = field(default_factory=list)
    manifest: Path | None = None

    @property
    def failed(self) -> list[ShardResult]:
        return [r for r in self.results if r.status == "failed"]

    def count(self, what: str) -> int:
        """Units, rows or codings over all shards, or shards of a status."""
        if what in ("units", "rows", "codings"):
            return sum(getattr(r, what) for r in self.results)
        return sum(1 for r in self.results if r.status == what)


# -- planning and the manifest ------------------------------------------------------

def plan(paths: list[StrPath], out: StrPath, batch_rows: int = 5000) -> list[ShardTask]:
    """The tasks of a run: one per shard, each with its output path; two
    shards that would write the same output are an error."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CodingError("the Parquet output is a folder, and this is a file: give a folder", out)
    tasks: list[ShardTask] = []
    by_output: dict[str, Path] = {}
    for source, relative in shard_files(paths):
        name = relative.with_suffix(".parquet").as_posix()
        if name in by_output:
            raise CodingError(f"would write the same output ({name}) as {by_output[name]}", source)
        by_output[name] = source
        tasks.append(ShardTask(str(source.resolve()), str((out / name).resolve()), name, str(source), batch_rows))
    return tasks


def write_manifest(out: Path, results: list[ShardResult], coder: Coder, codebook_version: str,
                   codebook_sha256: str) -> Path:
    """Write ``_manifest.json`` (and ``_SUCCESS`` when no shard failed)."""
    shards = []
    for r in results:
        entry: dict[str, str | int] = {"input": r.source, "input_sha256": r.input_sha256}
        if r.status == "failed":
            entry["error"] = r.error
        else:
            entry.update(output=r.name, output_sha256=r.output_sha256, units=r.units, rows=r.rows,
                         codings=r.codings)
        shards.append(entry)
    failed = sum(1 for r in results if r.status == "failed")
    manifest = {
        "format": f"coding-shards/{FORMAT_VERSION}",
        "coder": {"name": coder.name, "version": coder.version},
        "codebook": {"version": codebook_version, "sha256": codebook_sha256},
        "complete": failed == 0,
        "totals": {"shards": len(results), "failed": failed,
                   **{k: sum(getattr(r, k) for r in results) for k in ("units", "rows", "codings")}},
        "shards": shards,
    }
    path = write_text(out / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    if failed == 0:
        write_text(out / SUCCESS, "")
    return path


# -- engines -----------------------------------------------------------------------

def code_shards(paths: list[StrPath], out: StrPath, codebook: StrPath = "codebook.yaml",
                coder: Coder | None = None, engine: str = "local", jobs: int = 1,
                scheduler: str | None = None, workers: int | None = None, batch_rows: int = 5000,
                progress: bool | None = None,
                on_result: Callable[[ShardResult], None] | None = None) -> ShardRun:
    """Code every shard of ``paths`` into ``<out>/<shard>.parquet`` and
    write the manifest (see the module docstring).

    ``engine="local"`` codes in this process, or in a pool of ``jobs``
    processes; ``engine="dask"`` sends one task per shard to the Dask
    scheduler at ``scheduler`` (``tcp://host:port``) or, without one, to a
    local cluster of ``workers`` processes (default: one per CPU) on
    127.0.0.1. ``coder`` is any :class:`coding.records.Coder` that pickles
    (default: the default coder of ``codebook``, see
    :func:`coding.coders.coder_choice.default_coder`). ``on_result`` is
    called with each shard's result as it finishes. Failed shards are in
    ``run.failed``; the rest are coded all the same.
    """
    if engine not in ENGINES:
        raise CodingError(f"unknown engine '{engine}' (use one of: {', '.join(ENGINES)})")
    # a coder brings its own codebook (the learned coder may carry one in its model)
    cb = coder.codebook if coder is not None and hasattr(coder, "codebook") else load_codebook(codebook)
    if coder is None:
        from coding.coders.coder_choice import default_coder

        coder = default_coder(cb)
    tasks = plan(paths, out, batch_rows)
    if not tasks:
        raise CodingError("no input paths")
    check_output(out, [*expand_paths(paths), *(t.source for t in tasks)], folder=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    remove_stale_folders(out, PARTS_PREFIX)  # of killed runs with --jobs N
    (out / SUCCESS).unlink(missing_ok=True)  # until this run has coded every shard
    identity = coder_identity(coder, cb.version)
    bar = _progress(len(tasks), progress)

    def _done(result: ShardResult) -> None:
        bar.update(1)
        if on_result is not None:
            on_result(result)

    if engine == "dask":
        results = _run_dask(tasks, coder, identity, scheduler, workers, _done)
    else:
        results = _run_local(tasks, coder, identity, jobs, _done)
    bar.close()
    remove_stale_temporaries(out)  # of workers killed while writing
    order = {t.name: i for i, t in enumerate(tasks)}
    results.sort(key=lambda r: order[r.name])
    manifest = write_manifest(out, results, coder, cb.version, _codebook_sha256(cb))
    return ShardRun(results, manifest)


def _codebook_sha256(cb) -> str:
    """The SHA-256 of the codebook text this run read (once: the file may
    have changed since), or "" for a codebook without its text."""
    import hashlib

    return hashlib.sha256(cb.content.encode("utf-8")).hexdigest() if cb.content else ""


def _progress(total: int, progress: bool | None):
    from tqdm import tqdm

    disable = (not sys.stderr.isatty()) if progress is None else not progress
    return tqdm(total=total, desc="shards", unit="shard", disable=disable, file=sys.stderr)


_LOCAL: tuple[Coder, dict[str, str]] | None = None


def _init_local(coder: Coder, identity: dict[str, str], notes: str = "") -> None:
    # the coder is built once in the parent and handed to each worker once
    global _LOCAL, _NOTES
    _LOCAL, _NOTES = (coder, identity), notes


_NOTES = ""  # a worker's folder for the note of the shard it codes (see coding.jobs.workers)


def _code_in_pool(task: ShardTask) -> ShardResult:
    note_item(_NOTES, task.source)
    assert _LOCAL is not None, "set by _init_local when the pool starts"
    return code_shard(task, *_LOCAL)


def _run_local(tasks: list[ShardTask], coder: Coder, identity: dict[str, str], jobs: int,
               done: Callable[[ShardResult], None]) -> list[ShardResult]:
    jobs = max(1, min(int(jobs), os.cpu_count() or 1, len(tasks)))
    results = []
    if jobs == 1:
        for task in tasks:
            results.append(code_shard(task, coder, identity))
            done(results[-1])
        return results
    ctx = get_context("fork" if sys.platform != "win32" else "spawn")
    before = children()  # to tell this pool's workers from other children, to see one die
    out = Path(tasks[0].output).parent
    with tempfile.TemporaryDirectory(prefix=f"{PARTS_PREFIX}{os.getpid()}-", dir=out) as notes, \
            ctx.Pool(jobs, initializer=_init_local, initargs=(coder, identity, notes)) as pool:
        workers = started(before)
        try:
            for result in watched(pool.imap_unordered(_code_in_pool, tasks, chunksize=1), workers, notes, "shard"):
                results.append(result)
                done(result)
        finally:
            pool.terminate()
            pool.join()
            remove_stale_temporaries(out)  # what workers stopped in the middle were writing
    return results


# -- Dask ---------------------------------------------------------------------------

def need_dask():
    """The distributed module, or a one-line error saying how to install it."""
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError:
        raise CodingError("--engine dask needs dask and distributed, which are not installed: "
                          "pip install 'coding[dask]'") from None
    return distributed


def _run_dask(tasks: list[ShardTask], coder: Coder, identity: dict[str, str], scheduler: str | None,
              workers: int | None, done: Callable[[ShardResult], None]) -> list[ShardResult]:
    distributed = need_dask()
    from coding.jobs.dask_worker import CoderPlugin, code_on_worker

    cluster = None
    try:
        if scheduler:
            client = distributed.Client(scheduler, timeout="30s")
        else:
            import dask

            # worker processes on the loopback address only; without the statistical profiler,
            # which samples the coding thread every 10 ms for a dashboard nobody reads here
            with dask.config.set({"distributed.worker.profile.enabled": False}):
                cluster = distributed.LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                                   processes=True, host="127.0.0.1",
                                                   dashboard_address="127.0.0.1:0", silence_logs=40)
            client = distributed.Client(cluster)
    except OSError as exc:
        raise CodingError(f"cannot reach the Dask scheduler ({first_line(exc)})", scheduler) from None
    except (ValueError, TypeError) as exc:  # not an address at all
        raise CodingError(f"not a Dask scheduler address ({first_line(exc)}); give one like tcp://host:8786",
                          scheduler) from None
    try:
        plugin = CoderPlugin(coder, identity)
        client.register_plugin(plugin)
        futures = client.map(code_on_worker, tasks, plugin=plugin.name, pure=False)
        task_of = {f.key: t for f, t in zip(futures, tasks)}
        results = []
        for future in distributed.as_completed(futures):
            results.append(_result_of(future, task_of[future.key]))
            done(results[-1])
        client.unregister_worker_plugin(plugin.name)  # the coder leaves a cluster that lives on
        return results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _result_of(future, task: ShardTask) -> ShardResult:
    """A task's result; a task that killed its workers (too much memory)
    is a failed shard, not the end of the run."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker:
        return ShardResult(task.name, task.label, "failed",
                           error=f"{task.label}: killed every worker that coded it (out of memory?)")


def result_dict(result: ShardResult) -> dict:
    """A result as a plain dict (for printing and tests)."""
    return asdict(result)
