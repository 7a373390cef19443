"""srbench.data.inputs: a benchmark's inputs made ready before its cells (LR images generated and cached, decoded
copies written), judged ready from the files alone, and the very pixels a cell would read."""

from __future__ import annotations

import numpy as np
import pytest

from srbench.core.imresize import imresize
from srbench.data.datasets import hr_paths, load_sample, sample_ready
from srbench.data import inputs
from srbench.data.images import crop_to_scale, read_image, write_image
from srbench.data.inputs import prepare_inputs


@pytest.fixture()
def own_cache(tmp_path, monkeypatch):
    """A cache folder of this test's own, and an empty in-memory cache of decoded images: nothing generated or
    decoded before."""
    from srbench.data import datasets

    monkeypatch.setenv("SRBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "DECODED", datasets.DecodedSamples())
    monkeypatch.setattr(inputs, "_SETTLED", set())
    return tmp_path / "cache"


@pytest.mark.parametrize("lr_input", ["file", "pil", "generate/full"])
def test_prepared_once_then_ready(tiny_dataset, own_cache, lr_input):
    files = hr_paths(tiny_dataset)
    assert not any(sample_ready(tiny_dataset, f, 3, lr_input) for f in files)
    assert prepare_inputs([(str(tiny_dataset), 3, lr_input)] * 2, progress=False) == len(files)  # items deduplicated
    assert all(sample_ready(tiny_dataset, f, 3, lr_input) for f in files)
    assert list((own_cache / "decoded").glob("*.u8"))  # the HR images' decoded copies
    assert prepare_inputs([(str(tiny_dataset), 3, lr_input)], progress=False) == 0  # nothing left to do
    assert not any(sample_ready(tiny_dataset, f, 2, lr_input) for f in files)  # another scale is other inputs


def test_prepared_lr_is_matlab_bicubic_of_the_cropped_hr(tiny_dataset, own_cache):
    """The cached LR a cell then reads is imresize(HR cropped to a multiple of 3, 1/3), computed here directly."""
    prepare_inputs([(str(tiny_dataset), 3, "file")], progress=False)
    for f in hr_paths(tiny_dataset):
        sample = load_sample(tiny_dataset, f, 3)
        assert np.array_equal(sample.lr, imresize(crop_to_scale(read_image(f), 3), 1 / 3))
        assert sample.lr_generated


def test_a_damaged_cache_is_not_ready(tiny_dataset, own_cache):
    """A cached LR whose PNG no longer carries this generator's record is made again, not trusted."""
    prepare_inputs([(str(tiny_dataset), 3, "file")], progress=False)
    cached = sorted((own_cache / "lr").glob("*_x3.png"))
    assert cached
    write_image(cached[0], read_image(cached[0]))  # same pixels, no provenance chunks
    assert sum(not sample_ready(tiny_dataset, f, 3) for f in hr_paths(tiny_dataset)) == 1
    inputs._SETTLED.clear()  # a later process
    assert prepare_inputs([(str(tiny_dataset), 3, "file")], progress=False) == 1


def test_without_decoded_copies_only_generation_is_preparation(tiny_dataset, own_cache, monkeypatch):
    monkeypatch.setenv("SRBENCH_DECODED_FILES", "0")
    assert prepare_inputs([(str(tiny_dataset), 2, "file")], progress=False) == 3
    assert not (own_cache / "decoded").exists()
    assert all(sample_ready(tiny_dataset, f, 2) for f in hr_paths(tiny_dataset))


def test_shipped_lr_is_ready_once_both_decoded_copies_are_written(benchmark_root, own_cache):
    set5 = benchmark_root / "Set5"
    files = hr_paths(set5)
    assert not any(sample_ready(set5, f, 4) for f in files)
    assert prepare_inputs([("Set5", 4, "file")], progress=False) == len(files) == 5
    assert len(list((own_cache / "decoded").glob("*.u8"))) == 10  # 5 HR, 5 shipped LR
    assert not (own_cache / "lr").exists()  # nothing generated: the LR files are shipped
    assert all(sample_ready(set5, f, 4) for f in files)


def test_an_unwritable_cache_is_prepared_once_per_process(tiny_dataset, own_cache, monkeypatch):
    """Where nothing can be written (a read-only cache), samples never become ready; they are read once by the
    preparation, not again before every cell, and nothing fails."""
    from srbench.data import datasets, decoded_files

    def refuse(*args, **kwargs):
        raise OSError("read-only file system")

    monkeypatch.setattr(decoded_files, "write_header_and_values", refuse)
    monkeypatch.setattr(datasets, "write_image", refuse)
    assert prepare_inputs([(str(tiny_dataset), 2, "file")], progress=False) == 3
    assert not any(sample_ready(tiny_dataset, f, 2) for f in hr_paths(tiny_dataset))
    assert not own_cache.exists()
    assert prepare_inputs([(str(tiny_dataset), 2, "file")], progress=False) == 0
