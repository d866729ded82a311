"""Shared test helpers: the tiny search spaces the tests use, and running the ``nas`` command."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPACE_FILES = sorted((ROOT / "search_spaces").glob("*.yaml"))

#: 8 choices per stage, 2 stages: 64 architectures; the search, export, dashboard and worker tests use it.
TINY_SEARCH_SPACE = textwrap.dedent("""\
    name: tiny
    skeleton:
      name: tiny_base
      resolution: 32
      num_classes: 10
      activation: relu
      stem: {filters: 8, kernel_size: 3, strides: 2}
      blocks:
        - {block: mbconv, num_repeat: 1, kernel_size: 3, strides: 2, expand_ratio: 3, input_filters: 8, output_filters: 16}
        - {block: mbconv, num_repeat: 1, kernel_size: 3, strides: 2, expand_ratio: 3, input_filters: 16, output_filters: 24}
      head: {filters: 64}
    per_stage:
      kernel_size: [3, 5]
      expand_ratio: [3, 6]
      filters_scale: [1.0, 2.0]
    """)


def write_space(folder: Path, text: str = TINY_SEARCH_SPACE, name: str = "tiny.yaml") -> Path:
    """Write a space file into ``folder`` and return its path."""
    path = folder / name
    path.write_text(text)
    return path


def run_nas(*args: str, cwd: Path | None = None, timeout: float = 600, env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
    """``python -m nas ARGS`` in a subprocess (text output captured)."""
    return subprocess.run([sys.executable, "-m", "nas", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def run_script(name: str, *args: str, cwd: Path | None = None, timeout: float = 600,
               ) -> subprocess.CompletedProcess[str]:
    """``python scripts/NAME ARGS`` (the thin shims the README shows) in a subprocess."""
    return subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
