"""A short, seeded, resumable supervised-training recipe for any image classifier.

``train(model, data, config)`` runs SGD (Nesterov momentum 0.9) or AdamW with a per-step
cosine or one-cycle schedule and label-smoothed cross-entropy, then reports top-1 accuracy
on the held-out test split. The data order of epoch ``e`` is a function of ``(seed, e)``
only, and a checkpoint holds model, optimizer, scheduler, RNG and position, so a run that
is interrupted (even mid-epoch, by Ctrl-C) and resumed ends with the same weights as one
that never stopped (bit for bit on CPU; on GPU as far as its kernels are deterministic).
"""
from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import Dataset, TensorDataset

from nas.data import DatasetSplits

__all__ = [
    "CheckpointError",
    "TrainConfig",
    "TrainResult",
    "check_model",
    "epoch_permutation",
    "evaluate",
    "lr_factor",
    "recalibrate_bn",
    "resolve_device",
    "seed_everything",
    "train",
]

CHECKPOINT_FORMAT = 1
_DEFAULT_LR = {"sgd": 0.05, "adamw": 2e-3}
_DEFAULT_WD = {"sgd": 5e-4, "adamw": 0.05}
# Settings that change the trajectory: a checkpoint only resumes under the same values.
_TRAJECTORY_KEYS = (
    "epochs", "batch_size", "optimizer", "lr", "weight_decay", "schedule",
    "warmup_fraction", "label_smoothing", "seed",
)  # bn_recalibration_batches only affects the final evaluation, so it may change on resume


class CheckpointError(ValueError):
    """A checkpoint cannot be read or does not belong to this model/config (one line)."""


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run.

    ``lr`` (peak learning rate) and ``weight_decay`` default per optimizer: SGD 0.05 / 5e-4,
    AdamW 2e-3 / 0.05; weight decay is not applied to biases and norm parameters (ndim <= 1).
    ``warmup_fraction`` is the share of all optimizer steps spent warming up (see
    :func:`lr_factor` for both schedules' shapes). Before the final evaluation the BatchNorm
    running statistics are re-estimated exactly from ``bn_recalibration_batches`` training
    batches (0: keep the running averages), because after a short run a slow BN momentum
    (e.g. torchvision's 0.01) leaves them far from the trained weights. ``num_threads`` sets
    torch's intra-op threads for the run (None: leave as is). ``device`` is "cpu", "auto"
    (cuda when available) or any torch device string.
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

    def __post_init__(self) -> None:
        self.optimizer = self.optimizer.lower()
        self.schedule = self.schedule.lower()
        if self.optimizer not in _DEFAULT_LR:
            raise ValueError(f"optimizer must be one of {sorted(_DEFAULT_LR)}, got {self.optimizer!r}")
        if self.schedule not in ("cosine", "onecycle"):
            raise ValueError(f"schedule must be 'cosine' or 'onecycle', got {self.schedule!r}")
        if self.lr is None:
            self.lr = _DEFAULT_LR[self.optimizer]
        if self.weight_decay is None:
            self.weight_decay = _DEFAULT_WD[self.optimizer]
        checks = [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.lr > 0 and math.isfinite(self.lr), f"lr must be > 0, got {self.lr}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}"),
            (0 <= self.warmup_fraction < 1, f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}"),
            (0 <= self.label_smoothing < 1, f"label_smoothing must be in [0, 1), got {self.label_smoothing}"),
            (self.bn_recalibration_batches >= 0, f"bn_recalibration_batches must be >= 0, got {self.bn_recalibration_batches}"),
            (self.seed >= 0, f"seed must be >= 0, got {self.seed}"),
            (self.num_threads is None or self.num_threads >= 1, f"num_threads must be >= 1, got {self.num_threads}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        if self.device != "auto":
            try:
                torch.device(self.device)
            except RuntimeError:
                raise ValueError(f"device must be 'cpu', 'cuda[:N]', 'auto' or another torch device, got {self.device!r}") from None


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

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
        """Write :meth:`to_json` to ``path`` atomically."""
        _atomic_write(Path(path), lambda fh: fh.write((self.to_json() + "\n").encode()))


# --------------------------------------------------------------------------- helpers


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA) so model initialisation is reproducible."""
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """Map "auto" to cuda when available, else cpu; pass other names to torch.device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The sample order of ``epoch`` (0-based): a function of ``(seed, epoch)`` only."""
    state = np.random.SeedSequence([seed, epoch]).generate_state(2, dtype=np.uint32)
    generator = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
    return torch.randperm(n, generator=generator)


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
            for x, y in _batches(dataset, torch.arange(len(dataset)), batch_size):
                logits = model(x.to(device))
                correct += int((logits.argmax(dim=1).cpu() == y).sum())
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
            for i, (x, _) in enumerate(_batches(dataset, order, batch_size)):
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
        raise ValueError(f"model fails on {shape} input ({type(exc).__name__}: {' '.join(str(exc).split())})") from None
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(x), data.num_classes):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model maps {shape} input to {got}, expected logits of shape (N, {data.num_classes})")


def _batches(dataset: Dataset, order: torch.Tensor, batch_size: int, start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (images, labels) batches of ``dataset`` in ``order``, from batch number ``start``."""
    tensors = dataset.tensors if isinstance(dataset, TensorDataset) else None
    for lo in range(start * batch_size, len(order), batch_size):
        idx = order[lo : lo + batch_size]
        if tensors is not None:
            yield tensors[0][idx], tensors[1][idx]
        else:
            samples = [dataset[int(i)] for i in idx]
            yield torch.stack([s[0] for s in samples]), torch.as_tensor([int(s[1]) for s in samples])


def _atomic_write(path: Path, write: Callable[[Any], Any]) -> None:
    """Write via a temp file in the same directory, fsync, then os.replace over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies, unlike mkstemp
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class _DeferSigint:
    """Hold back SIGINT for the duration of a block (main thread only), then deliver it."""

    _UNSET = object()

    def __enter__(self) -> "_DeferSigint":
        self._pending = False
        self._old: Any = self._UNSET
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._hold)
        return self

    def _hold(self, signum: int, frame: FrameType | None) -> None:
        self._pending = True

    def __exit__(self, *exc: object) -> None:
        if self._old is self._UNSET:
            return
        old = self._old if self._old is not None else signal.SIG_DFL
        signal.signal(signal.SIGINT, old)
        if self._pending:
            if callable(old):
                old(signal.SIGINT, None)
            elif old == signal.SIG_DFL:
                raise KeyboardInterrupt


def _get_rng(device: torch.device) -> dict[str, torch.Tensor]:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng(state: dict[str, torch.Tensor], device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def _make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
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


def _make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int) -> Any:
    warmup = round(config.warmup_fraction * total_steps)
    schedule = config.schedule
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, total_steps, warmup, schedule))


def _steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches per epoch; a trailing batch of one sample is dropped (BatchNorm cannot train on it)."""
    steps = math.ceil(n / batch_size)
    return steps - 1 if n % batch_size == 1 and n > 1 else steps


# --------------------------------------------------------------------------- training


@dataclass
class _State:
    """Position of a run: completed epochs, completed steps of the current epoch, and the
    running loss of that partial epoch."""

    epoch: int = 0
    step: int = 0
    loss_sum: float = 0.0
    loss_count: int = 0
    train_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0


def train(
    model: nn.Module,
    data: DatasetSplits,
    config: TrainConfig,
    *,
    checkpoint: Path | None = None,
    progress: bool = True,
    on_epoch_end: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train ``model`` (N×C×H×W → N×num_classes logits) on ``data.train``; score ``data.test``.

    With ``checkpoint``: if the file exists the run resumes from it (same config required,
    else CheckpointError); the state is saved atomically after every epoch and, on
    KeyboardInterrupt, at the last completed step before re-raising. ``on_epoch_end(epoch,
    mean_loss)`` is called after each epoch's checkpoint is written (1-based epoch). The
    model is moved to ``config.device`` and left in eval mode.
    """
    device = resolve_device(config.device)
    previous_threads = torch.get_num_threads()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    try:
        return _Run(model, data, config, device, checkpoint, progress, on_epoch_end).run()
    finally:
        torch.set_num_threads(previous_threads)


class _Run:
    def __init__(
        self,
        model: nn.Module,
        data: DatasetSplits,
        config: TrainConfig,
        device: torch.device,
        checkpoint: Path | None,
        progress: bool,
        on_epoch_end: Callable[[int, float], None] | None,
    ) -> None:
        self.model = model.to(device)
        self.data, self.config, self.device = data, config, device
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.progress, self.on_epoch_end = progress, on_epoch_end
        self.n_train = len(data.train)
        if self.n_train < 2:
            raise ValueError(f"need at least 2 training samples, got {self.n_train}")
        self.steps = _steps_per_epoch(self.n_train, config.batch_size)
        self.optimizer = _make_optimizer(model, config)
        self.scheduler = _make_scheduler(self.optimizer, config, config.epochs * self.steps)
        self.criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
        self.state = _State()
        torch.manual_seed(config.seed)
        self.rng = _get_rng(device)  # RNG as of the last completed step

    # -- checkpoint ---------------------------------------------------------------------

    def _payload(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "config": {k: getattr(self.config, k) for k in _TRAJECTORY_KEYS},
            "train_size": self.n_train,
            "state": asdict(self.state),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": self.rng,
        }

    def save(self) -> None:
        if self.checkpoint is not None:
            payload = self._payload()
            _atomic_write(self.checkpoint, lambda fh: torch.save(payload, fh))

    def load(self) -> None:
        path = self.checkpoint
        if path is None or not path.exists():
            return
        try:
            ck = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - unreadable for any reason
            raise CheckpointError(f"cannot read checkpoint {path} ({type(exc).__name__}); delete it to start over") from None
        keys = {"format", "config", "train_size", "state", "model", "optimizer", "scheduler", "rng"}
        if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT or not keys <= ck.keys():
            raise CheckpointError(f"{path} is not a nas.train checkpoint (format {CHECKPOINT_FORMAT}); delete it to start over")
        mine = {k: getattr(self.config, k) for k in _TRAJECTORY_KEYS}
        diff = [f"{k}={ck['config'].get(k)!r} (now {mine[k]!r})" for k in _TRAJECTORY_KEYS if ck["config"].get(k) != mine[k]]
        if ck.get("train_size") != self.n_train:
            diff.append(f"train_size={ck.get('train_size')!r} (now {self.n_train})")
        if diff:
            raise CheckpointError(
                f"checkpoint {path} was made with {', '.join(diff)}; use the same settings or delete it"
            )
        try:
            self.model.load_state_dict(ck["model"])
            self.optimizer.load_state_dict(ck["optimizer"])
            self.scheduler.load_state_dict(ck["scheduler"])
        except (RuntimeError, ValueError, KeyError) as exc:
            first = " ".join(str(exc).split())[:300]
            raise CheckpointError(f"checkpoint {path} does not fit this model: {first}") from None
        try:
            self.state = _State(**ck["state"])
            self.rng = ck["rng"]
            _set_rng(self.rng, self.device)
        except (TypeError, KeyError, RuntimeError) as exc:
            raise CheckpointError(f"checkpoint {path} is malformed ({type(exc).__name__}); delete it to start over") from None

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
        self.model.train()
        buffers = [b for b in self.model.buffers()]
        started = time.perf_counter()
        try:
            for x, y in _batches(self.data.train, order, config.batch_size, start=state.step):
                saved = [b.detach().clone() for b in buffers]  # BN statistics change in forward
                committed = False
                try:
                    loss = self._forward_backward(x, y)
                    with _DeferSigint():  # the commit is all or nothing
                        self.optimizer.step()
                        self.scheduler.step()
                        state.loss_sum += loss * len(y)
                        state.loss_count += len(y)
                        state.step += 1
                        self.rng = _get_rng(self.device)
                        committed = True
                except KeyboardInterrupt:
                    if not committed:  # undo the half step, so the saved state is exact
                        with torch.no_grad():
                            for b, s in zip(buffers, saved):
                                b.copy_(s)
                        _set_rng(self.rng, self.device)
                    raise
                bar.update(1)
                bar.set_postfix(loss=f"{state.loss_sum / state.loss_count:.4f}", refresh=False)
        finally:
            state.seconds += time.perf_counter() - started
        with _DeferSigint():
            state.train_loss.append(state.loss_sum / max(state.loss_count, 1))
            state.epoch, state.step, state.loss_sum, state.loss_count = state.epoch + 1, 0, 0.0, 0
        self.save()
        if self.on_epoch_end is not None:
            self.on_epoch_end(state.epoch, state.train_loss[-1])

    def _forward_backward(self, x: torch.Tensor, y: torch.Tensor) -> float:
        x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        logits = self.model(x)
        if logits.ndim != 2 or logits.shape != (len(y), self.data.num_classes):
            raise ValueError(f"model returned {tuple(logits.shape)}, expected logits ({len(y)}, {self.data.num_classes})")
        loss = self.criterion(logits, y)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise FloatingPointError(
                f"non-finite training loss at epoch {self.state.epoch + 1} step {self.state.step + 1}; try a lower lr"
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        return value

