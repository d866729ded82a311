"""Fixtures shared across the test packages: the tiny search space on disk, a deterministic latency, and a
search configuration on it (no timing in tests)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from support import fake_latency_ms, search_config as support_search_config, write_space


@pytest.fixture()
def space_file(tmp_path: Path) -> Path:
    """tests/support.TINY_SEARCH_SPACE written to a temporary file (64 architectures)."""
    return write_space(tmp_path)


@pytest.fixture()
def fake_latency(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Latency = MACs / 100k ms (:func:`support.fake_latency_ms`, no timing); returns the keys of the architectures actually
    scored, in order (duplicates are not scored again)."""
    from nas.arch.key import arch_key
    from nas.search.evaluate import Evaluator

    scored: list[str] = []
    real_evaluate = Evaluator.evaluate

    def evaluate(self: Evaluator, arch: Any) -> Any:
        scored.append(arch_key(arch))
        return real_evaluate(self, arch)

    monkeypatch.setattr(Evaluator, "measure", fake_latency_ms)
    monkeypatch.setattr(Evaluator, "evaluate", evaluate)
    return scored


@pytest.fixture()
def search_config() -> Callable[..., Any]:
    """:func:`support.search_config`: ``search_config(space, out, **changes)``, a quick search configuration."""
    return support_search_config
