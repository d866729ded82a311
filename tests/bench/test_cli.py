"""``nas benchmark``: bad input is one line, exit code 2, and nothing is written (no benchmark is run)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from support import TINY_LUT_SPACE, run_nas


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


@pytest.mark.parametrize("args,message", [
    (["--zoo", "resnet50"], "--zoo: unknown net 'resnet50'"),
    (["--reference", "nope.yaml"], "--reference nope.yaml"),
    (["--busy-core", str(os.cpu_count() or 1)], "--busy-core"),
    (["--min-run-time", "0"], "--min-run-time"),
    (["--backend", "tflite"], "--backend"),
])
def test_latency_bad_zoo_flags_exit_2_and_write_nothing(args: list[str], message: str, tmp_path: Path) -> None:
    line = _one_line_error(run_nas("benchmark", "latency", "--parts", "e", *args, cwd=tmp_path),
                           "nas benchmark latency")
    assert message in line
    assert list(tmp_path.iterdir()) == []


def test_latency_load_scenario_smoke(tmp_path: Path) -> None:
    """Part e at tiny sizes with its real busy loop: numbers come back for every mode (values not checked)."""
    doc, raw = tmp_path / "bench.md", tmp_path / "raw.json"
    proc = run_nas("benchmark", "latency", "--parts", "e", "--zoo", "mobilenet_v3_small", "--repeats", "1",
                   "--min-run-time", "0.01", "--warmup", "0", "--retries", "0", "--noise-seconds", "1", "--no-progress",
                   "--doc", str(doc), "--json", str(raw),
                   cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "### (e) One core busy" in doc.read_text() and "| mobilenet_v3_small |" in proc.stdout
    e = json.loads(raw.read_text())["results"]["e"]
    (row,) = e["rows"]
    assert e["core"] == max(os.sched_getaffinity(0)) and set(row) == {"net", "solo", "paired"}
    for mode in ("solo", "paired"):
        assert row[mode]["quiet_ms"] > 0 and row[mode]["busy_ms"] > 0
        assert row[mode]["verdict"] in ("ok", "flagged", "MISSED", "MISSED ×2")
    solo = row["solo"]
    if os.cpu_count() == 2:  # one busy core beside a 1-thread timing is tolerated (nas.latency.noise.OTHERS_MAX);
        # only more than that (other work on this machine while the test runs) flags it
        assert solo["busy_noisy"] == (solo["busy_others_cpu"] > 2 - 1 + 0.25), solo


def test_latency_readme_command_under_load_smoke(tmp_path: Path) -> None:
    """Part f with a 3-trial search of the tiny space beside its real busy loop: every exported network comes back
    re-timed, with what the busy search reported and a verdict; nothing is left in the working folder."""
    doc, raw = tmp_path / "bench.md", tmp_path / "raw.json"
    proc = run_nas("benchmark", "latency", "--parts", "f", "--front-args",
                   "--latency-target 1s --space tiny_32px --trials 3", "--repeats", "1", "--min-run-time", "0.01",
                   "--warmup", "0", "--retries", "0", "--noise-seconds", "1", "--no-progress", "--doc", str(doc),
                   "--json", str(raw), cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    f = json.loads(raw.read_text())["results"]["f"]
    assert f["search"]["returncode"] == 0 and f["search"]["args"][-2:] == ["--trials", "3"]
    assert f["run"]["trials"] == 3 and 1 <= len(f["rows"]) <= 3  # the front of 3 trials
    for row in f["rows"]:
        assert row["reported_ms"] > 0 and row["quiet_ms"] > 0 and row["now_busy_ms"] > 0
        assert row["feasible"] == (not row["reported_noisy"])
        assert {row["verdict"], row["now_verdict"]} <= {"ok", "flagged", "MISSED", "MISSED ×2"}
    assert f["ruler"]["name"] == "mnasnet_b1" and f["ruler"]["before_ms"] > 0 and f["ruler"]["after_ms"] > 0
    assert "### (f) README command 1 with one core busy" in doc.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.md", "raw.json"]


@pytest.mark.parametrize("flags", ["--front-args=--bogus", "--front-args=",
                                   "--front-args=--latency-target 5ms --trials x"])
def test_latency_bad_front_args_exit_2_before_anything_runs(flags: str, tmp_path: Path) -> None:
    proc = run_nas("benchmark", "latency", "--parts", "f", flags, cwd=tmp_path)
    line = _one_line_error(proc, "nas benchmark latency")
    assert "--front-args: nas search: error:" in line
    assert list(tmp_path.iterdir()) == []


def test_part_f_runs_the_readme_first_command() -> None:
    """Part f's default flags are those of README's first quick-start command."""
    from nas.bench.latency_front import FRONT_ARGS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    first = readme.split("```bash\n", 1)[1].split("\n", 1)[0]
    assert first.endswith("python scripts/search.py " + " ".join(FRONT_ARGS))
    help_text = run_nas("benchmark", "latency", "--help").stdout
    assert "'" + " ".join(FRONT_ARGS) + "'" in " ".join(help_text.split())


def test_latency_lut_parts_smoke(tmp_path: Path) -> None:
    """Parts b and c on the tiny space at tiny sizes, in ONNX Runtime (--backend; eager tables are tested in
    tests/latency): every predictor, the ceiling and the drift come back, and the table and section say the runtime."""
    pytest.importorskip("onnxruntime", reason="onnxruntime is a test dependency of --backend onnxruntime")
    space = tmp_path / "tiny.yaml"
    space.write_text(TINY_LUT_SPACE)
    raw, doc, luts = tmp_path / "raw.json", tmp_path / "bench.md", tmp_path / "luts"
    proc = run_nas("benchmark", "latency", "--parts", "b,c", "--spaces", str(space), "--n", "3", "--calibrate", "4",
                   "--passes", "2", "--noise-seconds", "1", "--no-progress", "--doc", str(doc), "--json", str(raw),
                   "--lut-dir", str(luts), "--backend", "onnxruntime", cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (table,) = luts.iterdir()
    assert table.name == "tiny-cpu-t1-onnxruntime.json"
    assert json.loads(table.read_text())["meta"]["backend"] == "onnxruntime"
    assert "in **ONNX Runtime (each net's ONNX export)**" in doc.read_text()
    results = json.loads(raw.read_text())["results"]
    (b,), (c,) = results["b"], results["c"]
    assert {"raw", "linear", "terms", "calibrated", "retest", "drift_pct", "fits"} <= set(b)
    assert b["n_test"] == 3 and not b["timed_after"] and b["retest"]["halves"] == [1, 1]
    assert c["test_nets"] == 3 and c["passes"] == 2
    assert "acceptance" in proc.stdout and "| tiny | 32 | terms | 3 |" in proc.stdout

