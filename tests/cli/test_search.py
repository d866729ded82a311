"""`nas search` (and the scripts/search.py shim): bad input exits 2 with one line and writes nothing."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support import run_script


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_script("search.py", *args, cwd=cwd, timeout=120)


@pytest.mark.parametrize("args,message", [
    (["--latency-target", "20"], "invalid latency '20'"),
    (["--latency-target", "-5ms"], "invalid latency '-5ms'"),
    (["--latency-target", "fast"], "invalid latency 'fast'"),
    (["--latency-target", "20ms", "--space", "nope.yaml"], "nope.yaml: no such search space file"),
    (["--latency-target", "20ms", "--sampler", "annealing"], "unknown sampler 'annealing'"),
    (["--latency-target", "20ms", "--proxy", "magic"], "invalid --proxy 'magic'"),
    (["--latency-target", "20ms", "--latency", "lut:missing.json"], "missing.json: no such latency table"),
    ([], "the following arguments are required: --latency-target"),
])
def test_cli_errors_exit_2_with_one_line_and_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    before = sorted(p.name for p in tmp_path.rglob("*"))
    out = run_cli(*args, cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
