"""Static costs of a network: parameters, multiply-accumulates (MACs) and peak activation memory.

MACs come from fvcore's ``FlopCountAnalysis``, whose "flops" are in fact multiply-accumulates (one per
conv/linear weight use, plus BatchNorm's per-element work in eval mode); we call them MACs. fvcore counts
torchvision's ``adaptive_avg_pool2d`` as one per input element but leaves ``Tensor.mean`` (``aten::mean``,
our global pool and SE squeeze) out; we count it the same way, so efficientnet_b0, mobilenet_v2 and
mobilenet_v3 equal torchvision's counts to the unit (efficientnet_b0 401,659,392, mobilenet_v3_small
59,649,536 at 224 px). torchvision's MNASNet and ShuffleNetV2 pool with ``x.mean([2, 3])`` themselves, so
fvcore's count of those leaves their global pool out and ours is higher by exactly it (C·7·7 at 224 px).
Activation memory is :mod:`nas.model.memory`.

    >>> from nas.model.cost import summary
    >>> s = summary("mobilenet_v2")
    >>> s.params
    3504872
"""
from __future__ import annotations

import logging
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from nas.arch.io import load_arch
from nas.arch.layers import Layer, resolve
from nas.arch.spec import Arch
from nas.model.builder import build_layer, build_model
from nas.model.memory import activation_bytes

__all__ = ["CostSummary", "arch_macs", "count_macs", "count_params", "layer_macs", "macs_by_module", "summary"]


@dataclass(frozen=True)
class CostSummary:
    """Costs at one input resolution, batch 1."""

    params: int  # parameters (all, trainable or not)
    macs: int  # multiply-accumulates for one image (fvcore)
    activation_bytes: int  # peak activation memory, float32, batch 1 (nas.model.memory)
    resolution: int
    in_channels: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def __str__(self) -> str:
        return (f"{self.params / 1e6:.2f}M params, {self.macs / 1e6:.1f}M MACs, "
                f"{self.activation_bytes / 2**20:.2f} MiB peak activations @ {self.resolution}px")


def count_params(model: nn.Module) -> int:
    """Number of parameters."""
    return sum(p.numel() for p in model.parameters())


def _input(model: nn.Module, resolution: int, in_channels: int | None) -> torch.Tensor:
    if in_channels is None:
        arch = getattr(model, "arch", None)
        if arch is not None:
            in_channels = arch.in_channels
        else:
            conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
            in_channels = conv.in_channels if conv is not None else 3
    param = next(model.parameters(), None)
    device = param.device if param is not None else "cpu"
    return torch.zeros(1, in_channels, resolution, resolution, device=device)


def _mean_macs(inputs: list, outputs: list) -> int:
    """``aten::mean`` as fvcore counts ``aten::adaptive_avg_pool2d``: one per input element."""
    from fvcore.nn.jit_handles import get_shape

    return math.prod(get_shape(inputs[0]))


#: fvcore handles for ops it does not count by default.
_EXTRA_HANDLES = {"aten::mean": _mean_macs}


def macs_by_module(model: nn.Module, resolution: int, in_channels: int | None = None) -> dict[str, int]:
    """Multiply-accumulates of one forward pass at ``resolution``, batch 1, in eval mode (fvcore), for
    every submodule by qualified name; ``""`` is the whole model."""
    from fvcore.nn import FlopCountAnalysis

    was_training = model.training
    model.eval()
    try:
        logging.getLogger("fvcore").setLevel(logging.ERROR)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fvcore traces with torch.jit, which warns of its deprecation
            analysis = FlopCountAnalysis(model, _input(model, resolution, in_channels))
            analysis.set_op_handle(**_EXTRA_HANDLES)
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            return {name: int(v) for name, v in analysis.by_module().items()}
    finally:
        model.train(was_training)


def count_macs(model: nn.Module, resolution: int, in_channels: int | None = None) -> int:
    """Multiply-accumulates of one forward pass at ``resolution``, batch 1, in eval mode (fvcore)."""
    return macs_by_module(model, resolution, in_channels)[""]


_LAYER_MACS: dict[str, int] = {}


def layer_macs(layer: Layer) -> int:
    """fvcore's MACs of one resolved layer alone at its own input size, memoized by :attr:`Layer.key`
    (which holds every shape that changes the count) for the life of the process."""
    macs = _LAYER_MACS.get(layer.key)
    if macs is None:
        macs = count_macs(build_layer(layer), layer.input_size, layer.in_chs)
        _LAYER_MACS[layer.key] = macs
    return macs


def arch_macs(arch: Arch | str | Path | Mapping[str, Any], resolution: int | None = None,
              layers: Sequence[Layer] | None = None) -> int:
    """MACs of ``arch`` at ``resolution`` (default: its own), batch 1: the sum of :func:`layer_macs` over
    :func:`nas.arch.layers.resolve` (or over ``layers``, when the caller has resolved them already). Equal to
    :func:`count_macs` of the built model — fvcore counts each module's own convolutions, linears and norms,
    and the network is exactly its layers in sequence (tests/model/test_cost.py checks the equality) — but a
    search that revisits the same layers traces each distinct layer once instead of every candidate whole."""
    return sum(layer_macs(layer) for layer in (layers if layers is not None else resolve(load_arch(arch), resolution)))


def summary(model_or_arch: nn.Module | Arch | str | Path | Mapping[str, Any],
            resolution: int | None = None) -> CostSummary:
    """Params, MACs and activation memory of a model or architecture at ``resolution`` (default: the
    arch's own resolution, or 224 for a plain module)."""
    if isinstance(model_or_arch, nn.Module):
        model = model_or_arch
        arch = getattr(model, "arch", None)
    else:
        arch = load_arch(model_or_arch)
        model = build_model(arch)
    r = resolution or (arch.resolution if arch is not None else 224)
    in_chs = arch.in_channels if arch is not None else _input(model, 32, None).shape[1]
    return CostSummary(count_params(model), count_macs(model, r, in_chs), activation_bytes(model, r, in_chs),
                       r, in_chs)
