"""nas.latency.calibrate's model of the table's bias (per-network terms, chosen by leave-one-out) on synthetic
numbers, and the table file's schema versions. Nothing is timed."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nas.machine as machine
from nas.latency import build as builder
from nas.latency import table as tables
from nas.latency.build import build_table
from nas.latency.calibrate import calibrate, fit_calibration
from nas.latency.table import Calibration, LatencyTable, LUTError
from nas.space import load_space

from support import TINY_LUT_SPACE


def _nets(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Synthetic networks: Σ entries, layer count and weight MB drawn independently."""
    rng = np.random.default_rng(seed)
    return {"raw": rng.uniform(1.0, 8.0, n), "layers": rng.integers(8, 25, n).astype(float),
            "weight_mb": rng.uniform(0.3, 6.0, n)}


def _truth(x: dict[str, np.ndarray]) -> np.ndarray:
    """What 32 px looked like: +12 µs per layer, +0.08 ms per MB of weights, +10 % on the hot sum."""
    return 0.05 + 1.10 * x["raw"] + 0.012 * x["layers"] + 0.08 * x["weight_mb"]


def test_terms_recover_the_bias_and_predict_held_out_networks() -> None:
    train, test = _nets(20, seed=1), _nets(100, seed=2)
    cal = fit_calibration(train["raw"], _truth(train), features={t: train[t] for t in tables.TERMS})
    assert cal.terms == ("layers", "weight_mb")
    assert dict(zip(cal.terms, cal.coefs)) == pytest.approx({"layers": 0.012, "weight_mb": 0.08}, rel=1e-6)
    assert cal.scale == pytest.approx(1.10) and cal.overhead_ms == pytest.approx(0.05, abs=1e-6)
    pred = np.asarray([cal.apply(r, {"layers": n, "weight_mb": w})
                       for r, n, w in zip(test["raw"], test["layers"], test["weight_mb"])])
    assert np.max(np.abs(pred / _truth(test) - 1)) < 1e-6
    linear = fit_calibration(train["raw"], _truth(train))  # without the terms the held-out error is larger
    lin_pred = linear.overhead_ms + linear.scale * test["raw"]
    assert np.mean(np.abs(lin_pred / _truth(test) - 1)) > 0.005
    assert linear.terms == () and cal.loo_mean_abs_pct < linear.loo_mean_abs_pct


def test_terms_are_dropped_when_they_do_not_help_the_left_out_networks() -> None:
    x = _nets(12, seed=3)
    rng = np.random.default_rng(4)
    y = 0.3 + 1.2 * x["raw"] + rng.normal(0, 0.05, 12)  # no dependence on the terms
    chosen = fit_calibration(x["raw"], y, features={t: x[t] for t in tables.TERMS})
    forced = fit_calibration(x["raw"], y, features={t: x[t] for t in tables.TERMS}, select=False)
    assert forced.terms == tables.TERMS and len(forced.coefs) == 2 and min(forced.coefs) >= 0
    if chosen.terms:  # kept only if its leave-one-out error is the lower one
        assert chosen.loo_mean_abs_pct <= fit_calibration(x["raw"], y).loo_mean_abs_pct
    else:
        assert chosen.coefs == () and chosen.scale == pytest.approx(fit_calibration(x["raw"], y).scale)


def test_too_few_networks_for_terms_fit_the_linear_model() -> None:
    x = _nets(4)
    cal = fit_calibration(x["raw"], _truth(x), features={t: x[t] for t in tables.TERMS})
    assert cal.terms == () and cal.loo_mean_abs_pct >= 0


def test_calibration_terms_need_known_names_and_one_coefficient_each() -> None:
    with pytest.raises(LUTError, match="one coefficient each"):
        Calibration(0.0, 1.0, 3, terms=("layers",), coefs=())
    with pytest.raises(LUTError, match="known"):
        Calibration(0.0, 1.0, 3, terms=("cache",), coefs=(1.0,))
    cal = Calibration(0.5, 2.0, 3, terms=("layers", "weight_mb"), coefs=(0.1, 1.0))
    assert cal.apply(1.0, {"layers": 10, "weight_mb": 2.0}) == pytest.approx(0.5 + 2.0 + 1.0 + 2.0)
    assert cal.apply(1.0) == pytest.approx(2.5) and "0.1 × layers" in str(cal)


# ------------------------------------------------------------------------------------------ a table


@pytest.fixture
def space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(machine, "_cpu_times", lambda: None)
    monkeypatch.setattr(builder, "measure_op", lambda layer, meta: 0.01 + layer.out_chs * layer.input_size * 1e-4)
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_LUT_SPACE)
    return load_space(path)


def _table(space) -> LatencyTable:
    return build_table(space, device="cpu", threads=1, progress=False, passes=1)


def test_entries_carry_parameter_counts_and_features_sum_them(space) -> None:
    table = _table(space)
    arch = space.sample(0)
    layers = table.layer_ms(arch)
    params = [table.entries[layer.key].params for layer, _ in layers]
    assert all(p == builder.op_params(layer) > 0 for p, (layer, _) in zip(params, layers))
    assert table.features(arch) == {"layers": float(len(layers)), "weight_mb": sum(params) * 4 / 1e6}


def test_calibrate_with_terms_predicts_through_the_table(space) -> None:
    table = _table(space)
    archs = list({a.name: a for a in (space.sample(i) for i in range(40))}.values())[:10]
    feats = [table.features(a) for a in archs]
    measured = [0.2 + 1.1 * table.predict_raw(a) + 0.05 * f["layers"] + 0.5 * f["weight_mb"]
                for a, f in zip(archs, feats)]
    if np.ptp([f["layers"] for f in feats]) == 0:
        pytest.skip("the tiny space's samples all have the same depth")
    cal = calibrate(table, archs, measured)
    assert cal.terms and cal.mean_abs_pct < 1e-6
    assert table.predict(archs[0]) == pytest.approx(measured[0])


def test_holdout_networks_are_timed_in_the_sweeps_but_not_fitted(space, monkeypatch: pytest.MonkeyPatch) -> None:
    timed: list[str] = []
    monkeypatch.setattr(builder, "measure_network", lambda arch, meta: (timed.append(arch.name), 1.0 + len(arch.name) / 10)[1])
    names = list({a.name: a for a in (space.sample(i) for i in range(30))}.values())
    cal, held = names[:3], names[3:5]
    table = build_table(space, device="cpu", threads=1, progress=False, passes=2, calibration_archs=cal,
                        holdout_archs=held)
    assert sorted(timed) == sorted([a.name for a in cal + held] * 2)
    assert set(table.networks) == {a.name for a in cal + held}
    assert table.calibration is not None and table.calibration.archs == tuple(a.name for a in cal)


# ------------------------------------------------------------------------------------------ schema


def test_schema_1_files_still_load(space, tmp_path: Path) -> None:
    table = _table(space)
    v1 = table.to_dict()
    v1["schema"] = 1
    v1["entries"] = {k: row[:3] for k, row in v1["entries"].items()}  # schema 1 had no parameter counts
    v1["calibration"] = {"overhead_ms": 0.5, "scale": 1.1, "n_nets": 3, "rmse_ms": 0.1, "mean_abs_pct": 1.0,
                         "max_abs_pct": 2.0, "archs": ["a", "b", "c"]}
    (tmp_path / "v1.json").write_text(json.dumps(v1))
    old = LatencyTable.load(tmp_path / "v1.json", device="cpu", threads=1)
    arch = space.sample(0)
    assert old.calibration.terms == () and all(e.params == 0 for e in old.entries.values())
    assert old.predict(arch) == pytest.approx(0.5 + 1.1 * old.predict_raw(arch))
    assert old.features(arch)["weight_mb"] == 0.0
    old.save(tmp_path / "v2.json")  # written back in the current schema
    assert json.loads((tmp_path / "v2.json").read_text())["schema"] == tables.SCHEMA_VERSION == 2


def test_a_newer_schema_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "new.json").write_text(json.dumps({"schema": 3, "meta": {}, "entries": {}}))
    with pytest.raises(LUTError) as info:
        LatencyTable.read(tmp_path / "new.json")
    message = str(info.value)
    assert "\n" not in message and "schema version 3" in message and "reads 1, 2" in message
    assert "nas build-lut" in message
