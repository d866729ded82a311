"""CIFAR-10 / CIFAR-100 as the python pickles of the official ``*-python.tar.gz``, extracted."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from nas.data.raw import RawDataset, RawSplit, uint8_fetch
from nas.data.spec import DataError
from nas.errors import one_line

__all__ = ["load_cifar"]


class _CifarUnpickler(pickle.Unpickler):
    """Unpickler that only builds numpy arrays, so a hostile pickle cannot run code."""

    _ALLOWED = {
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("numpy.core"):  # pickles written by numpy < 2
            module = "numpy._core" + module[len("numpy.core") :]
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _read_pickle(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            obj = _CifarUnpickler(fh, encoding="bytes").load()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or one_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a malformed file
        raise DataError(f"{path}: not a CIFAR python pickle ({one_line(exc)})") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def _cifar_batch(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    batch = _read_pickle(path)
    if "data" not in batch or label_key not in batch:
        raise DataError(f"{path}: expected keys b'data' and b'{label_key}', found {sorted(batch)}")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"{path}: expected b'data' as uint8 N×3072, got {data.dtype} {data.shape}")
    if labels.shape != (len(data),):
        raise DataError(f"{path}: {len(data)} images but {labels.size} labels")
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar(directory: Path, *, name: str) -> RawDataset:
    """Read CIFAR ``name`` ("cifar10" or "cifar100", fine labels) from ``directory``.

    Looks in ``directory`` or its ``cifar-10-batches-py`` / ``cifar-100-python`` sub-folder;
    class names come from the meta pickle where present. Raises DataError.
    """
    if name == "cifar10":
        train_files = [f"data_batch_{i}" for i in range(1, 6)]
        test_file, label_key, meta_file, names_key, subdir, n_classes = (
            "test_batch", "labels", "batches.meta", "label_names", "cifar-10-batches-py", 10,
        )
        expected = "data_batch_1..5 and test_batch"
    else:
        train_files = ["train"]
        test_file, label_key, meta_file, names_key, subdir, n_classes = (
            "test", "fine_labels", "meta", "fine_label_names", "cifar-100-python", 100,
        )
        expected = "train and test"
    if not (directory / train_files[0]).is_file() and (directory / subdir / train_files[0]).is_file():
        directory = directory / subdir
    for file in [*train_files, test_file]:
        if not (directory / file).is_file():
            raise DataError(f"{name}: expected {file} in {directory} (the python pickles {expected}, extracted)")
    parts = [_cifar_batch(directory / f, label_key) for f in train_files]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    x_test, y_test = _cifar_batch(directory / test_file, label_key)
    for labels, where in ((y_train, "train"), (y_test, "test")):
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            raise DataError(
                f"{name}: {where} labels in {directory} span {labels.min()}..{labels.max()}, "
                f"expected 0..{n_classes - 1}"
            )
    return RawDataset(
        train=RawSplit(y_train, uint8_fetch(x_train)),
        test=RawSplit(y_test, uint8_fetch(x_test)),
        num_classes=n_classes,
        class_names=_class_names(directory / meta_file, names_key, n_classes),
        describe=lambda _a, _b: (32, 3),
    )


def _class_names(meta_path: Path, names_key: str, n_classes: int) -> tuple[str, ...]:
    """The class names in the meta pickle, if it exists and lists ``n_classes``; else "0", "1", ..."""
    class_names = tuple(str(i) for i in range(n_classes))
    if meta_path.is_file():
        meta = _read_pickle(meta_path).get(names_key)
        if isinstance(meta, list) and len(meta) == n_classes:
            class_names = tuple(m.decode() if isinstance(m, bytes) else str(m) for m in meta)
    return class_names
