"""Training: the recipe (:class:`TrainConfig`) and the seeded, resumable loop (:func:`train`).

    >>> from nas.train import TrainConfig, train
    >>> result = train(model, data, TrainConfig(epochs=2), checkpoint="ckpt.pt")   # doctest: +SKIP
"""
from __future__ import annotations

from nas.train.loop import (CheckpointError, TrainConfig, TrainResult, check_model, epoch_permutation, evaluate,
                            lr_factor, recalibrate_bn, seed_everything, train)

__all__ = ["CheckpointError", "TrainConfig", "TrainResult", "check_model", "epoch_permutation", "evaluate",
           "lr_factor", "recalibrate_bn", "seed_everything", "train"]
