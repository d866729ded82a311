"""IDX files (the MNIST / Fashion-MNIST format), gzipped or not."""
from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from nas.data.raw import RawDataset, RawSplit, uint8_fetch
from nas.data.spec import DataError
from nas.errors import one_line

__all__ = ["load_idx", "read_idx"]

_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or one_line(exc)}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt or truncated gzip data ({one_line(exc)})") from None
    return data


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzipped or not) into an array of its declared dtype and shape.

    The header is ``0x00 0x00 <dtype code> <ndim>`` then ``ndim`` big-endian uint32 sizes;
    the payload must be exactly ``prod(sizes) * itemsize`` bytes.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: not an IDX file (only {len(raw)} bytes)")
    code, ndim = raw[2], raw[3]
    if raw[:2] != b"\x00\x00" or code not in _IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{path}: bad IDX magic number 0x{raw[:4].hex()} (expected 0x0000 then a dtype code "
            f"such as 08 for unsigned bytes, then the number of dimensions)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} bytes, need {header})")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: IDX size mismatch: header declares shape {tuple(dims)} = {expected} data bytes "
            f"but the file holds {len(raw) - header}"
        )
    array = np.frombuffer(raw, dtype=dtype, count=math.prod(dims), offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _idx_file(directory: Path, split: str, kind: str, name: str, hint: str) -> Path:
    """Find one IDX file in ``directory`` (or a torchvision-style ``[MNIST|FashionMNIST/]raw``)."""
    rank = "idx3" if kind == "images" else "idx1"
    candidates = [
        f"{split}-{kind}-{rank}-ubyte.gz",
        f"{split}-{kind}-{rank}-ubyte",
        f"{split}-{kind}.{rank}-ubyte",
        f"{split}-{kind}.{rank}-ubyte.gz",
    ]
    for folder in (directory, directory / "raw", directory / "FashionMNIST" / "raw", directory / "MNIST" / "raw"):
        for candidate in candidates:
            if (folder / candidate).is_file():
                return folder / candidate
    raise DataError(f"{name}: expected {candidates[0]} in {directory}{hint}")


def _read_split(directory: Path, split: str, name: str, hint: str) -> tuple[np.ndarray, np.ndarray]:
    """One split's images (uint8 N×C×H×W) and labels (int64 N), checked against each other."""
    img_path = _idx_file(directory, split, "images", name, hint)
    lbl_path = _idx_file(directory, split, "labels", name, hint)
    images, labels = read_idx(img_path), read_idx(lbl_path)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise DataError(f"{img_path}: expected unsigned-byte images N×H×W[×C], got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(f"{lbl_path}: expected a 1-D integer label vector, got {labels.dtype} {labels.shape}")
    if len(labels) != len(images):
        raise DataError(
            f"{name}: {lbl_path.name} has {len(labels)} labels but {img_path.name} has {len(images)} images"
        )
    if len(labels) == 0:
        raise DataError(f"{img_path}: holds no images")
    images = images[:, None] if images.ndim == 3 else np.moveaxis(images, -1, 1)
    return images, labels.astype(np.int64)


def load_idx(
    directory: Path, *, name: str, num_classes: int | None, class_names: tuple[str, ...], hint: str = ""
) -> RawDataset:
    """Read ``train-*`` and ``t10k-*`` images/labels from ``directory`` (any of the usual file names).

    ``num_classes=None`` takes the largest label + 1; ``class_names=()`` names classes by
    their index; ``hint`` is appended to the "expected FILE in DIR" error. Raises DataError.
    """
    splits = {split: _read_split(directory, split, name, hint) for split in ("train", "t10k")}
    top = int(max(splits["train"][1].max(), splits["t10k"][1].max()))
    low = int(min(splits["train"][1].min(), splits["t10k"][1].min()))
    n_classes = num_classes if num_classes is not None else top + 1
    if low < 0 or top >= n_classes:
        raise DataError(f"{name}: labels in {directory} span {low}..{top}, expected 0..{n_classes - 1}")
    if splits["train"][0].shape[1:] != splits["t10k"][0].shape[1:]:
        raise DataError(f"{name}: train and t10k images differ in shape in {directory}")
    _, channels, height, width = splits["train"][0].shape
    return RawDataset(
        train=RawSplit(splits["train"][1], uint8_fetch(splits["train"][0])),
        test=RawSplit(splits["t10k"][1], uint8_fetch(splits["t10k"][0])),
        num_classes=n_classes,
        class_names=class_names or tuple(str(i) for i in range(n_classes)),
        describe=lambda _a, _b: (max(height, width), channels),
    )
