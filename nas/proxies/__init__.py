"""Zero-cost accuracy proxies: a score for an untrained network that is meant to rank architectures by
their accuracy after training.

One interface, ``score(model, batch, targets) -> float`` (see :class:`~nas.proxies.base.Proxy`), and a
registry::

    >>> import torch, nas.proxies as proxies
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1, bias=False))
    >>> proxies.names()
    ('synflow', 'naswot', 'snip', 'grad_norm', 'zico', 'meco', 'params', 'macs')
    >>> proxies.compute("macs", model, torch.zeros(16, 3, 32, 32), None).value
    221184.0

Every proxy follows the same rules (details in :mod:`nas.proxies.base`):

* **Higher is better**, for every proxy. ``synflow`` is reported as ``log(synflow)``.
* **The caller's model is not modified.** Each proxy scores a deep copy. :func:`compute` seeds torch's
  RNG with ``seed`` and restores the previous RNG state afterwards, so the same model, batch and seed
  give exactly the same value.
* **Failures are not values.** NaN or ±inf, or an exception inside the proxy, gives
  ``ProxyResult(ok=False, value=None, reason="<name>: ...")``.

========== ======================================================== ==============================
name       what is computed                                         reference
========== ======================================================== ==============================
synflow    log Σ|θ⊙∂L/∂θ|, |θ|, all-ones input, float64, no BN      Tanaka 2020; Abdelfattah 2021
naswot     log det of the binary activation-code kernel             Mellor et al. 2021
snip       Σ|θ⊙∂CE/∂θ|                                              Lee et al. 2019
grad_norm  Σ_layers ‖∂CE/∂W‖₂                                       Abdelfattah et al. 2021
zico       Σ_layers log Σ mean|g|/std(g) over 2 mini-batches        Li et al. 2023
meco       Σ_conv λ_min(channel correlation), one image (MeCo)      Jiang et al. 2023
params     trainable parameters                                     baseline
macs       fvcore multiply-accumulates, one image                   baseline
========== ======================================================== ==============================
"""
from __future__ import annotations

import time
from typing import Iterable

import torch
from torch import Tensor, nn

from nas.proxies.base import Proxy, ProxyError, ProxyResult
from nas.proxies.baselines import MACs, Params
from nas.proxies.grad_norm import GradNorm
from nas.proxies.meco import MeCo
from nas.proxies.naswot import NASWOT
from nas.proxies.snip import Snip
from nas.proxies.synflow import SynFlow
from nas.proxies.zico import ZiCo

__all__ = ["Proxy", "ProxyError", "ProxyResult", "compute", "compute_all", "get", "names", "register"]

_REGISTRY: dict[str, Proxy] = {}
_MAX_REASON = 500


def register(proxy: Proxy, *, replace: bool = False) -> Proxy:
    """Add ``proxy`` to the registry under ``proxy.name``. Returns it."""
    if proxy.name in _REGISTRY and not replace:
        raise ValueError(f"a proxy named {proxy.name!r} is already registered")
    _REGISTRY[proxy.name] = proxy
    return proxy


def get(name: str) -> Proxy:
    """The registered proxy called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown proxy {name!r}; expected one of {', '.join(_REGISTRY)}") from None


def names() -> tuple[str, ...]:
    """The names of the registered proxies, in registration order."""
    return tuple(_REGISTRY)


def _reason(name: str, exc: BaseException) -> str:
    msg = str(exc).strip().replace("\n", " ")
    text = msg if isinstance(exc, ProxyError) else f"{type(exc).__name__}: {msg}"
    if len(text) > _MAX_REASON:
        text = text[: _MAX_REASON - 3] + "..."
    return f"{name}: {text}"


def compute(name: str, model: nn.Module, batch: Tensor, targets: Tensor | None, *, seed: int = 0) -> ProxyResult:
    """Score ``model`` with the proxy ``name`` on ``batch`` (N×C×H×W) and ``targets`` (N class indices;
    the proxies that use no labels accept None).

    torch's global RNG is seeded with ``seed`` for the call and then restored. A non-finite value, or any
    exception raised by the proxy or the model, gives ``ok=False`` with a reason. An unknown ``name``
    raises ``KeyError``."""
    proxy = get(name)
    start = time.perf_counter()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            value = proxy.score(model, batch, targets)
    except Exception as exc:  # noqa: BLE001 - any failure inside a proxy is a failed score, by contract
        return ProxyResult(name, None, False, _reason(name, exc), time.perf_counter() - start)
    return ProxyResult(name, value, True, None, time.perf_counter() - start)


def compute_all(model: nn.Module, batch: Tensor, targets: Tensor | None, proxies: Iterable[str] | None = None,
                *, seed: int = 0) -> dict[str, ProxyResult]:
    """:func:`compute` for each name in ``proxies`` (default: all registered), as ``{name: result}``."""
    return {n: compute(n, model, batch, targets, seed=seed) for n in (names() if proxies is None else proxies)}


for _proxy in (SynFlow(), NASWOT(), Snip(), GradNorm(), ZiCo(), MeCo(), Params(), MACs()):
    register(_proxy)
del _proxy
