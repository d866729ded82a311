"""Field rules: one rule and one message for every route into an Arch (YAML, direct construction,
dataclasses.replace, Arch.replace, build_model overrides)."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import nas
from nas.arch import Arch, ArchError, BlockArgs, HeadArgs, SEArgs, StemArgs, block_from_dict, load_arch

from support import VALID


def _b0(arch: Arch, **changes: Any) -> Arch:
    return arch.replace(blocks=(dataclasses.replace(arch.blocks[0], **changes), *arch.blocks[1:]))


# (edit of the VALID file, the same value through another route, the YAML path's "location: problem")
ROUTES: list[tuple[str, str, Callable[[Arch], Any], str]] = [
    ("num_classes: 10", "num_classes: 0", lambda a: nas.build_model(a, num_classes=0),
     "num_classes: must be ≥ 1 (got 0)"),
    ("num_classes: 10", "num_classes: -1", lambda a: nas.build_model(a, num_classes=-1),
     "num_classes: must be ≥ 1 (got -1)"),
    ("name: t", "name: t\nwidth_multiplier: 0", lambda a: a.replace(width_multiplier=0),
     "width_multiplier: must be in (0, 8] (got 0)"),
    ("name: t", "name: t\ndrop_path_rate: 1.5", lambda a: a.replace(drop_path_rate=1.5),
     "drop_path_rate: must be in [0, 1] (got 1.5)"),
    ("name: t", "name: t\nin_channels: 0", lambda a: nas.build_model(a, in_channels=0),
     "in_channels: must be ≥ 1 (got 0)"),
    ("resolution: 224", "resolution: 0", lambda a: nas.build_model(a, resolution=0),
     "resolution: must be ≥ 32 (got 0)"),
    ("name: t", "name: t\nactivation: gelu", lambda a: a.replace(activation="gelu"),
     "activation: must be one of relu, relu6, swish, hswish (got 'gelu')"),
    ("name: t", "name: t\nbn_momentum: 0.99", lambda a: dataclasses.replace(a, bn_momentum=0.99),
     "bn_momentum: must be in (0, 0.5] (got 0.99): this is PyTorch's momentum, 1 − TensorFlow's "
     "(TF 0.99 is 0.01 here)"),
    ("kernel_size: 3, strides: 1", "kernel_size: 3.0, strides: 1", lambda a: _b0(a, kernel_size=3.0),
     "blocks[0].kernel_size: must be one of 3, 5, 7 (got 3.0)"),
    ("kernel_size: 3, strides: 1", "kernel_size: 3, strides: 2.0", lambda a: _b0(a, strides=2.0),
     "blocks[0].strides: must be one of 1, 2 (got 2.0)"),
    ("kernel_size: 3, strides: 1", "kernel_size: 3, strides: true", lambda a: _b0(a, strides=True),
     "blocks[0].strides: must be one of 1, 2 (got True)"),
    ("num_repeat: 2,", "num_repeat: 2.0,", lambda a: _b0(a, num_repeat=2.0),
     "blocks[0].num_repeat: expected an integer, got 2.0"),
    ("expand_ratio: 6,", "expand_ratio: .nan,", lambda a: _b0(a, expand_ratio=float("nan")),
     "blocks[0].expand_ratio: expected a number, got nan"),
    ("stem: {filters: 16,", "stem: {filters: 0,", lambda a: a.replace(stem=StemArgs(filters=0)),
     "stem.filters: must be ≥ 1 (got 0)"),
    ("head: {filters: 64}", "head: {filters: 64, width_rule: shrink}",
     lambda a: a.replace(head=dataclasses.replace(a.head, width_rule="shrink")),
     "head.width_rule: must be one of scale, fixed, grow (got 'shrink')"),
    ("head: {filters: 64}", "head: {filters: 64.0}", lambda a: HeadArgs(filters=64.0),
     "head.filters: expected an integer, got 64.0"),
    ("num_repeat: 2,", "num_repeat: 100000,", lambda a: _b0(a, num_repeat=100000),
     "blocks[0].num_repeat: must be ≤ 64 (got 100000); see nas.arch.fields.LIMITS"),
    ("resolution: 224", "resolution: 100000", lambda a: a.replace(resolution=100000),
     "resolution: must be ≤ 2048 (got 100000); see nas.arch.fields.LIMITS"),
    ("head: {filters: 64}", "head: {filters: 1000000}", lambda a: HeadArgs(filters=1000000),
     "head.filters: must be ≤ 16384 (got 1000000); see nas.arch.fields.LIMITS"),
    ("head: {filters: 64}", "head: {filters: 16384}\nwidth_multiplier: 2", lambda a: a.replace(
        head=HeadArgs(filters=16384), width_multiplier=2),
     "width_multiplier: ×2 makes head.filters 32768 wide, over the limit 16384 (nas.arch.fields.LIMITS)"),
    ("name: t", "name: t\ndepth_multiplier: 33", lambda a: a.replace(depth_multiplier=33),
     "depth_multiplier: must be in (0, 8] (got 33)"),
]


@pytest.mark.parametrize("old,new,route,expected", ROUTES, ids=[r[3].split(":")[0] for r in ROUTES])
def test_every_route_gives_the_yaml_paths_one_line(tmp_path: Path, old: str, new: str,
                                                   route: Callable[[Arch], Any], expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(VALID.replace(old, new, 1))
    with pytest.raises(ArchError) as from_yaml:
        load_arch(path)
    assert str(from_yaml.value) == f"{path}: {expected}"

    with pytest.raises(ArchError) as other:
        route(load_arch(VALID))
    text = str(other.value)
    # the same problem, located as precisely as the route knows (a lone block or stem does not know where it goes)
    location, problem = expected.split(": ", 1)
    field = location.rpartition(".")[2]
    assert "\n" not in text and text.endswith(f"{field}: {problem}"), text


def test_overrides_name_the_arch() -> None:
    with pytest.raises(ArchError, match=r"^mobilenet_v2: num_classes: must be ≥ 1 \(got 0\)$"):
        nas.build_model("mobilenet_v2", num_classes=0)
    with pytest.raises(ArchError, match=r"^mobilenet_v2: width_multiplier: must be in \(0, 8\] \(got 0\)$"):
        nas.load_arch("mobilenet_v2").replace(width_multiplier=0)


@pytest.mark.parametrize("make,message", [
    (lambda: StemArgs(kernel_size=2), "<StemArgs>: kernel_size: must be one of 1, 3, 5, 7 (got 2)"),
    (lambda: StemArgs(pool="avg"), "<StemArgs>: pool: must be one of none, max (got 'avg')"),
    (lambda: HeadArgs(dropout=2), "<HeadArgs>: dropout: must be in [0, 1) (got 2)"),
    (lambda: HeadArgs(dropout=1.0), "<HeadArgs>: dropout: must be in [0, 1) (got 1.0)"),  # would zero every output
    (lambda: HeadArgs(hidden_filters=0), "<HeadArgs>: hidden_filters: must be ≥ 1 (got 0)"),
    (lambda: SEArgs(gate="relu"), "<SEArgs>: gate: must be one of sigmoid, hsigmoid (got 'relu')"),
    (lambda: BlockArgs("fused", 1, 3, 1, 1, 8, 8), "<BlockArgs>: block: must be one of ds, mbconv, shuffle, conv"),
    (lambda: BlockArgs("mbconv", 0, 3, 1, 6, 8, 8), "<BlockArgs>: num_repeat: must be ≥ 1 (got 0)"),
    (lambda: BlockArgs("mbconv", 1, 4, 1, 6, 8, 8), "<BlockArgs>: kernel_size: must be one of 3, 5, 7 (got 4)"),
    (lambda: BlockArgs("mbconv", 1, 3, 1, 6, -8, 8), "<BlockArgs>: input_filters: must be ≥ 1 (got -8)"),
    (lambda: BlockArgs("mbconv", 1, 3, 1, 0.5, 8, 8), "<BlockArgs>: expand_ratio: must be in [1, 16] (got 0.5)"),
    (lambda: BlockArgs("mbconv", 1, 3, 1, 6, 8, 8, id_skip=1), "<BlockArgs>: id_skip: expected true or false, got 1"),
    (lambda: Arch("", (BlockArgs("mbconv", 1, 3, 1, 6, 32, 8),)), "<Arch>: name: expected a non-empty string"),
    (lambda: Arch("x", ()), "<Arch>: blocks: expected a non-empty list of blocks"),
    (lambda: Arch("x", ({"block": "mbconv"},)), "<Arch>: blocks[0]: expected a BlockArgs, got dict"),
    (lambda: Arch("x", (BlockArgs("mbconv", 1, 3, 1, 6, 32, 8),), stem={"filters": 32}),
     "<Arch>: stem: expected a StemArgs, got dict"),
    (lambda: Arch("x", (BlockArgs("mbconv", 1, 3, 1, 6, 16, 8),)),
     "<Arch>: blocks[0].input_filters: must equal stem.filters = 32 (got 16)"),
    (lambda: Arch("x", (BlockArgs("conv", 1, 3, 1, 1, 32, 8, se_ratio=0.25),)),
     "<Arch>: blocks[0].se_ratio: a 'conv' block has no squeeze-excitation (got 0.25)"),
])
def test_direct_construction_is_checked(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(ArchError) as info:
        make()
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_a_lone_block_is_a_template_until_it_joins_an_arch() -> None:
    """Search spaces make stages with input_filters 0 and any kernel before chaining them; an Arch never
    holds one, with the YAML path's message."""
    template = BlockArgs("mbconv", 1, 1, 1, 6, 0, 8)
    with pytest.raises(ArchError, match=r"^<Arch>: blocks\[0\]\.input_filters: must be ≥ 1 \(got 0\)$"):
        Arch("x", (template,))
    with pytest.raises(ArchError, match=r"^<Arch>: blocks\[0\]\.kernel_size: must be one of 3, 5, 7 \(got 1\)$"):
        Arch("x", (dataclasses.replace(template, input_filters=32),))
    with pytest.raises(ArchError, match=r"^b\.yaml: blocks\[2\]\.input_filters: must be ≥ 1 \(got 0\)$"):
        block_from_dict(dataclasses.asdict(dataclasses.replace(template, kernel_size=3)), "b.yaml", "blocks[2]")


def test_numpy_numbers_are_stored_as_python_numbers() -> None:
    b = BlockArgs("mbconv", np.int64(2), np.int64(3), np.int64(1), np.float64(6.0), np.int64(16), np.int64(24))
    assert (b.num_repeat, b.kernel_size, b.expand_ratio) == (2, 3, 6)
    assert all(type(v) is int for v in (b.num_repeat, b.kernel_size, b.strides, b.expand_ratio, b.input_filters))


def test_bn_momentum_bound_admits_every_reference_net() -> None:
    """0.5 is above every PyTorch value a reference uses and below every TensorFlow decay."""
    for name in nas.zoo.names():
        assert 0 < nas.zoo.load(name).bn_momentum <= 0.1
    for tf_decay in (0.9, 0.99, 0.997, 0.9997):
        with pytest.raises(ArchError, match=f"TF {tf_decay:g} is {1 - tf_decay:.4g} here"):
            load_arch(VALID.replace("name: t", f"name: t\nbn_momentum: {tf_decay}"))
    assert load_arch(VALID.replace("name: t", "name: t\nbn_momentum: 0.5")).bn_momentum == 0.5


def test_the_multipliers_keep_the_built_sizes_within_the_limits(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(VALID.replace("name: t", "name: t\ndepth_multiplier: 2").replace("num_repeat: 2,",
                                                                                   "num_repeat: 40,"))
    with pytest.raises(ArchError) as info:
        load_arch(path)
    assert str(info.value) == (f"{path}: depth_multiplier: ×2 makes blocks[0] repeat 80 times, over the limit 64 "
                               "(nas.arch.fields.LIMITS)")
    assert load_arch(VALID.replace("num_repeat: 2,", "num_repeat: 32,")).replace(depth_multiplier=2)  # 64: the limit
    with pytest.raises(ArchError, match=r"^t: depth_multiplier: ×2\.1 makes blocks\[0\] repeat 68 times"):
        load_arch(VALID.replace("num_repeat: 2,", "num_repeat: 32,")).replace(depth_multiplier=2.1)
