"""`nas dashboard` (scripts/dashboard.py) serves a finished run in the real optuna-dashboard: over its JSON API and in a browser.

What optuna-dashboard 0.21 does with our study (read in its source, checked here end to end):

* constraints: ``_serializer.serialize_frozen_trial`` sends the trial system attr ``"constraints"`` (the list
  form our search writes) as ``trial.constraints``; the web UI calls a trial feasible when
  ``constraints.every(c => c <= 0)`` (Pareto-front plot, timeline "Infeasible", slice/contour plots).
* metric names: ``serialize_study_detail`` sends the study system attr ``"study:metric_names"`` (written by
  ``study.set_metric_names``) as ``objective_names``.
* user attrs: sent as ``[{key, value}]`` with numbers as ``str(value)``.
* artifacts: trial system attrs ``"artifacts:<id>"`` (written by ``optuna.artifacts.upload_artifact``) are
  listed per trial and downloaded from ``/artifacts/<study_id>/<trial_id>/<artifact_id>``.
* the study note: study system attrs ``dashboard:note_ver`` / ``dashboard:note_str:<i>`` (``save_note``).

Skipped only when optuna-dashboard (API test) or selenium / Chromium (browser test) are not installed.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from nas.search import Evaluator, SearchResult, export_pareto, run_search
from support import ROOT, fake_latency_ms, search_config, write_space
TARGET = 5.0  # ms: the tiny space's fake latencies run from ≈2.7 to ≈11 ms
DEADLINE = 180.0  # s: generous; a poll, never a timing assertion
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> SearchResult:
    """A tiny finished search with feasible and infeasible trials and a reference net (fake latency)."""
    tmp = tmp_path_factory.mktemp("dashboard")
    space = write_space(tmp)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Evaluator, "measure", fake_latency_ms)
        result = run_search(search_config(space, tmp / "runs", latency_target_ms=TARGET, trials=12))
    export_pareto(result.study, result.run_dir, echo=lambda s: None, onnx=False)
    lat = [t.user_attrs["latency_ms"] for t in result.study.get_trials() if "latency_ms" in t.user_attrs]
    assert min(lat) <= TARGET < max(lat), lat
    assert any(t.user_attrs.get("reference") for t in result.study.trials)
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (local test server)
        return response.read()


def get_json(url: str) -> Any:
    return json.loads(get(url))


@pytest.fixture(scope="module")
def server(finished: SearchResult, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``python scripts/dashboard.py RUN --port P`` in a subprocess, up and answering; killed at the end."""
    pytest.importorskip("optuna_dashboard", reason="optuna-dashboard is not installed (pip install optuna-dashboard)")
    port = free_port()
    logs = tmp_path_factory.mktemp("dashboard-logs")
    out, err = open(logs / "stdout", "w"), open(logs / "stderr", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "dashboard.py"), str(finished.run_dir),
                             "--port", str(port), "--host", "127.0.0.1"], stdout=out, stderr=err, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dashboard exited with {proc.returncode}: {(logs / 'stderr').read_text()[-2000:]}")
            try:
                meta = get_json(f"{base}/api/meta")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"dashboard did not answer on {base}: {(logs / 'stderr').read_text()[-2000:]}")
                time.sleep(0.5)
        yield {"base": base, "meta": meta, "stdout": logs / "stdout"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        out.close()
        err.close()


def study_id(server: dict[str, Any], name: str) -> int:
    studies = get_json(f"{server['base']}/api/studies")["study_summaries"]
    matches = [s["study_id"] for s in studies if s["study_name"] == name]
    assert len(matches) == 1, studies
    return matches[0]


def test_api_serves_trials_attrs_artifacts_and_constraints(finished: SearchResult, server: dict[str, Any]) -> None:
    study = finished.study
    base = server["base"]
    assert server["meta"]["artifact_is_available"] is True
    sid = study_id(server, study.study_name)
    printed = server["stdout"].read_text()
    assert f"{base}/dashboard/studies/{sid}" in printed  # the script prints the study's URL

    detail = get_json(f"{base}/api/studies/{sid}?after=0")
    trials = study.get_trials()
    assert len(detail["trials"]) == len(trials) >= 12  # 12 distinct architectures, and any duplicates
    assert detail["objective_names"] == ["proxy:params", "latency_ms"]
    assert detail["directions"] == ["maximize", "minimize"]
    study_attrs = {a["key"]: a["value"] for a in detail["user_attrs"]}
    assert float(study_attrs["latency_target_ms"]) == TARGET and "settings" in study_attrs
    # the run's settings became the study note (no note existed)
    assert study.study_name in detail["note"]["body"] and "latency_target_ms" in detail["note"]["body"]

    served = {t["number"]: t for t in detail["trials"]}
    feasible_seen = infeasible_seen = 0
    for t in trials:
        s = served[t.number]
        assert s["state"] == t.state.name.capitalize()
        attrs = {a["key"]: a["value"] for a in s["user_attrs"]}
        for key in ("latency_ms", "params", "macs", "proxy_value"):
            assert attrs[key] == str(t.user_attrs[key]), key
        assert attrs["timm_strings"] == t.user_attrs["timm_strings"] and attrs["timm_strings"].startswith("ir_")
        if t.user_attrs.get("reference"):
            assert attrs["reference"] == t.user_attrs["reference"]

        # the trial's YAML is listed as its artifact and downloads byte for byte
        artifact_id = t.user_attrs["yaml_artifact_id"]
        [artifact] = [a for a in s["artifacts"] if a["artifact_id"] == artifact_id]
        yaml_path = Path(t.user_attrs["yaml"])
        assert artifact["filename"] == yaml_path.name
        assert get(f"{base}/artifacts/{sid}/{s['trial_id']}/{artifact_id}") == yaml_path.read_bytes()

        # constraints: [latency − target, noisy], list form; the UI's rule (every value ≤ 0) gives our feasibility
        latency = t.user_attrs["latency_ms"]
        assert s["constraints"] == pytest.approx([latency - TARGET, 0.0])  # [latency − target, noisy]
        ui_feasible = all(c <= 0 for c in s["constraints"])
        assert ui_feasible == (latency <= TARGET) == t.user_attrs["feasible"]
        if ui_feasible:
            feasible_seen += 1
            assert s["constraints"][0] <= 0
        else:
            infeasible_seen += 1
            assert s["constraints"][0] > 0
        assert s["values"] == pytest.approx(t.values)
    assert feasible_seen and infeasible_seen


def chrome(tmp_path: Path, height: int) -> Any:
    pytest.importorskip("selenium", reason="selenium is not installed (pip install selenium)")
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip("Chromium is not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync",
                f"--window-size=1400,{height}", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def body_text(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def test_browser_renders_the_trial_list(finished: SearchResult, server: dict[str, Any], tmp_path: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    sid = study_id(server, finished.study.study_name)
    numbers = [t.number for t in finished.study.trials]
    driver = chrome(tmp_path, height=1000)
    try:
        driver.get(f"{server['base']}/dashboard/studies/{sid}/trials")
        WebDriverWait(driver, DEADLINE).until(lambda d: "Trial 0" in body_text(d)
                                              and f"{len(numbers)} Trials" in body_text(d))
        text = body_text(driver)
        shown = [n for n in numbers if f"Trial {n}\n" in text]
        assert shown[:4] == [0, 1, 2, 3], text[:500]  # the list is virtualised: the first ones are on screen
        assert "latency_ms" in text and "timm_strings" in text and "0000.yaml" in text  # trial 0's details
        shot = tmp_path / "dashboard_trials.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        if os.environ.get("NAS_DASHBOARD_SCREENSHOT"):  # keep a copy to look at
            shutil.copyfile(shot, os.environ["NAS_DASHBOARD_SCREENSHOT"])

        # the study page classifies trials with the constraints: its timeline has an "Infeasible" series
        driver.get(f"{server['base']}/dashboard/studies/{sid}")
        WebDriverWait(driver, DEADLINE).until(lambda d: "Infeasible" in body_text(d))
        assert "proxy:params" in body_text(driver)
    finally:
        driver.quit()


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "dashboard.py"), *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("make,message", [(None, "no such run directory"),
                                          ("dir", "study.db: no such study database")])
def test_script_errors_are_one_line_exit_2(tmp_path: Path, make: str | None, message: str) -> None:
    run_dir = tmp_path / "runs" / "missing"
    if make == "dir":
        run_dir.mkdir(parents=True)
    out = run_script(str(run_dir), "--port", str(free_port()))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert not (run_dir / "study.db").exists()  # nothing created


def test_busy_port_is_a_one_line_error(finished: SearchResult) -> None:
    pytest.importorskip("optuna_dashboard", reason="optuna-dashboard is not installed (pip install optuna-dashboard)")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        out = run_script(str(finished.run_dir), "--port", str(busy.getsockname()[1]))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot serve on 127.0.0.1:" in lines[0], out.stderr


def test_study_note_holds_the_settings_and_never_overwrites_a_person_s_note() -> None:
    pytest.importorskip("optuna_dashboard", reason="optuna-dashboard is not installed (pip install optuna-dashboard)")
    import optuna
    from optuna_dashboard import get_note, save_note

    from nas.search.study import write_study_note

    study = optuna.create_study(study_name="noted")
    assert write_study_note(study, {"proxy": "synflow", "latency_target_ms": 20.0})
    note = get_note(study)
    assert "## noted" in note and "| proxy | synflow |" in note and "| latency_target_ms | 20.0 |" in note
    save_note(study, "my own words")
    assert not write_study_note(study, {"proxy": "x"}, only_if_empty=True)
    assert get_note(study) == "my own words"
