"""nas.validation.claims: workers share one cache through claim files."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from validation.helpers import make_validator

from nas import validation as V


def test_workers_share_a_cache_through_claims(space_path: Path, setup: V.Setup, tmp_path: Path,
                                              count_train: list[int]) -> None:
    cache = tmp_path / "train_cache.jsonl"
    v = make_validator(space_path, setup, cache)
    jobs = v.main_jobs(1, 3)
    # job 0 is held by a live worker (this test's parent process), job 1 by a worker that died
    live = v.claim_path(jobs[0].arch, 1, 0)
    live.parent.mkdir(parents=True)
    live.write_text(f"{platform.node()} {os.getppid()}")
    dead = subprocess.Popen(["true"])
    dead.wait()
    v.claim_path(jobs[1].arch, 1, 0).write_text(f"{platform.node()} {dead.pid}")
    records = v.run_jobs(jobs, "main")
    assert count_train[0] == 2 and len(records) == 2
    assert v.lookup(jobs[0].arch, 1, 0) is None and v.lookup(jobs[1].arch, 1, 0) is not None
    assert live.exists() and not v.claim_path(jobs[1].arch, 1, 0).exists()  # ours released, theirs kept

    # the other worker finishes job 0 and writes to the shared file: this one sees it without training
    other = make_validator(space_path, setup, cache)
    live.unlink()
    other.run_jobs(jobs[:1], "main")
    assert count_train[0] == 3
    assert [r["arch_key"] for r in v.run_jobs(jobs, "main")] == [r["arch_key"] for r in other.run_jobs(jobs, "main")]
    assert count_train[0] == 3


def test_train_shared_waits_for_a_job_another_worker_holds(space_path: Path, setup: V.Setup, tmp_path: Path,
                                                          count_train: list[int]) -> None:
    """A job claimed by a live worker is waited for, not trained twice; an unclaimed one is trained under a claim."""
    import threading

    cache = tmp_path / "train_cache.jsonl"
    v = make_validator(space_path, setup, cache)
    held, free = v.main_jobs(1, 2)
    claim = v.claim_path(held.arch, 1, 0)
    claim.parent.mkdir(parents=True)
    claim.write_text(f"{platform.node()} {os.getppid()}")
    other = make_validator(space_path, setup, cache)

    def other_worker() -> None:  # the holder finishes while this worker waits
        other.train_one(held)
        claim.unlink()

    timer = threading.Timer(0.3, other_worker)
    timer.start()
    record = v.train_shared(held, poll_s=0.05)
    timer.join()
    assert count_train[0] == 1 and record == other.lookup(held.arch, 1, 0)
    assert v.train_shared(free, poll_s=0.05)["status"] == "ok" and count_train[0] == 2
    assert not v.claim_path(free.arch, 1, 0).exists()  # released after training
    assert v.train_shared(free, poll_s=0.05) == v.lookup(free.arch, 1, 0) and count_train[0] == 2
