"""The training recipe (:class:`TrainConfig`) and the outcome of a run (:class:`TrainResult`).

Nothing here imports torch, so a command line can build and check a :class:`TrainConfig` while it parses
its flags.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nas.device import check_device_name
from nas.files import atomic_write

__all__ = ["CHECKPOINT_FIELDS", "DEFAULT_LR", "DEFAULT_WEIGHT_DECAY", "OPTIMIZERS", "PRECISIONS", "RECIPE_FIELDS",
           "SCHEDULES", "TrainConfig", "TrainResult"]

#: Peak learning rate and weight decay of each optimizer when the config leaves them unset.
DEFAULT_LR = {"sgd": 0.05, "adamw": 2e-3}
DEFAULT_WEIGHT_DECAY = {"sgd": 5e-4, "adamw": 0.05}
OPTIMIZERS = tuple(DEFAULT_LR)
SCHEDULES = ("cosine", "onecycle")
#: Arithmetic of training: float32 everywhere, or bfloat16 autocast (mixed precision, CUDA only).
PRECISIONS = ("fp32", "bf16")

#: The recipe proper (:meth:`TrainConfig.recipe`): what a cached training is keyed by besides its epochs and
#: seed. Listed explicitly so that a field added to TrainConfig does not change the keys of existing caches;
#: add a field here only if it changes the trajectory (or the reported accuracy).
RECIPE_FIELDS = ("batch_size", "optimizer", "lr", "weight_decay", "schedule", "warmup_fraction",
                 "label_smoothing", "bn_recalibration_batches")

#: Settings that change the trajectory: a checkpoint only resumes under the same values.
#: (bn_recalibration_batches only affects the final evaluation, so it may change on resume.) ``precision``
#: belongs here too, but is written only when it is not fp32, so checkpoints made before it existed resume.
CHECKPOINT_FIELDS = ("epochs", "batch_size", "optimizer", "lr", "weight_decay", "schedule",
                     "warmup_fraction", "label_smoothing", "seed")


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run.

    ``lr`` (peak learning rate) and ``weight_decay`` default per optimizer (:data:`DEFAULT_LR`,
    :data:`DEFAULT_WEIGHT_DECAY`: SGD 0.05 / 5e-4, AdamW 2e-3 / 0.05) and are resolved on construction;
    weight decay is not applied to biases and norm parameters (ndim <= 1). ``warmup_fraction`` is the share
    of all optimizer steps spent warming up (see :func:`nas.train.optim.lr_factor` for both schedules'
    shapes). Before the final evaluation the BatchNorm running statistics are re-estimated exactly from
    ``bn_recalibration_batches`` training batches (0: keep the running averages), because after a short run
    a slow BN momentum (e.g. torchvision's 0.01) leaves them far from the trained weights. ``num_threads``
    sets torch's intra-op threads for the run (None: leave as is). ``device`` is 'auto' (cuda when
    available), 'cpu', 'cuda' or 'cuda:N' (checked for its form here, resolved when training starts).

    Speed settings, none of which is part of :meth:`recipe` (they change the memory layout or where tensors
    live, not the arithmetic): ``channels_last`` trains with NHWC weights and activations (~1.8× faster on
    CPU here); ``data_on_device`` copies in-memory data to a CUDA device once, so a batch is a gather on the
    device (no effect on the CPU); ``cuda_graphs`` replays forward and backward of every full batch as one
    CUDA graph (ignored on the CPU). ``precision`` "bf16" trains under bfloat16 autocast on CUDA (an error on
    the CPU); unlike the speed settings it changes the arithmetic, so :meth:`recipe` names it (fp32 is left
    out, keeping every existing key).

    Raises ``ValueError`` (one line) for any value out of range.
    """

    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float | None = None
    weight_decay: float | None = None
    schedule: str = "cosine"
    warmup_fraction: float = 0.05
    label_smoothing: float = 0.1
    bn_recalibration_batches: int = 16
    seed: int = 0
    num_threads: int | None = None
    device: str = "cpu"
    channels_last: bool = False
    data_on_device: bool = True
    cuda_graphs: bool = False
    precision: str = "fp32"

    def __post_init__(self) -> None:
        self.optimizer = self.optimizer.lower()
        self.schedule = self.schedule.lower()
        if self.optimizer not in DEFAULT_LR:
            raise ValueError(f"optimizer must be one of {sorted(DEFAULT_LR)}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be 'cosine' or 'onecycle', got {self.schedule!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.lr is None:
            self.lr = DEFAULT_LR[self.optimizer]
        if self.weight_decay is None:
            self.weight_decay = DEFAULT_WEIGHT_DECAY[self.optimizer]
        for ok, message in self._range_checks():
            if not ok:
                raise ValueError(message)
        self.device = check_device_name(self.device)

    def _range_checks(self) -> list[tuple[bool, str]]:
        return [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.lr > 0 and math.isfinite(self.lr), f"lr must be > 0, got {self.lr}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}"),
            (0 <= self.warmup_fraction < 1, f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}"),
            (0 <= self.label_smoothing < 1, f"label_smoothing must be in [0, 1), got {self.label_smoothing}"),
            (self.bn_recalibration_batches >= 0,
             f"bn_recalibration_batches must be >= 0, got {self.bn_recalibration_batches}"),
            (self.seed >= 0, f"seed must be >= 0, got {self.seed}"),
            (self.num_threads is None or self.num_threads >= 1, f"num_threads must be >= 1, got {self.num_threads}"),
        ]

    def recipe(self) -> dict[str, Any]:
        """The recipe as a dict: the :data:`RECIPE_FIELDS` (lr and weight decay resolved), without epochs,
        seed, threads and device. Cached trainings (:mod:`nas.validation`) are keyed by it: do not change
        what it returns for existing settings (``precision`` is added only when it is not fp32)."""
        return {name: getattr(self, name) for name in RECIPE_FIELDS} | self._precision()

    def trajectory(self) -> dict[str, Any]:
        """The :data:`CHECKPOINT_FIELDS` as a dict (and ``precision`` unless fp32): a checkpoint resumes only
        under the same values."""
        return {name: getattr(self, name) for name in CHECKPOINT_FIELDS} | self._precision()

    def _precision(self) -> dict[str, Any]:
        return {} if self.precision == "fp32" else {"precision": self.precision}


@dataclass
class TrainResult:
    """Outcome of :func:`nas.train.train`.

    ``test_top1`` is a fraction in [0, 1]; ``train_loss`` is the mean label-smoothed
    cross-entropy (nats) of each epoch; ``seconds`` is wall-clock training time summed over
    all sessions of a resumed run, excluding the final evaluation.
    """

    test_top1: float
    train_loss: list[float]
    epochs_done: int
    seconds: float
    config: TrainConfig
    n_params: int
    dataset: str = ""
    train_size: int = 0
    test_size: int = 0
    resolution: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_json` (and a newline) to ``path`` atomically."""
        atomic_write(Path(path), self.to_json() + "\n")
