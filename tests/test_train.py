"""nas.train and scripts/train.py on tiny CNNs and synthetic data (seconds, CPU)."""
from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from nas.data import DatasetSplits, make_synthetic
from nas.train import (
    CheckpointError,
    TrainConfig,
    TrainResult,
    check_model,
    epoch_permutation,
    evaluate,
    lr_factor,
    recalibrate_bn,
    train,
)

REPO = Path(__file__).resolve().parents[1]


def tiny_cnn(in_channels: int = 3, num_classes: int = 4, seed: int = 0, dropout: float = 0.0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(in_channels, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(16, num_classes),
    )


class InterruptAt(nn.Module):
    """Wraps a model; raises KeyboardInterrupt in the ``at``-th training forward (like Ctrl-C)."""

    def __init__(self, inner: nn.Module, at: int) -> None:
        super().__init__()
        self.inner, self.at, self.calls = inner, at, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.calls += 1
            if self.calls == self.at:
                self.inner(x)  # let BN statistics move first, as a real interrupt might
                raise KeyboardInterrupt
        return self.inner(x)


@pytest.fixture(scope="module")
def data() -> DatasetSplits:
    return make_synthetic(num_classes=4, in_channels=3, resolution=12, train_size=192, test_size=64, seed=0)


def quick(**overrides) -> TrainConfig:
    base = dict(epochs=2, batch_size=32, num_threads=1, seed=0)
    return TrainConfig(**{**base, **overrides})


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


# --------------------------------------------------------------------------- learning


def test_one_epoch_beats_chance_on_separable_data():
    splits = make_synthetic(num_classes=4, in_channels=3, resolution=16, train_size=512, test_size=256, seed=0)
    model = tiny_cnn()
    assert evaluate(model, splits.test) < 0.5  # untrained: about chance (0.25)
    result = train(model, splits, TrainConfig(epochs=1, batch_size=32, lr=0.1, num_threads=1), progress=False)
    assert result.test_top1 > 0.8  # 16 steps reach ~1.0 here
    assert result.epochs_done == 1 and len(result.train_loss) == 1
    assert result.n_params == sum(p.numel() for p in tiny_cnn().parameters())


@pytest.mark.parametrize("optimizer,schedule", [("adamw", "onecycle"), ("sgd", "onecycle"), ("adamw", "cosine")])
def test_other_recipes_learn(data, optimizer, schedule):
    result = train(tiny_cnn(), data, quick(optimizer=optimizer, schedule=schedule, epochs=3), progress=False)
    assert result.train_loss[-1] < result.train_loss[0]
    assert result.test_top1 > 0.4


def test_same_seed_same_weights(data):
    a, b = tiny_cnn(dropout=0.3), tiny_cnn(dropout=0.3)
    ra = train(a, data, quick(), progress=False)
    rb = train(b, data, quick(), progress=False)
    assert_same_weights(a, b)
    assert ra.train_loss == rb.train_loss and ra.test_top1 == rb.test_top1


def test_data_order_depends_on_seed_and_epoch_only():
    assert torch.equal(epoch_permutation(50, 3, 1), epoch_permutation(50, 3, 1))
    assert not torch.equal(epoch_permutation(50, 3, 1), epoch_permutation(50, 3, 2))
    assert not torch.equal(epoch_permutation(50, 3, 1), epoch_permutation(50, 4, 1))


def test_lr_schedules_warm_up_then_decay():
    for schedule in ("cosine", "onecycle"):
        factors = [lr_factor(s, 100, 10, schedule) for s in range(101)]
        assert factors[0] < factors[5] < factors[10] == pytest.approx(1.0)
        assert all(x >= y for x, y in zip(factors[10:], factors[11:]))
        assert factors[-1] < 1e-3
    assert lr_factor(0, 100, 0, "cosine") == 1.0


# --------------------------------------------------------------------------- checkpoint / resume


def test_resume_after_epoch_one_equals_uninterrupted(data, tmp_path):
    straight = tiny_cnn(dropout=0.3)
    expected = train(straight, data, quick(), progress=False)

    def stop_after_first(epoch: int, loss: float) -> None:
        if epoch == 1:
            raise KeyboardInterrupt

    ck = tmp_path / "run" / "ck.pt"
    with pytest.raises(KeyboardInterrupt):
        train(tiny_cnn(dropout=0.3), data, quick(), checkpoint=ck, progress=False, on_epoch_end=stop_after_first)
    assert torch.load(ck, weights_only=True)["state"]["epoch"] == 1
    resumed = tiny_cnn(seed=123, dropout=0.3)  # different init: everything must come from the checkpoint
    result = train(resumed, data, quick(), checkpoint=ck, progress=False)
    assert_same_weights(straight, resumed)
    assert result.train_loss == expected.train_loss and result.epochs_done == 2
    assert result.test_top1 == expected.test_top1


def test_interrupt_mid_epoch_resumes_exactly(data, tmp_path):
    straight = tiny_cnn(dropout=0.3)
    train(straight, data, quick(), progress=False)
    ck = tmp_path / "ck.pt"
    # 6 steps per epoch: the 9th training forward is step 3 of epoch 2
    with pytest.raises(KeyboardInterrupt):
        train(InterruptAt(tiny_cnn(dropout=0.3), at=9), data, quick(), checkpoint=ck, progress=False)
    state = torch.load(ck, weights_only=True)["state"]
    assert (state["epoch"], state["step"]) == (1, 2)
    resumed = InterruptAt(tiny_cnn(seed=7, dropout=0.3), at=-1)
    train(resumed, data, quick(), checkpoint=ck, progress=False)
    assert_same_weights(straight, resumed.inner)


def test_other_exception_in_callback_leaves_resumable_checkpoint(data, tmp_path):
    def boom(epoch: int, loss: float) -> None:
        raise RuntimeError("callback failed")

    ck = tmp_path / "ck.pt"
    with pytest.raises(RuntimeError, match="callback failed"):
        train(tiny_cnn(), data, quick(), checkpoint=ck, progress=False, on_epoch_end=boom)
    assert ck.is_file() and not list(tmp_path.glob(".*.tmp"))
    result = train(tiny_cnn(), data, quick(), checkpoint=ck, progress=False)
    assert result.epochs_done == 2 and len(result.train_loss) == 2


def test_finished_checkpoint_only_evaluates(data, tmp_path):
    ck = tmp_path / "ck.pt"
    first = train(tiny_cnn(), data, quick(), checkpoint=ck, progress=False)
    calls = []
    again = train(tiny_cnn(seed=5), data, quick(), checkpoint=ck, progress=False, on_epoch_end=lambda *a: calls.append(a))
    assert calls == [] and again.test_top1 == first.test_top1 and again.seconds == first.seconds


def test_checkpoint_mismatch_and_corruption(data, tmp_path):
    ck = tmp_path / "ck.pt"
    train(tiny_cnn(), data, quick(epochs=1), checkpoint=ck, progress=False)
    with pytest.raises(CheckpointError, match=r"lr=0.05 \(now 0.1\)") as excinfo:
        train(tiny_cnn(), data, quick(epochs=1, lr=0.1), checkpoint=ck, progress=False)
    assert "\n" not in str(excinfo.value)
    with pytest.raises(CheckpointError, match="does not fit this model"):
        train(tiny_cnn(num_classes=4, in_channels=3, seed=0)[:-1].append(nn.Linear(16, 4, bias=False)),
              data, quick(epochs=1), checkpoint=ck, progress=False)
    ck.write_bytes(ck.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        train(tiny_cnn(), data, quick(epochs=1), checkpoint=ck, progress=False)


# --------------------------------------------------------------------------- evaluation helpers


def test_result_json_round_trip(data, tmp_path):
    result = train(tiny_cnn(), data, quick(epochs=1), progress=False)
    loaded = json.loads(result.to_json())
    assert loaded["config"]["lr"] == 0.05 and loaded["config"]["optimizer"] == "sgd"
    assert set(loaded) >= {"test_top1", "train_loss", "epochs_done", "seconds", "config", "n_params"}
    result.save(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == loaded
    assert isinstance(result, TrainResult) and 0.0 <= result.test_top1 <= 1.0


def test_recalibrate_bn_gives_exact_batch_statistics():
    x = torch.randn(64, 2, 4, 4) * 3 + 5
    dataset = torch.utils.data.TensorDataset(x, torch.zeros(64, dtype=torch.int64))
    bn = nn.BatchNorm2d(2, momentum=0.01)
    model = nn.Sequential(bn, nn.Dropout(0.5)).eval()
    recalibrate_bn(model, dataset, torch.arange(64), batches=4, batch_size=16)
    torch.testing.assert_close(bn.running_mean, x.mean(dim=(0, 2, 3)), atol=1e-5, rtol=0)
    assert bn.momentum == 0.01 and not model.training


def test_evaluate_and_check_model(data):
    model = tiny_cnn().train()
    acc = evaluate(model, data.test, batch_size=10)
    assert 0.0 <= acc <= 1.0 and model.training  # mode restored
    check_model(model, data)
    with pytest.raises(ValueError, match=r"expected logits of shape \(N, 4\)"):
        check_model(tiny_cnn(num_classes=5), data)
    with pytest.raises(ValueError, match="model fails on 3×12×12 input"):
        check_model(tiny_cnn(in_channels=1), data)


def test_config_validation():
    assert TrainConfig(optimizer="adamw").lr == 2e-3
    for bad in (dict(optimizer="rmsprop"), dict(schedule="step"), dict(epochs=0), dict(device="gpu0"), dict(lr=-1.0)):
        with pytest.raises(ValueError):
            TrainConfig(**bad)


# --------------------------------------------------------------------------- scripts/train.py


def load_cli():
    spec = importlib.util.spec_from_file_location("train_cli", REPO / "scripts" / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """The CLI with nas.builder replaced by a tiny-CNN builder (interrupting when asked)."""
    built: dict[str, object] = {"interrupt_at": None}

    def build_model(arch, *, num_classes, in_channels):
        return InterruptAt(tiny_cnn(in_channels, num_classes), built["interrupt_at"] or -1)

    fake = types.ModuleType("nas.builder")
    fake.build_model = build_model
    monkeypatch.setitem(sys.modules, "nas.builder", fake)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text("name: tiny\n")
    return load_cli(), built


ARGS = ["tiny.yaml", "--data", "synthetic", "--epochs", "2", "--resolution", "12", "--train-size", "96",
        "--test-size", "32", "--batch-size", "32", "--threads", "1", "--no-progress"]


def test_cli_trains_and_writes_result(cli, tmp_path, capsys):
    module, _ = cli
    assert module.main(ARGS) == 0
    out = tmp_path / "runs" / "train" / "tiny"
    result = json.loads((out / "result.json").read_text())
    assert result["epochs_done"] == 2 and result["dataset"] == "synthetic" and (out / "checkpoint.pt").is_file()
    assert "test top-1" in capsys.readouterr().out


def test_cli_ctrl_c_saves_and_rerun_resumes(cli, tmp_path, capsys):
    module, built = cli
    built["interrupt_at"] = 4  # 3 steps per epoch: step 1 of epoch 2
    assert module.main(ARGS + ["--out", "o"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted; rerun the same command to resume"
    assert not (tmp_path / "o" / "result.json").exists()
    built["interrupt_at"] = None
    assert module.main(ARGS + ["--out", "o"]) == 0
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
def test_cli_usage_errors_are_one_line_exit_2_and_write_nothing(cli, tmp_path, capsys, argv, message):
    module, _ = cli
    with pytest.raises(SystemExit) as excinfo:
        module.main(argv)
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("train.py: error: ") and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]
