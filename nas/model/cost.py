"""Static costs of a network: parameters, multiply-accumulates (MACs) and peak activation memory.

MACs come from fvcore's ``FlopCountAnalysis``, whose "flops" are in fact multiply-accumulates (one per
conv/linear weight use, plus BatchNorm's per-element work in eval mode); we call them MACs. Activation
memory is an estimate, see :func:`activation_bytes`.

    >>> from nas.model.cost import summary
    >>> s = summary("mobilenet_v2")
    >>> s.params
    3504872
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from nas.arch.io import load_arch
from nas.arch.layers import Layer, resolve
from nas.arch.spec import Arch
from nas.model.blocks import ResidualBlock
from nas.model.builder import build_layer, build_model

__all__ = ["CostSummary", "activation_bytes", "arch_macs", "count_macs", "count_params", "layer_macs", "macs_by_module",
           "summary"]


@dataclass(frozen=True)
class CostSummary:
    """Costs at one input resolution, batch 1."""

    params: int  # parameters (all, trainable or not)
    macs: int  # multiply-accumulates for one image (fvcore)
    activation_bytes: int  # estimated peak activation memory, float32, batch 1
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


def activation_bytes(model: nn.Module, resolution: int, in_channels: int | None = None,
                     bytes_per_element: int = 4) -> int:
    """Estimated peak activation memory of batch-1 inference, in bytes.

    The estimate is the largest, over leaf modules, of (its input + its output) plus the input of the
    enclosing residual block that must stay alive until the addition. It ignores allocator slack and
    framework workspace, so treat it as a lower bound useful for comparing architectures.
    """
    peak = 0
    held = [0]

    def residual_pre(module: nn.Module, inputs: tuple) -> None:
        held.append(inputs[0].numel() if getattr(module, "skip", False) else 0)

    def residual_post(module: nn.Module, inputs: tuple, output: Any) -> None:
        held.pop()

    def leaf(module: nn.Module, inputs: tuple, output: Any) -> None:
        nonlocal peak
        size = sum(t.numel() for t in inputs if isinstance(t, torch.Tensor))
        size += output.numel() if isinstance(output, torch.Tensor) else 0
        peak = max(peak, size + sum(held))

    hooks = []
    for m in model.modules():
        if isinstance(m, ResidualBlock):
            hooks.append(m.register_forward_pre_hook(residual_pre))
            hooks.append(m.register_forward_hook(residual_post))
        elif not any(True for _ in m.children()):
            hooks.append(m.register_forward_hook(leaf))
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            model(_input(model, resolution, in_channels))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return peak * bytes_per_element


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
