"""The cache budget (srbench.core.cache_budget): one limit over decoded images and shared network outputs.

Eviction order and sizes are checked against hand-worked cases; the caches built on it are checked to give the very
arrays an unbudgeted read gives (decoding from disk with PIL is the reference) and to fall back to recomputing, never
to fail, when the budget cannot hold an entry.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from srbench.core.cache_budget import BudgetedCache, CacheBudget, parse_mb
from srbench.core.errors import SrbenchError
from srbench.eval.shared_passes import SharedPasses


def test_cheapest_to_refill_is_evicted_first_then_least_recently_used():
    budget = CacheBudget(100)
    images = BudgetedCache("images", budget, refill_cost=1)
    outputs = BudgetedCache("outputs", budget, refill_cost=2)
    assert images.put("a", "A", 30) and images.put("b", "B", 30) and outputs.put("x", "X", 30)
    assert images.get("a") == "A"  # "a" is now more recent than "b"
    assert outputs.put("y", "Y", 30)  # 120 > 100: one image goes, the least recently used one ("b")
    assert "b" not in images and "a" in images and budget.used == 90
    assert outputs.put("z", "Z", 50)  # 140 > 100: "a" goes (images first), then "x" (the oldest output)
    assert len(images) == 0 and list(outputs.keys()) == ["y", "z"] and budget.used == 80
    assert budget.held() == {"images": 0, "outputs": 80}


def test_an_entry_larger_than_the_budget_is_not_kept_and_evicts_nothing():
    budget = CacheBudget(100)
    cache = BudgetedCache("c", budget, refill_cost=1)
    cache.put("a", 1, 60)
    assert not cache.put("big", 2, 101) and cache.get("a") == 1 and budget.used == 60
    budget.set_limit(50)  # a lower limit applies at once
    assert budget.used == 0 and cache.get("a") is None
    nothing = CacheBudget(0)
    assert not BudgetedCache("n", nothing, refill_cost=1).put("k", 1, 1)


@pytest.mark.parametrize("text,expected", [("0", 0), ("384", 384 << 20), ("0.5", 1 << 19)])
def test_parse_mb(text, expected):
    assert parse_mb(text, "--cache-mb") == expected


@pytest.mark.parametrize("text", ["-1", "lots", "nan", "inf", ""])
def test_parse_mb_refuses_what_is_not_a_budget(text):
    with pytest.raises(SrbenchError, match="--cache-mb"):
        parse_mb(text, "--cache-mb")


def test_shared_outputs_past_the_budget_are_not_kept_so_the_next_cell_runs_its_own_pass():
    passes = SharedPasses(CacheBudget(2 * 2 * 3 * 4))  # room for one 2x2 float32 RGB output
    passes.need("k", "Set5", "file", 2)
    first = passes.scope("k", "run-a")
    first.put("Set5", "file", "baby", np.zeros((2, 2, 3), np.float32), 0.5)
    first.put("Set5", "file", "bird", np.ones((2, 2, 3), np.float32), 0.5)  # evicts the older one
    second = passes.scope("k", "run-b")
    assert second.get("Set5", "file", "baby") is None and second.get("Set5", "file", "bird") is not None


@pytest.mark.parametrize("limit", [0, 30_000, 1 << 30])
def test_decoded_samples_are_the_files_pixels_whatever_the_budget(tiny_dataset, limit, monkeypatch):
    from srbench.data import datasets

    monkeypatch.setattr(datasets, "DECODED", datasets.DecodedSamples(limit))
    for _ in range(2):  # the second pass reads what the budget kept, or decodes again
        for scale in (2, 3):
            for sample in datasets.load_samples(tiny_dataset, scale):
                hr = np.asarray(Image.open(tiny_dataset / "HR" / f"{sample.name}.png"))
                h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
                assert np.array_equal(sample.hr, hr[:h, :w]) and not sample.hr.flags.writeable
                assert sample.lr.shape[:2] == (h // scale, w // scale)
    assert datasets.DECODED._cache.bytes <= limit


def test_a_scanned_cache_misses_once_per_scan_where_least_recently_used_misses_every_read():
    """Four entries read in the same order again and again with room for three (hand-worked): least-recently-used
    eviction drops exactly the entry read next, so every read misses; evicting the newest misses once per scan."""
    def misses(scans: bool) -> list[int]:
        cache = BudgetedCache("scan", CacheBudget(30), refill_cost=1, scans=scans)
        per_scan = []
        for _ in range(3):
            missed = 0
            for key in "abcd":
                if cache.get(key) is None:
                    missed += 1
                    cache.put(key, key, 10)
            per_scan.append(missed)
        return per_scan

    assert misses(scans=False) == [4, 4, 4]
    assert misses(scans=True) == [4, 1, 1]


def test_a_cache_with_a_share_holds_at_most_its_part_of_the_limit():
    """Hand-worked: limit 100, a cache allowed a quarter of it (25 bytes) keeps two 10-byte entries, evicting its own
    (in its own order) for a third, and never keeps a 30-byte one; another cache still has the rest of the limit."""
    budget = CacheBudget(100)
    images = BudgetedCache("images", budget, refill_cost=1, share=0.25)
    outputs = BudgetedCache("outputs", budget, refill_cost=2)
    assert images.put("a", 1, 10) and images.put("b", 2, 10)
    assert images.put("c", 3, 10) and list(images.keys()) == ["b", "c"] and images.bytes == 20
    assert not images.put("big", 4, 30) and "big" not in images
    assert outputs.put("o", 5, 75) and images.bytes + outputs.bytes == 95
    with pytest.raises(ValueError):
        BudgetedCache("bad", budget, refill_cost=1, share=1.5)
