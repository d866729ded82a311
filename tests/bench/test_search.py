"""The search benchmark's library side, without running a search: hypervolume, settings and section text."""
from __future__ import annotations

from pathlib import Path

import pytest

import nas.bench.search as bench_search
from nas.bench.search import SearchBenchConfig, hypervolume, hypervolume_section, rate_section
from nas.search.specs import DEFAULT_PROXY, LatencyMethod, ProxySpec


def test_hypervolume_of_feasible_points_above_the_reference() -> None:
    # one point: proxy 3 at 2 ms against (proxy 1, 5 ms) → (3 - 1) × (5 - 2)
    assert hypervolume([(3.0, 2.0, True)], 10, 1.0, 5.0) == pytest.approx(6.0)
    # infeasible points, points at the proxy minimum and points past `upto` do not count
    points = [(3.0, 2.0, True), (9.0, 6.0, False), (1.0, 1.0, True), (9.0, 1.0, True)]
    assert hypervolume(points, 3, 1.0, 5.0) == pytest.approx(6.0)
    assert hypervolume(points[1:3], 10, 1.0, 5.0) == 0.0


def test_config_rejects_bad_values() -> None:
    config = SearchBenchConfig(Path("a.json"), Path("b.json"))
    assert config.parts == "ab" and config.hv_proxy == ProxySpec() and [p.name for p in config.proxies] == [
        "synflow", "naswot"]
    for bad in ({"parts": ""}, {"parts": "abc"}, {"seeds": 0}, {"threads": 0}, {"rate_trials": 0}):
        with pytest.raises(ValueError):
            SearchBenchConfig(Path("a.json"), Path("b.json"), **bad)


def test_rate_section_rows_and_goals(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_rate(space: str, latency: LatencyMethod, proxy: ProxySpec, trials: int, target_ms: float,
                  threads: int) -> tuple[float, int]:
        calls.append((space, latency.kind, proxy.name, trials, target_ms, threads))
        return (10.0 if latency.kind == "measure" else 70.0), trials

    monkeypatch.setattr(bench_search, "candidates_per_minute", fake_rate)
    config = SearchBenchConfig(Path("a.json"), Path("b.json"), rate_trials=4, proxies=(ProxySpec("synflow"),))
    lines = rate_section(config)
    assert [c[1:3] for c in calls] == [("measure", "params"), ("paired", DEFAULT_PROXY),  # the default search
                                       ("lut", "params"), ("lut", "synflow")]
    assert {c[0] for c in calls} == {"mnasnet"} and {c[3:] for c in calls} == {(4, 30.0, 2)}
    text = "\n".join(lines)
    assert "| measure | params | 4 | 10.0 | ≥ 20 | missed by 10.0/min |" in text
    assert "| lut | synflow | 4 | 70.0 | ≥ 60 | met |" in text


def test_hypervolume_section_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_runs(space, latency, proxy, target_ms, samplers, seeds, trials, threads, log=None):  # noqa: ANN001
        assert (space, latency.kind, trials, list(seeds)) == ("mobile_32px", "lut", 200, [0])
        good = [(3.0, 2.0, True)] * 100 + [(5.0, 1.0, True)] * 100
        return {(s, 0): (good if s == "tpe" else [(1.0, 4.0, True)] + good[:100]) for s in samplers}

    monkeypatch.setattr(bench_search, "hypervolume_runs", fake_runs)
    lines = hypervolume_section(SearchBenchConfig(Path("a.json"), Path("b.json"), target_32_ms=5.0, seeds=1))
    text = "\n".join(lines)
    assert "target 5.000 ms, 1 seeds" in text and "reference (−1, 5.000 ms)" in text
    assert "| tpe | 6 | 6 | 16 | 16 |" in text and "| random | 6 | 6 | 6 | 6 |" in text
    assert "Goal TPE's mean hypervolume after 100 trials ≥ random's after 200: met (6 vs 6)." in text
