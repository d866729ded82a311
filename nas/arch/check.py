"""Plain data (a parsed YAML file, a dict) → validated :class:`~nas.arch.spec.Arch` and
:class:`~nas.arch.spec.BlockArgs`.

This module checks the *shape* of the data — unknown fields (with a suggestion), missing required ones
(:data:`ARCH_REQUIRED`, :data:`PART_REQUIRED`) — and fills in defaults; the values themselves are checked by
the dataclasses as they are made
(:mod:`nas.arch.fields`), and their errors are re-labelled here with the source and the location. Errors are
one-line :class:`~nas.arch.spec.ArchError` s naming the source, the block index and the field::

    arch.yaml: blocks[3].kernel_size: must be one of 3, 5, 7 (got 4)
    arch.yaml: blocks[0].kernal_size: unknown field (did you mean 'kernel_size'?)
"""
from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Callable, Mapping, TypeVar

from nas.arch.fields import block_rules, integer
from nas.arch.spec import BLOCK_DEFAULTS, BLOCK_REQUIRED, Arch, ArchError, BlockArgs, HeadArgs, SEArgs, StemArgs

__all__ = ["ARCH_REQUIRED", "PART_REQUIRED", "arch_from_dict", "block_from_dict"]

T = TypeVar("T")


def _fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _fail(source: str, where: str, message: str) -> None:
    raise ArchError(f"{source}: {where}: {message}" if where else f"{source}: {message}", where, message)


def _keys(source: str, where: str, data: Any, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> None:
    if data is None and not where:
        raise ArchError(f"{source}: empty; expected an architecture (name, resolution, stem, blocks, head, …)", where,
                        "empty")
    if not isinstance(data, Mapping):
        _fail(source, where, f"expected a mapping, got {type(data).__name__} {data!r}")
    for key in data:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            _fail(source, f"{where}.{key}" if where else str(key),
                  "unknown field" + (f" (did you mean '{hint[0]}'?)" if hint else ""))
    for key in required:
        if key not in data:
            _fail(source, f"{where}.{key}" if where else key, "missing required field")


def _make(source: str, where: str, make: Callable[[], T]) -> T:
    """``make()``, its :class:`ArchError` re-labelled ``source: where.field: problem``."""
    try:
        return make()
    except ArchError as exc:
        raise exc.at(source, where) from None


def block_from_dict(data: Any, source: str, where: str = "block") -> BlockArgs:
    """One validated :class:`BlockArgs` from a plain dict: its fields, ``input_filters`` ≥ 1 (no template) and
    the rules between the fields (the kind's kernels, …). Errors read ``source: where.field: problem``."""
    _keys(source, where, data, _fields(BlockArgs), BLOCK_REQUIRED)
    block = _make(source, where, lambda: BlockArgs(**{**BLOCK_DEFAULTS, **data}))
    _make(source, where, lambda: integer("BlockArgs", "input_filters", block.input_filters, 1))
    _make(source, where, lambda: block_rules(block))
    return block


#: What a file must state, because a silent default would build another network than the one meant (a
#: 32-px net read at 224 px, a 1280-wide head on a 64-wide net): exactly what :meth:`Arch.to_yaml` always
#: writes. Everything else has a default that every reference network shares (``se_ratio`` 0, …).
ARCH_REQUIRED = ("name", "resolution", "num_classes", "stem", "blocks", "head")
PART_REQUIRED = {"stem": ("filters", "kernel_size", "strides"), "head": ("filters",), "se": ()}


def _part(data: Mapping[str, Any], key: str, cls: type[T], source: str) -> T:
    value = data.get(key, {})
    _keys(source, key, value, _fields(cls), PART_REQUIRED[key])
    return _make(source, key, lambda: cls(**value))


def arch_from_dict(data: Any, source: str) -> Arch:
    """A validated :class:`Arch` from plain data (a parsed YAML file); errors name ``source``."""
    if isinstance(data, Mapping) and "skeleton" in data:
        _fail(source, "", "a search-space file (it has a 'skeleton'), not an architecture; look at it with "
              "`nas inspect --space FILE`, search it with `nas search --space FILE`")
    _keys(source, "", data, _fields(Arch), ARCH_REQUIRED)
    blocks_data = data["blocks"]
    if not isinstance(blocks_data, list) or not blocks_data:
        _fail(source, "blocks", f"expected a non-empty list of blocks, got {blocks_data!r}")
    blocks = tuple(block_from_dict(b, source, f"blocks[{i}]") for i, b in enumerate(blocks_data))
    parts = {key: _part(data, key, cls, source) for key, cls in (("stem", StemArgs), ("head", HeadArgs),
                                                                  ("se", SEArgs))}
    rest = {k: v for k, v in data.items() if k not in ("stem", "head", "se", "blocks")}
    return _make(source, "", lambda: Arch(blocks=blocks, **parts, **rest))
