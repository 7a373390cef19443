"""The released checkpoints reproduce calibration.md (../shared/reference) within 0.01 dB PSNR / 0.0002 SSIM.

Independent reference: the values in calibration.md were measured with the authors' protocol outside this project.
"""

from __future__ import annotations

import pytest

from srbench.eval.evaluate import evaluate
from srbench.eval.protocol import get_protocol
from srbench.models import create_model, set_bn_mode

# calibration.md, "Set5, mean PSNR / SSIM" and "Set5 per image, x4"
SET5_MEAN = {
    ("carn_m", 2): (37.678, 0.9595), ("carn_m", 3): (34.058, 0.9248), ("carn_m", 4): (31.883, 0.8910),
    ("ecdn", 4): (31.750, 0.8891), ("ecdn_m", 2): (36.068, 0.9494),
}
CARN_M_X4 = {"baby": (33.659, 0.8920), "bird": (34.424, 0.9385), "butterfly": (27.988, 0.9187),
             "head": (32.917, 0.7953), "woman": (30.428, 0.9105)}


@pytest.fixture(scope="module")
def released(benchmark_root):
    return {name: create_model(name, weights=name) for name in ("carn_m", "ecdn", "ecdn_m")}


@pytest.mark.parametrize("model,scale", sorted(SET5_MEAN))
def test_set5_means(released, model, scale):
    net = set_bn_mode(released[model], "eval")
    result = evaluate(net, "Set5", scale, get_protocol("standard"), progress=False)
    psnr, ssim = SET5_MEAN[(model, scale)]
    assert result.psnr == pytest.approx(psnr, abs=0.01)
    assert result.ssim == pytest.approx(ssim, abs=0.0002)


def test_carn_m_set5_per_image_x4(released):
    result = evaluate(released["carn_m"], "Set5", 4, get_protocol("standard"), progress=False)
    got = {r.name: (r.psnr, r.ssim) for r in result.images}
    assert set(got) == set(CARN_M_X4)
    for name, (psnr, ssim) in CARN_M_X4.items():
        assert got[name][0] == pytest.approx(psnr, abs=0.01), name
        assert got[name][1] == pytest.approx(ssim, abs=0.0002), name


def test_bn_mode_is_a_real_knob(released):
    """Per-image BatchNorm statistics change ECDN's numbers (calibration.md: the authors' images used them)."""
    proto = get_protocol("standard")
    eval_psnr = evaluate(set_bn_mode(released["ecdn"], "eval"), "Set5", 4, proto, progress=False).psnr
    batch_psnr = evaluate(set_bn_mode(released["ecdn"], "batch"), "Set5", 4, proto.with_(bn_mode="batch"),
                          progress=False).psnr
    set_bn_mode(released["ecdn"], "eval")
    assert abs(eval_psnr - batch_psnr) > 0.05
    # running statistics are untouched by batch mode: eval gives the calibrated value again
    again = evaluate(released["ecdn"], "Set5", 4, proto, progress=False).psnr
    assert again == pytest.approx(SET5_MEAN[("ecdn", 4)][0], abs=0.01)
