"""The Optuna driver: sample architectures from a space, score them, keep everything in a study.

    from nas.search import SearchConfig, run_search
    result = run_search(SearchConfig(latency_target_ms=20, trials=50))

Objectives:

* ``pareto`` (default): maximize the proxy, minimize latency; the latency target is an Optuna constraint
  (``latency − target ≤ 0``), so the exported front holds only networks that meet it.
* ``mnasnet``: the MnasNet soft reward ``ACC · (LAT / T) ** w`` with ``w = −0.07`` (Tan et al. 2019), one
  objective to maximize; ``ACC`` is the proxy value, which must then be positive.

A trial stores in ``user_attrs``: latency (median, IQR, device, threads, method), params, MACs, proxy
value, MnasNet and timm strings, the canonical architecture key and the path of its YAML file (also an
Optuna artifact). Identical architectures are scored once: the lowest-numbered trial with an
architecture key owns it and later ones copy its result (``duplicate_of``), also across workers.
The study's creator — exactly one process, whatever the number of workers — enqueues the space's
reference nets.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform
import signal
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import optuna
from optuna.trial import FrozenTrial, TrialState

# Heartbeats, metric names and artifacts are marked experimental; they are the documented way, so say it once
# in this comment rather than on every run.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning, module=r"(nas|optuna)\.")

from nas.arch import Arch, ArchError, dump_arch
from nas.evaluate import DEFAULT_PROXY, CandidateError, Evaluator, Scores

__all__ = ["MNASNET_W", "SearchConfig", "SearchResult", "arch_key", "mnasnet_reward", "run_search"]

#: MnasNet's soft-constraint exponent (α = β = −0.07).
MNASNET_W = -0.07
SAMPLERS = ("tpe", "nsga2", "gp", "random")
OBJECTIVES = ("pareto", "mnasnet")
CONSTRAINTS_ATTR = "constraints"  # the list form: read by Optuna 5 samplers *and* optuna-dashboard 0.21


def mnasnet_reward(accuracy: float, latency_ms: float, target_ms: float, w: float = MNASNET_W) -> float:
    """MnasNet's reward ``ACC · (LAT/T)^w``."""
    return accuracy * (latency_ms / target_ms) ** w


def arch_key(arch: Arch) -> str:
    """A canonical identity of an architecture: SHA-1 of its YAML without the name (16 hex digits)."""
    return hashlib.sha1(dump_arch(dataclasses.replace(arch, name="-")).encode()).hexdigest()[:16]


@dataclass
class SearchConfig:
    """All options of a search. Paths are relative to the working directory."""

    latency_target_ms: float
    space: str = "search_spaces/mnasnet.yaml"
    trials: int = 50
    timeout: float | None = None  # seconds
    sampler: str = "tpe"
    seed: int = 0
    storage: str | None = None  # default: sqlite:///<out>/<study>/study.db
    study_name: str | None = None  # default: derived from the options
    latency: str = "measure"
    proxy: str = DEFAULT_PROXY
    data: str | None = None
    device: str = "auto"
    threads: int | None = None
    objective: str = "pareto"
    out: str = "runs"
    top_k: int = 5  # infeasible fallback / single-objective export size
    workers: int = 1  # processes on this machine (>1 needs a server database such as PostgreSQL)
    progress: bool = True
    command: list[str] = field(default_factory=lambda: list(sys.argv))

    def derived_study_name(self, space_name: str) -> str:
        target = f"{self.latency_target_ms:g}ms"
        latency = "lut" if self.latency.startswith("lut:") else self.latency
        proxy = self.proxy.replace(":", "-").replace("=", "").replace(",", "-")
        return f"{space_name}-{self.objective}-{target}-{proxy}-{latency}-{self.sampler}-seed{self.seed}"


@dataclass
class SearchResult:
    study: optuna.Study
    run_dir: Path
    storage: str
    exported: list[Path]
    feasible: bool
    interrupted: bool


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    """Optuna's own samplers; constraints are read from each trial (Optuna 5)."""
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=False, n_startup_trials=10)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=10)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"unknown sampler {name!r}: use one of {', '.join(SAMPLERS)}")


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


def set_latency_constraint(study: optuna.Study, trial: optuna.trial.Trial, value: float) -> None:
    """Record ``latency − target`` as the trial's constraint in the list form.

    Optuna 5 reads both this list and ``constraints:<key>`` attributes; optuna-dashboard 0.21 reads only
    the list. Writing the list once gives both the same single constraint (see tests/test_dashboard).
    """
    study._storage.set_trial_system_attr(trial._trial_id, CONSTRAINTS_ATTR, [float(value)])


def is_feasible(trial: FrozenTrial) -> bool:
    return trial.state == TrialState.COMPLETE and all(v <= 0 for v in trial.constraints.values())


class _Objective:
    """The per-trial work: sample, deduplicate, score, record."""

    def __init__(self, config: SearchConfig, space: Any, evaluator: Evaluator, run_dir: Path,
                 artifact_store: Any | None):
        self.config = config
        self.space = space
        self.evaluator = evaluator
        self.run_dir = run_dir
        self.artifact_store = artifact_store
        self.multi = config.objective == "pareto"

    def values(self, scores: Scores) -> tuple[float, ...]:
        if self.multi:
            return scores.proxy_value, scores.latency_ms
        if scores.proxy_value <= 0:
            raise CandidateError(f"the mnasnet objective needs a positive proxy value, got {scores.proxy_value:g}"
                                 f" from {scores.proxy}")
        return (mnasnet_reward(scores.proxy_value, scores.latency_ms, self.config.latency_target_ms),)

    def _owner(self, study: optuna.Study, key: str, number: int, timeout: float = 600) -> FrozenTrial | None:
        """The lowest-numbered other trial with the same architecture, if any (COMPLETE or RUNNING).

        Lower-numbered trials that are running but have not yet published their architecture key are
        waited for first (milliseconds: the key is set right after sampling), so two workers can never
        both miss each other and score the same architecture.
        """
        deadline = time.monotonic() + timeout
        while True:
            trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
            lower = [t for t in trials if t.number < number]
            unkeyed = [t for t in lower if t.state == TrialState.RUNNING and "arch_key" not in t.user_attrs]
            if not unkeyed or time.monotonic() > deadline:
                break
            optuna.storages.fail_stale_trials(study)
            time.sleep(0.05)
        owners = [t for t in lower if t.user_attrs.get("arch_key") == key and "fail_reason" not in t.user_attrs]
        return min(owners, key=lambda t: t.number) if owners else None

    def _wait_for(self, study: optuna.Study, owner: FrozenTrial, timeout: float = 1800) -> FrozenTrial | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            optuna.storages.fail_stale_trials(study)  # an owner whose worker died must not block us
            current = study._storage.get_trial(owner._trial_id)
            if current.state == TrialState.COMPLETE:
                return current
            if current.state.is_finished():
                return None
            time.sleep(0.5)
        return None

    def __call__(self, trial: optuna.trial.Trial) -> tuple[float, ...] | float:
        study = trial.study
        if _is_surplus(study, trial.number, self.config.trials):
            trial.set_user_attr("surplus", True)
            raise optuna.TrialPruned("the study already has its trials")
        study._storage.set_trial_system_attr(trial._trial_id, "nas_pid", os.getpid())
        arch = self.space.suggest(trial)
        key = arch_key(arch)
        arch = dataclasses.replace(arch, name=f"{self.space.name}-t{trial.number:04d}")
        trial.set_user_attr("arch_key", key)
        trial.set_user_attr("arch_name", arch.name)
        path = self.run_dir / "trials" / f"{trial.number:04d}.yaml"
        dump_arch(arch, path)
        trial.set_user_attr("yaml", str(path))
        self._strings(trial, arch)
        if self.artifact_store is not None:
            from optuna.artifacts import upload_artifact

            artifact_id = upload_artifact(artifact_store=self.artifact_store, file_path=str(path),
                                          study_or_trial=trial, mimetype="application/yaml")
            trial.set_user_attr("yaml_artifact_id", artifact_id)

        owner = self._owner(study, key, trial.number)
        if owner is not None and owner.state == TrialState.RUNNING:
            owner = self._wait_for(study, owner)
        if owner is not None:
            for name in _SCORE_ATTRS:
                if name in owner.user_attrs:
                    trial.set_user_attr(name, owner.user_attrs[name])
            trial.set_user_attr("duplicate_of", owner.number)
            set_latency_constraint(study, trial, owner.user_attrs["latency_ms"] - self.config.latency_target_ms)
            values = tuple(owner.values)
            return values if self.multi else values[0]

        try:
            scores = self.evaluator.evaluate(arch)
            values = self.values(scores)
        except CandidateError as exc:
            trial.set_user_attr("fail_reason", str(exc))
            raise
        record = {"latency_ms": scores.latency_ms, "latency_iqr_ms": scores.latency_iqr_ms,
                  "latency_method": scores.latency_method, "device": scores.device, "threads": scores.threads,
                  "params": scores.params, "macs": scores.macs, "proxy": scores.proxy,
                  "proxy_value": scores.proxy_value, "proxy_seconds": scores.proxy_seconds,
                  "feasible": scores.latency_ms <= self.config.latency_target_ms}
        if not self.multi:
            record["mnasnet_reward"] = values[0]
        for name, value in record.items():
            trial.set_user_attr(name, value)
        set_latency_constraint(study, trial, scores.latency_ms - self.config.latency_target_ms)
        return values if self.multi else values[0]

    @staticmethod
    def _strings(trial: optuna.trial.Trial, arch: Arch) -> None:
        from nas.strings import to_strings

        for fmt in ("mnasnet", "timm"):
            try:
                trial.set_user_attr(f"{fmt}_strings", " ".join(to_strings(arch, fmt)))
            except ArchError:
                trial.set_user_attr(f"{fmt}_strings", None)


_SCORE_ATTRS = ("latency_ms", "latency_iqr_ms", "latency_method", "device", "threads", "params", "macs", "proxy",
                "proxy_value", "proxy_seconds", "feasible", "mnasnet_reward")


class _Progress:
    """tqdm bar: trial n/N, best feasible, Pareto size, failures; ETA from tqdm."""

    def __init__(self, config: SearchConfig, done: int):
        from tqdm.auto import tqdm

        self.multi = config.objective == "pareto"
        self.bar = tqdm(total=config.trials, initial=min(done, config.trials), unit="trial",
                        disable=not config.progress, dynamic_ncols=True, file=sys.stderr)

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        trials = study.get_trials(deepcopy=False)
        feasible = [t for t in trials if is_feasible(t)]
        fails = sum(t.state == TrialState.FAIL for t in trials)
        if self.multi:
            best = max((t.values[0] for t in feasible), default=None)
            front = len(study.best_trials) if feasible else 0
            post = {"best_feasible_proxy": "-" if best is None else f"{best:.4g}", "pareto": front}
        else:
            best = max((t.value for t in feasible), default=None)
            post = {"best_feasible_reward": "-" if best is None else f"{best:.4g}"}
        post["fail"] = fails
        self.bar.set_postfix(post, refresh=False)
        self.bar.update(min(sum(_counted(t) for t in trials), self.bar.total) - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def _counted(t: FrozenTrial) -> bool:
    """A trial that has its result: scored (COMPLETE) or rejected as a candidate (FAIL with a reason).
    Trials that were killed or interrupted don't count: they are retried or resumed."""
    return t.state == TrialState.COMPLETE or (t.state == TrialState.FAIL and "fail_reason" in t.user_attrs)


def _tally(study: optuna.Study) -> tuple[int, int]:
    """(counted trials, active trials: RUNNING or WAITING)."""
    trials = study.get_trials(deepcopy=False)
    return (sum(_counted(t) for t in trials),
            sum(t.state in (TrialState.RUNNING, TrialState.WAITING) for t in trials))


def _is_surplus(study: optuna.Study, number: int, target: int) -> bool:
    """Whether trial ``number`` would take the study past ``target`` counted trials.

    Lower-numbered trials have priority: a trial proceeds only if the counted trials plus the active trials
    numbered below it leave room. Every lower-numbered trial exists before this check, so however many
    workers race, at most ``target`` trials are ever counted.
    """
    trials = study.get_trials(deepcopy=False)
    ahead = sum(_counted(t) or (t.number < number and t.state in (TrialState.RUNNING, TrialState.WAITING))
                for t in trials if t.number != number)
    return ahead >= target


def open_study(config: SearchConfig, space: Any, storage: optuna.storages.BaseStorage, name: str,
               settings: dict[str, Any]) -> optuna.Study:
    """Create the study — and then, as its only creator, enqueue the reference nets — or load it."""
    directions = ["maximize", "minimize"] if config.objective == "pareto" else ["maximize"]
    sampler = make_sampler(config.sampler, config.seed)
    try:
        study = optuna.create_study(storage=storage, study_name=name, directions=directions, sampler=sampler)
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(storage=storage, study_name=name, sampler=sampler)
        if [d.name.lower() for d in study.directions] != directions:
            raise ValueError(f"study {name!r} exists with other objectives; pick another --study-name") from None
        return study
    proxy_name = config.proxy
    study.set_metric_names([f"proxy:{proxy_name}", "latency_ms"] if config.objective == "pareto"
                           else ["mnasnet_reward"])
    study.set_user_attr("settings", settings)
    study.set_user_attr("latency_target_ms", config.latency_target_ms)
    from nas.report import write_study_note

    write_study_note(study, settings)  # the run's settings as an optuna-dashboard note
    for ref in space.reference_archs():
        study.enqueue_trial(space.params_of(ref), user_attrs={"reference": ref.name})
    return study


class _Worker:
    """One process's share of a search: its space, evaluator, storage, study and objective."""

    def __init__(self, config: SearchConfig):
        from nas.space import load_space

        optuna.logging.set_verbosity(optuna.logging.ERROR)  # failures are counted on the bar and kept per trial
        self.config = config
        self.space = load_space(config.space)
        self.evaluator = Evaluator(latency=config.latency, proxy=config.proxy, data=config.data,
                                   device=config.device, threads=config.threads, seed=config.seed)
        self.name = config.study_name or config.derived_study_name(self.space.name)
        self.run_dir = Path(config.out) / self.name
        self.storage_url = config.storage or f"sqlite:///{self.run_dir / 'study.db'}"
        self.settings = {"space": config.space, "objective": config.objective,
                         "latency_target_ms": config.latency_target_ms, "sampler": config.sampler,
                         "seed": config.seed, **self.evaluator.describe()}

    def open(self) -> optuna.Study:
        from optuna.artifacts import FileSystemArtifactStore

        (self.run_dir / "artifacts").mkdir(parents=True, exist_ok=True)
        self.study = open_study(self.config, self.space, make_storage(self.storage_url), self.name, self.settings)
        store = FileSystemArtifactStore(str(self.run_dir / "artifacts"))
        self.objective = _Objective(self.config, self.space, self.evaluator, self.run_dir, store)
        return self.study

    def loop(self, callbacks: list[Callable[[optuna.Study, FrozenTrial], None]], poll: float = 1.0) -> None:
        """Run one trial at a time until the study holds ``config.trials`` counted trials (or time is up).

        While the remaining trials are all running elsewhere, wait — failing trials whose worker stopped
        sending heartbeats, so that their retries are picked up here.
        """
        deadline = None if self.config.timeout is None else time.monotonic() + self.config.timeout
        while deadline is None or time.monotonic() < deadline:
            counted, active = _tally(self.study)
            if counted >= self.config.trials:
                return
            if counted + active >= self.config.trials:
                optuna.storages.fail_stale_trials(self.study)
                time.sleep(poll)
                continue
            self.study.optimize(self.objective, n_trials=1, catch=(CandidateError,), callbacks=callbacks)


def _worker_main(config: SearchConfig) -> None:
    """Entry point of an extra worker process (``--workers N``)."""
    worker = _Worker(config)
    worker.open()
    try:
        worker.loop([])
    except KeyboardInterrupt:
        pass


def run_search(config: SearchConfig, *, echo: Callable[[str], None] = print) -> SearchResult:
    """Run (or resume) a search until the study holds ``config.trials`` trials with a result, then export.

    With ``config.workers > 1`` the other workers are processes of this machine; the same command on
    another machine joins the same study. Ctrl-C stops (the running trials are marked failed) and still
    exports what there is.
    """
    from nas.export import export_pareto

    if config.latency_target_ms <= 0 or not math.isfinite(config.latency_target_ms):
        raise ValueError(f"latency target must be a positive number of ms, got {config.latency_target_ms}")
    if config.objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {config.objective!r}: use one of {', '.join(OBJECTIVES)}")
    make_sampler(config.sampler, config.seed)  # validate early
    if config.workers > 1 and (config.storage is None or config.storage.startswith("sqlite")):
        raise ValueError("--workers > 1 needs a server database (--storage postgresql://…): "
                         "SQLite is not for parallel workers")
    worker = _Worker(config)
    worker.run_dir.mkdir(parents=True, exist_ok=True)
    study = worker.open()
    _write_run_json(worker.run_dir, config, worker.storage_url, worker.name, worker.settings)

    import multiprocessing

    context = multiprocessing.get_context("spawn")
    others = [context.Process(target=_worker_main, args=(config,), daemon=False) for _ in range(config.workers - 1)]
    for p in others:
        p.start()
    progress = _Progress(config, _tally(study)[0])
    interrupted = False
    try:
        worker.loop([progress])
    except KeyboardInterrupt:
        interrupted = True
        for p in others:
            if p.is_alive() and p.pid is not None:
                os.kill(p.pid, signal.SIGINT)
    finally:
        for p in others:
            p.join()
        progress.close()
    exported, feasible = export_pareto(study, worker.run_dir, config.latency_target_ms, top_k=config.top_k,
                                       echo=echo)
    _report(worker.run_dir, study, config, echo)
    run_dir, storage_url, name = worker.run_dir, worker.storage_url, worker.name
    if interrupted:
        echo(f"interrupted: rerun the same command to resume study {name!r}")
    echo(f"study:     {storage_url} (study {name!r})")
    echo(f"run:       {run_dir}/ (run.json, trials/, pareto/, pareto.yaml, artifacts/)")
    echo(f"dashboard: python scripts/dashboard.py {run_dir}")
    return SearchResult(study, run_dir, storage_url, exported, feasible, interrupted)


def _report(run_dir: Path, study: optuna.Study, config: SearchConfig, echo: Callable[[str], None]) -> None:
    """Pareto picture and leaderboard, when the report module is available."""
    try:
        from nas.report import write_report
    except ImportError:
        return
    for path in write_report(study, run_dir, config.latency_target_ms):
        echo(f"report:    {path}")


def _write_run_json(run_dir: Path, config: SearchConfig, storage: str, name: str, settings: dict[str, Any]) -> None:
    import torch

    from nas import __version__

    info = {"study": name, "storage": storage, "command": config.command, "config": dataclasses.asdict(config),
            "versions": {"nas": __version__, "torch": torch.__version__, "optuna": optuna.__version__,
                         "python": platform.python_version()},
            "settings": settings, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": platform.node(), "pid": os.getpid()}
    tmp = run_dir / ".run.json.tmp"
    tmp.write_text(json.dumps(info, indent=2, default=str) + "\n")
    tmp.replace(run_dir / "run.json")
