"""nas.validation.report: a row per proxy and baseline, the parts' sections, partial results, scatter plots."""
from __future__ import annotations

from pathlib import Path

from validation.helpers import FAST_PROXIES, make_validator

from nas import validation as V
from nas.bench.common import append_markdown


def test_report_has_a_row_per_proxy_and_baseline(space_path: Path, setup: V.Setup, tmp_path: Path) -> None:
    v = make_validator(space_path, setup, tmp_path / "c.jsonl")
    v.run_jobs(v.budget_jobs(1, 2, 2), "budget")
    v.run_jobs(v.noise_jobs(1, 2, 1), "noise")
    v.score_proxies(v.archs(5))
    v.run_jobs(v.main_jobs(1, 5), "main")
    a = V.analyse(v, n=5, epochs=1, multiplier=2, noise_archs=2, budget_archs=2, ensembles=["synflow+params"],
                  n_boot=50, cv_splits=10)
    text = V.report_markdown(a, command="validate_proxy.py --test")
    for name in FAST_PROXIES:
        assert f"\n| {name} | 5 |" in text
    assert "\n| params (baseline) | 5 |" in text and "\n| macs (baseline) | 5 |" in text
    assert "| synflow+params (ensemble (declared)) |" in text
    assert "Noise ceiling" in text and "Budget stability: 1 vs 2 epochs" in text and "Default search proxy" in text
    assert "PARTIAL" not in text
    pngs = V.write_scatter(a, tmp_path / "img")
    assert {p.name for p in pngs} == {f"proxy_{n}.png" for n in FAST_PROXIES + V.BASELINES}
    docs = tmp_path / "docs" / "benchmarks.md"
    append_markdown(text, docs)
    append_markdown(text, docs)
    assert docs.read_text().startswith("# Benchmarks\n") and docs.read_text().count("## Proxy validation") == 2

    partial = V.analyse(v, n=8, epochs=1, multiplier=2, noise_archs=2, budget_archs=2, n_boot=50, cv_splits=10)
    assert "PARTIAL" in V.report_markdown(partial) and "main 5/8" in V.report_markdown(partial)
