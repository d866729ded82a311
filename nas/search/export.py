"""Export the best networks of a study as BlockArgs YAML files.

``<out>/pareto/<trial>_<name>.yaml`` — one buildable file per network (``nas.build_model(path)``), and
``<out>/pareto.yaml`` listing them with their scores and strings.

* Two objectives (proxy ↑, latency ↓): the Pareto front of the trials that meet the target, judged on the
  confirmed latencies where the search confirmed them (:mod:`nas.search.confirm`) and re-levelled where the
  study is paired (:mod:`nas.search.reference`); with the study's own target, no confirmation and no
  re-levelling this is exactly Optuna's constraint-aware ``study.best_trials``, as a test checks).
* One objective (MnasNet reward): the ``top_k`` feasible trials by reward.
* No feasible trial: the ``top_k`` trials closest to the target, each marked ``feasible: false``, and a
  plain sentence saying so.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import optuna
import yaml
from optuna.trial import FrozenTrial

from nas.arch.io import dump_arch, load_arch
from nas.arch.spec import Arch
from nas.files import atomic_write
from nas.model.onnx import OnnxExportError, export_beside
from nas.search.front import (completed_trials, confirmations, feasible_trials, is_feasible, latency_target,
                              pareto_front)
from nas.search.reference import reference_record
from nas.space.load import load_space

__all__ = ["export_pareto", "noisy_trials", "select_trials", "trial_arch"]


def select_trials(study: optuna.Study, target_ms: float, top_k: int = 5) -> tuple[list[FrozenTrial], bool]:
    """(trials to export, whether they meet ``target_ms``). A duplicated architecture appears once.

    Two objectives: the Pareto front of the feasible trials (:func:`nas.search.front.pareto_front`), by
    latency. One objective: the ``top_k`` feasible trials by reward. Nothing feasible: the ``top_k`` trials
    closest to the target.
    """
    multi = len(study.directions) > 1
    feasible = feasible_trials(study, target_ms)
    if feasible and multi:
        chosen = pareto_front(study, target_ms)
    elif feasible:
        chosen = sorted(feasible, key=lambda t: -t.value)
    else:
        complete = [t for t in completed_trials(study) if "latency_ms" in t.user_attrs]
        chosen = sorted(complete, key=lambda t: (t.user_attrs["latency_ms"], t.number))
    unique: dict[str, FrozenTrial] = {}
    for t in chosen:
        unique.setdefault(t.user_attrs.get("arch_key", str(t.number)), t)
    trials = list(unique.values())
    if multi and feasible:
        return sorted(trials, key=lambda t: t.values[1]), True
    return trials[:top_k], bool(feasible)


def _row(t: FrozenTrial, arch: Arch, file: Path, feasible: bool, trained: Any) -> dict[str, Any]:
    """What ``pareto.yaml`` says of one exported trial (its scores, strings, fidelity and accuracy)."""
    a = t.user_attrs
    return {"file": str(file), "trial": t.number, "name": arch.name, "feasible": feasible,
            "reference": a.get("reference"), "latency_ms": a.get("latency_ms"),
            "latency_iqr_ms": a.get("latency_iqr_ms"),
            "latency_method": a.get("latency_method"), "device": a.get("device"), "proxy": a.get("proxy"),
            "proxy_value": a.get("proxy_value"), "mnasnet_reward": a.get("mnasnet_reward"), "params": a.get("params"),
            "macs": a.get("macs"), "mnasnet_strings": a.get("mnasnet_strings"), "timm_strings": a.get("timm_strings"),
            "noisy": bool(a.get("noisy")), "others_cpu": a.get("others_cpu"), **_level(a), **_confirmation(a),
            "fidelity": trained.label if trained is not None else f"zero-cost:{a.get('proxy')}",
            "accuracy": trained.accuracy if trained is not None else None}


def _level(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """What a row of a re-levelled paired study says of it (:mod:`nas.search.reference`): the scale its
    latencies were multiplied by and the latency as the study stores it (the dashboard's)."""
    if "latency_level" not in attrs:
        return {}
    return {"latency_level": round(float(attrs["latency_level"]), 4), "latency_study_ms": attrs.get("latency_study_ms")}


def _confirmed(attrs: Mapping[str, Any]) -> bool:
    """Whether a trial's latency was confirmed (:mod:`nas.search.confirm`), not its single search timing."""
    return isinstance(attrs.get("latency_confirmed"), Mapping)


def _confirmation(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """What a row says of the latency's confirmation (:mod:`nas.search.confirm`): the search's own timing and
    the confirming timings (re-levelled like the row's latency), or ``latency_confirmed: false`` when the number
    is the search's single timing."""
    if not _confirmed(attrs):
        return {"latency_confirmed": False}
    record = attrs["latency_confirmed"]
    scale = float(attrs.get("latency_level", 1.0))
    timings = record.get("timings_ms")
    return {"latency_confirmed": True, "latency_search_ms": attrs.get("latency_search_ms"),
            "latency_timings_ms": [round(float(x) * scale, 4) for x in timings] if isinstance(timings, list)
            else timings}


def _say(study: optuna.Study, target: float, ok: bool, trials: list[FrozenTrial], files: list[Path], folder: Path,
         noisy: int, echo: Callable[[str], None]) -> None:
    """The lines telling the user what was exported (and what was not)."""
    complete = completed_trials(study)
    if not complete:
        echo("no trial completed: nothing to export")
    elif ok:
        echo(f"exported {len(files)} network(s) meeting the {target:g} ms target to {folder}/")
    else:
        fastest = min((t.user_attrs.get("latency_ms", float("inf")) for t in complete), default=float("nan"))
        echo(f"no trial met the {target:g} ms target (fastest: {fastest:.2f} ms); exported the {len(files)} "
             f"closest to {folder}/, marked feasible: false")
    single = [t for t in trials if not _confirmed(t.user_attrs)]
    if single and confirmations(study):  # the closest networks, when none is feasible, too
        own = latency_target(study)
        where = (f" (the confirmation timed the front at the study's own {own:g} ms target)"
                 if own is not None and own != target else "")
        echo(f"note: {len(single)} of the {len(files)} are judged on their single search timing, not confirmed{where}: "
             "single timings on a front tend to read low (pareto.yaml: latency_confirmed)")
    if noisy:
        echo(f"{noisy} trial(s) measured noisy (other processes busy): not feasible on that number alone, listed "
             "under noisy_trials in pareto.yaml")


def _onnx_beside(path: Path, staging: Path, folder: str) -> dict[str, Any]:
    """Export the YAML at ``path`` (in ``staging``) to ONNX beside it; what ``pareto.yaml`` records of it, its
    file named as it will be once ``staging`` is ``folder`` (or why it failed)."""
    try:
        info = export_beside(path)
    except OnnxExportError as exc:
        return {"file": None, "error": str(exc)}
    return {"file": str(Path(folder) / Path(info.path).relative_to(staging)), "exporter": info.exporter,
            "fallback_reason": info.fallback_reason or None, "opset": info.opset, "max_abs_diff": info.max_abs_diff}


def _previous_onnx(out: Path) -> dict[str, dict[str, Any]]:
    """The ONNX records of the front ``out/pareto.yaml`` lists now, by YAML file name (empty if unreadable)."""
    try:
        listing = yaml.safe_load((out / "pareto.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    rows = listing.get("networks") if isinstance(listing, dict) else None
    return {Path(str(r["file"])).name: r["onnx"] for r in rows or []
            if isinstance(r, dict) and r.get("file") and isinstance(r.get("onnx"), dict) and r["onnx"].get("file")}


def _reuse_onnx(path: Path, staging: Path, folder: Path,
                previous: Mapping[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The previous export's ONNX of the YAML at ``path``, linked into ``staging``, and its record — when the front
    in ``folder`` holds the byte-identical YAML and that ONNX file (the ONNX depends on the arch alone: batch 1,
    its resolution, weights from seed 0); ``None`` otherwise. A rerun of a finished search re-exports nothing."""
    record = previous.get(path.name)
    old_yaml = folder / path.name
    if record is None or not old_yaml.is_file() or old_yaml.read_bytes() != path.read_bytes():
        return None
    old_onnx = folder / Path(str(record["file"])).name
    if not old_onnx.is_file():
        return None
    try:
        os.link(old_onnx, staging / old_onnx.name)
    except OSError:
        shutil.copy2(old_onnx, staging / old_onnx.name)
    return dict(record)


def target_dir(run_dir: str | Path, target_ms: float) -> Path:
    """Where a run's front re-judged at another latency target lives: ``RUN_DIR/target-<T>ms/`` (``nas export
    --target`` writes it, ``nas report --target`` draws it), so the search's own front is never overwritten.

    ``<T>`` is the shortest text that reads back as ``target_ms`` (``15``, ``12.5``, ``1e-05``, ``1e+300``): two
    targets share a folder only when they are the same float, and the name stays short at any magnitude."""
    text = repr(float(target_ms)).removesuffix(".0")
    return Path(run_dir) / f"target-{text}ms"


def _staging(out: Path) -> Path:
    """A new empty folder ``out/.pareto-new-<pid>`` for the front being written; folders that exports killed
    mid-way left (their process gone) are removed first."""
    for stale in out.glob(".pareto-*-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    staging = out / f".pareto-new-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (someone else's counts: signal 0 is then refused, not unknown)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _swap_in(staging: Path, folder: Path) -> None:
    """Make ``staging`` the new ``folder`` by two renames (the old one, if any, moved aside and then removed):
    readers see the whole old front or the whole new one. Retried if another export swaps at the same time."""
    olds = [folder.with_name(f".pareto-old{attempt}-{os.getpid()}") for attempt in range(20)]
    for attempt, old in enumerate(olds):
        try:
            if folder.exists():
                folder.rename(old)
            staging.rename(folder)
            break
        except OSError:
            if attempt == len(olds) - 1:
                raise
            time.sleep(0.05)
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)


def noisy_trials(study: optuna.Study) -> list[dict[str, Any]]:
    """The completed trials whose latency stayed noisy after its retries — not feasible on that number alone,
    so never on the exported front — with what was measured: worth re-measuring on a quiet machine."""
    return [{"trial": t.number, "name": t.user_attrs.get("arch_name"), "latency_ms": t.user_attrs.get("latency_ms"),
             "others_cpu": t.user_attrs.get("others_cpu"), "proxy_value": t.user_attrs.get("proxy_value")}
            for t in completed_trials(study) if t.user_attrs.get("noisy") and "duplicate_of" not in t.user_attrs]


def trial_arch(study: optuna.Study, trial: FrozenTrial) -> Arch:
    """The architecture of a trial: its YAML file if present, else rebuilt from its parameters."""
    path = trial.user_attrs.get("yaml")
    if path and Path(path).is_file():
        return load_arch(path)
    settings = study.user_attrs.get("settings", {})
    space = load_space(settings.get("space", "mnasnet"))
    arch = space.from_params(trial.params)
    return arch.replace(name=trial.user_attrs.get("arch_name", f"{space.name}-t{trial.number:04d}"))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "net"


def export_pareto(study: optuna.Study, out_dir: str | Path, target_ms: float | None = None, *, top_k: int = 5,
                  trained: Mapping[int, Any] | None = None, onnx: bool = True,
                  echo: Callable[[str], None] = print) -> tuple[list[Path], bool]:
    """Write the selected networks and ``pareto.yaml`` under ``out_dir``; returns (files, feasible).

    ``trained`` maps trial numbers to their highest fidelity (:func:`nas.search.refine.fidelities`): those
    networks are exported too, each row says its ``fidelity`` (``zero-cost:<proxy>`` or ``train:epochs=N,…``) and
    ``accuracy`` where trained, and the rows are ranked by the highest fidelity each network has — trained ones
    first, most epochs first, then by accuracy — then the rest by latency.

    With ``onnx``, each YAML gets its ONNX export beside it (same stem; batch 1, the arch's resolution and
    channels, weights from seed 0, checked against PyTorch to 1e-4: :func:`nas.model.onnx.export_beside`); the
    row's ``onnx`` records the exporter, opset and difference, or the reason the export failed.
    """
    out = Path(out_dir)
    target = latency_target(study, target_ms)
    if target is None:
        raise ValueError(f"study {study.study_name!r} records no latency target; give one")
    trials, ok = select_trials(study, float(target), top_k)
    trained = dict(trained or {})
    chosen = {t.number for t in trials}
    trials += [t for t in completed_trials(study) if t.number in trained and t.number not in chosen]
    trials.sort(key=lambda t: (0, -trained[t.number].epochs, -trained[t.number].accuracy) if t.number in trained
                else (1, 0, t.user_attrs.get("latency_ms", 0.0)))
    folder = out / "pareto"
    staging = _staging(out)  # the new front is built aside and swapped in whole: a kill never leaves half of it
    previous = _previous_onnx(out) if onnx else {}
    files: list[Path] = []
    rows: list[dict[str, Any]] = []
    for t in trials:
        arch = trial_arch(study, t)
        path = staging / f"{t.number:04d}_{_slug(arch.name)}.yaml"
        dump_arch(arch, path)
        files.append(folder / path.name)
        rows.append({**_row(t, arch, Path(folder.name) / path.name, is_feasible(t, target), trained.get(t.number)),
                     "onnx": (_reuse_onnx(path, staging, folder, previous) or _onnx_beside(path, staging, folder.name))
                     if onnx else None, "rank": len(rows) + 1})
    _swap_in(staging, folder)
    settings = study.user_attrs.get("settings") or {}
    summary = {"study": study.study_name, "latency_target_ms": target, "feasible": ok,
               "latency_backend": settings.get("latency_backend", "eager"),
               "latency_method": settings.get("latency_method"), "latency_reference": reference_record(study),
               "objectives": list(study.metric_names or []), "networks": rows, "noisy_trials": noisy_trials(study)}
    atomic_write(out / "pareto.yaml", yaml.safe_dump(summary, sort_keys=False, allow_unicode=True, width=120))
    _say(study, target, ok, trials, files, folder, len(summary["noisy_trials"]), echo)
    return files, ok
