"""The one builder: :class:`~nas.arch.Arch` (or a YAML path / dict / zoo name) → ``nn.Module``.

    >>> import nas, torch
    >>> model = nas.build_model("mobilenet_v2", num_classes=10, in_channels=1).eval()
    >>> model(torch.zeros(1, 1, 32, 32)).shape
    torch.Size([1, 10])

The structure follows :func:`nas.arch.layers.resolve` exactly: one stem, one module per resolved block
(grouped per stage in ``model.blocks``), one head. Works at any input resolution ≥ 32.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor, nn

from nas.arch.io import load_arch
from nas.arch.layers import Layer, resolve
from nas.arch.spec import Arch
from nas.model.blocks import (ConvBlock, ConvBnAct, DepthwiseSeparable, InvertedResidual, NormLayer, ShuffleUnit,
                              act_layer)

__all__ = ["ArchNet", "Head", "Stem", "build_block", "build_layer", "build_model", "example_input", "norm_layer"]


def norm_layer(bn_eps: float = 1e-5, bn_momentum: float = 0.1) -> NormLayer:
    """``nn.BatchNorm2d`` with the network's ``eps`` and ``momentum`` (PyTorch's meaning of momentum)."""
    return functools.partial(nn.BatchNorm2d, eps=bn_eps, momentum=bn_momentum)


class Stem(nn.Sequential):
    """k×k conv-norm-act, optionally followed by a 3×3/2 max-pool."""

    def __init__(self, layer: Layer, norm: NormLayer = nn.BatchNorm2d):
        mods: list[nn.Module] = [ConvBnAct(layer.in_chs, layer.out_chs, layer.kernel_size, layer.stride,
                                           norm_layer=norm, act=act_layer(layer.activation))]
        if layer.pool == "max":
            mods.append(nn.MaxPool2d(3, 2, 1))
        super().__init__(*mods)


class Head(nn.Module):
    """[1×1 conv-norm-act] → global average pool → [linear + act] → dropout → linear classifier."""

    def __init__(self, layer: Layer, norm: NormLayer = nn.BatchNorm2d):
        super().__init__()
        chs = layer.in_chs
        self.conv = (ConvBnAct(chs, layer.mid_chs, 1, norm_layer=norm, act=act_layer(layer.activation))
                     if layer.mid_chs else nn.Identity())
        chs = layer.mid_chs or chs
        self.hidden = (nn.Sequential(nn.Linear(chs, layer.hidden), act_layer(layer.activation)())
                       if layer.hidden else nn.Identity())
        chs = layer.hidden or chs
        self.dropout = nn.Dropout(layer.dropout)
        self.classifier = nn.Linear(chs, layer.out_chs)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x).mean((2, 3))
        return self.classifier(self.dropout(self.hidden(x)))


_BLOCKS = {"mbconv": InvertedResidual, "ds": DepthwiseSeparable, "conv": ConvBlock}


def build_block(layer: Layer, drop_path: float = 0.0, norm: NormLayer = nn.BatchNorm2d) -> nn.Module:
    """The module for one resolved block layer (``ds``, ``mbconv``, ``shuffle`` or ``conv``)."""
    if layer.kind == "shuffle":
        return ShuffleUnit(layer, norm)
    if layer.kind not in _BLOCKS:
        raise ValueError(f"unknown block kind {layer.kind!r}")
    return _BLOCKS[layer.kind](layer, norm, drop_path)


def build_layer(layer: Layer, norm: NormLayer = nn.BatchNorm2d) -> nn.Module:
    """The module for any one resolved layer alone — ``stem`` → :class:`Stem`, ``head`` → :class:`Head`,
    block kinds → :func:`build_block` — as the latency table and the per-layer MAC count see it."""
    if layer.kind == "stem":
        return Stem(layer, norm)
    if layer.kind == "head":
        return Head(layer, norm)
    return build_block(layer, norm=norm)


class ArchNet(nn.Module):
    """A network built from an :class:`Arch`: ``stem`` → ``blocks`` (one ``nn.Sequential`` per stage) →
    ``head``. ``model.arch`` is the architecture it was built from. ``layers`` are its resolved layers
    (:func:`nas.arch.layers.resolve`), passed in when the caller already has them."""

    def __init__(self, arch: Arch, layers: Sequence[Layer] | None = None):
        super().__init__()
        self.arch = arch
        layers = resolve(arch) if layers is None else layers
        norm = norm_layer(arch.bn_eps, arch.bn_momentum)
        self.stem = Stem(layers[0], norm)
        body = layers[1:-1]
        stages: list[list[nn.Module]] = [[] for _ in arch.blocks]
        for i, layer in enumerate(body):
            rate = arch.drop_path_rate * i / max(1, len(body))
            stages[layer.stage].append(build_block(layer, rate, norm))
        self.blocks = nn.Sequential(*(nn.Sequential(*s) for s in stages))
        self.head = Head(layers[-1], norm)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torchvision's MobileNet initialisation: Kaiming-normal (fan-out) convs, unit BN, N(0, 0.01) linear."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        return self.blocks(self.stem(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.forward_features(x))


def build_model(arch: Arch | str | Path | Mapping[str, Any], *, num_classes: int | None = None,
                in_channels: int | None = None, resolution: int | None = None) -> ArchNet:
    """Build the network an architecture describes.

    ``arch`` is an :class:`Arch`, a YAML path, YAML text, a dict, or a zoo name. ``num_classes``,
    ``in_channels`` and ``resolution`` override the file's values (e.g. 10 classes and 1 channel for
    Fashion-MNIST); ``resolution`` only changes the recorded default input size — the model accepts any
    size ≥ 32 px.
    """
    a = load_arch(arch)
    changes = {k: v for k, v in (("num_classes", num_classes), ("in_channels", in_channels),
                                 ("resolution", resolution)) if v is not None}
    if changes:
        a = a.replace(**changes)
    return ArchNet(a)


def example_input(arch: Arch, resolution: int | None = None, batch_size: int = 1) -> Tensor:
    """A zero tensor of the arch's input shape (N × in_channels × R × R)."""
    r = arch.resolution if resolution is None else resolution
    return torch.zeros(batch_size, arch.in_channels, r, r)
