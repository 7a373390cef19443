"""A plain PyTorch training loop that validates with srbench's exact protocol and logs to MLflow (docs/api.md).

Nothing here is srbench's trainer: a small network, random HR crops from an image folder, LR made with torch's
bicubic interpolation, Adam and L1. srbench appears in two lines only: ``srbench.evaluate`` (the benchmark's Y
conversion, border crop, shipped MATLAB-bicubic LR and SSIM, on a whole dataset) and ``srbench.log_validation`` (the
benchmark's metric names, ``psnr_y.Set5`` and ``ssim_y.Set5``, into the active MLflow run), so the curves of this run
and the final benchmark table share one vocabulary.

    python examples/train_loop.py --train-dir path/to/HR_images --steps 2000 --val-every 500
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import mlflow
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

import srbench


class SmallSR(nn.Module):
    """Bicubic upsampling plus a learned residual (three 3x3 convolutions and a sub-pixel head) at one scale."""

    def __init__(self, scale: int, width: int = 32) -> None:
        super().__init__()
        self.scales = (scale,)
        self.body = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(width, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = F.interpolate(x, scale_factor=self.scales[0], mode="bicubic", align_corners=False)
        return base + self.body(x)


def load_images(folder: Path) -> list[torch.Tensor]:
    """Every PNG of ``folder`` as a 3xHxW float tensor in [0, 1]."""
    images = [torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1).float() / 255
              for p in sorted(folder.glob("*.png"))]
    if not images:
        raise SystemExit(f"no PNG images in {folder}")
    return images


def batch(images: list[torch.Tensor], size: int, count: int, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` random ``size`` x ``size`` HR crops and their bicubic LR."""
    crops = []
    for _ in range(count):
        img = random.choice(images)
        top, left = random.randrange(img.shape[1] - size + 1), random.randrange(img.shape[2] - size + 1)
        crops.append(img[:, top:top + size, left:left + size])
    hr = torch.stack(crops)
    lr = F.interpolate(hr, scale_factor=1 / scale, mode="bicubic", antialias=True, align_corners=False)
    return lr.clamp(0, 1), hr


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train-dir", type=Path, required=True, help="folder of HR training images (PNG)")
    p.add_argument("--scale", type=int, default=2, choices=[2, 3, 4])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--val-every", type=int, default=500)
    p.add_argument("--val-dataset", default="Set5", help="a store dataset or a folder in the benchmark layout")
    p.add_argument("--patch", type=int, default=64, help="HR crop size")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--experiment", default="train_loop_example", help="MLflow experiment")
    args = p.parse_args(argv)

    torch.manual_seed(0)
    random.seed(0)
    images = load_images(args.train_dir)
    net = SmallSR(args.scale)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    mlflow.set_experiment(args.experiment)
    logged: dict = {}
    with mlflow.start_run():
        for step in range(1, args.steps + 1):
            net.train()
            lr, hr = batch(images, args.patch, args.batch_size, args.scale)
            loss = F.l1_loss(net(lr), hr)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            mlflow.log_metric("loss", loss.item(), step=step)
            if step % args.val_every == 0 or step == args.steps:
                result = srbench.evaluate(net, args.val_dataset, args.scale)      # the benchmark's protocol
                logged = srbench.log_validation(result, step=step)               # psnr_y.Set5, ssim_y.Set5
                print(f"step {step}: loss {loss.item():.4f}, {args.val_dataset} x{args.scale} "
                      f"PSNR {result.psnr:.3f} dB, SSIM {result.ssim:.4f}")
    return logged


if __name__ == "__main__":
    main()
