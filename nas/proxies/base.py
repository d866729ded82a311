"""What every zero-cost accuracy proxy shares: the :class:`Proxy` interface, :class:`ProxyResult`,
:class:`ProxyError`, and the working-copy and loss helpers.

Conventions, the same for every proxy
-------------------------------------
* **Sign.** Higher means "predicted more accurate". None of the proxies here has to be negated for
  this: each paper reports a positive correlation with accuracy for its score as defined. ``synflow``
  is reported as ``log(synflow)``, which keeps the order.
* **No side effects.** A proxy works on a ``copy.deepcopy`` of the caller's model. The caller's weights,
  buffers, ``.grad`` fields, ``requires_grad`` flags and train/eval modes stay as they were.
  :func:`nas.proxies.compute` also restores the global torch RNG state after seeding it.
* **Mode.** Proxies that look at data run the copy with BatchNorm in *train* mode (batch statistics, as
  the reference implementations do: they score freshly built networks in train mode). Every other
  module runs in *eval* mode, so dropout and stochastic depth are off and cannot add seed-dependent
  noise. The result does not depend on the caller's train/eval mode. ``synflow`` removes BatchNorm
  instead (see :mod:`nas.proxies.synflow`).
* **Which weights.** The gradient proxies (``synflow``, ``snip``, ``grad_norm``, ``zico``) sum over the
  weights of convolutions (``nn.Conv1d/2d/3d``, transposed too) and ``nn.Linear``: the "prunable layers"
  of the reference code. Biases and BatchNorm affine parameters are left out. Frozen weights
  (``requires_grad=False``) get no gradient and add nothing.
* **Failures.** A non-finite score, or an exception inside the proxy (shape error, singular kernel,
  ...), is never returned as a value. :meth:`Proxy.score` raises, and :func:`nas.proxies.compute`
  turns that into ``ProxyResult(ok=False, value=None, reason="<name>: ...")``.
"""
from __future__ import annotations

import abc
import copy
import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, ClassVar, Iterator, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

__all__ = [
    "Proxy",
    "ProxyError",
    "ProxyResult",
    "ce_backward",
    "check_finite",
    "forward_logits",
    "model_input",
    "prunable_layers",
    "replace_modules",
    "weight_gradient_sum",
    "working_copy",
]


class ProxyError(RuntimeError):
    """A proxy cannot give a meaningful score (non-finite value, missing layers, too small a batch...)."""


@dataclass(frozen=True)
class ProxyResult:
    """The outcome of one proxy on one model and batch.

    ``ok`` is True exactly when ``value`` is a finite float. Otherwise ``value`` is None and ``reason``
    says why, prefixed by the proxy name, e.g. ``"synflow: non-finite model output (nan)"``.
    ``seconds`` is the wall-clock time of the call, including the model copy.
    """

    name: str
    value: float | None
    ok: bool
    reason: str | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Proxy(abc.ABC):
    """A zero-cost accuracy proxy: ``score(model, batch, targets) -> float``, higher means better.

    Subclasses set :attr:`name` and implement :meth:`_score`, which receives the caller's model. It must
    work on :func:`working_copy` (never on the model itself) and may raise :class:`ProxyError`.
    :meth:`score` adds the finiteness check.
    """

    name: ClassVar[str]
    #: True when the score depends on the network's output (a loss, or its gradient). A network that
    #: outputs NaN then gets a failed score.
    uses_output: ClassVar[bool] = True

    def score(self, model: nn.Module, batch: Tensor, targets: Tensor | None) -> float:
        """The proxy value for ``model`` on ``batch`` (N×C×H×W) with integer class ``targets`` (N,).

        Raises :class:`ProxyError` (or whatever the model raises) instead of returning NaN or ±inf.
        """
        value = float(self._score(model, batch, targets))
        if not math.isfinite(value):
            raise ProxyError(f"non-finite value ({value})")
        return value

    @abc.abstractmethod
    def _score(self, model: nn.Module, batch: Tensor, targets: Tensor | None) -> float:
        ...

    def __repr__(self) -> str:
        return f"<proxy {self.name}>"


# --------------------------------------------------------------------------------------------- helpers

BnMode = Literal["train", "eval", "remove"]


def working_copy(model: nn.Module, *, bn: BnMode = "train", dtype: torch.dtype | None = None) -> nn.Module:
    """A deep copy of ``model`` to score, with no ``.grad`` left over and every module in eval mode
    except BatchNorm, which is put in ``bn`` mode: ``"train"`` (batch statistics), ``"eval"`` (running
    statistics) or ``"remove"`` (replaced by ``nn.Identity``). ``dtype`` converts the floating-point
    parameters and buffers."""
    m = copy.deepcopy(model)
    for p in m.parameters():
        p.grad = None
    if dtype is not None:
        m.to(dtype)
    if bn == "remove":
        replace_modules(m, _BatchNorm, lambda old: nn.Identity())
    m.eval()
    if bn == "train":
        for mod in m.modules():
            if isinstance(mod, _BatchNorm):
                mod.train()
    return m


def replace_modules(root: nn.Module, kind: type | tuple[type, ...],
                    factory: Callable[[nn.Module], nn.Module]) -> int:
    """Replace, in place, every submodule of type ``kind`` by ``factory(old)``. Returns how many were
    replaced. ``root`` itself is never replaced."""
    n = 0
    for name, child in list(root.named_children()):
        if isinstance(child, kind):
            setattr(root, name, factory(child))
            n += 1
        else:
            n += replace_modules(child, kind, factory)
    return n


def model_input(model: nn.Module, batch: Tensor) -> Tensor:
    """``batch`` detached, on the model's device, in the model's floating-point dtype."""
    p = next(model.parameters(), None)
    if p is None:
        return batch.detach()
    return batch.detach().to(device=p.device, dtype=p.dtype if batch.is_floating_point() else None)


def prunable_layers(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """``(name, module)`` for each convolution and ``nn.Linear`` with a weight, in module order."""
    for name, mod in model.named_modules():
        if isinstance(mod, (_ConvNd, nn.Linear)) and isinstance(getattr(mod, "weight", None), Tensor):
            yield name, mod


def check_finite(t: Tensor, what: str) -> None:
    """Raise :class:`ProxyError` naming the first kind of non-finite value in ``t`` (nan, then ±inf)."""
    if torch.isfinite(t).all():
        return
    kind = "nan" if torch.isnan(t).any() else ("inf" if (t == math.inf).any() else "-inf")
    raise ProxyError(f"non-finite {what} ({kind})")


def forward_logits(model: nn.Module, x: Tensor) -> Tensor:
    """``model(x)``, taking the first element when the model returns a tuple or list."""
    out = model(x)
    if isinstance(out, (tuple, list)):
        out = out[0]
    check_finite(out.detach(), "model output")
    return out


def ce_backward(model: nn.Module, batch: Tensor, targets: Tensor | None) -> Tensor:
    """Forward ``batch``, take the cross-entropy against ``targets`` and backpropagate it into
    ``model``'s ``.grad`` fields. Gradients are enabled even inside ``torch.no_grad()``. Returns the
    loss, detached."""
    if targets is None:
        raise ProxyError("needs class targets for the cross-entropy loss")
    x = model_input(model, batch)
    y = targets.detach().to(device=x.device, dtype=torch.long)
    with torch.enable_grad():
        logits = forward_logits(model, x)
        loss = F.cross_entropy(logits, y)
        check_finite(loss.detach(), "loss")
        loss.backward()
    return loss.detach()


def weight_gradient_sum(model: nn.Module, batch: Tensor, targets: Tensor | None,
                        per_layer: Callable[[Tensor, Tensor], Tensor]) -> float:
    """Backpropagate the batch's cross-entropy into a BatchNorm-in-train-mode working copy of ``model``
    (:func:`working_copy`, :func:`ce_backward`) and sum ``per_layer(weight, grad)`` over its prunable layers
    (:func:`prunable_layers`) in float64. Layers without a gradient add nothing."""
    net = working_copy(model, bn="train")
    ce_backward(net, batch, targets)
    total = torch.zeros((), dtype=torch.float64)
    for _, layer in prunable_layers(net):
        if layer.weight.grad is not None:
            total += per_layer(layer.weight.detach(), layer.weight.grad).double().cpu()
    return total.item()
