"""The MLflow side of one training run (rank 0 only): created with its tags, params and ``config.yaml``, or the
checkpoint's run continued; written through :class:`srbench.track.run_writer.RunWriter` (every write retried, the
run's end status decided there). What a training run records is listed in :mod:`srbench.train.trainer`."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch

from srbench.track import tags as T, tracking
from srbench.track.run_writer import RunWriter
from srbench.train.config import TrainConfig


def plain(x):
    """``x`` with tuples as lists (for YAML and checkpoints: plain Python data only)."""
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    return x


def _write_config(config: TrainConfig, path: Path) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(plain(dataclasses.asdict(config)), sort_keys=False))
    return path


def train_tags(config: TrainConfig, *, device: torch.device, recipe: str | None, train_data: Path | None,
               train_data_fingerprint: str | None, precision, world: int) -> dict[str, str]:
    """The tags a training run is created with (:mod:`srbench.track.tags`)."""
    from srbench.eval.device import describe_device

    tags = {T.KIND: T.KIND_TRAIN, T.MODEL: config.model, T.GROUP: str(config.group),
            T.SCALE: str(config.scale), T.LOSS: config.loss, T.GIT_COMMIT: tracking.git_commit(),
            T.DEVICE: describe_device(device), T.TORCH: torch.__version__,
            T.RECIPE: recipe or "", T.TRAIN_DATA: str(train_data),
            T.AMP_EFFECTIVE: precision.effective, T.AMP_REASON: precision.reason, T.WORLD_SIZE: str(world)}
    if train_data_fingerprint is not None:
        tags[T.TRAIN_DATA_FINGERPRINT] = train_data_fingerprint
    return tags


class TrainRun:
    """The training run being written: :meth:`start` creates or continues it, then metrics, tags, images,
    artifacts, and :meth:`end`."""

    def __init__(self, config: TrainConfig) -> None:
        self.client = tracking.client()
        self.experiment_id = tracking.get_or_create_experiment(self.client, config.experiment)
        self.writer: RunWriter | None = None

    @property
    def run_id(self) -> str | None:
        return self.writer.run_id if self.writer is not None else None

    def start(self, config: TrainConfig, tags: dict, run_id: str | None, step: int, out_dir: Path) -> str:
        """Continue run ``run_id`` (the checkpoint's) at ``step`` when this store has it, else create one."""
        if run_id is not None:
            self.writer = RunWriter.resume(self.client, run_id)
            if self.writer is not None:
                resumed = self.writer.run.data.tags.get(T.RESUMED_AT)
                self.writer.tags({T.RESUMED_AT: f"{resumed},{step}" if resumed else str(step)})
                # the resumed config (max_steps may have changed)
                self.writer.artifact(_write_config(config, out_dir / f"config_resume_{step}.yaml"))
                return run_id
            print(f"note: MLflow run {run_id} of the checkpoint is not in this store; logging to a new run",
                  file=sys.stderr)
        self.writer = RunWriter.create(self.client, self.experiment_id, run_name=config.name, tags=tags)
        self.writer.params(dataclasses.asdict(config))
        self.writer.artifact(_write_config(config, out_dir / "config.yaml"))
        return self.writer.run_id

    def metrics(self, values: dict[str, float], step: int) -> None:
        self.writer.metrics(values, step)

    def tags(self, values: dict[str, str]) -> None:
        self.writer.tags(values)

    def image(self, image: np.ndarray, key: str, step: int) -> None:
        self.writer.image(image, key, step)

    def artifact(self, path: Path, folder: str | None = None) -> None:
        self.writer.artifact(path, folder)

    def end_after(self, exc: BaseException | None) -> None:
        """End the run FINISHED (``exc`` None), KILLED (Ctrl-C) or FAILED (:func:`srbench.track.run_writer.
        end_status`)."""
        if self.writer is not None:
            self.writer.end_after(exc)
