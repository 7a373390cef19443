"""Bicubic baseline: MATLAB-compatible ``imresize(lr, s, 'bicubic')`` of the 8-bit LR, as every SR paper's table has it.

Not ``F.interpolate(mode="bicubic")``: that uses a = -0.75 and another border rule, and inflates the bicubic row by
0.2-0.3 dB. The input is rounded to 8 bits first (the LR files are 8-bit; this makes a [0, 1] float LR round-trip
exactly) and the result is 8-bit too, like every other model's measured output.

The work is numpy on the host CPU whatever the input's device (``host_compute = True``): its latency is timed with
the wall clock, never with CUDA events (``srbench.eval.latency``), and is a CPU figure even in a GPU table.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from srbench.models.common import as_scales, check_scale
from srbench.models.registry import register_model


class Bicubic(nn.Module):
    """Parameter-free upscaler with the same ``forward(x, scale)`` interface as the learned models."""

    host_compute = True  # computes on the CPU (numpy) whatever the device: timed by the wall clock

    def __init__(self, *, scales: int | tuple[int, ...] = (2, 3, 4)) -> None:
        super().__init__()
        self.scales = as_scales(scales)

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        """N×3×h×w in [0, 1] -> N×3×(s·h)×(s·w), values k/255, on x's device and dtype."""
        from srbench.core.imresize import imresize  # numpy code owned by data/; imported only when actually used

        check_scale(self, scale)
        lr = (x.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        sr = np.stack([imresize(img, scale) for img in lr])
        return torch.from_numpy(sr).permute(0, 3, 1, 2).to(device=x.device, dtype=x.dtype) / 255


@register_model("bicubic")
def bicubic(*, scales: int | tuple[int, ...] = (2, 3, 4)) -> Bicubic:
    """MATLAB bicubic upscaling; no parameters, no weights."""
    return Bicubic(scales=scales)
