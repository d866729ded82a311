"""Resolve an :class:`~nas.arch.Arch` into the concrete layers a model is built from.

This is the one place where family conventions become numbers: width/depth multipliers (round to 8, the
head by its ``width_rule``), stage repeats, expanded widths (:func:`~nas.arch.spec.expanded_width`), squeeze
widths, default activations, which blocks have a residual, and the spatial size each layer sees. The builder
turns each :class:`Layer` into one module, and the latency lookup table keys its entries by :attr:`Layer.key`
— so a LUT entry and a built block always agree.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nas.arch.scaling import head_filters, make_divisible, round_filters, round_repeats
from nas.arch.spec import Arch, BlockArgs, expanded_width

__all__ = ["Layer", "conv_out_size", "head_filters", "resolve", "resolve_head", "resolve_stage", "round_filters",
           "round_repeats"]


@dataclass(frozen=True)
class Layer:
    """One built unit. ``kind`` is ``stem``, ``ds``, ``mbconv``, ``shuffle``, ``conv`` or ``head``.

    Channels are after multipliers. ``input_size`` is the input's height (= width) in pixels.
    For ``head``: ``mid_chs`` is the 1×1 conv width (0 if none), ``out_chs`` the class count and
    ``hidden`` the width of MobileNetV3's linear layer after pooling (0 if none).
    """

    kind: str
    in_chs: int
    out_chs: int
    mid_chs: int
    kernel_size: int
    stride: int
    activation: str
    se_chs: int = 0
    se_gate: str = "sigmoid"
    se_activation: str = "relu"
    pw_act: bool = False
    skip: bool = False
    pool: str = "none"
    hidden: int = 0
    dropout: float = 0.0
    input_size: int = 224
    stage: int = -1  # index into Arch.blocks; -1 for stem, len(blocks) for head
    index: int = 0  # position within the stage

    @property
    def key(self) -> str:
        """Everything that can change this layer's latency, as a stable string (for lookup tables)."""
        parts = [self.kind, f"i{self.in_chs}", f"o{self.out_chs}", f"m{self.mid_chs}", f"k{self.kernel_size}",
                 f"s{self.stride}", self.activation, f"hw{self.input_size}"]
        if self.se_chs:
            parts.append(f"se{self.se_chs}-{self.se_gate}-{self.se_activation}")
        if self.pw_act:
            parts.append("pwact")
        if self.skip:
            parts.append("skip")
        if self.pool != "none":
            parts.append(f"pool{self.pool}")
        if self.hidden:
            parts.append(f"h{self.hidden}")
        return "_".join(parts)

    @property
    def output_size(self) -> int:
        if self.kind == "head":
            return 1
        size = conv_out_size(self.input_size, self.kernel_size, self.stride)
        return conv_out_size(size, 3, 2) if self.pool == "max" else size

    def at_size(self, input_size: int) -> "Layer":
        return dataclasses.replace(self, input_size=input_size)


def conv_out_size(size: int, kernel_size: int, stride: int) -> int:
    """Output size of a conv with ``padding = kernel_size // 2``."""
    return (size + 2 * (kernel_size // 2) - kernel_size) // stride + 1


def _se_chs(arch: Arch, b: BlockArgs, in_chs: int, mid_chs: int) -> int:
    if not b.has_se:
        return 0
    if arch.se.source == "input":
        return max(1, int(in_chs * b.se_ratio))
    return make_divisible(mid_chs * b.se_ratio, 8)


def resolve_stage(arch: Arch, b: BlockArgs, stage: int, in_chs: int, input_size: int,
                  max_repeats: int | None = None) -> list[Layer]:
    """The layers of one stage ``b`` whose input has ``in_chs`` channels (after multipliers) and
    ``input_size`` pixels. ``max_repeats`` caps the repeats (the repeats after the second are identical
    layers, which is all a lookup table needs)."""
    out_chs = round_filters(b.output_filters, arch.width_multiplier)
    act = b.activation or arch.activation
    repeats = round_repeats(b.num_repeat, arch.depth_multiplier)
    layers: list[Layer] = []
    size = input_size
    for index in range(repeats if max_repeats is None else min(repeats, max_repeats)):
        stride = b.strides if index == 0 else 1
        if b.block == "mbconv":
            mid = expanded_width(in_chs, b.expand_ratio)
        elif b.block == "shuffle":
            mid = out_chs // 2
        else:
            mid = in_chs
        skip = b.id_skip and stride == 1 and in_chs == out_chs and b.block != "shuffle"
        layer = Layer(b.block, in_chs, out_chs, mid, b.kernel_size, stride, act,
                      se_chs=_se_chs(arch, b, in_chs, mid), se_gate=arch.se.gate,
                      se_activation=arch.se.activation or act, pw_act=b.pw_act, skip=skip,
                      input_size=size, stage=stage, index=index)
        layers.append(layer)
        size = layer.output_size
        in_chs = out_chs
    return layers


def resolve(arch: Arch, resolution: int | None = None) -> list[Layer]:
    """The stem, every block of every stage, and the head, in order, at ``resolution`` (default: the
    arch's own). Pure function of its arguments."""
    size = arch.resolution if resolution is None else resolution
    wm = arch.width_multiplier
    stem_act = arch.stem.activation or arch.activation
    stem_out = round_filters(arch.stem.filters, wm)
    layers = [Layer("stem", arch.in_channels, stem_out, stem_out, arch.stem.kernel_size, arch.stem.strides,
                    stem_act, pool=arch.stem.pool, input_size=size, stage=-1)]
    size = layers[0].output_size
    in_chs = stem_out
    for stage, b in enumerate(arch.blocks):
        stage_layers = resolve_stage(arch, b, stage, in_chs, size)
        layers.extend(stage_layers)
        size, in_chs = stage_layers[-1].output_size, stage_layers[-1].out_chs
    layers.append(resolve_head(arch, in_chs, size))
    return layers


def resolve_head(arch: Arch, in_chs: int, input_size: int) -> Layer:
    """The head layer of ``arch`` when the last stage gives ``in_chs`` channels at ``input_size`` px (the
    search space asks this for every width a last stage can have)."""
    head, wm = arch.head, arch.width_multiplier
    head_conv = head_filters(head.filters, wm, head.width_rule) if head.filters else 0
    hidden = head_filters(head.hidden_filters, wm, head.width_rule) if head.hidden_filters else 0
    return Layer("head", in_chs, arch.num_classes, head_conv, 1, 1, head.activation or arch.activation,
                 hidden=hidden, dropout=head.dropout, input_size=input_size, stage=len(arch.blocks))
