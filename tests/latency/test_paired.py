"""Paired timing (nas.latency.paired, nas.latency.clock, measure_latency(reference=...)): what is recorded and
how blocks become numbers — never a latency value."""
from __future__ import annotations

import math

import numpy as np
import pytest
from torch import nn

from nas.latency import NoisePolicy, Reference, measure_latency, measure_reference
from nas.latency.clock import Runner, calls_per_block, paired_blocks, solo_blocks
from nas.latency.paired import ratio_stats, solo_stats

FAST = dict(repeats=3, min_run_time=0.01, warmup=1, noise=NoisePolicy(retries=0))


def tiny(width: int = 8) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())


def test_ratio_stats_scale_the_ratio_by_the_quiet_latency() -> None:
    cand = [np.array([2e-3, 4e-3, 6e-3]), np.array([3e-3, 3e-3])]  # per-call seconds of each block
    ref = [np.array([1e-3, 2e-3, 3e-3]), np.array([1.5e-3, 1.5e-3])]  # the machine slowed both alike
    s = ratio_stats(list(zip(cand, ref)), quiet_ms=10.0)
    assert s.ratio == pytest.approx(2.0) and s.median_ms == pytest.approx(20.0) and s.iqr_ms == pytest.approx(0)
    assert s.samples_ms == pytest.approx([20.0, 20.0]) and s.cv == pytest.approx(0.0)
    assert s.reference_now_ms == pytest.approx(1.5)


def test_solo_stats_pool_blocks_and_take_a_median_per_repeat() -> None:
    s = solo_stats([np.array([1e-3, 3e-3]), np.array([2e-3, 2e-3, 2e-3])])
    assert s.median_ms == pytest.approx(2.0) and s.samples_ms == pytest.approx([2.0, 2.0])
    assert s.reference_now_ms is None and s.ratio is None
    assert math.isnan(solo_stats([np.array([1e-3])]).cv)


def test_paired_blocks_alternate_so_that_neither_always_goes_first() -> None:
    order: list[str] = []
    a, b = Runner(lambda: order.append("a")), Runner(lambda: order.append("b"))
    cand, ref = paired_blocks(a, 1, b, 1, min_run_time=1e-12)  # each block: one untimed call, then the timed
    assert len(cand) == len(ref) == 1 and order == ["a", "a", "b", "b"]
    order.clear()
    cand, ref = paired_blocks(a, 2, b, 1, min_run_time=1e-12)
    assert order == ["a", "a", "a", "b", "b"]
    order.clear()
    rounds: list[tuple[str, str]] = []
    for _ in range(1000):  # until one call ran four rounds (a preempted first call can end it after one)
        order.clear()
        cand, ref = paired_blocks(a, 1, b, 1, min_run_time=2e-5)
        calls = order[::2]  # every block's first call is its untimed warm-up
        rounds = list(zip(calls[::2], calls[1::2]))
        if len(rounds) >= 4:
            break
    assert rounds[:4] == [("a", "b"), ("b", "a"), ("a", "b"), ("b", "a")]
    assert len(cand) == len(ref) == len(rounds)


def test_a_blocks_warm_up_calls_run_before_its_clock_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    import nas.latency.clock as clock

    events: list[str] = []
    import types

    monkeypatch.setattr(clock, "time", types.SimpleNamespace(
        perf_counter=lambda: events.append("clock") or float(len(events))))
    run = Runner(lambda: events.append("call"), lambda: events.append("sync"))
    run.block(2, warm=1)
    assert events == ["call", "sync", "clock", "call", "call", "sync", "clock"]


def test_blocks_have_at_least_one_call_and_sync_once_per_block() -> None:
    syncs: list[int] = []
    run = Runner(lambda: sum(range(100)), lambda: syncs.append(1))
    n = calls_per_block(run, block_s=1e-4)
    assert isinstance(n, int) and n >= 1
    syncs.clear()
    blocks = solo_blocks(run, 3, min_run_time=1e-12)
    assert len(blocks) == 1 == len(syncs) and blocks[0] > 0


def test_measure_latency_paired_records_the_reference() -> None:
    ref = Reference(tiny(4), resolution=16, quiet_ms=2.5, name="ref4", threads=1)
    r = measure_latency(tiny(), 16, device="cpu", reference=ref, **FAST)
    assert r.mode == "paired" and r.reference == "ref4" and r.reference_ms == 2.5
    assert r.reference_now_ms is not None and r.reference_now_ms > 0 and r.median_ms > 0
    assert len(r.samples_ms) == 3 and r.attempts[0]["reference_now_ms"] == r.reference_now_ms
    assert not ref.model.training  # the reference runs in eval mode


def test_paired_refuses_a_reference_measured_otherwise() -> None:
    with pytest.raises(ValueError, match="batch size 2"):
        measure_latency(tiny(), 16, device="cpu", reference=Reference(tiny(), 16, 1.0, batch_size=2), **FAST)
    with pytest.raises(ValueError, match="2 thread"):
        measure_latency(tiny(), 16, device="cpu", reference=Reference(tiny(), 16, 1.0, threads=2), **FAST)
    with pytest.raises(TypeError, match="Reference"):
        measure_latency(tiny(), 16, device="cpu", reference="mnasnet_b1", **FAST)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="quiet_ms"):
        Reference(tiny(), 16, 0.0)


def test_measure_reference_keeps_its_quiet_measurement() -> None:
    ref = measure_reference(tiny(), 16, name="tiny", device="cpu", repeats=2, min_run_time=0.01, warmup=1,
                            noise=NoisePolicy(retries=0), runs=3)
    assert ref.name == "tiny" and ref.threads == 1 and ref.resolution == 16 and ref.in_channels == 3
    assert ref.quiet is not None and ref.quiet_ms == ref.quiet["median_ms"] > 0 and ref.quiet["mode"] == "solo"
    assert len(ref.quiet["runs_ms"]) == 3 and sorted(ref.quiet["runs_ms"])[1] == round(ref.quiet_ms, 4)
    assert ref.noisy == bool(ref.quiet["noisy"])
    assert ref.describe() == {"name": "tiny", "resolution": 16, "quiet_ms": ref.quiet_ms, "threads": 1,
                              "noisy": ref.noisy}
    r = measure_latency(tiny(), 16, device="cpu", reference=ref, **FAST)
    assert r.mode == "paired" and r.reference_ms == ref.quiet_ms


def test_a_reference_record_round_trips_through_json() -> None:
    import json

    ref = Reference(tiny(4), resolution=16, quiet_ms=2.5, name="ref4", threads=1, quiet={"noisy": False})
    again = Reference.from_dict(json.loads(json.dumps(ref.to_dict())), tiny(4))
    assert again.to_dict() == ref.to_dict() and again.quiet_ms == 2.5 and not again.noisy


def test_a_reference_is_exported_once_for_every_candidate_timed_beside_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """ONNX Runtime: each candidate is exported for its own timing, the reference once per setup and module."""
    pytest.importorskip("onnxruntime", reason="the onnxruntime backend needs onnxruntime")
    import nas.latency.measure as measure

    exported: list[int] = []
    real = measure.to_onnx

    def counting(model: nn.Module, **kwargs: object) -> object:
        exported.append(id(model))
        return real(model, **kwargs)

    monkeypatch.setattr(measure, "to_onnx", counting)
    ref = Reference(tiny(4), resolution=16, quiet_ms=2.5, name="ref4", threads=1)
    cands = [tiny(), tiny(6)]
    for cand in cands:
        r = measure_latency(cand, 16, device="cpu", reference=ref, backend="onnxruntime", **FAST)
        assert r.mode == "paired" and r.reference_now_ms is not None and r.reference_now_ms > 0
    assert exported.count(id(ref.model)) == 1 and [i for i in exported if i != id(ref.model)] == list(map(id, cands))
    measure_latency(cands[0], 16, device="cpu", reference=ref, **FAST)  # eager: nothing exported
    other = Reference(tiny(4), resolution=16, quiet_ms=2.5, name="other", threads=1)
    measure_latency(cands[0], 16, device="cpu", reference=other, backend="onnxruntime", **FAST)
    assert exported.count(id(other.model)) == 1 and len(exported) == 5  # another module: its own export
