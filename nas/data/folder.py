"""Image folders: one sub-folder per class, optionally under ``train`` and ``test`` (or ``val``).

Class indices follow the sorted sub-folder names. A flat folder (no train/test pair) has
about 20 % of each class held out as the test split, chosen independently of any seed.
Images are decoded with Pillow only when fetched.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nas.data.raw import Fetch, RawDataset, RawSplit
from nas.data.spec import IMAGE_EXTENSIONS, DataError
from nas.errors import one_line
from nas.data.splits import FIXED_STREAM

__all__ = ["load_folder"]

_FOLDER_TEST_FRACTION = 0.2
_GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})

_Item = tuple[Path, int]  # (image file, class index)


def _class_files(root: Path) -> dict[str, list[Path]]:
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    found: dict[str, list[Path]] = {}
    for cls in classes:
        files = sorted(
            p for p in cls.rglob("*")
            if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() and not p.name.startswith(".")
        )
        if not files:
            raise DataError(f"folder: class directory {cls} has no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        found[cls.name] = files
    return found


def _items(root: Path) -> tuple[list[str], list[_Item], list[_Item]]:
    """Class names plus the train and test (image, class index) lists under ``root``."""
    test_dir = next((root / n for n in ("test", "val") if (root / n).is_dir()), None)
    if (root / "train").is_dir() and test_dir is not None:
        train_map, test_map = _class_files(root / "train"), _class_files(test_dir)
        names = sorted(train_map)
        unknown = sorted(set(test_map) - set(train_map))
        if unknown:
            raise DataError(f"folder: {test_dir} has classes missing from {root / 'train'}: {', '.join(unknown[:5])}")
        index = {n: i for i, n in enumerate(names)}
        train_items = [(p, index[n]) for n in names for p in train_map[n]]
        test_items = [(p, index[n]) for n in sorted(test_map) for p in test_map[n]]
    else:
        class_map = _class_files(root)
        names = sorted(class_map)
        items = [(p, i) for i, n in enumerate(names) for p in class_map[n]]
        train_items, test_items = _split_items(items, np.random.default_rng([FIXED_STREAM, 2]))
    return names, train_items, test_items


def load_folder(root: Path) -> RawDataset:
    """Index the image folder at ``root`` (see module docstring); raise DataError if unusable.

    The native resolution is the smallest shorter side among the selected images; the
    channel count is 1 when they are all grey-scale, else 3.
    """
    if not root.is_dir():
        raise DataError(f"folder: expected a directory with one sub-folder per class at {root}")
    names, train_items, test_items = _items(root)
    if len(names) < 2:
        raise DataError(f"folder: expected at least 2 class sub-folders in {root}, found {len(names)}")
    if not train_items or not test_items:
        raise DataError(f"folder: too few images in {root} to hold out a test split")
    train_paths = [p for p, _ in train_items]
    test_paths = [p for p, _ in test_items]

    def describe(train_idx: np.ndarray, test_idx: np.ndarray) -> tuple[int, int]:
        modes, sides = set(), []
        for path in [train_paths[i] for i in train_idx] + [test_paths[i] for i in test_idx]:
            with _open_image(path) as img:  # header only; pixels are decoded by fetch
                modes.add(img.mode)
                sides.append(min(img.size))
        return min(sides), (1 if modes <= _GRAY_MODES else 3)

    return RawDataset(
        train=RawSplit(np.array([y for _, y in train_items], dtype=np.int64), _paths_fetch(train_paths)),
        test=RawSplit(np.array([y for _, y in test_items], dtype=np.int64), _paths_fetch(test_paths)),
        num_classes=len(names),
        class_names=tuple(names),
        describe=describe,
    )


def _paths_fetch(paths: list[Path]) -> Fetch:
    """Fetcher that decodes the image files ``paths[idx]`` one by one."""

    def fetch(idx: np.ndarray, resolution: int, channels: int) -> torch.Tensor:
        out = torch.empty((len(idx), channels, resolution, resolution), dtype=torch.float32)
        for row, i in enumerate(idx):
            out[row] = _decode(paths[int(i)], channels, resolution)
        return out

    return fetch


def _split_items(items: list[_Item], rng: np.random.Generator) -> tuple[list[_Item], list[_Item]]:
    """Hold out ~20 % of each class (at least one image where a class has two or more)."""
    labels = np.array([y for _, y in items])
    test = np.zeros(len(items), dtype=bool)
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        k = max(1, round(_FOLDER_TEST_FRACTION * len(members))) if len(members) >= 2 else 0
        test[rng.choice(members, size=k, replace=False)] = True
    return [it for it, t in zip(items, test) if not t], [it for it, t in zip(items, test) if t]


def _open_image(path: Path) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        return Image.open(path)
    except (OSError, UnidentifiedImageError) as exc:
        raise DataError(f"folder: cannot read image {path} ({one_line(exc)})") from None


def _decode(path: Path, channels: int, resolution: int) -> torch.Tensor:
    """Decode one image to C×R×R float [0, 1]: shorter side resized to R, then centre-cropped."""
    with _open_image(path) as img:
        try:
            img = img.convert("L" if channels == 1 else "RGB")
        except OSError as exc:
            raise DataError(f"folder: cannot decode image {path} ({one_line(exc)})") from None
        array = np.asarray(img, dtype=np.uint8)
    tensor = torch.from_numpy(array.copy()).float().div_(255.0)
    tensor = tensor[None] if tensor.ndim == 2 else tensor.permute(2, 0, 1)
    h, w = tensor.shape[1:]
    scale = resolution / min(h, w)
    new_h, new_w = max(resolution, round(h * scale)), max(resolution, round(w * scale))
    if (new_h, new_w) != (h, w):
        tensor = F.interpolate(
            tensor[None], size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=scale < 1
        )[0]
    top, left = (new_h - resolution) // 2, (new_w - resolution) // 2
    return tensor[:, top : top + resolution, left : left + resolution]
