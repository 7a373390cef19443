"""Forward passes shared by the cells that differ only in protocol: computed once, the same numbers as unshared.

The reference is the unshared path: ``evaluate`` of the same weights under each protocol on its own, which runs the
network on every image. The shared benchmark must give exactly those numbers while running each image through each
computation (network, BN mode, scale, runtime) once.

These tests check consistency, not accuracy: the shared and the unshared path run the same scoring code, so a wrong
metric would agree with itself. The numbers themselves are checked independently elsewhere: ``evaluate`` of the
released checkpoints against calibration.md's externally measured values (tests/test_calibration.py), the scoring
against scikit-image (tests/test_metrics.py, tests/test_score.py), LPIPS against pyiqa's published values
(tests/test_iqa_calibration.py) and the runner's logged LPIPS against an independent forward
(tests/test_lpips_metric.py).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from srbench.data.datasets import dataset_id
from srbench.eval import evaluate as evaluate_module
from srbench.eval.evaluate import evaluate
from srbench.eval.protocol import get_protocol
from srbench.eval.shared_passes import SharedPasses
from srbench.eval.weights import load_eval_model
from srbench.models import set_bn_mode
from srbench.track import tracking
from srbench.track.experiment import load_experiment
from srbench.track.run_weights import resolve_weights
from srbench.track.benchmark import run_benchmark


def test_outputs_are_kept_only_while_another_cell_needs_them():
    passes = SharedPasses()
    passes.need("k", "Set5", "file", 2)
    passes.need("k", "Set14", "file", 1)
    first = passes.scope("k", "run-a")
    first.put("Set5", "file", "baby", np.zeros((2, 2, 3), np.float32), 0.5)
    first.put("Set14", "file", "face", np.zeros((2, 2, 3), np.float32), 0.5)  # nobody else needs Set14: not kept
    assert passes.kept_images == 1
    passes.done("k", "Set5", "file")
    second = passes.scope("k", "run-b")
    hit = second.get("Set5", "file", "baby")
    assert hit is not None and hit.forward_s == 0.5 and second.sources == {"run-a"}
    assert second.get("Set5", "generate", "baby") is None  # another LR source is another input
    assert passes.scope("other", "run-b").get("Set5", "file", "baby") is None  # another computation
    passes.done("k", "Set5", "file")
    assert passes.kept_images == 0
    assert first.cost("s", lambda: {"latency_ms": 3.0}) == {"latency_ms": 3.0}
    assert second.cost("s", lambda: pytest.fail("measured twice")) == {"latency_ms": 3.0}


def test_an_output_every_other_cell_quantises_alike_is_kept_as_8_bits_with_the_same_scores():
    """Kept as the one 8-bit quantisation every other pending cell applies (a quarter of the bytes), as float when
    they differ; the 8-bit copy scores exactly what the float output scores under that quantisation (PSNR, SSIM and
    MSE compared with ==)."""
    from srbench.eval.scoring import ImageScorer, quantize

    rng = np.random.default_rng(3)
    hr = rng.integers(0, 256, (40, 44, 3), dtype=np.uint8)
    out = np.clip(hr / 255 + rng.normal(0, 0.02, hr.shape), -0.05, 1.05).astype(np.float32)
    passes = SharedPasses()
    passes.need("k", "Set5", "file", 1, quantize="round")      # the cell that runs the pass (standard)
    passes.need("k", "Set5", "file", 1, quantize="truncate")   # ecdn_report
    passes.need("k", "Set14", "file", 1, quantize="round")
    passes.need("k", "Set14", "file", 1, quantize="round")     # paper_gray
    passes.need("k", "Set14", "file", 1, quantize="truncate")  # ecdn_report: mixed
    first = passes.scope("k", "run-a")
    first.put("Set5", "file", "baby", out, 0.5, quantize="round")
    first.put("Set14", "file", "face", out, 0.5, quantize="round")
    kept = passes.scope("k", "run-b").get("Set5", "file", "baby")
    assert kept.quantized == "truncate" and kept.sr.dtype == np.uint8 and kept.sr.nbytes * 4 == out.nbytes
    assert np.array_equal(kept.sr, np.floor(np.clip(out.astype(np.float64), 0, 1) * 255).astype(np.uint8))
    rounded = np.round(np.clip(out.astype(np.float64), 0, 1) * 255).astype(np.uint8)
    first.put("Set5", "file", "bird", out, 0.5, quantize="round", quantized=rounded)  # not the others' mode
    assert np.array_equal(passes.scope("k", "run-b").get("Set5", "file", "bird").sr, kept.sr)
    mixed = passes.scope("k", "run-b").get("Set14", "file", "face")
    assert mixed.quantized is None and mixed.sr is out
    for mode in ("round", "truncate"):
        protocol = get_protocol("standard", quantize=mode)
        from_float = ImageScorer(out, hr, scale=4, gray=False).score(protocol)
        from_8bit = ImageScorer(quantize(out, mode), hr, scale=4, gray=False, quantized=True).score(protocol)
        assert from_float == from_8bit


def test_the_cells_own_8_bit_output_is_kept_when_the_others_quantise_alike():
    """A cell that quantised the output by the others' mode hands that array over instead of quantising again."""
    out = np.linspace(0, 1, 4 * 5 * 3, dtype=np.float32).reshape(4, 5, 3)
    mine = np.round(out.astype(np.float64) * 255).astype(np.uint8)
    passes = SharedPasses()
    passes.need("k", "Set5", "file", 2, quantize="round")  # this cell and paper_gray
    passes.scope("k", "run-a").put("Set5", "file", "baby", out, 0.5, quantize="round", quantized=mine)
    kept = passes.scope("k", "run-b").get("Set5", "file", "baby")
    assert kept.quantized == "round" and kept.sr is mine


def _experiment(tmp_path: Path, dataset: Path) -> Path:
    path = tmp_path / "shared.yaml"
    path.write_text(f"""
name: shared
datasets: [{dataset}]
scales: [2]
device: cpu
runtime: eager
measure: {{latency: true, warmup: 0, repeats: 2, memory: false, out_height: 48, out_width: 48}}
models:
  - {{model: carn_m, weights: carn_m}}
  - {{model: ecdn_m, weights: ecdn_m, bn_modes: [eval, batch]}}
  - {{model: carn_m, weights: carn_m, protocol: paper_gray}}
  - {{model: carn_m, weights: carn_m, protocol: ecdn_report, bn_modes: [batch]}}
  - {{model: ecdn_m, weights: ecdn_m, protocol: ecdn_report, bn_modes: [batch]}}
""")
    return path


@pytest.mark.slow
def test_cells_differing_only_in_protocol_share_passes_and_keep_their_numbers(tmp_path, tiny_dataset, mlflow_uri,
                                                                             monkeypatch):
    calls: dict[str, int] = {}
    real = evaluate_module.forward_pass

    def counting(model, lr_u8, scale, device="cpu"):
        arch = getattr(model, "arch", "?")
        calls[arch] = calls.get(arch, 0) + 1
        return real(model, lr_u8, scale, device)

    monkeypatch.setattr(evaluate_module, "forward_pass", counting)
    outcomes = run_benchmark(load_experiment(_experiment(tmp_path, tiny_dataset)), tracking_uri=mlflow_uri,
                             progress=False)
    monkeypatch.setattr(evaluate_module, "forward_pass", real)
    assert [o.status for o in outcomes] == ["computed"] * 6
    # 3 images: CARN-M once for its three cells (no BatchNorm: batch mode is eval mode); ECDN-M once per BN mode
    assert calls == {"carn_m": 3, "ecdn_m": 6}

    client = tracking.client(mlflow_uri)
    exp = client.get_experiment_by_name("shared")
    runs = client.search_runs([exp.experiment_id], filter_string="tags.`srbench.kind` = 'cell'")
    by = {(r.data.tags["srbench.model"], r.data.tags["protocol.name"], r.data.tags["srbench.bn_mode"]): r
          for r in runs}
    key = dataset_id(tiny_dataset)
    for (model, protocol, bn_mode), run in by.items():
        reference = load_eval_model(model, resolve_weights(model, model), device="cpu", scales=(2,))
        set_bn_mode(reference, bn_mode)
        alone = evaluate(reference, str(tiny_dataset), 2, get_protocol(protocol, bn_mode=bn_mode), progress=False)
        color = get_protocol(protocol).color
        assert run.data.metrics[f"psnr_{color}.{key}"] == alone.psnr, (model, protocol, bn_mode)
        assert run.data.metrics[f"ssim_{color}.{key}"] == alone.ssim, (model, protocol, bn_mode)

    source = by[("carn_m", "standard", "eval")]
    for borrower in (by[("carn_m", "paper_gray", "eval")], by[("carn_m", "ecdn_report", "batch")]):
        assert borrower.data.tags["srbench.shared_from"] == source.info.run_id
        assert borrower.data.metrics["latency_ms"] == source.data.metrics["latency_ms"]  # measured once
        assert borrower.data.metrics[f"forward_s.{key}"] == 0.0  # no pass of its own
        local = client.download_artifacts(borrower.info.run_id, f"per_image/{key}.csv", str(tmp_path))
        with open(local) as fh:
            assert [row["shared"] for row in csv.DictReader(fh)] == ["1", "1", "1"]
    assert "srbench.shared_from" not in source.data.tags and source.data.metrics[f"forward_s.{key}"] > 0
    ecdn_report = by[("ecdn_m", "ecdn_report", "batch")]
    assert ecdn_report.data.tags["srbench.shared_from"] == by[("ecdn_m", "standard", "batch")].info.run_id
    assert "srbench.shared_from" not in by[("ecdn_m", "standard", "batch")].data.tags  # eval's pass is not batch's
