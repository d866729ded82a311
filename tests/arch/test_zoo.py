"""The reference nets: exact parameter counts and MACs (fvcore) against the published implementations."""
from __future__ import annotations

import pytest

import nas
import nas.zoo
from nas.model.cost import CostSummary, count_params, summary

# torchvision (mobilenet_v2, v3 large/small, mnasnet1_0 = B1, efficientnet_b0, shufflenet_v2_x1_0),
# timm/TF (mnasnet_a1) and the original MobileNetV1 — at 224 px, 1000 classes.
PARAMS = {
    "mobilenet_v1": 4_231_976, "mobilenet_v2": 3_504_872, "mobilenet_v3_large": 5_483_032,
    "mobilenet_v3_small": 2_542_856, "mnasnet_a1": 3_887_038, "mnasnet_b1": 4_383_312,
    "efficientnet_b0": 5_288_548, "shufflenet_v2_x1_0": 2_278_604,
}
MACS_M = {
    "mobilenet_v1": 578.9, "mobilenet_v2": 314.2, "mobilenet_v3_large": 226.0, "mobilenet_v3_small": 59.6,
    "mnasnet_a1": 324.1, "mnasnet_b1": 325.3, "efficientnet_b0": 399.4, "shufflenet_v2_x1_0": 148.8,
}


def test_zoo_has_the_eight_reference_nets() -> None:
    assert nas.zoo.names() == sorted(PARAMS)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_parameter_count_matches_reference_exactly(name: str) -> None:
    assert count_params(nas.build_model(name)) == PARAMS[name]


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_macs_within_one_percent(name: str) -> None:
    s = summary(name)
    assert isinstance(s, CostSummary) and s.resolution == 224 and s.params == PARAMS[name]
    assert s.macs / 1e6 == pytest.approx(MACS_M[name], rel=0.01)


def test_torchvision_agrees_when_installed() -> None:
    tv = pytest.importorskip("torchvision", reason="torchvision is not installed (it is optional)")
    for name, ctor in [("mobilenet_v2", "mobilenet_v2"), ("mobilenet_v3_large", "mobilenet_v3_large"),
                       ("mobilenet_v3_small", "mobilenet_v3_small"), ("mnasnet_b1", "mnasnet1_0"),
                       ("efficientnet_b0", "efficientnet_b0"), ("shufflenet_v2_x1_0", "shufflenet_v2_x1_0")]:
        ref = getattr(tv.models, ctor)(weights=None)
        assert count_params(nas.build_model(name)) == count_params(ref), name
