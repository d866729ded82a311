"""The converged ground truth over several spaces (issue 14): what is trained (:class:`TruthPlan`, one
:class:`SpacePlan` per space) and in which order (:func:`truth_jobs`), and how much of it the cache holds
(:func:`truth_status`).

For every space, on the first archs of its deterministic list (:meth:`Validator.archs`):

* **main**: the first ``n`` archs at the budget ``E`` with every seed of ``seeds`` (the truth is their
  mean top-1);
* **short**: the first ``short_n`` at each of ``short_epochs`` (1 and 2), seed 0 — training as a proxy;
* **plateau**: the first ``plateau_n`` also at ``round(1.5·E)``, seed 0 — converged if top-1 moves
  < 0.2 pt from E to 1.5·E;
* **budget**: the first ``budget_n`` also at ``2·E`` with every seed of ``seeds`` — the truth's ranking must
  survive doubling the budget (τ ≥ 0.8). The truth at 2·E is made like the truth at E, a mean over the same
  seeds: against one training at 2·E, seed noise alone would leave an unchanged ranking of tiny_32px's first 10
  nets near τ 0.79 (measured: 0.51), under the 0.8 asked for; against a 2-seed mean, near 0.83.

Jobs come in tiers (main, then short, then plateau and budget), the longest first within a tier, so that a
run cut short by a deadline has the truth itself first and many workers finish together.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from nas.validation.validator import Job, Validator

__all__ = ["PARTS", "SpacePlan", "TruthPlan", "truth_jobs", "truth_status"]

PARTS = ("main", "short", "plateau", "budget")


@dataclass(frozen=True)
class SpacePlan:
    """How many archs of one space (a bundled name or a YAML path) each part trains (see the module)."""

    space: str
    n: int
    short_n: int = 30
    plateau_n: int = 5
    budget_n: int = 10

    def __post_init__(self) -> None:
        for name in ("n", "short_n", "plateau_n", "budget_n"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{self.space}: {name} must be an integer ≥ 0, got {value!r}")


@dataclass(frozen=True)
class TruthPlan:
    """The protocol shared by every space: budget ``epochs`` (E), ``seeds`` of the truth, ``short_epochs``,
    and the plateau (1.5·E) and budget (2·E) checks."""

    spaces: tuple[SpacePlan, ...] = field(default_factory=tuple)
    epochs: int = 12
    seeds: tuple[int, ...] = (0, 1)
    short_epochs: tuple[int, ...] = (1, 2)
    plateau_factor: float = 1.5
    budget_factor: int = 2

    def __post_init__(self) -> None:
        if self.epochs < 1 or not self.seeds or any(e < 1 for e in self.short_epochs):
            raise ValueError("a truth plan needs epochs ≥ 1, at least one seed and short epochs ≥ 1")
        if self.plateau_factor <= 1 or self.budget_factor < 2:
            raise ValueError("plateau factor must be > 1 and budget factor ≥ 2")

    @property
    def plateau_epochs(self) -> int:
        """round(plateau_factor · epochs), halves rounded up (12 → 18, 3 → 5)."""
        return math.floor(self.plateau_factor * self.epochs + 0.5)

    @property
    def budget_epochs(self) -> int:
        return self.budget_factor * self.epochs

    def parts(self, sp: SpacePlan) -> dict[str, list[tuple[int, int, int]]]:
        """Per part, the (arch index, epochs, seed) triples of ``sp`` (indices into the space's list)."""
        return {
            "main": [(i, self.epochs, s) for s in self.seeds for i in range(sp.n)],
            "short": [(i, e, self.seeds[0]) for e in self.short_epochs for i in range(sp.short_n)],
            "plateau": [(i, self.plateau_epochs, self.seeds[0]) for i in range(sp.plateau_n)],
            "budget": [(i, self.budget_epochs, s) for s in self.seeds for i in range(sp.budget_n)],
        }


def _n_params(v: Validator, arch: Any) -> int:
    return sum(p.numel() for p in v.build(arch, 0).parameters())


def truth_jobs(v: Validator, sp: SpacePlan, plan: TruthPlan, parts: Sequence[str] = PARTS) -> list[Job]:
    """The jobs of ``parts`` for space plan ``sp`` (``v`` is that space's validator), without repeats, in
    tier order (main; short; plateau and budget), longest first within a tier (epochs, then parameters)."""
    triples = plan.parts(sp)
    tiers = {"main": 0, "short": 1, "plateau": 2, "budget": 2}
    n_max = max([sp.n, sp.short_n, sp.plateau_n, sp.budget_n, 1])
    archs = v.archs(n_max)
    size: dict[int, int] = {}
    keyed: dict[tuple[int, int, int], int] = {}
    for part in parts:
        for t in triples[part]:
            keyed.setdefault(t, tiers[part])
            size.setdefault(t[0], 0)
    for i in size:
        size[i] = _n_params(v, archs[i])
    order = sorted(keyed, key=lambda t: (keyed[t], -t[1], -size[t[0]], t[0], t[2]))
    return [Job(archs[i], e, s) for i, e, s in order]


def truth_status(v: Validator, sp: SpacePlan, plan: TruthPlan) -> dict[str, dict[str, int]]:
    """Per part: trainings planned, finished ok, failed (from the cache, as it is now)."""
    v.train_cache.reload()
    archs = v.archs(max([sp.n, sp.short_n, sp.plateau_n, sp.budget_n, 1]))
    out = {}
    for part, triples in plan.parts(sp).items():
        records = [v.lookup(archs[i], e, s) for i, e, s in triples]
        out[part] = {"planned": len(triples), "ok": sum(1 for r in records if r and r.get("status") == "ok"),
                     "failed": sum(1 for r in records if r and r.get("status") != "ok")}
    return out
