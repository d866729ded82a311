"""Size baselines that every zero-cost proxy should beat: trainable parameters and MACs.

Both are widely reported to correlate with accuracy as well as many zero-cost proxies do (White et al.,
"A Deeper Look at Zero-Cost Proxies for Lightweight NAS", ICLR Blog Track 2022; Ning et al.,
"Evaluating Efficient Performance Estimators of Neural Architectures", NeurIPS 2021).
"""
from __future__ import annotations

import warnings

from torch import Tensor, nn

from nas.proxies.base import Proxy, model_input, working_copy

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
    """Multiply-accumulates of one image (``batch[:1]``), counted by fvcore's ``FlopCountAnalysis``
    with the model copy in eval mode. fvcore's "flops" are MACs: one per conv or linear weight use,
    plus BatchNorm's per-element work. Element-wise ops (activations, additions) are not counted.
    Labels are not used. **Sign:** higher is better; the baseline assumption is that more compute
    means a more accurate model."""

    name = "macs"
    uses_output = False

    def _score(self, model: nn.Module, batch: Tensor, targets: Tensor | None) -> float:
        with warnings.catch_warnings():  # fvcore's import jit-scripts functions; torch deprecates jit.script
            warnings.simplefilter("ignore", DeprecationWarning)
            from fvcore.nn import FlopCountAnalysis  # imported here: fvcore is slow to import

        net = working_copy(model, bn="eval")
        analysis = (FlopCountAnalysis(net, model_input(net, batch[:1]))
                    .unsupported_ops_warnings(False)
                    .uncalled_modules_warnings(False))
        return float(analysis.total())
