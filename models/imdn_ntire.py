"""IMDN as the NTIRE 2022 Efficient SR Challenge's baseline (Li et al., "NTIRE 2022 Challenge on Efficient Super-
Resolution: Methods and Results", CVPRW 2022): the simplified IMDN that won the AIM 2019 constrained-SR challenge
(Zhang et al., ICCVW 2019), which is not the ACM MM 2019 network of :mod:`srbench.models.imdn`.

Released file: ``model_zoo/imdn_baseline.pth`` of github.com/ofsoundof/NTIRE2022_ESR at commit
e95ba4a4916bb13d6348f7ee172827e2452e8a31, built by ``test_demo.py`` as ``IMDN(in_nc=3, out_nc=3, nc=64, nb=8,
upscale=4)`` (``models/imdn_baseline.py``), loaded strictly, fed RGB in [0, 1] (``data_range = 1.0``). A plain
state_dict with KAIR's layout: everything under one ``nn.Sequential`` called ``model``.

Blocks:

* :class:`SimpleIMDB`: three 3x3 convolutions + LeakyReLU(0.05) each keep a quarter of their channels and pass the
  rest on; a fourth 3x3 convolution (no activation) makes the last quarter; a 1x1 convolution fuses the four
  quarters and the block's input is added.
* :class:`IMDNBaseline`: ``model.0`` 3x3 entry convolution; ``model.1`` a residual group (``sub``) of eight blocks
  and a 3x3 convolution, with a skip over the group; ``model.2`` 3x3 convolution to 48 channels; ``model.3`` pixel
  shuffle x4.

Where it differs from the paper's IMDN (and may surprise): no contrast-aware channel attention, no 1x1 fusion of all
block outputs, eight blocks instead of six, hence 893,936 parameters against the paper's 715K at x4. As in the
IMDN repository, the LeakyReLU slope is 0.05 and there is no mean shift.
"""

from __future__ import annotations

import torch
from torch import nn

#: Constructor settings of the released file (``IMDN(nc=64, nb=8, upscale=4)``).
RELEASED_X4 = {"channels": 64, "blocks": 8, "scale": 4}
#: The range the released weights take their input in (``data_range = 1.0`` in the challenge's test_demo.py).
INPUT_RANGE = 1.0
SLOPE = 0.05


def _conv3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=1)


class SimpleIMDB(nn.Module):
    """Distil a quarter at each of three steps, make the last quarter, fuse 1x1, add the input (keys ``conv1.0``,
    ``conv2.0``, ``conv3.0``, ``conv4``, ``conv1x1``)."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.kept = channels // 4
        self.passed = channels - self.kept
        self.conv1 = nn.Sequential(_conv3(channels, channels), nn.LeakyReLU(SLOPE))
        self.conv2 = nn.Sequential(_conv3(self.passed, channels), nn.LeakyReLU(SLOPE))
        self.conv3 = nn.Sequential(_conv3(self.passed, channels), nn.LeakyReLU(SLOPE))
        self.conv4 = _conv3(self.passed, self.kept)
        self.conv1x1 = nn.Conv2d(4 * self.kept, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kept = []
        passed = x
        for step in (self.conv1, self.conv2, self.conv3):
            k, passed = torch.split(step(passed), (self.kept, self.passed), dim=1)
            kept.append(k)
        kept.append(self.conv4(passed))
        return x + self.conv1x1(torch.cat(kept, dim=1))


class Residual(nn.Module):
    """``x + sub(x)`` (key ``sub``)."""

    def __init__(self, sub: nn.Module) -> None:
        super().__init__()
        self.sub = sub

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.sub(x)


class IMDNBaseline(nn.Module):
    """The NTIRE 2022 baseline; ``forward(x)`` maps RGB in [0, 1] to the x``scale`` SR image in [0, 1]."""

    def __init__(self, *, channels: int = 64, blocks: int = 8, scale: int = 4) -> None:
        super().__init__()
        body = nn.Sequential(*[SimpleIMDB(channels) for _ in range(blocks)], _conv3(channels, channels))
        self.model = nn.Sequential(_conv3(3, channels), Residual(body), _conv3(channels, 3 * scale * scale),
                                   nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
