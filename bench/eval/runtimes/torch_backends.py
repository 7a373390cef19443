"""The PyTorch runtimes: ``eager`` (the reference), ``eager_nchw`` and ``compile``.

eager        the model itself, channels-last, in its BN mode (``models.bn.set_bn_mode``), in place.
eager_nchw   eager on a copy in the NCHW (contiguous) memory format, its input made contiguous in the forward pass
             (that copy is timed too): channels-last was chosen from CPU measurements, and on a GPU cuDNN may be
             faster in NCHW for float32, so ``auto`` on CUDA times both.
compile      ``torch.compile(dynamic=True)`` of a captured copy (every test image has its own size; a static compile
             would recompile per size). The first call compiles (~20 s on the 2-core CPU); it happens here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from srbench.eval.latency import host_compute
from srbench.eval.runtimes.capture import capture_model
from srbench.eval.runtimes.packages import package_versions
from srbench.eval.runtimes.runner import Runner, RuntimeDeclined, first_line
from srbench.eval.weights import prepare_model
from srbench.models.bn import set_bn_mode


def _eager_runner(name: str, net: nn.Module, model: nn.Module, *, scale: int, bn_mode: str, device: torch.device,
                  detail: str, convert: Callable[[torch.Tensor], torch.Tensor] | None = None) -> Runner:
    """``net(x, scale)`` in inference mode (``convert`` applied to the input inside the timed call)."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return net(x if convert is None else convert(x), scale)

    runner = Runner(name, forward, scale=scale, bn_mode=bn_mode, device=device, versions=package_versions(name),
                    detail=detail)
    runner.host_compute = host_compute(model)
    return runner


def eager(model: nn.Module, *, scale: int, bn_mode: str, device: torch.device, weights_sha256: str | None = None,
          cache_dir: Path | None = None) -> Runner:
    """The model itself in ``bn_mode`` on ``device``, channels-last (the evaluation's reference path)."""
    net = prepare_model(set_bn_mode(model, bn_mode).to(device))
    return _eager_runner("eager", net, model, scale=scale, bn_mode=bn_mode, device=device,
                         detail=f"PyTorch eager, channels-last, {device.type}")


def eager_nchw(model: nn.Module, *, scale: int, bn_mode: str, device: torch.device,
               weights_sha256: str | None = None, cache_dir: Path | None = None) -> Runner:
    """Eager on an NCHW copy, its input made contiguous inside the timed call."""
    net = set_bn_mode(copy.deepcopy(model), bn_mode).to(device).to(memory_format=torch.contiguous_format)
    return _eager_runner("eager_nchw", net, model, scale=scale, bn_mode=bn_mode, device=device,
                         detail=f"PyTorch eager, NCHW, {device.type}", convert=torch.Tensor.contiguous)


def compiled(model: nn.Module, *, scale: int, bn_mode: str, device: torch.device,
             weights_sha256: str | None = None, cache_dir: Path | None = None) -> Runner:
    """``torch.compile(dynamic=True)`` of a captured copy, compiled here by one warm call."""
    net = prepare_model(capture_model(model, scale, bn_mode).to(device))
    graph = torch.compile(net, dynamic=True)

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return graph(x)

    warm = torch.rand(1, 3, 17, 19, generator=torch.Generator().manual_seed(0)).to(device)
    try:
        forward(warm.contiguous(memory_format=torch.channels_last))
    except Exception as exc:  # no C++ compiler, an unsupported op...: the runtime cannot serve this model
        raise RuntimeDeclined("compile", f"torch.compile failed ({first_line(exc)})") from exc
    return Runner("compile", forward, scale=scale, bn_mode=bn_mode, device=device,
                  versions=package_versions("compile"), detail=f"torch.compile(dynamic=True), {device.type}")
