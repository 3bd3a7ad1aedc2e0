"""Jobs: running the stages over a corpus.

- :mod:`~coding.jobs.run`: ``run`` (corpus to store and outputs);
- :mod:`~coding.jobs.code_paths` and :mod:`~coding.jobs.inputs`: ``code_paths``
  (loose texts, no store) and the work items it codes;
- :mod:`~coding.jobs.pipeline`: ``run`` and ``code_paths`` importable from one place;
- :mod:`~coding.jobs.shards`, :mod:`~coding.jobs.shard_job`,
  :mod:`~coding.jobs.workers`: coding in shards across processes;
- :mod:`~coding.jobs.engine` and :mod:`~coding.jobs.dask_worker`: the same
  shards on a Dask scheduler.
"""
