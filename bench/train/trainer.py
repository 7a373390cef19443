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
import random
import resource
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from srbench.core.errors import SrbenchError
from srbench.track import tags as T
from srbench.train.checkpoint import (atomic_save, export_weights, load_training_checkpoint, save_checkpoint,
                                      set_rng_state, state_dict_cpu)
from srbench.train.config import RESUMABLE_CHANGES, TrainConfig
from srbench.train.distributed import checked_values, join, wrap_ddp
from srbench.train.precision import describe, resolve_precision
from srbench.train.session import Session
from srbench.train.step import build_stepper
from srbench.train.tracker import TrainRun, train_tags
from srbench.train.validation import cuda_peak_mb, validate_and_keep_best

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


# ----------------------------------------------------------------------------------------------------------------
# a training session: its parts, built by the setup functions below, advanced by _loop

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


def _build(s: Session, ckpt: dict | None) -> None:
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


def _restore(s: Session, ckpt: dict) -> None:
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
    set_rng_state(states[s.rank]["global"], s.device)
    s.sampler.load_state_dict(states[s.rank]["sampler"])


def _start_tracking(s: Session, recipe: str | None) -> None:
    """The MLflow run (rank 0): created, or the checkpoint's run continued."""
    s.tracker = TrainRun(s.config)
    s.out_dir.mkdir(parents=True, exist_ok=True)
    tags = train_tags(s.config, device=s.device, recipe=recipe, train_data=s.h5_path,
                      train_data_fingerprint=s.images.fingerprint, precision=s.precision, world=s.world)
    resuming = s.run_id is not None
    s.run_id = s.tracker.start(s.config, tags, s.run_id, s.step, s.out_dir)
    if resuming:  # a continued run keeps its creation tags: this session's precision (device may differ) is logged
        s.tracker.tags({T.AMP_EFFECTIVE: s.precision.effective, T.AMP_REASON: s.precision.reason})


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


def _check_due(s: Session, step: int) -> bool:
    """Whether the host checks the losses and Ctrl-C after ``step``: every step where that is free (one CPU
    process: no device sync, no collective), else every ``check_every`` steps and at every log, validation,
    checkpoint and last step (so no checkpoint or validation ever holds weights updated from an unchecked loss)."""
    config = s.config
    if s.device.type == "cpu" and s.world == 1:
        return True
    every = config.check_every or config.log_every
    return (step == config.max_steps or any(step % n == 0 for n in (every, config.log_every, config.ckpt_every))
            or bool(config.val_dataset) and step % config.val_every == 0)


def _train_step(s: Session, interrupt: _Interrupt) -> tuple[list[float], bool, float]:
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


def _non_finite(s: Session, step: int, scale: int, value: float) -> None:
    if s.tracker:
        s.tracker.tags({T.FAILURE: f"non-finite loss at step {step}"})
    raise SrbenchError(f"loss is {value} at step {step} (scale x{scale}); training stopped before the weights it "
                       f"updated reached a checkpoint. Last good checkpoint: {s.last_path}; lower lr, keep clip > 0 "
                       f"or check the training data")


def _log_window(s: Session, window: _Window, lr: float) -> None:
    values = {"loss": window.loss / max(window.losses, 1), "lr": lr,
              "images_per_s": window.steps * s.config.batch_size / max(window.seconds, 1e-9),
              "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if s.device.type == "cuda":
        values["cuda_mem_mb"] = max(cuda_peak_mb(s), s.train_peak_mb)
        s.train_peak_mb = 0.0
    s.tracker.metrics(values, s.step)


def _loop(s: Session, bar) -> bool:
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
                validate_and_keep_best(s, bar)
            if s.step % config.ckpt_every == 0 or last or stop:
                save_checkpoint(s, s.last_path)
            if stop:
                return False
    return True


def _finish(s: Session) -> TrainResult:
    """Final weights, their sha256, the time totals; the MLflow run ends FINISHED."""
    from srbench.core.hashing import sha256_file

    total_seconds = s.seconds()
    final_path = s.out_dir / "final.pth"
    best_weights = s.out_dir / "best.pth" if s.best_path.is_file() else None
    if s.lead:
        atomic_save(state_dict_cpu(s.model), final_path)
        s.tracker.artifact(final_path, "weights")
        if best_weights is not None and not best_weights.is_file():
            export_weights(s.best_path, best_weights, s.tracker, "best")
        s.tracker.tags({T.trained_weights_sha256("final"): sha256_file(final_path),
                        T.TRAIN_SECONDS: f"{total_seconds:.1f}"})
        s.tracker.metrics({"train_seconds": total_seconds,
                           "images_per_s_total": s.images_seen() / max(total_seconds, 1e-9)}, s.step)
        s.tracker.end_after(None)
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
    s = Session(config=config, device=device, world=world, rank=rank, progress=progress and rank == 0,
                 precision=precision, owns_group=owns_group, h5_path=h5_path)
    if device.type == "cuda":  # cuda_mem_mb is this run's (an ablation trains several runs in one process)
        torch.cuda.reset_peak_memory_stats(device)
    bar, finished = None, False
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
            save_checkpoint(s, s.last_path)  # step 0: a run killed before its first checkpoint can still be resumed
        bar = tqdm(total=s.config.max_steps, initial=s.step, desc=s.config.name, unit="it", disable=not s.progress,
                   dynamic_ncols=True)
        if not _loop(s, bar):
            raise KeyboardInterrupt  # Ctrl-C, after checkpointing: the run ends KILLED
        bar.close()
        result = _finish(s)
        finished = True
        return result
    except BaseException as exc:
        if s.tracker is not None and not finished:
            with contextlib.suppress(Exception):
                s.tracker.end_after(exc)
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
