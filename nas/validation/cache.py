"""The JSON-lines caches of :mod:`nas.validation`: :class:`JsonlCache`, the keys of the training cache
(:func:`train_key`, :func:`train_record_key`) and of the proxy cache (:func:`proxy_key`,
:func:`proxy_record_key`), and the date stamp of every record (:func:`timestamp`).

The keys are canonical JSON (sorted keys, no spaces): changing them orphans every cached training.
"""
from __future__ import annotations

import datetime
import json
import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

__all__ = ["PROXY_CACHE_NAME", "JsonlCache", "merge_caches", "proxy_key", "proxy_record_key", "timestamp",
           "train_key", "train_record_key"]

#: The proxy cache's file name, beside the training cache.
PROXY_CACHE_NAME = "proxy_cache.jsonl"


def timestamp() -> str:
    """Local time with its UTC offset, to the second (ISO 8601): the date of records and reports."""
    return datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="seconds")


def train_key(arch_key: str, data_id: Mapping[str, Any], recipe: Mapping[str, Any], epochs: int, seed: int) -> str:
    """The lookup key of one training (canonical JSON)."""
    return json.dumps({"arch_key": arch_key, "data": dict(data_id), "recipe": dict(recipe),
                       "epochs": int(epochs), "seed": int(seed)}, sort_keys=True, separators=(",", ":"))


def train_record_key(record: Mapping[str, Any]) -> str:
    """:func:`train_key` of a training-cache record (KeyError if it lacks a part)."""
    return train_key(record["arch_key"], record["data"], record["recipe"], record["epochs"], record["seed"])


def proxy_key(arch_key: str, proxy: str, batch: Mapping[str, Any]) -> str:
    """The lookup key of one proxy value: the arch, the proxy's name and the identity of the batch it was
    scored on (canonical JSON)."""
    return json.dumps({"arch_key": arch_key, "proxy": proxy, "batch": batch}, sort_keys=True, separators=(",", ":"))


def proxy_record_key(record: Mapping[str, Any]) -> str:
    """:func:`proxy_key` of a proxy-cache record (KeyError if it lacks a part)."""
    return proxy_key(record["arch_key"], record["proxy"], record["batch"])


class JsonlCache:
    """An append-only JSON-lines file indexed by ``key_fn(record)``; the last record of a key wins.

    Lines that do not parse (e.g. a write cut short by a crash) are skipped and counted in ``bad_lines``.
    :meth:`append` writes one line, flushes and fsyncs, so a crash loses at most the record being written;
    several processes may append to the same file, and several threads to the same object.
    """

    def __init__(self, path: str | Path, key_fn: Callable[[Mapping[str, Any]], str]) -> None:
        self.path = Path(path)
        self.key_fn = key_fn
        self.records: dict[str, dict[str, Any]] = {}
        self.bad_lines = 0
        self._lock = threading.RLock()
        self.reload()

    def reload(self) -> None:
        """Read the file again (records other processes appended become visible)."""
        records, bad = {}, 0
        with self._lock:
            if self.path.exists():
                with open(self.path, encoding="utf-8") as fh:
                    for line in fh:
                        if not line.strip():
                            continue
                        try:
                            record = json.loads(line)
                            records[self.key_fn(record)] = record
                        except (ValueError, KeyError, TypeError):
                            bad += 1
            self.records, self.bad_lines = records, bad

    def get(self, key: str) -> dict[str, Any] | None:
        return self.records.get(key)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records.values())

    def append(self, record: Mapping[str, Any]) -> None:
        """Append ``record`` as one line (starting a fresh line after a torn one), flush and fsync."""
        key = self.key_fn(record)
        line = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path, "a+b") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() > 0:  # a previous write cut short leaves no newline: start a fresh line
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
            self.records[key] = dict(record)


def merge_caches(source: str | Path, target: str | Path, key_fn: Callable[[Mapping[str, Any]], str]) -> int:
    """Append to the JSON-lines cache ``target`` every record of ``source`` whose key (``key_fn``) ``target``
    lacks, in ``source``'s order, through :meth:`JsonlCache.append` (never rewriting ``target``); returns how
    many were appended. Records of a key ``target`` already has are left out, so merging twice adds nothing."""
    src, dst = JsonlCache(source, key_fn), JsonlCache(target, key_fn)
    added = 0
    for key, record in src.records.items():
        if dst.get(key) is None:
            dst.append(record)
            added += 1
    return added
