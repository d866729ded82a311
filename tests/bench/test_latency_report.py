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


def _summary(medians: list[float], cv: float, noisy: int = 0, beside: list[float] | None = None) -> dict[str, Any]:
    return {"medians_ms": medians, "mean_ms": sum(medians) / len(medians), "cv_pct": cv, "noisy": noisy,
            "others_cpu": 0.1, "reference_now_ms": beside or []}


def _pair(quiet: float, busy: float, noisy: bool, verdict: str) -> dict[str, Any]:
    return {"quiet_ms": quiet, "quiet_noisy": False, "busy_ms": busy, "ratio": busy / quiet, "busy_noisy": noisy,
            "busy_others_cpu": 1.0, "busy_attempts": 3 if noisy else 1, "busy_reasons": [], "verdict": verdict}


def _results() -> dict[str, Any]:
    fit = {"overhead_ms": 0.5, "scale": 1.0, "terms": [], "coefs": [], "loo_mean_abs_pct": 2.0, "mean_abs_pct": 1.5}
    b = {"space": "mnasnet", "resolution": 224, "n_test": 3, "n_cal": 3, "passes": 3, "timed_after": False,
         "calibration": {"overhead_ms": 0.512, "scale": 1.0234, "rmse_ms": 0.1, "mean_abs_pct": 1.5,
                         "max_abs_pct": 2.5, "loo_mean_abs_pct": 2.25, "terms": ["layers"], "coefs": [0.012]},
         "fits": {"linear": fit, "terms": fit},
         "calibrated": _stats(86.7, 0.95), "raw": _stats(60.0, 0.85), "linear": _stats(80.0, 0.9),
         "terms": _stats(86.7, 0.95),
         "measured_ms": {"min": 1.0, "median": 2.0, "max": 3.5},
         "retest": {"halves": [1, 2], "within10_pct": 70.0, "mean_abs_pct": 4.0, "kendall_tau": 0.8},
         "drift_pct": -4.5, "sweep_iqr_rel_pct": 1.23, "tests": [], "cal_archs": [], "load_before": (1.0, 0.5, 0.25),
         "load_after": None}
    return {"noise": {"p10_ms": 1.0, "p50_ms": 1.01, "p50_over_p10": 1.01, "chunk_cv_pct": 0.5, "seconds": 10.0},
            "reference": {"name": "mnasnet_b1", "resolution": 224, "quiet_ms": 20.0, "threads": 1, "noisy": False,
                          "others_cpu": 0.02},
            "a": [{"net": "n1", "solo": _summary([1.0, 1.1, 1.2, 1.0, 1.05], 7.5, 1),
                   "paired": _summary([1.0, 1.0, 1.01, 1.0, 1.0], 0.4, beside=[15.0, 16.0])},
                  {"net": "n2", "solo": _summary([2.0] * 5, 0.2), "paired": _summary([2.0] * 5, 0.1, beside=[17.0])}],
            "b": [b],
            "c": [{"space": "mnasnet", "file": "mnasnet", "resolution": 224, "entries": 120, "cal_nets": 11,
                   "test_nets": 3, "passes": 3, "timings": 400, "seconds": 125.0, "reused": False,
                   "load": (1.0, 2.0, 3.0), "busy_other_cores": -1.0}],
            "d": [{"net": "n1", "median_ms": 5.0, "iqr_ms": 0.1, "cv_pct": 1.0, "noisy": False, "others_cpu": 0.0,
                   "params": 3504872, "macs": 300_000_000}],
            "e": {"core": 1, "rows": [
                {"net": "n1", "solo": _pair(10.0, 25.0, True, "flagged"), "paired": _pair(10.0, 11.0, False, "ok")},
                {"net": "n2", "solo": _pair(5.0, 10.5, False, "MISSED ×2"), "paired": _pair(5.0, 5.5, False, "ok")}]}}


def _report(results: dict[str, Any], others: dict[str, float | None]) -> str:
    result = LatencyBenchResult(LatencyBenchConfig(parts="".join(k for k in results if len(k) == 1), n=3,
                                                   calibrate=2),
                                _MACHINE, {"start": (1.0, 0.5, 0.25), "end": None, "others": others}, results,
                                _STARTED, 90.0)
    return latency_report(result, "nas benchmark latency --n 3")


def test_report_of_every_part() -> None:
    text = _report(_results(), {"before": 0.1, "a": None, "c": 0.2, "b": 0.2, "d": 0.0, "e": 1.0})
    assert text.startswith("## Latency — 2024-01-02 03:04 UTC\n\nCommand: `nas benchmark latency --n 3` "
                           "(parts a,b,c,d,e, 1.5 min).  \n")
    assert text.endswith("goal met; unflagged ×2: 0.\n") and not text.endswith("\n\n")
    assert "nas commit ? (+ working tree)" in text and "before timing 0.10, during a n/a, during c 0.20" in text
    assert "— steady." in text
    assert "reference mnasnet_b1 at 224 px, quiet latency 20.00 ms" in text and "taken under load" not in text
    for heading in ("### (a) Repeatability", "### (b) LUT accuracy", "### (c) LUT build",
                    "### (d) Zoo nets at 224 px, batch 1", "### (e) One core busy"):
        assert f"\n{heading}\n" in text
    assert "| n1 | 1.07 | 7.50 | 1/5 | 1.00 | 0.40 | 0/5 | 0.80 |" in text  # × median beside 16 / quiet 20
    assert "| n2 | 2.00 | 0.20 | 0/5 | 2.00 | 0.10 | 0/5 | 1.60 |" in text
    assert "median 16.00 ms beside the nets against the 20.00 ms measured first (level ×1.25, first / beside)" in text
    assert "solo: 1/2 nets within CV ≤ 3 %; worst n1 at 7.50 % — goal missed by 4.50 points." in text
    assert "paired: 2/2 nets within CV ≤ 3 %; worst n1 at 0.40 % — goal met." in text
    assert "| mnasnet | 224 | calibrated | 3 | 86.7 | 3.21 | 12.50 | -0.40 | 0.950 |" in text
    assert "| mnasnet | 224 | linear | 3 | 80.0 |" in text and "| mnasnet | 224 | terms | 3 | 86.7 |" in text
    assert "+0.512 ms + 1.0234 × Σops + 0.012 × layers on 3 nets" in text and "leave-one-out 2.25 %" in text
    assert "(median of sweeps 1–1 vs the other 2): 70 % within ±10 %, mean |diff| 4.0 %" in text
    assert "acceptance met by the ceiling rule" in text and "3.21 % is ≤ 1.2 × the retest's 4.00 % = 4.80 %" in text
    assert "moved by -4.5 %" in text
    assert "| mnasnet | 224 | 120 | 11 | 3 | 3 | 400 | 125 s (2.1 min) | 312 | 1.00 / 2.00 / 3.00 | n/a |" in text
    assert "| n1 | 5.00 | 0.10 | 1.00 | no | 3.50 | 300.0 |" in text
    assert "pinned to core 1" in text
    assert "| n1 | 10.00 | 25.00 | 2.50 | yes | flagged | 10.00 | 11.00 | 1.10 | no | ok |" in text
    assert "- solo: 0 within ±25 %, 1 flagged, 1 missed (n2) — goal missed; unflagged ×2: 1." in text
    assert "- paired: 2 within ±25 %, 0 flagged, 0 missed — goal met; unflagged ×2: 0." in text


def test_acceptance_of_part_b_without_the_ceiling_rule() -> None:
    results = _results()
    results["b"][0]["calibrated"] = _stats(93.0, 0.95)
    assert "acceptance met: 93 % within ±10 % (≥ 90 %)" in _report({"b": results["b"]}, {})
    results["b"][0]["calibrated"] = _stats(50.0, 0.95)
    results["b"][0]["retest"]["within10_pct"] = 95.0  # the measurement agrees well: no ceiling excuse
    assert "acceptance missed: 50 % within ±10 % (< 90 %)" in _report({"b": results["b"]}, {})


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


def test_a_reference_measured_under_load_is_called_out() -> None:
    results = _results()
    results["reference"]["noisy"] = True
    text = _report({"reference": results["reference"], "a": results["a"]}, {})
    assert "**flagged noisy: every paired number is scaled by a latency taken under load**" in text


def _front_row(name: str, reported: float, quiet: float, noisy: bool, verdict: str) -> dict[str, Any]:
    return {"name": name, "file": f"{name}.yaml", "feasible": not noisy, "reported_ms": reported,
            "reported_noisy": noisy, "reported_others_cpu": 1.0, "quiet_ms": quiet, "quiet_noisy": False,
            "ratio": reported / quiet, "verdict": verdict, "now_busy_ms": quiet * 1.1, "now_busy_noisy": False,
            "now_ratio": 1.1, "now_verdict": "ok"}


def test_report_of_part_f_the_readme_command_under_load() -> None:
    search = {"args": ["--latency-target", "20ms"], "core": 1, "returncode": 0, "seconds": 95.4, "tail": []}
    run = {"trials": 50, "noisy": 3, "others_cpu_mean": 1.01, "others_cpu_max": 1.2}
    f = {"search": search, "noisy_trials": 3, "run": run, "ruler": {"name": "mnasnet_b1", "before_ms": 12.0,
                                                                   "after_ms": 18.0},
         "rows": [_front_row("t0001", 10.0, 9.0, False, "ok"), _front_row("t0002", 30.0, 10.0, True, "flagged")]}
    text = _report({"f": f}, {"before": 0.0, "f": 2.0})
    assert "single timing" not in text  # no network was confirmed
    confirmed = {**f, "rows": [{**f["rows"][0], "confirmed": True, "search_ms": 6.3, "search_ratio": 0.7},
                               f["rows"][1]]}
    single = _report({"f": confirmed}, {})
    assert "| t0001 | yes | 10.00 | no | 9.00 | 1.11 | ok | 9.90 | 1.10 | ok | 6.30 | 0.70 |" in single
    assert "| t0002 | no | 30.00 | yes | 10.00 | 3.00 | flagged | 11.00 | 1.10 | ok | – | – |" in single
    assert "- the search's single timings (before confirmation) vs quiet: 1 networks, ratio 0.70–0.70; 0 within " \
           "±25 %." in single
    assert "### (f) README command 1 with one core busy" in text and "Other processes were busy" not in text
    assert "`nas search --latency-target 20ms` (the README's first command)" in text and "core 1" in text
    other = {**f, "search": {**search, "args": ["--latency-target", "5ms"]}}
    assert "`nas search --latency-target 5ms` run as its own process" in _report({"f": other}, {})
    assert "The search: 95 s, 50 trials, 3 timed noisy (3 listed under noisy_trials in pareto.yaml)" in text
    assert "1.01 cores on average while candidates were timed (max 1.20)" in text
    assert "| t0001 | yes | 10.00 | no | 9.00 | 1.11 | ok | 9.90 | 1.10 | ok |" in text
    assert "| t0002 | no | 30.00 | yes | 10.00 | 3.00 | flagged | 11.00 | 1.10 | ok |" in text
    assert "Ruler: mnasnet_b1 at 224 px timed quiet 12.00 ms just before the search and 18.00 ms after the " \
           "re-timing (×1.50)" in text
    assert "- reported vs quiet: 2 networks, ratio 1.11–3.00; 1 within ±25 %, 1 flagged, 0 missed — goal met; " \
           "unflagged ×2: 0.\n" in text
    assert text.endswith("- busy now vs quiet (same minute): 2 networks, ratio 1.10–1.10; 2 within ±25 %, 0 flagged, "
                         "0 missed — goal met; unflagged ×2: 0.\n")
    f["rows"].append(_front_row("t0003", 25.0, 10.0, False, "MISSED ×2"))
    assert "3 networks, ratio 1.11–3.00; 1 within ±25 %, 1 flagged, 1 missed — goal missed; unflagged ×2: 1." \
           in _report({"f": f}, {})
    failed = {"search": search | {"returncode": 2, "tail": ["nas search: error: boom"]}, "rows": [],
              "noisy_trials": None, "run": {}}
    assert "The search exited 2 after 95 s and exported no network with a timed latency to re-time; its last lines: " \
           "`nas search: error: boom`." in _report({"f": failed}, {})
