"""The MobileNet-family building blocks, each a small module that knows nothing of the network around it.

Vocabulary (as in timm's ``_efficientnet_blocks``): ``in_chs``, ``out_chs``, ``mid_chs``, ``kernel_size``,
``stride``, ``act`` (a name from :data:`ACT_LAYERS`), ``se_chs`` (0: no squeeze-excitation), ``skip``
(residual connection, only meaningful at stride 1 with ``in_chs == out_chs``), ``drop_path``.

All convolutions are bias-free and followed by BatchNorm; padding is ``kernel_size // 2``.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = [
    "ACT_LAYERS",
    "GATE_LAYERS",
    "ConvBnAct",
    "ConvBlock",
    "DepthwiseSeparable",
    "DropPath",
    "InvertedResidual",
    "ShuffleUnit",
    "SqueezeExcite",
    "channel_shuffle",
    "make_activation",
]

ACT_LAYERS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "swish": nn.SiLU,
    "hswish": nn.Hardswish,
}
GATE_LAYERS: dict[str, type[nn.Module]] = {"sigmoid": nn.Sigmoid, "hsigmoid": nn.Hardsigmoid}


def make_activation(name: str | None) -> nn.Module:
    """An activation module by name (``None``: identity)."""
    if name is None:
        return nn.Identity()
    try:
        return ACT_LAYERS[name](inplace=True)
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(ACT_LAYERS)}") from None


class ConvBnAct(nn.Sequential):
    """k×k convolution (no bias) → BatchNorm → activation (``act=None``: linear)."""

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int = 1, stride: int = 1, groups: int = 1,
                 act: str | None = "relu", bn_eps: float = 1e-5, bn_momentum: float = 0.1):
        super().__init__(
            nn.Conv2d(in_chs, out_chs, kernel_size, stride, kernel_size // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_chs, eps=bn_eps, momentum=bn_momentum),
            make_activation(act),
        )


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: global pool → 1×1 conv to ``se_chs`` → act → 1×1 conv back → gate → scale.

    The squeeze width is decided by the caller (see :mod:`nas.layers`): MnasNet/EfficientNet use
    ``in_chs × se_ratio`` of the *block input*, MobileNetV3 ``make_divisible(mid/4, 8)`` of the expanded width.
    """

    def __init__(self, chs: int, se_chs: int, act: str = "relu", gate: str = "sigmoid"):
        super().__init__()
        self.conv_reduce = nn.Conv2d(chs, se_chs, 1, bias=True)
        self.act = make_activation(act)
        self.conv_expand = nn.Conv2d(se_chs, chs, 1, bias=True)
        self.gate = GATE_LAYERS[gate]()

    def forward(self, x: Tensor) -> Tensor:
        s = x.mean((2, 3), keepdim=True)
        s = self.conv_expand(self.act(self.conv_reduce(s)))
        return x * self.gate(s)


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


class _Residual(nn.Module):
    """Shared forward: ``body(x)`` plus ``x`` when the block has a skip connection."""

    skip: bool
    drop_path: nn.Module

    def body(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        out = self.body(x)
        return x + self.drop_path(out) if self.skip else out


class DepthwiseSeparable(_Residual):
    """MobileNetV1's depthwise-separable conv: k×k depthwise-BN-act → [SE] → 1×1 pointwise-BN[-act].

    ``pw_act=True`` activates the pointwise conv (MobileNetV1); MnasNet/EfficientNet keep it linear.
    """

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int = 3, stride: int = 1, act: str = "relu",
                 se_chs: int = 0, se_gate: str = "sigmoid", se_act: str | None = None, pw_act: bool = False,
                 skip: bool = False, drop_path: float = 0.0, bn_eps: float = 1e-5, bn_momentum: float = 0.1):
        super().__init__()
        bn = dict(bn_eps=bn_eps, bn_momentum=bn_momentum)
        self.conv_dw = ConvBnAct(in_chs, in_chs, kernel_size, stride, groups=in_chs, act=act, **bn)
        self.se = SqueezeExcite(in_chs, se_chs, se_act or act, se_gate) if se_chs else nn.Identity()
        self.conv_pw = ConvBnAct(in_chs, out_chs, 1, act=act if pw_act else None, **bn)
        self.skip = skip and stride == 1 and in_chs == out_chs
        self.drop_path = DropPath(drop_path)

    def body(self, x: Tensor) -> Tensor:
        return self.conv_pw(self.se(self.conv_dw(x)))


class InvertedResidual(_Residual):
    """MBConv (MobileNetV2/V3, MnasNet, EfficientNet): [1×1 expand-BN-act] → k×k depthwise-BN-act → [SE]
    → 1×1 linear projection-BN, plus the input when ``skip``. No expand conv when ``mid_chs == in_chs``."""

    def __init__(self, in_chs: int, out_chs: int, mid_chs: int, kernel_size: int = 3, stride: int = 1,
                 act: str = "relu", se_chs: int = 0, se_gate: str = "sigmoid", se_act: str | None = None,
                 skip: bool = True, drop_path: float = 0.0, bn_eps: float = 1e-5, bn_momentum: float = 0.1):
        super().__init__()
        bn = dict(bn_eps=bn_eps, bn_momentum=bn_momentum)
        self.conv_pw = ConvBnAct(in_chs, mid_chs, 1, act=act, **bn) if mid_chs != in_chs else nn.Identity()
        self.conv_dw = ConvBnAct(mid_chs, mid_chs, kernel_size, stride, groups=mid_chs, act=act, **bn)
        self.se = SqueezeExcite(mid_chs, se_chs, se_act or act, se_gate) if se_chs else nn.Identity()
        self.conv_pwl = ConvBnAct(mid_chs, out_chs, 1, act=None, **bn)
        self.skip = skip and stride == 1 and in_chs == out_chs
        self.drop_path = DropPath(drop_path)

    def body(self, x: Tensor) -> Tensor:
        return self.conv_pwl(self.se(self.conv_dw(self.conv_pw(x))))


class ConvBlock(_Residual):
    """A plain k×k conv-BN-act (a MnasNet search op), with a residual when ``skip``."""

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int = 3, stride: int = 1, act: str = "relu",
                 skip: bool = False, drop_path: float = 0.0, bn_eps: float = 1e-5, bn_momentum: float = 0.1):
        super().__init__()
        self.conv = ConvBnAct(in_chs, out_chs, kernel_size, stride, act=act, bn_eps=bn_eps, bn_momentum=bn_momentum)
        self.skip = skip and stride == 1 and in_chs == out_chs
        self.drop_path = DropPath(drop_path)

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
      through 1×1-BN-act → k×k depthwise-BN → 1×1-BN-act; the halves are concatenated.
    * two-branch form (stride 2, or a width change): branch 1 is k×k depthwise-BN → 1×1-BN-act on the whole
      input, branch 2 as above on the whole input; each gives ``out_chs / 2`` channels.
    """

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int = 3, stride: int = 1, act: str = "relu",
                 bn_eps: float = 1e-5, bn_momentum: float = 0.1):
        super().__init__()
        if out_chs % 2:
            raise ValueError(f"ShuffleUnit needs an even out_chs, got {out_chs}")
        bn = dict(bn_eps=bn_eps, bn_momentum=bn_momentum)
        half = out_chs // 2
        self.split = stride == 1 and in_chs == out_chs
        if self.split:
            self.branch1 = nn.Identity()
            branch_in = half
        else:
            self.branch1 = nn.Sequential(
                ConvBnAct(in_chs, in_chs, kernel_size, stride, groups=in_chs, act=None, **bn),
                ConvBnAct(in_chs, half, 1, act=act, **bn),
            )
            branch_in = in_chs
        self.branch2 = nn.Sequential(
            ConvBnAct(branch_in, half, 1, act=act, **bn),
            ConvBnAct(half, half, kernel_size, stride, groups=half, act=None, **bn),
            ConvBnAct(half, half, 1, act=act, **bn),
        )

    def forward(self, x: Tensor) -> Tensor:
        if self.split:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)
