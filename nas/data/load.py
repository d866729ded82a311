"""The entry point: a spec string in, normalised in-memory train/test tensors out."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from nas.data.cifar import load_cifar
from nas.data.folder import load_folder
from nas.data.idx import load_idx
from nas.data.raw import RawDataset
from nas.data.spec import FASHION_MNIST_CLASSES, SPEC_FORMS, DataError, install_hint, parse_spec
from nas.data.splits import FIXED_STREAM, DatasetSplits, normalize_, stratified_indices
from nas.data.synthetic import SYNTHETIC_DEFAULTS, make_synthetic

__all__ = ["FILE_PEAK", "MEMORY_SHARE", "SYNTHETIC_PEAK", "check_memory", "load_dataset", "load_raw"]

#: The largest share of the available memory (:func:`nas.machine.available_memory`) the images may take: the
#: model, its activations and the optimizer need the rest.
MEMORY_SHARE = 0.8
#: The most memory loading takes, as a multiple of the float32 images it returns: measured (``getrusage``
#: peak) 1.3× for Fashion-MNIST IDX files resized (the decoded bytes and a resize chunk beside the output),
#: 3.1× for synthetic images (a split's prototypes, gratings and noise are drawn whole before they are summed).
FILE_PEAK, SYNTHETIC_PEAK = 1.5, 3.5


def _size(n: float) -> str:
    if n >= 2**40:
        return f"{n / 2**40:.3g} TiB"
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def check_memory(kind: str, images: int, channels: int, resolution: int, peak: float = 1.0, extra: int = 0) -> None:
    """Refuse, before allocating, a dataset whose loading needs more than :data:`MEMORY_SHARE` of the available
    memory: ``peak`` × its float32 tensors (``images × channels × resolution²`` × 4 bytes), plus ``extra`` such
    images held while it loads (synthetic data's per-class prototypes). A typo
    (``--resolution 2240``) is then a one-line :class:`DataError` rather than minutes of swapping and an
    out-of-memory kill."""
    from nas.machine import available_memory

    need, free = (peak * images + extra) * channels * resolution * resolution * 4, available_memory()
    if free is not None and need > MEMORY_SHARE * free:
        raise DataError(f"{kind}: {images} images of {channels}×{resolution}×{resolution} need {_size(need)} "
                        f"while loading, more than {MEMORY_SHARE:.0%} of the {_size(free)} available; "
                        "lower the resolution or the train/test sizes")


def load_dataset(
    spec: str,
    *,
    resolution: int | None = None,
    train_size: int | None = None,
    test_size: int | None = None,
    seed: int = 0,
) -> DatasetSplits:
    """Load the dataset named by ``spec`` as normalised in-memory tensors.

    ``resolution`` is the side in pixels of the square output images (default: native,
    e.g. 28 for Fashion-MNIST, 32 for CIFAR); ``train_size``/``test_size`` pick a
    stratified subset of that many images (default: all; synthetic: 512/256). The train
    subset depends on ``seed``, the test subset does not.
    """
    parsed = parse_spec(spec)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DataError(f"{parsed.kind}: seed must be a non-negative integer, got {seed!r}")
    for label, value in (("resolution", resolution), ("train_size", train_size), ("test_size", test_size)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise DataError(f"{parsed.kind}: {label} must be a positive integer, got {value!r}")
    if parsed.kind == "synthetic":
        opts = {**SYNTHETIC_DEFAULTS, **parsed.options}
        check_memory(parsed.kind, (train_size or opts["train"]) + (test_size or opts["test"]), opts["channels"],
                     resolution or opts["resolution"], peak=SYNTHETIC_PEAK, extra=opts["classes"])  # + prototypes
        return make_synthetic(
            num_classes=opts["classes"],
            in_channels=opts["channels"],
            resolution=resolution or opts["resolution"],
            train_size=train_size or opts["train"],
            test_size=test_size or opts["test"],
            seed=seed,
        )
    assert parsed.path is not None
    raw = load_raw(parsed.kind, parsed.path)
    train_idx = _subset(parsed.kind, "train", raw.train.labels, train_size, np.random.default_rng([seed, 0]))
    test_idx = _subset(parsed.kind, "test", raw.test.labels, test_size, np.random.default_rng([FIXED_STREAM, 1]))
    native, channels = raw.describe(train_idx, test_idx)
    res = resolution or native
    check_memory(parsed.kind, len(train_idx) + len(test_idx), channels, res, peak=FILE_PEAK)
    x_train = raw.train.fetch(train_idx, res, channels)
    x_test = raw.test.fetch(test_idx, res, channels)
    mean, std = normalize_(x_train, x_test)
    return DatasetSplits(
        name=parsed.kind,
        train=TensorDataset(x_train, torch.from_numpy(raw.train.labels[train_idx].astype(np.int64))),
        test=TensorDataset(x_test, torch.from_numpy(raw.test.labels[test_idx].astype(np.int64))),
        num_classes=raw.num_classes,
        in_channels=int(x_train.shape[1]),
        resolution=res,
        mean=mean,
        std=std,
        class_names=raw.class_names,
        source=str(parsed.path),
    )


def load_raw(kind: str, path: Path) -> RawDataset:
    """Read the files of a dataset ``kind`` (a :class:`~nas.data.spec.DataSpec` kind other than synthetic)."""
    if kind == "fashion-mnist":
        return load_idx(path, name=kind, num_classes=10, class_names=FASHION_MNIST_CLASSES, hint=install_hint(path))
    if kind == "mnist":
        return load_idx(path, name=kind, num_classes=10, class_names=tuple(str(i) for i in range(10)))
    if kind == "idx":
        return load_idx(path, name=kind, num_classes=None, class_names=())
    if kind in ("cifar10", "cifar100"):
        return load_cifar(path, name=kind)
    if kind == "folder":
        return load_folder(path)
    raise DataError(f"unknown dataset kind {kind!r}; expected one of: {SPEC_FORMS}")


def _subset(name: str, split: str, labels: np.ndarray, n: int | None, rng: np.random.Generator) -> np.ndarray:
    if n is None:
        return np.arange(len(labels))
    if n > len(labels):
        raise DataError(f"{name}: {split}_size {n} exceeds the {len(labels)} {split} images available")
    return stratified_indices(labels, n, rng)
