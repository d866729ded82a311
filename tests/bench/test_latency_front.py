"""Part (f) end to end on a tiny space: the search runs as its own process beside a busy loop, confirms its front,
and every exported network is re-timed quiet and busy, three times each, judged by the median."""
from __future__ import annotations

from pathlib import Path

import pytest

from nas.bench.latency_front import RETIME_ROUNDS, part_f
from support import write_space

SETTINGS = {"device": "cpu", "threads": 1, "repeats": 1, "min_run_time": 0.01, "warmup": 1}


def test_part_f_retimes_the_confirmed_front(tmp_path: Path) -> None:
    space = write_space(tmp_path)
    f = part_f(["--latency-target", "1000ms", "--space", str(space), "--trials", "4", "--sampler", "random",
                "--confirm", "2"], SETTINGS)
    assert f["search"]["returncode"] == 0, f["search"]["tail"]
    assert f["run"]["trials"] >= 4 and f["run"]["confirmed"] >= 1 and f["rows"]
    for row in f["rows"]:
        assert len(row["quiet_runs_ms"]) == RETIME_ROUNDS and row["quiet_ms"] == pytest.approx(sorted(row["quiet_runs_ms"])[1], abs=1e-3)
        assert row["confirmed"] and row["search_ms"] > 0
        assert row["search_ratio"] == row["search_ms"] / row["quiet_ms"]
        assert row["ratio"] == row["reported_ms"] / row["quiet_ms"] and row["verdict"] in ("ok", "flagged",
                                                                                           "MISSED", "MISSED ×2")
