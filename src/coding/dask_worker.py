"""What runs on a Dask worker: the plugin that holds the coder and the task
that codes one shard with it. Imported only by the Dask engine (it needs
distributed), and by reference on the workers, which have this package."""

from __future__ import annotations

from distributed import WorkerPlugin, get_worker

from coding.engine import ShardResult, ShardTask, code_shard
from coding.records import Coder

NAME = "coding-coder"


class CoderPlugin(WorkerPlugin):
    """Keeps the coder, built once by the client, on every worker: the
    scheduler hands the plugin to each worker once, present and future (a
    worker started in place of a killed one gets it too), and tasks only
    name their shard."""

    name = NAME

    def __init__(self, coder: Coder, identity: dict[str, str]):
        self.coder = coder
        self.identity = identity


def code_on_worker(task: ShardTask) -> ShardResult:
    """Code one shard with the coder of this worker's plugin."""
    plugin = get_worker().plugins[NAME]
    return code_shard(task, plugin.coder, plugin.identity)
