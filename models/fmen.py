"""FMEN, the Fast and Memory-Efficient Network (Z. Du et al., "Fast and Memory-Efficient Network Towards Efficient
Image Super-Resolution", CVPR Workshops (NTIRE) 2022): team NJU_Jet's entry to the NTIRE 2022 efficient-SR
challenge, 2nd in its main (runtime) track.

Released file: ofsoundof/NTIRE2022_ESR at commit e95ba4a4916bb13d6348f7ee172827e2452e8a31,
``model_zoo/team03_fmen.pth`` (a plain state_dict; its network is ``models/team03_fmen.py`` there), x4 only.

Input range: [0, 255]. The organisers' ``test_demo.py`` (``select_model``, model_id 3) sets ``data_range = 255.0``
and feeds ``uint8 / (255 / data_range)``, i.e. the raw pixel values; the output is read back in the same range.

The network, in its re-parameterised (inference) form: a 3x3 head conv; a warm-up stage (conv, then a
high-frequency attention block); four stages of (plain conv-LeakyReLU-conv block, attention block); a 3x3 conv; a
long skip from the head; a 3x3 conv to 3 * 16 channels and a pixel shuffle. A high-frequency attention block (HFAB)
squeezes to a few channels, runs conv-LeakyReLU-conv blocks, expands back, and multiplies its input by the sigmoid of
the result. Every LeakyReLU has slope 0.1.

Surprises in the public code:

* The trunk's conv-LeakyReLU-conv blocks have no skip connection, and every "RepConv" is a single 3x3 conv: the
  paper trains each as a re-parameterisable block with its own residual path and merges it into one 3x3 conv for
  inference; the file holds only the merged convs, so nothing of the training form remains.
* Inside an attention block the conv-LeakyReLU-conv blocks follow each other with no activation in between (the
  warm-up block has two of them: conv, LReLU, conv, conv, LReLU, conv), then one LeakyReLU after the last.
* The warm-up attention block is narrower (12 channels) than the four in the trunk (16): the code writes it as
  ``mid_feats - 4``.
* Every setting (50 channels, four stages, x4) is hard-coded in the constructor; ``RELEASED_X4`` below spells them
  out. No mean shift, no global bicubic/bilinear skip: the network learns the whole image.

Parameters: 341,066, equal to the organisers' class (the same layers); the NTIRE 2022 report's table (Table 1,
reproduced as ``figs/results.png`` in the organisers' repository) prints 0.341 M. Its FLOPs column (22.28 G for a
256x256 LR) equals this network's multiply-accumulates at that size, 22.280 G (torch's FLOP counter).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

#: What the released network expects and returns: pixel values in [0, 255].
INPUT_RANGE = 255.0
#: Constructor settings of the released x4 file (hard-coded in ``FMEN.__init__`` of team03_fmen.py).
RELEASED_X4: dict = {"channels": 50, "attention_channels": 16, "warmup_attention_channels": 12,
                     "attention_depths": (2, 1, 1, 1, 1), "scale": 4}

_SLOPE = 0.1  # LeakyReLU negative slope everywhere in FMEN


def _conv3(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, 1, 1)


class _MergedConv(nn.Module):
    """One re-parameterised 3x3 conv; the wrapper only keeps the released key names (``<name>.rep_conv``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.rep_conv = _conv3(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rep_conv(x)


class ConvPair(nn.Module):
    """conv 3x3 -> LeakyReLU -> conv 3x3, no skip (keys ``conv1``, ``conv2``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = _MergedConv(channels)
        self.conv2 = _MergedConv(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.leaky_relu(self.conv1(x), _SLOPE))


class HighFrequencyAttention(nn.Module):
    """x * sigmoid(expand(lrelu(pairs(lrelu(squeeze(x)))))): keys ``squeeze``, ``convs.<i>``, ``excitate``."""

    def __init__(self, channels: int, inner: int, depth: int) -> None:
        super().__init__()
        self.squeeze = _conv3(channels, inner)
        self.convs = nn.Sequential(*(ConvPair(inner) for _ in range(depth)))
        self.excitate = _conv3(inner, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        attention = F.leaky_relu(self.squeeze(x), _SLOPE)
        attention = F.leaky_relu(self.convs(attention), _SLOPE)
        return torch.sigmoid(self.excitate(attention)) * x


class FMEN(nn.Module):
    """FMEN in inference form; ``forward(x)`` maps an NCHW image in [0, 255] to its x``scale`` upscaling in [0, 255].

    ``attention_depths``: conv pairs in the warm-up attention block, then in each trunk stage's block (its length
    minus one is the number of trunk stages).
    """

    def __init__(self, *, channels: int = 50, attention_channels: int = 16, warmup_attention_channels: int = 12,
                 attention_depths: Sequence[int] = (2, 1, 1, 1, 1), scale: int = 4, colors: int = 3) -> None:
        super().__init__()
        self.scale = scale
        warm_depth, *stage_depths = attention_depths
        self.head = _conv3(colors, channels)
        self.warmup = nn.Sequential(_conv3(channels, channels),
                                    HighFrequencyAttention(channels, warmup_attention_channels, warm_depth))
        self.basic_blocks = nn.ModuleList(ConvPair(channels) for _ in stage_depths)
        self.hfabs = nn.ModuleList(HighFrequencyAttention(channels, attention_channels, d) for d in stage_depths)
        self.lr_conv = _conv3(channels, channels)
        self.tail = nn.Sequential(_conv3(channels, colors * scale * scale), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.head(x)
        h = self.warmup(shallow)
        for block, attention in zip(self.basic_blocks, self.hfabs):
            h = attention(block(h))
        return self.tail(self.lr_conv(h) + shallow)
