"""nas.data.cifar: CIFAR python pickles written here in the real on-disk format, loaded through load_dataset."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from data.helpers import denormalize, one_line_error

from nas.data.load import load_dataset
from nas.data.spec import DataError


def cifar_images(n: int, offset: int) -> np.ndarray:
    """n images whose R, G, B planes are constant 10·i+offset, +1, +2 (row-major planes)."""
    planes = [np.full((n, 1024), 0, dtype=np.uint8) for _ in range(3)]
    for i in range(n):
        for c in range(3):
            planes[c][i] = (10 * i + offset + c) % 256
    return np.concatenate(planes, axis=1)


def write_pickle(path: Path, obj: object) -> None:
    with path.open("wb") as fh:
        pickle.dump(obj, fh, protocol=2)  # the real files are Python-2 pickles


def test_cifar10_loader(tmp_path):
    for i in range(1, 6):
        write_pickle(tmp_path / f"data_batch_{i}", {b"batch_label": b"x", b"data": cifar_images(2, 20 * i), b"labels": [i % 10, (i + 5) % 10]})
    write_pickle(tmp_path / "test_batch", {b"data": cifar_images(3, 7), b"labels": [0, 1, 2]})
    write_pickle(tmp_path / "batches.meta", {b"label_names": [f"c{i}".encode() for i in range(10)]})
    splits = load_dataset(f"cifar10:{tmp_path}")
    x, y = splits.train.tensors
    assert x.shape == (10, 3, 32, 32) and splits.test.tensors[0].shape == (3, 3, 32, 32)
    assert y.tolist() == [1, 6, 2, 7, 3, 8, 4, 9, 5, 0]
    assert (splits.num_classes, splits.in_channels, splits.resolution) == (10, 3, 32)
    assert splits.class_names[3] == "c3"
    pixels = denormalize(x, splits) * 255  # image 1 of batch 1: planes 30, 31, 32
    torch.testing.assert_close(pixels[1, :, 5, 7], torch.tensor([30.0, 31.0, 32.0]), atol=1e-3, rtol=0)


def test_cifar100_loader_in_extracted_subdir(tmp_path):
    sub = tmp_path / "cifar-100-python"
    sub.mkdir()
    write_pickle(sub / "train", {b"data": cifar_images(4, 0), b"fine_labels": [99, 0, 5, 5], b"coarse_labels": [1, 2, 3, 4]})
    write_pickle(sub / "test", {b"data": cifar_images(2, 1), b"fine_labels": [7, 8]})
    splits = load_dataset(f"cifar100:{tmp_path}", resolution=16)
    assert splits.train.tensors[0].shape == (4, 3, 16, 16)
    assert splits.train.tensors[1].tolist() == [99, 0, 5, 5] and splits.num_classes == 100


def test_cifar_missing_and_malformed(tmp_path):
    with pytest.raises(DataError, match="expected data_batch_1 in") as excinfo:
        load_dataset(f"cifar10:{tmp_path}")
    one_line_error(excinfo)
    write_pickle(tmp_path / "train", {b"data": np.zeros((2, 100), np.uint8), b"fine_labels": [0, 1]})
    write_pickle(tmp_path / "test", {b"data": cifar_images(1, 0), b"fine_labels": [0]})
    with pytest.raises(DataError, match="uint8 N×3072") as excinfo:
        load_dataset(f"cifar100:{tmp_path}")
    one_line_error(excinfo)
    (tmp_path / "train").write_bytes(b"not a pickle at all")
    with pytest.raises(DataError, match="not a CIFAR python pickle"):
        load_dataset(f"cifar100:{tmp_path}")


class _Evil:
    def __reduce__(self):
        import os

        return (os.getcwd, ())


def test_cifar_pickle_cannot_run_code(tmp_path):
    write_pickle(tmp_path / "train", {b"data": _Evil(), b"fine_labels": [0]})
    write_pickle(tmp_path / "test", {b"data": cifar_images(1, 0), b"fine_labels": [0]})
    with pytest.raises(DataError, match="refusing to load posix.getcwd|refusing to load os.getcwd"):
        load_dataset(f"cifar100:{tmp_path}")
