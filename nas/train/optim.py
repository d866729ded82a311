"""The optimizer and learning-rate schedule of the recipe (:class:`nas.train.config.TrainConfig`).

:func:`make_optimizer` is public so that anything timing or imitating a training step (the pilot of
:mod:`nas.validation`) uses exactly the optimizer :func:`nas.train.train` uses.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn

from nas.train.config import TrainConfig

__all__ = ["lr_factor", "make_optimizer", "make_scheduler", "steps_per_epoch"]


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The recipe's optimizer over ``model``'s trainable parameters: SGD with Nesterov momentum 0.9 or
    AdamW, at ``config.lr``; weight decay ``config.weight_decay`` on weights with ndim > 1 only (biases and
    norm parameters get none)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=0.9, nesterov=True)
    return torch.optim.AdamW(groups, lr=config.lr)


def lr_factor(step: int, total_steps: int, warmup_steps: int, schedule: str) -> float:
    """Multiplier of the peak lr for optimizer step ``step`` (0-based) of ``total_steps``.

    cosine: linear ramp over ``warmup_steps``, then cosine decay to 0. onecycle: cosine ramp
    from lr/25 to lr over ``warmup_steps``, then cosine anneal to lr/25e4 (no momentum cycle).
    """
    step = min(max(step, 0), total_steps)
    if schedule == "cosine":
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return 0.5 * (1.0 + math.cos(math.pi * (step - warmup_steps) / max(total_steps - warmup_steps, 1)))
    start, low = 1.0 / 25.0, 1.0 / 25e4
    if step < warmup_steps:
        return start + (1.0 - start) * 0.5 * (1.0 - math.cos(math.pi * step / warmup_steps))
    progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
    return low + (1.0 - low) * 0.5 * (1.0 + math.cos(math.pi * progress))


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int) -> Any:
    """A per-step ``LambdaLR`` following :func:`lr_factor` over ``total_steps``, warming up for
    ``round(config.warmup_fraction * total_steps)`` steps."""
    warmup = round(config.warmup_fraction * total_steps)
    schedule = config.schedule
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, total_steps, warmup, schedule))


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches per epoch of ``n`` samples; a trailing batch of one sample is dropped (BatchNorm cannot train
    on it)."""
    steps = math.ceil(n / batch_size)
    return steps - 1 if n % batch_size == 1 and n > 1 else steps
