"""RFDN (Liu, Tang & Wu, "Residual Feature Distillation Network for Lightweight Image Super-Resolution", ECCVW 2020;
winner of the AIM 2020 Efficient SR Challenge, the NTIRE 2022 and 2023 ESR reference), in inference form, laid out
key-for-key like the released file.

Released file: ``trained_model/RFDN_AIM.pth`` of github.com/njulj/RFDN at commit
7cf4e25b6633e81fd7e26891aeee2baca4f8f927 (class ``RFDN`` of ``RFDN.py`` with its defaults: 50 features, 4 blocks,
x4), a plain state_dict. The same bytes are ``model_zoo/rfdn_baseline.pth`` of the NTIRE 2022 ESR repository.

Blocks:

* :class:`ESA`, enhanced spatial attention: 1x1 reduction to a quarter of the channels, a strided 3x3 convolution,
  max-pooling (7, stride 3), three 3x3 convolutions, bilinear upsampling back to the input size, added to a 1x1
  branch of the reduced features, a 1x1 expansion and a sigmoid gate on the block's features.
* :class:`RFDB`, the residual feature distillation block: three steps each distil half the channels with a 1x1
  convolution and refine all of them with a 3x3 convolution plus identity (shallow residual block); a last 3x3
  convolution; the four distilled parts are fused by a 1x1 convolution and gated by ESA (the block has no outer skip).
* :class:`RFDN`: 3x3 entry, four RFDBs, 1x1 fusion of their outputs (LeakyReLU), a 3x3 convolution with a long skip
  from the entry features, and a sub-pixel head (3x3 convolution to 48 channels, pixel shuffle x4).

Where the public code surprises: the network works in **[0, 255]**: ``test.py`` reads 8-bit images and divides by
1.0 (``uint2tensor4``), and the NTIRE 2022 demo declares ``data_range = 255.0`` for it. The ``upscale`` argument of
``RFDN.__init__`` is ignored (the head is always x4) and ``distillation_rate`` is unused (half the channels are
always distilled); ``set_scale`` does nothing. In ESA the convolution named ``conv_max`` is simply the first 3x3
convolution after the max-pooling, and the last of the three (``conv3_``) has no ReLU. LeakyReLU slope is 0.05.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from srbench.models.imdn import SLOPE, DistillationNetwork, conv

#: Constructor settings of the released file (``RFDN()`` with its defaults).
RELEASED_X4 = {"channels": 50, "blocks": 4, "scale": 4}
#: The range the released weights take their input in (``test.py`` feeds 8-bit values unscaled).
INPUT_RANGE = 255.0


class ESA(nn.Module):
    """Enhanced spatial attention (keys ``conv1``, ``conv_f``, ``conv_max``, ``conv2``, ``conv3``, ``conv3_``,
    ``conv4``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        f = channels // 4
        self.conv1 = conv(channels, f, 1)
        self.conv_f = conv(f, f, 1)
        self.conv_max = conv(f, f, 3)
        self.conv2 = nn.Conv2d(f, f, 3, stride=2)  # no padding
        self.conv3 = conv(f, f, 3)
        self.conv3_ = conv(f, f, 3)
        self.conv4 = conv(f, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        reduced = self.conv1(x)
        pooled = F.max_pool2d(self.conv2(reduced), kernel_size=7, stride=3)
        h = F.relu(self.conv3(F.relu(self.conv_max(pooled))))
        h = F.interpolate(self.conv3_(h), size=x.shape[2:], mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.conv4(h + self.conv_f(reduced)))


class RFDB(nn.Module):
    """Residual feature distillation block (keys ``c1_d``, ``c1_r`` ... ``c3_r``, ``c4``, ``c5``, ``esa``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        half = channels // 2
        self.c1_d, self.c1_r = conv(channels, half, 1), conv(channels, channels, 3)
        self.c2_d, self.c2_r = conv(channels, half, 1), conv(channels, channels, 3)
        self.c3_d, self.c3_r = conv(channels, half, 1), conv(channels, channels, 3)
        self.c4 = conv(channels, half, 3)
        self.act = nn.LeakyReLU(SLOPE)
        self.c5 = conv(4 * half, channels, 1)
        self.esa = ESA(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        distilled = []
        h = x
        for distil, refine in ((self.c1_d, self.c1_r), (self.c2_d, self.c2_r), (self.c3_d, self.c3_r)):
            distilled.append(self.act(distil(h)))
            h = self.act(refine(h) + h)
        distilled.append(self.act(self.c4(h)))
        return self.esa(self.c5(torch.cat(distilled, dim=1)))


class RFDN(DistillationNetwork):
    """The released network; ``forward(x)`` maps RGB in [0, 255] to the x4 SR image in [0, 255]. Its outer network
    is IMDN's (:class:`srbench.models.imdn.DistillationNetwork`), with RFDBs named ``B1``..``B4``."""

    def __init__(self, *, channels: int = 50, blocks: int = 4, scale: int = 4) -> None:
        super().__init__(lambda: RFDB(channels), prefix="B", scale=scale, channels=channels, blocks=blocks)
