"""Training losses as pure functions of (sr, hr) on [0, 1] pixels, averaged over every element.

* ``L1``:          mean |d|
* ``MSE``:         mean d²
* ``SmoothL1``:    mean of 0.5·d²/β where |d| < β, else |d| − 0.5·β (PyTorch's ``smooth_l1_loss``; the ECDN-M
                   recipe uses β = 1, i.e. 0.5·d² for every pixel on [0, 1] images)
* ``Charbonnier``: mean sqrt(d² + ε²)

where d = sr − hr. Computed in float32 whatever the autocast dtype of ``sr``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from srbench.core.errors import SrbenchError
from srbench.core.names import suggest

LOSSES = ("L1", "SmoothL1", "MSE", "Charbonnier")


def l1(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    return (sr.float() - hr.float()).abs().mean()


def mse(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    return (sr.float() - hr.float()).pow(2).mean()


def smooth_l1(sr: torch.Tensor, hr: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    return F.smooth_l1_loss(sr.float(), hr.float(), beta=beta)


def charbonnier(sr: torch.Tensor, hr: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    d = sr.float() - hr.float()
    return torch.sqrt(d * d + eps * eps).mean()


def get_loss(name: str, *, smoothl1_beta: float = 1.0, charbonnier_eps: float = 1e-3
             ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss function called ``name`` with its parameter bound."""
    if name == "L1":
        return l1
    if name == "MSE":
        return mse
    if name == "SmoothL1":
        if not smoothl1_beta > 0:
            raise SrbenchError(f"smoothl1_beta={smoothl1_beta}: must be > 0")
        return lambda sr, hr: smooth_l1(sr, hr, smoothl1_beta)
    if name == "Charbonnier":
        if not charbonnier_eps > 0:
            raise SrbenchError(f"charbonnier_eps={charbonnier_eps}: must be > 0")
        return lambda sr, hr: charbonnier(sr, hr, charbonnier_eps)
    raise SrbenchError(f"unknown loss {name!r}{suggest(name, LOSSES)}; known: {', '.join(LOSSES)}")
