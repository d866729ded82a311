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
from typing import Any, Callable

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from nas.search.config import SearchConfig, SearchResult
from nas.search.confirm import confirm_front
from nas.search.evaluate import CandidateError, Evaluator, check_table_covers
from nas.search.front import feasible_trials, pareto_front
from nas.search.objective import Objective, counted, rejected
from nas.search.reference import reference_record, study_reference
from nas.search.run import write_run_json
from nas.search.settings import fingerprint
from nas.search.study import fail_dead_trials, make_sampler, make_storage, open_study
from nas.space.load import load_space
from nas.space.space import SearchSpace
from nas.validation.predictor_proxy import PredictorProxy
from nas.validation.setup import Setup
from nas.validation.validator import Validator

__all__ = ["MAX_TRIALS_FACTOR", "Worker", "run_search", "stream_seed", "tally"]

Callback = Callable[[optuna.Study, FrozenTrial], None]
#: A search stops after this many times ``--trials`` trials in all, duplicates included, even if it has fewer
#: distinct architectures (a sampler that has converged keeps proposing the ones it knows).
MAX_TRIALS_FACTOR = 10


class Progress:
    """tqdm bar: trial n/N, best feasible proxy or reward, Pareto size, failures, noisy trials and (paired) the
    level factor so far, ``level=×f``: the reference's stored latency over its median block beside the candidates
    (:func:`nas.search.reference.reference_record`); ETA from tqdm."""

    def __init__(self, config: SearchConfig, done: int):
        from tqdm.auto import tqdm

        self.multi = config.objective == "pareto"
        self.bar = tqdm(total=config.trials, initial=min(done, config.trials), unit="trial",
                        disable=not config.progress, dynamic_ncols=True, file=sys.stderr)

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        trials = study.get_trials(deepcopy=False)
        feasible = feasible_trials(study)  # re-levelled once a paired study's level is known, like the export
        best = max((t.values[0] for t in feasible), default=None)
        if self.multi:
            post = {"best_feasible_proxy": "-" if best is None else f"{best:.4g}",
                    "pareto": len(pareto_front(study)) if feasible else 0}
        else:
            post = {"best_feasible_reward": "-" if best is None else f"{best:.4g}"}
        post["fail"] = sum(map(rejected, trials))  # candidates that failed; a cut-off trial is redone
        post["noisy"] = sum(bool(t.user_attrs.get("noisy")) for t in trials)
        ref = reference_record(study, trials)
        if ref is not None and ref["level_factor"] is not None:
            # level_factor = first / beside, as in leaderboard.md, run.json and the final level: line
            post["level"] = f"×{ref['level_factor']:.2f}" + (" (off)" if ref["level_off"] else "")
        self.bar.set_postfix(post, refresh=False)
        self.bar.update(min(sum(counted(t) for t in trials), self.bar.total) - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def tally(study: optuna.Study) -> tuple[int, int, int]:
    """(counted trials, trials running somewhere, all trials). A WAITING trial (enqueued, or the retry of a
    killed worker's trial) is not running anywhere: it is work for the next free worker."""
    trials = study.get_trials(deepcopy=False)
    return sum(counted(t) for t in trials), sum(t.state == TrialState.RUNNING for t in trials), len(trials)


def stream_seed(seed: int, worker: int, trials_at_start: int) -> int:
    """The sampler seed of one process: a function of the search's seed, the worker's index on this machine
    and how many trials the study held when it started, so that parallel workers and resumed runs each draw
    their own stream (the same stream twice would propose the same architectures again)."""
    return int(np.random.SeedSequence([seed, worker, trials_at_start]).generate_state(1)[0])


class Worker:
    """One process's share of a search: its space, evaluator, storage, study and objective. ``index`` is the
    worker's number on this machine (0: the process the command started)."""

    def __init__(self, config: SearchConfig, index: int = 0):
        optuna.logging.set_verbosity(optuna.logging.ERROR)  # failures are counted on the bar and kept per trial
        self.config, self.index = config, index
        self.space = load_space(config.space)
        self.evaluator = Evaluator(latency=config.latency, proxy=config.proxy, data=config.data,
                                   device=config.device, threads=config.threads, seed=config.seed,
                                   predictor=fitted_predictor(config, self.space), backend=config.backend)
        self.name = config.study_name or config.derived_study_name(self.space.name)
        self.run_dir = config.run_dir(self.space.name)
        self.storage_url = config.storage or config.run_storage(self.space.name)
        if self.evaluator.table is not None:
            check_table_covers(self.evaluator.table, self.space, config.latency.table)
        evaluator = self.evaluator.describe()
        space_file = Path(config.space)  # recorded absolute, so that export works from any folder
        self.settings = {"space": str(space_file.resolve()) if space_file.is_file() else config.space,
                         "objective": config.objective, "latency_target_ms": config.latency_target_ms,
                         "sampler": config.sampler, "seed": config.seed, **evaluator,
                         "fingerprint": fingerprint(space=self.space, target_ms=config.latency_target_ms,
                                                    objective=config.objective, evaluator_settings=evaluator,
                                                    lut=config.latency.table)}

    def open(self) -> optuna.Study:
        from optuna.artifacts import FileSystemArtifactStore

        config = self.config
        if self.storage_url == config.run_storage(self.space.name):
            self.run_dir.mkdir(parents=True, exist_ok=True)  # the database lives in the run folder
        multi = config.objective == "pareto"
        storage = make_storage(self.storage_url)
        try:
            self.study = self._open(storage, multi)
            if config.latency.kind == "paired":
                self.evaluator.reference = study_reference(self.study, self.space, self.evaluator)
        except BaseException:
            storage.engine.dispose()  # closes the database cleanly (SQLite removes its -wal/-shm files)
            raise
        self.study.sampler = make_sampler(config.sampler, stream_seed(config.seed, self.index, len(self.study.trials)))
        (self.run_dir / "artifacts").mkdir(parents=True, exist_ok=True)
        store = FileSystemArtifactStore(str(self.run_dir / "artifacts"))
        self.objective = Objective(space=self.space, evaluator=self.evaluator, target_ms=config.latency_target_ms,
                                   trials=config.trials, multi=multi, run_dir=self.run_dir, artifact_store=store)
        return self.study

    def _open(self, storage: optuna.storages.BaseStorage, multi: bool) -> optuna.Study:
        config = self.config
        return open_study(storage, self.name, directions=["maximize", "minimize"] if multi else ["maximize"],
                          sampler=make_sampler(config.sampler, config.seed), space=self.space, settings=self.settings,
                          metric_names=[f"proxy:{config.proxy.label}", "latency_ms"] if multi else ["mnasnet_reward"],
                          latency_target_ms=config.latency_target_ms)

    def loop(self, callbacks: list[Callback], poll: float = 1.0) -> float | None:
        """Run one trial at a time until the study holds ``config.trials`` counted trials (or time is up).

        Counted trials are distinct architectures with a result (a duplicate copies its owner's result and does
        not count). While the remaining trials are all running elsewhere, wait — failing trials whose worker
        stopped sending heartbeats, so that their retries (WAITING trials) are picked up here. A search whose
        sampler keeps proposing known architectures stops after ``MAX_TRIALS_FACTOR × trials`` trials in all.
        Returns the ``time.monotonic()`` deadline of ``config.timeout`` (``None`` without one).
        """
        config = self.config
        deadline = None if config.timeout is None else time.monotonic() + config.timeout
        wanted = min(config.trials, self.space.size())  # a small space may hold fewer distinct networks
        while deadline is None or time.monotonic() < deadline:
            done, running, total = tally(self.study)
            if done >= wanted or total >= MAX_TRIALS_FACTOR * config.trials:
                return deadline
            if done + running >= wanted:
                fail_dead_trials(self.study)
                time.sleep(poll)
                continue
            self.study.optimize(self.objective, n_trials=1, catch=(CandidateError,), callbacks=callbacks)
        return deadline


def fitted_predictor(config: SearchConfig, space: SearchSpace) -> Any:
    """For ``--proxy predictor:K``: the predictor fitted on the ground truth of the space's first K validation
    archs in ``config.train_cache`` (``None`` for other proxies). Raises ``ValueError`` (one line) when that
    truth is missing."""
    if config.proxy.predictor is None:
        return None
    if config.train_cache is None or config.data is None:
        raise ValueError(f"proxy {config.proxy.label} is fitted on trained networks: give data and the training cache")
    # seed 0: the validation list `nas validate-proxy` trains by default (the search's seed does not change it)
    validator = Validator(space, Setup(data=config.data), cache=config.train_cache, seed=0, progress=False)
    return PredictorProxy.fit(validator, config.proxy.predictor)


def _worker_main(config: SearchConfig, index: int) -> None:
    """Entry point of an extra worker process (``--workers N``)."""
    worker = Worker(config, index)
    worker.open()
    try:
        worker.loop([])
    except KeyboardInterrupt:
        pass


def run_search(config: SearchConfig) -> SearchResult:
    """Run (or resume) a search until the study holds ``config.trials`` trials with a result, then confirm the
    front's latencies (``config.confirm`` timings per network, :func:`nas.search.confirm.confirm_front`) within
    the same ``config.timeout``.

    Ctrl-C stops (the running trials are marked failed; ``SearchResult.interrupted``). Raises ``ValueError``
    (one line) for settings that cannot work, before anything is written.
    """
    config.validate()
    worker = Worker(config)
    study = worker.open()
    write_run_json(worker.run_dir, config, worker.storage_url, worker.name, worker.settings)
    context = multiprocessing.get_context("spawn")
    others = [context.Process(target=_worker_main, args=(config, i), daemon=False) for i in range(1, config.workers)]
    for p in others:
        p.start()
    progress = Progress(config, tally(study)[0])
    interrupted, deadline = False, None
    try:
        deadline = worker.loop([progress])
    except KeyboardInterrupt:
        interrupted = True
        for p in others:
            if p.is_alive() and p.pid is not None:
                os.kill(p.pid, signal.SIGINT)
    finally:
        for p in others:
            p.join()
        progress.close()
    confirmation = None
    if not interrupted and config.confirm:
        try:
            confirmation = confirm_front(study, worker.evaluator, rounds=config.confirm, top_k=config.top_k,
                                         at_least=config.confirm_at_least, deadline=deadline,
                                         progress=config.progress, echo=lambda _: None)
        except KeyboardInterrupt:  # what was confirmed is kept; the rerun confirms the rest
            interrupted = True
    return SearchResult(study, worker.run_dir, worker.storage_url, interrupted, confirmation)
