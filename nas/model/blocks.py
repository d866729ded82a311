"""The MobileNet-family building blocks, each a small module that knows nothing of the network around it.

Every block takes its configuration as one object — a resolved :class:`~nas.arch.layers.Layer` (``in_chs``,
``out_chs``, ``mid_chs``, ``kernel_size``, ``stride``, ``activation``, ``se_chs``, ``se_gate``,
``se_activation``, ``pw_act``, ``skip``) — and its normalisation as a callable ``norm_layer(channels)``, in the
style of torchvision's ``InvertedResidual(cnf, norm_layer)`` (``torchvision/models/mobilenetv3.py``) and timm's
``_efficientnet_blocks``. Activation names map to modules through :data:`ACT_LAYERS` / :data:`GATE_LAYERS`.

All convolutions are bias-free and followed by the norm; padding is ``kernel_size // 2``. Sources:
MobileNetV1 (Howard et al. 2017), MobileNetV2 (Sandler et al. 2018), MnasNet (Tan et al. 2019),
MobileNetV3 (Howard et al. 2019), ShuffleNetV2 (Ma et al. 2018), squeeze-and-excitation (Hu et al. 2018).
"""
from __future__ import annotations

import functools
from typing import Callable

import torch
from torch import Tensor, nn

from nas.arch.layers import Layer

__all__ = [
    "ACT_LAYERS",
    "GATE_LAYERS",
    "ConvBlock",
    "ConvBnAct",
    "DepthwiseSeparable",
    "DropPath",
    "InvertedResidual",
    "NormLayer",
    "ResidualBlock",
    "ShuffleUnit",
    "SqueezeExcite",
    "act_layer",
    "channel_shuffle",
]

#: A callable giving the normalisation module for a number of channels, e.g. ``nn.BatchNorm2d`` or
#: ``functools.partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01)``.
NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[[], nn.Module]

ACT_LAYERS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "swish": nn.SiLU,
    "hswish": nn.Hardswish,
}
GATE_LAYERS: dict[str, type[nn.Module]] = {"sigmoid": nn.Sigmoid, "hsigmoid": nn.Hardsigmoid}


def act_layer(name: str | None) -> ActLayer:
    """The activation constructor for a name of :data:`ACT_LAYERS` (in place); ``None``: identity.
    Raises ``ValueError`` for an unknown name."""
    if name is None:
        return nn.Identity
    try:
        return functools.partial(ACT_LAYERS[name], inplace=True)
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(ACT_LAYERS)}") from None


class ConvBnAct(nn.Sequential):
    """k×k convolution (no bias) → norm → activation (``act=None``: linear). Modules ``0``, ``1``, ``2``."""

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int = 1, stride: int = 1, groups: int = 1,
                 norm_layer: NormLayer = nn.BatchNorm2d, act: ActLayer | None = None):
        super().__init__(
            nn.Conv2d(in_chs, out_chs, kernel_size, stride, kernel_size // 2, groups=groups, bias=False),
            norm_layer(out_chs),
            (act or nn.Identity)(),
        )


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: global pool → 1×1 conv to ``se_chs`` → act → 1×1 conv back → gate → scale.

    The squeeze width is decided by the resolver (:mod:`nas.arch.layers`): MnasNet/EfficientNet use
    ``in_chs × se_ratio`` of the *block input*, MobileNetV3 ``make_divisible(mid/4, 8)`` of the expanded width.
    """

    def __init__(self, chs: int, se_chs: int, act: ActLayer = nn.ReLU, gate: ActLayer = nn.Sigmoid):
        super().__init__()
        self.conv_reduce = nn.Conv2d(chs, se_chs, 1, bias=True)
        self.act = act()
        self.conv_expand = nn.Conv2d(se_chs, chs, 1, bias=True)
        self.gate = gate()

    def forward(self, x: Tensor) -> Tensor:
        s = x.mean((2, 3), keepdim=True)
        s = self.conv_expand(self.act(self.conv_reduce(s)))
        return x * self.gate(s)


def _se(cnf: Layer, chs: int) -> nn.Module:
    """The block's squeeze-excitation over ``chs`` channels, or an identity when ``cnf.se_chs`` is 0."""
    if not cnf.se_chs:
        return nn.Identity()
    return SqueezeExcite(chs, cnf.se_chs, act_layer(cnf.se_activation or cnf.activation), GATE_LAYERS[cnf.se_gate])


class DropPath(nn.Module):
    """Stochastic depth on the residual branch (identity in eval mode or at rate 0)."""

    def __init__(self, rate: float = 0.0):
        super().__init__()
        self.rate = rate

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.rate == 0:
            return x
        keep = 1 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class ResidualBlock(nn.Module):
    """A block whose output is ``body(x)``, plus ``x`` when it has a skip connection (``skip`` is True only
    at stride 1 with equal widths)."""

    skip: bool
    drop_path: nn.Module

    def body(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        out = self.body(x)
        return x + self.drop_path(out) if self.skip else out

    def _residual(self, cnf: Layer, drop_path: float) -> None:
        self.skip = cnf.skip and cnf.stride == 1 and cnf.in_chs == cnf.out_chs
        self.drop_path = DropPath(drop_path)


class DepthwiseSeparable(ResidualBlock):
    """MobileNetV1's depthwise-separable conv: k×k depthwise-norm-act → [SE] → 1×1 pointwise-norm[-act].

    ``cnf.pw_act`` activates the pointwise conv (MobileNetV1); MnasNet/EfficientNet keep it linear.
    """

    def __init__(self, cnf: Layer, norm_layer: NormLayer = nn.BatchNorm2d, drop_path: float = 0.0):
        super().__init__()
        act = act_layer(cnf.activation)
        self.conv_dw = ConvBnAct(cnf.in_chs, cnf.in_chs, cnf.kernel_size, cnf.stride, cnf.in_chs, norm_layer, act)
        self.se = _se(cnf, cnf.in_chs)
        self.conv_pw = ConvBnAct(cnf.in_chs, cnf.out_chs, 1, norm_layer=norm_layer, act=act if cnf.pw_act else None)
        self._residual(cnf, drop_path)

    def body(self, x: Tensor) -> Tensor:
        return self.conv_pw(self.se(self.conv_dw(x)))


class InvertedResidual(ResidualBlock):
    """MBConv (MobileNetV2/V3, MnasNet, EfficientNet): [1×1 expand-norm-act] → k×k depthwise-norm-act → [SE]
    → 1×1 linear projection-norm, plus the input when ``skip``. No expand conv when ``mid_chs == in_chs``."""

    def __init__(self, cnf: Layer, norm_layer: NormLayer = nn.BatchNorm2d, drop_path: float = 0.0):
        super().__init__()
        act, mid = act_layer(cnf.activation), cnf.mid_chs
        self.conv_pw = (ConvBnAct(cnf.in_chs, mid, 1, norm_layer=norm_layer, act=act) if mid != cnf.in_chs
                        else nn.Identity())
        self.conv_dw = ConvBnAct(mid, mid, cnf.kernel_size, cnf.stride, mid, norm_layer, act)
        self.se = _se(cnf, mid)
        self.conv_pwl = ConvBnAct(mid, cnf.out_chs, 1, norm_layer=norm_layer)
        self._residual(cnf, drop_path)

    def body(self, x: Tensor) -> Tensor:
        return self.conv_pwl(self.se(self.conv_dw(self.conv_pw(x))))


class ConvBlock(ResidualBlock):
    """A plain k×k conv-norm-act (a MnasNet search op), with a residual when ``skip``."""

    def __init__(self, cnf: Layer, norm_layer: NormLayer = nn.BatchNorm2d, drop_path: float = 0.0):
        super().__init__()
        self.conv = ConvBnAct(cnf.in_chs, cnf.out_chs, cnf.kernel_size, cnf.stride, 1, norm_layer,
                              act_layer(cnf.activation))
        self._residual(cnf, drop_path)

    def body(self, x: Tensor) -> Tensor:
        return self.conv(x)


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """ShuffleNet's channel shuffle: a fixed permutation (reshape → transpose → reshape), never random.

    With 2 groups, channels ``[a0 a1 … | b0 b1 …]`` become ``[a0 b0 a1 b1 …]``.
    """
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ShuffleUnit(nn.Module):
    """ShuffleNetV2 unit, then a 2-group channel shuffle.

    * split form (stride 1, ``in_chs == out_chs``): half the channels pass through, the other half go
      through 1×1-norm-act → k×k depthwise-norm → 1×1-norm-act; the halves are concatenated.
    * two-branch form (stride 2, or a width change): branch 1 is k×k depthwise-norm → 1×1-norm-act on the
      whole input, branch 2 as above on the whole input; each gives ``out_chs / 2`` channels.
    """

    def __init__(self, cnf: Layer, norm_layer: NormLayer = nn.BatchNorm2d):
        super().__init__()
        if cnf.out_chs % 2:
            raise ValueError(f"ShuffleUnit needs an even out_chs, got {cnf.out_chs}")
        act, half, k, s = act_layer(cnf.activation), cnf.out_chs // 2, cnf.kernel_size, cnf.stride
        self.split = s == 1 and cnf.in_chs == cnf.out_chs
        if self.split:
            self.branch1: nn.Module = nn.Identity()
            branch_in = half
        else:
            self.branch1 = nn.Sequential(ConvBnAct(cnf.in_chs, cnf.in_chs, k, s, cnf.in_chs, norm_layer),
                                         ConvBnAct(cnf.in_chs, half, 1, norm_layer=norm_layer, act=act))
            branch_in = cnf.in_chs
        self.branch2 = nn.Sequential(ConvBnAct(branch_in, half, 1, norm_layer=norm_layer, act=act),
                                     ConvBnAct(half, half, k, s, half, norm_layer),
                                     ConvBnAct(half, half, 1, norm_layer=norm_layer, act=act))

    def forward(self, x: Tensor) -> Tensor:
        if self.split:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)
