"""The latency benchmark's markdown section, from a small made-up result (nothing is timed)."""
from __future__ import annotations

import datetime
from typing import Any

from nas.bench.latency import LatencyBenchConfig, LatencyBenchResult
from nas.bench.latency_report import latency_report, verdict_ge, verdict_le

_STARTED = datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)
_MACHINE = {"device": "Some CPU", "device_type": "cpu", "torch_version": "2.0", "threads": 1, "logical_cpus": 2,
            "python": "3.11", "platform": "Linux", "torch_default_threads": 2, "commit": ""}


def _stats(within: float, tau: float) -> dict[str, float]:
    return {"within10_pct": within, "mean_abs_pct": 3.21, "max_abs_pct": 12.5, "bias_pct": -0.4, "kendall_tau": tau}


def _results() -> dict[str, Any]:
    b = {"space": "mnasnet", "resolution": 224, "n_test": 3, "n_cal": 3,
         "calibration": {"overhead_ms": 0.512, "scale": 1.0234, "rmse_ms": 0.1, "mean_abs_pct": 1.5,
                         "max_abs_pct": 2.5},
         "calibrated": _stats(96.7, 0.95), "raw": _stats(60.0, 0.85),
         "measured_ms": {"min": 1.0, "median": 2.0, "max": 3.5}, "passes": 5,
         "retest": {"halves": [2, 3], "within10_pct": 90.0, "mean_abs_pct": 4.0, "kendall_tau": 0.8},
         "sweep_iqr_rel_pct": 1.23, "tests": [], "cal_archs": [], "load_before": (1.0, 0.5, 0.25), "load_after": None}
    return {"noise": {"p10_ms": 1.0, "p50_ms": 1.01, "p50_over_p10": 1.01, "chunk_cv_pct": 0.5, "seconds": 10.0},
            "a": [{"net": "n1", "medians_ms": [1.0, 1.1, 1.2, 1.0, 1.05], "mean_ms": 1.07, "cv_pct": 7.5},
                  {"net": "n2", "medians_ms": [2.0] * 5, "mean_ms": 2.0, "cv_pct": 0.2}],
            "b": [b],
            "c": [{"space": "mnasnet", "file": "mnasnet", "resolution": 224, "entries": 120, "cal_nets": 11,
                   "passes": 3, "timings": 400, "seconds": 125.0, "reused": False, "load": (1.0, 2.0, 3.0),
                   "busy_other_cores": -1.0}],
            "d": [{"net": "n1", "median_ms": 5.0, "iqr_ms": 0.1, "cv_pct": 1.0, "params": 3504872,
                   "macs": 300_000_000}]}


def _report(results: dict[str, Any], others: dict[str, float | None]) -> str:
    result = LatencyBenchResult(LatencyBenchConfig(parts="".join(k for k in results if k != "noise"), n=3,
                                                   calibrate=2),
                                _MACHINE, {"start": (1.0, 0.5, 0.25), "end": None, "others": others}, results,
                                _STARTED, 90.0)
    return latency_report(result, "nas benchmark latency --n 3")


def test_report_of_every_part() -> None:
    text = _report(_results(), {"before": 0.1, "a": None, "c": 0.2, "b": 0.2, "d": 0.0})
    assert text.startswith("## Latency — 2024-01-02 03:04 UTC\n\nCommand: `nas benchmark latency --n 3` "
                           "(parts a,b,c,d, 1.5 min).  \n")
    assert text.endswith(" | 3.50 | 300.0 |\n") and not text.endswith("\n\n")
    assert "nas commit ? (+ working tree)" in text and "before timing 0.10, during a n/a, during c 0.20" in text
    assert "Other processes were busy" not in text
    assert "— steady." in text
    for heading in ("### (a) Repeatability", "### (b) LUT accuracy", "### (c) LUT build",
                    "### (d) Zoo nets at 224 px, batch 1"):
        assert f"\n{heading}\n" in text
    assert "1/2 nets within; worst n1 at 7.50 % — goal missed by 4.50 points." in text
    assert "| mnasnet | 224 | calibrated | 3 | 96.7 | 3.21 | 12.50 | -0.40 | 0.950 |" in text
    assert "on 2 random archs + the skeleton" in text and "evaluated on 3 *other* random archs" in text
    assert "(median of sweeps 1–2 vs the other 3): 90 % within ±10 %" in text
    assert "Within ±10 %: goal met (goal ≥ 95 %), aim missed (≥ 99 %); τ 0.950: goal met (goal ≥ 0.9)." in text
    assert "| mnasnet | 224 | 120 | 11 | 3 | 400 | 125 s (2.1 min) | 312 | 1.00 / 2.00 / 3.00 | n/a |" in text
    assert "| n1 | 5.00 | 0.10 | 1.00 | 3.50 | 300.0 |" in text


def test_report_of_one_part_flags_busy_machines() -> None:
    results = {"noise": {"p10_ms": 1.0, "p50_ms": 1.2, "p50_over_p10": 1.2, "chunk_cv_pct": 3.0, "seconds": 10.0},
               "d": _results()["d"]}
    text = _report(results, {"before": None, "d": 0.9})
    assert "(parts d, 1.5 min)" in text and "### (a)" not in text and "### (b)" not in text
    assert "**Other processes were busy during the timings** (up to 0.90 CPU cores" in text
    assert "**the CPU itself is not steady**" in text


def test_verdicts() -> None:
    assert verdict_le(2.0, 3.0, " points") == "goal met"
    assert verdict_le(4.5, 3.0, " points") == "goal missed by 1.50 points"
    assert verdict_ge(0.95, 0.9, "") == "goal met" and verdict_ge(0.8, 0.9, "") == "goal missed by 0.10"
