"""Many workers on one PostgreSQL study: exact trial count, no architecture scored twice, references
enqueued once, and a SIGKILLed worker's trial failed by heartbeat and retried.

Needs the real server: NAS_TEST_POSTGRES_URL (set by .ci/run), e.g. postgresql://postgres@127.0.0.1:5432/test.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from nas.search.objective import counted
from support import ROOT, TINY_SEARCH_SPACE as TINY_SPACE

URL = os.environ.get("NAS_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not URL, reason="NAS_TEST_POSTGRES_URL is not set (no PostgreSQL server to use)")


@pytest.fixture(scope="module")
def storage() -> Iterator[optuna.storages.RDBStorage]:
    """One storage (one connection pool) for the module, closed at its end. A storage URL passed to
    ``optuna.load_study`` makes a new engine per call whose pooled connections stay open until garbage
    collection: polled every 20 ms, that ran the server out of its 100 connections in CI ("too many clients")."""
    rdb = optuna.storages.RDBStorage(URL)
    yield rdb
    rdb.engine.dispose()


@pytest.fixture()
def study_name(storage: optuna.storages.RDBStorage) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    try:
        optuna.delete_study(study_name=name, storage=storage)
    except KeyError:
        pass


def search_cmd(tmp_path: Path, name: str, trials: int, workers: int = 1) -> list[str]:
    space = tmp_path / "tiny.yaml"
    space.write_text(TINY_SPACE)
    return [sys.executable, str(ROOT / "scripts" / "search.py"), "--latency-target", "50ms", "--space", str(space),
            "--trials", str(trials), "--sampler", "random", "--proxy", "params", "--device", "cpu", "--threads", "1",
            "--storage", URL, "--study-name", name, "--out", str(tmp_path / "runs"), "--workers", str(workers),
            "--no-progress"]


def test_four_workers_reach_exactly_40_distinct(tmp_path: Path, study_name: str,
                                               storage: optuna.storages.RDBStorage) -> None:
    run = subprocess.run(search_cmd(tmp_path, study_name, 40, workers=4), capture_output=True, text=True,
                         timeout=1800)
    assert run.returncode == 0, run.stderr[-2000:]
    study = optuna.load_study(study_name=study_name, storage=storage)
    trials = study.get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sum(map(counted, trials)) == 40 and len({t.user_attrs["arch_key"] for t in complete}) == 40
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    assert all(t.user_attrs.get("surplus") for t in trials if t.state == TrialState.PRUNED)
    scored = Counter(t.user_attrs["arch_key"] for t in complete if "duplicate_of" not in t.user_attrs)
    assert scored and max(scored.values()) == 1  # every architecture scored exactly once
    assert set(scored) == {t.user_attrs["arch_key"] for t in complete}
    assert sum("reference" in t.user_attrs for t in trials) == 1
    workers = {t.user_attrs.get("worker_pid") for t in complete}
    assert len(workers) >= 2  # the work was really shared


def test_killed_worker_trial_is_failed_and_retried(tmp_path: Path, study_name: str,
                                                   storage: optuna.storages.RDBStorage) -> None:
    victim = subprocess.Popen(search_cmd(tmp_path, study_name, 8), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    killed_number = None
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and victim.poll() is None:
            try:
                study = optuna.load_study(study_name=study_name, storage=storage)
            except KeyError:
                time.sleep(0.05)
                continue
            done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
            running = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
            if len(done) >= 2 and running:
                os.kill(victim.pid, signal.SIGKILL)
                killed_number = running[0].number
                break
            time.sleep(0.02)
    finally:
        if victim.poll() is None:
            victim.kill()
        victim.wait()
    assert killed_number is not None, "never saw a running trial to kill"
    before = {t.number: t.values for t in optuna.load_study(study_name=study_name, storage=storage).get_trials()
              if t.state == TrialState.COMPLETE}

    run = subprocess.run(search_cmd(tmp_path, study_name, 8), capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-2000:]
    study = optuna.load_study(study_name=study_name, storage=storage)
    trials = {t.number: t for t in study.get_trials()}
    assert trials[killed_number].state == TrialState.FAIL
    retries = [t for t in trials.values() if t.system_attrs.get("failed_trial") == killed_number]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    # the retry keeps what the killed trial had sampled (it may have died before sampling everything)
    assert trials[killed_number].params.items() <= retries[0].params.items()
    assert sum(map(counted, trials.values())) == 8
    for number, values in before.items():  # nothing completed was lost
        assert trials[number].state == TrialState.COMPLETE and trials[number].values == values


def test_two_workers_score_8_distinct_architectures(tmp_path: Path, study_name: str,
                                                    storage: optuna.storages.RDBStorage) -> None:
    """Each worker draws its own seed stream: two workers do not propose the same architectures in lockstep."""
    run = subprocess.run(search_cmd(tmp_path, study_name, 8, workers=2), capture_output=True, text=True,
                         timeout=1200)
    assert run.returncode == 0, run.stderr[-2000:]
    trials = optuna.load_study(study_name=study_name, storage=storage).get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sum(map(counted, trials)) == 8 and len({t.user_attrs["arch_key"] for t in complete}) == 8
    assert len({t.user_attrs["worker_pid"] for t in complete}) == 2
