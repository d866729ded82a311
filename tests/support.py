"""Shared test helpers: the tiny search spaces the tests use, and running the ``nas`` command."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

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


def search_config(space: Path | str, out: Path, **changes: Any) -> Any:
    """A quick search configuration on ``space``: random sampler, the params proxy, 12 trials, a 15 ms target."""
    from nas.search import LatencyMethod, ProxySpec, SearchConfig

    base = dict(latency_target_ms=15.0, space=str(space), trials=12, sampler="random", seed=1,
                proxy=ProxySpec("params"), device="cpu", out=str(out), progress=False, latency=LatencyMethod())
    return SearchConfig(**{**base, **changes})


def fake_latency_ms(evaluator: Any, model: Any, arch: Any, layers: Any) -> Any:
    """A deterministic stand-in for ``Evaluator.measure``: MACs / 100k ms, IQR 0.01 ms, a quiet machine (no
    timing in tests)."""
    from nas.model.cost import arch_macs
    from nas.search.evaluate import Timing

    return Timing(arch_macs(arch, layers=layers) / 1e5, 0.01, noisy=False, others_cpu=0.0)


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


#: A valid architecture file, and (old, new, message) edits that make it malformed with the one-line error they give
VALID = textwrap.dedent("""\
    name: t
    resolution: 224
    num_classes: 10
    stem: {filters: 16, kernel_size: 3, strides: 2}
    blocks:
      - {block: mbconv, num_repeat: 2, kernel_size: 3, strides: 1, expand_ratio: 6, input_filters: 16, output_filters: 24}
      - {block: mbconv, num_repeat: 1, kernel_size: 5, strides: 2, expand_ratio: 3, input_filters: 24, output_filters: 32}
    head: {filters: 64}
    """)

MALFORMED = [
    # (replace this, with that, expected message fragment)
    ("kernel_size: 3, strides: 1", "kernel_size: 4, strides: 1", "blocks[0].kernel_size: must be one of 3, 5, 7 (got 4)"),
    ("output_filters: 24}", "output_filters: -24}", "blocks[0].output_filters: must be ≥ 1 (got -24)"),
    ("block: mbconv, num_repeat: 1", "block: fancy, num_repeat: 1", "blocks[1].block: must be one of ds, mbconv, shuffle, conv (got 'fancy')"),
    ("strides: 2, expand_ratio: 3", "strides: 3, expand_ratio: 3", "blocks[1].strides: must be one of 1, 2 (got 3)"),
    (", input_filters: 24, output_filters: 32}", ", output_filters: 32}", "blocks[1].input_filters: missing required field"),
    ("num_repeat: 2,", "num_repeat: two,", "blocks[0].num_repeat: expected an integer, got 'two'"),
    ("expand_ratio: 6,", "expand_ratio: 6, kernal: 3,", "blocks[0].kernal: unknown field"),
    ("input_filters: 24, output_filters: 32", "input_filters: 20, output_filters: 32",
     "blocks[1].input_filters: must equal blocks[0].output_filters = 24 (got 20)"),
    ("name: t", "name: [t", "invalid YAML"),
    ("stem: {filters: 16,", "stem: {filters: 0,", "stem.filters: must be ≥ 1 (got 0)"),
    ("expand_ratio: 3,", "expand_ratio: 3, se_ratio: 1.5,", "blocks[1].se_ratio: must be in [0, 1] (got 1.5)"),
    ("head: {filters: 64}", "head: {filters: 64, dropout: 2}", "head.dropout: must be in [0, 1) (got 2)"),
    ("resolution: 224", "resolution: 16", "resolution: must be ≥ 32 (got 16)"),
    # a file states what a silent default would change: the input size, the classes, the stem and head widths
    ("resolution: 224\n", "", "resolution: missing required field"),
    ("num_classes: 10\n", "", "num_classes: missing required field"),
    ("head: {filters: 64}\n", "", "head: missing required field"),
    ("head: {filters: 64}", "head: {dropout: 0.2}", "head.filters: missing required field"),
    ("stem: {filters: 16, kernel_size: 3, strides: 2}", "stem: {filters: 16, kernel_size: 3}",
     "stem.strides: missing required field"),
]


#: The lookup-table tests' space: 2 stages, small enough to time for real in seconds.
TINY_LUT_SPACE = """\
name: tiny
skeleton:
  name: tiny_base
  resolution: 32
  num_classes: 10
  stem: {filters: 8, kernel_size: 3, strides: 2}
  blocks:
    - {block: mbconv, num_repeat: 1, kernel_size: 3, strides: 1, expand_ratio: 1, input_filters: 8, output_filters: 8}
    - {block: mbconv, num_repeat: 2, kernel_size: 3, strides: 2, expand_ratio: 3, input_filters: 8, output_filters: 16}
  head: {filters: 32}
fixed_stages: [0]
per_stage:
  kernel_size: [3, 5]
  expand_ratio: [1, 3]
  num_repeat_delta: [0, 1]
"""
