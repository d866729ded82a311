"""Latency benchmarks on this machine (``nas benchmark latency``): what they measure, as numbers.

* (a) repeatability — ``runs`` independent :func:`~nas.latency.measure.measure_latency` runs per zoo net
  (224 px, batch 1), solo and paired against a reference: their coefficient of variation
  (:func:`nas.bench.latency_zoo.part_a`);
* (b) LUT accuracy — a table per space, calibrated on a few random archs + the skeleton, predicting other
  random archs timed whole *inside the same sweeps* (held out of the fit): raw sum, linear calibration and
  calibration with per-network terms, beside the measurement's own repeat agreement (the ceiling) and the
  drift of the machine between the build and afterwards (:func:`build_luts`, :func:`part_b`);
* (c) LUT build time and entry count per space (built in :func:`build_luts`);
* (d) zoo nets at 224 px, batch 1: median latency and IQR beside parameters and MACs;
* (e) load — each zoo net quiet and with a busy-loop process of our own on one core, solo and paired
  (:func:`nas.bench.latency_zoo.part_e`);
* (f) the README's first command run beside that busy loop, its exported front re-timed quiet
  (:func:`nas.bench.latency_front.part_f`);
* the CPU's own steadiness, before any timing (:func:`noise_floor`).

:func:`run_latency_benchmark` runs the chosen parts and returns every raw number
(:class:`LatencyBenchResult`); :mod:`nas.bench.latency_report` turns them into the markdown section.
Latencies are in milliseconds, durations of the benchmark itself in seconds.
"""
from __future__ import annotations

import datetime
import json
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from scipy.stats import kendalltau

import nas.zoo
from nas.arch.spec import Arch
from nas.bench.latency_front import FRONT_ARGS, part_f
from nas.bench.latency_zoo import part_a, part_d, part_e, zoo_reference
from nas.device import device_info
from nas.latency.build import build_table, measure_networks
from nas.latency.calibrate import calibration_archs, fit_calibration
from nas.latency.noise import RETRIES, NoisePolicy
from nas.latency.table import DEFAULT_SETTINGS, TERMS, LatencyTable
from nas.machine import OtherCpuLoad, describe, fmt_load, loadavg, other_busy_cores
from nas.space.load import load_space
from nas.space.space import SearchSpace

__all__ = ["PARTS", "LatencyBenchConfig", "LatencyBenchResult", "build_luts", "machine_info", "noise_floor",
           "part_b", "run_latency_benchmark", "sample_distinct"]

#: The parts of the latency benchmark, in order.
PARTS = "abcdef"
#: Keys of :func:`build_luts`' rows that hold objects for part (b), not numbers for part (c).
_BUILD_OBJECTS = ("table", "space_obj", "lut_file", "tests", "cal_archs")


@dataclass(frozen=True)
class LatencyBenchConfig:
    """What to run. ``parts``: a subset of ``"abcdef"``; ``n`` test archs and ``calibrate`` calibration archs per
    space (part b); ``passes``: sweeps of each table build (ops, calibration and test networks); ``threads``
    intra-op threads of every timing; ``spaces``: bundled space names or YAML paths (parts b, c); ``seed`` for
    the test archs (calibration uses ``seed + 1``); ``lut_dir``: keep and reuse the tables there (``None``: a
    temporary folder, so part c times a fresh build); ``noise_seconds``: length of the :func:`noise_floor` probe.
    Zoo parts (a, d, e): ``zoo`` nets (empty: all), ``runs`` independent measurements per net in part a,
    ``repeats``/``min_run_time``/``warmup`` of each ``measure_latency`` call, ``reference`` (a zoo name or arch
    file; empty: no paired timing), ``busy_core`` of part e's busy loop (``None``: the last usable core),
    ``retries`` of a noisy zoo measurement (the reference's too). ``backend``: the runtime every timing runs in
    (``eager`` PyTorch, ``onnxruntime`` or ``openvino``: :mod:`nas.latency.runtimes`), tables included.
    ``front_args``: the ``nas search`` flags of part f (default: the README's first command), whose front is
    re-timed with the zoo parts' settings."""

    parts: str = PARTS
    n: int = 100
    calibrate: int = 40
    passes: int = DEFAULT_SETTINGS["passes"]
    threads: int = 1
    device: str = "cpu"
    spaces: tuple[str, ...] = ("mnasnet", "mobile_32px")
    seed: int = 0
    lut_dir: Path | None = None
    progress: bool = True
    noise_seconds: float = 10.0
    zoo: tuple[str, ...] = ()
    runs: int = 5
    repeats: int = 5
    min_run_time: float = 0.2
    warmup: int = 10
    reference: str = "mnasnet_b1"
    busy_core: int | None = None
    retries: int = RETRIES
    backend: str = "eager"
    front_args: tuple[str, ...] = FRONT_ARGS

    def __post_init__(self) -> None:
        if not self.parts or any(p not in PARTS for p in self.parts):
            raise ValueError(f"parts must be a non-empty subset of {PARTS!r}, got {self.parts!r}")
        object.__setattr__(self, "parts", "".join(sorted(set(self.parts))))
        for name in ("n", "calibrate", "passes", "threads", "runs", "repeats"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)!r}")
        if not self.min_run_time > 0 or self.warmup < 0 or self.retries < 0:
            raise ValueError(f"min_run_time must be > 0, warmup and retries ≥ 0, got {self.min_run_time!r}, "
                             f"{self.warmup!r}, {self.retries!r}")
        object.__setattr__(self, "spaces", tuple(str(s) for s in self.spaces))
        object.__setattr__(self, "zoo", tuple(str(s) for s in self.zoo) or tuple(nas.zoo.names()))
        object.__setattr__(self, "front_args", tuple(str(s) for s in self.front_args))

    def settings(self) -> dict[str, Any]:
        """The ``measure_latency`` keyword arguments of the zoo parts."""
        return dict(device=self.device, threads=self.threads, repeats=self.repeats,
                    min_run_time=self.min_run_time, warmup=self.warmup, noise=NoisePolicy(retries=self.retries),
                    backend=self.backend)


@dataclass
class LatencyBenchResult:
    """Every number one run measured. ``machine``: :func:`machine_info`; ``loads``: load averages at
    ``start`` and ``end`` and ``others`` (CPU cores other processes used ``before`` timing and during each
    part, ``None`` where unknown); ``results``: ``noise`` (:func:`noise_floor`) and one entry per part run
    (``a`` … ``f``); ``started`` (UTC) and ``seconds`` of the whole run."""

    config: LatencyBenchConfig
    machine: dict[str, Any]
    loads: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    started: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc))
    seconds: float = 0.0

    def to_json(self) -> str:
        """``{"machine", "loads", "results"}`` as indented JSON (what ``--json`` writes)."""
        return json.dumps({"machine": self.machine, "loads": self.loads, "results": self.results},
                          indent=1, default=str) + "\n"


def machine_info(device: str, threads: int, commit: str = "") -> dict[str, Any]:
    """What a latency section records about the machine: :func:`nas.device.device_info` (``device``,
    ``device_type``, ``torch_version``, ``threads``) plus ``logical_cpus``, ``python``, ``platform``,
    ``torch_default_threads`` (from :func:`nas.machine.describe`) and the source ``commit`` the caller names.
    Raises ``ValueError`` (one line) for a device this machine does not have."""
    info = device_info(device, threads)
    m = describe()
    return {**info, "logical_cpus": m["cores"], "python": m["python"], "platform": m["platform"],
            "torch_default_threads": m["threads"], "commit": commit}


def noise_floor(seconds: float = 10.0) -> dict[str, float]:
    """How steady is this CPU? A fixed pure-Python loop (no memory traffic, no torch) timed back to back for
    ``seconds``: ``p10_ms`` and ``p50_ms`` per iteration, ``p50_over_p10``, and ``chunk_cv_pct``, the CV (%) of
    the medians of consecutive 0.5-s chunks (needs ``seconds`` ≥ 1 to be defined). On an idle dedicated core
    p50/p10 ≈ 1 and the chunk CV is well under 1 %."""
    times, stamps = [], []
    t_end = time.perf_counter() + seconds
    while (now := time.perf_counter()) < t_end:
        x = 0
        for i in range(20000):
            x += i
        times.append((time.perf_counter() - now) * 1e3)
        stamps.append(now)
    a, t = np.asarray(times), np.asarray(stamps)
    chunk = ((t - t[0]) // 0.5).astype(int)
    medians = np.asarray([np.median(a[chunk == c]) for c in np.unique(chunk)])
    p10, p50 = np.percentile(a, [10, 50])
    return {"p10_ms": float(p10), "p50_ms": float(p50), "p50_over_p10": float(p50 / p10),
            "chunk_cv_pct": float(medians.std(ddof=1) / medians.mean() * 100), "seconds": seconds}


def sample_distinct(space: SearchSpace, n: int, seed: int) -> list[Arch]:
    """The first ``n`` distinct archs (by name) that one ``random.Random(seed)`` draws from ``space`` — fewer
    if 1000·n draws do not find them. Unlike :func:`nas.latency.calibrate.calibration_archs`, no reference
    arch is added: these are part (b)'s test archs."""
    rng = random.Random(seed)
    tests: dict[str, Arch] = {}
    draws = 0
    while len(tests) < n and draws < 1000 * n:
        arch = space.sample(rng)
        tests.setdefault(arch.name, arch)
        draws += 1
    return list(tests.values())


def _timings(table: LatencyTable) -> int:
    return sum(len(e.samples_ms) for d in (table.entries, table.networks) for e in d.values())


def _build_one(config: LatencyBenchConfig, source: str, lut_dir: Path) -> dict[str, Any]:
    space = load_space(source)
    tests = sample_distinct(space, config.n, config.seed)
    cal = calibration_archs(space, config.calibrate, seed=config.seed + 1, exclude=[a.name for a in tests])
    assert not {a.name for a in cal} & {a.name for a in tests}
    runtime = "" if config.backend == "eager" else f"-{config.backend}"
    file = lut_dir / f"{space.name}-{config.device}-t{config.threads}{runtime}.json"
    before = _timings(LatencyTable.read(file)) if file.exists() else 0
    load = loadavg()
    start = time.perf_counter()
    table = build_table(space, device=config.device, threads=config.threads, out_path=file,
                        progress=config.progress, calibration_archs=cal, holdout_archs=tests, passes=config.passes,
                        backend=config.backend)
    seconds = time.perf_counter() - start
    timings = _timings(table)
    return {"space": space.name, "file": str(source), "resolution": space.skeleton.resolution,
            "entries": len(table), "cal_nets": len(cal), "test_nets": len(tests), "passes": table.meta.passes,
            "timings": timings - before, "seconds": seconds, "reused": timings == before,
            "table": table, "space_obj": space, "tests": tests, "cal_archs": cal, "lut_file": file,
            "load": load, "busy_other_cores": table.meta.busy_other_cores}


def build_luts(config: LatencyBenchConfig, lut_dir: Path) -> list[dict[str, Any]]:
    """One table per space in ``lut_dir`` (reused when it exists), calibrated during the build on archs disjoint
    from the part-(b) test archs, which are timed in the same sweeps. Per space: part (c)'s numbers
    (``entries``, ``cal_nets``, ``test_nets``, ``passes``, new ``timings``, build ``seconds``, ``reused``,
    ``load``, ``busy_other_cores``) and the objects part (b) needs (``table``, ``space_obj``, ``tests``,
    ``cal_archs``, ``lut_file``). Raises ``LUTError`` / ``SpaceError``."""
    return [_build_one(config, source, lut_dir) for source in config.spaces]


def _error_stats(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    err = (pred - y) / y * 100
    return {"within10_pct": float(np.mean(np.abs(err) <= 10) * 100), "mean_abs_pct": float(np.mean(np.abs(err))),
            "max_abs_pct": float(np.max(np.abs(err))), "bias_pct": float(np.mean(err)),
            "kendall_tau": float(kendalltau(pred, y).statistic)}


def _retest(samples: np.ndarray) -> dict[str, Any] | None:
    """The measurement's own reproducibility: median of the first half of the sweeps vs the rest (≥ 2 sweeps)."""
    passes = samples.shape[1]
    if passes < 2:
        return None
    h = passes // 2
    m1, m2 = np.median(samples[:, :h], axis=1), np.median(samples[:, h:], axis=1)
    return {"halves": [h, passes - h], "within10_pct": float(np.mean(np.abs(m1 - m2) / m2 <= 0.10) * 100),
            "mean_abs_pct": float(np.mean(np.abs(m1 - m2) / m2) * 100),
            "kendall_tau": float(kendalltau(m1, m2).statistic)}


def _test_entries(config: LatencyBenchConfig, built: dict[str, Any]) -> tuple[list[Any], bool]:
    """The test nets' timings from the build's sweeps; a reused table that lacks them has them timed now."""
    table, tests = built["table"], built["tests"]
    if all(a.name in table.networks for a in tests):
        return [table.networks[a.name] for a in tests], False
    return measure_networks(tests, table.meta, passes=config.passes, progress=config.progress,
                            desc=f"(b) {built['space']} test"), True


def _predictors(table: LatencyTable, cal_archs: list[Arch], tests: list[Arch]) -> dict[str, Any]:
    """Each predictor fitted on the calibration nets and applied to the tests: raw sum, linear calibration,
    calibration with :data:`~nas.latency.table.TERMS` (forced), and the table's own (chosen by leave-one-out)."""
    y_cal = [table.networks[a.name].median_ms for a in cal_archs]
    raw_cal = [table.predict_raw(a) for a in cal_archs]
    feats_cal = [table.features(a) for a in cal_archs]
    fits = {"linear": fit_calibration(raw_cal, y_cal),
            "terms": fit_calibration(raw_cal, y_cal, features={t: [f[t] for f in feats_cal] for t in TERMS},
                                     select=False)}
    raw = np.asarray([table.predict_raw(a) for a in tests])
    feats = [table.features(a) for a in tests]
    preds = {"raw": raw, **{k: np.asarray([c.apply(r, f) for r, f in zip(raw, feats)]) for k, c in fits.items()},
             "calibrated": np.asarray([table.predict(a) for a in tests])}
    return {"preds": preds, "fits": {k: {"overhead_ms": c.overhead_ms, "scale": c.scale, "terms": list(c.terms),
                                         "coefs": list(c.coefs), "loo_mean_abs_pct": c.loo_mean_abs_pct,
                                         "mean_abs_pct": c.mean_abs_pct} for k, c in fits.items()}}


def part_b(config: LatencyBenchConfig, built: dict[str, Any]) -> dict[str, Any]:
    """``built``'s test archs (timed whole inside the build's sweeps, held out of the fit) against each
    predictor (:func:`_predictors`): share within ±10 %, mean / max |error|, mean error in %, Kendall τ; the
    measurement's own repeat agreement (``retest``, the ceiling); and ``drift_pct``: the calibration nets timed
    once more after the build against their in-build medians (how far a later timing moves)."""
    space, table, test_archs, cal_archs = built["space_obj"], built["table"], built["tests"], built["cal_archs"]
    load_before = loadavg()
    entries, timed_after = _test_entries(config, built)
    y = np.asarray([e.median_ms for e in entries])
    fitted = _predictors(table, cal_archs, test_archs)
    after = measure_networks(cal_archs, table.meta, passes=1, desc=f"(b) {space.name} drift")
    drift = np.median([a.median_ms / table.networks[c.name].median_ms for a, c in zip(after, cal_archs)])
    cal = table.calibration
    return {"space": space.name, "resolution": built["resolution"], "n_test": len(test_archs),
            "n_cal": len(cal_archs), "passes": min(len(e.samples_ms) for e in entries), "timed_after": timed_after,
            "calibration": {k: getattr(cal, k) for k in ("overhead_ms", "scale", "rmse_ms", "mean_abs_pct",
                                                         "max_abs_pct", "loo_mean_abs_pct")}
                           | {"terms": list(cal.terms), "coefs": list(cal.coefs)},
            "fits": fitted["fits"], **{k: _error_stats(p, y) for k, p in fitted["preds"].items()},
            "measured_ms": {"min": float(y.min()), "median": float(np.median(y)), "max": float(y.max())},
            "retest": _retest(np.asarray([e.samples_ms[:min(len(x.samples_ms) for x in entries)] for e in entries])),
            "drift_pct": float((drift - 1) * 100),
            "sweep_iqr_rel_pct": float(np.median(np.asarray([e.iqr_ms for e in entries]) / y * 100)),
            "tests": [{"arch": a.name, "measured_ms": e.median_ms, "samples_ms": list(e.samples_ms),
                       **{f"{k}_ms": float(p[i]) for k, p in fitted["preds"].items()}}
                      for i, (a, e) in enumerate(zip(test_archs, entries))],
            "cal_archs": [{"arch": a.name, "measured_ms": table.networks[a.name].median_ms,
                           "samples_ms": list(table.networks[a.name].samples_ms)} for a in cal_archs],
            "load_before": load_before, "load_after": loadavg()}


def _run_luts(config: LatencyBenchConfig, results: dict[str, Any], others: dict[str, float | None],
              monitor: OtherCpuLoad) -> None:
    """Parts (b) and (c): build the tables (in ``config.lut_dir`` or a temporary folder), then predict."""
    with tempfile.TemporaryDirectory(prefix="nas-lut-") as tmp:
        built = build_luts(config, Path(config.lut_dir) if config.lut_dir else Path(tmp))
        if "c" in config.parts:
            results["c"] = [{k: v for k, v in b.items() if k not in _BUILD_OBJECTS} for b in built]
        others["c"] = monitor.sample()
        if "b" in config.parts:
            results["b"] = [part_b(config, b) for b in built]
            others["b"] = monitor.sample()


def _run_zoo(config: LatencyBenchConfig, results: dict[str, Any], others: dict[str, float | None],
             monitor: OtherCpuLoad) -> None:
    """Parts (a), (d), (e) and (f); the reference for paired timing is measured once, first, while still quiet."""
    settings = config.settings()
    reference = None
    if config.reference and ("a" in config.parts or "e" in config.parts):
        reference = zoo_reference(config.reference, settings)
        results["reference"] = reference.describe() | {"others_cpu": reference.quiet.get("others_cpu")}
    if "a" in config.parts:
        results["a"] = part_a(config.zoo, config.runs, settings, reference, config.progress)
        others["a"] = monitor.sample()
    if "d" in config.parts:
        results["d"] = part_d(config.zoo, settings, config.progress)
        others["d"] = monitor.sample()
    if "e" in config.parts:
        results["e"] = part_e(config.zoo, settings, reference, config.busy_core, config.progress)
        others["e"] = monitor.sample()  # includes the benchmark's own busy loop
    if "f" in config.parts:
        results["f"] = part_f(config.front_args, settings, config.busy_core, config.progress,
                              ruler=config.reference or None)
        others["f"] = monitor.sample()  # the search process and the busy loop


def run_latency_benchmark(config: LatencyBenchConfig, machine: dict[str, Any],
                          log: Callable[[str], None] | None = None) -> LatencyBenchResult:
    """Run ``config.parts`` on this machine (``machine``: :func:`machine_info`, taken just before): load
    average and other processes' CPU use, the :func:`noise_floor`, then each part with the other processes'
    CPU use during it. ``log`` gets one status line before the timings. Raises ``LUTError`` or ``SpaceError``
    for a table or space that cannot be used (tables already built stay in ``config.lut_dir``)."""
    t0 = time.perf_counter()
    out = LatencyBenchResult(config, machine, loads={"start": loadavg()})
    others: dict[str, float | None] = {"before": other_busy_cores(2.0)}
    out.results["noise"] = noise_floor(config.noise_seconds)
    if log is not None:
        log(f"{machine['device']} ({machine['device_type']}), torch {machine['torch_version']}, "
            f"{config.threads} thread(s); load {fmt_load(out.loads['start'])}")
    monitor = OtherCpuLoad()
    if set("adef") & set(config.parts):
        _run_zoo(config, out.results, others, monitor)
    if "b" in config.parts or "c" in config.parts:
        _run_luts(config, out.results, others, monitor)
    out.loads["end"] = loadavg()
    out.loads["others"] = others
    out.seconds = time.perf_counter() - t0
    return out
