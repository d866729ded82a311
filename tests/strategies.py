"""Hypothesis strategies for valid architectures (shared by the arch and strings tests)."""
from __future__ import annotations

from hypothesis import strategies as st

from nas.arch import ACTIVATIONS, Arch, BlockArgs, HeadArgs, SEArgs, StemArgs

widths = st.integers(1, 64).map(lambda n: 8 * n)
ratios = st.sampled_from([1, 2, 2.3, 2.5, 3, 3.67, 4, 4.5, 6])
se_ratios = st.sampled_from([0, 0.125, 0.25, 0.5])
acts = st.sampled_from(ACTIVATIONS)
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda s: s.strip() != "")


@st.composite
def block_list(draw: st.DrawFn, in_filters: int, mbconv_only: bool = False,
               default_activation: bool = False) -> list[BlockArgs]:
    blocks = []
    for _ in range(draw(st.integers(1, 7))):
        kind = "mbconv" if mbconv_only else draw(st.sampled_from(["mbconv", "mbconv", "ds", "shuffle", "conv"]))
        out = draw(widths)
        blocks.append(BlockArgs(
            block=kind,
            num_repeat=draw(st.integers(1, 5)),
            kernel_size=draw(st.sampled_from([1, 3, 5, 7] if kind == "conv" else [3, 5, 7])),
            strides=draw(st.sampled_from([1, 2])),
            expand_ratio=draw(ratios) if kind == "mbconv" else 1,
            input_filters=in_filters,
            output_filters=out,
            se_ratio=draw(se_ratios) if kind in ("mbconv", "ds") else 0,
            id_skip=draw(st.booleans()),
            activation=None if default_activation else draw(st.none() | acts),
            pw_act=draw(st.booleans()) if kind == "ds" else False,
        ))
        in_filters = out
    return blocks


@st.composite
def archs(draw: st.DrawFn, mbconv_only: bool = False, default_activation: bool = False) -> Arch:
    stem = StemArgs(filters=draw(widths), kernel_size=draw(st.sampled_from([1, 3, 5, 7])),
                    strides=draw(st.sampled_from([1, 2])), activation=draw(st.none() | acts),
                    pool=draw(st.sampled_from(["none", "max"])))
    head = HeadArgs(filters=draw(st.none() | widths), activation=draw(st.none() | acts),
                    hidden_filters=draw(st.none() | widths), dropout=draw(st.sampled_from([0, 0.1, 0.2, 0.25])))
    return Arch(
        name=draw(names),
        blocks=tuple(draw(block_list(stem.filters, mbconv_only, default_activation))),
        stem=stem,
        head=head,
        resolution=draw(st.sampled_from([32, 64, 96, 128, 160, 192, 224, 256])),
        num_classes=draw(st.integers(1, 1000)),
        in_channels=draw(st.sampled_from([1, 3, 4])),
        activation=draw(acts),
        se=SEArgs(draw(st.sampled_from(["input", "expanded"])), draw(st.sampled_from(["sigmoid", "hsigmoid"])),
                  draw(st.none() | acts)),
        width_multiplier=draw(st.sampled_from([0.5, 0.75, 1.0, 1.4, 2.0])),
        depth_multiplier=draw(st.sampled_from([1.0, 1.2, 2.0])),
        drop_path_rate=draw(st.sampled_from([0, 0.1, 0.2])),
        bn_eps=draw(st.sampled_from([1e-5, 1e-3])),
        bn_momentum=draw(st.sampled_from([0.1, 0.01, 0.0003])),
    )


@st.composite
def archs_with_any_ratios(draw: st.DrawFn, mbconv_only: bool = False, default_activation: bool = False) -> Arch:
    """:func:`archs` with arbitrary floats for the SE ratios (down to 1e-9: ``5e-05`` must not become an
    exponent in a string) and the expansion ratios (fractional widths round like timm's)."""
    import dataclasses

    arch = draw(archs(mbconv_only, default_activation))
    blocks = []
    for b in arch.blocks:
        changes = {}
        if b.se_ratio:
            changes["se_ratio"] = draw(st.floats(1e-9, 1.0) | st.sampled_from([5e-05, 1e-06, 0.0625]))
        if b.block == "mbconv":
            changes["expand_ratio"] = draw(st.floats(1.0, 16.0) | ratios)
        blocks.append(dataclasses.replace(b, **changes))
    return arch.replace(blocks=tuple(blocks))
