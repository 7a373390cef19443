"""The zoo networks FMEN, BSRN, SAFMN and SPAN against their released x4 files: strict, checksum-verified loads;
parameter counts against the printed ones; output shape and range; and the released weights beating MATLAB bicubic
clearly on a Set5 image, which a wrong input range or a wrong layer order would not.

The released files come from the local mirror (``<mirror>/weights/zoo``, listed in its MANIFEST.tsv); the tests that
need them skip with a reason when it is absent. The sha256 values below are the MANIFEST's.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import pytest
import torch

from srbench.core.errors import SrbenchError
from srbench.core.imresize import imresize
from srbench.core.store import mirror_root
from srbench.data.images import crop_to_scale, read_image
from srbench.eval.metrics import psnr, rgb_to_y, shave
from srbench.models.weights import load_checkpoint

SCALE = 4


@dataclass(frozen=True)
class ZooCase:
    module: str
    cls: str
    filename: str
    sha256: str
    printed_params_m: float | None  # the count printed by the challenge report, in millions (None: none found)
    source: str


CASES = [
    ZooCase("fmen", "FMEN", "fmen_ntire2022_x4.pth",
            "f20cde0828068c5f50d3b64aa82c8a363fe6abc8d536d1a9fd4d09899f019bea", 0.341,
            "NTIRE 2022 ESR report, Table 1, team NJU_Jet (figs/results.png of ofsoundof/NTIRE2022_ESR)"),
    ZooCase("bsrn", "BSRN", "bsrn_ntire2022_x4.pth",
            "29ac393975ec709912282da97765daf722d9efd40589f4abcb95b3a407f62e40", 0.156,
            "NTIRE 2022 ESR report, Table 1, team XPixel (figs/results.png of ofsoundof/NTIRE2022_ESR)"),
    ZooCase("safmn", "SAFMN", "safmn_ntire2023_x4.pth",
            "93fe3d7175ef1446cfcb3a884ddf8bbb4391f31190e9d1bf6c6c1cb768f8b565", None,
            "no primary source read for the NTIRE 2023 entry's count; checked against the file's tensors only"),
    ZooCase("span", "SPAN", "span_ch28_ntire2024_x4.pth",
            "6c80f05048313289c6526e5fc9726688d7bb3dfdd6ae3c8b1e7dd09f601e5971", 0.151,
            "NTIRE 2024 ESR report (arXiv 2404.10343), Table 1, team XiaomiMM, as quoted by secondary sources"),
]


def _module(case: ZooCase) -> ModuleType:
    return importlib.import_module(f"srbench.models.{case.module}")


def _released_path(case: ZooCase):
    root = mirror_root()
    path = root / "weights" / "zoo" / case.filename if root else None
    if path is None or not path.is_file():
        pytest.skip(f"released file {case.filename} not in the mirror ({root}): set SRBENCH_MIRROR")
    return path


@pytest.fixture(scope="module", params=CASES, ids=[c.module for c in CASES])
def released(request) -> tuple[ZooCase, ModuleType, torch.nn.Module]:
    """(case, module, network built from RELEASED_X4 with the released weights loaded strictly, in eval mode)."""
    case = request.param
    module = _module(case)
    net = getattr(module, case.cls)(**module.RELEASED_X4)
    load_checkpoint(net, _released_path(case), sha256=case.sha256)
    return case, module, net.eval()


def _file_tensor_total(case: ZooCase) -> int:
    obj = torch.load(_released_path(case), map_location="cpu", weights_only=True)
    state = obj.get("params", obj)
    return sum(t.numel() for t in state.values())


def _upscale(net: torch.nn.Module, lr_u8: np.ndarray, input_range: float) -> np.ndarray:
    """The network's output for an 8-bit HxWx3 LR fed in [0, input_range], read back as [0, 1] float HxWx3 (assuming
    the network answers in ``input_range``)."""
    x = torch.from_numpy(lr_u8).permute(2, 0, 1)[None].float() * (input_range / 255.0)
    with torch.inference_mode():
        y = net(x)
    return y[0].permute(1, 2, 0).double().numpy() / input_range


def _y_psnr(sr01: np.ndarray, hr_u8: np.ndarray) -> float:
    """Y-channel PSNR with a ``SCALE``-pixel border crop of a [0, 1] SR image (rounded to 8 bits) against the HR."""
    sr_u8 = np.round(np.clip(sr01, 0.0, 1.0) * 255.0).astype(np.uint8)
    return psnr(shave(rgb_to_y(sr_u8), SCALE), shave(rgb_to_y(hr_u8), SCALE))


def test_module_constants():
    for case in CASES:
        module = _module(case)
        assert module.INPUT_RANGE in (1.0, 255.0), case.module
        assert module.RELEASED_X4["scale"] == SCALE, case.module
    assert {c.module: _module(c).INPUT_RANGE for c in CASES} == {"fmen": 255.0, "bsrn": 1.0, "safmn": 1.0,
                                                                 "span": 1.0}


def test_strict_load_every_key_is_a_parameter(released):
    case, _, net = released
    # load_checkpoint has verified the sha256 and that keys and shapes match exactly; no state outside parameters
    names = {name for name, _ in net.named_parameters()}
    assert set(net.state_dict()) == names, case.module


def test_params_match_the_file_and_the_printed_count(released):
    case, _, net = released
    params = sum(p.numel() for p in net.parameters())
    assert params == _file_tensor_total(case), case.module
    if case.printed_params_m is not None:
        assert round(params / 1e6, 3) == case.printed_params_m, f"{case.module}: {params} vs {case.source}"


class _AtScale(torch.nn.Module):
    """``forward(x, scale)`` around a single-scale network, as ``srbench.models.complexity`` calls models."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        return self.net(x)


@pytest.mark.parametrize("module,printed_g,source", [
    ("fmen", 22.28, "NTIRE 2022 ESR report, Table 1, NJU_Jet (FLOPs [G] column, 256x256 LR)"),
    ("span", 9.83, "NTIRE 2024 ESR report, Table 1, XiaomiMM, as quoted by secondary sources (256x256 LR)"),
])
def test_mult_adds_match_the_printed_flops(module, printed_g, source):
    """The challenge tables' "FLOPs" are multiply-accumulates of one 256x256 LR input: an independent check of every
    layer's width and kernel, not only of the parameter total. (BSRN is left out: its table prints 9.50 G where its
    convolutions and pointwise layers make 9.43 G; the organisers' counter treats its ``nn.Linear`` layers in its own
    way.)"""
    from srbench.models.complexity import mult_adds

    mod = importlib.import_module(f"srbench.models.{module}")
    net = getattr(mod, module.upper())(**mod.RELEASED_X4)
    macs = mult_adds(_AtScale(net), SCALE, out_hw=(256 * SCALE, 256 * SCALE))
    assert round(macs / 1e9, 2) == printed_g, source


def test_output_shape_and_range_on_a_set5_crop(released, benchmark_root):
    _, module, net = released
    lr = read_image(benchmark_root / "Set5" / "LR_bicubic" / f"X{SCALE}" / f"babyx{SCALE}.png")[40:72, 50:90]
    sr = _upscale(net, lr, module.INPUT_RANGE)
    assert sr.shape == (32 * SCALE, 40 * SCALE, 3)
    low, high = np.percentile(sr, [1, 99])
    assert -0.05 <= low and high <= 1.05, (low, high)
    assert abs(sr.mean() - lr.mean() / 255.0) < 0.02  # the image's brightness is kept


def _butterfly(benchmark_root) -> tuple[np.ndarray, np.ndarray]:
    hr = crop_to_scale(read_image(benchmark_root / "Set5" / "HR" / "butterfly.png"), SCALE)
    lr = read_image(benchmark_root / "Set5" / "LR_bicubic" / f"X{SCALE}" / f"butterflyx{SCALE}.png")
    return lr, hr


def test_released_weights_beat_bicubic_on_set5_butterfly(released, benchmark_root):
    """Bicubic gives 22.10 dB here (Y, border 4); each network gives 27.8-28.7 dB. A 3 dB margin is far from both."""
    case, module, net = released
    lr, hr = _butterfly(benchmark_root)
    bicubic = _y_psnr(imresize(lr, SCALE) / 255.0, hr)
    assert bicubic == pytest.approx(22.10, abs=0.01)
    assert _y_psnr(_upscale(net, lr, module.INPUT_RANGE), hr) > bicubic + 3.0, case.module


def test_a_wrong_input_range_is_caught(released, benchmark_root):
    """The same check with the range swapped (a [0, 255] network fed [0, 1] and vice versa) falls far below
    bicubic: what the sanity check above guards against."""
    case, module, net = released
    lr, hr = _butterfly(benchmark_root)
    wrong = 255.0 / module.INPUT_RANGE
    x = torch.from_numpy(lr).permute(2, 0, 1)[None].float() * (wrong / 255.0)
    with torch.inference_mode():
        sr = net(x)[0].permute(1, 2, 0).double().numpy() / module.INPUT_RANGE
    assert _y_psnr(np.nan_to_num(sr), hr) < 15.0, case.module


def test_safmn_rejects_inputs_under_16_pixels():
    from srbench.models.safmn import RELEASED_X4, SAFMN

    with pytest.raises(SrbenchError, match="at least 16x16"):
        SAFMN(**RELEASED_X4)(torch.rand(1, 3, 15, 40))


@pytest.mark.parametrize("factor", [4, 8, 16])
def test_safmn_pooling_equals_adaptive_max_pool(factor):
    """SAFMN's exportable pooling against torch's ``adaptive_max_pool2d`` (what the public code calls), bit for bit,
    over sizes with uneven cells (h, w not multiples of the factor) and cells up to 2 * factor - 1 long."""
    from srbench.models.safmn import adaptive_max_pool_by

    gen = torch.Generator().manual_seed(factor)
    for h in range(16, 72, 5):
        for w in (16, 17, 31, 33, 50, 79):
            x = torch.randn(1, 9, h, w, generator=gen)
            expected = torch.nn.functional.adaptive_max_pool2d(x, (h // factor, w // factor))
            assert torch.equal(adaptive_max_pool_by(x, factor), expected), (h, w)


def test_safmn_exports_to_onnx_with_dynamic_size():
    """The project's ONNX export (tracer warnings refused) accepts SAFMN's blocks: its pooling sizes are computed from
    the input size, which ``adaptive_max_pool2d`` cannot export. One block keeps this fast."""
    from srbench.eval.runtimes import export_bytes
    from srbench.models.safmn import SAFMN

    net = SAFMN(blocks=1).eval()
    assert len(export_bytes(net, "onnxruntime")) > 4 * sum(p.numel() for p in net.parameters())
