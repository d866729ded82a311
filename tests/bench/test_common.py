"""Benchmark plumbing: tables and appending sections to the benchmarks document (moved from tests/test_bench.py)."""
from __future__ import annotations

from pathlib import Path

from nas.bench.common import append_markdown, append_section, machine_lines
from nas.machine import fmt_load
from nas.markdown import table as markdown_table


def test_markdown_table() -> None:
    assert markdown_table(["a", "b"], [[1, "x"], [2, "y"]]) == "| a | b |\n| --- | --- |\n| 1 | x |\n| 2 | y |"


def test_append_section_creates_then_appends(tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "benchmarks.md"
    append_section("First", "numbers 1", doc)
    append_section("Second", "numbers 2\n\n", doc)
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n")
    assert text.index("## First — ") < text.index("numbers 1") < text.index("## Second — ") < text.index("numbers 2")
    assert text.endswith("numbers 2\n")
    assert [p.name for p in doc.parent.iterdir()] == ["benchmarks.md"]


def test_machine_lines_name_cores_and_threads() -> None:
    line = machine_lines(3)[0]
    assert "cores" in line and "threads 3" in line and "torch " in line


def test_append_markdown_keeps_one_blank_line_and_the_header(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("")  # an empty file gets the header too
    append_markdown("\n## Mine — today\n\nrow 1\n\n\n", doc)
    append_markdown("## Next\n\nrow 2", doc)
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n")
    assert text.endswith("\n\n## Mine — today\n\nrow 1\n\n## Next\n\nrow 2\n")


def test_fmt_load() -> None:
    assert fmt_load((1.0, 0.5, 0.25)) == "1.00 / 0.50 / 0.25" and fmt_load(None) == "n/a"
