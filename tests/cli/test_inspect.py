"""`nas inspect` (and the scripts/inspect_*.py shims): the table on good input, one line and exit 2 on bad input,
for architectures and for spaces."""
from __future__ import annotations

from pathlib import Path

import pytest

from nas.space import load_space
from support import MALFORMED, ROOT, VALID, run_nas, run_script


def run(*args: str):  # noqa: ANN201
    return run_script("inspect_arch.py", *args)


def test_inspect_zoo_net() -> None:
    out = run("mnasnet_a1")
    assert out.returncode == 0, out.stderr
    assert "3,887,038" in out.stdout
    assert "r3_k5_s22_e3_i24_o40_se0.25" in out.stdout and "ir_r3_k5_s2_e3_c40_se0.25" in out.stdout
    assert "324.7M" in out.stdout  # fvcore MACs at 224 px


def test_inspect_file_at_other_resolution(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(VALID)
    out = run(str(path), "--resolution", "64")
    assert out.returncode == 0, out.stderr
    assert "@ 64px" in out.stdout


@pytest.mark.parametrize("old,new,message", MALFORMED[:10], ids=[m[2][:40] for m in MALFORMED[:10]])
def test_malformed_file_exits_2_with_one_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(VALID.replace(old, new, 1))
    out = run(str(path))
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in out.stderr


def test_unknown_name_and_bad_flag_exit_2() -> None:
    out = run("mobilenet_v9")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    for value in ("8", "2049", "99999999999999999999999"):  # the architecture's limits
        out = run("mnasnet_a1", "--resolution", value)
        assert out.returncode == 2 and out.stderr.strip().endswith(
            f"argument --resolution: expected an integer from 32 to 2048, got '{value}'"), out.stderr


def test_activations_larger_than_memory_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "wide.yaml"  # within every limit, but its stem output alone is 64 GiB at 2048 px
    path.write_text("name: wide\nresolution: 2048\nnum_classes: 10\nstem: {filters: 16384, kernel_size: 3, "
                    "strides: 1}\nblocks:\n  - {block: ds, num_repeat: 1, kernel_size: 3, strides: 2, expand_ratio: 1, "
                    "input_filters: 16384, output_filters: 8}\nhead: {filters: null}\n")
    out = run(str(path))
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and f"cannot count the costs of {path}" in out.stderr


@pytest.mark.parametrize("name", ["mnasnet", "efficientnet_b0", "mobilenet_v3", "mobile_32px", "tiny_32px"])
def test_inspect_space_prints_the_size(name: str) -> None:
    space = load_space(name)
    out = run_script("inspect_space.py", str(ROOT / "search_spaces" / f"{name}.yaml"), "--no-cost")
    assert out.returncode == 0, out.stderr
    assert f"{space.size():,} architectures" in out.stdout
    assert f"{len(space.ops()):,} distinct layers" in out.stdout


def test_inspect_finds_a_space_file_without_a_yaml_suffix(tmp_path: Path) -> None:
    path = tmp_path / "my_space"
    path.write_text((ROOT / "search_spaces" / "tiny_32px.yaml").read_text())
    out = run(str(path), "--no-cost")
    assert out.returncode == 0, out.stderr
    assert f"{load_space('tiny_32px').size():,} architectures" in out.stdout


def test_inspect_space_prints_the_skeleton_cost(capsys: pytest.CaptureFixture[str]) -> None:
    from nas.cli import main  # in-process: a subprocess would pay torch + fvcore imports again (~6 s)

    assert main(["inspect", "--space", "mobile_32px"]) == 0
    out = capsys.readouterr().out
    assert "mobile_32px_base" in out and "292,682 params, 10,334,208 MACs @ 32 px" in out


@pytest.mark.parametrize("content,message", [
    ("name: x\nskeleton: mnasnet_b1\nper_stage:\n  kernel_size: [4]\n", "per_stage.kernel_size: 4 is not"),
    (None, "bad.yaml: no such search space file (bundled: efficientnet_b0, mnasnet, mobile_32px"),
    (VALID, "this is an architecture (it has blocks:, no skeleton:), not a search space"),
])
def test_inspect_space_bad_file_exits_2_with_one_line(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "bad.yaml"
    if content is not None:
        path.write_text(content)
    out = run_nas("inspect", "--space", str(path))
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in out.stderr, out.stderr


def test_an_empty_file_or_a_folder_as_arch_says_so(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "d.yaml").mkdir()
    for name, message in (("empty.yaml", "empty.yaml: empty; expected an architecture (name, resolution"),
                          ("d.yaml", "d.yaml: is a folder; give an architecture YAML file")):
        out = run(str(tmp_path / name))
        assert out.returncode == 2 and out.stderr.count("\n") == 1 and message in out.stderr, out.stderr
