"""``nas validate-proxy`` (and its shim scripts/validate_proxy.py) on a tiny space and synthetic data."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from support import run_nas, run_script
from validation.helpers import count_trainings, write_tiny_space

from nas.cli import main
from nas.cli.validate_proxy import command_line


@pytest.fixture()
def space_path(tmp_path: Path) -> Path:
    return write_tiny_space(tmp_path)


@pytest.fixture()
def count_train(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    return count_trainings(monkeypatch)


@pytest.mark.parametrize("argv,needle", [
    (["--n", "0"], "--n"),
    (["--epochs", "x"], "--epochs"),
    (["--only", "everything"], "--only"),
    (["--proxies", "nope"], "unknown proxy 'nope'"),
    (["--ensemble", "synflow"], "--ensemble"),
    (["--space", "no/such/space.yaml"], "no/such/space.yaml"),
    (["--data", "imagenet"], "imagenet"),
])
def test_cli_errors_are_one_line_exit_2(argv, needle, tmp_path: Path) -> None:
    proc = run_nas("validate-proxy", *argv, "--cache", str(tmp_path / "c.jsonl"), "--no-write", cwd=tmp_path)
    assert proc.returncode == 2
    err = proc.stderr
    assert err.count("\n") == 1 and needle in err and err.startswith("nas validate-proxy: error:")
    assert list(tmp_path.iterdir()) == []


def test_cli_report_only_trains_nothing(space_path: Path, tmp_path: Path, count_train: list[int],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    base = ["validate-proxy", "--space", str(space_path), "--data", "synthetic", "--train-size", "64",
            "--test-size", "32", "--batch-size", "32", "--epochs", "1", "--n", "3", "--noise-archs", "2",
            "--budget-archs", "2", "--budget-multiplier", "2", "--proxies", "synflow", "--proxy-batch", "16",
            "--bootstrap", "50", "--cache", str(tmp_path / "c.jsonl"), "--threads", "1", "--no-progress",
            "--docs", str(tmp_path / "docs" / "b.md"), "--img-dir", str(tmp_path / "img")]
    assert main(base + ["--only", "report"]) == 0
    assert count_train[0] == 0 and "PARTIAL" in capsys.readouterr().out
    assert main(base + ["--only", "main", "--no-write"]) == 0
    assert count_train[0] == 3
    assert main(base + ["--only", "report"]) == 0
    assert count_train[0] == 3
    out = capsys.readouterr().out
    assert "| synflow | 3 |" in out and (tmp_path / "img" / "proxy_synflow.png").exists()
    assert (tmp_path / "docs" / "b.md").read_text().count("## Proxy validation") == 2
    assert f"- Command: `nas validate-proxy --space {space_path} --data synthetic --train-size 64" in out


def test_report_quotes_the_command_as_given() -> None:
    args = argparse.Namespace(argv=["--n", "30", "--ensemble", "synflow+params", "--cache", "a b/c.jsonl"])
    assert command_line(args) == "nas validate-proxy --n 30 --ensemble synflow+params --cache 'a b/c.jsonl'"


def test_script_is_a_shim_over_nas_validate_proxy(tmp_path: Path) -> None:
    proc = run_script("validate_proxy.py", "--n", "0", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("nas validate-proxy: error: argument --n")
