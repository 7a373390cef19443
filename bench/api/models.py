"""``srbench.load`` and ``srbench.complexity``: a model with its weights, and its cost as the papers count it."""

from __future__ import annotations

import os

import torch
from torch import nn

from srbench.api.modules import as_sr_callable, describe
from srbench.api.results import ComplexityProfile
from srbench.core.errors import SrbenchError


def load(name: str, weights: str | os.PathLike | None = None, *, device: str | torch.device = "cpu",
         weights_key: str | None = None, scales: tuple[int, ...] | list[int] | None = None) -> nn.Module:
    """A model with its weights, ready to evaluate: built by :func:`srbench.models.create_model`, the weights
    checksum-verified and loaded strictly, in eval mode on ``device``.

    ``name``: a built-in model (``srbench models`` lists them), ``path/file.py:builder``, ``package.module:builder``
    or an installed ``srbench.models`` entry point. ``weights``: a catalogue name (``ecdn_m_half``), a ``.pth`` path,
    ``run:<mlflow run id>[:best]`` or ``"none"``; default the catalogue entry named like the model, when there is
    one. ``weights_key`` picks the entry of a wrapped checkpoint (``params_ema``); ``scales`` the scales you will
    run (a single-scale file loads when exactly one is given). The module's ``srbench_weights`` records the weights
    (name, path, sha256, source), which :func:`srbench.evaluate` reports.

    Example::

        >>> net = srbench.load("ecdn_m", "ecdn_m_half")
        >>> sr = net(lr, 4)          # 1x3xhxw in [0, 1] -> 1x3x4hx4w
    """
    from srbench.api.evaluation import default_weights
    from srbench.eval.device import resolve_device
    from srbench.eval.weights import load_eval_model
    from srbench.track.run_weights import resolve_weights

    if not isinstance(name, str):
        raise SrbenchError(f"load() takes a model name, not {type(name).__name__}")
    spec = default_weights(name) if weights is None else str(weights)
    one = scales[0] if scales and len(scales) == 1 else None  # a field model's file for that scale
    resolved = resolve_weights(spec, name, scale=one)
    model = load_eval_model(name, resolved, device=resolve_device(str(device)), scales=scales, weights_key=weights_key)
    model.srbench_weights = resolved
    return model


def complexity(model: nn.Module | str, scale: int = 4, *, out_height: int = 720,
               out_width: int = 1280) -> ComplexityProfile:
    """Parameters (total, effective over all heads, used at ``scale``) and Mult-Adds (G) of one forward pass making
    an ``out_height`` x ``out_width`` output, counted on a shape-only copy (the model is not touched). The figures
    the benchmark logs (``params``, ``params_effective``, ``mult_adds_g``) come from the same function.

    ``model``: a module (``forward(x, scale)`` or ``forward(x)``) or a model name (built without weights: the
    counts depend on the architecture only).

    Example::

        >>> c = srbench.complexity("carn_m", 4)
        >>> c.params, c.mult_adds_g
    """
    from srbench.eval.cell import complexity as cell_complexity
    from srbench.models import create_model
    from srbench.models.complexity import count_effective_params
    from srbench.models.zoo import is_zoo
    from srbench.track import schema

    if isinstance(model, str):  # a field model is single-scale: its network for this scale
        label, net = model, create_model(model, scales=scale) if is_zoo(model) else create_model(model)
    elif isinstance(model, nn.Module):
        label, net = describe(model), as_sr_callable(model, scale)
    else:
        raise SrbenchError(f"complexity() takes a module or a model name, not {type(model).__name__}")
    if scale not in getattr(net, "scales", (scale,)):
        raise SrbenchError(f"{label} runs scales {tuple(net.scales)}, not x{scale}")
    counts = cell_complexity(net, scale, (out_height, out_width))
    return ComplexityProfile(model=label, scale=scale, params=counts[schema.PARAMS],
                             params_effective=counts[schema.PARAMS_EFFECTIVE],
                             params_at_scale=count_effective_params(net, scale),
                             mult_adds_g=counts[schema.MULT_ADDS], out_height=out_height, out_width=out_width)
