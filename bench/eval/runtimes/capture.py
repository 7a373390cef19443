"""Graph capture: a copy of the network at one scale with its BatchNorm mode baked in, ready for export or compile.

BatchNorm ``batch`` mode (per-image statistics, see models/bn.py): for graph capture each BatchNorm is replaced by
:class:`PerImageNorm`, which normalises with the input's own per-channel mean and biased variance over (H, W) with the
BN's eps, weight and bias: for one image the statistics ``set_bn_mode(model, 'batch')`` uses (equal up to float
rounding), exported as ReduceMean ops, with no running-statistics update. Parameter-free models (bicubic: numpy code)
and the inference wrappers (tiling, self-ensemble) have nothing to capture: :func:`check_capturable` declines them.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from srbench.core.constants import BN_MODES
from srbench.core.errors import SrbenchError
from srbench.eval.runtimes.runner import RuntimeDeclined
from srbench.models.bn import set_bn_mode


class PerImageNorm(nn.Module):
    """BatchNorm with each image's own statistics: per-image, per-channel mean and biased variance over H and W.

    For a batch of one (every evaluation and latency pass) this is what a BatchNorm in training mode
    (``set_bn_mode(model, 'batch')``) normalises with; written with plain reductions so it exports as ONNX ReduceMean
    ops and updates no running statistics. The form ``(x - mean) / sqrt(mean((x - mean)^2) + eps)`` over the spatial
    axes only is the pattern OpenVINO fuses into one MeanVarianceNormalization kernel: measured on ECDN-M x3 (768x1024
    output), its output is within 5e-7 of eager's (1.4e-5 with the batch axis in the reduction, which OpenVINO does not
    fuse) and about 1.2x faster.
    """

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm) -> None:
        super().__init__()
        self.eps = float(bn.eps)
        self.affine = bn.affine
        if bn.affine:
            self.register_buffer("weight", bn.weight.detach().clone())
            self.register_buffer("bias", bn.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(2, x.dim()))
        shape = (1, -1) + (1,) * (x.dim() - 2)
        mean = x.mean(dim=dims, keepdim=True)
        centred = x - mean
        var = centred.pow(2).mean(dim=dims, keepdim=True)
        y = centred / torch.sqrt(var + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


class _AtScale(nn.Module):
    """``net(x, scale)`` with the scale fixed, so the captured graph has one input."""

    def __init__(self, net: nn.Module, scale: int) -> None:
        super().__init__()
        self.net = net
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, self.scale)


def replace_batchnorm(model: nn.Module) -> int:
    """Swap every BatchNorm in ``model`` for a :class:`PerImageNorm` (in place); returns how many were swapped."""
    swapped = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, PerImageNorm(child))
                swapped += 1
    return swapped


def capture_model(model: nn.Module, scale: int, bn_mode: str) -> nn.Module:
    """A CPU, NCHW, eval-mode copy of ``model`` at ``scale`` with its BN mode baked in, ready for export/compile.

    ``eval``: BatchNorms keep using their running statistics (except those that track none, which always use the
    batch's and are therefore swapped too); ``batch``: every BatchNorm becomes a :class:`PerImageNorm`.
    The caller's model is left untouched.
    """
    if bn_mode not in BN_MODES:
        raise SrbenchError(f"bn_mode={bn_mode!r} is not one of {', '.join(BN_MODES)}")
    net = copy.deepcopy(model).cpu().float().to(memory_format=torch.contiguous_format)
    set_bn_mode(net, "eval")  # also restores momenta a caller's batch mode saved on the original
    if bn_mode == "batch":
        replace_batchnorm(net)
    else:
        for parent in list(net.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, nn.modules.batchnorm._BatchNorm) and not child.track_running_stats:
                    setattr(parent, name, PerImageNorm(child))
    return _AtScale(net, scale).eval()


def check_capturable(model: nn.Module, runtime: str) -> None:
    """Parameter-free models (bicubic) run numpy code outside torch: nothing to capture, eager only. So do the
    inference wrappers (tiling, self-ensemble: ``eager_only``), whose control flow depends on the input size and
    would be frozen into a traced graph at the probe's size."""
    if getattr(model, "eager_only", False):
        raise RuntimeDeclined(runtime, f"{type(model).__name__} (tiling / self-ensemble) runs eager only")
    if next(iter(model.parameters()), None) is None:
        arch = getattr(model, "arch", type(model).__name__)
        raise RuntimeDeclined(runtime, f"{arch} has no parameters (its work is not a torch graph); eager only")

