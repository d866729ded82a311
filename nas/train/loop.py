"""A short, seeded, resumable supervised-training recipe for any image classifier.

``train(model, data, config)`` runs SGD (Nesterov momentum 0.9) or AdamW with a per-step
cosine or one-cycle schedule and label-smoothed cross-entropy, then reports top-1 accuracy
on the held-out test split. The data order of epoch ``e`` is a function of ``(seed, e)``
only, and a checkpoint holds model, optimizer, scheduler, RNG and position, so a run that
is interrupted (even mid-epoch, by Ctrl-C) and resumed ends with the same weights as one
that never stopped (bit for bit on CPU; on GPU as far as its kernels are deterministic).

The speed settings of :class:`~nas.train.config.TrainConfig` (channels-last layout, data held on the device,
CUDA graphs; :mod:`nas.train.accel`) change how fast this runs, not what it computes.
"""
from __future__ import annotations

import math
import signal
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn

from nas.allocator import keep_freed_memory
from nas.data import DatasetSplits
from nas.device import resolve_device
from nas.errors import one_line
from nas.signals import DeferSigint
from nas.train.accel import GraphedStep, autocast, check_precision, place_data
from nas.train.batches import epoch_permutation, iter_batches, seeded
from nas.train.checkpoint import (RunState, checkpoint_payload, read_checkpoint, restore_checkpoint, restore_rng,
                                  rng_state, save_checkpoint)
from nas.train.config import TrainConfig, TrainResult
from nas.train.evaluation import evaluate, recalibrate_bn
from nas.train.optim import make_optimizer, make_scheduler, steps_per_epoch
from nas.train.threads import torch_threads

__all__ = ["train"]


def train(
    model: nn.Module,
    data: DatasetSplits,
    config: TrainConfig,
    *,
    checkpoint: Path | None = None,
    progress: bool = True,
    on_epoch_end: Callable[[int, float], None] | None = None,
    identity: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``model`` (N×C×H×W → N×num_classes logits) on ``data.train``; score ``data.test``.

    With ``checkpoint``: if the file exists the run resumes from it (same config required,
    else CheckpointError); the state is saved atomically after every epoch and, on
    KeyboardInterrupt, at the last completed step before re-raising. The checkpoint records what was trained
    on what — the dataset's name and resolution plus ``identity`` (e.g. ``{"arch_key": ...}``) — and a resume
    under a different one is a CheckpointError naming it. ``on_epoch_end(epoch,
    mean_loss)`` is called after each epoch's checkpoint is written (1-based epoch). The
    model is moved to ``config.device`` (:func:`nas.device.resolve_device`; ValueError if this machine
    lacks it, or for mixed precision off CUDA), in channels-last layout if ``config.channels_last``, and left
    in eval mode. FloatingPointError (one line) if the loss stops being finite.
    """
    device = resolve_device(config.device)
    check_precision(config.precision, device)
    keep_freed_memory()  # glibc's defaults re-fault every step's activations: ~28 % of a CPU step (nas.allocator)
    with torch_threads(config.num_threads):
        who = {"data": data.name, "resolution": data.resolution, **(identity or {})}
        return _Run(model, data, config, device, checkpoint, progress, on_epoch_end, who).run()


class _Run:
    """One call of :func:`train`: the model, optimizer, schedule and position, and the loop over them."""

    def __init__(
        self,
        model: nn.Module,
        data: DatasetSplits,
        config: TrainConfig,
        device: torch.device,
        checkpoint: Path | None,
        progress: bool,
        on_epoch_end: Callable[[int, float], None] | None,
        identity: dict[str, Any],
    ) -> None:
        self.identity = identity
        self.model = model.to(device)
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.data = place_data(data, device) if config.data_on_device else data
        self.config, self.device = config, device
        self.use_graphs = config.cuda_graphs and device.type == "cuda"
        self.graphed: GraphedStep | None = None
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.progress, self.on_epoch_end = progress, on_epoch_end
        self.n_train = len(data.train)
        if self.n_train < 2:
            raise ValueError(f"need at least 2 training samples, got {self.n_train}")
        self.steps = steps_per_epoch(self.n_train, config.batch_size)
        self.optimizer = make_optimizer(model, config)
        self.scheduler = make_scheduler(self.optimizer, config, config.epochs * self.steps)
        self.criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
        self.state = RunState()
        with seeded(config.seed):
            self.rng = rng_state(device)  # RNG as of the last completed step

    # -- checkpoint ---------------------------------------------------------------------

    def save(self) -> None:
        if self.checkpoint is not None:
            save_checkpoint(self.checkpoint, checkpoint_payload(
                self.config, self.n_train, self.state, self.model, self.optimizer, self.scheduler, self.rng,
                self.identity))

    def load(self) -> None:
        path = self.checkpoint
        if path is None or not path.exists():
            return
        ck = read_checkpoint(path, self.config, self.n_train, self.identity)
        self.state, self.rng = restore_checkpoint(ck, path, self.model, self.optimizer, self.scheduler, self.device)

    # -- loop ---------------------------------------------------------------------------

    def run(self) -> TrainResult:
        self.load()
        config = self.config
        from tqdm.auto import tqdm

        bar = tqdm(
            total=config.epochs * self.steps,
            initial=self.state.epoch * self.steps + self.state.step,
            disable=not self.progress,
            unit="step",
            dynamic_ncols=True,
        )
        try:
            while self.state.epoch < config.epochs:
                self._epoch(bar)
        except KeyboardInterrupt:
            self.save()  # state is always at a completed step here (see _epoch)
            raise
        finally:
            bar.close()
        return self._finish()

    def _finish(self) -> TrainResult:
        """Re-estimate the BatchNorm statistics, score the test split and describe the run."""
        config = self.config
        if config.bn_recalibration_batches:
            recalibrate_bn(
                self.model, self.data.train,
                epoch_permutation(self.n_train, config.seed, config.epochs)[: self.steps * config.batch_size],
                batches=config.bn_recalibration_batches, batch_size=config.batch_size, device=self.device,
            )
        top1 = evaluate(self.model, self.data.test, batch_size=max(256, config.batch_size), device=self.device)
        return TrainResult(
            test_top1=top1,
            train_loss=list(self.state.train_loss),
            epochs_done=self.state.epoch,
            seconds=self.state.seconds,
            config=config,
            n_params=sum(p.numel() for p in self.model.parameters()),
            dataset=self.data.name,
            train_size=self.n_train,
            test_size=len(self.data.test),
            resolution=self.data.resolution,
        )

    def _epoch(self, bar: Any) -> None:
        state, config = self.state, self.config
        bar.set_description(f"epoch {state.epoch + 1}/{config.epochs}")
        order = epoch_permutation(self.n_train, config.seed, state.epoch)[: self.steps * config.batch_size]
        tensors = getattr(self.data.train, "tensors", None)
        if tensors is not None:
            order = order.to(tensors[0].device)  # a gather where the data lives
        self.model.train()
        buffers = [b for b in self.model.buffers()]
        saved = [b.detach().clone() for b in buffers]
        started = time.perf_counter()
        try:
            for x, y in iter_batches(self.data.train, order, config.batch_size, start=state.step):
                self._step(x, y, buffers, saved)
                bar.update(1)
                bar.set_postfix(loss=f"{state.loss_sum / state.loss_count:.4f}", refresh=False)
        finally:
            state.seconds += time.perf_counter() - started
        with DeferSigint():
            state.train_loss.append(state.loss_sum / max(state.loss_count, 1))
            state.epoch, state.step, state.loss_sum, state.loss_count = state.epoch + 1, 0, 0.0, 0
        self.save()
        if self.on_epoch_end is not None:
            self.on_epoch_end(state.epoch, state.train_loss[-1])

    def _step(self, x: torch.Tensor, y: torch.Tensor, buffers: list[torch.Tensor], saved: list[torch.Tensor]) -> None:
        """One optimizer step, committed all or nothing: on KeyboardInterrupt before the commit the buffers
        (BN statistics) and RNG are put back, so the saved state is exactly that of the last step. ``saved``
        holds one tensor per buffer, overwritten at every step (one foreach copy, not one launch per buffer)."""
        state = self.state
        if buffers:
            with torch.no_grad():
                torch._foreach_copy_(saved, buffers)  # BN statistics change in forward
        committed = False
        try:
            loss = self._forward_backward(x, y)
            with DeferSigint():  # the commit is all or nothing
                self.optimizer.step()
                self.scheduler.step()
                state.loss_sum += loss * len(y)
                state.loss_count += len(y)
                state.step += 1
                self.rng = rng_state(self.device)
                committed = True
        except KeyboardInterrupt:
            if not committed:  # undo the half step, so the saved state is exact
                if buffers:
                    with torch.no_grad():
                        torch._foreach_copy_(buffers, saved)
                restore_rng(self.rng, self.device)
            raise

    def _forward_backward(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """Loss and gradients of one batch: replayed from the CUDA graph for a full batch when graphs are on,
        else eager (under autocast for mixed precision)."""
        x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        if self.use_graphs and self.graphed is None and len(y) == self.config.batch_size:
            self._capture(x, y)
        if self.graphed is not None and self.graphed.fits(x):
            return self._checked(float(self.graphed(x, y).detach()))
        with autocast(self.config.precision, self.device):
            logits = self.model(x)
            if logits.ndim != 2 or logits.shape != (len(y), self.data.num_classes):
                raise ValueError(f"model returned {tuple(logits.shape)}, expected logits ({len(y)}, {self.data.num_classes})")
            loss = self.criterion(logits, y)
        value = self._checked(float(loss.detach()))
        self.optimizer.zero_grad(set_to_none=self.graphed is None)  # a graph's gradients must stay in place
        loss.backward()
        return value

    def _checked(self, value: float) -> float:
        if not math.isfinite(value):
            raise FloatingPointError(
                f"non-finite training loss at epoch {self.state.epoch + 1} step {self.state.step + 1}; try a lower lr"
            )
        return value

    def _capture(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Capture the CUDA graph of a full batch; if capture fails, warn once and train eagerly."""
        try:
            self.graphed = GraphedStep(self.model, self.criterion, x, y, self.config.precision)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - any capture failure: eager training is still correct
            self.use_graphs, self.graphed = False, None
            self.model.zero_grad(set_to_none=True)
            warnings.warn(f"CUDA graph capture failed, training eagerly ({type(exc).__name__}: "
                          f"{one_line(exc)[:200]})", RuntimeWarning, stacklevel=2)
