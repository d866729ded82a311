"""A run folder, ``runs/<study>/``: where its study lives (``run.json``), and loading that study back.

Written by the search (:func:`write_run_json`), read by export, report and the dashboard (:func:`open_run`,
:func:`load_run_study`), so that every command finds the same study from the folder alone, from any working
directory.
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from nas.errors import first_line
from nas.files import atomic_write
from nas.search.config import SearchConfig
from nas.search.study import parse_storage, shown_storage
from nas.version import __version__

__all__ = ["RunInfo", "load_run_study", "open_run", "read_json", "run_summary", "storage_run", "write_run_json",
           "write_run_summary"]


def write_run_json(run_dir: Path, config: SearchConfig, storage: str, name: str, settings: dict[str, Any]) -> Path:
    """``run_dir/run.json``: study, storage, command, config, versions, settings, date, host and pid."""
    import torch

    info = {"study": name, "storage": storage, "command": config.command, "config": dataclasses.asdict(config),
            "versions": {"nas": __version__, "torch": torch.__version__, "optuna": optuna.__version__,
                         "python": platform.python_version()},
            "settings": settings, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": platform.node(), "pid": os.getpid()}
    return atomic_write(run_dir / "run.json", json.dumps(info, indent=2, default=str) + "\n")


def run_summary(study: optuna.Study) -> dict[str, Any]:
    """What run.json's ``summary`` says of a search: trials, counted, failed, how many stand noisy (``noisy``: a
    quiet confirmation clears a trial) and how many were timed noisy in the search (``noisy_in_search``),
    the CPU load other processes put on the machine while candidates were timed (mean and max cores), and
    how many networks had their latency confirmed, with the range of search timing / confirmed median, and the
    reference of paired timing (:func:`nas.search.reference.reference_record`; ``None`` when solo)."""
    from nas.machine import loadavg
    from nas.search.front import completed_trials, confirmations
    from nas.search.objective import counted, cut_off, rejected
    from nas.search.reference import reference_record

    trials = study.get_trials(deepcopy=False)
    noisy_search = {t.number for t in trials if t.user_attrs.get("noisy") and "duplicate_of" not in t.user_attrs}
    ratios = [r["search_ms"] / r["latency_ms"] for r in confirmations(study).values()
              if isinstance(r.get("search_ms"), (int, float)) and r["latency_ms"] > 0
              and r.get("trial") not in noisy_search]  # a disturbed search timing is no winner's curse
    others = [t.user_attrs["others_cpu"] for t in trials if isinstance(t.user_attrs.get("others_cpu"), (int, float))]
    return {"trials": len(trials), "counted": sum(map(counted, trials)),
            "failed": sum(map(rejected, trials)),
            "cut_off": sum(map(cut_off, trials)),
            "noisy": sum(bool(t.user_attrs.get("noisy")) for t in completed_trials(study)
                         if "duplicate_of" not in t.user_attrs),
            "noisy_in_search": len(noisy_search),
            "others_cpu_mean": round(sum(others) / len(others), 3) if others else None,
            "others_cpu_max": round(max(others), 3) if others else None, "loadavg_at_end": loadavg(),
            "confirmed": len(ratios),
            "search_over_confirmed": [round(min(ratios), 3), round(max(ratios), 3)] if ratios else None,
            "latency_reference": reference_record(study)}


def write_run_summary(run_dir: Path, study: optuna.Study) -> dict[str, Any]:
    """Add :func:`run_summary` to ``run_dir/run.json`` (atomically) and return it."""
    info = read_json(run_dir / "run.json") or {}
    info["summary"] = run_summary(study)
    atomic_write(run_dir / "run.json", json.dumps(info, indent=2, default=str) + "\n")
    return info["summary"]


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or ``None`` if it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None



@dataclass(frozen=True)
class RunInfo:
    """Where a run directory's study lives."""

    run_dir: Path | None  # None: a study given by its storage alone
    storage: str
    study_name: str | None  # None: not recorded (no run.json)
    settings: dict[str, Any]


def open_run(run_dir: str | Path, storage: str | None = None, study_name: str | None = None) -> RunInfo:
    """Resolve a run directory (``runs/<study>/``) to its storage URL and study name.

    The storage is ``storage``, else the folder's own ``RUN_DIR/study.db`` when it has one (a run folder copied
    or moved, or recorded with a relative path from another working directory, reads its own database), else
    the one ``run.json`` records.
    Raises ``ValueError`` with a one-line message for a missing directory or database.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir}: no such run directory")
    info = read_json(run_dir / "run.json")
    if (run_dir / "run.json").is_file() and info is None:
        raise ValueError(f"{run_dir / 'run.json'}: not a readable JSON object")
    info = info or {}  # `{}` records nothing: the study is the run directory's own study.db, as without a run.json
    local = f"sqlite:///{run_dir / 'study.db'}"
    url = storage or info.get("storage") or local
    if storage is None and url.startswith("sqlite") and (run_dir / "study.db").is_file():
        url = local  # the folder's own database, whatever path run.json recorded (a copied or moved run folder)
    if url.startswith("sqlite:///"):
        db = Path(url[len("sqlite:///"):])
        if not db.is_file():
            raise ValueError(f"{db}: no such study database")
    settings = info.get("settings") if isinstance(info.get("settings"), dict) else {}
    return RunInfo(run_dir, url, study_name or info.get("study"), settings)


def storage_run(storage: str, study_name: str | None = None) -> RunInfo:
    """A study given by its storage URL (and name) alone. Raises ``ValueError`` (one line) for a SQLite URL
    whose file does not exist (Optuna would create an empty database there)."""
    parse_storage(storage)
    if storage.startswith("sqlite:///") and not Path(storage[len("sqlite:///"):]).is_file():
        raise ValueError(f"{storage}: no such database file")
    return RunInfo(None, storage, study_name, {})


def load_run_study(run: RunInfo) -> optuna.Study:
    """Load the run's study (the only one in the storage when ``run.json`` names none). Raises ``ValueError``
    (one line, the password hidden) for a missing driver (:func:`~nas.search.study.parse_storage`), an
    unreachable server, an unreadable database or a missing study."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    parse_storage(run.storage)
    try:
        names = [s.study_name for s in optuna.get_all_study_summaries(run.storage, include_best_trial=False)]
    except Exception as exc:  # an unreachable server, a corrupt file
        raise ValueError(f"{shown_storage(run.storage)}: {first_line(exc)}") from None
    name = run.study_name
    if name is None:
        if len(names) != 1:
            raise ValueError(f"{shown_storage(run.storage)} holds {len(names)} studies ({', '.join(names) or 'none'}); "
                             "name the study")
        name = names[0]
    if name not in names:
        raise ValueError(f"no study {name!r} in {shown_storage(run.storage)}; studies there: "
                         f"{', '.join(names) or 'none'}")
    return optuna.load_study(study_name=name, storage=run.storage)
