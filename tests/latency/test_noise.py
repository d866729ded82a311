"""nas.latency.noise: the noisy verdict, the retry policy and the thread check, on injected numbers."""
from __future__ import annotations

import math

import pytest

from nas.latency.noise import (CV_MAX, OTHERS_MAX, PAIRED_SLACK, NoisePolicy, attempt_record, check_threads)
from nas.machine import CpuUse


def test_solo_is_noisy_above_the_interference_threshold() -> None:
    p = NoisePolicy()
    assert p.reasons(others_cpu=OTHERS_MAX, cv=0.0, paired=False) == []
    (reason,) = p.reasons(others_cpu=OTHERS_MAX + 0.01, cv=0.0, paired=False)
    assert f"{OTHERS_MAX + 0.01:.2f} CPU cores" in reason
    assert p.reasons(others_cpu=None, cv=0.0, paired=False) == []  # unknown load never flags


def test_spread_flags_in_both_modes() -> None:
    p = NoisePolicy()
    for paired in (False, True):
        assert p.reasons(others_cpu=0.0, cv=CV_MAX, paired=paired) == []
        (reason,) = p.reasons(others_cpu=0.0, cv=0.2, paired=paired)
        assert "CV 20.0 %" in reason
    assert p.reasons(others_cpu=0.0, cv=math.nan, paired=False) == []  # one repeat: no spread to judge


def test_paired_tolerates_interference_until_the_timing_itself_is_time_sliced() -> None:
    p = NoisePolicy()
    limit = 2 - 1 + PAIRED_SLACK  # 2 cores, 1 thread
    assert p.others_limit(paired=True, cores=2, threads=1) == limit
    assert p.reasons(others_cpu=1.0, cv=0.0, paired=True, cores=2, threads=1) == []  # one busy core: fine
    assert p.reasons(others_cpu=limit + 0.1, cv=0.0, paired=True, cores=2, threads=1)
    solo = 2 - 1 + OTHERS_MAX  # solo tolerates the cores the timing does not need, with less slack
    assert p.others_limit(paired=False, cores=2, threads=1) == solo < limit
    assert p.reasons(others_cpu=1.0, cv=0.0, paired=False, cores=2, threads=1) == []  # one busy core: fine
    assert p.reasons(others_cpu=solo + 0.1, cv=0.0, paired=False, cores=2, threads=1)  # time-sliced: flagged
    assert p.reasons(others_cpu=0.3, cv=0.0, paired=False, cores=2, threads=2)  # every core timed: a third of one


def test_both_reasons_and_the_score_orders_attempts() -> None:
    p = NoisePolicy()
    assert len(p.reasons(others_cpu=1.0, cv=0.5, paired=False)) == 2
    assert p.score(others_cpu=0.1, cv=0.05, paired=False) <= 1
    assert p.score(others_cpu=1.0, cv=0.05, paired=False) > p.score(others_cpu=0.5, cv=0.05, paired=False) > 1


@pytest.mark.parametrize("bad", [dict(retries=-1), dict(retries=1.5), dict(cv_max=-0.1), dict(wait_s=math.inf),
                                 dict(others_max=math.nan)])
def test_policy_rejects_bad_values(bad) -> None:
    with pytest.raises(ValueError):
        NoisePolicy(**bad)


def test_check_threads() -> None:
    assert check_threads(1, cores=1, others_cpu=5.0) is None  # one thread is the fewest there can be
    assert check_threads(2, cores=2, others_cpu=0.05) is None  # idle machine
    assert check_threads(4, cores=2, others_cpu=None) is None  # unknown load
    message = check_threads(2, cores=2, others_cpu=0.7)
    assert message and "\n" not in message and "1.30 idle" in message and "use 1 thread," in message
    assert "use 2 threads" in check_threads(4, cores=4, others_cpu=1.9)


def test_attempt_record_is_json_safe() -> None:
    use = CpuUse(others=1.23456, niced=0.5, own=1.0, steal=0.0, cores=2, seconds=1.0)
    rec = attempt_record(median_ms=3.0, cv=math.nan, others=use, reasons=["x"], waited_s=1.0, reference_now_ms=9.0)
    assert rec == {"median_ms": 3.0, "cv": None, "others_cpu": 1.235, "others_niced_cpu": 0.5, "noisy": True,
                   "reasons": ["x"], "waited_s": 1.0, "reference_now_ms": 9.0}
    assert attempt_record(median_ms=1.0, cv=0.1, others=None, reasons=[], waited_s=0.0)["others_cpu"] is None
