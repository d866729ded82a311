"""What a study's scores depend on, recorded when the study is created and compared on every resume.

A resumed search that scores with other settings would mix incomparable numbers in one front (a 20 ms and a
2 ms target, 1 and 2 threads, two versions of a space). :func:`fingerprint` collects those settings — the
space's content, the target, the latency method and table, the device and threads, the proxy, its data, batch
and seed, the objective — and :func:`check_same` raises :class:`SettingsMismatch` naming the first that
differs, with both values, before anything is written.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from nas.space.space import SearchSpace

__all__ = ["SettingsMismatch", "check_same", "fingerprint", "space_digest"]


class SettingsMismatch(ValueError):
    """A study exists with other settings; ``key``, ``stored`` and ``current`` say which."""

    def __init__(self, study: str, key: str, stored: Any, current: Any):
        self.study, self.key, self.stored, self.current = study, key, stored, current
        super().__init__(f"study {study!r} was created with {key} {_show(stored)}, not {_show(current)}")


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)


def space_digest(space: SearchSpace) -> str:
    """SHA-256 (16 hex digits) of what the space can produce: skeleton, fixed stages and every stage's choices
    (comments, key order and the file's path do not count)."""
    content = {"skeleton": space.skeleton.to_dict(), "fixed": list(space.fixed_stages),
               "choices": {str(i): {k: list(v) for k, v in space.choices[i].items()} for i in space.searched_stages}}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _file_digest(path: Path | None) -> str | None:
    return None if path is None else hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def fingerprint(*, space: SearchSpace, target_ms: float, objective: str, evaluator_settings: dict[str, Any],
                lut: Path | None) -> dict[str, Any]:
    """The settings scores depend on, as plain data (stored in the study's ``settings``)."""
    keys = ("latency_method", "latency_backend", "device", "device_type", "threads", "batch_size", "proxy", "data",
            "proxy_batch", "seed")
    return {"space": space.name, "space_digest": space_digest(space), "latency_target_ms": float(target_ms),
            "objective": objective, **{k: evaluator_settings.get(k) for k in keys}, "lut_digest": _file_digest(lut)}


def check_same(study: str, stored: dict[str, Any] | None, current: dict[str, Any]) -> None:
    """Raise :class:`SettingsMismatch` for the first setting of ``current`` that ``stored`` records otherwise.
    A study from before fingerprints (``stored`` None) is accepted as it is."""
    if stored is None:
        return
    for key, value in current.items():
        if key in stored and stored[key] != value:
            raise SettingsMismatch(study, key, stored[key], value)
