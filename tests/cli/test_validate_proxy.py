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


def _truth_args(tmp_path: Path, *extra: str) -> list[str]:
    from validation.truth_helpers import OTHER

    other = tmp_path / "other.yaml"
    other.write_text(OTHER)
    tiny = write_tiny_space(tmp_path)
    return ["validate-proxy", "--spaces", f"{tiny}:5", f"{other}:5,plateau=0,budget=0", "--short-archs", "4",
            "--plateau-archs", "1", "--budget-archs", "2", "--epochs", "2", "--data", "synthetic", "--train-size", "64",
            "--test-size", "32", "--batch-size", "32", "--proxies", "synflow", "--proxy-batch", "16", "--bootstrap", "50",
            "--predictor-k", "3", "--predictor-repeats", "2", "--threads", "1", "--no-progress",
            "--docs", str(tmp_path / "docs" / "b.md"), "--img-dir", str(tmp_path / "docs" / "img"), *extra]


def test_truth_train_status_report_and_merge(tmp_path: Path, count_train: list[int],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    gpu = tmp_path / "gpu" / "train_cache.jsonl"  # as a GPU worker would write it, then merged here
    assert main(_truth_args(tmp_path, "--only", "truth", "--cache", str(gpu), "--lanes", "2")) == 0
    # tiny: 5 archs × 2 seeds at E = 2, 4 at 1 epoch (the 2-epoch short runs are the seed-0 truth), 1 at 3,
    # 2 × 2 seeds at 4
    assert count_train[0] == (10 + 4 + 1 + 4) + (10 + 4)
    out = capsys.readouterr().out
    assert "tiny.yaml: main 10/10; short 8/8; plateau 1/1; budget 4/4" in out
    main_cache = tmp_path / "main" / "train_cache.jsonl"
    assert main(_truth_args(tmp_path, "--only", "truth-status", "--cache", str(main_cache))) == 0
    assert "main 0/10" in capsys.readouterr().out
    assert main(_truth_args(tmp_path, "--only", "truth-report", "--cache", str(main_cache), "--merge-cache", str(gpu))) == 0
    assert count_train[0] == 33  # the report trains nothing
    captured = capsys.readouterr()
    assert "merged 33 training(s)" in captured.err
    assert "## Converged ground truth" in captured.out and "| predictor:3 |" in captured.out
    doc = (tmp_path / "docs" / "b.md").read_text()
    assert "Default search proxy by this evidence" in doc
    for stem in ("tiny", "other"):  # one picture per space, linked under its heading relative to the report
        assert (tmp_path / "docs" / "img" / f"truth_{stem}.png").stat().st_size > 10_000
        assert f"plateau](img/truth_{stem}.png)" in doc


@pytest.mark.parametrize("spaces,needle", [(["tiny_32px"], "expected SPACE:N"), (["tiny_32px:4,deep=3"], "options are"),
                                           (["no/such.yaml:4"], "no/such.yaml")])
def test_truth_flag_errors_are_one_line(spaces: list[str], needle: str, tmp_path: Path) -> None:
    proc = run_nas("validate-proxy", "--only", "truth-status", "--spaces", *spaces, "--cache", str(tmp_path / "c.jsonl"),
                   cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and needle in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_speed_table_before_and_after(space_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "b.md"
    assert main(["validate-proxy", "--only", "speed", "--space", str(space_path), "--n", "3", "--data", "synthetic",
                 "--train-size", "128", "--batch-size", "32", "--speed-steps", "1,2", "--threads", "1",
                 "--cache", str(tmp_path / "c.jsonl"), "--docs", str(docs)]) == 0
    out = capsys.readouterr().out
    assert "## Training speed: cpu" in out and "channels-last, in memory (after)" in out
    assert out.count("| small |") == out.count("| large |") == 3
    assert "Speed-up of" in docs.read_text()


@pytest.mark.parametrize("only", [["--only", "report"], []])
def test_merge_cache_outside_the_truth_parts_is_refused_not_ignored(only: list[str], tmp_path: Path) -> None:
    out = run_nas("validate-proxy", "--merge-cache", "gpu.jsonl", *only, "--cache", str(tmp_path / "c.jsonl"),
                  cwd=tmp_path)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "--merge-cache works with --only truth, truth-status, truth-report" in out.stderr
    assert list(tmp_path.iterdir()) == []
