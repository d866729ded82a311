"""``pareto.png``: every completed trial as latency (ms) × proxy value; trials over the latency target in
another colour and marker; the Pareto front of the trials that meet it as a step line; the target as a dashed
vertical line; reference nets labelled by name. For the single-objective MnasNet study the exported top-k (by
reward) are highlighted instead of a front. Drawn on an explicit Agg canvas (no display, and no change to the
caller's pyplot backend) and written atomically."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import optuna

from nas.files import atomic_write
from nas.report.summary import Point, Summary, counts_line, summarize

__all__ = ["DEFAULT_TOP_K", "write_pareto_png"]

#: Exported networks highlighted for a single-objective study when there is no ``pareto.yaml``.
DEFAULT_TOP_K = 5

_FEASIBLE = "#1f77b4"  # blue
_INFEASIBLE = "#d62728"  # red
_FRONT = "#2ca02c"  # green
_HIGHLIGHT = "#ff7f0e"  # orange


def write_pareto_png(study: optuna.Study, path: str | Path, target_ms: float | None = None, *,
                     listing: dict[str, Any] | None = None) -> Path:
    """Draw latency (ms) × proxy value for every COMPLETE trial into ``path`` (PNG, ~1200 × 820 px).

    ``listing`` is the content of ``pareto.yaml``: for a single-objective study its networks (the top-k by
    reward), and for a study with no feasible trial the closest ones, are highlighted.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    s = summarize(study, target_ms)
    fig = Figure(figsize=(8.0, 5.5), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    settings = study.user_attrs.get("settings") or {}
    ax.set_xlabel(_x_label(settings))
    ax.set_ylabel(("proxy value" if s.proxy == "proxy" else f"proxy: {s.proxy}") + " — higher is better")
    ax.set_title(f"{s.name}\n{counts_line(s)}", fontsize=9)
    ax.grid(True, alpha=0.3)

    if not s.points:
        _draw_empty(ax, s)
    else:
        _draw_points(ax, s, listing)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return atomic_write(path, buffer.getvalue(), fsync=False)


def _x_label(settings: dict[str, Any]) -> str:
    bits = [str(settings[k]) for k in ("latency_method", "device") if settings.get(k)]
    if settings.get("threads"):
        bits.append(f"{settings['threads']} threads")
    if settings.get("batch_size"):
        bits.append(f"batch {settings['batch_size']}")
    return "latency (ms, median) — lower is better" + (f"\n{', '.join(bits)}" if bits else "")


def _draw_empty(ax: Any, s: Summary) -> None:
    message = "no completed trials"
    if s.fail_reasons:
        reason, n = s.fail_reasons.most_common(1)[0]
        message += f"\n\n{s.failed} failed; most often ({n}×):\n{reason[:90]}"
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", fontsize=13, color="0.3",
            wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _draw_points(ax: Any, s: Summary, listing: dict[str, Any] | None) -> None:
    from matplotlib.ticker import ScalarFormatter

    feasible = [p for p in s.points if p.feasible]
    over = [p for p in s.points if not p.feasible]
    if feasible:
        ax.scatter([p.latency_ms for p in feasible], [p.proxy_value for p in feasible], s=24, alpha=0.5,
                   color=_FEASIBLE, edgecolors="none", label=f"trial meeting the target ({len(feasible)})"
                   if s.target is not None else f"trial ({len(feasible)})", zorder=2)
    if over:
        ax.scatter([p.latency_ms for p in over], [p.proxy_value for p in over], s=26, alpha=0.45, marker="x",
                   color=_INFEASIBLE, linewidths=1.2, label=f"trial over the target ({len(over)})", zorder=2)
    if s.front:
        xs, ys = [p.latency_ms for p in s.front], [p.proxy_value for p in s.front]
        ax.step(xs, ys, where="post", color=_FRONT, linewidth=1.8, zorder=3)
        ax.plot(xs, ys, linestyle="none", marker="o", markersize=6, color=_FRONT, markeredgecolor="black",
                markeredgewidth=0.6, zorder=4, label=f"Pareto front, within target ({len(s.front)})")

    highlighted = _highlighted(s, listing)
    if highlighted:
        label = (f"top {len(highlighted)} by MnasNet reward (exported)" if s.n_feasible
                 else f"{len(highlighted)} closest to the target (exported)")
        ax.scatter([p.latency_ms for p in highlighted], [p.proxy_value for p in highlighted], s=130, marker="*",
                   color=_HIGHLIGHT, edgecolors="black", linewidths=0.6, zorder=5, label=label)
        if not s.multi and s.n_feasible:
            for rank, p in enumerate(highlighted, 1):
                ax.annotate(f"#{rank}", (p.latency_ms, p.proxy_value), xytext=(5, -10), textcoords="offset points",
                            fontsize=7, color="0.25")

    refs: dict[str, Point] = {}
    for p in s.points:
        if p.reference and p.reference not in refs:
            refs[p.reference] = p
    if refs:
        ax.scatter([p.latency_ms for p in refs.values()], [p.proxy_value for p in refs.values()], s=70,
                   marker="D", facecolors="none", edgecolors="black", linewidths=1.2, zorder=6,
                   label="reference net")
        for i, (name, p) in enumerate(sorted(refs.items(), key=lambda kv: kv[1].latency_ms)):
            ax.annotate(name, (p.latency_ms, p.proxy_value), xytext=(8, 10 + 9 * (i % 3)),
                        textcoords="offset points", fontsize=8, zorder=7,
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.6", "alpha": 0.85},
                        arrowprops={"arrowstyle": "-", "color": "0.4", "linewidth": 0.8})

    if s.target is not None:
        _draw_target(ax, s.target)
    for axis in (ax.xaxis, ax.yaxis):
        fmt = ScalarFormatter(useOffset=False)
        fmt.set_powerlimits((-3, 5))
        axis.set_major_formatter(fmt)
    ax.legend(loc="best", fontsize=7.5, framealpha=0.9)


def _draw_target(ax: Any, target: float) -> None:
    """The dashed target line, its label and a light shade over the infeasible side. A target far beyond
    every trial is not drawn to scale (that would squeeze the trials into a corner): an arrow says where."""
    lo, hi = ax.get_xlim()
    far = target > hi + 0.5 * (hi - lo)
    ax.axvline(target, color=_INFEASIBLE, linestyle="--", linewidth=1.3, zorder=1,
               label=f"target {target:g} ms" + (" (off the plot →)" if far else ""))
    if far:
        ax.set_xlim(lo, hi)
        ax.annotate(f"target {target:g} ms →", (1.0, 0.0), xycoords="axes fraction", xytext=(-4, 4),
                    textcoords="offset points", ha="right", va="bottom", fontsize=8, color=_INFEASIBLE)
        return
    lo, hi = min(lo, target), max(hi, target * 1.02)
    ax.axvspan(target, hi, color=_INFEASIBLE, alpha=0.05, zorder=0, linewidth=0)
    ax.set_xlim(lo, hi)
    right = (target - lo) > 0.75 * (hi - lo)  # near the right edge: label on the left of the line
    ax.annotate(f"target {target:g} ms", (target, 1.0), xycoords=("data", "axes fraction"),
                xytext=(-4 if right else 4, -4), textcoords="offset points", ha="right" if right else "left",
                va="top", fontsize=8, color=_INFEASIBLE)


def _highlighted(s: Summary, listing: dict[str, Any] | None) -> list[Point]:
    """The exported networks worth marking: the top-k of a single-objective study, or, when nothing meets
    the target, the closest ones. Taken from ``pareto.yaml`` when it belongs to this study."""
    if s.multi and s.n_feasible:
        return []  # the front is the export
    by_number = {p.number: p for p in s.points}
    if listing and listing.get("study") == s.name:
        rows = listing.get("networks") or []
        return [by_number[r["trial"]] for r in rows if isinstance(r, dict) and r.get("trial") in by_number]
    if not s.multi and s.n_feasible:  # no export to read: the top-k by reward
        ranked = sorted((p for p in s.points if p.feasible and p.value is not None), key=lambda p: -p.value)
        return ranked[:DEFAULT_TOP_K]
    return []
