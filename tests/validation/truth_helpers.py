"""A two-space ground truth trained for real on synthetic data (seconds, CPU), shared by the truth tests."""
from __future__ import annotations

from pathlib import Path

from validation.helpers import TINY, make_validator, small_setup

from nas.validation.lanes import run_lanes
from nas.validation.truth import SpacePlan, TruthPlan, truth_jobs
from nas.validation.validator import Validator

#: A second space: widths TINY never has (so no network is in both), kernels 5 and 7.
OTHER = TINY.replace("name: tiny\n", "name: other\n").replace("filters_scale: [0.5, 1.0, 2.0]", "filters_scale: [0.25, 0.75]") \
    .replace("kernel_size: [3, 5]", "kernel_size: [5, 7]")


def truth_plan(tiny: Path, other: Path) -> TruthPlan:
    return TruthPlan((SpacePlan(str(tiny), 8, short_n=8, plateau_n=2, budget_n=4),
                      SpacePlan(str(other), 8, short_n=8, plateau_n=0, budget_n=4)),
                     epochs=2, seeds=(0, 1), short_epochs=(1,))


def train_two_spaces(folder: Path) -> tuple[list[Validator], TruthPlan]:
    """Write both spaces, train the whole plan into ``folder/train_cache.jsonl``, score the proxies."""
    tiny, other = folder / "tiny.yaml", folder / "other.yaml"
    tiny.write_text(TINY)
    other.write_text(OTHER)
    plan = truth_plan(tiny, other)
    validators = [make_validator(Path(sp.space), small_setup(), folder / "train_cache.jsonl") for sp in plan.spaces]
    for v, sp in zip(validators, plan.spaces):
        run_lanes(v, truth_jobs(v, sp, plan), 1, "truth")
        v.score_proxies(v.archs(sp.n))
    return validators, plan
