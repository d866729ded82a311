"""The deterministic list of architectures every part of :mod:`nas.validation` works on."""
from __future__ import annotations

from typing import Any

from nas.arch.key import arch_key
from nas.arch.spec import Arch

__all__ = ["sample_archs"]


def sample_archs(space: Any, n: int, seed: int = 0, *, max_draws: int | None = None) -> list[Arch]:
    """The first ``n`` distinct archs of ``space.sample(seed + i)``, i = 0, 1, … (duplicates by
    :func:`nas.arch.key.arch_key` skipped).

    Prefix-stable: ``sample_archs(space, m, seed)[:n] == sample_archs(space, n, seed)`` for m ≥ n.
    Raises ValueError if ``max_draws`` (default 50·n + 100) draws give fewer than ``n`` distinct archs.
    """
    out: list[Arch] = []
    seen: set[str] = set()
    limit = max_draws if max_draws is not None else 50 * n + 100
    i = 0
    while len(out) < n:
        if i >= limit:
            raise ValueError(f"only {len(out)} distinct architectures in {limit} draws from the space; "
                             f"it has fewer than {n}")
        arch = space.sample(seed + i)
        key = arch_key(arch)
        if key not in seen:
            seen.add(key)
            out.append(arch)
        i += 1
    return out
