"""A trial whose latency stayed noisy (injected here) is marked in the study, never feasible on that number
alone — so never on the exported front — and listed in pareto.yaml, the leaderboard and run.json's summary."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from nas.report import write_report
from nas.search import Evaluator, export_pareto, is_feasible, pareto_front, run_search
from nas.search.evaluate import Timing
from nas.search.run import write_run_summary
from support import fake_latency_ms


def test_a_noisy_trial_is_marked_excluded_and_listed(search_config, space_file: Path, tmp_path: Path,  # noqa: ANN001
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def measure(self: Evaluator, model, arch, layers):  # noqa: ANN001
        quiet = fake_latency_ms(self, model, arch, layers)
        if arch.blocks[0].kernel_size == 3 and arch.blocks[1].kernel_size == 3:  # includes the fastest nets
            return Timing(quiet.median_ms, 0.5, noisy=True, others_cpu=1.3, attempts=3)
        return quiet

    monkeypatch.setattr(Evaluator, "measure", measure)
    result = run_search(search_config(space_file, tmp_path, trials=16, latency_target_ms=8.0))
    study = result.study
    noisy = [t for t in study.get_trials() if t.user_attrs.get("noisy")]
    assert noisy and all(t.user_attrs["others_cpu"] == 1.3 and t.user_attrs["latency_attempts"] == 3 for t in noisy)
    assert all(t.constraints["1"] == 1.0 and not is_feasible(t) and not is_feasible(t, 100.0) for t in noisy)
    front = pareto_front(study)
    assert front and not any(t.user_attrs.get("noisy") for t in front)
    assert not any(t.user_attrs.get("noisy") for t in study.best_trials)  # Optuna's own front agrees

    export_pareto(study, result.run_dir, echo=lambda s: None, onnx=False)
    listing = yaml.safe_load((result.run_dir / "pareto.yaml").read_text())
    listed = {row["trial"] for row in listing["noisy_trials"]}
    assert listed == {t.number for t in noisy if "duplicate_of" not in t.user_attrs}
    assert not any(row["noisy"] for row in listing["networks"])
    summary = write_run_summary(result.run_dir, study)
    assert summary["noisy"] == len(listed) and summary["others_cpu_max"] == 1.3
    assert json.loads((result.run_dir / "run.json").read_text())["summary"]["noisy"] == len(listed)
    write_report(study, result.run_dir)
    assert f"{len(listed)} timed noisy (not feasible)" in (result.run_dir / "leaderboard.md").read_text()
