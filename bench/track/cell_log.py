"""What every measured run logs beside its numbers: the environment and protocol tags, the per-dataset metrics and
the per-image CSV (shared by the benchmark's cells, scored folders, ``explain`` runs and ablation points)."""

from __future__ import annotations

import csv
from pathlib import Path

import torch

from srbench.eval.device import cuda_identity, describe_device
from srbench.eval.environment import measurement_environment
from srbench.eval.evaluate import DatasetResult
from srbench.track import hosts, schema, tags as T, tracking
from srbench.track.cells import code_version
from srbench.track.run_writer import RunWriter


def run_tags(device: torch.device, protocol) -> dict[str, str]:
    """Tags every measured run carries: environment, code and every protocol knob."""
    return {T.DEVICE: device.type, T.DEVICE_NAME: describe_device(device),
            T.THREADS: str(torch.get_num_threads()), T.TORCH: torch.__version__,
            T.GIT_COMMIT: tracking.git_commit(), T.CODE_VERSION: code_version(),
            **hosts.identity_tags(),
            **{T.env(k): v for k, v in measurement_environment().items()},
            **{T.cuda(k): v for k, v in cuda_identity(device).items()},
            **{f"{T.PROTOCOL_PREFIX}{k}": str(v) for k, v in protocol.as_dict().items()}}


def dataset_values(result: DatasetResult, dataset_key: str, color: str) -> dict[str, float]:
    """The per-dataset metrics of one result, named by :mod:`srbench.track.schema` (``lpips`` where measured)."""
    values = {schema.dataset_metric("psnr", dataset_key, color): result.psnr,
              schema.dataset_metric("ssim", dataset_key, color): result.ssim,
              schema.dataset_metric("n_images", dataset_key): len(result.images),
              schema.dataset_metric("forward_s", dataset_key): result.forward_s}
    if result.lpips is not None:
        values[schema.dataset_metric("lpips", dataset_key)] = result.lpips
    return values


def log_per_image(client, run_id: str, result: DatasetResult, dataset_key: str, workdir: Path) -> None:
    """The artifact ``per_image/<dataset_key>.csv`` of run ``run_id``: one row per image (written in ``workdir``)."""
    path = workdir / f"{dataset_key}.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "psnr", "ssim", "forward_s", "gray", "lpips", "shared"])
        for r in result.images:
            writer.writerow([r.name, f"{r.psnr:.6f}", f"{r.ssim:.8f}", f"{r.forward_s:.6f}", int(r.gray),
                             "" if r.lpips is None else f"{r.lpips:.8f}", int(r.shared)])
    RunWriter(client, run_id).artifact(path, "per_image")
