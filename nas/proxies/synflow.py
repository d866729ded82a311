"""SynFlow: synaptic flow of the linearised network; a data-free proxy.

Tanaka et al., "Pruning neural networks without any data by iteratively conserving synaptic flow",
NeurIPS 2020. Used as a NAS proxy by Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS",
ICLR 2021 (reference code: SamsungLabs/zero-cost-nas, measure ``synflow``).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from nas.proxies.base import Proxy, ProxyError, check_finite, forward_logits, prunable_layers, \
    replace_modules, working_copy

__all__ = ["SynFlow"]


class SynFlow(Proxy):
    """``log(synflow)``. Here ``synflow = Σ_layers Σ |θ ⊙ ∂L/∂θ|`` over the conv and linear weights, where
    ``L = Σ f(1; |θ|)`` is the summed output of the network for an all-ones input of shape
    ``[1, C, H, W]`` (C, H, W from the batch), with every parameter replaced by its absolute value.
    Labels are not used and the images only set the shape. **Sign:** higher is better (more flow).

    How it is computed, and why:

    * **float64.** The copy is converted to float64, as in the reference.
    * **BatchNorm removed** (each BN is replaced by an identity), as in the reference ``synflow``
      measure (``bn=False``). With train-mode BN, a single all-ones image would be normalised and the
      flow would vanish. With eval-mode BN, the running statistics of a trained model would leak into a
      score meant to depend on the architecture only.
    * **ReLU6 counted as ReLU** (a deliberate change from the reference, which only ever scored ReLU
      networks). With |θ| and an all-ones input every pre-activation is positive and large, so a ReLU6
      clips everywhere, and no gradient reaches any weight before the last ReLU6. The score of a ReLU6
      network would then measure only the classifier: for MobileNetV2 at 32 px it equals ``L`` exactly.
      SiLU and Hardswish are (close to) the identity on large positive inputs and are left as they are.
      Turn this off with ``SynFlow(relu6_as_relu=False)``.
    * **Log scale.** Synaptic flow grows multiplicatively with depth (EfficientNet-B0 at 32 px gives
      ~1e21), so the score is reported as ``log(synflow)``. It is ``logsumexp`` of the per-layer
      ``log Σ|θ ⊙ g|``, so the sum over layers cannot overflow, and the order is the same as for
      synflow. The forward pass itself runs in float64 (range up to 1.8e308, i.e. log ≈ 709.8): a
      20-block MBConv network at 32 px gives log ≈ 50–65, far from that limit. If the output still
      overflows, the result is a failure ("non-finite model output (inf)"), never a clipped value.
      Zero flow (all gradients blocked) gives log 0 = -inf and is also a failure.
    """

    name = "synflow"
    uses_output = True

    def __init__(self, relu6_as_relu: bool = True):
        self.relu6_as_relu = relu6_as_relu

    def _score(self, model: nn.Module, batch: Tensor, targets: Tensor | None) -> float:
        net = working_copy(model, bn="remove", dtype=torch.float64)
        if self.relu6_as_relu:
            replace_modules(net, nn.ReLU6, lambda old: nn.ReLU(inplace=old.inplace))
        with torch.no_grad():
            for p in net.parameters():
                p.abs_()
        first = next(net.parameters(), None)
        x = torch.ones((1, *batch.shape[1:]), dtype=torch.float64,
                       device=first.device if first is not None else batch.device)
        with torch.enable_grad():
            out = forward_logits(net, x)
            out.sum().backward()
        logs = []
        for _, layer in prunable_layers(net):
            g = layer.weight.grad
            if g is None:
                continue
            s = (layer.weight.detach() * g).abs().sum()
            check_finite(s, "synaptic flow")
            if s > 0:
                logs.append(torch.log(s))
        if not logs:
            raise ProxyError("non-finite value (-inf): zero synaptic flow (no weight gets a gradient)")
        value = torch.logsumexp(torch.stack(logs), 0).item()
        if not math.isfinite(value):  # pragma: no cover - each term is finite
            raise ProxyError(f"non-finite value ({value})")
        return value
