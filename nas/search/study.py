"""The Optuna study of a search: storage, sampler, creation (exactly once, with its settings, metric names,
dashboard note and reference nets) and loading.

* :func:`make_storage` — RDB storage with heartbeats (a killed worker's trial is failed and retried once);
  SQLite in WAL mode.
* :func:`make_sampler` — Optuna's TPE, NSGA-II, GP or random sampler.
* :func:`open_study` — create the study (and, as its only creator, enqueue the space's reference nets) or load
  it.
* :func:`write_study_note` — the run's settings as the study's note in optuna-dashboard.
* :func:`fail_dead_trials` — Optuna's stale-trial check, plus the trials orphaned before their first heartbeat.
"""
from __future__ import annotations

import datetime
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import optuna

from nas.errors import first_line
from nas.markdown import cell
from nas.search.settings import check_same
from nas.signals import DeferSigint
from nas.space.space import SearchSpace

__all__ = ["CREATED", "ORPHAN_S", "check_storage", "fail_dead_trials", "make_sampler", "make_storage", "open_study",
           "parse_storage", "shown_storage", "write_study_note"]

#: The study user attribute its creator sets last: creation is complete.
CREATED = "nas_created"
#: Seconds after its start by which a live trial has published its architecture key (sampling takes
#: milliseconds to seconds): a RUNNING trial without one after this long lost its worker.
ORPHAN_S = 120.0

# Heartbeats, metric names and artifacts are marked experimental; they are the documented way, so say it once
# in this comment rather than on every run.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning, module=r"(nas|optuna)\.")


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    """Optuna's own samplers (constraints are read from each trial in Optuna 5)."""
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=False, n_startup_trials=10)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=10)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"unknown sampler {name!r}: use one of tpe, nsga2, gp, random")


def make_storage(url: str) -> optuna.storages.BaseStorage:
    """RDB storage with heartbeats, so a killed worker's trial is failed and retried once."""
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    storage = RDBStorage(url, heartbeat_interval=10, grace_period=30,
                         heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1), **kwargs)
    if url.startswith("sqlite"):
        _sqlite_without_fsync_per_commit(storage.engine)
    return storage


def _sqlite_without_fsync_per_commit(engine: Any) -> None:
    """Put a SQLite study in WAL mode with ``synchronous=NORMAL``.

    Optuna commits once per suggested parameter and per attribute — about 70 commits per trial here — and in
    SQLite's default rollback-journal mode every commit waits for fsync (~14 ms each on this VM under load,
    about 1 s per trial). In WAL mode with ``synchronous=NORMAL`` a commit is an append to the log, fsynced
    only at checkpoints: the database stays consistent after a crash and may lose only the last
    transactions of a power cut, which a resumable search redoes anyway. Readers (optuna-dashboard) don't
    block the writer. WAL needs a local file system (not NFS). Pooled connections made before this are
    dropped so that every connection gets the pragmas.
    """
    import sqlalchemy

    def pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    sqlalchemy.event.listen(engine, "connect", pragmas)
    engine.dispose()


def parse_storage(url: str) -> Any:
    """``url`` as a SQLAlchemy URL whose database driver is installed. Raises ``ValueError`` (one line, the
    password hidden) for a malformed URL, a SQLite URL that names no file, or a missing driver."""
    import sqlalchemy

    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise ValueError(f"invalid storage URL {url!r}: use sqlite:///FILE.db or postgresql://USER@HOST/DB") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and not parsed.database:
        raise ValueError(f"invalid storage URL {shown!r}: it names no database file; use sqlite:///FILE.db")
    try:
        parsed.get_dialect().import_dbapi()
    except ImportError as exc:  # ModuleNotFoundError included
        raise ValueError(f"cannot open storage {shown}: {exc} (SQLAlchemy's {parsed.get_backend_name()} driver "
                         f"{parsed.get_driver_name()!r} is not installed; the supported storages are sqlite:///FILE.db "
                         "and, for many workers, postgresql://USER@HOST/DB with the [postgres] extra)") from None
    except Exception as exc:  # an unknown dialect
        raise ValueError(f"cannot open storage {shown}: {first_line(exc)}") from None
    return parsed


def shown_storage(url: str) -> str:
    """``url`` as it may be printed: the password hidden (``postgresql://u:***@host/db``)."""
    import sqlalchemy

    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def check_storage(url: str, timeout_s: int = 10) -> None:
    """Raise ``ValueError`` (one line) unless ``url`` is a storage URL a study can live in (:func:`parse_storage`)
    and, for a server, the server answers within ``timeout_s`` seconds. Nothing is written."""
    import sqlalchemy

    parsed = parse_storage(url)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_file(parsed.database, parsed.render_as_string(hide_password=True))
        return
    args = {"connect_timeout": timeout_s} if parsed.get_backend_name() == "postgresql" else {}
    try:
        engine = sqlalchemy.create_engine(parsed, connect_args=args)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # an unreachable or refusing server
        raise ValueError(f"cannot open storage {parsed.render_as_string(hide_password=True)}: {first_line(exc)}") \
            from None


def _check_sqlite_file(database: str | None, shown: str) -> None:
    """``ValueError`` (one line) unless SQLite can open or create ``database`` (a path as SQLAlchemy gives it to
    SQLite: relative to the working folder, ``~`` not expanded): its folder exists and is writable, and it is not
    itself a folder. Nothing is created. In-memory and ``file:`` URI names are left to SQLite."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    folder = path.parent
    if path.is_dir():
        problem = f"{path} is a folder"
    elif not folder.is_dir():
        problem = f"no folder {folder}"
    elif not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.R_OK | os.W_OK)):
        problem = f"no permission to write {path if path.exists() else folder}"
    elif path.is_file() and not _sqlite_or_empty(path):
        problem = f"{path} is not an SQLite database file"
    else:
        return
    raise ValueError(f"cannot open storage {shown}: {problem}")


def _sqlite_or_empty(path: Path) -> bool:
    """True if ``path`` starts with SQLite's header (``SQLite format 3\\0``) or is empty (SQLite makes an empty
    file a new database); read only."""
    with open(path, "rb") as f:
        head = f.read(16)
    return not head or head == b"SQLite format 3\x00"


def open_study(storage: optuna.storages.BaseStorage, name: str, *, directions: list[str], sampler: Any,
               space: SearchSpace, settings: dict[str, Any], metric_names: list[str],
               latency_target_ms: float) -> optuna.Study:
    """Create the study — and then, as its only creator, record its settings and enqueue the reference nets —
    or load it and check that it was created with the same settings (``settings["fingerprint"]``).

    Creation is all or nothing: Ctrl-C during it is held back until it is complete (then delivered as usual),
    and the last step marks the study complete; a study found unmarked (its creator was killed half-way) is
    completed by whoever loads it next. Raises ``ValueError`` (one line) when a study of that name exists with
    other objectives, :class:`~nas.search.settings.SettingsMismatch` when it exists with other settings.
    """
    with DeferSigint():
        try:
            study = optuna.create_study(storage=storage, study_name=name, directions=directions, sampler=sampler)
        except optuna.exceptions.DuplicatedStudyError:
            study = optuna.load_study(storage=storage, study_name=name, sampler=sampler)
            if [d.name.lower() for d in study.directions] != directions:
                raise ValueError(f"study {name!r} exists with other objectives; pick another study name") from None
            if _wait_created(study):
                check_same(name, (study.user_attrs.get("settings") or {}).get("fingerprint"), settings["fingerprint"])
                return study
        _complete_creation(study, space, settings, metric_names, latency_target_ms)
    return study


def _wait_created(study: optuna.Study, patience_s: float = 10.0) -> bool:
    """Whether the study's creation is complete, waiting up to ``patience_s`` for a creator still at work."""
    deadline = time.monotonic() + patience_s
    while not study.user_attrs.get(CREATED):  # read from the storage on every access
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def _complete_creation(study: optuna.Study, space: SearchSpace, settings: dict[str, Any], metric_names: list[str],
                       latency_target_ms: float) -> None:
    """The creator's steps, each safe to repeat; the mark that they are all done comes last."""
    study.set_metric_names(metric_names)
    study.set_user_attr("settings", settings)
    study.set_user_attr("latency_target_ms", latency_target_ms)
    write_study_note(study, settings)
    if not any("reference" in t.user_attrs for t in study.get_trials(deepcopy=False)):
        for ref in space.reference_archs():
            study.enqueue_trial(space.params_of(ref), user_attrs={"reference": ref.name})
    study.set_user_attr(CREATED, True)


def write_study_note(study: optuna.Study, settings: dict[str, Any], *, only_if_empty: bool = False) -> bool:
    """Save the run's settings as the study's Markdown note in optuna-dashboard (its ``save_note``).

    Returns False, doing nothing, when optuna-dashboard is not installed or (``only_if_empty``) the study
    already has a note — one written by a person in the dashboard is never overwritten that way.
    """
    try:
        from optuna_dashboard import get_note, save_note
    except ImportError:
        return False
    if only_if_empty and get_note(study).strip():
        return False
    lines = [f"## {study.study_name}", "", "Settings of this `nas` search run:", "", "| setting | value |",
             "|---|---|"]
    for key, value in settings.items():
        text = value if isinstance(value, str) else json.dumps(value)
        lines.append(f"| {cell(key)} | {cell(text)} |")
    lines += ["", "Feasible means `constraints` = [latency_ms − target] ≤ 0 (user attribute `feasible`); the "
              "Pareto-front plot greys out and the timeline marks the infeasible trials. The *Best Trial* chips "
              "of the trial list and the *Best Trials* card ignore the constraint (an optuna-dashboard "
              "limitation): the exported front is `pareto.yaml` / `leaderboard.md` in the run directory. A paired "
              "study shows its first scale here (the constraints from the 6th trial on are judged re-levelled): the "
              "export re-levels every latency to the reference's median beside the candidates (`latency_level` in "
              "`pareto.yaml`), so feasibility there can differ.", "",
              "User attributes hold the latency (median, IQR, ms), params, MACs, proxy value and the MnasNet / "
              "timm strings; each trial's architecture is its YAML artifact."]
    save_note(study, "\n".join(lines) + "\n")
    return True


def fail_dead_trials(study: optuna.Study, *, orphan_s: float = ORPHAN_S) -> list[int]:
    """Fail the trials whose worker died, and hand each to the storage's stale-trial callback (one retry, a
    WAITING trial: :func:`make_storage`); returns the numbers failed here.

    Optuna's :func:`optuna.storages.fail_stale_trials` fails a RUNNING trial whose heartbeat stopped, but not
    one that never sent a heartbeat: a worker killed between ``study.ask()`` and its heartbeat thread's first
    beat leaves a trial RUNNING forever (found when a CI run's SIGKILL landed in that window; Optuna's own
    tests assert that such a trial is kept running). Such a trial has also not published its architecture key
    (:mod:`nas.search.objective` does that right after sampling), so a RUNNING trial with no ``arch_key``
    ``orphan_s`` seconds after it started is failed the same way. Two processes may both try: the second
    is told the trial is finished and skips it."""
    optuna.storages.fail_stale_trials(study)
    storage = study._storage  # Optuna exposes no public accessor; fail_stale_trials reads the same
    callback = getattr(storage, "get_heartbeat_stale_trial_callback", lambda: None)()
    now = datetime.datetime.now()
    failed = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if "arch_key" in t.user_attrs or t.datetime_start is None or \
                (now - t.datetime_start).total_seconds() < orphan_s:
            continue
        try:
            if not storage.set_trial_state_values(t._trial_id, state=optuna.trial.TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
        failed.append(t.number)
        if callback is not None:
            callback(study, storage.get_trial(t._trial_id))
    return failed
