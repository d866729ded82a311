"""Size baselines that every zero-cost proxy should beat: trainable parameters and MACs.

Both are widely reported to correlate with accuracy as well as many zero-cost proxies do (White et al.,
"A Deeper Look at Zero-Cost Proxies for Lightweight NAS", ICLR Blog Track 2022; Ning et al.,
"Evaluating Efficient Performance Estimators of Neural Architectures", NeurIPS 2021).
"""
from __future__ import annotations

from torch import Tensor, nn

from nas.model.cost import count_macs
from nas.proxies.base import Proxy, working_copy

__all__ = ["MACs", "Params"]


class Params(Proxy):
    """The number of trainable parameters (``requires_grad=True``). A parameter shared between modules is
    counted once. Batch and labels are not used. **Sign:** higher is better; the baseline assumption
    is that a bigger model is a more accurate one."""

    name = "params"
    uses_output = False

    def _score(self, model: nn.Module, batch: Tensor, targets: Tensor | None) -> float:
        return float(sum(p.numel() for p in model.parameters() if p.requires_grad))


class MACs(Proxy):
    """Multiply-accumulates of one image of the batch's shape, counted by :func:`nas.model.cost.count_macs`
    (fvcore, the one MAC count of the package) with the model copy in eval mode. Labels are not used. **Sign:** higher is better; the baseline assumption is that more compute
    means a more accurate model."""

    name = "macs"
    uses_output = False

    def _score(self, model: nn.Module, batch: Tensor, targets: Tensor | None) -> float:
        net = working_copy(model, bn="eval")
        return float(count_macs(net, resolution=batch.shape[-1], in_channels=batch.shape[1]))
