"""SAFMN, the Spatially-Adaptive Feature Modulation Network (L. Sun, J. Dong, J. Tang and J. Pan, "Spatially-Adaptive
Feature Modulation for Efficient Image Super-Resolution", ICCV 2023), in the variant the authors entered in the NTIRE
2023 efficient-SR challenge (team 15).

Released file: sunny2109/SAFMN at commit 68c2182e4f8829a979886b0a1cab8f269f91b321,
``NTIRE2023_ESR/model_zoo/team15_SAFMN.pth`` (BasicSR layout: the state_dict under ``params``; network
``NTIRE2023_ESR/models/team15_SAFMN.py``, built by ``NTIRE2023_ESR/test_demo.py`` as
``SAFMN(dim=36, n_blocks=8, ffn_scale=2.0, upscaling_factor=4)``), x4.

Input range: [0, 1] (``NTIRE2023_ESR/test_demo.py``, model_id 15: ``data_range = 1.0``); the output is in [0, 1].

The network: a 3x3 conv to 36 channels -> global response normalisation (GRN) -> eight feature-mixing blocks -> 3x3
conv to 48 channels and a x4 pixel shuffle -> plus the input upscaled bilinearly. Each block adds a spatially-adaptive
feature modulation (SAFM) and a convolutional channel mixer (CCM: 3x3 conv to 72 channels, GELU, 1x1 conv back), each
with its own skip. SAFM splits the channels into four groups of 9: the first gets a depthwise 3x3 conv at full
resolution, group i (1..3) is adaptively max-pooled to 1/2**(i+1) of the size, depthwise-convolved and upsampled
(nearest); the groups are concatenated, mixed by a 1x1 conv, passed through GELU and multiply the block input.

Surprises in the public code:

* This NTIRE variant is not the paper's network (``basicsr/archs/safmn_arch.py`` in the same commit): its blocks have
  no LayerNorm (the file defines a ``LayerNorm`` class and never uses it), a GRN layer (ConvNeXt-V2's, with learned
  ``gamma``/``beta``) follows the first conv, the feature-level long skip is gone, and a bilinear upscaling of the
  input is added to the output instead.
* GRN normalises by each channel's L2 norm over the *whole image*, so an output pixel depends on the entire input:
  SR of a crop is not the crop of the SR, and tiled inference would change the numbers.
* The pooled sizes are ``h // 4``, ``h // 8``, ``h // 16``: under 16 pixels on a side the coarsest map is empty and
  the public code fails with a RuntimeError from the conv after it; here it is a clear error. Its
  ``adaptive_max_pool2d`` with a size computed from the input cannot be exported to ONNX (output size not
  constant); :func:`adaptive_max_pool_by` computes the same cells with gathers and maxima instead (equal bit for bit,
  as fast on CPU), so this network exports with dynamic height and width.

Parameters: 237,000, equal to the organisers' class (the same layers). The count printed for this entry in the NTIRE
2023 report's results table could not be read from a primary source here, so none is quoted.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from srbench.core.errors import SrbenchError

#: What the released network expects and returns: [0, 1].
INPUT_RANGE = 1.0
#: Constructor settings of the released x4 file (``NTIRE2023_ESR/test_demo.py``, model_id 15).
RELEASED_X4: dict = {"channels": 36, "blocks": 8, "mixer_expansion": 2.0, "scale": 4}

_LEVELS = 4  # SAFM's channel groups: full resolution, then pooled by 4, 8 and 16
_GRN_EPS = 1e-6


class ResponseNorm(nn.Module):
    """Global response normalisation: x + gamma * (x * n) + beta, with n = per-channel spatial L2 norm over its mean
    across channels (+1e-6); ``gamma`` and ``beta`` are (1, C, 1, 1)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norms = torch.linalg.vector_norm(x, ord=2, dim=(2, 3), keepdim=True)
        relative = norms / (norms.mean(dim=1, keepdim=True) + _GRN_EPS)
        return self.gamma * (x * relative) + self.beta + x


def _window_max(x: torch.Tensor, size, dim: int, span: int) -> torch.Tensor:
    """Adaptive max pooling of ``x`` along ``dim`` to ``size`` cells, as ``adaptive_max_pool2d`` defines it: cell i
    covers [floor(i n / size), ceil((i + 1) n / size)). Taken as the maximum over ``span`` gathers, the k-th at
    index min(start + k, last): repeated last elements leave a maximum unchanged, so the result is exact whenever
    ``span`` is at least the longest cell. Unlike ``adaptive_max_pool2d`` with a size computed from the input, this
    traces to an ONNX graph with dynamic height and width."""
    n = x.shape[dim]
    cell = torch.arange(size, device=x.device)
    start = torch.div(cell * n, size, rounding_mode="floor")
    last = torch.div((cell + 1) * n + size - 1, size, rounding_mode="floor") - 1
    out = x.index_select(dim, start)
    for k in range(1, span):
        out = torch.maximum(out, x.index_select(dim, torch.minimum(start + k, last)))
    return out


def adaptive_max_pool_by(x: torch.Tensor, factor: int) -> torch.Tensor:
    """``F.adaptive_max_pool2d(x, (h // factor, w // factor))``, exactly (a cell's window is a product of a row and a
    column interval, so rows then columns), in an exportable form. With ``size = n // factor >= 1`` a cell spans
    under ``n / size + 2 < 2 * factor + 2`` elements, hence ``span = 2 * factor + 1``."""
    h, w = x.shape[-2:]
    span = 2 * factor + 1
    return _window_max(_window_max(x, h // factor, 2, span), w // factor, 3, span)


class FeatureModulation(nn.Module):
    """SAFM: multi-scale depthwise features, mixed by a 1x1 conv ``aggr``; GELU of the result gates the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        group = channels // _LEVELS
        self.mfr = nn.ModuleList(nn.Conv2d(group, group, 3, 1, 1, groups=group, bias=False) for _ in range(_LEVELS))
        self.aggr = nn.Conv2d(channels, channels, 1, 1, 0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        groups = x.chunk(_LEVELS, dim=1)
        scales = [self.mfr[0](groups[0])]
        for level in range(1, _LEVELS):
            factor = 2 ** (level + 1)
            pooled = adaptive_max_pool_by(groups[level], factor)
            scales.append(F.interpolate(self.mfr[level](pooled), size=(h, w), mode="nearest"))
        return F.gelu(self.aggr(torch.cat(scales, dim=1))) * x


class ChannelMixer(nn.Module):
    """CCM: 3x3 conv to ``expansion`` x channels, GELU, 1x1 conv back; no biases (keys ``ccm.0``, ``ccm.2``)."""

    def __init__(self, channels: int, expansion: float) -> None:
        super().__init__()
        hidden = int(channels * expansion)
        self.ccm = nn.Sequential(nn.Conv2d(channels, hidden, 3, 1, 1, bias=False), nn.GELU(),
                                 nn.Conv2d(hidden, channels, 1, 1, 0, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ccm(x)


class MixingBlock(nn.Module):
    """x + SAFM(x), then + CCM(.) (no normalisation in the NTIRE variant)."""

    def __init__(self, channels: int, expansion: float) -> None:
        super().__init__()
        self.safm = FeatureModulation(channels)
        self.ccm = ChannelMixer(channels, expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.safm(x) + x
        return self.ccm(x) + x


class SAFMN(nn.Module):
    """SAFMN (NTIRE 2023 variant) in inference form; ``forward(x)`` maps an NCHW image in [0, 1] (at least 16 pixels
    on each side) to its x``scale`` upscaling in [0, 1]."""

    min_side = 2 ** _LEVELS  # the coarsest SAFM level pools by 16

    def __init__(self, *, channels: int = 36, blocks: int = 8, mixer_expansion: float = 2.0, scale: int = 4,
                 colors: int = 3) -> None:
        super().__init__()
        self.scale = scale
        self.norm = ResponseNorm(channels)
        self.to_feat = nn.Conv2d(colors, channels, 3, 1, 1)
        self.feats = nn.Sequential(*(MixingBlock(channels, mixer_expansion) for _ in range(blocks)))
        self.to_img = nn.Sequential(nn.Conv2d(channels, colors * scale * scale, 3, 1, 1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing() and min(x.shape[-2:]) < self.min_side:  # a traced check would freeze
            raise SrbenchError(f"SAFMN needs an input of at least {self.min_side}x{self.min_side} pixels, got "
                               f"{x.shape[-1]}x{x.shape[-2]}")
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return self.to_img(self.feats(self.norm(self.to_feat(x)))) + base
