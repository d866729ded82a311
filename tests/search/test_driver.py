"""The search driver on a tiny space: export, resume, duplicates, failures, objectives, CLI errors.

Latency is replaced by a deterministic function of MACs (no timing in tests); everything else — Optuna,
SQLite storage, the space, the builder, the proxy — is real.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from optuna.trial import TrialState

import nas
from nas.search import (MNASNET_W, CandidateError, Evaluator, SearchConfig, SearchResult, export_pareto,
                        mnasnet_reward, run_search)
from nas.search.objective import counted
from support import TINY_SEARCH_SPACE as TINY_SPACE

def search(config: SearchConfig, echo: Callable[[str], None] = lambda s: None) -> tuple[SearchResult, list[Path], bool]:
    """Run the search, then export its front as `nas search` does."""
    result = run_search(config)
    files, feasible = export_pareto(result.study, result.run_dir, config.latency_target_ms, top_k=config.top_k,
                                    echo=echo, onnx=False)
    return result, files, feasible


def test_pareto_export_is_feasible_and_non_dominated(search_config, space_file: Path, tmp_path: Path,  # noqa: ANN001
                                                     fake_latency: list[str]) -> None:
    result, exported, feasible = search(search_config(space_file, tmp_path, trials=16))
    study = result.study
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len({t.user_attrs["arch_key"] for t in complete}) == 16  # 16 distinct architectures count
    assert feasible and exported
    names = {nas.load_arch(p).name for p in exported}
    front = [t for t in complete if t.user_attrs["arch_name"] in names]
    assert len(front) >= len(exported)
    feasible = [t for t in complete if t.user_attrs["latency_ms"] <= 15.0]
    for t in front:
        assert t.user_attrs["latency_ms"] <= 15.0 and t.constraints == {"0": t.user_attrs["latency_ms"] - 15.0, "1": 0.0}
        # nobody feasible is at least as good on both objectives and better on one
        for other in feasible:
            dominates = (other.values[0] >= t.values[0] and other.values[1] <= t.values[1]
                         and (other.values[0] > t.values[0] or other.values[1] < t.values[1]))
            assert not dominates, (t.number, other.number)
    for path in exported:
        model = nas.build_model(path)
        assert sum(p.numel() for p in model.parameters()) > 0
    listing = (result.run_dir / "pareto.yaml").read_text()
    assert "feasible: true" in listing and "feasible: false" not in listing
    assert (result.run_dir / "run.json").is_file()
    assert len(list((result.run_dir / "trials").glob("*.yaml"))) == len(study.trials)


def test_reference_net_enqueued_first(search_config, space_file: Path, tmp_path: Path, fake_latency: list[str]) -> None:
    study = run_search(search_config(space_file, tmp_path, trials=3)).study
    first = study.trials[0]
    assert first.user_attrs.get("reference") == "tiny_base"
    assert sum("reference" in t.user_attrs for t in study.trials) == 1


def test_resume_continues_the_trial_count(search_config, space_file: Path, tmp_path: Path, fake_latency: list[str]) -> None:
    first = run_search(search_config(space_file, tmp_path, trials=5))
    assert sum(map(counted, first.study.trials)) == 5
    before = [t.params for t in first.study.trials]
    second = run_search(search_config(space_file, tmp_path, trials=9))
    assert second.study.study_name == first.study.study_name
    assert sum(map(counted, second.study.trials)) == 9
    assert [t.number for t in second.study.trials] == list(range(len(second.study.trials)))
    # nothing from the first run was lost or re-created
    assert [t.params for t in second.study.trials[:len(before)]] == before


def test_sqlite_study_is_in_wal_mode(search_config, space_file: Path, tmp_path: Path, fake_latency: list[str]) -> None:
    """One commit per suggested parameter and attribute must not wait for fsync (see make_storage)."""
    import sqlite3

    result = run_search(search_config(space_file, tmp_path, trials=3))
    db = sqlite3.connect(result.run_dir / "study.db")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'").fetchone() == (3,)
    finally:
        db.close()


def test_duplicates_are_not_scored_twice(search_config, tmp_path: Path, fake_latency: list[str]) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(TINY_SPACE.replace("expand_ratio: [3, 6]", "expand_ratio: [3]").replace(
        "filters_scale: [1.0, 2.0]", "filters_scale: [1.0]"))  # 2 × 2 = 4 architectures
    study = run_search(search_config(path, tmp_path, trials=12)).study
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    keys = [t.user_attrs["arch_key"] for t in complete]
    assert len(set(keys)) == 4  # asked for 12, the space holds 4: the search stops when it has them all
    assert sorted(fake_latency) == sorted(set(fake_latency)) == sorted(set(keys))
    duplicates = [t for t in complete if "duplicate_of" in t.user_attrs]
    assert len(duplicates) == len(complete) - 4 and sum(map(counted, study.trials)) == 4
    for t in duplicates:
        owner = study.trials[t.user_attrs["duplicate_of"]]
        assert owner.user_attrs["arch_key"] == t.user_attrs["arch_key"] and owner.values == t.values


def test_failing_candidate_becomes_fail_and_search_goes_on(search_config, space_file: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           fake_latency: list[str]) -> None:
    real = Evaluator.evaluate

    def flaky(self: Evaluator, arch):  # noqa: ANN001
        if arch.blocks[0].kernel_size == 5:
            raise CandidateError("out of memory: simulated")
        return real(self, arch)

    monkeypatch.setattr(Evaluator, "evaluate", flaky)
    study = run_search(search_config(space_file, tmp_path, trials=12)).study
    failed = study.get_trials(states=(TrialState.FAIL,))
    assert failed and all(t.user_attrs["fail_reason"] == "out of memory: simulated" for t in failed)
    assert all(t.params["s0_kernel_size"] == 5 for t in failed)
    assert sum(map(counted, study.trials)) == 12 and study.get_trials(states=(TrialState.COMPLETE,))


def test_an_interrupted_trial_is_cut_off_not_failed_and_redone(search_config, space_file: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               fake_latency: list[str]) -> None:
    from nas.report.summary import counts_line, summarize
    from nas.search.run import run_summary

    real, calls = Evaluator.evaluate, [0]

    def ctrl_c_at_the_fourth(self: Evaluator, arch):  # noqa: ANN001
        calls[0] += 1
        if calls[0] == 4:
            raise KeyboardInterrupt
        return real(self, arch)

    monkeypatch.setattr(Evaluator, "evaluate", ctrl_c_at_the_fourth)
    config = search_config(space_file, tmp_path, trials=6)
    assert run_search(config).interrupted
    study = run_search(config).study  # the rerun resumes
    cut = study.get_trials(states=(TrialState.FAIL,))
    assert len(cut) == 1 and cut[0].user_attrs["interrupted"] is True and "fail_reason" not in cut[0].user_attrs
    assert sum(map(counted, study.trials)) == 6 and len(study.get_trials(states=(TrialState.COMPLETE,))) >= 6
    summary = summarize(study, None)
    assert (summary.failed, summary.cut_off, sum(summary.fail_reasons.values())) == (0, 1, 0)
    assert "1 cut off (interrupted, killed or crashed; not counted)" in counts_line(summary) and "failed" not in counts_line(summary)
    assert (run_summary(study)["failed"], run_summary(study)["cut_off"]) == (0, 1)


def test_mnasnet_objective_equals_the_formula(search_config, space_file: Path, tmp_path: Path, fake_latency: list[str]) -> None:
    study = run_search(search_config(space_file, tmp_path, trials=6, objective="mnasnet")).study
    assert study.metric_names == ["mnasnet_reward"]
    for t in study.get_trials(states=(TrialState.COMPLETE,)):
        a = t.user_attrs
        expected = a["proxy_value"] * (a["latency_ms"] / 15.0) ** -0.07
        assert t.value == pytest.approx(expected, rel=1e-12)
    assert MNASNET_W == -0.07
    assert mnasnet_reward(0.75, 40.0, 20.0) == pytest.approx(0.75 * 2 ** -0.07)


def test_no_feasible_trial_exports_closest_marked_infeasible(search_config, space_file: Path, tmp_path: Path,
                                                             fake_latency: list[str]) -> None:
    lines: list[str] = []
    result, exported, feasible = search(search_config(space_file, tmp_path, trials=5, latency_target_ms=0.001, top_k=3),
                                        echo=lines.append)
    assert not feasible and len(exported) == 3
    assert result.study.best_trials == []
    assert any("no trial met the 0.001 ms target" in line for line in lines)
    assert "feasible: false" in (result.run_dir / "pareto.yaml").read_text()


def test_the_progress_bar_shows_the_paired_level_so_far(tmp_path: Path) -> None:
    """Paired: ``level=×f`` is the reference's stored latency over its median block beside the candidates (the
    ``level_factor`` of leaderboard.md, run.json and the final ``level:`` line), judged off from 5 trials on."""
    import optuna

    from nas.search.driver import Progress
    from nas.search.reference import ATTR
    from support import search_config

    study = optuna.create_study()
    bar = Progress(search_config(tmp_path / "s.yaml", tmp_path, trials=3), 0)
    study.add_trial(optuna.trial.create_trial(value=1.0, user_attrs={"reference_now_ms": 8.0}))
    bar(study, study.trials[-1])
    assert "level" not in bar.bar.postfix  # solo: no reference, nothing shown
    study.set_user_attr(ATTR, {"name": "ref", "resolution": 32, "quiet_ms": 10.0, "threads": 1})
    bar(study, study.trials[-1])
    assert "level=×1.25" in bar.bar.postfix and "off" not in bar.bar.postfix  # one trial: not judged yet
    for _ in range(4):
        study.add_trial(optuna.trial.create_trial(value=1.0, user_attrs={"reference_now_ms": 8.0}))
    bar(study, study.trials[-1])
    assert "level=×1.25 (off)" in bar.bar.postfix
    for _ in range(6):
        study.add_trial(optuna.trial.create_trial(value=1.0, user_attrs={"reference_now_ms": 10.5}))
    bar(study, study.trials[-1])
    assert "level=×0.95" in bar.bar.postfix and "off" not in bar.bar.postfix
    bar.close()
