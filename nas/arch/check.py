"""Plain data (a parsed YAML file, a dict) → validated :class:`~nas.arch.spec.Arch` and
:class:`~nas.arch.spec.BlockArgs`.

Every field is type- and range-checked on the way in; cross-field rules are :func:`nas.arch.spec.validate`.
Errors are one-line :class:`~nas.arch.spec.ArchError` s naming the source, the block index and the field::

    arch.yaml: blocks[3].kernel_size: must be one of 3, 5, 7 (got 4)
    arch.yaml: blocks[0].kernal_size: unknown field (did you mean 'kernel_size'?)
"""
from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any, Mapping

from nas.arch.spec import (ACTIVATIONS, BLOCK_DEFAULTS, BLOCK_KINDS, BLOCK_REQUIRED, KERNELS, SE_GATES, SE_SOURCES,
                           STEM_POOLS, STRIDES, Arch, ArchError, BlockArgs, HeadArgs, SEArgs, StemArgs, validate)

__all__ = ["arch_from_dict", "block_from_dict"]


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
    chk.keys(where, data, _fields(BlockArgs), BLOCK_REQUIRED)
    kind = chk.choice(f"{where}.block", data["block"], BLOCK_KINDS)
    values = {**BLOCK_DEFAULTS, **data}
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


def arch_from_dict(data: Any, source: str) -> Arch:
    """A validated :class:`Arch` from plain data (a parsed YAML file); errors name ``source``."""
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
