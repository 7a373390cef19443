"""A module handed to the API, taken as it is: its interface (``forward(x, scale)`` or ``forward(x)``), its device,
and the training flags the API restores after using it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from srbench.core.errors import SrbenchError
from srbench.models.external import forward_takes_scale

SCALES = (2, 3, 4)


def module_device(module: nn.Module) -> torch.device | None:
    """The device of the module's first parameter or buffer; None for a module holding no tensors."""
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return None


def describe(module: nn.Module) -> str:
    """The module's name in results: its ``arch`` (set by the registry) or its class name."""
    return str(getattr(module, "arch", None) or type(module).__name__)


@dataclass
class ModuleState:
    """Every submodule's ``training`` flag, the BatchNorm batch counters (per-image statistics count batches, even
    with the running statistics frozen) and the device, to put a module back as it was found."""

    training: dict[int, bool]
    batches: dict[int, torch.Tensor]
    device: torch.device | None

    @classmethod
    def capture(cls, module: nn.Module) -> ModuleState:
        batches = {id(m): m.num_batches_tracked.clone() for m in module.modules()
                   if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.num_batches_tracked is not None}
        return cls({id(m): m.training for m in module.modules()}, batches, module_device(module))

    def restore(self, module: nn.Module) -> None:
        if self.device is not None and module_device(module) != self.device:
            module.to(self.device)
        for m in module.modules():
            if id(m) in self.training:
                m.training = self.training[id(m)]
            if id(m) in self.batches:
                m.num_batches_tracked.copy_(self.batches[id(m)])


class SRCall(nn.Module):
    """A user's module seen through the harness's interface ``(x, scale)``: a ``forward(x)`` module is called
    without the scale, and a module declaring ``scales`` refuses any other. Holds the module, copies nothing."""

    eager_only = True

    def __init__(self, module: nn.Module, takes_scale: bool, scales: tuple[int, ...]) -> None:
        super().__init__()
        self.model, self.takes_scale, self.scales = module, takes_scale, scales
        self.arch = describe(module)

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        if scale not in self.scales:
            raise SrbenchError(f"{self.arch} declares scales {self.scales}; it cannot run x{scale}")
        return self.model(x, scale) if self.takes_scale else self.model(x)


def as_sr_callable(module: nn.Module, scale: int) -> nn.Module:
    """``module`` callable as ``(x, scale)`` (see :class:`SRCall`). A ``forward(x)`` module without a ``scales``
    attribute is taken to make ``scale``."""
    where = f"module {describe(module)}"
    takes_scale = forward_takes_scale(module, where)
    declared = getattr(module, "scales", None)
    if declared is None:
        scales = SCALES if takes_scale else (scale,)
    else:
        scales = (declared,) if isinstance(declared, int) else tuple(declared)
    return SRCall(module, takes_scale, scales)
