"""The crops a cell logs (srbench.track.crops): SR and HR images, and each declared box's PSNR/SSIM on Y, checked
against hand computation and scikit-image; and the report drawing them from MLflow alone."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def _y(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma in 16-235, written out here (the reference, not srbench.eval.metrics.rgb_to_y)."""
    x = rgb.astype(np.float64) / 255.0
    return 16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10.0 * np.log10(255.0 ** 2 / np.mean((a - b) ** 2))


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=255)


def test_log_crop_logs_images_and_box_scores(tmp_path):
    from srbench.data.datasets import dataset_id
    from srbench.data.images import read_image, write_image
    from srbench.track.crops import log_crop
    from srbench.track.tracking import client, get_or_create_experiment

    rng = np.random.default_rng(3)
    hr = rng.integers(0, 250, size=(26, 31, 3), dtype=np.uint8)
    write_image(tmp_path / "Syn" / "HR" / "img.png", hr)
    measured = hr[:24, :28]                            # as measured at x4: cropped to a multiple of the scale
    sr = measured.copy()
    sr[2:14, 3:15] += 3                                # +3 on R, G, B in a 12x12 box: Y moves by 3 * 219 / 255
    sr[14:20, 15:27] = rng.integers(0, 250, size=(6, 12, 3), dtype=np.uint8)   # noise in a 6x12 box
    c = client(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run_id = c.create_run(get_or_create_experiment(c, "x")).info.run_id
    dataset = str(tmp_path / "Syn")
    boxes = [[2, 3, 12, 12], [14, 15, 6, 12], [20, 20, 10, 10]]   # the last one lies outside the 24x28 image
    log_crop(c, run_id, tmp_path / "work", dataset=dataset, image="img", scale=4, sr=sr, boxes=boxes)
    metrics = c.get_run(run_id).data.metrics
    key = dataset_id(dataset)
    assert set(metrics) == {f"crop.psnr_y.{key}.img.2_3_12_12", f"crop.ssim_y.{key}.img.2_3_12_12",
                            f"crop.psnr_y.{key}.img.14_15_6_12"}   # no SSIM for a box under 11x11, none outside
    assert metrics[f"crop.psnr_y.{key}.img.2_3_12_12"] == pytest.approx(20 * np.log10(255 / (3 * 219 / 255)))
    box = (slice(14, 20), slice(15, 27))
    assert metrics[f"crop.psnr_y.{key}.img.14_15_6_12"] == pytest.approx(_psnr(_y(sr[box]), _y(measured[box])))
    box = (slice(2, 14), slice(3, 15))
    assert metrics[f"crop.ssim_y.{key}.img.2_3_12_12"] == pytest.approx(_ssim(_y(sr[box]), _y(measured[box])),
                                                                         abs=1e-6)
    out = tmp_path / "dl"
    out.mkdir()
    assert np.array_equal(read_image(c.download_artifacts(run_id, f"crops/{key}/img_x4.png", str(out))), sr)
    assert np.array_equal(read_image(c.download_artifacts(run_id, f"crops/{key}/hr/img_x4.png", str(out))), measured)


@pytest.mark.slow
def test_benchmark_logs_crops_and_the_report_draws_them(tmp_path, benchmark_root, mlflow_uri):
    """A bicubic x4 cell on Set5 with two declared boxes: the run holds their scores (checked against the HR image of
    the data store and the SR image it logged, by hand and with scikit-image), and the report shows the logged
    values and computes a box given at report time from the logged images only."""
    from srbench.data.images import read_image
    from srbench.report import build
    from srbench.track import tracking
    from srbench.track.experiment import load_experiment
    from srbench.track.benchmark import run_benchmark

    path = tmp_path / "c.yaml"
    path.write_text("name: c\ndatasets: [Set5]\nscales: [4]\ndevice: cpu\nmeasure: {latency: false}\n"
                    "models:\n  - {model: bicubic}\ncrops:\n"
                    "  - {dataset: Set5, image: baby, scale: 4, box: [20, 80, 96, 96]}\n"
                    "  - {dataset: Set5, image: baby, scale: 4, box: [300, 300, 8, 8]}\n")
    run_benchmark(load_experiment(path), tracking_uri=mlflow_uri, progress=False)
    c = tracking.client(mlflow_uri)
    [run] = c.search_runs([c.get_experiment_by_name("c").experiment_id], "tags.`srbench.kind` = 'cell'")
    sr = read_image(c.download_artifacts(run.info.run_id, "crops/Set5/baby_x4.png", str(tmp_path)))
    hr = read_image(benchmark_root / "Set5" / "HR" / "baby.png")[:512, :512]
    box = (slice(20, 116), slice(80, 176))
    m = run.data.metrics
    assert m["crop.psnr_y.Set5.baby.20_80_96_96"] == pytest.approx(_psnr(_y(sr[box]), _y(hr[box])), abs=1e-9)
    assert m["crop.ssim_y.Set5.baby.20_80_96_96"] == pytest.approx(_ssim(_y(sr[box]), _y(hr[box])), abs=1e-6)
    assert m["crop.psnr_y.Set5.baby.300_300_8_8"] == pytest.approx(_psnr(_y(sr[300:308, 300:308]),
                                                                         _y(hr[300:308, 300:308])), abs=1e-9)
    out = tmp_path / "report"
    build.generate(experiment="c", uri=mlflow_uri, out=out, dataset="Set5", n_resamples=100,
                   crops=["Set5/baby@4:0,0,40,40"])
    readme = (out / "README.md").read_text()
    assert f"Crop PSNR on Y: bicubic {m['crop.psnr_y.Set5.baby.20_80_96_96']:.2f} dB." in readme
    given = _psnr(_y(sr[:40, :40]), _y(hr[:40, :40]))
    assert f"Crop PSNR on Y: bicubic {given:.2f} dB. Computed by the report from the logged HR and SR" in readme
    for stem in ("crop_Set5_baby_x4_20_80_96_96", "crop_Set5_baby_x4_0_0_40_40"):
        for suffix in (".png", ".pdf"):
            assert (out / "figures" / f"{stem}{suffix}").stat().st_size < 300 * 1024
