"""``srbench.log_validation``: a result logged into an MLflow run under the benchmark's own metric names.

A training run that validates with :func:`srbench.evaluate` and logs with this function has curves named exactly as
the benchmark's cell runs name their values (:mod:`srbench.track.schema`): ``psnr_y.Set5``, ``ssim_y.Set5``
(``_rgb`` under a protocol measuring RGB), ``lpips.Set5`` where LPIPS was measured. A run validating several scales
passes ``scale_suffix=True``: ``psnr_y.Set5.x2``, ``psnr_y.Set5.x4``. The tags say what was measured:
``srbench.dataset_fingerprint.<id>`` and ``protocol.<knob>``, as on a cell run.
"""

from __future__ import annotations

from srbench.api.results import EvaluationResult
from srbench.core.errors import SrbenchError
from srbench.track import schema, tags as T


def validation_metrics(result: EvaluationResult, *, scale_suffix: bool = False) -> dict[str, float]:
    """The metric names and values :func:`log_validation` logs for ``result``."""
    values = {schema.dataset_metric("psnr", result.dataset_id, result.color): result.psnr,
              schema.dataset_metric("ssim", result.dataset_id, result.color): result.ssim}
    if result.lpips is not None:
        values[schema.dataset_metric("lpips", result.dataset_id)] = result.lpips
    return {f"{k}.x{result.scale}" if scale_suffix else k: float(v) for k, v in values.items()}


def validation_tags(result: EvaluationResult) -> dict[str, str]:
    """The tags :func:`log_validation` sets: the dataset's fingerprint and the protocol's knobs."""
    return {T.dataset_fingerprint(result.dataset_id): result.fingerprint,
            **{f"protocol.{k}": str(v) for k, v in result.protocol.as_dict().items()}}


def log_validation(result: EvaluationResult, *, step: int | None = None, run_id: str | None = None,
                   scale_suffix: bool = False) -> dict[str, float]:
    """Log ``result`` (from :func:`srbench.evaluate`) into the active MLflow run (``mlflow.start_run()``), or the run
    ``run_id`` of the current tracking URI, at ``step``; returns what was logged.

    Example::

        >>> with mlflow.start_run():
        ...     for step in range(1, 10001):
        ...         train_step()
        ...         if step % 1000 == 0:
        ...             srbench.log_validation(srbench.evaluate(net, "Set5", 4), step=step)
    """
    import mlflow

    from srbench.track.run_writer import RunWriter

    if not isinstance(result, EvaluationResult):
        raise SrbenchError(f"log_validation() takes the result of srbench.evaluate(), not {type(result).__name__}")
    if run_id is None:
        active = mlflow.active_run()
        if active is None:
            raise SrbenchError("log_validation(): no active MLflow run; call it inside `with mlflow.start_run():` "
                               "or pass run_id=")
        run_id = active.info.run_id
    values = validation_metrics(result, scale_suffix=scale_suffix)
    RunWriter(mlflow.MlflowClient(), run_id).batch(metrics=values, tags=validation_tags(result), step=step or 0)
    return values
