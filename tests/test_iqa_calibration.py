"""LPIPS, PSNR and SSIM against the official values pyiqa publishes on its five calibration pairs.

Reference: github.com/chaofengc/IQA-PyTorch at 01ae427, ``ResultsCalibra/``: five 512x384 TID2013 pairs
(``ref_dir/``, ``dist_dir/``, ``I03 I04 I06 I08 I19.bmp``) and ``results_official.csv``, the scores of each metric's
original implementation ("org" in its ``ResultsCalibra.md``). The mirror keeps a copy in
``reference/iqa_calibration/`` (``$SRBENCH_MIRROR``, default ``../shared``); the files are sha256-pinned here.

How pyiqa's official values were made, and what of srbench is comparable:

* ``lpips``: the ``lpips`` package (v0.1, AlexNet) on the whole images, no resize, read as RGB and given as
  ``x / 127.5 - 1`` (``lpips.im2tensor``; pyiqa's own port does ``2 * x/255 - 1``, the same range). That is the
  ``minus_one_one`` knob with ``border=0``: compared through ``lpips_pair``. The CSV prints four significant digits,
  so the tolerance is half a unit of the last printed digit (5e-5 for 0.7237, 5e-6 for 0.05079): the published value
  is what our value rounds to. ``zero_one`` gives 0.62 on I03, 0.1 away: the test tells the two ranges apart.
* ``psnr``: ``skimage.metrics.peak_signal_noise_ratio`` on the 8-bit RGB images (3 channels, data range 255, no
  crop): the ``color='rgb'``, ``border=0`` knobs, compared through ``score_pair``; printed with two decimals, so the
  tolerance is 0.005 dB.
* ``ssim``: Wang's MATLAB ``ssim`` (11x11 Gaussian, sigma 1.5, K 0.01/0.03, L 255, valid window, mean of the map, its
  automatic downsampling removed) on MATLAB ``rgb2gray`` of the images. srbench has no knob that measures on
  ``rgb2gray`` (``color`` is BT.601 Y with offset 16, or RGB), so the protocol's SSIM is *not* comparable; what is
  comparable is the SSIM definition itself: ``srbench.eval.metrics.ssim`` on the ``rgb2gray`` planes written out
  here (0.2989/0.5870/0.1140 weights, rounded to 8 bits as MATLAB does for uint8). Tolerance: half a unit of the
  fourth decimal.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srbench.core.store import mirror_root
from srbench.eval.lpips import load_lpips
from srbench.eval.metrics import ssim
from srbench.eval.protocol import get_protocol
from srbench.eval.scoring import lpips_pair, score_pair

NAMES = ("I03", "I04", "I06", "I08", "I19")
SHA256 = {
    "results_official.csv": "92bea67a2009ce565c81d43f7d66bf39b73ecf43d3f8d91cf0d6f82ba8616b02",
    "ref_dir/I03.bmp": "28441215ca5b6358e6267717250a02eeec4fa5ef73ae454870b8426320f980a8",
    "ref_dir/I04.bmp": "c8500941a30397bc9e613a297e1286bdb955f49926148f58e7963d6e82b03c9f",
    "ref_dir/I06.bmp": "445c2c0fcb47898e9cd8e6de640f2545621d27cbb248c69ef2c84d8204723061",
    "ref_dir/I08.bmp": "b5d6738ece811f45f43c5bce425ad5d18d5c78466989001fe1129fcdd08efdab",
    "ref_dir/I19.bmp": "b8a2ede827d8db21c45f9ca1fb1c043bcec571b5a7243b4ea1aab3fb4feb7e0b",
    "dist_dir/I03.bmp": "bb817e7fef614dcc12b3a99af33ce3d201bc4d56c4827254c0bcc4fa6ea11151",
    "dist_dir/I04.bmp": "f3d685983aacd76b2c131579ea60cee345205a1169a4bd2ff5f3039ecf81729e",
    "dist_dir/I06.bmp": "726e043e99d8e07235c2535107d4bb6fc85bad0cb3cc7d6ba3ecf3364ac97539",
    "dist_dir/I08.bmp": "8ad39042d7e17d6c96ecfd8c4b9f0e98c803b303a92d368ef57bc9c3c40f5330",
    "dist_dir/I19.bmp": "e0c6000652d270d1c39b7094761d01e14695fc5aa7cb76b945be6391327ee886",
}
RGB2GRAY = (0.298936021293775, 0.587043074451121, 0.114020904255103)  # MATLAB rgb2gray: first row of inv(YIQ)


@pytest.fixture(scope="module")
def calibration() -> Path:
    """The mirror's copy of pyiqa's ResultsCalibra, every file checked against its pinned sha256."""
    mirror = mirror_root()
    root = mirror / "reference" / "iqa_calibration" if mirror is not None else None
    if root is None or not root.is_dir():
        pytest.skip("pyiqa's calibration pairs are not available: set SRBENCH_MIRROR to a folder with "
                    "reference/iqa_calibration/ (github.com/chaofengc/IQA-PyTorch at 01ae427, ResultsCalibra/)")
    for rel, sha in SHA256.items():
        assert hashlib.sha256((root / rel).read_bytes()).hexdigest() == sha, f"{root / rel} is not pyiqa's file"
    return root


@pytest.fixture(scope="module")
def official(calibration) -> dict[str, dict[str, float]]:
    """results_official.csv as {metric: {image name: value}} plus the printed text of each value."""
    with open(calibration / "results_official.csv", newline="") as fh:
        rows = {row["Method"]: row for row in csv.DictReader(fh)}
    return {metric: {n: rows[metric][f"{n}.bmp"] for n in NAMES} for metric in ("lpips", "psnr", "ssim")}


def _pair(root: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(distorted, reference) as 8-bit RGB, read with Pillow."""
    def read(rel):
        with Image.open(root / rel) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    return read(f"dist_dir/{name}.bmp"), read(f"ref_dir/{name}.bmp")


def _half_unit(printed: str) -> float:
    """Half a unit of the last decimal a value is printed with ('0.05079' -> 5e-6, '21.11' -> 5e-3)."""
    return 0.5 * 10.0 ** -len(printed.strip().split(".")[1])


def test_half_unit_of_the_printed_digits():
    assert _half_unit("0.7237") == pytest.approx(5e-5)
    assert _half_unit("0.05079") == pytest.approx(5e-6)
    assert _half_unit("21.11") == pytest.approx(5e-3)


def test_lpips_matches_the_official_values(calibration, official):
    net = load_lpips()
    protocol = get_protocol("standard", border=0)
    assert protocol.lpips_input == "minus_one_one"
    for name in NAMES:
        dist, ref = _pair(calibration, name)
        printed = official["lpips"][name]
        ours = lpips_pair(dist, ref, scale=1, protocol=protocol, net=net, name=name)
        assert abs(ours - float(printed)) <= _half_unit(printed), (name, ours, printed)
    # the other range is a different metric, far outside the tolerance (0.620 on I03)
    dist, ref = _pair(calibration, "I03")
    other = lpips_pair(dist, ref, scale=1, protocol=get_protocol("ecdn_report"), net=net)
    assert abs(other - float(official["lpips"]["I03"])) > 0.05


def test_rgb_psnr_matches_the_official_values(calibration, official):
    protocol = get_protocol("standard", color="rgb", border=0)
    for name in NAMES:
        dist, ref = _pair(calibration, name)
        psnr, _ = score_pair(dist, ref, scale=1, protocol=protocol, gray=False, name=name)
        printed = official["psnr"][name]  # two decimals (the CSV drops a trailing zero: 23.3 is 23.30 in the .md)
        assert abs(psnr - float(printed)) <= 0.005, (name, psnr, printed)


def _rgb2gray(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` of a uint8 image: the weighted sum, rounded half away from zero to uint8."""
    gray = img.astype(np.float64) @ np.array(RGB2GRAY)
    return np.floor(gray + 0.5).astype(np.uint8)


def test_ssim_definition_matches_the_official_values_on_rgb2gray(calibration, official):
    for name in NAMES:
        dist, ref = _pair(calibration, name)
        ours = ssim(_rgb2gray(dist).astype(np.float64), _rgb2gray(ref).astype(np.float64), data_range=255.0)
        printed = official["ssim"][name]
        assert abs(ours - float(printed)) <= _half_unit(printed), (name, ours, printed)
