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
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
import optuna
from scipy import stats

from nas.arch.io import dump_arch, load_arch
from nas.arch.key import arch_key
from nas.arch.spec import Arch
from nas.files import atomic_write
from nas.markdown import table
from nas.numbers import is_finite
from nas.search.config import SearchConfig
from nas.search.driver import run_search
from nas.search.evaluate import Evaluator
from nas.search.export import trial_arch
from nas.search.front import feasible_trials
from nas.search.refine import RefineSpec, fidelities, refine
from nas.search.run import read_json
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

    def __post_init__(self) -> None:
        if self.latency.kind == "paired":  # the scaled references have no study whose reference they could share
            raise ValueError("--latency paired: the quality benchmark times searches and scaled references alike, "
                             "solo (measure) or from a table (lut:FILE)")


@dataclass(frozen=True)
class SeedNoise:
    """Seed-to-seed spread of top-1 with one training setup, pooled over every network trained on ≥ 2 seeds:
    ``sd`` (fraction; the pooled within-network standard deviation, as one-way ANOVA's error term), ``df``
    (its degrees of freedom, Σ(seeds − 1)) and ``nets``."""

    sd: float
    df: int
    nets: int

    def ci95(self, n: int) -> float:
        """Half-width of the 95 % t-interval of a mean over ``n`` seeds with this spread."""
        return float(stats.t.ppf(0.975, self.df) * self.sd / math.sqrt(n))


def seed_noise(records: Iterable[Mapping[str, object]], data_id: object, recipe: object,
               epochs: int) -> SeedNoise | None:
    """:class:`SeedNoise` of the training-cache ``records`` with this data, recipe and epochs (``None`` when no
    network has two seeds)."""
    by_arch: dict[str, list[float]] = {}
    for r in records:
        if (r.get("status") == "ok" and r.get("epochs") == epochs and r.get("data") == data_id
                and r.get("recipe") == recipe and is_finite(r.get("test_top1"))):
            by_arch.setdefault(str(r["arch_key"]), []).append(float(r["test_top1"]))  # type: ignore[arg-type]
    groups = [np.asarray(v) for v in by_arch.values() if len(v) > 1]
    df = sum(len(g) - 1 for g in groups)
    if not df:
        return None
    return SeedNoise(math.sqrt(sum(float(((g - g.mean()) ** 2).sum()) for g in groups) / df), df, len(groups))


@dataclass
class Entry:
    """One row: a method's network at one target, its measured latency, per-seed top-1 and search cost;
    ``noise``: the setup's pooled seed spread (:func:`seed_noise`), for :attr:`pooled_ci95`."""

    target_ms: float
    method: str
    arch: Arch
    latency_ms: float
    top1: list[float]
    cost_s: float
    yaml: Path | None = None
    noise: SeedNoise | None = None

    @property
    def mean(self) -> float:
        return float(np.mean(self.top1)) if self.top1 else math.nan

    @property
    def ci95(self) -> float:
        """Half-width of the 95 % t-interval of the mean over this row's own seeds (nan with one seed)."""
        if len(self.top1) < 2:
            return math.nan
        return float(stats.t.ppf(0.975, len(self.top1) - 1) * np.std(self.top1, ddof=1) / math.sqrt(len(self.top1)))

    @property
    def pooled_ci95(self) -> float:
        """Half-width of the 95 % interval of the mean with the pooled seed spread (nan without one)."""
        return self.noise.ci95(len(self.top1)) if self.noise is not None and self.top1 else math.nan


CHOICES = "choices.json"  # per target folder: each method's network (YAML file name) and the cost of finding it


class _Run:
    """State shared by the four methods at one target. Each method's network is chosen first and recorded in
    ``<folder>/choices.json`` with its YAML before anything is trained, so a rerun (or a second process with the
    same settings) trains exactly the same networks: measured latencies move between runs, and a network chosen
    again could differ."""

    def __init__(self, config: QualityConfig, target_ms: float, log: Log):
        self.config, self.target, self.log = config, target_ms, log
        self.space = load_space(config.space)
        self.evaluator = Evaluator(latency=config.latency, proxy=config.proxy, data=config.data,
                                   device=config.device, threads=config.threads)
        setup = Setup(data=config.data, train_size=config.train_size, training=TrainConfig(num_threads=config.threads))
        self.validator = Validator(self.space, setup, cache=config.cache, progress=False)
        self.folder = config.out / f"target-{target_ms:g}ms"
        file = self.folder / CHOICES
        self.choices: dict[str, dict[str, object]] = json.loads(file.read_text()) if file.exists() else {}

    def latency(self, arch: Arch) -> float:
        return self.evaluator.measure_arch(arch)[0]

    def trained(self, arch: Arch, seed: int) -> tuple[float, float]:
        """(top-1, seconds it took) of ``arch`` trained with the recipe at ``seed`` (cached; a training another
        process is running is waited for, not repeated)."""
        record = self.validator.train_shared(Job(arch, self.config.epochs, seed))
        return float(record.get("test_top1") or math.nan), float(record.get("seconds") or 0.0)

    def choose(self, method: str, make: Callable[[], tuple[Arch, float] | None]) -> tuple[Arch, float] | None:
        """``method``'s network and the seconds it took to find it: recorded ones, else ``make()``'s, written to
        ``<method>.yaml`` and ``choices.json`` at once (``None``: the method found no network)."""
        if method in self.choices:
            c = self.choices[method]
            return load_arch(self.folder / str(c["yaml"])), float(c["cost_s"])  # type: ignore[arg-type]
        made = make()
        if made is None:
            return None
        arch, cost_s = made
        slug = method.replace(" ", "_")
        path = self.folder / f"{slug}.yaml"
        dump_arch(dataclasses.replace(arch, name=f"{slug}-{arch.name}"), path)
        self.choices[method] = {"yaml": path.name, "cost_s": cost_s}
        atomic_write(self.folder / CHOICES, json.dumps(self.choices, indent=1, sort_keys=True) + "\n")
        return load_arch(path), cost_s

    def entry(self, method: str, arch: Arch, cost_s: float) -> Entry:
        """Train ``arch`` on every seed (those nobody else holds first), measure it again: the row of ``method``."""
        jobs = [Job(arch, self.config.epochs, s) for s in self.config.seeds]
        self.validator.run_jobs(jobs, label=method)
        top1 = [self.trained(arch, s)[0] for s in self.config.seeds]
        self.log(f"{self.target:g} ms · {method}: {arch.name}, top-1 {np.mean(top1):.4f}")
        path = self.folder / str(self.choices[method]["yaml"])
        v = self.validator
        noise = seed_noise(v.train_cache, v.data_id, v.recipe, self.config.epochs)
        return Entry(self.target, method, arch, self.latency(arch), top1, cost_s, path, noise)


def _study_seconds(study: optuna.Study) -> float:
    """Wall-clock seconds the study's trials took (one process, ``threads`` threads): the search's cost."""
    return sum((t.datetime_complete - t.datetime_start).total_seconds() for t in study.get_trials(deepcopy=False)
               if t.datetime_complete is not None and t.datetime_start is not None)


def _choose_searched(run: _Run) -> None:
    """(a) and (b): one search, then its refinement; both networks recorded (:meth:`_Run.choose`)."""
    if "multi-fidelity" in run.choices and "zero-cost" in run.choices:
        return
    c = run.config
    result = run_search(SearchConfig(latency_target_ms=run.target, space=c.space, trials=c.search_trials,
                                     sampler="tpe", proxy=c.proxy, latency=c.latency, data=c.data, device=c.device,
                                     threads=c.threads, out=str(run.folder / "runs"), progress=False,
                                     study_name=f"quality-{run.target:g}ms", confirm_at_least=c.refine_top))
    search_s = _study_seconds(result.study) + (result.confirmation.seconds if result.confirmation else 0.0)
    feasible = feasible_trials(result.study, run.target)
    if not feasible:
        run.log(f"{run.target:g} ms: no searched network meets the target")
        return
    zero_cost = max(feasible, key=lambda t: t.values[0])
    run.choose("zero-cost", lambda: (trial_arch(result.study, zero_cost), search_s))
    refined = refine(result.study, RefineSpec(TrainProxy(epochs=c.refine_epochs, train_size=c.train_size),
                                              top=c.refine_top), storage=result.storage, data=c.data,
                     run_dir=result.run_dir, target_ms=run.target, device=c.device, echo=run.log)
    refine_s = sum(float(t.user_attrs.get("seconds") or 0.0) for t in refined.get_trials(deepcopy=False))
    best = max(fidelities(refined).items(), key=lambda kv: (kv[1].epochs, kv[1].accuracy))[0]
    trial = next(t for t in result.study.trials if t.number == best)
    run.choose("multi-fidelity", lambda: (trial_arch(result.study, trial), search_s + refine_s))


def _choose_scaled(run: _Run) -> None:
    """(c): each reference scaled to the target."""
    for name in run.config.references:
        def scale() -> tuple[Arch, float]:
            started = time.perf_counter()
            arch = load_arch(name).replace(resolution=run.space.skeleton.resolution)
            result = scale_to_latency(arch, run.target, run.latency)
            if not result.feasible:
                run.log(f"{run.target:g} ms: {name} misses the target even at ×{result.width_multiplier:.2f}")
            return result.arch, time.perf_counter() - started
        run.choose(f"scaled {name}", scale)


def _random(run: _Run, pool: int = 200) -> list[Entry]:
    """(d): the best of ``random_archs`` feasible random networks, judged by one training each. They are taken
    in order from the space's validation list (:meth:`nas.validation.Validator.archs`, seeded random samples),
    so the ground truth's trainings of those networks are reused from the cache; the list is recorded under
    ``random-pool`` in ``choices.json``."""
    chosen = _random_pool(run, pool)
    if not chosen:
        return []
    # the ones no other worker holds first (e.g. `nas validate-proxy` training the same list), then the rest
    run.validator.run_jobs([Job(a, run.config.epochs, run.config.seeds[0]) for a in chosen], label="random")
    scored = [(run.trained(a, run.config.seeds[0]), a) for a in chosen]
    cost = float(run.choices["random-pool"]["cost_s"]) + sum(seconds for (_, seconds), _ in scored)  # type: ignore
    best = max(scored, key=lambda sa: sa[0][0])[1]
    run.choose("random", lambda: (best, cost))
    return [run.entry("random", best, cost)]


def _random_pool(run: _Run, pool: int = 200) -> list[Arch]:
    """The random networks of (d): recorded under ``random-pool`` in ``choices.json``, else chosen now (the
    first ``random_archs`` feasible ones of the validation list) and recorded."""
    recorded = run.choices.get("random-pool")
    if recorded is None:
        started, chosen = time.perf_counter(), []
        for arch in run.validator.archs(min(pool, run.space.size())):
            if len(chosen) >= run.config.random_archs:
                break
            if run.latency(arch) <= run.target:
                chosen.append(arch)
        run.choices["random-pool"] = {"keys": [arch_key(a) for a in chosen], "cost_s": time.perf_counter() - started}
        atomic_write(run.folder / CHOICES, json.dumps(run.choices, indent=1, sort_keys=True) + "\n")
    else:
        by_key = {arch_key(a): a for a in run.validator.archs(min(pool, run.space.size()))}
        chosen = [by_key[k] for k in recorded["keys"]]  # type: ignore[union-attr]
    return chosen


def check_recorded_searches(config: QualityConfig) -> None:
    """Raise ``ValueError`` when a target's search already ran (its ``run.json`` under ``config.out``) with
    another proxy or latency method than ``config`` names: its recorded networks would be reported under the
    wrong settings."""
    for target in config.targets_ms:
        run = config.out / f"target-{target:g}ms" / "runs" / f"quality-{target:g}ms" / "run.json"
        recorded = (read_json(run) or {}).get("settings") or {}
        for what, flag, want in (("proxy", "--proxy", config.proxy.label),
                                 ("latency_method", "--latency", config.latency.label)):
            if recorded.get(what) not in (None, want):
                raise ValueError(f"{run.parent.parent.parent}: the search there ran with {flag} {recorded[what]}, "
                                 f"not {want}; pass {flag} {recorded[what]} (or another --out)")


def run_quality(config: QualityConfig, log: Log = print) -> list[Entry]:
    """Every method at every target (see the module); the rows, by target then method. Every network is
    chosen (and recorded) before any of them is trained. Raises ``ValueError`` as
    :func:`check_recorded_searches`."""
    check_recorded_searches(config)
    rows: list[Entry] = []
    for target in config.targets_ms:
        run = _Run(config, target, log)
        _choose_searched(run)
        _choose_scaled(run)
        methods = [m for m in ("multi-fidelity", "zero-cost") if m in run.choices]
        methods += [f"scaled {name}" for name in config.references]
        # every training nobody else holds, the references' (the longest) first: a second process with the same
        # settings takes the others, then each row waits for its own
        run.validator.run_jobs([Job(run.choose(m, lambda: None)[0], config.epochs, seed)  # type: ignore[index]
                                for m in reversed(methods) for seed in config.seeds]
                               + [Job(a, config.epochs, config.seeds[0]) for a in _random_pool(run)], label="quality")
        for method in methods:
            arch, cost = run.choose(method, lambda: None)  # type: ignore[misc]
            rows.append(run.entry(method, arch, cost))
        rows += _random(run)
    return rows


def quality_markdown(rows: list[Entry]) -> str:
    """The table of the benchmark document: per target, every method's network with latency, top-1 (with its
    own seeds' t-interval and the pooled one) and cost, then a line on the pooled seed spread."""
    def pm(half: float) -> str:
        return "–" if math.isnan(half) else f"± {100 * half:.2f}"
    body = [[f"{e.target_ms:g}", e.method, e.arch.name, f"{e.latency_ms:.2f}", f"{100 * e.mean:.2f}", pm(e.ci95),
             pm(e.pooled_ci95), ", ".join(f"{100 * v:.2f}" for v in e.top1), f"{e.cost_s / 60:.1f}",
             str(e.yaml) if e.yaml else "–"] for e in rows]
    out = table(["target (ms)", "method", "network", "latency (ms)", "top-1 % (mean)", "95 % CI, own seeds",
                 "95 % CI, pooled", "per seed", "cost (CPU-min)", "YAML"], body, "rlllrrrrrl")
    noise = next((e.noise for e in rows if e.noise is not None), None)
    seeds = sorted({len(e.top1) for e in rows if len(e.top1) > 1})
    if noise is not None and seeds:
        t = ", ".join(f"t = {stats.t.ppf(0.975, n - 1):.1f} with {n} seeds" for n in seeds)
        out += (f"\n\n*Own seeds*: the t-interval of each row's seeds alone ({t}). *Pooled*: the seed-to-seed "
                f"standard deviation of top-1 pooled over the {noise.nets} networks of this training setup with "
                f"≥ 2 seeds in the cache, {100 * noise.sd:.2f} pt ({noise.df} degrees of freedom) — it assumes every "
                "network's seed noise is alike.")
    return out


def _verdict(best: Entry, rival: Entry) -> tuple[str, str]:
    """(``+1.91 pt, a win outside the CIs`` — or ahead / behind within them, a loss outside, or no interval —,
    which intervals judged it): the pooled ones where both rows have them, else the rows' own."""
    margin = best.mean - rival.mean
    half, source = best.pooled_ci95 + rival.pooled_ci95, "the pooled seed spread"
    if math.isnan(half):
        half, source = best.ci95 + rival.ci95, "each row's own seeds"
    if math.isnan(half):
        return f"{100 * margin:+.2f} pt, no interval (one seed)", ""
    clear = abs(margin) > half
    verdict = ("a win outside the CIs" if margin > 0 and clear else "ahead, within the CIs: not a clear win"
               if margin > 0 else "a loss outside the CIs" if clear else "behind, within the CIs: not a clear loss")
    return f"{100 * margin:+.2f} pt, {verdict}", source


def headline(rows: list[Entry]) -> list[str]:
    """One sentence per target: does the best searched network beat the best scaled reference, and the best
    random one, at equal latency, outside the 95 % intervals (pooled ones where known)?"""
    out = []
    for target in sorted({e.target_ms for e in rows}):
        at = [e for e in rows if e.target_ms == target]
        searched = [e for e in at if e.method in ("multi-fidelity", "zero-cost")]
        groups = {"the best scaled reference": [e for e in at if e.method.startswith("scaled ")],
                  "the best random network": [e for e in at if e.method == "random"]}
        if not searched or not any(groups.values()):
            out.append(f"{target:g} ms: not every method produced a network (see the log).")
            continue
        best = max(searched, key=lambda e: e.mean)
        parts, sources = [], []
        for what, group in groups.items():
            if group:
                rival = max(group, key=lambda e: e.mean)
                verdict, source = _verdict(best, rival)
                parts.append(f"vs {what} ({rival.method} {100 * rival.mean:.2f} %): {verdict}")
                sources.append(source)
        ci = " and ".join(dict.fromkeys(s for s in sources if s))
        out.append(f"{target:g} ms: {best.method} {100 * best.mean:.2f} % — " + "; ".join(parts)
                   + (f" (95 % CIs from {ci})." if ci else " (one seed: no intervals)."))
    return out
