"""nas.data.raw: resizing images."""
from __future__ import annotations

import torch

from nas.data.raw import resize_images


def test_resize_antialiases_when_shrinking():
    noise = torch.randn(1, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    small = resize_images(noise, 8)
    assert small.shape == (1, 1, 8, 8)
    assert float(small.std()) < 0.2  # plain bilinear would keep ~0.5 of the unit std (2×2 taps)
    assert resize_images(noise, 64) is noise
    assert resize_images(noise, 96).shape == (1, 1, 96, 96)
