"""`nas build-lut` (and the scripts/build_lut.py shim): one-line errors, and a real tiny build end to end
(structure only: entry count, calibration, resume, refusal of another setup)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nas.latency.table import LatencyTable
from nas.space import load_space
from support import ROOT, TINY_LUT_SPACE as TINY_SPACE, run_script


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_script("build_lut.py", *args, cwd=ROOT)


@pytest.mark.parametrize("args,message", [
    ([], "required"),
    (["--space", "search_spaces/mnasnet.yaml"], "--out"),
    (["--space", "no/such/space.yaml", "--out", "x.json"], "no/such/space.yaml: no such search space file"),
    (["--space", "search_spaces/mnasnet.yaml", "--out", "x.json", "--threads", "0"], "--threads"),
    (["--space", "search_spaces/mnasnet.yaml", "--out", "x.json", "--threads", "two"], "--threads"),
    (["--space", "search_spaces/mnasnet.yaml", "--out", "x.json", "--device", "tpu"], "--device"),
    (["--space", "search_spaces/mnasnet.yaml", "--out", "x.json", "--calibrate", "-1"], "--calibrate"),
    (["--space", "search_spaces/mnasnet.yaml", "--out", "x.json", "--min-run-time", "0"], "--min-run-time"),
    (["--space", "search_spaces/mnasnet.yaml", "--out", "x.json", "--passes", "0"], "--passes"),
    (["--space", "search_spaces/mnasnet.yaml", "--out", "x.json", "--bogus"], "unrecognized"),
    (["--space", "search_spaces/mnasnet.yaml", "--out", "search_spaces"], "is a folder; give a file name"),
])
def test_build_lut_bad_flags_exit_2_with_one_line(args: list[str], message: str) -> None:
    out = run_cli(*args)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("nas build-lut: error: ")
    assert out.stdout == "" and "Traceback" not in out.stderr


def test_build_lut_bad_space_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY_SPACE.replace("kernel_size: [3, 5]", "kernel_size: [4]"))
    out = run_cli("--space", str(bad), "--out", str(tmp_path / "x.json"))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "kernel_size" in out.stderr


def test_build_lut_end_to_end_resume_and_mismatch(tmp_path: Path) -> None:
    """Real (tiny) timing; checks structure only: entry count, calibration present, resume, mismatch."""
    space_path = tmp_path / "tiny.yaml"
    space_path.write_text(TINY_SPACE)
    out = tmp_path / "lut" / "tiny.json"
    flags = ["--space", str(space_path), "--out", str(out), "--device", "cpu", "--threads", "1", "--passes", "1",
             "--repeats", "1", "--min-run-time", "0.001", "--warmup", "1", "--calibrate", "2", "--no-progress"]
    first = run_cli(*flags)
    assert first.returncode == 0, first.stderr
    n_ops = len(load_space(space_path).ops())
    assert f"{n_ops} entries" in first.stdout and "calibration:" in first.stdout
    table = LatencyTable.load(out, device="cpu", threads=1)
    assert len(table) == n_ops and table.calibration is not None and table.calibration.n_nets == 3
    assert all(e.params > 0 for e in table.entries.values())  # schema 2: the weight_mb term is available
    second = run_cli(*flags)
    assert second.returncode == 0 and f"({n_ops + 3} resumed)" in second.stdout and "calibration:" in second.stdout
    assert "0 timings" in second.stdout
    third = run_cli(*[f if f != "1" or i != flags.index("--threads") + 1 else "2" for i, f in enumerate(flags)])
    assert third.returncode == 2 and "threads 1 ≠ 2" in third.stderr and len(third.stderr.strip().splitlines()) == 1
