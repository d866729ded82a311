"""Claim files, so that several workers can share one training cache (the same ``nas validate-proxy``
command started twice on a 2-core CPU): a training is taken by creating its claim file exclusively, with
``host pid`` inside."""
from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ["claim", "release"]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim(path: Path) -> bool:
    """Take the claim at ``path`` for this process; True if it is ours now (new, already ours, or taken over
    from a dead process on this host), False if another live process (or another host) holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    me = f"{platform.node()} {os.getpid()}"
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                host, pid = path.read_text(encoding="utf-8").split()
            except (OSError, ValueError):
                return False  # being written right now by its owner
            if f"{host} {pid}" == me:
                return True
            if host != platform.node() or _pid_alive(int(pid)):
                return False
            path.unlink(missing_ok=True)  # stale: its owner died
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(me)
        return True
    return False


def release(path: Path) -> None:
    """Give up the claim at ``path`` (nothing if there is none)."""
    path.unlink(missing_ok=True)
