"""Writing one MLflow run, the only place that does: create or continue it, log in batches, end it with its status.

Every srbench run (a benchmark cell, its invocation's parent, a scored folder, an ``explain`` measurement, a training
run and the ablation point evaluated into it) is written through :class:`RunWriter`, so that

- every MLflow write is retried while another process holds the SQLite store's lock or won an insert race
  (:func:`srbench.track.tracking.retrying`, applied here and nowhere else by the writers);
- a run ends ``FINISHED`` only when the block that writes it completed, ``KILLED`` when it was interrupted
  (``KeyboardInterrupt``: Ctrl-C, or a stop the caller raises as one) and ``FAILED`` on any other exception
  (:func:`end_status`); readers use FINISHED runs only, so a run that reads as complete is complete;
- a finished run is found by its key (:func:`finished_or_clean`): the newest FINISHED run with the tag
  ``srbench.cell_key``, in any experiment of the store, after the stale unfinished runs of that key are deleted.

Used as a context manager, a writer ends its run on leaving the block::

    with RunWriter.create(client, experiment_id, tags=tags, run_name=name) as run:
        run.params({...})
        run.metrics({...})
"""

from __future__ import annotations

import time
from pathlib import Path

from srbench.track import hosts, tags as T, tracking

FINISHED, KILLED, FAILED, RUNNING = "FINISHED", "KILLED", "FAILED", "RUNNING"


def end_status(exc: BaseException | None) -> str:
    """The status a run ends with after ``exc`` (None: its block completed): KILLED for ``KeyboardInterrupt``,
    FAILED for any other exception, FINISHED for none."""
    if exc is None:
        return FINISHED
    return KILLED if isinstance(exc, KeyboardInterrupt) else FAILED


def metrics_batch(values: dict[str, float], step: int = 0) -> list:
    """MLflow ``Metric`` entities of ``values`` at ``step``, all stamped now."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(k, float(v), now, step) for k, v in values.items()]


def call(client, method: str, *args, **kwargs):
    """``client.<method>(*args, **kwargs)``, retried (:func:`srbench.track.tracking.retrying`): for the searches and
    deletions of runs that are not written here (claims, orphans)."""
    return tracking.retrying(getattr(client, method))(*args, **kwargs)


class RunWriter:
    """One MLflow run being written by this process (``client``: an ``MlflowClient``; every call retried)."""

    def __init__(self, client, run_id: str, run=None) -> None:
        self.client = client
        self.run_id = run_id
        self.run = run  # the Run entity it was created or found as (its tags and start time), when known
        self.status: str | None = None  # how it ended, once it has

    # -- opening ---------------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, client, experiment_id: str, *, tags: dict[str, str], run_name: str | None = None) -> RunWriter:
        """A new RUNNING run of ``experiment_id`` with ``tags``."""
        run = call(client, "create_run", experiment_id, tags=tags, run_name=run_name)
        return cls(client, run.info.run_id, run)

    @classmethod
    def resume(cls, client, run_id: str) -> RunWriter | None:
        """The run ``run_id`` set RUNNING again, to continue writing it; None when this store has no such run
        (deleted, or a checkpoint written against another store)."""
        try:
            run = call(client, "get_run", run_id)
        except Exception:  # noqa: BLE001 - a deleted run or another store: the caller starts a fresh one
            return None
        call(client, "update_run", run_id, status=RUNNING)
        return cls(client, run_id, run)

    # -- logging ---------------------------------------------------------------------------------------------------
    def params(self, values: dict) -> None:
        from mlflow.entities import Param

        call(self.client, "log_batch", self.run_id, params=[Param(k, str(v)) for k, v in values.items()])

    def metrics(self, values: dict[str, float], step: int = 0) -> None:
        if values:
            call(self.client, "log_batch", self.run_id, metrics=metrics_batch(values, step))

    def tags(self, values: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        if values:
            call(self.client, "log_batch", self.run_id, tags=[RunTag(k, str(v)) for k, v in values.items()])

    def batch(self, *, params: dict | None = None, metrics: dict[str, float] | None = None,
              tags: dict[str, str] | None = None, step: int = 0) -> None:
        """Params, metrics (at ``step``) and tags in one write."""
        from mlflow.entities import Param, RunTag

        call(self.client, "log_batch", self.run_id, params=[Param(k, str(v)) for k, v in (params or {}).items()],
             metrics=metrics_batch(metrics or {}, step), tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()])

    def inputs(self, **kwargs) -> None:
        """``log_inputs`` (``datasets=``, ``models=``)."""
        call(self.client, "log_inputs", self.run_id, **kwargs)

    def artifact(self, path: str | Path, folder: str | None = None) -> None:
        call(self.client, "log_artifact", self.run_id, str(path), folder)

    def artifacts(self, directory: str | Path, folder: str | None = None) -> None:
        call(self.client, "log_artifacts", self.run_id, str(directory), folder)

    def image(self, image, key: str, step: int) -> None:
        call(self.client, "log_image", self.run_id, image, key=key, step=step)

    # -- ending ----------------------------------------------------------------------------------------------------
    def end(self, status: str = FINISHED) -> None:
        """Mark the run ``status`` (FINISHED, KILLED or FAILED)."""
        call(self.client, "set_terminated", self.run_id, status)
        self.status = status

    def end_after(self, exc: BaseException | None) -> None:
        """End the run as ``exc`` decides (:func:`end_status`)."""
        self.end(end_status(exc))

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is not None:
            self.end_after(exc)
            return False
        try:
            self.end(FINISHED)
        except BaseException as failed:  # the final write itself failed or was interrupted: never left RUNNING
            self.end_after(failed)
            raise
        return False


def find_runs(client, experiment_ids: list[str], filter_string: str, order_by: list[str] | None = None) -> list:
    """The runs of ``experiment_ids`` matching ``filter_string`` (MLflow's search syntax)."""
    return call(client, "search_runs", experiment_ids, filter_string=filter_string, order_by=order_by)


def store_experiment_ids(client) -> list[str]:
    """Every active experiment of the store: a cell's key names everything that can change its numbers (not the
    experiment that declared it), so a cell another experiment already finished is reused, not run again (the field's
    ``zoo`` shares its bicubic, CARN-M, ECDN and ECDN-M cells with the default benchmark)."""
    return [e.experiment_id for e in call(client, "search_experiments")]


def finished_or_clean(client, experiment_id: str | list[str], key: str):
    """The newest FINISHED run with cell key ``key`` in the experiment (or any of the experiments), after deleting
    its stale unfinished runs (FAILED, KILLED, or RUNNING with its process on this host gone); None if there is
    none."""
    ids = [experiment_id] if isinstance(experiment_id, str) else experiment_id
    finished = None
    for run in find_runs(client, ids, f"tags.`{T.CELL_KEY}` = '{key}'", ["attributes.start_time DESC"]):
        status = run.info.status
        if status == FINISHED:
            finished = finished or run
            continue
        if status in (FAILED, KILLED) or hosts.process_gone(run.data.tags):
            call(client, "delete_run", run.info.run_id)
    return finished
