"""nas.train.batches: the data order of an epoch depends on (seed, epoch) only."""
from __future__ import annotations

import torch

from nas.train import epoch_permutation


def test_data_order_depends_on_seed_and_epoch_only():
    assert torch.equal(epoch_permutation(50, 3, 1), epoch_permutation(50, 3, 1))
    assert not torch.equal(epoch_permutation(50, 3, 1), epoch_permutation(50, 3, 2))
    assert not torch.equal(epoch_permutation(50, 3, 1), epoch_permutation(50, 4, 1))
