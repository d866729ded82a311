"""nas.data.synthetic: seeded synthetic images, directly and through a spec string."""
from __future__ import annotations

import numpy as np
import torch

from nas.data.load import load_dataset
from nas.data.synthetic import make_synthetic


def test_synthetic_seeded_balanced():
    a = make_synthetic(num_classes=4, in_channels=2, resolution=8, train_size=40, test_size=20, seed=3)
    b = load_dataset("synthetic:classes=4,channels=2", resolution=8, train_size=40, test_size=20, seed=3)
    assert torch.equal(a.train.tensors[0], b.train.tensors[0]) and torch.equal(a.test.tensors[1], b.test.tensors[1])
    assert a.train.tensors[0].shape == (40, 2, 8, 8)
    assert np.bincount(a.train.tensors[1].numpy()).tolist() == [10] * 4
    c = make_synthetic(num_classes=4, in_channels=2, resolution=8, train_size=40, test_size=20, seed=4)
    assert not torch.equal(a.train.tensors[0], c.train.tensors[0])
