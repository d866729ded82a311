"""The search driver on a tiny space: export, resume, duplicates, failures, objectives, CLI errors.

Latency is replaced by a deterministic function of MACs (no timing in tests); everything else — Optuna,
SQLite storage, the space, the builder, the proxy — is real.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import nas
from nas.evaluate import CandidateError, Evaluator
from nas.search import MNASNET_W, SearchConfig, arch_key, mnasnet_reward, run_search

ROOT = Path(__file__).resolve().parents[1]

TINY_SPACE = textwrap.dedent("""\
    name: tiny
    skeleton:
      name: tiny_base
      resolution: 32
      num_classes: 10
      activation: relu
      stem: {filters: 8, kernel_size: 3, strides: 2}
      blocks:
        - {block: mbconv, num_repeat: 1, kernel_size: 3, strides: 2, expand_ratio: 3, input_filters: 8, output_filters: 16}
        - {block: mbconv, num_repeat: 1, kernel_size: 3, strides: 2, expand_ratio: 3, input_filters: 16, output_filters: 24}
      head: {filters: 64}
    per_stage:
      kernel_size: [3, 5]
      expand_ratio: [3, 6]
      filters_scale: [1.0, 2.0]
    """)  # 8 choices per stage: 64 architectures


@pytest.fixture()
def space_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SPACE)
    return path


@pytest.fixture()
def fake_latency(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Latency = MACs / 100k ms (deterministic); records every architecture actually scored."""
    scored: list[str] = []
    real_evaluate = Evaluator.evaluate

    def measure(self: Evaluator, model, arch):  # noqa: ANN001
        from nas.cost import count_macs

        return count_macs(model, arch.resolution) / 1e5, 0.0

    def evaluate(self: Evaluator, arch):  # noqa: ANN001
        scored.append(arch_key(arch))
        return real_evaluate(self, arch)

    monkeypatch.setattr(Evaluator, "measure", measure)
    monkeypatch.setattr(Evaluator, "evaluate", evaluate)
    return scored


def config(space: Path, out: Path, **kw) -> SearchConfig:  # noqa: ANN003
    base = dict(latency_target_ms=15.0, space=str(space), trials=12, sampler="random", seed=1, proxy="params",
                device="cpu", out=str(out), progress=False, latency="measure")
    return SearchConfig(**{**base, **kw})


def test_pareto_export_is_feasible_and_non_dominated(space_file: Path, tmp_path: Path, fake_latency: list[str]) -> None:
    result = run_search(config(space_file, tmp_path, trials=16), echo=lambda s: None)
    study = result.study
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == 16
    assert result.feasible and result.exported
    names = {nas.load_arch(p).name for p in result.exported}
    front = [t for t in complete if t.user_attrs["arch_name"] in names]
    assert len(front) >= len(result.exported)
    feasible = [t for t in complete if t.user_attrs["latency_ms"] <= 15.0]
    for t in front:
        assert t.user_attrs["latency_ms"] <= 15.0 and t.constraints == {"0": t.user_attrs["latency_ms"] - 15.0}
        # nobody feasible is at least as good on both objectives and better on one
        for other in feasible:
            dominates = (other.values[0] >= t.values[0] and other.values[1] <= t.values[1]
                         and (other.values[0] > t.values[0] or other.values[1] < t.values[1]))
            assert not dominates, (t.number, other.number)
    for path in result.exported:
        model = nas.build_model(path)
        assert sum(p.numel() for p in model.parameters()) > 0
    listing = (result.run_dir / "pareto.yaml").read_text()
    assert "feasible: true" in listing and "feasible: false" not in listing
    assert (result.run_dir / "run.json").is_file()
    assert len(list((result.run_dir / "trials").glob("*.yaml"))) == 16


def test_reference_net_enqueued_first(space_file: Path, tmp_path: Path, fake_latency: list[str]) -> None:
    study = run_search(config(space_file, tmp_path, trials=3), echo=lambda s: None).study
    first = study.trials[0]
    assert first.user_attrs.get("reference") == "tiny_base"
    assert sum("reference" in t.user_attrs for t in study.trials) == 1


def test_resume_continues_the_trial_count(space_file: Path, tmp_path: Path, fake_latency: list[str]) -> None:
    first = run_search(config(space_file, tmp_path, trials=5), echo=lambda s: None)
    assert len(first.study.trials) == 5
    before = [t.params for t in first.study.trials]
    second = run_search(config(space_file, tmp_path, trials=9), echo=lambda s: None)
    assert second.study.study_name == first.study.study_name
    numbers = [t.number for t in second.study.trials]
    assert numbers == list(range(9))
    # nothing from the first run was lost or re-created
    assert [t.params for t in second.study.trials[:5]] == before


def test_sqlite_study_is_in_wal_mode(space_file: Path, tmp_path: Path, fake_latency: list[str]) -> None:
    """One commit per suggested parameter and attribute must not wait for fsync (see make_storage)."""
    import sqlite3

    result = run_search(config(space_file, tmp_path, trials=3), echo=lambda s: None)
    db = sqlite3.connect(result.run_dir / "study.db")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'").fetchone() == (3,)
    finally:
        db.close()


def test_duplicates_are_not_scored_twice(tmp_path: Path, fake_latency: list[str]) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(TINY_SPACE.replace("expand_ratio: [3, 6]", "expand_ratio: [3]").replace(
        "filters_scale: [1.0, 2.0]", "filters_scale: [1.0]"))  # 2 × 2 = 4 architectures
    study = run_search(config(path, tmp_path, trials=12), echo=lambda s: None).study
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    keys = [t.user_attrs["arch_key"] for t in complete]
    assert len(complete) == 12 and len(set(keys)) <= 4
    assert sorted(fake_latency) == sorted(set(fake_latency)) == sorted(set(keys))
    duplicates = [t for t in complete if "duplicate_of" in t.user_attrs]
    assert len(duplicates) == 12 - len(set(keys))
    for t in duplicates:
        owner = study.trials[t.user_attrs["duplicate_of"]]
        assert owner.user_attrs["arch_key"] == t.user_attrs["arch_key"] and owner.values == t.values


def test_failing_candidate_becomes_fail_and_search_goes_on(space_file: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           fake_latency: list[str]) -> None:
    real = Evaluator.evaluate

    def flaky(self: Evaluator, arch):  # noqa: ANN001
        if arch.blocks[0].kernel_size == 5:
            raise CandidateError("out of memory: simulated")
        return real(self, arch)

    monkeypatch.setattr(Evaluator, "evaluate", flaky)
    study = run_search(config(space_file, tmp_path, trials=12), echo=lambda s: None).study
    failed = study.get_trials(states=(TrialState.FAIL,))
    assert failed and all(t.user_attrs["fail_reason"] == "out of memory: simulated" for t in failed)
    assert all(t.params["s0_kernel_size"] == 5 for t in failed)
    assert len(study.trials) == 12 and study.get_trials(states=(TrialState.COMPLETE,))


def test_mnasnet_objective_equals_the_formula(space_file: Path, tmp_path: Path, fake_latency: list[str]) -> None:
    study = run_search(config(space_file, tmp_path, trials=6, objective="mnasnet"), echo=lambda s: None).study
    assert study.metric_names == ["mnasnet_reward"]
    for t in study.get_trials(states=(TrialState.COMPLETE,)):
        a = t.user_attrs
        expected = a["proxy_value"] * (a["latency_ms"] / 15.0) ** -0.07
        assert t.value == pytest.approx(expected, rel=1e-12)
    assert MNASNET_W == -0.07
    assert mnasnet_reward(0.75, 40.0, 20.0) == pytest.approx(0.75 * 2 ** -0.07)


def test_no_feasible_trial_exports_closest_marked_infeasible(space_file: Path, tmp_path: Path,
                                                             fake_latency: list[str]) -> None:
    lines: list[str] = []
    result = run_search(config(space_file, tmp_path, trials=5, latency_target_ms=0.001, top_k=3), echo=lines.append)
    assert not result.feasible and len(result.exported) == 3
    assert result.study.best_trials == []
    assert any("no trial met the 0.001 ms target" in line for line in lines)
    assert "feasible: false" in (result.run_dir / "pareto.yaml").read_text()


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "search.py"), *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize("args,message", [
    (["--latency-target", "20"], "invalid latency '20'"),
    (["--latency-target", "-5ms"], "invalid latency '-5ms'"),
    (["--latency-target", "fast"], "invalid latency 'fast'"),
    (["--latency-target", "20ms", "--space", "nope.yaml"], "nope.yaml: no such search space file"),
    (["--latency-target", "20ms", "--sampler", "annealing"], "unknown sampler 'annealing'"),
    (["--latency-target", "20ms", "--proxy", "magic"], "invalid --proxy 'magic'"),
    (["--latency-target", "20ms", "--latency", "lut:missing.json"], "missing.json: no such latency table"),
    ([], "the following arguments are required: --latency-target"),
])
def test_cli_errors_exit_2_with_one_line_and_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "search_spaces").mkdir()
    (tmp_path / "search_spaces" / "mnasnet.yaml").write_text((ROOT / "search_spaces" / "mnasnet.yaml").read_text())
    before = sorted(p.name for p in tmp_path.rglob("*"))
    out = run_cli(*args, cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
