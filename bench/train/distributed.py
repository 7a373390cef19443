"""The processes of a training run: joining torchrun's group, the training data before it, BatchNorm under DDP.

Order of a DistributedDataParallel start (``torchrun --nproc_per_node N``), one process per GPU:

1. the run's checks (``num_gpu`` equals the number of processes, the batch divides among them);
2. the training data: an image folder becomes its cached h5 file (:func:`srbench.data.prepare.cached_h5_for_folder`)
   in every process, under a file lock: the first builds it, the others wait on the lock and then find it up to
   date. Nothing waits in a collective, so a long first build (DIV2K: minutes) cannot hit NCCL's timeout;
3. on CUDA, ``torch.cuda.set_device(cuda:LOCAL_RANK)`` *before* ``init_process_group``: NCCL binds each process's
   communicator to its current device, and a group created first would put every rank's communicator on GPU 0;
4. ``init_process_group`` (NCCL on CUDA, gloo on CPU).

BatchNorm (ECDN's BN variants) under DDP: by default each process normalises with the statistics of its own
``batch_size / N`` patches (plain ``BatchNorm2d``), so N processes do not train the same function as one process on
the whole batch (the single-GPU recipe). ``sync_bn: true`` converts every BatchNorm to ``SyncBatchNorm``, whose
statistics are those of the global batch (one all-reduce per BN layer per step; CUDA only). Models without
BatchNorm (CARN, CARN-M, ECDN without BN) are unaffected.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from srbench.core.errors import SrbenchError
from srbench.train.config import TrainConfig


def dist_info() -> tuple[int, int, int]:
    """(world size, rank, local rank) from torchrun's environment; (1, 0, 0) in a plain process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return world, int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))


def train_data_path(config: TrainConfig, progress: bool) -> Path:
    """The h5 file to train from: ``train_data`` itself, or the cached h5 of an image folder (built on first use,
    under a file lock shared by concurrent processes)."""
    path = Path(config.train_data)
    if path.is_dir():
        from srbench.data.prepare import cached_h5_for_folder

        return cached_h5_for_folder(path, progress=progress)
    if not path.exists():
        raise SrbenchError(f"train_data {path}: no such h5 file or image folder (for DIV2K run `srbench prepare "
                           f"<DIV2K folder> -o {path}`)")
    return path


def join(config: TrainConfig, recipe: str | None, progress: bool) -> tuple[int, int, torch.device, bool, Path]:
    """(world size, rank, device, whether this call created the process group, training h5): the start order of
    the module docstring."""
    import torch.distributed as dist

    from srbench.eval.device import resolve_device

    world, rank, local_rank = dist_info()
    if world == 1 and config.num_gpu > 1:
        raise SrbenchError(f"num_gpu={config.num_gpu} needs one process per GPU: run `torchrun "
                           f"--nproc_per_node {config.num_gpu} -m srbench.cli train {recipe or '<recipe.yaml>'}`")
    if world > 1 and config.num_gpu != world:
        raise SrbenchError(f"launched with {world} processes but num_gpu={config.num_gpu}; pass "
                           f"--set num_gpu={world}")
    if config.batch_size % world:
        raise SrbenchError(f"batch_size={config.batch_size} is not divisible by the {world} processes")
    if config.sync_bn and world > 1 and not torch.cuda.is_available():
        raise SrbenchError("sync_bn: true needs CUDA (SyncBatchNorm has no CPU implementation); set sync_bn: false")
    h5_path = train_data_path(config, progress and rank == 0)
    if world == 1:
        return world, rank, resolve_device(config.device), False, h5_path
    device = torch.device("cpu")
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)  # before the group: NCCL's communicator is bound to the current device
    owns_group = False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        owns_group = True
    return world, rank, device, owns_group, h5_path


def wrap_ddp(model: torch.nn.Module, config: TrainConfig, device: torch.device, world: int) -> torch.nn.Module:
    """The module a training step calls: ``model`` itself, or its DistributedDataParallel wrapper (with
    SyncBatchNorm first when ``sync_bn``). The returned wrapper shares ``model``'s parameters."""
    if world == 1:
        return model
    net = model
    if config.sync_bn:
        net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return torch.nn.parallel.DistributedDataParallel(
        net, device_ids=[device.index] if device.type == "cuda" else None, find_unused_parameters=True)


def checked_values(losses: list[torch.Tensor], stop: bool, world: int) -> tuple[list[float], bool]:
    """The pending steps' losses (averaged over the processes) and whether any process asked to stop: one host
    transfer and, under DDP, one all_reduce for all of them."""
    flags = torch.stack([*[loss.float() for loss in losses], torch.tensor(float(stop), device=losses[0].device)])
    if world > 1:
        torch.distributed.all_reduce(flags)
        flags[:-1] /= world
    values = flags.tolist()
    return values[:-1], bool(values[-1])


def gather_from_all(obj, world: int) -> list:
    """``obj`` of every rank, in rank order (collective: every rank calls it); ``[obj]`` in a single process."""
    if world == 1:
        return [obj]
    everyone = [None] * world
    torch.distributed.all_gather_object(everyone, obj)
    return everyone


def broadcast_from_lead(value, world: int):
    """Rank 0's ``value`` on every rank (collective); ``value`` itself in a single process."""
    if world == 1:
        return value
    box = [value]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]
