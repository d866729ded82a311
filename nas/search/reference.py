"""The study's reference network for paired latency (``--latency paired``, the default of ``nas search``).

Every candidate is timed alternately with one fixed network — the space's skeleton (``mnasnet_b1`` for the
``mnasnet`` space), built like a candidate — and reported as ``median(candidate / reference) × the reference's
latency`` (:mod:`nas.latency.paired`). Whatever slows the machine for a while slows both alike, so the ratio
holds where a timing alone does not: on the 2-vCPU VM the zoo nets' repeat CV fell from 5–16 % solo to 1–4 %
paired (docs/benchmarks.md, "Latency", part a).

The reference's own latency is the one scale of every paired number in a study, so it is timed once — when the
first process opens the study, as the median of :data:`REFERENCE_RUNS` solo timings — and stored in the study
(user attribute :data:`ATTR`): resumed runs, extra workers and other machines joining the study read it and
never time it again, so all of the study's latencies share one scale. A record is ``Reference.to_dict()``
(name, resolution, quiet_ms, threads, the measurement); :func:`reference_record` is its short form for
run.json and pareto.yaml.
"""
from __future__ import annotations

from typing import Any

import optuna

from nas.latency.measure import measure_reference
from nas.latency.paired import Reference
from nas.search.evaluate import Evaluator
from nas.space.space import SearchSpace

__all__ = ["ATTR", "REFERENCE_RUNS", "reference_record", "study_reference"]

#: The study's user attribute that holds the reference (``Reference.to_dict()``).
ATTR = "latency_reference"
#: Solo timings whose median is the reference's latency (each one ``measure_latency``'s default length).
REFERENCE_RUNS = 5


def study_reference(study: optuna.Study, space: SearchSpace, evaluator: Evaluator) -> Reference:
    """The study's reference: the space's skeleton built with the evaluator's seed, and its latency — read from
    the study when stored, else timed now (``REFERENCE_RUNS`` solo timings with the evaluator's device, threads,
    batch and runtime; the median) and stored. When two processes time it at once, both use the record that
    ends up stored (the last one written)."""
    arch = evaluator.adapt(space.skeleton)
    model = evaluator.build(arch)
    stored = study.user_attrs.get(ATTR)
    if not isinstance(stored, dict):
        ref = measure_reference(model, arch.resolution, name=arch.name, device=evaluator.device,
                                threads=evaluator.threads, batch_size=evaluator.batch_size,
                                in_channels=arch.in_channels, backend=evaluator.backend, runs=REFERENCE_RUNS)
        study.set_user_attr(ATTR, ref.to_dict())
        stored = study.user_attrs.get(ATTR) or ref.to_dict()
    return Reference.from_dict(stored, model)


def reference_record(study: optuna.Study) -> dict[str, Any] | None:
    """The stored reference in short: ``{name, resolution, quiet_ms, threads, noisy, runs_ms}`` (``None``: the
    study times solo or from a table)."""
    stored = study.user_attrs.get(ATTR)
    if not isinstance(stored, dict):
        return None
    quiet = stored.get("quiet") or {}
    return {"name": stored.get("name"), "resolution": stored.get("resolution"), "quiet_ms": stored.get("quiet_ms"),
            "threads": stored.get("threads"), "noisy": bool(quiet.get("noisy")), "runs_ms": quiet.get("runs_ms")}
