"""Tracking: the MLflow store and run schema, declared experiments, cell identity, and the benchmark (benchmark.py).

:mod:`~srbench.track.tracking` (store, client, retried writes), :mod:`~srbench.track.schema` (every metric and tag
name), :mod:`~srbench.track.experiment` (experiment files), :mod:`~srbench.track.cells` (cell keys),
:mod:`~srbench.track.benchmark` (plan, reuse, log) and :mod:`~srbench.track.run_weights` (``run:<id>`` weights).
"""
