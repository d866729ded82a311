"""The headline benchmark: does the search beat a hand-scaled MobileNet at the same latency?

For each latency target, four ways to get a network that meets it, every one trained with the same recipe on
the same data and seeds (the ground truth's, through :class:`nas.validation.Validator`'s cache, so trainings
are shared, resumable and add up across runs and machines):

(a) ``multi-fidelity``: a search with the zero-cost proxy, then its front refined by short training
    (:mod:`nas.search.refine`) — the best network by trained accuracy;
(b) ``zero-cost``: the same search without refinement — its feasible network with the best proxy value;
(c) ``scaled <ref>``: each reference network scaled to the target (:func:`nas.search.scale.scale_to_latency`);
(d) ``random``: ``random_archs`` feasible networks sampled from the space, each trained once, the best one.

Latency is measured by the search's own method at the space's resolution, on the data's channels and classes;
each finalist is measured again at the end (the number in the table). Cost is wall-clock CPU-minutes on the
configured threads (trainings taken from the cache count the seconds they took when they ran).
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import stats

from nas.arch.io import dump_arch, load_arch
from nas.arch.spec import Arch
from nas.markdown import table
from nas.search.config import SearchConfig
from nas.search.driver import run_search
from nas.search.evaluate import Evaluator
from nas.search.export import trial_arch
from nas.search.front import feasible_trials
from nas.search.refine import RefineSpec, fidelities, refine
from nas.search.scale import scale_to_latency
from nas.search.specs import LatencyMethod, ProxySpec, TrainProxy
from nas.space.load import load_space
from nas.train import TrainConfig
from nas.validation.setup import Setup
from nas.validation.validator import Job, Validator

__all__ = ["Entry", "QualityConfig", "headline", "quality_markdown", "run_quality"]

Log = Callable[[str], None]


@dataclass(frozen=True)
class QualityConfig:
    """Settings of the headline benchmark; ``cache`` is the training cache (JSONL), ``out`` the folder for the
    searches' run folders and the YAML of every network in the table."""

    cache: Path
    out: Path
    targets_ms: tuple[float, ...]
    space: str = "tiny_32px"
    data: str = "fashion-mnist"
    references: tuple[str, ...] = ("mobilenet_v2", "mnasnet_b1", "mobilenet_v3_small")
    epochs: int = 12
    seeds: tuple[int, ...] = (0, 1)
    random_archs: int = 20
    search_trials: int = 100
    refine_top: int = 4
    refine_epochs: int = 2
    proxy: ProxySpec = field(default_factory=ProxySpec)
    latency: LatencyMethod = field(default_factory=LatencyMethod)
    device: str = "cpu"
    threads: int = 1
    train_size: int | None = None  # smaller trainings for smoke runs; None: the whole training split


@dataclass
class Entry:
    """One row: a method's network at one target, its measured latency, per-seed top-1 and search cost."""

    target_ms: float
    method: str
    arch: Arch
    latency_ms: float
    top1: list[float]
    cost_s: float
    yaml: Path | None = None

    @property
    def mean(self) -> float:
        return float(np.mean(self.top1)) if self.top1 else math.nan

    @property
    def ci95(self) -> float:
        """Half-width of the 95 % t-interval of the mean over seeds (nan with one seed)."""
        if len(self.top1) < 2:
            return math.nan
        return float(stats.t.ppf(0.975, len(self.top1) - 1) * np.std(self.top1, ddof=1) / math.sqrt(len(self.top1)))


class _Run:
    """State shared by the four methods at one target."""

    def __init__(self, config: QualityConfig, target_ms: float, log: Log):
        self.config, self.target, self.log = config, target_ms, log
        self.space = load_space(config.space)
        self.evaluator = Evaluator(latency=config.latency, proxy=config.proxy, data=config.data,
                                   device=config.device, threads=config.threads)
        setup = Setup(data=config.data, train_size=config.train_size, training=TrainConfig(num_threads=config.threads))
        self.validator = Validator(self.space, setup, cache=config.cache, progress=False)
        self.folder = config.out / f"target-{target_ms:g}ms"

    def latency(self, arch: Arch) -> float:
        return self.evaluator.measure_arch(arch)[0]

    def trained(self, arch: Arch, seed: int) -> tuple[float, float]:
        """(top-1, seconds it took) of ``arch`` trained with the recipe at ``seed`` (cached)."""
        record = self.validator.train_one(Job(arch, self.config.epochs, seed))
        return float(record.get("test_top1") or math.nan), float(record.get("seconds") or 0.0)

    def entry(self, method: str, arch: Arch, cost_s: float) -> Entry:
        """Train ``arch`` on every seed, measure it again, write its YAML: the row of ``method``."""
        top1 = [self.trained(arch, s)[0] for s in self.config.seeds]
        path = self.folder / f"{method.replace(' ', '_')}.yaml"
        dump_arch(dataclasses.replace(arch, name=f"{method.replace(' ', '_')}-{arch.name}"), path)
        self.log(f"{self.target:g} ms · {method}: {arch.name}, top-1 {np.mean(top1):.4f}")
        return Entry(self.target, method, arch, self.latency(arch), top1, cost_s, path)


def _searched(run: _Run) -> list[Entry]:
    """(a) and (b): one search, then its refinement."""
    c = run.config
    started = time.perf_counter()
    result = run_search(SearchConfig(latency_target_ms=run.target, space=c.space, trials=c.search_trials,
                                     sampler="tpe", proxy=c.proxy, latency=c.latency, data=c.data, device=c.device,
                                     threads=c.threads, out=str(run.folder / "runs"), progress=False,
                                     study_name=f"quality-{run.target:g}ms"))
    search_s = time.perf_counter() - started
    feasible = feasible_trials(result.study, run.target)
    if not feasible:
        run.log(f"{run.target:g} ms: no searched network meets the target")
        return []
    zero_cost = max(feasible, key=lambda t: t.values[0])
    out = [run.entry("zero-cost", trial_arch(result.study, zero_cost), search_s)]
    started = time.perf_counter()
    refined = refine(result.study, RefineSpec(TrainProxy(epochs=c.refine_epochs, train_size=c.train_size),
                                              top=c.refine_top), storage=result.storage, data=c.data,
                     run_dir=result.run_dir, target_ms=run.target, device=c.device, echo=run.log)
    best = max(fidelities(refined).items(), key=lambda kv: (kv[1].epochs, kv[1].accuracy))[0]
    trial = next(t for t in result.study.trials if t.number == best)
    out.insert(0, run.entry("multi-fidelity", trial_arch(result.study, trial),
                            search_s + time.perf_counter() - started))
    return out


def _scaled(run: _Run) -> list[Entry]:
    """(c): each reference scaled to the target."""
    out = []
    for name in run.config.references:
        started = time.perf_counter()
        arch = load_arch(name).replace(resolution=run.space.skeleton.resolution)
        result = scale_to_latency(arch, run.target, run.latency)
        if not result.feasible:
            run.log(f"{run.target:g} ms: {name} misses the target even at ×{result.width_multiplier:.2f}")
        out.append(run.entry(f"scaled {name}", result.arch, time.perf_counter() - started))
    return out


def _random(run: _Run, pool: int = 200) -> list[Entry]:
    """(d): the best of ``random_archs`` feasible random networks, judged by one training each. They are taken
    in order from the space's validation list (:meth:`nas.validation.Validator.archs`, seeded random samples),
    so the ground truth's trainings of those networks are reused from the cache."""
    started, chosen = time.perf_counter(), []
    for arch in run.validator.archs(min(pool, run.space.size())):
        if len(chosen) >= run.config.random_archs:
            break
        if run.latency(arch) <= run.target:
            chosen.append(arch)
    if not chosen:
        return []
    scored = [(run.trained(a, run.config.seeds[0]), a) for a in chosen]
    cost = time.perf_counter() - started + sum(seconds for (_, seconds), _ in scored)
    best = max(scored, key=lambda sa: sa[0][0])[1]
    return [run.entry("random", best, cost)]


def run_quality(config: QualityConfig, log: Log = print) -> list[Entry]:
    """Every method at every target (see the module); the rows, by target then method."""
    rows: list[Entry] = []
    for target in config.targets_ms:
        run = _Run(config, target, log)
        rows += _searched(run) + _scaled(run) + _random(run)
    return rows


def quality_markdown(rows: list[Entry]) -> str:
    """The table of the benchmark document: per target, every method's network with latency, top-1 and cost."""
    body = [[f"{e.target_ms:g}", e.method, e.arch.name, f"{e.latency_ms:.2f}",
             f"{100 * e.mean:.2f} ± {100 * e.ci95:.2f}" if len(e.top1) > 1 else f"{100 * e.mean:.2f}",
             ", ".join(f"{100 * v:.2f}" for v in e.top1), f"{e.cost_s / 60:.1f}",
             str(e.yaml) if e.yaml else "–"] for e in rows]
    return table(["target (ms)", "method", "network", "latency (ms)", "top-1 % (mean ± 95 % CI)", "per seed",
                  "cost (CPU-min)", "YAML"], body, "rlllrrrl")


def headline(rows: list[Entry]) -> list[str]:
    """One sentence per target: does the searched network beat the best scaled reference and the best random
    one at equal latency, outside the confidence intervals?"""
    out = []
    for target in sorted({e.target_ms for e in rows}):
        at = [e for e in rows if e.target_ms == target]
        searched = [e for e in at if e.method in ("multi-fidelity", "zero-cost")]
        others = [e for e in at if e not in searched]
        if not searched or not others:
            out.append(f"{target:g} ms: not every method produced a network (see the log).")
            continue
        best, rival = max(searched, key=lambda e: e.mean), max(others, key=lambda e: e.mean)
        margin = best.mean - rival.mean
        clear = not math.isnan(best.ci95 + rival.ci95) and margin > best.ci95 + rival.ci95
        out.append(f"{target:g} ms: {best.method} {100 * best.mean:.2f} % vs the best other, {rival.method} "
                   f"{100 * rival.mean:.2f} % ({100 * margin:+.2f} pt, "
                   + ("outside the CIs)." if clear else "within the CIs: not a clear win)." if margin > 0
                      else "a loss)."))
    return out
