"""`srbench data --check-div2k`: a user's DIV2K folder is checked (names, counts, 8-bit, sizes) with one-line errors.

The layout is made small (a few images of 24 px instead of 900 of 2040 px, patched constants) so the test takes a
second; the real constants are checked against the DIV2K paper (Agustsson & Timofte, CVPRW 2017: 800 training, 100
validation images, 2K resolution) and the manifest against the published TFDS checksum list it names.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from srbench.core.errors import SrbenchError
from srbench.data import div2k


def test_constants_and_manifest_are_the_published_ones():
    assert div2k.SPLITS == {"train": ("DIV2K_train_HR", 1, 800), "valid": ("DIV2K_valid_HR", 801, 100)}
    rows = div2k.archive_manifest()
    # tensorflow/datasets url_checksums/div2k.txt at commit 1054f22d (typed from that file, its source named per row)
    assert rows["DIV2K_train_HR.zip"]["sha256"] == "9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335"
    assert rows["DIV2K_valid_HR.zip"]["bytes"] == "448993893"
    assert all("tensorflow/datasets" in row["checksum_source"] for row in rows.values())
    assert not any("X3" in name or "X4" in name for name in rows)  # no published checksum found for them


@pytest.fixture()
def small(monkeypatch):
    monkeypatch.setattr(div2k, "SPLITS", {"train": ("DIV2K_train_HR", 1, 3), "valid": ("DIV2K_valid_HR", 4, 2)})
    monkeypatch.setattr(div2k, "LONG_SIDE", 24)


def _write(path, h, w, mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    if mode == "I;16":
        Image.fromarray(rng.integers(0, 65535, (h, w), dtype=np.uint16)).save(path)
    else:
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)


def _folder(root, lr_scales=(2,)):
    for split, first, count in (("train", 1, 3), ("valid", 4, 2)):
        for i in range(first, first + count):
            _write(root / f"DIV2K_{split}_HR" / f"{i:04d}.png", 18, 24)
            for s in lr_scales:
                _write(root / f"DIV2K_{split}_LR_bicubic" / f"X{s}" / f"{i:04d}x{s}.png", 18 // s, 24 // s)
    return root


def test_a_complete_folder_passes(tmp_path, small):
    result = div2k.check_div2k(_folder(tmp_path / "DIV2K"))
    assert result.images == {"train": 3, "valid": 2} and result.lr_scales == {"train": [2], "valid": [2]}


@pytest.mark.parametrize("damage,expected", [
    (lambda r: (r / "DIV2K_train_HR" / "0002.png").unlink(), r"DIV2K_train_HR: 1 of 3 images missing \(0002\)"),
    (lambda r: _write(r / "DIV2K_valid_HR" / "0005.png", 18, 20), r"0005.png: 20x18, longer side not 24"),
    (lambda r: _write(r / "DIV2K_train_HR" / "0001.png", 18, 24, "I;16"), r"0001.png: I;16 16-bit, not 8-bit RGB"),
    (lambda r: _write(r / "DIV2K_train_LR_bicubic" / "X2" / "0003x2.png", 9, 11), r"0003x2.png: 11x9 is not 24x18"),
    (lambda r: (r / "DIV2K_train_HR" / "0009.png").write_bytes(b""), r"1 unexpected image"),
])
def test_damage_is_a_one_line_error(tmp_path, small, damage, expected):
    root = _folder(tmp_path / "DIV2K")
    damage(root)
    with pytest.raises(SrbenchError, match=expected) as err:
        div2k.check_div2k(root)
    assert "\n" not in str(err.value)


def test_archives_are_checked_against_the_manifest(tmp_path, monkeypatch):
    fake = tmp_path / "DIV2K_valid_HR.zip"
    fake.write_bytes(b"not the archive")
    with pytest.raises(SrbenchError, match="DIV2K_valid_HR.zip: not the published archive"):
        div2k.check_archives(tmp_path)
    good = {"file": "DIV2K_valid_HR.zip", "bytes": str(fake.stat().st_size), "source_url": "u",
            "sha256": hashlib.sha256(b"not the archive").hexdigest(), "checksum_source": "test"}
    monkeypatch.setattr(div2k, "archive_manifest", lambda: {"DIV2K_valid_HR.zip": good})
    assert div2k.check_archives(tmp_path) == ["DIV2K_valid_HR.zip"]


def test_cli_missing_folder_is_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "srbench.cli", "data", "--check-div2k", str(tmp_path / "none")],
                         capture_output=True, text=True)
    assert out.returncode != 0 and out.stderr.strip().startswith("error: DIV2K folder")
    assert len(out.stderr.strip().splitlines()) == 1
