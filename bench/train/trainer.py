"""The trainer: the papers' recipe (Adam, step decay, gradient clipping, patch sampling), resumable and tracked.

One call of :func:`train` is one MLflow run (a resumed call continues the same run). What a run records
--------------------------------------------------------------------------------------------------------
tags      ``srbench.kind=train``, ``srbench.{model,group,scale,loss,git_commit,device,torch,recipe,train_data,
          train_data_fingerprint,amp_effective,world_size}``, ``srbench.weights_sha256.final``/``.best``,
          ``srbench.train_seconds``; ``srbench.resumed_at`` (steps, comma-separated) when resumed.
params    the resolved :class:`~srbench.train.config.TrainConfig`, every field verbatim (``group`` resolved to the
          model's); also the ``config.yaml`` artifact.
metrics   every ``log_every`` steps: ``loss`` (mean over the window), ``lr``, ``images_per_s`` (training steps only),
          ``rss_mb`` (peak resident memory) and ``cuda_mem_mb`` on CUDA; every ``val_every`` steps, per validation
          scale s: ``val_psnr.x<s>``, ``val_ssim.x<s>`` (:func:`srbench.eval.evaluate.evaluate`, standard protocol, BN
          eval mode), ``val_psnr`` (mean over the scales, what ``best`` is chosen by) and SR crops as images
          (``val_x<s>_<image>``); at the end ``train_seconds`` (wall time of all sessions) and
          ``images_per_s_total``.
artifacts ``weights/final.pth`` and ``weights/best.pth`` (plain state_dicts), ``config.yaml``.

Files in ``out_dir``: ``last.pt`` (every ``ckpt_every`` steps, at the end and on Ctrl-C), ``best.pt`` (at each new
best validation PSNR), ``final.pth`` and ``best.pth`` (state_dicts). Checkpoints are written to a temporary file and
renamed, hold the model, the optimizer, the step, the MLflow run id and every random state (python, numpy, torch,
CUDA, and the patch sampler's generators), and contain only tensors and plain Python data: they load with
``torch.load(weights_only=True)``. (Should a future field need arbitrary objects, only these training checkpoints,
which srbench wrote itself, may be loaded with ``weights_only=False``; never a downloaded file.)

Resume (``srbench train recipe.yaml --resume``) restores all of it: on CPU with a fixed seed a run killed at any
point and resumed ends bitwise-identical to an uninterrupted one. A non-finite loss stops the run with an error
naming the step, before that step changes the weights; the last checkpoint is left as it was.

Multi-GPU: ``torchrun --nproc_per_node N -m srbench.cli train recipe.yaml --set num_gpu=N`` runs
DistributedDataParallel (NCCL on CUDA, gloo on CPU), each process drawing ``batch_size / N`` patches at the scale
shared by all processes; rank 0 validates, checkpoints and logs.
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
# the run

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
    the forward pass runs under autocast when ``amp_dtype`` is given; ``update`` does backward (scaled for fp16),
    gradient-norm clipping and the optimizer step. Also used by ``scripts/bench_train_throughput.py``.
    """

    def __init__(self, net, optimizer, loss_fn, device: torch.device, *, clip: float, amp_dtype=None, scaler=None,
                 channels_last: bool = False) -> None:
        self.net, self.optimizer, self.loss_fn, self.device = net, optimizer, loss_fn, device
        self.clip, self.amp_dtype, self.scaler, self.channels_last = clip, amp_dtype, scaler, channels_last
        self.params = [p for group in optimizer.param_groups for p in group["params"]]

    def forward(self, scale: int, lr_u8: np.ndarray, hr_u8: np.ndarray) -> torch.Tensor:
        from srbench.train.data import to_tensor

        x = to_tensor(lr_u8, self.device, channels_last=self.channels_last)
        y = to_tensor(hr_u8, self.device, channels_last=self.channels_last)
        with (torch.autocast(self.device.type, dtype=self.amp_dtype) if self.amp_dtype is not None
              else contextlib.nullcontext()):
            sr = self.net(x, scale)
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


def _dist_info() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return world, int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))


def _resolve_train_data(config: TrainConfig, rank: int, world: int, progress: bool) -> Path:
    path = Path(config.train_data)
    if path.is_dir():
        from srbench.data.prepare import cached_h5_for_folder

        if rank == 0:
            path = cached_h5_for_folder(path, progress=progress)
        if world > 1:
            torch.distributed.barrier()
        if rank != 0:
            path = cached_h5_for_folder(path, progress=False)  # up to date now: returns at once
        return path
    if not path.exists():
        raise SrbenchError(f"train_data {path}: no such h5 file or image folder (for DIV2K run `srbench prepare "
                           f"<DIV2K folder> -o {path}`)")
    return path


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


def _validate(model, config: TrainConfig, device: torch.device, on_image) -> dict[int, tuple[float, float]]:
    from srbench.eval.evaluate import evaluate
    from srbench.eval.protocol import get_protocol
    from srbench.models import set_bn_mode

    protocol = get_protocol("standard")
    set_bn_mode(model, protocol.bn_mode)
    try:
        out = {}
        for i, s in enumerate(config.val_scales):
            result = evaluate(model, config.val_dataset, s, protocol, device=device, progress=False,
                              on_image=(lambda name, sr, s=s: on_image(s, name, sr)) if i == 0 else None)
            out[s] = (result.psnr, result.ssim)
        return out
    finally:
        model.train()


def _crop(img: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    h, w = img.shape[:2]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return np.ascontiguousarray(img[top:top + size, left:left + size])


def train(config: TrainConfig, *, resume: bool = False, progress: bool = True,
          recipe: str | None = None) -> TrainResult:
    """Train per ``config`` (already resolved: see :func:`srbench.train.config.load_config`); see the module doc."""
    import torch.distributed as dist
    from tqdm.auto import tqdm

    from srbench.eval.device import describe_device, resolve_device
    from srbench.train.losses import get_loss
    from srbench.train.data import H5Images, PatchSampler
    from srbench.core.hashing import sha256_file
    from srbench.models import create_model

    if config.name is None or config.out_dir is None or not config.val_scales:
        from srbench.train.config import resolve
        config = resolve(config)

    # processes ---------------------------------------------------------------------------------------------
    world, rank, local_rank = _dist_info()
    owns_group = False
    if world > 1:
        if config.num_gpu != world:
            raise SrbenchError(f"launched with {world} processes but num_gpu={config.num_gpu}; pass "
                               f"--set num_gpu={world}")
        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
            owns_group = True
        device = torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
        if device.type == "cuda":
            torch.cuda.set_device(device)
    else:
        if config.num_gpu > 1:
            raise SrbenchError(f"num_gpu={config.num_gpu} needs one process per GPU: run `torchrun "
                               f"--nproc_per_node {config.num_gpu} -m srbench.cli train {recipe or '<recipe.yaml>'}`")
        device = resolve_device(config.device)
    if config.batch_size % world:
        raise SrbenchError(f"batch_size={config.batch_size} is not divisible by the {world} processes")
    lead = rank == 0
    progress = progress and lead

    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(config.amp)
    if amp_dtype is not None and device.type != "cuda":
        print(f"note: amp={config.amp} applies on CUDA only; training in float32 on {device.type}", file=sys.stderr)
        amp_dtype = None

    out_dir = Path(config.out_dir)
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    ckpt = None
    if resume:
        if not last_path.is_file():
            raise SrbenchError(f"--resume: no checkpoint {last_path}; run without --resume to start")
        ckpt = load_training_checkpoint(last_path)
    elif last_path.exists():
        raise SrbenchError(f"{last_path} exists: pass --resume to continue that run, or remove {out_dir} "
                           f"(or set another name/out_dir) to start over")

    if config.val_dataset:
        from srbench.data.datasets import resolve_dataset

        resolve_dataset(config.val_dataset)  # fail now, not at the first validation
    # data, model, optimizer -----------------------------------------------------------------------------------
    h5_path = _resolve_train_data(config, rank, world, progress)
    images = H5Images(h5_path)
    sampler = PatchSampler(images, config.train_scales, config.batch_size // world, config.patch_size,
                           config.seed, rank)
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    scales_arg = config.scale if config.scale else (2, 3, 4)
    model = create_model(config.model, scales=scales_arg, group=config.group, device=str(device))
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise SrbenchError(f"model {config.model!r} has no trainable parameters")
    config = dataclasses.replace(config, group=getattr(model, "group", config.group))
    if ckpt is not None:
        _check_resume(ckpt.get("config", {}), config, last_path)
    model.train()
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(trainable, lr=config.lr)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    loss_fn = get_loss(config.loss, smoothl1_beta=config.smoothl1_beta, charbonnier_eps=config.charbonnier_eps)

    step, best_psnr, best_step, run_id, seconds_before, images_before = 0, None, None, None, 0.0, 0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scaler is not None and ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        step, best_psnr, best_step = int(ckpt["step"]), ckpt.get("best_psnr"), ckpt.get("best_step")
        run_id, seconds_before = ckpt.get("run_id"), float(ckpt.get("train_seconds", 0.0))
        images_before = int(ckpt.get("images_seen", 0))
        states = ckpt["rng"]
        if len(states) != world:
            raise SrbenchError(f"{last_path}: saved by {len(states)} process(es), resumed with {world}")
        _set_rng_state(states[rank]["global"], device)
        sampler.load_state_dict(states[rank]["sampler"])
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None, find_unused_parameters=True)
    stepper = Stepper(net, optimizer, loss_fn, device, clip=config.clip, amp_dtype=amp_dtype, scaler=scaler,
                      channels_last=config.channels_last)

    # tracking ------------------------------------------------------------------------------------------------
    tracker = _Tracker(config) if lead else None
    if lead:
        from srbench.track.tracking import git_commit

        out_dir.mkdir(parents=True, exist_ok=True)
        tags = {"srbench.kind": "train", "srbench.model": config.model, "srbench.group": str(config.group),
                "srbench.scale": str(config.scale), "srbench.loss": config.loss, "srbench.git_commit": git_commit(),
                "srbench.device": describe_device(device), "srbench.torch": torch.__version__,
                "srbench.recipe": recipe or "", "srbench.train_data": str(h5_path),
                "srbench.amp_effective": config.amp if amp_dtype is not None else "none",
                "srbench.world_size": str(world)}
        if images.fingerprint is not None:
            tags["srbench.train_data_fingerprint"] = images.fingerprint
        run_id = tracker.start(config, tags, run_id, step, out_dir)

    session_start = time.perf_counter()

    def gather_rng() -> list:
        mine = {"global": _rng_state(device), "sampler": sampler.state_dict()}
        if world == 1:
            return [mine]
        everyone = [None] * world
        dist.all_gather_object(everyone, mine)
        return everyone

    def checkpoint(path: Path) -> None:
        states = gather_rng()  # collective: every rank takes part
        if not lead:
            return
        atomic_save({"format": CKPT_FORMAT, "step": step, "model": _state_dict_cpu(model),
                     "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict() if scaler else None,
                     "rng": states, "run_id": run_id, "config": _plain(dataclasses.asdict(config)),
                     "best_psnr": best_psnr, "best_step": best_step,
                     "train_seconds": seconds_before + time.perf_counter() - session_start,
                     "images_seen": images_before + (step - start_step) * config.batch_size}, path)

    start_step = step
    if ckpt is None:
        checkpoint(last_path)  # step 0: a run killed before its first checkpoint can still be resumed
    last_val: dict[int, tuple[float, float]] = {}
    status = "FAILED"
    bar = tqdm(total=config.max_steps, initial=step, desc=config.name, unit="it", disable=not progress,
               dynamic_ncols=True)
    window_loss, window_steps, window_time = 0.0, 0, 0.0
    try:
        with _Interrupt() as interrupt:
            while step < config.max_steps:
                t0 = time.perf_counter()
                lr = config.lr_at(step)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                scale, lr_u8, hr_u8 = sampler.next_batch()
                loss = stepper.forward(scale, lr_u8, hr_u8)
                flags = torch.stack([loss.detach().float(),
                                     torch.tensor(float(interrupt.requested), device=loss.device)])
                if world > 1:
                    dist.all_reduce(flags)
                    flags[0] /= world
                value, stop = flags.tolist()
                if not math.isfinite(value):
                    tracker and tracker.tags({"srbench.failure": f"non-finite loss at step {step + 1}"})
                    raise SrbenchError(
                        f"loss is {value} at step {step + 1} (scale x{scale}); training stopped before that step "
                        f"changed the weights. Last good checkpoint: {last_path}; lower lr, keep clip > 0 or "
                        f"check the training data")
                stepper.update(loss)
                step += 1
                if device.type == "cuda" and step % config.log_every == 0:
                    torch.cuda.synchronize(device)
                window_time += time.perf_counter() - t0
                window_loss += value
                window_steps += 1
                bar.update(1)
                if progress and (step % 10 == 0 or step == config.max_steps):
                    bar.set_postfix(loss=f"{value:.4f}", lr=f"{lr:.2e}", refresh=False)

                last = step == config.max_steps
                if lead and (step % config.log_every == 0 or last):
                    values = {"loss": window_loss / window_steps, "lr": lr,
                              "images_per_s": window_steps * config.batch_size / max(window_time, 1e-9),
                              "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
                    if device.type == "cuda":
                        values["cuda_mem_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
                    tracker.metrics(values, step)
                    window_loss, window_steps, window_time = 0.0, 0, 0.0
                if config.val_dataset and (step % config.val_every == 0 or last):
                    if lead:
                        crops: list[tuple[str, np.ndarray]] = []

                        def on_image(s, name, sr):
                            if len(crops) < CROP_IMAGES:
                                crops.append((f"val_x{s}_{name}", _crop(sr)))

                        last_val = _validate(model, config, device, on_image)
                        mean_psnr = float(np.mean([p for p, _ in last_val.values()]))
                        values = {f"val_psnr.x{s}": p for s, (p, _) in last_val.items()}
                        values.update({f"val_ssim.x{s}": q for s, (_, q) in last_val.items()})
                        values["val_psnr"] = mean_psnr
                        tracker.metrics(values, step)
                        for key, img in crops:
                            tracker.image(img, key, step)
                        bar.write(f"step {step}: " + ", ".join(f"x{s} {p:.3f} dB / {q:.4f}"
                                                               for s, (p, q) in last_val.items()))
                        if best_psnr is None or mean_psnr > best_psnr:
                            best_psnr, best_step = mean_psnr, step
                            best_save = True
                        else:
                            best_save = False
                    else:
                        best_save = False
                    if world > 1:
                        flag = [best_save]
                        dist.broadcast_object_list(flag, src=0)
                        best_save = flag[0]
                    if best_save:
                        checkpoint(best_path)
                        if lead:
                            _export_weights(best_path, out_dir / "best.pth", tracker, "best", sha256_file)
                if step % config.ckpt_every == 0 or last or stop:
                    checkpoint(last_path)
                if stop:
                    bar.close()
                    if lead:
                        tracker.end("KILLED")
                    status = "KILLED"
                    raise KeyboardInterrupt
            bar.close()
        total_seconds = seconds_before + time.perf_counter() - session_start
        final_path = out_dir / "final.pth"
        best_weights = out_dir / "best.pth" if best_path.is_file() else None
        if lead:
            atomic_save(_state_dict_cpu(model), final_path)
            tracker.artifact(final_path, "weights")
            if best_weights is not None and not best_weights.is_file():
                _export_weights(best_path, best_weights, tracker, "best", sha256_file)
            images_total = images_before + (step - start_step) * config.batch_size
            tracker.tags({"srbench.weights_sha256.final": sha256_file(final_path),
                          "srbench.train_seconds": f"{total_seconds:.1f}"})
            tracker.metrics({"train_seconds": total_seconds,
                             "images_per_s_total": images_total / max(total_seconds, 1e-9)}, step)
            tracker.end("FINISHED")
        status = "FINISHED"
        return TrainResult(run_id=run_id, step=step, out_dir=out_dir, final_weights=final_path if lead else None,
                           best_weights=best_weights, best_psnr=best_psnr, val=last_val,
                           train_seconds=total_seconds)
    except KeyboardInterrupt:
        if lead and status != "KILLED":
            tracker.end("KILLED")  # a second Ctrl-C: the last periodic checkpoint stands
        raise
    except BaseException:
        if lead:
            with contextlib.suppress(Exception):
                tracker.end("FAILED")
        raise
    finally:
        bar.close()
        images.close()
        if owns_group:
            dist.destroy_process_group()


def _export_weights(ckpt_path: Path, out: Path, tracker: _Tracker, which: str, sha256_file) -> None:
    """Write the model of a checkpoint as a plain state_dict file, log it and its sha256 tag."""
    state = load_training_checkpoint(ckpt_path)["model"]
    atomic_save(state, out)
    tracker.artifact(out, "weights")
    tracker.tags({f"srbench.weights_sha256.{which}": sha256_file(out)})
