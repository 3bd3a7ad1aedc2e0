"""Jobs: running the stages over a corpus.

- :mod:`~coding.jobs.pipeline`: ``run`` (corpus to store and outputs) and
  ``code_paths`` (loose texts, no store);
- :mod:`~coding.jobs.shards`, :mod:`~coding.jobs.shard_job`,
  :mod:`~coding.jobs.workers`: coding in shards across processes;
- :mod:`~coding.jobs.engine` and :mod:`~coding.jobs.dask_worker`: the same
  shards on a Dask scheduler.
"""
