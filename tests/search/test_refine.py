"""The refine stage (multi-fidelity search): exactly K trained networks spread over the front, resumed without
retraining, successive halving, the export ranked by the highest fidelity; bad --refine values exit 2."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import nas.search.refine as refine_module
from nas.search import SearchResult, export_pareto, run_search
from nas.search.front import pareto_front
from nas.search.refine import RefineSpec, fidelities, pick_candidates, refine, refine_study_name
from nas.search.specs import TrainProxy
from support import run_nas

DATA = "synthetic:classes=4,channels=3"


@pytest.fixture()
def finished(search_config, space_file: Path, tmp_path: Path, fake_latency: list[str]) -> SearchResult:  # noqa: ANN001
    return run_search(search_config(space_file, tmp_path, trials=14, latency_target_ms=8.0))


@pytest.fixture()
def trainings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts real trainings (their epochs), so a resume that retrains would show."""
    calls: list[int] = []
    real = refine_module.train

    def counting(model, data, config, **kw):  # noqa: ANN001, ANN003
        calls.append(config.epochs)
        return real(model, data, config, **kw)

    monkeypatch.setattr(refine_module, "train", counting)
    return calls


def test_candidates_spread_over_the_front(finished: SearchResult) -> None:
    study = finished.study
    front = sorted({t.user_attrs["latency_ms"] for t in pareto_front(study)})
    picked = pick_candidates(study, 8.0, 3)
    assert len(picked) == 3 and len({t.user_attrs["arch_key"] for t in picked}) == 3
    latencies = [t.user_attrs["latency_ms"] for t in picked]
    assert latencies == sorted(latencies) and all(ms <= 8.0 for ms in latencies)
    if len(front) >= 3:  # the fastest and the slowest of the front are both in
        assert latencies[0] == front[0] and latencies[-1] == front[-1]


def test_refine_trains_exactly_k_resumes_and_reranks(finished: SearchResult, trainings: list[int]) -> None:
    spec = RefineSpec(TrainProxy(epochs=1, train_size=256, test_size=128), top=3)
    kw = dict(storage=finished.storage, data=DATA, run_dir=finished.run_dir, target_ms=8.0, device="cpu",
              echo=lambda s: None)
    refined = refine(finished.study, spec, **kw)
    assert refined.study_name == refine_study_name(finished.study) and len(refined.trials) == 3 == len(trainings)
    done = fidelities(refined)
    assert len(done) == 3 and all(f.label == "train:epochs=1,train_size=256,test_size=128" for f in done.values())
    again = refine(finished.study, spec, **kw)  # a rerun retrains nothing
    assert len(again.trials) == 3 and len(trainings) == 3
    files, ok = export_pareto(finished.study, finished.run_dir, 8.0, trained=done, echo=lambda s: None,
                              onnx=False)
    rows = yaml.safe_load((finished.run_dir / "pareto.yaml").read_text())["networks"]
    assert ok and [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    trained = [r for r in rows if r["accuracy"] is not None]
    assert len(trained) == 3 and rows[:3] == trained  # ranked first, by accuracy
    assert [r["accuracy"] for r in trained] == sorted((r["accuracy"] for r in trained), reverse=True)
    assert all(r["fidelity"].startswith("zero-cost:params") for r in rows[3:])
    assert {r["trial"] for r in trained} == set(done)


def test_successive_halving(finished: SearchResult, trainings: list[int]) -> None:
    spec = RefineSpec(TrainProxy(epochs=1, train_size=256, test_size=128), top=4, halving=True)
    assert spec.rounds() == [(4, 1), (2, 2), (1, 4)]
    refined = refine(finished.study, spec, storage=finished.storage, data=DATA, run_dir=finished.run_dir,
                     target_ms=8.0, device="cpu", echo=lambda s: None)
    assert sorted(trainings) == [1, 1, 1, 1, 2, 2, 4]
    done = fidelities(refined)
    assert sorted(f.epochs for f in done.values()) == [1, 1, 2, 4]
    best_of_first = sorted((f for f in done.values() if f.epochs >= 2), key=lambda f: -f.epochs)
    assert best_of_first[0].epochs == 4


@pytest.mark.parametrize("args,message", [
    (["--refine", "epochs=2"], "invalid --refine 'epochs=2'"),
    (["--refine", "train:epochs=0"], "epochs must be an integer ≥ 1"),
    (["--refine", "train:batch=3"], "invalid --refine 'train:batch=3'"),
    (["--refine", "train:epochs=1"], "--refine trains on real data: give --data"),
    (["--refine", "train:epochs=1", "--data", "fashion-mnist", "--refine-top", "0"], "--refine-top"),
])
def test_bad_refine_values_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    out = run_nas("search", "--latency-target", "20ms", *args, "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert not (tmp_path / "runs").exists()
