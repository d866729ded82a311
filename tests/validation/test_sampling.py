"""nas.validation.sampling: the arch list is deterministic, distinct and prefix-stable."""
from __future__ import annotations

from pathlib import Path

from nas import validation as V
from nas.arch.key import arch_key
from nas.space import load_space


def test_sampling_is_prefix_stable_and_distinct(space_path: Path) -> None:
    space = load_space(space_path)
    five, eight = V.sample_archs(space, 5, seed=3), V.sample_archs(space, 8, seed=3)
    assert eight[:5] == five
    assert len({arch_key(a) for a in eight}) == 8
