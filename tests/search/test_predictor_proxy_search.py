"""A search with ``--proxy predictor:K``: the few-shot predictor is fitted on the ground truth of the space's
first K validation archs (from the training cache) and scores every candidate; missing truth is one line."""
from __future__ import annotations

from pathlib import Path


from nas.search import ProxySpec, run_search
from nas.space import load_space
from nas.validation.predictor_proxy import PredictorSpec
from nas.train import TrainConfig
from nas.validation.setup import Setup
from nas.validation.validator import Job, Validator
from support import run_nas

DATA = "synthetic:classes=4,channels=3"


def test_predictor_proxy_scores_candidates(search_config, space_file: Path, tmp_path: Path,  # noqa: ANN001
                                           fake_latency: list[str]) -> None:
    cache = tmp_path / "truth.jsonl"
    v = Validator(load_space(space_file), Setup(data=DATA, training=TrainConfig(num_threads=1)), cache=cache, progress=False)
    v.run_jobs([Job(a, 1, 0) for a in v.archs(4)], "truth")
    spec = ProxySpec("predictor", predictor=PredictorSpec(k=4, epochs=1, seeds=(0,)))
    study = run_search(search_config(space_file, tmp_path / "runs", trials=4, proxy=spec, data=DATA,
                                     train_cache=cache)).study
    values = [t.values[0] for t in study.get_trials() if t.values]
    assert len(values) >= 4 and all(0.0 <= v <= 1.5 for v in values)  # predicted top-1 fractions
    assert study.user_attrs["settings"]["proxy"] == "predictor:4,epochs=1,seeds=0"


def test_missing_truth_is_one_line(tmp_path: Path, space_file: Path) -> None:
    out = run_nas("search", "--latency-target", "20ms", "--space", str(space_file), "--proxy", "predictor:5",
                  "--data", DATA, "--train-cache", str(tmp_path / "none.jsonl"), "--threads", "1", "--out",
                  str(tmp_path / "runs"))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "predictor:5 needs the truth of the first 5 archs" in out.stderr and not (tmp_path / "runs").exists()
    out = run_nas("search", "--latency-target", "20ms", "--proxy", "predictor:5")
    assert out.returncode == 2 and "needs real data" in out.stderr
