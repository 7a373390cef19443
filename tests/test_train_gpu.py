"""The trainer's CUDA and multi-process logic, tested without a GPU: a fake CUDA (tests/fake_cuda.py) for the device
queries and the start order, and a real two-process DistributedDataParallel run on CPU (gloo).

What these tests cannot prove: NCCL (the gloo backend stands in for it), a real ``cuda:1``, real bf16 speed, real
CUDA memory figures, SyncBatchNorm (it has no CPU implementation). docs/gpu.md lists the on-GPU check.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fake_cuda import FakeCuda
from srbench.core.errors import SrbenchError
from srbench.train.config import TrainConfig
from srbench.train.precision import resolve_precision


def test_amp_auto_asks_the_runs_gpu_and_ignores_emulated_bf16(monkeypatch):
    """GPU 0 is an H100 (sm 9.0, current), GPU 1 a V100 (sm 7.0, bf16 only emulated). amp=auto on cuda:1 must be
    float32; torch.cuda.is_bf16_supported() (current device, emulation counted) said bf16. Cannot prove: speed."""
    FakeCuda(count=2, capability={0: (9, 0), 1: (7, 0)}, bf16_emulated=True).install(monkeypatch)
    assert resolve_precision("auto", torch.device("cuda", 1)).dtype is None
    assert resolve_precision("auto", torch.device("cuda", 0)).dtype == torch.bfloat16
    assert resolve_precision("bf16", torch.device("cuda", 1)).dtype == torch.bfloat16  # asked for: given, noted


def _images(folder: Path, n: int = 4) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for k in range(n):
        Image.fromarray(rng.integers(0, 256, (36, 40, 3), dtype=np.uint8)).save(folder / f"img{k}.png")
    return folder


def test_ddp_start_sets_the_device_first_and_builds_data_without_a_collective(tmp_path, monkeypatch):
    """Under torchrun on CUDA (rank 1 of 2, faked): set_device(cuda:1) comes before init_process_group (NCCL binds
    its communicator to the current device), and the training folder's h5 is ready before the group exists (no
    barrier to time out). Cannot prove: NCCL's behaviour itself."""
    from srbench.train import distributed

    fake = FakeCuda(count=2).install(monkeypatch)
    order: list[str] = []
    monkeypatch.setenv("SRBENCH_STORE", str(tmp_path / "store"))
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: order.append(f"set_device {fake.index(d)}"))
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: False)
    monkeypatch.setattr(torch.distributed, "init_process_group", lambda backend, **kw: order.append(f"init {backend}"))
    monkeypatch.setattr(torch.distributed, "barrier", lambda *a, **k: order.append("barrier"))
    import srbench.data.prepare as prepare

    real = prepare.prepare
    monkeypatch.setattr(prepare, "prepare", lambda *a, **k: (order.append("h5"), real(*a, **k))[1])
    for key, value in {"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"}.items():
        monkeypatch.setenv(key, value)
    config = TrainConfig(model="carn_m", num_gpu=2, batch_size=2, train_data=str(_images(tmp_path / "imgs")))
    world, rank, device, owns, h5 = distributed.join(config, None, progress=False)
    assert (world, rank, device, owns) == (2, 1, torch.device("cuda", 1), True)
    assert order == ["h5", "set_device 1", "init nccl"] and h5.is_file()


def test_sync_bn_on_cpu_is_a_clear_error(monkeypatch):
    from srbench.train import distributed

    for key, value in {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SrbenchError, match="sync_bn.*CUDA"):
        distributed.join(TrainConfig(model="carn_m", num_gpu=2, batch_size=2, sync_bn=True), None, progress=False)


_WORKER = r"""
import json, sys
import torch, torch.distributed as dist
import srbench.train.trainer as trainer
from srbench.train.checkpoint import state_dict_cpu
from srbench.train.config import TrainConfig, resolve

counts = {"all_reduce": 0, "barrier": 0}
real_all_reduce, real_barrier = dist.all_reduce, dist.barrier
def all_reduce(*a, **k):
    counts["all_reduce"] += 1
    return real_all_reduce(*a, **k)
def barrier(*a, **k):
    counts["barrier"] += 1
    return real_barrier(*a, **k)
dist.all_reduce, dist.barrier = all_reduce, barrier
real_finish = trainer._finish
def finish(s):
    torch.save(state_dict_cpu(s.model), f"{s.config.out_dir}/rank{s.rank}.pth")
    return real_finish(s)
trainer._finish = finish
class NoTracking:  # MLflow is not what this test is about (and its store set-up costs seconds)
    def __init__(self, config): self.run_id = "none"
    def start(self, *a, **k): return "none"
    def __getattr__(self, name): return lambda *a, **k: None
trainer.TrainRun = NoTracking
result = trainer.train(resolve(TrainConfig(**json.loads(sys.argv[1]))), progress=False)
print("COUNTS", json.dumps({**counts, "step": result.step}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_process_gloo_ddp(tmp_path):
    """Two CPU processes (gloo) train carn_m 4 steps from an image folder: no barrier (the h5 is built under a file
    lock), one all_reduce per check (steps 2 and 4 with log_every=2), not per step, and both ranks end with the
    same, trained weights (DDP averaged their gradients). MLflow is stubbed out (tests/test_train.py covers it).
    Cannot prove: NCCL, GPUs, SyncBatchNorm."""
    config = dict(model="carn_m", name="ddp", scale=2, max_steps=4, decay=10, lr=1e-3, batch_size=2, patch_size=6,
                  train_data=str(_images(tmp_path / "imgs")), val_dataset=None, ckpt_every=4, log_every=2, seed=1,
                  device="cpu", num_gpu=2, prefetch=0, out_dir=str(tmp_path / "run"))
    port = str(_free_port())
    procs = []
    for rank in range(2):
        env = {**os.environ, "WORLD_SIZE": "2", "RANK": str(rank), "LOCAL_RANK": str(rank), "MASTER_ADDR": "127.0.0.1",
               "MASTER_PORT": port, "OMP_NUM_THREADS": "1", "SRBENCH_STORE": str(tmp_path / "store")}
        procs.append(subprocess.Popen([sys.executable, "-c", _WORKER, json.dumps(config)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-3000:]
    counts = [json.loads(out.split("COUNTS ", 1)[1].splitlines()[0]) for out in outputs]
    assert counts == [{"all_reduce": 2, "barrier": 0, "step": 4}] * 2
    run = Path(config["out_dir"])
    w0, w1 = (torch.load(run / f"rank{r}.pth", weights_only=True) for r in range(2))
    assert w0.keys() == w1.keys() and all(torch.equal(w0[k], w1[k]) for k in w0)
    final = torch.load(run / "final.pth", weights_only=True)
    assert all(torch.equal(final[k], w0[k]) for k in w0)
    from srbench.models import create_model

    torch.manual_seed(1)
    init = create_model("carn_m", scales=2).state_dict()
    assert any(not torch.equal(init[k], w0[k]) for k in w0 if w0[k].is_floating_point())
    assert all(torch.isfinite(v).all() for v in w0.values() if v.is_floating_point())
