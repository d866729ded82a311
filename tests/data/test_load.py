"""nas.data.load: subsets chosen by load_dataset, and the real Fashion-MNIST when it is installed."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from data.helpers import make_idx_dir

from nas.data.load import load_dataset
from nas.data.spec import FASHION_MNIST_DIR, DataError


def test_train_subset_depends_on_seed_test_subset_does_not(tmp_path):
    make_idx_dir(tmp_path, n_train=30, n_test=30)
    a = load_dataset(f"idx:{tmp_path}", train_size=9, test_size=6, seed=0)
    b = load_dataset(f"idx:{tmp_path}", train_size=9, test_size=6, seed=1)
    assert np.bincount(a.train.tensors[1].numpy()).tolist() == [3, 3, 3]
    assert not torch.equal(a.train.tensors[0], b.train.tensors[0])
    assert torch.equal(a.test.tensors[1], b.test.tensors[1])
    with pytest.raises(DataError, match="train_size 31 exceeds the 30 train images"):
        load_dataset(f"idx:{tmp_path}", train_size=31)


@pytest.mark.skipif(
    not (FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)",
)
def test_real_fashion_mnist_stratified_subset():
    splits = load_dataset("fashion-mnist", train_size=1000, test_size=500, seed=0)
    x, y = splits.train.tensors
    assert x.shape == (1000, 1, 28, 28) and splits.test.tensors[0].shape == (500, 1, 28, 28)
    assert splits.num_classes == 10 and splits.class_names[9] == "Ankle boot"
    assert np.bincount(y.numpy(), minlength=10).tolist() == [100] * 10
    assert np.bincount(splits.test.tensors[1].numpy(), minlength=10).tolist() == [50] * 10
    assert 0.2 < splits.mean[0] < 0.4 and 0.25 < splits.std[0] < 0.45  # Fashion-MNIST: ~0.286 / ~0.353
