"""ECDN and ECDN-M: CARN's global cascade with DenseNet-style blocks (the ECDN report, ISTHATDISTANCE/CARN-pytorch).

Laid out key-for-key like the released checkpoints. Each cascading block is a dense block (``nn.Sequential`` of
BN-ReLU-conv dense layers growing the features by 16 channels each, then a BN-ReLU-1x1 transition back to 64).
ECDN-M differs in data: 4 dense layers instead of 8, a grouped transition, an iterative up-and-down pass through the
shared upsampler after cascade stages 1 and 2, and an unused 1x1 conv ``c4`` kept only so its checkpoints load
strictly. Both contain BatchNorm: see :func:`models.bn.set_bn_mode` for the eval/batch statistics knob.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from srbench.models.common import WIDTH, BasicBlock, CascadeSR
from srbench.models.registry import register_model

GROWTH = 16


class DenseLayer(nn.Module):
    """``cat[x, conv3x3(relu(bn(x)))]`` adding ``growth`` channels (input first; keys ``bn.*``, ``conv.*``)."""

    def __init__(self, in_channels: int, growth: int = GROWTH) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(in_channels)
        self.conv = nn.Conv2d(in_channels, growth, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv(F.relu(self.bn(x)))], dim=1)


class Transition(nn.Module):
    """``conv1x1(relu(bn(x)))`` back to ``out_channels`` (keys ``bn.*``, ``conv.*``)."""

    def __init__(self, in_channels: int, out_channels: int, *, groups: int = 1) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(in_channels)
        self.conv = nn.Conv2d(in_channels, out_channels, 1, 1, 0, groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.relu(self.bn(x)))


def dense_block(num_layers: int, *, transition_groups: int) -> nn.Sequential:
    """``num_layers`` dense layers (64 -> 64 + 16·n channels) then the transition back to 64, keys ``0..n``."""
    layers: list[nn.Module] = [DenseLayer(WIDTH + GROWTH * j) for j in range(num_layers)]
    layers.append(Transition(WIDTH + GROWTH * num_layers, WIDTH, groups=transition_groups))
    return nn.Sequential(*layers)


class ECDN(CascadeSR):
    """Efficient cascading dense network.

    ``num_layers``: dense layers per block; ``grouped_transition``: transition conv uses ``group``;
    ``up_down``: ECDN-M's pass ``o = nearest_down(upsample(o, s), 1/s)`` after cascade stages 1 and 2, through the
    same (shared-weight) upsampler as the output; ``unused_c4``: create ECDN-M's never-called 320 -> 64 fusion.
    """

    def __init__(self, *, scales: int | tuple[int, ...] = (2, 3, 4), group: int = 4, num_layers: int = 8,
                 grouped_transition: bool = False, up_down: bool = False, unused_c4: bool = False) -> None:
        transition_groups = group if grouped_transition else 1
        super().__init__(lambda: dense_block(num_layers, transition_groups=transition_groups),
                         scales=scales, group=group)
        self.up_down = up_down
        if unused_c4:
            self.c4 = BasicBlock(5 * WIDTH, WIDTH)  # in the checkpoint, never used by forward

    def between(self, o: torch.Tensor, scale: int) -> torch.Tensor:
        if not self.up_down:
            return o
        return F.interpolate(self.upsample(o, scale), scale_factor=1 / scale)


@register_model("ecdn")
def ecdn(*, scales: int | tuple[int, ...] = (2, 3, 4), group: int = 4) -> ECDN:
    """ECDN: 8-layer dense blocks, 694,555 parameters multi-scale."""
    return ECDN(scales=scales, group=group, num_layers=8)


@register_model("ecdn_m")
def ecdn_m(*, scales: int | tuple[int, ...] = (2, 3, 4), group: int = 4) -> ECDN:
    """ECDN-M: 4-layer dense blocks, grouped transition, iterative up-down; 417,499 parameters (396,955 used)."""
    return ECDN(scales=scales, group=group, num_layers=4, grouped_transition=True, up_down=True, unused_c4=True)
