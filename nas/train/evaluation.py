"""Scoring a model: top-1 accuracy (:func:`evaluate`), exact BatchNorm statistics before testing
(:func:`recalibrate_bn`) and a shape check before training (:func:`check_model`)."""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.utils.data import Dataset, TensorDataset

from nas.data import DatasetSplits
from nas.errors import one_line
from nas.train.batches import iter_batches

__all__ = ["check_model", "evaluate", "recalibrate_bn"]


def evaluate(model: nn.Module, dataset: Dataset, *, batch_size: int = 512, device: str | torch.device = "cpu") -> float:
    """Top-1 accuracy (fraction in [0, 1]) of ``model`` on ``dataset``, in eval mode.

    The model's train/eval mode is restored afterwards.
    """
    device = torch.device(device)
    was_training = model.training
    model.eval()
    correct = total = 0
    try:
        with torch.inference_mode():
            tensors = dataset.tensors if isinstance(dataset, TensorDataset) else None
            order = torch.arange(len(dataset), device=tensors[0].device if tensors else "cpu")
            for x, y in iter_batches(dataset, order, batch_size):
                logits = model(x.to(device))
                correct += int((logits.argmax(dim=1) == y.to(logits.device)).sum())
                total += len(y)
    finally:
        model.train(was_training)
    return correct / max(total, 1)


def recalibrate_bn(
    model: nn.Module, dataset: Dataset, order: torch.Tensor, *, batches: int, batch_size: int,
    device: str | torch.device = "cpu",
) -> None:
    """Reset every BatchNorm's running mean/var and re-estimate them as the exact average over
    the first ``batches`` batches of ``dataset`` in ``order`` (other modules stay in eval mode,
    so dropout/drop-path draw no random numbers). The model's train/eval mode is restored."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms or batches <= 0:
        return
    momenta = [m.momentum for m in norms]
    was_training = model.training
    model.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
        m.train()
    try:
        with torch.no_grad():
            for i, (x, _) in enumerate(iter_batches(dataset, order, batch_size)):
                if i >= batches:
                    break
                model(x.to(device))
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.train(was_training)


def check_model(model: nn.Module, data: DatasetSplits, *, device: str | torch.device = "cpu") -> None:
    """Run two test images through ``model``; raise ValueError (one line) unless it returns
    logits of shape 2×num_classes for N×C×R×R input."""
    x = data.test.tensors[0][:2] if isinstance(data.test, TensorDataset) else torch.stack([data.test[i][0] for i in range(2)])
    shape = "×".join(str(s) for s in x.shape[1:])
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            out = model(x.to(device))
    except Exception as exc:  # noqa: BLE001 - report any failure of the model as one line
        raise ValueError(f"model fails on {shape} input ({type(exc).__name__}: {one_line(exc)})") from None
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(x), data.num_classes):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model maps {shape} input to {got}, expected logits of shape (N, {data.num_classes})")
