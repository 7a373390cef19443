"""Model registry: architecture names -> keyword-only builders, and ``create_model`` (timm-style).

Each architecture file registers thin builders (``@register_model("carn_m")``) whose keyword defaults are the
variant's data (scales, group). ``create_model`` is the one entry point the harness uses: it builds, optionally loads
weights (a catalogue name or a .pth path, strictly), moves to the device and sets ``model.arch``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from os import PathLike

from torch import nn

from srbench.core.errors import SrbenchError
from srbench.core.names import unknown_name_error
from srbench.models.weights import load_weights

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a keyword-only builder under ``name``; a name can be registered only once."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise SrbenchError(f"model {name!r} is already registered (by {_REGISTRY[name].__module__})")
        _REGISTRY[name] = builder
        return builder

    return decorate


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


def _builder(name: str) -> Callable[..., nn.Module]:
    if name not in _REGISTRY:
        raise unknown_name_error("model", name, _REGISTRY)
    return _REGISTRY[name]


def model_info(name: str) -> dict:
    """The variant's default build arguments, e.g. ``{"scales": (2, 3, 4), "group": 4}``."""
    params = inspect.signature(_builder(name)).parameters.values()
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def create_model(name: str, *, scales: int | tuple[int, ...] = (2, 3, 4), group: int | None = None,
                 weights: str | PathLike | None = None, device: str = "cpu") -> nn.Module:
    """Build a registered model, optionally load weights strictly, and return it on ``device`` in eval mode.

    ``scales``: a tuple builds a multi-scale model (one head per scale, like the released checkpoints), an int a
    single-scale one. ``group``: None keeps the variant's default. ``weights``: None (default initialisation), a
    catalogue name (``models.weights.CATALOGUE``, checksum-verified) or a path to a state_dict file.
    Eval mode because this is a benchmark harness: call ``.train()`` to train, ``set_bn_mode`` for the BN knob.
    """
    builder = _builder(name)
    kwargs: dict = {"scales": scales}
    if group is not None:
        if "group" not in model_info(name):
            raise SrbenchError(f"model {name!r} has no 'group' build argument")
        kwargs["group"] = group
    model = builder(**kwargs)
    model.arch = name
    if weights is not None:
        load_weights(model, weights)
    return model.to(device).eval()
