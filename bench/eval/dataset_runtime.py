"""Runtime in the efficient-SR challenges' form: full-image forward time over a dataset's LR images, as given.

The challenges' ``test_demo.py`` times ``model(lr)`` once per validation image (CUDA events), averages over the
images (the first, cold image included, no warm-up), and the organisers average that mean over 5 runs. Here:

* ``runs`` passes over the dataset's LR images (the shipped files, gray replicated to RGB), each image timed alone
  by :mod:`srbench.eval.latency`'s clock (CUDA events for device work on CUDA, else the wall clock, synchronised);
  ``warmup`` untimed images before the first timed one (the challenge's form: 0, so the first image's time is in the
  mean; the model has run only srbench's 32x32 model check and the cell's quality pass before, so "cold" means that);
* ``mean_ms``: the mean over runs of each run's mean over images (the challenge's figure); ``median_ms``: the median
  over every timed image of every run;
* ``peak_mem_mb``: MiB of live tensors over one whole untimed pass over the images, above what was allocated before
  it (weights and inputs already placed do not count), by the PyTorch allocator (CPU: profiler memory events, CUDA:
  ``max_memory_allocated``, see :mod:`srbench.eval.memory`). A runner that does not allocate through PyTorch (ONNX
  Runtime, OpenVINO: ``torch_memory`` false) gets no figure, with the reason in :data:`NO_MEMORY_REASON`. The
  challenge logs ``max_memory_allocated`` including the weights; ours excludes them, so the two differ by the
  weights' size (about 1.2 MiB for RLFN).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from srbench.data.datasets import load_samples, to_rgb
from srbench.eval.evaluate import to_tensor
from srbench.eval.latency import _time_call, timing_clock  # the harness's one timer (CUDA events or wall)
from srbench.eval.memory import cpu_peak_bytes

NO_MEMORY_REASON = "not measured: the runtime allocates outside PyTorch's allocator, which is all srbench can count"


@dataclass
class DatasetRuntime:
    """Per-run image times (ms) and the figures derived from them."""

    times_ms: list[list[float]]
    peak_mem_mb: float | None
    form: str

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(statistics.fmean(run) for run in self.times_ms)

    @property
    def median_ms(self) -> float:
        return statistics.median(t for run in self.times_ms for t in run)


def _peak_mb(forward: Callable, inputs: list[torch.Tensor], scale: int, device: torch.device) -> float | None:
    def one_pass() -> None:
        for x in inputs:
            forward(x, scale)

    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        one_pass()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - before) / 2**20
    if device.type == "cpu":
        return cpu_peak_bytes(one_pass) / 2**20
    return None


def measure_dataset_runtime(forward: Callable, dataset: str, scale: int, device: torch.device, *, runs: int = 5,
                            warmup: int = 0, lr_source: str = "file", memory: bool = True,
                            progress: bool = False) -> DatasetRuntime:
    """Time ``forward(x, scale)`` (a model in its BN mode, or a prepared runner) over ``dataset``'s LR images;
    ``progress``: a bar over the timed passes."""
    device = torch.device(device)
    inputs = [to_tensor(to_rgb(s.lr), device) for s in load_samples(dataset, scale, lr_source=lr_source)]
    times: list[list[float]] = []
    clock = timing_clock(forward, device)
    with torch.inference_mode():
        for i in range(min(warmup, len(inputs))):
            forward(inputs[i], scale)
        bar = tqdm(total=runs * len(inputs), desc=f"runtime {dataset} x{scale}", unit="img", leave=False,
                   disable=not progress)
        for _ in range(runs):
            times.append([])
            for x in inputs:
                times[-1].append(_time_call(lambda x=x: forward(x, scale), device, clock))
                bar.update()
        bar.close()
        torch_memory = getattr(forward, "torch_memory", True)
        peak = _peak_mb(forward, inputs, scale, device) if memory and torch_memory else None
    form = (f"{runs} runs x {len(inputs)} images (LR as given), {warmup} warm-up images; mean of the runs' means "
            f"(first image included), median over all images")
    if memory and not torch_memory:
        form += f"; peak memory {NO_MEMORY_REASON}"
    return DatasetRuntime(times_ms=times, peak_mem_mb=peak, form=f"{form}; clock {clock}")
