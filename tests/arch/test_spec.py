"""Arch / BlockArgs: YAML round trips and one-line validation errors."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings

import nas
import nas.zoo
from nas.arch import Arch, ArchError, BlockArgs, dump_arch, load_arch, make_divisible
from nas.arch.spec import expanded_width
from nas.space import load_space

from strategies import archs, archs_with_any_ratios
from support import MALFORMED, ROOT, SPACE_FILES, VALID


@settings(max_examples=1000, deadline=None)
@given(archs())
def test_yaml_round_trip_is_byte_identical(arch: Arch) -> None:
    text = dump_arch(arch)
    loaded = load_arch(text)
    assert loaded == arch
    assert dump_arch(loaded) == text


@settings(max_examples=300, deadline=None)
@given(archs_with_any_ratios())
def test_yaml_round_trip_of_any_ratio(arch: Arch) -> None:
    assert load_arch(dump_arch(arch)) == arch


@pytest.mark.parametrize("name", nas.zoo.names())
def test_zoo_files_are_canonical(name: str) -> None:
    """Below its opening comment (source and conventions, see test_zoo.py) a zoo file is the canonical dump."""
    text = nas.zoo.path(name).read_text()
    comment = [line for line in text.splitlines(keepends=True) if line.startswith("#")]
    assert text.startswith("".join(comment)) and comment
    assert dump_arch(load_arch(text)) == text.removeprefix("".join(comment))


def test_load_accepts_path_text_dict_and_zoo_name(tmp_path: Path) -> None:
    arch = nas.zoo.load("mnasnet_a1")
    file = tmp_path / "a.yaml"
    dump_arch(arch, file)
    assert load_arch(file) == arch
    assert load_arch(str(file)) == arch
    assert load_arch(file.read_text()) == arch
    assert load_arch(yaml.safe_load(file.read_text())) == arch
    assert load_arch("mnasnet_a1") == arch
    assert load_arch(arch) is arch


def test_dump_writes_atomically_and_returns_text(tmp_path: Path) -> None:
    arch = nas.zoo.load("mobilenet_v2")
    text = dump_arch(arch, tmp_path / "sub" / "net.yaml")
    assert (tmp_path / "sub" / "net.yaml").read_text() == text
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["net.yaml"]


def test_floats_and_ints_normalise() -> None:
    b = BlockArgs("mbconv", 1, 3, 1, 6.0, 16, 16, 0.0)
    assert b.expand_ratio == 6 and isinstance(b.expand_ratio, int)
    assert b.se_ratio == 0 and isinstance(b.se_ratio, int)
    assert BlockArgs("mbconv", 1, 3, 1, 3.67, 24, 24).expanded_filters == 88
    assert BlockArgs("mbconv", 1, 3, 1, 2.3, 80, 80).expanded_filters == 184


@pytest.mark.parametrize("in_chs,ratio,mid", [
    (40, 2.5, 104),  # timm's ir_r1_k3_s1_e2.5_c40 after 40 channels: make_divisible(100) = 104, not round(100)
    (24, 4.5, 112),  # 108 → 112 (timm/torchvision), not 108
    (12, 3, 40),  # 36 → 40: a width that is not a multiple of 8 rounds like timm's InvertedResidual
    (16, 1, 16), (20, 1, 20),  # ratio 1: the input width itself (no expand conv)
    (80, 2.5, 200), (80, 2.3, 184), (16, 6, 96),  # multiples of 8 (every zoo net, every bundled space) unchanged
])
def test_expanded_width_is_timm_and_torchvision_rule(in_chs: int, ratio: float, mid: int) -> None:
    assert expanded_width(in_chs, ratio) == mid
    assert BlockArgs("mbconv", 1, 3, 1, ratio, in_chs, in_chs).expanded_filters == mid


@pytest.mark.parametrize("space_file", [p.name for p in SPACE_FILES])
def test_bundled_spaces_build_the_same_widths_under_the_timm_rule(space_file: str) -> None:
    """Every mbconv stage a bundled space can realise, on every input width it can receive, expands to the
    width the old rule (round half up) gave: their widths are multiples of 8, so their networks are unchanged."""
    space = load_space(ROOT / "search_spaces" / space_file)
    assert space.skeleton.width_multiplier == 1
    in_widths, checked = [space.skeleton.stem.filters], 0
    for i in range(len(space.skeleton.blocks)):
        options = space.stage_options(i)
        for b in options:
            for width in (*in_widths, b.output_filters):
                if b.block == "mbconv":
                    assert expanded_width(width, b.expand_ratio) == int(width * b.expand_ratio + 0.5), (i, b, width)
                    checked += 1
        in_widths = sorted({b.output_filters for b in options})
    assert checked > 0


def test_make_divisible_matches_reference_rule() -> None:
    # torchvision's _make_divisible: round to nearest multiple, never more than 10% down
    assert [make_divisible(v) for v in (18, 22, 30, 50, 120, 3.2)] == [24, 24, 32, 48, 120, 8]


@pytest.mark.parametrize("old,new,message", MALFORMED, ids=[m[2][:40] for m in MALFORMED])
def test_malformed_yaml_gives_one_line_naming_the_field(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in VALID
    path = tmp_path / "bad.yaml"
    path.write_text(VALID.replace(old, new, 1))
    with pytest.raises(ArchError) as info:
        load_arch(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: ")
    assert message in text


def test_valid_fixture_loads() -> None:
    arch = load_arch(VALID)
    assert [b.output_filters for b in arch.blocks] == [24, 32]


def test_kind_specific_rules() -> None:
    base = load_arch(VALID)
    with pytest.raises(ArchError, match=r"blocks\[0\].expand_ratio: must be 1 for a 'ds' block"):
        load_arch({**yaml.safe_load(VALID), "blocks": [dict(yaml.safe_load(VALID)["blocks"][0], block="ds")]})
    with pytest.raises(ArchError, match="shuffle unit needs an even width"):
        base.replace(blocks=(BlockArgs("shuffle", 1, 3, 2, 1, 16, 25),))
    with pytest.raises(ArchError, match="'conv' block has no squeeze-excitation"):
        base.replace(blocks=(BlockArgs("conv", 1, 3, 2, 1, 16, 24, se_ratio=0.25),))


def test_missing_file_and_unknown_name() -> None:
    with pytest.raises(ArchError, match="no such file"):
        load_arch("does/not/exist.yaml")
    with pytest.raises(ArchError, match="not a file, a zoo name"):
        load_arch("mobilenet_v9")


@pytest.mark.parametrize("source", [None, b"name: t", 3, 2.5, ["blocks"]])
def test_a_source_of_another_type_names_the_type(source: object) -> None:
    with pytest.raises(ArchError, match=rf"^expected an Arch, a mapping, a YAML path or text, or a zoo name; "
                                        rf"got {type(source).__name__}$"):
        load_arch(source)  # type: ignore[arg-type]


def test_a_space_file_given_as_an_arch_says_so(tmp_path: Path) -> None:
    path = tmp_path / "space_without_suffix"
    path.write_text((ROOT / "search_spaces" / "tiny_32px.yaml").read_text())
    for source, label in ((path, str(path)), ({"name": "s", "skeleton": {}}, "<dict>")):
        with pytest.raises(ArchError, match=rf"^{label}: a search-space file \(it has a 'skeleton'\), not an "
                                            r"architecture; look at it with `nas inspect --space FILE`"):
            load_arch(source)


def test_top_level_exports() -> None:
    assert nas.load_arch is load_arch and nas.Arch is Arch
