"""CARN and CARN-M (Ahn et al., "Fast, Accurate, and Lightweight Super-Resolution with Cascading Residual Network",
ECCV 2018), laid out key-for-key like the released code (nmhkahn/CARN-pytorch) so its checkpoints load strictly.

Both are the global cascade of :class:`models.common.CascadeSR` over three cascading blocks; each block is itself a
local cascade over three residual blocks. CARN-M differs only in data: grouped convolutions (group 4) and one
*efficient* residual block per cascading block, applied three times with shared weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from srbench.models.common import WIDTH, BasicBlock, CascadeSR, cascade
from srbench.models.registry import register_model


class ResidualBlock(nn.Module):
    """``relu(body(x) + x)`` with body = conv 3x3 -> ReLU -> conv 3x3 (CARN; keys ``body.0``, ``body.2``)."""

    def __init__(self, channels: int = WIDTH) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, 1, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(channels, channels, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + x)


class EResidualBlock(nn.Module):
    """Efficient residual block (CARN-M): grouped conv 3x3 -> ReLU -> grouped conv 3x3 -> ReLU -> conv 1x1.

    The 1x1 conv is not grouped: it mixes the groups back together, which is what keeps the grouped block accurate.
    """

    def __init__(self, channels: int = WIDTH, *, group: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, 1, 1, groups=group), nn.ReLU(inplace=True),
                                  nn.Conv2d(channels, channels, 3, 1, 1, groups=group), nn.ReLU(inplace=True),
                                  nn.Conv2d(channels, channels, 1, 1, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + x)


class CascadingBlock(nn.Module):
    """Local cascade over three residual blocks with 1x1 fusions ``c1..c3`` (128/192/256 -> 64).

    ``efficient=True`` (CARN-M) holds one :class:`EResidualBlock` ``b1`` applied three times (shared weights);
    otherwise three independent :class:`ResidualBlock` ``b1..b3`` (CARN, whose residual blocks are never grouped).
    """

    def __init__(self, *, efficient: bool, group: int) -> None:
        super().__init__()
        self.efficient = efficient
        if efficient:
            self.b1 = EResidualBlock(group=group)
        else:
            self.b1, self.b2, self.b3 = ResidualBlock(), ResidualBlock(), ResidualBlock()
        self.c1 = BasicBlock(2 * WIDTH, WIDTH)
        self.c2 = BasicBlock(3 * WIDTH, WIDTH)
        self.c3 = BasicBlock(4 * WIDTH, WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residuals = (self.b1,) * 3 if self.efficient else (self.b1, self.b2, self.b3)
        return cascade(x, residuals, (self.c1, self.c2, self.c3))


class CARN(CascadeSR):
    """Cascading residual network; ``efficient`` selects CARN-M's shared efficient residual blocks."""

    def __init__(self, *, scales: int | tuple[int, ...] = (2, 3, 4), group: int = 1, efficient: bool = False) -> None:
        super().__init__(lambda: CascadingBlock(efficient=efficient, group=group), scales=scales, group=group)


@register_model("carn")
def carn(*, scales: int | tuple[int, ...] = (2, 3, 4), group: int = 1) -> CARN:
    """CARN: 1,591,963 parameters multi-scale (paper: 1,592K)."""
    return CARN(scales=scales, group=group, efficient=False)


@register_model("carn_m")
def carn_m(*, scales: int | tuple[int, ...] = (2, 3, 4), group: int = 4) -> CARN:
    """CARN-M: 414,811 parameters multi-scale (paper: 412K)."""
    return CARN(scales=scales, group=group, efficient=True)
