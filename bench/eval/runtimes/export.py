"""ONNX export of a captured network, and the hash of the code that determines the exported graph.

The export is ``torch.onnx.export(dynamo=False, opset_version=17)`` of a :func:`capture_model` copy with dynamic H and
W (every test image has its own size), one graph per scale. A tracer warning (a trace that may not generalise to
other sizes) or any failure declines the runtime, so ``auto`` falls back to eager.
"""

from __future__ import annotations

import io
import sys
import warnings

import torch
from torch import nn

from srbench.core.code_identity import modules_digest
from srbench.eval.runtimes import capture
from srbench.eval.runtimes.runner import RuntimeDeclined, first_line

ONNX_OPSET = 17
_EXPORT_HW = (24, 28)  # size of the example input the export traces (any size works: H and W are dynamic)
_SKIPPED_PACKAGES = ("torch", "builtins", "typing")  # library classes: their versions are keyed instead


def class_modules(model: nn.Module) -> list:
    """The project (or external) modules that define the classes of ``model``'s submodules, bases included."""
    modules = []
    for m in model.modules():
        for cls in type(m).__mro__:
            module = sys.modules.get(cls.__module__)
            if module is not None and cls.__module__.split(".")[0] not in _SKIPPED_PACKAGES:
                modules.append(module)
    return modules


def export_code_hash(model: nn.Module) -> str:
    """Hash (16 hex) of what determines the exported graph besides the weights: the capture and export code, the
    source of every module the model's classes come from, the torch version and the opset."""
    modules = [capture, sys.modules[__name__], *class_modules(model)]
    return modules_digest(modules, f"torch={torch.__version__};opset={ONNX_OPSET}")[:16]


def export_bytes(net: nn.Module, runtime: str) -> bytes:
    """ONNX bytes of a captured model with dynamic H/W; any tracer warning or failure declines the runtime."""
    buffer = io.BytesIO()
    example = torch.rand(1, 3, *_EXPORT_HW, generator=torch.Generator().manual_seed(0))
    axes = {"lr": {2: "height", 3: "width"}, "sr": {2: "out_height", 3: "out_width"}}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # "legacy TorchScript-based ONNX export"
            warnings.simplefilter("error", torch.jit.TracerWarning)  # a trace that may not generalise is refused
            torch.onnx.export(net, (example,), buffer, input_names=["lr"], output_names=["sr"], dynamic_axes=axes,
                              opset_version=ONNX_OPSET, dynamo=False, do_constant_folding=True)
    except Exception as exc:
        raise RuntimeDeclined(runtime, f"ONNX export failed ({first_line(exc)})") from exc
    return buffer.getvalue()
