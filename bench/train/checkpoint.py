"""Training checkpoints: every random state, the atomic write, and the strict read.

A checkpoint (``last.pt``, ``best.pt``) holds the model, the optimizer, the step, the MLflow run id and every random
state (python, numpy, torch, CUDA, and the patch sampler's generators), as tensors and plain Python data only, so it
loads with ``torch.load(weights_only=True)``; it is written to a temporary file and renamed.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import torch

from srbench.core.atomic import atomic_path
from srbench.core.errors import SrbenchError
from srbench.core.hashing import sha256_file
from srbench.track import tags as T
from srbench.train.distributed import gather_from_all
from srbench.train.session import Session
from srbench.train.tracker import TrainRun, plain

CKPT_FORMAT = "srbench-train-checkpoint/1"


def rng_state(device: torch.device) -> dict:
    np_state = np.random.get_state(legacy=False)
    np_state = {**np_state, "state": {"key": np_state["state"]["key"].tolist(), "pos": int(np_state["state"]["pos"])}}
    state = {"python": random.getstate(), "numpy": np_state, "torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict, device: torch.device) -> None:
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
    """``torch.save`` to a temporary file beside ``path``, then rename (:func:`srbench.core.atomic.atomic_path`): a
    reader never sees a partial file."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


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


def state_dict_cpu(model: torch.nn.Module) -> dict:
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def _gather_rng(s: Session) -> list:
    """Every rank's random states (global and the patch sampler's), rank order."""
    mine = {"global": rng_state(s.device), "sampler": s.batches.state_dict()}
    return gather_from_all(mine, s.world)


def save_checkpoint(s: Session, path: Path) -> None:
    """Write the session's state to ``path`` (collective: every rank takes part, rank 0 writes)."""
    states = _gather_rng(s)
    if not s.lead:
        return
    stepper = s.stepper
    atomic_save({"format": CKPT_FORMAT, "step": s.step, "model": state_dict_cpu(s.model),
                 "optimizer": stepper.optimizer.state_dict(),
                 "scaler": stepper.scaler.state_dict() if stepper.scaler else None,
                 "rng": states, "run_id": s.run_id, "config": plain(dataclasses.asdict(s.config)),
                 "best_psnr": s.best_psnr, "best_step": s.best_step, "train_seconds": s.seconds(),
                 "images_seen": s.images_seen()}, path)


def export_weights(ckpt_path: Path, out: Path, tracker: TrainRun, which: str) -> None:
    """Write the model of a checkpoint as a plain state_dict file, log it and its sha256 tag."""
    state = load_training_checkpoint(ckpt_path)["model"]
    atomic_save(state, out)
    tracker.artifact(out, "weights")
    tracker.tags({T.trained_weights_sha256(which): sha256_file(out)})
