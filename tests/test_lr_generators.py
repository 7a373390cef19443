"""srbench.data.lr_generators: the harness's own steps around each library's bicubic (dtype, channel order, rounding,
mod-crop, caching), checked against hand-computed values, never against the library the generator calls."""

from __future__ import annotations

import numpy as np
import pytest

from srbench.core.errors import SrbenchError
from srbench.data import lr_generators
from srbench.data.lr_generators import GENERATORS, make_lr, split_lr_input, to_uint8

ALL = [pytest.param(n, marks=pytest.mark.skipif(not lr_generators.available(n), reason=f"{n}: package missing"))
       for n in GENERATORS]


def test_split_lr_input():
    assert split_lr_input("file") == ("file", True)
    assert split_lr_input("pil/full") == ("pil", False)
    for bad in ("file/full", "matlab", "pil/ful", ""):
        with pytest.raises(SrbenchError, match="lr_source"):
            split_lr_input(bad)


def test_to_uint8_clamps_and_rounds_half_to_even():
    # by hand: clamp to [0, 255], then half to even (0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 254.5 -> 254)
    x = np.array([-3.2, 0.5, 1.5, 2.5, 3.49, 254.5, 300.0])
    assert to_uint8(x).tolist() == [0, 0, 2, 2, 3, 254, 255]
    assert to_uint8(x).dtype == np.uint8


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("modcrop", [True, False])
def test_constant_channels_keep_their_value_and_order(name, modcrop):
    """A constant image stays exactly constant (every kernel sums to 1): the 0-255 range survives the dtype
    conversions, and R, G, B come back in their order (a BGR swap or a /255 would show)."""
    hr = np.empty((26, 21, 3), np.uint8)
    hr[..., 0], hr[..., 1], hr[..., 2] = 10, 200, 77
    lr = make_lr(name, hr, 4, modcrop=modcrop)
    assert lr.dtype == np.uint8 and lr.shape == (6, 5, 3)  # floor(26/4) x floor(21/4), whatever the mod-crop
    assert (lr[..., 0] == 10).all() and (lr[..., 1] == 200).all() and (lr[..., 2] == 77).all()


@pytest.mark.parametrize("name", ALL)
def test_gray_stays_gray(name):
    hr = np.full((16, 12), 123, np.uint8)
    lr = make_lr(name, hr, 2)
    assert lr.shape == (8, 6) and (lr == 123).all()


# A vertical step (columns 0-7 black, 8-15 at 100) shrunk by 2. By hand, output column j is centred at input
# x = 2j + 1 (pixel i's centre at i + 0.5):
#  * antialiased Keys a = -0.5 (MATLAB imresize, Pillow, PyTorch antialias=True): the kernel is stretched by 2, so
#    input i gets k(|i + 0.5 - x| / 2) / 2 with k(0.25) = 0.8671875, k(0.75) = 0.2265625, k(1.25) = -0.0703125,
#    k(1.75) = -0.0234375. Column 3 (x = 7): 100 (k(.75) + k(1.25) + k(1.75)) / 2 = 6.640625 -> 7; column 4 (x = 9):
#    100 (2 k(.25) + k(.75) + k(1.25) + k(1.75)) / 2 = 93.359375 -> 93.
#  * plain Keys a = -0.75 (OpenCV INTER_CUBIC, PyTorch antialias=False): taps at distance 0.5 and 1.5 with weights
#    0.59375 and -0.09375. Column 3: 100 * -0.09375 = -9.375 -> clamped 0; column 4: 100 (0.59375 + 0.59375 -
#    0.09375) = 109.375 -> 109.
STEP_EXPECTED = {"generate": (7, 93), "pil": (7, 93), "torch_aa": (7, 93), "opencv": (0, 109), "torch": (0, 109)}


@pytest.mark.parametrize("name", ALL)
def test_step_edge_hand_computed(name):
    hr = np.zeros((16, 16, 3), np.uint8)
    hr[:, 8:] = 100
    lr = make_lr(name, hr, 2)
    assert (lr[:, 0] == 0).all() and (lr[:, 7] == 100).all()
    assert (int(lr[4, 3, 0]), int(lr[4, 4, 0])) == STEP_EXPECTED[name]
    assert (lr == lr[:1, :, :1]).all()  # every row and channel alike


@pytest.mark.parametrize("name", ALL)
def test_modcrop_decides_what_the_lr_sees(name):
    """With mod-crop the rows and columns beyond the multiple of the scale never reach the LR; without it the whole
    image is resized (at the ratio 18/4 instead of 4), so they do."""
    hr = np.full((18, 18, 3), 50, np.uint8)
    hr[16:, :] = 250  # the two bottom rows, cropped away at x4
    hr[:, 16:] = 250
    with_crop = make_lr(name, hr, 4, modcrop=True)
    assert with_crop.shape == (4, 4, 3) and (with_crop == 50).all()
    without = make_lr(name, hr, 4, modcrop=False)
    assert without.shape == (4, 4, 3) and int(without[3, 3, 0]) > 50


def test_matlab_without_modcrop_resizes_to_the_floor_size():
    """Without mod-crop the MATLAB generator is imresize(img, [floor(H/s) floor(W/s)]): a horizontal ramp 2i on
    74 columns shrunk to 18 samples at x4 uses the ratio 18/74, so sample k is centred at x = (k + 0.5) 74/18, where
    the cubic kernel (exact on a linear ramp away from the border) gives 2 (x - 0.5): k = 4 -> 36.0, k = 9 ->
    77.1 -> 77. With mod-crop (72 columns, ratio exactly 1/4, x = 4k + 2) the same samples are 35 and 75."""
    ramp = np.tile((np.arange(74) * 2).astype(np.uint8), (8, 1))
    without = make_lr("generate", ramp, 4, modcrop=False)
    with_crop = make_lr("generate", ramp, 4, modcrop=True)
    assert without.shape == with_crop.shape == (2, 18)
    assert (int(without[0, 4]), int(without[0, 9])) == (36, 77)
    assert (int(with_crop[0, 4]), int(with_crop[0, 9])) == (35, 75)


def test_missing_package_is_one_line(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_cv2(name, *args, **kwargs):
        if name == "cv2":
            raise ImportError("No module named 'cv2'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cv2)
    assert not lr_generators.available("opencv")
    with pytest.raises(SrbenchError, match="opencv-python-headless") as info:
        make_lr("opencv", np.zeros((8, 8), np.uint8), 2)
    assert "\n" not in str(info.value)


def test_generated_lr_cached_per_generator(tiny_dataset, monkeypatch, tmp_path):
    """Each generator's LR is cached under its own key in the store's cache, never at the layout's path, and read
    back from there (make_lr is not called again)."""
    from srbench.core.store import cache_root
    from srbench.data import datasets

    monkeypatch.setattr(datasets, "DECODED", datasets.DecodedSamples(0))  # decode from disk every time
    first = {n: [s.lr.copy() for s in datasets.load_samples(tiny_dataset, 2, lr_source=n)]
             for n in ("pil", "torch", "torch/full")}
    assert not (tiny_dataset / "LR_bicubic").exists()
    folders = {p.name for p in (cache_root() / "lr").iterdir()}
    keys = {lr_generators.generator_key(*split_lr_input(n), 2) for n in first}
    assert keys <= folders and len(keys) == 3

    def refuse(*args, **kwargs):
        raise AssertionError("regenerated instead of read from the cache")

    monkeypatch.setattr(lr_generators, "make_lr", refuse)
    for n, lrs in first.items():
        again = [s.lr for s in datasets.load_samples(tiny_dataset, 2, lr_source=n)]
        assert all((a == b).all() for a, b in zip(lrs, again))


def test_generator_key_names_the_library_version(monkeypatch):
    import PIL

    key = lr_generators.generator_key("pil", True, 4)
    lr_generators.generator_key.cache_clear()
    monkeypatch.setattr(PIL, "__version__", "0.0.1")
    try:
        assert lr_generators.generator_key("pil", True, 4) != key
        assert lr_generators.generator_key("pil", False, 4) != lr_generators.generator_key("pil", True, 4)
    finally:
        lr_generators.generator_key.cache_clear()
