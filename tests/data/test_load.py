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


def test_a_dataset_larger_than_memory_is_refused_before_allocating(tmp_path, monkeypatch):
    import nas.machine

    monkeypatch.setattr(nas.machine, "available_memory", lambda: 2**28)  # 256 MiB: 204.8 MiB for loading
    # synthetic 512 + 256 images of 3×64×64 float32 take 3.5 × their 36 MiB while drawn, + 4 prototypes: 126.2 MiB
    assert load_dataset("synthetic", resolution=64).train.tensors[0].shape == (512, 3, 64, 64)
    # ... at 3×128×128, 504.8 MiB
    with pytest.raises(DataError, match=r"^synthetic: 768 images of 3×128×128 need 504\.8 MiB while loading, more "
                                        r"than 80% of the 256\.0 MiB available; lower the resolution or the "
                                        r"train/test sizes$"):
        load_dataset("synthetic", resolution=128)
    with pytest.raises(DataError, match=r"classes=200000 is more than a network may have \(100000\)$"):
        load_dataset("synthetic:classes=200000")
    make_idx_dir(tmp_path, n_train=40, n_test=20)
    monkeypatch.setattr(nas.machine, "available_memory", lambda: 60 * 64 * 64 * 4)  # 60 images at 64 px
    # files: 1.5 × the 0.94 MiB of images at 64 px = 1.4 MiB; at 40 px 0.55 MiB fits in 80% of 0.94 MiB
    with pytest.raises(DataError, match=r"^idx: 60 images of 1×64×64 need 1\.4 MiB while loading, more than 80% of "
                                        r"the 0\.9 MiB available"):
        load_dataset(f"idx:{tmp_path}", resolution=64)
    assert load_dataset(f"idx:{tmp_path}", resolution=40).train.tensors[0].shape == (40, 1, 40, 40)
