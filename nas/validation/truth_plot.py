"""``truth_<space>.png``: one picture per space of the converged ground truth (issue 14), drawn from
:func:`nas.validation.truth_analysis.analyse_space`'s output alone, so it shows exactly what the report's
tables say:

1. **signals** — every signal's Kendall τ against the truth with its 95 % bootstrap CI, best at the top,
   coloured by kind (zero-cost proxy, baseline, short training, few-shot predictor); the seeds' own τ (the
   noise ceiling) as a dotted line: no signal can be trusted to rank better than the truth ranks itself;
2. **noise ceiling** — top-1 of training seed 0 against seed 1 per net (at E);
3. **budget stability** — the truth at E against the truth at 2·E (means over the same seeds);
4. **plateau** — for each E → 1.5·E step measured, every net's move of top-1 (points) and their mean (bar),
   with the ±:data:`~nas.validation.truth_checks.PLATEAU_PT` band that counts as converged.

A panel whose data is not planned or not trained yet says so instead of drawing. Drawn on an explicit Agg
canvas (no pyplot state, no display) and written atomically.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Mapping, Sequence

from nas.files import atomic_write
from nas.numbers import is_finite
from nas.validation.truth_checks import BUDGET_TAU, NOISE_TAU, PLATEAU_PT

__all__ = ["KIND_COLOURS", "truth_figure", "write_truth_figures"]

#: Colour of each signal kind in the signals panel.
KIND_COLOURS = {"proxy": "#1f77b4", "baseline": "#7f7f7f", "training": "#2ca02c", "predictor": "#ff7f0e"}


def write_truth_figures(analysis: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """One ``truth_<space>.png`` per space of ``analysis`` (:func:`~nas.validation.truth_analysis.analyse_truth`)
    in ``out_dir`` (created); returns the paths. A space given as a YAML path is named by its file stem."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = analysis["plan"]
    paths = []
    for s in analysis["spaces"]:
        fig = truth_figure(s, epochs=plan.epochs, budget_factor=plan.budget_factor, seeds=plan.seeds)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        paths.append(atomic_write(out_dir / f"truth_{Path(str(s['space'])).stem}.png", buffer.getvalue(),
                                  fsync=False))
    return paths


def truth_figure(s: Mapping[str, Any], *, epochs: int, budget_factor: int, seeds: Sequence[int]) -> Any:
    """The 2 × 2-panel :class:`matplotlib.figure.Figure` (~1650 × 1350 px at its dpi) of one space ``s``
    (an :func:`~nas.validation.truth_analysis.analyse_space` result); axes in the order of the module, by rows."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.0, 9.0), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2).ravel()
    truth = s["truth"]
    n_seeds = len(seeds)
    fig.suptitle(f"{Path(str(s['space'])).stem}: ground truth = mean top-1 of {n_seeds} seed(s) after {epochs} "
                 f"epochs, {len(truth['acc'])} nets", fontsize=11)
    _signals(axes[0], s)
    _noise(axes[1], s["noise"], epochs)
    _budget(axes[2], s, epochs, budget_factor)
    _plateau(axes[3], s)
    return fig


def _say(ax: Any, title: str, message: str) -> None:
    ax.set_title(title, fontsize=9)
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", fontsize=10, color="0.35",
            wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _signals(ax: Any, s: Mapping[str, Any]) -> None:
    rows = [r for r in s["rows"] if is_finite(r["corr"].get("tau"))]
    if not rows:
        _say(ax, "signals against the truth", "no signal scored yet")
        return
    rows.sort(key=lambda r: r["corr"]["tau"])  # the best ends at the top
    for y, r in enumerate(rows):
        c = r["corr"]
        colour = KIND_COLOURS.get(r["kind"], "black")
        lo, hi = c.get("tau_lo", c["tau"]), c.get("tau_hi", c["tau"])
        ax.plot([lo, hi], [y, y], color=colour, lw=2, alpha=0.6)
        ax.plot([c["tau"]], [y], "o", color=colour, ms=6)
    ax.set_yticks(range(len(rows)), [r["name"] for r in rows], fontsize=8)
    ax.axvline(0, color="0.5", lw=0.8)
    seeds_tau = s["noise"].get("corr", {}).get("tau")
    if is_finite(seeds_tau):
        ax.axvline(seeds_tau, color="black", ls=":", lw=1.2, label=f"seeds agree (τ {seeds_tau:.2f})")
    for kind, colour in KIND_COLOURS.items():
        if any(r["kind"] == kind for r in rows):
            ax.plot([], [], "o", color=colour, label=kind)
    ax.legend(fontsize=7, loc="lower left")
    ax.set_xlim(-1, 1)
    ax.set_xlabel("Kendall τ with the truth (95 % bootstrap CI)")
    ax.set_title("signals against the truth", fontsize=9)
    ax.grid(True, axis="x", alpha=0.3)


def _diagonal(ax: Any, xs: Sequence[float], ys: Sequence[float]) -> None:
    lo, hi = min(*xs, *ys), max(*xs, *ys)
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.6", lw=0.8, ls="--")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.grid(True, alpha=0.3)


def _noise(ax: Any, noise: Mapping[str, Any], epochs: int) -> None:
    title = "noise ceiling: seed against seed"
    a, b = noise.get("seed_a") or [], noise.get("seed_b") or []
    if len(a) < 2:
        _say(ax, title, "fewer than 2 nets trained with both seeds")
        return
    xs, ys = [100 * x for x in a], [100 * y for y in b]
    ax.scatter(xs, ys, s=20, alpha=0.8, color="#1f77b4")
    _diagonal(ax, xs, ys)
    seeds = noise.get("seeds") or ["a", "b"]
    ax.set_xlabel(f"top-1 (%), seed {seeds[0]}, {epochs} epochs")
    ax.set_ylabel(f"top-1 (%), seed {seeds[1]}")
    c = noise["corr"]
    verdict = "the truth can judge a proxy" if noise.get("can_judge") else "the truth cannot judge a proxy"
    ax.set_title(f"{title}\nτ {c['tau']:.2f} [{c['tau_lo']:.2f}, {c['tau_hi']:.2f}] on {c['n']} nets: {verdict} "
                 f"(τ ≥ {NOISE_TAU})", fontsize=9)


def _budget(ax: Any, s: Mapping[str, Any], epochs: int, factor: int) -> None:
    title = f"budget stability: {epochs} against {factor * epochs} epochs"
    if not s["plan"].budget_n:
        _say(ax, title, "not planned for this space\n(budget=0 in its --spaces entry)")
        return
    b = s["budget"]
    if len(b["names"]) < 2:
        _say(ax, title, f"not trained yet: {len(b['names'])} of {s['plan'].budget_n} nets at {factor * epochs} epochs")
        return
    xs, ys = [100 * x for x in b["short"]], [100 * y for y in b["long"]]
    ax.scatter(xs, ys, s=20, alpha=0.8, color="#2ca02c")
    _diagonal(ax, xs, ys)
    ax.set_xlabel(f"truth at {epochs} epochs (top-1 %)")
    ax.set_ylabel(f"mean of seed(s) {', '.join(map(str, b['long_seeds']))} at {factor * epochs} epochs (top-1 %)")
    c = b["corr"]
    cap = b.get("noise_cap_tau")
    verdict = ("stable" if b.get("stable") else "not stable") if b.get("complete") else \
        f"pending, {s['plan'].budget_n - len(b['names'])} more nets training"
    ax.set_title(f"{title}\nτ {c['tau']:.2f} [{c['tau_lo']:.2f}, {c['tau_hi']:.2f}] on {c['n']} nets: {verdict} "
                 f"(τ ≥ {BUDGET_TAU})" + (f"\nseed noise alone would leave τ ≈ {cap:.2f}" if is_finite(cap) else ""),
                 fontsize=9)


def _plateau(ax: Any, s: Mapping[str, Any]) -> None:
    title = "plateau: top-1 move from E to 1.5·E"
    if not s["plan"].plateau_n:
        _say(ax, title, "not planned for this space\n(plateau=0 in its --spaces entry)")
        return
    steps = s["plateau"]
    if not steps:
        _say(ax, title, f"not trained yet (the first {s['plan'].plateau_n} nets at E and 1.5·E)")
        return
    for i, p in enumerate(steps):
        colour = "#2ca02c" if p["converged"] else "#d62728"
        ax.bar([i], [p["mean_pt"]], color=colour, alpha=0.35, width=0.6)
        ax.plot([i] * len(p["moves_pt"]), p["moves_pt"], "o", color=colour, ms=4)
    ax.axhspan(-PLATEAU_PT, PLATEAU_PT, color="0.85", zorder=0, label=f"±{PLATEAU_PT} pt (converged)")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xticks(range(len(steps)), [f"{p['epochs']} → {p['epochs_long']}" for p in steps], fontsize=8)
    ax.set_xlabel("epochs (seed 0)")
    ax.set_ylabel("move of top-1 (points): nets and mean")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"{title}\nconverged where the mean (bar) is < {PLATEAU_PT} pt", fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)
