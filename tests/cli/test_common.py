"""nas.cli.common: the conventions every subcommand shares — warnings as one line, shown once; output paths
checked before any work; SIGTERM and a closed pipe end a command cleanly."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from support import run_nas

import nas.cli
import nas.cli.inspect
from nas.cli.common import CliError, one_line_warnings, output_file, output_folder, seed_arg


def test_a_warning_is_one_line_and_shown_once(capsys: pytest.CaptureFixture[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # Python itself would show every repeat
        with one_line_warnings("nas search"):
            for busy in (0.85, 0.86, 0.84):  # one place, this minute's numbers
                warnings.warn(f"threads=4 oversubscribes\n   this machine: {busy} cores busy", RuntimeWarning,
                              stacklevel=1)
            for name in ("ref_a", "ref_b", "ref_a"):  # one place, other words: each shown once
                warnings.warn(f"the reference {name} was timed under load", UserWarning, stacklevel=1)
    assert capsys.readouterr().err.splitlines() == [
        "nas search: warning: threads=4 oversubscribes this machine: 0.85 cores busy",
        "nas search: warning: the reference ref_a was timed under load",
        "nas search: warning: the reference ref_b was timed under load"]


def test_every_command_shows_warnings_that_way(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    def warns_twice(args: argparse.Namespace) -> int:
        for _ in range(2):
            warnings.warn("the reference was timed while other processes kept the CPU busy", RuntimeWarning,
                          stacklevel=1)
            with warnings.catch_warnings():  # leaving such a block resets Python's once-per-place registry
                pass
        return 0

    monkeypatch.setattr(nas.cli.inspect, "run", warns_twice)
    before = warnings.showwarning
    assert nas.cli.main(["inspect", "mnasnet_a1"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "nas inspect: warning: the reference was timed while other processes kept the CPU busy"]
    assert warnings.showwarning is before  # restored when the command returns


def test_output_paths_are_checked_without_writing(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    assert output_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert output_file(tmp_path / "new" / "t.json") == tmp_path / "new" / "t.json"
    cases = [(lambda: output_folder(tmp_path / "afile"), "afile exists and is not a folder"),
             (lambda: output_folder(tmp_path / "afile" / "sub"), "cannot create .*afile exists and is not a folder"),
             (lambda: output_file(tmp_path), "is a folder; give a file name"),
             (lambda: output_file(tmp_path / "afile" / "x.json"), "afile exists and is not a folder"),
             (lambda: output_folder("/proc/nas-nowhere/x"), "cannot write in /proc")]
    for call, needle in cases:
        with pytest.raises(CliError, match=needle):
            call()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing created, no probe left behind


@pytest.mark.parametrize("argv", [
    ["search", "--latency-target", "20ms", "--trials", "1", "--out", "afile"],
    ["train", "efficientnet_b0", "--out", "afile/run"],
    ["scale", "mobilenet_v3_small", "--latency-target", "10ms", "--out", "afile/x.yaml"],
    ["build-lut", "--space", "tiny_32px", "--out", "afile/x.json"],
])
def test_a_bad_output_path_is_one_line_before_any_work(argv: list[str], tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    proc = run_nas(*argv, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "afile exists and is not a folder" in proc.stderr and proc.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``nas inspect NET | head -1``: no BrokenPipeError traceback."""
    proc = subprocess.run(f"{sys.executable} -m nas inspect mnasnet_a1 | head -1", shell=True, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.stdout.count("\n") == 1 and proc.stderr == ""


def test_sigterm_ends_a_command_like_ctrl_c(tmp_path: Path) -> None:
    """SIGTERM (timeout, docker stop, systemd, Slurm) saves and exits as Ctrl-C does, with its own code."""
    proc = subprocess.Popen([sys.executable, "-m", "nas", "train", "efficientnet_b0", "--data", "synthetic",
                             "--epochs", "50", "--resolution", "32", "--train-size", "512", "--test-size", "64",
                             "--threads", "1", "--no-progress", "--out", "o"], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    ckpt = tmp_path / "o" / "checkpoint.pt"
    for _ in range(600):  # the first epoch's checkpoint: training is under way
        if ckpt.exists() or proc.poll() is not None:
            break
        time.sleep(0.5)
    assert ckpt.exists(), proc.communicate()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 143 and err.strip().endswith("nas train: terminated; rerun the same command to resume")
    assert not (tmp_path / "o" / "result.json").exists()


@pytest.mark.parametrize("script", sorted(p.name for p in (Path(__file__).resolve().parents[2] / "scripts").glob("*.py")))
def test_a_shim_runs_the_checkout_it_sits_in(script: str, tmp_path: Path) -> None:
    """scripts/X.py in another checkout runs that checkout's nas, not the installed one."""
    import shutil

    root = Path(__file__).resolve().parents[2]
    (tmp_path / "scripts").mkdir()
    shutil.copy(root / "scripts" / script, tmp_path / "scripts" / script)
    (tmp_path / "nas" / "cli").mkdir(parents=True)
    (tmp_path / "nas" / "__init__.py").write_text("")
    (tmp_path / "nas" / "cli" / "__init__.py").write_text(
        "def main(argv):\n    print('the other checkout', argv[0])\n    return 0\n")
    proc = subprocess.run([sys.executable, str(tmp_path / "scripts" / script), "--help"], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path / "scripts")
    assert proc.returncode == 0 and proc.stdout.startswith("the other checkout "), proc.stderr


def test_a_checkout_reads_its_own_search_spaces(tmp_path: Path) -> None:
    """``nas`` imported from another checkout takes that checkout's search_spaces/, not the installed one's."""
    import shutil

    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "nas", tmp_path / "nas", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(root / "search_spaces", tmp_path / "search_spaces", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "search_spaces" / "mnasnet.yaml").rename(tmp_path / "search_spaces" / "mine.yaml")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import nas.search_spaces as s, nas; "
            "print(s.__file__); print(s.names()); print(nas.search_spaces is s)")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [str(tmp_path / "search_spaces" / "__init__.py"),
                                        str(sorted({p.stem for p in (root / "search_spaces").glob("*.yaml")}
                                                   - {"mnasnet"} | {"mine"})),
                                        "True"]


@pytest.mark.parametrize("text,value", [("0", 0), ("7", 7), ("4294967295", 2**32 - 1)])
def test_a_seed_in_range_is_taken(text: str, value: int) -> None:
    assert seed_arg(text) == value


@pytest.mark.parametrize("command", [["search", "--latency-target", "5ms", "--space", "tiny_32px"],
                                     ["train", "mobilenet_v2"], ["build-lut", "--space", "tiny_32px"]])
@pytest.mark.parametrize("seed,message", [("-1", "expected an integer ≥ 0, got '-1'"),
                                          ("4294967296", "expected an integer from 0 to 4294967295, got '4294967296'")])
def test_a_seed_out_of_range_is_one_line_before_anything_is_written(command: list[str], seed: str, message: str,
                                                                     tmp_path: Path) -> None:
    out = run_nas(*command, "--seed", seed, cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        f"nas {command[0]}: error: argument --seed: {message}"]
    assert list(tmp_path.iterdir()) == []
