"""Multi-fidelity search: after the zero-cost stage, train the most promising feasible networks on real data.

    from nas.search.refine import RefineSpec, refine
    result = refine(study, RefineSpec(TrainProxy(epochs=4), top=4), data="fashion-mnist", run_dir=run_dir)

The ``top`` candidates are the feasible Pareto front of the search spread over its latency range (K evenly
spaced by latency, not K copies of one corner; the next non-dominated layers fill in when the front is short).
Each is trained with the :class:`~nas.train.TrainConfig` recipe overridden by the spec (``epochs``, ``lr``, …);
with ``halving`` the better half (by accuracy) is trained again at twice the epochs, and so on down to one
network (successive halving, Jamieson & Talwalkar 2016; Li et al. 2017's Hyperband rounds).

Optuna cannot change a finished trial and has no multi-objective pruning, so the trainings are the trials of a
second study beside the search's, ``<study>-refine``, with objectives (accuracy ↑, latency ↓) and the latency
constraint: each holds the searched trial's parameters and the user attributes ``refines`` (its trial number),
``fidelity`` (``train:epochs=N,…``), ``accuracy`` (test top-1, a fraction), ``epochs``, ``seconds``. Every
training checkpoints to ``RUN_DIR/refine/`` after each epoch, and a training already in the refine study is
never repeated: an interrupted refinement resumes where it stopped. :func:`fidelities` gives each searched trial
its highest fidelity, for the export.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from nas.arch.key import arch_key
from nas.search.evaluate import Evaluator
from nas.search.export import trial_arch
from nas.search.front import CONSTRAINTS_ATTR, feasible_trials, pareto_layers
from nas.search.specs import ProxySpec, TrainProxy
from nas.search.study import make_storage
from nas.train import TrainConfig, train

__all__ = ["Fidelity", "RefineSpec", "fidelities", "pick_candidates", "refine", "refine_study_name"]


@dataclass(frozen=True)
class RefineSpec:
    """What to train: the recipe overrides (``train``), how many networks (``top``), successive halving."""

    train: TrainProxy
    top: int = 4
    halving: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.top, bool) or not isinstance(self.top, int) or self.top < 1:
            raise ValueError(f"refine: top must be an integer ≥ 1, got {self.top!r}")

    def rounds(self) -> list[tuple[int, int]]:
        """(networks, epochs) per round: ``[(K, N)]``, or with halving ``[(K, N), (K/2, 2N), …, (1, …)]``."""
        out, k, epochs = [(self.top, self.train.epochs)], self.top, self.train.epochs
        while self.halving and k > 1:
            k, epochs = (k + 1) // 2, epochs * 2
            out.append((k, epochs))
        return out


@dataclass(frozen=True)
class Fidelity:
    """The highest fidelity a searched trial was judged at: ``label`` (``train:epochs=N,…``), its ``epochs``
    and test ``accuracy`` (a fraction)."""

    label: str
    epochs: int
    accuracy: float


def refine_study_name(study: optuna.Study) -> str:
    return f"{study.study_name}-refine"


def pick_candidates(study: optuna.Study, target_ms: float, k: int) -> list[FrozenTrial]:
    """``k`` feasible trials spread over the latency range of the front (one per architecture), by latency:
    evenly spaced along the Pareto front; when the front is shorter, the next non-dominated layers fill in.
    A one-objective study (MnasNet reward) gives its ``k`` best feasible trials."""
    if len(study.directions) == 1:
        layers = iter([[t] for t in sorted(feasible_trials(study, target_ms), key=lambda t: -t.value)])
    else:
        layers = pareto_layers(study, target_ms)
    chosen: list[FrozenTrial] = []
    seen: set[str] = set()
    for layer in layers:
        unique = [t for t in _one_per_arch(layer) if t.user_attrs.get("arch_key", str(t.number)) not in seen]
        unique.sort(key=lambda t: t.user_attrs["latency_ms"])
        need = k - len(chosen)
        if len(unique) > need:
            unique = [unique[int(i)] for i in np.unique(np.round(np.linspace(0, len(unique) - 1, need)))]
        chosen += unique
        seen |= {t.user_attrs.get("arch_key", str(t.number)) for t in unique}
        if len(chosen) >= k:
            break
    return sorted(chosen, key=lambda t: t.user_attrs["latency_ms"])


def _one_per_arch(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    out: dict[str, FrozenTrial] = {}
    for t in sorted(trials, key=lambda t: t.number):
        out.setdefault(t.user_attrs.get("arch_key", str(t.number)), t)
    return list(out.values())


def _label(spec: TrainProxy, epochs: int) -> str:
    return ProxySpec("train", dataclasses.replace(spec, epochs=epochs)).label


def refine(study: optuna.Study, spec: RefineSpec, *, storage: str, data: str, run_dir: Path, target_ms: float,
           seed: int = 0, device: str = "auto", echo: Callable[[str], None] = print) -> optuna.Study:
    """Train the candidates round by round (see the module) and return the refine study, kept in ``storage``
    (the search's storage URL). Trainings already in it are reused; a training in progress resumes from its
    checkpoint. Raises ``ValueError`` (one line) when there is no feasible trial to refine."""
    candidates = pick_candidates(study, target_ms, spec.top)
    if not candidates:
        raise ValueError(f"no trial of study {study.study_name!r} meets the {target_ms:g} ms target: nothing to refine")
    refined = optuna.create_study(storage=make_storage(storage), study_name=refine_study_name(study),
                                  directions=["maximize", "minimize"], load_if_exists=True)
    evaluator = Evaluator(proxy=ProxySpec("params"), data=data, device=device, seed=seed)
    for networks, epochs in spec.rounds():
        if networks < len(candidates):  # successive halving: the better half by the last round's accuracy
            done = fidelities(refined)
            candidates = sorted(candidates, key=lambda t: -done[t.number].accuracy)[:networks]
        for trial in candidates:
            _train_one(study, refined, trial, spec, epochs, evaluator, run_dir, target_ms, echo)
    return refined


def _train_one(study: optuna.Study, refined: optuna.Study, trial: FrozenTrial, spec: RefineSpec, epochs: int,
               evaluator: Evaluator, run_dir: Path, target_ms: float, echo: Callable[[str], None]) -> None:
    label = _label(spec.train, epochs)
    if any(t.user_attrs.get("refines") == trial.number and t.user_attrs.get("fidelity") == label
           for t in refined.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))):
        return
    options = dataclasses.replace(spec.train, epochs=epochs).options()
    splits = evaluator.data(trial_arch(study, trial).resolution, options.pop("train_size", None),
                            options.pop("test_size", None))
    arch = evaluator.adapt(trial_arch(study, trial))
    config = TrainConfig(seed=evaluator.seed, device=evaluator.device, **options)
    checkpoint = run_dir / "refine" / f"{trial.number:04d}-{label.replace(':', '-').replace(',', '-')}.pt"
    result = train(evaluator.build(arch), splits, config, checkpoint=checkpoint, progress=False,
                   identity={"arch_key": arch_key(arch)})
    latency = trial.user_attrs["latency_ms"]
    refined.add_trial(optuna.trial.create_trial(
        state=TrialState.COMPLETE, values=[result.test_top1, latency], params=trial.params,
        distributions=trial.distributions, system_attrs={CONSTRAINTS_ATTR: [float(latency - target_ms)]},
        user_attrs={"refines": trial.number, "fidelity": label, "accuracy": result.test_top1, "epochs": epochs,
                    "seconds": result.seconds, "arch_key": trial.user_attrs.get("arch_key"),
                    "arch_name": trial.user_attrs.get("arch_name"), "latency_ms": latency}))
    checkpoint.unlink(missing_ok=True)
    echo(f"refine: trial {trial.number} ({trial.user_attrs.get('arch_name')}, {latency:.2f} ms): "
         f"{label} → top-1 {result.test_top1:.4f}")


def fidelities(refined: optuna.Study | None) -> dict[int, Fidelity]:
    """Each refined searched trial's highest fidelity (most epochs; the latest training at equal epochs)."""
    out: dict[int, Fidelity] = {}
    if refined is None:
        return out
    for t in sorted(refined.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number):
        a = t.user_attrs
        if "refines" in a and (a["refines"] not in out or a["epochs"] >= out[a["refines"]].epochs):
            out[a["refines"]] = Fidelity(a["fidelity"], a["epochs"], a["accuracy"])
    return out
