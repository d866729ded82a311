"""scripts/gpu_groundtruth.sh proven on the CPU at tiny sizes (``--device cpu --tiny``): the whole pipeline a GPU
session would run — workers sharing the job list, every part of the plan, the status and the cache under --out."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from support import ROOT

SCRIPT = ROOT / "scripts" / "gpu_groundtruth.sh"
DATA = Path("/usr/share/datasets/fashion-mnist")


def run_script(*args: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": sys.executable, "TMPDIR": str(out.parent)}
    return subprocess.run(["bash", str(SCRIPT), *args, "--out", str(out)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.mark.skipif(not DATA.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_tiny_cpu_run_trains_every_planned_job_with_three_seeds(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = run_script("--device", "cpu", "--tiny", "--gt-seeds", "3", out=out)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (out / "status.txt").read_text().splitlines() == [
        "tiny_32px: main 12/12; short 4/4; plateau 1/1; budget 6/6",
        "mobile_32px: main 6/6; short 4/4; plateau 0/0; budget 0/0"]
    rows = [json.loads(line) for line in (out / "train_cache.jsonl").read_text().splitlines()]
    assert all(r["status"] == "ok" and r["device"] == "cpu" and r["train_images"] == 512 for r in rows)
    # tiny: 4 nets × seeds 0-2 at E = 2 (short's 2-epoch run is main's seed 0), 2 at 1 epoch, 1 at 1.5·E = 3,
    # 2 at 2·E = 4 × 3 seeds; mobile: 2 nets × 3 seeds at E, 2 at 1 epoch
    assert Counter((r["arch_name"].split("-")[0], r["epochs"], r["seed"]) for r in rows) == Counter({
        ("tiny_32px", 2, 0): 4, ("tiny_32px", 2, 1): 4, ("tiny_32px", 2, 2): 4, ("tiny_32px", 1, 0): 2,
        ("tiny_32px", 3, 0): 1, ("tiny_32px", 4, 0): 2, ("tiny_32px", 4, 1): 2, ("tiny_32px", 4, 2): 2,
        ("mobile_32px", 2, 0): 2, ("mobile_32px", 2, 1): 2, ("mobile_32px", 2, 2): 2, ("mobile_32px", 1, 0): 2})
    env = (out / "env.txt").read_text()
    assert "seeds: 3;" in env and "workers that exited non-zero: 0" in env
    assert sorted(p.name for p in out.iterdir()) == ["env.txt", "log.txt", "status.txt", "train_cache.jsonl"]
    assert not list(tmp_path.glob("gpu-groundtruth.*"))  # the work folder (claims, checkpoints) is removed


def test_an_unknown_option_is_one_line_and_exit_2(tmp_path: Path) -> None:
    run = run_script("--device", "cpu", "--seeds", "3", out=tmp_path / "out")
    assert run.returncode == 2 and run.stderr.strip().splitlines() == [
        "gpu_groundtruth.sh: unknown option --seeds (see --help)"]
    assert not (tmp_path / "out").exists()  # nothing written
