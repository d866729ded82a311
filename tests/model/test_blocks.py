"""The blocks: the seeds' arithmetic, fixed channel shuffle, SE widths and residual rules."""
from __future__ import annotations

import torch
from torch import nn

from nas.arch.layers import Layer
from nas.model.blocks import (ConvBnAct, DepthwiseSeparable, DropPath, InvertedResidual, ShuffleUnit, SqueezeExcite,
                              channel_shuffle)


def cnf(kind: str, in_chs: int, out_chs: int, mid_chs: int | None = None, kernel_size: int = 3, stride: int = 1,
        activation: str = "relu", skip: bool = True, **kw) -> Layer:  # noqa: ANN003
    """A block's config object (a resolved layer); ``skip`` as the resolver would set it."""
    skip = skip and stride == 1 and in_chs == out_chs
    mid = mid_chs if mid_chs is not None else (out_chs // 2 if kind == "shuffle" else in_chs)
    return Layer(kind, in_chs, out_chs, mid, kernel_size, stride, activation, skip=skip, **kw)


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_conv_vs_depthwise_separable_weights() -> None:
    # seed 004: a 3x3 conv 16→32 has 16·32·3·3 = 4,608 weights; depthwise + pointwise 16·3·3 + 16·32 = 656.
    assert n_params(nn.Conv2d(16, 32, 3, bias=False)) == 4608
    dw = ConvBnAct(16, 16, 3, groups=16)[0]
    pw = ConvBnAct(16, 32, 1)[0]
    assert n_params(dw) + n_params(pw) == 656
    block = DepthwiseSeparable(cnf("ds", 16, 32))
    conv_weights = sum(m.weight.numel() for m in block.modules() if isinstance(m, nn.Conv2d))
    assert conv_weights == 656
    assert n_params(block) == 656 + 2 * 16 + 2 * 32  # plus BatchNorm scale and shift


def test_channel_shuffle_is_a_fixed_permutation() -> None:
    x = torch.arange(8.0).view(1, 8, 1, 1)
    expected = [0, 4, 1, 5, 2, 6, 3, 7]
    assert channel_shuffle(x, 2).flatten().tolist() == expected
    assert channel_shuffle(x, 2).flatten().tolist() == expected  # same on every call
    assert channel_shuffle(x, 4).flatten().tolist() == [0, 2, 4, 6, 1, 3, 5, 7]
    y = torch.randn(2, 12, 3, 3)
    assert torch.equal(channel_shuffle(channel_shuffle(y, 3), 4), y)  # 3×4 then 4×3: the inverse


def test_inverted_residual_seed_example_parameter_count() -> None:
    # seed 004's InvertedResidual(16 → 16, expand 6): pw 16·96, dw 96·9, pw-linear 96·16, BN 2·(96+96+16)
    block = InvertedResidual(cnf("mbconv", 16, 16, 96, activation="relu6"))
    assert n_params(block) == 16 * 96 + 96 * 9 + 96 * 16 + 2 * (96 + 96 + 16)
    assert block.skip
    assert not InvertedResidual(cnf("mbconv", 16, 24, 96)).skip
    assert not InvertedResidual(cnf("mbconv", 16, 16, 96, stride=2)).skip
    assert not InvertedResidual(cnf("mbconv", 16, 16, 96, skip=False)).skip
    # a config that claims a skip the shapes cannot have is not trusted
    assert not InvertedResidual(Layer("mbconv", 16, 24, 96, 3, 1, "relu", skip=True)).skip
    assert isinstance(InvertedResidual(cnf("mbconv", 16, 24, 16)).conv_pw, nn.Identity)  # expand ratio 1: no expand


def test_residual_adds_the_input() -> None:
    torch.manual_seed(0)
    block = InvertedResidual(cnf("mbconv", 8, 8, 16)).eval()
    x = torch.randn(1, 8, 8, 8)
    with torch.no_grad():
        assert torch.allclose(block(x), x + block.body(x))


def test_squeeze_excite_shapes_and_gate() -> None:
    se = SqueezeExcite(96, 4, act=nn.ReLU, gate=nn.Hardsigmoid)
    assert n_params(se) == 96 * 4 + 4 + 4 * 96 + 96
    assert isinstance(se.gate, nn.Hardsigmoid)
    x = torch.randn(2, 96, 5, 5)
    assert se(x).shape == x.shape


def test_shuffle_unit_forms() -> None:
    down = ShuffleUnit(cnf("shuffle", 24, 116, stride=2))
    assert down(torch.randn(1, 24, 16, 16)).shape == (1, 116, 8, 8)
    basic = ShuffleUnit(cnf("shuffle", 116, 116))
    assert basic.split and isinstance(basic.branch1, nn.Identity)
    # torchvision's basic unit: 1x1 58→58, dw 3x3 58, 1x1 58→58, each with BN
    assert n_params(basic) == 58 * 58 * 2 + 58 * 9 + 3 * 2 * 58
    widen = ShuffleUnit(cnf("shuffle", 24, 48))
    assert not widen.split and widen(torch.randn(1, 24, 8, 8)).shape == (1, 48, 8, 8)


def test_shuffle_unit_passes_half_the_channels_through() -> None:
    unit = ShuffleUnit(cnf("shuffle", 8, 8)).eval()
    x = torch.randn(1, 8, 4, 4)
    with torch.no_grad():
        out = unit(x)
    # after the 2-group shuffle, even output channels are the untouched first half
    assert torch.equal(out[:, 0::2], x[:, :4])


def test_drop_path_only_in_training() -> None:
    dp = DropPath(0.5)
    x = torch.ones(64, 3, 2, 2)
    assert torch.equal(dp.eval()(x), x)
    torch.manual_seed(0)
    y = dp.train()(x)
    kept = (y[:, 0, 0, 0] > 0).float().mean().item()
    assert 0.2 < kept < 0.8 and set(y.unique().tolist()) <= {0.0, 2.0}
