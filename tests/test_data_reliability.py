"""Reliability of the data layer on awkward inputs (issue #11): what a dataset argument means and how datasets are
keyed, HR/LR file formats and names, 16-bit files, generated-LR caches that changed, too-small images, symlink loops,
and where derived training files go.

Every 16-bit file here is written byte by byte (PNG chunks with zlib, a minimal TIFF), since PIL cannot write 16-bit
colour images; the expected pixels come from PIL decoding the files or from the arrays written, never from srbench.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import srbench.data.datasets as ds
from srbench.core.errors import SrbenchError
from srbench.data.images import png_text, read_image, write_image
from srbench.core.imresize import imresize

RNG = np.random.default_rng(11)


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty store; returns its benchmark folder. The working directory is a separate empty folder."""
    monkeypatch.setenv("SRBENCH_STORE", str(tmp_path / "store"))
    root = tmp_path / "store" / "benchmark"
    root.mkdir(parents=True)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return root


def rgb(h, w):
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def make_set(folder: Path, images: dict[str, np.ndarray]) -> Path:
    for name, hr in images.items():
        write_image(folder / "HR" / f"{name}.png", hr)
    return folder


def one_line_error(fn, *args, **kwargs) -> str:
    with pytest.raises(SrbenchError) as err:
        fn(*args, **kwargs)
    msg = str(err.value)
    assert "\n" not in msg, msg
    return msg


# 1. what a dataset argument means; dataset identities -------------------------------------------------------------

def test_a_path_means_that_path_and_a_bare_name_means_the_store(store):
    make_set(store / "Set5", {"s": rgb(12, 12)})
    local = make_set(Path.cwd() / "Set5", {"l": rgb(12, 12)})
    assert ds.resolve_dataset("./Set5") == local.resolve()
    assert ds.resolve_dataset(os.path.join(".", "Set5")) == local.resolve()
    assert ds.resolve_dataset(Path("Set5")) == local.resolve()  # a Path object is always a path
    assert ds.resolve_dataset("Set5") == (store / "Set5").resolve()  # bare name: the store's first
    only_local = make_set(Path.cwd() / "Mine", {"m": rgb(12, 12)})
    assert ds.resolve_dataset("Mine") == only_local.resolve()  # ... else a local folder of that name
    msg = one_line_error(ds.resolve_dataset, "./Nope")
    assert "Nope" in msg and "HR" in msg


def test_dataset_id_is_unique_stable_and_readable(store, tmp_path):
    make_set(store / "Set5", {"s": rgb(12, 12)})
    a = make_set(tmp_path / "a" / "Set5", {"x": rgb(12, 12)})
    b = make_set(tmp_path / "b" / "Set5", {"x": rgb(12, 12)})  # same basename, same content
    assert ds.dataset_id("Set5") == "Set5"
    assert ds.dataset_id(store / "Set5") == "Set5"  # the store's folder by path is still the store's Set5
    ids = {ds.dataset_id(a), ds.dataset_id(b)}
    assert len(ids) == 2 and "Set5" not in ids
    for folder in (a, b):
        key = ds.dataset_id(folder)
        assert re.fullmatch(r"Set5-[0-9a-f]{8}", key)
        assert key == f"Set5-{hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:8]}"  # the documented rule
        assert ds.dataset_id(str(folder)) == key == ds.dataset_id(folder)
    assert ds.load_samples(a, 2).id == ds.dataset_id(a)


# 2. HR/LR file formats and names ----------------------------------------------------------------------------------

def test_common_image_formats_are_read_case_insensitively(store):
    hr = store / "Mixed" / "HR"
    hr.mkdir(parents=True)
    arrays = {name: rgb(12, 16) for name in ("a", "b", "c", "d", "e", "f", "g")}
    files = {"a": "a.PNG", "b": "b.jpg", "c": "c.JPEG", "d": "d.bmp", "e": "e.tif", "f": "f.TIFF", "g": "g.webp"}
    for name, file in files.items():
        fmt = {"jpg": "JPEG", "jpeg": "JPEG", "tif": "TIFF", "webp": "WEBP"}.get(file.split(".")[1].lower())
        Image.fromarray(arrays[name]).save(hr / file, format=fmt or file.split(".")[1].upper(),
                                           **({"lossless": True} if fmt == "WEBP" else {}))
    (hr / ".DS_Store").write_bytes(b"hidden files are ignored")
    samples = list(ds.load_samples("Mixed", 2))
    assert [s.name for s in samples] == sorted(files)
    for s in samples:
        expected = np.asarray(Image.open(hr / files[s.name]).convert("RGB"))
        assert np.array_equal(s.hr, expected), s.name
        if s.name in "adefg":  # lossless formats give back the array written
            assert np.array_equal(s.hr, arrays[s.name])


def test_non_images_in_hr_are_refused_with_their_names(store):
    folder = make_set(store / "Junk", {"a": rgb(8, 8)})
    (folder / "HR" / "notes.txt").write_text("x")
    (folder / "HR" / "Thumbs.db").write_bytes(b"x")
    msg = one_line_error(ds.load_samples, "Junk", 2)
    assert "notes.txt" in msg and "Thumbs.db" in msg and "a.png" not in msg


def test_two_hr_files_with_one_stem_are_an_error(store):
    folder = make_set(store / "Twice", {"a": rgb(8, 8)})
    Image.fromarray(rgb(8, 8)).save(folder / "HR" / "a.jpg")
    msg = one_line_error(ds.dataset_fingerprint, "Twice", 2)
    assert "a.png" in msg and "a.jpg" in msg


def test_shipped_lr_found_case_insensitively(store):
    hr = rgb(16, 16)
    folder = make_set(store / "Caps", {"a": hr, "b": hr})
    lr_dir = folder / "LR_bicubic" / "X2"
    lr_dir.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(lr_dir / "ax2.PNG")
    Image.fromarray(np.full((8, 8, 3), 7, np.uint8)).save(lr_dir / "bx2.BMP", format="BMP")
    a, b = ds.load_samples("Caps", 2)
    assert not a.lr_generated and np.array_equal(a.lr, np.zeros((8, 8, 3), np.uint8))
    assert not b.lr_generated and np.array_equal(b.lr, np.full((8, 8, 3), 7, np.uint8))
    assert sorted(p.name for p in lr_dir.iterdir()) == ["ax2.PNG", "bx2.BMP"]  # nothing generated beside them


# 3. 16-bit files are refused ---------------------------------------------------------------------------------------

def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def write_raw_png(path: Path, arr: np.ndarray, bit_depth: int, color_type: int) -> None:
    """A PNG written from the spec: IHDR, one zlib IDAT of filter-0 rows (big-endian samples), IEND."""
    h, w = arr.shape[:2]
    dtype = ">u2" if bit_depth == 16 else "u1"
    raw = b"".join(b"\0" + arr[y].astype(dtype).tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw))
                     + _chunk(b"IEND", b""))


def write_raw_tiff_rgb16(path: Path, arr: np.ndarray) -> None:
    """A minimal little-endian, uncompressed, one-strip 48-bit RGB TIFF."""
    h, w = arr.shape[:2]
    data = arr.astype("<u2").tobytes()
    n = 10
    bps_at = 8 + 2 + 12 * n + 4
    data_at = bps_at + 6

    def entry(tag, typ, value, count=1):
        if typ == 3 and count == 1:
            return struct.pack("<HHIHH", tag, typ, count, value, 0)
        return struct.pack("<HHII", tag, typ, count, value)

    ifd = [entry(256, 4, w), entry(257, 4, h), entry(258, 3, bps_at, 3), entry(259, 3, 1), entry(262, 3, 2),
           entry(273, 4, data_at), entry(277, 3, 3), entry(278, 4, h), entry(279, 4, len(data)), entry(284, 3, 1)]
    path.write_bytes(b"II" + struct.pack("<HI", 42, 8) + struct.pack("<H", n) + b"".join(ifd) + struct.pack("<I", 0)
                     + struct.pack("<3H", 16, 16, 16) + data)


def test_raw_png_writer_is_a_valid_png(tmp_path):
    """The hand-written PNG decodes to the array written (8-bit), so the 16-bit files below are real PNGs."""
    arr = rgb(5, 7)
    write_raw_png(tmp_path / "rgb8.png", arr, 8, 2)
    assert np.array_equal(read_image(tmp_path / "rgb8.png"), arr)
    deep = RNG.integers(0, 65536, (5, 7, 3)).astype(np.uint16)
    write_raw_png(tmp_path / "rgb16.png", deep, 16, 2)
    with Image.open(tmp_path / "rgb16.png") as im:  # the quirk: PIL silently reduces it to 8-bit RGB
        assert im.mode == "RGB" and np.array_equal(np.asarray(im), (deep >> 8).astype(np.uint8))


@pytest.mark.parametrize("color_type,channels", [(2, 3), (6, 4), (4, 2), (0, 1)])
def test_sixteen_bit_png_is_refused(tmp_path, color_type, channels):
    deep = RNG.integers(0, 65536, (5, 7, channels)).astype(np.uint16)
    path = tmp_path / f"deep{color_type}.png"
    write_raw_png(path, deep[..., 0] if channels == 1 else deep, 16, color_type)
    msg = one_line_error(read_image, path)
    assert path.name in msg and "16-bit" in msg


def test_sixteen_bit_tiff_is_refused(tmp_path):
    path = tmp_path / "deep.tif"
    write_raw_tiff_rgb16(path, RNG.integers(0, 65536, (4, 5, 3)).astype(np.uint16))
    with Image.open(path) as im:
        assert im.mode == "RGB"  # PIL's reduction again
    msg = one_line_error(read_image, path)
    assert "deep.tif" in msg and "16-bit" in msg


# 4. generated-LR caches ---------------------------------------------------------------------------------------------

def test_cached_lr_whose_pixels_changed_is_regenerated(store):
    hr = rgb(20, 24)
    folder = make_set(store / "Cache", {"img": hr})
    [first] = ds.load_samples("Cache", 2)
    cached = ds.lr_path(folder, "img", 2)
    assert first.lr_generated and np.array_equal(first.lr, imresize(hr, 0.5))
    text = png_text(cached)
    write_image(cached, np.zeros_like(first.lr), text=text)  # same provenance chunks, other pixels
    os.utime(cached, ns=(1, 1))
    [again] = ds.load_samples("Cache", 2)
    assert np.array_equal(again.lr, imresize(hr, 0.5))
    assert np.array_equal(read_image(cached), imresize(hr, 0.5))  # and the cache was repaired


def test_cache_from_another_generator_version_is_regenerated(store, monkeypatch):
    hr = rgb(20, 24)
    folder = make_set(store / "Gen", {"img": hr})
    list(ds.load_samples("Gen", 2))
    cached = ds.lr_path(folder, "img", 2)
    stamp = cached.stat().st_mtime_ns
    list(ds.load_samples("Gen", 2))
    assert cached.stat().st_mtime_ns == stamp  # same version: reused
    other = ds.generator_version() + "-changed"
    monkeypatch.setattr(ds, "generator_version", lambda: other)
    os.utime(cached, ns=(1, 1))
    [sample] = ds.load_samples("Gen", 2)
    assert sample.lr_generated and cached.stat().st_mtime_ns != 1
    assert other in png_text(cached).values()


def test_source_fingerprint_ignores_docstrings_and_comments():
    from srbench.core.code_identity import source_fingerprint

    base = "def f(x):\n    '''Doc.'''\n    return x + 1\n"
    assert source_fingerprint(base) == source_fingerprint("def f(x):\n    '''Other doc.'''\n    # note\n"
                                                          "    return x + 1  # more\n")
    assert source_fingerprint(base) == source_fingerprint("    " + base.replace("\n", "\n    "))  # indented
    assert source_fingerprint(base) != source_fingerprint(base.replace("x + 1", "x + 2"))
    assert source_fingerprint(base, "y = 1\n") != source_fingerprint(base)


def test_generator_version_follows_imresize_code(monkeypatch):
    import srbench.core.imresize

    text = Path(srbench.core.imresize.__file__).read_text()
    real = ds.generator_version()
    assert "v1" not in real and len(real) > 10
    sources = ds._generator_sources()
    assert text in sources
    for edited, same in ((text.replace('"""', '"""Edited docs. ', 1), True), (text + "\nEXTRA = 1\n", False)):
        monkeypatch.setattr(ds, "_generator_sources", lambda e=edited: [e if s == text else s for s in sources])
        ds.generator_version.cache_clear()
        assert (ds.generator_version() == real) is same
    monkeypatch.undo()
    ds.generator_version.cache_clear()
    assert ds.generator_version() == real


# 5. one-line errors for too-small images, symlink loops, empty folders ----------------------------------------------

def test_image_smaller_than_the_scale(store):
    make_set(store / "Tiny", {"sliver": rgb(3, 20)})
    msg = one_line_error(list, ds.load_samples("Tiny", 4))
    assert "sliver.png" in msg and "20x3" in msg and "x4" in msg


def test_image_smaller_than_the_ssim_window_after_the_border_crop():
    from srbench.eval.scoring import score_pair
    from srbench.eval.protocol import Protocol

    img = rgb(18, 30)
    msg = one_line_error(score_pair, img, img, scale=4, protocol=Protocol(), gray=False, name="small")
    assert "small" in msg and "30x18" in msg and "11x11" in msg
    tiny = rgb(6, 6)
    msg = one_line_error(score_pair, tiny, tiny, scale=4, protocol=Protocol(), gray=False, name="tiny")
    assert "tiny" in msg and "6x6" in msg
    big = rgb(19, 19)  # 11x11 after the crop: measurable
    assert score_pair(big, big, scale=4, protocol=Protocol(), gray=False) == (float("inf"), 1.0)


@pytest.mark.parametrize("target", ["x.png", "x"])  # a link to itself; a dangling link
def test_bad_symlink_in_hr_is_named(store, target):
    folder = make_set(store / "Links", {"a": rgb(8, 8)})
    os.symlink(target, folder / "HR" / "x.png")
    for call in (ds.dataset_fingerprint, ds.load_samples):
        msg = one_line_error(call, "Links", 2)
        assert "x.png" in msg and "link" in msg


def test_symlink_loop_among_datasets_is_skipped(store):
    make_set(store / "Good", {"a": rgb(8, 8)})
    os.symlink("Loop", store / "Loop")
    assert ds.list_datasets() == ["Good"]
    one_line_error(ds.resolve_dataset, "Loop")


def test_empty_hr_folder(store):
    (store / "Empty" / "HR").mkdir(parents=True)
    (store / "Empty" / "HR" / ".hidden.png").write_bytes(b"")
    msg = one_line_error(ds.load_samples, "Empty", 2)
    assert "HR" in msg and "no images" in msg


# 6. derived h5 files never replace another file --------------------------------------------------------------------

def test_folder_h5_goes_to_a_content_named_cache(tmp_path, monkeypatch):
    import h5py

    from srbench.data.prepare import ALL_SCALES, cached_h5_for_folder, find_source, fingerprint

    monkeypatch.setenv("SRBENCH_STORE", str(tmp_path / "store"))
    store_t91 = tmp_path / "store" / "train" / "T91.h5"
    store_t91.parent.mkdir(parents=True)
    store_t91.write_bytes(b"the store's own T91.h5")
    for where, seed in (("u1", 1), ("u2", 2)):
        folder = tmp_path / where / "T91"
        folder.mkdir(parents=True)
        Image.fromarray(np.random.default_rng(seed).integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(
            folder / "img.png")
    paths = [cached_h5_for_folder(tmp_path / w / "T91", progress=False) for w in ("u1", "u2")]
    assert store_t91.read_bytes() == b"the store's own T91.h5"
    assert paths[0] != paths[1]
    for w, path in zip(("u1", "u2"), paths):
        fp = fingerprint(find_source(tmp_path / w / "T91", ALL_SCALES), ALL_SCALES)
        assert path == tmp_path / "store" / "cache" / "h5" / f"{fp}.h5"
        with h5py.File(path, "r") as f:
            assert f.attrs["fingerprint"] == fp
    stamp = paths[0].stat().st_mtime_ns
    assert cached_h5_for_folder(tmp_path / "u1" / "T91", progress=False) == paths[0]
    assert paths[0].stat().st_mtime_ns == stamp  # up to date: kept


def test_generated_lr_of_a_user_folder_goes_to_the_store_cache_not_the_folder(store, tmp_path, monkeypatch):
    """#11 item 10: evaluating a user's dataset writes nothing into it; its generated LR is cached by HR content."""
    monkeypatch.setenv("SRBENCH_CACHE", str(tmp_path / "cache"))
    user = tmp_path / "elsewhere" / "Mine"
    (user / "HR").mkdir(parents=True)
    hr = RNG.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    write_image(user / "HR" / "a.png", hr)
    before = sorted(p.relative_to(user) for p in user.rglob("*"))
    sample = next(iter(ds.load_samples(str(user), 2)))
    assert sorted(p.relative_to(user) for p in user.rglob("*")) == before  # nothing written into the user's folder
    cached = list((tmp_path / "cache" / "lr").glob("*_x2.png"))
    assert len(cached) == 1 and np.array_equal(read_image(cached[0]), imresize(hr, 0.5))
    assert np.array_equal(sample.lr, imresize(hr, 0.5))
