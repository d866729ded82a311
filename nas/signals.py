"""Signals: :class:`DeferSigint` makes a block all-or-nothing with respect to Ctrl-C.

    with DeferSigint():          # a Ctrl-C here is held back ...
        commit_step()
    # ... and delivered here, after the block, as the usual KeyboardInterrupt

Used where an interrupt half-way would leave inconsistent state: a training step's commit, a checkpoint, the
creation of a study (its settings, metric names and reference nets are written exactly once, or not at all).
"""
from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

__all__ = ["DeferSigint"]


class DeferSigint:
    """Hold back SIGINT for the duration of a block (main thread only; elsewhere a no-op), then deliver it:
    to the previous handler, or as ``KeyboardInterrupt`` under Python's default handler."""

    _UNSET = object()

    def __enter__(self) -> "DeferSigint":
        self._pending = False
        self._old: Any = self._UNSET
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._hold)
        return self

    def _hold(self, signum: int, frame: FrameType | None) -> None:
        self._pending = True

    def __exit__(self, *exc: object) -> None:
        if self._old is self._UNSET:
            return
        old = self._old if self._old is not None else signal.SIG_DFL
        signal.signal(signal.SIGINT, old)
        if self._pending:
            if callable(old):
                old(signal.SIGINT, None)
            elif old == signal.SIG_DFL:
                raise KeyboardInterrupt
