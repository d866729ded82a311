"""nas.validation.analysis: the ground truth is the mean over the training seeds."""
from __future__ import annotations

from pathlib import Path

import pytest
from validation.helpers import make_validator

from nas import validation as V


def test_ground_truth_is_the_mean_over_seeds(space_path: Path, setup: V.Setup, tmp_path: Path) -> None:
    v = make_validator(space_path, setup, tmp_path / "c.jsonl")
    seeds = V.gt_seeds(0, 1, 2)
    assert seeds == [0, 1] and V.gt_seeds(0, 5, 3) == [0, 5, 6] and V.gt_seeds(2, 1, 1) == [2]
    jobs = v.main_jobs(1, 3, seeds)
    assert [(j.arch.name, j.seed) for j in jobs] == [(a.name, s) for s in seeds for a in v.archs(3)]
    v.run_jobs(jobs[:4], "main")  # all of seed 0, the first arch of seed 1
    v.run_jobs(v.budget_jobs(1, 2, 3), "budget")
    archs = v.archs(3)
    assert V.ground_truth(v, archs[0], 1, seeds) == pytest.approx(
        (v.accuracy(archs[0], 1, 0) + v.accuracy(archs[0], 1, 1)) / 2)
    assert V.ground_truth(v, archs[1], 1, seeds) is None  # seed 1 not trained yet: not counted
    a = V.analyse(v, n=3, epochs=1, multiplier=2, noise_archs=2, budget_archs=3, n_boot=20, cv_splits=5,
                  n_gt_seeds=2, search_ensembles=False)
    assert a["gt_seeds"] == [0, 1] and a["main"]["trained"] == 1 and a["budget"]["names"] == [archs[0].name]
    assert a["budget"]["short"] == [V.ground_truth(v, archs[0], 1, seeds)]
    assert "mean top-1 of 2 trainings (seeds 0, 1)" in V.report_markdown(a)
