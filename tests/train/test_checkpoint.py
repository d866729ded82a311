"""nas.train.checkpoint: a finished checkpoint only evaluates; a foreign or broken one is refused (one line)."""
from __future__ import annotations

import pytest
import torch
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


def test_precision_is_checked_on_resume_and_old_checkpoints_still_resume(data, tmp_path):
    from nas.train.checkpoint import read_checkpoint

    ck = tmp_path / "ck.pt"
    train(tiny_cnn(), data, quick(epochs=1), checkpoint=ck, progress=False)
    assert "precision" not in torch.load(ck, weights_only=True)["config"]  # fp32: written as before it existed
    assert read_checkpoint(ck, quick(epochs=1), len(data.train))["state"]["epoch"] == 1
    with pytest.raises(CheckpointError, match=r"precision='fp32' \(now 'bf16'\)"):
        read_checkpoint(ck, quick(epochs=1, precision="bf16"), len(data.train))
    # speed settings do not belong to the trajectory: the checkpoint resumes under them
    assert read_checkpoint(ck, quick(epochs=1, channels_last=True, cuda_graphs=True), len(data.train))


def test_another_network_or_dataset_does_not_resume_a_checkpoint(data, tmp_path):
    """Same tensor shapes, other arch (another activation, a skip off) or other data: refused, one line."""
    import dataclasses

    from nas.train.checkpoint import read_checkpoint

    ck = tmp_path / "ck.pt"
    first = train(tiny_cnn(), data, quick(epochs=1), checkpoint=ck, progress=False, identity={"arch_key": "aaaa"})
    assert torch.load(ck, weights_only=True)["identity"] == {"data": data.name, "resolution": data.resolution,
                                                            "arch_key": "aaaa"}
    with pytest.raises(CheckpointError, match=r"arch_key='aaaa' \(now 'bbbb'\); use the same settings") as excinfo:
        train(tiny_cnn(), data, quick(epochs=1), checkpoint=ck, progress=False, identity={"arch_key": "bbbb"})
    assert "\n" not in str(excinfo.value)
    other = dataclasses.replace(data, name="other-data", resolution=data.resolution + 4)
    with pytest.raises(CheckpointError, match=r"data='.+' \(now 'other-data'\), resolution=\d+ \(now \d+\)"):
        train(tiny_cnn(), other, quick(epochs=1), checkpoint=ck, progress=False, identity={"arch_key": "aaaa"})
    again = train(tiny_cnn(seed=3), data, quick(epochs=1), checkpoint=ck, progress=False, identity={"arch_key": "aaaa"})
    assert again.test_top1 == first.test_top1  # the same identity resumes (here: finished, so it only evaluates)
    # a checkpoint written before identities existed resumes unchecked
    old = torch.load(ck, weights_only=True)
    del old["identity"]
    torch.save(old, ck)
    assert read_checkpoint(ck, quick(epochs=1), len(data.train), {"arch_key": "zzzz"})["state"]["epoch"] == 1
