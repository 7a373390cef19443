"""IMDN (Hui, Gao, Yang & Wang, "Lightweight Image Super-Resolution with Information Multi-distillation Network",
ACM MM 2019), in inference form, laid out key-for-key like the released single-scale checkpoints.

Released files: ``checkpoints/IMDN_x2.pth``, ``IMDN_x3.pth``, ``IMDN_x4.pth`` of github.com/Zheng222/IMDN at commit
8f158e6a5ac9db6e5857d9159fd4a6c4214da574 (class ``IMDN`` of ``model/architecture.py``, built with ``upscale=s`` and
otherwise the defaults: 64 features, 6 blocks). Each file was saved from ``nn.DataParallel``: every key carries a
``module.`` prefix, which :func:`srbench.models.weights.unwrap_checkpoint` removes. The authors' test script
(``test_IMDN.py``) feeds RGB divided by 255, so the network works in [0, 1].

Blocks:

* :class:`ContrastChannelAttention` (the paper's CCA layer): per-channel standard deviation plus mean, squeezed
  16x by two 1x1 convolutions, a sigmoid gate.
* :class:`IMDB`, the information multi-distillation block: three 3x3 convolutions each keep (distil) a quarter of
  their output channels and pass the other three quarters on; a fourth 3x3 convolution turns the remainder into one
  more quarter; the four quarters are gated by CCA, fused by a 1x1 convolution and added to the block's input.
* :class:`DistillationNetwork` (the outer network, which RFDN keeps) and :class:`IMDN`: a 3x3 entry convolution,
  six IMDBs, a 1x1 fusion (LeakyReLU) of all six outputs, a 3x3 convolution with a long skip from the entry
  features, and a sub-pixel head (3x3 convolution to 3·s² channels, pixel shuffle).

Where the public code surprises: LeakyReLU has slope 0.05 everywhere (not PyTorch's 0.01); the 1x1 fusion after the
blocks (``c``) is followed by a LeakyReLU while the block-internal fusion (``c5``) is not; the fourth convolution of
a block has no activation; there is no mean shift and no global bicubic skip, so the network maps [0, 1] to about
[0, 1] on its own. Module names (``c1``..``c5``, ``cca.conv_du``, ``c.0``, ``upsampler.0``) are the checkpoint's.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

#: Constructor settings of the released files per scale: ``IMDN(upscale=s)`` with the repository's defaults.
RELEASED = {s: {"scale": s, "channels": 64, "blocks": 6} for s in (2, 3, 4)}
RELEASED_X4 = RELEASED[4]
#: The range the released weights take their input in (``test_IMDN.py`` divides 8-bit RGB by 255).
INPUT_RANGE = 1.0
#: LeakyReLU slope of the released code (``activation('lrelu', neg_slope=0.05)``).
SLOPE = 0.05


def conv(in_channels: int, out_channels: int, kernel_size: int) -> nn.Conv2d:
    """A same-padded convolution with bias (stride 1)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)


class ContrastChannelAttention(nn.Module):
    """Gate each channel by sigmoid(MLP(std + mean)) over the spatial dimensions (keys ``conv_du.0``,
    ``conv_du.2``)."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.conv_du = nn.Sequential(nn.Conv2d(channels, channels // reduction, 1), nn.ReLU(inplace=True),
                                     nn.Conv2d(channels // reduction, channels, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True).sqrt()  # population std, as the released code
        return x * self.conv_du(std + mean)


class IMDB(nn.Module):
    """Information multi-distillation block: three distil-and-pass steps, a last 3x3 step, CCA, 1x1 fusion, skip."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.kept = channels // 4
        self.passed = channels - self.kept
        self.c1 = conv(channels, channels, 3)
        self.c2 = conv(self.passed, channels, 3)
        self.c3 = conv(self.passed, channels, 3)
        self.c4 = conv(self.passed, self.kept, 3)
        self.act = nn.LeakyReLU(SLOPE)
        self.c5 = conv(channels, channels, 1)
        self.cca = ContrastChannelAttention(4 * self.kept)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kept = []
        passed = x
        for step in (self.c1, self.c2, self.c3):
            k, passed = torch.split(self.act(step(passed)), (self.kept, self.passed), dim=1)
            kept.append(k)
        kept.append(self.c4(passed))
        return self.c5(self.cca(torch.cat(kept, dim=1))) + x


class DistillationNetwork(nn.Module):
    """IMDN's outer network, which RFDN keeps: a 3x3 entry convolution, ``blocks`` blocks in a chain, a 1x1 fusion
    (LeakyReLU) of all their outputs, a 3x3 convolution with a long skip from the entry features, and a sub-pixel
    head (3x3 convolution to 3·s² channels, pixel shuffle). Blocks are named ``<prefix><i>`` from 1, as in the
    released files."""

    def __init__(self, make_block: Callable[[], nn.Module], *, prefix: str, scale: int, channels: int,
                 blocks: int) -> None:
        super().__init__()
        self.prefix, self.blocks = prefix, blocks
        self.fea_conv = conv(3, channels, 3)
        for i in range(1, blocks + 1):
            self.add_module(f"{prefix}{i}", make_block())
        self.c = nn.Sequential(conv(channels * blocks, channels, 1), nn.LeakyReLU(SLOPE))
        self.LR_conv = conv(channels, channels, 3)
        self.upsampler = nn.Sequential(conv(channels, 3 * scale * scale, 3), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.fea_conv(x)
        outs, h = [], features
        for i in range(1, self.blocks + 1):
            h = getattr(self, f"{self.prefix}{i}")(h)
            outs.append(h)
        return self.upsampler(self.LR_conv(self.c(torch.cat(outs, dim=1))) + features)


class IMDN(DistillationNetwork):
    """The network of the released files; ``forward(x)`` maps RGB in [0, 1] to the x``scale`` SR image in [0, 1]."""

    def __init__(self, *, scale: int = 4, channels: int = 64, blocks: int = 6) -> None:
        super().__init__(lambda: IMDB(channels), prefix="IMDB", scale=scale, channels=channels, blocks=blocks)
