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
    ``nn/jit_handles.py``; used by NTIRE 2024-2025; implemented in :mod:`srbench.models.fvcore_count`). One fused
    multiply-add is one FLOP; operators are counted by name, independent of modules: convolution
    (batch·prod(weight shape)·output positions, input positions when transposed), ``addmm``/``linear``/``mm``/``matmul``/``bmm``/``einsum``
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
from collections.abc import Callable

import torch
from torch import nn

from srbench.models.fvcore_count import flops_fvcore, forward_at

#: The named FLOP conventions, in the order tables show them.
CONVENTIONS = ("ntire2022", "fvcore")

Runner = Callable[[nn.Module, torch.Tensor], object]

_ACTIVATION_MODULES = (nn.ReLU, nn.PReLU, nn.ELU, nn.LeakyReLU, nn.ReLU6)


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
            forward_at(model, x, scale)
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


# ---- the whole profile ----

#: The LR input the challenges profile at (channels, height, width).
PROFILE_INPUT = (3, 256, 256)


def _all_counts(model: nn.Module, x: torch.Tensor, scale: int | None) -> dict[str, int]:
    activations, convs = count_conv_activations(model, x, scale)
    return {"activations": activations, "conv2d": convs, "flops_ntire2022": flops_ntire2022(model, x, scale),
            "flops_fvcore": flops_fvcore(model, x, scale)}


def challenge_profile(model: nn.Module, scale: int | None = None,
                      input_chw: tuple[int, int, int] = PROFILE_INPUT) -> dict[str, int]:
    """Parameters, activations, Conv2d calls and FLOPs under every convention of one forward pass on a
    1 x ``input_chw`` input: ``model(x)``, or ``model(x, scale)`` when ``scale`` is given (the harness's interface).

    Counted on a ``meta`` copy (shapes only, milliseconds); a network that cannot run there (data-dependent shapes)
    is counted on a CPU copy fed zeros, which gives the same counts at the cost of a real forward pass.
    """
    counts = {"params": sum(p.numel() for p in model.parameters())}
    try:
        counts.update(_all_counts(_copy_on(model, "meta"), torch.zeros(1, *input_chw, device="meta"), scale))
    except Exception:  # anything a shape-only run cannot do (data-dependent shapes, value checks): count for real
        counts.update(_all_counts(_copy_on(model, "cpu"), torch.zeros(1, *input_chw), scale))
    return counts
