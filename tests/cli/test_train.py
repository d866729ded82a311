"""``nas train`` (and its shim scripts/train.py) on tiny CNNs and synthetic data (seconds, CPU)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import run_nas, run_script
from train.helpers import InterruptAt, tiny_cnn

from nas.arch.io import dump_arch, load_zoo, zoo_names
from nas.cli import main


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """Run in ``tmp_path`` (with a valid tiny.yaml) with the model builder replaced by a tiny-CNN builder
    (interrupting when asked)."""
    built: dict[str, object] = {"interrupt_at": None}

    def build_model(arch, *, num_classes, in_channels):
        return InterruptAt(tiny_cnn(in_channels, num_classes), built["interrupt_at"] or -1)

    monkeypatch.setattr("nas.model.builder.build_model", build_model)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text(dump_arch(load_zoo(zoo_names()[0])))
    return built


ARGS = ["tiny.yaml", "--data", "synthetic", "--epochs", "2", "--resolution", "12", "--train-size", "96",
        "--test-size", "32", "--batch-size", "32", "--threads", "1", "--no-progress"]


def test_cli_trains_and_writes_result(cli, tmp_path, capsys):
    assert main(["train", *ARGS]) == 0
    out = tmp_path / "runs" / "train" / "tiny"
    result = json.loads((out / "result.json").read_text())
    assert result["epochs_done"] == 2 and result["dataset"] == "synthetic" and (out / "checkpoint.pt").is_file()
    assert "test top-1" in capsys.readouterr().out


def test_cli_ctrl_c_saves_and_rerun_resumes(cli, tmp_path, capsys):
    cli["interrupt_at"] = 4  # 3 steps per epoch: step 1 of epoch 2
    assert main(["train", *ARGS, "--out", "o"]) == 130
    assert capsys.readouterr().err.strip() == "nas train: interrupted; rerun the same command to resume"
    assert not (tmp_path / "o" / "result.json").exists()
    cli["interrupt_at"] = None
    assert main(["train", *ARGS, "--out", "o"]) == 0
    assert json.loads((tmp_path / "o" / "result.json").read_text())["epochs_done"] == 2


@pytest.mark.parametrize(
    "argv,message",
    [
        (["tiny.yaml", "--epochs", "0"], "argument --epochs: expected a positive integer"),
        (["tiny.yaml", "--optimizer", "lion"], "argument --optimizer: invalid choice"),
        (["missing.yaml", "--data", "synthetic"], "missing.yaml: no such file"),
        (["tiny.yaml", "--data", "imagenet"], "unknown data spec 'imagenet'"),
        (["tiny.yaml", "--data", "cifar10:nowhere"], "cifar10: expected data_batch_1 in nowhere"),
    ],
)
def test_cli_usage_errors_are_one_line_exit_2_and_write_nothing(tmp_path, argv, message):
    (tmp_path / "tiny.yaml").write_text(dump_arch(load_zoo(zoo_names()[0])))
    proc = run_nas("train", *argv, cwd=tmp_path)
    assert proc.returncode == 2
    err = proc.stderr
    assert err.count("\n") == 1 and err.startswith("nas train: error: ") and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]


def test_script_is_a_shim_over_nas_train(tmp_path: Path):
    proc = run_script("train.py", "tiny.yaml", "--device", "gpu0", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("nas train: error: unknown device 'gpu0'")
    assert list(tmp_path.iterdir()) == []


def test_an_edited_arch_does_not_resume_the_old_checkpoint(cli, tmp_path, capsys):
    """Same tensor shapes (here: only the activation differs), so the weights would load: refused by arch key."""
    assert main(["train", *ARGS, "--epochs", "1", "--out", "o"]) == 0
    result = (tmp_path / "o" / "result.json").read_bytes()
    yaml = tmp_path / "tiny.yaml"
    yaml.write_text(yaml.read_text().replace("activation: swish", "activation: relu"))
    capsys.readouterr()
    assert main(["train", *ARGS, "--epochs", "1", "--out", "o"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "was made with arch_key=" in err and "use the same settings or delete it" in err
    assert (tmp_path / "o" / "result.json").read_bytes() == result  # the old result is left alone
    assert main(["train", *ARGS, "--epochs", "1", "--out", "o", "--resolution", "16"]) == 2
    assert "resolution=12 (now 16)" in capsys.readouterr().err


def test_running_out_of_memory_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fat.yaml").write_text(  # within every limit; its stem output at batch 128 is 128 GiB
        "name: fat\nresolution: 512\nnum_classes: 10\nstem: {filters: 1024, kernel_size: 3, strides: 1}\nblocks:\n"
        "  - {block: ds, num_repeat: 1, kernel_size: 3, strides: 2, expand_ratio: 1, input_filters: 1024, "
        "output_filters: 8}\nhead: {filters: null}\n")
    assert main(["train", "fat.yaml", "--data", "synthetic", "--resolution", "512", "--train-size", "128",
                 "--test-size", "4", "--batch-size", "128", "--out", "o", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nas train: error: fat.yaml: out of memory at batch 128, 512 px (")
    assert err.endswith("); lower --batch-size or --resolution\n") and "can't allocate memory" in err
    assert not (tmp_path / "o").exists()
