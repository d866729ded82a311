"""The speed-ups of :func:`nas.train.train` that leave the recipe alone: in-memory data copied to the device
once (:func:`place_data`), mixed precision (:func:`autocast`) and forward + backward of a full batch replayed
as one CUDA graph (:class:`GraphedStep`).

On the CPU every one of them is a no-op (``precision`` other than fp32 is refused there), so CPU results do
not depend on them. On CUDA a graph replays exactly the kernels that eager execution would launch, so it
changes speed, not arithmetic; bfloat16 autocast changes the arithmetic and is therefore part of the recipe
(:meth:`nas.train.config.TrainConfig.recipe`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import weakref
from typing import Any, Callable, ContextManager

import torch
import torch.nn as nn
from torch.utils.data import TensorDataset

from nas.data import DatasetSplits

__all__ = ["GRAPH_WARMUP_STEPS", "GraphedStep", "autocast", "check_precision", "place_data"]

#: Eager forward/backward passes on a side stream before a graph is captured (cuDNN/cuBLAS set-up).
GRAPH_WARMUP_STEPS = 3

_PLACED: "weakref.WeakKeyDictionary[TensorDataset, dict[str, TensorDataset]]" = weakref.WeakKeyDictionary()


def place_data(data: DatasetSplits, device: torch.device) -> DatasetSplits:
    """``data`` with its in-memory (``TensorDataset``) splits on ``device``: the same object on the CPU; on
    CUDA a copy made once per split and device and reused by later trainings (while ``data`` lives), so every
    batch is a gather on the device. A split that is not a ``TensorDataset`` (streamed sample by sample) stays
    where it is."""
    if device.type == "cpu":
        return data
    return dataclasses.replace(data, train=_placed(data.train, device), test=_placed(data.test, device))


def _placed(split: Any, device: torch.device) -> Any:
    if not isinstance(split, TensorDataset):
        return split
    copies = _PLACED.setdefault(split, {})
    key = str(device)
    if key not in copies:
        copies[key] = TensorDataset(*(t.to(device) for t in split.tensors))
    return copies[key]


def check_precision(precision: str, device: torch.device) -> None:
    """ValueError (one line) unless ``precision`` can run on ``device`` (mixed precision needs CUDA)."""
    if precision != "fp32" and device.type != "cuda":
        raise ValueError(f"precision {precision} (mixed precision) needs a CUDA device; on {device.type} use fp32")


def autocast(precision: str, device: torch.device, *, in_graph: bool = False) -> ContextManager[Any]:
    """bfloat16 autocast on CUDA for ``precision`` "bf16" (without the weight-cast cache inside a CUDA graph,
    as graphs require); a no-op context for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=not in_graph)


class GraphedStep:
    """Forward, loss and backward of one full batch captured as a CUDA graph; :meth:`__call__` copies a batch
    into the graph's static input and replays it, leaving the gradients in each parameter's ``.grad`` (the
    same tensors every time: never set them to None) and returning the loss tensor.

    Capture runs :data:`GRAPH_WARMUP_STEPS` eager passes on a side stream first; the BatchNorm statistics they
    move are put back, and the gradients are left unset, so capturing changes nothing a training sees.
    ``capture_error_mode="thread_local"`` lets other threads (other networks trained at once, each on its
    own stream) keep working while this one captures.
    """

    def __init__(self, model: nn.Module, criterion: Callable[..., torch.Tensor], x: torch.Tensor, y: torch.Tensor,
                 precision: str) -> None:
        self.static_x, self.static_y = x.detach().clone(), y.detach().clone()
        buffers = list(model.buffers())
        saved = [b.detach().clone() for b in buffers]
        try:
            self._capture(model, criterion, precision)
        finally:
            with torch.no_grad():
                for b, s in zip(buffers, saved):
                    b.copy_(s)

    def _capture(self, model: nn.Module, criterion: Callable[..., torch.Tensor], precision: str) -> None:
        device = self.static_x.device
        model.zero_grad(set_to_none=True)
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(GRAPH_WARMUP_STEPS):
                with autocast(precision, device):
                    loss = criterion(model(self.static_x), self.static_y)
                loss.backward()
                model.zero_grad(set_to_none=True)
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph, capture_error_mode="thread_local"):
            with autocast(precision, device, in_graph=True):
                self.loss = criterion(model(self.static_x), self.static_y)
            self.loss.backward()

    def fits(self, x: torch.Tensor) -> bool:
        """Whether ``x`` has the captured batch's shape (a trailing, smaller batch runs eagerly)."""
        return x.shape == self.static_x.shape

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.static_x.copy_(x)
        self.static_y.copy_(y)
        self.graph.replay()
        return self.loss
