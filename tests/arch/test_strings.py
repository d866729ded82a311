"""MnasNet and timm block strings: exact round trips and one-line errors."""
from __future__ import annotations

import pytest
from hypothesis import given, settings

import nas.zoo
from nas.arch import Arch, ArchError
from nas.arch.strings import FORMATS, decode_block, encode_block, from_strings, to_strings

from strategies import archs

# Which formats can express each zoo net (mnasnet strings: mbconv with the default activation only).
EXPRESSIBLE = {
    "efficientnet_b0": {"mnasnet", "timm"}, "mnasnet_a1": {"mnasnet", "timm"}, "mnasnet_b1": {"mnasnet", "timm"},
    "mobilenet_v2": {"mnasnet", "timm"}, "mobilenet_v1": {"timm"}, "mobilenet_v3_large": {"timm"},
    "mobilenet_v3_small": {"timm"}, "shufflenet_v2_x1_0": {"timm"},
}


@settings(max_examples=1000, deadline=None)
@given(archs())
def test_timm_round_trip(arch: Arch) -> None:
    assert from_strings(to_strings(arch, "timm"), "timm", arch) == arch


@settings(max_examples=1000, deadline=None)
@given(archs(mbconv_only=True, default_activation=True))
def test_mnasnet_round_trip(arch: Arch) -> None:
    assert from_strings(to_strings(arch, "mnasnet"), "mnasnet", arch) == arch


@pytest.mark.parametrize("name", nas.zoo.names())
def test_zoo_round_trips_in_every_format_it_can_express(name: str) -> None:
    arch = nas.zoo.load(name)
    assert set(EXPRESSIBLE) == set(nas.zoo.names())
    for fmt in FORMATS:
        if fmt in EXPRESSIBLE[name]:
            assert from_strings(to_strings(arch, fmt), fmt, arch) == arch
        else:
            with pytest.raises(ArchError, match="cannot express"):
                to_strings(arch, fmt)


def test_known_strings() -> None:
    a1 = nas.zoo.load("mnasnet_a1")
    # The MnasNet-A1 BlockArgs of the TF reference implementation.
    assert to_strings(a1, "mnasnet") == [
        "r1_k3_s11_e1_i32_o16_noskip", "r2_k3_s22_e6_i16_o24", "r3_k5_s22_e3_i24_o40_se0.25",
        "r4_k3_s22_e6_i40_o80", "r2_k3_s11_e6_i80_o112_se0.25", "r3_k5_s22_e6_i112_o160_se0.25",
        "r1_k3_s11_e6_i160_o320"]
    v3 = to_strings(nas.zoo.load("mobilenet_v3_large"), "timm")
    assert v3[5:7] == ["ir_r1_k3_s1_e2.5_c80", "ir_r2_k3_s1_e2.3_c80"]
    assert to_strings(nas.zoo.load("mobilenet_v1"), "timm")[0] == "dsa_r1_k3_s1_c64_noskip"
    b = decode_block("ir_r2_k3_s2_e6_c24_se0.25_nhs", "timm", input_filters=16)
    assert (b.block, b.num_repeat, b.kernel_size, b.strides, b.expand_ratio, b.input_filters, b.output_filters,
            b.se_ratio, b.id_skip, b.activation) == ("mbconv", 2, 3, 2, 6, 16, 24, 0.25, True, "hswish")
    assert encode_block(decode_block("r2_k3_s22_e6_i16_o24_se0.25", "mnasnet"), "timm") == "ir_r2_k3_s2_e6_c24_se0.25"
    conv = decode_block("cn_r1_k3_s1_c16", "timm", input_filters=16)
    assert conv.block == "conv" and conv.id_skip is False  # timm: conv blocks skip only with _skip


BAD = [
    ("r2_k4_s22_e6_i16_o24", "mnasnet", "kernel_size: must be one of 3, 5, 7 (got 4)"),
    ("r2_k3_s12_e6_i16_o24", "mnasnet", "unequal strides"),
    ("r2_k3_s22_e6_i16", "mnasnet", "output_filters: missing"),
    ("r2_k3_s22_e6_i16_o24_x5", "mnasnet", "unknown option 'x5'"),
    ("ir_r2_k3_s3_e6_c24", "timm", "strides: must be one of 1, 2 (got 3)"),
    ("zz_r2_k3_s2_e6_c24", "timm", "unknown block type 'zz'"),
    ("ir_r2_k3_s2_e6_c2x4", "timm", "output_filters: expected a number, got '2x4'"),
    ("ir_r2_k3_s2_e6_cabc", "timm", "unknown option 'cabc'"),
    ("ir_r0_k3_s2_e6_c24", "timm", "num_repeat: must be ≥ 1 (got 0)"),
    ("", "timm", "expected a block string"),
]


@pytest.mark.parametrize("text,fmt,message", BAD)
def test_bad_strings_give_one_line(text: str, fmt: str, message: str) -> None:
    with pytest.raises(ArchError) as info:
        decode_block(text, fmt, input_filters=16)  # type: ignore[arg-type]
    assert "\n" not in str(info.value) and message in str(info.value)
