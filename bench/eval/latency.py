"""Latency of one forward pass at a fixed input size.

The input is the LR image that gives a ``out_height`` x ``out_width`` output (720p by default; for x3 the LR is
240 x 427 and the output 720 x 1281). Latency: ``warmup`` untimed runs, then ``repeats`` timed runs; we report the
median and the inter-quartile range. Exactly ``warmup + repeats`` forward passes run (``torch.utils.benchmark.Timer``
is not used: its ``timeit(1)`` adds two untimed calls to every timed one). On CPU each call is timed with
``time.perf_counter`` at the thread count in force (logged as ``srbench.threads``); on CUDA with CUDA events around
each run, synchronised.

Peak memory, on the same input, is :mod:`srbench.eval.memory`.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass

import torch


@dataclass
class Latency:
    """Median and inter-quartile range of the timed forward passes, in milliseconds."""

    median_ms: float
    iqr_ms: float
    repeats: int
    threads: int


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


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], 0.0
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return statistics.median(values), q3 - q1


def measure_latency(model: torch.nn.Module, scale: int, device: torch.device, *, warmup: int = 1, repeats: int = 5,
                    out_hw: tuple[int, int] = (720, 1280)) -> Latency:
    """Time ``model(x, scale)`` on a fixed random LR input (the model must be in eval/BN mode already)."""
    x = fixed_input(scale, out_hw, device)
    with torch.inference_mode():
        for _ in range(warmup):
            model(x, scale)
        synchronize(device)
        times = []
        for _ in range(repeats):  # exactly ``repeats`` timed calls (Timer.timeit(1) would add two untimed ones each)
            if device.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model(x, scale)
                end.record()
                torch.cuda.synchronize(device)
                times.append(start.elapsed_time(end))
            else:
                start_s = time.perf_counter()
                model(x, scale)
                synchronize(device)
                times.append((time.perf_counter() - start_s) * 1e3)
    median, iqr = _quartiles(times)
    return Latency(median_ms=median, iqr_ms=iqr, repeats=len(times), threads=torch.get_num_threads())
