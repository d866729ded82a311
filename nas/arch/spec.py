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
* ``head.width_rule``: whether the width multiplier scales the head (EfficientNet, MobileNetV3), leaves it
  alone (MnasNet) or only grows it (MobileNetV2) — see :class:`HeadArgs`.

The expanded width of an ``mbconv`` block is :func:`expanded_width`: ``make_divisible(input_filters ×
expand_ratio, 8)``, timm's ``InvertedResidual`` and torchvision's ``MBConv`` rule (``ir_r1_k3_s1_e2.5_c40``
after 40 channels: 104), and the input width itself at ratio 1 (no expand conv). MobileNetV3's
non-integer expansions are written as ratios with two decimals (``200/80 → 2.5``, ``88/24 → 3.67``),
exactly as timm writes them; both string formats can then express every MobileNetV3 block.

Every dataclass checks its own fields when it is made, whatever the route (:mod:`nas.arch.fields`); errors
are :class:`ArchError`, one line naming the source, the block index and the field::

    arch.yaml: blocks[3].kernel_size: must be one of 3, 5, 7 (got 4)
    <Arch>: num_classes: must be ≥ 1 (got 0)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import yaml

from nas.arch import fields
from nas.arch.scaling import head_filters, make_divisible, round_filters, round_repeats
from nas.arch.fields import (ACTIVATIONS, BLOCK_KINDS, HEAD_WIDTH_RULES, KERNELS, LIMITS, SE_GATES, SE_SOURCES,
                             STEM_POOLS, STRIDES, ArchError, normalise_number)

__all__ = [
    "ACTIVATIONS",
    "BLOCK_KINDS",
    "BLOCK_REQUIRED",
    "HEAD_WIDTH_RULES",
    "KERNELS",
    "Arch",
    "ArchError",
    "BlockArgs",
    "HeadArgs",
    "SEArgs",
    "StemArgs",
    "arch_to_dict",
    "expanded_width",
    "make_divisible",
    "normalise_number",
    "validate",
]


def expanded_width(in_chs: int, expand_ratio: float) -> int:
    """The width inside an ``mbconv`` block whose input has ``in_chs`` channels: ``in_chs`` at ratio 1 (no
    expand conv), else ``make_divisible(in_chs × expand_ratio, 8)`` — timm's ``InvertedResidual`` and
    torchvision's ``MBConv`` (``adjust_channels``); torchvision's MobileNetV2/MNASNet (``round(in × t)``,
    ``in × t``) give the same for their integer ratios on multiples of 8."""
    return in_chs if expand_ratio == 1 else make_divisible(in_chs * expand_ratio, 8)


_FILTERS = LIMITS["filters"]

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

    def __post_init__(self) -> None:
        o = "StemArgs"
        _set(self, "filters", fields.integer(o, "filters", self.filters, 1, _FILTERS))
        _set(self, "kernel_size", fields.choice(o, "kernel_size", self.kernel_size, KERNELS["conv"]))
        _set(self, "strides", fields.choice(o, "strides", self.strides, STRIDES))
        _set(self, "activation", fields.choice(o, "activation", self.activation, ACTIVATIONS, optional=True))
        _set(self, "pool", fields.choice(o, "pool", self.pool, STEM_POOLS))


@dataclass(frozen=True)
class HeadArgs:
    """The head: [1×1 conv-BN-act to ``filters``] → global average pool → [linear ``hidden_filters``
    + act (MobileNetV3)] → dropout → linear classifier.

    ``width_rule`` says how the network's ``width_multiplier`` α reaches ``filters`` and ``hidden_filters``
    (the family decides; the widths are as written at α = 1 under every rule):

    * ``scale`` (default): ``make_divisible(filters × α, 8)`` — EfficientNet (TF ``round_filters(1280)``,
      timm, torchvision's ``4 × last stage``) and MobileNetV3 (torchvision ``adjust_channels(1280)``);
    * ``fixed``: ``filters`` at every α — MnasNet (TF, timm, torchvision ``MNASNet``: 1280);
    * ``grow``: scaled only when α > 1, ``make_divisible(filters × max(1, α), 8)`` — MobileNetV2
      (torchvision ``_make_divisible(1280 * max(1.0, width_mult), 8)``, timm ``max(1280, round(1280 α))``).
    """

    filters: int | None = 1280  # None: no 1×1 conv before pooling (MobileNetV1)
    activation: str | None = None  # None: the network's default activation
    hidden_filters: int | None = None
    dropout: float = 0.0
    width_rule: str = "scale"  # "scale" | "fixed" | "grow": how the width multiplier reaches the head

    def __post_init__(self) -> None:
        o = "HeadArgs"
        if self.filters is not None:
            _set(self, "filters", fields.integer(o, "filters", self.filters, 1, _FILTERS))
        _set(self, "activation", fields.choice(o, "activation", self.activation, ACTIVATIONS, optional=True))
        if self.hidden_filters is not None:
            _set(self, "hidden_filters", fields.integer(o, "hidden_filters", self.hidden_filters, 1, _FILTERS))
        _set(self, "dropout", fields.number(o, "dropout", self.dropout, 0, 1, hi_open=True))  # 1 drops everything
        _set(self, "width_rule", fields.choice(o, "width_rule", self.width_rule, HEAD_WIDTH_RULES))


@dataclass(frozen=True)
class SEArgs:
    """Squeeze-and-excitation conventions of a network family (see module docstring)."""

    source: str = "input"  # "input": max(1, int(in·r)); "expanded": make_divisible(mid·r, 8)
    gate: str = "sigmoid"  # "sigmoid" | "hsigmoid"
    activation: str | None = None  # None: the block's own activation

    def __post_init__(self) -> None:
        o = "SEArgs"
        _set(self, "source", fields.choice(o, "source", self.source, SE_SOURCES))
        _set(self, "gate", fields.choice(o, "gate", self.gate, SE_GATES))
        _set(self, "activation", fields.choice(o, "activation", self.activation, ACTIVATIONS, optional=True))


@dataclass(frozen=True)
class BlockArgs:
    """One stage of ``num_repeat`` identical blocks (MnasNet/EfficientNet ``BlockArgs`` fields).

    Each field is checked when the block is made; the rules between fields (the kind's kernels, …) when it
    joins an :class:`Arch` (:func:`nas.arch.fields.block_rules`). ``input_filters`` 0 marks a template not
    chained yet (search spaces); an ``Arch`` never holds one.
    """

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
        o = "BlockArgs"
        kind = fields.choice(o, "block", self.block, BLOCK_KINDS)
        _set(self, "num_repeat", fields.integer(o, "num_repeat", self.num_repeat, 1, LIMITS["num_repeat"]))
        _set(self, "kernel_size", fields.kernel(o, kind, self.kernel_size))
        _set(self, "strides", fields.choice(o, "strides", self.strides, STRIDES))
        _set(self, "expand_ratio", fields.number(o, "expand_ratio", self.expand_ratio, 1, 16))
        width = fields.integer(o, "input_filters", self.input_filters, None, _FILTERS)
        _set(self, "input_filters", width if width == 0 else fields.integer(o, "input_filters", width, 1))
        _set(self, "output_filters", fields.integer(o, "output_filters", self.output_filters, 1, _FILTERS))
        _set(self, "se_ratio", fields.number(o, "se_ratio", self.se_ratio, 0, 1))
        fields.boolean(o, "id_skip", self.id_skip)
        _set(self, "activation", fields.choice(o, "activation", self.activation, ACTIVATIONS, optional=True))
        fields.boolean(o, "pw_act", self.pw_act)

    @property
    def expanded_filters(self) -> int:
        """Width inside an ``mbconv`` block: :func:`expanded_width` of ``input_filters``."""
        return expanded_width(self.input_filters, self.expand_ratio)

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
        _check_arch(self)

    def replace(self, **changes: Any) -> "Arch":
        """A copy with ``changes`` applied (``dataclasses.replace``), validated like a YAML file: a problem
        is an :class:`ArchError` whose source is this arch's name (``mobilenet_v2: num_classes: …``)."""
        try:
            return dataclasses.replace(self, **changes)
        except ArchError as exc:
            raise exc.at(self.name) from None

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


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def _check_arch(a: Arch) -> None:
    """Every field of ``a`` and the rules between them; raises :class:`ArchError` from ``<Arch>``."""
    o = "Arch"
    if not isinstance(a.name, str) or not a.name.strip():
        fields.fail(o, "name", f"expected a non-empty string, got {a.name!r}")
    blocks = () if isinstance(a.blocks, (str, bytes, dict)) or not hasattr(a.blocks, "__iter__") else tuple(a.blocks)
    if not blocks:
        fields.fail(o, "blocks", f"expected a non-empty list of blocks, got {a.blocks!r}")
    _set(a, "blocks", blocks)
    for name, cls in (("stem", StemArgs), ("head", HeadArgs), ("se", SEArgs)):
        if not isinstance(getattr(a, name), cls):
            fields.fail(o, name, f"expected a {cls.__name__}, got {type(getattr(a, name)).__name__}")
    _set(a, "resolution", fields.integer(o, "resolution", a.resolution, 32, LIMITS["resolution"]))
    _set(a, "num_classes", fields.integer(o, "num_classes", a.num_classes, 1, LIMITS["num_classes"]))
    _set(a, "in_channels", fields.integer(o, "in_channels", a.in_channels, 1, LIMITS["in_channels"]))
    _set(a, "activation", fields.choice(o, "activation", a.activation, ACTIVATIONS))
    _set(a, "width_multiplier", fields.number(o, "width_multiplier", a.width_multiplier, 0, 8, lo_open=True))
    _set(a, "depth_multiplier", fields.number(o, "depth_multiplier", a.depth_multiplier, 0, 8, lo_open=True))
    _set(a, "drop_path_rate", fields.number(o, "drop_path_rate", a.drop_path_rate, 0, 1))
    _set(a, "bn_eps", fields.number(o, "bn_eps", a.bn_eps, 0, 1, lo_open=True))
    _set(a, "bn_momentum", fields.bn_momentum(o, a.bn_momentum))
    _check_scaled(a)
    previous, previous_where = a.stem.filters, "stem.filters"
    for i, b in enumerate(a.blocks):
        where = f"blocks[{i}]"
        if not isinstance(b, BlockArgs):
            fields.fail(o, where, f"expected a BlockArgs, got {type(b).__name__}")
        try:
            if b.input_filters < 1:
                fields.fail(o, "input_filters", f"must be ≥ 1 (got {b.input_filters})")
            if b.input_filters != previous:
                fields.fail(o, "input_filters", f"must equal {previous_where} = {previous} (got {b.input_filters})")
            fields.block_rules(b)
        except ArchError as exc:
            raise exc.at(f"<{o}>", where) from None
        previous, previous_where = b.output_filters, f"{where}.output_filters"


def _check_scaled(a: Arch) -> None:
    """The widths and repeats after the multipliers stay within :data:`~nas.arch.fields.LIMITS` too."""
    if a.width_multiplier == 1 and a.depth_multiplier == 1:
        return  # the fields themselves are checked
    wm, dm, top = a.width_multiplier, a.depth_multiplier, LIMITS["filters"]
    widths = [("stem.filters", round_filters(a.stem.filters, wm))]
    widths += [(f"blocks[{i}].output_filters", round_filters(b.output_filters, wm)) for i, b in enumerate(a.blocks)]
    widths += [(f"head.{k}", head_filters(v, wm, a.head.width_rule))
               for k, v in (("filters", a.head.filters), ("hidden_filters", a.head.hidden_filters)) if v]
    for where, width in widths:
        if width > top:
            fields.fail("Arch", "width_multiplier", f"×{wm:g} makes {where} {width} wide, over the limit {top} "
                                                    "(nas.arch.fields.LIMITS)")
    for i, b in enumerate(a.blocks):
        if (n := round_repeats(b.num_repeat, dm)) > LIMITS["num_repeat"]:
            fields.fail("Arch", "depth_multiplier", f"×{dm:g} makes blocks[{i}] repeat {n} times, over the limit "
                                                    f"{LIMITS['num_repeat']} (nas.arch.fields.LIMITS)")


def validate(arch: Arch, source: str = "<arch>") -> None:
    """Check ``arch`` again — its fields, the stages' chaining, each kind's rules — reporting a problem from
    ``source``. (An ``Arch`` checks itself when it is made, so this fails only for one altered in place.)

    Raises :class:`ArchError` (one line) on the first problem.
    """
    try:
        _check_arch(arch)
    except ArchError as exc:
        raise exc.at(source) from None


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
