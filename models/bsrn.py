"""BSRN, the Blueprint Separable Residual Network (Z. Li et al., "Blueprint Separable Residual Network for Efficient
Image Super-Resolution", CVPR Workshops (NTIRE) 2022), as entered by team XPixel in the NTIRE 2022 efficient-SR
challenge (first in its model-complexity sub-track, tied with NJUST_ESR).

Released file: ofsoundof/NTIRE2022_ESR at commit e95ba4a4916bb13d6348f7ee172827e2452e8a31,
``model_zoo/team18_bsrn.pth`` (BasicSR layout: the state_dict under ``params``; network ``models/team18_bsrn.py``,
built by ``test_demo.py`` with ``num_feat=48, num_block=5, conv='BSConvU', upsampler='pixelshuffledirect'``), x4.

Input range: [0, 1] (``test_demo.py``, model_id 18: ``data_range = 1.0``); the output is in [0, 1] too.

The network: the input image repeated four times along the channels (12 channels) -> a blueprint-separable conv
(pointwise, then depthwise 3x3) to 48 channels -> five residual feature-distillation blocks -> their outputs
concatenated, fused by a pointwise layer and GELU -> a blueprint-separable conv -> long skip -> 3x3 conv to 48
channels and a x4 pixel shuffle. Each block is RFDN's: three (distil, refine) steps (a pointwise layer keeps half the
channels, a blueprint-separable conv plus identity refines the rest, GELU on both), a fourth refinement, a pointwise
fusion, enhanced spatial attention (ESA), a learned per-channel scale, a pointwise output layer and a block skip.

Surprises in the public code:

* This is the challenge entry, not the paper's final BSRN (whose ESDB blocks add channel attention): the organisers
  name it ``RFDNFINALB5``, and its blocks are RFDN's blocks with blueprint-separable convs.
* Every pointwise layer is an ``nn.Linear`` applied to a channels-last permutation, so each carries a bias (the
  pointwise conv of BSConv-U as usually written, e.g. in the NTIRE 2024 SPAN file, has none). Kept as such here,
  layout included: a 1x1 convolution on the same weights is slower on CPU and differs in the last bits.
* The input is replicated four times (3 -> 12 channels) before the first layer.
* Each block multiplies the ESA output by a learned per-channel scale ``cw`` (initialised at random in the public
  code) before its output layer.
* The constructor prints its ``conv`` argument; ``num_block`` only sizes the fusion layer while the five blocks
  ``B1``..``B5`` are hard-coded; any upsampler other than ``pixelshuffledirect`` raises.

Parameters: 156,288, equal to the organisers' class; the NTIRE 2022 report's table (Table 1, reproduced as
``figs/results.png`` in the organisers' repository) prints 0.156 M for XPixel. Its FLOPs column says 9.50 G for a
256x256 LR, where this network's convolutions and linear layers make 9.43 G multiply-accumulates (torch's FLOP
counter); the difference was not traced.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: What the released network expects and returns: [0, 1].
INPUT_RANGE = 1.0
#: Constructor settings of the released x4 file (``test_demo.py``, model_id 18).
RELEASED_X4: dict = {"channels": 48, "blocks": 5, "scale": 4}

_INPUT_COPIES = 4  # the input is concatenated with itself this many times before the first layer


def _last(x: torch.Tensor) -> torch.Tensor:
    """NCHW -> channels-last view (NHWC), where the released ``nn.Linear`` pointwise layers apply."""
    return x.permute(0, 2, 3, 1)


def _first(x: torch.Tensor) -> torch.Tensor:
    """NHWC -> NCHW view."""
    return x.permute(0, 3, 1, 2)


class BlueprintConv(nn.Module):
    """Blueprint-separable conv (BSConv-U): pointwise ``pw`` (an ``nn.Linear``, with bias), then depthwise 3x3
    ``dw``; NCHW in and out."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.pw = nn.Linear(c_in, c_out)
        self.dw = nn.Conv2d(c_out, c_out, 3, 1, 1, groups=c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dw(_first(self.pw(_last(x))))


class SpatialAttention(nn.Module):
    """Enhanced spatial attention (ESA), as in RFDN with GELU: a quarter-width branch, strided conv, max-pooling
    (7, stride 3), three blueprint convs, bilinear upsampling, plus a pointwise shortcut; x * sigmoid(result)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        inner = channels // 4
        self.conv1 = nn.Linear(channels, inner)
        self.conv_f = nn.Linear(inner, inner)
        self.conv_max = BlueprintConv(inner, inner)
        self.conv2 = nn.Conv2d(inner, inner, 3, 2, 0)
        self.conv3 = BlueprintConv(inner, inner)
        self.conv3_ = BlueprintConv(inner, inner)
        self.conv4 = nn.Linear(inner, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        reduced = self.conv1(_last(x))  # NHWC
        low = F.max_pool2d(self.conv2(_first(reduced)), kernel_size=7, stride=3)
        low = F.gelu(self.conv3(F.gelu(self.conv_max(low))))
        low = F.interpolate(self.conv3_(low), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return x * torch.sigmoid(_first(self.conv4(_last(low) + self.conv_f(reduced))))


class DistillationBlock(nn.Module):
    """Residual feature-distillation block with blueprint convs, ESA, a per-channel scale ``cw`` and a skip.

    The distilled features, their fusion and the output layer run channels-last, where the public code runs them:
    elementwise ops give last-bit-different results on a permuted view, and this keeps the output bit-identical.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        kept = channels // 2
        self.c1_d, self.c2_d, self.c3_d = (nn.Linear(channels, kept) for _ in range(3))
        self.c1_r, self.c2_r, self.c3_r = (BlueprintConv(channels, channels) for _ in range(3))
        self.c4 = BlueprintConv(channels, kept)
        self.c5 = nn.Linear(4 * kept, channels)
        self.esa = SpatialAttention(channels)
        self.cw = nn.Parameter(torch.ones(1, channels))
        self.conv_out = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kept, h = [], x
        for distil, refine in ((self.c1_d, self.c1_r), (self.c2_d, self.c2_r), (self.c3_d, self.c3_r)):
            kept.append(F.gelu(distil(_last(h))))
            h = F.gelu(refine(h) + h)
        kept.append(_last(F.gelu(self.c4(h))))
        fused = self.esa(_first(self.c5(torch.cat(kept, dim=3))))
        return _first(self.conv_out(_last(fused) * self.cw)) + x


class _OneStepUpsampler(nn.Module):
    """3x3 conv to ``3 * scale**2`` channels and a pixel shuffle, under the released key ``upsampleOneStep``."""

    def __init__(self, channels: int, scale: int, colors: int) -> None:
        super().__init__()
        self.upsampleOneStep = nn.Sequential(nn.Conv2d(channels, colors * scale * scale, 3, 1, 1),
                                             nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upsampleOneStep(x)


class BSRN(nn.Module):
    """BSRN (NTIRE 2022 entry) in inference form; ``forward(x)`` maps an NCHW image in [0, 1] to its x``scale``
    upscaling in [0, 1]. Blocks are ``B1``..``B<blocks>`` as in the released file."""

    def __init__(self, *, channels: int = 48, blocks: int = 5, scale: int = 4, colors: int = 3) -> None:
        super().__init__()
        self.scale = scale
        self.blocks = blocks
        self.fea_conv = BlueprintConv(colors * _INPUT_COPIES, channels)
        for i in range(1, blocks + 1):
            self.add_module(f"B{i}", DistillationBlock(channels))
        self.c1 = nn.Linear(channels * blocks, channels)
        self.c2 = BlueprintConv(channels, channels)
        self.upsampler = _OneStepUpsampler(channels, scale, colors)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.fea_conv(x.repeat(1, _INPUT_COPIES, 1, 1))
        outputs, h = [], shallow
        for i in range(1, self.blocks + 1):
            h = getattr(self, f"B{i}")(h)
            outputs.append(h)
        trunk = F.gelu(_first(self.c1(_last(torch.cat(outputs, dim=1)))))
        return self.upsampler(self.c2(trunk) + shallow)
