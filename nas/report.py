"""What a person looks at after a search: ``pareto.png``, ``leaderboard.md`` and the dashboard.

    from nas.report import write_report
    write_report(study, "runs/my-study")        # → [runs/my-study/pareto.png, runs/my-study/leaderboard.md]

* ``pareto.png`` — every COMPLETE trial as latency (ms) × proxy value; trials over the latency target in
  another colour and marker; the Pareto front of the trials that meet the target as a step line; the target
  as a dashed vertical line; reference nets labelled by name. For the single-objective MnasNet study the
  exported top-k (by reward) are highlighted instead of being a front.
* ``leaderboard.md`` — one row per network exported by :func:`nas.export.export_pareto`, read back from
  ``pareto.yaml`` so the table and the YAML files always agree.
* :func:`write_study_note` — the run's settings as the study's note in optuna-dashboard;
  :func:`serve_dashboard` opens a run directory in optuna-dashboard (``scripts/dashboard.py``).

Feasibility is judged like the export does: a trial's recorded median latency against the target.
Both files are written atomically (temporary file, then rename), so a reader never sees half a file.
The figure is drawn on an explicit Agg canvas: no display, and no change to the caller's pyplot backend.
"""
from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import optuna
import yaml
from optuna.trial import FrozenTrial, TrialState

__all__ = ["RunInfo", "format_latency", "format_value", "load_run_study", "open_run", "proxy_name", "serve_dashboard",
           "write_leaderboard", "write_pareto_png", "write_report", "write_study_note"]

#: Exported networks highlighted for a single-objective study when there is no ``pareto.yaml``.
DEFAULT_TOP_K = 5

_FEASIBLE = "#1f77b4"  # blue
_INFEASIBLE = "#d62728"  # red
_FRONT = "#2ca02c"  # green
_HIGHLIGHT = "#ff7f0e"  # orange


# ----------------------------------------------------------------------------------------------- helpers
def format_latency(median_ms: float | None, iqr_ms: float | None = None) -> str:
    """``'12.35 ± 0.08'`` (milliseconds, two decimals); ``'–'`` when unknown."""
    if not _finite(median_ms):
        return "–"
    text = f"{median_ms:.2f}"
    return f"{text} ± {iqr_ms:.2f}" if _finite(iqr_ms) else text


def format_value(value: float | None) -> str:
    """A proxy value or reward: 4 significant digits, or a whole number with thousands separators from 10 000
    (a parameter-count proxy); ``'–'`` when unknown."""
    if not _finite(value):
        return "–"
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"


def proxy_name(study: optuna.Study) -> str:
    """The accuracy proxy of a study: from its metric names (``proxy:<name>``), else its settings, else
    its trials; ``'proxy'`` if nothing says."""
    for name in study.metric_names or []:
        if name.startswith("proxy:"):
            return name[len("proxy:"):]
    settings = study.user_attrs.get("settings") or {}
    if settings.get("proxy"):
        return str(settings["proxy"])
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if t.user_attrs.get("proxy"):
            return str(t.user_attrs["proxy"])
    return "proxy"


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _target(study: optuna.Study, target_ms: float | None) -> float | None:
    target = target_ms if target_ms is not None else study.user_attrs.get("latency_target_ms")
    return float(target) if _finite(target) else None


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _mega(x: Any) -> str:
    return f"{x / 1e6:.4g}" if _finite(x) else "–"


def _cell(text: Any) -> str:
    """Markdown table cell: no line breaks, escaped pipes."""
    return " ".join(str(text).split()).replace("|", "\\|")


@dataclass(frozen=True)
class _Point:
    number: int
    latency_ms: float
    proxy_value: float
    feasible: bool
    reference: str | None
    value: float | None  # the objective value of a single-objective study (MnasNet reward)


@dataclass
class _Summary:
    """What the picture and the table say about a study."""

    name: str
    multi: bool
    target: float | None
    proxy: str
    points: list[_Point]
    front: list[_Point]
    failed: int
    fail_reasons: Counter = field(default_factory=Counter)

    @property
    def n_feasible(self) -> int:
        return sum(p.feasible for p in self.points)


def _points(study: optuna.Study, target: float | None) -> list[_Point]:
    points = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        a = t.user_attrs
        latency, proxy = a.get("latency_ms"), a.get("proxy_value")
        if not (_finite(latency) and _finite(proxy)):
            continue
        feasible = latency <= target if target is not None else _constraints_ok(t)
        value = t.values[0] if t.values and len(t.values) == 1 else None
        points.append(_Point(t.number, float(latency), float(proxy), feasible, a.get("reference"), value))
    return points


def _constraints_ok(t: FrozenTrial) -> bool:
    return all(v <= 0 for v in t.constraints.values())


def _pareto_front(points: list[_Point]) -> list[_Point]:
    """The non-dominated points (higher proxy, lower latency), one per position, sorted by latency."""
    front: list[_Point] = []
    for p in sorted(points, key=lambda p: (p.latency_ms, -p.proxy_value, p.number)):
        if not front or p.proxy_value > front[-1].proxy_value:
            if front and p.latency_ms == front[-1].latency_ms:
                continue  # same latency, lower proxy: dominated
            front.append(p)
    return front


def _summary(study: optuna.Study, target_ms: float | None) -> _Summary:
    target = _target(study, target_ms)
    points = _points(study, target)
    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    reasons = Counter(t.user_attrs.get("fail_reason", "no reason recorded (killed or interrupted)") for t in failed)
    return _Summary(study.study_name, len(study.directions) > 1, target, proxy_name(study), points,
                    _pareto_front([p for p in points if p.feasible]), len(failed), reasons)


def _listing(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / "pareto.yaml"
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


# ------------------------------------------------------------------------------------------------ report
def write_report(study: optuna.Study, run_dir: str | Path, target_ms: float | None = None) -> list[Path]:
    """Write ``pareto.png`` and ``leaderboard.md`` into ``run_dir``; returns their paths.

    ``target_ms`` defaults to the study's own latency target. The leaderboard lists the networks of
    ``run_dir/pareto.yaml`` (written by :func:`nas.export.export_pareto`), so run the export first.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return [write_pareto_png(study, run_dir / "pareto.png", target_ms, listing=_listing(run_dir)),
            write_leaderboard(study, run_dir, target_ms)]


def write_pareto_png(study: optuna.Study, path: str | Path, target_ms: float | None = None, *,
                     listing: dict[str, Any] | None = None) -> Path:
    """Draw latency (ms) × proxy value for every COMPLETE trial into ``path`` (PNG, ~1200 × 820 px).

    ``listing`` is the content of ``pareto.yaml``: for a single-objective study its networks (the top-k by
    reward), and for a study with no feasible trial the closest ones, are highlighted.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    s = _summary(study, target_ms)
    fig = Figure(figsize=(8.0, 5.5), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    settings = study.user_attrs.get("settings") or {}
    ax.set_xlabel(_x_label(settings))
    ax.set_ylabel(("proxy value" if s.proxy == "proxy" else f"proxy: {s.proxy}") + " — higher is better")
    ax.set_title(f"{s.name}\n{_counts(s)}", fontsize=9)
    ax.grid(True, alpha=0.3)

    if not s.points:
        _draw_empty(ax, s)
    else:
        _draw_points(ax, s, listing)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fig.savefig(tmp, format="png")
    os.replace(tmp, path)
    return path


def _x_label(settings: dict[str, Any]) -> str:
    bits = [str(settings[k]) for k in ("latency_method", "device") if settings.get(k)]
    if settings.get("threads"):
        bits.append(f"{settings['threads']} threads")
    if settings.get("batch_size"):
        bits.append(f"batch {settings['batch_size']}")
    return "latency (ms, median) — lower is better" + (f"\n{', '.join(bits)}" if bits else "")


def _counts(s: _Summary) -> str:
    parts = [f"{len(s.points)} complete trials"]
    if s.target is not None and s.points:
        parts.append(f"{s.n_feasible} meet the {s.target:g} ms target")
    if s.failed:
        parts.append(f"{s.failed} failed")
    if s.multi and s.front:
        parts.append(f"Pareto front: {len(s.front)}")
    return " · ".join(parts)


def _draw_empty(ax: Any, s: _Summary) -> None:
    message = "no completed trials"
    if s.fail_reasons:
        reason, n = s.fail_reasons.most_common(1)[0]
        message += f"\n\n{s.failed} failed; most often ({n}×):\n{reason[:90]}"
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", fontsize=13, color="0.3",
            wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _draw_points(ax: Any, s: _Summary, listing: dict[str, Any] | None) -> None:
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

    refs: dict[str, _Point] = {}
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


def _highlighted(s: _Summary, listing: dict[str, Any] | None) -> list[_Point]:
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


# ------------------------------------------------------------------------------------------- leaderboard
def write_leaderboard(study: optuna.Study, run_dir: str | Path, target_ms: float | None = None) -> Path:
    """Write ``run_dir/leaderboard.md``: a header (study, target, device, latency method, proxy, dates) and
    one table row per network of ``run_dir/pareto.yaml``, in its order."""
    run_dir = Path(run_dir)
    s = _summary(study, target_ms)
    listing = _listing(run_dir)
    settings = study.user_attrs.get("settings") or {}
    run_json = _read_json(run_dir / "run.json") or {}
    rows = [r for r in (listing or {}).get("networks") or [] if isinstance(r, dict)]

    target = s.target if s.target is not None else (listing or {}).get("latency_target_ms")
    device = settings.get("device") or _first(rows, "device") or "–"
    device_bits = [str(settings[k]) for k in ("device_type",) if settings.get(k)]
    if settings.get("threads"):
        device_bits.append(f"{settings['threads']} threads")
    if settings.get("torch_version"):
        device_bits.append(f"torch {settings['torch_version']}")
    method = settings.get("latency_method") or _first(rows, "latency_method") or "–"
    method_bits = []
    if settings.get("batch_size"):
        method_bits.append(f"batch {settings['batch_size']}")
    if settings.get("latency_repeats"):
        method_bits.append(f"median of {settings['latency_repeats']} repeats, IQR")
    objective = ("Pareto: maximize the proxy, minimize latency, latency ≤ target" if s.multi
                 else "MnasNet reward ACC·(LAT/T)^-0.07, maximize")

    lines = [f"# Leaderboard — {s.name}", ""]
    lines += [f"- **study:** `{s.name}`",
              f"- **latency target:** {target:g} ms" if _finite(target) else "- **latency target:** –",
              f"- **device:** {device}" + (f" ({', '.join(device_bits)})" if device_bits else ""),
              f"- **latency method:** {method}" + (f" ({', '.join(method_bits)})" if method_bits else ""),
              f"- **proxy:** {s.proxy}",
              f"- **objective:** {objective}",
              f"- **trials:** {_counts(s)}"]
    if run_json.get("date"):
        lines.append(f"- **run started:** {run_json['date']}")
    lines += [f"- **date:** {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", ""]

    if not s.points:
        lines.append("**No completed trials** — nothing to rank.")
        if s.fail_reasons:
            lines += ["", f"{s.failed} trial(s) failed:", ""]
            lines += [f"- {n}× {_cell(reason)}" for reason, n in s.fail_reasons.most_common(5)]
        _atomic_write_text(run_dir / "leaderboard.md", "\n".join(lines) + "\n")
        return run_dir / "leaderboard.md"
    if listing is None:
        lines.append("No readable `pareto.yaml` in this run directory: export first (`scripts/export.py`), then "
                     "rerun `scripts/report.py`.")
        _atomic_write_text(run_dir / "leaderboard.md", "\n".join(lines) + "\n")
        return run_dir / "leaderboard.md"
    if listing.get("study") not in (None, s.name):
        lines += [f"> Note: `pareto.yaml` was written for study `{listing.get('study')}`, not this one.", ""]
    if _finite(listing.get("latency_target_ms")) and _finite(s.target) and listing["latency_target_ms"] != s.target:
        lines += [f"> Note: the networks below were exported against a {listing['latency_target_ms']:g} ms target, "
                  f"not {s.target:g} ms: rerun `scripts/export.py --target {s.target:g}ms` to re-export.", ""]

    exported = listing.get("latency_target_ms")
    exported = float(exported) if _finite(exported) else target
    within = f"within {exported:g} ms" if _finite(exported) else "meeting the target"
    if not rows:
        lines.append("`pareto.yaml` lists no networks.")
    elif listing.get("feasible", True):
        what = (f"the Pareto front of the trials {within}, by latency" if s.multi
                else f"the top {len(rows)} trials {within} by MnasNet reward")
        lines.append(f"{len(rows)} network(s): {what}. Each file builds with `nas.build_model(path)`.")
    else:
        lines.append(f"**No trial met the {exported:g} ms target**: the {len(rows)} closest are listed, "
                     "marked feasible: no.")
    if rows:
        lines += ["", *_table(rows, s)]
    _atomic_write_text(run_dir / "leaderboard.md", "\n".join(lines) + "\n")
    return run_dir / "leaderboard.md"


def _table(rows: list[dict[str, Any]], s: _Summary) -> list[str]:
    header = ["file", "trial", "network", "feasible", "latency (ms, median ± IQR)", f"proxy: {s.proxy}"]
    if not s.multi:
        header.append("MnasNet reward")
    header += ["params (M)", "MACs (M)", "timm strings"]
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    for r in rows:
        name = str(r.get("name") or "")
        if r.get("reference"):
            name += f" (reference: {r['reference']})"
        cells = [f"[{r.get('file')}]({r.get('file')})", str(r.get("trial", "–")), _cell(name) or "–",
                 "yes" if r.get("feasible") else "no", format_latency(r.get("latency_ms"), r.get("latency_iqr_ms")),
                 format_value(r.get("proxy_value"))]
        if not s.multi:
            cells.append(format_value(r.get("mnasnet_reward")))
        cells += [_mega(r.get("params")), _mega(r.get("macs")),
                  f"`{_cell(r['timm_strings'])}`" if r.get("timm_strings") else "–"]
        out.append("| " + " | ".join(cells) + " |")
    return out


def _first(rows: list[dict[str, Any]], key: str) -> Any:
    return next((r[key] for r in rows if r.get(key)), None)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --------------------------------------------------------------------------------------------- dashboard
def write_study_note(study: optuna.Study, settings: dict[str, Any], *, only_if_empty: bool = False) -> bool:
    """Save the run's settings as the study's Markdown note in optuna-dashboard (its ``save_note``).

    Returns False, doing nothing, when optuna-dashboard is not installed or (``only_if_empty``) the study
    already has a note — one written by a person in the dashboard is never overwritten that way.
    """
    try:
        from optuna_dashboard import get_note, save_note
    except ImportError:
        return False
    if only_if_empty and get_note(study).strip():
        return False
    lines = [f"## {study.study_name}", "", "Settings of this `nas` search run:", "", "| setting | value |",
             "|---|---|"]
    for key, value in settings.items():
        text = value if isinstance(value, str) else json.dumps(value)
        lines.append(f"| {_cell(key)} | {_cell(text)} |")
    lines += ["", "Feasible means `constraints` = [latency_ms − target] ≤ 0 (user attribute `feasible`); the "
              "Pareto-front plot greys out and the timeline marks the infeasible trials. The *Best Trial* chips "
              "of the trial list and the *Best Trials* card ignore the constraint (an optuna-dashboard "
              "limitation): the exported front is `pareto.yaml` / `leaderboard.md` in the run directory.", "",
              "User attributes hold the latency (median, IQR, ms), params, MACs, proxy value and the MnasNet / "
              "timm strings; each trial's architecture is its YAML artifact."]
    save_note(study, "\n".join(lines) + "\n")
    return True


@dataclass(frozen=True)
class RunInfo:
    """Where a run directory's study lives."""

    run_dir: Path
    storage: str
    study_name: str | None  # None: not recorded (no run.json)
    settings: dict[str, Any]


def open_run(run_dir: str | Path, storage: str | None = None, study_name: str | None = None) -> RunInfo:
    """Resolve a run directory (``runs/<study>/``) to its storage URL and study name.

    The storage is ``storage``, else the one ``run.json`` records, else ``sqlite:///RUN_DIR/study.db``; a
    relative SQLite path recorded from another working directory falls back to ``RUN_DIR/study.db``.
    Raises ``ValueError`` with a one-line message for a missing directory or database.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir}: no such run directory")
    info = _read_json(run_dir / "run.json") or {}
    if (run_dir / "run.json").is_file() and not info:
        raise ValueError(f"{run_dir / 'run.json'}: not a readable JSON object")
    local = f"sqlite:///{run_dir / 'study.db'}"
    url = storage or info.get("storage") or local
    if url.startswith("sqlite:///"):
        db = Path(url[len("sqlite:///"):])
        if not db.is_file() and storage is None and (run_dir / "study.db").is_file():
            url, db = local, run_dir / "study.db"
        if not db.is_file():
            raise ValueError(f"{db}: no such study database")
    settings = info.get("settings") if isinstance(info.get("settings"), dict) else {}
    return RunInfo(run_dir, url, study_name or info.get("study"), settings)


def load_run_study(run: RunInfo) -> optuna.Study:
    """Load the run's study (the only one in the storage when ``run.json`` names none)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        names = [s.study_name for s in optuna.get_all_study_summaries(run.storage, include_best_trial=False)]
    except Exception as exc:  # an unreachable server, a corrupt file
        raise ValueError(f"{run.storage}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    name = run.study_name
    if name is None:
        if len(names) != 1:
            raise ValueError(f"{run.storage} holds {len(names)} studies ({', '.join(names) or 'none'}); "
                             "give --study")
        name = names[0]
    if name not in names:
        raise ValueError(f"no study {name!r} in {run.storage}; studies there: {', '.join(names) or 'none'}")
    return optuna.load_study(study_name=name, storage=run.storage)


def serve_dashboard(run_dir: str | Path, *, host: str = "127.0.0.1", port: int = 8080, note: bool = True,
                    echo: Callable[[str], None] = print) -> None:
    """Serve the run's study in optuna-dashboard (blocks until interrupted).

    Storage from :func:`open_run`, artifact store ``RUN_DIR/artifacts`` (the trials' YAML files). With
    ``note``, a study without a note gets the run's settings as one (:func:`write_study_note`).
    Raises ``ValueError`` (one line) for a bad run directory, ``ImportError`` without optuna-dashboard and
    ``OSError`` when the address cannot be bound.
    """
    run = open_run(run_dir)
    _check_address(host, port)
    try:
        from optuna_dashboard import run_server
    except ImportError:
        raise ImportError("optuna-dashboard is not installed: pip install optuna-dashboard") from None
    study = load_run_study(run)
    settings = run.settings or study.user_attrs.get("settings") or {}
    if note and settings:
        write_study_note(study, settings, only_if_empty=True)
    artifacts = run.run_dir / "artifacts"
    store = None
    if artifacts.is_dir():
        from optuna.artifacts import FileSystemArtifactStore

        store = FileSystemArtifactStore(str(artifacts))
    else:
        echo(f"note: no {artifacts}/ — trial YAML artifacts will not download")
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
    echo(f"optuna-dashboard: http://{shown}:{port}/dashboard/studies/{study._study_id}  (study {study.study_name!r}, "
         f"storage {run.storage}; Ctrl-C stops)")
    run_server(run.storage, host=host, port=port, artifact_store=store)


def _check_address(host: str, port: int) -> None:
    """Raise ``OSError`` now if ``host:port`` can't be bound (as the dashboard's server would, after printing
    its banner)."""
    import socket

    family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # like the server (wsgiref's allow_reuse_address)
        s.bind(address)
