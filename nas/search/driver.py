"""The Optuna driver: run (or resume) a search until its study holds ``trials`` trials with a result.

    from nas.search import SearchConfig, run_search
    result = run_search(SearchConfig(latency_target_ms=20, trials=50))

One process or many: with ``workers > 1`` the other workers are processes of this machine, and the same
command on another machine joins the same study (PostgreSQL). The study's creator — exactly one process,
whatever the number of workers — enqueues the space's reference nets. Exporting the front and drawing the
reports is the caller's job (:mod:`nas.search.export`, :mod:`nas.report`; the ``nas search`` command does both).
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path
from typing import Callable

import optuna
from optuna.trial import FrozenTrial, TrialState

from nas.search.config import SearchConfig, SearchResult
from nas.search.evaluate import CandidateError, Evaluator
from nas.search.front import is_feasible
from nas.search.objective import Objective, counted
from nas.search.run import write_run_json
from nas.search.study import make_sampler, make_storage, open_study
from nas.space.load import load_space

__all__ = ["Worker", "run_search"]

Callback = Callable[[optuna.Study, FrozenTrial], None]


class Progress:
    """tqdm bar: trial n/N, best feasible proxy or reward, Pareto size, failures; ETA from tqdm."""

    def __init__(self, config: SearchConfig, done: int):
        from tqdm.auto import tqdm

        self.multi = config.objective == "pareto"
        self.bar = tqdm(total=config.trials, initial=min(done, config.trials), unit="trial",
                        disable=not config.progress, dynamic_ncols=True, file=sys.stderr)

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        trials = study.get_trials(deepcopy=False)
        feasible = [t for t in trials if is_feasible(t)]
        best = max((t.values[0] for t in feasible), default=None)
        if self.multi:
            post = {"best_feasible_proxy": "-" if best is None else f"{best:.4g}",
                    "pareto": len(study.best_trials) if feasible else 0}
        else:
            post = {"best_feasible_reward": "-" if best is None else f"{best:.4g}"}
        post["fail"] = sum(t.state == TrialState.FAIL for t in trials)
        self.bar.set_postfix(post, refresh=False)
        self.bar.update(min(sum(counted(t) for t in trials), self.bar.total) - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def tally(study: optuna.Study) -> tuple[int, int]:
    """(counted trials, active trials: RUNNING or WAITING)."""
    trials = study.get_trials(deepcopy=False)
    return (sum(counted(t) for t in trials),
            sum(t.state in (TrialState.RUNNING, TrialState.WAITING) for t in trials))


class Worker:
    """One process's share of a search: its space, evaluator, storage, study and objective."""

    def __init__(self, config: SearchConfig):
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

        config = self.config
        (self.run_dir / "artifacts").mkdir(parents=True, exist_ok=True)
        multi = config.objective == "pareto"
        self.study = open_study(make_storage(self.storage_url), self.name,
                                directions=["maximize", "minimize"] if multi else ["maximize"],
                                sampler=make_sampler(config.sampler, config.seed), space=self.space,
                                settings=self.settings,
                                metric_names=[f"proxy:{config.proxy.label}", "latency_ms"] if multi
                                else ["mnasnet_reward"], latency_target_ms=config.latency_target_ms)
        store = FileSystemArtifactStore(str(self.run_dir / "artifacts"))
        self.objective = Objective(space=self.space, evaluator=self.evaluator, target_ms=config.latency_target_ms,
                                   trials=config.trials, multi=multi, run_dir=self.run_dir, artifact_store=store)
        return self.study

    def loop(self, callbacks: list[Callback], poll: float = 1.0) -> None:
        """Run one trial at a time until the study holds ``config.trials`` counted trials (or time is up).

        While the remaining trials are all running elsewhere, wait — failing trials whose worker stopped
        sending heartbeats, so that their retries are picked up here.
        """
        deadline = None if self.config.timeout is None else time.monotonic() + self.config.timeout
        while deadline is None or time.monotonic() < deadline:
            done, active = tally(self.study)
            if done >= self.config.trials:
                return
            if done + active >= self.config.trials:
                optuna.storages.fail_stale_trials(self.study)
                time.sleep(poll)
                continue
            self.study.optimize(self.objective, n_trials=1, catch=(CandidateError,), callbacks=callbacks)


def _worker_main(config: SearchConfig) -> None:
    """Entry point of an extra worker process (``--workers N``)."""
    worker = Worker(config)
    worker.open()
    try:
        worker.loop([])
    except KeyboardInterrupt:
        pass


def run_search(config: SearchConfig) -> SearchResult:
    """Run (or resume) a search until the study holds ``config.trials`` trials with a result.

    Ctrl-C stops (the running trials are marked failed; ``SearchResult.interrupted``). Raises ``ValueError``
    (one line) for settings that cannot work, before anything is written.
    """
    config.validate()
    worker = Worker(config)
    worker.run_dir.mkdir(parents=True, exist_ok=True)
    study = worker.open()
    write_run_json(worker.run_dir, config, worker.storage_url, worker.name, worker.settings)
    context = multiprocessing.get_context("spawn")
    others = [context.Process(target=_worker_main, args=(config,), daemon=False) for _ in range(config.workers - 1)]
    for p in others:
        p.start()
    progress = Progress(config, tally(study)[0])
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
    return SearchResult(study, worker.run_dir, worker.storage_url, interrupted)
