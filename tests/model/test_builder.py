"""The builder: zoo nets build and run at 224 and 32 px, deterministic eval, overrides, multipliers."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import nas
import nas.zoo
from nas.arch import ArchError, dump_arch
from nas.model.cost import count_params
from nas.arch.layers import resolve


@pytest.mark.parametrize("name", nas.zoo.names())
def test_zoo_builds_runs_and_is_deterministic(name: str) -> None:
    torch.manual_seed(0)
    model = nas.build_model(name).eval()
    with torch.inference_mode():
        for size in (224, 32):
            x = torch.randn(1, 3, size, size)
            a, b = model(x), model(x)
            assert a.shape == (1, 1000)
            assert torch.isfinite(a).all()
            assert torch.equal(a, b)


def test_structure_follows_the_arch() -> None:
    arch = nas.zoo.load("mnasnet_a1")
    model = nas.build_model(arch)
    assert model.arch is arch
    assert [len(stage) for stage in model.blocks] == [b.num_repeat for b in arch.blocks]
    assert len(resolve(arch)) == 2 + sum(b.num_repeat for b in arch.blocks)


def test_overrides_grayscale_and_classes(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    dump_arch(nas.zoo.load("mobilenet_v2"), path)
    model = nas.build_model(path, num_classes=10, in_channels=1).eval()
    assert model.stem[0][0].in_channels == 1
    with torch.inference_mode():
        assert model(torch.randn(3, 1, 28 + 4, 32)).shape == (3, 10)
    # mobilenet_v2 with 10 classes: 3,504,872 − 1280·990 − 990 (classifier) − 27·31 (stem: 3 → 1 channel)
    assert count_params(model) == 3504872 - 1280 * 990 - 990 - 32 * 9 * 2


def test_width_and_depth_multipliers() -> None:
    arch = nas.zoo.load("mobilenet_v2").replace(width_multiplier=0.5, depth_multiplier=2.0)
    layers = resolve(arch)
    assert layers[0].out_chs == 16  # make_divisible(32·0.5, 8)
    # stage 0 (16 → 8 channels) now repeats twice, then 24·0.5 = 12 rounds up to 16
    assert [l.out_chs for l in layers[1:-1]][:3] == [8, 8, 16]
    assert len(layers) - 2 == sum(2 * b.num_repeat for b in arch.blocks)
    assert layers[-1].mid_chs == 1280  # head.width_rule grow: MobileNetV2 keeps its 1280 head below width 1
    model = nas.build_model(arch).eval()
    with torch.inference_mode():
        assert model(torch.randn(1, 3, 64, 64)).shape == (1, 1000)


def test_drop_path_rate_is_linear_in_depth() -> None:
    model = nas.build_model("efficientnet_b0")
    rates = [b.drop_path.rate for stage in model.blocks for b in stage]
    assert rates[0] == 0 and rates == sorted(rates) and rates[-1] == pytest.approx(0.2 * 15 / 16)


def test_bad_input_is_an_arch_error() -> None:
    with pytest.raises(ArchError):
        nas.build_model({"name": "x", "blocks": []})
    for override in ({"num_classes": 0}, {"in_channels": 0}, {"resolution": 16}):
        with pytest.raises(ArchError, match=f"^mobilenet_v2: {next(iter(override))}: must be ≥"):
            nas.build_model("mobilenet_v2", **override)
