"""Model complexity: parameters, effective parameters and Mult-Adds, computed the way the papers report them.

Forward passes here run on a ``meta``-device copy of the model: shapes propagate, nothing is computed or allocated,
so a 720p Mult-Adds count of CARN costs milliseconds, and the caller's model (weights, BatchNorm statistics, device)
is never touched.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module) -> int:
    """All parameters, shared ones once, frozen ones (the mean shifts) included, as the published totals count them."""
    return sum(p.numel() for p in model.parameters())


def _meta_copy(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).to("meta").eval()


def count_effective_params(model: nn.Module, scales: int | Iterable[int] | None = None, *,
                           lr_hw: tuple[int, int] = (16, 16)) -> int:
    """Parameters of the modules a forward pass actually calls, at any of ``scales`` (default: all the model's).

    With the default this is the total minus what no forward pass ever uses, which is how the ECDN report counts
    ECDN-M (396,955: without the dead ``c4``). A single scale also drops the other scales' upsampling heads.
    """
    if count_params(model) == 0:
        return 0
    scales = model.scales if scales is None else ((scales,) if isinstance(scales, int) else tuple(scales))
    meta = _meta_copy(model)
    called: set[int] = set()
    handles = [m.register_forward_hook(lambda mod, args, out: called.add(id(mod))) for m in meta.modules()]
    try:
        with torch.no_grad():
            for s in scales:
                meta(torch.empty(1, 3, *lr_hw, device="meta"), s)
    finally:
        for h in handles:
            h.remove()
    used = {id(p): p for m in meta.modules() if id(m) in called for p in m.parameters(recurse=False)}
    return sum(p.numel() for p in used.values())


def mult_adds(model: nn.Module, scale: int, out_hw: tuple[int, int] = (720, 1280), *,
              count_hw: tuple[int, int] = (16, 16)) -> int:
    """Multiply-accumulates of one forward pass producing ``out_hw`` at ``scale`` (CARN reports 720p, in G).

    Convention (the one that reproduces the CARN paper's numbers, 222.8G/118.8G/90.9G and 91.2G/46.1G/32.5G): the LR
    area is the output area divided by s², even when a side is not a multiple of s (720p at x3: 240 x 426.67 LR
    pixels). No integer LR size gives the paper's x3 numbers for both CARN and CARN-M: 240x427 gives 118.9G/46.2G and
    240x426 gives 118.6G/46.1G. Since every layer of these fully convolutional networks runs at a fixed multiple of
    the LR resolution, MACs are exactly proportional to LR area: we count a ``count_hw`` LR input and scale.

    Counted by ``FlopCounterMode`` (convolutions; bias, ReLU, BatchNorm, pixel shuffle, concatenation and
    interpolation are free, as in the papers; grouped convolutions counted correctly) on the meta device;
    MACs = FLOPs / 2.
    """
    if count_params(model) == 0:
        return 0
    meta = _meta_copy(model)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        meta(torch.empty(1, 3, *count_hw, device="meta"), scale)
    counted_macs = counter.get_total_flops() // 2
    return round(counted_macs * out_hw[0] * out_hw[1] / (scale * scale * count_hw[0] * count_hw[1]))
