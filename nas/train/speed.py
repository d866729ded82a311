"""How fast :func:`nas.train.train` runs (:func:`time_training`): seconds per optimizer step of the real loop
under one :class:`~nas.train.config.TrainConfig`, and the seconds per epoch they imply.

A step is timed as the difference between a run of ``steps[1]`` and a run of ``steps[0]`` steps (each a
one-epoch training on that many batches), so fixed costs — moving data to the device, capturing a CUDA
graph, first-iteration allocations — cancel, and what is left is the cost of a step in a long run.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import torch
import torch.nn as nn
from torch.utils.data import Dataset, TensorDataset

from nas.data import DatasetSplits
from nas.train.config import TrainConfig
from nas.train.optim import steps_per_epoch

__all__ = ["StreamedDataset", "time_training"]


class StreamedDataset(Dataset):
    """A dataset read sample by sample (``dataset[i]``), as a dataset too large to hold in memory would be:
    :func:`nas.train.batches.iter_batches` stacks its batches one sample at a time."""

    def __init__(self, inner: TensorDataset) -> None:
        self.inner = inner

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inner[i]


def _subset(data: DatasetSplits, n_train: int, n_test: int, streamed: bool) -> DatasetSplits:
    x, y = data.train.tensors
    train: Any = TensorDataset(x[:n_train], y[:n_train])
    if streamed:
        train = StreamedDataset(train)
    tx, ty = data.test.tensors
    return dataclasses.replace(data, train=train, test=TensorDataset(tx[:n_test], ty[:n_test]))


def time_training(make_model: Callable[[], nn.Module], data: DatasetSplits, config: TrainConfig, *,
                  steps: tuple[int, int] = (5, 15), streamed: bool = False) -> dict[str, Any]:
    """Seconds per step of :func:`nas.train.train` with ``config`` (its epochs, BN recalibration and
    progress bar aside) on ``make_model()`` models, over the first images of ``data`` (in memory, or
    ``streamed`` sample by sample), and the seconds per epoch of all of ``data.train`` they imply.
    ValueError unless 1 ≤ steps[0] < steps[1] and the data holds steps[1] batches."""
    from nas.train.loop import train

    lo, hi = steps
    bs = config.batch_size
    if not 1 <= lo < hi or hi * bs > len(data.train):
        raise ValueError(f"steps must be 1 ≤ a < b with b·batch ≤ {len(data.train)} images, got {steps}")
    cfg = dataclasses.replace(config, epochs=1, bn_recalibration_batches=0)
    seconds = {}
    for n in (lo, hi):
        sub = _subset(data, n * bs, min(bs, len(data.test)), streamed)
        seconds[n] = train(make_model(), sub, cfg, progress=False).seconds
    per_step = max((seconds[hi] - seconds[lo]) / (hi - lo), 0.0)
    return {"s_per_step": per_step, "s_per_epoch": per_step * steps_per_epoch(len(data.train), bs),
            "steps": list(steps), "seconds": [seconds[lo], seconds[hi]], "batch_size": bs,
            "train_images": len(data.train), "device": cfg.device, "channels_last": cfg.channels_last,
            "cuda_graphs": cfg.cuda_graphs, "precision": cfg.precision, "streamed": streamed}
