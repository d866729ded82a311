"""SNIP: connection sensitivity of the cross-entropy loss at initialisation.

Lee et al., "SNIP: Single-shot Network Pruning based on Connection Sensitivity", ICLR 2019. Used as a
NAS proxy by Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021 (reference code:
SamsungLabs/zero-cost-nas, measure ``snip``).
"""
from __future__ import annotations

from torch import Tensor, nn

from nas.proxies.base import Proxy, weight_gradient_sum

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
        return weight_gradient_sum(model, batch, targets, lambda weight, grad: (weight * grad).abs().sum())
