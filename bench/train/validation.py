"""Validation during training (rank 0): every validation scale through the public API, logged with SR crops, and
``best.pt`` kept at each new best mean PSNR."""

from __future__ import annotations

import numpy as np
import torch

from srbench.train.checkpoint import export_weights, save_checkpoint
from srbench.train.config import TrainConfig
from srbench.train.distributed import broadcast_from_lead
from srbench.train.session import Session

CROP_IMAGES = 2      # SR crops logged per validation (first images of the set, first validation scale)
CROP_SIZE = 128      # HR pixels


def cuda_peak_mb(s: Session) -> float:
    """Peak CUDA memory (MiB) since the last call, which resets it (windows and validations each get their own)."""
    peak = torch.cuda.max_memory_allocated(s.device) / 2**20
    torch.cuda.reset_peak_memory_stats(s.device)
    return peak


def _validate(model, config: TrainConfig, device: torch.device, on_image) -> list:
    """Every validation scale of ``config.val_dataset`` through the public API, :func:`srbench.api.evaluate` (the
    standard protocol, BN in eval mode, float32), which leaves the model in training mode as it found it; one
    :class:`srbench.api.EvaluationResult` per scale."""
    from srbench.api import evaluate

    return [evaluate(model, config.val_dataset, s, "standard", device=str(device),
                     on_image=(lambda name, sr, s=s: on_image(s, name, sr)) if i == 0 else None)
            for i, s in enumerate(config.val_scales)]


def _crop(img: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    h, w = img.shape[:2]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return np.ascontiguousarray(img[top:top + size, left:left + size])


def validate_and_keep_best(s: Session, bar) -> None:
    """Validate (rank 0), log it, and checkpoint ``best.pt`` (all ranks) when the mean PSNR improved."""
    best_save = False
    if s.lead:
        crops: list[tuple[str, np.ndarray]] = []

        def on_image(scale, name, sr):
            if len(crops) < CROP_IMAGES:
                crops.append((f"val_x{scale}_{name}", _crop(sr)))

        from srbench.api.log import validation_metrics, validation_tags

        if s.device.type == "cuda":  # the training window's peak so far, then validation's own
            s.train_peak_mb = max(s.train_peak_mb, cuda_peak_mb(s))
        results = _validate(s.model, s.config, s.device, on_image)
        s.last_val = {r.scale: (r.psnr, r.ssim) for r in results}
        mean_psnr = float(np.mean([p for p, _ in s.last_val.values()]))
        values = {f"val_psnr.x{k}": p for k, (p, _) in s.last_val.items()}
        values.update({f"val_ssim.x{k}": q for k, (_, q) in s.last_val.items()})
        values["val_psnr"] = mean_psnr
        for r in results:  # the benchmark's names too (srbench.log_validation's), so curves and tables share them
            values.update(validation_metrics(r, scale_suffix=len(results) > 1))
        if s.device.type == "cuda":
            values["val_cuda_mem_mb"] = cuda_peak_mb(s)
        s.tracker.metrics(values, s.step)
        s.tracker.tags({k: v for r in results for k, v in validation_tags(r).items()})
        for key, img in crops:
            s.tracker.image(img, key, s.step)
        bar.write(f"step {s.step}: " + ", ".join(f"x{k} {p:.3f} dB / {q:.4f}" for k, (p, q) in s.last_val.items()))
        if s.best_psnr is None or mean_psnr > s.best_psnr:
            s.best_psnr, s.best_step, best_save = mean_psnr, s.step, True
    if broadcast_from_lead(best_save, s.world):
        save_checkpoint(s, s.best_path)
        if s.lead:
            export_weights(s.best_path, s.out_dir / "best.pth", s.tracker, "best")
