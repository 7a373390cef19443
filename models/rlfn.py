"""RLFN, the residual local feature network (Kong et al., "Residual Local Feature Network for Efficient
Super-Resolution", CVPR Workshops 2022): the NTIRE 2022 efficient-SR challenge's main-track winner (team ByteESR)
and the reference network of the NTIRE 2024 challenge's score.

Released file: github.com/ofsoundof/NTIRE2022_ESR at commit e95ba4a4916bb13d6348f7ee172827e2452e8a31,
``model_zoo/team04_rlfn.pth`` (x4 only; the class there is ``RLFN_cut`` in ``models/team04_rlfn.py``, built by the
organisers' ``test_demo.py`` as ``RLFN_cut(in_nc=3, out_nc=3)``, i.e. 46 features, 48 mid channels). Keys here are
the file's, so it loads strictly: 317,218 parameters.

Input range: [0, 255] (``test_demo.py`` gives model 4 a ``data_range`` of 255.0: the LR image is fed as 8-bit values
in float, and the output is read back in the same range).

Network: a 3x3 feature convolution, four residual local feature blocks (RLFB: three 3x3 convolutions with
LeakyReLU(0.05), a residual add, a 1x1 convolution and an enhanced spatial attention, ESA), a 3x3 convolution with a
long residual, and a pixel-shuffle upsampler (3x3 convolution to 3·s² channels, then shuffle).

Surprises in the released code, kept so the numbers match the organisers':
- the ESA holds a ``ReLU`` that its forward never calls (no parameters, so no key); it is left out here;
- the ESA's strided 3x3 convolution has no padding, then a 7x7/3 max pool; the attention map is upsampled back with
  bilinear interpolation (``align_corners=False``) to the block's input size;
- each RLFB applies *one* LeakyReLU module three times. The organisers' FLOP counter hooks modules, so it counts that
  module's three outputs; it does not see the functional max pool, interpolation, sigmoid multiply or additions. The
  activation functions are therefore kept as modules here, which the 2022 counting convention depends on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: The range of pixel values the released weights were trained on (and that ``forward`` takes and returns).
INPUT_RANGE = (0.0, 255.0)
#: Constructor settings of the released file ``team04_rlfn.pth``.
RELEASED_X4 = {"in_channels": 3, "out_channels": 3, "features": 46, "mid_features": 48, "esa_channels": 16, "scale": 4}


def _conv(in_channels: int, out_channels: int, kernel: int, **kwargs) -> nn.Conv2d:
    """Convolution keeping the spatial size ("same" padding) unless ``padding``/``stride`` say otherwise."""
    kwargs.setdefault("padding", kernel // 2)
    return nn.Conv2d(in_channels, out_channels, kernel, **kwargs)


class ESA(nn.Module):
    """Enhanced spatial attention: a cheap, strided and pooled branch computes a per-pixel, per-channel gate in (0, 1)
    that multiplies the input (keys ``conv1``, ``conv_f``, ``conv2``, ``conv3``, ``conv4``)."""

    def __init__(self, channels: int, esa_channels: int = 16) -> None:
        super().__init__()
        self.conv1 = _conv(channels, esa_channels, 1)
        self.conv_f = _conv(esa_channels, esa_channels, 1)
        self.conv2 = _conv(esa_channels, esa_channels, 3, stride=2, padding=0)
        self.conv3 = _conv(esa_channels, esa_channels, 3)
        self.conv4 = _conv(esa_channels, channels, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        reduced = self.conv1(x)
        coarse = self.conv3(F.max_pool2d(self.conv2(reduced), kernel_size=7, stride=3))
        coarse = F.interpolate(coarse, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return x * self.sigmoid(self.conv4(coarse + self.conv_f(reduced)))


class RLFB(nn.Module):
    """Residual local feature block: ``esa(c5(x + act(c3(act(c2(act(c1(x))))))))`` (keys ``c1_r``, ``c2_r``,
    ``c3_r``, ``c5``, ``esa.*``); ``act`` is one LeakyReLU(0.05) module used three times, as released."""

    def __init__(self, channels: int, mid_channels: int, esa_channels: int = 16) -> None:
        super().__init__()
        self.c1_r = _conv(channels, mid_channels, 3)
        self.c2_r = _conv(mid_channels, mid_channels, 3)
        self.c3_r = _conv(mid_channels, channels, 3)
        self.c5 = _conv(channels, channels, 1)
        self.esa = ESA(channels, esa_channels)
        self.act = nn.LeakyReLU(0.05, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.c1_r(x))
        out = self.act(self.c2_r(out))
        out = self.act(self.c3_r(out))
        return self.esa(self.c5(out + x))


class RLFN(nn.Module):
    """RLFN as released for NTIRE 2022 (``RLFN_cut``): four RLFBs, single scale. ``forward(x)`` maps an NCHW float
    image in :data:`INPUT_RANGE` to its ``scale``-times larger reconstruction in the same range."""

    def __init__(self, *, in_channels: int = 3, out_channels: int = 3, features: int = 46, mid_features: int = 48,
                 esa_channels: int = 16, scale: int = 4) -> None:
        super().__init__()
        self.scale = scale
        self.fea_conv = _conv(in_channels, features, 3)
        self.B1, self.B2, self.B3, self.B4 = (RLFB(features, mid_features, esa_channels) for _ in range(4))
        self.LR_conv = _conv(features, features, 3)
        self.upsampler = nn.Sequential(_conv(features, out_channels * scale * scale, 3), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.fea_conv(x)
        deep = self.B4(self.B3(self.B2(self.B1(shallow))))
        return self.upsampler(self.LR_conv(deep) + shallow)
