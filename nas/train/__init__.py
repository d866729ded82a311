"""Training: the recipe (:class:`TrainConfig`) and the seeded, resumable loop (:func:`train`).

    >>> from nas.train import TrainConfig, train
    >>> result = train(model, data, TrainConfig(epochs=2), checkpoint="ckpt.pt")   # doctest: +SKIP

Modules: :mod:`~nas.train.config` (TrainConfig, TrainResult), :mod:`~nas.train.optim` (optimizer, lr
schedule), :mod:`~nas.train.batches` (data order), :mod:`~nas.train.evaluation` (accuracy, BN
recalibration, model check), :mod:`~nas.train.checkpoint`, :mod:`~nas.train.threads` and
:mod:`~nas.train.loop` (:func:`train`).
"""
from __future__ import annotations

import importlib
from typing import Any

from nas.train.config import TrainConfig, TrainResult

#: The torch-heavy rest, loaded on first use, so that ``TrainConfig`` (wanted while flags are parsed) does
#: not import torch.
_LAZY = {
    "CheckpointError": "checkpoint", "check_model": "evaluation", "epoch_permutation": "batches",
    "evaluate": "evaluation", "lr_factor": "optim", "make_optimizer": "optim", "recalibrate_bn": "evaluation",
    "seed_everything": "batches", "train": "loop",
}
__all__ = sorted(["TrainConfig", "TrainResult", *_LAZY])


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'nas.train' has no attribute {name!r}")
    return getattr(importlib.import_module(f"nas.train.{_LAZY[name]}"), name)
