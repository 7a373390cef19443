"""Self-ensemble and tiling (srbench.eval.inference): the ensemble of an equivariant model is the model, of any model
the mean of the eight transformed outputs; a tile covering the image is bit-identical; overlapping tiles stay within the
stated tolerance on CARN-M; tiling is refused with per-image BatchNorm statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from srbench.core.errors import SrbenchError
from srbench.data.images import read_image
from srbench.eval.inference import Inference, SelfEnsemble, Tiled, apply_inference
from srbench.eval.scoring import quantize
from srbench.models import create_model, set_bn_mode


class PixelwiseNearest(nn.Module):
    """A 1x1 convolution (every pixel alike) then nearest-neighbour upsampling: equivariant to flips and rotations."""

    scales = (2, 3, 4)

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.mix = nn.Conv2d(3, 3, 1)

    def forward(self, x, scale):
        return F.interpolate(self.mix(x), scale_factor=scale, mode="nearest")


class Skewed(PixelwiseNearest):
    """Not equivariant: a 3x3 convolution with random (asymmetric) weights and a horizontal ramp."""

    def __init__(self) -> None:
        super().__init__()
        self.mix = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x, scale):
        ramp = torch.linspace(0, 0.2, x.shape[-1], device=x.device)
        return F.interpolate(self.mix(x) + ramp, scale_factor=scale, mode="nearest")


def _x(h=13, w=17) -> torch.Tensor:
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(1))


@torch.inference_mode()
def test_ensemble_of_an_equivariant_model_is_the_model():
    model = PixelwiseNearest().eval()
    x = _x()
    plain, ensembled = model(x, 3), SelfEnsemble(model)(x, 3)
    assert ensembled.shape == plain.shape == (1, 3, 39, 51)
    assert torch.allclose(ensembled, plain, rtol=0, atol=1e-6)
    assert np.array_equal(quantize(ensembled[0].permute(1, 2, 0).numpy(), "round"),
                          quantize(plain[0].permute(1, 2, 0).numpy(), "round"))


@torch.inference_mode()
def test_ensemble_is_the_mean_of_the_eight_transforms():
    model = Skewed().eval()
    x = _x()
    img = x[0].permute(1, 2, 0).numpy()

    def run(a: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None]
        return model(t, 2)[0].permute(1, 2, 0).numpy()

    outputs = []
    for mirrored in (img, img[:, ::-1]):
        for k in range(4):
            y = np.rot90(run(np.rot90(mirrored, k)), -k)
            outputs.append(y if mirrored is img else y[:, ::-1])
    expected = np.mean(outputs, axis=0)
    got = SelfEnsemble(model)(x, 2)[0].permute(1, 2, 0).numpy()
    assert np.abs(got - expected).max() < 1e-6
    assert np.abs(got - run(img)).max() > 1e-2  # the test can fail: this model is not equivariant


@pytest.fixture(scope="module")
def carn_m_and_bird(benchmark_root):
    model = create_model("carn_m", weights="carn_m").to(memory_format=torch.channels_last)
    lr = read_image(benchmark_root / "Set5" / "LR_bicubic" / "X4" / "birdx4.png")  # 72x72
    x = torch.from_numpy(lr).permute(2, 0, 1)[None].float().div(255).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        return model, x, model(x, 4)


@torch.inference_mode()
def test_a_tile_covering_the_image_is_bit_identical(carn_m_and_bird):
    model, x, plain = carn_m_and_bird
    assert torch.equal(Tiled(model, 72, 0)(x, 4), plain)
    assert torch.equal(apply_inference(model, Inference(tile=100, tile_overlap=4))(x, 4), plain)
    assert apply_inference(model, Inference()) is model


@torch.inference_mode()
def test_tiles_with_overlap_beyond_the_receptive_field_match_untiled(carn_m_and_bird):
    model, x, plain = carn_m_and_bird
    # CARN-M's receptive field: a change at one LR pixel moves outputs at most 22 LR pixels away (the stated r)
    bumped = x.clone()
    bumped[..., 36, 36] += 0.5
    changed = (model(bumped, 4) - plain).abs().amax(dim=1)[0].nonzero()
    reach = max(abs(changed[:, 0].float() / 4 - 36).max().item(), abs(changed[:, 1].float() / 4 - 36).max().item())
    assert 18 <= reach <= 22
    tiled = Tiled(model, 32, 24)(x, 4)  # 3x3 tiles, overlap 24 >= r
    assert (tiled - plain).abs().max().item() <= 1e-5  # the stated tolerance: float rounding only
    q_tiled = quantize(tiled[0].permute(1, 2, 0).numpy(), "round").astype(int)
    q_plain = quantize(plain[0].permute(1, 2, 0).numpy(), "round").astype(int)
    assert np.abs(q_tiled - q_plain).max() <= 1 and (q_tiled != q_plain).mean() <= 1e-4
    seams = Tiled(model, 32, 0)(x, 4)  # without overlap the tile borders show
    assert (seams - plain).abs().max().item() > 0.05


def test_tiling_is_refused_in_batchnorm_batch_mode(tmp_path):
    model = create_model("ecdn_m")
    set_bn_mode(model, "batch")
    with pytest.raises(SrbenchError, match="batch mode"):
        Tiled(model, 8, 2)(torch.rand(1, 3, 20, 20), 2)
    with pytest.raises(SrbenchError, match="refused in BatchNorm batch mode"):
        Inference(tile=64).check_bn_mode("batch")
    Inference(ensemble="x8").check_bn_mode("batch")  # the ensemble is fine: each pass is one whole image
    from srbench.track.experiment import load_experiment
    path = tmp_path / "e.yaml"
    path.write_text("name: e\nmodels:\n  - {model: ecdn_m, weights: ecdn_m, bn_modes: [eval, batch], tile: 64}\n")
    with pytest.raises(SrbenchError, match="e.yaml.*tile is refused"):
        load_experiment(path)
    path.write_text("name: e\nmodels:\n  - {model: carn_m, ensemble: x4}\n")
    with pytest.raises(SrbenchError, match="ensemble 'x4' is not one of x8"):
        load_experiment(path)


def test_knobs_label_and_identity():
    from srbench.track.experiment import ModelEntry
    assert ModelEntry(model="carn_m", weights="carn_m", ensemble="x8").display == "carn_m+"
    assert ModelEntry(model="carn_m", weights="carn_m_half", ensemble="x8").display == "carn_m+ (carn_m_half)"
    assert ModelEntry(model="carn_m", tile=64, tile_overlap=8).display == "carn_m [tile 64/8]"
    assert Inference().as_dict() == {} and Inference(tile_overlap=3).as_dict() == {}
    assert Inference(ensemble="x8", tile=64).as_dict() == {"ensemble": "x8", "tile": 64, "tile_overlap": 32}


def test_evaluate_flags(benchmark_root, tiny_dataset, capsys):
    import json

    from srbench.cli import main
    base = ["evaluate", "--model", "carn_m", "--dataset", str(tiny_dataset), "--scale", "2", "--json", "--no-progress"]
    assert main(base) == 0
    plain = json.loads(capsys.readouterr().out)[0]
    assert main(base + ["--tile", "16", "--tile-overlap", "24"]) == 0
    tiled = json.loads(capsys.readouterr().out)[0]
    assert tiled["inference"] == {"tile": 16, "tile_overlap": 24}
    assert tiled["psnr"] == pytest.approx(plain["psnr"], abs=1e-3)
    assert main(["evaluate", "--model", "ecdn_m", "--bn-mode", "batch", "--tile", "16", "--no-progress"]) == 2
    assert "refused in BatchNorm batch mode" in capsys.readouterr().err
