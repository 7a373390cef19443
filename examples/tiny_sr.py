"""A tiny SR network, as an example of benchmarking your own model with srbench (docs/your-model.md).

srbench imports this file by path (``model: examples/tiny_sr.py:build``) under a private module name, calls
``build(scales=...)`` and measures the returned module like its own networks. The contract:

* ``forward(x, scale)`` maps a 1x3xhxw RGB tensor in [0, 1] to the 1x3x(s·h)x(s·w) SR image, also in [0, 1] (values
  outside are clamped when quantised to 8 bits);
* the module's ``scales`` attribute names the scales it can run (a ``forward(x)`` without a scale argument must
  declare exactly one, e.g. ``scales = (4,)``);
* a checkpoint for it (``weights: my_tiny_sr.pth``) is a state_dict of this module, loaded strictly; checkpoints
  wrapped as other toolkits save them (``params``, ``params_ema``, ``state_dict``, a ``module.`` prefix) load too.

The network: torch's bicubic interpolation plus a learned residual (two 3x3 convolutions at LR resolution and a
sub-pixel head per scale). The heads start at zero, so untrained it *is* torch's bicubic interpolation, a sensible
baseline whose output is an image (srbench refuses a model whose output is clearly not one).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TinySR(nn.Module):
    """Bicubic upsampling + a residual from a 16-channel, 2-layer body and one sub-pixel head per scale."""

    def __init__(self, scales: tuple[int, ...] = (2, 3, 4), width: int = 16) -> None:
        super().__init__()
        self.scales = (scales,) if isinstance(scales, int) else tuple(scales)
        self.body = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True))
        self.heads = nn.ModuleDict({f"x{s}": nn.Sequential(nn.Conv2d(width, 3 * s * s, 3, padding=1),
                                                           nn.PixelShuffle(s)) for s in self.scales})
        for head in self.heads.values():
            nn.init.zeros_(head[0].weight)
            nn.init.zeros_(head[0].bias)

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        base = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
        return base + self.heads[f"x{scale}"](self.body(x))


def build(*, scales: tuple[int, ...] = (2, 3, 4)) -> TinySR:
    """The builder srbench calls: ``scales`` is passed when the harness needs a particular set."""
    return TinySR(scales=scales)
