"""``auto``: the fastest runtime that passes the fidelity gate, from a short timed probe, cached per key.

:func:`select_runtime` prepares every candidate runtime (:func:`default_candidates`; declines are recorded), gates it
on the probe image against eager (:func:`srbench.eval.runtimes.fidelity_gate`), times those that pass on an LR of
the probe's size and picks the fastest by a clear margin. The choice is cached (:mod:`srbench.runtime_choice.cache`).
Which runtime runs cannot move a number (every runtime that runs passed the gate, and its name and versions are part
of the cell key), which is why this code lives outside the measurement package whose code the cell key hashes.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

import numpy as np
import torch
from torch import nn

from srbench.eval.device import cuda_math
from srbench.eval.latency import measure_latency
from srbench.eval.protocol import Protocol
from srbench.eval.runtimes import (CPU_ONLY, GATE_TOLERANCE_DB, Runner, RuntimeDeclined, compare_outputs,
                                   fidelity_gate, prepare_runtime, probe_output)
from srbench.runtime_choice.cache import (PER_PROCESS_PREP, WORKLOAD_CALLS, choice_key, choice_path, device_identity,
                                          read_choice, write_choice)


@dataclass
class Selection:
    """What ``auto`` chose for one (model, scale, BN mode, device) and why.

    ``timings_ms``: median forward on the timing probe per runtime that passed the gate; ``gates``: every gate result
    (as dicts); ``declined``: runtime -> one-line reason; ``cached``: read from the choice file (no probe ran);
    ``runner``: the chosen runtime, prepared, when this call probed (None when cached: prepare it again).
    """

    runtime: str
    key: str
    scale: int
    bn_mode: str
    device: str
    timings_ms: dict[str, float]
    gates: dict[str, dict]
    declined: dict[str, str]
    cached: bool = False
    runner: Runner | None = field(default=None, repr=False, compare=False)

    @property
    def notes(self) -> list[str]:
        """One line per refused or declined runtime, then the choice: for the log."""
        lines = [gate["note"] for gate in self.gates.values() if not gate["passed"]]
        lines += [f"{name} x{self.scale}: declined: {reason}" for name, reason in self.declined.items()]
        timing = ", ".join(f"{k} {v:.1f} ms" for k, v in sorted(self.timings_ms.items(), key=lambda kv: kv[1]))
        fastest = min(self.timings_ms, key=self.timings_ms.get) if self.timings_ms else self.runtime
        if fastest != self.runtime:  # kept by the clear margin (_fastest): say so, or the line reads as a mistake
            timing += f"; {fastest}'s edge within the margin" + (
                " or outweighed by its preparation" if fastest in PER_PROCESS_PREP else "")
        source = "cached choice" if self.cached else "timed probe"
        lines.append(f"auto x{self.scale} ({self.bn_mode}): {self.runtime} ({source}: {timing})")
        return lines

    def as_dict(self) -> dict:
        return {"runtime": self.runtime, "key": self.key, "scale": self.scale, "bn_mode": self.bn_mode,
                "device": self.device, "timings_ms": self.timings_ms, "gates": self.gates, "declined": self.declined}


def default_candidates(device: torch.device | str) -> tuple[str, ...]:
    """Runtimes ``auto`` probes on ``device``: eager, ONNX Runtime and OpenVINO on CPU; eager (channels-last), eager
    in NCHW and compile elsewhere.

    ``compile`` is left out on CPU: its compilation (~20 s per model and scale, again in every process) is not
    repaid there (measured on this CPU: about as fast as channels-last eager). Where it is a candidate its
    preparation time counts in the choice (:func:`select_runtime`). ONNX Runtime and OpenVINO are CPU builds here.
    Channels-last eager is the CPU's choice by measurement; on a GPU, NCHW is timed beside it.
    """
    if torch.device(device).type == "cpu":
        return ("eager", *CPU_ONLY)
    return ("eager", "eager_nchw", "compile")


@dataclass
class _Gated:
    """The candidates after the gate: prepared runners that passed, every verdict, declines, preparation times."""

    runners: dict[str, Runner]
    gates: dict[str, dict] = field(default_factory=dict)
    declined: dict[str, str] = field(default_factory=dict)
    prepare_ms: dict[str, float] = field(default_factory=dict)


def _gate_candidates(model: nn.Module, eager: Runner, reference_u8: np.ndarray, candidates: tuple[str, ...], *,
                     probe_lr_u8: np.ndarray, probe_hr_u8: np.ndarray | None, protocol: Protocol, gray: bool,
                     tolerance_db: float, weights_sha256: str | None, cache_dir: Path | str) -> _Gated:
    """Prepare and gate each candidate against eager's output on the probe (eager itself passes by construction)."""
    gated = _Gated(runners={"eager": eager})
    for name in candidates:
        try:
            if name == "eager":  # the reference itself: compared with its own output, it passes by construction
                runner = eager
                gate = compare_outputs(reference_u8, reference_u8, probe_hr_u8, scale=eager.scale, protocol=protocol,
                                       gray=gray, candidate=name, tolerance_db=tolerance_db)
            else:
                started = perf_counter()
                runner = prepare_runtime(model, name, scale=eager.scale, bn_mode=eager.bn_mode, device=eager.device,
                                         weights_sha256=weights_sha256, cache_dir=cache_dir)
                gated.prepare_ms[name] = (perf_counter() - started) * 1e3
                gate = fidelity_gate(eager, runner, probe_lr_u8, probe_hr_u8, protocol=protocol, gray=gray,
                                     tolerance_db=tolerance_db, reference_u8=reference_u8)
        except RuntimeDeclined as exc:
            gated.declined[name] = exc.reason
            continue
        gated.gates[name] = gate.as_dict()
        if gate.passed:
            gated.runners[name] = runner
    return gated


def _time_runners(runners: dict[str, Runner], *, scale: int, device: torch.device, out_hw: tuple[int, int],
                  repeats: int, tf32: bool) -> dict[str, float]:
    """Median forward time per runner over ``repeats`` rounds that take turns between runners (so a change in
    machine load hits all alike)."""
    rounds: dict[str, list[float]] = {name: [] for name in runners}
    with cuda_math(device, tf32=tf32):  # timed under the cell's TF32 setting
        for _ in range(repeats):  # every runner already ran once at the probe's size (the gate): warm on CPU
            for name, runner in runners.items():
                rounds[name].append(measure_latency(runner, scale, device, warmup=0 if device.type == "cpu" else 1,
                                                    repeats=1, out_hw=out_hw).median_ms)
    return {name: statistics.median(values) for name, values in rounds.items()}


#: Who wins a tie (timings within ``min_speedup`` of each other): eager, the reference, first; then, on a CPU,
#: OpenVINO before ONNX Runtime, because ONNX Runtime's arena holds more for the same passes (CARN-M x2 over
#: Urban100: about +1.31-1.45 GiB against OpenVINO's +1.16-1.19; docs/memory.md), which is what decides the
#: benchmark's peak. Runtimes not listed come last, in the order timed.
PREFERENCE = ("eager", "eager_nchw", "openvino", "onnxruntime", "compile")


def _fastest(timings: dict[str, float], prepare_ms: dict[str, float], *, workload_calls: int,
             min_speedup: float) -> str:
    """The runtime with the smallest workload time (per-process preparation included), by a clear margin: taken in
    :data:`PREFERENCE` order, each runtime replaces the one chosen so far only when at least ``min_speedup`` times
    faster. So eager stays unless another is clearly faster, and timing noise between two near-equal runtimes never
    decides (a 4.6% edge of ONNX Runtime over OpenVINO for CARN-M x2 was one machine's noise on another day)."""
    totals = {name: workload_calls * ms + (prepare_ms.get(name, 0.0) if name in PER_PROCESS_PREP else 0.0)
              for name, ms in timings.items()}
    ranked = sorted(totals, key=lambda name: PREFERENCE.index(name) if name in PREFERENCE else len(PREFERENCE))
    best = ranked[0]
    for name in ranked[1:]:
        if totals[best] >= min_speedup * totals[name]:
            best = name
    return best


def select_runtime(model: nn.Module, *, scale: int, bn_mode: str, device: torch.device | str,
                   weights_sha256: str | None, cache_dir: Path | str, probe_lr_u8: np.ndarray,
                   probe_hr_u8: np.ndarray | None,
                   protocol: Protocol | None = None, gray: bool = False, candidates: tuple[str, ...] | None = None,
                   timing_lr_hw: tuple[int, int] | None = None, repeats: int = 3, min_speedup: float = 1.05,
                   tolerance_db: float = GATE_TOLERANCE_DB, refresh: bool = False,
                   workload_calls: int = WORKLOAD_CALLS) -> Selection:
    """``auto``: the fastest runtime that passes the fidelity gate, from a short timed probe; cached per key.

    Each candidate is prepared (declines are recorded) and gated on the probe image against eager; those that pass
    are timed with ``srbench.eval.latency.measure_latency`` on a random LR of ``timing_lr_hw`` (default: the probe's
    size, i.e. the workload's; on a 64x64 LR fixed overheads hide OpenVINO's 2x gain at 720p), in ``repeats`` rounds,
    median per runtime. Eager is kept unless another runtime is at least ``min_speedup`` times faster (smaller gains
    are within the noise here). A runtime whose preparation is paid again in every process (``compile``) is compared
    by its preparation time plus ``workload_calls`` timed calls, the others by the calls alone: a compile that takes
    40 s to save 2 ms a call is not faster for a cell of a hundred images. The choice is written to
    ``cache_dir/runtime-choices/<key>.json`` (:func:`srbench.runtime_choice.cache.choice_key`) and read back on later
    calls unless ``refresh``; eager (the reference) is always a candidate. The model is left in ``bn_mode``.
    """
    device = torch.device(device)
    protocol = protocol or Protocol(bn_mode=bn_mode)
    candidates = tuple(dict.fromkeys(("eager", *(candidates or default_candidates(device)))))
    key = choice_key(model, weights_sha256=weights_sha256, bn_mode=bn_mode, scale=scale, device=device,
                     candidates=candidates, tolerance_db=tolerance_db, workload_calls=workload_calls)
    path = choice_path(cache_dir, key)
    record = None if refresh else read_choice(path, key)
    if record is not None:
        return Selection(**record, cached=True)

    eager = prepare_runtime(model, "eager", scale=scale, bn_mode=bn_mode, device=device)
    reference_u8 = probe_output(eager, probe_lr_u8, scale, protocol, device)
    gated = _gate_candidates(model, eager, reference_u8, candidates, probe_lr_u8=probe_lr_u8,
                             probe_hr_u8=probe_hr_u8, protocol=protocol, gray=gray, tolerance_db=tolerance_db,
                             weights_sha256=weights_sha256, cache_dir=cache_dir)
    lr_hw = timing_lr_hw or probe_lr_u8.shape[:2]
    timings = _time_runners(gated.runners, scale=scale, device=device, repeats=repeats, tf32=protocol.tf32,
                            out_hw=(lr_hw[0] * scale, lr_hw[1] * scale))
    best = _fastest(timings, gated.prepare_ms, workload_calls=workload_calls, min_speedup=min_speedup)
    selection = Selection(runtime=best, key=key, scale=scale, bn_mode=bn_mode, device=device_identity(device),
                          timings_ms=timings, gates=gated.gates, declined=gated.declined, runner=gated.runners[best])
    write_choice(path, selection.as_dict())
    return selection
