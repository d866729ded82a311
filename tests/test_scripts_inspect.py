"""scripts/inspect_arch.py: the table on good input, one line and exit 2 on bad input."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from test_arch import MALFORMED, VALID

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "inspect_arch.py"), *args],
                          capture_output=True, text=True, timeout=300)


def test_inspect_zoo_net() -> None:
    out = run("mnasnet_a1")
    assert out.returncode == 0, out.stderr
    assert "3,887,038" in out.stdout
    assert "r3_k5_s22_e3_i24_o40_se0.25" in out.stdout and "ir_r3_k5_s2_e3_c40_se0.25" in out.stdout
    assert "324.0M" in out.stdout  # fvcore MACs at 224 px


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
    out = run("mnasnet_a1", "--resolution", "8")
    assert out.returncode == 2 and "--resolution must be ≥ 32" in out.stderr
