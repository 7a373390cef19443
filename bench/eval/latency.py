"""Latency of one forward pass at a fixed input size.

The input is the LR image that gives a ``out_height`` x ``out_width`` output (720p by default; for x3 the LR is
240 x 427 and the output 720 x 1281). Latency: ``warmup`` untimed runs, then ``repeats`` timed runs; we report the
median and the inter-quartile range. On CPU the timing uses ``torch.utils.benchmark.Timer`` (which also records the
thread count); on CUDA, CUDA events around each run with synchronisation. Peak memory, on the same input, is
:mod:`srbench.eval.memory`.
"""

from __future__ import annotations

import math
import statistics
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
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            times = []
            for _ in range(repeats):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model(x, scale)
                end.record()
                torch.cuda.synchronize(device)
                times.append(start.elapsed_time(end))
        else:
            from torch.utils.benchmark import Timer

            def run_once() -> None:
                model(x, scale)
                if device.type == "mps":
                    torch.mps.synchronize()

            timer = Timer(stmt="run_once()", globals={"run_once": run_once}, num_threads=torch.get_num_threads())
            times = [timer.timeit(1).median * 1e3 for _ in range(repeats)]
    median, iqr = _quartiles(times)
    return Latency(median_ms=median, iqr_ms=iqr, repeats=len(times), threads=torch.get_num_threads())
