"""nas.train.loop: learning, determinism and resuming on tiny CNNs and synthetic data (seconds, CPU)."""
from __future__ import annotations

import pytest
import torch
from train.helpers import InterruptAt, assert_same_weights, quick, tiny_cnn

from nas.data import make_synthetic
from nas.train import TrainConfig, evaluate, train

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


# --------------------------------------------------------------------------- resume


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


def test_channels_last_run_resumes_bit_for_bit(data, tmp_path):
    """A run in channels-last layout, stopped after epoch 1 and resumed in a fresh contiguous model, ends with
    the weights of an uninterrupted channels-last run (the checkpoint holds values, not layouts)."""
    straight = tiny_cnn(dropout=0.3)
    expected = train(straight, data, quick(channels_last=True), progress=False)

    def stop_after_first(epoch: int, loss: float) -> None:
        if epoch == 1:
            raise KeyboardInterrupt

    ck = tmp_path / "ck.pt"
    with pytest.raises(KeyboardInterrupt):
        train(tiny_cnn(dropout=0.3), data, quick(channels_last=True), checkpoint=ck, progress=False,
              on_epoch_end=stop_after_first)
    resumed = tiny_cnn(seed=9, dropout=0.3)
    result = train(resumed, data, quick(channels_last=True), checkpoint=ck, progress=False)
    assert_same_weights(straight, resumed)
    assert result.test_top1 == expected.test_top1 and result.train_loss == expected.train_loss


def test_training_keeps_freed_memory(data, monkeypatch: pytest.MonkeyPatch):
    import nas.train.loop as loop

    calls = []
    monkeypatch.setattr(loop, "keep_freed_memory", lambda: calls.append(1) or "recorded")
    train(tiny_cnn(), data, quick(epochs=1), progress=False)
    assert calls == [1]  # set before the first step (nas.allocator: glibc re-faults every step's activations)
