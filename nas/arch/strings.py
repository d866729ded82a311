"""Block strings, both directions, in the two notations people already use.

* ``mnasnet`` — the TF MnasNet/EfficientNet ``BlockArgs`` strings: ``r2_k3_s22_e6_i16_o24_se0.25`` and a
  trailing ``_noskip``. Every field is explicit, input width included. They describe ``mbconv`` stages with
  the network's default activation only; anything else raises :class:`~nas.arch.ArchError`.
* ``timm`` — timm's arch-def strings: ``ir_r2_k3_s2_e6_c24_se0.25``; ``ds_…`` (linear pointwise),
  ``dsa_…`` (activated pointwise, MobileNetV1 — and never a skip: timm decodes ``noskip=block_type == 'dsa'
  or noskip``), ``cn_…`` (plain conv; residual only with ``_skip``, as in timm), ``_noskip``, and ``_nre`` /
  ``_nr6`` / ``_nsw`` / ``_nhs`` for a per-block activation. Input widths are implied by chaining from the
  stem. ``sh_r4_k3_s2_c116`` (ShuffleNetV2 unit) is this toolkit's extension: timm has no such block.

  A ``ds`` stage with an activated pointwise conv whose skip can be taken (a repeat, or stride 1 with equal
  widths) has no timm form and raises "cannot express"; where no block of the stage can skip it is written
  ``dsa``, which reads back with ``id_skip: false`` — the same network.

Numbers are written in plain decimal, never with an exponent (``se_ratio`` 5e-05 → ``se0.00005``), so
both formats read back what they write.

    >>> from nas.arch.strings import decode_block, encode_block
    >>> b = decode_block("r2_k3_s22_e6_i16_o24_se0.25", "mnasnet")
    >>> encode_block(b, "timm")
    'ir_r2_k3_s2_e6_c24_se0.25'

Network-level conventions (SE width source and gate, stem, head) are not part of either notation; use
:func:`to_strings` / :func:`from_strings` with a base :class:`~nas.arch.Arch` for those.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Iterable, Literal

from nas.arch.check import block_from_dict
from nas.arch.layers import resolve
from nas.arch.spec import Arch, ArchError, BlockArgs

__all__ = ["FORMATS", "decode_block", "encode_block", "from_strings", "to_strings"]

Format = Literal["mnasnet", "timm"]
FORMATS: tuple[str, ...] = ("mnasnet", "timm")

_TIMM_KINDS = {"ir": "mbconv", "ds": "ds", "dsa": "ds", "cn": "conv", "sh": "shuffle"}
_TIMM_ACTS = {"re": "relu", "r6": "relu6", "sw": "swish", "hs": "hswish"}
_ACT_CODES = {v: k for k, v in _TIMM_ACTS.items()}
_NUMBER = re.compile(r"^(\d+(\.\d+)?)$")


def _fmt(value: float) -> str:
    """``value`` in plain decimal, the shortest text that reads back as the same float (no exponent)."""
    return str(int(value)) if float(value).is_integer() else format(Decimal(repr(float(value))), "f")


def _no_dsa(where: str) -> ArchError:
    return ArchError(f"timm strings cannot express {where}: a 'ds' block with an activated pointwise conv and an "
                     f"identity skip (timm's 'dsa' blocks never skip); set id_skip: false or pw_act: false")


def encode_block(b: BlockArgs, fmt: Format, skips: bool | None = None) -> str:
    """The string of one stage in ``fmt``. Raises :class:`ArchError` if ``fmt`` cannot express it.

    ``skips``: whether some block of the stage takes its identity skip in its network (:func:`to_strings`
    knows from the resolved layers); by default as at width and depth multiplier 1."""
    if fmt == "mnasnet":
        if b.block != "mbconv" or b.activation is not None:
            what = f"a '{b.block}' block" if b.block != "mbconv" else f"a per-block activation ({b.activation})"
            raise ArchError(f"mnasnet strings cannot express {what}; use the timm format")
        parts = [f"r{b.num_repeat}", f"k{b.kernel_size}", f"s{b.strides}{b.strides}", f"e{_fmt(b.expand_ratio)}",
                 f"i{b.input_filters}", f"o{b.output_filters}"]
        if b.se_ratio:
            parts.append(f"se{_fmt(b.se_ratio)}")
        if not b.id_skip:
            parts.append("noskip")
        return "_".join(parts)
    if fmt != "timm":
        raise ArchError(f"unknown string format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if skips is None:
        skips = b.id_skip and (b.num_repeat > 1 or (b.strides == 1 and b.input_filters == b.output_filters))
    if b.block == "ds" and b.pw_act and skips:
        raise _no_dsa(f"r{b.num_repeat} s{b.strides} {b.input_filters} → {b.output_filters}")
    prefix = {"mbconv": "ir", "ds": "dsa" if b.pw_act else "ds", "conv": "cn", "shuffle": "sh"}[b.block]
    parts = [prefix, f"r{b.num_repeat}", f"k{b.kernel_size}", f"s{b.strides}"]
    if b.block == "mbconv":
        parts.append(f"e{_fmt(b.expand_ratio)}")
    parts.append(f"c{b.output_filters}")
    if b.se_ratio:
        parts.append(f"se{_fmt(b.se_ratio)}")
    if b.block == "conv":
        if b.id_skip:
            parts.append("skip")
    elif not b.id_skip and prefix != "dsa":  # dsa: no skip already
        parts.append("noskip")
    if b.activation is not None:
        parts.append(f"n{_ACT_CODES[b.activation]}")
    return "_".join(parts)


def _number(text: str, value: str, key: str) -> int | float:
    if not _NUMBER.match(value):
        raise ArchError(f"{text!r}: {key}: expected a number, got {value!r}")
    return float(value) if "." in value else int(value)


def decode_block(text: str, fmt: Format, input_filters: int | None = None) -> BlockArgs:
    """Parse one stage string. For ``timm`` strings ``input_filters`` (the previous width) is required.

    Errors are one line quoting the string and naming the field.
    """
    if not isinstance(text, str) or not text.strip():
        raise ArchError(f"{text!r}: expected a block string")
    ops = text.strip().split("_")
    data: dict[str, object] = {}
    if fmt == "timm":
        kind = ops.pop(0)
        if kind not in _TIMM_KINDS:
            raise ArchError(f"{text!r}: block: unknown block type {kind!r}; expected one of "
                            f"{', '.join(_TIMM_KINDS)}")
        data["block"] = _TIMM_KINDS[kind]
        data["pw_act"] = kind == "dsa"
        data["id_skip"] = kind not in ("cn", "dsa")
        data["expand_ratio"] = 1
        if input_filters is None:
            raise ArchError(f"{text!r}: timm strings need the input width (the previous stage's output)")
        data["input_filters"] = input_filters
        keys = {"r": "num_repeat", "k": "kernel_size", "s": "strides", "e": "expand_ratio", "c": "output_filters",
                "se": "se_ratio"}
    elif fmt == "mnasnet":
        data["block"] = "mbconv"
        data["id_skip"] = True
        keys = {"r": "num_repeat", "k": "kernel_size", "s": "strides", "e": "expand_ratio", "i": "input_filters",
                "o": "output_filters", "se": "se_ratio"}
    else:
        raise ArchError(f"unknown string format {fmt!r}; expected one of {', '.join(FORMATS)}")
    for op in ops:
        if op == "noskip":
            data["id_skip"] = False
            continue
        if fmt == "timm" and op == "skip":
            data["id_skip"] = data["block"] != "ds" or not data["pw_act"]  # timm: dsa never skips
            continue
        if fmt == "timm" and op.startswith("n") and op[1:] in _TIMM_ACTS:
            data["activation"] = _TIMM_ACTS[op[1:]]
            continue
        match = re.match(r"^([a-z]+)(.*)$", op)
        if not match or match.group(1) not in keys:
            raise ArchError(f"{text!r}: unknown option {op!r}")
        key, value = keys[match.group(1)], match.group(2)
        if key in data and key not in ("expand_ratio", "id_skip"):
            raise ArchError(f"{text!r}: {key}: given twice")
        if key == "strides" and fmt == "mnasnet" and len(value) == 2 and value.isdigit():
            if value[0] != value[1]:
                raise ArchError(f"{text!r}: strides: unequal strides {value!r} are not supported")
            value = value[0]
        data[key] = _number(text, value, key)
    for key in ("num_repeat", "kernel_size", "strides", "output_filters") + (("input_filters", "expand_ratio")
                                                                            if fmt == "mnasnet" else ()):
        if key not in data:
            raise ArchError(f"{text!r}: {key}: missing")
    return block_from_dict(data, repr(text))


def to_strings(arch: Arch, fmt: Format) -> list[str]:
    """One string per stage of ``arch``. Raises :class:`ArchError` if ``fmt`` cannot express a stage — for
    timm, a ``ds`` stage with an activated pointwise conv some block of which takes its skip in this network
    (after its width and depth multipliers)."""
    skipping = {layer.stage for layer in resolve(arch) if layer.skip}
    for i, b in enumerate(arch.blocks):
        if fmt == "timm" and b.block == "ds" and b.pw_act and i in skipping:
            raise _no_dsa(f"blocks[{i}]")
    return [encode_block(b, fmt, skips=i in skipping) for i, b in enumerate(arch.blocks)]


def from_strings(strings: Iterable[str], fmt: Format, base: Arch) -> Arch:
    """``base`` with its stages replaced by the decoded ``strings`` (stem, head and conventions kept).

    ``from_strings(to_strings(a, fmt), fmt, a) == a`` for every ``a`` that ``fmt`` can express, but for one
    case that builds the same network: a ``ds`` stage with an activated pointwise conv and ``id_skip: true``
    whose blocks can never skip is written ``dsa`` and reads back with ``id_skip: false``.
    """
    blocks: list[BlockArgs] = []
    previous = base.stem.filters
    for text in strings:
        b = decode_block(text, fmt, input_filters=previous)
        blocks.append(b)
        previous = b.output_filters
    if not blocks:
        raise ArchError("no block strings given")
    try:
        return Arch(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, "blocks": tuple(blocks)})
    except ArchError as exc:
        raise exc.at(f"{fmt} strings") from None
