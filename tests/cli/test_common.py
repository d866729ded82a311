"""nas.cli.common: the conventions every subcommand shares — here, warnings as one line, shown once."""
from __future__ import annotations

import argparse
import warnings

import pytest

import nas.cli
import nas.cli.inspect
from nas.cli.common import one_line_warnings


def test_a_warning_is_one_line_and_shown_once(capsys: pytest.CaptureFixture[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # Python itself would show every repeat
        with one_line_warnings("nas search"):
            for busy in (0.85, 0.86, 0.84):  # one place, this minute's numbers
                warnings.warn(f"threads=4 oversubscribes\n   this machine: {busy} cores busy", RuntimeWarning,
                              stacklevel=1)
            for name in ("ref_a", "ref_b", "ref_a"):  # one place, other words: each shown once
                warnings.warn(f"the reference {name} was timed under load", UserWarning, stacklevel=1)
    assert capsys.readouterr().err.splitlines() == [
        "nas search: warning: threads=4 oversubscribes this machine: 0.85 cores busy",
        "nas search: warning: the reference ref_a was timed under load",
        "nas search: warning: the reference ref_b was timed under load"]


def test_every_command_shows_warnings_that_way(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    def warns_twice(args: argparse.Namespace) -> int:
        for _ in range(2):
            warnings.warn("the reference was timed while other processes kept the CPU busy", RuntimeWarning,
                          stacklevel=1)
            with warnings.catch_warnings():  # leaving such a block resets Python's once-per-place registry
                pass
        return 0

    monkeypatch.setattr(nas.cli.inspect, "run", warns_twice)
    before = warnings.showwarning
    assert nas.cli.main(["inspect", "mnasnet_a1"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "nas inspect: warning: the reference was timed while other processes kept the CPU busy"]
    assert warnings.showwarning is before  # restored when the command returns
