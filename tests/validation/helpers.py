"""A tiny space, a small synthetic setup and a counting train() for the validation tests (seconds, CPU);
also used by tests/cli/test_validate_proxy.py."""
from __future__ import annotations

from pathlib import Path

import pytest

import nas.train
from nas.space import load_space
from nas.train.config import TrainConfig
from nas.validation.setup import Setup
from nas.validation.validator import Validator

TINY = """\
name: tiny
skeleton:
  name: tiny_base
  resolution: 32
  num_classes: 4
  stem: {filters: 8, kernel_size: 3, strides: 1}
  blocks:
    - {block: mbconv, num_repeat: 1, kernel_size: 3, strides: 1, expand_ratio: 1, input_filters: 8, output_filters: 8}
    - {block: mbconv, num_repeat: 1, kernel_size: 3, strides: 2, expand_ratio: 3, input_filters: 8, output_filters: 16}
    - {block: mbconv, num_repeat: 1, kernel_size: 3, strides: 2, expand_ratio: 3, input_filters: 16, output_filters: 24}
  head: {filters: 32}
fixed_stages: [0]
per_stage:
  kernel_size: [3, 5]
  expand_ratio: [1, 3]
  filters_scale: [0.5, 1.0, 2.0]
  num_repeat_delta: [0, 1]
"""
FAST_PROXIES = ("synflow", "grad_norm")  # plus params and macs, always scored


def write_tiny_space(folder: Path) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(TINY)
    return path


def small_setup() -> Setup:
    return Setup(data="synthetic", train_size=64, test_size=32,
                 training=TrainConfig(batch_size=32, num_threads=1, bn_recalibration_batches=2))


def make_validator(space_path: Path, setup: Setup, cache: Path, **kw) -> Validator:
    return Validator(load_space(space_path), setup, cache=cache, proxies=kw.pop("proxies", FAST_PROXIES),
                     proxy_batch=16, progress=False, **kw)


def count_trainings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the calls of nas.train.train (the validator looks it up at each training)."""
    calls = [0]
    real = nas.train.train

    def counting(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(nas.train, "train", counting)
    return calls
