"""What a measured run logs: the measurement itself (:func:`measure_and_log`, shared by the benchmark's cells and the
ablation points), the environment and protocol tags, the per-dataset metrics and the per-image CSV (also used by
scored folders and ``explain`` runs)."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import torch

from srbench.data.datasets import dataset_id
from srbench.eval.cell import CostSettings, measure_cell
from srbench.eval.device import cuda_identity, describe_device
from srbench.eval.environment import measurement_environment
from srbench.eval.evaluate import DatasetResult
from srbench.eval.shared_passes import PassScope
from srbench.track import hosts, schema, tags as T, tracking
from srbench.track.cells import code_version
from srbench.track.crops import log_crop
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


def measure_and_log(model: torch.nn.Module, *, client, run_id: str, datasets: list[str], scale: int, protocol,
                    device: torch.device, measure: CostSettings, crops: dict[tuple[str, str], list] | None = None,
                    lpips: frozenset[str] = frozenset(), progress: bool = True, runner=None,
                    passes: PassScope | None = None) -> dict[str, float]:
    """Measure a cell (:func:`srbench.eval.cell.measure_cell`) and log everything to run ``run_id`` as it arrives.

    ``lpips``: the datasets (as named in ``datasets``) on which LPIPS is measured too. Logs the per-dataset metrics as
    each dataset finishes, per-image CSV artifacts, the crops named in ``crops`` ((Set, image) -> its boxes
    [top, left, h, w]: :func:`srbench.track.crops.log_crop`), then the cost figures and the ``srbench.measure_out``
    tag. The caller marks the run finished. ``runner``: the prepared runtime that runs the forward passes (default:
    the model). ``passes``: the passes this cell shares with others of the invocation
    (:mod:`srbench.eval.shared_passes`); the runs that computed what it reused are named in the
    ``srbench.shared_from`` tag. Shared by the benchmark cells and the ablation points.
    """
    run = RunWriter(client, run_id)
    metrics: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)

        def on_dataset(result: DatasetResult) -> None:
            key = dataset_id(result.dataset)
            values = dataset_values(result, key, protocol.color)
            metrics.update(values)
            run.metrics(values)
            log_per_image(client, run_id, result, key, workdir)

        def keep_crop(dataset: str, name: str, sr) -> None:
            boxes = crops.get((dataset_id(dataset), name))
            if boxes is not None:  # SR and HR images, the boxes' Y PSNR/SSIM (names: srbench.track.schema)
                log_crop(client, run_id, workdir, dataset=dataset, image=name, scale=scale, sr=sr, boxes=boxes)

        measured = measure_cell(model, datasets=datasets, scale=scale, protocol=protocol, device=device,
                                settings=measure, progress=progress, lpips=lpips, on_dataset=on_dataset,
                                on_image=keep_crop if crops else None, runner=runner, passes=passes)
    run.metrics(measured.cost)
    run.tags(_measured_tags(measured, passes))
    return {**metrics, **measured.cost}


def _measured_tags(measured, passes: PassScope | None) -> dict[str, str]:
    """What describes a measurement's figures: output size, profile input, and where they apply the runtime form,
    the latency clock (wall: host work such as bicubic's numpy even on a GPU; cuda_events: GPU work) and the runs
    whose passes were reused."""
    tags = {T.MEASURE_OUT: measured.out_label, T.PROFILE_IN: measured.profile_label}
    if measured.runtime_form:
        tags[T.RUNTIME_FORM] = measured.runtime_form
    if measured.latency_clock:
        tags[T.LATENCY_CLOCK] = measured.latency_clock
    if passes is not None and passes.sources:
        tags[T.SHARED_FROM] = ",".join(sorted(passes.sources))
    return tags
