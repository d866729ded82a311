"""What fixes a training of :mod:`nas.validation` apart from its epochs and seed: :class:`Setup` (the data,
and the recipe as one :class:`nas.train.config.TrainConfig`)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from nas.train.config import TrainConfig

__all__ = ["SUBSET_SEED", "Setup"]

_FULL = "all"
_NATIVE = "native"
#: The train/test subsets (if any) are fixed; the training seed only changes initialisation and data order.
SUBSET_SEED = 0


@dataclass(frozen=True)
class Setup:
    """What fixes a training apart from its epochs and seed: the data and the recipe.

    ``train_size``/``test_size`` None mean the whole split, ``resolution`` None the dataset's native
    side. ``training`` is the recipe (:meth:`TrainConfig.recipe`, lr and weight decay resolved, is what the
    cache records) and its ``num_threads`` the intra-op threads of training and proxy scoring; its epochs
    and seed are set per training, and the trainings run on ``device`` whatever its own ``device``.
    ``channels_last``: train with NHWC weights (~1.8x faster on CPU here; numerics at float-rounding level).
    ``device`` ('cpu', 'cuda', 'cuda:N', 'auto') and ``cuda_graphs`` only change where and how fast a training
    runs, not its cache key (a training's record names the device); mixed precision is
    ``training.precision``, part of the recipe.
    """

    data: str = "fashion-mnist"
    train_size: int | None = None
    test_size: int | None = None
    resolution: int | None = None
    training: TrainConfig = field(default_factory=TrainConfig)
    channels_last: bool = True
    device: str = "cpu"
    cuda_graphs: bool = False

    def __post_init__(self) -> None:
        from nas.device import check_device_name

        object.__setattr__(self, "device", check_device_name(self.device))

    @property
    def threads(self) -> int | None:
        """Intra-op threads of training and proxy scoring (None: torch's default)."""
        return self.training.num_threads

    def train_config(self, epochs: int, seed: int) -> TrainConfig:
        """The recipe for one training of ``epochs`` epochs with training seed ``seed``, on :attr:`device`."""
        return dataclasses.replace(self.training, epochs=epochs, seed=seed, device=self.device,
                                   cuda_graphs=self.cuda_graphs)

    def recipe(self) -> dict[str, Any]:
        """The recipe part of a cache key: :meth:`TrainConfig.recipe` (no epochs, seed, threads or device)."""
        return self.training.recipe()

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
            "subset_seed": SUBSET_SEED,
        }

    def load_data(self) -> Any:
        """The :class:`nas.data.DatasetSplits` of this setup (subsets drawn with :data:`SUBSET_SEED`)."""
        from nas.data import load_dataset

        return load_dataset(self.data, resolution=self.resolution, train_size=self.train_size,
                            test_size=self.test_size, seed=SUBSET_SEED)

    def to_dict(self) -> dict[str, Any]:
        """A flat description for reports: the data settings, the recipe, threads, memory layout and device."""
        return {"data": self.data, "train_size": self.train_size, "test_size": self.test_size,
                "resolution": self.resolution, **self.recipe(), "threads": self.threads,
                "channels_last": self.channels_last, "device": self.device}
