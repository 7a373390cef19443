"""The trainer: the papers' recipe (Adam, step decay, gradient clipping, patch sampling), resumable and tracked.

One call of :func:`train` is one MLflow run (a resumed call continues the same run). What a run records
--------------------------------------------------------------------------------------------------------
tags      ``srbench.kind=train``, ``srbench.{model,group,scale,loss,git_commit,device,torch,recipe,train_data,
          train_data_fingerprint,amp_effective,amp_reason,world_size}`` (``amp_effective``: bf16, fp16 or none, what
          the ``amp`` knob resolved to on this device, see :mod:`srbench.train.precision`), ``srbench.weights_sha256.final``/``.best``,
          ``srbench.train_seconds``; ``srbench.resumed_at`` (steps, comma-separated) when resumed.
params    the resolved :class:`~srbench.train.config.TrainConfig`, every field verbatim (``group`` resolved to the
          model's); also the ``config.yaml`` artifact.
metrics   every ``log_every`` steps: ``loss`` (mean over the window), ``lr``, ``images_per_s`` (training steps only),
          ``rss_mb`` (peak resident memory) and ``cuda_mem_mb`` on CUDA (the window's peak; validation's is
          ``val_cuda_mem_mb``); every ``val_every`` steps, per validation scale s: ``val_psnr.x<s>``,
          ``val_ssim.x<s>`` (:func:`srbench.api.evaluate`, standard protocol, BN eval mode), the same under the
          benchmark's names (``psnr_y.<set>``, ``ssim_y.<set>``; with a ``.x<s>`` suffix when several scales are
          validated: :func:`srbench.api.log_validation`'s names, tags ``srbench.dataset_fingerprint.<set>`` and
          ``protocol.<knob>``), ``val_psnr`` (mean over the scales, what ``best`` is chosen by) and SR crops as images
          (``val_x<s>_<image>``); at the end ``train_seconds`` (wall time of all sessions) and
          ``images_per_s_total``.
artifacts ``weights/final.pth`` and ``weights/best.pth`` (plain state_dicts), ``config.yaml``.

Files in ``out_dir``: ``last.pt`` (every ``ckpt_every`` steps, at the end and on Ctrl-C), ``best.pt`` (at each new
best validation PSNR), ``final.pth`` and ``best.pth`` (state_dicts). Checkpoints are written to a temporary file and
renamed, hold the model, the optimizer, the step, the MLflow run id and every random state (python, numpy, torch,
CUDA, and the patch sampler's generators), and contain only tensors and plain Python data: they load with
``torch.load(weights_only=True)``. (Should a future field need arbitrary objects, only these training checkpoints,
which srbench wrote itself, may be loaded with ``weights_only=False``; never a downloaded file.)

Resume (``srbench train recipe.yaml --resume``) restores all of it: on CPU in float32 with a fixed seed a run killed
at any point and resumed ends bitwise-identical to an uninterrupted one (batches are drawn ahead by a background
thread, :class:`srbench.train.data.Prefetcher`, and the checkpoint holds the sampler state of the last batch used).
The host reads the losses (and, under DDP, agrees on Ctrl-C) at checks: every step on a single CPU process, else
every ``check_every`` steps and at every log, validation and checkpoint step (one transfer, one ``all_reduce``). A
non-finite loss stops the run at the check with an error naming the first bad step, before the checked step changes
the weights; the last checkpoint is left as it was (no checkpoint holds weights updated from an unchecked loss).

Multi-GPU: ``torchrun --nproc_per_node N -m srbench.cli train recipe.yaml --set num_gpu=N`` runs
DistributedDataParallel (NCCL on CUDA, gloo on CPU), each process drawing ``batch_size / N`` patches at the scale
shared by all processes; rank 0 validates, checkpoints and logs. The start order (training data under a file lock,
``set_device`` before the process group) and BatchNorm under DDP (``sync_bn``) are :mod:`srbench.train.distributed`'s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import random
import resource
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from srbench.core.errors import SrbenchError
from srbench.train.config import RESUMABLE_CHANGES, TrainConfig
from srbench.train.distributed import checked_values, join, wrap_ddp
from srbench.train.precision import Precision, describe, resolve_precision

CKPT_FORMAT = "srbench-train-checkpoint/1"
CROP_IMAGES = 2      # SR crops logged per validation (first images of the set, first validation scale)
CROP_SIZE = 128      # HR pixels


@dataclass
class TrainResult:
    """What a finished :func:`train` call produced."""

    run_id: str | None
    step: int
    out_dir: Path
    final_weights: Path | None
    best_weights: Path | None
    best_psnr: float | None
    val: dict[int, tuple[float, float]]  # last validation: scale -> (psnr, ssim)
    train_seconds: float


# ----------------------------------------------------------------------------------------------------------------
# random states and checkpoints

def _rng_state(device: torch.device) -> dict:
    np_state = np.random.get_state(legacy=False)
    np_state = {**np_state, "state": {"key": np_state["state"]["key"].tolist(), "pos": int(np_state["state"]["pos"])}}
    state = {"python": random.getstate(), "numpy": np_state, "torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict, device: torch.device) -> None:
    random.setstate(_tuplify(state["python"]))
    np_state = dict(state["numpy"])
    np_state["state"] = {"key": np.asarray(np_state["state"]["key"], dtype=np.uint32),
                         "pos": np_state["state"]["pos"]}
    np.random.set_state(np_state)
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def _tuplify(x):
    return tuple(_tuplify(v) for v in x) if isinstance(x, (list, tuple)) else x


def atomic_save(obj, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename: a reader never sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_training_checkpoint(path: Path) -> dict:
    """Read a checkpoint written by :func:`train` (tensors and plain data only, so ``weights_only=True``)."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
        raise SrbenchError(f"{path}: not a readable training checkpoint ({str(exc).splitlines()[0][:200]}); "
                           f"remove it to start over") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CKPT_FORMAT:
        raise SrbenchError(f"{path}: not an srbench training checkpoint (format {CKPT_FORMAT!r} expected)")
    return ckpt


def _state_dict_cpu(model: torch.nn.Module) -> dict:
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------------------------------------------------
# tracking helpers (rank 0 only)

class _Tracker:
    """The MLflow side of one training run; every write retried when the SQLite store is locked."""

    def __init__(self, config: TrainConfig) -> None:
        from srbench.track import tracking

        self.tracking = tracking
        self.client = tracking.client()
        self.experiment_id = tracking.get_or_create_experiment(self.client, config.experiment)
        self.run_id: str | None = None

    def call(self, method: str, *args, **kwargs):
        return self.tracking.retrying(getattr(self.client, method))(*args, **kwargs)

    def start(self, config: TrainConfig, tags: dict, run_id: str | None, step: int, out_dir: Path) -> str:
        from mlflow.entities import Param

        if run_id is not None:
            try:
                run = self.call("get_run", run_id)
            except Exception:  # noqa: BLE001 - deleted run or another store: start a fresh one
                run = None
            if run is not None:
                self.run_id = run_id
                self.call("update_run", run_id, status="RUNNING")
                resumed = run.data.tags.get("srbench.resumed_at")
                self.call("set_tag", run_id, "srbench.resumed_at", f"{resumed},{step}" if resumed else str(step))
                cfg = out_dir / f"config_resume_{step}.yaml"  # the resumed config (max_steps may have changed)
                cfg.write_text(yaml.safe_dump(_plain(dataclasses.asdict(config)), sort_keys=False))
                self.call("log_artifact", run_id, str(cfg))
                return run_id
            print(f"note: MLflow run {run_id} of the checkpoint is not in this store; logging to a new run",
                  file=sys.stderr)
        run = self.call("create_run", self.experiment_id, run_name=config.name, tags=tags)
        self.run_id = run.info.run_id
        params = [Param(k, str(v)) for k, v in dataclasses.asdict(config).items()]
        self.call("log_batch", self.run_id, params=params)
        cfg = out_dir / "config.yaml"
        cfg.write_text(yaml.safe_dump(_plain(dataclasses.asdict(config)), sort_keys=False))
        self.call("log_artifact", self.run_id, str(cfg))
        return self.run_id

    def metrics(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.call("log_batch", self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in values.items()])

    def tags(self, values: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        self.call("log_batch", self.run_id, tags=[RunTag(k, str(v)) for k, v in values.items()])

    def image(self, image: np.ndarray, key: str, step: int) -> None:
        self.call("log_image", self.run_id, image, key=key, step=step)

    def artifact(self, path: Path, folder: str | None = None) -> None:
        self.call("log_artifact", self.run_id, str(path), folder)

    def end(self, status: str) -> None:
        if self.run_id is not None:
            self.call("set_terminated", self.run_id, status=status)


def _plain(x):
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


# ----------------------------------------------------------------------------------------------------------------
# the step

class _Interrupt:
    """SIGINT -> a flag checked between steps (so a checkpoint never holds half an optimizer step)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self):
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:  # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self.requested = True
        print("\ninterrupt: finishing this step, saving a checkpoint (Ctrl-C again to stop at once)",
              file=sys.stderr)

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class Stepper:
    """One optimisation step of the trainer, split around the loss check: ``forward`` then ``update``.

    uint8 NHWC batches go to the device as uint8 and become float there (channels_last strides for free when asked);
    the forward pass runs in ``precision``'s context (:mod:`srbench.train.precision`: autocast, and on CPU bf16 the
    float32 weight gradients) through ``forward_fn`` (the network, or its ``torch.compile``); ``update`` does
    backward (scaled for fp16), gradient-norm clipping and the optimizer step. Also used by
    ``scripts/bench_train_throughput.py``.
    """

    def __init__(self, net, optimizer, loss_fn, device: torch.device, *, clip: float,
                 precision: Precision | None = None, scaler=None, channels_last: bool = False,
                 forward_fn=None) -> None:
        self.net, self.optimizer, self.loss_fn, self.device = net, optimizer, loss_fn, device
        self.clip, self.scaler, self.channels_last = clip, scaler, channels_last
        self.precision = precision if precision is not None else resolve_precision("none", device)
        self.forward_fn = forward_fn if forward_fn is not None else net
        self.params = [p for group in optimizer.param_groups for p in group["params"]]

    def forward(self, scale: int, lr_u8: np.ndarray, hr_u8: np.ndarray) -> torch.Tensor:
        from srbench.train.data import to_tensor

        x = to_tensor(lr_u8, self.device, channels_last=self.channels_last)
        y = to_tensor(hr_u8, self.device, channels_last=self.channels_last)
        with self.precision.autocast():
            sr = self.forward_fn(x, scale)
        return self.loss_fn(sr, y)

    def update(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if self.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()


def build_stepper(config: TrainConfig, model: torch.nn.Module, device: torch.device, precision: Precision, *,
                  net: torch.nn.Module | None = None) -> Stepper:
    """The trainer's step for ``model`` per ``config`` (optimizer, loss, clipping, precision, channels_last, compile);
    ``net`` is the module the step calls (the DistributedDataParallel wrapper under torchrun)."""
    from srbench.train.losses import get_loss

    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise SrbenchError(f"model {config.model!r} has no trainable parameters")
    optimizer = torch.optim.Adam(trainable, lr=config.lr)
    scaler = torch.amp.GradScaler("cuda") if precision.dtype == torch.float16 else None
    loss_fn = get_loss(config.loss, smoothl1_beta=config.smoothl1_beta, charbonnier_eps=config.charbonnier_eps)
    net = net if net is not None else model
    forward_fn = torch.compile(net) if config.compile else net
    return Stepper(net, optimizer, loss_fn, device, clip=config.clip, precision=precision, scaler=scaler,
                   channels_last=config.channels_last, forward_fn=forward_fn)


# ----------------------------------------------------------------------------------------------------------------
# a training session: its parts, built by the setup functions below, advanced by _loop

@dataclass
class _Session:
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
    tracker: _Tracker | None = None
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


def _open_checkpoint(config: TrainConfig, resume: bool) -> dict | None:
    """The checkpoint to resume from (None: a fresh run); refuses to overwrite a run or resume a missing one."""
    out_dir = Path(config.out_dir)
    last_path = out_dir / "last.pt"
    if resume:
        if not last_path.is_file():
            raise SrbenchError(f"--resume: no checkpoint {last_path}; run without --resume to start")
        return load_training_checkpoint(last_path)
    if last_path.exists():
        raise SrbenchError(f"{last_path} exists: pass --resume to continue that run, or remove {out_dir} "
                           f"(or set another name/out_dir) to start over")
    return None


def _check_resume(saved: dict, config: TrainConfig, path: Path) -> None:
    for key, value in dataclasses.asdict(config).items():
        if key in RESUMABLE_CHANGES or key not in saved:
            continue
        old = saved[key]
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(old, tuple):
            old = list(old)
        if old != value:
            raise SrbenchError(f"{path}: cannot resume with {key}={value!r}: the checkpoint was trained with "
                               f"{key}={old!r} (only {', '.join(RESUMABLE_CHANGES)} may change)")


def _build(s: _Session, ckpt: dict | None) -> None:
    """Data, seeds, model and step of the session (the model's state restored from ``ckpt`` by :func:`_restore`)."""
    from srbench.models import create_model
    from srbench.train.data import H5Images, PatchSampler

    config = s.config
    if config.val_dataset:
        from srbench.data.datasets import resolve_dataset

        resolve_dataset(config.val_dataset)  # fail now, not at the first validation
    s.images = H5Images(s.h5_path)
    s.sampler = PatchSampler(s.images, config.train_scales, config.batch_size // s.world, config.patch_size,
                             config.seed, s.rank)
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    model = create_model(config.model, scales=config.scale if config.scale else (2, 3, 4), group=config.group,
                         device=str(s.device))
    s.config = config = dataclasses.replace(config, group=getattr(model, "group", config.group))
    if ckpt is not None:
        _check_resume(ckpt.get("config", {}), config, s.last_path)
    model.train()
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    s.model = model
    s.stepper = build_stepper(config, model, s.device, s.precision, net=wrap_ddp(model, config, s.device, s.world))


def _restore(s: _Session, ckpt: dict) -> None:
    """Model, optimizer, scaler, counters and every random state from a checkpoint."""
    s.model.load_state_dict(ckpt["model"])
    s.stepper.optimizer.load_state_dict(ckpt["optimizer"])
    if s.stepper.scaler is not None and ckpt.get("scaler"):
        s.stepper.scaler.load_state_dict(ckpt["scaler"])
    s.step, s.best_psnr, s.best_step = int(ckpt["step"]), ckpt.get("best_psnr"), ckpt.get("best_step")
    s.run_id, s.seconds_before = ckpt.get("run_id"), float(ckpt.get("train_seconds", 0.0))
    s.images_before = int(ckpt.get("images_seen", 0))
    states = ckpt["rng"]
    if len(states) != s.world:
        raise SrbenchError(f"{s.last_path}: saved by {len(states)} process(es), resumed with {s.world}")
    _set_rng_state(states[s.rank]["global"], s.device)
    s.sampler.load_state_dict(states[s.rank]["sampler"])


def _start_tracking(s: _Session, recipe: str | None) -> None:
    """The MLflow run (rank 0): created, or the checkpoint's run continued."""
    from srbench.eval.device import describe_device
    from srbench.track.tracking import git_commit

    config = s.config
    s.tracker = _Tracker(config)
    s.out_dir.mkdir(parents=True, exist_ok=True)
    tags = {"srbench.kind": "train", "srbench.model": config.model, "srbench.group": str(config.group),
            "srbench.scale": str(config.scale), "srbench.loss": config.loss, "srbench.git_commit": git_commit(),
            "srbench.device": describe_device(s.device), "srbench.torch": torch.__version__,
            "srbench.recipe": recipe or "", "srbench.train_data": str(s.h5_path),
            "srbench.amp_effective": s.precision.effective, "srbench.amp_reason": s.precision.reason,
            "srbench.world_size": str(s.world)}
    if s.images.fingerprint is not None:
        tags["srbench.train_data_fingerprint"] = s.images.fingerprint
    resuming = s.run_id is not None
    s.run_id = s.tracker.start(config, tags, s.run_id, s.step, s.out_dir)
    if resuming:  # a continued run keeps its creation tags: this session's precision (device may differ) is logged
        s.tracker.tags({"srbench.amp_effective": s.precision.effective, "srbench.amp_reason": s.precision.reason})


def _gather_rng(s: _Session) -> list:
    mine = {"global": _rng_state(s.device), "sampler": s.batches.state_dict()}
    if s.world == 1:
        return [mine]
    everyone = [None] * s.world
    torch.distributed.all_gather_object(everyone, mine)
    return everyone


def _checkpoint(s: _Session, path: Path) -> None:
    """Write the session's state to ``path`` (collective: every rank takes part, rank 0 writes)."""
    states = _gather_rng(s)
    if not s.lead:
        return
    stepper = s.stepper
    atomic_save({"format": CKPT_FORMAT, "step": s.step, "model": _state_dict_cpu(s.model),
                 "optimizer": stepper.optimizer.state_dict(),
                 "scaler": stepper.scaler.state_dict() if stepper.scaler else None,
                 "rng": states, "run_id": s.run_id, "config": _plain(dataclasses.asdict(s.config)),
                 "best_psnr": s.best_psnr, "best_step": s.best_step, "train_seconds": s.seconds(),
                 "images_seen": s.images_seen()}, path)


# ----------------------------------------------------------------------------------------------------------------
# the loop

@dataclass
class _Window:
    """What the ``log_every`` metrics average over (``losses``: the checked steps' losses; at a log step every step
    of the window has been checked)."""

    loss: float = 0.0
    losses: int = 0
    steps: int = 0
    seconds: float = 0.0


def _check_due(s: _Session, step: int) -> bool:
    """Whether the host checks the losses and Ctrl-C after ``step``: every step where that is free (one CPU
    process: no device sync, no collective), else every ``check_every`` steps and at every log, validation,
    checkpoint and last step (so no checkpoint or validation ever holds weights updated from an unchecked loss)."""
    config = s.config
    if s.device.type == "cpu" and s.world == 1:
        return True
    every = config.check_every or config.log_every
    return (step == config.max_steps or any(step % n == 0 for n in (every, config.log_every, config.ckpt_every))
            or bool(config.val_dataset) and step % config.val_every == 0)


def _train_step(s: _Session, interrupt: _Interrupt) -> tuple[list[float], bool, float]:
    """One step: (the losses checked now, in step order; whether Ctrl-C asked to stop on any rank; lr).

    The loss stays on the device until a check (:func:`_check_due`): then one transfer (and under DDP one
    all_reduce) covers every pending step. A non-finite loss stops the run at that check, before the step being
    checked updates the weights, naming the first bad step."""
    config = s.config
    lr = config.lr_at(s.step)
    for group in s.stepper.optimizer.param_groups:
        group["lr"] = lr
    scale, lr_u8, hr_u8 = s.batches.next_batch()
    loss = s.stepper.forward(scale, lr_u8, hr_u8)
    s.pending.append((s.step + 1, scale, loss.detach()))
    values, stop = [], bool(interrupt.requested) if s.world == 1 else False
    if stop or _check_due(s, s.step + 1):  # a stop checkpoints at once: check what it would hold
        values, stop = checked_values([t for _, _, t in s.pending], interrupt.requested, s.world)
        steps = s.pending
        s.pending = []
        for (step, bad_scale, _), value in zip(steps, values):
            if not math.isfinite(value):
                _non_finite(s, step, bad_scale, value)
    s.stepper.update(loss)
    s.step += 1
    return values, stop, lr


def _non_finite(s: _Session, step: int, scale: int, value: float) -> None:
    if s.tracker:
        s.tracker.tags({"srbench.failure": f"non-finite loss at step {step}"})
    raise SrbenchError(f"loss is {value} at step {step} (scale x{scale}); training stopped before the weights it "
                       f"updated reached a checkpoint. Last good checkpoint: {s.last_path}; lower lr, keep clip > 0 "
                       f"or check the training data")


def _cuda_peak_mb(s: _Session) -> float:
    """Peak CUDA memory (MiB) since the last call, which resets it (windows and validations each get their own)."""
    peak = torch.cuda.max_memory_allocated(s.device) / 2**20
    torch.cuda.reset_peak_memory_stats(s.device)
    return peak


def _log_window(s: _Session, window: _Window, lr: float) -> None:
    values = {"loss": window.loss / max(window.losses, 1), "lr": lr,
              "images_per_s": window.steps * s.config.batch_size / max(window.seconds, 1e-9),
              "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if s.device.type == "cuda":
        values["cuda_mem_mb"] = max(_cuda_peak_mb(s), s.train_peak_mb)
        s.train_peak_mb = 0.0
    s.tracker.metrics(values, s.step)


def _validate(model, config: TrainConfig, device: torch.device, on_image) -> list:
    """Every validation scale of ``config.val_dataset`` through the public API, :func:`srbench.api.evaluate` (the
    standard protocol, BN in eval mode, float32), which leaves the model in training mode as it found it; one
    :class:`srbench.api.EvaluationResult` per scale."""
    from srbench.api import evaluate

    return [evaluate(model, config.val_dataset, s, "standard", device=str(device),
                     on_image=(lambda name, sr, s=s: on_image(s, name, sr)) if i == 0 else None)
            for i, s in enumerate(config.val_scales)]


def _crop(img: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    h, w = img.shape[:2]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return np.ascontiguousarray(img[top:top + size, left:left + size])


def _validate_and_keep_best(s: _Session, bar) -> None:
    """Validate (rank 0), log it, and checkpoint ``best.pt`` (all ranks) when the mean PSNR improved."""
    best_save = False
    if s.lead:
        crops: list[tuple[str, np.ndarray]] = []

        def on_image(scale, name, sr):
            if len(crops) < CROP_IMAGES:
                crops.append((f"val_x{scale}_{name}", _crop(sr)))

        from srbench.api.log import validation_metrics, validation_tags

        if s.device.type == "cuda":  # the training window's peak so far, then validation's own
            s.train_peak_mb = max(s.train_peak_mb, _cuda_peak_mb(s))
        results = _validate(s.model, s.config, s.device, on_image)
        s.last_val = {r.scale: (r.psnr, r.ssim) for r in results}
        mean_psnr = float(np.mean([p for p, _ in s.last_val.values()]))
        values = {f"val_psnr.x{k}": p for k, (p, _) in s.last_val.items()}
        values.update({f"val_ssim.x{k}": q for k, (_, q) in s.last_val.items()})
        values["val_psnr"] = mean_psnr
        for r in results:  # the benchmark's names too (srbench.log_validation's), so curves and tables share them
            values.update(validation_metrics(r, scale_suffix=len(results) > 1))
        if s.device.type == "cuda":
            values["val_cuda_mem_mb"] = _cuda_peak_mb(s)
        s.tracker.metrics(values, s.step)
        s.tracker.tags({k: v for r in results for k, v in validation_tags(r).items()})
        for key, img in crops:
            s.tracker.image(img, key, s.step)
        bar.write(f"step {s.step}: " + ", ".join(f"x{k} {p:.3f} dB / {q:.4f}" for k, (p, q) in s.last_val.items()))
        if s.best_psnr is None or mean_psnr > s.best_psnr:
            s.best_psnr, s.best_step, best_save = mean_psnr, s.step, True
    if s.world > 1:
        flag = [best_save]
        torch.distributed.broadcast_object_list(flag, src=0)
        best_save = flag[0]
    if best_save:
        _checkpoint(s, s.best_path)
        if s.lead:
            _export_weights(s.best_path, s.out_dir / "best.pth", s.tracker, "best")


def _loop(s: _Session, bar) -> bool:
    """Steps until ``max_steps`` (True) or a Ctrl-C (False, after checkpointing the step it finished)."""
    config = s.config
    window = _Window()
    with _Interrupt() as interrupt:
        while s.step < config.max_steps:
            t0 = time.perf_counter()
            values, stop, lr = _train_step(s, interrupt)
            if s.device.type == "cuda" and s.step % config.log_every == 0:
                torch.cuda.synchronize(s.device)
            window.seconds += time.perf_counter() - t0
            window.loss += sum(values)
            window.losses += len(values)
            window.steps += 1
            bar.update(1)
            last = s.step == config.max_steps
            if s.progress and values and (s.step % 10 == 0 or last):
                bar.set_postfix(loss=f"{values[-1]:.4f}", lr=f"{lr:.2e}", refresh=False)
            if s.lead and (s.step % config.log_every == 0 or last):
                _log_window(s, window, lr)
                window = _Window()
            if config.val_dataset and (s.step % config.val_every == 0 or last):
                _validate_and_keep_best(s, bar)
            if s.step % config.ckpt_every == 0 or last or stop:
                _checkpoint(s, s.last_path)
            if stop:
                return False
    return True


def _finish(s: _Session) -> TrainResult:
    """Final weights, their sha256, the time totals; the MLflow run ends FINISHED."""
    from srbench.core.hashing import sha256_file

    total_seconds = s.seconds()
    final_path = s.out_dir / "final.pth"
    best_weights = s.out_dir / "best.pth" if s.best_path.is_file() else None
    if s.lead:
        atomic_save(_state_dict_cpu(s.model), final_path)
        s.tracker.artifact(final_path, "weights")
        if best_weights is not None and not best_weights.is_file():
            _export_weights(s.best_path, best_weights, s.tracker, "best")
        s.tracker.tags({"srbench.weights_sha256.final": sha256_file(final_path),
                        "srbench.train_seconds": f"{total_seconds:.1f}"})
        s.tracker.metrics({"train_seconds": total_seconds,
                           "images_per_s_total": s.images_seen() / max(total_seconds, 1e-9)}, s.step)
        s.tracker.end("FINISHED")
    return TrainResult(run_id=s.run_id, step=s.step, out_dir=s.out_dir, final_weights=final_path if s.lead else None,
                       best_weights=best_weights, best_psnr=s.best_psnr, val=s.last_val, train_seconds=total_seconds)


def train(config: TrainConfig, *, resume: bool = False, progress: bool = True,
          recipe: str | None = None) -> TrainResult:
    """Train per ``config`` (already resolved: see :func:`srbench.train.config.load_config`); see the module doc."""
    from tqdm.auto import tqdm

    from srbench.train.data import Prefetcher

    if config.name is None or config.out_dir is None or not config.val_scales:
        from srbench.train.config import resolve
        config = resolve(config)
    world, rank, device, owns_group, h5_path = join(config, recipe, progress)
    precision = resolve_precision(config.amp, device)
    s = _Session(config=config, device=device, world=world, rank=rank, progress=progress and rank == 0,
                 precision=precision, owns_group=owns_group, h5_path=h5_path)
    if device.type == "cuda":  # cuda_mem_mb is this run's (an ablation trains several runs in one process)
        torch.cuda.reset_peak_memory_stats(device)
    bar, status = None, "FAILED"
    try:
        ckpt = _open_checkpoint(config, resume)
        if s.lead and precision.requested != "none":
            print(describe(precision), file=sys.stderr)
        _build(s, ckpt)
        if ckpt is not None:
            _restore(s, ckpt)
        s.batches = Prefetcher(s.sampler, s.config.prefetch)  # after the sampler's state is restored
        if s.lead:
            _start_tracking(s, recipe)
        s.session_start, s.start_step = time.perf_counter(), s.step
        if ckpt is None:
            _checkpoint(s, s.last_path)  # step 0: a run killed before its first checkpoint can still be resumed
        bar = tqdm(total=s.config.max_steps, initial=s.step, desc=s.config.name, unit="it", disable=not s.progress,
                   dynamic_ncols=True)
        if not _loop(s, bar):
            status = "KILLED"
            raise KeyboardInterrupt
        bar.close()
        result = _finish(s)
        status = "FINISHED"
        return result
    except BaseException:
        if s.tracker is not None and status != "FINISHED":
            with contextlib.suppress(Exception):
                s.tracker.end("KILLED" if status == "KILLED" or sys.exc_info()[0] is KeyboardInterrupt
                              else "FAILED")
        raise
    finally:
        if bar is not None:
            bar.close()
        if s.batches is not None:
            s.batches.close()
        if s.images is not None:
            s.images.close()
        if owns_group:
            torch.distributed.destroy_process_group()


def _export_weights(ckpt_path: Path, out: Path, tracker: _Tracker, which: str) -> None:
    """Write the model of a checkpoint as a plain state_dict file, log it and its sha256 tag."""
    from srbench.core.hashing import sha256_file

    state = load_training_checkpoint(ckpt_path)["model"]
    atomic_save(state, out)
    tracker.artifact(out, "weights")
    tracker.tags({f"srbench.weights_sha256.{which}": sha256_file(out)})
