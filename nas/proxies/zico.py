"""ZiCo: the ratio of mean to standard deviation of the gradients across mini-batches.

Li et al., "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients", ICLR 2023
(reference code: SLDGroup/ZiCo).
"""
from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor, nn

from nas.proxies.base import Proxy, ProxyError, ce_backward, prunable_layers, working_copy

__all__ = ["ZiCo", "split_gradients", "zico_from_gradients"]


def split_gradients(model: nn.Module, batch: Tensor, targets: Tensor, splits: int = 2) -> dict[str, Tensor]:
    """The cross-entropy gradient of every conv and linear weight of ``model``, once per mini-batch:
    ``{layer name: Tensor[splits, numel]}`` (float64).

    The batch is cut into ``splits`` contiguous parts, sample ``sp*N//splits`` up to
    ``(sp+1)*N//splits`` as in the reference. The gradients are **zeroed before each mini-batch**, so
    row ``i`` is the gradient of mini-batch ``i`` alone. The reference code never zeroes them, so its
    row ``i`` holds the sum over mini-batches ``0..i``. ``model`` is used as given; its ``.grad``
    fields are changed."""
    n = batch.shape[0]
    if splits < 2:
        raise ValueError(f"ZiCo needs at least 2 mini-batches, got splits={splits}")
    if n < splits:
        raise ProxyError(f"needs at least {splits} images to make {splits} mini-batches, got {n}")
    layers = list(prunable_layers(model))
    rows: dict[str, list[Tensor]] = {name: [] for name, _ in layers}
    for sp in range(splits):
        st, en = sp * n // splits, (sp + 1) * n // splits
        model.zero_grad(set_to_none=True)
        ce_backward(model, batch[st:en], targets[st:en])
        for name, layer in layers:
            g = layer.weight.grad
            g = torch.zeros_like(layer.weight) if g is None else g
            rows[name].append(g.detach().reshape(-1).double().cpu())
    model.zero_grad(set_to_none=True)
    return {name: torch.stack(r) for name, r in rows.items()}


def zico_from_gradients(grads: Mapping[str, Tensor]) -> float:
    """``Σ_layers log(Σ_θ mean|g_θ| / std(g_θ))`` from ``{layer: Tensor[mini-batches, numel]}``.

    As in the reference: ``std`` is the population standard deviation (ddof 0) across mini-batches;
    weights whose gradient std is exactly 0 are left out of the inner sum; a layer whose inner sum is
    0 is left out. NaN gradients propagate into a NaN score."""
    total = 0.0
    for g in grads.values():
        g = g.double()
        std = g.std(dim=0, correction=0)
        mean_abs = g.abs().mean(dim=0)
        keep = std != 0  # NaN != 0 is True: NaN gradients reach the sum and poison it
        s = (mean_abs[keep] / std[keep]).sum().item()
        if s == 0:
            continue
        total += math.log(s) if s > 0 else math.nan
    return total


class ZiCo(Proxy):
    """ZiCo over ``splits`` (default 2) mini-batches cut from the batch: for each conv and linear weight,
    the inverse coefficient of variation ``mean|g| / std(g)`` of its cross-entropy gradient across the
    mini-batches, summed within each layer, logged, and summed over layers (see
    :func:`zico_from_gradients`). BatchNorm uses the statistics of each mini-batch. **Sign:** higher
    is better (large, consistent gradients).

    **Change from the reference:** the gradients are zeroed between mini-batches (see
    :func:`split_gradients`). The reference accumulates them, so what it measures is the variation
    of running sums, not of per-batch gradients.
    """

    name = "zico"
    uses_output = True

    def __init__(self, splits: int = 2):
        if splits < 2:
            raise ValueError(f"ZiCo needs at least 2 mini-batches, got splits={splits}")
        self.splits = splits

    def _score(self, model: nn.Module, batch: Tensor, targets: Tensor | None) -> float:
        if targets is None:
            raise ProxyError("needs class targets for the cross-entropy loss")
        net = working_copy(model, bn="train")
        return zico_from_gradients(split_gradients(net, batch, targets, self.splits))
