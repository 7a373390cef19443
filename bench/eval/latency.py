"""Latency of one forward pass at a fixed input size.

The input is the LR image that gives a ``out_height`` x ``out_width`` output (720p by default; for x3 the LR is
240 x 427 and the output 720 x 1281). Latency: ``warmup`` untimed runs, then ``repeats`` timed runs; we report the
median and the inter-quartile range. Exactly ``warmup + repeats`` forward passes run (``torch.utils.benchmark.Timer``
is not used: its ``timeit(1)`` adds two untimed calls to every timed one). On CPU each call is timed with
``time.perf_counter`` at the thread count in force (logged as ``srbench.threads``); on CUDA with CUDA events around
each run, synchronised. The events are recorded on the current stream *of the measured device*, inside
``torch.cuda.device(device)``: work on ``cuda:1`` runs on cuda:1's stream, and events on GPU 0's stream would time
nothing (about 0 ms).

A model that computes on the host whatever its device (``host_compute = True``: bicubic's numpy ``imresize``) is
timed with the wall clock on every device, around a synchronised call: CUDA events would time the GPU's queue, not
the numpy work. :attr:`Latency.clock` says which clock timed a measurement (``cuda_events`` or ``wall``).

Peak memory, on the same input, is :mod:`srbench.eval.memory`.
"""

from __future__ import annotations

import contextlib
import math
import statistics
from dataclasses import dataclass
from time import perf_counter

import torch


@dataclass
class Latency:
    """Median and inter-quartile range of the timed forward passes, in milliseconds."""

    median_ms: float
    iqr_ms: float
    repeats: int
    threads: int
    clock: str = "wall"  # ``wall`` (perf_counter around a synchronised call) or ``cuda_events``


def lr_size(scale: int, out_hw: tuple[int, int] = (720, 1280)) -> tuple[int, int]:
    """The LR size whose x``scale`` output covers ``out_hw`` (rounded up)."""
    return math.ceil(out_hw[0] / scale), math.ceil(out_hw[1] / scale)


def fixed_input(scale: int, out_hw: tuple[int, int], device: torch.device) -> torch.Tensor:
    """The same random LR every time (seed 0), channels-last like the evaluation's inputs."""
    x = torch.rand(1, 3, *lr_size(scale, out_hw), generator=torch.Generator().manual_seed(0))
    return x.to(device).contiguous(memory_format=torch.channels_last)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA, MPS); a no-op on CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def host_compute(model) -> bool:
    """True for a model (or a runner of one) that computes on the host CPU whatever its device (see the module doc)."""
    return bool(getattr(model, "host_compute", False))


def timing_clock(model, device: torch.device) -> str:
    """The clock that times ``model`` on ``device``: CUDA events for device work on CUDA, else the wall clock."""
    return "cuda_events" if torch.device(device).type == "cuda" and not host_compute(model) else "wall"


def _on_device(device: torch.device):
    """The block runs with ``device`` as the current CUDA device (a no-op elsewhere)."""
    return torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()


def _time_call(call, device: torch.device, clock: str) -> float:
    """Milliseconds of one ``call()`` by ``clock``; the device is synchronised before the clock stops."""
    if clock == "cuda_events":
        stream = torch.cuda.current_stream(device)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record(stream)
        call()
        end.record(stream)
        torch.cuda.synchronize(device)
        return start.elapsed_time(end)
    start_s = perf_counter()
    call()
    synchronize(device)
    return (perf_counter() - start_s) * 1e3


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], 0.0
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return statistics.median(values), q3 - q1


def measure_latency(model: torch.nn.Module, scale: int, device: torch.device, *, warmup: int = 1, repeats: int = 5,
                    out_hw: tuple[int, int] = (720, 1280)) -> Latency:
    """Time ``model(x, scale)`` on a fixed random LR input (the model must be in eval/BN mode already)."""
    device = torch.device(device)
    clock = timing_clock(model, device)
    x = fixed_input(scale, out_hw, device)
    with torch.inference_mode(), _on_device(device):
        for _ in range(warmup):
            model(x, scale)
        synchronize(device)
        # exactly ``repeats`` timed calls (Timer.timeit(1) would add two untimed ones each)
        times = [_time_call(lambda: model(x, scale), device, clock) for _ in range(repeats)]
    median, iqr = _quartiles(times)
    return Latency(median_ms=median, iqr_ms=iqr, repeats=len(times), threads=torch.get_num_threads(), clock=clock)
