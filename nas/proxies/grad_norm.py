"""Gradient norm of the cross-entropy loss at initialisation.

Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021 (reference code:
SamsungLabs/zero-cost-nas, measure ``grad_norm``).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from nas.proxies.base import Proxy, weight_gradient_sum

__all__ = ["GradNorm"]


class GradNorm(Proxy):
    """``Σ_layers ‖∂L/∂W_layer‖₂`` over the conv and linear weights, where ``L`` is the mean
    cross-entropy of the whole batch against ``targets``. It is the sum of the per-layer L2 norms, as
    in the reference, not the global norm ``sqrt(Σ‖g‖²)``. BatchNorm uses batch statistics. The
    per-layer norms are taken in float64. **Sign:** higher is better, as in the reference (larger
    gradients at initialisation go with better trainability).
    """

    name = "grad_norm"
    uses_output = True

    def _score(self, model: nn.Module, batch: Tensor, targets: Tensor | None) -> float:
        return weight_gradient_sum(model, batch, targets, lambda weight, grad: torch.linalg.vector_norm(grad.double()))
