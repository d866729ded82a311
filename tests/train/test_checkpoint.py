"""nas.train.checkpoint: a finished checkpoint only evaluates; a foreign or broken one is refused (one line)."""
from __future__ import annotations

import pytest
import torch.nn as nn
from train.helpers import quick, tiny_cnn

from nas.train import CheckpointError, train
from nas.train.checkpoint import checkpoint_epochs


def test_finished_checkpoint_only_evaluates(data, tmp_path):
    ck = tmp_path / "ck.pt"
    first = train(tiny_cnn(), data, quick(), checkpoint=ck, progress=False)
    calls = []
    again = train(tiny_cnn(seed=5), data, quick(), checkpoint=ck, progress=False, on_epoch_end=lambda *a: calls.append(a))
    assert calls == [] and again.test_top1 == first.test_top1 and again.seconds == first.seconds
    assert checkpoint_epochs(ck) == 2 and checkpoint_epochs(tmp_path / "none.pt") == 0


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
