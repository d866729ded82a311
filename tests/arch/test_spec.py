"""Arch / BlockArgs: YAML round trips and one-line validation errors."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings

import nas
import nas.zoo
from nas.arch import Arch, ArchError, BlockArgs, dump_arch, load_arch, make_divisible

from strategies import archs
from support import MALFORMED, VALID


@settings(max_examples=1000, deadline=None)
@given(archs())
def test_yaml_round_trip_is_byte_identical(arch: Arch) -> None:
    text = dump_arch(arch)
    loaded = load_arch(text)
    assert loaded == arch
    assert dump_arch(loaded) == text


@pytest.mark.parametrize("name", nas.zoo.names())
def test_zoo_files_are_canonical(name: str) -> None:
    path = nas.zoo.path(name)
    assert dump_arch(load_arch(path)) == path.read_text()


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


def test_top_level_exports() -> None:
    assert nas.load_arch is load_arch and nas.Arch is Arch
