"""fvcore's FLOP convention (``FlopCountAnalysis``, github.com/facebookresearch/fvcore: ``nn/flop_count.py``,
``nn/jit_handles.py``), the counter of the NTIRE 2024-2025 efficient-SR challenges, in our own code.

The rules: one fused multiply-add is one FLOP; operators are counted by name, whatever module calls them:

=========================  ======================================================================================
operator                   FLOPs
=========================  ======================================================================================
convolution                batch · prod(weight shape) · output positions (input positions when transposed); no bias
``linear``                 prod(input shape) · out_features
``addmm``                  batch · in · out;  ``mm``, ``matmul``: prod(first shape) · last dim of the second
``bmm``                    n · c · t · d;  ``einsum``: two contractions exactly, otherwise numpy's optimal path / 2
``batch_norm``             eval: 1 per element, 2 with affine; training: as the other norms
``group_norm``, ``layer_norm``, ``instance_norm``  4 per element, 5 with affine
``upsample_nearest2d``     1 per output element;  ``upsample_bilinear2d``, ``grid_sampler``: 4 per output element
``adaptive_avg_pool2d``    1 per input element
anything else              0 (activations, additions, products, pooling, pixel shuffle, other interpolations)
=========================  ======================================================================================

fvcore finds these operators in a ``torch.jit`` trace, which needs a real forward pass (seconds per network at
256x256 on two cores). :func:`flops_fvcore` instead sees the same calls at torch's Python API with a
``TorchFunctionMode`` on the ``meta`` device (milliseconds): ``F.interpolate`` is counted by its mode and input rank
(what it lowers to: ``bilinear`` on 4-D is ``upsample_bilinear2d``, ``nearest`` on 4-D ``upsample_nearest2d``,
``area`` on 4-D ``adaptive_avg_pool2d``), nested calls are not seen twice. :func:`flops_fvcore_traced` walks the
trace as fvcore does; the tests check the two agree on every rule.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode


def forward_at(model: nn.Module, x: torch.Tensor, scale: int | None):
    """``model(x)``, or the harness's ``model(x, scale)`` when a scale is given."""
    return model(x) if scale is None else model(x, scale)


# ---- the rules, on shapes ----

def conv_flops(x: list[int], w: list[int], out: list[int], transposed: bool) -> int:
    return x[0] * math.prod(w) * math.prod((x if transposed else out)[2:])


def matmul_flops(a: list[int], b: list[int]) -> int:
    return math.prod(a) * b[-1]


def bmm_flops(a: list[int], b: list[int]) -> int:
    n, c, t = a
    return n * c * t * b[-1]


def einsum_flops(equation: str, shapes: list[list[int]]) -> int:
    equation = equation.replace(" ", "")
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


def norm_flops(x: list[int], affine: bool) -> int:
    return math.prod(x) * (5 if affine else 4)


def batch_norm_flops(x: list[int], affine: bool, training: bool) -> int:
    return norm_flops(x, affine) if training else math.prod(x) * (2 if affine else 1)


# ---- fast path: the calls at torch's Python API, on meta tensors ----

def _arg(args: tuple, kwargs: dict, index: int, name: str, default=None):
    return args[index] if len(args) > index else kwargs.get(name, default)


def _shape_of(t) -> list[int]:
    return list(t.shape)


def _interpolate(args, kwargs, out) -> int:
    x = args[0]
    mode = _arg(args, kwargs, 3, "mode", "nearest")
    if x.dim() != 4 or _arg(args, kwargs, 6, "antialias", False):
        return 0
    return {"nearest": out.numel(), "bilinear": 4 * out.numel(), "area": x.numel()}.get(mode, 0)


def _einsum_call(args, kwargs, out) -> int:
    operands = args[1] if len(args) == 2 and isinstance(args[1], (list, tuple)) else args[1:]
    return einsum_flops(args[0], [_shape_of(t) for t in operands])


def _conv_call(transposed: bool) -> Callable:
    def count(args, kwargs, out) -> int:
        return conv_flops(_shape_of(args[0]), _shape_of(_arg(args, kwargs, 1, "weight")), _shape_of(out), transposed)
    return count


_CONV = {f"conv{d}d": _conv_call(False) for d in (1, 2, 3)}
_CONV.update({f"conv_transpose{d}d": _conv_call(True) for d in (1, 2, 3)})

_CALLS: dict[str, Callable] = {
    **_CONV,
    "linear": lambda a, k, o: math.prod(a[0].shape) * _arg(a, k, 1, "weight").shape[0],
    "addmm": lambda a, k, o: a[1].shape[0] * a[1].shape[1] * a[2].shape[1],
    "mm": lambda a, k, o: matmul_flops(_shape_of(a[0]), _shape_of(a[1])),
    "matmul": lambda a, k, o: matmul_flops(_shape_of(a[0]), _shape_of(a[1])),
    "__matmul__": lambda a, k, o: matmul_flops(_shape_of(a[0]), _shape_of(a[1])),
    "__rmatmul__": lambda a, k, o: matmul_flops(_shape_of(a[1]), _shape_of(a[0])),
    "bmm": lambda a, k, o: bmm_flops(_shape_of(a[0]), _shape_of(a[1])),
    "einsum": _einsum_call,
    # F.batch_norm(input, running_mean, running_var, weight, bias, training, ...)
    "batch_norm": lambda a, k, o: batch_norm_flops(_shape_of(a[0]), _arg(a, k, 3, "weight") is not None,
                                                   bool(_arg(a, k, 5, "training", False))),
    "layer_norm": lambda a, k, o: norm_flops(_shape_of(a[0]), _arg(a, k, 2, "weight") is not None),
    "group_norm": lambda a, k, o: norm_flops(_shape_of(a[0]), _arg(a, k, 2, "weight") is not None),
    "instance_norm": lambda a, k, o: norm_flops(_shape_of(a[0]), _arg(a, k, 3, "weight") is not None),
    "interpolate": _interpolate,
    "upsample_nearest2d": lambda a, k, o: o.numel(),
    "upsample_bilinear2d": lambda a, k, o: 4 * o.numel(),
    "adaptive_avg_pool2d": lambda a, k, o: a[0].numel(),
    "grid_sample": lambda a, k, o: 4 * o.numel(),
}


class _Counter(TorchFunctionMode):
    """Adds up the FLOPs of the outermost calls it sees (a handler runs with the mode off: no nested counts)."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        rule = _CALLS.get(getattr(func, "__name__", ""))
        if rule is not None and isinstance(out, torch.Tensor):
            self.total += int(rule(args, kwargs, out))
        return out


def flops_fvcore(model: nn.Module, x: torch.Tensor, scale: int | None = None) -> int:
    """FLOPs of one forward pass (``model(x)``, or ``model(x, scale)``) under fvcore's convention; runs on whatever
    device ``model`` and ``x`` are on (``meta`` computes nothing)."""
    counter = _Counter()
    with torch.no_grad(), counter:
        forward_at(model, x, scale)
    return counter.total


# ---- slow path: fvcore's own walk over a torch.jit trace (the reference the tests check the fast path against) ----

def _shape(value: torch._C.Value) -> list[int] | None:
    kind = value.type()
    if not isinstance(kind, torch._C.TensorType):
        return None
    sizes = kind.sizes()
    return list(sizes) if sizes is not None else None


def _elementwise(per_input: int, per_output: int) -> Callable:
    return lambda i, o: per_input * math.prod(_shape(i[0])) + per_output * math.prod(_shape(o[0]))


_TRACED: dict[str, Callable] = {
    "aten::_convolution": lambda i, o: conv_flops(_shape(i[0]), _shape(i[1]), _shape(o[0]), i[6].toIValue()),
    "aten::addmm": lambda i, o: _shape(i[1])[0] * _shape(i[1])[1] * _shape(i[2])[1],
    "aten::linear": lambda i, o: math.prod(_shape(i[0])) * _shape(i[1])[0],
    "aten::bmm": lambda i, o: bmm_flops(_shape(i[0]), _shape(i[1])),
    "aten::matmul": lambda i, o: matmul_flops(_shape(i[0]), _shape(i[1])),
    "aten::mm": lambda i, o: matmul_flops(_shape(i[0]), _shape(i[1])),
    "aten::einsum": lambda i, o: einsum_flops(i[0].toIValue(), [_shape(v) for v in i[1].node().inputs()]),
    "aten::batch_norm": lambda i, o: batch_norm_flops(_shape(i[0]), _shape(i[1]) is not None, i[5].toIValue()),
    "aten::group_norm": lambda i, o: norm_flops(_shape(i[0]), _shape(i[2]) is not None),
    "aten::layer_norm": lambda i, o: norm_flops(_shape(i[0]), _shape(i[2]) is not None),
    "aten::instance_norm": lambda i, o: norm_flops(_shape(i[0]), _shape(i[1]) is not None),
    "aten::upsample_nearest2d": _elementwise(0, 1),
    "aten::upsample_bilinear2d": _elementwise(0, 4),
    "aten::adaptive_avg_pool2d": _elementwise(1, 0),
    "aten::grid_sampler": _elementwise(0, 4),
}


class _Traceable(nn.Module):
    """``model(x)`` or ``model(x, scale)`` as a one-argument module, so the tracer sees a plain call."""

    def __init__(self, model: nn.Module, scale: int | None) -> None:
        super().__init__()
        self.model, self.scale = model, scale

    def forward(self, x: torch.Tensor):
        return forward_at(self.model, x, self.scale)


def flops_fvcore_traced(model: nn.Module, x: torch.Tensor, scale: int | None = None) -> int:
    """:func:`flops_fvcore` the way fvcore computes it: over the operators of a ``torch.jit`` trace (a real forward
    pass; CPU tensors)."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's warnings about Python values becoming constants
        # the graph fvcore walks: parameters are typed graph inputs (an inlined torch.jit.trace graph reads them
        # through attribute nodes that carry no shape)
        graph, _ = torch.jit._get_trace_graph(_Traceable(model, scale), (x,))
    total = 0
    for node in graph.nodes():
        rule = _TRACED.get(node.kind())
        if rule is not None:
            total += int(rule(list(node.inputs()), list(node.outputs())))
    return total
