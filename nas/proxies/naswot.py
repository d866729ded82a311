"""NASWOT: how distinct the binary activation codes of a batch are.

Mellor et al., "Neural Architecture Search without Training", ICML 2021 (reference code:
BayesWatch/nas-without-training; ``nwot`` in SamsungLabs/zero-cost-nas).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from nas.proxies.base import Proxy, ProxyError, check_finite, model_input, working_copy

__all__ = ["ACTIVATIONS", "NASWOT", "activation_kernel"]

#: Modules whose input sign is read as the unit's binary code. For ReLU the code is "unit active"; for
#: the smooth or clipped variants it is the same sign test on the pre-activation.
ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU, nn.LeakyReLU, nn.GELU, nn.ELU, nn.Mish,
)


def activation_kernel(model: nn.Module, x: Tensor) -> tuple[Tensor, int]:
    """The NASWOT kernel of ``model`` on ``x``: ``K = Σ_layers c·cᵀ + (1-c)·(1-c)ᵀ`` (float64, N×N),
    where ``c`` (N × units) is ``pre-activation > 0`` at each activation module. Also returns the
    number of activation calls seen.

    ``K[i, j]`` is the number of units on which images i and j agree, i.e. units minus the Hamming
    distance between their codes. The codes are read by a *forward pre-hook*, so in-place activations
    (``inplace=True``) cannot overwrite the pre-activation first."""
    n = x.shape[0]
    k = torch.zeros(n, n, dtype=torch.float64, device=x.device)
    calls = 0

    def hook(module: nn.Module, inputs: tuple[Tensor, ...]) -> None:
        nonlocal k, calls
        pre = inputs[0].detach()
        check_finite(pre, f"pre-activation at {type(module).__name__}")
        c = (pre.reshape(pre.shape[0], -1) > 0).to(torch.float64)
        r = c.sum(1)
        # c cᵀ + (1-c)(1-c)ᵀ = 2 c cᵀ - r_i - r_j + units; integer-valued, exact in float64 below 2**53
        k = k + 2 * (c @ c.T) - r[:, None] - r[None, :] + c.shape[1]
        calls += 1

    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, ACTIVATIONS)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return k, calls


class NASWOT(Proxy):
    """``log|det K|`` of the NASWOT activation kernel (see :func:`activation_kernel`) over the batch.
    Computed in float64 with ``torch.linalg.slogdet``. Labels are not used. **Sign:** higher is better
    (the network tells the images of the batch apart more).

    Activation modules: ``nn.ReLU``, ``ReLU6``, ``Hardswish``, ``SiLU`` (and LeakyReLU, GELU, ELU, Mish),
    including those inside squeeze-excitation. The code is ``input > 0`` in every case. Activations
    called as functions (``F.relu``) are not seen. A network without any activation module fails.

    If the batch holds duplicate images, or the network maps distinct images to identical codes, K is
    singular and ``log det K = -inf``. That is reported as a failure ("non-finite value (-inf)"), not as
    a very low score. The batch needs at least 2 images.
    """

    name = "naswot"
    uses_output = False

    def _score(self, model: nn.Module, batch: Tensor, targets: Tensor | None) -> float:
        if batch.shape[0] < 2:
            raise ProxyError("needs a batch of at least 2 images")
        net = working_copy(model, bn="train")
        k, calls = activation_kernel(net, model_input(net, batch))
        if calls == 0:
            raise ProxyError("no activation module (ReLU, ReLU6, Hardswish, SiLU, ...) found")
        sign, logdet = torch.linalg.slogdet(k)
        if sign <= 0:
            raise ProxyError("non-finite value (-inf): activation kernel is singular "
                             "(identical activation codes in the batch)")
        return logdet.item()
