"""The width and depth rules of the MobileNet/EfficientNet family: :func:`make_divisible` (round a width to a
multiple of 8), :func:`round_filters` and :func:`head_filters` (a width under the width multiplier),
:func:`round_repeats` (a stage's repeats under the depth multiplier). :mod:`nas.arch.spec` checks the sizes
they give against :data:`nas.arch.fields.LIMITS`; :mod:`nas.arch.layers` builds the layers with them.
"""
from __future__ import annotations

import math

__all__ = ["head_filters", "make_divisible", "round_filters", "round_repeats"]


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never going more than 10% below it.

    The rule of the TF MobileNet/EfficientNet code (``round_filters``), torchvision's ``_make_divisible``
    and MNASNet's ``_round_to_multiple_of``, timm's ``make_divisible``.
    """
    min_value = divisor if min_value is None else min_value
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return int(new)


def round_filters(filters: int, width_multiplier: float, divisor: int = 8) -> int:
    """Scale a width by the multiplier and round to a multiple of 8 (unchanged at multiplier 1)."""
    if width_multiplier == 1:
        return filters
    return make_divisible(filters * width_multiplier, divisor)


def head_filters(filters: int, width_multiplier: float, rule: str = "scale") -> int:
    """A head width under the width multiplier by the head's ``width_rule`` (:class:`~nas.arch.HeadArgs`):
    ``scale`` → :func:`round_filters`; ``fixed`` → ``filters``; ``grow`` → scaled only when the multiplier
    is above 1 (torchvision's MobileNetV2: ``_make_divisible(1280 * max(1.0, width_mult), 8)``)."""
    if rule == "fixed":
        return filters
    if rule == "grow":
        return round_filters(filters, max(1.0, width_multiplier))
    return round_filters(filters, width_multiplier)


def round_repeats(repeats: int, depth_multiplier: float) -> int:
    """``ceil(repeats × depth_multiplier)`` (EfficientNet's rule; unchanged at multiplier 1)."""
    return int(math.ceil(repeats * depth_multiplier))
