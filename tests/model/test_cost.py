"""Costs: params, MACs (fvcore), activation memory, on small hand-checkable networks."""
from __future__ import annotations

from pathlib import Path

import pytest
from torch import nn

import nas
import nas.zoo
from nas.model.cost import activation_bytes, arch_macs, count_macs, count_params, macs_by_module, summary
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


def test_activation_bytes_of_a_chain() -> None:
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 4, 1))
    # largest leaf input+output: the ReLU (16·32·32 in, 16·32·32 out), float32
    assert activation_bytes(model, 32) == 2 * 16 * 32 * 32 * 4


def test_activation_bytes_counts_the_held_residual_input() -> None:
    arch = nas.load_arch({"name": "r", "stem": {"filters": 8, "kernel_size": 3, "strides": 1},
                          "blocks": [{"block": "mbconv", "num_repeat": 1, "kernel_size": 3, "strides": 1,
                                      "expand_ratio": 4, "input_filters": 8, "output_filters": 8}],
                          "head": {"filters": None}, "resolution": 32})
    with_skip = activation_bytes(nas.build_model(arch), 32)
    no_skip = activation_bytes(nas.build_model(arch.replace(blocks=(arch.blocks[0].__class__(
        **{**arch.blocks[0].__dict__, "id_skip": False}),))), 32)
    # expanded 32 channels in + out at 32×32 dominates; the skip adds the held 8-channel input
    assert no_skip == 2 * 32 * 32 * 32 * 4
    assert with_skip == no_skip + 8 * 32 * 32 * 4


def test_summary_of_arch_and_model_agree() -> None:
    arch = nas.zoo.load("mobilenet_v3_small")
    a, b = summary(arch, 96), summary(nas.build_model(arch), 96)
    assert a == b and a.resolution == 96 and "params" in str(a)
    assert a.to_dict()["params"] == 2_542_856


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
