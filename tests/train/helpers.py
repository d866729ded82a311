"""Tiny CNNs and synthetic data for the training tests (seconds, CPU); also used by tests/cli/test_train.py."""
from __future__ import annotations

import torch
import torch.nn as nn

from nas.data import DatasetSplits, make_synthetic
from nas.train import TrainConfig


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


def small_data() -> DatasetSplits:
    return make_synthetic(num_classes=4, in_channels=3, resolution=12, train_size=192, test_size=64, seed=0)


def quick(**overrides) -> TrainConfig:
    base = dict(epochs=2, batch_size=32, num_threads=1, seed=0)
    return TrainConfig(**{**base, **overrides})


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key
