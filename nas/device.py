"""The one device resolver: ``auto`` / ``cpu`` / ``cuda`` / ``cuda:N`` → a ``torch.device``, and what to record
about it beside every latency (:class:`DeviceInfo`).

    >>> from nas.device import resolve_device, device_info
    >>> resolve_device("auto")                  # cuda when present, else cpu
    device(type='cpu')
    >>> device_info("cpu", threads=1)["threads"]
    1

Errors are one-line ``ValueError`` s: an unknown name, or a CUDA device this machine does not have.
"""
from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from nas.machine import cpu_name

if TYPE_CHECKING:
    import torch

__all__ = ["DEVICE_NAMES", "DeviceInfo", "check_device_name", "device_info", "resolve_device"]

DEVICE_NAMES = "'auto', 'cpu', 'cuda' or 'cuda:N'"
_DEVICE_RE = re.compile(r"auto|cpu|cuda(?::(?P<index>[0-9]+))?")


def check_device_name(device: "str | torch.device") -> str:
    """The normalised device name (``' CPU '`` → ``'cpu'``) if it is one of :data:`DEVICE_NAMES`, whether or
    not this machine has that device (a configuration may be written for another machine). One-line
    ``ValueError`` otherwise."""
    is_name = isinstance(device, str) or type(device).__name__ == "device"  # a str or a torch.device
    name = str(device).strip().lower() if is_name else ""
    if not _DEVICE_RE.fullmatch(name):
        raise ValueError(f"unknown device {device!r}: use {DEVICE_NAMES}")
    return name


def resolve_device(device: "str | torch.device" = "auto") -> "torch.device":
    """``'auto'`` → ``cuda`` if available, else ``cpu``; also ``'cpu'``, ``'cuda'``, ``'cuda:N'``.

    Raises ``ValueError`` (one line) for any other name, or for a CUDA device this machine does not have.
    """
    import torch

    name = check_device_name(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available (torch {torch.__version__})")
    index_text = _DEVICE_RE.fullmatch(name)["index"]
    index = int(index_text) if index_text is not None else torch.cuda.current_device()
    count = torch.cuda.device_count()
    if index >= count:
        raise ValueError(f"device {device!r} requested but only {count} CUDA device(s) are visible")
    return torch.device("cuda", index)


@dataclasses.dataclass(frozen=True)
class DeviceInfo:
    """Where a latency was (or will be) measured; the same keys as :class:`nas.latency.LatencyResult`'s."""

    device: str  # human-readable name: CPU model name or CUDA device name
    device_type: str  # "cpu" or "cuda"
    torch_version: str
    threads: int  # intra-op threads (CPU)

    @classmethod
    def current(cls, device: "str | torch.device" = "auto", threads: int | None = None) -> "DeviceInfo":
        import torch

        dev = resolve_device(device)
        name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else cpu_name()
        return cls(device=name, device_type=dev.type, torch_version=torch.__version__,
                   threads=int(threads) if threads is not None else torch.get_num_threads())

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def device_info(device: "str | torch.device" = "auto", threads: int | None = None) -> dict[str, Any]:
    """``{'device', 'device_type', 'torch_version', 'threads'}`` for ``device`` on this machine (``threads``:
    default torch's current count) — compared key by key with a latency table's metadata."""
    return DeviceInfo.current(device, threads).to_dict()
