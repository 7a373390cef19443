"""Model registry: architecture names -> keyword-only builders, and ``create_model`` (timm-style).

Each architecture file registers thin builders (``@register_model("carn_m")``) whose keyword defaults are the
variant's data (scales, group). ``create_model`` is the one entry point the harness uses: it builds, optionally loads
weights (a catalogue name or a .pth path, strictly), moves to the device and sets ``model.arch``.
A name srbench does not register may name an external model (``path/file.py:builder``, ``package.module:builder``
or an entry point of the group ``srbench.models``): see :mod:`srbench.models.external`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from os import PathLike

from torch import nn

from srbench.core.errors import SrbenchError
from srbench.core.names import unknown_name_error
from srbench.models import external
from srbench.models.weights import CATALOGUE, load_weights

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
    if name in _REGISTRY:
        return _REGISTRY[name]
    ext = external.find(name)
    if ext is None:
        raise unknown_name_error("model", name, [*_REGISTRY, *external.entry_point_names()])
    return ext.builder


def model_code(name: str) -> str | None:
    """The code hash of an external model (see :mod:`srbench.models.external`); None for srbench's own models,
    whose code the harness's own code version covers."""
    if name in _REGISTRY:
        return None
    ext = external.find(name)
    if ext is None:
        raise unknown_name_error("model", name, [*_REGISTRY, *external.entry_point_names()])
    return ext.code_hash


def input_range(name: str, build: dict | None = None) -> float:
    """The input range a model runs its network in: the build's ``input_range``, else the variant's default, else
    1.0 (srbench's own networks and external models take [0, 1])."""
    build = build or {}
    if "input_range" in build:
        return float(build["input_range"])
    return float(model_info(name).get("input_range", 1.0)) if name in _REGISTRY else 1.0


def model_info(name: str) -> dict:
    """The variant's default build arguments, e.g. ``{"scales": (2, 3, 4), "group": 4}``."""
    params = inspect.signature(_builder(name)).parameters.values()
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def create_model(name: str, *, scales: int | tuple[int, ...] | None = None, group: int | None = None,
                 weights: str | PathLike | None = None, device: str = "cpu",
                 weights_key: str | None = None, input_range: float | None = None) -> nn.Module:
    """Build a registered model, optionally load weights strictly, and return it on ``device`` in eval mode.

    ``scales``: a tuple builds a multi-scale model (one head per scale, like the released checkpoints), an int a
    single-scale one; None keeps the variant's default ((2, 3, 4) for srbench's networks, the largest released scale
    for a field model, which is single-scale: :mod:`srbench.models.zoo`). ``group``, ``input_range`` (a field
    model's: 1.0 or 255.0): None keeps the variant's default. ``weights``: None (default initialisation), a
    catalogue name (``models.weights.CATALOGUE``, checksum-verified) or a path to a state_dict file (or a checkpoint
    that wraps one, ``weights_key`` picking the entry: see :func:`srbench.models.weights.load_checkpoint`).
    Eval mode because this is a benchmark harness: call ``.train()`` to train, ``set_bn_mode`` for the BN knob.
    """
    if scales is None and isinstance(weights, str) and weights in CATALOGUE and CATALOGUE[weights].scale:
        scales = CATALOGUE[weights].scale  # a field model's per-scale file (imdn_x2) builds its own scale
    if name not in _REGISTRY and external.find(name) is not None:
        model = external.build(external.find(name), scales=(2, 3, 4) if scales is None else scales, group=group)
    else:
        builder = _builder(name)
        kwargs: dict = {} if scales is None else {"scales": scales}
        for key, value in (("group", group), ("input_range", input_range)):
            if value is not None:
                if key not in model_info(name):
                    raise SrbenchError(f"model {name!r} has no {key!r} build argument")
                kwargs[key] = value
        model = builder(**kwargs)
    model.arch = name
    if weights is not None:
        load_weights(model, weights, key=weights_key)
    return model.to(device).eval()
