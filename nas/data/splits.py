"""The loaded train/test splits: how subsets are chosen and how the tensors are normalised."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import TensorDataset

from nas.data.spec import DataError

__all__ = ["FIXED_STREAM", "DatasetSplits", "normalize_", "stratified_indices"]

#: Seed of the rng stream for seed-independent choices (the test subset, a flat image folder's held-out part).
FIXED_STREAM = 0x5EED


@dataclass(frozen=True)
class DatasetSplits:
    """Normalised train/test tensors plus what a model builder needs to know.

    ``train``/``test`` are ``TensorDataset(images, labels)``; ``mean``/``std`` are the
    per-channel statistics (of pixel values scaled to [0, 1]) that were subtracted/divided.
    """

    name: str
    train: TensorDataset
    test: TensorDataset
    num_classes: int
    in_channels: int
    resolution: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: tuple[str, ...] = ()
    source: str = ""

    @property
    def train_size(self) -> int:
        return len(self.train)

    @property
    def test_size(self) -> int:
        return len(self.test)


def stratified_indices(labels: np.ndarray, n: int, rng: np.random.Generator | int = 0) -> np.ndarray:
    """Pick ``n`` indices (sorted) with per-class counts proportional to class frequency.

    Counts use the largest-remainder rule, so a balanced dataset gives exactly balanced
    counts whenever ``n`` is a multiple of the number of classes.
    """
    labels = np.asarray(labels)
    if not 0 < n <= len(labels):
        raise DataError(f"cannot pick {n} of {len(labels)} samples")
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * (n / len(labels))
    take = np.floor(quota).astype(np.int64)
    short = n - int(take.sum())
    if short:
        order = np.argsort(-(quota - take), kind="stable")
        take[order[:short]] += 1
    chosen = [
        rng.choice(np.flatnonzero(labels == cls), size=int(k), replace=False)
        for cls, k in zip(classes, take)
        if k
    ]
    return np.sort(np.concatenate(chosen))


def normalize_(train: torch.Tensor, test: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Standardise both N×C×H×W splits in place with the train split's per-channel mean/std.

    Returns ``(mean, std)`` per channel; ``std`` is the population std, clamped to at least 1e-6.
    """
    var, mean = torch.var_mean(train, dim=(0, 2, 3), correction=0)
    std = var.sqrt().clamp_min(1e-6)
    for x in (train, test):
        x.sub_(mean.view(1, -1, 1, 1)).div_(std.view(1, -1, 1, 1))
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)
