"""MnasNet and timm block strings: exact round trips and one-line errors."""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings

import nas
import nas.zoo
from nas.arch import Arch, ArchError, BlockArgs, load_arch, resolve
from nas.arch.strings import FORMATS, decode_block, encode_block, from_strings, to_strings
from nas.model.blocks import ResidualBlock
from nas.model.cost import count_params

from strategies import archs, archs_with_any_ratios

# Which formats can express each zoo net (mnasnet strings: mbconv with the default activation only).
EXPRESSIBLE = {
    "efficientnet_b0": {"mnasnet", "timm"}, "mnasnet_a1": {"mnasnet", "timm"}, "mnasnet_b1": {"mnasnet", "timm"},
    "mobilenet_v2": {"mnasnet", "timm"}, "mobilenet_v1": {"timm"}, "mobilenet_v3_large": {"timm"},
    "mobilenet_v3_small": {"timm"}, "shufflenet_v2_x1_0": {"timm"},
}


def _stem(filters: int) -> dict:
    return {"filters": filters, "kernel_size": 3, "strides": 2}


def _timm_round_trip(arch: Arch) -> None:
    """A timm round trip gives the same network, and the same Arch unless a ds stage with an activated
    pointwise conv says id_skip: true; a network in which such a block takes its skip cannot be written."""
    if any(layer.kind == "ds" and layer.pw_act and layer.skip for layer in resolve(arch)):
        with pytest.raises(ArchError, match="timm strings cannot express blocks"):
            to_strings(arch, "timm")
        return
    strings = to_strings(arch, "timm")
    assert not any("e-" in text or "E" in text for text in strings)  # plain decimals: our decoder reads them
    back = from_strings(strings, "timm", arch)
    assert resolve(back) == resolve(arch)
    dsa = [i for i, b in enumerate(arch.blocks) if b.block == "ds" and b.pw_act and b.id_skip]
    assert back == arch.replace(blocks=tuple(dataclasses.replace(b, id_skip=False) if i in dsa else b
                                             for i, b in enumerate(arch.blocks)))


@settings(max_examples=1000, deadline=None)
@given(archs())
def test_timm_round_trip(arch: Arch) -> None:
    _timm_round_trip(arch)


@settings(max_examples=500, deadline=None)
@given(archs_with_any_ratios())
def test_timm_round_trip_of_any_ratio(arch: Arch) -> None:
    _timm_round_trip(arch)


@settings(max_examples=1000, deadline=None)
@given(archs(mbconv_only=True, default_activation=True))
def test_mnasnet_round_trip(arch: Arch) -> None:
    assert from_strings(to_strings(arch, "mnasnet"), "mnasnet", arch) == arch


@settings(max_examples=500, deadline=None)
@given(archs_with_any_ratios(mbconv_only=True, default_activation=True))
def test_mnasnet_round_trip_of_any_ratio(arch: Arch) -> None:
    strings = to_strings(arch, "mnasnet")
    assert not any("e-" in text or "E" in text for text in strings)
    assert from_strings(strings, "mnasnet", arch) == arch


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
    assert to_strings(nas.zoo.load("mobilenet_v1"), "timm")[0] == "dsa_r1_k3_s1_c64"  # dsa: no skip already
    b = decode_block("ir_r2_k3_s2_e6_c24_se0.25_nhs", "timm", input_filters=16)
    assert (b.block, b.num_repeat, b.kernel_size, b.strides, b.expand_ratio, b.input_filters, b.output_filters,
            b.se_ratio, b.id_skip, b.activation) == ("mbconv", 2, 3, 2, 6, 16, 24, 0.25, True, "hswish")
    assert encode_block(decode_block("r2_k3_s22_e6_i16_o24_se0.25", "mnasnet"), "timm") == "ir_r2_k3_s2_e6_c24_se0.25"
    conv = decode_block("cn_r1_k3_s1_c16", "timm", input_filters=16)
    assert conv.block == "conv" and conv.id_skip is False  # timm: conv blocks skip only with _skip


# timm's own MobileNetV1 (timm/models/efficientnet.py, _gen_mobilenet_v1): dsa blocks never skip.
TIMM_MOBILENET_V1 = ["dsa_r1_k3_s1_c64", "dsa_r2_k3_s2_c128", "dsa_r2_k3_s2_c256", "dsa_r6_k3_s2_c512",
                     "dsa_r2_k3_s2_c1024"]


def test_timm_dsa_blocks_never_skip() -> None:
    zoo = nas.zoo.load("mobilenet_v1")
    arch = from_strings(TIMM_MOBILENET_V1, "timm", zoo)
    assert all(b.block == "ds" and b.pw_act and not b.id_skip for b in arch.blocks)
    model = nas.build_model(arch)
    residuals = [m for m in model.modules() if isinstance(m, ResidualBlock)]
    assert len(residuals) == 13 and not any(m.skip for m in residuals)  # was 8 residual adds
    assert count_params(model) == count_params(nas.build_model(zoo)) == 4_231_976
    assert decode_block("dsa_r2_k3_s1_c64_skip", "timm", input_filters=64).id_skip is False  # as timm: still none
    assert decode_block("ds_r2_k3_s1_c64", "timm", input_filters=64).id_skip is True


@pytest.mark.parametrize("block,changes", [
    (BlockArgs("ds", 2, 3, 2, 1, 32, 64, pw_act=True), {}),  # the second block would skip
    (BlockArgs("ds", 1, 3, 1, 1, 64, 64, pw_act=True), {}),  # stride 1, equal widths
    (BlockArgs("ds", 1, 3, 2, 1, 32, 64, pw_act=True), {"depth_multiplier": 2.0}),  # repeated by the network
    (BlockArgs("ds", 1, 3, 1, 1, 40, 48, pw_act=True), {"width_multiplier": 0.25}),  # 40, 48 → 16, 16
])
def test_a_skipping_activated_ds_block_has_no_timm_form(block: BlockArgs, changes: dict) -> None:
    base = load_arch({"name": "n", "resolution": 224, "num_classes": 1000, "stem": _stem(block.input_filters),
                      "blocks": [dataclasses.asdict(block)], "head": {"filters": None}})
    arch = base.replace(**changes)
    assert any(layer.skip for layer in resolve(arch))
    with pytest.raises(ArchError, match=r"^timm strings cannot express blocks\[0\]: .* 'dsa' blocks never skip"):
        to_strings(arch, "timm")
    assert to_strings(dataclasses.replace(arch, blocks=(dataclasses.replace(block, id_skip=False),)), "timm")[0] \
        .startswith("dsa_")
    assert to_strings(dataclasses.replace(arch, blocks=(dataclasses.replace(block, pw_act=False),)), "timm")[0] \
        .startswith("ds_")


def test_a_dsa_block_that_cannot_skip_is_written_as_timm_does() -> None:
    block = BlockArgs("ds", 1, 3, 2, 1, 32, 64, pw_act=True)  # id_skip true, but stride 2: nothing to skip
    assert encode_block(block, "timm") == "dsa_r1_k3_s2_c64"
    back = decode_block("dsa_r1_k3_s2_c64", "timm", input_filters=32)
    assert back == dataclasses.replace(block, id_skip=False)


def test_fractional_expansion_builds_timms_width() -> None:
    b = decode_block("ir_r1_k3_s1_e2.5_c40", "timm", input_filters=40)
    base = load_arch({"name": "n", "resolution": 224, "num_classes": 1000, "stem": _stem(40),
                      "blocks": [dataclasses.asdict(b)], "head": {"filters": None}})
    assert resolve(base)[1].mid_chs == 104  # timm: make_divisible(40 * 2.5) = 104, not 100
    block = nas.build_model(base).blocks[0][0]
    assert block.conv_pw[0].out_channels == block.conv_dw[0].out_channels == 104


@pytest.mark.parametrize("ratio,text", [(5e-05, "se0.00005"), (1e-07, "se0.0000001"), (0.0625, "se0.0625"),
                                        (1 / 3, "se0.3333333333333333")])
def test_small_se_ratios_are_written_without_exponent(ratio: float, text: str) -> None:
    block = BlockArgs("mbconv", 1, 3, 1, 6, 16, 16, se_ratio=ratio)
    assert encode_block(block, "timm") == f"ir_r1_k3_s1_e6_c16_{text}"
    assert encode_block(block, "mnasnet") == f"r1_k3_s11_e6_i16_o16_{text}"
    assert decode_block(encode_block(block, "timm"), "timm", input_filters=16) == block
    assert decode_block(encode_block(block, "mnasnet"), "mnasnet") == block


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
    ("ir_r2_k3.0_s2_e6_c24", "timm", "kernel_size: must be one of 3, 5, 7 (got 3.0)"),
    ("r2_k3_s2.0_e6_i16_o24", "mnasnet", "strides: must be one of 1, 2 (got 2.0)"),
    ("r2_k3_s22_e6_i0_o24", "mnasnet", "input_filters: must be ≥ 1 (got 0)"),
]


@pytest.mark.parametrize("text,fmt,message", BAD)
def test_bad_strings_give_one_line(text: str, fmt: str, message: str) -> None:
    with pytest.raises(ArchError) as info:
        decode_block(text, fmt, input_filters=16)  # type: ignore[arg-type]
    assert "\n" not in str(info.value) and message in str(info.value)
