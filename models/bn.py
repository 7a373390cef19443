"""BatchNorm statistics mode: an explicit protocol knob (``Protocol.bn_mode``) for ECDN and ECDN-M.

Why: the ECDN authors produced their report's images without ``model.eval()``, so every BatchNorm normalised each
image with that image's own statistics. With the running statistics (``eval``) ECDN-M at x3 scores below bicubic on
Set5; with per-image statistics (``batch``) the authors' outputs are reproduced. The harness reports both.

``batch`` is *not* plain ``model.train()``: that would also update the running statistics with momentum 0.1 on every
benchmark image, silently changing the weights under test. Momentum 0 keeps them fixed (``running * 1 + batch * 0``)
while the forward pass still normalises with the batch's (image's) statistics. Models without BatchNorm (CARN,
bicubic) behave identically in both modes.
"""

from __future__ import annotations

from torch import nn

from srbench.core.errors import SrbenchError
from srbench.core.constants import BN_MODES

_SAVED_MOMENTUM = "_srbench_momentum"


def set_bn_mode(model: nn.Module, mode: str) -> nn.Module:
    """Put ``model`` in eval mode with BatchNorm using running (``eval``) or per-batch (``batch``) statistics.

    In ``batch`` mode feed one image per batch to get the authors' per-image statistics. Switching back to ``eval``
    restores each BatchNorm's original momentum, so later training is unaffected. Returns the model.
    """
    if mode not in BN_MODES:
        raise SrbenchError(f"bn_mode={mode!r} is not one of {', '.join(BN_MODES)}")
    model.eval()
    for m in model.modules():
        if not isinstance(m, nn.modules.batchnorm._BatchNorm):
            continue
        if mode == "batch":
            if not hasattr(m, _SAVED_MOMENTUM):
                setattr(m, _SAVED_MOMENTUM, m.momentum)
            m.momentum = 0.0
            m.train()
        elif hasattr(m, _SAVED_MOMENTUM):
            m.momentum = getattr(m, _SAVED_MOMENTUM)
            delattr(m, _SAVED_MOMENTUM)
    return model


def has_batchnorm(model: nn.Module) -> bool:
    """True when ``model`` has a BatchNorm layer, i.e. when its BN mode can change its output (CARN and bicubic have
    none: both modes are the same computation, so a benchmark may run and share one pass for both)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
