"""Decoded images kept on disk (srbench.data.decoded_files): the pixels Pillow decodes, never a damaged copy.

The reference is Pillow's own decode of the file (``np.asarray(Image.open(f).convert(...))``), not srbench's.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from srbench.data import decoded_files, images
from srbench.data.decoded_files import decoded_file, read_decoded

RNG = np.random.default_rng(11)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(decoded_files.ENV, raising=False)
    return tmp_path / "cache"


def png(path, mode="RGB", shape=(23, 31, 3)):
    pixels = RNG.integers(0, 256, shape if mode == "RGB" else shape[:2], dtype=np.uint8)
    Image.fromarray(pixels, mode).save(path)
    with Image.open(path) as im:
        return np.asarray(im.convert(mode)).copy()


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_first_and_later_reads_are_pillows_pixels(tmp_path, mode, monkeypatch):
    expected = png(tmp_path / "a.png", mode)
    first = read_decoded(tmp_path / "a.png")
    assert decoded_file(tmp_path / "a.png").is_file()
    decodes = []
    real = images.read_image
    monkeypatch.setattr(images, "read_image", lambda p: decodes.append(p) or real(p))
    second = read_decoded(tmp_path / "a.png")
    assert decodes == []  # read back from the disk copy, not decoded
    for got in (first, second):
        assert got.dtype == np.uint8 and np.array_equal(got, expected)


def test_a_changed_file_is_decoded_again(tmp_path):
    png(tmp_path / "a.png")
    read_decoded(tmp_path / "a.png")
    expected = png(tmp_path / "a.png", shape=(17, 19, 3))  # new content, new size
    assert np.array_equal(read_decoded(tmp_path / "a.png"), expected)


@pytest.mark.parametrize("damage", ["truncate", "other_pixels", "flipped_bit", "garbage"])
def test_a_damaged_copy_is_never_measured(tmp_path, damage):
    expected = png(tmp_path / "a.png")
    read_decoded(tmp_path / "a.png")
    stored = decoded_file(tmp_path / "a.png")
    if damage == "truncate":
        stored.write_bytes(stored.read_bytes()[:200])
    elif damage == "other_pixels":  # pixels changed, a valid file with the recorded hashes kept: the check must catch it
        header, pixels = stored.read_bytes().split(b"\n", 1)
        stored.write_bytes(header + b"\n" + bytes([pixels[0] ^ 1]) + pixels[1:])
    elif damage == "flipped_bit":  # one byte in the middle of the file flipped in place
        data = bytearray(stored.read_bytes())
        data[len(data) // 2] ^= 1
        stored.write_bytes(bytes(data))
    else:
        stored.write_bytes(b"not a decoded image")
    assert np.array_equal(read_decoded(tmp_path / "a.png"), expected)
    assert decoded_files._read(stored) is not None  # and the copy was replaced by the right pixels
    assert np.array_equal(decoded_files._read(stored)[0], expected)


def test_the_kept_file_is_a_header_line_and_the_pixels(tmp_path):
    """The layout others may read: one JSON line (shape, sha256 of the pixels, their CRC-32), then the pixels in C
    order, checked here with json, hashlib and zlib, not with the module's own reader."""
    import hashlib
    import json
    import zlib

    expected = png(tmp_path / "a.png")
    read_decoded(tmp_path / "a.png")
    line, pixels = decoded_file(tmp_path / "a.png").read_bytes().split(b"\n", 1)
    header = json.loads(line)
    assert header["shape"] == list(expected.shape) and pixels == expected.tobytes()
    assert header["crc32"] == zlib.crc32(expected.tobytes())
    # array_sha256: the dtype and shape, then the bytes
    assert header["sha256"] == hashlib.sha256(f"|u1{expected.shape}".encode() + expected.tobytes()).hexdigest()


def test_turned_off_writes_nothing(tmp_path, cache, monkeypatch):
    monkeypatch.setenv(decoded_files.ENV, "0")
    expected = png(tmp_path / "a.png")
    assert np.array_equal(read_decoded(tmp_path / "a.png"), expected)
    assert not (cache / "decoded").exists()


def test_a_missing_file_is_the_decoders_one_line_error(tmp_path):
    from srbench.core.errors import SrbenchError

    with pytest.raises(SrbenchError, match="file not found"):
        read_decoded(tmp_path / "missing.png")


def test_the_sha256_returned_with_the_pixels_is_theirs(tmp_path, monkeypatch):
    """read_decoded_with_sha256 hands over the hash its check computed (a cached LR is compared with it): it must be
    hashlib's sha256 of the pixels as Pillow decodes them (after their dtype and shape, as array_sha256 defines it),
    fresh, from the disk copy, and with the copy turned off."""
    import hashlib

    from srbench.data.decoded_files import read_decoded_with_sha256

    expected = png(tmp_path / "a.png")
    for _ in range(2):  # decoded now, then read back from the disk copy
        pixels, sha = read_decoded_with_sha256(tmp_path / "a.png")
        assert np.array_equal(pixels, expected)
        assert sha == hashlib.sha256(f"|u1{expected.shape}".encode() + expected.tobytes()).hexdigest()
    monkeypatch.setenv(decoded_files.ENV, "0")
    assert read_decoded_with_sha256(tmp_path / "a.png")[1] == sha


def test_load_hr_reads_the_decoded_copy(tmp_path, monkeypatch):
    """An HR image as measured (the SR-folder scorer, crops) comes from its decoded copy once there is one: Pillow's
    pixels cropped to the scale, without decoding the file again."""
    from srbench.data import datasets
    from srbench.data.datasets import load_hr

    expected = png(tmp_path / "a.png")  # 23x31: cropped to 22x30 at x2
    read_decoded(tmp_path / "a.png")
    decodes = []
    real = images.read_image
    for module in (images, datasets):  # the decoder, wherever it is called from
        monkeypatch.setattr(module, "read_image", lambda p: decodes.append(p) or real(p))
    assert np.array_equal(load_hr(tmp_path / "a.png", 2), expected[:22, :30])
    assert decodes == []
