"""Weights specs and the evaluation model: one rule for what a spec names, one way to build a model to measure.

A spec is one of: nothing (bicubic, or an untrained network), a catalogue name (``ecdn_m_half``: checksum-verified
file in the store; see :func:`srbench.models.weights.is_catalogue_name` for the rule), a path to a state_dict file,
or ``run:<mlflow run id>[:best|final]`` (weights logged by ``srbench train``; resolved by
:mod:`srbench.track.run_weights`, which needs the tracking store, and handed in here as ``run_resolver``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from srbench.core.errors import SrbenchError
from srbench.core.hashing import cached_sha256
from srbench.eval.inference import Inference, apply_inference
from srbench.eval.model_check import check_external_model, check_zoo_model
from srbench.models import create_model
from srbench.models.zoo import is_zoo, zoo_scales
from srbench.models.weights import CheckpointMismatch, get_weights, is_catalogue_name, verify_file, weights_file


@dataclass(frozen=True)
class ResolvedWeights:
    """A verified weights file (or none) with what is needed to build and to log it. ``kind``: ``none``,
    ``catalogue``, ``run`` or ``path`` (a file the user names, whose build is not recorded anywhere)."""

    name: str
    path: Path | None
    sha256: str
    source: str
    build: dict = field(default_factory=dict)
    kind: str = "path"

    @property
    def scales(self) -> tuple[int, ...]:
        scales = self.build.get("scales", (2, 3, 4))
        return (scales,) if isinstance(scales, int) else tuple(scales)


RunResolver = Callable[[str], tuple[Path, str, dict]]


def _default_build(model: str, scale: int | None) -> dict:
    """The build of a network whose weights are not a catalogue record: multi-scale (2, 3, 4) for srbench's own
    networks; a field model's one network at ``scale`` (default: its largest)."""
    if not is_zoo(model):
        return {"scales": (2, 3, 4)}
    scales = zoo_scales(model)
    return {"scales": scale if scale in scales else scales[-1]}


def resolve_weights(spec: str | None, model: str, *, run_resolver: RunResolver | None = None,
                    scale: int | None = None) -> ResolvedWeights:
    """Turn a weights spec for ``model`` into a ResolvedWeights (raises SrbenchError with what to do).

    ``scale``: the scale the weights will run at. A field model's name as the spec (``imdn``) resolves to its released
    file for that scale (``imdn_x2``); a scale it has none for raises
    :class:`srbench.models.weights.NoWeightsAtScale`.
    """
    if spec is None or spec == "none":
        return ResolvedWeights(name="none", path=None, sha256="none", source="none",
                               build=_default_build(model, scale), kind="none")
    if spec.startswith("run:"):
        if run_resolver is None:
            raise SrbenchError(f"weights {spec}: run: weights need the tracking store; resolve them through "
                               "srbench.track.run_weights")
        path, sha256, build = run_resolver(spec)
        if build.get("model", model) != model:
            raise SrbenchError(f"weights {spec} were trained for model {build['model']!r}, not {model!r}")
        return ResolvedWeights(name=spec, path=Path(path), sha256=sha256, source=spec,
                               build={k: v for k, v in build.items() if k in ("scales", "group")}, kind="run")
    if is_catalogue_name(spec):
        record = get_weights(spec, scale)  # unknown name -> closest match
        if record.arch != model:
            raise SrbenchError(f"weights {spec!r} are for {record.arch!r}, not {model!r}")
        path = weights_file(record)
        verify_file(path, record)
        return ResolvedWeights(name=record.name, path=path, sha256=record.sha256 or cached_sha256(path),
                               source=record.url, build=dict(record.build), kind="catalogue")
    path = Path(spec).expanduser()
    if not path.is_file():
        raise SrbenchError(f"weights file {path} does not exist")
    return ResolvedWeights(name=path.stem, path=path.resolve(), sha256=cached_sha256(path), source=str(path),
                           build=_default_build(model, scale), kind="path")


def prepare_model(model: torch.nn.Module) -> torch.nn.Module:
    """Put a model in channels-last memory format for inference (in place; returns it).

    Measured on the 2-core CPU: 1.4-2.6x faster for these networks than NCHW. The outputs differ from NCHW only by
    float rounding (max 2e-6 before quantization; about 3e-5 of the 8-bit pixels change by one level, which moves a
    PSNR by about 1e-5 dB).
    """
    return model.to(memory_format=torch.channels_last)


def _build(model: str, weights: ResolvedWeights, build: dict, device: str, scales: tuple[int, ...] | None,
           weights_key: str | None) -> torch.nn.Module:
    """create_model with the weights' build; a user's file that does not fit the multi-scale build is tried
    single-scale when exactly one scale is declared (see :func:`load_eval_model`)."""
    try:
        return create_model(model, weights=weights.path, device=device, weights_key=weights_key, **build)
    except CheckpointMismatch as exc:
        single = sorted(set(scales or ()))
        if weights.kind != "path" or len(single) != 1 or build.get("scales") == single[0]:
            raise
        try:
            return create_model(model, weights=weights.path, device=device, weights_key=weights_key,
                                **dict(build, scales=single[0]))
        except CheckpointMismatch as exc2:
            raise CheckpointMismatch(f"{exc2}; nor does it fit the multi-scale build") from exc


def load_eval_model(model: str, weights: ResolvedWeights, *, device: torch.device | str,
                    group: int | None = None, scales: tuple[int, ...] | list[int] | None = None,
                    weights_key: str | None = None, inference: Inference | None = None) -> torch.nn.Module:
    """Build ``model`` with the weights' build arguments (``group`` overriding), load them strictly, prepare it for
    inference on ``device``. The caller sets the BN mode (:func:`srbench.models.set_bn_mode`).

    ``scales``: the scales the caller will run. A weights file named by path is built multi-scale (2, 3, 4) like the
    released checkpoints; when it does not fit that and exactly one scale is declared, it is built single-scale at that
    scale (a single-scale state_dict, e.g. from ``srbench train --set scale=4``). A declared scale the built model
    cannot run is an error here, before any work. ``weights_key`` picks the entry of a wrapped checkpoint file
    (:func:`srbench.models.weights.load_checkpoint`). An external model is checked
    (:func:`srbench.eval.model_check.check_external_model`); ``inference`` wraps the model in the ensemble or tiling
    (:mod:`srbench.eval.inference`). The model's ``weights_label`` names the weights (spec and file), so that errors
    raised while measuring it (a non-finite output, see :func:`srbench.eval.evaluate.super_resolve`) say which file
    is at fault.
    """
    build = dict(weights.build, **({"group": group} if group else {}))
    net = _build(model, weights, build, str(device), tuple(scales) if scales else None, weights_key)
    net.weights_label = weights.name if weights.path is None else f"{weights.name} ({weights.path})"
    missing = [s for s in (scales or ()) if s not in getattr(net, "scales", (2, 3, 4))]
    if missing:
        raise SrbenchError(f"model {model!r} with weights {weights.name} was built for scales {net.scales}; it "
                           f"cannot run x{', x'.join(map(str, missing))}: declare its scales (scales: "
                           f"{list(net.scales)} in the experiment entry, or --scales)")
    check_external_model(net, device)
    check_zoo_model(net, device)
    return apply_inference(prepare_model(net), inference)


def network_digest(model: str, weights: ResolvedWeights, weights_key: str | None = None) -> str:
    """sha256 naming the network a runtime captures: the model (and, for an external one, its code), the weights'
    content and the checkpoint entry used. ONNX exports and ``auto``'s choices are cached under it, so two entries
    of one file (``params`` / ``params_ema``) or two untrained external models never share a graph."""
    import hashlib
    import json

    from srbench.models.registry import model_code

    blob = json.dumps([model, model_code(model), weights.sha256, weights_key], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()
