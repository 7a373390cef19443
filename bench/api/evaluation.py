"""``srbench.evaluate`` and ``srbench.score``: the benchmark's measurement as functions.

There is one evaluation path: a registry name runs exactly what ``srbench evaluate`` runs (:func:`evaluate_named`,
which the command calls too: weights resolved and verified, the model built and prepared, the inference runtime
chosen by :class:`srbench.runtime_choice.CellRuntimes`, then :func:`srbench.eval.evaluate.evaluate`); a module
passed in goes through the same :func:`srbench.eval.evaluate.evaluate` as it is, in the protocol's BatchNorm mode,
and is left in the training/eval mode and on the device it came in.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from srbench.api.modules import ModuleState, as_sr_callable, describe, module_device
from srbench.api.results import EvaluationResult
from srbench.core.errors import SrbenchError
from srbench.core.names import suggest
from srbench.data.datasets import dataset_fingerprint, dataset_id, resolve_dataset
from srbench.eval.device import resolve_device
from srbench.eval.evaluate import DatasetResult
from srbench.eval.evaluate import evaluate as evaluate_dataset
from srbench.eval.inference import DEFAULT_TILE_OVERLAP, Inference, apply_inference
from srbench.eval.protocol import Protocol, get_protocol
from srbench.eval.weights import ResolvedWeights
from srbench.models import set_bn_mode

#: Knobs of :func:`evaluate` besides the protocol's own (``bn_mode``, ``color``, ``border``, ...).
HARNESS_KNOBS = ("weights", "weights_key", "device", "runtime", "ensemble", "tile", "tile_overlap", "lpips",
                 "progress", "on_image")
#: Knobs that only a model named by the registry (or a builder spec) can take.
NAME_ONLY_KNOBS = ("weights", "weights_key")


def split_knobs(knobs: dict) -> tuple[dict, dict]:
    """(harness knobs, protocol overrides); an unknown knob is a one-line error listing the known ones."""
    protocol_knobs = [f.name for f in dataclasses.fields(Protocol) if f.name != "name"]
    known = [*HARNESS_KNOBS, *protocol_knobs]
    for key in knobs:
        if key not in known:
            raise SrbenchError(f"unknown evaluate() knob {key!r}{suggest(key, known)}; known: {', '.join(known)}")
    return ({k: v for k, v in knobs.items() if k in HARNESS_KNOBS},
            {k: v for k, v in knobs.items() if k not in HARNESS_KNOBS})


def resolve_protocol(protocol: str | Protocol, overrides: dict) -> Protocol:
    """A preset name or a :class:`Protocol`, with knobs overridden."""
    if isinstance(protocol, Protocol):
        return protocol.with_(**overrides) if overrides else protocol
    if not isinstance(protocol, str):
        raise SrbenchError(f"protocol must be a preset name or a srbench Protocol, not {type(protocol).__name__}")
    return get_protocol(protocol, **overrides)


def make_inference(ensemble: str | None = None, tile: int | None = None,
                   tile_overlap: int | None = None) -> Inference:
    """The self-ensemble and tiling knobs as one record (``tile_overlap`` needs ``tile``)."""
    if tile_overlap is not None and tile is None:
        raise SrbenchError("tile_overlap needs tile")
    return Inference(ensemble=ensemble, tile=tile,
                     tile_overlap=DEFAULT_TILE_OVERLAP if tile_overlap is None else tile_overlap)


@dataclass
class NamedEvaluation:
    """One (dataset, scale) of a named model as :func:`evaluate_named` yields it."""

    result: DatasetResult
    weights: ResolvedWeights
    runtime: str
    runtime_versions: dict


def evaluate_named(model: str, weights_spec: str | None, *, datasets: list, scales: list[int], protocol: Protocol,
                   device: torch.device, runtime: str = "auto", inference: Inference | None = None,
                   weights_key: str | None = None, lpips: bool = False, progress: bool = True,
                   on_image: Callable[[str, np.ndarray], None] | None = None,
                   say: Callable[[str], None] | None = None) -> Iterator[NamedEvaluation]:
    """Build ``model`` with its weights once, then evaluate it on every dataset at every scale (scales outer), on
    the runtime ``runtime`` names (``auto``: the fastest that passes the fidelity gate). ``srbench evaluate`` and
    :func:`evaluate` both run this."""
    from srbench.eval.runtimes import RuntimeDeclined, check_runtime_name
    from srbench.eval.weights import load_eval_model, network_digest
    from srbench.runtime_choice import CellRuntimes, declined_error
    from srbench.track.run_weights import weights_per_scale

    inference = inference or Inference()
    inference.check_bn_mode(protocol.bn_mode, "tile")
    check_runtime_name(runtime, "runtime")
    for dataset in datasets:
        resolve_dataset(dataset)
    per_scale, missing = weights_per_scale(weights_spec, model, list(scales))
    if missing:  # asked for explicitly: an error (an experiment skips such a cell instead)
        raise SrbenchError(f"--model {model} --scale {' '.join(map(str, scales))}: {'; '.join(missing.values())}")
    runtimes = CellRuntimes(device, say=say or (lambda line: print(line, file=sys.stderr)))
    built: dict[str, nn.Module] = {}
    for scale in scales:
        weights = per_scale[scale]
        if weights.sha256 not in built:  # one network per weights file (a field model: one file per scale)
            built[weights.sha256] = load_eval_model(
                model, weights, device=device, weights_key=weights_key, inference=inference,
                scales=[s for s in scales if per_scale[s].sha256 == weights.sha256])
        net = built[weights.sha256]
        network = (model, weights.sha256, weights_key, inference)
        runtime_args = dict(scale=scale, bn_mode=protocol.bn_mode,
                            weights_sha256=network_digest(model, weights, weights_key), dataset=datasets[0],
                            protocol=protocol)
        use = runtimes.use(network, runtime, lambda net=net: net, label=model, **runtime_args)
        try:
            runner = runtimes.runner(network, use, net, **runtime_args)
        except RuntimeDeclined as exc:
            raise declined_error(exc, net, scale, protocol.bn_mode) from exc
        for dataset in datasets:
            result = evaluate_dataset(runner, dataset, scale, protocol, device=device, progress=progress,
                                      lpips=lpips, on_image=on_image)
            yield NamedEvaluation(result, weights, use.runtime, use.versions)


def _evaluate_module(module: nn.Module, dataset, scale: int, protocol: Protocol, *,
                     device: str | torch.device | None,
                     inference: Inference, lpips: bool, progress: bool, on_image) -> tuple[DatasetResult, str]:
    """A module passed in, evaluated in place: BN mode set for the evaluation, every module's training flag and the
    device restored afterwards (also when it fails)."""
    state = ModuleState.capture(module)
    target = resolve_device(str(device)) if device is not None else (module_device(module) or torch.device("cpu"))
    inference.check_bn_mode(protocol.bn_mode, "tile")
    try:
        if state.device is not None and target != state.device:
            module.to(target)
        set_bn_mode(module, protocol.bn_mode)
        forward = apply_inference(as_sr_callable(module, scale), inference)
        result = evaluate_dataset(forward, dataset, scale, protocol, device=target, progress=progress, lpips=lpips,
                                  on_image=on_image)
        return result, str(target)
    finally:
        set_bn_mode(module, "eval")  # gives every BatchNorm its momentum back
        state.restore(module)


def evaluate(model: nn.Module | str, dataset: str | os.PathLike = "Set5", scale: int = 4,
             protocol: str | Protocol = "standard", **knobs) -> EvaluationResult:
    """PSNR/SSIM (and LPIPS if asked) of ``model`` on ``dataset`` at ``scale`` under ``protocol``: the numbers the
    benchmark's table shows for that cell.

    ``model``: any ``nn.Module`` called as ``model(x, scale)`` or ``model(x)`` on a 1x3xhxw RGB tensor in [0, 1]
    (returning 1x3x(s·h)x(s·w) in [0, 1]), or a name the registry knows (``"ecdn"``, ``"path/file.py:build"``).
    ``dataset``: a store dataset (``Set5``) or a folder in the benchmark layout. ``protocol``: a preset name
    (``standard``, ``paper_gray``, ``ecdn_report``) or a :class:`srbench.Protocol`.

    Knobs (anything else is an error): protocol knobs override the preset (``bn_mode="batch"``, ``border=0``, ...);
    ``device`` (a module: default where it is; a name: ``auto``); ``lpips`` (bool); ``progress`` (bool, default
    False); ``on_image`` (called as ``on_image(name, sr_uint8)`` with every 8-bit output); ``ensemble="x8"``,
    ``tile``, ``tile_overlap``. A name only: ``weights`` (catalogue name, ``.pth`` path, ``run:<id>`` or ``"none"``;
    default the catalogue entry named like the model), ``weights_key``, ``runtime`` (default ``eager``, the reference;
    ``auto``, ``onnxruntime``, ``openvino``, ``compile`` as in ``srbench evaluate``). A module must run ``eager``.

    A module comes back in the training/eval mode (every submodule's flag) and on the device it came in.

    Example::

        >>> import srbench
        >>> r = srbench.evaluate("carn_m", "Set5", 4)                   # released weights
        >>> r.psnr, r.ssim, [(image.name, image.psnr) for image in r.images]
        >>> r = srbench.evaluate(my_net, "Set5", 2, device="cpu")        # any nn.Module, e.g. during training
    """
    harness, overrides = split_knobs(knobs)
    proto = resolve_protocol(protocol, overrides)
    inference = make_inference(harness.get("ensemble"), harness.get("tile"), harness.get("tile_overlap"))
    runtime = harness.get("runtime", "eager")
    common = dict(lpips=bool(harness.get("lpips", False)), progress=bool(harness.get("progress", False)),
                  on_image=harness.get("on_image"))
    if isinstance(model, str):
        device = resolve_device(str(harness.get("device") or "auto"))
        spec = harness["weights"] if "weights" in harness else default_weights(model)
        spec = None if spec is None else str(spec)
        done = next(evaluate_named(model, spec, datasets=[dataset], scales=[scale], protocol=proto, device=device,
                                   runtime=runtime, inference=inference, weights_key=harness.get("weights_key"),
                                   **common))
        identity = dict(model=model + inference.suffix, weights=done.weights.name,
                        weights_sha256=done.weights.sha256, runtime=done.runtime, device=str(device))
        result = done.result
    elif isinstance(model, nn.Module):
        given = [k for k in NAME_ONLY_KNOBS if k in harness]
        if given or runtime != "eager":
            what = ", ".join(given) or f"runtime={runtime!r}"
            raise SrbenchError(f"{what}: only for a model named by the registry; a module is evaluated as it is, "
                               "eager (load weights into it first, or pass its name)")
        result, where = _evaluate_module(model, dataset, scale, proto, device=harness.get("device"),
                                         inference=inference, **common)
        loaded = getattr(model, "srbench_weights", None)
        identity = dict(model=describe(model) + inference.suffix, runtime="eager", device=where,
                        weights=getattr(loaded, "name", None), weights_sha256=getattr(loaded, "sha256", None))
    else:
        raise SrbenchError(f"model must be a torch.nn.Module or a model name, not {type(model).__name__}")
    return EvaluationResult.from_dataset_result(
        result, protocol=proto, dataset_id=dataset_id(dataset),
        fingerprint=dataset_fingerprint(dataset, scale, proto.lr_input), **identity)


def default_weights(model: str) -> str | None:
    """The catalogue entry named like the model, if any (bicubic and untrained models have none); a field model's
    name, which resolves to its released file per scale."""
    from srbench.models.weights import CATALOGUE
    from srbench.models.zoo import is_zoo

    return model if model in CATALOGUE or is_zoo(model) else None


def score(sr_dir: str | os.PathLike, dataset: str | os.PathLike, scale: int, protocol: str | Protocol = "standard",
          *, label: str | None = None) -> EvaluationResult:
    """Score a folder of 8-bit SR images made elsewhere against ``dataset``'s HR images at ``scale`` under
    ``protocol``, matched by name (``baby.png``, ``babyx4.png``, ``baby_SR.png``, ...; see ``srbench score``).

    Nothing is logged (``srbench score`` logs it beside the benchmark). ``weights_sha256`` of the result is the
    folder's content fingerprint; ``label`` names it (default: the folder's name).

    Example::

        >>> r = srbench.score("results/EDSR/Set5/x4", "Set5", 4)
        >>> r.psnr, [(i.name, i.psnr) for i in r.images]
    """
    from pathlib import Path

    from srbench.eval.sr_folder import score_folder

    proto = resolve_protocol(protocol, {})
    scored = score_folder(sr_dir, dataset, scale, proto)
    return EvaluationResult.from_dataset_result(
        scored.result, protocol=proto, dataset_id=dataset_id(dataset),
        fingerprint=dataset_fingerprint(dataset, scale, proto.lr_input),
        model=label or Path(sr_dir).resolve().name, weights="sr-dir", weights_sha256=scored.fingerprint,
        runtime="none", device="cpu")
