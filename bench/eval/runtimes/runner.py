"""The prepared runtime (:class:`Runner`) and how a runtime says it cannot serve a model (:class:`RuntimeDeclined`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from srbench.core.errors import SrbenchError

#: runtimes whose working memory is PyTorch's (``srbench.eval.latency.measure_peak_memory_mb`` can measure it)
TORCH_MEMORY = ("eager", "eager_nchw", "compile")


class RuntimeDeclined(SrbenchError):
    """A runtime cannot serve this model/device/BN mode (the caller's ``auto`` falls back); ``reason`` is one line."""

    def __init__(self, runtime: str, reason: str) -> None:
        self.runtime = runtime
        self.reason = reason
        super().__init__(f"runtime {runtime!r} declined: {reason}")


class RuntimeUnavailable(RuntimeDeclined):
    """The runtime's package is not installed (or does not import)."""


class Runner:
    """A prepared runtime for one (model, scale, BN mode, device): ``runner(x)`` or ``runner(x, scale)``.

    ``name``: the runtime; ``versions``: package versions; ``detail``: one line for the log (graph file, threads,
    precision); ``graph_path``: the ONNX file (None for eager/compile); ``exported``: whether this prepare wrote it
    (False when the verified cache was reused). ``torch_memory``: whether its working memory is PyTorch's, which
    ``srbench.eval.latency.measure_peak_memory_mb`` measures (eager, compile); ONNX Runtime and OpenVINO keep their
    own arenas, grown by the evaluation's earlier passes, which that measure cannot separate (it read 0 MiB).
    """

    def __init__(self, name: str, forward: Callable[[torch.Tensor], torch.Tensor], *, scale: int, bn_mode: str,
                 device: torch.device, versions: dict[str, str | None], detail: str = "",
                 graph_path: Path | None = None, exported: bool = False) -> None:
        self.name = name
        self.scale = scale
        self.scales = (scale,)
        self.bn_mode = bn_mode
        self.device = device
        self.versions = versions
        self.detail = detail
        self.graph_path = graph_path
        self.exported = exported
        self.torch_memory = name in TORCH_MEMORY
        self.host_compute = False  # set for a model that computes on the host (srbench.eval.latency.host_compute)
        self._forward = forward

    def __call__(self, x: torch.Tensor, scale: int | None = None) -> torch.Tensor:
        if scale is not None and scale != self.scale:
            raise SrbenchError(f"runtime {self.name!r} was prepared for x{self.scale}; cannot run at x{scale}")
        return self._forward(x)

    def __repr__(self) -> str:
        return f"Runner({self.name!r}, x{self.scale}, bn_mode={self.bn_mode!r}, {self.detail})"


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (at most 200 characters), for one-line decline reasons."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:200]}" if text else type(exc).__name__
