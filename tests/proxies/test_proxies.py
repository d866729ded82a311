"""Zero-cost accuracy proxies (nas.proxies): registry, contract (determinism, no side effects, failures
are never values) and the values themselves on small conv / MBConv networks, 10 classes, 32×32 inputs."""
from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import nas.proxies as proxies
from nas.proxies.base import prunable_layers, working_copy
from nas.proxies.meco import min_eig_correlation
from nas.proxies.synflow import SynFlow
from nas.proxies.zico import split_gradients, zico_from_gradients

ALL = ("synflow", "naswot", "snip", "grad_norm", "zico", "meco", "params", "macs")
USES_OUTPUT = ("synflow", "snip", "grad_norm", "zico")
N = 16


# ------------------------------------------------------------------------------------------ test models

class MBConv(nn.Module):
    """1×1 expand-BN-act → 3×3 depthwise-BN-act → 1×1 project-BN, plus a residual when shapes allow."""

    def __init__(self, cin: int, cout: int, expand: int = 4, stride: int = 1, act: type[nn.Module] = nn.SiLU):
        super().__init__()
        mid = cin * expand
        self.pw = nn.Sequential(nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), act(inplace=True))
        self.dw = nn.Sequential(nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), nn.BatchNorm2d(mid),
                                act(inplace=True))
        self.pwl = nn.Sequential(nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = self.pwl(self.dw(self.pw(x)))
        return x + y if self.skip else y


def conv_bn_act(cin, cout, stride=1, act=nn.ReLU):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), act(inplace=True))


def mobilenet_init(model: nn.Module) -> nn.Module:
    """torchvision's MobileNet initialisation (Kaiming-normal fan-out convs), as nas.builder uses."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
    return model


class TinyNet(nn.Module):
    """Two conv-BN-ReLU, three MBConv blocks (SiLU, Hardswish, ReLU6), dropout and a linear head."""

    def __init__(self, width: int = 8, num_classes: int = 10, act6: type[nn.Module] = nn.ReLU6):
        super().__init__()
        w = width
        self.stem = nn.Sequential(conv_bn_act(3, w), conv_bn_act(w, w, stride=2))
        self.blocks = nn.Sequential(MBConv(w, w, act=nn.SiLU), MBConv(w, 2 * w, stride=2, act=nn.Hardswish),
                                    MBConv(2 * w, 2 * w, act=act6))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                                  nn.Linear(2 * w, num_classes))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


class DeepMBConvNet(nn.Module):
    """A 20-block MBConv (SiLU) network down to 1×1 at 32 px: the depth at which synflow can overflow."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        widths = [(16, 1, 1), (24, 2, 3), (32, 2, 4), (64, 2, 4), (96, 1, 4), (160, 2, 3), (320, 1, 1)]
        layers, cin = [], 16
        for cout, stride, repeats in widths:
            for i in range(repeats):
                layers.append(MBConv(cin, cout, expand=1 if cout == 16 else 6, stride=stride if i == 0 else 1))
                cin = cout
        assert len(layers) == 20
        self.stem = conv_bn_act(3, 16, stride=2, act=nn.SiLU)
        self.blocks = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Conv2d(cin, 640, 1, bias=False), nn.BatchNorm2d(640), nn.SiLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(640, num_classes))
        mobilenet_init(self)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


class Poisoned(nn.Module):
    """Wraps a network and multiplies its output (``where="output"``) or its input by NaN."""

    def __init__(self, net: nn.Module, where: str = "output"):
        super().__init__()
        self.net, self.where = net, where

    def forward(self, x):
        if self.where == "input":
            return self.net(x * float("nan"))
        return self.net(x) * float("nan")


def tiny(width=8, seed=0, **kw) -> TinyNet:
    torch.manual_seed(seed)
    return mobilenet_init(TinyNet(width, **kw))


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(1234)
    return torch.randn(N, 3, 32, 32, generator=g), torch.randint(0, 10, (N,), generator=g)


def snapshot(model: nn.Module):
    return ({k: v.clone() for k, v in model.state_dict().items()},
            [m.training for m in model.modules()],
            [p.requires_grad for p in model.parameters()],
            [None if p.grad is None else p.grad.clone() for p in model.parameters()])


def assert_same(model: nn.Module, snap) -> None:
    state, modes, req, grads = snap
    now = model.state_dict()
    assert now.keys() == state.keys()
    for k in state:
        assert torch.equal(now[k], state[k]), k
    assert [m.training for m in model.modules()] == modes
    assert [p.requires_grad for p in model.parameters()] == req
    for p, g in zip(model.parameters(), grads):
        assert (p.grad is None) == (g is None) and (g is None or torch.equal(p.grad, g))


# ------------------------------------------------------------------------------------------- registry

def test_registry():
    assert proxies.names() == ALL
    for name in ALL:
        assert proxies.get(name).name == name
        assert proxies.get(name).__doc__ and "Sign" in proxies.get(name).__doc__
    assert tuple(n for n in ALL if proxies.get(n).uses_output) == USES_OUTPUT
    with pytest.raises(KeyError, match="flops"):
        proxies.get("flops")
    with pytest.raises(ValueError):
        proxies.register(SynFlow())


# ------------------------------------------------------------------------------------------- contract

@pytest.mark.parametrize("name", ALL)
def test_deterministic_and_caller_model_untouched(name, data):
    x, y = data
    model = tiny()
    model.train()
    model.blocks[1].eval()  # a mixed train/eval state must survive too
    model.stem[0][1].weight.requires_grad_(False)
    model.head[3].weight.grad = torch.full_like(model.head[3].weight, 0.5)  # a stale gradient of the caller
    snap = snapshot(model)
    rng = torch.get_rng_state()

    r1 = proxies.compute(name, model, x, y, seed=3)
    r2 = proxies.compute(name, model, x, y, seed=3)

    assert r1.ok and r2.ok, (r1.reason, r2.reason)
    assert r1.name == name and r1.reason is None and r1.seconds >= 0
    assert isinstance(r1.value, float) and math.isfinite(r1.value)
    assert r1.value == r2.value  # exactly
    assert_same(model, snap)
    assert torch.equal(torch.get_rng_state(), rng)
    # the score does not depend on the caller's train/eval mode, nor on an enclosing no_grad()
    model.eval()
    with torch.no_grad():
        assert proxies.compute(name, model, x, y, seed=3).value == r1.value


@pytest.mark.parametrize("name", USES_OUTPUT)
def test_nan_output_is_a_failure(name, data):
    x, y = data
    r = proxies.compute(name, Poisoned(tiny()), x, y)
    assert not r.ok and r.value is None
    assert r.reason.startswith(f"{name}: ") and "non-finite" in r.reason and "nan" in r.reason


@pytest.mark.parametrize("name", ("naswot", "meco", "params", "macs"))
def test_proxies_without_output_ignore_a_nan_output(name, data):
    x, y = data
    assert proxies.compute(name, Poisoned(tiny()), x, y).value == proxies.compute(name, tiny(), x, y).value


@pytest.mark.parametrize("name", ("synflow", "naswot", "snip", "grad_norm", "zico", "meco"))
def test_nan_activations_are_a_failure(name, data):
    x, y = data
    r = proxies.compute(name, Poisoned(tiny(), where="input"), x, y)
    assert not r.ok and r.value is None
    assert r.reason.startswith(f"{name}: ") and "non-finite" in r.reason


@pytest.mark.parametrize("name", ALL)
def test_exception_inside_proxy_is_a_failure(name, data):
    x, y = data
    bad = torch.randn(N, 5, 32, 32)  # the stem wants 3 channels
    r = proxies.compute(name, tiny(), bad, y)
    if name == "params":  # does not look at the batch
        assert r.ok
    else:
        assert not r.ok and r.value is None and r.reason.startswith(f"{name}: ")
        assert "RuntimeError" in r.reason or "channels" in r.reason


def test_non_finite_value_is_a_failure_from_score():
    class Inf(proxies.Proxy):
        name = "inf"

        def _score(self, model, batch, targets):
            return float("inf")

    with pytest.raises(proxies.ProxyError, match=r"non-finite value \(inf\)"):
        Inf().score(nn.Linear(2, 2), torch.zeros(2, 2), None)


def test_labels_are_required_by_loss_based_proxies(data):
    x, _ = data
    for name in ("snip", "grad_norm", "zico"):
        r = proxies.compute(name, tiny(), x, None)
        assert not r.ok and "targets" in r.reason
    for name in ("synflow", "naswot", "meco", "params", "macs"):
        assert proxies.compute(name, tiny(), x, None).ok


# -------------------------------------------------------------------------------------------- values

def test_params_exact():
    x = torch.zeros(1, 3, 32, 32)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8 * 30 * 30, 10))
    assert proxies.compute("params", model, x, None).value == 216 + 16 + 72000 + 10
    tn = tiny()
    assert proxies.compute("params", tn, x, None).value == sum(p.numel() for p in tn.parameters()) == 6066
    model[1].requires_grad_(False)  # frozen: not trainable
    assert proxies.compute("params", model, x, None).value == 216 + 72000 + 10
    shared = nn.Sequential(model[0], model[0])  # one conv used twice: its weight counts once
    assert proxies.compute("params", shared, x, None).value == 216


def test_macs_single_conv():
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    r = proxies.compute("macs", conv, torch.randn(N, 3, 32, 32), None)  # counted for one image
    assert r.ok and r.value == 3 * 8 * 9 * 32 * 32 == 221_184
    assert conv.training  # the copy was put in eval mode, not the caller's module


def test_snip_and_grad_norm_match_a_direct_computation(data):
    x, y = data
    model = tiny()
    net = working_copy(model, bn="train")  # BN on batch statistics, dropout off
    F.cross_entropy(net(x), y).backward()
    layers = [m for _, m in prunable_layers(net)]
    assert len(layers) == 12  # 2 stem convs, 3×3 block convs, the classifier
    snip = sum((m.weight * m.weight.grad).abs().sum().item() for m in layers)
    gnorm = sum(m.weight.grad.norm().item() for m in layers)
    assert proxies.compute("snip", model, x, y).value == pytest.approx(snip, rel=1e-6)
    assert proxies.compute("grad_norm", model, x, y).value == pytest.approx(gnorm, rel=1e-6)


def naive_synflow(model: nn.Module, shape) -> float:
    """Σ|θ⊙∂L/∂θ| computed the direct way: float64, BN removed, |θ|, all-ones input."""
    net = working_copy(model, bn="remove", dtype=torch.float64)
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    net(torch.ones((1, *shape), dtype=torch.float64)).sum().backward()
    return sum((m.weight * m.weight.grad).abs().sum().item() for _, m in prunable_layers(net))


def test_synflow_is_log_of_the_synaptic_flow(data):
    x, y = data
    model = tiny(act6=nn.ReLU)  # no ReLU6: SynFlow leaves the network as it is
    expected = math.log(naive_synflow(model, x.shape[1:]))
    assert proxies.compute("synflow", model, x, y).value == pytest.approx(expected, rel=1e-12)


def test_synflow_relu6_is_counted_as_relu(data):
    x, _ = data
    torch.manual_seed(0)
    relu6 = mobilenet_init(nn.Sequential(
        conv_bn_act(3, 8, act=nn.ReLU6), conv_bn_act(8, 16, 2, act=nn.ReLU6), conv_bn_act(16, 16, act=nn.ReLU6),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10)))
    relu = copy.deepcopy(relu6)
    for block in relu[:3]:
        block[2] = nn.ReLU(inplace=True)
    # as is, every ReLU6 saturates on the all-ones input: only the classifier gets a gradient, and the
    # score is log Σ W·6 whatever the convolutions are
    raw = SynFlow(relu6_as_relu=False).score(relu6, x, None)
    classifier = relu6[5].weight.detach().double().abs().sum().item() * 6
    assert raw == pytest.approx(math.log(classifier), rel=1e-12)
    assert raw == pytest.approx(math.log(naive_synflow(relu6, (3, 32, 32))), rel=1e-12)
    # the default linearises ReLU6 like ReLU: same score as the ReLU twin, and far above the clipped one
    linearised = proxies.compute("synflow", relu6, x, None).value
    assert linearised == pytest.approx(proxies.compute("synflow", relu, x, None).value, rel=1e-12)
    assert linearised > raw + 1


def test_synflow_finite_for_a_20_block_mbconv_net():
    torch.manual_seed(0)
    model = DeepMBConvNet()
    x = torch.randn(2, 3, 32, 32)
    r = proxies.compute("synflow", model, x, None)
    assert r.ok and math.isfinite(r.value), r.reason
    # the synaptic flow is huge (≈ e^65 for this net) but far inside float64's range (e^709.8)
    assert 40 < r.value < 700
    # log-sum over layers agrees with the direct float64 sum, where it is representable
    assert r.value == pytest.approx(math.log(naive_synflow(model, (3, 32, 32))), rel=1e-9)


def test_synflow_grows_with_width(data):
    x, _ = data
    narrow = proxies.compute("synflow", tiny(8), x, None).value
    wide = proxies.compute("synflow", tiny(16), x, None).value
    assert wide > narrow + math.log(2)


def test_naswot_identical_codes_score_lower(data):
    x, y = data
    model = tiny()
    random = proxies.compute("naswot", model, x, y)
    near = proxies.compute("naswot", model, x[:1] + 1e-3 * torch.randn(N, 3, 32, 32), y)
    same = proxies.compute("naswot", model, x[:1].expand(N, -1, -1, -1).clone(), y)
    assert random.ok and near.ok
    assert near.value < random.value - 10
    # identical images → identical codes → singular kernel: log det = -inf, a failure and not a value
    assert not same.ok and same.value is None and "singular" in same.reason and "-inf" in same.reason


def test_naswot_kernel_value_on_a_tiny_case():
    # one ReLU on 2 units; codes of the 3 images: [1,0], [1,0], [0,1] → K = 2 - Hamming distance
    model = nn.Sequential(nn.Flatten(), nn.ReLU())
    x = torch.tensor([[1.0, -1.0], [2.0, -3.0], [-1.0, 1.0]])
    k = torch.tensor([[2.0, 2.0, 0.0], [2.0, 2.0, 0.0], [0.0, 0.0, 2.0]])
    r = proxies.compute("naswot", model, x, None)
    assert not r.ok and "singular" in r.reason  # images 0 and 1 share a code
    x[1] = torch.tensor([-2.0, -3.0])  # codes [1,0], [0,0], [0,1]
    k = torch.tensor([[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]])
    assert proxies.compute("naswot", model, x, None).value == pytest.approx(torch.logdet(k.double()).item())


def test_zico_zeroes_gradients_between_mini_batches(data):
    x, y = data
    model = tiny()
    value = proxies.compute("zico", model, x, y).value
    halves = [(x[:N // 2], y[:N // 2]), (x[N // 2:], y[N // 2:])]

    # each mini-batch's gradient on its own: a fresh copy per mini-batch
    fresh = []
    for xb, yb in halves:
        net = working_copy(model, bn="train")
        F.cross_entropy(net(xb), yb).backward()
        fresh.append({n: m.weight.grad.reshape(-1).double() for n, m in prunable_layers(net)})
    correct = {n: torch.stack([fresh[0][n], fresh[1][n]]) for n in fresh[0]}

    # what the proxy records: row i is mini-batch i alone
    rows = split_gradients(working_copy(model, bn="train"), x, y, 2)
    for n in correct:
        assert torch.allclose(rows[n], correct[n], rtol=1e-5, atol=1e-9), n

    # the reference bug: no zero_grad, row 1 holds the sum of both mini-batches
    net = working_copy(model, bn="train")
    acc = []
    for xb, yb in halves:
        F.cross_entropy(net(xb), yb).backward()
        acc.append({n: m.weight.grad.reshape(-1).double().clone() for n, m in prunable_layers(net)})
    buggy = {n: torch.stack([acc[0][n], acc[1][n]]) for n in acc[0]}

    assert value == pytest.approx(zico_from_gradients(correct), rel=1e-6)
    assert abs(value - zico_from_gradients(buggy)) > 1.0


def test_zico_value_on_known_gradients():
    # one layer, two mini-batches, two weights: g = [[1, 2], [3, 2]] → std [1, 0], mean|g| [2, 2];
    # the zero-std weight is left out: log(2 / 1)
    assert zico_from_gradients({"a": torch.tensor([[1.0, 2.0], [3.0, 2.0]])}) == pytest.approx(math.log(2))
    assert zico_from_gradients({"a": torch.zeros(2, 3)}) == 0.0  # no signal at all: the layer is skipped
    assert math.isnan(zico_from_gradients({"a": torch.tensor([[1.0, float("nan")], [3.0, 2.0]])}))


def test_zico_needs_two_images(data):
    x, y = data
    r = proxies.compute("zico", tiny(), x[:1], y[:1])
    assert not r.ok and "at least 2" in r.reason


def test_meco_value_and_redundant_channels():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 6, 3, padding=1, bias=False)
    x = torch.randn(4, 3, 32, 32)
    out = conv(x)[0].detach().reshape(6, -1).double()
    expected = torch.linalg.eigvalsh(torch.corrcoef(out)).min().item()
    value = proxies.compute("meco", conv, x, None).value
    assert value == pytest.approx(expected, rel=1e-9) and value > 0.05
    assert min_eig_correlation(conv(x)[0]) == pytest.approx(expected, rel=1e-9)

    with torch.no_grad():
        conv.weight[3:] = conv.weight[:3]  # channels 3..5 repeat channels 0..2: correlation matrix singular
    assert abs(proxies.compute("meco", conv, x, None).value) < 1e-9


def test_meco_sums_over_conv_layers_of_the_first_image(data):
    x, y = data
    model = tiny()
    net = working_copy(model, bn="train")
    maps = []
    hooks = [m.register_forward_hook(lambda m, i, o: maps.append(o[0].detach().clone()))
             for m in net.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    assert len(maps) == 11
    expected = sum(min_eig_correlation(f) for f in maps)
    assert proxies.compute("meco", model, x, y).value == pytest.approx(expected, rel=1e-9)


def test_compute_all(data):
    x, y = data
    results = proxies.compute_all(tiny(), x, y, ["params", "macs"])
    assert list(results) == ["params", "macs"]
    assert all(r.ok for r in results.values())
    assert results["params"].to_dict()["name"] == "params"
