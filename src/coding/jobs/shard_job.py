"""One shard coded into its Parquet file: the task a worker runs, whether
in a local pool or on a Dask worker (see :mod:`coding.jobs.engine`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from coding.errors import CodingError
from coding.jobs.shards import (
    OUTPUT_COLUMNS,
    codings_table,
    file_sha256,
    footer_metadata,
    open_shard,
    output_schema,
    write_parquet,
)
from coding.records import Coder

#: Changes when the layout of the output files changes, so that a rerun
#: recodes shards written by an older layout.
FORMAT_VERSION = "1"


@dataclass(frozen=True)
class ShardTask:
    """One shard to code: where it is and where its codings go (absolute
    paths, for workers with another working folder)."""

    source: str
    output: str
    name: str  # the output's path within the output folder
    label: str  # the shard as the user named it, for messages and the manifest
    batch_rows: int = 5000


@dataclass
class ShardResult:
    """What became of one shard: ``status`` is "coded", "unchanged" (kept
    from an earlier run) or "failed" (with ``error``)."""

    name: str
    source: str
    status: str
    input_sha256: str = ""
    output_sha256: str = ""
    units: int = 0
    rows: int = 0
    codings: int = 0
    error: str = ""



def coder_identity(coder: Coder, codebook_version: str) -> dict[str, str]:
    """What an output must have been coded with to be kept by a rerun."""
    return {"coding.format": FORMAT_VERSION, "coding.coder": coder.name,
            "coding.coder_version": coder.version, "coding.codebook_version": codebook_version}


def code_shard(task: ShardTask, coder: Coder, identity: dict[str, str]) -> ShardResult:
    """Code one shard into its Parquet file, or keep the file an earlier run
    wrote from the same input with the same coder. Bad input (and an output
    that cannot be written) gives a failed result, not an exception."""
    from coding.jobs.code_paths import coding_rows

    result = ShardResult(task.name, task.label, "failed")
    try:
        result.input_sha256 = file_sha256(task.source)
    except OSError as exc:
        result.error = str(CodingError(f"cannot be read ({exc.strerror})", task.label))
        return result
    if _kept(task, identity, result):
        return result
    footer = {**identity, "coding.input_sha256": result.input_sha256}
    try:
        fields, batches = open_shard(task.source, task.batch_rows)
        extra = tuple(getattr(coder, "output_columns", ()))
        schema = output_schema(fields, extra, task.label)

        def tables() -> Iterator:
            for batch in batches:
                rows = coding_rows(coder, batch.units)
                result.units += len(batch.units)
                result.rows += len(rows)
                result.codings += sum(1 for r in rows if r[1])
                yield codings_table(schema, rows, batch, len(OUTPUT_COLUMNS) + len(extra))
            footer.update({"coding.units": str(result.units), "coding.rows": str(result.rows),
                           "coding.codings": str(result.codings)})

        result.output_sha256 = write_parquet(task.output, schema, tables(), footer)
    except CodingError as exc:
        result.error = str(exc)
    except OSError as exc:
        result.error = f"{exc.filename or task.output}: cannot be written ({exc.strerror or exc})"
    if result.error:
        # an output of an earlier input would pass for this shard's codings
        Path(task.output).unlink(missing_ok=True)
        result.units = result.rows = result.codings = 0
        return result
    result.status = "coded"
    return result


def _kept(task: ShardTask, identity: dict[str, str], result: ShardResult) -> bool:
    """Whether the shard's output from an earlier run still holds (same
    input bytes, same coder, codebook and layout); fills ``result`` if so."""
    if not os.path.exists(task.output):
        return False
    footer = footer_metadata(task.output)
    if not footer or footer.get("coding.input_sha256") != result.input_sha256:
        return False
    if any(footer.get(k) != v for k, v in identity.items()):
        return False
    try:
        result.units, result.rows, result.codings = (int(footer[f"coding.{k}"]) for k in ("units", "rows", "codings"))
        result.output_sha256 = file_sha256(task.output)
    except (KeyError, ValueError, OSError):
        return False
    result.status = "unchanged"
    return True
