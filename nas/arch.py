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
import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

__all__ = [
    "ACTIVATIONS",
    "BLOCK_KINDS",
    "Arch",
    "ArchError",
    "BlockArgs",
    "HeadArgs",
    "SEArgs",
    "block_from_dict",
    "StemArgs",
    "dump_arch",
    "load_arch",
    "make_divisible",
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


def _num(value: float) -> float | int:
    """Normalise a number so that 6.0 and 6 dump identically (``6``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


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
        object.__setattr__(self, "expand_ratio", _num(self.expand_ratio))
        object.__setattr__(self, "se_ratio", _num(self.se_ratio))

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
            object.__setattr__(self, name, _num(getattr(self, name)))

    def replace(self, **changes: Any) -> "Arch":
        """A copy with ``changes`` applied (``dataclasses.replace``), validated."""
        new = dataclasses.replace(self, **changes)
        validate(new, "<replace>")
        return new

    def to_dict(self) -> dict[str, Any]:
        """The canonical plain-data form: required fields always, optional ones when not default."""
        return _arch_to_dict(self)

    def to_yaml(self) -> str:
        return dump_arch(self)


# ---------------------------------------------------------------------------------------------------
# dict <-> dataclass, with validation
# ---------------------------------------------------------------------------------------------------

_BLOCK_REQUIRED = ("block", "num_repeat", "kernel_size", "strides", "expand_ratio", "input_filters",
                   "output_filters")
_BLOCK_DEFAULTS = {"se_ratio": 0, "id_skip": True, "activation": None, "pw_act": False}
_ARCH_ORDER = ("name", "resolution", "num_classes", "in_channels", "activation", "width_multiplier",
               "depth_multiplier", "drop_path_rate", "bn_eps", "bn_momentum", "se", "stem", "blocks", "head")


def _fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


class _Checker:
    """Type checks that raise one-line :class:`ArchError` naming ``source: where.field``."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, message: str) -> None:
        raise ArchError(f"{self.source}: {where}: {message}")

    def keys(self, where: str, data: Any, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> None:
        if not isinstance(data, Mapping):
            self.fail(where, f"expected a mapping, got {type(data).__name__} {data!r}")
        for key in data:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                self.fail(f"{where}.{key}" if where else str(key),
                          "unknown field" + (f" (did you mean '{hint[0]}'?)" if hint else ""))
        for key in required:
            if key not in data:
                self.fail(f"{where}.{key}" if where else key, "missing required field")

    def integer(self, where: str, value: Any, minimum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, f"expected an integer, got {value!r}")
        if minimum is not None and value < minimum:
            self.fail(where, f"must be ≥ {minimum} (got {value})")
        return value

    def number(self, where: str, value: Any, lo: float, hi: float, lo_open: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(where, f"expected a number, got {value!r}")
        if value < lo or value > hi or (lo_open and value == lo):
            bracket = "(" if lo_open else "["
            self.fail(where, f"must be in {bracket}{lo:g}, {hi:g}] (got {value!r})")
        return value

    def choice(self, where: str, value: Any, choices: tuple, optional: bool = False) -> Any:
        if optional and value is None:
            return None
        if isinstance(value, bool) and not any(isinstance(c, bool) for c in choices):
            self.fail(where, f"must be one of {', '.join(map(str, choices))} (got {value!r})")
        if value not in choices:
            self.fail(where, f"must be one of {', '.join(map(str, choices))} (got {value!r})")
        return value

    def boolean(self, where: str, value: Any) -> bool:
        if not isinstance(value, bool):
            self.fail(where, f"expected true or false, got {value!r}")
        return value


def block_from_dict(data: Any, source: str, where: str = "block") -> BlockArgs:
    """One validated :class:`BlockArgs` from a plain dict; errors read ``source: where.field: problem``."""
    return _block_from_dict(data, where, _Checker(source))


def _block_from_dict(data: Any, where: str, chk: _Checker) -> BlockArgs:
    chk.keys(where, data, _fields(BlockArgs), _BLOCK_REQUIRED)
    kind = chk.choice(f"{where}.block", data["block"], BLOCK_KINDS)
    values = {**_BLOCK_DEFAULTS, **data}
    return BlockArgs(
        block=kind,
        num_repeat=chk.integer(f"{where}.num_repeat", values["num_repeat"], 1),
        kernel_size=chk.choice(f"{where}.kernel_size", values["kernel_size"], KERNELS[kind]),
        strides=chk.choice(f"{where}.strides", values["strides"], STRIDES),
        expand_ratio=chk.number(f"{where}.expand_ratio", values["expand_ratio"], 1, 16),
        input_filters=chk.integer(f"{where}.input_filters", values["input_filters"], 1),
        output_filters=chk.integer(f"{where}.output_filters", values["output_filters"], 1),
        se_ratio=chk.number(f"{where}.se_ratio", values["se_ratio"], 0, 1),
        id_skip=chk.boolean(f"{where}.id_skip", values["id_skip"]),
        activation=chk.choice(f"{where}.activation", values["activation"], ACTIVATIONS, optional=True),
        pw_act=chk.boolean(f"{where}.pw_act", values["pw_act"]),
    )


def _arch_from_dict(data: Any, source: str) -> Arch:
    chk = _Checker(source)
    chk.keys("", data, _fields(Arch), ("name", "blocks"))
    name = data["name"]
    if not isinstance(name, str) or not name.strip():
        chk.fail("name", f"expected a non-empty string, got {name!r}")
    blocks_data = data["blocks"]
    if not isinstance(blocks_data, list) or not blocks_data:
        chk.fail("blocks", f"expected a non-empty list of blocks, got {blocks_data!r}")
    blocks = tuple(_block_from_dict(b, f"blocks[{i}]", chk) for i, b in enumerate(blocks_data))

    stem_data = data.get("stem", {})
    chk.keys("stem", stem_data, _fields(StemArgs))
    s = {**dataclasses.asdict(StemArgs()), **stem_data}
    stem = StemArgs(
        filters=chk.integer("stem.filters", s["filters"], 1),
        kernel_size=chk.choice("stem.kernel_size", s["kernel_size"], (1, 3, 5, 7)),
        strides=chk.choice("stem.strides", s["strides"], STRIDES),
        activation=chk.choice("stem.activation", s["activation"], ACTIVATIONS, optional=True),
        pool=chk.choice("stem.pool", s["pool"], STEM_POOLS),
    )
    head_data = data.get("head", {})
    chk.keys("head", head_data, _fields(HeadArgs))
    h = {**dataclasses.asdict(HeadArgs()), **head_data}
    head = HeadArgs(
        filters=None if h["filters"] is None else chk.integer("head.filters", h["filters"], 1),
        activation=chk.choice("head.activation", h["activation"], ACTIVATIONS, optional=True),
        hidden_filters=(None if h["hidden_filters"] is None
                        else chk.integer("head.hidden_filters", h["hidden_filters"], 1)),
        dropout=chk.number("head.dropout", h["dropout"], 0, 1),
    )
    se_data = data.get("se", {})
    chk.keys("se", se_data, _fields(SEArgs))
    e = {**dataclasses.asdict(SEArgs()), **se_data}
    se = SEArgs(
        source=chk.choice("se.source", e["source"], SE_SOURCES),
        gate=chk.choice("se.gate", e["gate"], SE_GATES),
        activation=chk.choice("se.activation", e["activation"], ACTIVATIONS, optional=True),
    )
    d = {f.name: f.default for f in dataclasses.fields(Arch) if f.default is not dataclasses.MISSING}
    d.update({k: v for k, v in data.items() if k not in ("stem", "head", "se", "blocks")})
    arch = Arch(
        name=name,
        blocks=blocks,
        stem=stem,
        head=head,
        se=se,
        resolution=chk.integer("resolution", d["resolution"], 32),
        num_classes=chk.integer("num_classes", d["num_classes"], 1),
        in_channels=chk.integer("in_channels", d["in_channels"], 1),
        activation=chk.choice("activation", d["activation"], ACTIVATIONS),
        width_multiplier=chk.number("width_multiplier", d["width_multiplier"], 0, 8, lo_open=True),
        depth_multiplier=chk.number("depth_multiplier", d["depth_multiplier"], 0, 8, lo_open=True),
        drop_path_rate=chk.number("drop_path_rate", d["drop_path_rate"], 0, 1),
        bn_eps=chk.number("bn_eps", d["bn_eps"], 0, 1, lo_open=True),
        bn_momentum=chk.number("bn_momentum", d["bn_momentum"], 0, 1, lo_open=True),
    )
    validate(arch, source)
    return arch


def validate(arch: Arch, source: str = "<arch>") -> None:
    """Cross-field rules: stages chain, kinds use only the fields they have, shuffle widths are even.

    Raises :class:`ArchError` (one line) on the first problem.
    """
    chk = _Checker(source)
    previous = arch.stem.filters
    previous_where = "stem.filters"
    for i, b in enumerate(arch.blocks):
        where = f"blocks[{i}]"
        if b.input_filters != previous:
            chk.fail(f"{where}.input_filters",
                     f"must equal {previous_where} = {previous} (got {b.input_filters})")
        if b.block != "mbconv" and b.expand_ratio != 1:
            chk.fail(f"{where}.expand_ratio", f"must be 1 for a '{b.block}' block (got {b.expand_ratio})")
        if b.block in ("shuffle", "conv") and b.se_ratio:
            chk.fail(f"{where}.se_ratio", f"a '{b.block}' block has no squeeze-excitation (got {b.se_ratio})")
        if b.block != "ds" and b.pw_act:
            chk.fail(f"{where}.pw_act", f"only 'ds' blocks have a pointwise activation switch")
        if b.block == "shuffle" and b.output_filters % 2:
            chk.fail(f"{where}.output_filters", f"a shuffle unit needs an even width (got {b.output_filters})")
        if b.block == "shuffle" and b.input_filters % 2 and b.strides == 1 and b.input_filters == b.output_filters:
            chk.fail(f"{where}.input_filters", f"a shuffle unit needs an even width (got {b.input_filters})")
        previous, previous_where = b.output_filters, f"{where}.output_filters"


# ---------------------------------------------------------------------------------------------------
# Canonical dict and YAML text
# ---------------------------------------------------------------------------------------------------


def _non_default(obj: Any, always: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        default = f.default if f.default is not dataclasses.MISSING else dataclasses.MISSING
        if f.name in always or value != default:
            out[f.name] = _num(value) if isinstance(value, float) else value
    return out


def _arch_to_dict(arch: Arch) -> dict[str, Any]:
    out: dict[str, Any] = {"name": arch.name, "resolution": arch.resolution, "num_classes": arch.num_classes}
    optional = _non_default(arch)
    for key in _ARCH_ORDER:
        if key in ("name", "resolution", "num_classes", "blocks", "stem", "head", "se"):
            continue
        if key in optional or key == "activation":
            out[key] = _num(getattr(arch, key))
    se = _non_default(arch.se)
    if se:
        out["se"] = se
    out["stem"] = _non_default(arch.stem, always=("filters", "kernel_size", "strides"))
    out["blocks"] = [_non_default(b, always=_BLOCK_REQUIRED + ("se_ratio", "id_skip")) for b in arch.blocks]
    out["head"] = _non_default(arch.head, always=("filters",))
    return out


def _flow(value: Any) -> str:
    """One YAML value on one line (flow style), exactly as PyYAML would quote it."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=2**31, allow_unicode=True)
    return text.removesuffix("\n...\n").rstrip("\n")


def dump_arch(arch: Arch, path: str | Path | None = None) -> str:
    """Canonical YAML text of ``arch`` (one flow mapping per block); written to ``path`` if given.

    ``dump_arch(load_arch(dump_arch(a))) == dump_arch(a)`` byte for byte.
    """
    data = _arch_to_dict(arch)
    lines = []
    for key, value in data.items():
        if key == "blocks":
            lines.append("blocks:")
            lines.extend(f"  - {_flow(b)}" for b in value)
        else:
            lines.append(f"{key}: {_flow(value)}")
    text = "\n".join(lines) + "\n"
    if path is not None:
        _atomic_write(Path(path), text)
    return text


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def load_arch(source: str | Path | Mapping[str, Any] | Arch) -> Arch:
    """Load an :class:`Arch` from a YAML file path, YAML text, a plain dict, or an ``Arch`` (returned).

    A zoo name (``"mnasnet_a1"``) is accepted too. Raises :class:`ArchError` with one line naming the
    source, the block index and the field.
    """
    if isinstance(source, Arch):
        return source
    if isinstance(source, Mapping):
        return _arch_from_dict(source, "<dict>")
    text: str
    label: str
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and (
            source.endswith((".yaml", ".yml")) or Path(source).is_file())):
        path = Path(source)
        label = str(path)
        if not path.is_file():
            from nas import zoo

            if not str(source).endswith((".yaml", ".yml")) and str(source) in zoo.names():
                return zoo.load(str(source))
            raise ArchError(f"{label}: no such file")
        text = path.read_text(encoding="utf-8")
    elif isinstance(source, str) and "\n" not in source and ":" not in source:
        from nas import zoo

        if source in zoo.names():
            return zoo.load(source)
        raise ArchError(f"{source}: not a file, a zoo name ({', '.join(zoo.names())}) or YAML text")
    else:
        text, label = str(source), "<string>"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ArchError(f"{label}: {where}invalid YAML: {problem}") from None
    return _arch_from_dict(data, label)
