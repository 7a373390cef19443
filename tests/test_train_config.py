"""Training recipe parsing, the learning-rate schedule and the loss functions, against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from srbench.core.errors import SrbenchError
from srbench.train.losses import get_loss
from srbench.train.config import TrainConfig, load_config


def test_unknown_key_names_key_and_file(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model: carn_m\nlearning_rate: 0.001\n")
    with pytest.raises(SrbenchError) as exc:
        load_config(recipe)
    message = str(exc.value)
    assert "learning_rate" in message and str(recipe) in message and "\n" not in message


def test_unknown_set_key_and_bad_value(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model: carn_m\n")
    with pytest.raises(SrbenchError, match="batchsize"):
        load_config(recipe, overrides=["batchsize=4"])
    with pytest.raises(SrbenchError, match="scale"):
        load_config(recipe, overrides=["scale=5"])
    with pytest.raises(SrbenchError, match="loss"):
        load_config(recipe, overrides=["loss=L3"])


def test_defaults_are_the_papers_and_resolution(tmp_path):
    recipe = tmp_path / "my_run.yaml"
    recipe.write_text("model: ecdn\n")
    c = load_config(recipe, overrides=["batch_size=8", "val_dataset=null"], max_steps=10)
    assert (c.lr, c.decay, c.clip, c.patch_size, c.scale, c.loss) == (1e-4, 400_000, 10.0, 64, 0, "L1")
    assert (c.batch_size, c.max_steps, c.val_dataset) == (8, 10, None)
    assert c.name == "my_run" and c.out_dir == "runs/my_run" and c.val_scales == (2, 3, 4)
    c2 = load_config(recipe, overrides=["scale=3"])
    assert c2.val_scales == (3,)
    with pytest.raises(SrbenchError, match="val_scales"):
        load_config(recipe, overrides=["scale=3", "val_scales=[2]"])


def test_lr_schedule():
    c = TrainConfig(model="carn", lr=1e-4, decay=400_000)
    assert c.lr_at(0) == 1e-4
    assert c.lr_at(399_999) == 1e-4
    assert c.lr_at(400_000) == 5e-5
    assert c.lr_at(799_999) == 5e-5
    assert c.lr_at(800_000) == 2.5e-5
    c = TrainConfig(model="carn", lr=2e-3, decay=3)
    assert [c.lr_at(s) for s in range(7)] == [2e-3, 2e-3, 2e-3, 1e-3, 1e-3, 1e-3, 5e-4]


SR = torch.tensor([0.0, 0.5, 1.0, 0.2])
HR = torch.tensor([0.1, 0.5, 0.4, 0.9])   # d = sr - hr = [-0.1, 0, 0.6, -0.7]


def test_losses_hand_computed():
    assert get_loss("L1")(SR, HR).item() == pytest.approx((0.1 + 0 + 0.6 + 0.7) / 4)
    assert get_loss("MSE")(SR, HR).item() == pytest.approx((0.01 + 0 + 0.36 + 0.49) / 4)
    # SmoothL1, beta 1: 0.5 d^2 everywhere on [0, 1] pixels
    assert get_loss("SmoothL1", smoothl1_beta=1.0)(SR, HR).item() == pytest.approx(0.5 * (0.01 + 0.36 + 0.49) / 4)
    # beta 0.5: 0.5 d^2 / 0.5 for |d| < 0.5 (0.1, 0), |d| - 0.25 otherwise (0.6, 0.7)
    assert get_loss("SmoothL1", smoothl1_beta=0.5)(SR, HR).item() == pytest.approx(
        (0.01 + 0 + 0.35 + 0.45) / 4)
    eps = 1e-3
    expected = sum(math.sqrt(d * d + eps * eps) for d in (-0.1, 0.0, 0.6, -0.7)) / 4
    assert get_loss("Charbonnier", charbonnier_eps=eps)(SR, HR).item() == pytest.approx(expected)
    with pytest.raises(SrbenchError, match="L1"):
        get_loss("l1")
