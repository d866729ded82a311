"""``nas benchmark runtimes``: bad input is one line, exit code 2, and nothing is written; a smoke run prints
its section, writes its JSON and appends to the document."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import run_nas


def _one_line_error(proc) -> str:  # noqa: ANN001
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nas benchmark runtimes: error: "), proc.stderr
    return lines[0]


@pytest.mark.parametrize(("args", "needle"), [
    (["--methods", "eager,tflite"], "expected distinct names from eager,cuda-graph,onnxruntime,openvino"),
    (["--methods", "eager,cuda-graph"], "method cuda-graph needs a CUDA device, not 'cpu'"),
    (["--spaces", "nope.yaml"], "--spaces: nope.yaml: no such file"),
    (["--device", "gpu"], "unknown device 'gpu'"),
    (["--exporter", "onnx"], "argument --exporter: invalid choice: 'onnx'"),
    (["--n", "0"], "argument --n: expected a positive integer, got '0'"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, args: list[str], needle: str) -> None:
    line = _one_line_error(run_nas("benchmark", "runtimes", *args, "--json", "out.json", cwd=tmp_path))
    assert needle in line
    assert list(tmp_path.iterdir()) == []


def test_a_smoke_run_prints_writes_json_and_appends_a_section(tmp_path: Path) -> None:
    proc = run_nas("benchmark", "runtimes", "--n", "2", "--spaces", "tiny_32px", "--passes", "1", "--repeats", "1",
                   "--min-run-time", "0.002", "--warmup", "0", "--exporter", "torchscript", "--json", "raw.json",
                   "--doc", "bench.md", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "### tiny_32px — 2 random archs at 32 px" in proc.stdout
    doc = (tmp_path / "bench.md").read_text()
    assert doc.startswith("# Benchmarks") and "## Eager PyTorch vs deployment runtimes — " in doc
    assert "Command: `nas benchmark runtimes --n 2 --spaces tiny_32px" in doc
    raw = json.loads((tmp_path / "raw.json").read_text())
    assert len(raw["spaces"]["tiny_32px"]["ms"]["onnxruntime"][0]) == 2
