"""What the file readers return before subsetting and normalisation, and the image resize they share.

A reader (:mod:`nas.data.idx`, :mod:`nas.data.cifar`, :mod:`nas.data.folder`) returns a
:class:`RawDataset`: the labels of both splits up front plus, per split, a :data:`Fetch`
that decodes only the images asked for, so a small subset of a large dataset costs little.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["Fetch", "RawDataset", "RawSplit", "resize_images", "uint8_fetch"]

#: ``fetch(idx, R, C)``: the images at indices ``idx`` (1-D int array) as float32 in [0, 1], shape N×C×R×R.
Fetch = Callable[[np.ndarray, int, int], torch.Tensor]

_RESIZE_CHUNK = 2048  # images resized per interpolate call, bounds peak memory


@dataclass
class RawSplit:
    """Labels of one split (int array, one per image) plus the :data:`Fetch` for its images."""

    labels: np.ndarray
    fetch: Fetch


@dataclass
class RawDataset:
    """Both splits of a dataset as read from disk, not yet subset or normalised.

    ``describe(train_idx, test_idx)`` gives ``(R, C)``: the native square side in pixels and
    the channel count of the selected images (an image folder looks at their headers).
    """

    train: RawSplit
    test: RawSplit
    num_classes: int
    class_names: tuple[str, ...]
    describe: Callable[[np.ndarray, np.ndarray], tuple[int, int]]  # (train_idx, test_idx) -> (R, C)


def resize_images(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """Resize N×C×H×W float images to N×C×R×R (bilinear; antialiased when shrinking)."""
    n, _, h, w = images.shape
    if (h, w) == (resolution, resolution):
        return images
    shrink = resolution < max(h, w)
    out = torch.empty((n, images.shape[1], resolution, resolution), dtype=images.dtype)
    for start in range(0, n, _RESIZE_CHUNK):
        chunk = images[start : start + _RESIZE_CHUNK]
        out[start : start + len(chunk)] = F.interpolate(
            chunk, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=shrink
        )
    return out


def uint8_fetch(images: np.ndarray) -> Fetch:
    """Fetcher over an in-memory uint8 N×C×H×W array (its channel count is fixed, the C asked for is ignored)."""

    def fetch(idx: np.ndarray, resolution: int, _channels: int) -> torch.Tensor:
        chosen = torch.from_numpy(np.ascontiguousarray(images[idx])).float().div_(255.0)
        return resize_images(chosen, resolution)

    return fetch
