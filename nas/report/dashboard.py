"""Open a run folder in optuna-dashboard: its study, its trials' YAML artifacts and a note with its settings
(``nas dashboard RUN_DIR``)."""
from __future__ import annotations

import socket
from pathlib import Path
from typing import Callable

from nas.search.run import load_run_study, open_run
from nas.search.study import write_study_note

__all__ = ["serve_dashboard"]


def serve_dashboard(run_dir: str | Path, *, host: str = "127.0.0.1", port: int = 8080, note: bool = True,
                    echo: Callable[[str], None] = print) -> None:
    """Serve the run's study in optuna-dashboard (blocks until interrupted).

    Storage from :func:`open_run`, artifact store ``RUN_DIR/artifacts`` (the trials' YAML files). With
    ``note``, a study without a note gets the run's settings as one (:func:`write_study_note`).
    Raises ``ValueError`` (one line) for a bad run directory, ``ImportError`` without optuna-dashboard and
    ``OSError`` when the address cannot be bound.
    """
    run = open_run(run_dir)
    _check_address(host, port)
    try:
        from optuna_dashboard import run_server
    except ImportError:
        raise ImportError("optuna-dashboard is not installed: pip install optuna-dashboard") from None
    study = load_run_study(run)
    settings = run.settings or study.user_attrs.get("settings") or {}
    if note and settings:
        write_study_note(study, settings, only_if_empty=True)
    artifacts = run.run_dir / "artifacts"
    store = None
    if artifacts.is_dir():
        from optuna.artifacts import FileSystemArtifactStore

        store = FileSystemArtifactStore(str(artifacts))
    else:
        echo(f"note: no {artifacts}/ — trial YAML artifacts will not download")
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
    echo(f"optuna-dashboard: http://{shown}:{port}/dashboard/studies/{study._study_id}  (study {study.study_name!r}, "
         f"storage {run.storage}; Ctrl-C stops)")
    run_server(run.storage, host=host, port=port, artifact_store=store)


def _check_address(host: str, port: int) -> None:
    """Raise ``OSError`` now if ``host:port`` can't be bound (as the dashboard's server would, after printing
    its banner)."""
    family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # like the server (wsgiref's allow_reuse_address)
        s.bind(address)
