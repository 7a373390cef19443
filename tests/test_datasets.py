"""data.datasets and data.images on small synthetic datasets in a temporary store."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from srbench.core.errors import SrbenchError
from srbench.data.datasets import dataset_fingerprint, list_datasets, load_samples, lr_path, resolve_dataset, to_rgb
from srbench.data.images import read_image, write_image
from srbench.core.imresize import imresize

RNG = np.random.default_rng(3)


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty store; returns its benchmark folder."""
    monkeypatch.setenv("SRBENCH_STORE", str(tmp_path / "store"))
    root = tmp_path / "store" / "benchmark"
    root.mkdir(parents=True)
    return root


def make_set(root, name, images: dict[str, np.ndarray], lr_scales=()):
    """A dataset folder with the given HR images and, for each scale in ``lr_scales``, 'shipped' LR files."""
    for img_name, hr in images.items():
        write_image(root / name / "HR" / f"{img_name}.png", hr)
        for s in lr_scales:
            h, w = hr.shape[:2]
            write_image(lr_path(root / name, img_name, s), imresize(hr[:h - h % s, :w - w % s], 1 / s))
    return root / name


def rgb(h, w):
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_layout_discovery_and_resolution(store, tmp_path):
    make_set(store, "SetA", {"a": rgb(12, 12)})
    make_set(store, "SetB", {"b": rgb(12, 12)})
    (store / "not_a_set").mkdir()
    assert list_datasets() == ["SetA", "SetB"]
    assert resolve_dataset("SetA") == (store / "SetA").resolve()
    outside = make_set(tmp_path / "elsewhere", "Mine", {"m": rgb(12, 12)})
    assert resolve_dataset(outside) == outside.resolve()
    assert resolve_dataset(str(outside)) == outside.resolve()


def test_missing_dataset_message(store):
    make_set(store, "Set5", {"a": rgb(12, 12)})
    with pytest.raises(SrbenchError) as err:
        resolve_dataset("Set6")
    msg = str(err.value)
    assert "'Set6'" in msg and str(store) in msg and "known: Set5" in msg and "make data" in msg
    assert "\n" not in msg


def test_hr_cropped_to_multiple_of_scale_and_shipped_lr_used(store):
    hr = rgb(23, 30)
    make_set(store, "Odd", {"odd": hr}, lr_scales=(3, 4))
    for scale in (3, 4):
        [sample] = list(load_samples("Odd", scale))
        assert sample.hr.shape == (23 - 23 % scale, 30 - 30 % scale, 3)
        assert np.array_equal(sample.hr, hr[:sample.hr.shape[0], :sample.hr.shape[1]])
        assert sample.lr.shape == (23 // scale, 30 // scale, 3)
        assert not sample.lr_generated and not sample.gray


def test_lr_shape_mismatch_is_reported(store):
    folder = make_set(store, "Bad", {"x": rgb(24, 24)})
    write_image(lr_path(folder, "x", 2), rgb(11, 12))
    with pytest.raises(SrbenchError, match="xx2.png: LR shape"):
        list(load_samples("Bad", 2))


def test_corrupt_png_names_the_file(store):
    folder = make_set(store, "Broken", {"ok": rgb(8, 8)})
    (folder / "HR" / "zzz.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage, not an image")
    samples = load_samples("Broken", 2)
    assert len(samples) == 2
    with pytest.raises(SrbenchError, match="zzz.png"):
        list(samples)
    truncated = folder / "HR" / "trunc.png"
    data = (folder / "HR" / "ok.png").read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(SrbenchError, match="trunc.png"):
        read_image(truncated)


def test_sixteen_bit_refused(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((4, 4), 40000, np.uint16)).save(path)
    with pytest.raises(SrbenchError, match="deep.png.*not 8-bit"):
        read_image(path)


def test_palette_and_rgba_become_rgb(tmp_path):
    Image.fromarray(rgb(6, 6)).convert("P").save(tmp_path / "p.png")
    Image.fromarray(rgb(6, 6)).convert("RGBA").save(tmp_path / "a.png")
    assert read_image(tmp_path / "p.png").shape == (6, 6, 3)
    assert read_image(tmp_path / "a.png").shape == (6, 6, 3)


def test_generated_lr_is_cached_and_reused(store):
    hr = rgb(21, 26)
    folder = make_set(store, "Urban", {"img001": hr})
    fingerprint_before = dataset_fingerprint("Urban", 2)
    [first] = list(load_samples("Urban", 2))
    cached = lr_path(folder, "img001", 2)
    assert first.lr_generated and cached.is_file()
    assert np.array_equal(first.lr, imresize(hr[:20, :26], 0.5))
    assert not [p for p in cached.parent.iterdir() if p.name != cached.name]  # no temp files left
    stamp = cached.stat().st_mtime_ns
    [again] = list(load_samples("Urban", 2))
    assert again.lr_generated and np.array_equal(again.lr, first.lr)
    assert cached.stat().st_mtime_ns == stamp  # reused, not rewritten
    assert dataset_fingerprint("Urban", 2) == fingerprint_before  # filling the cache changes nothing

    # a new HR makes the cache stale: it is regenerated, never read
    new_hr = rgb(21, 26)
    write_image(folder / "HR" / "img001.png", new_hr)
    os.utime(folder / "HR" / "img001.png", ns=(1, 1))  # a new file version even on coarse-mtime filesystems
    [fresh] = list(load_samples("Urban", 2))
    assert np.array_equal(fresh.lr, imresize(new_hr[:20, :26], 0.5))
    assert dataset_fingerprint("Urban", 2) != fingerprint_before


def test_generate_mode_never_reads_or_overwrites_shipped_lr(store):
    hr = rgb(16, 16)
    folder = make_set(store, "Shipped", {"s": hr})
    fake = np.zeros((8, 8, 3), np.uint8)  # a 'shipped' LR that is not the bicubic of HR
    write_image(lr_path(folder, "s", 2), fake)
    [from_file] = list(load_samples("Shipped", 2))
    [generated] = list(load_samples("Shipped", 2, lr_source="generate"))
    assert np.array_equal(from_file.lr, fake) and not from_file.lr_generated
    assert np.array_equal(generated.lr, imresize(hr, 0.5)) and generated.lr_generated
    assert np.array_equal(read_image(lr_path(folder, "s", 2)), fake)
    assert dataset_fingerprint("Shipped", 2, "file") != dataset_fingerprint("Shipped", 2, "generate")


def test_generate_mode_beside_a_shipped_lr_is_cached_in_the_store_cache(store, monkeypatch):
    """The generated LR of an image whose layout path holds a shipped file is made once and then read from the
    store's cache (verified by its provenance), not generated again on every run; the shipped file is untouched."""
    from srbench.core.hashing import cached_sha256
    from srbench.core.store import cache_root
    from srbench.data import datasets

    hr = rgb(16, 18)
    folder = make_set(store, "Shipped", {"s": hr})
    fake = np.zeros((8, 9, 3), np.uint8)
    write_image(lr_path(folder, "s", 2), fake)
    made = []
    monkeypatch.setattr(datasets, "imresize", lambda img, f: made.append(f) or imresize(img, f))
    hr_file = folder / "HR" / "s.png"
    first = datasets.load_sample(folder, hr_file, 2, "generate")  # load_sample itself: no in-process reuse
    again = datasets.load_sample(folder, hr_file, 2, "generate")
    assert len(made) == 1 and np.array_equal(first.lr, imresize(hr, 0.5)) and np.array_equal(again.lr, first.lr)
    assert (cache_root() / "lr" / f"{cached_sha256(hr_file)}_x2.png").is_file()
    assert np.array_equal(read_image(lr_path(folder, "s", 2)), fake)


def test_gray_images_stay_single_channel(store):
    gray = RNG.integers(0, 256, (18, 18), dtype=np.uint8)
    make_set(store, "Gray", {"g": gray})
    [sample] = list(load_samples("Gray", 3))
    assert sample.gray and sample.hr.shape == (18, 18) and sample.lr.shape == (6, 6)
    assert Image.open(lr_path(store / "Gray", "g", 3)).mode == "L"
    assert to_rgb(sample.lr).shape == (6, 6, 3) and np.array_equal(to_rgb(sample.lr)[..., 2], sample.lr)


def test_fingerprint_tracks_file_contents(store):
    folder = make_set(store, "Fp", {"a": rgb(8, 8), "b": rgb(8, 8)}, lr_scales=(2,))
    fp = dataset_fingerprint("Fp", 2)
    assert fp == dataset_fingerprint(folder, 2) and len(fp) == 64
    assert fp != dataset_fingerprint("Fp", 4)
    write_image(lr_path(folder, "b", 2), rgb(4, 4))
    os.utime(lr_path(folder, "b", 2), ns=(1, 1))
    assert dataset_fingerprint("Fp", 2) != fp


def test_bad_arguments(store):
    make_set(store, "S", {"a": rgb(8, 8)})
    with pytest.raises(SrbenchError, match="lr_source"):
        load_samples("S", 2, lr_source="shipped")
    with pytest.raises(SrbenchError, match="scale"):
        load_samples("S", 0)


def _counting_mini(store, monkeypatch, function: str, file_arg: int, shape):
    """A one-image dataset "Mini" (a.png, random pixels of ``shape``) with a fresh decode cache, and the file names
    the datasets module's ``function`` is called with (its argument ``file_arg``): (folder, image, names)."""
    import srbench.data.datasets as ds

    folder = store / "Mini"
    (folder / "HR").mkdir(parents=True)
    img = RNG.integers(0, 256, shape, dtype=np.uint8)
    write_image(folder / "HR" / "a.png", img)
    names = []
    real = getattr(ds, function)
    monkeypatch.setattr(ds, function, lambda *a, **k: names.append(a[file_arg].name) or real(*a, **k))
    monkeypatch.setattr(ds, "DECODED", ds.DecodedSamples(1 << 30))
    return folder, img, names


def test_decoded_samples_are_reused_read_only_and_refreshed_when_the_file_changes(store, monkeypatch):
    import os

    folder, img, calls = _counting_mini(store, monkeypatch, "load_sample", 1, (24, 24, 3))
    first = next(iter(load_samples("Mini", 2)))
    second = next(iter(load_samples("Mini", 2)))
    assert calls == ["a.png"] and second is first and not first.hr.flags.writeable
    write_image(folder / "HR" / "a.png", 255 - img)
    os.utime(folder / "HR" / "a.png", ns=(1, 1))
    third = next(iter(load_samples("Mini", 2)))
    assert calls == ["a.png", "a.png"] and np.array_equal(third.hr, 255 - img)


def test_hr_decoded_once_for_every_lr_source_and_scale(store, monkeypatch):
    """Another LR source's or scale's sample of one HR file reuses its decoded HR (explain reads 11 LR inputs per
    image; the benchmark measures three scales): each scale's HR is a view of the one decoded image."""
    _, img, decoded = _counting_mini(store, monkeypatch, "read_decoded", 0, (25, 26, 3))
    file_lr = next(iter(load_samples("Mini", 2)))
    pil_lr = next(iter(load_samples("Mini", 2, lr_source="pil/full")))
    x3 = next(iter(load_samples("Mini", 3, lr_source="pil")))
    assert decoded.count("a.png") == 1
    assert np.shares_memory(pil_lr.hr, file_lr.hr) and np.shares_memory(x3.hr, file_lr.hr)
    assert np.array_equal(pil_lr.hr, img[:24, :26]) and np.array_equal(x3.hr, img[:24, :24])
    assert not np.array_equal(pil_lr.lr, file_lr.lr)  # its own LR all the same
