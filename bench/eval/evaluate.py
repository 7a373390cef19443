"""Evaluate one model on one dataset at one scale under a protocol: per-image and mean PSNR/SSIM (and LPIPS).

The whole measurement path lives here so that the CLI, the benchmark, the trainer's validation and the reports
all produce numbers the same way: LR uint8 -> [0, 1] float -> model -> quantize to 8 bits -> protocol metrics.
LPIPS is measured only when asked (``lpips=True``: an experiment's declared ``metrics``), on the same 8-bit output,
with the LPIPS network on the model's device.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from collections.abc import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from srbench.core.errors import SrbenchError
from srbench.eval.device import cuda_math
from srbench.eval.latency import synchronize
from srbench.eval.lpips import load_lpips
from srbench.eval.scoring import ImageScore, ImageScorer, dataset_psnr, lpips_pair, quantize, to_8bit
from srbench.eval.protocol import Protocol
from srbench.eval.shared_passes import PassScope
from srbench.data.datasets import load_samples, to_rgb


@dataclass
class ImageResult:
    """Metrics of one image; ``forward_s`` is the wall time of the model call alone (device synchronised);
    ``lpips`` is None when LPIPS was not measured; ``shared``: the output came from another cell's pass of the same
    computation (:mod:`srbench.eval.shared_passes`), ``forward_s`` is that pass's time."""

    name: str
    psnr: float
    ssim: float
    forward_s: float
    gray: bool = False
    lpips: float | None = None
    shared: bool = False
    mse: float | None = None


@dataclass
class DatasetResult:
    """Per-image results of one (dataset, scale) cell and their means."""

    dataset: str
    scale: int
    images: list[ImageResult] = field(default_factory=list)
    protocol: Protocol | None = None  # for its ``aggregate`` (None: the mean of the images' PSNR)

    @property
    def psnr(self) -> float:
        """The dataset's PSNR under the protocol's ``aggregate`` (:func:`srbench.eval.scoring.dataset_psnr`)."""
        if self.protocol is None or self.protocol.aggregate == "per_image":
            return float(np.mean([r.psnr for r in self.images])) if self.images else float("nan")
        return dataset_psnr([ImageScore(r.psnr, r.ssim, r.mse) for r in self.images], self.protocol)

    @property
    def ssim(self) -> float:
        return float(np.mean([r.ssim for r in self.images])) if self.images else float("nan")

    @property
    def lpips(self) -> float | None:
        """Mean LPIPS over the images, or None when it was not measured (on every image)."""
        values = [r.lpips for r in self.images]
        return float(np.mean(values)) if values and all(v is not None for v in values) else None

    @property
    def forward_s(self) -> float:
        """Seconds in the forward passes this evaluation ran itself (shared outputs are not counted again)."""
        return float(sum(r.forward_s for r in self.images if not r.shared))

    def as_dict(self) -> dict:
        out = {"dataset": self.dataset, "scale": self.scale, "psnr": self.psnr, "ssim": self.ssim,
               "forward_s": self.forward_s, "images": [asdict(r) for r in self.images]}
        if self.lpips is not None:
            out["lpips"] = self.lpips
        return out


def to_tensor(img_u8: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """HxWx3 uint8 -> 1x3xHxW float in [0, 1] on ``device``, in channels-last memory format (see srbench.eval.weights.prepare_model)."""
    # one float32 copy (writable, unlike the read-only decoded samples), then the same division as before
    x = torch.from_numpy(np.ascontiguousarray(img_u8, dtype=np.float32)).permute(2, 0, 1).unsqueeze(0).div_(255)
    return x.to(device).contiguous(memory_format=torch.channels_last)


def to_numpy01(t: torch.Tensor) -> np.ndarray:
    """1x3xHxW tensor -> HxWx3 float32 numpy (values as the network produced them, not yet clamped)."""
    return t.squeeze(0).permute(1, 2, 0).float().cpu().numpy()


def forward_pass(model: torch.nn.Module, lr_u8: np.ndarray, scale: int,
                 device: torch.device | str = "cpu") -> tuple[np.ndarray, float]:
    """Run ``model`` on one LR image (gray is replicated to RGB): (output HxWx3 float32 as the network produced it,
    seconds spent in the forward pass). A non-finite output is an error naming the weights. The model must already
    be in its BN mode."""
    device = torch.device(device)
    x = to_tensor(to_rgb(lr_u8), device)
    with torch.inference_mode():
        synchronize(device)
        start = time.perf_counter()
        y = model(x, scale)
        synchronize(device)
        elapsed = time.perf_counter() - start
    out = to_numpy01(y)
    if not np.isfinite(out).all():  # numpy's check: about 30x faster than torch's on CPU, on the same values
        arch = getattr(model, "arch", type(model).__name__)
        weights = getattr(model, "weights_label", None)
        raise SrbenchError(f"{arch}{f' with weights {weights}' if weights else ''} produced non-finite output "
                           f"(NaN or Inf) at x{scale}; the weights or the model are broken, so no score is logged")
    return out, elapsed


def super_resolve(model: torch.nn.Module, lr_u8: np.ndarray, scale: int, protocol: Protocol,
                  device: torch.device | str = "cpu") -> tuple[np.ndarray, float]:
    """:func:`forward_pass`, then the output quantized to 8 bits per the protocol: (SR uint8 HxWx3, seconds)."""
    sr, elapsed = forward_pass(model, lr_u8, scale, device)
    return quantize(sr, protocol.quantize), elapsed


def evaluate(model: torch.nn.Module, dataset: str, scale: int, protocol: Protocol, *,
             device: torch.device | str = "cpu", progress: bool = True, lpips: bool = False,
             on_image: Callable[[str, np.ndarray], None] | None = None,
             passes: PassScope | None = None) -> DatasetResult:
    """Evaluate ``model`` (already on ``device`` and in the protocol's BN mode) on every image of ``dataset``.

    ``model`` is anything called as ``model(x, scale)``: the network, or a prepared runtime of it
    (:class:`srbench.eval.runtimes.Runner`). ``lpips``: also measure LPIPS per image
    (:func:`srbench.eval.scoring.lpips_pair`). ``on_image(name, sr_u8)`` is called with every SR output (for saving
    crops) when given. ``passes``: the shared passes of this computation (:mod:`srbench.eval.shared_passes`): an
    image another cell already ran is measured on that output instead of running the model again.
    """
    net = load_lpips(device=device) if lpips else None  # before the loop: a missing weights file fails at once
    samples = load_samples(dataset, scale, lr_source=protocol.lr_input)
    result = DatasetResult(dataset=str(dataset), scale=scale, protocol=protocol)
    bar = tqdm(samples, desc=f"{dataset} x{scale}", unit="img", leave=False, disable=not progress)
    with cuda_math(device, tf32=protocol.tf32):  # TF32 on CUDA as the protocol says (off unless declared)
        for sample in bar:
            hit = passes.get(dataset, protocol.lr_input, sample.name) if passes is not None else None
            if hit is not None:
                out, elapsed = hit.sr, hit.forward_s
                if hit.quantized not in (None, protocol.quantize):  # kept as 8 bits for another quantisation
                    raise SrbenchError(f"internal error: {sample.name}'s shared output was kept quantised by "
                                       f"{hit.quantized!r}, but this cell quantises by {protocol.quantize!r}")
            else:
                out, elapsed = forward_pass(model, sample.lr, scale, device)
            scorer = ImageScorer(out, sample.hr, scale=scale, gray=sample.gray, name=sample.name,
                                 quantized=hit is not None and hit.quantized is not None)
            scored = scorer.score(protocol)
            sr = scorer.output(protocol.quantize)
            if hit is None and passes is not None:  # kept for later cells (8 bits: this cell's own quantisation)
                passes.put(dataset, protocol.lr_input, sample.name, out, elapsed, quantize=protocol.quantize,
                           quantized=sr)
            lp = (lpips_pair(sr, sample.hr, scale=scale, protocol=protocol, net=net, name=sample.name)
                  if net is not None else None)
            result.images.append(ImageResult(sample.name, scored.psnr, scored.ssim, elapsed, sample.gray, lp,
                                             hit is not None, scored.mse))
            if on_image is not None:
                on_image(sample.name, to_8bit(sr))
            bar.set_postfix(psnr=f"{result.psnr:.3f}")
    return result
