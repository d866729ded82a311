"""The one owner of the latency target, feasibility and the Pareto front (the pattern of Optuna's own
``optuna/study/_constrained_optimization.py``: one rule, reused by the search, the export, the reports and
the progress bar).

* A trial records its constraints as ``[latency_ms − target_ms, noisy]`` (:func:`set_latency_constraint`) in
  the list form that both Optuna 5's samplers and optuna-dashboard 0.21 read.
* A trial is **feasible** (:func:`is_feasible`) when it completed, its latency was not flagged noisy, and its
  recorded median latency meets the target — the study's own target (then exactly its stored constraints) or
  another one given to re-judge it.
* The **Pareto front** (:func:`pareto_front`) of a two-objective study (proxy ↑, latency ↓) is Optuna's own
  constraint-aware ``best_trials``; for another target the trials are copied into an in-memory study with the
  constraints re-judged, so the same Optuna code decides.
"""
from __future__ import annotations

import math
from typing import Any, Iterator

import optuna
from optuna.trial import FrozenTrial, TrialState

__all__ = ["CONSTRAINTS_ATTR", "feasible_trials", "is_feasible", "latency_target", "pareto_front", "pareto_layers",
           "set_latency_constraint"]

#: The trial system attribute holding the constraint list (Optuna's ``_CONSTRAINTS_KEY``).
CONSTRAINTS_ATTR = "constraints"


def latency_target(study: optuna.Study, target_ms: float | None = None) -> float | None:
    """``target_ms`` if given, else the target the study was created with (``None`` if it records none)."""
    target = target_ms if target_ms is not None else study.user_attrs.get("latency_target_ms")
    ok = isinstance(target, (int, float)) and not isinstance(target, bool) and math.isfinite(target)
    return float(target) if ok else None


def set_latency_constraint(trial: optuna.trial.Trial, latency_ms: float, target_ms: float, noisy: bool = False) -> None:
    """Record the trial's constraints in the list form: ``[latency_ms − target_ms, 1 if noisy else 0]`` — a
    latency taken while other processes disturbed the measurement (even after its retries) never makes a trial
    feasible on that number alone.

    ``Trial.set_constraint`` writes ``constraints:<key>``, which optuna-dashboard 0.21 does not read; the list
    is what a sampler's ``constraints_func`` writes and what both read (tests/report/test_dashboard.py). Optuna
    has no public setter for it, hence the storage call.
    """
    values = [float(latency_ms - target_ms), 1.0 if noisy else 0.0]
    trial.storage.set_trial_system_attr(trial._trial_id, CONSTRAINTS_ATTR, values)


def is_feasible(trial: FrozenTrial, target_ms: float | None = None) -> bool:
    """Whether ``trial`` completed, its latency was not noisy, and it meets the target: its recorded
    ``latency_ms`` ≤ ``target_ms``, or, with no target given, every stored constraint ≤ 0."""
    if trial.state != TrialState.COMPLETE or trial.user_attrs.get("noisy"):
        return False
    if target_ms is None:
        return all(v <= 0 for v in trial.constraints.values())
    latency = trial.user_attrs.get("latency_ms")
    return isinstance(latency, (int, float)) and latency <= target_ms


def feasible_trials(study: optuna.Study, target_ms: float | None = None) -> list[FrozenTrial]:
    """The feasible trials of ``study`` (:func:`is_feasible`), in trial order."""
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if is_feasible(t, target_ms)]


def pareto_front(study: optuna.Study, target_ms: float | None = None) -> list[FrozenTrial]:
    """The non-dominated feasible trials of a multi-objective study, judged against ``target_ms`` (default:
    the study's own target), in trial order; ``[]`` when nothing is feasible."""
    own = latency_target(study)
    target = latency_target(study, target_ms)
    if target is None or target == own:
        return sorted(study.best_trials, key=lambda t: t.number)
    return next(pareto_layers(study, target), [])


def pareto_layers(study: optuna.Study, target_ms: float | None = None) -> Iterator[list[FrozenTrial]]:
    """The feasible trials of a multi-objective study in successive non-dominated layers (the front, then the
    front of what remains, …), each in trial order — Optuna's ``best_trials`` on in-memory copies whose
    constraints are judged against ``target_ms`` (default: the study's own)."""
    target = latency_target(study, target_ms)
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    remaining = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if "latency_ms" in t.user_attrs]
    while remaining:
        copy = optuna.create_study(directions=study.directions)
        copy.add_trials([_rejudged(t, target) if target is not None else t for t in remaining])
        layer = sorted((by_number[t.user_attrs.get("nas_trial_number", t.number)] for t in copy.best_trials),
                       key=lambda t: t.number)
        if not layer:
            return
        yield layer
        numbers = {t.number for t in layer}
        remaining = [t for t in remaining if t.number not in numbers]


def _rejudged(trial: FrozenTrial, target_ms: float) -> FrozenTrial:
    """A copy of ``trial`` whose constraint is re-judged against ``target_ms`` (and remembers its number)."""
    noisy = 1.0 if trial.user_attrs.get("noisy") else 0.0
    system_attrs: dict[str, Any] = {**trial.system_attrs,
                                    CONSTRAINTS_ATTR: [float(trial.user_attrs["latency_ms"] - target_ms), noisy]}
    return optuna.trial.create_trial(state=TrialState.COMPLETE, values=trial.values, params=trial.params,
                                     distributions=trial.distributions, system_attrs=system_attrs,
                                     user_attrs={**trial.user_attrs, "nas_trial_number": trial.number})
