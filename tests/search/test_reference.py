"""Paired latency in a search (nas.search.reference, ``--latency paired``): the study's reference is timed once,
stored, reused on resume, passed to every timing and recorded in run.json and pareto.yaml."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import nas.search.evaluate as evaluate_module
import nas.search.reference as reference_module
from nas.latency import Reference
from nas.search import LatencyMethod, run_search
from nas.search.driver import Worker
from nas.search.evaluate import Evaluator
from nas.search.export import export_pareto
from nas.search.reference import ATTR, reference_record
from nas.search.specs import ProxySpec
from support import write_space


@pytest.fixture()
def timed_references(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``measure_reference`` replaced: no timing, quiet_ms 7.5 for the net it is given; returns the names timed."""
    names: list[str] = []

    def fake(model: Any, resolution: int, *, name: str, threads: int, batch_size: int = 1, runs: int = 5,
             **_: Any) -> Reference:
        names.append(name)
        return Reference(model, resolution, 7.5, name=name, threads=threads, batch_size=batch_size,
                         quiet={"noisy": False, "runs_ms": [7.0, 7.5, 8.0][:runs]})

    import nas.latency.measure

    monkeypatch.setattr(nas.latency.measure, "measure_reference", fake)
    return names


@pytest.fixture()
def paired_timings(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """``measure_latency`` in the evaluator replaced: returns 2 × the reference's quiet_ms, the reference's block
    beside it at 8.0 ms, 8.5, 9.0, … (one more half-ms per call); records the reference of every call."""
    seen: list[Any] = []

    def fake(model: Any, resolution: int, *, reference: Any = None, **_: Any) -> Any:
        seen.append(reference)

        class R:
            median_ms, iqr_ms, noisy, others_cpu, attempts = 2 * reference.quiet_ms, 0.1, False, 0.0, [{}]
            reference_now_ms = 7.5 + 0.5 * len(seen)
        return R()

    monkeypatch.setattr(evaluate_module, "measure_latency", fake)
    return seen


def test_a_paired_search_times_its_reference_once_and_every_candidate_beside_it(
        tmp_path: Path, search_config: Any, timed_references: list[str], paired_timings: list[Any]) -> None:
    config = search_config(write_space(tmp_path), tmp_path / "runs", trials=4, latency=LatencyMethod("paired"),
                           confirm=0)
    result = run_search(config)
    assert timed_references == ["tiny_base"]  # the space's skeleton
    stored = result.study.user_attrs[ATTR]
    assert stored["name"] == "tiny_base" and stored["quiet_ms"] == 7.5 and stored["resolution"] == 32
    assert len(paired_timings) == 4 and all(r.name == "tiny_base" and r.quiet_ms == 7.5 for r in paired_timings)
    assert {t.user_attrs["latency_ms"] for t in result.study.trials} == {15.0}
    assert {t.user_attrs["latency_method"] for t in result.study.trials} == {"paired"}

    again = run_search(search_config(write_space(tmp_path), tmp_path / "runs", trials=6,
                                     latency=LatencyMethod("paired"), confirm=0))
    assert timed_references == ["tiny_base"]  # resumed: read from the study, not timed again
    assert len(again.study.trials) == 6 and len(paired_timings) == 6
    extra = Worker(config, 1)  # an extra worker process of the same search reads it too
    extra.open()
    assert timed_references == ["tiny_base"] and extra.evaluator.reference is not None
    assert extra.evaluator.reference.quiet_ms == 7.5 and extra.evaluator.reference.name == "tiny_base"

    export_pareto(again.study, again.run_dir, 20.0, echo=lambda _: None)
    meta = yaml.safe_load((again.run_dir / "pareto.yaml").read_text())
    assert meta["latency_method"] == "paired"
    # the level check: the reference's blocks beside the 6 trials' candidates, 8.0 … 10.5 ms, median 9.25
    assert [t.user_attrs["reference_now_ms"] for t in again.study.trials] == [8.0, 8.5, 9.0, 9.5, 10.0, 10.5]
    assert meta["latency_reference"] == {"name": "tiny_base", "resolution": 32, "quiet_ms": 7.5, "threads": 1,
                                         "noisy": False, "runs_ms": [7.0, 7.5, 8.0], "beside_ms": 9.25,
                                         "beside_trials": 6, "level_factor": 0.8108, "level_applied": True,
                                         "level_off": True}
    assert reference_record(again.study) == meta["latency_reference"]
    # re-levelled: every exported latency is ratio (2) × the reference's median beside the candidates (9.25 ms),
    # not × its first timing (7.5 ms) as the study stores it
    rows = meta["networks"]
    assert rows and {(r["latency_ms"], r["latency_study_ms"], r["latency_level"]) for r in rows} == {
        (18.5, 15.0, round(9.25 / 7.5, 4))}
    assert {t.values[1] for t in again.study.trials} == {15.0}  # Optuna's own values unchanged
    # feasibility follows the re-levelled number: 15 ms stored meets 17 ms, 18.5 ms does not
    _, feasible = export_pareto(again.study, again.run_dir, 17.0, echo=lambda _: None)
    assert feasible is False
    assert all(r["feasible"] is False for r in yaml.safe_load((again.run_dir / "pareto.yaml").read_text())["networks"])


def _level_study(quiet_ms: float, beside: list[float], duplicate_beside: float | None = None) -> Any:
    import optuna

    study = optuna.create_study()
    study.set_user_attr(ATTR, {"name": "ref", "resolution": 32, "quiet_ms": quiet_ms, "threads": 1,
                               "quiet": {"noisy": False, "runs_ms": [quiet_ms]}})
    for ms in beside:
        study.add_trial(optuna.trial.create_trial(value=1.0, user_attrs={"reference_now_ms": ms}))
    if duplicate_beside is not None:  # a duplicate copies its owner's timing: counted once
        study.add_trial(optuna.trial.create_trial(value=1.0, user_attrs={"reference_now_ms": duplicate_beside,
                                                                         "duplicate_of": 0}))
    # a trial timed noisy: its reference block was slowed by the load that flagged it, left out of the level
    study.add_trial(optuna.trial.create_trial(value=1.0, user_attrs={"reference_now_ms": 99.0, "noisy": True}))
    for junk in (float("nan"), True, -1.0, "9"):  # not a timing: ignored
        study.add_trial(optuna.trial.create_trial(value=1.0, user_attrs={"reference_now_ms": junk}))
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL, user_attrs={"reference_now_ms": 1}))
    return study


def test_the_level_check_says_when_the_reference_ran_off_its_stored_latency() -> None:
    from nas.search.reference import LEVEL_MIN_TRIALS, LEVEL_TOLERANCE, level_warning

    assert (LEVEL_TOLERANCE, LEVEL_MIN_TRIALS) == (0.15, 5)
    off = reference_record(_level_study(33.7, [19.5, 20.7, 25.3, 27.8, 28.4], duplicate_beside=19.0))
    assert off is not None and (off["beside_ms"], off["beside_trials"], off["level_off"]) == (25.3, 5, True)
    assert off["level_factor"] == round(33.7 / 25.3, 4)
    assert level_warning(off) == ("the reference ref ran at a median 25.30 ms beside 5 candidates against its "
                                  "first 33.70 ms (level ×1.33): the exported and reported latencies are "
                                  "re-levelled to it (the study's values ×0.75); the study's own values (the "
                                  "dashboard's) keep the first scale")
    none_yet = reference_record(_level_study(20.0, []))
    assert none_yet is not None and none_yet["beside_ms"] is None and none_yet["beside_trials"] == 0
    assert none_yet["level_off"] is False and level_warning(none_yet) is None and level_warning(None) is None


@pytest.mark.parametrize("quiet_ms,beside_ms,trials,off", [
    (20.0, 10.0, 4, False),  # ×2, but too few trials to judge
    (20.0, 10.0, 5, True),
    (11.6, 10.0, 5, True), (10.0, 11.6, 5, True),  # ×1.16 and ×1/1.16: off either way
    (11.4, 10.0, 5, False), (10.0, 11.4, 5, False),  # ×1.14 and ×1/1.14: within either way
])
def test_the_level_is_judged_alike_both_ways_once_enough_trials_were_timed(
        quiet_ms: float, beside_ms: float, trials: int, off: bool) -> None:
    from nas.search.reference import level_warning

    from nas.search.reference import level_scale

    record = reference_record(_level_study(quiet_ms, [beside_ms] * trials))
    assert record is not None and record["beside_trials"] == trials and record["level_off"] is off
    assert (level_warning(record) is not None) is off
    assert record["level_applied"] is (trials >= 5)  # applied within the tolerance too: it only warns beyond it
    assert level_scale(record) == (None if trials < 5 else beside_ms / quiet_ms)


def test_a_paired_study_is_read_re_levelled_confirmations_and_rewards_included() -> None:
    """Every latency read through nas.search.front is the stored one × beside / first reference latency (10 → 8
    ms: × 0.8), the confirmed ones too; the MnasNet reward and the constraints follow; solo studies are not
    touched."""
    import optuna

    from nas.search.front import (CONFIRMED_PREFIX, completed_trials, feasible_trials, is_feasible,
                                  mnasnet_reward)
    from nas.search.reference import level_scale

    study = optuna.create_study(direction="maximize")
    study.set_user_attr("latency_target_ms", 20.0)
    study.set_user_attr(ATTR, {"name": "ref", "resolution": 32, "quiet_ms": 10.0, "threads": 1,
                               "quiet": {"noisy": False}})
    for i, ms in enumerate([22.0, 23.0, 24.0, 26.0, 30.0]):
        study.add_trial(optuna.trial.create_trial(
            value=mnasnet_reward(0.9, ms, 20.0), system_attrs={"constraints": [ms - 20.0, 0.0]},
            user_attrs={"latency_ms": ms, "latency_iqr_ms": 1.0, "proxy_value": 0.9, "arch_key": f"k{i}",
                        "reference_now_ms": 8.0}))
    study.set_user_attr(f"{CONFIRMED_PREFIX}k1", {"latency_ms": 27.0, "iqr_ms": 0.5, "noisy": False,
                                                  "timings_ms": [26.0, 27.0, 28.0]})
    assert level_scale(reference_record(study)) == 0.8
    assert feasible_trials(optuna.create_study()) == [] and not any(is_feasible(t) for t in study.trials)
    read = completed_trials(study)
    assert [round(t.user_attrs["latency_ms"], 6) for t in read] == [17.6, 21.6, 19.2, 20.8, 24.0]
    assert [t.user_attrs["latency_study_ms"] for t in read] == [22.0, 23.0, 24.0, 26.0, 30.0]
    assert {t.user_attrs["latency_level"] for t in read} == {0.8}
    assert read[1].user_attrs["latency_search_ms"] == 23.0 * 0.8 and read[1].user_attrs["latency_iqr_ms"] == 0.4
    assert [t.number for t in feasible_trials(study)] == [0, 2]
    assert [t.user_attrs["feasible"] for t in read] == [True, False, True, False, False]
    assert read[0].values == [mnasnet_reward(0.9, 22.0 * 0.8, 20.0)] == [read[0].user_attrs["mnasnet_reward"]]
    assert read[2].system_attrs["constraints"] == [24.0 * 0.8 - 20.0, 0.0]
    assert study.trials[0].values == [mnasnet_reward(0.9, 22.0, 20.0)]  # stored values untouched

    study.set_user_attr(ATTR, None)  # no reference: a solo study, read as stored
    assert [t.user_attrs["latency_ms"] for t in completed_trials(study)] == [22.0, 27.0, 24.0, 26.0, 30.0]
