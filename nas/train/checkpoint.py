"""Checkpoints of :func:`nas.train.train`: one file holds model, optimizer, scheduler, RNG and the position
in the run (:class:`RunState`), written atomically, read back only under the same recipe.

A checkpoint is a ``torch.save`` dict with the keys ``format`` (:data:`CHECKPOINT_FORMAT`), ``config`` (the
:meth:`~nas.train.config.TrainConfig.trajectory` it was made with), ``train_size``, ``state``, ``model``,
``optimizer``, ``scheduler`` and ``rng``, and ``identity``: what was trained on what (the dataset's name and
resolution, and what the caller adds, e.g. the arch key) — a network whose tensors happen to have the same
shapes (another activation, a skip turned off) or other data must not resume another's weights. Checkpoints
written before ``identity`` existed resume unchecked. Every problem with one is a one-line
:class:`CheckpointError`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from nas.errors import one_line
from nas.files import atomic_write
from nas.train.config import CHECKPOINT_FIELDS, TrainConfig

__all__ = ["CHECKPOINT_FORMAT", "CheckpointError", "RunState", "checkpoint_epochs", "checkpoint_payload",
           "read_checkpoint", "restore_checkpoint", "restore_rng", "rng_state", "save_checkpoint"]

CHECKPOINT_FORMAT = 1
_KEYS = {"format", "config", "train_size", "state", "model", "optimizer", "scheduler", "rng"}


class CheckpointError(ValueError):
    """A checkpoint cannot be read or does not belong to this model/config (one line)."""


@dataclass
class RunState:
    """Position of a run: completed epochs, completed steps of the current epoch, the running loss of that
    partial epoch, the mean loss of each finished epoch and the training seconds so far."""

    epoch: int = 0
    step: int = 0
    loss_sum: float = 0.0
    loss_count: int = 0
    train_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """torch's CPU RNG state, and the CUDA one of ``device`` when it is a CUDA device."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict[str, torch.Tensor], device: torch.device) -> None:
    """Set the RNG states :func:`rng_state` returned."""
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def checkpoint_payload(config: TrainConfig, train_size: int, state: RunState, model: nn.Module,
                       optimizer: torch.optim.Optimizer, scheduler: Any, rng: dict[str, torch.Tensor],
                       identity: dict[str, Any] | None = None) -> dict[str, Any]:
    """The dict a checkpoint file holds (see the module docstring)."""
    return {
        "identity": dict(identity or {}),
        "format": CHECKPOINT_FORMAT,
        "config": config.trajectory(),
        "train_size": train_size,
        "state": asdict(state),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": rng,
    }


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` atomically (``torch.save``)."""
    atomic_write(path, lambda fh: torch.save(payload, fh))


def read_checkpoint(path: Path, config: TrainConfig, train_size: int,
                    identity: dict[str, Any] | None = None) -> dict[str, Any]:
    """Load the checkpoint at ``path`` (onto the CPU) and check it was made with the same trajectory
    settings, training-set size and ``identity`` (every key both have; a checkpoint without one is not
    checked); CheckpointError (one line, naming every difference) otherwise."""
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unreadable for any reason
        raise CheckpointError(f"cannot read checkpoint {path} ({type(exc).__name__}); delete it to start over") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT or not _KEYS <= ck.keys():
        raise CheckpointError(f"{path} is not a nas.train checkpoint (format {CHECKPOINT_FORMAT}); delete it to start over")
    mine, theirs = config.trajectory(), ck["config"]
    defaults = {"precision": "fp32"}  # written only when it is not the default
    fields = (*CHECKPOINT_FIELDS, *defaults)
    diff = [f"{k}={theirs.get(k, defaults.get(k))!r} (now {mine.get(k, defaults.get(k))!r})" for k in fields
            if theirs.get(k, defaults.get(k)) != mine.get(k, defaults.get(k))]
    if ck.get("train_size") != train_size:
        diff.append(f"train_size={ck.get('train_size')!r} (now {train_size})")
    theirs_id = ck.get("identity") if isinstance(ck.get("identity"), dict) else {}
    diff += [f"{k}={theirs_id[k]!r} (now {v!r})" for k, v in (identity or {}).items()
             if k in theirs_id and theirs_id[k] != v]
    if diff:
        raise CheckpointError(f"checkpoint {path} was made with {', '.join(diff)}; use the same settings or delete it")
    return ck


def restore_checkpoint(ck: dict[str, Any], path: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                       scheduler: Any, device: torch.device) -> tuple[RunState, dict[str, torch.Tensor]]:
    """Load a checkpoint :func:`read_checkpoint` returned into ``model``, ``optimizer`` and ``scheduler``,
    set the RNG, and return the run's position and RNG state. CheckpointError (one line) if it does not fit
    (``path`` is only named in the message)."""
    try:
        model.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        scheduler.load_state_dict(ck["scheduler"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"checkpoint {path} does not fit this model: {one_line(exc)[:300]}") from None
    try:
        state = RunState(**ck["state"])
        restore_rng(ck["rng"], device)
    except (TypeError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint {path} is malformed ({type(exc).__name__}); delete it to start over") from None
    return state, ck["rng"]


def checkpoint_epochs(path: str | Path) -> int:
    """Epochs a checkpoint file holds as completed; 0 if it cannot be read (for progress display only)."""
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
        return int(ck["state"]["epoch"])
    except Exception:  # noqa: BLE001 - only for progress display
        return 0
