"""Seeded synthetic images: class-separable, no files needed (``synthetic[:classes=K,channels=C]``)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from nas.data.spec import DataError
from nas.data.splits import DatasetSplits, normalize_

__all__ = ["SYNTHETIC_DEFAULTS", "make_synthetic"]

#: What ``synthetic`` means without options or explicit sizes: classes, channels, resolution (px), train/test images.
SYNTHETIC_DEFAULTS = {"classes": 4, "channels": 3, "resolution": 16, "train": 512, "test": 256}


def make_synthetic(
    *,
    num_classes: int = 4,
    in_channels: int = 3,
    resolution: int = 16,
    train_size: int = 512,
    test_size: int = 256,
    noise: float = 0.5,
    seed: int = 0,
) -> DatasetSplits:
    """Seeded, class-separable images with balanced (round-robin) labels.

    Class ``k`` is a sinusoidal grating of orientation ``k·π/num_classes`` (period 4 px,
    random phase per image, amplitude 1), added to a smooth random per-class prototype
    (uniform [0, 1], 4×4 upsampled), plus Gaussian pixel noise of std ``noise``: a linear
    model can use the prototypes, a pooled CNN the translation-invariant gratings.
    """
    if num_classes < 2 or in_channels < 1 or resolution < 1 or train_size < 1 or test_size < 1:
        raise DataError("synthetic: need classes >= 2 and positive channels, resolution and sizes")
    gen = torch.Generator().manual_seed(int(seed))
    coarse = torch.rand((num_classes, in_channels, 4, 4), generator=gen)
    prototypes = F.interpolate(coarse, size=(resolution, resolution), mode="bilinear", align_corners=False)
    angles = torch.arange(num_classes, dtype=torch.float32) * (math.pi / num_classes)
    axis = torch.arange(resolution, dtype=torch.float32)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = (torch.arange(n) % num_classes)[torch.randperm(n, generator=gen)]
        phase = torch.rand((n, 1, 1), generator=gen) * (2 * math.pi)
        theta = angles[labels].view(n, 1, 1)
        grating = 1.0 * torch.sin((2 * math.pi / 4.0) * (xx * torch.cos(theta) + yy * torch.sin(theta)) + phase)
        images = prototypes[labels] + grating[:, None]
        images += noise * torch.randn((n, in_channels, resolution, resolution), generator=gen)
        return images, labels.to(torch.int64)

    x_train, y_train = draw(train_size)
    x_test, y_test = draw(test_size)
    mean, std = normalize_(x_train, x_test)
    return DatasetSplits(
        name="synthetic",
        train=TensorDataset(x_train, y_train),
        test=TensorDataset(x_test, y_test),
        num_classes=num_classes,
        in_channels=in_channels,
        resolution=resolution,
        mean=mean,
        std=std,
        class_names=tuple(f"class{i}" for i in range(num_classes)),
        source=f"synthetic(seed={seed})",
    )
