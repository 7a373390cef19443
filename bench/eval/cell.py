"""The whole measurement of one cell: quality on each dataset, then complexity, latency and memory.

A cell is one model (already built, weights loaded) at one scale under one protocol. Everything that decides a
number lives here: the BN mode (the protocol's), the output size of the cost figures (``CostSettings``), which
parameters count (total and effective over all heads), and the order of the passes. The tracking layer only names
and logs what :func:`measure_cell` returns (``srbench.track.benchmark``), so the cell key, which hashes this package's
import closure, covers every decision.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np
import torch

from srbench.core.errors import SrbenchError
from srbench.core.memory_trace import mark
from srbench.eval import complexity_cache
from srbench.eval.dataset_runtime import measure_dataset_runtime
from srbench.eval.evaluate import DatasetResult, evaluate
from srbench.eval.device import cuda_math
from srbench.eval.latency import measure_latency, timing_clock
from srbench.eval.memory import measure_peak_memory_mb
from srbench.eval.protocol import Protocol
from srbench.eval.shared_passes import PassScope
from srbench.models import has_batchnorm, set_bn_mode
from srbench.models.challenge_counts import CONVENTIONS, PROFILE_INPUT, challenge_profile
from srbench.models.complexity import count_effective_params, count_params, mult_adds


#: CostSettings' lower bounds, checked (and reported) in pairs: ((field, least), (field, least))
_BOUNDS = ((("repeats", 1), ("warmup", 0)), (("out_height", 1), ("out_width", 1)),
           (("profile_height", 1), ("profile_width", 1)), (("dataset_runs", 0), ("dataset_warmup", 0)))


@dataclass(frozen=True)
class CostSettings:
    """How a cell's cost is measured (the ``measure:`` block of an experiment file): latency (``warmup`` untimed,
    then ``repeats`` timed forward passes), peak memory, both and Mult-Adds at an ``out_height`` x ``out_width``
    output; the efficient-SR challenges' profile (activations, convolution calls, FLOPs under each convention) at a
    3 x ``profile_height`` x ``profile_width`` LR input; and, when ``dataset_runs`` > 0, the challenge's runtime:
    that many timed passes over the cell's first dataset, after ``dataset_warmup`` untimed images
    (:mod:`srbench.eval.dataset_runtime`)."""

    latency: bool = True
    warmup: int = 1
    repeats: int = 5
    memory: bool = True
    out_height: int = 720
    out_width: int = 1280
    profile_height: int = 256
    profile_width: int = 256
    dataset_runs: int = 0
    dataset_warmup: int = 0

    def __post_init__(self) -> None:
        for (a, least_a), (b, least_b) in _BOUNDS:
            value_a, value_b = getattr(self, a), getattr(self, b)
            if value_a < least_a or value_b < least_b:
                rule = (f"{a} and {b} must be >= {least_a}" if least_a == least_b
                        else f"{a} must be >= {least_a} and {b} >= {least_b}")
                raise SrbenchError(f"measure: {rule} (got {a}={value_a}, {b}={value_b})")

    @property
    def out_hw(self) -> tuple[int, int]:
        return self.out_height, self.out_width

    @property
    def out_label(self) -> str:
        """``HxW``, as logged in the ``srbench.measure_out`` tag."""
        return f"{self.out_height}x{self.out_width}"

    @property
    def profile_in(self) -> tuple[int, int, int]:
        """The LR input of the challenge profile, (channels, height, width)."""
        return 3, self.profile_height, self.profile_width

    @property
    def profile_label(self) -> str:
        """``CxHxW``, as logged in the ``srbench.profile_in`` tag."""
        return "x".join(map(str, self.profile_in))


@dataclass
class CellMeasurement:
    """What one cell measured: a DatasetResult per dataset (in order) and the cost figures (names of
    :mod:`srbench.track.schema`)."""

    results: list[DatasetResult] = field(default_factory=list)
    cost: dict[str, float] = field(default_factory=dict)
    out_label: str = ""
    profile_label: str = ""
    runtime_form: str = ""
    latency_clock: str = ""  # what timed the latency (srbench.eval.latency.Latency.clock); empty when not measured


def profile_figures(counts: dict[str, int]) -> dict[str, float]:
    """The challenge profile's counts (:func:`srbench.models.challenge_counts.challenge_profile`) under their metric
    names (:data:`srbench.track.schema.PROFILE`) and units: activations in M, FLOPs in G, convolution calls as
    counted."""
    out = {"activations_m": counts["activations"] / 1e6, "conv2d_calls": counts["conv2d"]}
    out.update({f"flops_g_{convention}": counts[f"flops_{convention}"] / 1e9 for convention in CONVENTIONS})
    return out


_COUNTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def complexity(model: torch.nn.Module, scale: int, out_hw: tuple[int, int],
               profile_in: tuple[int, int, int] = PROFILE_INPUT) -> dict:
    """Parameters, effective parameters, Mult-Adds (G) at ``out_hw`` and the challenge profile at ``profile_in``
    (names of :func:`srbench.track.schema.profile_figures`): functions of the architecture alone (not
    of the weights or the BN mode), so they are counted once per model object, scale and output size, and kept on disk
    by the network's structure (:mod:`srbench.eval.complexity_cache`: counting imports ``torch._dynamo``, 67 MiB, and
    the benchmark's probe child counts them instead). Keyed also by the parameter and module counts, so a model whose
    structure changed is counted again."""
    memo = _COUNTS.setdefault(model, {})
    shape = (count_params(model), sum(1 for _ in model.modules()))
    if memo.get("shape") != shape:
        memo.clear()
        memo["shape"] = shape
    key = (scale, out_hw, profile_in)
    if key not in memo:
        memo[key] = complexity_cache.counted(model, scale, out_hw, profile_in,
                                             lambda: _count(model, scale, out_hw, profile_in, memo))
    return dict(memo[key])


def _count(model: torch.nn.Module, scale: int, out_hw: tuple[int, int], profile_in: tuple[int, int, int],
           memo: dict) -> dict:
    """:func:`complexity`'s figures counted now (``memo``: the model's, which keeps the effective parameters, the
    same at every scale)."""
    if "params_effective" not in memo:
        memo["params_effective"] = count_effective_params(model)
    return {"params": memo["shape"][0], "params_effective": memo["params_effective"],
            "mult_adds_g": mult_adds(model, scale, out_hw) / 1e9,
            **profile_figures(challenge_profile(model, scale, profile_in))}


def measure_cost(model: torch.nn.Module, scale: int, device: torch.device, settings: CostSettings,
                 runner: Callable | None = None) -> dict:
    """Parameters (total, effective over all heads), Mult-Adds (G) and, when declared, latency and peak memory.

    Parameters and Mult-Adds count the network (``model``); latency and memory time what runs the forward passes
    (``runner``, e.g. an ONNX Runtime session of the same network; default the model itself). Peak memory is left out
    for a runner whose ``torch_memory`` is false (ONNX Runtime, OpenVINO: see srbench.eval.runtimes.Runner)."""
    out_hw = settings.out_hw
    forward = runner if runner is not None else model
    cost = complexity(model, scale, out_hw, settings.profile_in)
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
    out = CellMeasurement(out_label=settings.out_label, profile_label=settings.profile_label)
    set_bn_mode(model, protocol.bn_mode)
    if runner is not None:
        _check_runner(runner, model, scale, protocol)
    forward = runner if runner is not None else model
    for dataset in datasets:
        mark(f"  evaluate {dataset} x{scale}")
        hook = (lambda name, sr, dataset=dataset: on_image(dataset, name, sr)) if on_image else None
        result = evaluate(forward, dataset, scale, protocol, device=device, progress=progress,
                          lpips=dataset in lpips, on_image=hook, passes=passes)
        out.results.append(result)
        if on_dataset is not None:
            on_dataset(result)
    mark(f"  cost x{scale}")
    with cuda_math(device, tf32=protocol.tf32):
        if passes is None:
            out.cost = measure_cost(model, scale, device, settings, runner=runner)
        else:  # complexity is counted on this model; latency and memory come from the scope's one measurement
            out.cost = {**passes.cost(settings, lambda: measure_cost(model, scale, device, settings, runner=runner)),
                        **complexity(model, scale, settings.out_hw, settings.profile_in)}
        if settings.dataset_runs:
            run = measure_dataset_runtime(forward, datasets[0], scale, device, runs=settings.dataset_runs,
                                          warmup=settings.dataset_warmup, lr_source=protocol.lr_source,
                                          memory=settings.memory, progress=progress)
            out.cost.update(runtime_mean_ms=run.mean_ms, runtime_median_ms=run.median_ms)
            if run.peak_mem_mb is not None:
                out.cost["runtime_peak_mem_mb"] = run.peak_mem_mb
            out.runtime_form = f"{run.form}; dataset {datasets[0]}"
    if settings.latency:
        out.latency_clock = timing_clock(forward, device)
    set_bn_mode(model, protocol.bn_mode)  # the cost passes must not leave another mode behind
    return out
