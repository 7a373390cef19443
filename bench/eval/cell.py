"""The whole measurement of one cell: quality on each dataset, then complexity, latency and memory.

A cell is one model (already built, weights loaded) at one scale under one protocol. Everything that decides a
number lives here: the BN mode (the protocol's), the output size of the cost figures (``CostSettings``), which
parameters count (total and effective over all heads), and the order of the passes. The tracking layer only names
and logs what :func:`measure_cell` returns (``srbench.track.runner``), so the cell key, which hashes this package's
import closure, covers every decision.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np
import torch

from srbench.core.errors import SrbenchError
from srbench.eval.evaluate import DatasetResult, evaluate
from srbench.eval.device import cuda_math
from srbench.eval.latency import measure_latency, timing_clock
from srbench.eval.memory import measure_peak_memory_mb
from srbench.eval.protocol import Protocol
from srbench.eval.shared_passes import PassScope
from srbench.models import has_batchnorm, set_bn_mode
from srbench.models.complexity import count_effective_params, count_params, mult_adds


@dataclass(frozen=True)
class CostSettings:
    """How a cell's cost is measured (the ``measure:`` block of an experiment file): latency (``warmup`` untimed,
    then ``repeats`` timed forward passes), peak memory, both and Mult-Adds at an ``out_height`` x ``out_width``
    output."""

    latency: bool = True
    warmup: int = 1
    repeats: int = 5
    memory: bool = True
    out_height: int = 720
    out_width: int = 1280

    def __post_init__(self) -> None:
        if self.repeats < 1 or self.warmup < 0:
            raise SrbenchError(f"measure: repeats must be >= 1 and warmup >= 0 (got repeats={self.repeats}, "
                               f"warmup={self.warmup})")
        if self.out_height < 1 or self.out_width < 1:
            raise SrbenchError(f"measure: out_height and out_width must be >= 1 (got {self.out_height}x"
                               f"{self.out_width})")

    @property
    def out_hw(self) -> tuple[int, int]:
        return self.out_height, self.out_width

    @property
    def out_label(self) -> str:
        """``HxW``, as logged in the ``srbench.measure_out`` tag."""
        return f"{self.out_height}x{self.out_width}"


@dataclass
class CellMeasurement:
    """What one cell measured: a DatasetResult per dataset (in order) and the cost figures (names of
    :mod:`srbench.track.schema`)."""

    results: list[DatasetResult] = field(default_factory=list)
    cost: dict[str, float] = field(default_factory=dict)
    out_label: str = ""
    latency_clock: str = ""  # what timed the latency (srbench.eval.latency.Latency.clock); empty when not measured


_COUNTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def complexity(model: torch.nn.Module, scale: int, out_hw: tuple[int, int]) -> dict:
    """Parameters, effective parameters and Mult-Adds (G) at ``out_hw``: functions of the architecture alone (not
    of the weights or the BN mode), so they are counted once per model object, scale and output size; the
    ``meta``-device passes behind them cost ~0.5 s a cell on the 2-core CPU, more than the rest of a cell's
    bookkeeping. Keyed also by the parameter and module counts, so a model whose structure changed is counted again."""
    memo = _COUNTS.setdefault(model, {})
    total = count_params(model)
    shape = (total, sum(1 for _ in model.modules()))
    if memo.get("shape") != shape:
        memo.clear()
        memo.update(shape=shape, params=total, params_effective=count_effective_params(model))
    if (scale, out_hw) not in memo:
        memo[(scale, out_hw)] = mult_adds(model, scale, out_hw) / 1e9
    return {"params": memo["params"], "params_effective": memo["params_effective"],
            "mult_adds_g": memo[(scale, out_hw)]}


def measure_cost(model: torch.nn.Module, scale: int, device: torch.device, settings: CostSettings,
                 runner: Callable | None = None) -> dict:
    """Parameters (total, effective over all heads), Mult-Adds (G) and, when declared, latency and peak memory.

    Parameters and Mult-Adds count the network (``model``); latency and memory time what runs the forward passes
    (``runner``, e.g. an ONNX Runtime session of the same network; default the model itself). Peak memory is left out
    for a runner whose ``torch_memory`` is false (ONNX Runtime, OpenVINO: see srbench.eval.runtimes.Runner)."""
    out_hw = settings.out_hw
    forward = runner if runner is not None else model
    cost = complexity(model, scale, out_hw)
    if settings.latency:
        lat = measure_latency(forward, scale, device, warmup=settings.warmup, repeats=settings.repeats,
                              out_hw=out_hw)
        cost["latency_ms"], cost["latency_iqr_ms"] = lat.median_ms, lat.iqr_ms
    if settings.memory and getattr(forward, "torch_memory", True):  # not measurable for ONNX Runtime / OpenVINO
        peak = measure_peak_memory_mb(forward, scale, device, out_hw=out_hw)
        if peak is not None:
            cost["peak_mem_mb"] = peak
    return cost


def _check_runner(runner, model: torch.nn.Module, scale: int, protocol: Protocol) -> None:
    """A prepared runtime serves one scale in one BN mode (srbench.eval.runtimes.Runner): refuse any other cell. A
    network without BatchNorm computes the same in both modes, so any mode's runner serves it."""
    scales, bn_mode = getattr(runner, "scales", None), getattr(runner, "bn_mode", None)
    if scales is not None and scale not in scales:
        raise SrbenchError(f"runtime {getattr(runner, 'name', runner)!r} was prepared for x{scales[0]}, not x{scale}")
    if bn_mode is not None and bn_mode != protocol.bn_mode and has_batchnorm(model):
        raise SrbenchError(f"runtime {getattr(runner, 'name', runner)!r} was prepared in BN mode {bn_mode!r}; the "
                           f"protocol's is {protocol.bn_mode!r}")


def measure_cell(model: torch.nn.Module, *, datasets: list[str], scale: int, protocol: Protocol,
                 device: torch.device, settings: CostSettings, progress: bool = True,
                 lpips: Collection[str] = (),
                 on_dataset: Callable[[DatasetResult], None] | None = None,
                 on_image: Callable[[str, str, np.ndarray], None] | None = None,
                 runner: Callable | None = None, passes: PassScope | None = None) -> CellMeasurement:
    """Measure ``model`` at ``scale``: every dataset under ``protocol`` (in its BN mode), then the cost.

    ``lpips``: the datasets (as named in ``datasets``) on which LPIPS is measured too. ``runner``: what runs the
    forward passes (a prepared runtime, ``runner(x, scale)``, see :mod:`srbench.eval.runtimes`), prepared in the
    protocol's BN mode; default the model itself. Complexity (parameters, Mult-Adds) always counts ``model``.
    ``on_dataset(result)`` is called as each dataset finishes (so a tracker can log it at once); ``on_image(dataset,
    name, sr_u8)`` with every SR output. ``passes``: the forward passes and cost figures this computation (network,
    runtime, BN mode, scale) shares with the invocation's other cells (:mod:`srbench.eval.shared_passes`): outputs
    and latency/memory another cell measured are used as they are, never re-run. The model is left in the
    protocol's BN mode.
    """
    out = CellMeasurement(out_label=settings.out_label)
    set_bn_mode(model, protocol.bn_mode)
    if runner is not None:
        _check_runner(runner, model, scale, protocol)
    forward = runner if runner is not None else model
    for dataset in datasets:
        hook = (lambda name, sr, dataset=dataset: on_image(dataset, name, sr)) if on_image else None
        result = evaluate(forward, dataset, scale, protocol, device=device, progress=progress,
                          lpips=dataset in lpips, on_image=hook, passes=passes)
        out.results.append(result)
        if on_dataset is not None:
            on_dataset(result)
    with cuda_math(device, tf32=protocol.tf32):
        if passes is None:
            out.cost = measure_cost(model, scale, device, settings, runner=runner)
        else:  # complexity is counted on this model; latency and memory come from the scope's one measurement
            out.cost = {**passes.cost(settings, lambda: measure_cost(model, scale, device, settings, runner=runner)),
                        **complexity(model, scale, settings.out_hw)}
    if settings.latency:
        out.latency_clock = timing_clock(forward, device)
    set_bn_mode(model, protocol.bn_mode)  # the cost passes must not leave another mode behind
    return out
