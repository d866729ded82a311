"""A latency lookup table (LUT): every op a search space can produce, measured once on *this* device.

A network's latency is then predicted without building it: the sum of its layers' entries, corrected by
a linear calibration fitted on a few whole networks measured the same way::

    from nas.space import load_space
    from nas.latency.lut import LatencyTable, build_table, calibration_archs

    space = load_space("search_spaces/mnasnet.yaml")
    archs = calibration_archs(space, 10)                 # the skeleton + 10 random archs
    table = build_table(space, device="cpu", threads=1, out_path="lut.json",   # resumable; minutes
                        calibration_archs=archs)        # timed among the ops, then calibrate() is fitted

    table = LatencyTable.load("lut.json", device="cpu", threads=1)   # refuses another machine's table
    table.predict(space.sample(123))                                   # -> milliseconds

Entries are keyed by :attr:`nas.layers.Layer.key`, the same layers :func:`nas.layers.resolve` gives
and the builder turns into modules, so a table entry and a built block always agree. Each op is built
alone (stem → :class:`~nas.builder.Stem`, blocks → :func:`~nas.builder.build_block`, head →
:class:`~nas.builder.Head`; default BatchNorm arguments) and timed with
:func:`~nas.latency.measure.measure_latency` on an input of shape
``(batch_size, layer.in_chs, layer.input_size, layer.input_size)``.

Timing is spread over ``passes`` sweeps through the op list (each sweep in its own shuffled order), and an
entry is the median of its per-sweep medians. One ``measure_latency`` call only sees the machine during a
fraction of a second; on a shared or virtualised CPU the speed drifts over seconds and minutes (10–20 %
on the machine of docs/benchmarks.md), and sweeps decorrelate that drift from the ops. The whole networks
for calibration are timed inside the same sweeps, shuffled among the ops, so both see the same machine
states. After the first sweep the table is already usable; later sweeps refine it, and an interrupted
build resumes where it stopped.

Calibration (:class:`Calibration`) maps the raw sum to a whole-network latency:
``predicted = overhead_ms + scale × Σ entries`` — the overhead absorbs what only a whole network pays
(the outer ``forward`` calls, ``nn.Sequential`` dispatch), the scale what isolated timing over- or
under-states (cache warmth, allocator reuse).

Every error is a :class:`LUTError` (a ``ValueError``) with a one-line message.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

if TYPE_CHECKING:  # torch is imported lazily, inside the functions that time things
    from torch import nn

    from nas.arch import Arch
    from nas.layers import Layer

__all__ = [
    "SCHEMA_VERSION",
    "DEFAULT_SETTINGS",
    "Calibration",
    "Entry",
    "BUSY_LOAD",
    "BusyMachineWarning",
    "LUTError",
    "LatencyTable",
    "OtherCpuLoad",
    "TableMeta",
    "build_table",
    "calibrate",
    "calibration_archs",
    "fit_calibration",
    "measure_network",
    "measure_networks",
    "measure_op",
    "op_module",
    "other_busy_cores",
]

SCHEMA_VERSION = 1

#: Timing settings for every op and every calibration network: ``passes`` sweeps, each one
#: ``measure_latency(repeats=..., min_run_time=..., warmup=...)`` call per op. Chosen so that the mnasnet
#: space (605 ops at 224 px) builds in a few minutes on one CPU thread (see docs/benchmarks.md).
DEFAULT_SETTINGS: dict[str, Any] = {"passes": 3, "repeats": 1, "min_run_time": 0.05, "warmup": 3}

# Fields of TableMeta that must agree for a table to be resumed (build settings and where it was built).
# (``passes`` is not one of them: resuming with more passes refines a table.)
_BUILD_KEYS = ("device", "device_type", "torch_version", "threads", "batch_size", "in_channels", "space",
               "repeats", "min_run_time", "warmup")
# Fields checked against the current machine on load.
_MACHINE_KEYS = ("device", "device_type", "torch_version", "threads")


#: CPU cores used by other processes above which :func:`build_table` warns that they distort timings.
BUSY_LOAD = 0.5


class LUTError(ValueError):
    """A lookup-table problem (missing op, other machine, bad file): one line."""


class BusyMachineWarning(UserWarning):
    """Timing started while other processes kept more than :data:`BUSY_LOAD` CPU cores busy."""


# ---------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """The measured latency of one op in milliseconds: the median and interquartile range of
    ``samples_ms``, one ``measure_latency`` median per pass."""

    median_ms: float
    iqr_ms: float
    samples_ms: tuple[float, ...] = ()

    @classmethod
    def from_samples(cls, samples_ms: Sequence[float]) -> "Entry":
        import numpy as np

        samples = tuple(float(v) for v in samples_ms)
        if not samples:
            raise LUTError("an entry needs at least one measurement")
        p25, p50, p75 = np.percentile(samples, [25, 50, 75])
        return cls(float(p50), float(p75 - p25), samples)


@dataclass(frozen=True)
class TableMeta:
    """Where and how a table was measured. ``created`` is ISO 8601 UTC."""

    device: str  # CPU model name or CUDA device name (as measure.device_info reports it)
    device_type: str  # "cpu" | "cuda"
    torch_version: str
    threads: int
    batch_size: int = 1
    in_channels: int = 3
    space: str = ""
    resolution: int = 0  # the input resolution the ops were resolved at (0: unknown / mixed)
    passes: int = DEFAULT_SETTINGS["passes"]
    repeats: int = DEFAULT_SETTINGS["repeats"]
    min_run_time: float = DEFAULT_SETTINGS["min_run_time"]
    warmup: int = DEFAULT_SETTINGS["warmup"]
    created: str = ""
    nas_version: str = ""
    busy_other_cores: float = -1.0  # most CPU cores other processes used while measuring (-1: unknown)

    def measure_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for one :func:`~nas.latency.measure.measure_latency` call timed like this table's
        ops (device type, threads, batch size, repeats, min_run_time, warm-up); there are ``passes`` calls."""
        return dict(device=self.device_type, threads=self.threads, batch_size=self.batch_size,
                    repeats=self.repeats, min_run_time=self.min_run_time, warmup=self.warmup)


@dataclass(frozen=True)
class Calibration:
    """``whole-network ms ≈ overhead_ms + scale × Σ entries``, least squares on ``n_nets`` networks.

    Residual statistics are over the fitting networks (in-sample): ``rmse_ms``, ``mean_abs_pct`` and
    ``max_abs_pct`` (|predicted − measured| / measured × 100). ``archs`` names the fitting networks so
    that an evaluation can keep its test set disjoint.
    """

    overhead_ms: float
    scale: float
    n_nets: int
    rmse_ms: float = 0.0
    mean_abs_pct: float = 0.0
    max_abs_pct: float = 0.0
    archs: tuple[str, ...] = ()

    def apply(self, raw_ms: float) -> float:
        return self.overhead_ms + self.scale * raw_ms

    def __str__(self) -> str:
        return (f"{self.overhead_ms:+.3f} ms + {self.scale:.4f} × Σops  (fit on {self.n_nets} nets: "
                f"RMSE {self.rmse_ms:.3f} ms, mean |err| {self.mean_abs_pct:.2f} %, "
                f"max |err| {self.max_abs_pct:.2f} %)")


@dataclass
class LatencyTable:
    """Op latencies of one search space on one device; predicts whole-network latency in ms.

    ``entries`` maps :attr:`Layer.key` to the op's latency; ``networks`` maps arch names to the whole-network
    latencies the calibration was fitted on (timed during the build, see :func:`build_table`).
    """

    meta: TableMeta
    entries: dict[str, Entry] = field(default_factory=dict)
    calibration: Calibration | None = None
    networks: dict[str, Entry] = field(default_factory=dict)

    # -- prediction ----------------------------------------------------------------------------------

    def layer_ms(self, arch: "Arch | str") -> list[tuple["Layer", float]]:
        """Every layer of ``arch`` (``nas.layers.resolve``) with its entry's median, in network order.

        Raises :class:`LUTError` naming the first op the table does not cover.
        """
        from nas.arch import load_arch
        from nas.layers import resolve

        out = []
        for layer in resolve(load_arch(arch)):
            entry = self.entries.get(layer.key)
            if entry is None:
                space = f"space {self.meta.space!r}" if self.meta.space else "an unnamed op list"
                raise LUTError(f"no entry for {layer.key}: the table covers {space}; "
                               f"rebuild it with scripts/build_lut.py --space FILE")
            out.append((layer, entry.median_ms))
        return out

    def predict_raw(self, arch: "Arch | str") -> float:
        """Σ of the entries over the layers of ``arch``, in ms (no calibration)."""
        return math.fsum(ms for _, ms in self.layer_ms(arch))

    def predict(self, arch: "Arch | str") -> float:
        """Predicted latency of ``arch`` in ms: calibrated if the table has a calibration, else the raw sum."""
        raw = self.predict_raw(arch)
        return self.calibration.apply(raw) if self.calibration is not None else raw

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    # -- I/O -----------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        cal = None if self.calibration is None else {**dataclasses.asdict(self.calibration),
                                                     "archs": list(self.calibration.archs)}
        def rows(d: dict[str, Entry]) -> dict[str, list]:
            return {k: [e.median_ms, e.iqr_ms, list(e.samples_ms)] for k, e in d.items()}

        return {"schema": SCHEMA_VERSION, "meta": dataclasses.asdict(self.meta), "calibration": cal,
                "networks": rows(self.networks), "entries": rows(self.entries)}

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> "LatencyTable":
        if not isinstance(data, Mapping) or "schema" not in data:
            raise LUTError(f"{source}: not a latency table (no 'schema' field)")
        if data["schema"] != SCHEMA_VERSION:
            raise LUTError(f"{source}: schema version {data['schema']!r} is not supported (this nas reads "
                           f"{SCHEMA_VERSION}); rebuild it with scripts/build_lut.py")
        try:
            meta = TableMeta(**data["meta"])
            cal_data = data.get("calibration")
            cal = None if cal_data is None else Calibration(**{**cal_data, "archs": tuple(cal_data.get("archs", ()))})
            entries, networks = ({str(k): Entry(float(v[0]), float(v[1]), tuple(float(x) for x in v[2]))
                                  for k, v in rows.items()} for rows in (data["entries"], data.get("networks", {})))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise LUTError(f"{source}: malformed latency table: {type(exc).__name__}: {exc}") from None
        return cls(meta=meta, entries=entries, calibration=cal, networks=networks)

    def save(self, path: str | Path) -> None:
        """Write the table as JSON, atomically (temporary file + ``os.replace``)."""
        _atomic_write_json(Path(path), self.to_dict())

    @classmethod
    def read(cls, path: str | Path) -> "LatencyTable":
        """The table stored at ``path``, without checking it against this machine."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise LUTError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise LUTError(f"{path}: cannot read: {exc}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LUTError(f"{path}: invalid JSON: {exc}") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto", threads: int | None = None,
             force: bool = False) -> "LatencyTable":
        """Read a table and check it was measured here: device name and type, torch version, threads.

        ``threads`` is the intra-op thread count the predictions are for (``None``: the current
        ``torch.get_num_threads()``). A mismatch raises :class:`LUTError` listing every difference in
        one line; with ``force=True`` it is a :class:`UserWarning` instead and the table is returned.
        """
        table = cls.read(path)
        diffs = table.mismatches(device=device, threads=threads)
        if diffs:
            message = (f"{path}: table was measured on another setup: {'; '.join(diffs)} "
                       f"(rebuild it here with scripts/build_lut.py, or load with force=True)")
            if not force:
                raise LUTError(message)
            warnings.warn(message, UserWarning, stacklevel=2)
        return table

    def mismatches(self, *, device: str = "auto", threads: int | None = None) -> list[str]:
        """Differences between this table's metadata and the current machine, as ``'field table ≠ here'``."""
        from nas.latency.measure import device_info

        try:
            here = device_info(device, threads)
        except ValueError as exc:
            raise LUTError(str(exc)) from None
        return [f"{k} {getattr(self.meta, k)!r} ≠ {here[k]!r}" for k in _MACHINE_KEYS
                if getattr(self.meta, k) != here[k]]


def _atomic_write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, ensure_ascii=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# ---------------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------------


def op_module(layer: "Layer") -> "nn.Module":
    """The module for one op alone (:func:`nas.builder.build_layer`, default BN arguments)."""
    from nas.builder import build_layer

    return build_layer(layer)


def measure_op(layer: "Layer", meta: TableMeta) -> float:
    """One timing of one op alone, in ms: the median of one ``measure_latency`` call with the table's
    settings on an input of shape ``(meta.batch_size, layer.in_chs, layer.input_size, layer.input_size)``.
    :func:`build_table` calls it once per pass."""
    from nas.latency.measure import measure_latency

    result = measure_latency(op_module(layer), layer.input_size, in_channels=layer.in_chs,
                             **meta.measure_kwargs())
    return result.median_ms


def measure_network(arch: "Arch | str", meta: TableMeta) -> float:
    """One timing of a whole network, in ms, with the same ``measure_latency`` settings as one pass over
    the table's ops (:func:`build_table` uses it for the calibration networks)."""
    from nas.arch import load_arch
    from nas.builder import build_model
    from nas.latency.measure import measure_latency

    a = load_arch(arch)
    return measure_latency(build_model(a), a.resolution, in_channels=a.in_channels,
                           **meta.measure_kwargs()).median_ms


def measure_networks(archs: Sequence["Arch | str"], meta: TableMeta, *, passes: int | None = None,
                     progress: bool = False, desc: str = "networks") -> list[Entry]:
    """Whole-network latencies timed exactly like the table's ops: ``passes`` (default ``meta.passes``)
    sweeps over ``archs``, each in a shuffled order, one :func:`measure_network` per arch and sweep.

    Returns one :class:`Entry` per arch (``median_ms`` over the sweeps, their IQR, every sweep's value),
    e.g. to check a table's predictions. (For calibration, prefer ``build_table(calibration_archs=...)``,
    which times the networks among the ops.)
    """
    import random

    from tqdm.auto import tqdm

    from nas.arch import load_arch

    loaded = [load_arch(a) for a in archs]
    n_passes = meta.passes if passes is None else passes
    samples: list[list[float]] = [[] for _ in loaded]
    with tqdm(total=len(loaded) * n_passes, disable=not progress, unit="net", desc=desc, dynamic_ncols=True) as bar:
        for p in range(n_passes):
            order = list(range(len(loaded)))
            random.Random(p).shuffle(order)
            for i in order:
                samples[i].append(measure_network(loaded[i], meta))
                bar.update(1)
    return [Entry.from_samples(s) for s in samples]


def _cpu_times() -> tuple[float, float, float] | None:
    """(busy, total) jiffies of the whole machine from ``/proc/stat`` and this process's own CPU jiffies."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    v += [0] * (8 - len(v))
    user, nice, system, idle, iowait, irq, softirq, steal = v
    own = os.times()
    return float(user + nice + system + irq + softirq), float(sum(v)), (own.user + own.system) * hz


class OtherCpuLoad:
    """CPU cores kept busy by *other* processes: the machine's busy time (``/proc/stat``) minus this
    process's own CPU time, per elapsed time. Unlike the load average it does not count the measuring
    process itself. :meth:`sample` gives the average since the previous sample (``None``: unknown)."""

    def __init__(self) -> None:
        self._last = _cpu_times()

    def sample(self) -> float | None:
        now, last = _cpu_times(), self._last
        self._last = now
        if now is None or last is None:
            return None
        busy, total, own = (a - b for a, b in zip(now, last))
        if total <= 0:
            return None
        return max(0.0, (busy - own) / total * (os.cpu_count() or 1))


#: Seconds :func:`build_table` listens before measuring, to see whether other processes are busy.
IDLE_PROBE_S = 1.0


def other_busy_cores(seconds: float = IDLE_PROBE_S) -> float | None:
    """CPU cores other processes keep busy, averaged over ``seconds`` of waiting (``None``: unknown)."""
    import time

    monitor = OtherCpuLoad()
    if _cpu_times() is None:
        return None
    time.sleep(seconds)
    return monitor.sample()


def _new_meta(ops: Sequence["Layer"], *, device: str, threads: int | None, batch_size: int, space: str,
              passes: int, repeats: int, min_run_time: float, warmup: int) -> TableMeta:
    import torch

    import nas
    from nas.latency.measure import device_info

    try:
        info = device_info(device, threads if threads is not None else torch.get_num_threads())
    except ValueError as exc:
        raise LUTError(str(exc)) from None
    for name, value in (("passes", passes), ("repeats", repeats), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise LUTError(f"{name} must be an integer ≥ 1, got {value!r}")
    stems = [op for op in ops if op.kind == "stem"]
    in_channels = stems[0].in_chs if stems else 0
    sizes = {op.input_size for op in stems}
    return TableMeta(device=info["device"], device_type=info["device_type"],
                     torch_version=info["torch_version"], threads=info["threads"], batch_size=batch_size,
                     in_channels=in_channels, space=space, resolution=sizes.pop() if len(sizes) == 1 else 0,
                     passes=passes, repeats=repeats, min_run_time=float(min_run_time), warmup=warmup,
                     created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                     nas_version=getattr(nas, "__version__", ""))


def build_table(
    ops: "Iterable[Layer] | Any",
    *,
    device: str = "auto",
    threads: int | None = None,
    out_path: str | Path | None = None,
    progress: bool = True,
    resume: bool = True,
    space: str | None = None,
    calibration_archs: Sequence["Arch | str"] = (),
    batch_size: int = 1,
    passes: int = DEFAULT_SETTINGS["passes"],
    repeats: int = DEFAULT_SETTINGS["repeats"],
    min_run_time: float = DEFAULT_SETTINGS["min_run_time"],
    warmup: int = DEFAULT_SETTINGS["warmup"],
    save_every: int = 10,
) -> LatencyTable:
    """Measure every op (and the calibration networks) and return the table; with ``out_path``, the JSON
    is kept up to date as it goes.

    Args:
        ops: the layers to measure — a list of :class:`~nas.layers.Layer`, or a ``SearchSpace`` (its
            ``ops()`` and its name are used). Duplicate keys are measured once per pass.
        device: ``'auto'``, ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        threads: intra-op threads while timing (``None``: the current ``torch.get_num_threads()``).
        out_path: JSON file, rewritten atomically every ``save_every`` timings and on any exit (also
            Ctrl-C), so an interrupted build leaves a valid partial table.
        progress: show a tqdm progress bar (on stderr).
        resume: if ``out_path`` holds a table built with the same settings on the same machine (see
            :class:`TableMeta`), keep its timings and take only the missing ones (a larger ``passes``
            refines an existing table). A table with other settings raises :class:`LUTError`;
            ``resume=False`` overwrites it.
        space: the space name recorded in the metadata (default: ``ops.name`` for a space, else ``''``).
        calibration_archs: whole networks to calibrate on. They are timed *inside* the sweeps, shuffled
            among the ops, so that they see the machine in the same states as the ops (on a machine whose
            speed drifts over minutes, networks timed in a separate burst can be off by 20–30 % against
            the table); when every timing is done, :func:`calibrate` is fitted on them.
        passes: sweeps over the ops and networks; an entry is the median of its sweeps' timings.
        batch_size, repeats, min_run_time, warmup: ``measure_latency`` settings for every timing.

    An existing calibration is kept only if nothing new had to be measured.
    """
    import random
    import time

    from tqdm.auto import tqdm

    from nas.arch import load_arch

    if hasattr(ops, "ops") and callable(ops.ops):
        space = ops.name if space is None else space
        ops = ops.ops()
    unique: dict[str, Layer] = {}
    for op in ops:
        unique.setdefault(op.key, op)
    archs = {a.name: a for a in (load_arch(x) for x in calibration_archs)}
    meta = _new_meta(list(unique.values()), device=device, threads=threads, batch_size=batch_size,
                     space=space or "", passes=passes, repeats=repeats, min_run_time=min_run_time, warmup=warmup)
    table = LatencyTable(meta=meta)
    path = Path(out_path) if out_path is not None else None
    if path is not None and path.exists() and resume:
        old = LatencyTable.read(path)
        diffs = [f"{k} {getattr(old.meta, k)!r} ≠ {getattr(meta, k)!r}" for k in _BUILD_KEYS
                 if getattr(old.meta, k) != getattr(meta, k)]
        if diffs:
            raise LUTError(f"{path}: exists with other settings ({'; '.join(diffs)}); delete it or "
                           f"overwrite it (resume=False, --force)")
        table = LatencyTable(meta=dataclasses.replace(meta, created=old.meta.created,
                                                      passes=max(passes, old.meta.passes),
                                                      busy_other_cores=old.meta.busy_other_cores),
                             entries=dict(old.entries), calibration=old.calibration, networks=dict(old.networks))
    # work items: ("op", key) and ("net", name), each with its timings so far
    samples: dict[tuple[str, str], list[float]] = {}
    for key in unique:
        samples["op", key] = list(table.entries[key].samples_ms) if key in table.entries else []
    for name in archs:
        samples["net", name] = list(table.networks[name].samples_ms) if name in table.networks else []
    todo = sum(max(0, passes - len(s)) for s in samples.values())
    monitor, last_sample = OtherCpuLoad(), time.monotonic()

    def note_load(value: float | None) -> None:
        if value is not None:
            table.meta = dataclasses.replace(table.meta, busy_other_cores=max(table.meta.busy_other_cores,
                                                                              round(value, 2)))

    def sample_load(min_interval: float) -> None:  # average over ≥ 10 s windows: brief bursts don't count
        nonlocal last_sample
        if time.monotonic() - last_sample >= min_interval:
            note_load(monitor.sample())
            last_sample = time.monotonic()

    if todo:
        table.calibration = None
        others = other_busy_cores(IDLE_PROBE_S)
        note_load(others)
        monitor.sample()
        last_sample = time.monotonic()
        if others is not None and others > BUSY_LOAD:
            warnings.warn(f"other processes keep {others:.2f} CPU cores busy (> {BUSY_LOAD}): they distort the "
                          f"timings; stop (the partial table is kept) and resume when the machine is idle, or go "
                          f"on: the busiest moment is recorded in the table's metadata (busy_other_cores)",
                          BusyMachineWarning, stacklevel=2)
    since_save, calibrated = 0, False
    bar = tqdm(total=len(samples) * passes, initial=len(samples) * passes - todo, disable=not progress,
               unit="op", desc=f"LUT {meta.space or 'ops'}", dynamic_ncols=True)
    try:
        for p in range(passes):
            items = [item for item, s in samples.items() if len(s) == p]
            random.Random(p).shuffle(items)  # decorrelate slow drift of the machine from the op order
            for kind, key in items:
                if kind == "op":
                    samples[kind, key].append(measure_op(unique[key], meta))
                    table.entries[key] = Entry.from_samples(samples[kind, key])
                else:
                    samples[kind, key].append(measure_network(archs[key], meta))
                    table.networks[key] = Entry.from_samples(samples[kind, key])
                bar.update(1)
                since_save += 1
                if since_save >= save_every:
                    sample_load(10.0)
                    if path is not None:
                        table.save(path)
                    since_save = 0
        if archs and (todo or table.calibration is None):
            calibrate(table, list(archs.values()), [table.networks[name].median_ms for name in archs])
            calibrated = True
    finally:
        bar.close()
        if todo:
            sample_load(5.0)
        if path is not None and (todo or calibrated or not path.exists()):
            table.save(path)
    return table


# ---------------------------------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------------------------------


def fit_calibration(raw_ms: Sequence[float], measured_ms: Sequence[float],
                    names: Sequence[str] = ()) -> Calibration:
    """Least-squares ``measured = overhead + scale × raw`` with residual statistics."""
    import numpy as np

    x = np.asarray(raw_ms, dtype=np.float64)
    y = np.asarray(measured_ms, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise LUTError(f"calibration needs as many measured latencies as archs (got {len(x)} and {len(y)})")
    if len(x) < 2 or np.ptp(x) <= 0:
        raise LUTError(f"calibration needs at least 2 networks with different op sums (got {len(x)})")
    if not (np.all(np.isfinite(y)) and np.all(y > 0)):
        raise LUTError("calibration: measured latencies must be positive finite numbers of ms")
    design = np.stack([np.ones_like(x), x], axis=1)
    (overhead, scale), *_ = np.linalg.lstsq(design, y, rcond=None)
    pred = overhead + scale * x
    err_pct = np.abs(pred - y) / y * 100
    return Calibration(overhead_ms=float(overhead), scale=float(scale), n_nets=len(x),
                       rmse_ms=float(np.sqrt(np.mean((pred - y) ** 2))), mean_abs_pct=float(err_pct.mean()),
                       max_abs_pct=float(err_pct.max()), archs=tuple(names))


def calibrate(table: LatencyTable, archs: Sequence["Arch | str"], measured_ms: Sequence[float]) -> Calibration:
    """Fit ``measured_ms ≈ overhead + scale × predict_raw(arch)`` on whole networks timed like the ops
    (``build_table(calibration_archs=...)`` does this for you, timing them among the ops; or
    :func:`measure_networks`), store it in ``table.calibration`` and return it.
    """
    from nas.arch import load_arch

    loaded = [load_arch(a) for a in archs]
    if len(loaded) != len(measured_ms):
        raise LUTError(f"calibration needs one measured latency per arch (got {len(loaded)} archs and "
                       f"{len(measured_ms)} latencies)")
    raw = [table.predict_raw(a) for a in loaded]
    table.calibration = fit_calibration(raw, measured_ms, [a.name for a in loaded])
    return table.calibration


def calibration_archs(space: Any, n: int, seed: int = 0, exclude: Iterable[str] = ()) -> list["Arch"]:
    """The space's reference (skeleton) arch when it lies in the space, plus ``n`` distinct random archs
    sampled with ``seed`` (names in ``exclude`` skipped) — the default networks to calibrate on."""
    import random

    rng = random.Random(seed)
    skip = set(exclude)
    archs: dict[str, Arch] = {a.name: a for a in space.reference_archs() if a.name not in skip}
    wanted = len(archs) + n
    for _ in range(1000 * max(n, 1)):
        if len(archs) >= wanted:
            break
        a = space.sample(rng)
        if a.name not in skip:
            archs.setdefault(a.name, a)
    return list(archs.values())
