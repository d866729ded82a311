"""The per-trial work of a search: sample an architecture, deduplicate it, score it, record everything.

A trial stores in ``user_attrs``: latency (median, IQR, device, threads, method), params, MACs, proxy value,
MnasNet and timm strings, the architecture key and the path of its YAML file (also an Optuna artifact).
Identical architectures are scored once: the lowest-numbered trial with an architecture key owns it and later
ones copy its result (``duplicate_of``), also across workers.

Objectives: ``pareto`` maximises the proxy and minimises latency, with the latency target as a constraint;
``mnasnet`` maximises MnasNet's soft reward ``ACC · (LAT / T) ** w``, ``w = −0.07`` (Tan et al. 2019).
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from nas.arch.io import dump_arch
from nas.arch.key import arch_key
from nas.arch.spec import Arch, ArchError
from nas.arch.strings import to_strings
from nas.search.evaluate import CandidateError, Evaluator, Scores
from nas.search.front import MNASNET_W, mnasnet_reward, set_latency_constraint
from nas.search.reference import level_scale, reference_record
from nas.search.study import fail_dead_trials
from nas.space.space import SearchSpace

__all__ = ["MNASNET_W", "SCORE_ATTRS", "Objective", "counted", "cut_off", "is_surplus", "mnasnet_reward", "rejected"]

#: The user attributes a duplicate copies from the trial that owns its architecture.
SCORE_ATTRS = ("latency_ms", "latency_iqr_ms", "latency_method", "device", "threads", "params", "macs", "proxy",
               "proxy_value", "proxy_seconds", "feasible", "mnasnet_reward", "noisy", "others_cpu",
               "latency_attempts", "reference_now_ms")


def counted(t: FrozenTrial) -> bool:
    """A trial that counts towards ``--trials``: a new architecture scored (COMPLETE) or rejected as a
    candidate (FAIL with a reason). A duplicate (it copies the result of the trial that owns its architecture)
    does not count, nor does a trial that was killed or interrupted: it is retried or resumed."""
    if t.state == TrialState.COMPLETE:
        return "duplicate_of" not in t.user_attrs
    return rejected(t)


def rejected(t: FrozenTrial) -> bool:
    """A candidate that failed (FAIL with its ``fail_reason``: it did not build, ran out of memory, scored NaN).
    A FAIL without a reason was cut off — interrupted (``interrupted`` set), its worker killed (then retried with
    the same parameters) or crashed — and is not counted: another trial runs in its place. It is not a failure
    of the candidate."""
    return t.state == TrialState.FAIL and "fail_reason" in t.user_attrs


def cut_off(t: FrozenTrial) -> bool:
    """A trial cut off before it finished: FAIL without a ``fail_reason`` (interrupted, its worker killed or
    crashed). Not counted and not a failure of the candidate (:func:`rejected`): another trial runs instead."""
    return t.state == TrialState.FAIL and not rejected(t)


def is_surplus(study: optuna.Study, number: int, target: int) -> bool:
    """Whether trial ``number`` would take the study past ``target`` counted trials.

    Lower-numbered trials have priority: a trial proceeds only if the counted trials plus the active trials
    numbered below it leave room. Every lower-numbered trial exists before this check, so however many
    workers race, at most ``target`` trials are ever counted.
    """
    trials = study.get_trials(deepcopy=False)
    ahead = sum(counted(t) or (t.number < number and t.state in (TrialState.RUNNING, TrialState.WAITING))
                for t in trials if t.number != number)
    return ahead >= target


class Objective:
    """Callable for ``study.optimize``: one trial's sample, deduplication, scores and records."""

    def __init__(self, *, space: SearchSpace, evaluator: Evaluator, target_ms: float, trials: int, multi: bool,
                 run_dir: Path, artifact_store: Any | None):
        self.space, self.evaluator = space, evaluator
        self.target_ms, self.trials, self.multi = target_ms, trials, multi
        self.run_dir, self.artifact_store = run_dir, artifact_store

    def values(self, scores: Scores) -> tuple[float, ...]:
        if self.multi:
            return scores.proxy_value, scores.latency_ms
        if scores.proxy_value <= 0:
            raise CandidateError(f"the mnasnet objective needs a positive proxy value, got {scores.proxy_value:g}"
                                 f" from {scores.proxy}")
        return (mnasnet_reward(scores.proxy_value, scores.latency_ms, self.target_ms),)

    def __call__(self, trial: optuna.trial.Trial) -> tuple[float, ...] | float:
        study = trial.study
        if is_surplus(study, trial.number, self.trials):
            trial.set_user_attr("surplus", True)
            raise optuna.TrialPruned("the study already has its trials")
        trial.set_user_attr("worker_pid", os.getpid())
        try:
            arch, key = self._sample(trial)
            owner = self._owner(study, key, trial.number)
            if owner is not None and owner.state == TrialState.RUNNING:
                owner = self._wait_for(study, owner.number)
            values = self._copy(trial, owner) if owner is not None else self._score(trial, arch)
        except KeyboardInterrupt:  # Optuna stores the trial as FAIL: say why (not the candidate's failure)
            trial.set_user_attr("interrupted", True)
            raise
        return values if self.multi else values[0]

    def _sample(self, trial: optuna.trial.Trial) -> tuple[Arch, str]:
        """Suggest the architecture, publish its key and name, write its YAML (file and artifact)."""
        arch = self.space.suggest(trial)
        key = arch_key(arch)
        arch = dataclasses.replace(arch, name=f"{self.space.name}-t{trial.number:04d}")
        trial.set_user_attr("arch_key", key)
        trial.set_user_attr("arch_name", arch.name)
        path = self.run_dir / "trials" / f"{trial.number:04d}.yaml"
        dump_arch(arch, path)
        trial.set_user_attr("yaml", str(path.resolve()))
        for fmt in ("mnasnet", "timm"):
            try:
                trial.set_user_attr(f"{fmt}_strings", " ".join(to_strings(arch, fmt)))
            except ArchError:
                trial.set_user_attr(f"{fmt}_strings", None)
        if self.artifact_store is not None:
            from optuna.artifacts import upload_artifact

            artifact_id = upload_artifact(artifact_store=self.artifact_store, file_path=str(path),
                                          study_or_trial=trial, mimetype="application/yaml")
            trial.set_user_attr("yaml_artifact_id", artifact_id)
        return arch, key

    def _score(self, trial: optuna.trial.Trial, arch: Arch) -> tuple[float, ...]:
        try:
            scores = self.evaluator.evaluate(arch)
            values = self.values(scores)
        except CandidateError as exc:
            trial.set_user_attr("fail_reason", str(exc))
            raise
        judged_ms = self._judged_ms(trial.study, scores.latency_ms)
        record = {"latency_ms": scores.latency_ms, "latency_iqr_ms": scores.latency_iqr_ms,
                  "latency_method": scores.latency_method, "device": scores.device, "threads": scores.threads,
                  "params": scores.params, "macs": scores.macs, "proxy": scores.proxy,
                  "proxy_value": scores.proxy_value, "proxy_seconds": scores.proxy_seconds,
                  "feasible": judged_ms <= self.target_ms and not scores.noisy, "noisy": scores.noisy,
                  "others_cpu": scores.others_cpu, "latency_attempts": scores.attempts}
        if scores.reference_now_ms is not None:
            record["reference_now_ms"] = scores.reference_now_ms
        if not self.multi:
            record["mnasnet_reward"] = values[0]
        for name, value in record.items():
            trial.set_user_attr(name, value)
        set_latency_constraint(trial, judged_ms, self.target_ms, scores.noisy)
        return values

    @staticmethod
    def _judged_ms(study: optuna.Study, latency_ms: float) -> float:
        """The latency a new trial's constraint is judged on: in a paired study whose level is known already
        (:func:`nas.search.reference.level_scale`), re-levelled like everything read from the study, so the
        sampler and the dashboard see about the feasibility the export will; otherwise as measured."""
        scale = level_scale(reference_record(study))
        return latency_ms if scale is None else latency_ms * scale

    def _copy(self, trial: optuna.trial.Trial, owner: FrozenTrial) -> tuple[float, ...]:
        """Give ``trial`` the scores of the trial that owns its architecture."""
        for name in SCORE_ATTRS:
            if name in owner.user_attrs:
                trial.set_user_attr(name, owner.user_attrs[name])
        trial.set_user_attr("duplicate_of", owner.number)
        noisy = bool(owner.user_attrs.get("noisy"))
        set_latency_constraint(trial, self._judged_ms(trial.study, owner.user_attrs["latency_ms"]), self.target_ms,
                               noisy)
        return tuple(owner.values)

    def _owner(self, study: optuna.Study, key: str, number: int, timeout: float = 600) -> FrozenTrial | None:
        """The lowest-numbered other trial with the same architecture, if any (COMPLETE or RUNNING).

        Lower-numbered trials that are running but have not yet published their architecture key are
        waited for first (milliseconds: the key is set right after sampling), so two workers can never
        both miss each other and score the same architecture.
        """
        deadline = time.monotonic() + timeout
        while True:
            trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
            lower = [t for t in trials if t.number < number]
            unkeyed = [t for t in lower if t.state == TrialState.RUNNING and "arch_key" not in t.user_attrs]
            if not unkeyed or time.monotonic() > deadline:
                break
            if fail_dead_trials(study):  # an unkeyed trial whose worker died before its first heartbeat
                continue
            time.sleep(0.05)
        owners = [t for t in lower if t.user_attrs.get("arch_key") == key and "fail_reason" not in t.user_attrs]
        return min(owners, key=lambda t: t.number) if owners else None

    def _wait_for(self, study: optuna.Study, number: int, timeout: float = 1800) -> FrozenTrial | None:
        """Trial ``number`` once it completed; ``None`` if it failed or ``timeout`` s passed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fail_dead_trials(study)  # an owner whose worker died must not block us
            current = next(t for t in study.get_trials(deepcopy=False) if t.number == number)
            if current.state == TrialState.COMPLETE:
                return current
            if current.state.is_finished():
                return None
            time.sleep(0.5)
        return None
