"""Registry, architectures and BatchNorm mode, checked against the numbers ARCHITECTURES.md gives (not the code's own)."""

from __future__ import annotations

import pytest
import torch

from srbench.core.errors import SrbenchError
from srbench.models import create_model, list_models, model_info, register_model, set_bn_mode
from srbench.models.complexity import count_params
from srbench.models.zoo import is_zoo

LEARNED = [name for name in list_models() if "group" in model_info(name)]
#: srbench's own (multi-scale) models; the field's single-scale released models are tested in tests/test_field.py
OWN = [name for name in list_models() if not is_zoo(name)]

# ARCHITECTURES.md / the ECDN report: multi-scale, default group.
PARAMS = {"carn": 1_591_963, "carn_m": 414_811, "ecdn": 694_555, "ecdn_m": 417_499}
DEFAULT_GROUP = {"carn": 1, "carn_m": 4, "ecdn": 4, "ecdn_m": 4}
RGB_MEAN = (0.4488, 0.4371, 0.4040)


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_registry_lists_every_architecture():
    assert set(list_models()) >= {"bicubic", *PARAMS}


@pytest.mark.parametrize("name", OWN)
def test_forward_shape_at_every_scale(name):
    model = create_model(name)
    assert model.arch == name
    assert model.scales == (2, 3, 4)
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        for s in model.scales:
            y = model(x, s)
            assert y.shape == (1, 3, 12 * s, 12 * s)
            assert y.dtype == torch.float32 and torch.isfinite(y).all()


@pytest.mark.parametrize("name", OWN)
def test_unbuilt_scale_is_refused(name):
    model = create_model(name, scales=2)
    assert model.scales == (2,)
    with pytest.raises(SrbenchError, match="x3"):
        model(torch.rand(1, 3, 8, 8), 3)


@pytest.mark.parametrize("name", LEARNED)
def test_single_scale_build_has_one_head(name):
    model = create_model(name, scales=3)
    heads = {k.split(".")[1] for k in model.state_dict() if k.startswith("upsample.")}
    assert heads == {"up3"}
    with torch.no_grad():
        assert model(torch.rand(1, 3, 10, 12), 3).shape == (1, 3, 30, 36)


@pytest.mark.parametrize("group", [2, 8])
@pytest.mark.parametrize("name", LEARNED)
def test_group_ablation_builds(name, group):
    model = create_model(name, group=group, scales=2)
    # the x2 head is a 3x3 conv 64 -> 256 with `group` groups: 64 / group input channels per filter
    assert tuple(model.upsample.up2.body[0].weight.shape) == (256, 64 // group, 3, 3)
    with torch.no_grad():
        assert model(torch.rand(1, 3, 8, 8), 2).shape == (1, 3, 16, 16)


@pytest.mark.parametrize("name", LEARNED)
def test_group_must_divide_64(name):
    with pytest.raises(SrbenchError, match="divisor of 64"):
        create_model(name, group=3)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_exact_parameter_count(name):
    assert count_params(create_model(name)) == PARAMS[name]


@pytest.mark.parametrize("name", sorted(DEFAULT_GROUP))
def test_default_build_arguments(name):
    assert model_info(name) == {"scales": (2, 3, 4), "group": DEFAULT_GROUP[name]}


def test_mean_shift_values():
    model = create_model("carn_m")
    mean = torch.tensor(RGB_MEAN)
    assert torch.equal(model.sub_mean.shifter.weight.view(3, 3), torch.eye(3))
    assert torch.allclose(model.sub_mean.shifter.bias, -mean)
    assert torch.allclose(model.add_mean.shifter.bias, mean)


# How often each module runs in one forward pass (ARCHITECTURES.md): CARN-M applies its efficient residual block three
# times; ECDN-M goes through the shared upsampler three times and never through c4.
@pytest.mark.parametrize("name, module, calls", [
    ("carn", "b1.b1", 1), ("carn_m", "b1.b1", 3), ("ecdn", "upsample.up2", 1), ("ecdn_m", "upsample.up2", 3),
    ("ecdn_m", "c4", 0),
])
def test_module_call_counts(name, module, calls):
    model = create_model(name)
    seen = []
    model.get_submodule(module).register_forward_hook(lambda *_: seen.append(1))
    with torch.no_grad():
        model(torch.rand(1, 3, 8, 8), 2)
    assert len(seen) == calls


def test_duplicate_registration_raises():
    before = list_models()
    with pytest.raises(SrbenchError, match="already registered"):
        register_model("carn")(lambda **kwargs: None)
    assert list_models() == before


def test_unknown_model_suggests_closest():
    with pytest.raises(SrbenchError) as exc:
        create_model("ecnd")
    message = _one_line(exc)
    assert "did you mean 'ecdn'" in message and "carn_m" in message


def test_group_for_bicubic_is_refused():
    with pytest.raises(SrbenchError, match="group"):
        create_model("bicubic", group=2)


def test_bicubic_keeps_a_flat_image_flat():
    x = torch.full((2, 3, 7, 9), 128 / 255)  # bicubic weights sum to 1: a constant stays the same 8-bit value
    y = create_model("bicubic")(x, 3)
    assert y.shape == (2, 3, 21, 27)
    assert torch.allclose(y, torch.full_like(y, 128 / 255))


def test_bn_batch_mode_uses_image_statistics_and_keeps_running_ones():
    model = create_model("ecdn_m")
    bn = model.b1[0].bn
    with torch.no_grad():
        bn.running_mean.fill_(5.0)
        bn.running_var.fill_(4.0)
    x = torch.randn(1, 64, 6, 6) * 3 + 1

    set_bn_mode(model, "batch")
    assert not model.training and bn.training
    with torch.no_grad():
        y = bn(x)
    # per-image statistics: every channel comes out with mean 0 and (biased) variance 1 (default affine is 1, 0)
    assert torch.allclose(y.mean(dim=(0, 2, 3)), torch.zeros(64), atol=1e-5)
    assert torch.allclose(y.var(dim=(0, 2, 3), unbiased=False), torch.ones(64), atol=1e-3)
    assert torch.equal(bn.running_mean, torch.full((64,), 5.0))
    assert torch.equal(bn.running_var, torch.full((64,), 4.0))

    set_bn_mode(model, "eval")
    assert not bn.training and bn.momentum == 0.1
    with torch.no_grad():
        assert torch.allclose(bn(x), (x - 5.0) / torch.sqrt(torch.tensor(4.0 + bn.eps)), atol=1e-5)


def test_bn_mode_must_be_known():
    with pytest.raises(SrbenchError, match="bn_mode"):
        set_bn_mode(create_model("carn_m"), "train")
