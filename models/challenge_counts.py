"""The efficient-SR challenges' complexity counters: activations, Conv2d count and FLOPs, each under a named rule.

The NTIRE/AIM efficient-SR challenges report, for a 1x3x256x256 LR input: the number of elements output by every
convolution ("activations", after Radosavovic et al., *Designing Network Design Spaces*), the number of convolution
calls, and FLOPs. FLOPs are not one number: the challenge changed its counter, and the same network gets different
FLOPs under each. Both conventions are implemented here from their published rules (our code, not theirs):

``ntire2022`` -- the organisers' module-hook counter (``utils/model_summary.py`` of github.com/ofsoundof/NTIRE2022_ESR,
    used 2022-2023). Forward hooks on *module instances*, counted once per call:
    ``nn.Conv2d``/``nn.ConvTranspose2d``: k_h·k_w·C_in·(C_out/groups) per *output* position (bias free, and the
    output size even for a transposed convolution); ``nn.ReLU``, ``PReLU``, ``ELU``, ``LeakyReLU``, ``ReLU6``: one per
    output element; ``nn.BatchNorm2d``: one per output element, two when affine; ``nn.Linear``:
    ``input.shape[0]·input.shape[1]·output.shape[1]`` (right for a 2-D input only, kept as written). Everything else
    counts zero: functional calls (``F.relu``, ``F.interpolate``, pooling), other modules (``Sigmoid``, ``GELU``,
    ``PixelShuffle``), additions and products. The count therefore depends on how a network is written.
``fvcore`` -- fvcore's ``FlopCountAnalysis`` (github.com/facebookresearch/fvcore, ``nn/flop_count.py`` and
    ``nn/jit_handles.py``; used by NTIRE 2024-2025). One fused multiply-add is one FLOP; the network is traced with
    ``torch.jit`` and operators are counted by name, independent of modules: convolution (batch·prod(weight shape)·
    output positions, input positions when transposed), ``addmm``/``linear``/``mm``/``matmul``/``bmm``/``einsum``
    (multiply-adds), ``batch_norm`` (1 or 2 per element in eval, affine; 4 or 5 in training), ``group_norm``,
    ``layer_norm`` (4, 5 with affine), ``instance_norm`` (4 or 5), ``upsample_nearest2d`` (1 per output element),
    ``upsample_bilinear2d`` (4 per output element), ``adaptive_avg_pool2d`` (1 per input element), ``grid_sampler``
    (4 per output element). Every other operator (activations, additions, pooling, pixel shuffle) counts zero.

Activations and the Conv2d count follow the 2022 counter (the only published definition): hooks on ``nn.Conv2d`` and
``nn.ConvTranspose2d`` instances, ``output.numel()`` and one per call, so a convolution module applied three times
(CARN-M's shared residual block) counts three times.

Counting runs on copies of the model (see :func:`challenge_profile`); the caller's model is never touched.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

#: The named FLOP conventions, in the order tables show them.
CONVENTIONS = ("ntire2022", "fvcore")

Runner = Callable[[nn.Module, torch.Tensor], object]

_ACTIVATION_MODULES = (nn.ReLU, nn.PReLU, nn.ELU, nn.LeakyReLU, nn.ReLU6)


def _call(model: nn.Module, x: torch.Tensor, scale: int | None):
    return model(x) if scale is None else model(x, scale)


def _copy_on(model: nn.Module, device: str) -> nn.Module:
    return copy.deepcopy(model).to(device).eval()


def _with_hooks(model: nn.Module, x: torch.Tensor, scale: int | None, hook_for: Callable) -> None:
    """Run ``model`` once with ``hook_for(module)`` (a forward hook or None) registered on every module."""
    handles = []
    for module in model.modules():
        hook = hook_for(module)
        if hook is not None:
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            _call(model, x, scale)
    finally:
        for handle in handles:
            handle.remove()


def _conv_macs_2022(module: nn.Module, output: torch.Tensor) -> int:
    per_position = math.prod(module.kernel_size) * module.in_channels * (module.out_channels // module.groups)
    return per_position * output.shape[0] * math.prod(output.shape[2:])


def _flops_2022(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    """One module call's FLOPs under the organisers' 2022 rules (module docstring)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        return _conv_macs_2022(module, output)
    if isinstance(module, _ACTIVATION_MODULES):
        return output.numel()
    if isinstance(module, nn.BatchNorm2d):
        return output.shape[0] * module.num_features * math.prod(output.shape[2:]) * (2 if module.affine else 1)
    if isinstance(module, nn.Linear):
        first = inputs[0]
        if first.dim() == 1:
            return first.shape[0] * output.shape[0]
        return first.shape[0] * first.shape[1] * output.shape[1]
    return 0


def count_conv_activations(model: nn.Module, x: torch.Tensor, scale: int | None = None) -> tuple[int, int]:
    """(activations, convolution calls) of one forward pass of ``model`` on ``x`` (the 2022 definition)."""
    totals = [0, 0]

    def hook(module, inputs, output):
        totals[0] += output.numel()
        totals[1] += 1

    _with_hooks(model, x, scale, lambda m: hook if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) else None)
    return totals[0], totals[1]


def flops_ntire2022(model: nn.Module, x: torch.Tensor, scale: int | None = None) -> int:
    """FLOPs of one forward pass under the NTIRE 2022 organisers' module-hook convention."""
    total = [0]

    def hook(module, inputs, output):
        total[0] += _flops_2022(module, inputs, output)

    _with_hooks(model, x, scale, lambda m: hook)
    return total[0]


# ---- fvcore's convention: operators of a torch.jit trace, counted by name ----

def _shape(value: torch._C.Value) -> list[int] | None:
    kind = value.type()
    if not isinstance(kind, torch._C.TensorType):
        return None
    sizes = kind.sizes()
    return list(sizes) if sizes is not None else None


def _constant(value: torch._C.Value):
    return value.toIValue()


def _conv(inputs, outputs) -> int:
    x, w, out = _shape(inputs[0]), _shape(inputs[1]), _shape(outputs[0])
    positions = (x if _constant(inputs[6]) else out)[2:]
    return x[0] * math.prod(w) * math.prod(positions)


def _addmm(inputs, outputs) -> int:
    (batch, width), out = _shape(inputs[1]), _shape(inputs[2])
    return batch * width * out[1]


def _linear(inputs, outputs) -> int:
    return math.prod(_shape(inputs[0])) * _shape(inputs[1])[0]


def _bmm(inputs, outputs) -> int:
    n, c, t = _shape(inputs[0])
    return n * c * t * _shape(inputs[1])[-1]


def _matmul(inputs, outputs) -> int:
    return math.prod(_shape(inputs[0])) * _shape(inputs[1])[-1]


def _einsum(inputs, outputs) -> int:
    equation = _constant(inputs[0]).replace(" ", "")
    shapes = [_shape(v) for v in inputs[1].node().inputs()]
    letters = list(dict.fromkeys(ch for ch in equation if ch.isalpha()))
    canonical = equation.translate({ord(ch): ord("a") + i for i, ch in enumerate(letters)})
    if canonical == "abc,abd->acd":
        return math.prod(shapes[0]) * shapes[-1][-1]
    if canonical == "abc,adc->adb":
        return math.prod(shapes[0]) * shapes[-1][1]
    report = np.einsum_path(equation, *[np.zeros(s) for s in shapes], optimize="optimal")[1]
    for line in report.splitlines():
        if "optimized flop" in line.lower():
            return int(math.floor(float(line.split(":")[-1]) / 2))  # numpy counts a multiply-add as two
    raise ValueError(f"einsum {equation!r}: no flop estimate")


def _norm(affine_index: int) -> Callable:
    def count(inputs, outputs) -> int:
        return math.prod(_shape(inputs[0])) * (5 if _shape(inputs[affine_index]) is not None else 4)
    return count


def _batch_norm(inputs, outputs) -> int:
    if _constant(inputs[5]):  # training: statistics computed, counted like the other norms
        return _norm(1)(inputs, outputs)
    return math.prod(_shape(inputs[0])) * (2 if _shape(inputs[1]) is not None else 1)


def _elementwise(per_input: int, per_output: int) -> Callable:
    def count(inputs, outputs) -> int:
        return per_input * math.prod(_shape(inputs[0])) + per_output * math.prod(_shape(outputs[0]))
    return count


_FVCORE_OPS: dict[str, Callable] = {
    "aten::_convolution": _conv, "aten::addmm": _addmm, "aten::linear": _linear, "aten::bmm": _bmm,
    "aten::matmul": _matmul, "aten::mm": _matmul, "aten::einsum": _einsum, "aten::batch_norm": _batch_norm,
    "aten::group_norm": _norm(2), "aten::layer_norm": _norm(2), "aten::instance_norm": _norm(1),
    "aten::upsample_nearest2d": _elementwise(0, 1), "aten::upsample_bilinear2d": _elementwise(0, 4),
    "aten::adaptive_avg_pool2d": _elementwise(1, 0), "aten::grid_sampler": _elementwise(0, 4),
}


class _Traceable(nn.Module):
    """``model(x)`` or ``model(x, scale)`` as a one-argument module, so ``torch.jit.trace`` sees a plain call."""

    def __init__(self, model: nn.Module, scale: int | None) -> None:
        super().__init__()
        self.model, self.scale = model, scale

    def forward(self, x: torch.Tensor):
        return _call(self.model, x, self.scale)


def flops_fvcore(model: nn.Module, x: torch.Tensor, scale: int | None = None) -> int:
    """FLOPs of one forward pass under fvcore's ``FlopCountAnalysis`` convention (one multiply-add = one FLOP)."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's warnings about Python values becoming constants
        # the graph fvcore walks: parameters appear as typed graph inputs (an inlined ``torch.jit.trace`` graph
        # reads them through attribute nodes that carry no shape)
        graph, _ = torch.jit._get_trace_graph(_Traceable(model, scale), (x,))
    total = 0
    for node in graph.nodes():
        count = _FVCORE_OPS.get(node.kind())
        if count is not None:
            total += int(count(list(node.inputs()), list(node.outputs())))
    return total


# ---- the whole profile ----

#: The LR input the challenges profile at (channels, height, width).
PROFILE_INPUT = (3, 256, 256)


def _hook_counts(model: nn.Module, x: torch.Tensor, scale: int | None) -> dict[str, int]:
    activations, convs = count_conv_activations(model, x, scale)
    return {"activations": activations, "conv2d": convs, "flops_ntire2022": flops_ntire2022(model, x, scale)}


def challenge_profile(model: nn.Module, scale: int | None = None,
                      input_chw: tuple[int, int, int] = PROFILE_INPUT) -> dict[str, int]:
    """Parameters, activations, Conv2d calls and FLOPs under every convention of one forward pass on a
    1 x ``input_chw`` input: ``model(x)``, or ``model(x, scale)`` when ``scale`` is given (the harness's interface).

    The hook counts run on a ``meta`` copy (shapes only; a network that cannot run there, with data-dependent
    shapes, is counted on a CPU copy fed zeros: the same counts). The fvcore count needs a ``torch.jit`` trace, which
    does not run on ``meta``: it costs one real forward pass of a CPU copy on zeros (about 0.3 s for RLFN at
    256x256 on two cores).
    """
    counts = {"params": sum(p.numel() for p in model.parameters())}
    try:
        counts.update(_hook_counts(_copy_on(model, "meta"), torch.zeros(1, *input_chw, device="meta"), scale))
    except (NotImplementedError, RuntimeError, TypeError):
        counts.update(_hook_counts(_copy_on(model, "cpu"), torch.zeros(1, *input_chw), scale))
    counts["flops_fvcore"] = flops_fvcore(_copy_on(model, "cpu"), torch.zeros(1, *input_chw), scale)
    return counts
