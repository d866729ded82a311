"""What ``nas inspect`` prints: an architecture (per-stage table, costs, block strings) or a search space
(choices per stage, size, distinct ops, skeleton cost)."""
from __future__ import annotations

import math

from nas.arch.layers import resolve
from nas.arch.spec import Arch, ArchError
from nas.arch.strings import FORMATS, to_strings
from nas.model.builder import build_model
from nas.model.cost import count_macs, count_params, macs_by_module, summary
from nas.space.space import KEYS, SearchSpace, show_choice

__all__ = ["describe", "describe_space", "stage_rows"]


def stage_rows(arch: Arch, resolution: int | None = None) -> list[dict[str, object]]:
    """One row per stem / stage / head: structure, output size, parameters and MACs (fvcore)."""
    r = resolution or arch.resolution
    model = build_model(arch)
    macs = macs_by_module(model, r)
    layers = resolve(arch, r)
    rows: list[dict[str, object]] = []
    stem, head = layers[0], layers[-1]
    rows.append(dict(stage="stem", block="conv" + (" + maxpool" if stem.pool == "max" else ""),
                     repeats=1, kernel=stem.kernel_size, stride=stem.stride, expand="", se="",
                     skip="", activation=stem.activation, channels=f"{stem.in_chs}→{stem.out_chs}",
                     out_size=stem.output_size, params=count_params(model.stem), macs=macs.get("stem", 0)))
    for i, b in enumerate(arch.blocks):
        stage_layers = [l for l in layers if l.stage == i]
        first = stage_layers[0]
        rows.append(dict(stage=str(i), block=b.block + ("(pw act)" if b.pw_act else ""), repeats=len(stage_layers),
                         kernel=b.kernel_size, stride=b.strides,
                         expand=f"{b.expand_ratio:g}" if b.block == "mbconv" else "",
                         se=f"{b.se_ratio:g}" if b.se_ratio else "", skip="yes" if any(l.skip for l in stage_layers)
                         else "no", activation=first.activation, channels=f"{first.in_chs}→{first.out_chs}",
                         out_size=stage_layers[-1].output_size, params=count_params(model.blocks[i]),
                         macs=macs.get(f"blocks.{i}", 0)))
    head_desc = (f"conv1x1 {head.mid_chs} → " if head.mid_chs else "") + "pool" + \
        (f" → fc {head.hidden}" if head.hidden else "") + f" → fc {head.out_chs}"
    rows.append(dict(stage="head", block=head_desc, repeats=1, kernel="", stride="", expand="", se="", skip="",
                     activation=head.activation, channels=f"{head.in_chs}→{head.out_chs}", out_size=1,
                     params=count_params(model.head), macs=macs.get("head", 0)))
    return rows


def _table(rows: list[dict[str, object]]) -> str:
    cols = list(rows[0])
    cells = [[f"{r[c]:,}" if isinstance(r[c], int) and c in ("params", "macs") else str(r[c]) for c in cols]
             for r in rows]
    widths = [max(len(c), *(len(row[j]) for row in cells)) for j, c in enumerate(cols)]
    line = lambda vals: "  ".join(v.rjust(w) if j >= 11 else v.ljust(w) for j, (v, w) in enumerate(zip(vals, widths)))
    return "\n".join([line(cols), line(["-" * w for w in widths])] + [line(r) for r in cells])


def describe(arch: Arch, resolution: int | None = None) -> str:
    """Multi-line text: header, per-stage table, totals (params, MACs, activation memory), strings."""
    r = resolution or arch.resolution
    rows = stage_rows(arch, r)
    cost = summary(arch, r)
    se = f"SE from {arch.se.source} channels, {arch.se.gate} gate"
    lines = [f"{arch.name}: {arch.in_channels}×{r}×{r} → {arch.num_classes} classes, activation {arch.activation}, {se}",
             "", _table(rows), "",
             f"params            {cost.params:,}",
             f"MACs              {cost.macs:,} ({cost.macs / 1e6:.1f}M, fvcore, batch 1 @ {r}px)",
             f"peak activations  {cost.activation_bytes / 2**20:.2f} MiB (float32, batch 1: live tensors at the peak)", ""]
    for fmt in FORMATS:
        try:
            lines.append(f"{fmt} strings: " + " ".join(to_strings(arch, fmt)))
        except ArchError as exc:
            lines.append(f"{fmt} strings: (not expressible: {exc})")
    return "\n".join(lines)


def describe_space(space: SearchSpace, costs: bool = True) -> str:
    """Multi-line text: header, per-stage choice table, size, distinct ops, skeleton params/MACs."""
    sk = space.skeleton
    lines = [f"space        {space.name}  ({space.source})",
             f"skeleton     {sk.name}  ({len(sk.blocks)} stages, stem {sk.stem.filters}, "
             f"head {sk.head.filters}, activation {sk.activation})",
             f"resolution   {sk.resolution}",
             f"searched     {', '.join(map(str, space.searched_stages)) or '-'}",
             f"fixed        {', '.join(map(str, space.fixed_stages)) or '-'}",
             ""]
    header = ["stage", "stride", "skeleton", *KEYS, "widths", "options"]
    rows = [header]
    widths = space.widths()
    for i, b in enumerate(sk.blocks):
        skel = f"{b.block} r{b.num_repeat} k{b.kernel_size} e{b.expand_ratio:g} o{b.output_filters}"
        if i in space.fixed_stages:
            cells = ["fixed"] + [""] * (len(KEYS) - 1)
        else:
            cells = ["/".join(show_choice(v) for v in space.choices[i][k]) for k in KEYS]
        rows.append([str(i), str(b.strides), skel, *cells, "/".join(map(str, widths[i])),
                     str(len(space.stage_options(i)))])
    col = [max(len(r[j]) for r in rows) for j in range(len(header))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, col)).rstrip() for r in rows]
    lines.append("  (keys not declared in the file hold the skeleton stage's value)" if len(space.declared) < len(KEYS)
                 else "")
    size = space.size()
    lines.append(f"size         {size:,} architectures (10^{math.log10(size):.2f})")
    lines.append(f"ops          {len(space.ops()):,} distinct layers at {sk.resolution} px")
    refs = space.reference_archs()
    lines.append(f"reference    {refs[0].name if refs else 'skeleton is not inside the space'}")
    if costs:
        model = build_model(sk)
        lines.append(f"skeleton     {count_params(model):,} params, "
                     f"{count_macs(model, sk.resolution):,} MACs @ {sk.resolution} px")
    return "\n".join(lines)
