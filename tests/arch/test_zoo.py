"""The reference nets: exact parameter counts and MACs (fvcore) against the published implementations, the
width multiplier's rule for each family's head, and the conventions each zoo file states."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

import nas
import nas.zoo
from nas.arch.layers import resolve
from nas.model.cost import CostSummary, count_params, summary

# torchvision (mobilenet_v2, v3 large/small, mnasnet1_0 = B1, efficientnet_b0, shufflenet_v2_x1_0),
# timm/TF (mnasnet_a1) and the original MobileNetV1 — at 224 px, 1000 classes.
PARAMS = {
    "mobilenet_v1": 4_231_976, "mobilenet_v2": 3_504_872, "mobilenet_v3_large": 5_483_032,
    "mobilenet_v3_small": 2_542_856, "mnasnet_a1": 3_887_038, "mnasnet_b1": 4_383_312,
    "efficientnet_b0": 5_288_548, "shufflenet_v2_x1_0": 2_278_604,
}
# fvcore MACs at 224 px, global pool and SE squeeze counted one per input element (as fvcore counts
# torchvision's adaptive_avg_pool2d). efficientnet_b0 and mobilenet_v3_small are the torchvision
# values; mobilenet_v2 and mobilenet_v3_large equal fvcore on torchvision's model code too. torchvision's
# MNASNet and ShuffleNetV2 pool with `x.mean([2, 3])`, which fvcore skips: their torchvision counts are
# these minus the pool, 1280·7·7 and 1024·7·7. mnasnet_a1 and mobilenet_v1 have no torchvision model.
MACS = {
    "efficientnet_b0": 401_659_392, "mobilenet_v3_small": 59_649_536, "mobilenet_v2": 314_193_216,
    "mobilenet_v3_large": 226_033_824, "mnasnet_b1": 325_329_152 + 1280 * 7 * 7,
    "shufflenet_v2_x1_0": 148_808_392 + 1024 * 7 * 7, "mnasnet_a1": 324_682_848, "mobilenet_v1": 578_875_904,
}


def test_zoo_has_the_eight_reference_nets() -> None:
    assert nas.zoo.names() == sorted(PARAMS) == sorted(MACS)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_parameter_count_matches_reference_exactly(name: str) -> None:
    assert count_params(nas.build_model(name)) == PARAMS[name]


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_macs_match_reference_to_the_unit(name: str) -> None:
    s = summary(name)
    assert isinstance(s, CostSummary) and s.resolution == 224 and s.params == PARAMS[name]
    assert s.macs == MACS[name]


# (zoo net, width multiplier, torchvision's parameter count): mobilenet_v2 keeps its 1280 head below 1,
# MnasNet keeps it at every alpha (mnasnet0_5 / 0_75 / 1_3 as torchvision documents them).
WIDTH = [("mobilenet_v2", 0.5, 1_968_680), ("mobilenet_v2", 0.35, 1_677_128), ("mnasnet_b1", 0.5, 2_218_512),
         ("mnasnet_b1", 0.75, 3_170_208), ("mnasnet_b1", 1.3, 6_282_256)]


@pytest.mark.parametrize("name,alpha,params", WIDTH)
def test_width_multiplier_matches_torchvision(name: str, alpha: float, params: int) -> None:
    assert count_params(nas.build_model(nas.load_arch(name).replace(width_multiplier=alpha))) == params


@pytest.mark.parametrize("name,rule,widths", [
    # head conv width at alpha 0.5, 1, 1.4 — the family decides (head.width_rule)
    ("mobilenet_v2", "grow", [1280, 1280, 1792]),
    ("mnasnet_b1", "fixed", [1280, 1280, 1280]), ("mnasnet_a1", "fixed", [1280, 1280, 1280]),
    ("efficientnet_b0", "scale", [640, 1280, 1792]),
    ("mobilenet_v3_large", "scale", [480, 960, 1344]), ("mobilenet_v3_small", "scale", [288, 576, 808]),
])
def test_each_family_states_its_head_rule(name: str, rule: str, widths: list[int]) -> None:
    arch = nas.zoo.load(name)
    assert arch.head.width_rule == rule
    assert [resolve(arch.replace(width_multiplier=a))[-1].mid_chs for a in (0.5, 1, 1.4)] == widths


def test_mobilenet_v3_hidden_layer_follows_the_rule() -> None:
    # torchvision: last_channel = adjust_channels(1280) = _make_divisible(1280 * width_mult, 8)
    assert resolve(nas.zoo.load("mobilenet_v3_large").replace(width_multiplier=0.75))[-1].hidden == 960


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_each_zoo_file_says_its_conventions(name: str) -> None:
    """The opening comment names the source and the BatchNorm values the file sets, and the head rule."""
    arch = nas.zoo.load(name)
    comment = "".join(line for line in nas.zoo.path(name).read_text().splitlines(True) if line.startswith("#"))
    assert re.search(rf"^# BatchNorm: eps {arch.bn_eps:g}, momentum {arch.bn_momentum:g} — \w", comment, re.M)
    if arch.head.filters:
        assert f"# Head: width_rule {arch.head.width_rule} — " in comment
    assert name in nas.zoo.__doc__


def test_efficientnet_b0_states_it_follows_tensorflow_not_torchvision_batchnorm() -> None:
    arch = nas.zoo.load("efficientnet_b0")
    assert (arch.bn_eps, arch.bn_momentum) == (1e-3, 0.01)
    text = nas.zoo.path("efficientnet_b0").read_text()
    assert "TensorFlow's convention" in text and "torchvision's efficientnet_b0 uses PyTorch's defaults" in text
    assert "torchvision's efficientnet_b0 uses\n  PyTorch's defaults 1e-5 / 0.1" in nas.zoo.__doc__


def test_nas_zoo_is_reachable_after_import_nas() -> None:
    """In a fresh interpreter: `import nas` alone gives nas.zoo (its docstring's promise)."""
    code = "import nas; print(nas.zoo.names()[0], nas.zoo.load('mnasnet_a1').blocks[2].se_ratio)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["efficientnet_b0", "0.25"]


def test_torchvision_agrees_when_installed() -> None:
    tv = pytest.importorskip("torchvision", reason="torchvision is not installed (it is optional)")
    for name, ctor in [("mobilenet_v2", "mobilenet_v2"), ("mobilenet_v3_large", "mobilenet_v3_large"),
                       ("mobilenet_v3_small", "mobilenet_v3_small"), ("mnasnet_b1", "mnasnet1_0"),
                       ("efficientnet_b0", "efficientnet_b0"), ("shufflenet_v2_x1_0", "shufflenet_v2_x1_0")]:
        ref = getattr(tv.models, ctor)(weights=None)
        assert count_params(nas.build_model(name)) == count_params(ref), name
    for name, alpha, params in WIDTH:
        ctor = {"mobilenet_v2": lambda a: tv.models.MobileNetV2(width_mult=a), "mnasnet_b1": tv.models.MNASNet}
        assert count_params(ctor[name](alpha)) == params
