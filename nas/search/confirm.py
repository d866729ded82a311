"""Confirm the front's latencies before export: re-time every network on it a few times, round-robin.

    from nas.search.confirm import confirm_front
    report = confirm_front(study, evaluator)        # after run_search, before export_pareto

A search times each candidate once. On a machine whose speed moves from one minute to the next (a virtual
CPU: the same network measured 15.0 and 23.7 ms a minute apart, docs/benchmarks.md "Latency 08:43"), a Pareto
front selects for the timings that happened to come out low: the winner's curse. Here every network on the
front is timed ``rounds`` more times, in rounds over the whole front (so a slow or fast minute touches every
network alike), and judged on the median of those timings alone — the search's own timing is the one the
selection biased, so it is kept for the record (``latency_search_ms``) but not used.

A network that gets slower may leave the front, and the networks it dominated may join it: the front is worked
out again (:func:`nas.search.front.pareto_front`, confirmed latencies in force) and its new members confirmed,
until every member is confirmed or ``max_networks`` have been (then the rest keep their single timing and
``pareto.yaml`` says ``latency_confirmed: false``). A one-objective (MnasNet reward) study confirms its
``top_k`` feasible trials, and its reward is recomputed from the confirmed latency. With ``at_least`` K (a
multi-fidelity search trains K networks, :func:`nas.search.refine.pick_candidates`), the next non-dominated
layers are confirmed too until K networks are, so that none is trained on a single timing.

Confirmations are study user attributes ``confirmed:<arch key>`` (Optuna cannot change a finished trial):
``{latency_ms, iqr_ms, noisy, others_cpu, timings_ms, search_ms, rounds, complete, host, at}``, written after
every timing, so Ctrl-C or a deadline loses at most the timing in progress: a record cut short
(``complete: false``) is not in force, and the rerun adds only its missing rounds. The host is recorded because
a study joined from several machines confirms on whichever finishes (each re-times what is not yet
confirmed). A timing flagged noisy (:mod:`nas.latency.noise`) is left out of the median; a network with quiet
timings for fewer than half its timings is confirmed ``noisy`` and so never feasible on that number. A
network whose latency stands flagged noisy (its one search timing, or an earlier confirmation) is a candidate
too, taken on that number as if it were quiet, and re-timed once per call: with a quiet confirmation it is judged
on that (``rescued``), without one it stays off the front — so a load that passed no longer hides its networks
for good, and a rerun on a quiet machine re-judges them. When a pass re-times such networks and none comes out
quiet, the load is still on and the rest are not tried; when every timing of a pass is flagged noisy, the
confirmation stops there (``stopped = "load"``) — a busy machine would otherwise walk the whole study, layer by
layer.
Lookup-table latencies are predictions, not timings: nothing to confirm.
"""
from __future__ import annotations

import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Collection

import numpy as np
import optuna
from optuna.trial import FrozenTrial

from nas.arch.layers import resolve
from nas.search.evaluate import Evaluator, Timing
from nas.search.export import trial_arch
from nas.search.front import (CONFIRMED_PREFIX, completed_trials, confirmations, feasible_trials, latency_target,
                              mnasnet_reward, pareto_layers)

__all__ = ["DEFAULT_ROUNDS", "MAX_NETWORKS", "ConfirmReport", "confirm_front", "front_candidates"]

#: Timings per network: the median of 3 ignores one that came out lucky.
DEFAULT_ROUNDS = 3
#: At most this many networks are confirmed in one search (a front on a very noisy machine could keep changing).
MAX_NETWORKS = 40


@dataclass
class ConfirmReport:
    """What one :func:`confirm_front` call did: ``confirmed`` trial numbers re-timed now, the ratio of each one's
    search timing to its confirmed median (``search_over_confirmed``; not for search timings flagged noisy), the
    networks that ``left`` the front,
    the ``passes`` over a changing front, and whether every member of the final front is confirmed
    (``complete``); ``rescued``: networks whose search timing was flagged noisy and whose quiet confirmation put
    them on the final front."""

    confirmed: list[int] = field(default_factory=list)
    search_over_confirmed: list[float] = field(default_factory=list)
    left: list[int] = field(default_factory=list)
    rescued: list[int] = field(default_factory=list)
    passes: int = 0
    complete: bool = True
    seconds: float = 0.0
    max_networks: int = MAX_NETWORKS
    stopped: str = ""
    """Why the confirmation stopped before the front was confirmed (``"timeout"``: the deadline; ``"load"``: every
    timing of a pass was flagged noisy), else empty."""

    def line(self) -> str:
        """One line for the user (empty when nothing was re-timed)."""
        if not self.confirmed:
            return (f"confirmed: nothing (the {self.stopped} came first): the front keeps its single timings; rerun "
                    "the same command to confirm it") if self.stopped else ""
        r = self.search_over_confirmed
        ratio = f"{min(r):.2f}" if r and min(r) == max(r) else f"{min(r):.2f}–{max(r):.2f}" if r else ""
        text = (f"confirmed: re-timed {len(self.confirmed)} front network(s) in {self.passes} pass(es), "
                f"{self.seconds:.0f} s" + (f"; the search's single timings were {ratio}× the confirmed medians"
                                          if r else ""))
        if self.left:
            text += f"; {len(self.left)} left the front"
        if self.rescued:
            text += f"; {len(self.rescued)} timed noisy in the search joined it on a quiet re-timing"
        if self.stopped == "load":
            text += ("; stopped: other processes disturbed every timing of the last pass, so the rest keep their "
                     "single timing; rerun the same command on a quiet machine to confirm them")
        elif self.stopped:
            text += f"; stopped at the {self.stopped}: rerun the same command to confirm the rest"
        elif not self.complete:
            text += f"; stopped at {self.max_networks} networks: the rest keep their single timing"
        return text


def front_candidates(study: optuna.Study, target_ms: float | None = None, top_k: int = 5,
                     at_least: int = 0, ignore_noisy: Collection[str] = ()) -> list[FrozenTrial]:
    """The networks an export would take as meeting the target: the Pareto front (two objectives; with the next
    non-dominated layers until ``at_least`` networks) or the ``max(top_k, at_least)`` feasible trials by reward
    (one), confirmed latencies in force, one trial per architecture. ``ignore_noisy``: architecture keys whose
    latency is taken as if it were not flagged noisy (the networks about to be re-timed)."""
    unique: dict[str, FrozenTrial] = {}
    if len(study.directions) > 1:
        for layer in pareto_layers(study, target_ms, ignore_noisy):
            for t in layer:
                unique.setdefault(t.user_attrs.get("arch_key", str(t.number)), t)
            if len(unique) >= at_least:
                break
        return list(unique.values())
    for t in sorted(feasible_trials(study, target_ms, ignore_noisy), key=lambda t: -t.value):
        unique.setdefault(t.user_attrs.get("arch_key", str(t.number)), t)
    return list(unique.values())[:max(top_k, at_least)]


def confirm_front(study: optuna.Study, evaluator: Evaluator, *, target_ms: float | None = None,
                  rounds: int = DEFAULT_ROUNDS, top_k: int = 5, at_least: int = 0, max_networks: int = MAX_NETWORKS,
                  deadline: float | None = None, progress: bool = True,
                  echo: Callable[[str], None] = print) -> ConfirmReport:
    """Re-time the front of ``study`` with ``evaluator`` (its device, threads, runtime and repeat settings) and
    record the confirmations (see the module). ``deadline``: a ``time.monotonic()`` value after which no timing
    starts (what was timed is kept). Returns a :class:`ConfirmReport`; with a lookup-table evaluator or
    ``rounds`` 0, nothing is done. Raises ``ValueError`` (one line) when ``study`` records no latency target and
    none is given, or ``rounds`` is negative."""
    report = ConfirmReport(max_networks=max_networks)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0:
        raise ValueError(f"confirm: rounds must be an integer ≥ 0, got {rounds!r}")
    target = latency_target(study, target_ms)
    if target is None:
        raise ValueError(f"study {study.study_name!r} records no latency target; give one")
    if rounds == 0 or evaluator.table is not None:
        return report
    started = time.perf_counter()
    first = {t.number for t in front_candidates(study, target, top_k, at_least)}
    noisy_search = {t.number for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
                    if t.user_attrs.get("noisy")}
    _passes(study, evaluator, report, target, rounds, top_k, at_least, deadline, progress, noisy_search)
    final = {t.number for t in front_candidates(study, target, top_k, at_least)}
    now = set(report.confirmed)
    report.left = sorted((first | (now - noisy_search)) - final)
    report.rescued = sorted(final & noisy_search & now)
    report.seconds = time.perf_counter() - started
    if report.line():
        echo(report.line())
    return report


def _passes(study: optuna.Study, evaluator: Evaluator, report: ConfirmReport, target: float, rounds: int, top_k: int,
            at_least: int, deadline: float | None, progress: bool, noisy_search: set[int]) -> None:
    """Confirm pass after pass until the front is confirmed, ``report.max_networks`` are, the deadline passes or
    every timing of a pass is noisy; ``report`` is filled in place (see the module for the noisy networks)."""
    # Networks whose latency stands flagged noisy (in the search or in an earlier confirmation) are re-timed once
    # each while their noisy number would put them on the front, until a pass re-times some and none comes out
    # quiet: then the load is still on, and they stay off.
    retry = {t.user_attrs["arch_key"] for t in completed_trials(study) if t.user_attrs.get("noisy")}
    timed: set[str] = set()
    while True:
        done = {k for k, r in confirmations(study).items() if not r.get("noisy")} | timed
        todo = [t for t in front_candidates(study, target, top_k, at_least, ignore_noisy=retry - timed)
                if t.user_attrs["arch_key"] not in done]
        room = report.max_networks - len(report.confirmed)
        if not todo or room <= 0:
            report.complete = not todo
            return
        todo = todo[:room]
        finished = _time_round_robin(study, evaluator, todo, rounds, deadline, progress)
        confirmed = confirmations(study)
        for t in finished:
            key = t.user_attrs["arch_key"]
            timed.add(key)
            report.confirmed.append(t.number)
            if t.number not in noisy_search:  # a disturbed search timing says nothing about the winner's curse
                report.search_over_confirmed.append(_search_ms(t) / confirmed[key]["latency_ms"])  # both as stored
        retimed = [t.user_attrs["arch_key"] for t in finished if t.user_attrs["arch_key"] in retry]
        if retimed and all(confirmed[k].get("noisy") for k in retimed):
            retry = set()
        report.passes += 1
        if len(finished) < len(todo):
            report.stopped, report.complete = "timeout", False
            return
        if all(all(confirmed[t.user_attrs["arch_key"]].get("timings_noisy") or [False]) for t in finished):
            report.stopped, report.complete = "load", False  # not one quiet timing: each layer would go the same way
            return


def _time_round_robin(study: optuna.Study, evaluator: Evaluator, trials: list[FrozenTrial], rounds: int,
                      deadline: float | None, progress: bool) -> list[FrozenTrial]:
    """Up to ``rounds`` timings of each trial's network (each built once), one round over all of them at a time,
    resuming a record cut short; a network's record is written after each of its timings. Returns the trials whose
    confirmation is complete (all of them unless ``deadline`` passed)."""
    from tqdm.auto import tqdm

    partial = {k[len(CONFIRMED_PREFIX):]: v for k, v in study.user_attrs.items()
               if k.startswith(CONFIRMED_PREFIX) and isinstance(v, dict) and not v.get("complete", True)}
    built, timings = [], {}
    for t in trials:
        arch = evaluator.adapt(trial_arch(study, t))
        layers = resolve(arch)
        built.append((t, evaluator.build(arch, layers), arch, layers))
        timings[t.number] = _resumed(partial.get(t.user_attrs["arch_key"], {}))
        if len(timings[t.number]) >= rounds:  # cut short under a larger --confirm: enough for this one
            _record(study, t, timings[t.number], rounds)
    total = sum(max(rounds - len(timings[t.number]), 0) for t in trials)
    with tqdm(total=total, desc="confirming the front", unit="timing", disable=not progress, dynamic_ncols=True,
              file=sys.stderr) as bar:
        for _ in range(rounds):
            for t, model, arch, layers in built:
                if len(timings[t.number]) >= rounds:
                    continue
                if deadline is not None and time.monotonic() >= deadline:
                    return [t for t in trials if len(timings[t.number]) >= rounds]
                timings[t.number].append(evaluator.measure(model, arch, layers))
                _record(study, t, timings[t.number], rounds)
                bar.update()
    return trials


def _resumed(record: dict) -> list[Timing]:
    """The timings of a confirmation record cut short (none for an empty or unreadable one)."""
    ms, noisy, others = (record.get(k) or [] for k in ("timings_ms", "timings_noisy", "timings_others_cpu"))
    if not (len(ms) == len(noisy) == len(others)):
        return []
    return [Timing(float(m), 0.0, bool(n), o) for m, n, o in zip(ms, noisy, others)]


def _search_ms(trial: FrozenTrial) -> float:
    """The search's own timing of ``trial`` as the study stores it (a re-levelled copy's
    ``latency_study_ms``; confirmation records keep their timings on that scale too)."""
    a = trial.user_attrs
    return float(a.get("latency_study_ms", a.get("latency_search_ms", a["latency_ms"])))


def _record(study: optuna.Study, trial: FrozenTrial, timings: list[Timing], rounds: int) -> None:
    """Store the confirmation of ``trial`` from its ``timings`` so far (complete once there are ``rounds``)."""
    quiet = [x for x in timings if not x.noisy]
    medians = [x.median_ms for x in quiet or timings]
    needed = (len(timings) + 1) // 2  # at least half its timings quiet: not one lucky timing out of three
    latency = float(statistics.median(medians))
    q1, q3 = np.percentile(medians, [25, 75]) if len(medians) > 1 else (latency, latency)
    others = [x.others_cpu for x in timings if x.others_cpu is not None]
    a = trial.user_attrs
    record = {"latency_ms": latency, "iqr_ms": float(q3 - q1), "noisy": len(quiet) < needed,
              "others_cpu": round(max(others), 3) if others else None,
              "timings_ms": [round(x.median_ms, 4) for x in timings], "noisy_timings": sum(x.noisy for x in timings),
              "timings_noisy": [x.noisy for x in timings], "timings_others_cpu": [x.others_cpu for x in timings],
              "search_ms": _search_ms(trial), "rounds": len(timings),
              "complete": len(timings) >= rounds, "trial": trial.number, "host": platform.node(),
              "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    own_target = latency_target(study)
    if len(study.directions) == 1 and isinstance(a.get("proxy_value"), (int, float)) and own_target is not None:
        # for the record, on the study's stored scale; nas.search.front recomputes it from the (re-levelled) latency
        record["reward"] = mnasnet_reward(float(a["proxy_value"]), latency, own_target)
    study.set_user_attr(f"{CONFIRMED_PREFIX}{a['arch_key']}", record)
