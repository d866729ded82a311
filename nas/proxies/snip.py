"""SNIP: connection sensitivity of the cross-entropy loss at initialisation.

Lee et al., "SNIP: Single-shot Network Pruning based on Connection Sensitivity", ICLR 2019. Used as a
NAS proxy by Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021 (reference code:
SamsungLabs/zero-cost-nas, measure ``snip``).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from nas.proxies.base import Proxy, ce_backward, prunable_layers, working_copy

__all__ = ["Snip"]


class Snip(Proxy):
    """``Σ_layers Σ |θ ⊙ ∂L/∂θ|`` over the conv and linear weights, where ``L`` is the mean cross-entropy
    of the whole batch against ``targets``. BatchNorm uses batch statistics. The sum is taken in
    float64. **Sign:** higher is better (more loss-sensitive connections).

    The reference multiplies each weight by a mask of ones and takes ``|∂L/∂mask|``. That is the same
    number as ``|θ ⊙ ∂L/∂θ|``, computed here without changing the model.
    """

    name = "snip"
    uses_output = True

    def _score(self, model: nn.Module, batch: Tensor, targets: Tensor | None) -> float:
        net = working_copy(model, bn="train")
        ce_backward(net, batch, targets)
        total = torch.zeros((), dtype=torch.float64)
        for _, layer in prunable_layers(net):
            if layer.weight.grad is not None:
                total += (layer.weight.detach() * layer.weight.grad).abs().sum().double().cpu()
        return total.item()
