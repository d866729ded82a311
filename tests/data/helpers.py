"""Helpers shared by the nas.data tests: tiny IDX files in the real on-disk format, and checks."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file: 0x0000, dtype code, ndim, big-endian uint32 dims, big-endian payload."""
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    return header + array.astype(dtype).tobytes()


def write_idx(path: Path, array: np.ndarray, code: int = 0x08) -> Path:
    """Write ``array`` as an IDX file at ``path``, gzipped when the name ends in ``.gz``."""
    raw = idx_bytes(array, code)
    path.write_bytes(gzip.compress(raw) if path.name.endswith(".gz") else raw)
    return path


def make_idx_dir(root: Path, *, gz: bool = True, n_train: int = 12, n_test: int = 6, classes: int = 3, side: int = 8):
    """Write train/t10k IDX images and labels (label ``i % classes``) into ``root``; return the arrays by split."""
    rng = np.random.default_rng(1)
    root.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    out = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)
        labels = (np.arange(n) % classes).astype(np.uint8)
        write_idx(root / f"{split}-images-idx3-ubyte{ext}", images)
        write_idx(root / f"{split}-labels-idx1-ubyte{ext}", labels)
        out[split] = (images, labels)
    return out


def denormalize(x: torch.Tensor, splits) -> torch.Tensor:
    """Undo the per-channel normalisation of ``splits`` on N×C×H×W ``x``."""
    mean = torch.tensor(splits.mean).view(1, -1, 1, 1)
    std = torch.tensor(splits.std).view(1, -1, 1, 1)
    return x * std + mean


def one_line_error(excinfo: pytest.ExceptionInfo) -> str:
    """Assert the raised error's message is one non-empty line without outer spaces; return it."""
    message = str(excinfo.value)
    assert "\n" not in message and message.strip() == message and message
    return message
