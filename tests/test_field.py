"""The field's released models in the registry (:mod:`srbench.models.field`, :mod:`srbench.models.zoo`): strict loads
of every released file, the adapter (keys unchanged, range converted), single-scale families, weights per scale, the
input range in the cell key, the model check catching a wrong range, inference-only refusals.

Independent references: the files' own keys and shapes (strict load), the zoo manifest's checksums, the authors'
interfaces (the native ``forward(x)`` of each class, in its own range).
"""

from __future__ import annotations

import csv
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from srbench.core.errors import SrbenchError
from srbench.data import fetch
from srbench.eval.model_check import check_zoo_model
from srbench.eval.weights import ResolvedWeights, load_eval_model, resolve_weights
from srbench.models import create_model, has_batchnorm, input_range
from srbench.models.field import FAMILIES
from srbench.models.weights import CATALOGUE, NoWeightsAtScale, file_sha256, unwrap_checkpoint, weights_file

FIELD = sorted(n for n, r in CATALOGUE.items() if r.scale is not None)


def _file(name: str):
    try:
        return weights_file(CATALOGUE[name])
    except SrbenchError:
        pytest.skip(f"{CATALOGUE[name].filename} not in the store: run `make data`")


def _smooth(h: int = 24, w: int = 20) -> torch.Tensor:
    """A smooth RGB image in [0, 1] (seeded noise upsampled bicubically)."""
    base = torch.rand(1, 3, 5, 4, generator=torch.Generator().manual_seed(1))
    return F.interpolate(base, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)


def test_catalogue_rows_equal_the_zoo_manifest():
    with open(fetch.MANIFEST_DIR / "zoo.tsv", newline="") as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh, delimiter="\t")}
    for name in FIELD:
        record = CATALOGUE[name]
        row = rows[record.filename.removeprefix("zoo/")]
        assert (record.sha256, record.bytes, record.git_blob_sha1, record.url, record.licence) == (
            row["sha256"], int(row["bytes"]), row["git_blob_sha1"], row["source_url"], row["licence"]), name
        assert record.url == f"https://raw.githubusercontent.com/{record.repo.removeprefix('https://github.com/')}/" \
                             f"{record.commit}/{record.path}"


@pytest.mark.parametrize("name", FIELD)
def test_released_file_loads_strictly_into_the_native_class(name):
    """The file's keys and shapes are exactly the native class's (built with the record's constructor settings),
    and the adapted network the harness builds has the same state_dict keys."""
    record = CATALOGUE[name]
    path = _file(name)
    assert file_sha256(path) == record.sha256
    state, _ = unwrap_checkpoint(torch.load(path, map_location="cpu", weights_only=True), path)
    native = FAMILIES[record.arch].network(**record.constructor)
    native.load_state_dict(state, strict=True)
    assert sum(p.numel() for p in native.parameters()) == record.params
    adapted = create_model(record.arch, scales=record.scale, weights=name)  # catalogue path: checksum + strict
    assert list(adapted.state_dict()) == list(native.state_dict())
    assert isinstance(adapted, FAMILIES[record.arch].network) and not has_batchnorm(adapted)


@pytest.mark.parametrize("name", FIELD)
def test_output_shape_range_and_native_equivalence(name):
    record = CATALOGUE[name]
    _file(name)
    model = create_model(record.arch, scales=record.scale, weights=record.arch)  # the family name, per scale
    x = _smooth()
    with torch.no_grad():
        y = model(x, record.scale)
        native = FAMILIES[record.arch].network.forward(model, x * record.input_range) / record.input_range
    assert y.shape == (1, 3, 24 * record.scale, 20 * record.scale)
    assert -0.1 < float(y.min()) and float(y.max()) < 1.1  # an SR image of a smooth [0, 1] input
    assert torch.equal(y, native)  # the adapter is the authors' forward in their range, nothing more
    with pytest.raises(SrbenchError, match="single-scale"):
        model(x, 5 - record.scale // 2 if record.scale != 3 else 2)


@pytest.mark.parametrize("arch", sorted(FAMILIES))
def test_a_wrong_input_range_is_caught_by_the_model_check(arch):
    """Declaring the other range (RFDN, RLFN, FMEN work in [0, 255], the rest in [0, 1]) fails before anything is
    measured, through the harness's own path (load_eval_model), with the declared range named. The right range
    passes. The [0, 255] networks fed [0, 1] pass the noise percentiles and are caught by the smooth test image."""
    record = CATALOGUE[f"{arch}_x4"]
    wrong = 1.0 if record.input_range == 255.0 else 255.0
    path = _file(record.name)
    good = ResolvedWeights(name=record.name, path=path, sha256=record.sha256, source=record.url,
                           build=dict(record.build), kind="catalogue")
    load_eval_model(arch, good, device="cpu", scales=[4])
    bad = replace(good, build={**record.build, "input_range": wrong})
    with pytest.raises(SrbenchError, match=rf"input range \[0, {wrong:g}\]"):
        load_eval_model(arch, bad, device="cpu", scales=[4])


def test_an_untrained_field_network_fails_the_model_check():
    with pytest.raises(SrbenchError, match="smooth test image|not an RGB image"):
        check_zoo_model(create_model("rfdn"), "cpu")


def test_single_scale_builds():
    assert create_model("imdn").scales == (4,) and create_model("imdn", scales=2).scales == (2,)
    assert create_model("imdn", scales=(3,)).scales == (3,)
    with pytest.raises(SrbenchError, match="single-scale"):
        create_model("imdn", scales=(2, 3, 4))
    with pytest.raises(SrbenchError, match=r"only at x4; no x2"):
        create_model("rfdn", scales=2)
    with pytest.raises(SrbenchError, match="input_range"):
        create_model("rfdn", input_range=2.0)
    with pytest.raises(SrbenchError, match="no 'input_range' build argument"):
        create_model("carn_m", input_range=255.0)
    assert create_model("rfdn").input_range == 255.0 and create_model("imdn").input_range == 1.0
    assert create_model("imdn", weights="imdn_x2" if _file("imdn_x2") else None).scales == (2,)  # the file's scale


def test_weights_resolve_per_scale():
    for scale in (2, 3, 4):
        _file(f"imdn_x{scale}")
        weights = resolve_weights("imdn", "imdn", scale=scale)
        assert weights.name == f"imdn_x{scale}" and weights.build == {"scales": scale, "input_range": 1.0}
    with pytest.raises(NoWeightsAtScale, match=r"'rfdn' has released weights only at x4; none at x2"):
        resolve_weights("rfdn", "rfdn", scale=2)
    assert input_range("rfdn", {}) == 255.0 and input_range("carn_m", {}) == 1.0
    assert input_range("rfdn", {"scales": 4, "input_range": 1.0}) == 1.0


def test_an_experiment_skips_a_scale_without_weights_and_keys_the_range(benchmark_root):
    from srbench.track.experiment import Experiment, ModelEntry, narrow
    from srbench.track.cell_plan import cell_identity as _identity, plan

    _file("rfdn_x4")
    exp = Experiment(name="field_test", models=[ModelEntry(model="rfdn", weights="rfdn", bn_modes=["eval", "batch"]),
                                                ModelEntry(model="carn_m", weights="carn_m")],
                     datasets=["Set5"], scales=[2, 4])
    cells, skipped = plan(exp)
    assert sorted((c.entry.model, c.scale) for c in cells) == [("carn_m", 2), ("carn_m", 4), ("rfdn", 4)]
    assert [(s.label, s.scale, s.bn_mode) for s in skipped] == [("rfdn", 2, "-"), ("rfdn", 4, "batch")]
    assert "released weights only at x4" in skipped[0].note and "\n" not in skipped[0].note
    assert skipped[1].note == "x4 bn=batch: no BatchNorm, the same cell as bn=eval"  # BN-free: not a second cell
    rfdn = next(c for c in cells if c.entry.model == "rfdn")
    ident = _identity(rfdn, _protocol(), torch.device("cpu"), exp, fingerprint=lambda *a: "fp")
    assert ident["input_range"] == 255.0 and ident["weights"] == "rfdn_x4"
    carn = next(c for c in cells if c.entry.model == "carn_m")
    assert _identity(carn, _protocol(), torch.device("cpu"), exp, fingerprint=lambda *a: "fp")["input_range"] == 1.0
    wrong = replace(rfdn, weights=replace(rfdn.weights, build={"scales": 4, "input_range": 1.0}))
    assert _identity(wrong, _protocol(), torch.device("cpu"), exp, fingerprint=lambda *a: "fp") != ident
    with pytest.raises(SrbenchError, match=r"--models rfdn --scales 2: model 'rfdn' has released weights only at x4"):
        narrow(exp, models=["rfdn"], scales=[2])
    assert narrow(exp, models=["rfdn"], scales=[4]).models[0].model == "rfdn"


def _protocol():
    from srbench.eval.protocol import get_protocol
    return get_protocol("standard")


def test_evaluate_refuses_an_explicit_scale_without_weights(capsys):
    from srbench.cli import main

    assert main(["evaluate", "--model", "rfdn", "--scale", "2", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --model rfdn --scale 2:") and "only at x4" in err and err.count("\n") == 1


def test_field_models_are_inference_only(tmp_path):
    from srbench.train.ablate import load_ablation
    from srbench.train.config import TrainConfig

    with pytest.raises(SrbenchError, match="inference-only"):
        TrainConfig(model="imdn")
    path = tmp_path / "abl.yaml"
    path.write_text("name: x\nbase: experiments/train/ecdn_m_x2_cpu.yaml\nbudget: tiny\n"
                    "grid: {model: [carn_m, imdn]}\n")
    with pytest.raises(SrbenchError, match="'imdn' is a released model of the field"):
        load_ablation(path)


def test_report_rows_key_a_field_model_by_its_family():
    """The per-scale files of one field model (weights tags imdn_x2, imdn_x3, imdn_x4) make one report row."""
    from types import SimpleNamespace

    from srbench.report.collect import _run_row

    def run(weights: str, scale: int):
        tags = {"srbench.model": "imdn", "srbench.weights": weights, "srbench.scale": str(scale)}
        return SimpleNamespace(info=SimpleNamespace(run_id=f"{scale}" * 32, start_time=0, end_time=0),
                               data=SimpleNamespace(tags=tags, params={}, metrics={}))

    rows = [_run_row(run(f"imdn_x{s}", s)) for s in (2, 3, 4)]
    assert {(r["model"], r["weights"], r["label"]) for r in rows} == {("imdn", "imdn", "imdn")}
    assert [r["scale"] for r in rows] == [2, 3, 4]
    assert _run_row(run("carn_m_half", 4))["weights"] == "carn_m_half"  # other names unchanged
