"""What fixes a training of :mod:`nas.validation` apart from its epochs and seed: :class:`Setup`
(the data and the recipe) and its constants."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

_FULL = "all"
_NATIVE = "native"
_SUBSET_SEED = 0  # the train subset (if any) is fixed; the training seed only changes init and order


@dataclass(frozen=True)
class Setup:
    """What fixes a training apart from its epochs and seed: the data and the recipe.

    ``train_size``/``test_size`` None mean the whole split, ``resolution`` None the dataset's native
    side. ``lr``/``weight_decay`` None take :class:`nas.train.TrainConfig`'s per-optimizer defaults
    (resolved in :meth:`recipe`, so the cache records the actual values).
    """

    data: str = "fashion-mnist"
    train_size: int | None = None
    test_size: int | None = None
    resolution: int | None = None
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float | None = None
    weight_decay: float | None = None
    schedule: str = "cosine"
    warmup_fraction: float = 0.05
    label_smoothing: float = 0.1
    bn_recalibration_batches: int = 16
    threads: int | None = None
    channels_last: bool = True  # NHWC weights: ~1.8x faster on CPU here; numerics at float-rounding level

    def train_config(self, epochs: int, seed: int) -> Any:
        from nas.train import TrainConfig

        return TrainConfig(
            epochs=epochs, batch_size=self.batch_size, optimizer=self.optimizer, lr=self.lr,
            weight_decay=self.weight_decay, schedule=self.schedule, warmup_fraction=self.warmup_fraction,
            label_smoothing=self.label_smoothing, bn_recalibration_batches=self.bn_recalibration_batches,
            seed=seed, num_threads=self.threads, device="cpu",
        )

    def recipe(self) -> dict[str, Any]:
        """The TrainConfig as a dict without epochs, seed, threads and device (they are not the recipe)."""
        cfg = dataclasses.asdict(self.train_config(1, 0))
        for k in ("epochs", "seed", "num_threads", "device"):
            cfg.pop(k)
        return cfg

    def data_id(self) -> dict[str, Any]:
        """The data part of a cache key: dataset identity, requested sizes and resolution."""
        from nas.data import parse_spec

        spec = parse_spec(self.data)
        if spec.kind in ("fashion-mnist", "mnist", "cifar10", "cifar100"):
            name = spec.kind  # a named dataset is the same wherever its files are
        elif spec.kind == "synthetic":
            name = "synthetic" + "".join(f",{k}={v}" for k, v in sorted(spec.options.items()))
        else:
            name = f"{spec.kind}:{spec.path}"
        return {
            "data": name,
            "train_size": self.train_size if self.train_size is not None else _FULL,
            "test_size": self.test_size if self.test_size is not None else _FULL,
            "resolution": self.resolution if self.resolution is not None else _NATIVE,
            "subset_seed": _SUBSET_SEED,
        }
