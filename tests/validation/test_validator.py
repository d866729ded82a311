"""nas.validation.validator: cached, resumable trainings."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from validation.helpers import make_validator

from nas import validation as V


def test_cache_round_trip_and_reuse(space_path: Path, setup: V.Setup, tmp_path: Path, count_train: list[int]) -> None:
    cache = tmp_path / "runs" / "train_cache.jsonl"
    v = make_validator(space_path, setup, cache)
    records = v.run_jobs(v.main_jobs(1, 3), "main")
    assert count_train[0] == 3 and [r["status"] for r in records] == ["ok"] * 3
    lines = [json.loads(line) for line in cache.read_text().splitlines()]
    assert len(lines) == 3
    first = lines[0]
    for field in ("arch_key", "arch", "data", "recipe", "epochs", "seed", "test_top1", "seconds", "date", "torch",
                  "train_images", "test_images", "resolution_px"):
        assert field in first
    assert first["train_images"] == 64 and first["test_images"] == 32 and first["recipe"]["lr"] == 0.05
    assert not list((cache.parent / "ckpt").glob("*.pt"))  # finished trainings leave no checkpoint

    again = make_validator(space_path, setup, cache)  # a new session reads the file
    assert [again.accuracy(a, 1, 0) for a in again.archs(3)] == [r["test_top1"] for r in records]
    again.run_jobs(again.main_jobs(1, 3), "main")
    assert count_train[0] == 3  # nothing retrained

    again.run_jobs(again.main_jobs(1, 5), "main")  # a larger n reuses the first 3
    assert count_train[0] == 5

    other_setup = dataclasses.replace(setup, training=dataclasses.replace(setup.training, lr=0.02))
    other = make_validator(space_path, other_setup, cache)
    assert other.lookup(other.archs(1)[0], 1, 0) is None  # another recipe is another key


def test_interrupted_training_resumes_from_its_checkpoint(space_path: Path, setup: V.Setup, tmp_path: Path) -> None:
    straight = make_validator(space_path, setup, tmp_path / "a" / "c.jsonl")
    arch = straight.archs(1)[0]
    expected = straight.train_one(V.Job(arch, 2, 0))["test_top1"]

    v = make_validator(space_path, setup, tmp_path / "b" / "c.jsonl")

    def stop_after_first(epoch: int, loss: float) -> None:
        v.deadline = 0.0  # the session's time is up after epoch 1

    with pytest.raises(V.DeadlineReached):
        v.train_one(V.Job(arch, 2, 0), on_epoch_end=stop_after_first)
    assert v.checkpoint_path(arch, 2, 0).exists() and v.lookup(arch, 2, 0) is None
    with pytest.raises(V.DeadlineReached):  # no new training starts after the deadline
        v.train_one(V.Job(arch, 2, 0))
    v.deadline = None
    record = v.train_one(V.Job(arch, 2, 0))
    assert record["test_top1"] == expected and record["epochs"] == 2
    assert not v.checkpoint_path(arch, 2, 0).exists()
