"""`srbench prepare`: h5 layout (the authors' format), LR made by MATLAB bicubic or taken from DIV2K, idempotence,
and refusal of unreadable images before anything final is written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from srbench.core.errors import SrbenchError
from srbench.core.imresize import imresize
from srbench.data.prepare import prepare

SIZES = {"a": (37, 29), "b": (30, 41), "c": (24, 24), "d": (50, 35)}  # (height, width), none a multiple of 12


def _write_images(folder: Path, gray: str | None = "c") -> dict[str, np.ndarray]:
    """Four small images written with PIL; returns the RGB arrays a reader must get back."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    out = {}
    for name, (h, w) in SIZES.items():
        if name == gray:
            img = rng.integers(0, 256, (h, w), dtype=np.uint8)
            Image.fromarray(img, "L").save(folder / f"{name}.png")
            out[name] = np.repeat(img[..., None], 3, axis=2)
        else:
            img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(img, "RGB").save(folder / f"{name}.png")
            out[name] = img
    return out


def test_folder_layout_and_generated_lr(tmp_path):
    images = _write_images(tmp_path / "imgs")
    out, built = prepare(tmp_path / "imgs", tmp_path / "train.h5", progress=False)
    assert built and out == tmp_path / "train.h5"
    assert not list(tmp_path.glob(".train.h5.*"))  # no temporary file left
    names = sorted(SIZES)
    with h5py.File(out, "r") as f:
        assert set(f.keys()) == {"HR", "X2", "X3", "X4"}
        assert json.loads(f.attrs["names"]) == names
        for group in f.values():
            assert sorted(group.keys()) == ["0", "1", "2", "3"]
        for i, name in enumerate(names):
            hr = f["HR"][str(i)][()]
            assert hr.dtype == np.uint8 and hr.shape == SIZES[name] + (3,)
            np.testing.assert_array_equal(hr, images[name])
            h, w = SIZES[name]
            for s in (2, 3, 4):
                lr = f[f"X{s}"][str(i)][()]
                assert lr.dtype == np.uint8 and lr.shape == (h // s, w // s, 3)
                # MATLAB-bicubic of the HR cropped (bottom/right) to a multiple of the scale
                expected = imresize(images[name][: h // s * s, : w // s * s], 1 / s)
                np.testing.assert_array_equal(lr, expected)


def test_idempotent_and_rebuilt_when_inputs_change(tmp_path):
    _write_images(tmp_path / "imgs")
    out, built = prepare(tmp_path / "imgs", tmp_path / "t.h5", scales=(2,), progress=False)
    stamp = os.stat(out).st_mtime_ns
    out2, built2 = prepare(tmp_path / "imgs", tmp_path / "t.h5", scales=(2,), progress=False)
    assert built and not built2 and os.stat(out2).st_mtime_ns == stamp
    with h5py.File(out, "r") as f:
        assert set(f.keys()) == {"HR", "X2"}
    # other scales, or a changed image: rebuilt
    assert prepare(tmp_path / "imgs", tmp_path / "t.h5", scales=(2, 4), progress=False)[1]
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "imgs" / "a.png")
    assert prepare(tmp_path / "imgs", tmp_path / "t.h5", scales=(2, 4), progress=False)[1]
    with h5py.File(out, "r") as f:
        assert f["HR"]["0"].shape == (20, 20, 3)


def test_broken_image_is_named_and_nothing_is_written(tmp_path):
    _write_images(tmp_path / "imgs")
    (tmp_path / "imgs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    with pytest.raises(SrbenchError, match="broken.png"):
        prepare(tmp_path / "imgs", tmp_path / "t.h5", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imgs"]  # no t.h5, no t.h5.tmp


def test_div2k_layout_uses_given_lr(tmp_path):
    root = tmp_path / "DIV2K"
    hr = {}
    rng = np.random.default_rng(3)
    for k in (1, 2):
        img = rng.integers(0, 256, (24, 36, 3), dtype=np.uint8)
        name = f"{k:04d}"
        (root / "DIV2K_train_HR").mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(root / "DIV2K_train_HR" / f"{name}.png")
        hr[name] = img
        lr_dir = root / "DIV2K_train_LR_bicubic" / "X2"
        lr_dir.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((12, 18, 3), k, np.uint8)).save(lr_dir / f"{name}x2.png")  # recognisable
    out, _ = prepare(root, tmp_path / "div2k.h5", scales=(2, 3), progress=False)
    with h5py.File(out, "r") as f:
        assert json.loads(f.attrs["lr_source"]) == {"2": "given", "3": "imresize"}
        for i, name in enumerate(sorted(hr)):
            np.testing.assert_array_equal(f["X2"][str(i)][()], np.full((12, 18, 3), i + 1, np.uint8))
            np.testing.assert_array_equal(f["X3"][str(i)][()], imresize(hr[name], 1 / 3))


def test_cli_prepare(tmp_path, capsys):
    from srbench.cli import main

    _write_images(tmp_path / "imgs")
    assert main(["prepare", str(tmp_path / "imgs"), "-o", str(tmp_path / "x.h5"), "--scales", "3"]) == 0
    assert main(["prepare", str(tmp_path / "imgs"), "-o", str(tmp_path / "x.h5"), "--scales", "3"]) == 0
    assert "up to date" in capsys.readouterr().out
    with h5py.File(tmp_path / "x.h5", "r") as f:
        assert set(f.keys()) == {"HR", "X3"}
