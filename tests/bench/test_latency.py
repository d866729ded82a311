"""The latency benchmark's library side: its settings, the CPU noise floor, the test-arch sampler, the JSON."""
from __future__ import annotations

import json
import math
import random
from types import SimpleNamespace

import pytest

import nas.zoo
from nas.bench.latency import (LatencyBenchConfig, LatencyBenchResult, machine_info, noise_floor,
                               sample_distinct)
from nas.bench.latency_zoo import load_verdict
from nas.latency.noise import NoisePolicy
from nas.space.load import load_space


def test_config_sorts_parts_and_rejects_bad_values() -> None:
    assert LatencyBenchConfig(parts="edba").parts == "abde"
    assert LatencyBenchConfig(spaces=["mnasnet"]).spaces == ("mnasnet",)
    assert LatencyBenchConfig().zoo == tuple(nas.zoo.names()) and LatencyBenchConfig(zoo=["mnasnet_a1"]).zoo == ("mnasnet_a1",)
    assert LatencyBenchConfig(threads=2, repeats=3, retries=0).settings() == dict(
        device="cpu", threads=2, repeats=3, min_run_time=0.2, warmup=10, noise=NoisePolicy(retries=0),
        backend="eager")
    assert LatencyBenchConfig(backend="onnxruntime").settings()["backend"] == "onnxruntime"
    for bad in ({"parts": ""}, {"parts": "ax"}, {"n": 0}, {"threads": 0}, {"passes": 0}, {"runs": 0},
                {"repeats": 0}, {"min_run_time": 0.0}, {"warmup": -1}, {"retries": -1}):
        with pytest.raises(ValueError):
            LatencyBenchConfig(**bad)


def test_load_verdicts() -> None:
    assert load_verdict(10.0, 12.5, noisy=False) == "ok" and load_verdict(10.0, 7.5, noisy=True) == "ok"
    assert load_verdict(10.0, 13.0, noisy=True) == "flagged" and load_verdict(10.0, 25.0, noisy=True) == "flagged"
    assert load_verdict(10.0, 13.0, noisy=False) == "MISSED" and load_verdict(10.0, 7.0, noisy=False) == "MISSED"
    assert load_verdict(10.0, 20.0, noisy=False) == "MISSED ×2"


def test_noise_floor_keys() -> None:
    nf = noise_floor(1.0)
    assert set(nf) == {"p10_ms", "p50_ms", "p50_over_p10", "chunk_cv_pct", "seconds"}
    assert nf["seconds"] == 1.0 and 0 < nf["p10_ms"] <= nf["p50_ms"] and nf["p50_over_p10"] >= 1
    assert math.isfinite(nf["chunk_cv_pct"])


def test_sample_distinct_is_seeded_and_distinct() -> None:
    space = load_space("mobile_32px")
    archs = sample_distinct(space, 5, seed=3)
    assert len({a.name for a in archs}) == 5 and all(a in space for a in archs)
    assert [a.name for a in archs] == [a.name for a in sample_distinct(space, 5, seed=3)]
    assert [a.name for a in archs] != [a.name for a in sample_distinct(space, 5, seed=4)]


class _ThreeArchs:
    """A stand-in space with three archs, named a, b and c."""

    def sample(self, rng: random.Random) -> SimpleNamespace:
        return SimpleNamespace(name=rng.choice("abc"))


def test_sample_distinct_stops_at_the_size_of_a_small_space() -> None:
    assert sorted(a.name for a in sample_distinct(_ThreeArchs(), 5, seed=0)) == ["a", "b", "c"]
    assert len(sample_distinct(_ThreeArchs(), 2, seed=0)) == 2


def test_machine_info_keys() -> None:
    info = machine_info("cpu", 2, commit="abc1234")
    assert info["threads"] == 2 and info["device_type"] == "cpu" and info["commit"] == "abc1234"
    assert {"device", "torch_version", "logical_cpus", "python", "platform", "torch_default_threads"} <= set(info)
    with pytest.raises(ValueError):
        machine_info("nope", 1)


def test_result_json_has_machine_loads_and_results() -> None:
    result = LatencyBenchResult(LatencyBenchConfig(parts="d"), {"device": "cpu x"}, loads={"start": None},
                                results={"d": [{"net": "n", "median_ms": 1.5}]})
    assert json.loads(result.to_json()) == {"machine": {"device": "cpu x"}, "loads": {"start": None},
                                            "results": {"d": [{"net": "n", "median_ms": 1.5}]}}
