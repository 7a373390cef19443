"""A training session: everything one :func:`srbench.train.trainer.train` call works with (one process of the run),
built by the trainer's setup functions and advanced by its loop."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from srbench.train.config import TrainConfig
from srbench.train.precision import Precision
from srbench.train.step import Stepper
from srbench.train.tracker import TrainRun


@dataclass
class Session:
    """Everything one :func:`train` call works with (one process of the run)."""

    config: TrainConfig
    device: torch.device
    world: int
    rank: int
    progress: bool
    precision: Precision
    owns_group: bool = False
    images: object = None                # srbench.train.data.H5Images
    h5_path: Path | None = None
    sampler: object = None               # PatchSampler
    batches: object = None               # Prefetcher over the sampler
    model: torch.nn.Module | None = None
    stepper: Stepper | None = None
    tracker: TrainRun | None = None
    step: int = 0
    start_step: int = 0
    best_psnr: float | None = None
    best_step: int | None = None
    run_id: str | None = None
    seconds_before: float = 0.0
    images_before: int = 0
    session_start: float = 0.0
    last_val: dict = dataclasses.field(default_factory=dict)
    pending: list = dataclasses.field(default_factory=list)  # (step, scale, loss on the device) not yet checked
    train_peak_mb: float = 0.0           # CUDA peak of the current log window before a validation reset it

    @property
    def lead(self) -> bool:
        return self.rank == 0

    @property
    def out_dir(self) -> Path:
        return Path(self.config.out_dir)

    @property
    def last_path(self) -> Path:
        return self.out_dir / "last.pt"

    @property
    def best_path(self) -> Path:
        return self.out_dir / "best.pt"

    def seconds(self) -> float:
        """Training wall time of every session so far, this one included."""
        return self.seconds_before + time.perf_counter() - self.session_start

    def images_seen(self) -> int:
        return self.images_before + (self.step - self.start_step) * self.config.batch_size
