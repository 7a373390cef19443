"""A network's complexity figures kept on disk by its structure (srbench.eval.complexity_cache).

References: the published Mult-Adds of CARN-M (Ahn et al., ECCV 2018, Table 1: 91.2G at x2, 720p output), the figures
counted in this process with the counting functions themselves, and hand-made structures that must not share a file.
"""

from __future__ import annotations

import json

import pytest
import torch

from srbench.eval import cell, complexity_cache
from srbench.models import create_model

OUT_HW, PROFILE_IN = (720, 1280), (3, 256, 256)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _no_counting(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("counted although the figures were in the cache")
    for name in ("count_effective_params", "mult_adds", "challenge_profile"):
        monkeypatch.setattr(cell, name, refuse)


def test_figures_read_back_are_the_counted_ones_and_the_published(cache, monkeypatch):
    counted = cell.complexity(create_model("carn_m"), 2, OUT_HW, PROFILE_IN)
    assert round(counted["mult_adds_g"], 1) == 91.2  # CARN-M x2, the paper's Table 1
    assert counted["params"] == sum(p.numel() for p in create_model("carn_m").parameters())
    assert len(list((cache / "complexity").glob("*.json"))) == 1
    _no_counting(monkeypatch)
    other = create_model("carn_m")  # another object of the same structure, other weights: the file, not a count
    with torch.no_grad():
        for p in other.parameters():
            p.add_(1.0)
    read = cell.complexity(other, 2, OUT_HW, PROFILE_IN)
    assert read == counted and all(type(read[k]) is type(counted[k]) for k in counted)


def test_what_decides_the_figures_decides_the_file():
    key = complexity_cache.structure_key
    carn_m = create_model("carn_m")
    assert key(carn_m, 2, OUT_HW, PROFILE_IN) == key(create_model("carn_m"), 2, OUT_HW, PROFILE_IN)
    others = {key(create_model("carn"), 2, OUT_HW, PROFILE_IN), key(create_model("ecdn"), 2, OUT_HW, PROFILE_IN),
              key(create_model("ecdn_m"), 2, OUT_HW, PROFILE_IN), key(carn_m, 3, OUT_HW, PROFILE_IN),
              key(carn_m, 2, (360, 640), PROFILE_IN), key(carn_m, 2, OUT_HW, (3, 128, 128)),
              key(carn_m, 2, OUT_HW, PROFILE_IN)}
    assert len(others) == 7
    assert key(torch.nn.Conv2d(3, 8, 3), 2, OUT_HW, PROFILE_IN) != key(torch.nn.Conv2d(3, 8, 5), 2, OUT_HW, PROFILE_IN)


@pytest.mark.parametrize("damage", ["garbage", "not_numbers", "empty"])
def test_an_unreadable_file_is_counted_again_and_replaced(cache, damage):
    model = create_model("carn_m")
    counted = cell.complexity(model, 4, OUT_HW, PROFILE_IN)
    (path,) = (cache / "complexity").glob("*.json")
    path.write_text({"garbage": "{not json", "not_numbers": json.dumps({"params": "many"}), "empty": ""}[damage])
    again = cell.complexity(create_model("carn_m"), 4, OUT_HW, PROFILE_IN)
    assert again == counted and json.loads(path.read_text()) == counted
