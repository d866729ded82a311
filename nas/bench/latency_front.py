"""The latency benchmark's part (f): the README's first command on a busy machine, as a user would meet it.

``nas search`` with :data:`FRONT_ARGS` (what ``python scripts/search.py --latency-target 20ms`` runs) is started in
a fresh folder, as its own process, while a :class:`nas.machine.BusyLoop` spins on one core (a browser tab, a
second job). When it has exported, the loop is stopped and every network of the exported front (``pareto.yaml``)
is timed again with nothing beside it, with the benchmark's own settings, and at once again with the busy loop
on — each :data:`RETIME_ROUNDS` times, round-robin over the front, judged by the median (one timing of a
network on this VM moves by up to 1.3× from one second to the next) — the load's effect in one minute, apart
from the machine's own drift between the search and the re-timing, which a ruler (a zoo net timed quiet before
the search and after the re-timing) measures. Goal (issue 12, acceptance 4): each reported latency within
±:data:`~nas.bench.latency_zoo.LOAD_TOLERANCE` of the quiet re-timing, or the network flagged noisy — the same
verdict as part (e) (:func:`~nas.bench.latency_zoo.load_verdict`).

Nothing here writes outside its temporary folder.
"""
from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import yaml
from tqdm.auto import tqdm

import nas
from nas.arch.io import load_arch
from nas.bench.latency_zoo import load_verdict
from nas.latency.measure import measure_latency
from nas.machine import BusyLoop
from nas.model.builder import build_model
from nas.search.run import read_json

__all__ = ["FRONT_ARGS", "RETIME_ROUNDS", "part_f"]

#: Quiet (and busy) re-timings per exported network; the median is compared with what the search reported.
RETIME_ROUNDS = 3

#: The search flags of the README's first quick-start command (a test keeps the two in step).
FRONT_ARGS: tuple[str, ...] = ("--latency-target", "20ms")


def _search(args: Sequence[str], folder: Path, core: int | None) -> dict[str, Any]:
    """Run ``nas search ARGS`` in ``folder`` beside a busy loop; its exit status, wall time and the last lines it
    printed (the load it saw is in its run summary)."""
    root = str(Path(nas.__file__).resolve().parents[1])  # this nas, whichever one pip points at
    paths = [root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    command = [sys.executable, "-m", "nas", "search", *args, "--no-progress"]
    with BusyLoop(core) as loop:
        started = time.perf_counter()
        proc = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    return {"args": list(args), "core": loop.core, "returncode": proc.returncode,
            "seconds": time.perf_counter() - started,
            "tail": (proc.stdout + proc.stderr).strip().splitlines()[-6:]}


def _retime(pareto: Path, settings: dict[str, Any], core: int | None, progress: bool,
            rounds: int = RETIME_ROUNDS) -> list[dict[str, Any]]:
    """Each exported network with a timed latency: what the busy search reported (latency, noisy flag,
    feasibility, and its single search timing where the search confirmed it) beside the median of ``rounds``
    quiet re-timings with ``settings`` in the search's own runtime (``pareto.yaml``'s ``latency_backend``),
    their ratio and the verdict; then, in the same minute, ``rounds`` more with the busy loop on
    (``now_busy_ms``, ``now_ratio``, ``now_verdict``): the load's effect alone, without the machine's drift
    between the search and the re-timing. Every round times each network once, so drift touches all alike."""
    meta = yaml.safe_load(pareto.read_text()) or {}
    settings = {**settings, "backend": meta.get("latency_backend") or settings.get("backend", "eager")}
    networks = [n for n in meta.get("networks") or []  # a row without a timed latency has nothing to compare
                if isinstance(n.get("latency_ms"), (int, float)) and (pareto.parent / str(n.get("file"))).is_file()]
    archs = [load_arch(pareto.parent / n["file"]) for n in networks]
    models = [build_model(a) for a in archs]
    timed: dict[str, list[list[Any]]] = {"quiet": [[] for _ in archs], "busy": [[] for _ in archs]}
    with tqdm(total=2 * rounds * len(archs), desc="(f) re-timing", unit="timing", disable=not progress) as bar:
        for mode in ("quiet", "busy"):
            with BusyLoop(core) if mode == "busy" else contextlib.nullcontext():
                for _ in range(rounds):
                    for i, (arch, model) in enumerate(zip(archs, models)):
                        timed[mode][i].append(measure_latency(model, arch.resolution, **settings))
                        bar.update()
    rows = []
    for n, arch, quiet_runs, busy_runs in zip(networks, archs, timed["quiet"], timed["busy"]):
        quiet, busy = _median(quiet_runs), _median(busy_runs)
        reported, noisy = float(n["latency_ms"]), bool(n.get("noisy"))
        single = n.get("latency_search_ms") if n.get("latency_confirmed") else None
        rows.append({"name": arch.name, "file": n["file"], "feasible": bool(n.get("feasible")),
                     "reported_ms": reported, "reported_noisy": noisy, "reported_others_cpu": n.get("others_cpu"),
                     "confirmed": bool(n.get("latency_confirmed")), "search_ms": single,
                     "search_ratio": single / quiet["ms"] if isinstance(single, (int, float)) else None,
                     "quiet_ms": quiet["ms"], "quiet_noisy": quiet["noisy"], "quiet_runs_ms": quiet["runs"],
                     "ratio": reported / quiet["ms"], "verdict": load_verdict(quiet["ms"], reported, noisy),
                     "now_busy_ms": busy["ms"], "now_busy_noisy": busy["noisy"], "now_ratio": busy["ms"] / quiet["ms"],
                     "now_verdict": load_verdict(quiet["ms"], busy["ms"], busy["noisy"])})
    return rows


def _median(results: list[Any]) -> dict[str, Any]:
    """The median latency (ms) of several :class:`~nas.latency.measure.LatencyResult` s, each one's median, and
    whether most of them were flagged noisy."""
    runs = [r.median_ms for r in results]
    return {"ms": float(statistics.median(runs)), "runs": [round(x, 3) for x in runs],
            "noisy": sum(r.noisy for r in results) * 2 > len(results)}


def _ruler(name: str | None, settings: dict[str, Any]) -> float | None:
    """The quiet latency (ms) of the zoo net ``name`` at 224 px now: a ruler for the machine's own speed."""
    return measure_latency(build_model(name), 224, **settings).median_ms if name else None


def part_f(args: Sequence[str], settings: dict[str, Any], core: int | None = None, progress: bool = False,
           ruler: str | None = None) -> dict[str, Any]:
    """README command 1 under one busy core (see the module). Returns ``search`` (:func:`_search`'s record),
    ``noisy_trials`` (how many ``pareto.yaml`` lists), ``run`` (``run.json``'s summary: trials, noisy trials, the
    other processes' load while candidates were timed; :func:`nas.search.run.run_summary`), ``rows`` (one
    per exported network, :func:`_retime`; empty when the search failed or exported nothing) and ``ruler``:
    the zoo net ``ruler`` timed quiet just before the search and after the re-timing (``before_ms``,
    ``after_ms``; ``None`` without one) — how far the machine's own speed moved in between."""
    before = _ruler(ruler, settings)
    with tempfile.TemporaryDirectory(prefix="nas-front-") as tmp:
        search = _search(args, Path(tmp), core)
        paretos = sorted(Path(tmp).glob("runs/*/pareto.yaml"))
        if search["returncode"] != 0 or not paretos:
            return {"search": search, "rows": [], "noisy_trials": None, "run": {},
                    "ruler": {"name": ruler, "before_ms": before, "after_ms": None} if ruler else None}
        meta = yaml.safe_load(paretos[0].read_text()) or {}
        summary = (read_json(paretos[0].parent / "run.json") or {}).get("summary") or {}
        rows = _retime(paretos[0], settings, core, progress)
    after = _ruler(ruler, settings)
    return {"search": search, "rows": rows, "noisy_trials": len(meta.get("noisy_trials") or []), "run": summary,
            "ruler": {"name": ruler, "before_ms": before, "after_ms": after} if ruler else None}
