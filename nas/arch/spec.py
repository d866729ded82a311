"""Architecture as data: the `BlockArgs` / `Arch` dataclasses, their validation and YAML I/O.

One YAML file describes one network completely (DESIGN.md §2)::

    name: efficientnet_b0
    resolution: 224
    num_classes: 1000
    activation: swish
    stem: {filters: 32, kernel_size: 3, strides: 2}
    blocks:
      - {block: mbconv, num_repeat: 1, kernel_size: 3, strides: 1, expand_ratio: 1,
         input_filters: 32, output_filters: 16, se_ratio: 0.25, id_skip: true}
    head: {filters: 1280, dropout: 0.2}

Each entry of ``blocks`` is one *stage* in the MnasNet/EfficientNet ``BlockArgs`` sense: ``num_repeat``
blocks, the first ``input_filters → output_filters`` at ``strides``, the rest ``output → output`` at stride 1.

Family differences are explicit fields with defaults rather than special cases in code:

* ``se`` (network level): where the squeeze width comes from — ``input`` channels × ``se_ratio``
  (MnasNet/EfficientNet, ``max(1, int(in·r))``) or ``expanded`` channels (MobileNetV3,
  ``make_divisible(mid·r, 8)``) — the gate (``sigmoid`` | ``hsigmoid``) and the activation inside SE.
* ``activation`` per block overrides the network default (MobileNetV3 mixes ReLU and h-swish).
* ``pw_act`` on ``ds`` blocks: MobileNetV1 activates the pointwise conv, MnasNet/EfficientNet do not.
* ``stem.pool: max`` (ShuffleNetV2), ``head.hidden_filters`` (MobileNetV3's linear head layer).

The expanded width of an ``mbconv`` block is ``round(input_filters × expand_ratio)``, so MobileNetV3's
non-integer expansions are written as ratios with two decimals (``200/80 → 2.5``, ``88/24 → 3.67``),
exactly as timm writes them; both string formats can then express every MobileNetV3 block.

Errors are :class:`ArchError`, one line naming the source, the block index and the field::

    arch.yaml: blocks[3].kernel_size: must be one of 3, 5, 7 (got 4)
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = [
    "ACTIVATIONS",
    "BLOCK_KINDS",
    "BLOCK_REQUIRED",
    "KERNELS",
    "Arch",
    "ArchError",
    "BlockArgs",
    "HeadArgs",
    "SEArgs",
    "StemArgs",
    "arch_to_dict",
    "make_divisible",
    "normalise_number",
    "validate",
]


BLOCK_KINDS = ("ds", "mbconv", "shuffle", "conv")
ACTIVATIONS = ("relu", "relu6", "swish", "hswish")
SE_GATES = ("sigmoid", "hsigmoid")
SE_SOURCES = ("input", "expanded")
STEM_POOLS = ("none", "max")
KERNELS = {"ds": (3, 5, 7), "mbconv": (3, 5, 7), "shuffle": (3, 5, 7), "conv": (1, 3, 5, 7)}
STRIDES = (1, 2)


class ArchError(ValueError):
    """An invalid architecture: the message is one line, ``source: location: problem``."""


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never going more than 10% below it.

    The rule of the TF MobileNet/EfficientNet code (``round_filters``) and torchvision's
    ``_make_divisible``.
    """
    min_value = divisor if min_value is None else min_value
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return int(new)


def normalise_number(value: float) -> float | int:
    """Normalise a number so that 6.0 and 6 dump identically (``6``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: Fields every ``blocks`` entry states; the others default to ``se_ratio 0``, ``id_skip true``, the network's
#: activation and ``pw_act false``.
BLOCK_REQUIRED = ("block", "num_repeat", "kernel_size", "strides", "expand_ratio", "input_filters",
                  "output_filters")
BLOCK_DEFAULTS = {"se_ratio": 0, "id_skip": True, "activation": None, "pw_act": False}
#: The order of the top-level keys in an architecture's YAML text.
ARCH_ORDER = ("name", "resolution", "num_classes", "in_channels", "activation", "width_multiplier",
              "depth_multiplier", "drop_path_rate", "bn_eps", "bn_momentum", "se", "stem", "blocks", "head")

# ---------------------------------------------------------------------------------------------------
# Dataclasses
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StemArgs:
    """The stem: one k×k conv-BN-activation, optionally followed by a 3×3 stride-2 max-pool."""

    filters: int = 32
    kernel_size: int = 3
    strides: int = 2
    activation: str | None = None  # None: the network's default activation
    pool: str = "none"  # "max": 3×3/2 max-pool after the conv (ShuffleNetV2)


@dataclass(frozen=True)
class HeadArgs:
    """The head: [1×1 conv-BN-act to ``filters``] → global average pool → [linear ``hidden_filters``
    + act (MobileNetV3)] → dropout → linear classifier."""

    filters: int | None = 1280  # None: no 1×1 conv before pooling (MobileNetV1)
    activation: str | None = None  # None: the network's default activation
    hidden_filters: int | None = None
    dropout: float = 0.0


@dataclass(frozen=True)
class SEArgs:
    """Squeeze-and-excitation conventions of a network family (see module docstring)."""

    source: str = "input"  # "input": max(1, int(in·r)); "expanded": make_divisible(mid·r, 8)
    gate: str = "sigmoid"  # "sigmoid" | "hsigmoid"
    activation: str | None = None  # None: the block's own activation


@dataclass(frozen=True)
class BlockArgs:
    """One stage of ``num_repeat`` identical blocks (MnasNet/EfficientNet ``BlockArgs`` fields)."""

    block: str
    num_repeat: int
    kernel_size: int
    strides: int
    expand_ratio: float
    input_filters: int
    output_filters: int
    se_ratio: float = 0.0
    id_skip: bool = True
    activation: str | None = None  # None: the network's default activation
    pw_act: bool = False  # ds only: activation after the pointwise conv (MobileNetV1)

    def __post_init__(self) -> None:
        object.__setattr__(self, "expand_ratio", normalise_number(self.expand_ratio))
        object.__setattr__(self, "se_ratio", normalise_number(self.se_ratio))

    @property
    def expanded_filters(self) -> int:
        """Width inside an ``mbconv`` block: ``round(input_filters × expand_ratio)`` (half up)."""
        return int(math.floor(self.input_filters * self.expand_ratio + 0.5))

    @property
    def has_se(self) -> bool:
        return self.se_ratio > 0


@dataclass(frozen=True)
class Arch:
    """A whole network: stem, stages of blocks, head, and the family conventions."""

    name: str
    blocks: tuple[BlockArgs, ...]
    stem: StemArgs = field(default_factory=StemArgs)
    head: HeadArgs = field(default_factory=HeadArgs)
    resolution: int = 224
    num_classes: int = 1000
    in_channels: int = 3
    activation: str = "relu"
    se: SEArgs = field(default_factory=SEArgs)
    width_multiplier: float = 1.0
    depth_multiplier: float = 1.0
    drop_path_rate: float = 0.0
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple(self.blocks))
        for name in ("width_multiplier", "depth_multiplier", "drop_path_rate"):
            object.__setattr__(self, name, normalise_number(getattr(self, name)))

    def replace(self, **changes: Any) -> "Arch":
        """A copy with ``changes`` applied (``dataclasses.replace``), validated."""
        new = dataclasses.replace(self, **changes)
        validate(new, "<replace>")
        return new

    def to_dict(self) -> dict[str, Any]:
        """The canonical plain-data form: required fields always, optional ones when not default."""
        return arch_to_dict(self)

    def to_yaml(self) -> str:
        """The canonical YAML text (one flow mapping per block); :func:`nas.arch.dump_arch` writes it to a file.

        ``load_arch(a.to_yaml()) == a`` and the text of that is identical, byte for byte.
        """
        lines = []
        for key, value in arch_to_dict(self).items():
            if key == "blocks":
                lines.append("blocks:")
                lines.extend(f"  - {_flow(b)}" for b in value)
            else:
                lines.append(f"{key}: {_flow(value)}")
        return "\n".join(lines) + "\n"


def validate(arch: Arch, source: str = "<arch>") -> None:
    """Cross-field rules: stages chain, kinds use only the fields they have, shuffle widths are even.

    Raises :class:`ArchError` (one line) on the first problem.
    """
    previous = arch.stem.filters
    previous_where = "stem.filters"
    for i, b in enumerate(arch.blocks):
        where = f"blocks[{i}]"
        if b.input_filters != previous:
            _fail(source, f"{where}.input_filters",
                  f"must equal {previous_where} = {previous} (got {b.input_filters})")
        if b.block != "mbconv" and b.expand_ratio != 1:
            _fail(source, f"{where}.expand_ratio", f"must be 1 for a '{b.block}' block (got {b.expand_ratio})")
        if b.block in ("shuffle", "conv") and b.se_ratio:
            _fail(source, f"{where}.se_ratio", f"a '{b.block}' block has no squeeze-excitation (got {b.se_ratio})")
        if b.block != "ds" and b.pw_act:
            _fail(source, f"{where}.pw_act", "only 'ds' blocks have a pointwise activation switch")
        if b.block == "shuffle" and b.output_filters % 2:
            _fail(source, f"{where}.output_filters", f"a shuffle unit needs an even width (got {b.output_filters})")
        if b.block == "shuffle" and b.input_filters % 2 and b.strides == 1 and b.input_filters == b.output_filters:
            _fail(source, f"{where}.input_filters", f"a shuffle unit needs an even width (got {b.input_filters})")
        previous, previous_where = b.output_filters, f"{where}.output_filters"


def _fail(source: str, where: str, message: str) -> None:
    raise ArchError(f"{source}: {where}: {message}")


# ---------------------------------------------------------------------------------------------------
# Canonical dict and YAML text
# ---------------------------------------------------------------------------------------------------


def _non_default(obj: Any, always: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        default = f.default if f.default is not dataclasses.MISSING else dataclasses.MISSING
        if f.name in always or value != default:
            out[f.name] = normalise_number(value) if isinstance(value, float) else value
    return out


def arch_to_dict(arch: Arch) -> dict[str, Any]:
    """The canonical plain-data form of ``arch`` (the content of its YAML file): required fields always,
    optional ones only when they differ from their defaults, keys in :data:`ARCH_ORDER`."""
    out: dict[str, Any] = {"name": arch.name, "resolution": arch.resolution, "num_classes": arch.num_classes}
    optional = _non_default(arch)
    for key in ARCH_ORDER:
        if key in ("name", "resolution", "num_classes", "blocks", "stem", "head", "se"):
            continue
        if key in optional or key == "activation":
            out[key] = normalise_number(getattr(arch, key))
    se = _non_default(arch.se)
    if se:
        out["se"] = se
    out["stem"] = _non_default(arch.stem, always=("filters", "kernel_size", "strides"))
    out["blocks"] = [_non_default(b, always=BLOCK_REQUIRED + ("se_ratio", "id_skip")) for b in arch.blocks]
    out["head"] = _non_default(arch.head, always=("filters",))
    return out


def _flow(value: Any) -> str:
    """One YAML value on one line (flow style), exactly as PyYAML would quote it."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=2**31, allow_unicode=True)
    return text.removesuffix("\n...\n").rstrip("\n")
