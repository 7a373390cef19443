"""External models (srbench.models.external, srbench.eval.model_check): by file path and by entry point, benchmarked on Set5
x2 against a PSNR the test computes itself with scikit-image; code hashes; one-line errors for broken builders."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srbench.core.errors import SrbenchError
from srbench.eval.weights import load_eval_model, resolve_weights
from srbench.models import create_model, external
from srbench.track import tracking
from srbench.track.experiment import load_experiment
from srbench.track.benchmark import run_benchmark

# A nearest-neighbour x2 upsampler without a scale argument (it declares its one scale), importing a sibling module.
NN_FILE = '''
import torch.nn.functional as F
from torch import nn
from nn_helpers import upsample_nearest

class NearestX2(nn.Module):
    scales = (2,)

    def forward(self, x):
        return upsample_nearest(x, 2)

def build():
    return NearestX2()
'''
NN_HELPERS = '''
import torch.nn.functional as F

def upsample_nearest(x, s):
    return F.interpolate(x, scale_factor=s, mode="nearest")
'''
# The same network as an installed package whose builder takes forward(x, scale), registered as an entry point.
EP_NET = '''
from torch import nn
from .ops import upsample_nearest

class Nearest(nn.Module):
    def forward(self, x, scale):
        return upsample_nearest(x, scale)

def build(*, scales=(2, 3, 4)):
    return Nearest()
'''


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture()
def nn_file(tmp_path) -> Path:
    _write(tmp_path / "mynet" / "nn_helpers.py", NN_HELPERS)
    return _write(tmp_path / "mynet" / "models.py", NN_FILE)  # named like srbench's own package on purpose


@pytest.fixture()
def entry_point(tmp_path, monkeypatch) -> str:
    """An installed distribution (a dist-info with entry_points.txt on sys.path) registering ``nn_ep``."""
    site = tmp_path / "site"
    _write(site / "srb_ep_pkg" / "__init__.py", "")
    _write(site / "srb_ep_pkg" / "ops.py", NN_HELPERS)
    _write(site / "srb_ep_pkg" / "net.py", EP_NET)
    _write(site / "srb_ep_pkg-0.1.dist-info" / "METADATA", "Metadata-Version: 2.1\nName: srb-ep-pkg\nVersion: 0.1\n")
    _write(site / "srb_ep_pkg-0.1.dist-info" / "entry_points.txt", "[srbench.models]\nnn_ep = srb_ep_pkg.net:build\n")
    monkeypatch.syspath_prepend(str(site))
    return "nn_ep"


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _expected_psnr_set5_x2(root: Path) -> float:
    """Mean Y-PSNR of nearest-neighbour x2 upsampling of Set5's shipped LR, computed with scikit-image only."""
    from skimage.color import rgb2ycbcr
    from skimage.metrics import peak_signal_noise_ratio

    # skimage's Y is the protocol's: 16 + 65.481 R + 128.553 G + 24.966 B on [0, 1] RGB
    pure = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], np.uint8)
    assert rgb2ycbcr(pure)[0, :, 0] == pytest.approx([16 + 65.481, 16 + 128.553, 16 + 24.966, 235.0], abs=1e-9)
    values = []
    for hr_file in sorted((root / "Set5" / "HR").glob("*.png")):
        hr = _read(hr_file)
        hr = hr[: hr.shape[0] // 2 * 2, : hr.shape[1] // 2 * 2]
        lr = _read(root / "Set5" / "LR_bicubic" / "X2" / f"{hr_file.stem}x2.png")
        sr = lr.repeat(2, axis=0).repeat(2, axis=1)
        y_sr, y_hr = rgb2ycbcr(sr)[2:-2, 2:-2, 0], rgb2ycbcr(hr)[2:-2, 2:-2, 0]
        values.append(peak_signal_noise_ratio(y_hr, y_sr, data_range=255))
    assert len(values) == 5
    return float(np.mean(values))


@pytest.mark.slow
def test_file_and_entry_point_models_benchmark_to_the_skimage_psnr(tmp_path, nn_file, entry_point, benchmark_root,
                                                                    mlflow_uri):
    import sys
    models_before = sys.modules.get("models")
    exp = tmp_path / "ext.yaml"
    exp.write_text(f"""
name: ext
datasets: [Set5]
scales: [2]
device: cpu
measure: {{latency: true, warmup: 0, repeats: 1, memory: false, out_height: 32, out_width: 32}}
models:
  - {{model: "{nn_file}:build", label: NN file}}
  - {{model: {entry_point}, label: NN entry point}}
""")
    outcomes = run_benchmark(load_experiment(exp), tracking_uri=mlflow_uri, progress=False)
    assert [o.status for o in outcomes] == ["computed", "computed"]
    expected = _expected_psnr_set5_x2(benchmark_root)
    client = tracking.client(mlflow_uri)
    runs = client.search_runs([client.get_experiment_by_name("ext").experiment_id], "tags.`srbench.kind` = 'cell'")
    assert len(runs) == 2
    for run in runs:
        assert run.data.metrics["psnr_y.Set5"] == pytest.approx(expected, abs=1e-6)
        assert run.data.metrics["params"] == 0
        assert len(run.data.tags["srbench.model_code"]) == 16
    by_label = {r.data.tags["srbench.label"]: r.data.tags for r in runs}
    assert by_label["NN file"]["srbench.model"] == f"{nn_file}:build"
    assert by_label["NN entry point"]["srbench.model"] == "nn_ep"
    # the file was imported under a private name, not as the user's "models"
    assert sys.modules.get("models") is models_before
    assert external.private_module_name(nn_file) in sys.modules
    again = run_benchmark(load_experiment(exp), tracking_uri=mlflow_uri, progress=False)
    assert [o.status for o in again] == ["cached", "cached"]


def test_code_hash_covers_project_local_imports_only(tmp_path):
    def hash_of(folder: str, helpers: str) -> tuple[str, tuple]:
        _write(tmp_path / folder / "nn_helpers.py", helpers)
        ext = external.find(f"{_write(tmp_path / folder / 'net.py', NN_FILE)}:build")
        return ext.code_hash, ext.files

    base, files = hash_of("a", NN_HELPERS)
    assert files == ("net.py", "nn_helpers.py")  # the sibling module, not torch
    assert hash_of("b", NN_HELPERS)[0] == base  # same code elsewhere: same hash
    assert hash_of("c", '"""A docstring."""\n# a comment\n' + NN_HELPERS)[0] == base  # documentation does not count
    assert hash_of("d", NN_HELPERS.replace('"nearest"', '"bilinear"'))[0] != base  # what it computes does


def test_module_spec_and_scale_declarations(tmp_path, monkeypatch, entry_point):
    model = create_model("srb_ep_pkg.net:build", scales=(2, 4))
    assert model.scales == (2, 4) and model.arch == "srb_ep_pkg.net:build"
    assert external.find("srb_ep_pkg.net:build").files == ("net.py", "ops.py")
    _write(tmp_path / "m" / "nn_helpers.py", NN_HELPERS)
    single = create_model(f"{_write(tmp_path / 'm' / 'net.py', NN_FILE)}:build")
    assert single.scales == (2,)
    import torch
    assert single(torch.zeros(1, 3, 4, 4), 2).shape == (1, 3, 8, 8)  # the scale argument is checked and dropped
    with pytest.raises(SrbenchError, match="x2 only"):
        single(torch.zeros(1, 3, 4, 4), 4)


BROKEN = {
    "import error": ("import not_a_module_anywhere\n", "ModuleNotFoundError"),
    "syntax error": ("def build(:\n", "SyntaxError"),
    "missing builder": ("def make():\n    pass\n", "no 'build'"),
    "builder needs arguments": ("def build(width):\n    pass\n", "callable with no arguments"),
    "not a module": ("def build():\n    return 3\n", "not a torch.nn.Module"),
    "forward signature": ("from torch import nn\nclass M(nn.Module):\n    def forward(self, x, scale, extra):\n"
                          "        return x\ndef build():\n    return M()\n", "forward(x, scale) or forward(x)"),
    "no declared scale": ("from torch import nn\nclass M(nn.Module):\n    def forward(self, x):\n        return x\n"
                          "def build():\n    return M()\n", "must declare the one scale"),
    "wrong shape": ("from torch import nn\nclass M(nn.Module):\n    def forward(self, x, scale):\n        return x\n"
                    "def build():\n    return M()\n", "expected (1, 3, 64, 64)"),
    "0-255 output": ("import torch.nn.functional as F\nfrom torch import nn\nclass M(nn.Module):\n"
                     "    def forward(self, x, scale):\n        return 255 * F.interpolate(x, scale_factor=scale)\n"
                     "def build():\n    return M()\n", "not an RGB image in [0, 1]"),
    "forward raises": ("from torch import nn\nclass M(nn.Module):\n    def forward(self, x, scale):\n"
                       "        raise RuntimeError('boom')\ndef build():\n    return M()\n", "RuntimeError: boom"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_builder_is_one_line_naming_the_file(tmp_path, case):
    source, needle = BROKEN[case]
    path = _write(tmp_path / case.replace(" ", "_").replace("-", "_") / "net.py", source)
    spec = f"{path}:build"
    with pytest.raises(SrbenchError) as exc:
        load_eval_model(spec, resolve_weights(None, spec), device="cpu", scales=[2])
    message = str(exc.value)
    assert str(path) in message and needle in message and "\n" not in message


def test_unknown_names_and_missing_files(tmp_path, entry_point):
    with pytest.raises(SrbenchError, match="nn_ep"):  # installed entry points are among the suggestions
        create_model("nn_eq")
    with pytest.raises(SrbenchError, match="does not exist"):
        create_model(f"{tmp_path / 'nope.py'}:build")
    with pytest.raises(SrbenchError, match="importing no_such_pkg_xyz"):
        create_model("no_such_pkg_xyz.mod:build")
