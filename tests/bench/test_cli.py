"""``nas benchmark``: bad input is one line, exit code 2, and nothing is written (no benchmark is run)."""
from __future__ import annotations

from pathlib import Path

from support import run_nas


def _one_line_error(proc, prog: str) -> str:  # noqa: ANN001
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), proc.stderr
    return lines[0]


def test_latency_bad_parts_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    line = _one_line_error(run_nas("benchmark", "latency", "--parts", "x", cwd=tmp_path), "nas benchmark latency")
    assert "--parts" in line and "a,b,c,d" in line
    assert list(tmp_path.iterdir()) == []


def test_latency_unknown_space_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    line = _one_line_error(run_nas("benchmark", "latency", "--parts", "c", "--spaces", "nope.yaml", cwd=tmp_path),
                           "nas benchmark latency")
    assert "nope.yaml" in line
    assert list(tmp_path.iterdir()) == []


def test_search_missing_table_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    line = _one_line_error(run_nas("benchmark", "search", "--lut-224", "a.json", "--lut-32", "b.json", cwd=tmp_path),
                           "nas benchmark search")
    assert "a.json: no such latency table" in line
    _one_line_error(run_nas("benchmark", "search", "--lut-224", "a.json", "--lut-32", "b.json", "--parts", "c",
                            cwd=tmp_path), "nas benchmark search")
    assert list(tmp_path.iterdir()) == []


def test_benchmark_needs_a_benchmark() -> None:
    _one_line_error(run_nas("benchmark"), "nas benchmark")
