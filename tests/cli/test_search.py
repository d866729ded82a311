"""`nas search` (and the scripts/search.py shim): bad input exits 2 with one line and writes nothing."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support import run_script


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_script("search.py", *args, cwd=cwd, timeout=120)


@pytest.mark.parametrize("args,message", [
    (["--latency-target", "20"], "invalid latency '20'"),
    (["--latency-target", "-5ms"], "invalid latency '-5ms'"),
    (["--latency-target", "fast"], "invalid latency 'fast'"),
    (["--latency-target", "20ms", "--space", "nope.yaml"], "nope.yaml: no such search space file"),
    (["--latency-target", "20ms", "--sampler", "annealing"], "unknown sampler 'annealing'"),
    (["--latency-target", "20ms", "--proxy", "magic"], "invalid --proxy 'magic'"),
    (["--latency-target", "20ms", "--latency", "lut:missing.json"], "missing.json: no such latency table"),
    (["--latency-target", "20ms", "--latency", "pairs"], "invalid --latency 'pairs': use 'paired', 'measure'"),
    ([], "the following arguments are required: --latency-target"),
])
def test_cli_errors_exit_2_with_one_line_and_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    before = sorted(p.name for p in tmp_path.rglob("*"))
    out = run_cli(*args, cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def _other_space_table(path: Path) -> Path:
    """A valid lookup table for this machine (1 thread) that covers another space (the tiny test space)."""
    from nas.device import device_info
    from nas.latency.table import Entry, LatencyTable, TableMeta
    from nas.space import load_space
    from support import write_space

    info = device_info("cpu", 1)
    meta = TableMeta(device=info["device"], device_type=info["device_type"], torch_version=info["torch_version"],
                     threads=1, space="tiny")
    space = load_space(write_space(path.parent))
    table = LatencyTable(meta=meta, entries={op.key: Entry.from_samples([1.0]) for op in space.ops()})
    table.save(path)
    return path


@pytest.mark.parametrize("args,message", [
    (["--timeout", "-5"], "--timeout: expected a positive number, got '-5'"),
    (["--timeout", "0"], "--timeout: expected a positive number, got '0'"),
    (["--confirm", "-1"], "--confirm: expected an integer ≥ 0, got '-1'"),
    (["--confirm", "1.5"], "--confirm: expected an integer ≥ 0, got '1.5'"),
    (["--storage", "notaurl"], "invalid storage URL 'notaurl'"),
    (["--storage", "postgresql://nobody@127.0.0.1:1/nas"], "cannot open storage postgresql://nobody@127.0.0.1:1/nas"),
    (["--storage", "sqlite:////nonexistent/dir/x.db"],
     "cannot open storage sqlite:////nonexistent/dir/x.db: no folder /nonexistent/dir"),
    (["--storage", "sqlite:///."], "cannot open storage sqlite:///.: . is a folder"),
    (["--storage", "mysql://u:secret@localhost/db"], "cannot open storage mysql://u:***@localhost/db: No module named "
     "'MySQLdb' (SQLAlchemy's mysql driver 'mysqldb' is not installed; the supported storages are sqlite:///FILE.db "
     "and, for many workers, postgresql://USER@HOST/DB with the [postgres] extra)"),
    (["--storage", "sqlite://"], "invalid storage URL 'sqlite://': it names no database file; use sqlite:///FILE.db"),
    (["--storage", "sqlite+pysqlcipher:///x.db"], "cannot open storage sqlite+pysqlcipher:///x.db: No module named "
     "'pysqlcipher3' (SQLAlchemy's sqlite driver 'pysqlcipher' is not installed"),
    (["--study-name", "../../etc/x"], "study name '../../etc/x'"),
    (["--storage", "sqlite:///garbage.db"], "cannot open storage sqlite:///garbage.db: garbage.db is not an SQLite "
     "database file"),
    (["--space", "dup.yaml"], "dup.yaml: line 16, column 3: invalid YAML: duplicate key 'kernel_size'"),
    (["--space", "evil.yaml"], "evil.yaml: name: expected a name of letters"),
    (["--space", "mnasnet", "--latency", "lut:other.json", "--threads", "1"],
     "other.json: built for space 'tiny', it has no entry for"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    from support import TINY_SEARCH_SPACE

    (tmp_path / "dup.yaml").write_text(TINY_SEARCH_SPACE + "  kernel_size: [3]\n")
    (tmp_path / "garbage.db").write_text("not a database\n")
    (tmp_path / "evil.yaml").write_text(TINY_SEARCH_SPACE.replace("name: tiny\n", "name: ../../etc/x\n", 1))
    _other_space_table(tmp_path / "other.json")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    out = run_cli("--latency-target", "20ms", *args, "--out", "runs", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_a_search_in_onnxruntime_writes_onnx_beside_each_yaml(tmp_path: Path) -> None:
    import onnx
    import yaml

    from support import write_space

    space = write_space(tmp_path)
    out = run_cli("--latency-target", "1s", "--space", str(space), "--trials", "4", "--sampler", "random",
                  "--proxy", "params", "--threads", "1", "--backend", "onnxruntime", "--out", "runs", "--no-progress",
                  cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-1500:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    listing = yaml.safe_load((run_dir / "pareto.yaml").read_text())
    assert listing["latency_backend"] == "onnxruntime" and listing["networks"]
    # the front's latencies are confirmed in the same runtime: 3 more timings each (nas.search.confirm)
    assert "confirmed: re-timed" in out.stdout
    assert all(row["latency_confirmed"] and len(row["latency_timings_ms"]) == 3 for row in listing["networks"])
    for row in listing["networks"]:
        beside = run_dir / row["onnx"]["file"]
        assert beside == (run_dir / row["file"]).with_suffix(".onnx") and beside.is_file()
        assert row["onnx"]["max_abs_diff"] <= 1e-4 and row["onnx"]["exporter"] in ("dynamo", "torchscript")
        onnx.checker.check_model(onnx.load(beside))
    assert "onnxruntime runtime" in (run_dir / "leaderboard.md").read_text()


def test_an_unknown_backend_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    out = run_cli("--latency-target", "20ms", "--backend", "tensorrt", "--out", "runs", cwd=tmp_path)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "unknown latency backend 'tensorrt'" in out.stderr and not (tmp_path / "runs").exists()


def test_help_names_the_default_proxy_the_search_uses(tmp_path: Path) -> None:
    """The help text and the library's default cannot drift apart (the default follows the evidence: README)."""
    from nas.search import DEFAULT_PROXY, ProxySpec

    proc = run_cli("--help", cwd=tmp_path)
    assert proc.returncode == 0 and f"(default: {DEFAULT_PROXY})" in " ".join(proc.stdout.split())
    assert ProxySpec().name == DEFAULT_PROXY


def test_the_search_times_paired_by_default_as_its_help_says(tmp_path: Path) -> None:
    """The library's default and the flag's agree (README: Paired timing); solo is one flag away."""
    from nas.cli import build_parser
    from nas.search import SearchConfig
    from nas.search.specs import DEFAULT_LATENCY

    parser = build_parser()
    assert DEFAULT_LATENCY == "paired"
    assert parser.parse_args(["search", "--latency-target", "5ms"]).latency.kind == DEFAULT_LATENCY
    assert parser.parse_args(["search", "--latency-target", "5ms", "--latency", "measure"]).latency.kind == "measure"
    assert SearchConfig(latency_target_ms=5.0).latency.kind == DEFAULT_LATENCY
    proc = run_cli("--help", cwd=tmp_path)
    assert "'paired' (default" in " ".join(proc.stdout.split())


def test_the_quality_benchmark_refuses_paired_timing(tmp_path: Path) -> None:
    from support import run_nas

    out = run_nas("benchmark", "quality", "--targets", "20ms", "--latency", "paired", cwd=tmp_path, timeout=120)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "--latency paired" in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_paired_search_whose_reference_ran_off_its_level_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """In process, no timing: the reference is stored at 7.5 ms and ran at 10.0 ms beside every candidate; the
    search prints one ``level:`` line, run.json's summary and leaderboard.md keep the check, and what is
    exported is re-levelled: 12 ms stored meets the 15-ms target, 12 × 10 / 7.5 = 16 ms does not."""
    import json

    import optuna

    import nas.latency.measure
    from nas.cli import main
    from nas.latency import Reference
    from nas.search.evaluate import Evaluator, Timing
    from support import write_space

    def reference(model: object, resolution: int, *, name: str, threads: int, batch_size: int = 1,
                  **_: object) -> Reference:
        return Reference(model, resolution, 7.5, name=name, threads=threads, batch_size=batch_size,
                         quiet={"noisy": False, "runs_ms": [7.5]})

    monkeypatch.setattr(nas.latency.measure, "measure_reference", reference)
    monkeypatch.setattr(Evaluator, "measure", lambda self, model, arch, layers: Timing(
        12.0, 0.1, noisy=False, others_cpu=0.0, reference_now_ms=10.0))
    code = main(["search", "--space", str(write_space(tmp_path)), "--latency-target", "15ms", "--latency", "paired",
                 "--trials", "8", "--proxy", "params", "--device", "cpu", "--confirm", "0", "--no-progress",
                 "--out", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert code == 0
    (run_json,) = (tmp_path / "runs").glob("*/run.json")
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{run_json.parent / 'study.db'}")
    timed = sum(t.state.name == "COMPLETE" and "duplicate_of" not in t.user_attrs for t in study.trials)
    assert timed >= 5
    # the sampler's constraints follow the level once 5 trials were timed: 12 ms stored, 16 ms re-levelled
    before, expected = 0, []
    for t in sorted(study.trials, key=lambda t: t.number):
        if t.state.name == "COMPLETE":
            expected.append(-3.0 if before < 5 else 1.0)
            before += "duplicate_of" not in t.user_attrs
    assert [t.system_attrs["constraints"][0] for t in study.trials if t.state.name == "COMPLETE"] == \
        pytest.approx(expected)
    assert expected.count(1.0) >= 1
    level = [line for line in out.splitlines() if line.startswith("level:")]
    assert level == [f"level:     the reference tiny_base ran at a median 10.00 ms beside {timed} candidates against "
                     "its first 7.50 ms (level ×0.75): the exported and reported latencies are re-levelled to it "
                     "(the study's values ×1.33); the study's own values (the dashboard's) keep the first scale"]
    assert "no trial met the 15 ms target (fastest: 16.00 ms)" in out
    import yaml

    rows = yaml.safe_load((run_json.parent / "pareto.yaml").read_text())["networks"]
    assert rows and {(r["latency_ms"], r["latency_study_ms"], r["feasible"]) for r in rows} == {(16.0, 12.0, False)}
    record = json.loads(run_json.read_text())["summary"]["latency_reference"]
    assert (record["beside_ms"], record["beside_trials"], record["level_factor"], record["level_off"]) == (
        10.0, timed, 0.75, True)
    board = (run_json.parent / "leaderboard.md").read_text()
    assert (f"- **paired reference:** tiny_base at 32 px, 7.50 ms (timed when the study was created); beside the "
            f"candidates it ran at a median 10.00 ms ({timed} trials): level ×0.75; the latencies here are "
            "re-levelled to it (×1.33 the study's stored values) — **the first timing was off**") in board


def test_a_run_folder_timed_alone_under_the_old_default_is_pointed_at(tmp_path: Path) -> None:
    """The default became paired: the same command would start a new study beside the old solo one; it says how
    to resume that one, and says nothing when the flag is given, the name is explicit or there is no such folder."""
    from nas.cli import build_parser
    from nas.cli.search import _solo_run_hint, config_from_args

    def hint(*extra: str) -> str | None:
        argv = ["--latency-target", "20ms", "--out", str(tmp_path / "runs"), *extra]
        args = build_parser().parse_args(["search", *argv])
        args.argv = argv
        return _solo_run_hint(args, config_from_args(args))

    assert hint() is None  # no old folder
    old = tmp_path / "runs" / "mnasnet-pareto-20ms-macs-measure-tpe-seed0"
    old.mkdir(parents=True)
    assert hint() == (f"note:      {old}/ was timed alone (the default before 2026-12-07); this command times "
                      "paired and starts a new study: add --latency measure to resume that one")
    assert hint("--latency", "paired") is None and hint("--latency=measure") is None
    assert hint("--study-name", "mine") is None
    (tmp_path / "runs" / "mnasnet-pareto-20ms-macs-paired-tpe-seed0").mkdir()
    assert hint() is None  # the paired study exists already: resuming it
