"""LPIPS as a declared metric: the protocol knob, the default rule (Table 1's cells only), the per-image CSV column and
the mean metric, the cell identity, and the MLflow dataset inputs, run names and experiment kind of cell runs.

The expected per-image LPIPS values are recomputed here from the images (MATLAB-bicubic SR, the protocol's crop and
range written out by hand) with the independent numpy forward of tests/lpips_numpy.py, never with the module under
test; tests/test_iqa_calibration.py checks the module against pyiqa's published LPIPS values."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from srbench.core.errors import SrbenchError
from srbench.eval.protocol import get_protocol
from lpips_numpy import numpy_lpips

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def net():
    from srbench.eval.lpips import load_lpips, lpips_weights_path
    try:
        lpips_weights_path()
    except SrbenchError as exc:
        pytest.skip(str(exc))
    return load_lpips()


# ---------------------------------------------------------------------------------------------- protocol knob
def test_lpips_input_knob_per_preset():
    assert get_protocol("standard").lpips_input == "minus_one_one"
    assert get_protocol("paper_gray").lpips_input == "minus_one_one"
    assert get_protocol("ecdn_report").lpips_input == "zero_one"   # compare.py: ToTensor() images into LPIPS
    assert get_protocol("standard").as_dict()["lpips_input"] == "minus_one_one"   # logged as protocol.lpips_input
    with pytest.raises(SrbenchError, match="lpips_input='unit' is not one of minus_one_one, zero_one"):
        get_protocol("standard", lpips_input="unit")


def test_lpips_pair_applies_border_and_range(net):
    from srbench.eval.scoring import lpips_pair
    rng = np.random.default_rng(3)
    hr = rng.integers(0, 256, (56, 60, 3), dtype=np.uint8)
    sr = np.clip(hr.astype(int) + rng.integers(-20, 21, hr.shape), 0, 255).astype(np.uint8)
    std = lpips_pair(sr, hr, scale=4, protocol=get_protocol("standard"), net=net)
    assert std == pytest.approx(numpy_lpips(sr[4:-4, 4:-4] / 127.5 - 1, hr[4:-4, 4:-4] / 127.5 - 1), rel=1e-4)
    rep = lpips_pair(sr, hr, scale=4, protocol=get_protocol("ecdn_report"), net=net)
    assert rep == pytest.approx(numpy_lpips(sr / 255, hr / 255), rel=1e-4)
    assert std > 0 and abs(rep - std) > 0.1 * std   # a different range and region: a different number
    with pytest.raises(SrbenchError, match="image tiny: 36x36 px is too small for LPIPS at x4"):
        lpips_pair(sr[:36, :36], hr[:36, :36], scale=4, protocol=get_protocol("standard"), net=net, name="tiny")


# ---------------------------------------------------------------------------------------------- declared metrics
def test_default_rule_on_the_shipped_benchmark(benchmark_root):
    from srbench.track.experiment import load_experiment
    from srbench.track.benchmark import plan
    cells, _ = plan(load_experiment(REPO / "experiments" / "benchmark.yaml"))
    on, off = set(), set()
    for cell in cells:
        proto = cell.entry.protocol or "standard"
        for d, names in cell.metrics.items():
            assert names[:2] == ("psnr", "ssim")
            (on if "lpips" in names else off).add((d, cell.scale, proto))
    # Table 1's cells: Set5, Set14, B100 at x4 under every protocol, and every ecdn_report cell
    assert {("Set5", 4, "standard"), ("Set14", 4, "standard"), ("B100", 4, "standard")} <= on
    assert {(d, 4, "ecdn_report") for d in ("Set5", "Set14", "B100")} <= on
    assert not any(p == "ecdn_report" for _, _, p in off)
    # ... and nowhere else
    assert {(d, s) for d, s, _ in on} == {(d, 4) for d in ("Set5", "Set14", "B100")}
    assert ("Urban100", 4, "standard") in off and ("Set5", 2, "standard") in off


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "e.yaml"
    path.write_text(text)
    return path


def test_declared_metrics_validation_and_precedence(tmp_path, tiny_dataset):
    from srbench.track.experiment import load_experiment
    from srbench.track.benchmark import plan
    with pytest.raises(SrbenchError, match=r"metric 'lpip' is unknown \(did you mean 'lpips'\?\)"):
        load_experiment(_yaml(tmp_path, "name: t\nmetrics: [psnr, ssim, lpip]\nmodels: [{model: bicubic}]\n"))
    with pytest.raises(SrbenchError, match="must list ssim"):
        load_experiment(_yaml(tmp_path, "name: t\nmodels: [{model: bicubic, metrics: [psnr, lpips]}]\n"))
    exp = load_experiment(_yaml(tmp_path, f"""
name: t
datasets: [{tiny_dataset}]
scales: [2]
metrics: [psnr, ssim, lpips]
models:
  - {{model: bicubic}}
  - {{model: bicubic, label: plain, metrics: [psnr, ssim]}}
"""))
    cells, _ = plan(exp)
    assert [c.metrics[str(tiny_dataset)] for c in cells] == [("psnr", "ssim", "lpips"), ("psnr", "ssim")]


# ---------------------------------------------------------------------------------------------- the runner
def _experiment(tmp_path: Path, dataset: Path, *, protocol: str, metrics: str = "") -> Path:
    path = tmp_path / f"{protocol}{'_m' if metrics else ''}.yaml"
    path.write_text(f"""
name: lp
protocol: {protocol}
datasets: [{dataset}]
scales: [4]
device: cpu
{metrics}
measure: {{latency: false, memory: false, out_height: 48, out_width: 48}}
models:
  - {{model: bicubic, bn_modes: [{'batch' if protocol == 'ecdn_report' else 'eval'}]}}
""")
    return path


def _per_image(client, run_id: str, key: str, tmp_path: Path) -> list[dict]:
    local = client.download_artifacts(run_id, f"per_image/{key}.csv", str(tmp_path / run_id))
    with open(local, newline="") as fh:
        return list(csv.DictReader(fh))


def _expected_lpips(dataset: Path, protocol) -> dict[str, float]:
    """Independent of the code under test: the HR files read with Pillow, the LR and the bicubic SR made with the
    MATLAB-compatible imresize (checked against MATLAB's own LR files in tests/test_imresize.py; the model hands the
    SR on as float32 k/255, which the protocol rounds or truncates back to 8 bits), the protocol's crop and LPIPS range
    written out, and LPIPS from the numpy forward of tests/lpips_numpy.py."""
    from PIL import Image

    from srbench.core.imresize import imresize
    out = {}
    for path in sorted((dataset / "HR").glob("*.png")):
        with Image.open(path) as im:
            hr = np.asarray(im, dtype=np.uint8)
        hr = hr if hr.ndim == 3 else np.repeat(hr[..., None], 3, axis=2)  # LPIPS sees a gray image as RGB
        sr = (imresize(imresize(hr, 0.25), 4).astype(np.float32) / np.float32(255)).astype(np.float64) * 255
        sr = (np.round(sr) if protocol.quantize == "round" else np.floor(sr)).astype(np.uint8)
        b = protocol.border_for(4)
        if b:
            sr, hr = sr[b:-b, b:-b], hr[b:-b, b:-b]
        if protocol.lpips_input == "minus_one_one":
            out[path.stem] = numpy_lpips(sr / 127.5 - 1.0, hr / 127.5 - 1.0)
        else:
            out[path.stem] = numpy_lpips(sr / 255.0, hr / 255.0)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["standard", "ecdn_report"])
def test_runner_logs_per_image_and_mean_lpips(tmp_path, tiny_dataset, mlflow_uri, net, protocol):
    from srbench.data.datasets import dataset_fingerprint, dataset_id
    from srbench.track import tracking
    from srbench.track.experiment import load_experiment
    from srbench.track.benchmark import run_benchmark

    client = tracking.client(mlflow_uri)
    key = dataset_id(tiny_dataset)
    # not a Table 1 dataset and not declared: no LPIPS (ecdn_report entries measure it by default)
    plain = run_benchmark(load_experiment(_experiment(tmp_path, tiny_dataset, protocol=protocol)),
                          tracking_uri=mlflow_uri, progress=False)
    assert [o.status for o in plain] == ["computed"]
    rows = _per_image(client, plain[0].run_id, key, tmp_path)
    default_on = protocol == "ecdn_report"
    assert ("lpips." + key in plain[0].metrics) == default_on
    assert all((r["lpips"] != "") == default_on for r in rows)

    declared = run_benchmark(load_experiment(_experiment(tmp_path, tiny_dataset, protocol=protocol,
                                                         metrics="metrics: [psnr, ssim, lpips]")),
                             tracking_uri=mlflow_uri, progress=False)
    # which metrics are on is part of the cell identity: the declared cell is computed, not reused ...
    assert [o.status for o in declared] == (["cached"] if default_on else ["computed"])
    run = client.get_run(declared[0].run_id)
    rows = _per_image(client, run.info.run_id, key, tmp_path)
    assert list(rows[0]) == ["name", "psnr", "ssim", "forward_s", "gray", "lpips", "shared"]
    proto = get_protocol(protocol)
    expected = _expected_lpips(tiny_dataset, proto)
    got = {r["name"]: float(r["lpips"]) for r in rows}
    assert got == pytest.approx(expected, rel=1e-4)  # float32 network against the float64 numpy forward
    assert run.data.metrics[f"lpips.{key}"] == pytest.approx(np.mean(list(expected.values())), rel=1e-4)
    assert run.data.tags["protocol.lpips_input"] == proto.lpips_input
    assert run.data.tags["srbench.lpips_datasets"] == key

    # the MLflow UI: run name, one dataset input with the fingerprint as digest, the experiment's kind
    bn = "batch" if default_on else "eval"
    assert run.info.run_name == f"bicubic x4 bn={bn} {protocol}"
    inputs = run.inputs.dataset_inputs
    assert len(inputs) == 1 and inputs[0].dataset.name == key
    fingerprint = dataset_fingerprint(tiny_dataset, 4, "file")
    assert fingerprint.startswith(inputs[0].dataset.digest) and len(inputs[0].dataset.digest) == 16
    assert run.data.tags[f"srbench.dataset_fingerprint.{key}"] == fingerprint
    assert {t.key: t.value for t in inputs[0].tags} == {"mlflow.data.context": "evaluation"}
    exp = client.get_experiment_by_name("lp")
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"


def test_existing_experiments_get_the_kind_tag(mlflow_uri):
    from srbench.track import tracking
    client = tracking.client(mlflow_uri)
    exp_id = client.create_experiment("old")   # made before the tag existed
    assert "mlflow.experimentKind" not in client.get_experiment(exp_id).tags
    assert tracking.get_or_create_experiment(client, "old") == exp_id
    assert client.get_experiment(exp_id).tags["mlflow.experimentKind"] == "custom_model_development"


def test_run_names_say_model_weights_scale_bn_and_protocol():
    from srbench.track.ui_meta import cell_run_name
    assert cell_run_name("ecdn", "ecdn_half", 4, "batch", "ecdn_report") == "ecdn (ecdn_half) x4 bn=batch ecdn_report"
    assert cell_run_name("bicubic", "none", 2, "eval", "standard") == "bicubic x2 bn=eval standard"
    rid = "0123456789abcdef" * 2
    assert cell_run_name("ecdn", f"run:{rid}:best", 3, "eval", "standard") == \
        "ecdn (run:01234567:best) x3 bn=eval standard"
    assert cell_run_name("carn", "/some/dir/my.pth", 4, "eval", "paper_gray") == "carn (my.pth) x4 bn=eval paper_gray"
