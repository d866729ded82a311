"""Search benchmarks (``nas benchmark search``): how fast the search scores candidates, and how good a front
each sampler finds for its budget.

(a) candidates per minute on the bundled ``mnasnet`` space at 224 px: measured latency + ``params`` (and the
    default search proxy), and a LUT + each zero-cost proxy (goals on a 2-core CPU: ≥ 20/min measured,
    ≥ 60/min with a LUT) — :func:`candidates_per_minute`, :func:`rate_section`;
(b) hypervolume of the feasible front after 100 and 200 trials for TPE, NSGA-II and random on ``mobile_32px``
    with a LUT, several seeds each (goal: TPE after 100 ≥ random after 200) — :func:`hypervolume_runs`,
    :func:`hypervolume`, :func:`hypervolume_section`.

Hypervolume uses Optuna's own ``compute_hypervolume`` on (−proxy, latency), reference point (−proxy_min,
target), where proxy_min is the lowest proxy value seen in any run of the comparison. Latencies in ms.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import optuna
import torch
from optuna.trial import FrozenTrial
from optuna._hypervolume import compute_hypervolume  # Optuna's own; it has no public name

from nas.bench.common import machine_lines
from nas.latency.table import LatencyTable
from nas.markdown import table
from nas.search.config import SearchConfig
from nas.search.driver import run_search
from nas.search.specs import DEFAULT_PROXY_BATCH, LatencyMethod, ProxySpec
from nas.space.load import load_space

__all__ = ["RATE_GOALS", "SAMPLERS", "TITLE", "SearchBenchConfig", "candidates_per_minute", "hypervolume",
           "hypervolume_runs", "hypervolume_section", "rate_section", "search_benchmark"]

#: The heading of the section :func:`search_benchmark` writes.
TITLE = "Search: candidates per minute and hypervolume"
#: Candidates per minute to reach, by latency method.
RATE_GOALS = {"measure": 20, "paired": 20, "lut": 60}
#: The samplers part (b) compares.
SAMPLERS = ("tpe", "nsga2", "random")
RATE_SPACE, HV_SPACE, HV_TRIALS = "mnasnet", "mobile_32px", 200

Log = Callable[[str], None]
Points = list[tuple[float, float, bool]]


@dataclass(frozen=True)
class SearchBenchConfig:
    """What to run: ``parts`` (subset of ``"ab"``); the latency tables of ``mnasnet`` (``lut_224``) and
    ``mobile_32px`` (``lut_32``) on this device; ``rate_trials`` candidates per rate; the latency targets in ms
    (``target_32_ms`` ``None``: the LUT median of 200 random archs); the zero-cost ``proxies`` of part (a)'s
    LUT rows; the proxy of the hypervolume runs; ``seeds`` per sampler; intra-op ``threads``."""

    lut_224: Path
    lut_32: Path
    parts: str = "ab"
    rate_trials: int = 30
    target_224_ms: float = 30.0
    target_32_ms: float | None = None
    proxies: tuple[ProxySpec, ...] = field(default_factory=lambda: (ProxySpec("synflow"), ProxySpec("naswot")))
    hv_proxy: ProxySpec = field(default_factory=ProxySpec)
    seeds: int = 3
    threads: int = 2

    def __post_init__(self) -> None:
        if not self.parts or not set(self.parts) <= set("ab"):
            raise ValueError(f"parts must be a non-empty subset of 'ab', got {self.parts!r}")
        for name in ("rate_trials", "seeds", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)!r}")


def _completed(study: optuna.Study) -> list[FrozenTrial]:
    """The study's completed trials in trial order."""
    return [t for t in sorted(study.get_trials(), key=lambda t: t.number) if t.state.name == "COMPLETE"]


def candidates_per_minute(space: str, latency: LatencyMethod, proxy: ProxySpec, trials: int, target_ms: float,
                          threads: int) -> tuple[float, int]:
    """(completed candidates per minute, completed count) of a random-sampler search of ``trials`` trials from
    an empty study (in a temporary folder) on the CPU."""
    with tempfile.TemporaryDirectory() as out:
        config = SearchConfig(latency_target_ms=target_ms, space=space, trials=trials, sampler="random", seed=0,
                              latency=latency, proxy=proxy, device="cpu", threads=threads, out=out, progress=False,
                              confirm=0)  # the rate of candidates: the front's confirmation is not one
        start = time.perf_counter()
        result = run_search(config)
        minutes = (time.perf_counter() - start) / 60
        done = len(_completed(result.study))
    return done / minutes, done


def hypervolume_runs(space: str, latency: LatencyMethod, proxy: ProxySpec, target_ms: float,
                     samplers: Sequence[str], seeds: Sequence[int], trials: int, threads: int,
                     log: Log | None = None) -> dict[tuple[str, int], Points]:
    """Per (sampler, seed): (proxy, latency ms, feasible) of every completed trial of a fresh search, in trial
    order. ``log`` gets one line per finished run."""
    runs = {}
    for sampler in samplers:
        for seed in seeds:
            with tempfile.TemporaryDirectory() as out:
                config = SearchConfig(latency_target_ms=target_ms, space=space, trials=trials, sampler=sampler,
                                      seed=seed, latency=latency, proxy=proxy, device="cpu", threads=threads,
                                      out=out, progress=False, confirm=0)  # the trials' own values
                study = run_search(config).study
                runs[(sampler, seed)] = [(t.values[0], t.values[1], t.values[1] <= target_ms)
                                         for t in _completed(study)]
            if log is not None:
                log(f"  {sampler} seed {seed}: {len(runs[(sampler, seed)])} trials")
    return runs


def hypervolume(points: Points, upto: int, proxy_min: float, target_ms: float) -> float:
    """Hypervolume of the feasible points among the first ``upto`` with a proxy above ``proxy_min``, on
    (−proxy, latency) against the reference (−proxy_min, ``target_ms``); 0 if there is none."""
    feasible = np.array([(-p, lat) for p, lat, ok in points[:upto] if ok and p > proxy_min], dtype=float)
    if len(feasible) == 0:
        return 0.0
    return float(compute_hypervolume(feasible, np.array([-proxy_min, target_ms])))


def rate_section(config: SearchBenchConfig, log: Log | None = None) -> list[str]:
    """Part (a): the markdown lines of the candidates-per-minute table (``log`` gets each row)."""
    default = SearchConfig(latency_target_ms=config.target_224_ms)  # the default search: its latency and proxy
    lut = LatencyMethod.lut(config.lut_224)
    rows = []
    measured = [(LatencyMethod(), ProxySpec("params"))]
    if (default.latency.kind, default.proxy.label) != ("measure", "params"):
        measured.append((default.latency, default.proxy))
    for latency, proxy in [*measured, (lut, ProxySpec("params")), *((lut, p) for p in config.proxies)]:
        per_min, done = candidates_per_minute(RATE_SPACE, latency, proxy, config.rate_trials, config.target_224_ms,
                                              config.threads)
        goal = RATE_GOALS[latency.kind]
        rows.append([latency.kind, proxy.label, str(done), f"{per_min:.1f}", f"≥ {goal}",
                     "met" if per_min >= goal else f"missed by {goal - per_min:.1f}/min"])
        if log is not None:
            log(str(rows[-1]))
    return ["**(a) Candidates per minute**, search_spaces/mnasnet.yaml at 224 px, random sampler, from an "
            "empty study (includes building, fvcore MACs, latency and proxy for every candidate; zero-cost "
            f"proxies on a batch of {DEFAULT_PROXY_BATCH} images; the default search is "
            f"{default.latency.label} + `{default.proxy.label}`"
            + ("; it also times its reference network once" if default.latency.kind == "paired" else "") + "):", "",
            table(["latency", "proxy", "candidates", "per minute", "goal", ""], rows), ""]


def _default_target(config: SearchBenchConfig) -> float:
    """The LUT median of 200 random ``mobile_32px`` archs (``space.sample(10_000 + i)``), in ms."""
    space = load_space(HV_SPACE)
    lut = LatencyTable.load(config.lut_32, device="cpu", threads=config.threads)
    return float(np.median([lut.predict(space.sample(10_000 + i)) for i in range(200)]))


def hypervolume_section(config: SearchBenchConfig, log: Log | None = None) -> list[str]:
    """Part (b): the markdown lines of the hypervolume table by sampler and its verdict."""
    target = config.target_32_ms if config.target_32_ms is not None else _default_target(config)
    seeds = list(range(config.seeds))
    runs = hypervolume_runs(HV_SPACE, LatencyMethod.lut(config.lut_32), config.hv_proxy, target, SAMPLERS, seeds,
                            HV_TRIALS, config.threads, log)
    proxy_min = min(p for pts in runs.values() for p, _, _ in pts)
    rows, hv = [], {}
    for sampler in SAMPLERS:
        at100 = [hypervolume(runs[(sampler, s)], 100, proxy_min, target) for s in seeds]
        at200 = [hypervolume(runs[(sampler, s)], 200, proxy_min, target) for s in seeds]
        hv[sampler] = (at100, at200)
        rows.append([sampler, " / ".join(f"{v:.4g}" for v in at100), f"{statistics.mean(at100):.4g}",
                     " / ".join(f"{v:.4g}" for v in at200), f"{statistics.mean(at200):.4g}"])
    tpe100, random200 = statistics.mean(hv["tpe"][0]), statistics.mean(hv["random"][1])
    verdict = ("met" if tpe100 >= random200 else
               f"missed: TPE@100 is {100 * (1 - tpe100 / random200):.1f}% below random@200")
    return [f"**(b) Hypervolume**, search_spaces/mobile_32px.yaml, LUT latency, proxy `{config.hv_proxy.label}`, "
            f"target {target:.3f} ms, {len(seeds)} seeds; Optuna's `compute_hypervolume` on (−proxy, latency) with "
            f"reference (−{proxy_min:.4g}, {target:.3f} ms):", "",
            table(["sampler", "HV @100 (per seed)", "mean @100", "HV @200 (per seed)", "mean @200"], rows), "",
            f"Goal TPE's mean hypervolume after 100 trials ≥ random's after 200: {verdict} "
            f"({tpe100:.4g} vs {random200:.4g}).", ""]


def search_benchmark(config: SearchBenchConfig, command: str, log: Log | None = None) -> str:
    """Set torch to ``config.threads`` intra-op threads, run ``config.parts`` and return the section's body
    (the ``command``, the machine, then each part); the caller appends it under :data:`TITLE`. Raises
    ``LUTError`` for a table that was not measured here, ``ValueError`` for settings a search rejects."""
    torch.set_num_threads(config.threads)
    lines = [f"Command: `{command}`", *machine_lines(config.threads), ""]
    if "a" in config.parts:
        lines += rate_section(config, log)
    if "b" in config.parts:
        lines += hypervolume_section(config, log)
    return "\n".join(lines)
