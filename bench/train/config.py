"""The training recipe: one flat, typed, frozen record (nanoGPT-style), read strictly from YAML and logged verbatim.

A recipe file (``experiments/train/*.yaml``) sets any of the fields below; an unknown key is an error naming the key
and the file. ``srbench train`` can override fields with ``--set key=value`` (value parsed as YAML),
``--max-steps`` and ``--device``. ``name`` defaults to the recipe file's stem and ``out_dir`` to ``runs/<name>``;
``val_scales`` defaults to the trained scale (all of 2, 3, 4 for multi-scale). Relative paths are relative to the
current directory (run from the repository root).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import yaml

from srbench.core.errors import SrbenchError
from srbench.models.zoo import is_zoo
from srbench.train.losses import LOSSES
from srbench.core.names import suggest
from srbench.core.strict import from_mapping, load_yaml

AMP_MODES = ("none", "auto", "bf16", "fp16")


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run (defaults: the CARN/ECDN papers' recipe on DIV2K)."""

    model: str                       # a name of models.list_models() (carn, carn_m, ecdn, ecdn_m)
    name: str | None = None          # run name (default: the recipe file's stem)
    group: int | None = None         # group size of the grouped convolutions (None: the model's default)
    scale: int = 0                   # 0: multi-scale (one of 2, 3, 4 drawn per batch); 2|3|4: single-scale model
    loss: str = "L1"                 # L1 | SmoothL1 | MSE | Charbonnier
    smoothl1_beta: float = 1.0
    charbonnier_eps: float = 1e-3
    lr: float = 1e-4                 # Adam, default betas
    decay: int = 400_000             # lr = lr * 0.5 ** (step // decay)
    max_steps: int = 600_000
    batch_size: int = 64             # global batch (split across processes under torchrun)
    patch_size: int = 64             # LR patch side; the HR patch is scale times larger
    clip: float = 10.0               # gradient-norm clipping (0: off)
    train_data: str = "data/store/train/DIV2K.h5"  # an h5 file from `srbench prepare`, or an image folder
    val_dataset: str | None = "Set5"  # benchmark set for validation (None: no validation)
    val_scales: tuple[int, ...] = ()  # default: the trained scale, or 2, 3, 4 for multi-scale
    val_every: int = 1000
    ckpt_every: int = 1000
    log_every: int = 100
    seed: int = 0
    device: str = "auto"
    amp: str = "none"                # none | auto | bf16 | fp16 (see srbench.train.precision; auto: bf16 where fast)
    num_gpu: int = 1                 # processes expected under torchrun (DistributedDataParallel when > 1)
    sync_bn: bool = False            # under DDP: SyncBatchNorm (statistics over the global batch, CUDA only);
                                     # False: plain BatchNorm, statistics of each process's batch_size/N patches
    check_every: int = 0             # steps between the loss/Ctrl-C checks that cost a GPU sync or an all_reduce
                                     # (0: log_every); also at every log, validation and checkpoint step
    channels_last: bool = False
    compile: bool = False            # torch.compile the training forward pass (first steps pay ~20 s+ of compiling)
    prefetch: int = 2                # batches drawn ahead by a background thread (0: drawn in the training loop)
    experiment: str = "training"     # MLflow experiment name
    out_dir: str | None = None       # default runs/<name>

    def __post_init__(self) -> None:
        if is_zoo(self.model):
            raise SrbenchError(f"model {self.model!r} is a released model of the field (inference-only): srbench "
                               "cannot train it; evaluate or benchmark it with its released weights")
        if self.scale not in (0, 2, 3, 4):
            raise SrbenchError(f"scale={self.scale}: use 0 (multi-scale) or 2, 3, 4")
        if self.loss not in LOSSES:
            raise SrbenchError(f"loss={self.loss!r}{suggest(self.loss, LOSSES)}; known: {', '.join(LOSSES)}")
        if self.amp not in AMP_MODES:
            raise SrbenchError(f"amp={self.amp!r}: use one of {', '.join(AMP_MODES)}")
        for key in ("decay", "max_steps", "batch_size", "patch_size", "val_every", "ckpt_every", "log_every",
                    "num_gpu"):
            if getattr(self, key) < 1:
                raise SrbenchError(f"{key}={getattr(self, key)}: must be >= 1")
        if self.check_every < 0:
            raise SrbenchError(f"check_every={self.check_every}: must be >= 0 (0: every log_every steps)")
        if self.prefetch < 0:
            raise SrbenchError(f"prefetch={self.prefetch}: must be >= 0 (0: no background thread)")
        if self.lr <= 0 or self.clip < 0:
            raise SrbenchError(f"lr={self.lr}, clip={self.clip}: lr must be > 0 and clip >= 0")
        if self.group is not None and self.group < 1:
            raise SrbenchError(f"group={self.group}: must be >= 1 (or null for the model's default)")
        allowed = self.train_scales
        bad = [s for s in self.val_scales if s not in allowed]
        if bad:
            raise SrbenchError(f"val_scales={list(self.val_scales)}: a model trained for {list(allowed)} "
                               f"cannot be validated at {bad}")

    @property
    def train_scales(self) -> tuple[int, ...]:
        """The scales the model is built for: (2, 3, 4) for multi-scale training, else (scale,)."""
        return (2, 3, 4) if self.scale == 0 else (self.scale,)

    def lr_at(self, step: int) -> float:
        """Learning rate of the step that starts after ``step`` completed steps: lr · 0.5^(step // decay)."""
        return self.lr * 0.5 ** (step // self.decay)


#: Fields that may differ between a run and its resumption (they do not change the trained weights).
RESUMABLE_CHANGES = ("max_steps", "val_every", "ckpt_every", "log_every", "device", "val_dataset", "val_scales",
                     "out_dir", "name", "prefetch", "check_every")


def _parse_set(items: list[str]) -> dict:
    values = {}
    for item in items:
        if "=" not in item:
            raise SrbenchError(f"--set {item!r}: expected key=value")
        key, _, raw = item.partition("=")
        try:
            values[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise SrbenchError(f"--set {item!r}: value is not valid YAML ({exc})") from exc
    return values


def load_config(path: str | Path, *, overrides: list[str] | None = None, max_steps: int | None = None,
                device: str | None = None) -> TrainConfig:
    """Read a recipe strictly, apply command-line overrides, and resolve the defaults (name, out_dir, val_scales)."""
    path = Path(path)
    data = load_yaml(path)
    where = str(path)
    if overrides:
        extra = _parse_set(overrides)
        known = {f.name for f in dataclasses.fields(TrainConfig)}
        for key in extra:
            if key not in known:
                raise SrbenchError(f"--set: unknown key {key!r}{suggest(key, known)} (recipe {path}); "
                                   f"allowed: {', '.join(sorted(known))}")
        data = {**data, **extra}
        where = f"{path} (with --set)"
    if max_steps is not None:
        data["max_steps"] = max_steps
    if device is not None:
        data["device"] = device
    config = from_mapping(TrainConfig, data, where)
    return resolve(config, default_name=path.stem)


def resolve(config: TrainConfig, *, default_name: str = "train") -> TrainConfig:
    """Fill ``name``, ``out_dir`` and ``val_scales`` when not given."""
    name = config.name or default_name
    return dataclasses.replace(config, name=name, out_dir=config.out_dir or str(Path("runs") / name),
                               val_scales=tuple(config.val_scales) or config.train_scales)
