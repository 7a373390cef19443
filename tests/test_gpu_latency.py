"""CUDA latency and device selection, on a fake CUDA (tests/fake_cuda.py): the right device, stream and clock.

None of these tests can prove real GPU timings (asynchronous kernels, real streams); they prove that srbench
records its events on the measured device's stream, makes that device current, and times host work by the wall
clock. A real ``cuda:1`` remains unproven here (see docs/gpu.md and scripts/gpu_check.sh for the on-GPU check).
"""

from __future__ import annotations

import pytest
import torch

import srbench.eval.latency as latency
from fake_cuda import FakeCuda
from srbench.eval.device import resolve_device
from srbench.models import create_model


class GpuWork(torch.nn.Module):
    """Submits 7 ms of work to the device of its input's (fake) GPU, as a CUDA network would; nearest upscaling."""

    def __init__(self, fake: FakeCuda, device: torch.device) -> None:
        super().__init__()
        self.fake, self.device = fake, device

    def forward(self, x, scale):
        self.fake.work(self.device, 7.0)
        return x.repeat_interleave(scale, -1).repeat_interleave(scale, -2)


@pytest.fixture()
def fake(monkeypatch):
    cuda = FakeCuda(count=2).install(monkeypatch)
    monkeypatch.setattr(latency, "fixed_input",  # the fake GPU holds no tensors: the input stays on the CPU
                        lambda scale, out_hw, device: torch.rand(1, 3, *latency.lr_size(scale, out_hw)))
    return cuda


def test_latency_on_cuda_1_times_cuda_1s_stream(fake):
    """Work on cuda:1 with GPU 0 current: events on GPU 0's stream read 0 ms (the bug); on cuda:1's, 7 ms.
    Cannot prove: that a real cuda:1 network's kernels go to cuda:1's current stream (torch's rule, assumed)."""
    device = torch.device("cuda", 1)
    lat = latency.measure_latency(GpuWork(fake, device), 4, device, warmup=1, repeats=3, out_hw=(16, 16))
    assert lat.median_ms == pytest.approx(7.0)
    assert lat.clock == "cuda_events"
    assert fake.current == 0  # the current device is restored after the measurement


def test_host_compute_model_is_timed_by_the_wall_clock(fake, monkeypatch):
    """Bicubic computes on the CPU (numpy): on a CUDA device its latency is wall time, not CUDA event time.
    The fake GPU clock does not move; a fake wall clock advances 5 ms per read. Cannot prove: real overlap."""
    ticks = iter(range(0, 10_000, 5))
    monkeypatch.setattr(latency, "perf_counter", lambda: next(ticks) / 1e3, raising=False)
    model = create_model("bicubic")
    lat = latency.measure_latency(model, 2, torch.device("cuda", 0), warmup=0, repeats=3, out_hw=(16, 16))
    assert lat.median_ms == pytest.approx(5.0)
    assert lat.clock == "wall"


def test_resolve_device_names_the_index_and_makes_it_current(fake, monkeypatch):
    """``cuda:1`` becomes the current device (events, memory statistics and bf16 queries then ask GPU 1);
    ``auto`` is the process's GPU: LOCAL_RANK under torchrun, not always GPU 0. Cannot prove: real set_device."""
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert ("set_device", 1) in fake.calls and fake.current == 1
    fake.current = 0
    assert resolve_device("auto") == torch.device("cuda", 0)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert resolve_device("auto") == torch.device("cuda", 1)
    assert fake.current == 1
    assert resolve_device("cuda") == torch.device("cuda", 1)  # bare ``cuda``: the current device, with its index
