"""Report: pareto.png is a real picture, leaderboard.md matches pareto.yaml row for row, empty studies don't
crash, and scripts/report.py regenerates both (one-line errors, exit 2).

Searches are tiny and use the fake latency of tests/test_search.py (MACs / 100k ms), so a 5 ms target splits
the trials into feasible and infeasible ones.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import optuna
import pytest
import yaml

from nas.report import format_latency, format_value, summarize, write_report
from nas.search import SearchResult, export_pareto, run_search
from nas.search.run import open_run
from support import run_script as run_shim, search_config

TARGET = 5.0  # ms: between the fastest (≈2.7 ms) and slowest (≈11 ms) tiny architectures


def search(space: Path, out: Path, **kw) -> SearchResult:  # noqa: ANN003
    """A search, its export and its report, as `nas search` does them."""
    config = search_config(space, out, **{"latency_target_ms": TARGET, "trials": 12, **kw})
    result = run_search(config)
    export_pareto(result.study, result.run_dir, config.latency_target_ms, top_k=config.top_k, echo=lambda s: None,
                  onnx=False)
    write_report(result.study, result.run_dir, config.latency_target_ms)
    return result


def check_png(path: Path) -> np.ndarray:
    """A readable PNG of a sensible size that is not blank."""
    import matplotlib.image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    assert 500 <= img.shape[0] <= 3000 and 700 <= img.shape[1] <= 4000, img.shape
    colours = np.unique((img[..., :3] * 255).round().astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 2
    return img


def table_rows(markdown: str) -> list[list[str]]:
    """The data rows of the leaderboard table, as lists of cell texts."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("| [") and line.endswith(" |"):
            rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return rows


def check_leaderboard_matches_listing(run_dir: Path, mnasnet: bool = False) -> list[dict]:
    listing = yaml.safe_load((run_dir / "pareto.yaml").read_text())
    networks = listing["networks"]
    text = (run_dir / "leaderboard.md").read_text()
    rows = table_rows(text)
    assert len(rows) == len(networks) == len(list((run_dir / "pareto").glob("*.yaml"))) > 0
    for row, net in zip(rows, networks):
        assert row[0] == f"[{net['file']}]({net['file']})"
        assert (run_dir / net["file"]).is_file()
        assert row[1] == str(net["trial"])
        assert row[3] == ("yes" if net["feasible"] else "no")
        assert row[4] == format_latency(net["latency_ms"], net["latency_iqr_ms"])
        assert row[5] == format_value(net["proxy_value"])
        if mnasnet:
            assert row[6] == format_value(net["mnasnet_reward"])
        assert row[-1] == f"`{net['timm_strings']}`"
        if net["latency_confirmed"]:  # the search's one timing, before the confirmation (nas.search.confirm)
            assert row[-4] == f"{net['latency_search_ms']:.2f}"
    assert {Path(n["file"]).name for n in networks} == {p.name for p in (run_dir / "pareto").glob("*.yaml")}
    return networks


def test_format_latency() -> None:
    assert format_latency(12.3456, 0.0789) == "12.35 ± 0.08"
    assert format_latency(3.0) == "3.00"
    assert format_latency(None, 1.0) == "–"
    assert format_value(12474.0) == "12,474" and format_value(0.71234) == "0.7123" and format_value(None) == "–"


def test_report_of_a_pareto_search(space_file: Path, tmp_path: Path, fake_latency: list[str]) -> None:
    result = search(space_file, tmp_path)
    run_dir = result.run_dir
    lat = [t.user_attrs["latency_ms"] for t in result.study.get_trials() if "latency_ms" in t.user_attrs]
    assert min(lat) <= TARGET < max(lat)  # both feasible and infeasible trials are drawn
    # the search wrote the report itself; writing it again gives the same two files
    assert (run_dir / "pareto.png").is_file() and (run_dir / "leaderboard.md").is_file()
    paths = write_report(result.study, run_dir)
    assert paths == [run_dir / "pareto.png", run_dir / "leaderboard.md"]
    check_png(run_dir / "pareto.png")
    assert not list(run_dir.glob(".*.tmp"))  # atomic writes leave nothing behind

    networks = check_leaderboard_matches_listing(run_dir)
    assert all(n["feasible"] for n in networks)
    # the front drawn in the picture is the exported front
    drawn = summarize(result.study, None).front
    assert {(p.latency_ms, p.proxy_value) for p in drawn} == {(n["latency_ms"], n["proxy_value"]) for n in networks}
    text = (run_dir / "leaderboard.md").read_text()
    study = result.study.study_name
    for fact in (f"`{study}`", "**latency target:** 5 ms", "**proxy:** params", "**latency method:** measure",
                 "**device:**", "**date:**", "proxy: params", "params (M)", "MACs (M)", "timm strings"):
        assert fact in text, fact
    reference = [n for n in networks if n["reference"]]
    if reference:  # the skeleton is the fastest net, so it is usually on the front
        assert f"(reference: {reference[0]['reference']})" in text


def test_report_of_a_mnasnet_search(space_file: Path, tmp_path: Path, fake_latency: list[str]) -> None:
    result = search(space_file, tmp_path, objective="mnasnet", trials=8, top_k=3)
    check_png(result.run_dir / "pareto.png")
    networks = check_leaderboard_matches_listing(result.run_dir, mnasnet=True)
    assert len(networks) <= 3
    assert "MnasNet reward" in (result.run_dir / "leaderboard.md").read_text()


def test_report_when_no_trial_meets_the_target(space_file: Path, tmp_path: Path, fake_latency: list[str]) -> None:
    result = search(space_file, tmp_path, latency_target_ms=0.5, trials=5, top_k=3)
    check_png(result.run_dir / "pareto.png")
    networks = check_leaderboard_matches_listing(result.run_dir)
    assert networks and not any(n["feasible"] for n in networks)
    assert "No trial met the 0.5 ms target" in (result.run_dir / "leaderboard.md").read_text()


@pytest.mark.parametrize("failures", [0, 3])
def test_empty_or_all_failed_study_does_not_crash(tmp_path: Path, failures: int) -> None:
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'study.db'}", study_name="empty",
                                directions=["maximize", "minimize"])
    study.set_user_attr("latency_target_ms", 20.0)

    def fail(trial: optuna.Trial) -> float:
        trial.set_user_attr("fail_reason", "out of memory: simulated")
        raise RuntimeError("simulated")

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study.optimize(fail, n_trials=failures, catch=(RuntimeError,))
    png, md = write_report(study, tmp_path)
    check_png(png)
    text = md.read_text()
    assert "No completed trials" in text and "**latency target:** 20 ms" in text
    assert ("3× out of memory: simulated" in text) == bool(failures)
    assert not table_rows(text)


def run_script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_shim("report.py", *args, cwd=cwd)


def test_script_regenerates_the_report(space_file: Path, tmp_path: Path, fake_latency: list[str]) -> None:
    run_dir = search(space_file, tmp_path / "runs", trials=6).run_dir
    before = (run_dir / "leaderboard.md").read_text()
    (run_dir / "pareto.png").unlink()
    (run_dir / "leaderboard.md").unlink()
    out = run_script(str(run_dir), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    check_png(run_dir / "pareto.png")
    check_leaderboard_matches_listing(run_dir)
    strip_date = lambda text: re.sub(r"\*\*date:\*\*.*", "", text)  # noqa: E731
    assert strip_date((run_dir / "leaderboard.md").read_text()) == strip_date(before)
    # an explicit storage and study name give the same result
    name = run_dir.name
    out = run_script(str(run_dir), "--storage", f"sqlite:///{run_dir / 'study.db'}", "--study", name, cwd=tmp_path)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("make,args,message", [
    (None, [], "no such run directory"),
    ("dir", [], "study.db: no such study database"),
    ("run", ["--study", "nope"], "no study 'nope'"),
    ("run", ["--target", "fast"], "invalid latency 'fast'"),
])
def test_script_errors_are_one_line_exit_2(space_file: Path, tmp_path: Path, fake_latency: list[str],
                                           make: str | None, args: list[str], message: str) -> None:
    run_dir = tmp_path / "runs" / "missing"
    if make == "dir":
        run_dir.mkdir(parents=True)
    elif make == "run":
        run_dir = search(space_file, tmp_path / "runs", trials=2).run_dir
    out = run_script(str(run_dir), *args, cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr


def test_relative_storage_recorded_elsewhere_falls_back_to_the_run_dir(space_file: Path, tmp_path: Path,
                                                                       fake_latency: list[str],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run_dir = search(space_file, Path("runs"), trials=2).run_dir  # run.json records sqlite:///runs/<study>/…
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    run = open_run(tmp_path / run_dir)
    assert run.storage == f"sqlite:///{tmp_path / run_dir / 'study.db'}" and run.study_name == run_dir.name


def test_run_json_that_records_nothing_means_the_run_dirs_own_database(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "run.json").write_text("{}")
    with pytest.raises(ValueError, match=r"^\S+/r/study\.db: no such study database$"):
        open_run(run_dir)
    (run_dir / "study.db").write_bytes(b"")
    run = open_run(run_dir)
    assert (run.storage, run.study_name, run.settings) == (f"sqlite:///{run_dir / 'study.db'}", None, {})
    (run_dir / "run.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"run\.json: not a readable JSON object$"):
        open_run(run_dir)


def test_a_copied_run_folder_reads_its_own_database(tmp_path: Path) -> None:
    original, copy = tmp_path / "runs" / "r", tmp_path / "copy"
    for folder in (original, copy):
        folder.mkdir(parents=True)
        (folder / "study.db").write_bytes(b"")
        (folder / "run.json").write_text(json.dumps({"storage": f"sqlite:///{original / 'study.db'}", "study": "r"}))
    assert open_run(copy).storage == f"sqlite:///{copy / 'study.db'}"
    assert open_run(original).storage == f"sqlite:///{original / 'study.db'}"
    assert open_run(copy, storage=f"sqlite:///{original / 'study.db'}").storage == f"sqlite:///{original / 'study.db'}"
    (copy / "study.db").unlink()  # no database of its own: the one recorded
    assert open_run(copy).storage == f"sqlite:///{original / 'study.db'}"
