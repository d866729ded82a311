"""The study's reference network for paired latency (``nas search --latency paired``).

Every candidate is timed alternately with one fixed network — the space's skeleton (``mnasnet_b1`` for the
``mnasnet`` space), built like a candidate — and reported as ``median(candidate / reference) × the reference's
latency`` (:mod:`nas.latency.paired`). Whatever slows the machine for a while slows both alike, so the ratio
holds where a timing alone does not: on the 2-vCPU VM the zoo nets' repeat CV was 1–4 % paired against 5–18 %
solo (docs/benchmarks.md, "Latency", part a). The level is another matter: README, "Paired timing".

The reference's own latency is the one scale of every paired number in a study, so it is timed once — when the
first process opens the study, as the median of :data:`REFERENCE_RUNS` solo timings — and stored in the study
(user attribute :data:`ATTR`): resumed runs and extra workers read it and never time it again. A record is
``Reference.to_dict()`` (name, resolution, quiet_ms, threads, the measurement); :func:`reference_record` is
its short form for run.json and pareto.yaml.

Each paired trial also records ``reference_now_ms``, the reference's median block beside it. Their median over
the study is how fast the reference really ran while the candidates were timed. The study's *level factor* is
stored latency / that median: every paired number stored in the study reads about that many times what the
machine ran the network at. On the 2-vCPU VM the five solo runs at the start landed in a slow phase again and
again (a stored 31.49 ms against a median 20.77 ms beside 50 candidates: ×1.52; 19.96 ms, then 13.2 ms beside
12 candidates a minute later; docs/benchmarks.md, "Paired timing: where the level goes wrong"), so once
:data:`LEVEL_MIN_TRIALS` trials have been timed the study is **re-levelled**: every latency read from it through
:mod:`nas.search.front` — feasibility, the Pareto front, the confirmation, the export, the reports — is its stored
value × :func:`level_scale` (beside / stored), i.e. ``ratio × the reference's median latency over the whole
search`` instead of ``ratio × its first few seconds``. Optuna cannot change a finished trial, so the study's own
values (the dashboard's) stay on the first scale, but each new trial's constraint is judged re-levelled by the level
known when it finishes (:class:`nas.search.objective.Objective`), so the sampler aims right; a factor beyond ×(1 ± :data:`LEVEL_TOLERANCE`) either way is
reported as ``level_off`` by :func:`reference_record` and in one line by :func:`level_warning`.
"""
from __future__ import annotations

import math
import statistics
import warnings
from typing import TYPE_CHECKING, Any

import optuna

from nas.numbers import is_positive

if TYPE_CHECKING:  # typing only: reading a record (export, reports) needs neither torch nor the evaluator
    from nas.latency.paired import Reference
    from nas.search.evaluate import Evaluator
    from nas.space.space import SearchSpace

__all__ = ["ATTR", "LEVEL_MIN_TRIALS", "LEVEL_TOLERANCE", "REFERENCE_RUNS", "level_scale", "level_warning",
           "reference_record", "study_reference", "time_reference"]

#: The study's user attribute that holds the reference (``Reference.to_dict()``).
ATTR = "latency_reference"
#: Solo timings whose median is the reference's latency.
REFERENCE_RUNS = 5
#: How far the level factor (stored latency / the reference's median block beside the candidates) may sit from
#: 1 before the study's paired level is reported off: beyond ×1.15 or below ×1/1.15.
LEVEL_TOLERANCE = 0.15
#: Timed trials before the level is judged and applied at all: the reference's own 1-s blocks spread by 15 % and
#: more on an unsteady VM, so one trial's block says little.
LEVEL_MIN_TRIALS = 5


def time_reference(evaluator: "Evaluator", arch: Any, *, runs: int = REFERENCE_RUNS,
                   **timing: Any) -> "Reference":
    """``arch`` (adapted to the evaluator's data, built with its seed) as a reference, timed now with the
    evaluator's device, threads, batch and runtime: ``runs`` solo timings, the median
    (:func:`~nas.latency.measure.measure_reference`; ``timing``: more ``measure_latency`` settings)."""
    from nas.latency.measure import measure_reference

    arch = evaluator.adapt(arch)
    return measure_reference(evaluator.build(arch), arch.resolution, name=arch.name, device=evaluator.device,
                             threads=evaluator.threads, batch_size=evaluator.batch_size,
                             in_channels=arch.in_channels, backend=evaluator.backend, runs=runs, **timing)


def study_reference(study: optuna.Study, space: "SearchSpace", evaluator: "Evaluator", *,
                    runs: int = REFERENCE_RUNS, **timing: Any) -> "Reference":
    """The study's reference: the space's skeleton (adapted to the evaluator's data, built with its seed) and
    its latency — read from the study when stored, else timed now with the evaluator's device, threads, batch
    and runtime (``runs`` solo timings, the median; ``timing``: more :func:`~nas.latency.measure_latency`
    settings, e.g. ``repeats``) and stored. A stored record that was timed under load is timed again while the
    study has no finished trial; one timed noisy now warns.

    Two processes that open a new study at the same moment (workers on two machines) may each time and store
    one; the last stored wins for every later process, but the two first ones keep their own scale. Start one
    process first.

    Raises ``ValueError`` (one line) for a study with finished trials timed otherwise and no stored reference
    (paired numbers would be mixed with solo ones)."""
    from nas.latency.paired import Reference

    stored = study.user_attrs.get(ATTR)
    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not isinstance(stored, dict) and any(t.user_attrs.get("latency_method") not in (None, "paired")
                                            for t in finished):
        raise ValueError(f"study {study.study_name!r} holds trials timed otherwise; paired latency needs a new "
                         "study (another --study-name)")
    if isinstance(stored, dict) and not ((stored.get("quiet") or {}).get("noisy") and not finished):
        return Reference.from_dict(stored, evaluator.build(evaluator.adapt(space.skeleton)))
    ref = time_reference(evaluator, space.skeleton, runs=runs, **timing)
    if ref.noisy:
        warnings.warn(f"the reference {ref.name} was timed while other processes kept the CPU busy: every "
                      "paired latency of this study scales by that number", RuntimeWarning, stacklevel=2)
    study.set_user_attr(ATTR, ref.to_dict())
    return Reference.from_dict(study.user_attrs.get(ATTR) or ref.to_dict(), ref.model)


def reference_record(study: optuna.Study, trials: "list[optuna.trial.FrozenTrial] | None" = None
                     ) -> dict[str, Any] | None:
    """The stored reference in short: ``{name, resolution, quiet_ms, threads, noisy, runs_ms}`` and the level
    check — ``beside_ms``, the median over the study's finished, non-duplicate paired trials not timed noisy of
    the reference's median block beside the candidate (``None`` before any; a noisy trial's block was slowed by
    the load that flagged it), ``beside_trials`` how many, ``level_factor`` =
    quiet_ms / beside_ms (the study's stored paired latencies read about that many times what the machine ran
    the networks at), ``level_applied`` (at least :data:`LEVEL_MIN_TRIALS` trials: the study is re-levelled by
    1 / level_factor, :func:`level_scale`) and ``level_off`` (applied, and the factor beyond
    ×(1 ± :data:`LEVEL_TOLERANCE`) either way). ``trials``: the study's trials when the caller has them.
    ``None``: the study times solo or from a table."""
    stored = study.user_attrs.get(ATTR)
    if not isinstance(stored, dict):
        return None
    quiet = stored.get("quiet") or {}
    trials = study.get_trials(deepcopy=False) if trials is None else trials
    beside = sorted(float(v) for t in trials if t.state == optuna.trial.TrialState.COMPLETE
                    and "duplicate_of" not in t.user_attrs and not t.user_attrs.get("noisy")
                    and is_positive(v := t.user_attrs.get("reference_now_ms")))
    beside_ms = float(statistics.median(beside)) if beside else None
    quiet_ms = stored.get("quiet_ms")
    factor = quiet_ms / beside_ms if beside_ms is not None and is_positive(quiet_ms) else None
    applied = factor is not None and len(beside) >= LEVEL_MIN_TRIALS
    return {"name": stored.get("name"), "resolution": stored.get("resolution"), "quiet_ms": quiet_ms,
            "threads": stored.get("threads"), "noisy": bool(quiet.get("noisy")), "runs_ms": quiet.get("runs_ms"),
            "beside_ms": None if beside_ms is None else round(beside_ms, 4), "beside_trials": len(beside),
            "level_factor": None if factor is None else round(factor, 4), "level_applied": applied,
            "level_off": applied and abs(math.log(factor)) > math.log1p(LEVEL_TOLERANCE)}


def level_scale(record: dict[str, Any] | None) -> float | None:
    """What every latency stored in a paired study is multiplied by when read (:mod:`nas.search.front`):
    ``beside_ms / quiet_ms`` of :func:`reference_record`'s ``record`` (beside_ms as recorded, to 4 decimals),
    once the level is applied;
    ``None`` before that, and for a study that times solo or from a table."""
    if not record or not record.get("level_applied"):
        return None
    return float(record["beside_ms"]) / float(record["quiet_ms"])


def level_warning(record: dict[str, Any] | None) -> str | None:
    """One line when :func:`reference_record`'s level check failed (``None`` otherwise): the study's stored
    paired latencies read about ``level_factor`` times what the machine ran the networks at, and what is read
    from the study is re-levelled."""
    if not record or not record.get("level_off"):
        return None
    return (f"the reference {record['name']} ran at a median {record['beside_ms']:.2f} ms beside "
            f"{record['beside_trials']} candidates against its first {record['quiet_ms']:.2f} ms (level "
            f"×{record['level_factor']:.2f}): the exported and reported latencies are re-levelled to it (the "
            f"study's values ×{1 / record['level_factor']:.2f}); the study's own values (the dashboard's) keep the "
            "first scale")
