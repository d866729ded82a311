"""Costs: params and MACs (fvcore) on small hand-checkable networks; the per-layer sum equals the whole."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import nas
import nas.zoo
from nas.arch.layers import resolve
from nas.model.cost import arch_macs, count_macs, count_params, macs_by_module, summary
from nas.model.memory import activation_bytes, measure_activation_bytes
from nas.space import load_space

SPACES = Path(__file__).resolve().parents[2] / "search_spaces"


def test_conv_macs_by_hand() -> None:
    conv = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False))
    assert count_macs(conv, 32) == 3 * 8 * 9 * 32 * 32
    assert count_params(conv) == 3 * 8 * 9


def test_macs_scale_with_resolution_and_sum_over_modules() -> None:
    model = nas.build_model("mobilenet_v1")
    by_module = macs_by_module(model, 64)
    assert by_module[""] == sum(by_module[k] for k in ("stem", "blocks", "head"))
    # convs dominate: 4× the pixels is almost exactly 4× the MACs (the classifier does not scale)
    m64, m128 = count_macs(model, 64), count_macs(model, 128)
    fc = 1024 * 1000
    assert (m128 - fc) == 4 * (m64 - fc)


class _Pool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3))


def test_global_pool_and_se_squeeze_are_counted_like_torchvisions_adaptive_pool() -> None:
    """fvcore counts adaptive_avg_pool2d one per input element and skips Tensor.mean; we count mean the same."""
    assert count_macs(_Pool(), 7, in_channels=1280) == 1280 * 7 * 7
    assert count_macs(nn.AdaptiveAvgPool2d(1), 7, in_channels=1280) == 1280 * 7 * 7
    # efficientnet_b0 at 224 px: 399,290,144 without the pools; + the head pool (1280·7·7) and every SE squeeze
    se = sum(layer.mid_chs * layer.output_size ** 2 for layer in resolve(nas.load_arch("efficientnet_b0"))[1:-1])
    assert count_macs(nas.build_model("efficientnet_b0"), 224) == 399_290_144 + 1280 * 7 * 7 + se == 401_659_392


def test_summary_of_arch_and_model_agree() -> None:
    arch = nas.zoo.load("mobilenet_v3_small")
    a, b = summary(arch, 96), summary(nas.build_model(arch), 96)
    assert a == b and a.resolution == 96 and "params" in str(a)
    assert a.to_dict()["params"] == 2_542_856
    assert a.activation_bytes == activation_bytes(arch, 96) == measure_activation_bytes(nas.build_model(arch), 96)


def test_count_macs_restores_training_mode() -> None:
    model = nas.build_model("mobilenet_v3_small").train()
    count_macs(model, 32)
    assert model.training


@pytest.mark.parametrize("space_file", sorted(p.name for p in SPACES.glob("*.yaml")))
def test_arch_macs_equals_fvcore_on_the_whole_model(space_file: str) -> None:
    """The per-layer memoized count is the whole-model count, for zoo nets and sampled archs alike."""
    space = load_space(SPACES / space_file)
    archs = [space.skeleton] + [space.sample(seed) for seed in range(4)]
    for arch in archs:
        assert arch_macs(arch) == count_macs(nas.build_model(arch), arch.resolution), arch.name
    assert arch_macs(space.skeleton, 64) == count_macs(nas.build_model(space.skeleton), 64)


def test_arch_macs_of_every_zoo_net() -> None:
    for name in nas.zoo.names():
        arch = nas.load_arch(name)
        assert arch_macs(arch) == count_macs(nas.build_model(arch), arch.resolution), name
