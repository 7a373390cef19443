"""Inference knobs that change how a model is run, not what it is: the geometric self-ensemble and tiling.

``ensemble: x8`` is the self-ensemble of EDSR+ and RCAN+ (Lim et al. 2017, "Enhanced Deep Residual Networks"): the
network runs on the eight images obtained by the four rotations by 90 degrees of the input and of its mirror image;
each output is transformed back and the eight are averaged, in floating point, before quantisation. Rows are labelled
``model+``. For a network that is itself equivariant to flips and rotations (every pixel computed alike, e.g. a 1x1
convolution with nearest-neighbour upsampling) the ensemble equals the network. Its Mult-Adds and latency are eight
times a single pass, and so are the counted figures.

``tile: SIZE`` with ``tile_overlap: N`` (LR pixels) runs the network on SIZE x SIZE tiles of the LR image, each read
with N more pixels on every side (clipped at the image border), and keeps each tile's own SIZE x SIZE core of the
output. Tolerance: a network whose receptive field reaches r LR pixels from an output pixel computes every core
pixel from inputs that the padded tile contains exactly as the whole image does when N >= r (zero padding happens only
at the true image border, as untiled), so the tiled output equals the untiled one up to floating-point rounding
(convolutions of different sizes may sum in another order): measured for CARN-M on Set5 at x4 with r <= 24, at most
1e-5 before quantisation and at most one 8-bit level on a few pixels after it. With N < r the tile borders show. A
tile at least as large as the image is one call on the whole image: bit-identical output. Tiling is refused in
BatchNorm ``batch`` mode, where each tile would be normalised with its own statistics instead of the image's.
Mult-Adds of a tiled model are counted like the untiled model's (on a small input, without the overlap's extra work);
latency and memory are measured through the tiling, which is its point: peak memory of one tile.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from srbench.core.errors import SrbenchError

ENSEMBLES = ("x8",)
#: Default tile overlap in LR pixels: covers the built-in networks' receptive field (CARN-M's reaches about 21 LR
#: pixels; see the module docstring for the rule).
DEFAULT_TILE_OVERLAP = 32


@dataclass(frozen=True)
class Inference:
    """How a model is run: ``ensemble`` (None or ``"x8"``), ``tile`` (None or the tile side in LR pixels) and
    ``tile_overlap`` (LR pixels read around each tile)."""

    ensemble: str | None = None
    tile: int | None = None
    tile_overlap: int = DEFAULT_TILE_OVERLAP

    def __post_init__(self) -> None:
        if self.ensemble is not None and self.ensemble not in ENSEMBLES:
            raise SrbenchError(f"ensemble {self.ensemble!r} is not one of {', '.join(ENSEMBLES)} (or leave it out)")
        if self.tile is not None and (not isinstance(self.tile, int) or isinstance(self.tile, bool) or self.tile < 1):
            raise SrbenchError(f"tile={self.tile!r} must be a positive number of LR pixels")
        if not isinstance(self.tile_overlap, int) or isinstance(self.tile_overlap, bool) or self.tile_overlap < 0:
            raise SrbenchError(f"tile_overlap={self.tile_overlap!r} must be an integer >= 0")

    @property
    def plain(self) -> bool:
        """True when the model runs as it is (no ensemble, no tiling)."""
        return self.ensemble is None and self.tile is None

    def as_dict(self) -> dict:
        """The knobs in force, for the cell key and the logs; empty for a plain model (so its key is unchanged)."""
        out: dict = {}
        if self.ensemble:
            out["ensemble"] = self.ensemble
        if self.tile:
            out.update(tile=self.tile, tile_overlap=self.tile_overlap)
        return out

    @property
    def tile_label(self) -> str:
        """`` [tile S/N]`` when tiled, else empty."""
        return f" [tile {self.tile}/{self.tile_overlap}]" if self.tile else ""

    @property
    def suffix(self) -> str:
        """What a model's name gets in a row: ``+`` for the ensemble, `` [tile S/N]`` for tiling, nothing for a plain
        model (the report tells rows apart by it, tag ``srbench.inference``)."""
        return ("+" if self.ensemble else "") + self.tile_label

    def check_bn_mode(self, bn_mode: str, where: str = "") -> None:
        """Refuse tiling in BatchNorm ``batch`` mode (tiles would change the per-image statistics)."""
        if self.tile and bn_mode == "batch":
            raise SrbenchError(f"{where + ': ' if where else ''}tile is refused in BatchNorm batch mode: each tile "
                               "would be normalised with its own statistics instead of the image's; drop tile or use "
                               "bn_mode eval")


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x


class _Wrapper(nn.Module):
    """Holds the wrapped model as ``model`` and shows its ``arch`` and ``scales``."""

    eager_only = True  # see srbench.eval.runtimes: never exported or compiled (size-dependent control flow)

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.scales = getattr(model, "scales", (2, 3, 4))
        self.arch = getattr(model, "arch", type(model).__name__)


class SelfEnsemble(_Wrapper):
    """The x8 geometric self-ensemble: mean of T^-1(model(T x)) over the 4 rotations of x and of its mirror image."""

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        total = None
        for flip in (False, True):
            for k in range(4):
                t = torch.flip(x, dims=(-1,)) if flip else x
                t = torch.rot90(t, k, dims=(-2, -1)) if k else t
                y = self.model(_channels_last(t), scale)
                y = torch.rot90(y, -k, dims=(-2, -1)) if k else y
                y = torch.flip(y, dims=(-1,)) if flip else y
                total = y.float() if total is None else total + y.float()
        return _channels_last(total / 8)


class Tiled(_Wrapper):
    """Runs the model on ``tile`` x ``tile`` LR tiles read with ``overlap`` extra pixels around them; keeps each
    tile's core of the output (see the module docstring for the tolerance)."""

    def __init__(self, model: nn.Module, tile: int, overlap: int) -> None:
        super().__init__(model)
        self.tile, self.overlap = tile, overlap

    def _check_bn(self) -> None:
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training for m in self.model.modules()):
            raise SrbenchError(f"{self.arch}: tile is refused in BatchNorm batch mode (each tile would be normalised "
                               "with its own statistics)")

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        self._check_bn()
        h, w = x.shape[-2:]
        size, pad = self.tile, self.overlap
        if h <= size and w <= size:
            return self.model(x, scale)
        out = None
        for top in range(0, h, size):
            for left in range(0, w, size):
                bottom, right = min(top + size, h), min(left + size, w)
                t0, l0 = max(top - pad, 0), max(left - pad, 0)
                y = self.model(_channels_last(x[..., t0:min(bottom + pad, h), l0:min(right + pad, w)]), scale)
                if out is None:
                    out = y.new_empty(*y.shape[:-2], h * scale, w * scale)
                out[..., top * scale:bottom * scale, left * scale:right * scale] = \
                    y[..., (top - t0) * scale:(bottom - t0) * scale, (left - l0) * scale:(right - l0) * scale]
        return _channels_last(out)


def apply_inference(model: nn.Module, inference: Inference | None) -> nn.Module:
    """``model`` run as ``inference`` says: tiled, then self-ensembled (each of the eight images tiled); a plain
    setting returns the model itself."""
    if inference is None or inference.plain:
        return model
    if inference.tile:
        model = Tiled(model, inference.tile, inference.tile_overlap)
    if inference.ensemble:
        model = SelfEnsemble(model)
    return model
