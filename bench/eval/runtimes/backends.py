"""The runtimes as a registry (:data:`BACKENDS`), and :func:`prepare_runtime`, which turns a model into a Runner.

Each backend is a builder ``build(model, *, scale, bn_mode, device, weights_sha256, cache_dir) -> Runner`` with two
declared traits that :func:`prepare_runtime` checks before building: ``captures`` (it runs a captured graph, so
parameter-free models and the tiling / self-ensemble wrappers decline) and ``cpu_only`` (ONNX Runtime and OpenVINO
are CPU builds here). A new runtime is one builder, one :data:`BACKENDS` entry and its packages
(:data:`srbench.eval.runtimes.packages.PACKAGES`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from srbench.core.constants import BN_MODES
from srbench.core.errors import SrbenchError
from srbench.eval.runtimes import graph_backends, torch_backends
from srbench.eval.runtimes.capture import check_capturable
from srbench.eval.runtimes.packages import RUNTIMES, runtime_unavailable_reason
from srbench.eval.runtimes.runner import Runner, RuntimeDeclined, RuntimeUnavailable
from srbench.models.common import check_scale


@dataclass(frozen=True)
class Backend:
    """One runtime: its builder and what it needs of the model and the device."""

    build: Callable[..., Runner]
    captures: bool
    cpu_only: bool = False


BACKENDS: dict[str, Backend] = {
    "eager": Backend(torch_backends.eager, captures=False),
    "eager_nchw": Backend(torch_backends.eager_nchw, captures=False),
    "compile": Backend(torch_backends.compiled, captures=True),
    "onnxruntime": Backend(graph_backends.onnxruntime, captures=True, cpu_only=True),
    "openvino": Backend(graph_backends.openvino, captures=True, cpu_only=True),
}
assert set(BACKENDS) == set(RUNTIMES), "every runtime name has one backend"
#: the runtimes that run on a CPU device only
CPU_ONLY = tuple(name for name, backend in BACKENDS.items() if backend.cpu_only)


def _prepare(model: nn.Module, runtime: str, *, scale: int, bn_mode: str, device: torch.device | str = "cpu",
             weights_sha256: str | None = None, cache_dir: Path | str | None = None) -> Runner:
    """A :class:`Runner` for ``model`` at ``scale`` in ``bn_mode`` on ``device`` with ``runtime``.

    ``eager`` puts the model itself in ``bn_mode``, on ``device`` and channels-last (today's evaluation path);
    the other runtimes work on a copy. ``onnxruntime``/``openvino`` need ``weights_sha256`` and ``cache_dir`` (the
    graph cache). Raises :class:`RuntimeDeclined` when the runtime cannot serve this model, device or BN mode.
    """
    device = torch.device(device)
    if runtime == "auto":
        raise SrbenchError("runtime 'auto' is resolved by select_runtime (it needs a probe image), not prepare_runtime")
    reason = runtime_unavailable_reason(runtime)
    if reason:
        raise RuntimeUnavailable(runtime, reason)
    if bn_mode not in BN_MODES:
        raise SrbenchError(f"bn_mode={bn_mode!r} is not one of {', '.join(BN_MODES)}")
    check_scale(model, scale)
    backend = BACKENDS[runtime]
    if backend.captures:
        check_capturable(model, runtime)
    if backend.cpu_only and device.type != "cpu":
        raise RuntimeDeclined(runtime, f"runs on the CPU only; the cell's device is {device}")
    return backend.build(model, scale=scale, bn_mode=bn_mode, device=device, weights_sha256=weights_sha256,
                         cache_dir=cache_dir)


def prepare_runtime(model: nn.Module, runtime: str, **kwargs) -> Runner:
    """The prepared runtime (:func:`_prepare`), naming the model it runs (``arch``,
    ``weights_label``) so that errors raised while measuring it name the network and its weights, not the runtime."""
    runner = _prepare(model, runtime, **kwargs)
    for attr in ("arch", "weights_label"):
        if getattr(model, attr, None) is not None:
            setattr(runner, attr, getattr(model, attr))
    return runner
