"""The eager-vs-runtimes benchmark (nas.bench.runtimes): its statistics on known values, its configuration
checks, and one tiny run end to end (no timing asserted)."""
from __future__ import annotations

import json

import pytest
from scipy.stats import kendalltau

from nas.bench.runtimes import RuntimesBenchConfig, compare, repeatability, run_runtimes_benchmark, runtimes_report


def test_compare_counts_pairs_that_change_order_and_speedup() -> None:
    c = compare([1.0, 2.0, 3.0, 4.0], [0.5, 1.5, 1.0, 2.0])
    assert (c["changed"], c["pairs"]) == (1, 6)  # only archs 2 and 3 swap
    assert c["tau"] == pytest.approx((5 - 1) / 6)
    assert c["speedup"] == {"median": pytest.approx(2.0), "min": 4 / 3, "max": 3.0}


def test_compare_agrees_with_kendall_on_random_data() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.random(30), rng.random(30)
    c = compare(list(a), list(b))
    assert c["pairs"] == 435
    assert c["tau"] == pytest.approx(kendalltau(a, b).statistic)
    assert c["tau"] == pytest.approx((435 - 2 * c["changed"]) / 435)  # no ties: τ = (concordant − discordant) / pairs
    with pytest.raises(ValueError, match="one length"):
        compare([1.0, 2.0], [1.0])


def test_repeatability_of_passes() -> None:
    assert repeatability([[1.0, 2.0, 3.0]]) is None
    r = repeatability([[1.0, 2.0, 3.0], [1.0, 2.2, 2.9]])
    assert r["tau"] == pytest.approx(1.0)
    assert r["median_diff_pct"] == pytest.approx(abs(3.0 - 2.9) / 2.95 * 100)


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"methods": ("eager", "tflite")}, "methods must be distinct names"),
    ({"methods": ("eager", "eager")}, "methods must be distinct names"),
    ({"methods": ("eager", "cuda-graph")}, "^method cuda-graph needs a CUDA device, not 'cpu'$"),
    ({"exporter": "x"}, "^unknown ONNX exporter 'x'"),
    ({"passes": 0}, "^passes must be ≥ 1, got 0$"),
])
def test_config_checks(kwargs: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        RuntimesBenchConfig(**kwargs)


def test_a_tiny_run_times_every_arch_by_every_method_in_every_pass() -> None:
    config = RuntimesBenchConfig(spaces=("tiny_32px",), n=3, methods=("eager", "onnxruntime"), passes=2, repeats=1,
                                 min_run_time=0.002, warmup=0, exporter="torchscript", progress=False)
    lines: list[str] = []
    result = run_runtimes_benchmark(config, log=lines.append)
    space = result.spaces["tiny_32px"]
    assert len(space["archs"]) == len(set(space["archs"])) == 3 and space["resolution"] == 32
    for method in ("eager", "onnxruntime"):
        assert len(space["ms"][method]) == 2 and all(len(p) == 3 and min(p) > 0 for p in space["ms"][method])
    assert space["settings"]["onnxruntime"]["graph_optimization"] == "all"
    assert space["settings"]["eager"]["threads"] == 1
    assert space["onnx"]["exporters"] == {"torchscript": 3} and space["onnx"]["max_abs_diff"] <= 1e-4
    assert lines == ["tiny_32px: 3 archs timed by eager, onnxruntime × 2 passes"]
    assert set(result.loads) == {"start", "end", "others"} and "tiny_32px" in result.loads["others"]
    assert json.loads(result.to_json())["spaces"]["tiny_32px"]["archs"] == space["archs"]
    text = runtimes_report(result, "nas benchmark runtimes --n 3")
    assert "Command: `nas benchmark runtimes --n 3`" in text and "### tiny_32px — 3 random archs at 32 px" in text
    assert "| onnxruntime |" in text and "of 3 (" in text and "(reference)" in text
    assert "execution_provider=CPUExecutionProvider" in text and "exporters {'torchscript': 3}" in text
