"""The rules every value of an architecture obeys, whatever the route it came by.

An :class:`~nas.arch.spec.Arch` and its parts check their own fields when they are made (``__post_init__``):
from a YAML file, a dict, block strings, ``Arch(...)`` directly, ``dataclasses.replace``, ``Arch.replace`` or
``build_model(..., num_classes=...)`` — one rule, one message. A problem is an :class:`ArchError` that knows
its location and problem; made directly its source is the class (``<BlockArgs>: kernel_size: …``), and a
parser re-raises it with its own source and the location it was reading (:meth:`ArchError.at`)::

    arch.yaml: blocks[3].kernel_size: must be one of 3, 5, 7 (got 4)

The rules that tie one block's fields together (a kind's kernels, ``expand_ratio`` 1 outside ``mbconv``, …)
are :func:`block_rules`: a lone :class:`~nas.arch.spec.BlockArgs` is a stage *template* (search spaces make
them before the input width and the kind's constraints are settled, with ``input_filters`` 0), so they are
checked when a block becomes part of an ``Arch`` or is read from a dict.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, NoReturn

__all__ = [
    "ACTIVATIONS", "BLOCK_KINDS", "BN_MOMENTUM_MAX", "HEAD_WIDTH_RULES", "KERNELS", "LIMITS", "SE_GATES", "SE_SOURCES",
    "STEM_POOLS", "STRIDES", "ArchError", "block_rules", "bn_momentum", "boolean", "choice", "fail", "integer",
    "kernel", "normalise_number", "number",
]

BLOCK_KINDS = ("ds", "mbconv", "shuffle", "conv")
ACTIVATIONS = ("relu", "relu6", "swish", "hswish")
SE_GATES = ("sigmoid", "hsigmoid")
SE_SOURCES = ("input", "expanded")
STEM_POOLS = ("none", "max")
#: How the width multiplier reaches the head's widths (``HeadArgs.width_rule``, see its docstring).
HEAD_WIDTH_RULES = ("scale", "fixed", "grow")
KERNELS = {"ds": (3, 5, 7), "mbconv": (3, 5, 7), "shuffle": (3, 5, 7), "conv": (1, 3, 5, 7)}
STRIDES = (1, 2)
#: The largest BatchNorm momentum accepted, in PyTorch's meaning (the weight of the *current* batch). The
#: reference nets use 0.1 (PyTorch/torchvision default), 0.01 (TF-ported EfficientNet, MobileNetV3) and
#: 0.0003 (MnasNet); a value above 0.5 would trust one batch more than all the history, which no reference
#: does — it is TensorFlow's meaning (decay 0.9, 0.99, 0.997, 0.9997), whose PyTorch value is 1 − it.
BN_MOMENTUM_MAX = 0.5
#: Upper bounds on sizes, far above every published mobile network, so that a typo (``num_repeat: 40000``)
#: is a one-line error instead of a build that runs out of memory or a MACs count that never ends. The
#: largest reference points: EfficientNet-L2 (Xie et al. 2020) at 800 px with 5504 head channels and 22
#: blocks in a stage (``4 × 5.3``); ImageNet-21k has 21,843 classes.
LIMITS = {"resolution": 2048, "num_repeat": 64, "filters": 16384, "num_classes": 100_000, "in_channels": 1024}


class ArchError(ValueError):
    """An invalid architecture: the message is one line, ``source: location: problem``.

    Raised by a field rule it also carries ``where`` (``blocks[3].kernel_size``) and ``problem``, so that a
    caller can report it from its own source with :meth:`at`.
    """

    def __init__(self, message: str, where: str = "", problem: str = ""):
        super().__init__(message)
        self.where, self.problem = where, problem

    def at(self, source: str, prefix: str = "") -> "ArchError":
        """The same problem reported from ``source``, its location under ``prefix`` (e.g. ``blocks[3]``)."""
        if not self.problem:
            return self
        where = ".".join(p for p in (prefix, self.where) if p)
        return ArchError(f"{source}: {where}: {self.problem}", where, self.problem)


def fail(owner: str, where: str, problem: str) -> NoReturn:
    """Raise the :class:`ArchError` of a field rule; ``owner`` (a class name) is its source until a caller
    re-labels it."""
    raise ArchError(f"<{owner}>: {where}: {problem}", where, problem)


def normalise_number(value: Any) -> Any:
    """Normalise a number so that 6.0 and 6 dump identically (``6``); other values unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return int(value) if value.is_integer() else value
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def integer(owner: str, where: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int`` (no bool, no float — ``3.0`` is refused), in ``[minimum, maximum]``."""
    if not _is_int(value):
        fail(owner, where, f"expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        fail(owner, where, f"must be ≥ {minimum} (got {value})")
    if maximum is not None and value > maximum:
        fail(owner, where, f"must be ≤ {maximum} (got {value}); see nas.arch.fields.LIMITS")
    return int(value)


def number(owner: str, where: str, value: Any, lo: float, hi: float, lo_open: bool = False,
           hi_open: bool = False) -> float | int:
    """``value`` as a finite number in ``[lo, hi]`` (``(lo, …`` if ``lo_open``, ``…, hi)`` if ``hi_open``),
    normalised."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        fail(owner, where, f"expected a number, got {value!r}")
    if value < lo or value > hi or (lo_open and value == lo) or (hi_open and value == hi):
        fail(owner, where, f"must be in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'} "
                           f"(got {value!r})")
    return normalise_number(value)


def choice(owner: str, where: str, value: Any, choices: tuple, optional: bool = False) -> Any:
    """``value`` if it is one of ``choices`` *and of their type* (``3.0`` is not the kernel ``3``, ``True``
    not ``1``); ``None`` too when ``optional``."""
    if optional and value is None:
        return None
    same_type = _is_int(value) if _is_int(choices[0]) else isinstance(value, type(choices[0]))
    if not same_type or value not in choices:
        fail(owner, where, f"must be one of {', '.join(map(str, choices))} (got {value!r})")
    return int(value) if _is_int(value) else value


def kernel(owner: str, kind: str, value: Any) -> int:
    """A kernel size any block kind can have (1, 3, 5, 7); the error lists those of ``kind``. Whether ``kind``
    has this one is :func:`block_rules`' business."""
    if not _is_int(value) or value not in KERNELS["conv"]:
        fail(owner, "kernel_size", f"must be one of {', '.join(map(str, KERNELS[kind]))} (got {value!r})")
    return int(value)


def boolean(owner: str, where: str, value: Any) -> bool:
    """``value`` if it is ``True`` or ``False``."""
    if not isinstance(value, bool):
        fail(owner, where, f"expected true or false, got {value!r}")
    return value


def bn_momentum(owner: str, value: Any) -> float | int:
    """PyTorch's BatchNorm momentum in ``(0, BN_MOMENTUM_MAX]``; a TensorFlow-style value gets a hint."""
    value = number(owner, "bn_momentum", value, 0, 1, lo_open=True)
    if value > BN_MOMENTUM_MAX:
        fail(owner, "bn_momentum", f"must be in (0, {BN_MOMENTUM_MAX:g}] (got {value!r}): this is PyTorch's "
                                   f"momentum, 1 − TensorFlow's (TF {value:g} is {1 - value:.4g} here)")
    return value


def block_rules(b: Any) -> None:
    """The rules that tie one block's fields together (``b`` is a :class:`~nas.arch.spec.BlockArgs`)."""
    kind = b.block
    if b.kernel_size not in KERNELS[kind]:
        fail("BlockArgs", "kernel_size", f"must be one of {', '.join(map(str, KERNELS[kind]))} "
                                         f"(got {b.kernel_size!r})")
    if kind != "mbconv" and b.expand_ratio != 1:
        fail("BlockArgs", "expand_ratio", f"must be 1 for a '{kind}' block (got {b.expand_ratio})")
    if kind in ("shuffle", "conv") and b.se_ratio:
        fail("BlockArgs", "se_ratio", f"a '{kind}' block has no squeeze-excitation (got {b.se_ratio})")
    if kind != "ds" and b.pw_act:
        fail("BlockArgs", "pw_act", "only 'ds' blocks have a pointwise activation switch")
    if kind == "shuffle" and b.output_filters % 2:
        fail("BlockArgs", "output_filters", f"a shuffle unit needs an even width (got {b.output_filters})")
    if kind == "shuffle" and b.input_filters % 2 and b.strides == 1 and b.input_filters == b.output_filters:
        fail("BlockArgs", "input_filters", f"a shuffle unit needs an even width (got {b.input_filters})")
