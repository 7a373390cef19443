"""``srbench score``: SR images made elsewhere (here: HR + seeded Gaussian noise) scored to scikit-image's Y-PSNR/SSIM,
matched by name, logged as a cell run, and refused with one line when files are missing or wrongly sized."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srbench.cli import main
from srbench.eval.sr_folder import sr_stems

SCALE = 4
# one naming style per Set5 image: plain, <name>x4, <name>_SR, SelfExSR's <name>_SRF_4_SR, <name>_x4_SR
STYLES = {"baby": "baby.png", "bird": "birdx4.png", "butterfly": "butterfly_SR.png", "head": "head_SRF_4_SR.png",
          "woman": "woman_x4_SR.PNG"}


def _hr(root: Path, name: str) -> np.ndarray:
    hr = np.asarray(Image.open(root / "Set5" / "HR" / f"{name}.png").convert("RGB"))
    return hr[: hr.shape[0] // SCALE * SCALE, : hr.shape[1] // SCALE * SCALE]


def _noisy(hr: np.ndarray, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, 6.0, hr.shape)
    return np.clip(np.round(hr + noise), 0, 255).astype(np.uint8)


@pytest.fixture()
def sr_dir(tmp_path, benchmark_root) -> Path:
    folder = tmp_path / "results" / "NoisySR"
    folder.mkdir(parents=True)
    for seed, (name, file) in enumerate(STYLES.items()):
        Image.fromarray(_noisy(_hr(benchmark_root, name), seed)).save(folder / file)
    (folder / "baby_SRF_4_HR.png").write_bytes((benchmark_root / "Set5" / "HR" / "baby.png").read_bytes())
    (folder / "log.txt").write_text("not an image, not read\n")
    return folder


def _skimage_scores(root: Path) -> dict[str, tuple[float, float]]:
    from skimage.color import rgb2ycbcr
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    out = {}
    for seed, name in enumerate(STYLES):
        hr = _hr(root, name)
        y_hr = rgb2ycbcr(hr)[SCALE:-SCALE, SCALE:-SCALE, 0]
        y_sr = rgb2ycbcr(_noisy(hr, seed))[SCALE:-SCALE, SCALE:-SCALE, 0]
        out[name] = (peak_signal_noise_ratio(y_hr, y_sr, data_range=255),
                     structural_similarity(y_hr, y_sr, gaussian_weights=True, sigma=1.5,
                                           use_sample_covariance=False, data_range=255))
    return out


@pytest.mark.slow
def test_score_reproduces_skimage_and_logs_a_cell(sr_dir, benchmark_root, mlflow_uri, capsys):
    args = ["score", "--sr-dir", str(sr_dir), "--dataset", "Set5", "--scale", str(SCALE), "--label", "Noisy",
            "--json", "--tracking-uri", mlflow_uri]
    assert main(args) == 0
    captured = capsys.readouterr()
    [cell] = json.loads(captured.out)
    expected = _skimage_scores(benchmark_root)
    got = {r["name"]: (r["psnr"], r["ssim"]) for r in cell["images"]}
    assert sorted(got) == sorted(expected)
    for name, (psnr, ssim) in expected.items():
        assert got[name][0] == pytest.approx(psnr, abs=1e-6)
        assert got[name][1] == pytest.approx(ssim, abs=1e-6)
    assert cell["psnr"] == pytest.approx(np.mean([v[0] for v in expected.values()]), abs=1e-6)
    assert cell["model"] == "Noisy" and cell["weights"] == "sr-dir" and len(cell["weights_sha256"]) == 64
    assert "note: 1 image file(s)" in captured.err  # baby_SRF_4_HR.png; log.txt is not an image, not counted

    # the same structure as `srbench evaluate --json`
    assert main(["evaluate", "--model", "bicubic", "--dataset", "Set5", "--scale", "4", "--json",
                 "--no-progress"]) == 0
    [evaluated] = json.loads(capsys.readouterr().out)
    assert set(evaluated) == set(cell) and set(evaluated["images"][0]) == set(cell["images"][0])

    from srbench.track import tracking
    client = tracking.client(mlflow_uri)
    exp = client.get_experiment_by_name("benchmark")
    [run] = client.search_runs([exp.experiment_id], "tags.`srbench.kind` = 'cell'")
    assert run.info.status == "FINISHED"
    assert run.data.metrics["psnr_y.Set5"] == pytest.approx(cell["psnr"], abs=1e-9)
    assert run.data.tags["srbench.weights"] == "sr-dir" and run.data.tags["srbench.label"] == "Noisy"
    assert run.data.tags["srbench.weights_sha256"] == cell["weights_sha256"]
    assert [a.path for a in client.list_artifacts(run.info.run_id, "per_image")] == ["per_image/Set5.csv"]
    assert main(args) == 0  # the same folder again: reused, not logged twice
    assert "reused" in capsys.readouterr().err
    assert len(client.search_runs([exp.experiment_id], "tags.`srbench.kind` = 'cell'")) == 1


def test_missing_ambiguous_and_wrongly_sized_files_are_listed(sr_dir, benchmark_root, tmp_path, capsys):
    args = ["score", "--sr-dir", str(sr_dir), "--dataset", "Set5", "--scale", str(SCALE),
            "--tracking-uri", f"sqlite:///{tmp_path / 'unused.db'}"]
    (sr_dir / "birdx4.png").unlink()
    (sr_dir / "head_SRF_4_SR.png").unlink()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "2 of 5 HR images: bird, head" in err
    Image.fromarray(_hr(benchmark_root, "bird")).save(sr_dir / "bird.png")
    Image.fromarray(_hr(benchmark_root, "head")).save(sr_dir / "head.png")
    Image.fromarray(_hr(benchmark_root, "head")).save(sr_dir / "head_SR.png")
    assert main(args) == 2
    assert "several SR files for head (head.png / head_SR.png)" in capsys.readouterr().err
    (sr_dir / "head_SR.png").unlink()
    Image.fromarray(_hr(benchmark_root, "bird")[:-4]).save(sr_dir / "bird.png")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "bird.png: 288x284 (expected 288x288)" in err and "\n" not in err.strip()
    assert not (tmp_path / "unused.db").exists()  # nothing is logged when the folder is refused


def test_accepted_names():
    assert sr_stems("img_001", 4) == ["img_001", "img_001x4", "img_001_x4", "img_001_sr", "img_001x4_sr",
                                      "img_001_x4_sr", "img_001_srf_4_sr", "img_001_srf_4"]
