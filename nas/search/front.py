"""The one owner of the latency target, feasibility and the Pareto front (the pattern of Optuna's own
``optuna/study/_constrained_optimization.py``: one rule, reused by the search, the export, the reports and
the progress bar).

* A trial records its constraints as ``[latency_ms − target_ms, noisy]`` (:func:`set_latency_constraint`) in
  the list form that both Optuna 5's samplers and optuna-dashboard 0.21 read.
* A trial is **feasible** (:func:`is_feasible`) when it completed, its latency was not flagged noisy (or a
  confirmation re-timed it quiet), and its recorded median latency meets the target — the study's own target
  (then exactly its stored constraints) or another one given to re-judge it.
* The **Pareto front** (:func:`pareto_front`) of a two-objective study (proxy ↑, latency ↓) is Optuna's own
  constraint-aware ``best_trials``; for another target, confirmed latencies or a re-levelled study the trials
  are copied into an in-memory study with the constraints re-judged, so the same Optuna code decides.
* A trial whose latency was **confirmed** after the search (:mod:`nas.search.confirm`: re-timed a few times,
  round-robin with the rest of the front) is judged on the confirmed median: :func:`completed_trials` hands out
  copies carrying it (``latency_ms``, the objective values and the constraints; the search's own timing stays
  as ``latency_search_ms``). Optuna cannot change a finished trial, so the confirmations are study user
  attributes, ``confirmed:<arch key>`` (:func:`confirmations`), and every rule here reads them.
* A **paired** study is **re-levelled** once its level is known (:func:`nas.search.reference.level_scale`): every
  latency read through :func:`completed_trials` — the search's own and the confirmed — is the stored one × the
  study's scale (beside / stored reference latency), the objective values and constraints to match, and
  ``latency_level`` says by how much; the stored values stay as Optuna wrote them.
"""
from __future__ import annotations

import copy
from typing import Any, Collection, Iterator

import optuna
from optuna.trial import FrozenTrial, TrialState

from nas.numbers import is_finite, is_real
from nas.search.reference import level_scale, reference_record

__all__ = ["CONFIRMED_PREFIX", "CONSTRAINTS_ATTR", "MNASNET_W", "completed_trials", "confirmations",
           "feasible_trials", "is_feasible", "latency_target", "mnasnet_reward", "pareto_front", "pareto_layers",
           "set_latency_constraint"]

#: The trial system attribute holding the constraint list (Optuna's ``_CONSTRAINTS_KEY``).
CONSTRAINTS_ATTR = "constraints"
#: The study user attribute prefix of a confirmed latency: ``confirmed:<arch key>`` → the record
#: :func:`nas.search.confirm.confirm_front` writes (``latency_ms``, ``iqr_ms``, ``noisy``, ``timings_ms``, …).
CONFIRMED_PREFIX = "confirmed:"
#: MnasNet's soft-constraint exponent (α = β = −0.07).
MNASNET_W = -0.07


def mnasnet_reward(accuracy: float, latency_ms: float, target_ms: float, w: float = MNASNET_W) -> float:
    """MnasNet's reward ``ACC · (LAT/T)^w`` (Tan et al. 2019, eq. 2), the single objective of ``--objective
    mnasnet``; ``latency_ms`` and ``target_ms`` in the same unit."""
    return accuracy * (latency_ms / target_ms) ** w


def latency_target(study: optuna.Study, target_ms: float | None = None) -> float | None:
    """``target_ms`` if given, else the target the study was created with (``None`` if it records none)."""
    target = target_ms if target_ms is not None else study.user_attrs.get("latency_target_ms")
    return float(target) if is_finite(target) else None


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


def _noisy(trial: FrozenTrial, ignore_noisy: Collection[str] = ()) -> bool:
    """Whether ``trial``'s latency counts as noisy: flagged, and its architecture key not in ``ignore_noisy``."""
    return bool(trial.user_attrs.get("noisy")) and trial.user_attrs.get("arch_key") not in ignore_noisy


def is_feasible(trial: FrozenTrial, target_ms: float | None = None, ignore_noisy: Collection[str] = ()) -> bool:
    """Whether ``trial`` completed, its latency was not noisy, and it meets the target: its recorded
    ``latency_ms`` ≤ ``target_ms``, or, with no target given, every stored constraint ≤ 0.

    ``ignore_noisy`` (architecture keys; with ``target_ms``): those trials are judged on their latency as if it
    were not flagged noisy — the candidates a confirmation is about to re-time (:mod:`nas.search.confirm`),
    never a front to export."""
    if trial.state != TrialState.COMPLETE or _noisy(trial, ignore_noisy if target_ms is not None else ()):
        return False
    if target_ms is None:
        return all(v <= 0 for v in trial.constraints.values())
    latency = trial.user_attrs.get("latency_ms")
    return is_finite(latency) and latency <= target_ms


def confirmations(study: optuna.Study) -> dict[str, dict[str, Any]]:
    """The confirmed latencies of ``study`` by architecture key (``{}`` when none were taken); a confirmation
    cut short (Ctrl-C, ``--timeout``) is kept for its rerun but is not in force until its last round."""
    n = len(CONFIRMED_PREFIX)
    return {k[n:]: v for k, v in study.user_attrs.items()
            if k.startswith(CONFIRMED_PREFIX) and isinstance(v, dict) and v.get("complete", True)
            and is_finite(v.get("latency_ms"))}


def completed_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The COMPLETE trials of ``study`` in trial order, each confirmed one (its architecture key has a
    confirmation) as a copy judged on its confirmed latency: ``latency_ms``, ``latency_iqr_ms`` and ``noisy`` from
    the confirmation, ``latency_search_ms`` the search's own timing, ``latency_confirmed`` the record, the
    latency objective (or the recomputed reward) and the constraints to match. In a re-levelled paired study
    (see the module) every trial with a latency is such a copy, its latencies × the study's scale."""
    every = study.get_trials(deepcopy=False)
    trials = [t for t in every if t.state == TrialState.COMPLETE]
    confirmed = confirmations(study)
    scale = level_scale(reference_record(study, every))
    if not confirmed and scale is None:
        return trials
    target = latency_target(study)
    return [_judged(t, confirmed.get(t.user_attrs.get("arch_key")), scale, target)
            if "latency_ms" in t.user_attrs and (scale is not None or t.user_attrs.get("arch_key") in confirmed)
            else t for t in trials]


def _judged(trial: FrozenTrial, record: dict[str, Any] | None, scale: float | None,
            target_ms: float | None) -> FrozenTrial:
    """A copy of ``trial`` judged on the confirmation ``record`` (if any) and re-levelled by ``scale`` (if any;
    see :func:`completed_trials`); ``feasible`` is re-judged against ``target_ms`` (the study's own target)."""
    out = copy.copy(trial)
    s = 1.0 if scale is None else scale
    attrs = {**trial.user_attrs}
    latency, noisy = float(trial.user_attrs["latency_ms"]) * s, bool(trial.user_attrs.get("noisy"))
    if record is not None:
        # The confirmation's median is of its quiet timings: it supersedes a search timing flagged noisy.
        attrs.update(latency_iqr_ms=_times(record.get("iqr_ms"), s), latency_search_ms=latency,
                     latency_confirmed=record)
        latency, noisy = float(record["latency_ms"]) * s, bool(record.get("noisy"))
    elif scale is not None:
        attrs["latency_iqr_ms"] = _times(trial.user_attrs.get("latency_iqr_ms"), s)
    if scale is not None:
        attrs.update(latency_level=scale, latency_study_ms=trial.user_attrs["latency_ms"])
    out.user_attrs = {**attrs, "latency_ms": latency, "noisy": noisy}
    if target_ms is not None:
        out.user_attrs["feasible"] = latency <= target_ms and not noisy
        out.system_attrs = {**trial.system_attrs, CONSTRAINTS_ATTR: [latency - target_ms, 1.0 if noisy else 0.0]}
    if trial.values is not None and len(trial.values) == 2:
        out.values = [trial.values[0], latency]
    elif trial.values is not None and target_ms is not None and is_real(trial.user_attrs.get("proxy_value")):
        out.values = [mnasnet_reward(float(trial.user_attrs["proxy_value"]), latency, target_ms)]
        out.user_attrs["mnasnet_reward"] = out.values[0]
    return out


def _times(value: Any, scale: float) -> Any:
    return value * scale if is_real(value) else value


def feasible_trials(study: optuna.Study, target_ms: float | None = None,
                    ignore_noisy: Collection[str] = ()) -> list[FrozenTrial]:
    """The feasible trials of ``study`` (:func:`is_feasible`, also for ``ignore_noisy``; confirmed latencies in
    force), in trial order."""
    return [t for t in completed_trials(study) if is_feasible(t, target_ms, ignore_noisy)]


def pareto_front(study: optuna.Study, target_ms: float | None = None) -> list[FrozenTrial]:
    """The non-dominated feasible trials of a multi-objective study, judged against ``target_ms`` (default:
    the study's own target) on their confirmed latencies where taken, in trial order; ``[]`` when nothing is
    feasible."""
    own = latency_target(study)
    target = latency_target(study, target_ms)
    if (target is None or target == own) and not confirmations(study) and level_scale(reference_record(study)) is None:
        return sorted(study.best_trials, key=lambda t: t.number)
    return next(pareto_layers(study, target), [])


def pareto_layers(study: optuna.Study, target_ms: float | None = None,
                  ignore_noisy: Collection[str] = ()) -> Iterator[list[FrozenTrial]]:
    """The feasible trials of a multi-objective study in successive non-dominated layers (the front, then the
    front of what remains, …), each in trial order — Optuna's ``best_trials`` on in-memory copies whose
    constraints are judged against ``target_ms`` (default: the study's own), confirmed latencies in force;
    ``ignore_noisy`` as in :func:`is_feasible`."""
    target = latency_target(study, target_ms)
    ignore = ignore_noisy if target is not None else ()
    # Optuna's best_trials only ever picks trials whose constraints are all ≤ 0: the others are left out of the
    # in-memory study (most of a long search; building it is most of the cost).
    judged = [(t, _rejudged(t, target, ignore)) for t in completed_trials(study) if "latency_ms" in t.user_attrs]
    candidates = {t.number: (t, j) for t, j in judged if all(v <= 0 for v in j.constraints.values())}
    while candidates:
        memory = optuna.create_study(directions=study.directions)
        memory.add_trials([j for _, j in candidates.values()])
        layer = sorted((candidates[t.user_attrs["nas_trial_number"]][0] for t in memory.best_trials),
                       key=lambda t: t.number)
        if not layer:
            return
        yield layer
        for t in layer:
            del candidates[t.number]


def _rejudged(trial: FrozenTrial, target_ms: float | None, ignore_noisy: Collection[str] = ()) -> FrozenTrial:
    """A copy of ``trial`` whose constraint is re-judged against ``target_ms`` (``None``: kept as stored), and
    which remembers its number."""
    noisy = 1.0 if _noisy(trial, ignore_noisy) else 0.0
    system_attrs: dict[str, Any] = dict(trial.system_attrs)
    if target_ms is not None:
        system_attrs[CONSTRAINTS_ATTR] = [float(trial.user_attrs["latency_ms"] - target_ms), noisy]
    return optuna.trial.create_trial(state=TrialState.COMPLETE, values=trial.values, params=trial.params,
                                     distributions=trial.distributions, system_attrs=system_attrs,
                                     user_attrs={**trial.user_attrs, "nas_trial_number": trial.number})
