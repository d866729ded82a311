"""nas.latency.table, .build and .calibrate (the lookup table). No timing assertions: ops are timed with a fake measure
(synthetic numbers) everywhere except two smoke tests that only check that real timing runs."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import time
from pathlib import Path

import pytest
import torch

import nas.zoo
import nas.machine as machine
from nas.arch.layers import Layer, resolve
from nas.latency import build as builder
from nas.latency import calibrate as calibration
from nas.latency import table as tables
from nas.latency.build import build_table
from nas.latency.calibrate import calibrate
from nas.latency.table import Entry, LatencyTable, LUTError, TableMeta
from nas.space import load_space

from support import SPACE_FILES, TINY_LUT_SPACE as TINY_SPACE
FAST = dict(repeats=1, min_run_time=0.001, warmup=1)
REAL_CPU_TIMES = machine._cpu_times


def fake_ms(layer: Layer) -> float:
    """A deterministic synthetic latency: depends on the op, never on the clock."""
    return 0.01 + (layer.in_chs * layer.out_chs + layer.mid_chs * layer.kernel_size ** 2) * layer.input_size ** 2 * 1e-7


@pytest.fixture(autouse=True)
def idle_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must not depend on (or warn about) what else runs on the machine."""
    monkeypatch.setattr(machine, "_cpu_times", lambda: None)


@pytest.fixture
def fake_measure(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace op timing by :func:`fake_ms`; returns the list of keys measured, in order."""
    measured: list[str] = []

    def measure(layer: Layer, meta: TableMeta) -> float:
        measured.append(layer.key)
        return fake_ms(layer)

    monkeypatch.setattr(builder, "measure_op", measure)
    return measured


NET_OVERHEAD_MS, NET_SCALE = 0.5, 1.2


@pytest.fixture
def fake_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Whole networks 'measure' exactly NET_OVERHEAD_MS + NET_SCALE × Σ fake_ms; returns the names timed."""
    measured: list[str] = []

    def measure(arch, meta: TableMeta) -> float:
        measured.append(arch.name)
        return NET_OVERHEAD_MS + NET_SCALE * math.fsum(fake_ms(layer) for layer in resolve(arch))

    monkeypatch.setattr(builder, "measure_network", measure)
    return measured


@pytest.fixture
def tiny_space(tmp_path: Path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SPACE)
    return load_space(path)


def build(ops, **kw) -> LatencyTable:
    return build_table(ops, **{"device": "cpu", "threads": 1, "progress": False, "passes": 1, **kw})


# ------------------------------------------------------------------------------------------ coverage


def test_space_files_exist() -> None:
    assert {p.stem for p in SPACE_FILES} >= {"mnasnet", "mobile_32px"}


@pytest.mark.parametrize("path", SPACE_FILES, ids=[p.stem for p in SPACE_FILES])
def test_table_covers_every_op_of_50_sampled_archs(path: Path, fake_measure: list[str]) -> None:
    space = load_space(path)
    table = build(space)
    assert table.meta.space == space.name and table.meta.resolution == space.skeleton.resolution
    assert len(table) == len({op.key for op in space.ops()}) == len(fake_measure)
    rng = random.Random(0)
    for _ in range(50):
        arch = space.sample(rng)
        layers = resolve(arch)
        missing = [layer.key for layer in layers if layer.key not in table]
        assert not missing, f"{arch.name}: {missing[:3]}"
        assert table.predict_raw(arch) == pytest.approx(math.fsum(fake_ms(layer) for layer in layers))
        assert table.predict(arch) == table.predict_raw(arch)  # uncalibrated: the raw sum


def test_duplicate_ops_are_measured_once(fake_measure: list[str]) -> None:
    ops = resolve(nas.zoo.load("mobilenet_v2"), 32)
    table = build(ops + ops)
    assert len(fake_measure) == len(table) == len({op.key for op in ops}) < len(ops)


def test_missing_entry_names_the_op_and_the_space(tiny_space, fake_measure: list[str]) -> None:
    table = build(tiny_space)
    arch = nas.zoo.load("mnasnet_a1")
    with pytest.raises(LUTError) as info:
        table.predict(arch)
    message = str(info.value)
    assert "\n" not in message
    assert resolve(arch)[0].key in message and "'tiny'" in message and "nas build-lut --space" in message
    # same network at another resolution: also not covered
    in_space = tiny_space.sample(0)
    with pytest.raises(LUTError, match="hw64"):
        table.predict(in_space.replace(resolution=64))
    assert isinstance(info.value, ValueError)


# ------------------------------------------------------------------------------------------ save / load


def calibrated_table(space, measured: list[str] | None = None) -> LatencyTable:
    table = build(space)
    archs = [space.sample(i) for i in range(4)]
    calibrate(table, archs, [1.5 + 1.1 * table.predict_raw(a) + 0.01 * i for i, a in enumerate(archs)])
    return table


def test_save_load_round_trip(tiny_space, fake_measure: list[str], tmp_path: Path) -> None:
    table = calibrated_table(tiny_space)
    path = tmp_path / "lut.json"
    table.save(path)
    loaded = LatencyTable.load(path, device="cpu", threads=1)
    assert loaded == table
    assert loaded.calibration is not None and loaded.calibration.archs == table.calibration.archs
    data = json.loads(path.read_text())
    assert data["schema"] == tables.SCHEMA_VERSION and set(data) == {"schema", "meta", "calibration", "networks", "entries"}
    for key in ("device", "device_type", "torch_version", "threads", "batch_size", "in_channels", "space",
                "created", "nas_version"):
        assert key in data["meta"]
    loaded.save(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == path.read_text()
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary file behind


def test_uncalibrated_round_trip(tiny_space, fake_measure: list[str], tmp_path: Path) -> None:
    table = build(tiny_space, out_path=tmp_path / "t.json")
    assert table.calibration is None
    assert LatencyTable.load(tmp_path / "t.json", device="cpu", threads=1) == table


@pytest.mark.parametrize("change", [
    {"threads": 7},
    {"device": "Some Other CPU"},
    {"device_type": "cuda"},
    {"torch_version": "1.13.0"},
], ids=lambda c: next(iter(c)))
def test_load_refuses_another_setup_unless_forced(change, tiny_space, fake_measure: list[str],
                                                  tmp_path: Path) -> None:
    table = build(tiny_space)
    table.meta = dataclasses.replace(table.meta, **change)
    path = tmp_path / "other.json"
    table.save(path)
    field_name, value = next(iter(change.items()))
    with pytest.raises(LUTError) as info:
        LatencyTable.load(path, device="cpu", threads=1)
    message = str(info.value)
    assert "\n" not in message and field_name in message and repr(value) in message and "force=True" in message
    with pytest.warns(UserWarning, match=field_name):
        loaded = LatencyTable.load(path, device="cpu", threads=1, force=True)
    assert loaded == table


def test_load_lists_every_difference_in_one_line(tiny_space, fake_measure: list[str], tmp_path: Path) -> None:
    table = build(tiny_space)
    table.meta = dataclasses.replace(table.meta, threads=3, torch_version="0.4.1")
    table.save(tmp_path / "t.json")
    with pytest.raises(LUTError) as info:
        LatencyTable.load(tmp_path / "t.json", device="cpu", threads=1)
    assert "threads 3 ≠ 1" in str(info.value) and "torch_version '0.4.1'" in str(info.value)


def test_threads_default_to_one_when_building_and_loading(tiny_space, fake_measure: list[str],
                                                          tmp_path: Path) -> None:
    table = build_table(tiny_space, device="cpu", progress=False)
    assert table.meta.threads == 1  # the safe default, whatever torch's current count is
    table.save(tmp_path / "t.json")
    assert LatencyTable.load(tmp_path / "t.json", device="cpu") == table


def test_bad_files_raise_one_line(tmp_path: Path) -> None:
    with pytest.raises(LUTError, match="no such file"):
        LatencyTable.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(LUTError, match="invalid JSON"):
        LatencyTable.load(tmp_path / "bad.json")
    (tmp_path / "old.json").write_text(json.dumps({"schema": 99, "meta": {}, "entries": {}}))
    with pytest.raises(LUTError, match="schema version 99"):
        LatencyTable.load(tmp_path / "old.json")
    (tmp_path / "broken.json").write_text(json.dumps({"schema": tables.SCHEMA_VERSION, "meta": {"x": 1},
                                                      "entries": {}}))
    with pytest.raises(LUTError, match="malformed"):
        LatencyTable.load(tmp_path / "broken.json")


# ------------------------------------------------------------------------------------------ calibration


def test_calibration_recovers_overhead_and_scale_exactly(tiny_space, fake_measure: list[str]) -> None:
    table = build(tiny_space)
    archs = [tiny_space.sample(i) for i in range(6)]
    assert len({table.predict_raw(a) for a in archs}) > 1
    measured = [0.75 + 1.25 * table.predict_raw(a) for a in archs]
    cal = calibrate(table, archs, measured)
    assert table.calibration is cal
    assert cal.overhead_ms == pytest.approx(0.75, abs=1e-9)
    assert cal.scale == pytest.approx(1.25, rel=1e-9)
    assert cal.n_nets == 6 and cal.rmse_ms == pytest.approx(0, abs=1e-9) and cal.max_abs_pct < 1e-6
    assert cal.archs == tuple(a.name for a in archs)
    other = tiny_space.sample(99)
    assert table.predict(other) == pytest.approx(0.75 + 1.25 * table.predict_raw(other))


def test_build_calibrates_on_networks_timed_among_the_ops(tiny_space, fake_measure: list[str],
                                                          fake_network: list[str], tmp_path: Path) -> None:
    archs = calibration.calibration_archs(tiny_space, 3)
    log: list[str] = []
    lut_measure_op, lut_measure_net = builder.measure_op, builder.measure_network
    builder.measure_op = lambda layer, meta: (log.append("op"), lut_measure_op(layer, meta))[1]  # type: ignore
    builder.measure_network = lambda arch, meta: (log.append("net"), lut_measure_net(arch, meta))[1]  # type: ignore
    try:
        table = build(tiny_space, calibration_archs=archs, passes=2, out_path=tmp_path / "t.json")
    finally:
        builder.measure_op, builder.measure_network = lut_measure_op, lut_measure_net
    assert sorted(fake_network) == sorted([a.name for a in archs] * 2)
    first_pass = log[:len(log) // 2]
    assert first_pass[0] == "op" or first_pass[-1] == "op"  # networks are shuffled among the ops,
    assert "op" in first_pass[first_pass.index("net"):]  # not timed in a separate burst
    cal = table.calibration
    assert cal is not None and cal.archs == tuple(a.name for a in archs) and cal.n_nets == len(archs)
    assert cal.overhead_ms == pytest.approx(NET_OVERHEAD_MS, abs=1e-9) and cal.scale == pytest.approx(NET_SCALE)
    assert set(table.networks) == {a.name for a in archs}
    assert all(len(e.samples_ms) == 2 for e in table.networks.values())
    assert LatencyTable.read(tmp_path / "t.json") == table


def test_interrupted_calibrated_build_resumes(tiny_space, fake_network: list[str], monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    archs = calibration.calibration_archs(tiny_space, 2)
    calls: list[str] = []

    def interrupted(layer: Layer, meta: TableMeta) -> float:
        if len(calls) == 12:
            raise KeyboardInterrupt
        calls.append(layer.key)
        return fake_ms(layer)

    monkeypatch.setattr(builder, "measure_op", interrupted)
    out = tmp_path / "lut.json"
    with pytest.raises(KeyboardInterrupt):
        build(tiny_space, calibration_archs=archs, passes=2, out_path=out)
    partial = LatencyTable.read(out)
    assert partial.calibration is None
    nets_before = len(fake_network)
    assert sum(len(e.samples_ms) for e in partial.networks.values()) == nets_before
    monkeypatch.setattr(builder, "measure_op", lambda layer, meta: (calls.append(layer.key), fake_ms(layer))[1])
    table = build(tiny_space, calibration_archs=archs, passes=2, out_path=out)
    assert len(calls) == 2 * len(tiny_space.ops()) and len(fake_network) == 2 * len(archs)
    assert table.calibration is not None and table.calibration.scale == pytest.approx(NET_SCALE)


def test_calibration_fit_statistics() -> None:
    raw = [1.0, 2.0, 3.0, 4.0]
    measured = [2.0, 3.0, 5.0, 5.0]  # least squares: overhead 1.0, scale 1.1
    cal = calibration.fit_calibration(raw, measured)
    assert cal.overhead_ms == pytest.approx(1.0) and cal.scale == pytest.approx(1.1)
    residuals = [1.0 + 1.1 * r - m for r, m in zip(raw, measured)]
    assert cal.rmse_ms == pytest.approx(math.sqrt(sum(e * e for e in residuals) / 4))
    pct = [abs(e) / m * 100 for e, m in zip(residuals, measured)]
    assert cal.mean_abs_pct == pytest.approx(sum(pct) / 4) and cal.max_abs_pct == pytest.approx(max(pct))


@pytest.mark.parametrize("raw,measured,match", [
    ([1.0], [2.0], "at least 2"),
    ([1.0, 1.0], [2.0, 3.0], "different op sums"),
    ([1.0, 2.0], [2.0], "as many"),
    ([1.0, 2.0], [2.0, float("nan")], "positive finite"),
])
def test_calibration_rejects_degenerate_input(raw, measured, match) -> None:
    with pytest.raises(LUTError, match=match):
        calibration.fit_calibration(raw, measured)


def test_calibration_archs_are_distinct_and_honour_exclude(tiny_space) -> None:
    archs = calibration.calibration_archs(tiny_space, 5, seed=0)
    names = [a.name for a in archs]
    assert len(set(names)) == len(names) == 6 and names[0] == "tiny_base"  # reference arch first
    again = calibration.calibration_archs(tiny_space, 5, seed=0, exclude=names[1:3])
    assert not set(names[1:3]) & {a.name for a in again} and len(again) == 6


# ------------------------------------------------------------------------------------------ resume


@pytest.mark.parametrize("passes,k", [(1, 7), (2, 3), (2, 15)], ids=["1pass", "2passes-in-first", "2passes-in-second"])
def test_interrupted_build_resumes_with_only_the_missing_ops(passes: int, k: int, tiny_space,
                                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ops = tiny_space.ops()
    assert len(ops) * passes > k + 3
    calls: list[str] = []

    def interrupted(layer: Layer, meta: TableMeta) -> float:
        if len(calls) == k:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the build
        calls.append(layer.key)
        return fake_ms(layer)

    out = tmp_path / "lut.json"
    monkeypatch.setattr(builder, "measure_op", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(tiny_space, out_path=out, save_every=3, passes=passes)
    partial = LatencyTable.read(out)
    # every finished timing was kept, not only those up to the last periodic save
    assert sum(len(e.samples_ms) for e in partial.entries.values()) == k
    assert sorted(k_ for k_, e in partial.entries.items() for _ in e.samples_ms) == sorted(calls)

    again: list[str] = []

    def counting(layer: Layer, meta: TableMeta) -> float:
        again.append(layer.key)
        return fake_ms(layer)

    monkeypatch.setattr(builder, "measure_op", counting)
    table = build(tiny_space, out_path=out, passes=passes)
    assert len(again) == len(ops) * passes - k
    for key in {op.key for op in ops}:  # each op measured exactly `passes` times over both runs
        assert calls.count(key) + again.count(key) == passes
    assert set(table.entries) == {op.key for op in ops}
    assert all(len(e.samples_ms) == passes for e in table.entries.values())
    assert table.meta.created == partial.meta.created
    assert LatencyTable.read(out) == table

    again.clear()  # complete table: nothing left to measure
    assert build(tiny_space, out_path=out, passes=passes) == table and again == []


def test_more_passes_refine_an_existing_table(tiny_space, fake_measure: list[str], tmp_path: Path) -> None:
    out = tmp_path / "lut.json"
    one = build(tiny_space, out_path=out, passes=1)
    n = len(one)
    values = iter([1.0, 3.0] * 1000)
    lut_measure = builder.measure_op
    builder.measure_op = lambda layer, meta: (fake_measure.append(layer.key), next(values))[1]  # type: ignore
    try:
        three = build(tiny_space, out_path=out, passes=3)
    finally:
        builder.measure_op = lut_measure
    assert len(fake_measure) == n + 2 * n and three.meta.passes == 3
    for key, e in three.entries.items():
        assert len(e.samples_ms) == 3 and e.samples_ms[0] == one.entries[key].median_ms
        assert e.median_ms == sorted(e.samples_ms)[1] and e.iqr_ms >= 0
    assert build(tiny_space, out_path=out, passes=1).meta.passes == 3  # fewer passes: nothing to do


def test_busy_machine_warns_once(tiny_space, fake_measure: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter(range(1, 10**6))

    def busy_machine() -> machine._Times:  # others use 1.5 of the machine's cores, we use 0.25
        t = next(ticks)
        cores = os.cpu_count() or 1
        return machine._Times(normal=1.75 / cores * 100.0 * t, niced=0.0, steal=0.0, total=100.0 * t,
                              own=0.25 / cores * 100.0 * t)

    monkeypatch.setattr(machine, "_cpu_times", busy_machine)
    monkeypatch.setattr(builder, "IDLE_PROBE_S", 0.01)
    with pytest.warns(builder.BusyMachineWarning, match="1.50 CPU cores") as record:
        table = build(tiny_space)
    assert len(record) == 1 and table.meta.busy_other_cores == 1.5


def test_other_cpu_load_is_read_from_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "_cpu_times", REAL_CPU_TIMES)
    monitor = machine.OtherCpuLoad()
    end = time.monotonic() + 0.3  # several clock ticks, so /proc/stat has moved on (one tick is 10 ms)
    while time.monotonic() < end:  # our own CPU time must not count as "other"
        sum(i * i for i in range(10_000))
    use = monitor.sample_use()
    value = None if use is None else use.others
    if Path("/proc/stat").exists():
        assert use is not None and value is not None and 0 <= value <= (os.cpu_count() or 1)
        assert use.own > 0.3  # our busy loop was counted as ours (about one core when not starved)


def test_entry_from_samples() -> None:
    e = Entry.from_samples([3.0, 1.0, 2.0, 10.0])
    assert e.median_ms == 2.5 and e.iqr_ms == pytest.approx(4.75 - 1.75) and e.samples_ms == (3.0, 1.0, 2.0, 10.0)
    with pytest.raises(LUTError):
        Entry.from_samples([])


def test_resume_refuses_other_settings_and_force_overwrites(tiny_space, fake_measure: list[str],
                                                            tmp_path: Path) -> None:
    out = tmp_path / "lut.json"
    build(tiny_space, out_path=out)
    with pytest.raises(LUTError, match="threads 1 ≠ 2"):
        build_table(tiny_space, device="cpu", threads=2, out_path=out, progress=False)
    fake_measure.clear()
    table = build_table(tiny_space, device="cpu", threads=2, out_path=out, progress=False, resume=False)
    assert table.meta.threads == 2 and table.meta.passes == 3 and len(fake_measure) == 3 * len(table)
    assert LatencyTable.read(out).meta.threads == 2


def test_new_entries_drop_a_stale_calibration(tiny_space, fake_measure: list[str], tmp_path: Path) -> None:
    out = tmp_path / "lut.json"
    table = calibrated_table(tiny_space)
    del table.entries[next(iter(table.entries))]
    table.save(out)
    assert build(tiny_space, out_path=out).calibration is None
    full = calibrated_table(tiny_space)
    full.save(out)
    assert build(tiny_space, out_path=out).calibration == full.calibration


# ------------------------------------------------------------------------------------------ real ops


@pytest.mark.parametrize("name", nas.zoo.names())
def test_op_modules_chain_like_the_network(name: str) -> None:
    """Each op built alone takes the input its Layer describes and gives the next op's input shape."""
    arch = nas.zoo.load(name)
    layers = resolve(arch, 32)
    x = torch.randn(1, arch.in_channels, 32, 32)
    with torch.inference_mode():
        for layer in layers:
            assert x.shape[1:] == (layer.in_chs, layer.input_size, layer.input_size) or layer.kind == "head"
            module = builder.op_module(layer).eval()
            x = module(x)
    assert x.shape == (1, arch.num_classes)


def test_real_measurement_smoke(tiny_space) -> None:
    """The real measure_op runs for every kind of op and fills an entry (values are not checked)."""
    ops = tiny_space.ops()[:3] + [tiny_space.ops()[-1]]
    table = build(ops, **FAST)
    assert set(table.entries) == {op.key for op in ops}
    assert all(e.median_ms > 0 and e.iqr_ms >= 0 for e in table.entries.values())
    assert table.meta.repeats == 1 and table.meta.measure_kwargs()["min_run_time"] == 0.001
    assert table.meta.busy_other_cores == -1.0  # unknown: /proc/stat reading disabled by the fixture
    archs = [tiny_space.sample(0), tiny_space.sample(1)]
    ms = builder.measure_networks(archs, table.meta, passes=2)
    assert len(ms) == 2 and all(len(e.samples_ms) == 2 and e.median_ms > 0 for e in ms)


# ------------------------------------------------------------------------------------------ CLI
