"""SPAN, the Swift Parameter-free Attention Network (C. Wan et al., "Swift Parameter-free Attention Network for
Efficient Super-Resolution", CVPR Workshops (NTIRE) 2024; arXiv 2311.12770), the 28-channel variant with which team
XiaomiMM won the NTIRE 2024 efficient-SR challenge.

Released file: Amazingren/NTIRE2024_ESR at commit 6404fa48dde4a4adbf241a51debdc661aef20449,
``model_zoo/team38_span_ch28_slim.pth`` (a plain state_dict; network ``models/team38_SPAN.py``, class ``SPAN30``,
built by ``test_demo.py`` as ``SPAN30(3, 3, upscale=4, feature_channels=28)``), x4.

Input range: [0, 1] (``test_demo.py``, model_id 38: ``data_range = 1.0``); the output is in [0, 1]. Internally the
network subtracts the DIV2K mean (0.4488, 0.4371, 0.4040) and multiplies by 255 before the first conv; the output is
*not* shifted or scaled back (the last conv learned to produce [0, 1] directly).

The network: a 3x3 conv to 28 channels -> six parameter-free attention blocks -> a 3x3 conv -> the concatenation of
(first-conv features, that conv's output, block 1's output, block 6's first activation) fused by a 1x1 conv -> a 3x3
conv to 48 channels and a x4 pixel shuffle. A block runs conv-SiLU-conv-SiLU-conv (all 3x3) to ``y``, then returns
``(y + x) * (sigmoid(y) - 0.5)``: the "parameter-free attention".

The file holds only the re-parameterised convs (``<name>.eval_conv``): in training each 3x3 conv is a 1x1 expand
(x2) -> 3x3 -> 1x1 reduce chain plus a 1x1 shortcut, merged into one 3x3 conv for inference. This module is the
inference form and the load is strict against it: 150,688 parameters, the 0.151 M the NTIRE 2024 report prints for
XiaomiMM (Table 1 of arXiv 2404.10343, as quoted in secondary sources; the primary table was not read here). The
same quote gives 9.83 GFLOPs for a 256x256 LR: this network's multiply-accumulates at that size are 9.834 G.

The public classes, and the other surprises in the public code:

* At the pinned commit ``team38_SPAN.py`` has the training branches of its ``Conv3XC`` commented out, so
  ``SPAN30(3, 3, upscale=4, feature_channels=28)`` holds the same 44 tensors, also 150,688 parameters, and its
  ``strict=False`` load misses nothing (checked: it reports all keys matched). The authors' own training class
  (hongyuanyu/SPAN, ``basicsr/archs/span_arch.py``: ``sk`` and ``conv`` beside ``eval_conv`` in every
  ``Conv3XC``) built with 28 channels has 769,428 parameters, 618,740 of them in the training branches; loading
  the file into it with ``strict=False`` fills only the ``eval_conv`` layers, and its eval-mode ``forward``
  recomputes them from the (random) training branches on every call, so that class cannot run this file.
* ``SPAN30.__init__`` moves itself to CUDA and runs a 256x256 warm-up forward (``self.cuda()(torch.randn(...)
  .cuda())``): it cannot be built without a GPU. Nothing like it here.
* The mean is a plain tensor attribute (not a buffer, so not in the state_dict); here it is a non-persistent buffer.
* Each block returns its first conv's output for that concatenation, but the public code applies an *in-place*
  SiLU to it first (``act1 = SiLU(inplace=True)``), so what is concatenated is SiLU of that output, not the
  pre-activation tensor the code appears to return. Reproduced here (an explicit SiLU).
* The file defines several unused classes (``Conv3XC2``, ``SPAB2``, ``SlimBlock``, ``ShiftConv2d_4``, ``BSConvU``,
  ``CustomActivation``); each block also returns its attention map, which nothing uses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: What the released network expects and returns: [0, 1] (it shifts and scales to about [-115, 152] internally).
INPUT_RANGE = 1.0
#: Constructor settings of the released x4 file (``test_demo.py``, model_id 38).
RELEASED_X4: dict = {"channels": 28, "blocks": 6, "scale": 4}

_DIV2K_MEAN = (0.4488, 0.4371, 0.4040)
_INNER_RANGE = 255.0  # the network's internal scaling (``img_range``)


class _MergedConv(nn.Module):
    """A re-parameterised 3x3 conv, kept under the released key ``eval_conv``."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.eval_conv = nn.Conv2d(c_in, c_out, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.eval_conv(x)


class AttentionBlock(nn.Module):
    """SPAB: a = silu(c1(x)), y = c3(silu(c2(a))); returns ((y + x) * (sigmoid(y) - 0.5), a)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.c1_r = _MergedConv(channels, channels)
        self.c2_r = _MergedConv(channels, channels)
        self.c3_r = _MergedConv(channels, channels)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inner = F.silu(self.c1_r(x))
        y = self.c3_r(F.silu(self.c2_r(inner)))
        return (y + x) * (torch.sigmoid(y) - 0.5), inner


class SPAN(nn.Module):
    """SPAN in inference form; ``forward(x)`` maps an NCHW image in [0, 1] to its x``scale`` upscaling in [0, 1]."""

    def __init__(self, *, channels: int = 28, blocks: int = 6, scale: int = 4, colors: int = 3) -> None:
        super().__init__()
        self.scale = scale
        self.blocks = blocks
        self.register_buffer("mean", torch.tensor(_DIV2K_MEAN).view(1, 3, 1, 1), persistent=False)
        self.conv_1 = _MergedConv(colors, channels)
        for i in range(1, blocks + 1):
            self.add_module(f"block_{i}", AttentionBlock(channels))
        self.conv_cat = nn.Conv2d(4 * channels, channels, 1, 1, 0)
        self.conv_2 = _MergedConv(channels, channels)
        self.upsampler = nn.Sequential(nn.Conv2d(channels, colors * scale * scale, 3, 1, 1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.conv_1((x - self.mean) * _INNER_RANGE)
        h, first_out = shallow, shallow
        for i in range(1, self.blocks + 1):
            h, last_inner = getattr(self, f"block_{i}")(h)
            if i == 1:
                first_out = h
        fused = self.conv_cat(torch.cat([shallow, self.conv_2(h), first_out, last_inner], dim=1))
        return self.upsampler(fused)
