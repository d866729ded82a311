"""The JSON-lines caches of :mod:`nas.validation`: :class:`JsonlCache`, the training-cache key
(:func:`train_key`) and the record-key helpers of the training and proxy caches."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

CACHE_DIR = Path("runs/proxy-validation")
TRAIN_CACHE = CACHE_DIR / "train_cache.jsonl"
PROXY_CACHE_NAME = "proxy_cache.jsonl"


def train_key(arch_key: str, data_id: Mapping[str, Any], recipe: Mapping[str, Any], epochs: int, seed: int) -> str:
    """The lookup key of one training (canonical JSON)."""
    return json.dumps({"arch_key": arch_key, "data": dict(data_id), "recipe": dict(recipe),
                       "epochs": int(epochs), "seed": int(seed)}, sort_keys=True, separators=(",", ":"))


def _train_record_key(r: Mapping[str, Any]) -> str:
    return train_key(r["arch_key"], r["data"], r["recipe"], r["epochs"], r["seed"])


def _proxy_record_key(r: Mapping[str, Any]) -> str:
    return json.dumps({"arch_key": r["arch_key"], "proxy": r["proxy"], "batch": r["batch"]},
                      sort_keys=True, separators=(",", ":"))


class JsonlCache:
    """An append-only JSON-lines file indexed by ``key_fn(record)``; the last record of a key wins.

    Lines that do not parse (e.g. a write cut short by a crash) are skipped and counted in ``bad_lines``.
    :meth:`append` writes one line, flushes and fsyncs, so a crash loses at most the record being written.
    """

    def __init__(self, path: str | Path, key_fn: Callable[[Mapping[str, Any]], str]) -> None:
        self.path = Path(path)
        self.key_fn = key_fn
        self.records: dict[str, dict[str, Any]] = {}
        self.bad_lines = 0
        self.reload()

    def reload(self) -> None:
        self.records, self.bad_lines = {}, 0
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    self.records[self.key_fn(record)] = record
                except (ValueError, KeyError, TypeError):
                    self.bad_lines += 1

    def get(self, key: str) -> dict[str, Any] | None:
        return self.records.get(key)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records.values())

    def append(self, record: Mapping[str, Any]) -> None:
        key = self.key_fn(record)
        line = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() > 0:  # a previous write cut short leaves no newline: start a fresh line
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        self.records[key] = dict(record)
