"""What runs on a Dask worker: the plugin that holds the coder and the task
that codes one shard with it. Imported only by the Dask engine (it needs
distributed), and by reference on the workers, which have this package."""

from __future__ import annotations

import uuid
from typing import cast

from distributed import WorkerPlugin, get_worker

from coding.jobs.shard_job import ShardResult, ShardTask, code_shard
from coding.records import Coder

PREFIX = "coding-coder-"


class CoderPlugin(WorkerPlugin):
    """Keeps the coder, built once by the client, on every worker: the
    scheduler hands the plugin to each worker once, present and future (a
    worker started in place of a killed one gets it too), and tasks only
    name their shard. Each run registers its own (a random name), so runs
    with other coders may share the cluster."""

    def __init__(self, coder: Coder, identity: dict[str, str]):
        self.coder = coder
        self.identity = identity
        self.name = PREFIX + uuid.uuid4().hex


def code_on_worker(task: ShardTask, plugin: str) -> ShardResult:
    """Code one shard with the coder of this worker's plugin ``plugin``."""
    # the plugin this run registered under that name (the worker types its plugins as any WorkerPlugin)
    held = cast(CoderPlugin, get_worker().plugins[plugin])
    return code_shard(task, held.coder, held.identity)
