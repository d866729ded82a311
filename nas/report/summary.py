"""What the picture and the leaderboard say about a study: its completed trials as points (latency × proxy),
which meet the target, the Pareto front (:mod:`nas.search.front` decides both), failures, and the number
formats both use."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.trial import TrialState

from nas.numbers import is_finite
from nas.search.front import completed_trials, is_feasible, latency_target, pareto_front
from nas.search.objective import cut_off, rejected

__all__ = ["Point", "Summary", "format_latency", "format_value", "counts_line", "mega", "proxy_name", "read_listing",
           "summarize"]

def format_latency(median_ms: float | None, iqr_ms: float | None = None) -> str:
    """``'12.35 ± 0.08'`` (milliseconds, two decimals); ``'–'`` when unknown."""
    if not is_finite(median_ms):
        return "–"
    text = f"{median_ms:.2f}"
    return f"{text} ± {iqr_ms:.2f}" if is_finite(iqr_ms) else text


def format_value(value: float | None) -> str:
    """A proxy value or reward: 4 significant digits, or a whole number with thousands separators from 10 000
    (a parameter-count proxy); ``'–'`` when unknown."""
    if not is_finite(value):
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


def mega(x: Any) -> str:
    """``x / 1e6`` to 4 significant digits (params or MACs in millions), ``–`` when unknown."""
    return f"{x / 1e6:.4g}" if is_finite(x) else "–"


@dataclass(frozen=True)
class Point:
    number: int
    latency_ms: float
    proxy_value: float
    feasible: bool
    reference: str | None
    value: float | None  # the objective value of a single-objective study (MnasNet reward)


@dataclass
class Summary:
    """What the picture and the table say about a study."""

    name: str
    multi: bool
    target: float | None
    proxy: str
    points: list[Point]
    front: list[Point]
    failed: int  # candidates that failed (each with its reason)
    fail_reasons: Counter = field(default_factory=Counter)
    noisy: int = 0
    cut_off: int = 0  # FAIL without a reason (interrupted, killed, crashed): not counted, another trial runs

    @property
    def n_feasible(self) -> int:
        return sum(p.feasible for p in self.points)


def _points(study: optuna.Study, target: float | None) -> list[Point]:
    points = []
    for t in completed_trials(study):
        a = t.user_attrs
        latency, proxy = a.get("latency_ms"), a.get("proxy_value")
        if not (is_finite(latency) and is_finite(proxy)):
            continue
        feasible = is_feasible(t, target)
        value = t.values[0] if t.values and len(t.values) == 1 else None
        points.append(Point(t.number, float(latency), float(proxy), feasible, a.get("reference"), value))
    return points


def summarize(study: optuna.Study, target_ms: float | None) -> Summary:
    """The :class:`Summary` of ``study`` against ``target_ms`` (default: its own target)."""
    target = latency_target(study, target_ms)
    points = _points(study, target)
    fails = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    failed = [t for t in fails if rejected(t)]
    reasons = Counter(t.user_attrs["fail_reason"] for t in failed)
    multi = len(study.directions) > 1
    on_front = {t.number for t in pareto_front(study, target)} if multi and target is not None else set()
    front: dict[tuple[float, float], Point] = {}  # one point per position: duplicated architectures overlap
    for p in sorted(points, key=lambda p: (p.latency_ms, -p.proxy_value, p.number)):
        if p.number in on_front:
            front.setdefault((p.latency_ms, p.proxy_value), p)
    noisy = sum(bool(t.user_attrs.get("noisy")) for t in completed_trials(study) if "duplicate_of" not in t.user_attrs)
    return Summary(study.study_name, multi, target, proxy_name(study), points, list(front.values()), len(failed),
                   reasons, noisy, sum(map(cut_off, fails)))


def read_listing(run_dir: Path) -> dict[str, Any] | None:
    """The content of ``run_dir/pareto.yaml`` (the exported networks), or ``None`` if missing or unreadable."""
    path = run_dir / "pareto.yaml"
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def counts_line(s: Summary) -> str:
    """``12 complete trials · 7 meet the 20 ms target · 1 failed · Pareto front: 3``."""
    parts = [f"{len(s.points)} complete trials"]
    if s.target is not None and s.points:
        parts.append(f"{s.n_feasible} meet the {s.target:g} ms target")
    if s.failed:
        parts.append(f"{s.failed} failed")
    if s.cut_off:
        parts.append(f"{s.cut_off} cut off (interrupted, killed or crashed; not counted)")
    if s.noisy:
        parts.append(f"{s.noisy} timed noisy (not feasible)")
    if s.multi and s.front:
        parts.append(f"Pareto front: {len(s.front)}")
    return " · ".join(parts)
