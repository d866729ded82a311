"""nas.validation.cache: the JSONL cache survives a torn line."""
from __future__ import annotations

from pathlib import Path

from nas import validation as V


def test_jsonl_cache_survives_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    key = lambda r: r["k"]  # noqa: E731
    cache = V.JsonlCache(path, key)
    cache.append({"k": "a", "v": 1})
    with open(path, "a") as fh:
        fh.write('{"k": "b", "v"')  # a write cut short
    cache = V.JsonlCache(path, key)
    assert cache.bad_lines == 1 and cache.get("a") == {"k": "a", "v": 1} and cache.get("b") is None
    cache.append({"k": "c", "v": 3})
    cache = V.JsonlCache(path, key)
    assert cache.bad_lines == 1 and cache.get("c")["v"] == 3 and len(cache) == 2
