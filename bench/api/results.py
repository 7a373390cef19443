"""The typed records the public API returns: an evaluation (:class:`EvaluationResult`, per image
:class:`ImageScore`) and a complexity profile (:class:`ComplexityProfile`).

They are frozen dataclasses, part of the stable API: fields may be added (with a default), never renamed or removed
without a deprecation. ``as_dict()`` gives plain JSON-ready data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from srbench.eval.evaluate import DatasetResult
from srbench.eval.protocol import Protocol


@dataclass(frozen=True)
class ImageScore:
    """One image's scores under the protocol: PSNR (dB) and SSIM on the protocol's colour (``Y`` or ``RGB``), LPIPS
    when it was measured (else None); ``gray``: the HR image is single-channel."""

    name: str
    psnr: float
    ssim: float
    lpips: float | None = None
    gray: bool = False


@dataclass(frozen=True)
class EvaluationResult:
    """A model on one dataset at one scale under one protocol: the mean and per-image scores, and what identifies
    them.

    ``dataset`` is the name or folder as given, ``dataset_id`` the id the benchmark's metric names use (``Set5``, or
    ``<folder>-<8 hex>`` for a folder outside the store), ``fingerprint`` the sha256 of the dataset's content at this
    scale and LR source (:func:`srbench.data.datasets.dataset_fingerprint`). ``model`` names the model (its registry
    name, or the module's class name), ``weights`` / ``weights_sha256`` the weights it was given by name (None for a
    module passed in), ``runtime`` what ran the forward passes, ``device`` where. ``forward_s``: seconds in the
    model's forward passes.
    """

    model: str
    dataset: str
    dataset_id: str
    scale: int
    protocol: Protocol
    fingerprint: str
    psnr: float
    ssim: float
    images: tuple[ImageScore, ...]
    lpips: float | None = None
    weights: str | None = None
    weights_sha256: str | None = None
    runtime: str = "eager"
    device: str = "cpu"
    forward_s: float = 0.0

    @property
    def color(self) -> str:
        """The colour PSNR and SSIM were measured on (the protocol's): ``y`` or ``rgb``."""
        return self.protocol.color

    def as_dict(self) -> dict:
        """Plain data (the protocol as its knobs, images as dicts), e.g. for ``json.dumps``."""
        out = dataclasses.asdict(self)
        out["protocol"] = self.protocol.as_dict()
        return out

    @classmethod
    def from_dataset_result(cls, result: DatasetResult, *, protocol: Protocol, dataset_id: str, fingerprint: str,
                            **identity) -> EvaluationResult:
        """The record of an internal :class:`srbench.eval.evaluate.DatasetResult` (the one evaluation path)."""
        images = tuple(ImageScore(r.name, r.psnr, r.ssim, r.lpips, r.gray) for r in result.images)
        return cls(dataset=result.dataset, dataset_id=dataset_id, scale=result.scale, protocol=protocol,
                   fingerprint=fingerprint, psnr=result.psnr, ssim=result.ssim, lpips=result.lpips, images=images,
                   forward_s=result.forward_s, **identity)


@dataclass(frozen=True)
class ComplexityProfile:
    """The cost of a network at one scale, counted the way the papers count it (:mod:`srbench.models.complexity`).

    ``params``: every parameter; ``params_effective``: those some forward pass at any of the model's scales uses
    (all heads; the ECDN report's count); ``params_at_scale``: those a forward pass at ``scale`` uses;
    ``mult_adds_g``: G multiply-accumulates of one forward pass producing ``out_height`` x ``out_width`` (720x1280 by
    default, as CARN reports). Fields may be added (activations, convolution counts, FLOPs) with defaults.
    """

    model: str
    scale: int
    params: int
    params_effective: int
    params_at_scale: int
    mult_adds_g: float
    out_height: int = 720
    out_width: int = 1280

    def as_dict(self) -> dict:
        """Plain data, e.g. for ``json.dumps``."""
        return dataclasses.asdict(self)
