"""Latency benchmarks on this machine (``nas benchmark latency``): what they measure, as numbers.

* (a) repeatability — five independent :func:`~nas.latency.measure.measure_latency` runs per zoo net
  (224 px, batch 1, defaults): their coefficient of variation (:func:`part_a`);
* (b) LUT accuracy — a table per space, calibrated on a few random archs + the skeleton, predicting other
  random archs timed whole with the table's settings (:func:`build_luts`, :func:`part_b`);
* (c) LUT build time and entry count per space (built in :func:`build_luts`);
* (d) zoo nets at 224 px, batch 1: median latency and IQR beside parameters and MACs (:func:`part_d`);
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
from tqdm.auto import tqdm

import nas.zoo
from nas.arch.spec import Arch
from nas.device import device_info
from nas.latency.build import build_table, measure_networks
from nas.latency.calibrate import calibration_archs
from nas.latency.measure import measure_latency
from nas.latency.table import LatencyTable
from nas.machine import OtherCpuLoad, describe, fmt_load, loadavg, other_busy_cores
from nas.model.builder import build_model
from nas.model.cost import count_macs, count_params
from nas.space.load import load_space
from nas.space.space import SearchSpace

__all__ = ["PARTS", "LatencyBenchConfig", "LatencyBenchResult", "build_luts", "machine_info", "noise_floor",
           "part_a", "part_b", "part_d", "run_latency_benchmark", "sample_distinct"]

#: The parts of the latency benchmark, in order.
PARTS = "abcd"
#: Keys of :func:`build_luts`' rows that hold objects for part (b), not numbers for part (c).
_BUILD_OBJECTS = ("table", "space_obj", "lut_file", "tests", "cal_archs")


@dataclass(frozen=True)
class LatencyBenchConfig:
    """What to run. ``parts``: a subset of ``"abcd"``; ``n`` test archs and ``calibrate`` calibration archs per
    space (part b); ``net_passes`` sweeps over those networks; ``threads`` intra-op threads of every timing;
    ``spaces``: bundled space names or YAML paths (parts b, c); ``seed`` for the test archs (calibration uses
    ``seed + 1``); ``lut_dir``: keep and reuse the tables there (``None``: a temporary folder, so part c
    times a fresh build); ``noise_seconds``: length of the :func:`noise_floor` probe."""

    parts: str = PARTS
    n: int = 100
    calibrate: int = 10
    net_passes: int = 5
    threads: int = 1
    device: str = "cpu"
    spaces: tuple[str, ...] = ("mnasnet", "mobile_32px")
    seed: int = 0
    lut_dir: Path | None = None
    progress: bool = True
    noise_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not self.parts or any(p not in PARTS for p in self.parts):
            raise ValueError(f"parts must be a non-empty subset of {PARTS!r}, got {self.parts!r}")
        object.__setattr__(self, "parts", "".join(sorted(set(self.parts))))
        for name in ("n", "calibrate", "net_passes", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)!r}")
        object.__setattr__(self, "spaces", tuple(str(s) for s in self.spaces))


@dataclass
class LatencyBenchResult:
    """Every number one run measured. ``machine``: :func:`machine_info`; ``loads``: load averages at
    ``start`` and ``end`` and ``others`` (CPU cores other processes used ``before`` timing and during each
    part, ``None`` where unknown); ``results``: ``noise`` (:func:`noise_floor`) and one entry per part run
    (``a``, ``b``, ``c``, ``d``); ``started`` (UTC) and ``seconds`` of the whole run."""

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


def _zoo(desc: str, progress: bool) -> Any:
    return tqdm(nas.zoo.names(), desc=desc, unit="net", disable=not progress)


def part_a(config: LatencyBenchConfig) -> list[dict[str, Any]]:
    """Per zoo net: five independent default ``measure_latency`` medians at 224 px, batch 1 (``medians_ms``),
    their mean (``mean_ms``) and CV in % (``cv_pct``)."""
    rows = []
    for name in _zoo("(a) repeatability", config.progress):
        model = build_model(name)
        medians = [measure_latency(model, 224, device=config.device, threads=config.threads).median_ms
                   for _ in range(5)]
        a = np.asarray(medians)
        rows.append({"net": name, "medians_ms": medians, "mean_ms": float(a.mean()),
                     "cv_pct": float(a.std(ddof=1) / a.mean() * 100)})
    return rows


def part_d(config: LatencyBenchConfig) -> list[dict[str, Any]]:
    """Per zoo net at 224 px, batch 1: one default ``measure_latency`` call (``median_ms``, ``iqr_ms``, CV of its
    repeats in %), ``params`` and ``macs``."""
    rows = []
    for name in _zoo("(d) zoo", config.progress):
        model = build_model(name)
        r = measure_latency(model, 224, device=config.device, threads=config.threads)
        rows.append({"net": name, "median_ms": r.median_ms, "iqr_ms": r.iqr_ms, "cv_pct": r.cv * 100,
                     "params": count_params(model), "macs": count_macs(model, 224)})
    return rows


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
    file = lut_dir / f"{space.name}-{config.device}-t{config.threads}.json"
    before = _timings(LatencyTable.read(file)) if file.exists() else 0
    load = loadavg()
    start = time.perf_counter()
    table = build_table(space, device=config.device, threads=config.threads, out_path=file,
                        progress=config.progress, calibration_archs=cal)
    seconds = time.perf_counter() - start
    timings = _timings(table)
    return {"space": space.name, "file": str(source), "resolution": space.skeleton.resolution,
            "entries": len(table), "cal_nets": len(cal), "passes": table.meta.passes,
            "timings": timings - before, "seconds": seconds, "reused": timings == before,
            "table": table, "space_obj": space, "tests": tests, "cal_archs": cal, "lut_file": file,
            "load": load, "busy_other_cores": table.meta.busy_other_cores}


def build_luts(config: LatencyBenchConfig, lut_dir: Path) -> list[dict[str, Any]]:
    """One table per space in ``lut_dir`` (reused when it exists), calibrated during the build on archs disjoint
    from the part-(b) test archs. Per space: part (c)'s numbers (``entries``, ``cal_nets``, ``passes``, new
    ``timings``, build ``seconds``, ``reused``, ``load``, ``busy_other_cores``) and the objects part (b) needs
    (``table``, ``space_obj``, ``tests``, ``cal_archs``, ``lut_file``). Raises ``LUTError`` / ``SpaceError``."""
    return [_build_one(config, source, lut_dir) for source in config.spaces]


def _error_stats(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    err = (pred - y) / y * 100
    return {"within10_pct": float(np.mean(np.abs(err) <= 10) * 100), "mean_abs_pct": float(np.mean(np.abs(err))),
            "max_abs_pct": float(np.max(np.abs(err))), "bias_pct": float(np.mean(err)),
            "kendall_tau": float(kendalltau(pred, y).statistic)}


def _retest(samples: np.ndarray, passes: int) -> dict[str, Any] | None:
    """The measurement's own reproducibility: median of the first half of the sweeps vs the second half."""
    if passes < 4:
        return None
    h = passes // 2
    m1, m2 = np.median(samples[:, :h], axis=1), np.median(samples[:, h:], axis=1)
    return {"halves": [h, passes - h], "within10_pct": float(np.mean(np.abs(m1 - m2) / m2 <= 0.10) * 100),
            "mean_abs_pct": float(np.mean(np.abs(m1 - m2) / m2) * 100),
            "kendall_tau": float(kendalltau(m1, m2).statistic)}


def part_b(config: LatencyBenchConfig, built: dict[str, Any]) -> dict[str, Any]:
    """Time ``built``'s test archs whole (``net_passes`` shuffled sweeps, the table's settings) and compare
    them with the calibrated (``calibrated``) and raw (``raw``) predictions of its table: share within ±10 %,
    mean / max |error| and mean error in %, Kendall τ; plus the calibration, the retest of the measurement
    itself and every test and calibration network's timings."""
    space, table, test_archs, cal_archs = built["space_obj"], built["table"], built["tests"], built["cal_archs"]
    cal, passes = table.calibration, config.net_passes
    load_before = loadavg()
    entries = measure_networks(test_archs, table.meta, passes=passes, progress=config.progress,
                               desc=f"(b) {space.name} test")
    y = np.asarray([e.median_ms for e in entries])
    raw = np.asarray([table.predict_raw(a) for a in test_archs])
    pred = np.asarray([table.predict(a) for a in test_archs])
    return {"space": space.name, "resolution": built["resolution"], "n_test": len(test_archs),
            "n_cal": len(cal_archs),
            "calibration": {k: getattr(cal, k) for k in ("overhead_ms", "scale", "rmse_ms", "mean_abs_pct",
                                                         "max_abs_pct")},
            "calibrated": _error_stats(pred, y), "raw": _error_stats(raw, y),
            "measured_ms": {"min": float(y.min()), "median": float(np.median(y)), "max": float(y.max())},
            "passes": passes, "retest": _retest(np.asarray([e.samples_ms for e in entries]), passes),
            "sweep_iqr_rel_pct": float(np.median(np.asarray([e.iqr_ms for e in entries]) / y * 100)),
            "tests": [{"arch": a.name, "measured_ms": e.median_ms, "samples_ms": list(e.samples_ms),
                       "raw_ms": float(r), "pred_ms": float(p)} for a, e, r, p in zip(test_archs, entries, raw, pred)],
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
    if "a" in config.parts:
        out.results["a"] = part_a(config)
        others["a"] = monitor.sample()
    if "b" in config.parts or "c" in config.parts:
        _run_luts(config, out.results, others, monitor)
    if "d" in config.parts:
        out.results["d"] = part_d(config)
        others["d"] = monitor.sample()
    out.loads["end"] = loadavg()
    out.loads["others"] = others
    out.seconds = time.perf_counter() - t0
    return out

