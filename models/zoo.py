"""The field's released models in the registry: one single-scale builder per family, and the adapter to the harness.

A zoo network keeps its authors' interface (``forward(x)`` at its one scale, in the range it was trained on) and its
authors' state_dict keys. The harness calls ``model(x, scale)`` with RGB in [0, 1]. :func:`build` bridges the two
without a wrapper module: it instantiates a subclass of the network class made by :func:`adapted`, whose ``forward``
checks the scale, multiplies the input by the declared ``input_range`` (255 for a [0, 255] network), calls the
network's own ``forward`` and divides the output back. The subclass adds no module, parameter or buffer, so the
state_dict keys, parameter counts and Mult-Adds are the network's own, and the released file loads strictly as it
is. A wrong declared range is caught before anything is measured (:func:`srbench.eval.model_check.check_zoo_model`).

Registered builders take ``scales`` (one scale, or a one-element tuple; default: the largest released) and
``input_range`` (default: the released weights'). A zoo model is inference-only: training refuses it
(:func:`is_zoo`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import torch
from torch import nn

from srbench.core.errors import SrbenchError
from srbench.models.field import FAMILIES, Family, release
from srbench.models.registry import register_model

RANGES = (1.0, 255.0)


class HarnessForward:
    """Mixin for a zoo network: ``forward(x, scale)`` on RGB in [0, 1], whatever range the network works in."""

    scales: tuple[int, ...]
    input_range: float

    def forward(self, x: torch.Tensor, scale: int | None = None) -> torch.Tensor:
        if scale is not None and scale not in self.scales:
            raise SrbenchError(f"{getattr(self, 'arch', type(self).__name__)} is a single-scale x{self.scales[0]} "
                               f"network; cannot run at x{scale}")
        if self.input_range == 1.0:
            return super().forward(x)
        return super().forward(x * self.input_range) / self.input_range


@cache
def adapted(network: type[nn.Module]) -> type[nn.Module]:
    """``network`` with :class:`HarnessForward` in front (same name, same keys); one class per network class."""
    return type(network.__name__, (HarnessForward, network),
                {"__module__": network.__module__, "__qualname__": network.__qualname__,
                 "__doc__": network.__doc__})


def single_scale(family: Family, scales: int | tuple[int, ...]) -> int:
    """The one scale of a build request; a zoo family builds one network per scale."""
    values = (scales,) if isinstance(scales, int) else tuple(scales)
    if len(values) != 1:
        raise SrbenchError(f"model {family.name!r} is single-scale (one released file per scale: x"
                           f"{', x'.join(map(str, family.scales))}); build one scale at a time, e.g. "
                           f"scales={values[-1]}")
    if values[0] not in family.scales:
        raise SrbenchError(f"model {family.name!r} has released weights only at x{', x'.join(map(str, family.scales))}"
                           f"; no x{values[0]} network")
    return values[0]


def build(family: Family, scales: int | tuple[int, ...], input_range: float) -> nn.Module:
    """The family's network for one scale, with its released constructor settings, adapted to the harness."""
    scale = single_scale(family, scales)
    if input_range not in RANGES:
        raise SrbenchError(f"input_range={input_range!r}: use 1.0 ([0, 1]) or 255.0 ([0, 255])")
    net = adapted(family.network)(**release(family.name, scale).constructor)
    net.scales = (scale,)
    net.input_range = float(input_range)
    return net


def _builder(family: Family) -> Callable[..., nn.Module]:
    def builder(*, scales: int | tuple[int, ...] = family.scales[-1],
                input_range: float = family.input_range) -> nn.Module:
        return build(family, scales, input_range)

    builder.__doc__ = f"{family.paper}: single-scale x{', x'.join(map(str, family.scales))}, input range " \
                      f"[0, {family.input_range:g}]."
    builder.__name__ = family.name
    return builder


for _family in FAMILIES.values():
    register_model(_family.name)(_builder(_family))


def is_zoo(name: str) -> bool:
    """True for a released field model (inference-only, single-scale, weights per scale)."""
    return name in FAMILIES


def zoo_scales(name: str) -> tuple[int, ...]:
    """The scales a field model has released weights for."""
    return FAMILIES[name].scales
